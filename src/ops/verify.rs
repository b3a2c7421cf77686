//! `pgca verify`: a doctor for a CA directory. It checks everything that should hold and
//! reports every problem, with the Nagios exit codes of `pgca check`. It changes nothing.
//!
//! | check | problem status |
//! |---|---|
//! | each current certificate's key matches it; certificate and key files exist and parse | CRITICAL |
//! | each certificate chains to its CA (issuer, key identifier, signature) with the right EKU | CRITICAL |
//! | private keys are mode 0600 (deployed keys: 0600 by the database user, or root 0640) | CRITICAL |
//! | the inventory agrees with the files: the live certificate is the recorded one | CRITICAL |
//! | a certificate or private key in `servers/` or `clients/` that the inventory does not record | CRITICAL |
//! | the CRLs are signed by their CA and not past nextUpdate | CRITICAL |
//! | deployed copies are the current certificate, key, client CA and CRL | WARNING |
//! | leftovers: archive entries the inventory does not know, temporary files, `.pending` | WARNING |
//! | any other entry of the CA directory that is not part of its layout | WARNING |
//! | the CA directory is not 0700; the inventory ends with an uncommitted batch | WARNING |
//! | a file that cannot be read | UNKNOWN |
//!
//! Every entry of the CA directory is accounted for: the top level holds the layout of
//! [`crate::store`] (the CA files, the inventory and its seal, the CRLs, the locks, `.pending`,
//! `probes`, and the damaged inventories `pgca repair` set aside, `inventory.jsonl.damaged-*`,
//! which are kept on purpose and not reported); `servers/` and `clients/` hold `archive/` and, per
//! recorded name, `NAME.crt`, `NAME.key`, `NAME.live` and `NAME.prev`. A certificate or key there
//! that no record explains is CRITICAL, as `check` reports a file that is not the recorded
//! certificate: it was planted or copied in by hand. An archive directory the inventory does
//! not record is inventory damage (`store/evidence.rs`), unless an unfinished batch lists it.
//!
//! A certificate's signature is verified against its CA unless the certificate is byte for byte
//! the one the inventory records (its SHA-256) and names the CA (issuer and key identifier):
//! that one was signed by the CA key when it was issued, and checking again is the one cost
//! that made verify ten times slower than check. Current certificates are checked on every core.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use time::OffsetDateTime;
use x509_parser::prelude::FromDer;

use crate::error::Result;
use crate::inventory::ledger::CurrentCert;
use crate::inventory::log::Facts;
use crate::inventory::{self, Deployment, INVENTORY_FILE, Ledger, SEAL_FILE};
use crate::model::kind::CertKind;
use crate::model::kind::Side;
use crate::model::status::Status;
use crate::model::timefmt;
use crate::ops::hierarchy_judge::signed_by;
use crate::storage;
use crate::store::layout::{CaDir, LOCK_FILE, PENDING, RENEW_LOCK};
use crate::x509::inspect::CertInfo;
use crate::x509::keys::{PrivateKey, is_encrypted_pem};
use crate::x509::pem::first_cert_der;

/// One problem `verify` found.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Problem {
    /// How bad it is.
    pub status: Status,
    /// The file concerned.
    pub path: PathBuf,
    /// What is wrong, one line.
    pub what: String,
}

/// The result of [`CaDir::verify`].
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct VerifyReport {
    /// The most severe status found (OK when there is no problem).
    pub status: Status,
    /// Certificates checked.
    pub certificates: usize,
    /// Everything found wrong.
    pub problems: Vec<Problem>,
}

#[derive(Default)]
struct Found(Vec<Problem>);

impl Found {
    fn add(&mut self, status: Status, path: &Path, what: impl Into<String>) {
        self.0.push(Problem {
            status,
            path: path.to_path_buf(),
            what: what.into(),
        });
    }
}

