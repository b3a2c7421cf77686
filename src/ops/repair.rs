//! `pgca repair`: the way back from a damaged inventory (cut short, emptied, an older copy put
//! back, a corrupt line). The inventory keeps the longest prefix that reads by every rule; what
//! the rest of the CA directory shows was done after it is recorded again:
//!
//! - every certificate in `servers/archive/` and `clients/archive/` the prefix does not record
//!   (read back from the certificate: names, validity, key type, digests; an archive directory
//!   without a key is an external key);
//! - the two CA certificates, when the prefix lost their records;
//! - every serial a CRL on disk lists as revoked that the prefix does not (with the CRL's date
//!   and reason), and the CRL's number, so the next CRL's number is higher still.
//!
//! Nothing is written unless asked ([`RepairRequest::write`]): the report says what would be
//! added. Written, the damaged file is first copied aside (`inventory.jsonl.damaged-TIME`), and
//! the new inventory is sealed. Deployments recorded after the damage cannot be read back from
//! the CA directory: deploying again records them.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::inventory::log::Facts;
use crate::inventory::{self, CrlRecord, Event, Issued, Ledger, Revocation};
use crate::model::kind::{CertKind, Side};
use crate::model::reason::Reason;
use crate::model::serial::Serial;
use crate::model::timefmt;
use crate::storage::{self, Lock, LockKind, Wait};
use crate::store::layout::CaDir;
use crate::x509::inspect::{CertInfo, CrlInfo};
use crate::x509::keys::KeyType;

/// What [`CaDir::repair`] is asked to do.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RepairRequest {
    /// Write the repaired inventory (otherwise only report what would be added).
    pub write: bool,
    /// The time to name the set-aside copy by (default: now).
    pub now: Option<OffsetDateTime>,
}

/// One record a repair adds, in the words of `pgca list`.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Restored {
    /// `issued`, `revoked`, `crl` or `rollover-started`.
    pub event: &'static str,
    /// What it is about.
    pub kind: CertKind,
    /// The name (a role, a host, `server-ca`).
    pub name: String,
    /// The serial (issued, revoked), if any.
    pub serial: Option<Serial>,
    /// The CRL number (crl), if any.
    pub number: Option<u64>,
    /// Where the evidence is.
    pub from: PathBuf,
}

/// The result of [`CaDir::repair`].
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct RepairReport {
    /// The inventory.
    pub inventory: PathBuf,
    /// What showed the damage, when something did.
    pub damage: Option<String>,
    /// Bytes at the end of the inventory that do not read and are set aside.
    pub cut_bytes: u64,
    /// The records added (or that would be).
    pub restored: Vec<Restored>,
    /// Whether the inventory was rewritten.
    pub written: bool,
    /// The copy of the damaged inventory, when written.
    pub set_aside: Option<PathBuf>,
}

impl RepairReport {
    /// Whether the inventory needs (or needed) a repair.
    pub fn needed(&self) -> bool {
        self.damage.is_some() || self.cut_bytes > 0 || !self.restored.is_empty()
    }
}

