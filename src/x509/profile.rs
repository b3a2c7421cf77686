//! Leaf certificate profiles and signing.
//!
//! Every leaf is X.509 v3 with: a random 126-bit serial, basicConstraints `CA:FALSE`, keyUsage
//! `digitalSignature` (plus `keyEncipherment` for RSA keys), exactly one extendedKeyUsage
//! (`serverAuth` for servers, `clientAuth` for clients), subjectKeyIdentifier and
//! authorityKeyIdentifier, signed with SHA-256 (ECDSA P-384: SHA-384; Ed25519: itself).
//!
//! - Server: every host name is a SAN (dNSName or iPAddress), so `sslmode=verify-full` works
//!   whichever name or address the client connects with. CN = the first host name of at most 64
//!   characters (RFC 5280's ub-common-name); when every name is longer, the subject is empty and
//!   the SAN extension critical, as RFC 5280 §4.2.1.6 requires. libpq reads the CN only when
//!   there is no dNSName SAN, so where the long names go changes nothing for it.
//! - Client: CN = the PostgreSQL role, which `pg_hba.conf`'s `cert` method compares with the
//!   role asked for. No SAN.

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyUsagePurpose, SanType, SerialNumber,
};
use time::OffsetDateTime;

use crate::error::{Error, KeyOrigin, Result};
use crate::model::kind::CertKind;
use crate::model::names::HostName;
use crate::model::serial::Serial;
use crate::x509::keys::{KeyType, PrivateKey};

/// RFC 5280's ub-common-name: a CN holds at most 64 characters.
pub(crate) const MAX_COMMON_NAME_CHARS: usize = 64;

/// What to put in one leaf certificate.
#[derive(Clone, Debug)]
pub(crate) struct LeafProfile {
    pub(crate) kind: CertKind,
    /// The subject's CN; empty for none (a server whose every name is longer than 64
    /// characters).
    pub(crate) common_name: String,
    pub(crate) sans: Vec<HostName>,
}

impl LeafProfile {
    pub(crate) fn client(role: &str) -> LeafProfile {
        LeafProfile {
            kind: CertKind::Client,
            common_name: role.to_string(),
            sans: Vec::new(),
        }
    }

    /// Every name a SAN; the CN the first name that fits in one (none when no name does).
    pub(crate) fn server(names: &[HostName]) -> LeafProfile {
        let common_name = names
            .iter()
            .map(ToString::to_string)
            .find(|n| fits_common_name(n))
            .unwrap_or_default();
        LeafProfile {
            kind: CertKind::Server,
            common_name,
            sans: names.to_vec(),
        }
    }
}

/// A host name as a subjectAltName: an iPAddress or a dNSName.
pub(crate) fn san_of(host: &HostName) -> Result<SanType> {
    Ok(match host {
        HostName::Ip(ip) => SanType::IpAddress(*ip),
        HostName::Dns(d) => {
            SanType::DnsName(d.clone().try_into().map_err(|_| Error::InvalidHost {
                name: d.clone(),
                reason: "not an IA5 string",
            })?)
        }
    })
}

/// Whether `s` is short enough for a CN.
fn fits_common_name(s: &str) -> bool {
    s.chars().count() <= MAX_COMMON_NAME_CHARS
}

