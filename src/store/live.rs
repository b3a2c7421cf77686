//! A name's current certificate and key, read back and checked against the inventory.

use crate::error::{Error, Result};
use crate::inventory::{Issued, Ledger};
use crate::model::kind::CertKind;
use crate::model::serial::Serial;
use crate::storage::{self};
use crate::store::layout::CaDir;
use crate::x509::inspect::CertInfo;
use crate::x509::keys::PrivateKey;

/// A name's current certificate and key as the inventory records them, read under the lock.
pub(crate) struct LivePair {
    /// The inventory's record.
    pub(crate) record: Issued,
    /// Whether the record's serial is revoked.
    pub(crate) revoked: bool,
    /// The certificate file's bytes (PEM).
    pub(crate) cert_pem: Vec<u8>,
    /// The key file's bytes (PEM), wiped when dropped; empty for an external key.
    pub(crate) key_pem: zeroize::Zeroizing<Vec<u8>>,
    /// What the certificate says.
    pub(crate) info: CertInfo,
}

impl CaDir {
    /// The current certificate of `name` and its key, read under the shared lock and checked
    /// against the inventory: the file must be the certificate recorded (its SHA-256, or for
    /// older records its serial), and a plain key must match it. A file that disagrees is
    /// [`Error::NotRecorded`], never used.
    pub(crate) fn live_pair(&self, kind: CertKind, name: &str) -> Result<LivePair> {
        let _lock = self.read_lock()?;
        self.live_pair_in(&self.read_inventory()?, kind, name)
    }

    /// [`CaDir::live_pair`] against an inventory the caller read and holds the lock for: many
    /// names checked against one read (`renew`).
    pub(crate) fn live_pair_in(
        &self,
        ledger: &Ledger,
        kind: CertKind,
        name: &str,
    ) -> Result<LivePair> {
        let Some(record) = ledger.current(kind, name).cloned() else {
            return Err(self.not_issued(kind, name));
        };
        let revoked = ledger.revocation(&record.serial).is_some();
        let cert_path = self.cert_path(kind, name);
        let key_path = self.key_path(kind, name);
        let cert_pem = match record.external_key && self.superseded_here(kind, name, &record.serial)
        {
            true => match self.published(&record.cert)? {
                Some(pem) => pem,
                None => self.cert_bytes(&record, &cert_path)?,
            },
            false => self.cert_bytes(&record, &cert_path)?,
        };
        let info = check_recorded(&record, &cert_path, &cert_pem)?;
        // An external key (`pgca sign`) is not here: the recorded fingerprint of the certificate
        // above already ties the file to the recorded public key.
        if record.external_key {
            return Ok(LivePair {
                record,
                revoked,
                cert_pem,
                key_pem: zeroize::Zeroizing::new(Vec::new()),
                info,
            });
        }
        let key_pem = zeroize::Zeroizing::new(storage::read(&key_path, "read key")?);
        let text = zeroize::Zeroizing::new(String::from_utf8_lossy(&key_pem).into_owned());
        // An encrypted key is its owner's to decrypt; only a plain one is checked here.
        if !crate::x509::keys::is_encrypted_pem(&text)
            && PrivateKey::from_pem(&text, &key_path)?.public_key_der() != info.spki_der
        {
            return Err(Error::KeyMismatch {
                key: key_path,
                cert: cert_path,
            });
        }
        Ok(LivePair {
            record,
            revoked,
            cert_pem,
            key_pem,
            info,
        })
    }

    /// The certificate `record` describes, from its archived file, or from the inventory
    /// database when this directory has no copy (another `serve` host issued it); checked
    /// against the record as [`CaDir::live_pair`] checks the current one. The caller holds a
    /// lock.
    pub(crate) fn recorded_cert(&self, record: &Issued) -> Result<Vec<u8>> {
        let path = self.root.join(&record.cert);
        let pem = self.cert_bytes(record, &path)?;
        check_recorded(record, &path, &pem)?;
        Ok(pem)
    }

    /// A current certificate's file, as `reader` (its side's leaf directory) reads it; when the
    /// directory has no copy and the inventory is in a database, the copy committed with its
    /// record (a certificate another `serve` host issued). `check` and `verify` judge either.
    pub(crate) fn current_cert_file(
        &self,
        reader: &storage::DirReader,
        c: &crate::inventory::ledger::CurrentCert,
    ) -> std::io::Result<Vec<u8>> {
        if c.external_key && self.superseded_here(c.kind, &c.name, &c.serial) {
            let name = archived_name(c.kind, &c.serial, &c.name, "crt");
            if let Ok(Some(pem)) = self.published(&name) {
                return Ok(pem);
            }
        }
        let found = reader.read_io(&format!("{}.crt", c.name));
        match found {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.db.is_some() => {
                match self.published(&archived_name(c.kind, &c.serial, &c.name, "crt")) {
                    Ok(Some(pem)) => Ok(pem),
                    Ok(None) => Err(e),
                    Err(db) => Err(std::io::Error::other(db.to_string())),
                }
            }
            other => other,
        }
    }

