//! `pgca verify`: a doctor for a CA directory. It checks everything that should hold and
//! reports every problem, with the Nagios exit codes of `pgca check`. It changes nothing.
//!
//! | check | problem status |
//! |---|---|
//! | each current certificate's key matches it; certificate and key files exist and parse | CRITICAL |
//! | each certificate chains to its CA (issuer, key identifier, signature) with the right EKU | CRITICAL |
//! | private keys are mode 0600 (deployed keys: 0600 by the database user, or root 0640) | CRITICAL |
//! | the inventory agrees with the files: the live certificate is the recorded one | CRITICAL |
//! | the CRLs are signed by their CA and not past nextUpdate | CRITICAL |
//! | deployed copies are the current certificate, key, client CA and CRL | WARNING |
//! | leftovers: archive entries the inventory does not know, temporary files, `.pending` | WARNING |
//! | the CA directory is not 0700; the inventory ends with an uncommitted batch | WARNING |
//! | a file that cannot be read | UNKNOWN |

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use time::OffsetDateTime;
use x509_parser::prelude::FromDer;

use crate::error::Result;
use crate::inventory;
use crate::model::kind::CertKind;
use crate::model::kind::Side;
use crate::model::status::Status;
use crate::model::timefmt;
use crate::storage;
use crate::store::layout::CaDir;
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

impl CaDir {
    /// Checks the whole directory (and every deployment it recorded) and reports every problem.
    /// Encrypted CA keys are checked against their certificates only when a passphrase is set.
    pub fn verify(&self, now: Option<OffsetDateTime>) -> Result<VerifyReport> {
        let now = now.unwrap_or_else(timefmt::now);
        let mut found = Found(Vec::new());
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
        if root.join(".pending").exists() {
            found.add(
                Status::Warning,
                &root.join(".pending"),
                "an interrupted write: the next pgca command that writes finishes it",
            );
        }
        let ledger = self.inventory()?;
        if ledger.torn_tail {
            found.add(
                Status::Warning,
                &inventory::log::path_in(root),
                "an uncommitted batch at the end (an interrupted write) was skipped; the next write cuts it off",
            );
        }

        // The CAs.
        let mut cas: Vec<Option<CertInfo>> = Vec::new();
        let mut ca_ders: Vec<Option<Vec<u8>>> = Vec::new();
        for side in Side::BOTH {
            let cert_path = self.ca_cert_path(side);
            let key_path = root.join(side.ca_key_file());
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
                self.check_token_key(&mut found, side);
            } else {
                self.check_key(
                    &mut found,
                    &key_path,
                    info.as_ref(),
                    self.passphrase(),
                    KeyRule::Private,
                );
            }
            cas.push(info);
            ca_ders.push(der);
        }

        // Current certificates: files, keys, chain, usage, agreement with the inventory.
        let mut checked = 0;
        for i in ledger.current_certs().iter().filter(|c| !c.kind.is_ca()) {
            checked += 1;
            let side = if i.kind == CertKind::Server { 0 } else { 1 };
            let cert_path = self.cert_path(i.kind, &i.name);
            let bytes = match fs::read(&cert_path) {
                Ok(b) => b,
                Err(e) => {
                    found.add(
                        Status::Critical,
                        &cert_path,
                        format!("recorded in the inventory but unreadable: {e}"),
                    );
                    continue;
                }
            };
            let Some((der, info)) = first_cert_der(&bytes)
                .ok()
                .and_then(|d| CertInfo::from_der(&d).ok().map(|i| (d, i)))
            else {
                found.add(Status::Critical, &cert_path, "not a certificate");
                continue;
            };
            if info.serial != i.serial {
                found.add(
                    Status::Critical,
                    &cert_path,
                    format!(
                        "serial {} on disk, but the inventory's current one is {}",
                        info.serial, i.serial
                    ),
                );
            } else if i
                .sha256
                .as_ref()
                .is_some_and(|h| *h != crate::model::hex::sha256(&der))
            {
                found.add(
                    Status::Critical,
                    &cert_path,
                    format!(
                        "not the certificate the inventory records (serial {}, but another fingerprint)",
                        i.serial
                    ),
                );
            }
            let want_eku = if i.kind == CertKind::Server {
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
            if let (Some(ca), Some(ca_der)) = (&cas[side], &ca_ders[side])
                && (info.issuer != ca.subject
                    || info.authority_key_id != ca.subject_key_id
                    || !signed_by(&der, ca_der))
            {
                let which = if side == 0 { "server" } else { "client" };
                found.add(
                    Status::Critical,
                    &cert_path,
                    format!("does not chain to the {which} CA"),
                );
            }
            if i.external_key {
                // The key is on its host: the certificate must certify the recorded public key,
                // and the CA directory must hold no key for it.
                let spki = crate::model::hex::sha256(&info.spki_der);
                if i.spki_sha256.as_ref().is_some_and(|h| *h != spki) {
                    found.add(
                        Status::Critical,
                        &cert_path,
                        "certifies another public key than the recorded external one".to_string(),
                    );
                }
                let key_path = self.key_path(i.kind, &i.name);
                if key_path.symlink_metadata().is_ok() {
                    found.add(
                        Status::Warning,
                        &key_path,
                        "a key file for a certificate whose key is external (pgca sign)"
                            .to_string(),
                    );
                }
            } else {
                self.check_key(
                    &mut found,
                    &self.key_path(i.kind, &i.name),
                    Some(&info),
                    None,
                    KeyRule::Private,
                );
            }
        }

        // Leftovers in the archives.
        let recorded: std::collections::HashSet<String> = ledger
            .issued()
            .iter()
            .map(|i| i.serial.to_string())
            .collect();
        for side in Side::BOTH {
            let leaf = root.join(side.leaf_dir());
            for (dir, is_archive) in [(leaf.join("archive"), true), (leaf.clone(), false)] {
                for e in fs::read_dir(&dir).into_iter().flatten().flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if name.contains(storage::TEMP_MARK) && name.starts_with('.') {
                        found.add(
                            Status::Warning,
                            &e.path(),
                            "a temporary file left by an interrupted write",
                        );
                    } else if is_archive && !recorded.contains(&name) {
                        found.add(
                            Status::Warning,
                            &e.path(),
                            "an archived pair the inventory does not know",
                        );
                    }
                }
            }
        }

