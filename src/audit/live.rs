//! A live target: a running server, asked over a real PostgreSQL client connection for its
//! settings (`pg_settings`), rules (`pg_hba_file_rules`, `pg_ident_file_mappings`) and roles
//! (`pg_roles`).

use std::time::Duration;

use super::facts::Read;
use crate::error::{Error, Result};
use crate::probe::Target;

pub use super::libpq::redact;

/// How a live target is read.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// The limit on connecting and on each query.
    pub timeout: Duration,
    /// Probe the served chain here instead of where the server listens.
    pub probe: Option<Target>,
}

/// Reads a running server through `conninfo` (a libpq connection string, URI or `service=`).
pub(crate) fn read_live(conninfo: &str, opts: &LiveOptions) -> Result<Read> {
    let _ = opts;
    Err(Error::BadAuditTarget(redact(conninfo)))
}
