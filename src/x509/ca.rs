//! The two CAs: the server CA (clients trust it) and the client CA (the server trusts it).
//!
//! They are independent self-signed roots with their own keys, as PostgreSQL's guides advise:
//! a client certificate can never pass as a server certificate, and the server's `ssl_ca_file`
//! trusts nothing but client certificates.
//!
//! CA certificates carry basicConstraints `CA:TRUE, pathlen:0` (critical), keyUsage
//! `keyCertSign, cRLSign` (critical) and a subjectKeyIdentifier.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyUsagePurpose,
    PublicKeyData, SignatureAlgorithm, SigningKey,
};
use time::OffsetDateTime;

use crate::error::{Error, Malformed, Result, UnsafeKey};
use crate::model::kind::Side;
use crate::model::serial::Serial;
use crate::storage;
use crate::x509::inspect::CertInfo;
use crate::x509::keys::{KeyType, PrivateKey};
use crate::x509::token::{Token, TokenKey};
use crate::x509::token_uri::TokenUri;

/// A CA's signing key: a key file pgca decrypted, or a key inside a PKCS#11 token that only
/// the token ever holds.
pub(crate) enum CaKey {
    /// `DIR/server-ca.key`, in memory (boxed: a key pair is several times a token handle).
    File(Box<PrivateKey>),
    /// Named by `DIR/server-ca.pkcs11`, in the token.
    Token(TokenKey),
}

impl CaKey {
    /// The key file's key, or `None` for a key in a token.
    pub(crate) fn file(&self) -> Option<&PrivateKey> {
        match self {
            CaKey::File(k) => Some(k),
            CaKey::Token(_) => None,
        }
    }
}

impl PublicKeyData for CaKey {
    fn der_bytes(&self) -> &[u8] {
        match self {
            CaKey::File(k) => k.pair().der_bytes(),
            CaKey::Token(k) => k.der_bytes(),
        }
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        match self {
            CaKey::File(k) => k.pair().algorithm(),
            CaKey::Token(k) => k.algorithm(),
        }
    }
}

impl SigningKey for CaKey {
    fn sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, rcgen::Error> {
        match self {
            CaKey::File(k) => k.pair().sign(msg),
            CaKey::Token(k) => k.sign(msg),
        }
    }
}

/// Refuses to sign with a CA key others can read, or in a CA directory others can write: the key
/// may be copied, or swapped, by then.
fn refuse_loose_permissions(dir: &Path, key_path: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let key = std::fs::symlink_metadata(key_path).map_err(Error::io("read CA key", key_path))?;
    if !key.file_type().is_file() {
        return Err(Error::UnsafeCaKey {
            path: key_path.to_path_buf(),
            reason: UnsafeKey::NotAFile,
        });
    }
    if key.mode() & 0o077 != 0 {
        return Err(Error::UnsafeCaKey {
            path: key_path.to_path_buf(),
            reason: UnsafeKey::Readable {
                mode: key.mode() & 0o777,
            },
        });
    }
    let d = std::fs::metadata(dir).map_err(Error::io("read", dir))?;
    if d.mode() & 0o022 != 0 {
        return Err(Error::UnsafeCaKey {
            path: dir.to_path_buf(),
            reason: UnsafeKey::DirectoryWritable {
                mode: d.mode() & 0o777,
            },
        });
    }
    Ok(())
}

/// Which of a side's CAs: the one in use (`server-ca.crt`, the first certificate there, and
/// `server-ca.key`), or the new one of a rollover under way (`server-ca.next.crt`, `.next.key`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CaSlot {
    /// The CA in use (the old one during a rollover).
    Current,
    /// A rollover's new CA.
    Next,
    /// The issuing intermediate of a hierarchy (`server-issuing.crt`, `server-issuing.key`),
    /// signed by the root, which is then the `Current` slot.
    Issuing,
    /// An intermediate rollover's new intermediate (`server-issuing.next.crt`, `.next.key`).
    NextIssuing,
}

impl CaSlot {
    /// The certificate, key and token reference file names of this slot.
    pub(crate) fn files(self, side: Side) -> [&'static str; 3] {
        match self {
            CaSlot::Current => [
                side.ca_cert_file(),
                side.ca_key_file(),
                side.ca_token_file(),
            ],
            CaSlot::Next => [
                side.next_ca_cert_file(),
                side.next_ca_key_file(),
                side.next_ca_token_file(),
            ],
            // An intermediate's key is a file: no token reference is ever written for one.
            CaSlot::Issuing => [
                side.issuing_cert_file(),
                side.issuing_key_file(),
                ISSUING_NO_TOKEN[usize::from(side == Side::Client)],
            ],
            CaSlot::NextIssuing => [
                side.next_issuing_cert_file(),
                side.next_issuing_key_file(),
                ISSUING_NO_TOKEN[usize::from(side == Side::Client)],
            ],
        }
    }

