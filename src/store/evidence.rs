//! The inventory against the rest of the CA directory: a CRL on disk with a higher number or a
//! revoked serial the inventory does not have, an archived certificate it does not record. No
//! crash leaves either (revocations and CRL records are committed before the CRL file is
//! written; archive directories of an unfinished batch are listed in `.pending`), so each is
//! [`Error::DamagedInventory`]: a cut-short, emptied or rolled-back inventory that the seal
//! alone could not show (an inventory older than its seal, or with the seal lost too).
//!
//! Every read of the inventory goes through here ([`CaDir::read_inventory`]), and so does every
//! write ([`CaDir::append_events`]): nothing is listed, checked, renewed or written from an
//! inventory the directory contradicts.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use crate::error::{Error, Result};
use crate::inventory::log::Facts;
use crate::inventory::{self, Event, Ledger};
use crate::model::kind::{CertKind, Side};
use crate::store::layout::{CaDir, PENDING};
use crate::store::ledger_cache::Stamp;
use crate::x509::inspect::CrlInfo;

impl CaDir {
    /// Reads the inventory and checks it against the directory. The caller holds a lock.
    pub(crate) fn read_inventory(&self) -> Result<Ledger> {
        Ok(self.read_inventory_with_facts()?.0)
    }

    /// [`CaDir::read_inventory`], and the facts it was checked by (`verify` holds the archive
    /// to them too).
    pub(crate) fn read_inventory_with_facts(&self) -> Result<(Ledger, Facts)> {
        let ledger = match &self.db {
            Some(db) => db.read()?,
            None => inventory::log::read(&inventory::log::path_in(self.root()))?,
        };
        let facts = Facts::of(&ledger);
        self.check_evidence(&facts)?;
        Ok((ledger, facts))
    }

    /// Appends `events` as one batch, after the inventory and what it says were checked against
    /// the directory. The caller holds the write lock.
    pub(crate) fn append_events(&self, events: &[Event]) -> Result<()> {
        if let Some(db) = &self.db {
            return db.append(events);
        }
        let path = inventory::log::path_in(self.root());
        let before = self.ledger.as_ref().map(|_| Stamp::of(&path));
        // The inventory this process holds in memory was checked against the directory when
        // it was read, and only this process has written since: no scan, no second check.
        let known = matches!((&self.ledger, before), (Some(c), Some(b)) if c.holds(b));
        let appended = if known {
            inventory::log::append_after_seal(&path, events)
        } else {
            Ok(false)
        }
        .and_then(|done| {
            if done {
                Ok(())
            } else {
                inventory::log::append(&path, events, |facts| self.check_evidence(facts))
            }
        });
        if let (Some(cache), Some(before)) = (&self.ledger, before) {
            match &appended {
                Ok(()) => cache.appended(before, events, Stamp::of(&path)),
                Err(_) => cache.forget(),
            }
        }
        appended
    }

    /// [`CaDir::append_events`], with the certificates and CRLs the events describe: with the
    /// inventory in a database they are committed in the same transaction (`pgca.files`); with
    /// the file inventory the caller's files in the directory are all there is.
    pub(crate) fn append_events_with(
        &self,
        events: &[Event],
        files: &[crate::inventory::PublishedFile],
    ) -> Result<()> {
        match &self.db {
            Some(db) => db.append_with(events, files),
            None => self.append_events(events),
        }
    }

    /// A file kept in the inventory database beside the records (an issued certificate by its
    /// record's `cert` path, a CRL by its file name); `None` with the file inventory, or when
    /// the database has none (records imported without their directory).
    pub(crate) fn published(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match &self.db {
            Some(db) => db.file(name),
            None => Ok(None),
        }
    }

