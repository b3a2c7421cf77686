//! pgca: a certificate authority toolkit for PostgreSQL TLS.
//!
//! PostgreSQL's security guides ask for two CAs: a **server CA** whose certificate clients trust
//! (`sslrootcert`, so `sslmode=verify-full` can check the server's host name), and a separate
//! **client CA** that the server trusts (`ssl_ca_file`) and that signs client certificates whose
//! common name is the PostgreSQL role (`pg_hba.conf`: `hostssl all all 0.0.0.0/0 cert`).
//! pgca creates both, issues server and client certificates, and keeps an inventory of
//! everything it issued. The `pgca` command line tool is a thin shell over this library.
//!
//! # Example
//!
//! Create a CA directory (or open an existing one), issue a client certificate, read its expiry:
//!
//! ```
//! use pgca::{CaDir, CertInfo, InitOptions, IssueOptions, RoleName};
//!
//! let tmp = tempfile::tempdir()?;
//! let path = tmp.path().join("ca");
//! let ca = match CaDir::open(&path) {
//!     Ok(ca) => ca,
//!     Err(pgca::Error::NoCa(_)) => CaDir::init(&path, &InitOptions::default())?,
//!     Err(e) => return Err(e.into()),
//! };
//!
//! let alice: RoleName = "alice".parse()?;
//! let issued = ca.issue_client(&alice, &IssueOptions::default())?;
//!
//! let info = CertInfo::from_file(&issued.cert_path)?;
//! assert_eq!(info.common_name.as_deref(), Some("alice"));
//! assert_eq!(info.extended_key_usage, ["clientAuth"]);
//! println!("alice's certificate expires {}", info.not_after);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Modules, in the order a certificate meets them
//!
//! - [`names`]: role and host name rules.
//! - [`keys`]: key types and key generation.
//! - [`ca`]: the two CAs.
//! - [`issue`] (internal): the server and client certificate profiles.
//! - [`dir`]: the CA directory, its layout, locking and crash recovery.
//! - [`inventory`]: the append-only record of everything issued.
//! - [`inspect`]: reading certificates back.
//! - [`server`]: PostgreSQL's side: configuration lines and deploying into a data directory.
//! - [`client`]: libpq's side: default files and environment variables.
//! - [`service`]: libpq's `pg_service.conf`, where clients find the certificates.
#![forbid(unsafe_code)]

pub mod ca;
pub mod check;
pub mod client;
pub mod dir;
pub mod duration;
pub mod error;
pub mod inspect;
pub mod inventory;
mod issue;
pub mod keys;
pub mod names;
pub mod passphrase;
pub mod renew;
pub mod revoke;
pub mod serial;
pub mod server;
pub mod service;
mod storage;
pub mod timefmt;
pub mod verify;

pub use ca::Side;
pub use dir::{CaDir, InitOptions, IssueOptions, IssuedCert, ListEntry, Progress, default_dir};
pub use duration::Validity;
pub use error::{Error, Result};
pub use inspect::CertInfo;
pub use inventory::{CertKind, CertState, Ledger};
pub use keys::{KeyType, PrivateKey};
pub use names::{HostName, RoleName};
pub use passphrase::Passphrase;
pub use serial::Serial;
pub use storage::{DIR_MODE, Distrust, KEY_MODE, PUBLIC_MODE, Wait, lookup_user};
