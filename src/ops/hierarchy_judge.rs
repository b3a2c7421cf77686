//! What `check` and `verify` make of a hierarchy's issuing intermediates (`init
//! --intermediate`): each must be signed by the side's root (issuer, key identifier,
//! signature), be a CA of pathlen 0, not have expired, end no later than the root, and have its
//! key beside it (private, and the certificate's when it can be read); a leaf file must hold the
//! leaf followed by the intermediate that signed it.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use time::OffsetDateTime;
use x509_parser::prelude::FromDer;

use crate::model::kind::Side;
use crate::model::status::Status;
use crate::model::timefmt;
use crate::store::layout::CaDir;
use crate::x509::inspect::CertInfo;

/// One problem of an intermediate: how bad, which file, what.
pub(crate) type IssuingProblem = (Status, PathBuf, String);

impl CaDir {
    /// Every problem of the intermediates of `side` (the one in use and a rollover's new one);
    /// empty outside a hierarchy or when all is well. `keys`: also read each key and compare it
    /// with its certificate (verify; check only looks that it is there and private).
    pub(crate) fn issuing_problems(
        &self,
        side: Side,
        now: OffsetDateTime,
        keys: bool,
    ) -> Vec<IssuingProblem> {
        let mut out = Vec::new();
        if !self.has_issuing(side) {
            return out;
        }
        let roots: Vec<(Vec<u8>, CertInfo)> =
            crate::storage::read(&self.ca_cert_path(side), "read CA certificate")
                .ok()
                .and_then(|b| crate::x509::pem::all_cert_ders(&b).ok())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|d| CertInfo::from_der(&d).ok().map(|i| (d, i)))
                .collect();
        let found = self.issuing_cas(side);
        if found.is_empty() {
            let path = self.issuing_cert_path(side);
            out.push((
                Status::Critical,
                path,
                "the issuing intermediate cannot be read or parsed".into(),
            ));
        }
        for (path, der, info) in &found {
            let mut bad = |status, what: String| out.push((status, path.clone(), what));
            let root = roots.iter().find(|(rd, r)| {
                info.issuer == r.subject
                    && info.authority_key_id == r.subject_key_id
                    && signed_by(der, rd)
            });
            let Some((_, root)) = root else {
                bad(
                    Status::Critical,
                    format!("not signed by the {} root CA", side.name()),
                );
                continue;
            };
            if !info.is_ca || info.path_len != Some(0) {
                bad(Status::Critical, "not a CA certificate of pathlen 0".into());
            }
            if now >= info.not_after {
                bad(
                    Status::Critical,
                    format!(
                        "the {} issuing CA expired {}",
                        side.name(),
                        timefmt::human(info.not_after)
                    ),
                );
            }
            if info.not_after > root.not_after {
                bad(
                    Status::Critical,
                    "outlives the root CA that signed it".into(),
                );
            }
        }
        for (path, _, info) in &found {
            let key_file = if *path == self.issuing_cert_path(side) {
                side.issuing_key_file()
            } else {
                side.next_issuing_key_file()
            };
            let key_path = self.root().join(key_file);
            if let Some(p) = self.issuing_key_problem(&key_path, info, keys) {
                out.push((Status::Critical, key_path, p));
            }
        }
        out
    }

    /// An intermediate's key file: there, private, and (`keys`, when it can be read) the key
    /// of `cert`.
    fn issuing_key_problem(
        &self,
        key_path: &std::path::Path,
        cert: &CertInfo,
        keys: bool,
    ) -> Option<String> {
        let meta = match std::fs::symlink_metadata(key_path) {
            Ok(m) => m,
            Err(e) => return Some(format!("the intermediate's key cannot be read: {e}")),
        };
        if !meta.file_type().is_file() || meta.mode() & 0o077 != 0 {
            return Some(format!(
                "the key is mode {:o}, or not a file: readable by others",
                meta.mode() & 0o777
            ));
        }
        if !keys {
            return None;
        }
        let bytes = zeroize::Zeroizing::new(std::fs::read(key_path).ok()?);
        let text = zeroize::Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned());
        if crate::x509::keys::is_encrypted_pem(&text) && self.passphrase().is_none() {
            return None;
        }
        match crate::x509::keys::PrivateKey::from_pem_with(&text, key_path, self.passphrase()) {
            Ok(k) if k.public_key_der() != cert.spki_der => {
                Some("the key does not match its certificate".into())
            }
            Ok(_) => None,
            Err(e) => Some(e.to_string()),
        }
    }
}

/// Whether a leaf's certificate file (`bytes`) holds the leaf and, after it, exactly the
/// intermediate DER `issuer` (what PostgreSQL and libpq send as the chain).
pub(crate) fn chain_follows(bytes: &[u8], issuer: &[u8]) -> bool {
    crate::x509::pem::all_cert_ders(bytes).is_ok_and(|ders| ders.len() == 2 && ders[1] == issuer)
}

/// Whether `cert_der` carries a signature that the key of `issuer_der` verifies.
pub(crate) fn signed_by(cert_der: &[u8], issuer_der: &[u8]) -> bool {
    let (Ok((_, cert)), Ok((_, issuer))) = (
        x509_parser::certificate::X509Certificate::from_der(cert_der),
        x509_parser::certificate::X509Certificate::from_der(issuer_der),
    ) else {
        return false;
    };
    cert.verify_signature(Some(issuer.public_key())).is_ok()
}