/// A CA certificate as read, for the certificates and CRLs it signed.
struct CaFile {
    /// Every CA of the side's bundle (the one in use first, then a rollover's new CA), each as
    /// DER and as read: a leaf must chain to one of them.
    trusted: Vec<(Vec<u8>, CertInfo)>,
    /// The CAs that sign its leaves: the bundle's, or in a hierarchy its intermediates (the one
    /// in use, a rollover's new one).
    issuers: Vec<(Vec<u8>, CertInfo)>,
    /// Whether the side is a hierarchy: a leaf's file then holds its intermediate after it.
    hierarchy: bool,
}

impl CaFile {
    /// The CAs whose CRLs `DIR/server-ca.crl` must hold, in its order: the bundle's, then a
    /// hierarchy's intermediates.
    fn crl_issuers(&self) -> Vec<&[u8]> {
        let mut v: Vec<&[u8]> = self.trusted.iter().map(|(d, _)| d.as_slice()).collect();
        if self.hierarchy {
            v.extend(self.issuers.iter().map(|(d, _)| d.as_slice()));
        }
        v
    }
}

impl CaDir {
    /// Checks the whole directory (and every deployment it recorded) and reports every problem.
    /// Encrypted CA keys are checked against their certificates only when a passphrase is set.
    pub fn verify(&self, now: Option<OffsetDateTime>) -> Result<VerifyReport> {
        let now = now.unwrap_or_else(timefmt::now);
        let mut found = Found::default();
        let (ledger, facts) = {
            let _lock = self.read_lock()?;
            self.read_inventory_with_facts()?
        };
        self.verify_directory(&mut found, ledger.torn_tail);
        let cas = Side::BOTH.map(|side| self.verify_ca(&mut found, side, now));
        for side in Side::BOTH {
            for (status, path, what) in self.issuing_problems(side, now, true) {
                found.add(status, &path, what);
            }
        }
        let current: Vec<CurrentCert> = ledger
            .current_certs()
            .into_iter()
            .filter(|c| !c.kind.is_ca())
            .collect();
        let revoked: HashSet<&crate::model::serial::Serial> =
            ledger.revocations().map(|r| &r.serial).collect();
        self.verify_current(&mut found, &cas, &current, &revoked)?;
        for side in Side::BOTH {
            self.verify_rollover(&mut found, &ledger, side);
        }
        self.verify_entries(&mut found, &facts, &current);
        for (side, ca) in Side::BOTH.into_iter().zip(&cas) {
            self.verify_crl(&mut found, side, ca, now);
        }
        for d in ledger.deployments() {
            self.verify_deployment(&mut found, d);
        }
        self.verify_installs(&mut found, &ledger, now);
        let status = found.0.iter().map(|p| p.status).max().unwrap_or(Status::Ok);
        Ok(VerifyReport {
            status,
            certificates: current.len(),
            problems: found.0,
        })
    }

    /// The directory itself: its mode, an unfinished batch, an uncommitted tail.
    fn verify_directory(&self, found: &mut Found, torn_tail: bool) {
        let root = self.root();
        if let Ok(m) = fs::metadata(root)
            && m.mode() & 0o077 != 0
        {
            found.add(
                Status::Warning,
                root,
                format!("the CA directory is mode {:o}, not 0700", m.mode() & 0o777),
            );
        }
        if root.join(PENDING).exists() {
            found.add(
                Status::Warning,
                &root.join(PENDING),
                "an interrupted write: the next pgca command that writes finishes it",
            );
        }
        for (path, what) in self.stale_inventory_files() {
            found.add(Status::Warning, &path, what);
        }
        if torn_tail {
            found.add(
                Status::Warning,
                &inventory::log::path_in(root),
                "an uncommitted batch at the end (an interrupted write) was skipped; the next write cuts it off",
            );
        }
    }

