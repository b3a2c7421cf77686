//! `pgca audit` and `pgca roles`: the connection-security checklist of a PostgreSQL server, its
//! configuration and its certificates, judged with what the CA directory knows.
//!
//! Reading the server:
//!
//! - [`conf`]: `postgresql.conf` (`guc-file.l`): settings, quoting and escapes, the last
//!   setting of a name winning, `include`, `include_if_exists`, `include_dir`; and
//!   `postgresql.auto.conf` after it, as the server reads them.
//! - [`hba`]: `pg_hba.conf` (`hba.c`): rules with their connection type, databases, users,
//!   address, method and options.
//! - [`ident`]: `pg_ident.conf`: user name maps.
//! - [`offline`]: a data directory or a configuration file, read with the three above;
//!   [`live`]: a running server, asked over rust-postgres (libpq's connection strings,
//!   services, `PG*` variables, `~/.pgpass` and `sslmode`), its views read into the same facts.
//! - [`facts`]: what either way gives, [`ServerFacts`]: the checks read only that.
//!
//! Judging it: [`check_settings`](check_settings::check_settings) (where it listens, TLS,
//! passwords, logging), [`check_hba`](check_hba::check_hba) (`pg_hba.conf` and `pg_ident.conf`),
//! [`check_certs`] (the TLS files against the CA directory, the served chain, the recorded
//! deployments), [`roles`] (client certificates against `pg_roles`). Each finding is an
//! [`AuditFinding`] of a [`Check`], a stable id with a documented severity; [`run::audit`]
//! puts them into an [`AuditReport`].
//!
//! Writing the report: [`sarif::to_sarif`] (SARIF 2.1.0, for code scanning) and
//! [`html::to_html`] (one self-contained page, its timeline drawn by `timeline`, its text
//! escaped by `markup`).
//!
//! Every file, the included ones too, is read through the trust walk (`storage`): each
//! directory on the way owned by root, the user pgca runs as or the cluster's owner when given,
//! and writable by nobody else; a link followed only when root or the user pgca runs as owns
//! it. A line PostgreSQL would refuse is [`crate::error::Error::BadConfig`], naming the file and
//! line; includes nest at most [`MAX_DEPTH`] deep, and a file that includes itself is refused.

pub mod check_certs;
pub mod check_hba;
pub mod check_settings;
pub mod conf;
pub mod facts;
pub mod finding;
pub mod hba;
pub mod html;
pub mod ident;
pub(crate) mod libpq;
pub mod live;
pub(crate) mod live_connect;
mod live_rows;
mod live_tls;
mod markup;
pub mod offline;
mod pgpass;
pub mod report;
pub mod roles;
pub mod run;
pub mod sarif;
mod source;
pub mod target;
mod timeline;
mod tokens;

pub use check_hba::Widest;
pub use conf::{AUTO_CONF, Setting, Settings, read_postgresql_conf, read_server_conf};
pub use facts::{FactSetting, Read, RoleFacts, ServerFacts, Source};
pub use finding::{AuditFinding, Check, Location, Severity};
pub use hba::{AuthMethod, ConnType, HbaAddress, HbaName, HbaRule, read_pg_hba};
pub use html::to_html;
pub use ident::{IdentMap, SystemUser, read_pg_ident};
pub use report::{AuditReport, Expiry, TargetReport, TlsFacts, write_report_file};
pub use roles::{OrphanCert, RolesReport, check_roles};
pub use run::audit;
pub use sarif::to_sarif;
pub use source::MAX_DEPTH;
pub use target::{AuditOptions, AuditTarget};
