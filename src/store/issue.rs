//! Issuing: a batch of certificates signed in memory, written into the archive, committed to
//! the inventory, then switched live.

use std::collections::HashSet;
use std::fs::{self};
use std::path::Path;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::inventory::{Event, Issued};
use crate::model::kind::CertKind;
use crate::model::kind::Side;
use crate::model::names::{HostName, RoleName};
use crate::model::serial::Serial;
use crate::model::timefmt;
use crate::model::validity::Validity;
use crate::storage::{self, DIR_MODE, KEY_MODE, PUBLIC_MODE};
use crate::store::layout::CaDir;
use crate::store::options::{BACKDATE_SECONDS, IssueOptions, IssuedCert, Progress};
use crate::store::parallel::parallel_map;
use crate::x509::ca::CaSigner;
use crate::x509::keys::{KeyType, PrivateKey};
use crate::x509::profile::LeafProfile;

impl CaDir {
    /// Issues one client certificate, CN = `role`, EKU clientAuth.
    pub fn issue_client(&self, role: &RoleName, opts: &IssueOptions) -> Result<IssuedCert> {
        Ok(self
            .issue_clients(std::slice::from_ref(role), opts)?
            .remove(0))
    }

    /// Issues client certificates for many roles in one batch: one lock, one inventory write,
    /// one pass. Either every role is issued or, on bad input, none is.
    pub fn issue_clients(
        &self,
        roles: &[RoleName],
        opts: &IssueOptions,
    ) -> Result<Vec<IssuedCert>> {
        let requests = roles
            .iter()
            .map(|r| {
                LeafRequest::new(
                    r.as_str().to_string(),
                    LeafProfile::client(r.as_str()),
                    opts,
                )
            })
            .collect();
        self.issue_batch(
            Side::Client,
            requests,
            opts.force,
            opts.now.unwrap_or_else(timefmt::now),
            opts.progress.as_ref(),
        )
    }

    /// Issues a server certificate: CN = `names[0]`, every name a SAN, EKU serverAuth.
    pub fn issue_server(&self, names: &[HostName], opts: &IssueOptions) -> Result<IssuedCert> {
        let first = names.first().ok_or(Error::InvalidHost {
            name: String::new(),
            reason: "no host name given",
        })?;
        let mut seen = HashSet::new();
        for n in names {
            if !seen.insert(n) {
                return Err(Error::DuplicateName(n.to_string()));
            }
        }
        let file_name = first.to_string();
        if file_name.len() > 240 {
            return Err(Error::InvalidHost {
                name: file_name,
                reason: "too long to be a file name",
            });
        }
        let request = LeafRequest::new(file_name, LeafProfile::server(names), opts);
        Ok(self
            .issue_batch(
                Side::Server,
                vec![request],
                opts.force,
                opts.now.unwrap_or_else(timefmt::now),
                None,
            )?
            .remove(0))
    }