    /// A CA: its certificate (self-signed, not expired) and its key (or token reference).
    fn verify_ca(&self, found: &mut Found, side: Side, now: OffsetDateTime) -> CaFile {
        let cert_path = self.ca_cert_path(side);
        let der = storage::read(&cert_path, "read CA certificate")
            .ok()
            .and_then(|b| first_cert_der(&b).ok());
        let info = der.as_deref().and_then(|d| CertInfo::from_der(d).ok());
        match (&info, &der) {
            (Some(info), Some(der)) => {
                if !signed_by(der, der) {
                    found.add(
                        Status::Critical,
                        &cert_path,
                        "the CA certificate's self-signature does not verify",
                    );
                }
                if now >= info.not_after {
                    found.add(
                        Status::Critical,
                        &cert_path,
                        format!(
                            "the {} CA expired {}",
                            side.name(),
                            timefmt::human(info.not_after)
                        ),
                    );
                }
            }
            _ => found.add(
                Status::Unknown,
                &cert_path,
                "cannot read or parse the CA certificate",
            ),
        }
        if self.ca_key_in_token(side) {
            self.check_token_key(found, side);
        } else {
            let key_path = self.root().join(side.ca_key_file());
            check_key(
                found,
                &key_path,
                KeyFile::at(&key_path),
                info.as_ref(),
                self.passphrase(),
                KeyRule::Private,
            );
        }
        let trusted = storage::read(&cert_path, "read CA certificate")
            .ok()
            .and_then(|b| crate::x509::pem::all_cert_ders(&b).ok())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|d| CertInfo::from_der(&d).ok().map(|i| (d, i)))
            .collect::<Vec<_>>();
        let hierarchy = self.has_issuing(side);
        let issuers = if hierarchy {
            self.issuing_cas(side)
                .into_iter()
                .map(|(_, d, i)| (d, i))
                .collect()
        } else {
            trusted.clone()
        };
        CaFile {
            trusted,
            issuers,
            hierarchy,
        }
    }

    /// A rollover's new CA: readable, the one the inventory records, self-signed, with its key,
    /// and in the bundle after the CA in use. A new CA no rollover records is a leftover of an
    /// interrupted step, which the next write settles.
    fn verify_rollover(&self, found: &mut Found, ledger: &Ledger, side: Side) {
        if let Some(r) = ledger.rollover(side).filter(|r| r.intermediate) {
            let path = self.next_issuing_cert_path(side);
            if !CertInfo::from_file(&path).is_ok_and(|c| c.serial == r.new_ca) {
                found.add(
                    Status::Critical,
                    &path,
                    format!(
                        "not the new intermediate the inventory records (serial {})",
                        r.new_ca
                    ),
                );
            }
            return;
        }
        if ledger.rollover(side).is_none() && self.has_next_issuing(side) {
            found.add(
                Status::Warning,
                &self.next_issuing_cert_path(side),
                "a new intermediate no rollover under way records: the next pgca command that writes settles it",
            );
        }
        let path = self.next_ca_cert_path(side);
        let Some(r) = ledger.rollover(side) else {
            if path.symlink_metadata().is_ok() {
                found.add(
                    Status::Warning,
                    &path,
                    "a new CA no rollover under way records: the next pgca command that writes settles it",
                );
            }
            return;
        };
        let read = storage::read(&path, "read CA certificate")
            .ok()
            .and_then(|b| first_cert_der(&b).ok())
            .and_then(|d| CertInfo::from_der(&d).ok().map(|i| (d, i)));
        let Some((der, info)) = read else {
            found.add(
                Status::Critical,
                &path,
                "the rollover's new CA cannot be read",
            );
            return;
        };
        if info.serial != r.new_ca || !signed_by(&der, &der) {
            found.add(
                Status::Critical,
                &path,
                format!("not the new CA the inventory records (serial {})", r.new_ca),
            );
        }
        let bundle: Vec<_> = self
            .trusted_cas(side)
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.serial)
            .collect();
        if bundle != [r.old_ca.clone(), r.new_ca.clone()] {
            found.add(
                Status::Critical,
                &self.ca_cert_path(side),
                "does not hold the old and then the new CA of the rollover: the next pgca command that writes settles it",
            );
        }
        if self
            .root()
            .join(side.next_ca_token_file())
            .symlink_metadata()
            .is_err()
        {
            let key_path = self.root().join(side.next_ca_key_file());
            check_key(
                found,
                &key_path,
                KeyFile::at(&key_path),
                Some(&info),
                self.passphrase(),
                KeyRule::Private,
            );
        }
    }

    /// Every current certificate, on every core: see [`CaDir::verify_leaf`].
    fn verify_current(
        &self,
        found: &mut Found,
        cas: &[CaFile; 2],
        current: &[CurrentCert],
        revoked: &HashSet<&crate::model::serial::Serial>,
    ) -> Result<()> {
        let readers = [CertKind::Server, CertKind::Client]
            .map(|kind| storage::DirReader::new(&self.leaf_dir(kind)));
        // As check: four threads a core, for the disk reads in flight on a cold cache.
        let problems = crate::store::parallel::parallel_map_on(
            current.iter().collect(),
            4 * crate::store::parallel::cores(),
            |c| Ok(self.verify_leaf(c, &readers, cas, revoked.contains(&c.serial))),
        )?;
        found.0.extend(problems.into_iter().flatten());
        Ok(())
    }

    /// A current certificate: its files, its key, its chain and usage, and its agreement with
    /// the inventory.
    fn verify_leaf(
        &self,
        c: &CurrentCert,
        readers: &[storage::DirReader; 2],
        cas: &[CaFile; 2],
        revoked: bool,
    ) -> Vec<Problem> {
        let mut found = Found::default();
        let side = usize::from(c.kind == CertKind::Client);
        let cert_path = self.cert_path(c.kind, &c.name);
        let bytes = match self.current_cert_file(&readers[side], c) {
            Ok(b) => b,
            Err(e) => {
                found.add(
                    Status::Critical,
                    &cert_path,
                    format!("recorded in the inventory but unreadable: {e}"),
                );
                return found.0;
            }
        };
        let Some((der, info)) = first_cert_der(&bytes)
            .ok()
            .and_then(|d| CertInfo::from_der(&d).ok().map(|i| (d, i)))
        else {
            found.add(Status::Critical, &cert_path, "not a certificate");
            return found.0;
        };
        // Byte for byte the certificate the inventory records (see the module docs).
        let mut recorded = false;
        if info.serial != c.serial {
            found.add(
                Status::Critical,
                &cert_path,
                format!(
                    "serial {} on disk, but the inventory's current one is {}",
                    info.serial, c.serial
                ),
            );
        } else if let Some(h) = &c.sha256 {
            recorded = *h == crate::model::hex::sha256(&der);
            if !recorded {
                found.add(
                    Status::Critical,
                    &cert_path,
                    format!(
                        "not the certificate the inventory records (serial {}, but another fingerprint)",
                        c.serial
                    ),
                );
            }
        }
        let want_eku = if c.kind == CertKind::Server {
            "serverAuth"
        } else {
            "clientAuth"
        };
        if info.extended_key_usage != [want_eku] {
            found.add(
                Status::Critical,
                &cert_path,
                format!(
                    "extended key usage {:?}, expected only {want_eku}",
                    info.extended_key_usage
                ),
            );
        }
        // A revoked certificate may be on a CA since retired: it is refused either way.
        let issuer = cas[side].issuers.iter().find(|(ca_der, ca)| {
            info.issuer == ca.subject
                && info.authority_key_id == ca.subject_key_id
                && (recorded || signed_by(&der, ca_der))
        });
        let which = if side == 0 { "server" } else { "client" };
        if issuer.is_none() && !revoked && !cas[side].issuers.is_empty() {
            found.add(
                Status::Critical,
                &cert_path,
                format!("does not chain to the {which} CA"),
            );
        }
        if let Some((issuer_der, _)) = issuer.filter(|_| cas[side].hierarchy)
            && !crate::ops::hierarchy_judge::chain_follows(&bytes, issuer_der)
        {
            found.add(
                Status::Critical,
                &cert_path,
                format!("does not hold the {which} issuing CA after the certificate: peers cannot build the chain"),
            );
        }
        let key_name = format!("{}.key", c.name);
        let key_path = self.key_path(c.kind, &c.name);
        if c.external_key {
            // The key is on its host: the certificate must certify the recorded public key,
            // and the CA directory must hold no key for it.
            let spki = crate::model::hex::sha256(&info.spki_der);
            if c.spki_sha256.as_ref().is_some_and(|h| *h != spki) {
                found.add(
                    Status::Critical,
                    &cert_path,
                    "certifies another public key than the recorded external one".to_string(),
                );
            }
            if key_path.symlink_metadata().is_ok() {
                found.add(
                    Status::Warning,
                    &key_path,
                    "a key file for a certificate whose key is external (pgca sign)".to_string(),
                );
            }
        } else {
            check_key(
                &mut found,
                &key_path,
                KeyFile::In(&readers[side], &key_name),
                Some(&info),
                None,
                KeyRule::Private,
            );
            if c.kind == CertKind::Client {
                check_pk8(&mut found, &readers[side], &c.name, &key_path);
            }
        }
        found.0
    }

    /// Every entry of the CA directory that its layout and the inventory do not account for
    /// (see the module docs).
    fn verify_entries(&self, found: &mut Found, facts: &Facts, current: &[CurrentCert]) {
        self.verify_top_level(found);
        for (side, kind) in Side::BOTH
            .into_iter()
            .zip([CertKind::Server, CertKind::Client])
        {
            let names: HashSet<&str> = current
                .iter()
                .filter(|c| c.kind == kind)
                .map(|c| c.name.as_str())
                .collect();
            let leaf = self.root().join(side.leaf_dir());
            for e in fs::read_dir(&leaf).into_iter().flatten().flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if storage::is_temp_name(&name) {
                    found.add(
                        Status::Warning,
                        &e.path(),
                        "a temporary file left by an interrupted write",
                    );
                } else if name != "archive" && !is_entry_of(&name, &names) {
                    stray(found, &e.path(), "the inventory records no such name");
                }
            }
            for e in fs::read_dir(leaf.join("archive"))
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = e.file_name().to_string_lossy().into_owned();
                if storage::is_temp_name(&name) {
                    found.add(
                        Status::Warning,
                        &e.path(),
                        "a temporary file left by an interrupted write",
                    );
                } else if !facts.issued.contains(&name) {
                    found.add(
                        Status::Warning,
                        &e.path(),
                        "an archived pair the inventory does not know",
                    );
                }
            }
        }
    }

    /// The top level of the CA directory: the layout of [`crate::store`], nothing else.
    fn verify_top_level(&self, found: &mut Found) {
        let probes = self.probes_path();
        let probes = probes.file_name().unwrap_or_default();
        let set_aside = format!("{INVENTORY_FILE}.damaged-");
        for e in fs::read_dir(self.root()).into_iter().flatten().flatten() {
            let name = e.file_name();
            let text = name.to_string_lossy();
            let known = LAYOUT.contains(&text.as_ref())
                || name == probes
                || text.starts_with(&set_aside)
                || Side::BOTH.iter().any(|s| {
                    [
                        s.ca_cert_file(),
                        s.ca_key_file(),
                        s.ca_token_file(),
                        s.next_ca_cert_file(),
                        s.next_ca_key_file(),
                        s.next_ca_token_file(),
                        s.issuing_cert_file(),
                        s.issuing_key_file(),
                        s.next_issuing_cert_file(),
                        s.next_issuing_key_file(),
                        s.leaf_dir(),
                    ]
                    .contains(&text.as_ref())
                        || self.crl_path(*s).file_name() == Some(&name)
                });
            if known {
                continue;
            }
            if storage::is_temp_name(&text) {
                found.add(
                    Status::Warning,
                    &e.path(),
                    "a temporary file left by an interrupted write",
                );
            } else {
                stray(found, &e.path(), "not part of a CA directory's layout");
            }
        }
    }

    /// A CRL, once one exists: signed by its CA, not past its next update.
    fn verify_crl(&self, found: &mut Found, side: Side, ca: &CaFile, now: OffsetDateTime) {
        let path = self.crl_path(side);
        if !path.exists() {
            return;
        }
        let ders = storage::read(&path, "read CRL")
            .ok()
            .and_then(|b| crate::x509::pem::all_blocks(&b, "X509 CRL").ok());
        let Some(ders) = ders else {
            found.add(Status::Unknown, &path, "cannot read or parse the CRL");
            return;
        };
        // One CRL per CA of the bundle (and per intermediate of a hierarchy), in its order:
        // with a CRL configured, PostgreSQL and libpq refuse every certificate of a CA that has
        // none, and PostgreSQL checks one for every CA of a chain.
        let issuers = ca.crl_issuers();
        if ders.len() != issuers.len() {
            found.add(
                Status::Critical,
                &path,
                format!(
                    "{} CRL(s) for the {} CA(s) of the bundle and hierarchy: run pgca crl",
                    ders.len(),
                    issuers.len()
                ),
            );
        }
        for (i, der) in ders.iter().enumerate() {
            let issuer = issuers.get(i).copied();
            if !issuer.is_some_and(|ca| crl_signed_by(der, ca)) {
                found.add(
                    Status::Critical,
                    &path,
                    format!("not signed by the {} CA", side.name()),
                );
            }
        }
        if let Ok(info) = crate::x509::inspect::CrlInfo::from_file(&path)
            && info.next_update.is_some_and(|n| now >= n)
        {
            found.add(
                Status::Critical,
                &path,
                "past its next update: run pgca renew",
            );
        }
    }

    /// Client installs: the copies libpq and pgjdbc read hold the current certificate.
    fn verify_installs(&self, found: &mut Found, ledger: &Ledger, now: OffsetDateTime) {
        let current = |role: &str| {
            ledger
                .current(CertKind::Client, role)
                .map(|c| c.serial.clone())
        };
        for f in self.judge_installs(ledger.installs(), current, now) {
            found.add(f.status, &f.path, f.detail);
        }
    }

    /// A deployment: the copies PostgreSQL reads are the current ones, its key is safe.
    fn verify_deployment(&self, found: &mut Found, d: &Deployment) {
        let current = d.data_dir.join(crate::pg::server::TLS_DIR).join("current");
        let pairs = [
            (
                current.join("server.crt"),
                Some(self.cert_path(CertKind::Server, &d.name)),
            ),
            (
                current.join("client-ca.crt"),
                Some(self.ca_cert_path(Side::Client)),
            ),
            (
                current.join("client-ca.crl"),
                self.crl_path(Side::Client)
                    .exists()
                    .then(|| self.crl_path(Side::Client)),
            ),
        ];
        for (copy, source) in pairs {
            let Some(source) = source else { continue };
            match (fs::read(&copy), fs::read(&source)) {
                (Ok(a), Ok(b)) if a == b => {}
                (Err(_), _) => found.add(
                    Status::Warning,
                    &copy,
                    "missing: run pgca deploy-server again",
                ),
                _ => found.add(
                    Status::Warning,
                    &copy,
                    format!(
                        "differs from {}: run pgca deploy-server again",
                        source.display()
                    ),
                ),
            }
        }
        let info = CertInfo::from_file(&current.join("server.crt")).ok();
        let owner = fs::metadata(&d.data_dir).map(|m| m.uid()).ok();
        let key = current.join("server.key");
        check_key(
            found,
            &key,
            KeyFile::at(&key),
            info.as_ref(),
            None,
            KeyRule::Deployed { owner },
        );
    }

    /// A CA key held in a PKCS#11 token: its reference file is private like a key; with the
    /// PIN given, the token is logged in to and the key proven to match its certificate (a
    /// challenge signed in the token, verified against the certificate). Without a PIN, only
    /// the file is checked: verify never prompts.
    fn check_token_key(&self, found: &mut Found, side: Side) {
        let path = self.root().join(side.ca_token_file());
        match fs::symlink_metadata(&path) {
            Ok(m) if m.mode() & 0o077 != 0 => found.add(
                Status::Critical,
                &path,
                format!(
                    "the key reference is mode {:o}: readable by others",
                    m.mode() & 0o777
                ),
            ),
            Ok(_) => {}
            Err(e) => {
                found.add(Status::Critical, &path, format!("cannot be read: {e}"));
                return;
            }
        }
        if self.passphrase().is_some()
            && let Err(e) = crate::x509::ca::CaSigner::load(self.root(), side, self.passphrase())
        {
            found.add(Status::Critical, &path, e.to_string());
        }
    }
}