    /// Whether this is an issuing intermediate (current or next).
    pub(crate) fn is_issuing(self) -> bool {
        matches!(self, CaSlot::Issuing | CaSlot::NextIssuing)
    }
}

/// The token reference an intermediate would have: never written (its key is a file), so a file
/// of that name found is refused like a key file beside a token reference.
const ISSUING_NO_TOKEN: [&str; 2] = ["server-issuing.pkcs11", "client-issuing.pkcs11"];

/// A CA certificate with its key, ready to sign.
pub(crate) struct CaSigner {
    pub(crate) side: Side,
    /// Which of the side's CAs it is.
    pub(crate) slot: CaSlot,
    pub(crate) info: CertInfo,
    pub(crate) key: CaKey,
    cert_pem: String,
}

impl CaSigner {
    /// Loads a CA from its directory and checks that key and certificate belong together.
    pub(crate) fn load(
        dir: &Path,
        side: Side,
        passphrase: Option<&crate::model::passphrase::Passphrase>,
    ) -> Result<CaSigner> {
        CaSigner::load_slot(dir, side, CaSlot::Current, passphrase)
    }

    /// Loads the CA of `slot`: the first certificate of its certificate file (during a
    /// rollover `server-ca.crt` is the bundle of both CAs, the one in use first).
    pub(crate) fn load_slot(
        dir: &Path,
        side: Side,
        slot: CaSlot,
        passphrase: Option<&crate::model::passphrase::Passphrase>,
    ) -> Result<CaSigner> {
        CaSigner::load_slot_with(dir, side, slot, passphrase, None)
    }

    /// [`CaSigner::load_slot`], an encrypted key decrypted once and kept in `keys`.
    pub(crate) fn load_slot_with(
        dir: &Path,
        side: Side,
        slot: CaSlot,
        passphrase: Option<&crate::model::passphrase::Passphrase>,
        keys: Option<&crate::x509::key_cache::KeyCache>,
    ) -> Result<CaSigner> {
        let [cert_name, key_name, token_name] = slot.files(side);
        let cert_path = dir.join(cert_name);
        let key_path = dir.join(key_name);
        let cert_bytes = storage::read(&cert_path, "read CA certificate")?;
        let bad = |reason| Error::BadCert {
            path: cert_path.clone(),
            reason,
        };
        let der = crate::x509::pem::first_cert_der(&cert_bytes).map_err(bad)?;
        let info = CertInfo::from_der(&der).map_err(bad)?;
        if !info.is_ca {
            return Err(Error::BadCert {
                path: cert_path,
                reason: Malformed::NotCa,
            });
        }
        let cert_pem = crate::x509::pem::encode("CERTIFICATE", &der);
        let token_path = dir.join(token_name);
        if token_path.symlink_metadata().is_ok() {
            // The key is in a token: the reference is guarded like a key (it decides which
            // module pgca loads), and a key file beside it is a leftover nobody should sign with.
            refuse_loose_permissions(dir, &token_path)?;
            if key_path.symlink_metadata().is_ok() {
                return Err(Error::PartialCa {
                    dir: dir.to_path_buf(),
                    found: key_path,
                });
            }
            let uri = TokenUri::read(&token_path)?;
            let pin = passphrase.ok_or_else(|| Error::NeedPin {
                token: uri.token.clone(),
            })?;
            let token = Token::open(&uri)?;
            let session = token.signing_session(pin)?;
            let key = TokenKey::find(&token, session, &info.spki_der, &token_path, &cert_path)?;
            return Ok(CaSigner {
                side,
                slot,
                info,
                key: CaKey::Token(key),
                cert_pem,
            });
        }
        refuse_loose_permissions(dir, &key_path)?;
        let key_bytes = zeroize::Zeroizing::new(storage::read(&key_path, "read CA key")?);
        let key_text = std::str::from_utf8(&key_bytes).map_err(|_| Error::BadKey {
            path: key_path.clone(),
            reason: "not a PEM file".into(),
        })?;
        let key = PrivateKey::from_pem_cached(key_text, &key_path, passphrase, keys)?;
        if key.public_key_der() != info.spki_der {
            return Err(Error::KeyMismatch {
                key: key_path,
                cert: cert_path,
            });
        }
        Ok(CaSigner {
            side,
            slot,
            info,
            key: CaKey::File(Box::new(key)),
            cert_pem,
        })
    }

