//! `pgca probe`: what running servers serve, with check's Nagios exit status.

use std::process::ExitCode;
use std::time::Duration;

use pgca::probe::{ProbeOptions, Start, Target};
use pgca::{Error, Validity};

use super::{Context, nagios, parse_all};
use crate::args::ProbeArgs;
use crate::render;

/// `pgca probe`: a line per target, exit status the worst target's; anything that stops the
/// probe before it starts (bad arguments, an unreadable CA directory) is UNKNOWN (3).
pub fn probe(ctx: &Context, a: &ProbeArgs) -> ExitCode {
    let run = || {
        let targets: Vec<Target> = parse_all(&a.targets)?;
        let mut opts = ProbeOptions::default();
        opts.timeout = timeout(&a.timeout)?;
        opts.sni = a.sni.clone();
        opts.role = a.role.clone();
        opts.dbname = a.dbname.clone();
        if a.direct {
            opts.start = Start::Direct;
        }
        let report = ctx.open()?.probe(&targets, &opts)?;
        if let Some(path) = &a.prometheus {
            pgca::metrics::write_textfile(path, &report.prometheus())?;
        }
        Ok(report)
    };
    nagios::report(a.quiet, a.json, run, render::probe_text, |r| r.status)
}

/// A probe timeout: a duration of at least one second.
pub fn timeout(input: &str) -> Result<Duration, Error> {
    let timeout: Validity = input.parse()?;
    if timeout.seconds() <= 0 {
        return Err(Error::InvalidDuration {
            input: input.to_string(),
            reason: "the timeout must be at least 1s",
        });
    }
    Ok(Duration::from_secs(timeout.seconds() as u64))
}
