//! The files of a CA rollover: the new CA written beside the old one, the trust bundle, and
//! the retirement of the old CA at the end, each step idempotent so that the write lock can
//! finish one a crash interrupted ([`CaDir::settle_rollovers`]).

use crate::error::{Error, Result};
use crate::inventory::{Ledger, RolloverStep};
use crate::model::kind::Side;
use crate::storage::{self, PUBLIC_MODE};
use crate::store::layout::CaDir;
use crate::store::made::Made;
use crate::x509::inspect::CertInfo;

/// Where retired CAs go: `DIR/ca-archive/server-ca-<serial>.crt`, `.key` (or `.pkcs11`), `.crl`.
pub(crate) const CA_ARCHIVE: &str = "ca-archive";

/// What `.pending` lists while a rollover start writes the new CA of `side`:
/// `server-ca.next`.
pub(crate) fn pending_mark(side: Side) -> String {
    format!("{}-ca.next", side.name())
}

impl CaDir {
    /// Removes a new CA's files (a start that failed or died before its commit).
    pub(crate) fn remove_next_ca(&self, side: Side) -> Result<()> {
        for name in [
            side.next_ca_key_file(),
            side.next_ca_token_file(),
            side.next_ca_cert_file(),
        ] {
            remove_if_there(&self.root.join(name))?;
        }
        storage::sync_dir(&self.root)
    }

    /// Recovery under the write lock: the new CA a start listed in `.pending` and the inventory
    /// does not record was never used, and goes.
    pub(crate) fn recover_next_cas(&self, ledger: &Ledger) -> Result<()> {
        let pending = self.pending_serials();
        for side in Side::BOTH {
            if !pending.contains(&pending_mark(side)) || ledger.rollover(side).is_some() {
                continue;
            }
            let recorded = CertInfo::from_file(&self.next_ca_cert_path(side))
                .is_ok_and(|c| ledger.issued().iter().any(|i| i.serial == c.serial));
            if !recorded {
                self.remove_next_ca(side)?;
            }
        }
        Ok(())
    }

    /// Writes a rollover's new CA: its key file (or token reference) 0600 from the first byte,
    /// then its certificate, both new files: a leftover of a start that died before its commit
    /// is refused ([`Error::UnrecordedNextCa`]), never overwritten.
    pub(crate) fn write_next_ca(&self, made: &Made) -> Result<()> {
        let side = made.side;
        self.refuse_unrecorded_next_ca(side)?;
        made.write_new(&self.root, side.next_ca_cert_file())?;
        storage::sync_dir(&self.root)
    }

    /// Refuses to start a rollover over a new CA's files no rollover records (a start that died
    /// before its commit): they are the operator's to move away, never overwritten.
    pub(crate) fn refuse_unrecorded_next_ca(&self, side: Side) -> Result<()> {
        for name in [
            side.next_ca_cert_file(),
            side.next_ca_key_file(),
            side.next_ca_token_file(),
        ] {
            let path = self.root.join(name);
            if path.symlink_metadata().is_ok() {
                return Err(Error::UnrecordedNextCa(path));
            }
        }
        Ok(())
    }

    /// `DIR/server-ca.crt` as the bundle of the CA in use and the new one (when there is one).
    pub(crate) fn write_trust_bundle(&self, side: Side) -> Result<()> {
        let path = self.ca_cert_path(side);
        let current = storage::read(&path, "read CA certificate")?;
        let first =
            crate::x509::pem::first_cert_der(&current).map_err(|reason| Error::BadCert {
                path: path.clone(),
                reason,
            })?;
        let mut bundle = crate::x509::pem::encode("CERTIFICATE", &first);
        if self.has_next_ca(side) {
            let next = storage::read(&self.next_ca_cert_path(side), "read CA certificate")?;
            bundle.push_str(&String::from_utf8_lossy(&next));
        }
        if bundle.as_bytes() != current.as_slice() {
            storage::replace_file(
                &path,
                bundle.as_bytes(),
                PUBLIC_MODE,
                "write CA certificate",
            )?;
        }
        Ok(())
    }

    /// Under the write lock: finishes whatever a rollover step left half done, as the inventory
    /// says it should be. A started rollover gets its bundle; a finished one its old CA retired
    /// and the new one moved into place. Cheap when no new CA is on disk.
    pub(crate) fn settle_rollovers(&self) -> Result<()> {
        let sides: Vec<Side> = Side::BOTH
            .into_iter()
            .filter(|&s| self.has_next_ca(s) || self.has_next_issuing(s))
            .collect();
        if sides.is_empty() {
            return Ok(());
        }
        let ledger = self.read_inventory()?;
        for side in sides {
            if self.has_next_ca(side) {
                self.settle_side(side, &ledger)?;
            }
            if self.has_next_issuing(side) {
                self.settle_issuing(side, &ledger)?;
            }
        }
        Ok(())
    }

    fn settle_side(&self, side: Side, ledger: &Ledger) -> Result<()> {
        let next = CertInfo::from_file(&self.next_ca_cert_path(side))?.serial;
        if ledger.rollover(side).is_some_and(|r| r.new_ca == next) {
            return self.write_trust_bundle(side);
        }
        if let Some(f) = ledger
            .last_finished_rollover(side)
            .filter(|f| f.new_ca == next)
        {
            return self.retire_old_ca(side, f);
        }
        // Unknown to the inventory (a start that died before its commit, or an inventory
        // repaired without its rollover): never removed here; verify reports it, and
        // `rollover start` refuses until it is moved away.
        Ok(())
    }