    /// The PEM that follows a leaf it signed in the leaf's certificate file: the intermediate's
    /// own certificate, so that PostgreSQL and libpq send the chain; `None` for a root.
    pub(crate) fn chain_pem(&self) -> Option<&str> {
        self.slot.is_issuing().then_some(self.cert_pem.as_str())
    }

    /// The rcgen issuer: the CA's subject, key identifier and key.
    pub(crate) fn issuer(&self) -> Result<Issuer<'_, &CaKey>> {
        Issuer::from_ca_cert_pem(&self.cert_pem, &self.key)
            .map_err(Error::rcgen("reading the CA certificate"))
    }

    /// A signing error, with the token's own reason when the token refused to sign (rcgen's
    /// error says only "remote key error").
    pub(crate) fn explain(&self, e: Error) -> Error {
        match &self.key {
            CaKey::Token(k) => k.take_failure().unwrap_or(e),
            CaKey::File(_) => e,
        }
    }

    /// Refuses to sign when the CA has expired, or when a certificate ending at `not_after` would
    /// outlive it (never truncated silently).
    pub(crate) fn check_can_sign_until(
        &self,
        now: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<()> {
        check_can_sign_until(self.side, self.info.not_after, now, not_after)
    }
}

/// [`CaSigner::check_can_sign_until`] for a CA of `side` ending at `ca_not_after`, without its
/// key: what `renew` checks of each certificate before it signs a batch.
pub(crate) fn check_can_sign_until(
    side: Side,
    ca_not_after: OffsetDateTime,
    now: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<()> {
    if now >= ca_not_after {
        return Err(Error::CaExpired {
            ca: side.name(),
            not_after: ca_not_after,
            now,
        });
    }
    if not_after > ca_not_after {
        return Err(Error::OutlivesCa {
            ca: side.name(),
            not_after,
            ca_not_after,
        });
    }
    Ok(())
}

/// Checks an organisation name for the CA subjects (X.520: at most 64 characters).
pub(crate) fn check_org(org: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidOrg {
            name: org.to_string(),
            reason,
        })
    };
    if org.trim().is_empty() {
        return bad("empty");
    }
    if org.chars().count() > 64 {
        return bad("longer than 64 characters");
    }
    if org.chars().any(char::is_control) {
        return bad("control characters are not allowed");
    }
    Ok(())
}

/// A freshly made CA: key, certificate PEM and serial.
pub(crate) struct NewCa {
    pub(crate) key: PrivateKey,
    pub(crate) cert_pem: String,
    pub(crate) serial: Serial,
}

/// Makes a self-signed CA. Its CN carries a short random id (`pgca server CA 3f9a1c2e`) so that
/// CAs of different directories, or an old and a new CA during a rollover, never share a name.
pub(crate) fn create(
    side: Side,
    org: &str,
    key_type: KeyType,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    path_len: u8,
) -> Result<NewCa> {
    let key = PrivateKey::generate(key_type)?;
    let cn_id = crate::model::hex::random(4);
    let (cert_pem, serial) = create_signed(
        side,
        org,
        key.pair(),
        &cn_id,
        (not_before, not_after),
        path_len,
    )?;
    Ok(NewCa {
        key,
        cert_pem,
        serial,
    })
}

/// The self-signed CA certificate for `key` (a key file's or a token's), with `cn_id` in its
/// CN and `path_len` in its basicConstraints (0, or 1 for the root of a hierarchy): the
/// certificate PEM and its serial.
pub(crate) fn create_signed(
    side: Side,
    org: &str,
    key: &impl SigningKey,
    cn_id: &str,
    span: (OffsetDateTime, OffsetDateTime),
    path_len: u8,
) -> Result<(String, Serial)> {
    let (params, serial) = ca_params(
        org,
        format!("pgca {} CA {cn_id}", side.name()),
        span,
        path_len,
    );
    let cert = params
        .self_signed(key)
        .map_err(Error::rcgen("signing the CA certificate"))?;
    Ok((cert.pem(), serial))
}

