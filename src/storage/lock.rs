//! [`Lock`]: the one advisory lock pgca takes, with a bounded wait.
//!
//! - The CA directory: writers hold `DIR/.lock` exclusively, readers share it; `pgca renew`
//!   also holds `DIR/.renew.lock` for its whole run, so that two renewals never overlap.
//! - A data directory: a deployment holds its `pgca-tls` directory exclusively.
//!
//! Nobody waits forever: a lock not had within the wait (see [`Wait`]) is an error naming the
//! lock file, so that `pgca check` under Nagios answers UNKNOWN instead of hanging.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{FlockOperation, Mode, OFlags};

use crate::error::{Error, Result};

/// Shared (readers) or exclusive (writers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LockKind {
    /// Many readers at once, no writer.
    Shared,
    /// One writer, nobody else.
    Exclusive,
}

/// How long to wait for a lock held by another process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait(pub Duration);

impl Wait {
    /// The default for commands that only read (`check`, `verify`, `list`): short enough for a
    /// Nagios plugin's 10-second timeout.
    pub const READER: Wait = Wait(Duration::from_secs(5));
    /// The default for commands that write: long enough for a bulk issue or a renewal run ahead.
    pub const WRITER: Wait = Wait(Duration::from_secs(300));
}

/// A held lock, released when dropped.
#[derive(Debug)]
pub(crate) struct Lock {
    _fd: OwnedFd,
}

impl Lock {
    /// Locks the file `name` in the directory `dir` (created 0600 if missing).
    pub(crate) fn file(dir: &Path, name: &str, kind: LockKind, wait: Wait) -> Result<Lock> {
        let path = dir.join(name);
        let fd = rustix::fs::open(
            &path,
            OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(super::KEY_MODE),
        )
        .map_err(|e| Error::io("open lock file", &path)(e.into()))?;
        acquire(&fd, kind, wait, &path)?;
        Ok(Lock { _fd: fd })
    }

    /// Locks an open directory itself.
    pub(crate) fn dir(dir: &super::Dir, kind: LockKind, wait: Wait) -> Result<Lock> {
        let fd = dir
            .fd()
            .try_clone()
            .map_err(|e| Error::io("lock", dir.path())(e))?;
        acquire(&fd, kind, wait, dir.path())?;
        Ok(Lock { _fd: fd })
    }
}

fn acquire(fd: impl AsFd, kind: LockKind, wait: Wait, path: &Path) -> Result<()> {
    let op = match kind {
        LockKind::Shared => FlockOperation::NonBlockingLockShared,
        LockKind::Exclusive => FlockOperation::NonBlockingLockExclusive,
    };
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match rustix::fs::flock(&fd, op) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::WOULDBLOCK | rustix::io::Errno::INTR) => {}
            Err(e) => return Err(Error::io("lock", path)(e.into())),
        }
        let waited = start.elapsed();
        if waited >= wait.0 {
            return Err(Error::LockTimeout {
                path: PathBuf::from(path),
                waited: wait.0,
            });
        }
        std::thread::sleep(pause.min(wait.0 - waited));
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_waited_for_within_the_bound_only() {
        let d = tempfile::tempdir().unwrap();
        let held = Lock::file(d.path(), ".lock", LockKind::Exclusive, Wait::WRITER).unwrap();
        let shared_too = Lock::file(
            d.path(),
            ".lock",
            LockKind::Shared,
            Wait(Duration::from_millis(50)),
        );
        let e = shared_too.unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{} is held by another pgca process: gave up after 50ms",
                d.path().join(".lock").display()
            )
        );
        drop(held);
        let a = Lock::file(d.path(), ".lock", LockKind::Shared, Wait::READER).unwrap();
        let _b = Lock::file(d.path(), ".lock", LockKind::Shared, Wait::READER).unwrap();
        drop(a);
    }
}