/// Where a key file is read from: a path (the CA keys, deployed keys), or a name in a directory
/// already open (the current certificates' keys, one path walk for them all).
enum KeyFile<'a> {
    At(&'a Path),
    In(&'a storage::DirReader, &'a str),
}

impl KeyFile<'_> {
    fn at(path: &Path) -> KeyFile<'_> {
        KeyFile::At(path)
    }

    /// Its mode bits and owner, links followed.
    fn mode_and_owner(&self) -> std::io::Result<(u32, u32)> {
        match self {
            KeyFile::At(path) => fs::metadata(path).map(|m| (m.mode(), m.uid())),
            KeyFile::In(dir, name) => dir.mode_and_owner(name),
        }
    }

    fn read(&self) -> std::io::Result<Vec<u8>> {
        match self {
            KeyFile::At(path) => fs::read(path),
            KeyFile::In(dir, name) => dir.read_io(name),
        }
    }
}

/// `clients/ROLE.pk8`, if there is one (`conninfo --driver jdbc` writes it, pgjdbc URLs name
/// it): private like the key, and the key's own DER (renew writes it again; `issue-client
/// --force` does not).
fn check_pk8(found: &mut Found, dir: &storage::DirReader, role: &str, key_path: &Path) {
    let name = format!("{role}.pk8");
    let path = key_path.with_extension("pk8");
    let Ok((mode, _)) = dir.mode_and_owner(&name) else {
        return; // none: nothing names it
    };
    if mode & 0o077 != 0 {
        found.add(
            Status::Critical,
            &path,
            format!("mode {:o}: a private key open to other users", mode & 0o777),
        );
    }
    let key_der = dir
        .read_io(&format!("{role}.key"))
        .ok()
        .map(zeroize::Zeroizing::new)
        .and_then(|pem| {
            crate::x509::pem::parse_one(&pem).map(|(_, der)| zeroize::Zeroizing::new(der))
        });
    let pk8 = dir.read_io(&name).ok().map(zeroize::Zeroizing::new);
    if pk8.as_deref() != key_der.as_deref() {
        found.add(
            Status::Warning,
            &path,
            format!(
                "not the DER of {}: run pgca conninfo {role} --driver jdbc again",
                key_path.display()
            ),
        );
    }
}

