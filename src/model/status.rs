//! Nagios statuses, shared by `check` and `verify`.

use std::fmt;

use serde::Serialize;

/// A Nagios status. Ordered by how much it matters: `Ok < Unknown < Warning < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Nothing to do.
    Ok,
    /// Something could not be read: its state is not known.
    Unknown,
    /// Due for renewal.
    Warning,
    /// Expired, not yet valid, or broken.
    Critical,
}

impl Status {
    /// The Nagios plugin exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "OK",
            Status::Unknown => "UNKNOWN",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
        })
    }
}