    /// Points `NAME.live` at `archive/<serial>` and makes sure `NAME.crt`/`NAME.key` go through it.
    /// `fresh`: the name had no certificate a moment ago (under the lock), so its links are
    /// created without first looking for old ones; one that exists after all is replaced.
    pub(super) fn link_current(
        &self,
        kind: CertKind,
        name: &str,
        serial: &Serial,
        fresh: bool,
        has_key: bool,
    ) -> Result<()> {
        let leaf = self.leaf_dir(kind);
        let live = format!("{name}.live");
        let target = Path::new("archive").join(serial.to_string());
        let link = |target: &Path, link: &Path| {
            if fresh {
                storage::new_symlink(target, link)
            } else {
                storage::ensure_symlink(target, link)
            }
        };
        let previous = if fresh {
            None
        } else {
            fs::read_link(leaf.join(&live))
                .ok()
                .filter(|p| p != &target)
        };
        // NAME.prev: the pair about to be replaced, kept until the next renewal. It is pointed
        // there before NAME.live moves, so that a crash between the two renames leaves both on
        // the old pair (and recovery, finding NAME.live still old, does both again).
        if let Some(previous) = previous {
            storage::swap_symlink(&previous, &leaf.join(format!("{name}.prev")))?;
        }
        link(&target, &leaf.join(&live))?;
        // The key link first: a certificate link without its key would make libpq fail
        // ("certificate present, but not private key"); a key without a certificate is unused.
        // An external key (`pgca sign`) has no key here: a key link left by an earlier pair of
        // the name would lead nowhere, and is removed.
        if !has_key {
            match fs::remove_file(leaf.join(format!("{name}.key"))) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io("remove", leaf.join(format!("{name}.key")))(e));
                }
                _ => {}
            }
        }
        let exts: &[&str] = if has_key { &["key", "crt"] } else { &["crt"] };
        for ext in exts {
            link(
                &Path::new(&live).join(format!("{name}.{ext}")),
                &leaf.join(format!("{name}.{ext}")),
            )?;
        }
        Ok(())
    }

    /// Refuses to overwrite an existing certificate without `force`; returns, per request,
    /// whether the name has a certificate and the serial a replacement would supersede.
    fn check_replaceable(
        &self,
        kind: CertKind,
        names: &[String],
        force: bool,
    ) -> Result<Vec<(bool, Option<Serial>)>> {
        let mut replaced = Vec::with_capacity(names.len());
        for name in names {
            let crt = self.cert_path(kind, name);
            let exists = crt.symlink_metadata().is_ok();
            if exists && !force {
                return Err(Error::CertExists(crt));
            }
            replaced.push((
                exists,
                if exists {
                    self.live_serial(kind, name)
                } else {
                    None
                },
            ));
        }
        Ok(replaced)
    }

    /// The serial the `.live` link of a name points at, if any.
    fn live_serial(&self, kind: CertKind, name: &str) -> Option<Serial> {
        let target = fs::read_link(self.leaf_dir(kind).join(format!("{name}.live"))).ok()?;
        target.file_name()?.to_str()?.parse().ok()
    }

    /// Issues a batch: prepared without the lock ([`CaDir::prepare_batch`]), signed in memory
    /// under it ([`CaDir::sign_batch`]), written into the archive and committed to the inventory
    /// ([`CaDir::store_batch`]), then switched live ([`CaDir::link_batch`]). Bad input writes
    /// nothing; a failure before the commit takes back what was written.
    pub(crate) fn issue_batch(
        &self,
        side: Side,
        requests: Vec<LeafRequest>,
        force: bool,
        now: OffsetDateTime,
        progress: Option<&Progress>,
    ) -> Result<Vec<IssuedCert>> {
        self.issue_batch_guarded(side, requests, force, now, progress, None)
    }

    /// [`CaDir::issue_batch`], with `guard` called under the write lock once the batch is
    /// signed, on the inventory as it is then and the new serials: it refuses the batch (an
    /// online issuance whose token was used meanwhile) or returns events committed with it, in
    /// the same inventory batch (`token-used`).
    pub(crate) fn issue_batch_guarded(
        &self,
        side: Side,
        requests: Vec<LeafRequest>,
        force: bool,
        now: OffsetDateTime,
        progress: Option<&Progress>,
        guard: Option<Guard<'_>>,
    ) -> Result<Vec<IssuedCert>> {
        let batch = Batch {
            side,
            kind: side.leaf_kind(),
            force,
            now,
            not_before: now - time::Duration::seconds(BACKDATE_SECONDS),
        };
        let prepared = self.prepare_batch(&batch, requests, progress)?;
        let _lock = self.write_lock()?;
        let mut signed = self.sign_batch(&batch, prepared)?;
        if let Some(guard) = guard {
            let serials: Vec<Serial> = signed.made.iter().map(|m| m.serial.clone()).collect();
            signed.extra = self.with_inventory(|ledger| guard(ledger, &serials))?;
        }
        self.store_batch(&batch, &signed)?;
        // Committed. A failure from here on leaves `.pending`, and the next writer rolls forward.
        self.link_batch(&batch, &signed)?;
        Ok(self.issued_certs(&batch, signed))
    }

    /// What can be checked and made without the lock: distinct names, names free (or `force`),
    /// the CA loaded and able to sign until the last certificate ends, keys generated. All of it
    /// but the keys is checked again under the lock.
    fn prepare_batch(
        &self,
        b: &Batch,
        requests: Vec<LeafRequest>,
        progress: Option<&Progress>,
    ) -> Result<Prepared> {
        let mut seen = HashSet::new();
        for r in &requests {
            if !seen.insert(r.name.as_str()) {
                return Err(Error::DuplicateName(r.name.clone()));
            }
        }
        let latest = requests
            .iter()
            .map(|r| r.validity)
            .max()
            .map(|v| b.now + v.duration())
            .unwrap_or(b.now);
        let names: Vec<String> = requests.iter().map(|r| r.name.clone()).collect();

        // Fail fast on what can be seen without the lock. The CA is loaded once, here: an
        // encrypted key costs a deliberate key derivation, and a wrong passphrase should fail
        // before any key is generated.
        self.check_replaceable(b.kind, &names, b.force)?;
        let ca = self.issuing_signer(b.side)?;
        ca.check_can_sign_until(b.now, latest)?;
        let reused = given_key_fingerprints(&requests);
        Ok(Prepared {
            requests: generate_keys(requests, progress)?,
            names,
            ca,
            reused,
            latest,
        })
    }

    /// Under the write lock: the names checked again, no key a revoked certificate certified,
    /// and every certificate signed in memory before anything is written.
    fn sign_batch(&self, b: &Batch, mut p: Prepared) -> Result<Signed> {
        let replaced = self.check_replaceable(b.kind, &p.names, b.force)?;
        if self.has_next_ca(b.side) || p.ca.slot != crate::x509::ca::CaSlot::Current {
            // A rollover may have started or switched since the CA was loaded.
            let ledger = self.read_inventory()?;
            if !self.still_issuing(&p.ca, &ledger) {
                let slot = crate::store::cas::issuing_slot(
                    self.has_issuing(b.side),
                    ledger.rollover(b.side),
                );
                p.ca = self.load_signer(b.side, slot)?;
                p.ca.check_can_sign_until(b.now, p.latest)?;
            }
        }
        if !p.reused.is_empty() {
            // A key certified by a revoked certificate is never certified again.
            self.with_inventory(|ledger| {
                let revoked = ledger.revoked_keys();
                for (r, spki) in p.requests.iter().zip(&p.reused) {
                    if let Some((serial, _)) = spki.as_ref().and_then(|h| revoked.get(h.as_str())) {
                        return Err(Error::RevokedKey {
                            kind: b.kind,
                            name: r.name.clone(),
                            serial: (*serial).clone(),
                        });
                    }
                }
                Ok(())
            })?;
        }
        let issuer = p.ca.issuer()?;
        let chain = p.ca.chain_pem();
        let made = parallel_map(p.requests, |r| sign_one(r, &issuer, b, chain))
            .map_err(|e| p.ca.explain(e))?;
        Ok(Signed {
            made,
            replaced,
            ca_serial: p.ca.info.serial.clone(),
            extra: Vec::new(),
        })
    }

    /// Writes every pair into a fresh `archive/<serial>` and commits the batch to the inventory,
    /// under `.pending`. Until the commit, a failure removes what this batch wrote, so nothing
    /// half-written remains.
    fn store_batch(&self, b: &Batch, signed: &Signed) -> Result<()> {
        let made = &signed.made;
        let serials: Vec<String> = made.iter().map(|m| m.serial.to_string()).collect();
        self.begin_pending(&serials)?;
        let mut written: Vec<String> = Vec::with_capacity(made.len());
        let mut archive_dir: Option<storage::Dir> = None;
        let stored = self
            .archive_batch(b.kind, made, &mut archive_dir, &mut written)
            .and_then(|()| {
                let mut events = events_of(b, made, &signed.ca_serial);
                let files = match self.inventory_db() {
                    Some(_) => published_certs(&events, made),
                    None => Vec::new(),
                };
                events.extend(signed.extra.iter().cloned());
                self.append_events_with(&events, &files)
            });
        if let Err(e) = stored {
            if let Some(archive) = &archive_dir {
                for d in &written {
                    let _ = archive.remove_tree(d);
                }
            }
            let _ = self.end_pending();
            return Err(e);
        }
        Ok(())
    }

    /// Writes each pair straight into `archive/<serial>` and makes them durable; `archive_dir`
    /// and `written` say what was written, should the batch be taken back.
    fn archive_batch(
        &self,
        kind: CertKind,
        made: &[Made],
        archive_dir: &mut Option<storage::Dir>,
        written: &mut Vec<String>,
    ) -> Result<()> {
        let archive = self.archive_dir(kind);
        storage::ensure_private_dir(&self.leaf_dir(kind))?;
        storage::ensure_private_dir(&archive)?;
        let archive_dir = archive_dir.insert(storage::open_dir(
            &archive,
            &storage::Trust::invoker(),
            None,
        )?);
        // Nothing refers to `archive/<serial>` until the inventory commit, and recovery removes
        // the archive directories the inventory does not know, so a temporary name and a rename
        // would add nothing but a second entry per pair in a directory that holds every pair
        // ever issued (at 100,000 certificates each entry dirties its own block, which the fsync
        // must write). Small batches write every pair, then fsync each file, each pair's
        // directory and the archive: every file is made durable on its own, on any filesystem,
        // but on a journalling one (ext4, xfs) the first fsync commits the whole batch and the
        // others find nothing left to write, where writing and syncing each file in turn
        // commits once per file. Bulk batches make everything durable with one barrier.
        let bulk = made.len() >= BULK_BATCH;
        for m in made {
            let dest = m.serial.to_string();
            written.push(dest.clone());
            write_pair(
                archive_dir,
                &dest,
                &m.name,
                m.key_pem.as_ref().map(|k| k.as_bytes()),
                m.cert_pem.as_bytes(),
            )?;
        }
        if bulk {
            return storage::sync_filesystem(&archive);
        }
        for m in made {
            sync_pair(
                archive_dir,
                &m.serial.to_string(),
                &m.name,
                m.key_pem.is_some(),
            )?;
        }
        archive_dir.sync()
    }

    /// Switches every name of a committed batch to its new pair, then ends `.pending`.
    fn link_batch(&self, b: &Batch, s: &Signed) -> Result<()> {
        for (m, (existed, _)) in s.made.iter().zip(&s.replaced) {
            self.link_current(b.kind, &m.name, &m.serial, !existed, m.key_pem.is_some())?;
        }
        storage::sync_dir(&self.leaf_dir(b.kind))?;
        self.end_pending()
    }

    /// What the caller learns of each certificate issued.
    fn issued_certs(&self, b: &Batch, s: Signed) -> Vec<IssuedCert> {
        s.made
            .into_iter()
            .zip(s.replaced)
            .map(|(m, (_, replaced))| IssuedCert {
                kind: b.kind,
                cert_path: self.cert_path(b.kind, &m.name),
                key_path: if m.key_pem.is_some() {
                    self.key_path(b.kind, &m.name)
                } else {
                    std::path::PathBuf::new()
                },
                external_key: m.key_pem.is_none(),
                name: m.name,
                serial: m.serial,
                key_type: m.key_type,
                not_before: b.not_before,
                not_after: m.not_after,
                replaced,
            })
            .collect()
    }
}

