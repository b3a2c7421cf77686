//! What callers ask of a CA directory and what they get back: the options of `init` and of
//! issuing, the default lifetimes, and the record of an issued certificate.

use std::path::PathBuf;

use time::OffsetDateTime;

use crate::model::kind::CertKind;
use crate::model::names::HostName;
use crate::model::serial::Serial;
use crate::model::validity::Validity;
use crate::x509::keys::KeyType;

/// Default CA lifetime: 10 years. Rolling a CA over means touching every server and client, so it
/// should be rare; the CA key is the one to protect.
pub const DEFAULT_CA_VALIDITY: Validity = Validity::days(3650);

/// Default lifetime of server and client certificates: 1 year. Short enough that a leaked key
/// stops working within the year, long enough that the client certificates handed to people
/// are not re-issued every few weeks; `pgca renew` from cron handles the rest.
pub const DEFAULT_LEAF_VALIDITY: Validity = Validity::days(365);

/// Certificates start this many seconds before the moment of issue, so that a machine whose clock
/// is a little behind the CA's accepts them at once.
pub const BACKDATE_SECONDS: i64 = 300;

/// Options for [`CaDir::init`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct InitOptions {
    /// Organisation (O=) of both CA subjects.
    pub org: String,
    /// Key type of both CA keys.
    pub key_type: KeyType,
    /// Lifetime of both CAs; `None` for [`DEFAULT_CA_VALIDITY`].
    pub ca_validity: Option<Validity>,
    /// The time to issue at (tests); `None` for now.
    pub now: Option<OffsetDateTime>,
    /// Encrypt both CA keys with this passphrase (the command line always asks for one unless
    /// given `--no-passphrase`); `None` writes them unencrypted. With [`InitOptions::token`],
    /// the token's user PIN.
    pub passphrase: Option<crate::model::passphrase::Passphrase>,
    /// Generate both CA keys inside this PKCS#11 token (its `module-path` must be set) instead
    /// of writing key files: `DIR/server-ca.pkcs11` and `DIR/client-ca.pkcs11` name them.
    pub token: Option<crate::x509::token_uri::TokenUri>,
    /// Also issue a server certificate for these names (none: no server certificate).
    pub server_hosts: Vec<HostName>,
    /// The server certificate's lifetime, at most the CAs'; `None` for
    /// [`DEFAULT_LEAF_VALIDITY`].
    pub server_validity: Option<Validity>,
    /// Make a two-level hierarchy per side: the root (`server-ca.crt`, the trust anchor,
    /// pathlen 1) and an issuing intermediate it signs (`server-issuing.crt`,
    /// `server-issuing.key`, pathlen 0) that signs every leaf.
    pub intermediate: bool,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            org: "pgca".into(),
            key_type: KeyType::default(),
            ca_validity: None,
            now: None,
            passphrase: None,
            token: None,
            server_hosts: Vec::new(),
            server_validity: None,
            intermediate: false,
        }
    }
}

/// Options for issuing server and client certificates.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct IssueOptions {
    /// Lifetime of the certificate.
    pub validity: Validity,
    /// Key type of the new key.
    pub key_type: KeyType,
    /// Replace a certificate of the same name.
    pub force: bool,
    /// The time to issue at (tests); `None` for now.
    pub now: Option<OffsetDateTime>,
    /// Write the new key encrypted with this passphrase (a client's own, never the CA's);
    /// libpq decrypts it with `sslpassword`.
    pub key_passphrase: Option<crate::model::passphrase::Passphrase>,
    /// Told (done, total) as the keys of a batch are made: the long part of a bulk issue.
    pub progress: Option<Progress>,
    /// Accept a client request's role even if it is an unusual name
    /// ([`crate::RoleName::parse_unusual`], `--allow-unusual-role`): read by
    /// [`CaDir::sign_request`](crate::CaDir::sign_request), which takes the role from the
    /// request; `issue_clients` gets its roles already parsed.
    pub allow_unusual_role: bool,
}

/// A progress callback for long batches: called with (done, total) from the worker threads.
#[derive(Clone)]
pub struct Progress(pub(super) std::sync::Arc<dyn Fn(usize, usize) + Send + Sync>);

impl Progress {
    /// Wraps a callback.
    pub fn new(f: impl Fn(usize, usize) + Send + Sync + 'static) -> Progress {
        Progress(std::sync::Arc::new(f))
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress(..)")
    }
}

impl Default for IssueOptions {
    fn default() -> Self {
        IssueOptions {
            validity: DEFAULT_LEAF_VALIDITY,
            key_type: KeyType::default(),
            force: false,
            now: None,
            key_passphrase: None,
            progress: None,
            allow_unusual_role: false,
        }
    }
}

/// A certificate that was just issued.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct IssuedCert {
    /// Server or client.
    pub kind: CertKind,
    /// The role or first host name.
    pub name: String,
    /// Serial number.
    pub serial: Serial,
    /// Key type.
    pub key_type: KeyType,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// The certificate's path (`DIR/clients/alice.crt`).
    pub cert_path: PathBuf,
    /// The key's path (`DIR/clients/alice.key`); empty for an external key.
    pub key_path: PathBuf,
    /// Whether the key was made elsewhere (`pgca sign`): the CA directory holds none.
    pub external_key: bool,
    /// The serial of the certificate this one replaced (`--force`).
    pub replaced: Option<Serial>,
}
