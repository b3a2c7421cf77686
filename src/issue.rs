//! Leaf certificate profiles and signing.
//!
//! Every leaf is X.509 v3 with: a random 126-bit serial, basicConstraints `CA:FALSE`, keyUsage
//! `digitalSignature` (plus `keyEncipherment` for RSA keys), exactly one extendedKeyUsage
//! (`serverAuth` for servers, `clientAuth` for clients), subjectKeyIdentifier and
//! authorityKeyIdentifier, signed with SHA-256 (ECDSA P-384: SHA-384; Ed25519: itself).
//!
//! - Server: CN = the first host name; every host name is a SAN (dNSName or iPAddress), so
//!   `sslmode=verify-full` works whichever name or address the client connects with.
//! - Client: CN = the PostgreSQL role, which `pg_hba.conf`'s `cert` method compares with the
//!   role asked for. No SAN.

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::inventory::CertKind;
use crate::keys::PrivateKey;
use crate::names::HostName;
use crate::serial::Serial;

/// What to put in one leaf certificate.
#[derive(Clone, Debug)]
pub(crate) struct LeafProfile {
    pub(crate) kind: CertKind,
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

    pub(crate) fn server(names: &[HostName]) -> LeafProfile {
        LeafProfile {
            kind: CertKind::Server,
            common_name: names[0].to_string(),
            sans: names.to_vec(),
        }
    }
}

/// Signs a leaf certificate for `key` and returns its PEM.
pub(crate) fn sign_leaf(
    profile: &LeafProfile,
    key: &PrivateKey,
    issuer: &Issuer<'_, &KeyPair>,
    serial: &Serial,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<String> {
    let mut params = CertificateParams::default();
    params.serial_number = Some(SerialNumber::from_slice(serial.as_bytes()));
    params.not_before = not_before;
    params.not_after = not_after;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, profile.common_name.as_str());
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = if key.key_type().is_rsa() {
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
        params.subject_alt_names.push(match name {
            HostName::Ip(ip) => SanType::IpAddress(*ip),
            HostName::Dns(d) => {
                SanType::DnsName(d.clone().try_into().map_err(|_| Error::InvalidHost {
                    name: d.clone(),
                    reason: "not an IA5 string",
                })?)
            }
        });
    }
    let cert = params
        .signed_by(key.pair(), issuer)
        .map_err(Error::rcgen("signing the certificate"))?;
    Ok(cert.pem())
}