/// Each certificate of a batch as the inventory database keeps it beside its record: under the
/// record's `cert` path, the archived file's bytes.
fn published_certs(events: &[Event], made: &[Made]) -> Vec<crate::inventory::PublishedFile> {
    events
        .iter()
        .zip(made)
        .filter_map(|(e, m)| match e {
            Event::Issued(i) => {
                crate::inventory::PublishedFile::new(i.cert.clone(), m.cert_pem.as_bytes())
            }
            _ => None,
        })
        .collect()
}

/// What every step of one batch shares.
struct Batch {
    side: Side,
    kind: CertKind,
    force: bool,
    now: OffsetDateTime,
    /// Every certificate's start of validity: `now`, backdated.
    not_before: OffsetDateTime,
}

/// A batch ready to sign ([`CaDir::prepare_batch`]).
struct Prepared {
    /// Each with its key (made or given) or public key.
    requests: Vec<LeafRequest>,
    names: Vec<String>,
    ca: CaSigner,
    /// Per request, the fingerprint of a key given to certify (see [`given_key_fingerprints`]);
    /// empty when no key was given.
    reused: Vec<Option<String>>,
    /// When the longest-lived certificate of the batch ends (the CA must outlive it).
    latest: OffsetDateTime,
}

/// A batch signed in memory under the lock ([`CaDir::sign_batch`]).
struct Signed {
    made: Vec<Made>,
    /// Per certificate: whether its name had one, and the serial it supersedes.
    replaced: Vec<(bool, Option<Serial>)>,
    /// The serial of the CA that signed them.
    ca_serial: Serial,
    /// Events committed with them (a guard's: `token-used`).
    extra: Vec<Event>,
}

