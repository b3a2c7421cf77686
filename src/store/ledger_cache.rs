//! The inventory as a long-running process (`pgca serve`) last read or wrote it, kept in memory
//! with the file's identity (device, inode, length, modification time, and the seal's): while
//! the file is the one it read or wrote, a request is planned against the ledger in memory
//! instead of reading and hashing the whole inventory again. Any other writer (cron's
//! `pgca renew`, a `revoke`) changes the file's identity, and the next read is a full one,
//! checked against the directory as always. The process's own appends are applied to the
//! ledger in memory under the write lock, so that they need no read either.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Mutex;

use crate::inventory::{Event, Ledger};

/// A file's identity, as far as the cache is concerned (also what `pgca serve` watches its
/// trust bundles and serving certificate by).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

impl FileId {
    /// `path`'s identity (not following a link), `None` when it cannot be read.
    pub(crate) fn of(path: &Path) -> Option<FileId> {
        let m = std::fs::symlink_metadata(path).ok()?;
        Some(FileId {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        })
    }
}

/// The inventory's and its seal's identities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    inventory: Option<FileId>,
    seal: Option<FileId>,
}

impl Stamp {
    /// The identity of the inventory at `path` and of its seal, now.
    pub(crate) fn of(path: &Path) -> Stamp {
        Stamp {
            inventory: FileId::of(path),
            seal: FileId::of(&crate::inventory::seal::path_of(path)),
        }
    }
}

/// The cache; shared by the clones of one [`crate::CaDir`].
#[derive(Default)]
pub(crate) struct LedgerCache {
    state: Mutex<Option<(Stamp, Ledger)>>,
}

impl std::fmt::Debug for LedgerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LedgerCache")
    }
}

impl LedgerCache {
    /// `f` of the ledger in memory if the file is still `stamp`, otherwise of the ledger `read`
    /// gives, which is kept for next time.
    pub(crate) fn with<T>(
        &self,
        stamp: Stamp,
        read: impl FnOnce() -> crate::error::Result<Ledger>,
        f: impl FnOnce(&Ledger) -> crate::error::Result<T>,
    ) -> crate::error::Result<T> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((known, ledger)) = state.as_ref()
            && *known == stamp
            && stamp.inventory.is_some()
        {
            return f(ledger);
        }
        *state = None;
        let ledger = read()?;
        let answer = f(&ledger);
        *state = Some((stamp, ledger));
        answer
    }

    /// After this process appended `events` to the file that was `before` and is now `after`:
    /// the ledger in memory gets them too, if it was that file's; otherwise it is forgotten.
    pub(crate) fn appended(&self, before: Stamp, events: &[Event], after: Stamp) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match state.as_mut() {
            Some((known, ledger)) if *known == before && !ledger.torn_tail => {
                for e in events {
                    ledger.apply(e.clone());
                }
                *known = after;
            }
            _ => *state = None,
        }
    }

    /// Whether the ledger in memory is the inventory's as it is now, `stamp`.
    pub(crate) fn holds(&self, stamp: Stamp) -> bool {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        stamp.inventory.is_some() && state.as_ref().is_some_and(|(known, _)| *known == stamp)
    }

    /// Forgets the ledger in memory (a write that failed part-way).
    pub(crate) fn forget(&self) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}
