//! What the monitoring commands (`check`, `verify`, `probe`) share: run, print the report and
//! exit with its Nagios status, or say what stopped the run as UNKNOWN (CRITICAL for a damaged
//! inventory).

use std::process::ExitCode;

use pgca::{Error, Result, Status};
use serde::Serialize;

use crate::hints;
use crate::render::{self, Format, emit};

/// A monitoring command: `run`'s report printed (`text`, `--json` or nothing with `-q`) and
/// its `status` the exit status; anything that stops `run` goes to [`unknown`].
pub fn report<R: Serialize>(
    quiet: bool,
    json: bool,
    run: impl FnOnce() -> Result<R>,
    text: impl FnOnce(&R) -> String,
    status: impl FnOnce(&R) -> Status,
) -> ExitCode {
    let report = match run() {
        Ok(r) => r,
        Err(e) => return unknown(&e, quiet),
    };
    render::print(Format::new(quiet, json), || text(&report), || &report);
    ExitCode::from(status(&report).exit_code())
}

/// Anything that stops `check`, `verify` or `probe` is Nagios UNKNOWN (3), or CRITICAL (2) for a
/// damaged or corrupt inventory ([`Error::monitoring_status`]), said on stdout where Nagios
/// reads it (with `-q`, on stderr like any failure).
pub fn unknown(e: &Error, quiet: bool) -> ExitCode {
    let status = e.monitoring_status();
    if quiet {
        eprintln!("pgca: {}", hints::with_hint(e));
    } else {
        emit(&render::unknown_text(status, &hints::with_hint(e)));
    }
    ExitCode::from(status.exit_code())
}
