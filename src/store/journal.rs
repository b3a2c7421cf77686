//! The lock discipline and crash recovery: the write lock finishes or undoes whatever a
//! writer that died left (`.pending`), readers share the lock, long operations take their own.

use std::collections::HashSet;
use std::fs::{self};

use crate::error::{Error, Result};
use crate::model::kind::CertKind;
use crate::storage::{self, Lock, LockKind, Wait};
use crate::store::layout::{CaDir, LOCK_FILE, PENDING};

/// The write lock: the directory's lock file and, with the inventory in a database, its
/// advisory lock (released first).
pub(crate) struct WriteLock {
    _db: Option<crate::inventory::db::store::DbLock>,
    _file: Lock,
}

impl CaDir {
    /// Takes the write lock, first finishing or undoing whatever a crashed writer left. With
    /// the inventory in a database, its write lock too (other hosts' writers hold that one).
    pub(crate) fn write_lock(&self) -> Result<WriteLock> {
        let wait = self.wait.unwrap_or(Wait::WRITER);
        let file = Lock::file(&self.root, LOCK_FILE, LockKind::Exclusive, wait)?;
        let db = self.db.as_ref().map(|db| db.lock(wait.0)).transpose()?;
        let lock = WriteLock {
            _db: db,
            _file: file,
        };
        if self.root.join(PENDING).exists() {
            self.recover()?;
        }
        self.remove_temporaries();
        // A rollover started on another host: its new CA's certificate, from the database.
        self.take_ca_files()?;
        self.settle_rollovers()?;
        Ok(lock)
    }

    /// Removes the temporary files a writer that died left at the top level (the seal, `.pending`,
    /// a CRL, the probes list, the CA keys being re-encrypted: every file there is written under
    /// the write lock, so under it any temporary name is a leftover). `pgca verify` reports one.
    fn remove_temporaries(&self) {
        for e in fs::read_dir(&self.root).into_iter().flatten().flatten() {
            if storage::is_temp_name(&e.file_name().to_string_lossy())
                && e.file_type().is_ok_and(|t| t.is_file())
            {
                let _ = fs::remove_file(e.path());
            }
        }
    }

    /// How long to wait for a lock: what [`CaDir::with_wait`] set, else `default`.
    pub(crate) fn lock_wait(&self, default: Wait) -> Wait {
        self.wait.unwrap_or(default)
    }

    /// Takes the shared lock: no writer is in the middle of a batch while it is held.
    pub(crate) fn read_lock(&self) -> Result<Lock> {
        let wait = self.wait.unwrap_or(Wait::READER);
        Lock::file(&self.root, LOCK_FILE, LockKind::Shared, wait)
    }

    /// Takes a lock of its own for a long operation (`renew`), with the writers' wait.
    pub(crate) fn named_lock(&self, name: &str) -> Result<Lock> {
        let wait = self.wait.unwrap_or(Wait::WRITER);
        Lock::file(&self.root, name, LockKind::Exclusive, wait)
    }

    /// Marks a batch as under way: `.pending`, listing the archive directories (serials) it is
    /// about to write, so that recovery removes those and nothing else.
    pub(crate) fn begin_pending(&self, serials: &[String]) -> Result<()> {
        let p = self.root.join(PENDING);
        let mut listed = self.pending_serials();
        listed.extend(serials.iter().cloned());
        let mut text: Vec<String> = listed.into_iter().collect();
        text.sort_unstable();
        let text = text.join("\n") + "\n";
        storage::replace_file(&p, text.as_bytes(), 0o600, "create")?;
        storage::sync_dir(&self.root)
    }

    pub(crate) fn end_pending(&self) -> Result<()> {
        let p = self.root.join(PENDING);
        fs::remove_file(&p).map_err(Error::io("remove", &p))?;
        storage::sync_dir(&self.root)
    }

