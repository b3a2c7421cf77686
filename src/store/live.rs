//! A name's current certificate and key, read back and checked against the inventory.

use crate::error::{Error, Result};
use crate::inventory::{Issued, Ledger};
use crate::model::kind::CertKind;
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
        let cert_pem = storage::read(&cert_path, "read certificate")?;
        let info = CertInfo::from_pem(&cert_pem).map_err(|reason| Error::BadCert {
            path: cert_path.clone(),
            reason,
        })?;
        let mismatch = |found: String| Error::NotRecorded {
            kind,
            name: name.to_string(),
            path: cert_path.clone(),
            expected: record.serial.clone(),
            found,
        };
        match &record.sha256 {
            Some(h) => {
                let der = crate::x509::pem::first_cert_der(&cert_pem)
                    .map_err(|e| mismatch(e.to_string()))?;
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
