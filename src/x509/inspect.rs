//! Reading certificates: what `pgca inspect` shows and what the rest of pgca checks.

use std::borrow::Cow;
use std::path::Path;

use serde::Serialize;
use time::OffsetDateTime;
use x509_parser::certificate::{X509Certificate, X509CertificateParser};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::nom::Parser;
use x509_parser::prelude::FromDer;

use crate::error::{Error, Malformed, Result};
use crate::model::serial::Serial;
use crate::x509::keys::KeyType;
use crate::x509::pem::first_cert_der;

/// The facts of one certificate.
///
/// # Examples
///
/// ```no_run
/// let info = pgca::CertInfo::from_file(std::path::Path::new("clients/alice.crt"))?;
/// println!("{} expires {}", info.subject, info.not_after);
/// # Ok::<(), pgca::Error>(())
/// ```
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct CertInfo {
    /// Subject DN in RFC 2253 order (`CN=alice`), as PostgreSQL's `clientname=DN` sees it.
    pub subject: String,
    /// The subject's common name, if any.
    pub common_name: Option<String>,
    /// Issuer DN.
    pub issuer: String,
    /// Subject alternative names: DNS names and IP addresses.
    pub sans: Vec<String>,
    /// Serial number.
    pub serial: Serial,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Key type, if one pgca knows (`ecdsa-p256`, …); otherwise a description.
    pub key_type: String,
    /// Signature algorithm (`ecdsa-with-SHA256`, …).
    pub signature_algorithm: String,
    /// basicConstraints CA flag.
    pub is_ca: bool,
    /// basicConstraints pathLenConstraint.
    pub path_len: Option<u32>,
    /// keyUsage bits by name.
    pub key_usage: Vec<String>,
    /// extendedKeyUsage purposes by name (`serverAuth`, `clientAuth`, …).
    pub extended_key_usage: Vec<String>,
    /// subjectKeyIdentifier, hex.
    pub subject_key_id: Option<String>,
    /// authorityKeyIdentifier key id, hex.
    pub authority_key_id: Option<String>,
    /// SHA-256 of the DER, `AB:CD:…` as `openssl x509 -fingerprint -sha256` prints it.
    pub sha256_fingerprint: String,
    /// The DER SubjectPublicKeyInfo (not serialised).
    #[serde(skip)]
    pub spki_der: Vec<u8>,
}