/// A CA's parameters: a random serial, the subject `O=org, CN=cn`, the validity, basicConstraints
/// `CA:TRUE, pathlen:path_len` and keyUsage `keyCertSign, cRLSign`.
fn ca_params(
    org: &str,
    cn: String,
    (not_before, not_after): (OffsetDateTime, OffsetDateTime),
    path_len: u8,
) -> (CertificateParams, Serial) {
    let serial = Serial::random();
    let mut params = CertificateParams::default();
    params.serial_number = Some(rcgen::SerialNumber::from_slice(serial.as_bytes()));
    params.not_before = not_before;
    params.not_after = not_after;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, org);
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_len));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    (params, serial)
}

/// An issuing intermediate of `side` signed by `root` (`pathlen:0`, AKI the root's SKI, CN
/// `pgca server issuing CA <id>`), ending no later than the root: its key, PEM and serial.
pub(crate) fn create_intermediate(
    root: &CaSigner,
    org: &str,
    key_type: KeyType,
    (not_before, not_after): (OffsetDateTime, OffsetDateTime),
) -> Result<NewCa> {
    let key = PrivateKey::generate(key_type)?;
    let cn_id = crate::model::hex::random(4);
    let cn = format!("pgca {} issuing CA {cn_id}", root.side.name());
    let not_after = not_after.min(root.info.not_after);
    let (mut params, serial) = ca_params(org, cn, (not_before, not_after), 0);
    params.use_authority_key_identifier_extension = true;
    let issuer = root.issuer()?;
    let cert = params
        .signed_by(key.pair(), &issuer)
        .map_err(|e| root.explain(Error::rcgen("signing the intermediate CA certificate")(e)))?;
    Ok(NewCa {
        key,
        cert_pem: cert.pem(),
        serial,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn ca_certificate_profile() {
        let ca = create(
            Side::Client,
            "Acme",
            KeyType::EcdsaP256,
            datetime!(2026-01-01 0:00 UTC),
            datetime!(2036-01-01 0:00 UTC),
            0,
        )
        .unwrap();
        let info = CertInfo::from_pem(ca.cert_pem.as_bytes()).unwrap();
        assert!(info.is_ca);
        assert_eq!(info.path_len, Some(0));
        assert_eq!(info.key_usage, vec!["keyCertSign", "cRLSign"]);
        assert!(info.subject_key_id.is_some());
        assert!(
            info.subject.starts_with("O=Acme, CN=pgca client CA "),
            "{}",
            info.subject
        );
        assert_eq!(info.subject, info.issuer);
        assert_eq!(info.serial, ca.serial);
        assert_eq!(info.spki_der, ca.key.public_key_der());
    }

    #[test]
    fn an_intermediate_is_signed_by_its_root_and_never_outlives_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        let root = create(
            Side::Server,
            "Acme",
            KeyType::EcdsaP256,
            datetime!(2026-01-01 0:00 UTC),
            datetime!(2030-01-01 0:00 UTC),
            1,
        )
        .unwrap();
        std::fs::write(dir.join("server-ca.crt"), &root.cert_pem).unwrap();
        let key = dir.join("server-ca.key");
        std::fs::write(&key, root.key.to_pem().as_bytes()).unwrap();
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let signer = CaSigner::load(dir, Side::Server, None).unwrap();
        let root_info = CertInfo::from_pem(root.cert_pem.as_bytes()).unwrap();
        assert_eq!(root_info.path_len, Some(1));
        let span = (
            datetime!(2026-01-01 0:00 UTC),
            datetime!(2040-01-01 0:00 UTC),
        );
        let i = create_intermediate(&signer, "Acme", KeyType::EcdsaP256, span).unwrap();
        let info = CertInfo::from_pem(i.cert_pem.as_bytes()).unwrap();
        assert!(info.is_ca);
        assert_eq!(info.path_len, Some(0));
        assert_eq!(info.key_usage, vec!["keyCertSign", "cRLSign"]);
        assert_eq!(info.issuer, root_info.subject);
        assert_eq!(info.authority_key_id, root_info.subject_key_id);
        assert!(
            info.subject
                .starts_with("O=Acme, CN=pgca server issuing CA ")
        );
        assert_eq!(
            info.not_after, root_info.not_after,
            "clamped to the root's end"
        );
        assert_eq!(info.serial, i.serial);
        assert_eq!(CaSlot::Issuing.files(Side::Server)[0], "server-issuing.crt");
        assert!(CaSlot::NextIssuing.is_issuing() && !CaSlot::Next.is_issuing());
    }

    #[test]
    fn org_rules() {
        assert!(check_org("Acme Corp").is_ok());
        assert!(check_org("").is_err());
        assert!(check_org("a\nb").is_err());
        assert!(check_org(&"x".repeat(65)).is_err());
    }
}
