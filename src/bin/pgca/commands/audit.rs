//! `pgca audit` and `pgca roles`, with check's Nagios exit status.

use std::process::ExitCode;

use pgca::CaDir;
use pgca::audit::{AuditOptions, AuditTarget, Widest, audit as run_audit, write_report_file};

use super::probe::timeout;
use super::{Context, nagios};
use crate::args::{AuditArgs, RolesArgs};
use crate::render;

/// `pgca audit`: the findings by severity, exit status the worst target's. A target that cannot
/// be read is one line and UNKNOWN (3).
pub fn audit(ctx: &Context, a: &AuditArgs) -> ExitCode {
    let run = || {
        let targets: Vec<AuditTarget> = if a.targets.is_empty() {
            vec![AuditTarget::Live(String::new())]
        } else {
            super::parse_all(&a.targets)?
        };
        let mut opts = AuditOptions::default();
        opts.timeout = timeout(&a.timeout)?;
        opts.widest = Widest {
            ipv4: a.widest_ipv4.min(32),
            ipv6: a.widest_ipv6.min(128),
        };
        opts.probe = super::parse_opt(&a.probe)?;
        let ca = ctx.open_if_any()?;
        let report = run_audit(ca.as_ref(), &targets, &opts)?;
        // A target that could not be read leaves no file behind: the run is UNKNOWN.
        if report.targets.iter().all(|t| t.error.is_none()) {
            if let Some(path) = &a.sarif {
                // A serde_json::Value always serializes.
                let text = serde_json::to_string_pretty(&pgca::audit::to_sarif(&report))
                    .unwrap_or_default();
                write_report_file(path, format!("{text}\n").as_bytes())?;
            }
            if let Some(path) = &a.html {
                write_report_file(path, pgca::audit::to_html(&report).as_bytes())?;
            }
        }
        Ok(report)
    };
    nagios::report(a.quiet, a.json, run, render::audit_text, |r| r.status)
}

/// `pgca roles`: the role findings; with --revoke-orphans and --issue-missing, what was done.
pub fn roles(ctx: &Context, a: &RolesArgs) -> ExitCode {
    let run = || {
        let target: AuditTarget = a.target.parse()?;
        let mut opts = AuditOptions::default();
        opts.timeout = timeout(&a.timeout)?;
        let sides: &[pgca::Side] = if a.revoke_orphans || a.issue_missing.is_some() {
            &[pgca::Side::Client]
        } else {
            &[]
        };
        let ca: CaDir = ctx.signing(sides)?;
        let mut report = pgca::audit::roles::reconcile(&ca, &target, &opts)?;
        if a.revoke_orphans {
            report.revoke_orphans(&ca)?;
        }
        if let Some(pattern) = &a.issue_missing {
            report.issue_missing(&ca, pattern, &issue_options())?;
        }
        Ok::<_, pgca::Error>(report)
    };
    nagios::report(a.quiet, a.json, run, render::roles_text, |r| r.status)
}

fn issue_options() -> pgca::IssueOptions {
    pgca::IssueOptions::default()
}
