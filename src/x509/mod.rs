//! Certificates and keys: generating keys, the one PEM decoder, the CA and leaf profiles,
//! requests and the check of keys made elsewhere, and reading certificates and CRLs back.

pub mod ca;
pub mod csr;
pub mod inspect;
pub(crate) mod key_cache;
pub mod keys;
pub(crate) mod pem;
pub mod pkcs12;
pub(crate) mod profile;
pub mod pubkey_check;
pub(crate) mod token;
pub mod token_uri;