        // CRLs.
        for (n, side) in Side::BOTH.into_iter().enumerate() {
            let path = self.crl_path(side);
            if !path.exists() {
                continue;
            }
            let der = storage::read(&path, "read CRL")
                .ok()
                .and_then(|b| crate::x509::pem::first_block_lenient(&b, "X509 CRL").ok());
            let Some(der) = der else {
                found.add(Status::Unknown, &path, "cannot read or parse the CRL");
                continue;
            };
            let ok = ca_ders[n]
                .as_deref()
                .is_some_and(|ca| crl_signed_by(&der, ca));
            if !ok {
                found.add(
                    Status::Critical,
                    &path,
                    format!("not signed by the {} CA", side.name()),
                );
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

        // Deployments: the copies PostgreSQL reads.
        for d in ledger.deployments() {
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
            self.check_key(
                &mut found,
                &current.join("server.key"),
                info.as_ref(),
                None,
                KeyRule::Deployed { owner },
            );
        }

        let status = found.0.iter().map(|p| p.status).max().unwrap_or(Status::Ok);
        Ok(VerifyReport {
            status,
            certificates: checked,
            problems: found.0,
        })
    }

    /// A key file: present, safe mode, and (when readable) the key of `cert`.
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

    fn check_key(
        &self,
        found: &mut Found,
        path: &Path,
        cert: Option<&CertInfo>,
        passphrase: Option<&crate::model::passphrase::Passphrase>,
        rule: KeyRule,
    ) {
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                found.add(
                    Status::Critical,
                    path,
                    format!("the key cannot be read: {e}"),
                );
                return;
            }
        };
        let mode = meta.mode() & 0o777;
        let safe = match rule {
            KeyRule::Private => mode & 0o077 == 0,
            // PostgreSQL's own rule: owned by the database user with no group or world access,
            // or owned by root with at most group read.
            KeyRule::Deployed { owner } => {
                (Some(meta.uid()) == owner && mode & 0o077 == 0)
                    || (meta.uid() == 0 && mode & 0o037 == 0)
            }
        };
        if !safe {
            found.add(
                Status::Critical,
                path,
                format!("the key is mode {mode:o}: readable by others"),
            );
        }
        let Ok(bytes) = fs::read(path) else {
            found.add(Status::Unknown, path, "the key cannot be read");
            return;
        };
        let text = zeroize::Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned());
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
}

#[derive(Clone, Copy)]
enum KeyRule {
    Private,
    Deployed { owner: Option<u32> },
}

/// Whether `cert_der` carries a signature that the key of `issuer_der` verifies.
fn signed_by(cert_der: &[u8], issuer_der: &[u8]) -> bool {
    let (Ok((_, cert)), Ok((_, issuer))) = (
        x509_parser::certificate::X509Certificate::from_der(cert_der),
        x509_parser::certificate::X509Certificate::from_der(issuer_der),
    ) else {
        return false;
    };
    cert.verify_signature(Some(issuer.public_key())).is_ok()
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
