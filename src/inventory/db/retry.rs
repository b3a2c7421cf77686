//! What a failed statement means for the operation: retry the transaction (a serialization
//! failure), reconnect (the connection or the server went away: a failover, a restart), or give
//! up (anything else). And the backoff between reconnections.

use std::time::{Duration, Instant};

use postgres::error::SqlState;

/// How long an operation keeps reconnecting after the connection was lost (a failover's
/// promotion, a restart) before it fails.
pub(crate) const RECONNECT_FOR: Duration = Duration::from_secs(30);

/// How many times one transaction is tried on serialization failures.
pub(crate) const SERIALIZATION_TRIES: u32 = 10;

/// What to do after an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Run the transaction again on the same connection.
    Retry,
    /// The connection is gone or the server cannot take writes now: open another.
    Reconnect,
    /// Fail the operation.
    Fail,
}

/// What `e` calls for.
pub(crate) fn next(e: &postgres::Error) -> Next {
    let Some(code) = e.code() else {
        // No SQLSTATE: the socket, TLS or protocol failed, or the client was closed.
        return Next::Reconnect;
    };
    if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED {
        return Next::Retry;
    }
    let reconnect = [
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CRASH_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
        SqlState::READ_ONLY_SQL_TRANSACTION,
        SqlState::IDLE_SESSION_TIMEOUT,
    ];
    if code.code().starts_with("08") || reconnect.contains(code) {
        Next::Reconnect
    } else {
        Next::Fail
    }
}

/// The pauses between reconnection attempts: 100 ms doubling to 2 s, until [`RECONNECT_FOR`]
/// has passed since `start`.
pub(crate) struct Backoff {
    start: Instant,
    pause: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff {
            start: Instant::now(),
            pause: Duration::from_millis(100),
        }
    }

    /// Sleeps before the next attempt; `false` when time is up.
    pub(crate) fn wait(&mut self) -> bool {
        if self.start.elapsed() + self.pause > RECONNECT_FOR {
            return false;
        }
        std::thread::sleep(self.pause);
        self.pause = (self.pause * 2).min(Duration::from_secs(2));
        true
    }
}

/// One line for `e`: the server's message (and detail) or the client's, causes included.
pub(crate) fn line(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return match db.detail() {
            Some(d) => format!("{}: {d}", db.message()),
            None => db.message().to_string(),
        };
    }
    crate::audit::live_connect::chain(e)
}