    /// The end of a finished rollover, in steps that can each be repeated: the old CA's
    /// certificate and last CRL copied into `ca-archive/`, its key (or token reference) moved
    /// there, the new CA's key, certificate and CRL put in the places of the old, and the new
    /// CA's own certificate file removed last (its presence is what makes the write lock come
    /// back here).
    fn retire_old_ca(&self, side: Side, f: &RolloverStep) -> Result<()> {
        // Through a handle on the archive, opened by the trust walk: a link or a directory of
        // another user's at `ca-archive` is refused, never written through.
        let archive = storage::open_dir(
            &self.root.join(CA_ARCHIVE),
            &storage::Trust::invoker(),
            Some(storage::NewDir {
                mode: storage::DIR_MODE,
                owner: None,
            }),
        )?;
        let stem = format!("{}-ca-{}", side.name(), f.old_ca);
        let bundle_path = self.ca_cert_path(side);
        let bundle = storage::read(&bundle_path, "read CA certificate")?;
        let certs = crate::x509::pem::all_cert_ders(&bundle).map_err(|reason| Error::BadCert {
            path: bundle_path.clone(),
            reason,
        })?;
        let old_first = CertInfo::from_der(&certs[0]).is_ok_and(|c| c.serial == f.old_ca);
        let crl_path = self.crl_path(side);
        let crls = storage::read(&crl_path, "read CRL")
            .ok()
            .and_then(|b| crate::x509::pem::all_blocks(&b, "X509 CRL").ok())
            .unwrap_or_default();
        if old_first {
            let pem = crate::x509::pem::encode("CERTIFICATE", &certs[0]);
            let name = format!("{stem}.crt");
            archive.replace_file(
                &name,
                pem.as_bytes(),
                PUBLIC_MODE,
                None,
                "archive CA certificate",
            )?;
            if crls.len() == 2 {
                let pem = crate::x509::pem::encode("X509 CRL", &crls[0]);
                let name = format!("{stem}.crl");
                archive.replace_file(&name, pem.as_bytes(), PUBLIC_MODE, None, "archive CRL")?;
            }
        }
        self.move_keys(side, &archive, &stem)?;
        if crls.len() == 2 {
            let pem = crate::x509::pem::encode("X509 CRL", &crls[1]);
            storage::replace_file(&crl_path, pem.as_bytes(), PUBLIC_MODE, "write CRL")?;
        }
        let next = storage::read(&self.next_ca_cert_path(side), "read CA certificate")?;
        storage::replace_file(&bundle_path, &next, PUBLIC_MODE, "write CA certificate")?;
        remove_if_there(&self.next_ca_cert_path(side))?;
        storage::sync_dir(&self.root)
    }

    /// The old CA's key file or token reference linked into the archive, then the new one's
    /// renamed over it: at no moment is there no key in its place. Nothing to do once the new
    /// one has moved.
    fn move_keys(&self, side: Side, archive: &storage::Dir, stem: &str) -> Result<()> {
        let next_key = [side.next_ca_key_file(), side.next_ca_token_file()]
            .into_iter()
            .zip([side.ca_key_file(), side.ca_token_file()])
            .find(|(n, _)| self.root.join(n).symlink_metadata().is_ok());
        let Some((from, to)) = next_key else {
            // Moved already (a finish a crash cut short, the old key archived first), or never
            // here: a host that takes the CA certificates from the inventory database and was
            // not given the new CA's key. That one must not put the new CA's certificate beside
            // the old key.
            let archived = ["key", "pkcs11"]
                .iter()
                .map(|ext| archive.stat_at(&format!("{stem}.{ext}")))
                .collect::<Result<Vec<_>>>()?;
            if archived.iter().all(Option::is_none) {
                return Err(Error::MissingCaFile(
                    self.root.join(side.next_ca_key_file()),
                ));
            }
            return Ok(());
        };
        for (old, ext) in [
            (side.ca_key_file(), "key"),
            (side.ca_token_file(), "pkcs11"),
        ] {
            let old = self.root.join(old);
            let dest = archive.path().join(format!("{stem}.{ext}"));
            if old.symlink_metadata().is_ok() && dest.symlink_metadata().is_err() {
                std::fs::hard_link(&old, &dest).map_err(Error::io("archive CA key", &old))?;
            }
        }
        archive.sync()?;
        let (from, to) = (self.root.join(from), self.root.join(to));
        std::fs::rename(&from, &to).map_err(Error::io("move CA key into place", &from))?;
        // A file key replaced by a key in a token (or the other way): the old kind's file, now
        // archived, goes, or the CA would hold both.
        for other in [side.ca_key_file(), side.ca_token_file()] {
            let other = self.root.join(other);
            if other != to {
                remove_if_there(&other)?;
            }
        }
        storage::sync_dir(&self.root)
    }
}

fn remove_if_there(path: &std::path::Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", path)(e)),
        _ => Ok(()),
    }
}
