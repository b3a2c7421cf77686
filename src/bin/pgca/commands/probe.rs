//! `pgca probe`: what running servers serve, with check's Nagios exit status.

use std::process::ExitCode;
use std::time::Duration;

use pgca::probe::{ProbeOptions, Start, Target};
use pgca::{Error, Validity};

use super::monitor::unknown;
use super::{Context, parse_all};
use crate::args::ProbeArgs;
use crate::render::{self, Format};

/// `pgca probe`: a line per target, exit status the worst target's; anything that stops the
/// probe before it starts (bad arguments, an unreadable CA directory) is UNKNOWN (3).
pub fn probe(ctx: &Context, a: &ProbeArgs) -> ExitCode {
    let report = (|| {
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
            pgca::ops::check::write_textfile(path, &report.prometheus())?;
        }
        Ok(report)
    })();
    let report = match report {
        Ok(r) => r,
        Err(e) => return unknown(&e, a.quiet),
    };
    render::print(
        Format::new(a.quiet, a.json),
        || render::probe_text(&report),
        || &report,
    );
    ExitCode::from(report.status.exit_code())
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