/// A key file (`path`, read from `file`): present, safe mode, and (when readable) the key of
/// `cert`.
fn check_key(
    found: &mut Found,
    path: &Path,
    file: KeyFile<'_>,
    cert: Option<&CertInfo>,
    passphrase: Option<&crate::model::passphrase::Passphrase>,
    rule: KeyRule,
) {
    let (mode, uid) = match file.mode_and_owner() {
        Ok((mode, uid)) => (mode & 0o777, uid),
        Err(e) => {
            found.add(
                Status::Critical,
                path,
                format!("the key cannot be read: {e}"),
            );
            return;
        }
    };
    let safe = match rule {
        KeyRule::Private => mode & 0o077 == 0,
        // PostgreSQL's own rule: owned by the database user with no group or world access,
        // or owned by root with at most group read.
        KeyRule::Deployed { owner } => {
            (Some(uid) == owner && mode & 0o077 == 0) || (uid == 0 && mode & 0o037 == 0)
        }
    };
    if !safe {
        found.add(
            Status::Critical,
            path,
            format!("the key is mode {mode:o}: readable by others"),
        );
    }
    let Ok(bytes) = file.read() else {
        found.add(Status::Unknown, path, "the key cannot be read");
        return;
    };
    let text = zeroize::Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned());
    drop(zeroize::Zeroizing::new(bytes));
    if is_encrypted_pem(&text) && passphrase.is_none() {
        return; // cannot be checked without the passphrase
    }
    match PrivateKey::from_pem_with(&text, path, passphrase) {
        Ok(k) => {
            if let Some(c) = cert
                && k.public_key_der() != c.spki_der
            {
                found.add(
                    Status::Critical,
                    path,
                    "the key does not match its certificate",
                );
            }
        }
        Err(e) => found.add(Status::Critical, path, e.to_string()),
    }
}

