//! Certificates, keys and CA files given by path instead of taken from a CA directory: what a
//! database host installs after the CA host signed its request (`deploy-server --cert --key
//! --ca-file`, `client-install --cert --key --root`).
//!
//! Everything is read safely (see `storage/input.rs`: no link or directory another user
//! controls, a key only under libpq's permission rule) and checked before anything is written:
//! the certificate is a leaf for the use (serverAuth or clientAuth, not a CA), valid now, and
//! its key is the one given (the public keys compared); a client certificate's CN is a role;
//! the CA file holds CA certificates only, and not the CA that signed the certificate (pgca's
//! server CA and client CA are two: each side trusts the other's); a CRL, when given, is signed
//! by a CA of that file, current, and there is one for each of its CAs.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::error::{Error, Malformed, Result};
use crate::model::names::RoleName;
use crate::model::timefmt::human;
use crate::storage::{self, Input};
use crate::x509::inspect::{CertInfo, escape_controls};
use crate::x509::keys::PrivateKey;

/// What the certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Use {
    /// A server certificate: extended key usage serverAuth.
    Server,
    /// A client certificate: extended key usage clientAuth, CN the role.
    Client,
}

impl Use {
    fn eku(self) -> &'static str {
        match self {
            Use::Server => "serverAuth",
            Use::Client => "clientAuth",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Use::Server => "server",
            Use::Client => "client",
        }
    }
}

/// A certificate, its key and the CA file the peer is checked against, read and checked.
pub(crate) struct GivenPair {
    /// The certificate file's bytes.
    pub(crate) cert_pem: Vec<u8>,
    /// The key file's bytes, wiped when dropped.
    pub(crate) key_pem: Zeroizing<Vec<u8>>,
    /// The CA file's bytes.
    pub(crate) ca_pem: Vec<u8>,
    /// What the certificate says.
    pub(crate) info: CertInfo,
    /// The key file, absolute (for messages).
    pub(crate) key_path: PathBuf,
    /// A client certificate's role (its CN).
    pub(crate) role: Option<RoleName>,
    /// The CA file's CRL(s), when given.
    pub(crate) crl_pem: Option<Vec<u8>>,
}

/// A certificate, its key, the other side's CA bundle and optionally its CRL, held in memory
/// (what `pgca enroll` and `pgca agent` got from the CA), installed with the checks and writers
/// of the `--cert` forms. `Debug` never shows the key.
#[non_exhaustive]
pub struct GivenPems {
    /// The certificate (PEM; an intermediate may follow it).
    pub cert_pem: Vec<u8>,
    /// Its key (unencrypted PKCS#8 PEM), wiped when dropped.
    pub key_pem: Zeroizing<Vec<u8>>,
    /// The CA bundle the peer is checked against (PEM).
    pub ca_pem: Vec<u8>,
    /// That CA's CRL (PEM), if any.
    pub crl_pem: Option<Vec<u8>>,
    /// For a server ([`deploy_pems`](crate::pg::server::deploy_pems)): the server CA bundle,
    /// written beside as `server-ca.crt`, what `pgca agent` trusts its CA service with.
    pub server_ca_pem: Option<Vec<u8>>,
    /// The time the certificate must be valid at; `None`: the system clock.
    pub now: Option<OffsetDateTime>,
}

impl GivenPems {
    /// The four parts, checked at the system clock's time.
    pub fn new(
        cert_pem: Vec<u8>,
        key_pem: Zeroizing<Vec<u8>>,
        ca_pem: Vec<u8>,
        crl_pem: Option<Vec<u8>>,
    ) -> GivenPems {
        GivenPems {
            cert_pem,
            key_pem,
            ca_pem,
            crl_pem,
            server_ca_pem: None,
            now: None,
        }
    }

    /// Checked for `usage`, the parts named as what the CA sent.
    pub(crate) fn checked(&self, usage: Use) -> Result<GivenPair> {
        let paths = Paths {
            cert: Path::new("the certificate the CA sent"),
            key: Path::new("the new key"),
            ca: Path::new("the CA bundle the CA sent"),
            crl: self
                .crl_pem
                .as_ref()
                .map(|_| Path::new("the CRL the CA sent")),
        };
        check_pems(
            usage,
            &paths,
            self.cert_pem.clone(),
            self.key_pem.clone(),
            self.ca_pem.clone(),
            self.crl_pem.clone(),
            self.now.unwrap_or_else(crate::model::timefmt::now),
        )
    }
}

impl std::fmt::Debug for GivenPems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GivenPems(..)")
    }
}