/// Checked under the write lock (see [`CaDir::issue_batch_guarded`]).
pub(crate) type Guard<'a> = &'a dyn Fn(&crate::inventory::Ledger, &[Serial]) -> Result<Vec<Event>>;

/// The fingerprints of keys given to certify again (`renew --reuse-key`) or to certify at all
/// (`sign`: a key made elsewhere), one per request; empty when no request gives one.
fn given_key_fingerprints(requests: &[LeafRequest]) -> Vec<Option<String>> {
    if !requests
        .iter()
        .any(|r| r.key.is_some() || r.public_key.is_some())
    {
        return Vec::new();
    }
    requests
        .iter()
        .map(|r| match (&r.key, &r.public_key) {
            (Some(k), _) => Some(crate::model::hex::sha256(&k.public_key_der())),
            (None, Some(spki)) => Some(crate::model::hex::sha256(spki)),
            (None, None) => None,
        })
        .collect()
}

/// Generates the keys the requests lack, before the lock is taken, on every core: generation
/// dominates (RSA-4096 takes seconds a key), and another pgca process can write meanwhile.
fn generate_keys(
    requests: Vec<LeafRequest>,
    progress: Option<&Progress>,
) -> Result<Vec<LeafRequest>> {
    let total = requests.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    parallel_map(requests, |mut r| {
        if r.key.is_none() && r.public_key.is_none() {
            r.key = Some(PrivateKey::generate(r.key_type)?);
        }
        if let Some(p) = progress {
            (p.0)(
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                total,
            );
        }
        Ok(r)
    })
}

