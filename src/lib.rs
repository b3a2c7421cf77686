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
//! # Where things are
//!
//! Each folder is one concern; `ARCHITECTURE.md` has the map, the invariants and where to start
//! reading. Lower layers never import higher ones:
//!
//! - [`model`]: the shared vocabulary (names, kinds, sides, states, reasons, serials, validity).
//! - [`error`]: the one error type.
//! - `storage` (internal): trusted directory handles, the atomic writer, locks.
//! - [`x509`]: keys, PEM, the CA and leaf profiles, reading certificates and CRLs.
//! - [`inventory`]: the append-only record of everything issued.
//! - [`store`]: the CA directory, [`CaDir`]: layout, init, issuing, crash recovery.
//! - [`ops`]: check, renew, revoke and CRLs, verify.
//! - [`pg`]: PostgreSQL's and libpq's side: server config and deployment, client files,
//!   `pg_service.conf`.
#![forbid(unsafe_code)]

pub mod error;
pub mod export;
pub mod inventory;
pub mod metrics;
pub mod model;
pub mod ops;
pub mod pg;
pub mod probe;
pub mod request;
mod storage;
pub mod store;
pub mod x509;

pub use error::{Distrust, Error, KeyOrigin, Malformed, Result, UnsafeInput, UnsafeKey, WeakKey};
pub use export::{ExportFormat, ExportRequest, Exported};
pub use inventory::Ledger;
pub use model::kind::{CertKind, CertState, Side};
pub use model::names::{CertName, HostName, RoleName};
pub use model::passphrase::Passphrase;
pub use model::reason::{Reason, Scope};
pub use model::serial::Serial;
pub use model::status::Status;
pub use model::timefmt;
pub use model::validity::Validity;
pub use ops::repair::{RepairReport, RepairRequest, Restored};
pub use storage::{DIR_MODE, KEY_MODE, PUBLIC_MODE, Wait, lookup_user};
pub use store::{CaDir, InitOptions, IssueOptions, IssuedCert, ListEntry, Progress, default_dir};
pub use x509::inspect::{CertInfo, CrlInfo};
pub use x509::keys::{KeyType, PrivateKey};
pub use x509::token_uri::TokenUri;
