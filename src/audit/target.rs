//! What `pgca audit` is given: its targets and its options.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use time::OffsetDateTime;

use super::check_hba::Widest;
use crate::error::{Error, Result};
use crate::probe::Target;

/// What to audit: a server's files, or a running server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditTarget {
    /// A data directory or a `postgresql.conf`.
    Offline(PathBuf),
    /// A libpq connection string (`host=… user=…`, `service=db`) or URI
    /// (`postgresql://…`).
    Live(String),
}

impl FromStr for AuditTarget {
    type Err = Error;

    /// A URI or a string with `=` is a connection; anything else must be an existing path.
    fn from_str(s: &str) -> Result<AuditTarget> {
        if s.starts_with("postgresql://") || s.starts_with("postgres://") || s.contains('=') {
            return Ok(AuditTarget::Live(s.to_string()));
        }
        let p = Path::new(s);
        if p.exists() {
            Ok(AuditTarget::Offline(p.to_path_buf()))
        } else {
            Err(Error::BadAuditTarget(s.to_string()))
        }
    }
}

/// How `pgca audit` runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuditOptions {
    /// The narrowest address range a password-type line may have.
    pub widest: Widest,
    /// Probe the served chain here instead of where the target says.
    pub probe: Option<Target>,
    /// The limit on connecting, each query and the probe (default 10 s).
    pub timeout: Duration,
    /// The time certificates and CRLs are judged at; `None` means the system clock.
    pub now: Option<OffsetDateTime>,
}

impl Default for AuditOptions {
    fn default() -> AuditOptions {
        AuditOptions {
            widest: Widest::default(),
            probe: None,
            timeout: Duration::from_secs(10),
            now: None,
        }
    }
}

/// A target as reports show it: a path, or a connection string without its password.
pub fn shown(t: &AuditTarget) -> String {
    match t {
        AuditTarget::Offline(p) => p.display().to_string(),
        AuditTarget::Live(c) => super::live::redact(c),
    }
}

impl std::fmt::Display for AuditTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&shown(self))
    }
}
