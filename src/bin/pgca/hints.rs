//! What to do about a failure: advice that names pgca's flags and commands.

use pgca::Error;

/// The error's message.
pub fn with_hint(e: &Error) -> String {
    e.to_string()
}

/// A line of `renew`'s failures.
pub fn failure_with_hint(line: &str) -> String {
    line.to_string()
}