    /// `f` of the inventory, read as [`CaDir::read_inventory`] does, or, in a process that keeps
    /// it ([`CaDir::keeping_state`]), of the ledger in memory while the file is the one it last
    /// read or wrote. The caller holds a lock.
    pub(crate) fn with_inventory<T>(&self, f: impl FnOnce(&Ledger) -> Result<T>) -> Result<T> {
        if let Some(db) = &self.db {
            // The database keeps its rows' ledger in memory and fetches only new rows; the
            // directory was checked against it when this process first read it.
            return db.with_ledger(f);
        }
        match &self.ledger {
            None => f(&self.read_inventory()?),
            Some(cache) => {
                let stamp = Stamp::of(&inventory::log::path_in(self.root()));
                cache.with(stamp, || self.read_inventory(), f)
            }
        }
    }

    /// Refuses an inventory whose `facts` the CRLs or the archive contradict.
    pub(crate) fn check_evidence(&self, facts: &Facts) -> Result<()> {
        let damaged = |evidence: String| Error::DamagedInventory {
            path: match &self.db {
                Some(db) => db.target().into(),
                None => inventory::log::path_in(self.root()),
            },
            evidence,
        };
        for (i, side) in Side::BOTH.into_iter().enumerate() {
            let path = self.crl_path(side);
            // A missing or unreadable CRL shows nothing here (check and verify report it).
            let Ok(crl) = CrlInfo::from_file(&path) else {
                continue;
            };
            if let Some(number) = crl.number
                && facts.crl_number[i].is_none_or(|n| number > n)
            {
                return Err(damaged(format!(
                    "{} carries CRL number {number}, but the inventory records {}",
                    path.display(),
                    facts.crl_number[i]
                        .map_or("no CRL".to_string(), |n| format!("CRLs up to number {n}"))
                )));
            }
            // Every CRL of the file (a rollover's, a hierarchy's intermediates'), not only the
            // first.
            let rest = fs::read(&path)
                .ok()
                .and_then(|b| crate::x509::pem::all_blocks(&b, "X509 CRL").ok())
                .unwrap_or_default()
                .into_iter()
                .skip(1)
                .filter_map(|der| {
                    CrlInfo::from_pem(crate::x509::pem::encode("X509 CRL", &der).as_bytes()).ok()
                });
            if let Some(e) = std::iter::once(crl)
                .chain(rest)
                .flat_map(|c| c.revoked)
                .find(|e| !facts.revoked.contains(&e.serial.to_string()))
            {
                return Err(damaged(format!(
                    "{} lists serial {} as revoked, but the inventory has no such revocation",
                    path.display(),
                    e.serial
                )));
            }
        }
        let pending = self.pending_serials();
        for kind in [CertKind::Server, CertKind::Client] {
            let archive = self.archive_dir(kind);
            if let Some(unknown) = unrecorded(&archive, facts, &pending)? {
                return Err(damaged(format!(
                    "{} is in the archive, but the inventory records no certificate of that serial",
                    archive.join(unknown).display()
                )));
            }
        }
        Ok(())
    }

    /// With the inventory in a database, the directory's inventory file and seal if they are
    /// still there (a stale copy after `inventory import`), with what `verify` says of them.
    pub(crate) fn stale_inventory_files(&self) -> Vec<(std::path::PathBuf, String)> {
        let Some(db) = &self.db else {
            return Vec::new();
        };
        [inventory::INVENTORY_FILE, inventory::SEAL_FILE]
            .into_iter()
            .map(|f| self.root().join(f))
            .filter(|p| p.exists())
            .map(|p| {
                let what = format!(
                    "not read: the inventory is in the database {}; move this file out of the \
                     CA directory (after `inventory import` it is a stale copy)",
                    db.target()
                );
                (p, what)
            })
            .collect()
    }

    /// The serials an unfinished batch was writing into the archive (listed in `.pending`).
    pub(crate) fn pending_serials(&self) -> HashSet<String> {
        fs::read_to_string(self.root().join(PENDING))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// The first entry of `archive` that is neither recorded nor part of an unfinished batch.
fn unrecorded(archive: &Path, facts: &Facts, pending: &HashSet<String>) -> Result<Option<String>> {
    let entries = match fs::read_dir(archive) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read archive", archive)(e)),
    };
    for e in entries {
        let e = e.map_err(Error::io("read archive", archive))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !facts.issued.contains(&name) && !pending.contains(&name) {
            return Ok(Some(name));
        }
    }
    Ok(None)
}
