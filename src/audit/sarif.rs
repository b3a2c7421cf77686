//! `pgca audit --format sarif`: the report as one SARIF 2.1.0 log, for code scanning dashboards
//! and `sarif` tools.
//!
//! One run, its tool `pgca` with a rule per [`Check`] (in the order of [`Check::ALL`], so a
//! result's `ruleIndex` is its check's place there), and one result per finding of every
//! target. Levels: CRITICAL is `error`, WARNING `warning`, INFO and UNKNOWN `note`; the
//! finding's own severity is in its `properties.severity` (UNKNOWN is a note that says so). A
//! finding written at a place points there (`file://` URI of the absolute path, its line);
//! every result also names its target and subject as a logical location. A target that could
//! not be audited has no results: it is a `toolExecutionNotification` of the one invocation,
//! which is then not `executionSuccessful`.
//!
//! Nothing is added that the report does not hold: the targets are already shown without any
//! password ([`super::target::shown`]).

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde_json::{Value, json};

use super::finding::{AuditFinding, Check, Location, Severity};
use super::report::{AuditReport, TargetReport};
use crate::model::hex;
use crate::model::timefmt::rfc3339;

/// The schema a SARIF 2.1.0 log names.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Where the tool's description is, for `tool.driver.informationUri`.
pub const INFORMATION_URI: &str = "https://crates.io/crates/pgca";

/// The id of the notification a target that could not be audited gives.
pub const TARGET_FAILED: &str = "target-failed";

/// The key of a result's `partialFingerprints`: SHA-256 of check id, target and subject, so that
/// a dashboard follows one finding from run to run even when its line moves.
pub const FINGERPRINT: &str = "pgcaFinding/v1";

/// SARIF's level for a severity: CRITICAL `error`, WARNING `warning`, INFO and UNKNOWN `note`.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "error",
        Severity::Warning => "warning",
        Severity::Info | Severity::Unknown => "note",
    }
}

/// The report as a SARIF 2.1.0 log.
pub fn to_sarif(report: &AuditReport) -> Value {
    let rules: Vec<Value> = Check::ALL.iter().map(|c| rule(*c)).collect();
    let results: Vec<Value> = report
        .targets
        .iter()
        .flat_map(|t| t.findings.iter().map(move |f| result(t, f)))
        .collect();
    let failed: Vec<Value> = report
        .targets
        .iter()
        .filter_map(|t| t.error.as_deref().map(|e| notification(t, e)))
        .collect();
    let targets: Vec<Value> = report
        .targets
        .iter()
        .map(|t| {
            json!({
                "target": t.target,
                "status": t.status,
                "error": t.error,
            })
        })
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "pgca",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": INFORMATION_URI,
                    "rules": rules,
                    "notifications": [{
                        "id": TARGET_FAILED,
                        "name": "TargetFailed",
                        "shortDescription": { "text": "a target could not be audited" },
                        "help": {
                            "text": "Check that the path exists and is readable through the trust walk, or that the server is reachable and the role may log in.",
                        },
                        "defaultConfiguration": { "level": "error" },
                    }],
                },
            },
            "invocations": [{
                "executionSuccessful": failed.is_empty(),
                "startTimeUtc": rfc3339(report.at),
                "toolExecutionNotifications": failed,
            }],
            "results": results,
            "properties": {
                "status": report.status,
                "targets": targets,
            },
        }],
    })
}

fn rule(c: Check) -> Value {
    json!({
        "id": c.id(),
        "name": format!("{c:?}"),
        "shortDescription": { "text": c.title() },
        "help": { "text": c.fix() },
        "defaultConfiguration": { "level": level(c.severity()) },
        "properties": {
            "severity": c.severity().to_string(),
            "tags": ["security", c.area()],
        },
    })
}

fn result(t: &TargetReport, f: &AuditFinding) -> Value {
    let index = Check::ALL.iter().position(|c| *c == f.check);
    let mut location = json!({ "logicalLocations": [logical(&t.target, &f.subject)] });
    if let Some(physical) = f.location.as_ref().and_then(physical) {
        location["physicalLocation"] = physical;
    }
    json!({
        "ruleId": f.check.id(),
        "ruleIndex": index,
        "level": level(f.severity),
        "message": { "text": format!("{} (target: {})", f.message, t.target) },
        "locations": [location],
        "partialFingerprints": { FINGERPRINT: fingerprint(f.check, &t.target, &f.subject) },
        "properties": {
            "severity": f.severity.to_string(),
            "target": t.target,
            "subject": f.subject,
        },
    })
}

/// The target and what the finding concerns, as a SARIF logical location.
fn logical(target: &str, subject: &str) -> Value {
    json!({
        "name": subject,
        "fullyQualifiedName": format!("{target}::{subject}"),
        "kind": "resource",
    })
}

fn physical(l: &Location) -> Option<Value> {
    let uri = file_uri(&l.file)?;
    let mut p = json!({ "artifactLocation": { "uri": uri } });
    if let Some(line) = l.line.filter(|n| *n > 0) {
        p["region"] = json!({ "startLine": line });
    }
    Some(p)
}

fn notification(t: &TargetReport, error: &str) -> Value {
    json!({
        "descriptor": { "id": TARGET_FAILED, "index": 0 },
        "level": "error",
        "message": { "text": format!("{}: {error}", t.target) },
        "locations": [{ "logicalLocations": [{ "name": t.target, "kind": "resource" }] }],
        "properties": { "target": t.target, "status": t.status },
    })
}

fn fingerprint(c: Check, target: &str, subject: &str) -> String {
    let mut d = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [c.id(), target, subject] {
        d.update(part.as_bytes());
        d.update(&[0]);
    }
    hex::lower(d.finish().as_ref())
}

/// `path` as a `file://` URI (RFC 8089): made absolute (without touching the file system), every
/// byte but the unreserved characters and `/` percent-encoded. `None` when the path cannot be
/// made absolute.
pub fn file_uri(path: &Path) -> Option<String> {
    let abs = std::path::absolute(path).ok()?;
    let mut uri = String::from("file://");
    for &b in abs.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~') {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    Some(uri)
}
