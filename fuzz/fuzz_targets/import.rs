//! Reading what others hand pgca: certificates, CRLs, certificate requests, keys (plain or
//! encrypted), serials, durations, names, probe targets, and what a probed server says (an
//! ErrorResponse's fields, a certificate's names against a host). None of it may panic, whatever
//! the bytes.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pgca::CertInfo::from_pem(data);
    let _ = pgca::CertInfo::from_der(data);
    let _ = pgca::x509::inspect::CrlInfo::from_pem(data);
    // Certificate signing requests (`pgca sign`): PEM or DER from another host.
    let _ = pgca::x509::csr::CsrRequest::parse(data, Path::new("fuzz.csr"));
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