/// Signs one request in memory: its certificate, and its key file's text unless the key is
/// external.
/// With `chain` (an intermediate signs), the certificate file holds the leaf followed by it.
fn sign_one(
    r: LeafRequest,
    issuer: &rcgen::Issuer<'_, impl rcgen::SigningKey>,
    b: &Batch,
    chain: Option<&str>,
) -> Result<Made> {
    let serial = Serial::random();
    let not_after = b.now + r.validity.duration();
    let (mut cert_pem, spki_der, key_type, key_pem) = match (r.key, r.public_key) {
        (Some(key), _) => (
            crate::x509::profile::sign_leaf(
                &r.profile,
                &key,
                issuer,
                &serial,
                b.not_before,
                not_after,
            )?,
            key.public_key_der(),
            key.key_type(),
            Some(match &r.key_passphrase {
                Some(p) => key.to_encrypted_pem(p)?,
                None => key.to_pem(),
            }),
        ),
        (None, Some(spki)) => (
            crate::x509::profile::sign_leaf_for_public_key(
                &r.profile,
                &r.name,
                &spki,
                issuer,
                &serial,
                b.not_before,
                not_after,
            )?,
            spki,
            r.key_type,
            None,
        ),
        (None, None) => unreachable!("keys are generated before signing"),
    };
    let der =
        crate::x509::pem::first_cert_der(cert_pem.as_bytes()).map_err(|reason| Error::Crypto {
            what: "encoding the certificate",
            source: reason.into(),
        })?;
    if let Some(chain) = chain {
        if !cert_pem.ends_with('\n') {
            cert_pem.push('\n');
        }
        cert_pem.push_str(chain);
    }
    Ok(Made {
        sha256: crate::model::hex::sha256(&der),
        spki_sha256: crate::model::hex::sha256(&spki_der),
        spki: spki_der,
        name: r.name,
        profile: r.profile,
        key_type,
        encrypted_key: r.key_passphrase.is_some() && key_pem.is_some(),
        key_pem,
        cert_pem,
        serial,
        not_after,
        authorized: r.authorized,
    })
}