impl CaDir {
    /// Finds what the inventory lost, from the archive, the CA certificates and the CRLs, and
    /// with [`RepairRequest::write`] records it again (see the module docs). Under the write
    /// lock, without the recovery an ordinary writer runs first (that recovery is what a damaged
    /// inventory must not drive).
    ///
    /// # Examples
    ///
    /// ```
    /// use pgca::{CaDir, InitOptions, RepairRequest};
    /// let tmp = tempfile::tempdir()?;
    /// let ca = CaDir::init(tmp.path().join("ca"), &InitOptions::default())?;
    /// let report = ca.repair(&RepairRequest::default())?;
    /// assert!(!report.needed());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn repair(&self, req: &RepairRequest) -> Result<RepairReport> {
        if let Some(db) = self.inventory_db() {
            return Err(crate::error::Error::InventoryDb {
                target: db.target().to_string(),
                reason: "repair mends DIR/inventory.jsonl, not an inventory database: the \
                         database's records are kept by PostgreSQL (its WAL, replicas and \
                         backups)"
                    .into(),
            });
        }
        let _lock = Lock::file(
            self.root(),
            crate::store::layout::LOCK_FILE,
            LockKind::Exclusive,
            self.lock_wait(Wait::WRITER),
        )?;
        let path = inventory::log::path_in(self.root());
        let salvage = inventory::log::salvage(&path)?;
        let mut facts = Facts::of(&salvage.ledger);
        let mut events = Vec::new();
        let mut restored = Vec::new();
        self.restore_cas(&salvage.ledger, &mut facts, &mut events, &mut restored)?;
        self.restore_archive(&mut facts, &mut events, &mut restored)?;
        self.restore_crls(&salvage.ledger, &facts, &mut events, &mut restored)?;
        let damage = salvage.seal_evidence.clone().or_else(|| {
            match self.check_evidence(&Facts::of(&salvage.ledger)) {
                Err(Error::DamagedInventory { evidence, .. }) => Some(evidence),
                _ => None,
            }
        });
        let cut_bytes = salvage.len - salvage.committed_end;
        let mut report = RepairReport {
            inventory: path.clone(),
            damage,
            // An interrupted write's tail is not damage: the next write cuts it off anyway.
            cut_bytes: if salvage.ledger.torn_tail {
                0
            } else {
                cut_bytes
            },
            restored,
            written: false,
            set_aside: None,
        };
        if req.write && report.needed() {
            let now = req.now.unwrap_or_else(timefmt::now);
            let aside = set_aside_path(&path, now);
            inventory::log::rebuild(&path, &salvage, &events, &aside)?;
            // What was written must now read, seal and evidence included.
            self.read_inventory()?;
            report.written = true;
            report.set_aside = Some(aside);
        }
        Ok(report)
    }

    /// The records of the two CA certificates, when the prefix lost them.
    fn restore_cas(
        &self,
        ledger: &Ledger,
        facts: &mut Facts,
        events: &mut Vec<Event>,
        restored: &mut Vec<Restored>,
    ) -> Result<()> {
        for side in Side::BOTH {
            let cert = self.ca_cert_path(side);
            let (der, info) = read_cert(&cert)?;
            let kind = side.ca_kind();
            if ledger
                .current(kind, kind.name())
                .is_some_and(|c| c.serial == info.serial)
            {
                continue;
            }
            let key = if self.root().join(side.ca_token_file()).exists() {
                side.ca_token_file()
            } else {
                side.ca_key_file()
            };
            let mut issued = record_of(kind, kind.name(), &info, &der, side.ca_cert_file(), key);
            issued.sans.clear();
            push_issued(issued, &cert, facts, events, restored);
        }
        for side in Side::BOTH {
            self.restore_rollover(side, ledger, facts, events, restored)?;
        }
        self.restore_issuing(ledger, facts, events, restored)
    }

    /// The records of a hierarchy's intermediates in use (`server-issuing.crt`), when the prefix
    /// lost them: issuing checks the intermediate it loads against its record.
    fn restore_issuing(
        &self,
        ledger: &Ledger,
        facts: &mut Facts,
        events: &mut Vec<Event>,
        restored: &mut Vec<Restored>,
    ) -> Result<()> {
        for side in Side::BOTH.into_iter().filter(|&s| self.has_issuing(s)) {
            let cert = self.issuing_cert_path(side);
            let (der, info) = read_cert(&cert)?;
            let (kind, name) = (side.ca_kind(), side.issuing_name());
            if ledger
                .current(kind, name)
                .is_some_and(|c| c.serial == info.serial)
            {
                continue;
            }
            let (file, key) = (side.issuing_cert_file(), side.issuing_key_file());
            let mut issued = record_of(kind, name, &info, &der, file, key);
            issued.sans.clear();
            issued.ca_serial = self.ca_info(side).ok().map(|r| r.serial);
            push_issued(issued, &cert, facts, events, restored);
        }
        Ok(())
    }

    /// A rollover's new CA on disk that the prefix lost: its record, and the rollover started
    /// again in phase 1 (trust both; a switch the prefix lost is made again with
    /// `pgca rollover switch`), so that its key is never taken for a leftover.
    fn restore_rollover(
        &self,
        side: Side,
        ledger: &Ledger,
        facts: &mut Facts,
        events: &mut Vec<Event>,
        restored: &mut Vec<Restored>,
    ) -> Result<()> {
        let cert = self.next_ca_cert_path(side);
        if !cert.exists() || ledger.rollover(side).is_some() {
            return Ok(());
        }
        let (der, info) = read_cert(&cert)?;
        let kind = side.ca_kind();
        if !ledger.issued().iter().any(|i| i.serial == info.serial) {
            let key = if self.root().join(side.next_ca_token_file()).exists() {
                side.next_ca_token_file()
            } else {
                side.next_ca_key_file()
            };
            let mut issued = record_of(
                kind,
                kind.name(),
                &info,
                &der,
                side.next_ca_cert_file(),
                key,
            );
            issued.sans.clear();
            push_issued(issued, &cert, facts, events, restored);
        }
        let old = CertInfo::from_der(&read_der(&self.ca_cert_path(side))?).map_err(|reason| {
            Error::BadCert {
                path: self.ca_cert_path(side),
                reason,
            }
        })?;
        restored.push(Restored {
            event: "rollover-started",
            kind,
            name: kind.name().to_string(),
            serial: Some(info.serial.clone()),
            number: None,
            from: cert,
        });
        events.push(Event::RolloverStarted(crate::inventory::RolloverStarted {
            side,
            old_ca: old.serial,
            new_ca: info.serial,
            compromised: false,
            intermediate: false,
            at: crate::model::timefmt::now(),
        }));
        Ok(())
    }

    /// The records of archived certificates the prefix does not know, oldest first.
    fn restore_archive(
        &self,
        facts: &mut Facts,
        events: &mut Vec<Event>,
        restored: &mut Vec<Restored>,
    ) -> Result<()> {
        let pending = self.pending_serials();
        let mut found: Vec<(Issued, PathBuf)> = Vec::new();
        for kind in [CertKind::Server, CertKind::Client] {
            let archive = self.archive_dir(kind);
            let Ok(entries) = fs::read_dir(&archive) else {
                continue;
            };
            for e in entries {
                let e = e.map_err(Error::io("read archive", &archive))?;
                let serial = e.file_name().to_string_lossy().into_owned();
                if facts.issued.contains(&serial) || pending.contains(&serial) {
                    continue;
                }
                found.push(self.archived(kind, &archive, &serial)?);
            }
        }
        found.sort_by(|a, b| {
            (a.0.not_before, a.0.serial.to_string()).cmp(&(b.0.not_before, b.0.serial.to_string()))
        });
        for (issued, from) in found {
            push_issued(issued, &from, facts, events, restored);
        }
        Ok(())
    }

    /// The record of `archive/<serial>/NAME.crt`, read back from the certificate.
    fn archived(&self, kind: CertKind, archive: &Path, serial: &str) -> Result<(Issued, PathBuf)> {
        let dir = archive.join(serial);
        let names: Vec<String> = fs::read_dir(&dir)
            .map_err(Error::io("read archive", &dir))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let unreadable = |why: &str| Error::DamagedInventory {
            path: inventory::log::path_in(self.root()),
            evidence: format!("{} {why}, so it cannot be recorded again", dir.display()),
        };
        let cert_name = names
            .iter()
            .find(|n| n.ends_with(".crt"))
            .ok_or_else(|| unreadable("holds no certificate"))?;
        let name = cert_name.trim_end_matches(".crt").to_string();
        let cert = dir.join(cert_name);
        let (der, info) = read_cert(&cert)?;
        if info.serial.to_string() != serial {
            return Err(unreadable("holds a certificate of another serial"));
        }
        let leaf = if kind == CertKind::Server {
            Side::Server
        } else {
            Side::Client
        }
        .leaf_dir();
        let key_name = format!("{name}.key");
        let has_key = names.contains(&key_name);
        let mut issued = record_of(
            kind,
            &name,
            &info,
            &der,
            &format!("{leaf}/archive/{serial}/{name}.crt"),
            &format!("{leaf}/archive/{serial}/{key_name}"),
        );
        if has_key {
            let key = fs::read(dir.join(&key_name)).unwrap_or_default();
            issued.encrypted_key = memchr::memmem::find(&key, b"ENCRYPTED").is_some();
        } else {
            issued.key = String::new();
            issued.external_key = true;
            issued.spki = Some(base64::engine::general_purpose::STANDARD.encode(&info.spki_der));
        }
        if kind == CertKind::Client {
            issued.sans.clear();
        }
        Ok((issued, cert))
    }

    /// Revocations and CRL numbers the CRLs on disk show and the prefix does not.
    fn restore_crls(
        &self,
        ledger: &Ledger,
        facts: &Facts,
        events: &mut Vec<Event>,
        restored: &mut Vec<Restored>,
    ) -> Result<()> {
        let known: std::collections::HashMap<String, &Issued> = ledger
            .issued()
            .iter()
            .map(|i| (i.serial.to_string(), i))
            .collect();
        let added: std::collections::HashMap<String, Issued> = events
            .iter()
            .filter_map(|e| match e {
                Event::Issued(i) => Some((i.serial.to_string(), i.clone())),
                _ => None,
            })
            .collect();
        for (i, side) in Side::BOTH.into_iter().enumerate() {
            let path = self.crl_path(side);
            if !path.exists() {
                continue;
            }
            let crl = CrlInfo::from_file(&path)?;
            for entry in &crl.revoked {
                let serial = entry.serial.to_string();
                if facts.revoked.contains(&serial) {
                    continue;
                }
                let record = known.get(&serial).copied().or_else(|| added.get(&serial));
                let name = record.map_or_else(|| "(unknown)".to_string(), |r| r.name.clone());
                events.push(Event::Revoked(Revocation {
                    serial: entry.serial.clone(),
                    kind: side.leaf_kind(),
                    name: name.clone(),
                    reason: entry
                        .reason
                        .as_deref()
                        .and_then(|r| r.parse().ok())
                        .unwrap_or(Reason::Unspecified),
                    at: entry.at,
                    spki_sha256: record.and_then(|r| r.spki_sha256.clone()),
                }));
                restored.push(Restored {
                    event: "revoked",
                    kind: side.leaf_kind(),
                    name,
                    serial: Some(entry.serial.clone()),
                    number: None,
                    from: path.clone(),
                });
            }
            if let Some(number) = crl.number
                && facts.crl_number[i].is_none_or(|n| number > n)
            {
                events.push(Event::CrlIssued(CrlRecord {
                    ca: side.ca_kind(),
                    number,
                    this_update: crl.this_update,
                    next_update: crl.next_update.unwrap_or(crl.this_update),
                    clamped_to_ca_expiry: false,
                }));
                restored.push(Restored {
                    event: "crl",
                    kind: side.ca_kind(),
                    name: format!("{}-ca.crl", side.name()),
                    serial: None,
                    number: Some(number),
                    from: path.clone(),
                });
            }
        }
        Ok(())
    }
}

