//! Certificate signing requests (PKCS#10): made by `pgca request` on the host that keeps the
//! key, read back and checked by `pgca sign` on the CA host.
//!
//! Only two things are ever taken from a request: its **public key** (after its self-signature
//! verifies) and the **names** it asks for: the subject's CN and the dNSName and iPAddress
//! entries of a subjectAltName extension it requests. Everything else it requests (basic
//! constraints `CA:TRUE`, key usages, e-mail or URI names, other extensions, other subject
//! attributes) is ignored: the certificate gets pgca's leaf profile. The names are validated by
//! the caller exactly as `issue-server` and `issue-client` validate theirs.
//!
//! A request comes from another host, so it is read as hostile input: the file like the `--cert`
//! inputs of `deploy-server` (no link another user owns, no FIFO or device, at most 1 MiB), at
//! most [`MAX_NAMES`] names, and its public key checked before its signature
//! ([`crate::x509::pubkey_check`]): a degenerate key's signature proves nothing.

use std::net::IpAddr;
use std::path::Path;

use rcgen::{CertificateParams, DistinguishedName, DnType};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

use crate::error::{Error, KeyOrigin, Result};
use crate::model::kind::CertKind;
use crate::model::names::HostName;
use crate::x509::keys::{KeyType, PrivateKey};

/// The most subjectAltName entries (of every type) a request may ask for.
pub const MAX_NAMES: usize = 100;

/// What a verified certificate signing request asks for: the parts pgca uses, nothing else.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CsrRequest {
    /// The subject's common name, if it has one.
    pub common_name: Option<String>,
    /// The dNSName and iPAddress entries of its requested subjectAltName, in order, as text.
    pub alt_names: Vec<String>,
    /// The public key (DER SubjectPublicKeyInfo), as the request holds it.
    pub spki_der: Vec<u8>,
    /// The public key's type.
    pub key_type: KeyType,
    /// How many requested names of other types (e-mail, URI, …) were ignored.
    pub ignored_names: usize,
    /// Whether the request asked to be a CA (ignored: the certificate is a leaf).
    pub asked_ca: bool,
}

impl CsrRequest {
    /// Reads a request file (PEM or DER) and verifies it: see [`CsrRequest::parse`]. The file
    /// is read as `deploy-server` reads `--cert`: a link only when root or the user pgca runs as
    /// owns it, a regular file only (a FIFO would block, a device never ends), at most 1 MiB.
    pub fn from_file(path: &Path) -> Result<CsrRequest> {
        let bytes = crate::storage::read_input(
            path,
            "read certificate request",
            crate::storage::Input::Public,
        )?;
        CsrRequest::parse(&bytes, path)
    }

    /// Reads a request from PEM (`CERTIFICATE REQUEST` or `NEW CERTIFICATE REQUEST`) or DER,
    /// and verifies its self-signature; `path` names the file in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<CsrRequest> {
        let bad = |reason: &str| Error::BadCsr {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let der = if bytes.first() == Some(&0x30) {
            bytes.to_vec()
        } else if crate::x509::pem::has_block(bytes, "CERTIFICATE REQUEST") {
            crate::x509::pem::first_block_lenient(bytes, "CERTIFICATE REQUEST")
                .map_err(|e| bad(&e.to_string()))?
        } else if crate::x509::pem::has_block(bytes, "NEW CERTIFICATE REQUEST") {
            crate::x509::pem::first_block_lenient(bytes, "NEW CERTIFICATE REQUEST")
                .map_err(|e| bad(&e.to_string()))?
        } else {
            return Err(bad(
                "neither PEM (a CERTIFICATE REQUEST block) nor DER (PKCS#10)",
            ));
        };
        let (rest, csr) = X509CertificationRequest::from_der(&der)
            .map_err(|e| bad(&format!("not a PKCS#10 certificate request ({e})")))?;
        if !rest.is_empty() {
            return Err(bad("trailing bytes after the request"));
        }
        // The key type first: a key pgca does not certify (P-521, RSA-1024) may be one whose
        // signature cannot be checked either, and this is the clearer reason.
        let info = &csr.certification_request_info;
        let spki_der = info.subject_pki.raw.to_vec();
        let key_type = KeyType::of_spki(&spki_der).ok_or_else(|| {
            bad("its key is not of a type pgca certifies (ecdsa-p256, ecdsa-p384, ed25519, rsa2048, rsa3072, rsa4096)")
        })?;
        crate::x509::pubkey_check::check_public_key(&spki_der).map_err(|reason| {
            Error::RefusedKey {
                origin: KeyOrigin::Request(path.to_path_buf()),
                reason,
            }
        })?;
        csr.verify_signature().map_err(|e| match e {
            x509_parser::error::X509Error::SignatureUnsupportedAlgorithm => bad(&format!(
                "its signature algorithm {} is not supported",
                algorithm_name(&csr.signature_algorithm.algorithm)
            )),
            _ => bad("its signature does not verify"),
        })?;
        let mut cns = info.subject.iter_common_name();
        let common_name = match cns.next() {
            None => None,
            Some(cn) => Some(
                cn.as_str()
                    .map_err(|_| bad("its common name is not a text string"))?
                    .to_string(),
            ),
        };
        if cns.next().is_some() {
            return Err(bad("its subject has more than one common name"));
        }
        let mut alt_names = Vec::new();
        let mut ignored_names = 0;
        let mut asked_ca = false;
        for ext in csr.requested_extensions().into_iter().flatten() {
            match ext {
                ParsedExtension::SubjectAlternativeName(san) => {
                    let asked = alt_names.len() + ignored_names + san.general_names.len();
                    if asked > MAX_NAMES {
                        return Err(bad(&format!(
                            "it asks for {asked} names, more than the {MAX_NAMES} pgca signs"
                        )));
                    }
                    for name in &san.general_names {
                        match name {
                            GeneralName::DNSName(d) => alt_names.push(d.to_string()),
                            GeneralName::IPAddress(ip) => match ip_of(ip) {
                                Some(ip) => alt_names.push(ip.to_string()),
                                None => return Err(bad("it asks for a malformed IP address")),
                            },
                            _ => ignored_names += 1,
                        }
                    }
                }
                ParsedExtension::BasicConstraints(bc) => asked_ca |= bc.ca,
                _ => {}
            }
        }
        Ok(CsrRequest {
            common_name,
            alt_names,
            spki_der,
            key_type,
            ignored_names,
            asked_ca,
        })
    }
}