    /// Restores a consistent directory after a writer died: see the module docs. Idempotent.
    fn recover(&self) -> Result<()> {
        let ledger = self.read_inventory()?;
        self.recover_next_cas(&ledger)?;
        self.recover_next_issuing(&ledger)?;
        let recorded: HashSet<String> = ledger
            .issued()
            .iter()
            .map(|i| i.serial.to_string())
            .collect();
        for kind in [CertKind::Server, CertKind::Client] {
            let archive = self.archive_dir(kind);
            if let Ok(entries) = fs::read_dir(&archive) {
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if !recorded.contains(&name) {
                        let p = e.path();
                        fs::remove_dir_all(&p).map_err(Error::io("remove unfinished", &p))?;
                    }
                }
                storage::sync_dir(&archive)?;
            }
            let leaf = self.leaf_dir(kind);
            if let Ok(entries) = fs::read_dir(&leaf) {
                for e in entries.flatten() {
                    if storage::is_temp_name(&e.file_name().to_string_lossy()) {
                        let _ = fs::remove_file(e.path());
                    }
                }
            }
        }
        for i in ledger.issued() {
            if !i.kind.is_ca() && ledger.is_current(i) {
                self.link_current(i.kind, &i.name, &i.serial, false, !i.external_key)?;
            }
        }
        for kind in [CertKind::Server, CertKind::Client] {
            if self.leaf_dir(kind).exists() {
                storage::sync_dir(&self.leaf_dir(kind))?;
            }
        }
        self.end_pending()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::names::RoleName;
    use crate::model::serial::Serial;
    use crate::store::options::{InitOptions, IssueOptions};
    use crate::x509::inspect::CertInfo;
    use std::path::Path;

    /// An archive directory that no unfinished batch lists is evidence of a damaged inventory:
    /// recovery refuses, and removes nothing.
    #[test]
    fn recovery_never_removes_what_no_batch_was_writing() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = CaDir::init(tmp.path().join("ca"), &InitOptions::default()).unwrap();
        let bob: RoleName = "bob".parse().unwrap();
        ca.issue_client(&bob, &IssueOptions::default()).unwrap();
        let stray = ca
            .archive_dir(CertKind::Client)
            .join(Serial::random().to_string());
        fs::create_dir(&stray).unwrap();
        fs::write(ca.root().join(PENDING), b"").unwrap();
        let carol: RoleName = "carol".parse().unwrap();
        let e = ca
            .issue_client(&carol, &IssueOptions::default())
            .unwrap_err();
        assert!(
            matches!(e, crate::error::Error::DamagedInventory { .. }),
            "{e}"
        );
        assert!(stray.exists());
        assert!(!ca.cert_path(CertKind::Client, "carol").exists());
    }

    #[test]
    fn temp_names_never_match_a_roles_entries() {
        assert!(storage::is_temp_name(
            &storage::temp_path(Path::new("d/alice.live"))
                .file_name()
                .unwrap()
                .to_string_lossy()
        ));
        for role in [".alice.live.tmp-1-abcdefabcdef", "x.tmp-12-aaaaaaaaaaaa"] {
            for ext in ["crt", "key", "live"] {
                assert!(!storage::is_temp_name(&format!("{role}.{ext}")));
            }
        }
    }

    #[test]
    fn recovery_rolls_forward_committed_and_removes_uncommitted() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = CaDir::init(tmp.path().join("ca"), &InitOptions::default()).unwrap();
        let bob: RoleName = "bob".parse().unwrap();
        let issued = ca.issue_client(&bob, &IssueOptions::default()).unwrap();
        // Simulate a crash after commit but before the link swap, plus an uncommitted pair.
        fs::remove_file(ca.root().join("clients/bob.live")).unwrap();
        let orphan = ca
            .archive_dir(CertKind::Client)
            .join(Serial::random().to_string());
        fs::create_dir(&orphan).unwrap();
        let listed = format!("{}\n", orphan.file_name().unwrap().to_string_lossy());
        fs::write(ca.root().join(PENDING), listed).unwrap();
        let carol: RoleName = "carol".parse().unwrap();
        ca.issue_client(&carol, &IssueOptions::default()).unwrap();
        assert!(!orphan.exists());
        assert_eq!(
            CertInfo::from_file(&issued.cert_path).unwrap().serial,
            issued.serial
        );
    }
}
