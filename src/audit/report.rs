//! What `pgca audit` returns: a report per target, its findings by severity, the server's TLS
//! facts and every certificate's and CA's expiry.

use serde::Serialize;
use time::OffsetDateTime;

use super::facts::Source;
use super::finding::{AuditFinding, Check, Severity};
use crate::model::status::Status;
use crate::probe::ProbeResult;

/// One certificate's or CA's validity, for the timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Expiry {
    /// What it is: `server CA`, `client CA`, `server certificate`, `client certificate`,
    /// `served certificate`, `ssl_cert_file`.
    pub kind: String,
    /// Its name (a CN, a role, a host) or subject.
    pub name: String,
    /// Its serial, hex.
    pub serial: String,
    /// Valid from, when known.
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_before: Option<OffsetDateTime>,
    /// Valid until.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Where it was seen: `server` (what the server reads or serves) or `ca-directory`.
    pub seen: &'static str,
}

/// The TLS facts of a server, as far as they were read.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TlsFacts {
    /// The TLS settings in effect (`ssl`, `ssl_min_protocol_version`, the file settings), name
    /// and value.
    pub settings: Vec<(String, String)>,
    /// What a probe of the server saw, when it was probed.
    pub probe: Option<ProbeResult>,
}

/// The audit of one target.
#[derive(Clone, Debug, Serialize)]
pub struct TargetReport {
    /// The target as given (a connection string without its password, or a path).
    pub target: String,
    /// How it was read; `None` when it could not be.
    pub source: Option<Source>,
    /// The worst finding's status (INFO counts as OK); UNKNOWN when it could not be read.
    pub status: Status,
    /// Why the target could not be audited, one line.
    pub error: Option<String>,
    /// The findings, worst first.
    pub findings: Vec<AuditFinding>,
    /// The server's TLS facts.
    pub tls: TlsFacts,
    /// Every certificate and CA seen, by expiry.
    pub timeline: Vec<Expiry>,
}

impl TargetReport {
    /// The report of a target that could not be read.
    pub fn failed(target: String, error: String) -> TargetReport {
        TargetReport {
            target,
            source: None,
            status: Status::Unknown,
            error: Some(error),
            findings: Vec::new(),
            tls: TlsFacts::default(),
            timeline: Vec::new(),
        }
    }

    /// Puts the findings worst first (then in the order of [`Check::ALL`]) and sets the status.
    pub fn settle(&mut self) {
        self.findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.check.cmp(&b.check))
                .then(a.subject.cmp(&b.subject))
        });
        self.findings.dedup();
        self.timeline.sort_by_key(|e| e.not_after);
        self.status = if self.error.is_some() {
            Status::Unknown
        } else {
            self.findings
                .iter()
                .map(|f| f.severity.status())
                .max()
                .unwrap_or(Status::Ok)
        };
    }

    /// How many findings of each severity: critical, warning, unknown, info.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let n = |s| self.findings.iter().filter(|f| f.severity == s).count();
        (
            n(Severity::Critical),
            n(Severity::Warning),
            n(Severity::Unknown),
            n(Severity::Info),
        )
    }
}

/// What `pgca audit` returns.
#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    /// The worst target's status: the exit status.
    pub status: Status,
    /// When it ran.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Each target's report, in the order given.
    pub targets: Vec<TargetReport>,
}

impl AuditReport {
    /// A report of `targets`, its status theirs.
    pub fn new(at: OffsetDateTime, targets: Vec<TargetReport>) -> AuditReport {
        let status = targets.iter().map(|t| t.status).max().unwrap_or(Status::Ok);
        AuditReport {
            status,
            at,
            targets,
        }
    }

    /// Every check, for a consumer that lists the rules (SARIF).
    pub fn checks(&self) -> &'static [Check] {
        Check::ALL
    }
}

/// Writes a report file (`--sarif`, `--html`) atomically, mode 0600 (it maps the server's
/// weaknesses): a temp file renamed into place through the trust walk, so a link another user
/// planted at the name is replaced, never followed.
pub fn write_report_file(path: &std::path::Path, bytes: &[u8]) -> crate::error::Result<()> {
    crate::storage::replace_file(path, bytes, crate::storage::KEY_MODE, "write audit report")
}