impl CertInfo {
    /// Parses the first certificate of a PEM file.
    pub fn from_file(path: &Path) -> Result<CertInfo> {
        let bytes = crate::storage::read(path, "read certificate")?;
        CertInfo::from_pem(&bytes).map_err(|reason| Error::BadCert {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parses the first `CERTIFICATE` block of PEM text.
    pub fn from_pem(pem_bytes: &[u8]) -> std::result::Result<CertInfo, Malformed> {
        let der = first_cert_der(pem_bytes)?;
        CertInfo::from_der(&der)
    }

    /// Parses a DER certificate.
    pub fn from_der(der: &[u8]) -> std::result::Result<CertInfo, Malformed> {
        let (rest, cert) =
            X509Certificate::from_der(der).map_err(|e| Malformed::NotCertificate(e.to_string()))?;
        if !rest.is_empty() {
            return Err(Malformed::TrailingBytes);
        }
        Ok(info_of(&cert, der))
    }

    /// Whole days from `now` until the certificate expires (negative once expired), rounded down.
    pub fn days_left(&self, now: OffsetDateTime) -> i64 {
        days_between(now, self.not_after)
    }
}

/// What `pgca check` needs of a certificate, read without building any text: serial, validity
/// and public key. [`CertInfo`] reads everything (names, extensions, fingerprint), and costs
/// several times as much.
#[derive(Clone, Debug)]
pub(crate) struct CertFacts {
    pub(crate) serial: Serial,
    pub(crate) not_before: OffsetDateTime,
    pub(crate) not_after: OffsetDateTime,
    pub(crate) spki_der: Vec<u8>,
    /// SHA-256 of the DER, hex (see [`crate::model::hex::sha256`]).
    pub(crate) sha256: String,
}

impl CertFacts {
    /// Reads the first certificate of a PEM file; errors as [`CertInfo::from_file`].
    pub(crate) fn from_file(path: &Path) -> Result<CertFacts> {
        CertFacts::from_pem(&crate::storage::read(path, "read certificate")?, path)
    }

    /// Reads the first certificate of PEM text read from `path`.
    pub(crate) fn from_pem(bytes: &[u8], path: &Path) -> Result<CertFacts> {
        let bad = |reason: Malformed| Error::BadCert {
            path: path.to_path_buf(),
            reason,
        };
        let der = first_cert_der(bytes).map_err(bad)?;
        // The extensions are split but not parsed: check needs none of them.
        let (rest, cert) = X509CertificateParser::new()
            .with_deep_parse_extensions(false)
            .parse(&der)
            .map_err(|e| bad(Malformed::NotCertificate(e.to_string())))?;
        if !rest.is_empty() {
            return Err(bad(Malformed::TrailingBytes));
        }
        let validity = cert.validity();
        Ok(CertFacts {
            serial: Serial::from_bytes(cert.raw_serial()),
            not_before: validity.not_before.to_datetime(),
            not_after: validity.not_after.to_datetime(),
            spki_der: cert.public_key().raw.to_vec(),
            sha256: crate::model::hex::sha256(&der),
        })
    }
}

/// The facts of a CRL.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct CrlInfo {
    /// Issuer DN.
    pub issuer: String,
    /// thisUpdate.
    #[serde(with = "time::serde::rfc3339")]
    pub this_update: OffsetDateTime,
    /// nextUpdate (RFC 5280 requires it; pgca always writes it).
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_update: Option<OffsetDateTime>,
    /// The CRL number.
    pub number: Option<u64>,
    /// authorityKeyIdentifier key id, hex.
    pub authority_key_id: Option<String>,
    /// Revoked serials with the revocation time and reason.
    pub revoked: Vec<RevokedEntry>,
}

/// One entry of a CRL.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct RevokedEntry {
    /// The serial.
    pub serial: Serial,
    /// When it was revoked.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The reason, by its RFC 5280 name; `None` when absent (unspecified).
    pub reason: Option<String>,
}

impl CrlInfo {
    /// Parses a CRL file (PEM `X509 CRL`).
    pub fn from_file(path: &Path) -> Result<CrlInfo> {
        let bytes = crate::storage::read(path, "read CRL")?;
        CrlInfo::from_pem(&bytes).map_err(|reason| Error::BadCert {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parses the first `X509 CRL` block of PEM text.
    pub fn from_pem(pem_bytes: &[u8]) -> std::result::Result<CrlInfo, Malformed> {
        let der = crate::x509::pem::first_block_lenient(pem_bytes, "X509 CRL")?;
        let (_, crl) =
            x509_parser::parse_x509_crl(&der).map_err(|e| Malformed::NotCrl(e.to_string()))?;
        let reasons = [
            "unspecified",
            "keyCompromise",
            "cACompromise",
            "affiliationChanged",
            "superseded",
            "cessationOfOperation",
            "certificateHold",
            "unused",
            "removeFromCRL",
            "privilegeWithdrawn",
            "aACompromise",
        ];
        let mut aki = None;
        for ext in crl.extensions() {
            if let ParsedExtension::AuthorityKeyIdentifier(a) = ext.parsed_extension() {
                aki = a
                    .key_identifier
                    .as_ref()
                    .map(|k| crate::model::hex::colons(k.0, false));
            }
        }
        Ok(CrlInfo {
            issuer: crl.issuer().to_string(),
            this_update: crl.last_update().to_datetime(),
            next_update: crl.next_update().map(|t| t.to_datetime()),
            number: crl.crl_number().and_then(|n| n.to_string().parse().ok()),
            authority_key_id: aki,
            revoked: crl
                .iter_revoked_certificates()
                .map(|r| RevokedEntry {
                    serial: Serial::from_bytes(r.raw_serial()),
                    at: r.revocation_date.to_datetime(),
                    reason: r.reason_code().map(|(_, c)| {
                        reasons
                            .get(c.0 as usize)
                            .copied()
                            .unwrap_or("unknown")
                            .to_string()
                    }),
                })
                .collect(),
        })
    }
}

/// `s` as text output shows it: [`crate::model::text::escape`], the one escaping of every
/// line of output (control characters as `\n`, `\x1b`, `\u{9b}`; invisible and bidirectional
/// format characters as `\u{200b}`). For text a certificate holds: a foreign certificate's
/// subject, issuer or SAN may carry terminal escape sequences or line breaks that would otherwise
/// drive the terminal or forge lines of output. [`CertInfo`] and [`CrlInfo`] keep the values as
/// they are; JSON escapes them by itself.
///
/// # Examples
///
/// ```
/// use pgca::x509::inspect::escape_controls;
/// assert_eq!(escape_controls("CN=a\u{1b}[2Jb\nc"), "CN=a\\x1b[2Jb\\nc");
/// assert_eq!(escape_controls("CN=Zoë"), "CN=Zoë");
/// ```
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    crate::model::text::escape(s)
}

/// A file as `pgca inspect` reads it: a certificate, or a CRL (told apart by its PEM label).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Inspected {
    /// The first certificate of the file.
    Certificate(Box<CertInfo>),
    /// The file holds an `X509 CRL` block.
    Crl(CrlInfo),
}

impl Inspected {
    /// Reads a certificate or CRL file.
    pub fn from_file(path: &Path) -> Result<Inspected> {
        let bytes = crate::storage::read(path, "read certificate")?;
        let bad = |reason: Malformed| Error::BadCert {
            path: path.to_path_buf(),
            reason,
        };
        if crate::x509::pem::has_block(&bytes, "X509 CRL") {
            return CrlInfo::from_pem(&bytes).map(Inspected::Crl).map_err(bad);
        }
        CertInfo::from_pem(&bytes)
            .map(|info| Inspected::Certificate(Box::new(info)))
            .map_err(bad)
    }
}

/// Whole days from `from` to `to`, rounded towards minus infinity.
pub fn days_between(from: OffsetDateTime, to: OffsetDateTime) -> i64 {
    (to.unix_timestamp() - from.unix_timestamp()).div_euclid(86_400)
}

fn info_of(cert: &X509Certificate<'_>, der: &[u8]) -> CertInfo {
    let validity = cert.validity();
    let mut info = CertInfo {
        subject: cert.subject().to_string(),
        common_name: cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_string),
        issuer: cert.issuer().to_string(),
        sans: Vec::new(),
        serial: Serial::from_bytes(cert.raw_serial()),
        not_before: validity.not_before.to_datetime(),
        not_after: validity.not_after.to_datetime(),
        key_type: key_type_name(cert),
        signature_algorithm: signature_name(&cert.signature_algorithm.algorithm.to_id_string()),
        is_ca: false,
        path_len: None,
        key_usage: Vec::new(),
        extended_key_usage: Vec::new(),
        subject_key_id: None,
        authority_key_id: None,
        sha256_fingerprint: crate::model::hex::colons(
            ring::digest::digest(&ring::digest::SHA256, der).as_ref(),
            true,
        ),
        spki_der: cert.public_key().raw.to_vec(),
    };
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    match name {
                        GeneralName::DNSName(d) => info.sans.push(d.to_string()),
                        GeneralName::IPAddress(ip) => info.sans.push(ip_string(ip)),
                        other => info.sans.push(format!("{other}")),
                    }
                }
            }
            ParsedExtension::BasicConstraints(bc) => {
                info.is_ca = bc.ca;
                info.path_len = bc.path_len_constraint;
            }
            ParsedExtension::KeyUsage(ku) => {
                info.key_usage = [
                    (ku.digital_signature(), "digitalSignature"),
                    (ku.non_repudiation(), "nonRepudiation"),
                    (ku.key_encipherment(), "keyEncipherment"),
                    (ku.data_encipherment(), "dataEncipherment"),
                    (ku.key_agreement(), "keyAgreement"),
                    (ku.key_cert_sign(), "keyCertSign"),
                    (ku.crl_sign(), "cRLSign"),
                    (ku.encipher_only(), "encipherOnly"),
                    (ku.decipher_only(), "decipherOnly"),
                ]
                .into_iter()
                .filter(|(on, _)| *on)
                .map(|(_, name)| name.to_string())
                .collect();
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                let mut v = Vec::new();
                for (on, name) in [
                    (eku.any, "anyExtendedKeyUsage"),
                    (eku.server_auth, "serverAuth"),
                    (eku.client_auth, "clientAuth"),
                    (eku.code_signing, "codeSigning"),
                    (eku.email_protection, "emailProtection"),
                    (eku.time_stamping, "timeStamping"),
                    (eku.ocsp_signing, "OCSPSigning"),
                ] {
                    if on {
                        v.push(name.to_string());
                    }
                }
                v.extend(eku.other.iter().map(|o| o.to_id_string()));
                info.extended_key_usage = v;
            }
            ParsedExtension::SubjectKeyIdentifier(id) => {
                info.subject_key_id = Some(crate::model::hex::colons(id.0, false))
            }
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                info.authority_key_id = aki
                    .key_identifier
                    .as_ref()
                    .map(|k| crate::model::hex::colons(k.0, false));
            }
            _ => {}
        }
    }
    info
}

