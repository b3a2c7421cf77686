//! The issuing hierarchy of `init --intermediate`: per side a root (`server-ca.crt`, the trust
//! anchor every trust output copies, pathlen 1) and an issuing intermediate the root signs
//! (`server-issuing.crt`, `server-issuing.key`, pathlen 0) that signs every leaf. The
//! intermediate's certificate follows the leaf's in each leaf's file, so that PostgreSQL
//! (`ssl_cert_file`) and libpq (`sslcert`) send the chain; the inventory's fingerprint stays the
//! leaf's own DER, the first block.
//!
//! An intermediate rollover (`pgca rollover start server --intermediate`) puts a new
//! intermediate signed by the same root beside the old one (`server-issuing.next.crt`,
//! `.next.key`): no trust file changes, only `DIR/server-ca.crl` gains the new intermediate's
//! CRL. At the end the old intermediate goes to `ca-archive/server-issuing-<serial>.*` and the
//! new one takes its place ([`CaDir::settle_issuing`]).

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::inventory::{Issued, Ledger, RolloverStep};
use crate::model::kind::Side;
use crate::model::serial::Serial;
use crate::storage::{self, PUBLIC_MODE};
use crate::store::layout::CaDir;
use crate::store::made::{Made, Span};
use crate::x509::ca::CaSigner;
use crate::x509::inspect::CertInfo;
use crate::x509::keys::KeyType;

impl CaDir {
    /// Whether `side` is a hierarchy: an issuing intermediate (`DIR/server-issuing.crt`) signs
    /// its leaves.
    pub fn has_issuing(&self, side: Side) -> bool {
        self.issuing_cert_path(side).symlink_metadata().is_ok()
    }

    /// The issuing intermediate's certificate (`DIR/server-issuing.crt`).
    pub fn issuing_cert_path(&self, side: Side) -> PathBuf {
        self.root.join(side.issuing_cert_file())
    }

    /// An intermediate rollover's new intermediate (`DIR/server-issuing.next.crt`).
    pub fn next_issuing_cert_path(&self, side: Side) -> PathBuf {
        self.root.join(side.next_issuing_cert_file())
    }

    /// Whether an intermediate rollover's new intermediate is on disk.
    pub(crate) fn has_next_issuing(&self, side: Side) -> bool {
        self.next_issuing_cert_path(side).symlink_metadata().is_ok()
    }

    /// The intermediates of `side` on disk, as DER and as read: the one in use, then a
    /// rollover's new one. Empty outside a hierarchy; an unreadable file is left out (verify
    /// reports it).
    pub(crate) fn issuing_cas(&self, side: Side) -> Vec<(PathBuf, Vec<u8>, CertInfo)> {
        [
            self.issuing_cert_path(side),
            self.next_issuing_cert_path(side),
        ]
        .into_iter()
        .filter_map(|path| {
            let bytes = storage::read(&path, "read CA certificate").ok()?;
            let der = crate::x509::pem::first_cert_der(&bytes).ok()?;
            let info = CertInfo::from_der(&der).ok()?;
            Some((path, der, info))
        })
        .collect()
    }

    /// Writes a rollover's new intermediate: its key file 0600 from the first byte, then its
    /// certificate, both new files.
    pub(crate) fn write_next_issuing(&self, made: &Made) -> Result<()> {
        made.write_new(&self.root, made.side.next_issuing_cert_file())?;
        storage::sync_dir(&self.root)
    }

    /// Under the write lock, with a new intermediate on disk: nothing to do while its rollover
    /// is under way; the old intermediate retired once it finished.
    pub(crate) fn settle_issuing(&self, side: Side, ledger: &Ledger) -> Result<()> {
        let next = CertInfo::from_file(&self.next_issuing_cert_path(side))?.serial;
        if ledger.rollover(side).is_some_and(|r| r.new_ca == next) {
            return Ok(());
        }
        if let Some(f) = ledger
            .last_finished_rollover(side)
            .filter(|f| f.new_ca == next)
        {
            return self.retire_old_issuing(side, f);
        }
        // Unknown to the inventory: left alone (verify reports it); a start that died before its
        // commit is undone by the recovery of `.pending`, which lists it.
        Ok(())
    }

    /// Recovery under the write lock: a new intermediate a start listed in `.pending` and the
    /// inventory does not record was never used, and goes.
    pub(crate) fn recover_next_issuing(&self, ledger: &Ledger) -> Result<()> {
        let pending = self.pending_serials();
        for side in Side::BOTH {
            if !pending.contains(&issuing_pending_mark(side)) || ledger.rollover(side).is_some() {
                continue;
            }
            let recorded = CertInfo::from_file(&self.next_issuing_cert_path(side))
                .is_ok_and(|c| ledger.issued().iter().any(|i| i.serial == c.serial));
            if !recorded {
                for name in [side.next_issuing_key_file(), side.next_issuing_cert_file()] {
                    remove_if_there(&self.root.join(name))?;
                }
                storage::sync_dir(&self.root)?;
            }
        }
        Ok(())
    }