/// Layout entries at the top level of a CA directory besides the CA files, the CRLs, the leaf
/// directories and the probes list (see [`crate::store`]).
const LAYOUT: [&str; 6] = [
    INVENTORY_FILE,
    SEAL_FILE,
    LOCK_FILE,
    RENEW_LOCK,
    PENDING,
    crate::store::rollover_files::CA_ARCHIVE,
];

/// Whether `name` is one of the entries pgca makes for a recorded name in `servers/` or
/// `clients/`: `NAME.crt`, `NAME.key`, `NAME.live` (the archive directory in use), `NAME.prev`
/// (the one it replaced), `NAME.pk8` (the DER key pgjdbc reads, which `conninfo --driver jdbc`
/// writes beside the PEM key).
fn is_entry_of(name: &str, names: &HashSet<&str>) -> bool {
    name.rsplit_once('.').is_some_and(|(stem, ext)| {
        matches!(ext, "crt" | "key" | "live" | "prev" | "pk8") && names.contains(stem)
    })
}

/// An entry nothing accounts for: CRITICAL for what holds a certificate or a private key (by
/// its name or its first bytes), WARNING for anything else.
fn stray(found: &mut Found, path: &Path, why: &str) {
    let by_name = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        matches!(
            e.to_ascii_lowercase().as_str(),
            "crt" | "cer" | "pem" | "der" | "key" | "pk8" | "p8" | "p12" | "pfx" | "csr"
        )
    });
    let mut head = [0u8; 4096];
    let by_content = fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
        && fs::File::open(path)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
            .is_ok_and(|n| memchr::memmem::find(&head[..n], b"-----BEGIN ").is_some());
    if by_name || by_content {
        found.add(
            Status::Critical,
            path,
            format!("a certificate or key pgca did not issue: {why}"),
        );
    } else {
        found.add(
            Status::Warning,
            path,
            format!("an entry pgca does not make: {why}"),
        );
    }
}

#[derive(Clone, Copy)]
enum KeyRule {
    Private,
    Deployed { owner: Option<u32> },
}

/// Whether a CRL is signed by the key of `issuer_der`.
fn crl_signed_by(crl_der: &[u8], issuer_der: &[u8]) -> bool {
    let (Ok((_, crl)), Ok((_, issuer))) = (
        x509_parser::parse_x509_crl(crl_der),
        x509_parser::certificate::X509Certificate::from_der(issuer_der),
    ) else {
        return false;
    };
    crl.verify_signature(issuer.public_key()).is_ok()
}