    /// With the inventory in a database, whether `name`'s current files here are this
    /// directory's own earlier pair, `NAME.crt` through `NAME.live` into an archive entry that
    /// is not `current` (the archive holds only recorded serials): another host renewed it
    /// since, and its certificate is the database's copy. A file in place of the links is
    /// never taken for one.
    fn superseded_here(&self, kind: CertKind, name: &str, current: &Serial) -> bool {
        if self.db.is_none() {
            return false;
        }
        let leaf = self.leaf_dir(kind);
        let through_live = std::fs::read_link(leaf.join(format!("{name}.crt"))).is_ok_and(|t| {
            t == std::path::Path::new(&format!("{name}.live")).join(format!("{name}.crt"))
        });
        let live = std::fs::read_link(leaf.join(format!("{name}.live"))).ok();
        let earlier = live.as_deref().and_then(|t| {
            let serial: Serial = t.file_name()?.to_str()?.parse().ok()?;
            (t.parent() == Some(std::path::Path::new("archive")) && serial != *current)
                .then_some(serial)
        });
        through_live && earlier.is_some_and(|s| leaf.join("archive").join(s.to_string()).is_dir())
    }

    /// The bytes of the certificate file `path` (a name's current link, a record's archived
    /// copy); when the directory has no such file and the inventory is in a database, the copy
    /// committed there with `record`.
    fn cert_bytes(&self, record: &Issued, path: &std::path::Path) -> Result<Vec<u8>> {
        match storage::read(path, "read certificate") {
            Err(Error::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound && self.db.is_some() =>
            {
                match self.published(&record.cert)? {
                    Some(pem) => Ok(pem),
                    None => Err(Error::io("read certificate", path)(source)),
                }
            }
            other => other,
        }
    }

    /// [`CaDir::live_pair`], refusing a revoked certificate: what deployments and installs use.
    pub(crate) fn live_unrevoked(&self, kind: CertKind, name: &str) -> Result<LivePair> {
        let pair = self.live_pair(kind, name)?;
        if pair.revoked {
            return Err(Error::Revoked {
                kind,
                name: name.to_string(),
                serial: pair.record.serial,
            });
        }
        Ok(pair)
    }

    /// [`CaDir::live_unrevoked`], refusing an external key too: what needs the private key
    /// (deploying, installing, a login probe) uses this.
    pub(crate) fn live_with_key(&self, kind: CertKind, name: &str) -> Result<LivePair> {
        let pair = self.live_unrevoked(kind, name)?;
        if pair.record.external_key {
            return Err(Error::ExternalKey {
                kind,
                name: name.to_string(),
            });
        }
        Ok(pair)
    }

    /// The error for a name that has no certificate of `kind`.
    pub(crate) fn not_issued(&self, kind: CertKind, name: &str) -> Error {
        Error::NotIssued {
            kind: Some(kind),
            name: name.to_string(),
            dir: self.root.clone(),
        }
    }
}

/// A leaf's archived certificate (`ext` "crt") or key ("key"), where issuing puts it and
/// records it, relative to the CA directory: also a certificate's name in the inventory
/// database.
pub(crate) fn archived_name(kind: CertKind, serial: &Serial, name: &str, ext: &str) -> String {
    format!("{}/archive/{serial}/{name}.{ext}", kind.side().leaf_dir())
}

/// What the certificate file `path` says, if it is the one `record` describes: its SHA-256, or
/// for older records its serial. One that is not is [`Error::NotRecorded`].
pub(crate) fn check_recorded(
    record: &Issued,
    path: &std::path::Path,
    pem: &[u8],
) -> Result<CertInfo> {
    let info = CertInfo::from_pem(pem).map_err(|reason| Error::BadCert {
        path: path.to_path_buf(),
        reason,
    })?;
    let mismatch = |found: String| Error::NotRecorded {
        kind: record.kind,
        name: record.name.clone(),
        path: path.to_path_buf(),
        expected: record.serial.clone(),
        found,
    };
    match &record.sha256 {
        Some(h) => {
            let der = crate::x509::pem::first_cert_der(pem).map_err(|e| mismatch(e.to_string()))?;
            if &crate::model::hex::sha256(&der) != h {
                return Err(mismatch(format!(
                    "it holds serial {} with another fingerprint",
                    info.serial
                )));
            }
        }
        None if info.serial != record.serial => {
            return Err(mismatch(format!("it holds serial {}", info.serial)));
        }
        None => {}
    }
    Ok(info)
}