/// The inventory's record of each signed pair.
fn events_of(b: &Batch, made: &[Made], ca_serial: &Serial) -> Vec<Event> {
    use crate::store::live::archived_name;
    made.iter()
        .map(|m| {
            let (name, serial) = (&m.name, &m.serial);
            let mut issued = Issued::new(
                serial.clone(),
                b.kind,
                name.clone(),
                m.profile.sans.iter().map(ToString::to_string).collect(),
                m.key_type,
                (b.not_before, m.not_after),
                b.now,
                (
                    archived_name(b.kind, serial, name, "crt"),
                    archived_name(b.kind, serial, name, "key"),
                ),
            );
            issued.encrypted_key = m.encrypted_key;
            issued.sha256 = Some(m.sha256.clone());
            issued.spki_sha256 = Some(m.spki_sha256.clone());
            issued.ca_serial = Some(ca_serial.clone());
            issued.authorized = m.authorized.clone().map(Box::new);
            if m.key_pem.is_none() {
                use base64::Engine;
                issued.key = String::new();
                issued.external_key = true;
                issued.spki = Some(base64::engine::general_purpose::STANDARD.encode(&m.spki));
            }
            Event::Issued(issued)
        })
        .collect()
}

/// One certificate to issue in a batch.
pub(crate) struct LeafRequest {
    /// The file name: the role, or the server's first name.
    pub(crate) name: String,
    pub(crate) profile: LeafProfile,
    pub(crate) key_type: KeyType,
    pub(crate) validity: Validity,
    /// A key to certify (`renew --reuse-key`); otherwise a new one of `key_type`.
    pub(crate) key: Option<PrivateKey>,
    /// A public key held elsewhere to certify (DER SubjectPublicKeyInfo of `key_type`: `sign`,
    /// and the renewal of what it signed); the CA directory then gets no key.
    pub(crate) public_key: Option<Vec<u8>>,
    /// Encrypt the key file with this passphrase.
    pub(crate) key_passphrase: Option<crate::model::passphrase::Passphrase>,
    /// How an online issuance was authorised, recorded with it.
    pub(crate) authorized: Option<crate::inventory::Authorization>,
}