/// A signature algorithm's name (`ecdsa-with-SHA512`), or its OID in dotted form.
fn algorithm_name(oid: &x509_parser::oid_registry::Oid<'_>) -> String {
    x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry())
        .map(str::to_string)
        .unwrap_or_else(|_| oid.to_id_string())
}

/// An iPAddress entry: 4 or 16 bytes.
fn ip_of(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => None,
    }
}

/// A PEM certificate signing request for `key`: a client's (CN = the role, no SAN) or a
/// server's (CN = the first name that fits in a CN, every name a subjectAltName). It asks for no
/// other extension: the CA decides the profile.
pub fn make_request(kind: CertKind, names: &[String], key: &PrivateKey) -> Result<String> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    if kind == CertKind::Server {
        let hosts = names
            .iter()
            .map(|n| n.parse::<HostName>())
            .collect::<Result<Vec<_>>>()?;
        let profile = crate::x509::profile::LeafProfile::server(&hosts);
        if !profile.common_name.is_empty() {
            dn.push(DnType::CommonName, profile.common_name.as_str());
        }
        for host in &hosts {
            params
                .subject_alt_names
                .push(crate::x509::profile::san_of(host)?);
        }
    } else {
        let role = names.first().map(String::as_str).unwrap_or_default();
        dn.push(DnType::CommonName, role);
    }
    params.distinguished_name = dn;
    let csr = params
        .serialize_request(key.pair())
        .map_err(Error::rcgen("making the certificate request"))?;
    csr.pem()
        .map_err(Error::rcgen("encoding the certificate request"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_made_is_read_back_with_its_names_and_key() {
        let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let names = vec!["db.example.com".to_string(), "10.0.0.5".to_string()];
        let pem = make_request(CertKind::Server, &names, &key).unwrap();
        let csr = CsrRequest::parse(pem.as_bytes(), Path::new("x.csr")).unwrap();
        assert_eq!(csr.common_name.as_deref(), Some("db.example.com"));
        assert_eq!(csr.alt_names, names);
        assert_eq!(csr.spki_der, key.public_key_der());
        assert_eq!(csr.key_type, KeyType::EcdsaP256);
        assert!(!csr.asked_ca);
        // DER works too.
        let der =
            crate::x509::pem::first_block_lenient(pem.as_bytes(), "CERTIFICATE REQUEST").unwrap();
        assert_eq!(CsrRequest::parse(&der, Path::new("x.der")).unwrap(), csr);
    }

    #[test]
    fn a_tampered_request_is_refused() {
        let key = PrivateKey::generate(KeyType::Ed25519).unwrap();
        let pem = make_request(CertKind::Client, &["alice".into()], &key).unwrap();
        let mut der =
            crate::x509::pem::first_block_lenient(pem.as_bytes(), "CERTIFICATE REQUEST").unwrap();
        let at = der.windows(5).position(|w| w == b"alice").unwrap();
        der[at] = b'm';
        let e = CsrRequest::parse(&der, Path::new("x.der")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot use certificate request x.der: its signature does not verify"
        );
        let e = CsrRequest::parse(b"hello", Path::new("x")).unwrap_err();
        assert!(e.to_string().contains("neither PEM"), "{e}");
    }

    /// A DER TLV.
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match content.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(content);
        out
    }

    /// A client request for CN `cn` with the Ed25519 key `point` and the signature `sig`.
    fn ed25519_request(cn: &str, point: &[u8; 32], sig: &[u8; 64]) -> Vec<u8> {
        let ed25519 = der(0x30, &der(0x06, &[0x2b, 0x65, 0x70]));
        let name = der(
            0x30,
            &der(
                0x31,
                &der(
                    0x30,
                    &[der(0x06, &[0x55, 0x04, 0x03]), der(0x0c, cn.as_bytes())].concat(),
                ),
            ),
        );
        let spki = der(
            0x30,
            &[ed25519.clone(), der(0x03, &[&[0][..], point].concat())].concat(),
        );
        let info = der(
            0x30,
            &[der(0x02, &[0]), name, spki, der(0xa0, &[])].concat(),
        );
        der(
            0x30,
            &[info, ed25519, der(0x03, &[&[0][..], sig].concat())].concat(),
        )
    }

    #[test]
    fn a_small_order_ed25519_key_whose_forged_signature_verifies_is_refused() {
        // The identity point, and the signature R = identity, s = 0: valid for any message.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut sig = [0u8; 64];
        sig[0] = 1;
        let der = ed25519_request("alice", &identity, &sig);
        let (_, parsed) = X509CertificationRequest::from_der(&der).unwrap();
        assert!(
            parsed.verify_signature().is_ok(),
            "the degenerate signature verifies: the self-signature proves nothing"
        );
        let e = CsrRequest::parse(&der, Path::new("a.csr")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "refused request a.csr: the Ed25519 public key is a small-order point (anyone can forge signatures for it)"
        );
        assert!(matches!(
            e,
            Error::RefusedKey {
                origin: KeyOrigin::Request(_),
                reason: crate::error::WeakKey::SmallOrder
            }
        ));
        // y = p - 1 (order 2), and y = 1 again in the non-canonical encoding y = p + 1.
        let mut minus_one = [0xff; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        let mut p_plus_one = [0xff; 32];
        p_plus_one[0] = 0xee;
        p_plus_one[31] = 0x7f;
        for point in [minus_one, p_plus_one] {
            let e = CsrRequest::parse(&ed25519_request("alice", &point, &sig), Path::new("a.csr"))
                .unwrap_err();
            assert!(e.to_string().contains("small-order"), "{e}");
        }
    }

    #[test]
    fn more_than_100_names_are_refused() {
        let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let names: Vec<String> = (0..MAX_NAMES)
            .map(|i| format!("h{i}.example.com"))
            .collect();
        let pem = make_request(CertKind::Server, &names, &key).unwrap();
        assert_eq!(
            CsrRequest::parse(pem.as_bytes(), Path::new("x.csr"))
                .unwrap()
                .alt_names
                .len(),
            MAX_NAMES
        );
        let names: Vec<String> = (0..=MAX_NAMES)
            .map(|i| format!("h{i}.example.com"))
            .collect();
        let pem = make_request(CertKind::Server, &names, &key).unwrap();
        let e = CsrRequest::parse(pem.as_bytes(), Path::new("x.csr")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot use certificate request x.csr: it asks for 101 names, more than the 100 pgca signs"
        );
    }

    #[test]
    fn an_unsupported_signature_algorithm_is_named() {
        let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        // ecdsa-with-SHA256 relabelled ecdsa-with-SHA512 (1.2.840.10045.4.3.4), which ring does
        // not verify: the algorithm is named, not the signature blamed.
        let pem = make_request(CertKind::Client, &["alice".into()], &key).unwrap();
        let mut der =
            crate::x509::pem::first_block_lenient(pem.as_bytes(), "CERTIFICATE REQUEST").unwrap();
        let sha256 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
        let at = der.windows(8).rposition(|w| w == sha256).unwrap();
        der[at + 7] = 0x04;
        let e = CsrRequest::parse(&der, Path::new("x.der")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot use certificate request x.der: its signature algorithm ecdsa-with-SHA512 is not supported"
        );
    }
}
