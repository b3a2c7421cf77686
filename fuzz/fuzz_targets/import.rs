//! Reading what others hand pgca: certificates, CRLs, certificate requests, keys (plain or
//! encrypted), serials, durations, names, probe targets, and what a probed server says (an
//! ErrorResponse's fields, a certificate's names against a host). None of it may panic, whatever
//! the bytes. Public keys from another host (what `sign` and `renew` of an external key certify)
//! go through the key check as they come and wrapped as each type's SubjectPublicKeyInfo, so
//! that degenerate points and moduli reach every branch: a key the check passes is one of a
//! type pgca certifies, and the identity point (the forgery of issue 21) never passes.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use pgca::x509::pubkey_check::check_public_key;

/// A DER TLV.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A SubjectPublicKeyInfo of algorithm `alg` (the AlgorithmIdentifier's contents) and key `key`.
fn spki(alg: &[u8], key: &[u8]) -> Vec<u8> {
    let bits = [&[0u8][..], key].concat();
    der(0x30, &[der(0x30, alg), der(0x03, &bits)].concat())
}

/// The fuzz bytes as public keys of every type pgca certifies: each result of the check.
fn check_keys(data: &[u8]) {
    const ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
    const EC: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    const P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
    const RSA: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let padded = |n: usize| {
        let mut v = data.to_vec();
        v.resize(n, 0);
        v
    };
    let mut keys = vec![
        data.to_vec(),
        spki(ED25519, data),
        spki(ED25519, &padded(32)),
        spki(&[EC, P256].concat(), data),
        spki(&[EC, P256].concat(), &[&[4u8][..], &padded(64)].concat()),
        spki(&[EC, P384].concat(), data),
        spki(&[EC, P384].concat(), &[&[4u8][..], &padded(96)].concat()),
    ];
    // RSA: the first two bytes give the exponent's length, the rest the exponent and a modulus
    // stretched to 2048 bits by repetition (with the top bit set, so that the size is right).
    if let [len, rest @ ..] = data {
        let (e, n) = rest.split_at((*len as usize % 9).min(rest.len()));
        if !n.is_empty() {
            let mut modulus: Vec<u8> = n.iter().copied().cycle().take(256).collect();
            modulus[0] |= 0x80;
            let rsa = der(
                0x30,
                &[
                    der(0x02, &[&[0u8][..], &modulus].concat()),
                    der(0x02, &[&[0u8][..], e].concat()),
                ]
                .concat(),
            );
            keys.push(spki(RSA, &rsa));
        }
    }
    for key in keys {
        if let Ok(t) = check_public_key(&key) {
            assert_eq!(pgca::KeyType::of_spki(&key), Some(t), "the check passed a key of no type");
        }
    }
    // The forged key of issue 21 never passes (checked once: it does not depend on the input,
    // and every Ed25519 check costs several modular exponentiations).
    static IDENTITY: std::sync::Once = std::sync::Once::new();
    IDENTITY.call_once(|| {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(check_public_key(&spki(ED25519, &identity)).is_err());
    });
}

fuzz_target!(|data: &[u8]| {
    let _ = pgca::CertInfo::from_pem(data);
    let _ = pgca::CertInfo::from_der(data);
    let _ = pgca::x509::inspect::CrlInfo::from_pem(data);
    // Certificate signing requests (`pgca sign`): PEM or DER from another host.
    let _ = pgca::x509::csr::CsrRequest::parse(data, Path::new("fuzz.csr"));
    check_keys(data);
    let text = String::from_utf8_lossy(data);
    let _ = pgca::PrivateKey::from_pem(&text, Path::new("fuzz.key"));
    let _ = pgca::PrivateKey::from_pem_with(&text, Path::new("fuzz.key"), Some(&pgca::Passphrase::new("x")));
    let _ = text.parse::<pgca::Serial>();
    let _ = text.parse::<pgca::Validity>();
    let _ = text.parse::<pgca::RoleName>();
    let _ = text.parse::<pgca::HostName>();
    let _ = text.parse::<pgca::KeyType>();
    let _ = text.parse::<pgca::probe::Target>();
    let _ = pgca::probe::login::error_message(data);
    if let Some((host, names)) = text.split_once('\n') {
        let sans: Vec<String> = names.split(',').map(str::to_string).collect();
        let _ = pgca::probe::hostname::matches(host, &sans, sans.first().map(String::as_str));
    }
});
