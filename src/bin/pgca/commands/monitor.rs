//! Reading the CA directory: `list`, and the two monitoring commands with Nagios exit codes,
//! `check` (expiry) and `verify` (a doctor).

use std::process::ExitCode;

use pgca::ops::check::CheckOptions;
use pgca::{Result, Side, Validity, timefmt};

use super::{Context, nagios, parse_all, parse_opt};
use crate::args::{CheckArgs, ListArgs, VerifyArgs};
use crate::render::{self, Format};

/// `pgca list`.
pub fn list(ctx: &Context, a: &ListArgs) -> Result<()> {
    let ca = ctx.open()?;
    let rows = ca.list(timefmt::now())?;
    render::print(
        Format::new(a.out.quiet, a.json),
        || {
            let mut out = render::list_table(&rows);
            if !Side::BOTH
                .iter()
                .all(|&s| ca.ca_key_encrypted(s).unwrap_or(true))
            {
                out.push_str(render::UNENCRYPTED_NOTE);
            }
            out
        },
        || &rows,
    );
    Ok(())
}

/// `pgca check`: Nagios output and exit status; anything that stops the check is UNKNOWN (3).
pub fn check(ctx: &Context, a: &CheckArgs) -> ExitCode {
    let run = || {
        let mut opts = CheckOptions::default();
        opts.within = parse_opt::<Validity>(&a.within)?;
        opts.probes = parse_all(&a.probes)?;
        opts.probe.timeout = super::probe::timeout(&a.probe_timeout)?;
        opts.max_key_age = parse_opt::<Validity>(&a.max_key_age)?;
        let report = ctx.open()?.check(&opts)?;
        if let Some(path) = &a.prometheus {
            pgca::metrics::write_textfile(path, &report.prometheus())?;
        }
        Ok(report)
    };
    nagios::report(a.quiet, a.json, run, render::check_text, |r| r.status)
}

/// `pgca verify`: Nagios output and exit status, like check.
pub fn verify(ctx: &Context, a: &VerifyArgs) -> ExitCode {
    let run = || {
        let mut ca = ctx.open()?;
        // Never a prompt: a doctor runs from monitoring too.
        if ctx.sources.given()
            && let Some(p) = ctx.sources.get("passphrase", false)?
        {
            ca = ca.with_passphrase(p);
        }
        ca.verify(None)
    };
    nagios::report(a.quiet, a.json, run, render::verify_text, |r| r.status)
}