/// Signs a leaf certificate for `key` and returns its PEM.
pub(crate) fn sign_leaf(
    profile: &LeafProfile,
    key: &PrivateKey,
    issuer: &Issuer<'_, impl rcgen::SigningKey>,
    serial: &Serial,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<String> {
    sign_for(
        profile,
        key.pair(),
        key.key_type(),
        issuer,
        serial,
        (not_before, not_after),
    )
}

/// Signs a leaf certificate for a public key held elsewhere (DER SubjectPublicKeyInfo, from a
/// certificate signing request) and returns its PEM. The key is checked first, and its type
/// taken from that check ([`crate::x509::pubkey_check`]), whichever path brought it (`sign`,
/// `renew` of an external key): a degenerate or weak key is refused as `name`'s.
pub(crate) fn sign_leaf_for_public_key(
    profile: &LeafProfile,
    name: &str,
    spki_der: &[u8],
    issuer: &Issuer<'_, impl rcgen::SigningKey>,
    serial: &Serial,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<String> {
    let key_type = crate::x509::pubkey_check::check_public_key(spki_der).map_err(|reason| {
        Error::RefusedKey {
            origin: KeyOrigin::Certified {
                kind: profile.kind,
                name: name.to_string(),
            },
            reason,
        }
    })?;
    let public = rcgen::SubjectPublicKeyInfo::from_der(spki_der)
        .map_err(Error::rcgen("reading the public key"))?;
    sign_for(
        profile,
        &public,
        key_type,
        issuer,
        serial,
        (not_before, not_after),
    )
}

fn sign_for(
    profile: &LeafProfile,
    public: &impl rcgen::PublicKeyData,
    key_type: KeyType,
    issuer: &Issuer<'_, impl rcgen::SigningKey>,
    serial: &Serial,
    (not_before, not_after): (OffsetDateTime, OffsetDateTime),
) -> Result<String> {
    let mut params = CertificateParams::default();
    params.serial_number = Some(SerialNumber::from_slice(serial.as_bytes()));
    params.not_before = not_before;
    params.not_after = not_after;
    let mut dn = DistinguishedName::new();
    let cn = profile.common_name.as_str();
    if !fits_common_name(cn) {
        // A server's names are all SANs: a CN too long for RFC 5280 (carried over by a renewal
        // of a certificate made before the rule) is left out. A client's CN is its role.
        if profile.kind != CertKind::Server {
            return Err(Error::InvalidRole {
                name: cn.to_string(),
                reason: "longer than 64 characters, RFC 5280's limit for a common name",
            });
        }
    } else if !cn.is_empty() {
        dn.push(DnType::CommonName, cn);
    }
    // An empty subject makes rcgen mark the SAN extension critical (RFC 5280 §4.2.1.6).
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = if key_type.is_rsa() {
        vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ]
    } else {
        vec![KeyUsagePurpose::DigitalSignature]
    };
    params.extended_key_usages = vec![match profile.kind {
        CertKind::Server => ExtendedKeyUsagePurpose::ServerAuth,
        _ => ExtendedKeyUsagePurpose::ClientAuth,
    }];
    params.use_authority_key_identifier_extension = true;
    for name in &profile.sans {
        params.subject_alt_names.push(san_of(name)?);
    }
    let cert = params
        .signed_by(public, issuer)
        .map_err(Error::rcgen("signing the certificate"))?;
    Ok(cert.pem())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kind::Side;
    use crate::x509::ca;
    use crate::x509::inspect::CertInfo;
    use crate::x509::keys::KeyType;
    use time::macros::datetime;
    use x509_parser::prelude::{FromDer, X509Certificate};

    fn host(s: &str) -> HostName {
        s.parse().unwrap()
    }

    /// A name of `n` characters: `aaa….example.com`.
    fn long_name(n: usize) -> String {
        format!("{}.example.com", "a".repeat(n - ".example.com".len()))
    }

    /// Signs `profile` with a fresh CA; returns the certificate's DER.
    fn try_sign(profile: &LeafProfile) -> Result<Vec<u8>> {
        let (from, to) = (
            datetime!(2026-01-01 0:00 UTC),
            datetime!(2027-01-01 0:00 UTC),
        );
        let ca = ca::create(Side::Server, "Acme", KeyType::EcdsaP256, from, to, 0)?;
        let issuer = Issuer::from_ca_cert_pem(&ca.cert_pem, ca.key.pair()).unwrap();
        let key = PrivateKey::generate(KeyType::EcdsaP256)?;
        let pem = sign_leaf(profile, &key, &issuer, &Serial::random(), from, to)?;
        Ok(crate::x509::pem::first_cert_der(pem.as_bytes()).unwrap())
    }

    fn sign(profile: &LeafProfile) -> Vec<u8> {
        try_sign(profile).unwrap()
    }

    /// Whether the certificate's subjectAltName extension is marked critical.
    fn san_critical(der: &[u8]) -> bool {
        let (_, cert) = X509Certificate::from_der(der).unwrap();
        cert.subject_alternative_name().unwrap().unwrap().critical
    }

    #[test]
    fn the_server_cn_is_the_first_name_that_fits_in_64_characters() {
        let (n64, n65) = (long_name(64), long_name(65));
        assert_eq!(n64.len(), 64);
        let names = [host(&n65), host(&n64), host("db.example.com")];
        let profile = LeafProfile::server(&names);
        assert_eq!(profile.common_name, n64);
        assert_eq!(profile.sans, names);
        let der = sign(&profile);
        let info = CertInfo::from_der(&der).unwrap();
        assert_eq!(info.subject, format!("CN={n64}"));
        assert_eq!(info.sans, [n65.as_str(), n64.as_str(), "db.example.com"]);
        assert!(!san_critical(&der), "a subject with a CN: SAN not critical");

        // An IP address fits as it always did.
        let profile = LeafProfile::server(&[host(&n65), host("10.0.0.5")]);
        assert_eq!(profile.common_name, "10.0.0.5");
    }

    #[test]
    fn a_server_whose_every_name_is_too_long_has_no_cn_and_a_critical_san() {
        let names = [host(&long_name(70)), host(&long_name(65))];
        let profile = LeafProfile::server(&names);
        assert_eq!(profile.common_name, "");
        let der = sign(&profile);
        let info = CertInfo::from_der(&der).unwrap();
        assert_eq!(info.subject, "");
        assert_eq!(info.common_name, None);
        assert_eq!(info.sans, [long_name(70), long_name(65)]);
        assert!(
            san_critical(&der),
            "RFC 5280: an empty subject needs a critical SAN"
        );
    }

    #[test]
    fn a_long_cn_carried_over_is_dropped_for_a_server_and_refused_for_a_client() {
        // What a renewal of a certificate made before the 64-character rule asks for.
        let long = long_name(70);
        let mut profile = LeafProfile::server(&[host(&long)]);
        profile.common_name = long.clone();
        let info = CertInfo::from_der(&sign(&profile)).unwrap();
        assert_eq!(info.common_name, None);
        assert_eq!(info.sans, [long.as_str()]);

        let e = try_sign(&LeafProfile::client(&"r".repeat(65))).unwrap_err();
        assert!(e.to_string().contains("longer than 64 characters"), "{e}");
    }

    #[test]
    fn a_degenerate_public_key_held_elsewhere_is_never_signed() {
        // What `renew` of an external key re-signs: the recorded SPKI, never verified again.
        let (from, to) = (
            datetime!(2026-01-01 0:00 UTC),
            datetime!(2027-01-01 0:00 UTC),
        );
        let ca = ca::create(Side::Client, "Acme", KeyType::EcdsaP256, from, to, 0).unwrap();
        let issuer = Issuer::from_ca_cert_pem(&ca.cert_pem, ca.key.pair()).unwrap();
        let mut identity = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00, 0x01,
        ];
        identity.resize(44, 0);
        let profile = LeafProfile::client("alice");
        let e = sign_leaf_for_public_key(
            &profile,
            "alice",
            &identity,
            &issuer,
            &Serial::random(),
            from,
            to,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "refused the public key of client alice: the Ed25519 public key is a small-order point (anyone can forge signatures for it)"
        );
        // A real key held elsewhere is signed.
        let key = PrivateKey::generate(KeyType::Ed25519).unwrap();
        sign_leaf_for_public_key(
            &profile,
            "alice",
            &key.public_key_der(),
            &issuer,
            &Serial::random(),
            from,
            to,
        )
        .unwrap();
    }
}