fn ip_string(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).expect("4 bytes")).to_string(),
        16 => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).expect("16 bytes")).to_string(),
        _ => format!("IP:{}", crate::model::hex::colons(bytes, false)),
    }
}

fn key_type_name(cert: &X509Certificate<'_>) -> String {
    match KeyType::of_spki(cert.public_key().raw) {
        Some(k) => k.name().to_string(),
        None => {
            let bits = cert
                .public_key()
                .parsed()
                .map(|k| k.key_size())
                .unwrap_or(0);
            format!(
                "{} ({bits} bits)",
                cert.public_key().algorithm.algorithm.to_id_string()
            )
        }
    }
}

fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "ED25519",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        other => return other.to_string(),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_certificate() {
        assert_eq!(CertInfo::from_pem(b"hello").unwrap_err(), Malformed::NotPem);
        assert_eq!(Malformed::NotPem.to_string(), "not a PEM file");
        let key = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let e = CertInfo::from_pem(key).unwrap_err();
        assert_eq!(e, Malformed::NoBlock("CERTIFICATE"));
        assert_eq!(e.to_string(), "no CERTIFICATE block in the PEM file");
        let junk = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(
            CertInfo::from_pem(junk)
                .unwrap_err()
                .to_string()
                .starts_with("not an X.509 certificate")
        );
    }

    #[test]
    fn control_characters_are_escaped_and_nothing_else() {
        assert!(matches!(
            escape_controls("CN=db.example.com, O=Zoë \\ Co"),
            Cow::Borrowed("CN=db.example.com, O=Zoë \\ Co")
        ));
        assert_eq!(
            escape_controls("a\u{1b}[31mred\u{7}\r\n\t\u{0}\u{7f}\u{9b}2J\u{85}z"),
            "a\\x1b[31mred\\x07\\r\\n\\t\\x00\\x7f\\u{9b}2J\\u{85}z"
        );
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let escaped = escape_controls(c.encode_utf8(&mut [0; 4])).into_owned();
            assert!(!escaped.chars().any(char::is_control), "{c:?}: {escaped:?}");
        }
    }

    #[test]
    fn days_round_down() {
        use time::macros::datetime;
        let now = datetime!(2026-01-01 12:00 UTC);
        assert_eq!(days_between(now, datetime!(2026-01-02 11:59 UTC)), 0);
        assert_eq!(days_between(now, datetime!(2026-01-02 12:00 UTC)), 1);
        assert_eq!(days_between(now, datetime!(2026-01-01 11:59 UTC)), -1);
    }
}