/// The files to read: the certificate, its key, the other side's CA file and, optionally, that
/// CA's CRL.
pub(crate) struct Paths<'a> {
    pub(crate) cert: &'a Path,
    pub(crate) key: &'a Path,
    pub(crate) ca: &'a Path,
    pub(crate) crl: Option<&'a Path>,
}

/// Reads `cert`, `key` and `ca` and checks them for `usage` at `now` (see the module docs).
pub(crate) fn read_checked(
    usage: Use,
    paths: &Paths<'_>,
    now: OffsetDateTime,
) -> Result<GivenPair> {
    let (cert, key, ca) = (
        storage::absolute(paths.cert),
        storage::absolute(paths.key),
        storage::absolute(paths.ca),
    );
    let crl = paths.crl.map(storage::absolute);
    let cert_pem = storage::read_input(&cert, "read certificate", Input::Public)?.to_vec();
    let key_pem = storage::read_input(&key, "read key", Input::Key)?;
    let ca_pem = storage::read_input(&ca, "read CA certificate", Input::Public)?.to_vec();
    let crl_pem = match &crl {
        Some(p) => Some(storage::read_input(p, "read CRL", Input::Public)?.to_vec()),
        None => None,
    };
    let named = Paths {
        cert: &cert,
        key: &key,
        ca: &ca,
        crl: crl.as_deref(),
    };
    check_pems(usage, &named, cert_pem, key_pem, ca_pem, crl_pem, now)
}

/// Checks a certificate, key, CA file and CRL held in memory for `usage` at `now`, as
/// [`read_checked`] checks files (`paths` name them in messages).
pub(crate) fn check_pems(
    usage: Use,
    paths: &Paths<'_>,
    cert_pem: Vec<u8>,
    key_pem: Zeroizing<Vec<u8>>,
    ca_pem: Vec<u8>,
    crl_pem: Option<Vec<u8>>,
    now: OffsetDateTime,
) -> Result<GivenPair> {
    let (cert, key, ca) = (
        paths.cert.to_path_buf(),
        paths.key.to_path_buf(),
        paths.ca.to_path_buf(),
    );
    let crl = paths.crl.map(Path::to_path_buf);
    let info = CertInfo::from_pem(&cert_pem).map_err(|reason| Error::BadCert {
        path: cert.clone(),
        reason,
    })?;
    let unfit = |reason: String| Error::UnfitCert {
        path: cert.clone(),
        reason,
    };
    if info.is_ca {
        return Err(unfit(format!(
            "it is a CA certificate, not a {} certificate",
            usage.what()
        )));
    }
    if !info.extended_key_usage.iter().any(|u| u == usage.eku()) {
        let has = if info.extended_key_usage.is_empty() {
            "none".to_string()
        } else {
            info.extended_key_usage.join(", ")
        };
        return Err(unfit(format!(
            "not a {} certificate: its extended key usage is {has}, not {}",
            usage.what(),
            usage.eku()
        )));
    }
    if now > info.not_after {
        return Err(unfit(format!("it expired {}", human(info.not_after))));
    }
    if now < info.not_before {
        return Err(unfit(format!(
            "it is not valid until {}",
            human(info.not_before)
        )));
    }
    let role = match usage {
        Use::Server => None,
        Use::Client => Some(role_of(&info).map_err(unfit)?),
    };

    let text = Zeroizing::new(String::from_utf8_lossy(&key_pem).into_owned());
    // An encrypted key cannot be compared with its certificate: PrivateKey refuses it by name.
    if PrivateKey::from_pem(&text, &key)?.public_key_der() != info.spki_der {
        return Err(Error::KeyMismatch {
            key,
            cert: cert.clone(),
        });
    }

    let cas = check_ca_file(&ca, &ca_pem, &cert, &info, now)?;
    if let (Some(path), Some(pem)) = (&crl, &crl_pem) {
        check_crl_file(path, pem, &ca, &cas, now)?;
    }
    Ok(GivenPair {
        cert_pem,
        key_pem,
        ca_pem,
        info,
        key_path: key,
        role,
        crl_pem,
    })
}

/// The role a client certificate is for: its CN, which pg_hba.conf's `cert` method compares
/// with the role.
fn role_of(info: &CertInfo) -> std::result::Result<RoleName, String> {
    let Some(cn) = &info.common_name else {
        return Err("it has no CN, which pg_hba.conf's cert method compares with the role".into());
    };
    // A certificate made already: an unusual name is its role's, as issue-client's
    // --allow-unusual-role let it through.
    RoleName::parse_unusual(cn).map_err(|e| match e {
        Error::InvalidRole { reason, .. } => {
            format!(
                "its CN {} is not a role name ({reason})",
                crate::model::text::quoted(cn)
            )
        }
        other => other.to_string(),
    })
}

