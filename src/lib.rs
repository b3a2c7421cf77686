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
//! - [`x509`]: keys, PEM, the CA and leaf profiles, requests, reading certificates and CRLs.
//! - [`inventory`]: the append-only record of everything issued.
//! - [`store`]: the CA directory, [`CaDir`]: layout, init, issuing, signing requests, crash
//!   recovery.
//! - [`request`]: a key and a certificate signing request made without a CA directory.
//! - [`probe`]: what a running PostgreSQL server really serves (`pgca probe`).
//! - [`ops`]: check, renew, revoke and CRLs, verify, repair.
//! - [`pg`]: PostgreSQL's and libpq's side: server config and deployment, client files,
//!   connection strings, `pg_service.conf`.
//! - [`export`]: a certificate and key in another format (PEM, PKCS#8, PKCS#12, Kubernetes).
//! - [`metrics`]: the Prometheus textfiles of check and probe.
//! - [`audit`]: PostgreSQL's `postgresql.conf`, `pg_hba.conf` and `pg_ident.conf`, read by
//!   PostgreSQL's rules (the offline part of `pgca audit`).
//!
//! # The public interface
//!
//! Every command's request or options and its report or result is re-exported here, at the
//! crate root, next to the shared vocabulary and the error type: `use pgca::{CaDir,
//! CheckOptions, RenewOptions, RevokeRequest, InstallOptions};` is all a program needs. The
//! modules above stay public for their other items; the longer paths name the same types.
//! `tests/public_api.rs` runs init, issue, check, renew, revoke, verify and client-install
//! through these names only.
#![forbid(unsafe_code)]

pub mod agent;
pub mod audit;
pub mod error;
pub mod export;
pub mod inventory;
pub mod metrics;
pub mod model;
pub mod online;
pub mod ops;
pub mod pg;
pub mod probe;
pub mod request;
pub mod serve;
mod storage;
pub mod store;
pub mod x509;

// The public interface: every name a library user needs, at the crate root. Each command's
// request (or options) and its report (or result) is here, beside the `CaDir` method that takes
// it; the modules stay public for their other items and for the longer paths
// (`pgca::ops::check::CheckOptions` is `pgca::CheckOptions`). Inside the crate nothing imports
// through these lines (tests/architecture.rs): each file names the module it uses.

// The CA directory: `CaDir::open`, `CaDir::init` (`pgca init`), `CaDir::issue_client` and
// `CaDir::issue_server` (`pgca issue-*`), `CaDir::list`.
pub use store::{
    BACKDATE_SECONDS, CaDir, DEFAULT_CA_VALIDITY, DEFAULT_LEAF_VALIDITY, InitOptions, IssueOptions,
    IssuedCert, ListEntry, Progress, default_dir,
};
// `pgca request` (a key and a CSR, no CA directory) and `pgca sign` (`CaDir::sign_request`).
pub use request::{RequestOptions, Requested, write_request};
pub use store::sign::SignedNames;
pub use x509::csr::CsrRequest;

// `pgca check` (`CaDir::check`), `pgca renew` (`CaDir::renew`), `pgca revoke` and `pgca crl`
// (`CaDir::revoke`, `CaDir::issue_crls`), `pgca verify` (`CaDir::verify`), `pgca repair`
// (`CaDir::repair`).
pub use ops::check::{CheckOptions, CheckReport, Finding, FindingState};
pub use ops::renew::{RenewFailure, RenewOptions, RenewReport, Renewal};
pub use ops::repair::{RepairReport, RepairRequest, Restored};
pub use ops::revoke::{DEFAULT_CRL_VALIDITY, RevokeRequest, Revoked};
pub use ops::verify::VerifyReport; // its items: `ops::verify::Problem`

// `pgca rollover start|switch|finish|status` (`CaDir::rollover_start`, `rollover_switch`,
// `rollover_finish`, `rollover_status`): a CA replaced in three phases.
pub use inventory::{Rollover, RolloverPhase};
pub use ops::rollover::{
    FinishOptions, OldNew, RolloverOptions, RolloverOutcome, RolloverStatus, SideStatus,
};

// `pgca probe` (`CaDir::probe`, also `check --probe`).
pub use probe::{
    Failure, Login, ProbeOptions, ProbeReport, ProbeResult, ServedCert, Start, Target,
};
// Prometheus textfiles (`check --prometheus`, `probe --prometheus`).
pub use metrics::write_textfile;