    /// The end of an intermediate rollover, each step repeatable: the old intermediate's
    /// certificate and CRL copied into `ca-archive/`, its CRL dropped from `DIR/server-ca.crl`,
    /// its key moved to the archive and the new one's into its place, the new certificate copied
    /// over the old, and the new one's own file removed last.
    fn retire_old_issuing(&self, side: Side, f: &RolloverStep) -> Result<()> {
        let archive = self.root.join(crate::store::rollover_files::CA_ARCHIVE);
        storage::ensure_private_dir(&archive)?;
        let stem = format!("{}-{}", side.issuing_name(), f.old_ca);
        let next_key = self.root.join(side.next_issuing_key_file());
        let archived = archive
            .join(format!("{stem}.key"))
            .symlink_metadata()
            .is_ok();
        if next_key.symlink_metadata().is_err() && !archived {
            // Never here (a host that takes the CA certificates from the inventory database and
            // was not given the new intermediate's key): nothing is retired, and the new
            // certificate never goes beside the old key.
            return Err(Error::MissingCaFile(next_key));
        }
        let current = self.issuing_cert_path(side);
        let crl_path = self.crl_path(side);
        let crls = storage::read(&crl_path, "read CRL")
            .ok()
            .and_then(|b| crate::x509::pem::all_blocks(&b, "X509 CRL").ok())
            .unwrap_or_default();
        let old_there = CertInfo::from_file(&current).is_ok_and(|c| c.serial == f.old_ca);
        if old_there {
            let pem = storage::read(&current, "read CA certificate")?;
            let to = archive.join(format!("{stem}.crt"));
            storage::replace_file(&to, &pem, PUBLIC_MODE, "archive CA certificate")?;
            if crls.len() == 3 {
                let pem = crate::x509::pem::encode("X509 CRL", &crls[1]);
                let to = archive.join(format!("{stem}.crl"));
                storage::replace_file(&to, pem.as_bytes(), PUBLIC_MODE, "archive CRL")?;
            }
        }
        if crls.len() == 3 {
            let pem = [&crls[0], &crls[2]]
                .map(|d| crate::x509::pem::encode("X509 CRL", d))
                .concat();
            storage::replace_file(&crl_path, pem.as_bytes(), PUBLIC_MODE, "write CRL")?;
        }
        // The old key linked into the archive, then the new one renamed over it: a key is
        // always in place, whenever this stops.
        if next_key.symlink_metadata().is_ok() {
            let old_key = self.root.join(side.issuing_key_file());
            let dest = archive.join(format!("{stem}.key"));
            if old_key.symlink_metadata().is_ok() && dest.symlink_metadata().is_err() {
                std::fs::hard_link(&old_key, &dest)
                    .map_err(Error::io("archive CA key", &old_key))?;
                storage::sync_dir(&archive)?;
            }
            std::fs::rename(&next_key, &old_key)
                .map_err(Error::io("move CA key into place", &next_key))?;
            storage::sync_dir(&self.root)?;
        }
        let next = storage::read(&self.next_issuing_cert_path(side), "read CA certificate")?;
        storage::replace_file(&current, &next, PUBLIC_MODE, "write CA certificate")?;
        remove_if_there(&self.next_issuing_cert_path(side))?;
        storage::sync_dir(&archive)?;
        storage::sync_dir(&self.root)
    }
}

/// What `.pending` lists while an intermediate rollover's start writes the new intermediate.
pub(crate) fn issuing_pending_mark(side: Side) -> String {
    format!("{}.next", side.issuing_name())
}

/// A new issuing intermediate signed by `root`, its key written as `key_name` (encrypted with
/// `passphrase` when given), ending no later than the root.
pub(crate) fn make_issuing(
    root: &CaSigner,
    org: &str,
    key_type: KeyType,
    span: Span,
    key_name: &'static str,
    passphrase: Option<&crate::model::passphrase::Passphrase>,
) -> Result<Made> {
    let new = crate::x509::ca::create_intermediate(root, org, key_type, span)?;
    let key_text = match passphrase {
        Some(p) => new.key.to_encrypted_pem(p)?,
        None => new.key.to_pem(),
    };
    Ok(Made {
        side: root.side,
        key_name,
        key_text,
        cert_pem: new.cert_pem,
        serial: new.serial,
    })
}

/// The inventory's record of an intermediate: kind `server-ca`, name `server-issuing`, its
/// certificate and key files, the fingerprint of its DER and the root's serial.
pub(crate) fn issuing_record(
    made: &Made,
    root: &Serial,
    key_type: KeyType,
    cert_name: &str,
    now: time::OffsetDateTime,
) -> Issued {
    let side = made.side;
    let info = CertInfo::from_pem(made.cert_pem.as_bytes()).ok();
    let mut issued = Issued::new(
        made.serial.clone(),
        side.ca_kind(),
        side.issuing_name().to_string(),
        Vec::new(),
        key_type,
        info.as_ref()
            .map_or((now, now), |i| (i.not_before, i.not_after)),
        now,
        (cert_name.to_string(), made.key_name.to_string()),
    );
    if let Ok(der) = crate::x509::pem::first_cert_der(made.cert_pem.as_bytes()) {
        issued.sha256 = Some(crate::model::hex::sha256(&der));
        issued.spki_sha256 = info.map(|i| crate::model::hex::sha256(&i.spki_der));
    }
    issued.ca_serial = Some(root.clone());
    issued
}

fn remove_if_there(path: &std::path::Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", path)(e)),
        _ => Ok(()),
    }
}