/// Every block of the CA file is a CA certificate, valid now, and none signed `leaf` (the file
/// is the other side's CA). Returns the CAs' DER and what they say.
fn check_ca_file(
    path: &Path,
    pem_bytes: &[u8],
    cert_path: &Path,
    leaf: &CertInfo,
    now: OffsetDateTime,
) -> Result<Vec<(Vec<u8>, CertInfo)>> {
    let mut cas = Vec::new();
    let bad = |reason| Error::BadCert {
        path: path.to_path_buf(),
        reason,
    };
    let blocks = pem::parse_many(pem_bytes).map_err(|_| bad(Malformed::NotPem))?;
    if blocks.is_empty() {
        return Err(bad(Malformed::NotPem));
    }
    for block in blocks {
        if block.tag() != "CERTIFICATE" {
            return Err(bad(Malformed::NoBlock("CERTIFICATE")));
        }
        let ca = CertInfo::from_der(block.contents()).map_err(bad)?;
        if !ca.is_ca {
            return Err(bad(Malformed::NotCa));
        }
        let unfit = |reason: String| Error::UnfitCert {
            path: path.to_path_buf(),
            reason,
        };
        if now > ca.not_after {
            return Err(unfit(format!(
                "the CA {} expired {}",
                escape_controls(&ca.subject),
                human(ca.not_after)
            )));
        }
        let signed_leaf = ca.subject == leaf.issuer
            && match (&ca.subject_key_id, &leaf.authority_key_id) {
                (Some(s), Some(a)) => s == a,
                _ => true,
            };
        if signed_leaf {
            return Err(Error::SameSideCa {
                path: path.to_path_buf(),
                cert: cert_path.to_path_buf(),
                ca: escape_controls(&ca.subject).into_owned(),
            });
        }
        cas.push((block.contents().to_vec(), ca));
    }
    Ok(cas)
}

/// Every block of the CRL file is a CRL signed by one of `cas` and not past its nextUpdate, and
/// every CA has one: once a CRL is configured, PostgreSQL and libpq (CRL_CHECK_ALL) refuse every
/// certificate of a CA without a current CRL.
fn check_crl_file(
    path: &Path,
    pem_bytes: &[u8],
    ca_path: &Path,
    cas: &[(Vec<u8>, CertInfo)],
    now: OffsetDateTime,
) -> Result<()> {
    let bad = |reason| Error::BadCert {
        path: path.to_path_buf(),
        reason,
    };
    let unfit = |reason: String| Error::UnfitCrl {
        path: path.to_path_buf(),
        reason,
    };
    let blocks = pem::parse_many(pem_bytes).map_err(|_| bad(Malformed::NotPem))?;
    if blocks.is_empty() {
        return Err(bad(Malformed::NotPem));
    }
    let mut covered = vec![false; cas.len()];
    for block in blocks {
        if block.tag() != "X509 CRL" {
            return Err(bad(Malformed::NoBlock("X509 CRL")));
        }
        let (_, crl) = x509_parser::parse_x509_crl(block.contents())
            .map_err(|e| bad(Malformed::NotCrl(e.to_string())))?;
        let signer = cas.iter().position(|(der, _)| {
            x509_parser::parse_x509_certificate(der)
                .is_ok_and(|(_, ca)| crl.verify_signature(ca.public_key()).is_ok())
        });
        let Some(i) = signer else {
            return Err(unfit(format!(
                "{} is not signed by a CA of {}",
                escape_controls(&crl.issuer().to_string()),
                ca_path.display()
            )));
        };
        match crl.next_update().map(|t| t.to_datetime()) {
            Some(next) if next <= now => {
                return Err(unfit(format!(
                    "it was due for renewal {} (nextUpdate): PostgreSQL would refuse every \
                     certificate of {}",
                    human(next),
                    escape_controls(&cas[i].1.subject)
                )));
            }
            _ => covered[i] = true,
        }
    }
    if let Some(i) = covered.iter().position(|c| !c) {
        return Err(unfit(format!(
            "it holds no CRL of the CA {} in {}: once a CRL is set, every certificate of a CA \
             without one is refused",
            escape_controls(&cas[i].1.subject),
            ca_path.display()
        )));
    }
    Ok(())
}