// PostgreSQL's side: `pgca deploy-server` (`CaDir::deploy_server`, or `deploy_files` without a
// CA directory), `pgca client-install` (`CaDir::client_install`, or `install_files`),
// `pgca env` (`CaDir::client_env`), `pgca service add` (`CaDir::add_service`,
// `CaDir::issue_client_with_service`), `pgca conninfo` (`CaDir::conninfo`).
pub use pg::client::{
    ClientInstalled, ClientPaths, Connection, InstallFiles, InstallOptions, ServiceRequest,
    default_client_dir, install_files,
};
pub use pg::conninfo::Driver;
pub use pg::server::{DeployFiles, Deployed, deploy_files};
pub use pg::service::{ServiceFile, Upserted};

// `pgca export` (`CaDir::export`).
pub use export::{ExportFormat, ExportRequest, Exported, REPLICATION_ROLE, ReplicationCert};

// `pgca audit` (`audit::audit`) and `pgca roles` (`audit::roles::reconcile`): a server's
// connection-security checklist, each finding a `Check` with a stable id and severity; the
// report's two file formats, `to_sarif` (SARIF 2.1.0) and `to_html` (one self-contained page).
pub use audit::{
    AuditFinding, AuditOptions, AuditReport, AuditTarget, Check, Expiry, Location, OrphanCert,
    RolesReport, ServerFacts, Severity, TargetReport, TlsFacts, Widest, to_html, to_sarif,
};
// PostgreSQL's own configuration read by its rules (the offline part of `pgca audit`):
// `read_postgresql_conf`, `read_server_conf` (with `postgresql.auto.conf`), `read_pg_hba`,
// `read_pg_ident`.
pub use audit::{
    AuthMethod, ConnType, HbaAddress, HbaName, HbaRule, IdentMap, Setting, Settings, SystemUser,
    read_pg_hba, read_pg_ident, read_postgresql_conf, read_server_conf,
};

// `pgca token` (`CaDir::mint_token`) and the handlers of `pgca serve`: `CaDir::enroll` (a
// request signed with a token) and `CaDir::renew_online` (a certificate renewed with itself).
pub use inventory::{Authorization, TokenMinted, TokenState, TokenUsed, Tokens};
pub use online::{
    DEFAULT_TOKEN_TTL, EnrollRequest, EnrollToken, Issuers, MAX_TOKEN_TTL, MintedToken,
    OnlineIssued, OnlineRenewRequest, RenewPolicy, ServingIdentity, TokenRequest, TrustBundles,
};
// `pgca enroll` (`agent::enroll`) and `pgca agent` (`agent::agent_once`, one round;
// `agent::agent_loop`, rounds until stopped): the host's side.
pub use agent::{
    AgentOptions, AgentReport, AgentTarget, CaClient, CaUrl, EnrollOptions, EnrollReport,
    EnrollTarget, IssuedReply, Reload, agent_loop, agent_once, enroll,
};
pub use pg::{GivenPems, deploy_pems, install_pems};
// `pgca serve` (`serve::serve`): the HTTPS API over those handlers, and `Api::handle`, the
// handlers without HTTP.
pub use serve::{Api, ApiReply, ApiRequest, Limits, Listening, OPENAPI, ServeOptions, serve};
// `pgca inventory export` (`CaDir::export_inventory`): the inventory as one portable file, a
// header (`ExportHeader`: count and SHA-256 of the event lines) and every committed event;
// `pgca inventory import` (`import_inventory`): such a file into an empty inventory.
pub use export::InventoryExported;
pub use export::{ImportRequest, ImportTarget, InventoryImported, import_inventory};
pub use inventory::{EXPORT_FORMAT, EXPORT_VERSION, ExportHeader};
// `--inventory CONNINFO`: the inventory in PostgreSQL (`CaDir::open_with_inventory_db`).
pub use inventory::{InventoryDb, SCHEMA_VERSION};

// `pgca inspect` and what the inventory holds.
pub use inventory::{CrlRecord, Ledger};
pub use x509::inspect::{CertInfo, CrlInfo, Inspected};

// The shared vocabulary.
pub use model::kind::{CertKind, CertState, Side};
pub use model::names::{CertName, HostName, RoleName};
pub use model::passphrase::Passphrase;
pub use model::reason::{Reason, Scope};
pub use model::serial::Serial;
pub use model::status::Status;
pub use model::timefmt;
pub use model::validity::Validity;
pub use x509::keys::{KeyType, PrivateKey};
pub use x509::token_uri::TokenUri;

// Errors, and the file rules a caller may need (modes, lock waits, user lookup).
pub use error::{Distrust, Error, KeyOrigin, Malformed, Result, UnsafeInput, UnsafeKey, WeakKey};
pub use storage::{DIR_MODE, KEY_MODE, PUBLIC_MODE, Wait, lookup_user};