impl LeafRequest {
    fn new(name: String, profile: LeafProfile, opts: &IssueOptions) -> LeafRequest {
        LeafRequest {
            name,
            profile,
            key_type: opts.key_type,
            validity: opts.validity,
            key: None,
            public_key: None,
            key_passphrase: opts.key_passphrase.clone(),
            authorized: None,
        }
    }
}

/// A signed pair before it is written.
struct Made {
    name: String,
    profile: LeafProfile,
    key_type: KeyType,
    /// `None`: an external key.
    key_pem: Option<zeroize::Zeroizing<String>>,
    encrypted_key: bool,
    cert_pem: String,
    sha256: String,
    spki_sha256: String,
    spki: Vec<u8>,
    serial: Serial,
    not_after: OffsetDateTime,
    authorized: Option<crate::inventory::Authorization>,
}

/// Batches of at least this many certificates are made durable with one filesystem barrier.
const BULK_BATCH: usize = 16;

/// Writes a key (mode 0600 from creation; none for an external key) and certificate into the
/// fresh directory `serial` of the archive, fsync-ing each file unless the caller syncs the
/// filesystem afterwards.
fn write_pair(
    archive: &storage::Dir,
    serial: &str,
    name: &str,
    key_pem: Option<&[u8]>,
    cert_pem: &[u8],
) -> Result<()> {
    let dir = archive.create_dir_new(serial, DIR_MODE)?;
    if let Some(key_pem) = key_pem {
        let key = format!("{name}.key");
        dir.create_file(&key, key_pem, KEY_MODE, None, false, "write key")?;
    }
    let crt = format!("{name}.crt");
    dir.create_file(
        &crt,
        cert_pem,
        PUBLIC_MODE,
        None,
        false,
        "write certificate",
    )
}

/// Makes a pair [`write_pair`] wrote durable: its files, then its directory's entries.
fn sync_pair(archive: &storage::Dir, serial: &str, name: &str, key: bool) -> Result<()> {
    let dir = archive.open_sub(serial)?.ok_or_else(|| {
        Error::io("sync", archive.path().join(serial))(std::io::ErrorKind::NotFound.into())
    })?;
    if key {
        dir.sync_file(&format!("{name}.key"))?;
    }
    dir.sync_file(&format!("{name}.crt"))?;
    dir.sync()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kind::CertState;
    use crate::model::timefmt;
    use crate::store::layout::PENDING;
    use crate::store::options::InitOptions;
    use crate::x509::inspect::CertInfo;

    #[test]
    fn issue_replace_and_list() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = CaDir::init(tmp.path().join("ca"), &InitOptions::default()).unwrap();
        let alice: RoleName = "alice".parse().unwrap();
        let first = ca.issue_client(&alice, &IssueOptions::default()).unwrap();
        let e = ca
            .issue_client(&alice, &IssueOptions::default())
            .unwrap_err();
        assert!(matches!(e, Error::CertExists(_)), "{e}");
        let opts = IssueOptions {
            force: true,
            ..IssueOptions::default()
        };
        let second = ca.issue_client(&alice, &opts).unwrap();
        assert_eq!(second.replaced.as_ref(), Some(&first.serial));
        let info = CertInfo::from_file(&second.cert_path).unwrap();
        assert_eq!(info.serial, second.serial);
        let key = PrivateKey::from_pem(
            &fs::read_to_string(&second.key_path).unwrap(),
            &second.key_path,
        )
        .unwrap();
        assert_eq!(
            key.public_key_der(),
            info.spki_der,
            "the live key matches the live cert"
        );
        let rows = ca.list(timefmt::now()).unwrap();
        let states: Vec<_> = rows.iter().map(|r| (r.kind, r.state)).collect();
        assert_eq!(
            states,
            vec![
                (CertKind::ServerCa, CertState::Valid),
                (CertKind::ClientCa, CertState::Valid),
                (CertKind::Client, CertState::Superseded),
                (CertKind::Client, CertState::Valid),
            ]
        );
        assert!(!ca.root().join(PENDING).exists());
    }
}