/// An `issued` record for a certificate read back from disk.
fn record_of(
    kind: CertKind,
    name: &str,
    info: &CertInfo,
    der: &[u8],
    cert: &str,
    key: &str,
) -> Issued {
    let mut issued = Issued::new(
        info.serial.clone(),
        kind,
        name.to_string(),
        info.sans.clone(),
        KeyType::of_spki(&info.spki_der).unwrap_or_default(),
        (info.not_before, info.not_after),
        info.not_before,
        (cert.to_string(), key.to_string()),
    );
    issued.sha256 = Some(crate::model::hex::sha256(der));
    issued.spki_sha256 = Some(crate::model::hex::sha256(&info.spki_der));
    issued
}

fn push_issued(
    issued: Issued,
    from: &Path,
    facts: &mut Facts,
    events: &mut Vec<Event>,
    restored: &mut Vec<Restored>,
) {
    facts.issued.insert(issued.serial.to_string());
    restored.push(Restored {
        event: "issued",
        kind: issued.kind,
        name: issued.name.clone(),
        serial: Some(issued.serial.clone()),
        number: None,
        from: from.to_path_buf(),
    });
    events.push(Event::Issued(issued));
}

/// A certificate file's DER and what it says.
fn read_cert(path: &Path) -> Result<(Vec<u8>, CertInfo)> {
    let der = read_der(path)?;
    let info = CertInfo::from_der(&der).map_err(|reason| Error::BadCert {
        path: path.to_path_buf(),
        reason,
    })?;
    Ok((der, info))
}

/// A certificate file's DER.
fn read_der(path: &Path) -> Result<Vec<u8>> {
    let pem = storage::read(path, "read certificate")?;
    crate::x509::pem::first_cert_der(&pem).map_err(|reason| Error::BadCert {
        path: path.to_path_buf(),
        reason,
    })
}

/// `inventory.jsonl.damaged-20261201T204500Z`.
fn set_aside_path(inventory: &Path, now: OffsetDateTime) -> PathBuf {
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let name = inventory
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    storage::parent(inventory).join(format!("{name}.damaged-{stamp}"))
}
