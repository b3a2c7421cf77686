//! Every certificate pgca issues, checked by verifiers nobody here wrote: `openssl verify`,
//! `openssl x509 -text`, `openssl pkey`, and rustls-webpki, for every key type.
//!
//! Verification happens at fixed times relative to the certificate (a day after issue, and
//! just outside the validity), so the results do not depend on when the suite runs.

mod common;

use std::fs;
use std::path::Path;
use std::time::Duration;

use common::{Env, Table, command_line, expect, openssl, p};
use pgca::{CaDir, CertInfo, InitOptions, IssueOptions, KeyType, RoleName};
use rustls_pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, KeyUsage, anchor_from_trusted_cert};

/// A CA directory with a server certificate (localhost, 127.0.0.1, ::1, a wildcard) and a
/// client certificate for alice, everything of one key type, issued at a fixed time.
/// Made once per key type and shared by the tests of that type: RSA-4096 keys take seconds.
fn issued(kt: KeyType) -> &'static (tempfile::TempDir, CaDir) {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    type Slot = Arc<OnceLock<&'static (tempfile::TempDir, CaDir)>>;
    static MADE: OnceLock<Mutex<HashMap<KeyType, Slot>>> = OnceLock::new();
    let slot = MADE
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(kt)
        .or_default()
        .clone();
    slot.get_or_init(|| Box::leak(Box::new(make(kt))))
}

fn make(kt: KeyType) -> (tempfile::TempDir, CaDir) {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap(); // shared: never dropped
    let now = time::macros::datetime!(2026-03-01 12:00 UTC);
    let mut init = InitOptions::default();
    init.key_type = kt;
    init.now = Some(now);
    let ca = CaDir::init(tmp.path().join("ca"), &init).unwrap();
    let mut opts = IssueOptions::default();
    opts.key_type = kt;
    opts.now = Some(now);
    let names = ["localhost", "127.0.0.1", "::1", "*.db.example.com"].map(|n| n.parse().unwrap());
    std::thread::scope(|s| {
        s.spawn(|| ca.issue_server(&names, &opts).unwrap());
        ca.issue_client(&"alice".parse::<RoleName>().unwrap(), &opts)
            .unwrap();
    });
    (tmp, ca)
}

fn der(path: &Path) -> Vec<u8> {
    pem::parse(fs::read(path).unwrap()).unwrap().into_contents()
}

fn at(t: time::OffsetDateTime) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(t.unix_timestamp() as u64))
}

fn verify(
    verifier: &str,
    ca: &Path,
    purpose: &str,
    cert: &Path,
    attime: i64,
    extra: &[&str],
) -> (bool, String) {
    let attime = attime.to_string();
    let mut args = vec![
        verifier,
        "-CAfile",
        p(ca),
        "-purpose",
        purpose,
        "-attime",
        &attime,
    ];
    args.extend_from_slice(extra);
    args.push(p(cert));
    openssl(&args)
}

/// The command line [`verify`] runs with `openssl verify`, for a table's report.
fn verify_command(ca: &Path, purpose: &str, cert: &Path, attime: i64, extra: &[&str]) -> String {
    let attime = attime.to_string();
    let mut args = vec![
        "verify",
        "-CAfile",
        p(ca),
        "-purpose",
        purpose,
        "-attime",
        &attime,
    ];
    args.extend_from_slice(extra);
    args.push(p(cert));
    command_line("openssl", &args)
}

fn check_with_openssl(kt: KeyType) {
    let (_, ca) = issued(kt);
    let server_ca = ca.root().join("server-ca.crt");
    let client_ca = ca.root().join("client-ca.crt");
    let server = ca.root().join("servers/localhost.crt");
    let client = ca.root().join("clients/alice.crt");
    let t = CertInfo::from_file(&server)
        .unwrap()
        .not_before
        .unix_timestamp()
        + 86_400;

    // The right CA and purpose: accepted.
    let (ok, out) = verify(
        "verify",
        &server_ca,
        "sslserver",
        &server,
        t,
        &["-verify_hostname", "localhost"],
    );
    assert!(ok, "{kt}: {out}");
    assert!(
        verify(
            "verify",
            &server_ca,
            "sslserver",
            &server,
            t,
            &["-verify_ip", "127.0.0.1"]
        )
        .0,
        "{kt}"
    );
    assert!(
        verify(
            "verify",
            &server_ca,
            "sslserver",
            &server,
            t,
            &["-verify_ip", "::1"]
        )
        .0,
        "{kt}"
    );
    assert!(
        verify(
            "verify",
            &server_ca,
            "sslserver",
            &server,
            t,
            &["-verify_hostname", "x.db.example.com"]
        )
        .0,
        "{kt}"
    );
    let (ok, out) = verify("verify", &client_ca, "sslclient", &client, t, &[]);
    assert!(ok, "{kt}: {out}");

    // The other CA, the other purpose, another name, another time: refused.
    let mut table = Table::new(format!("{kt}: openssl refuses"));
    for (ca_file, purpose, cert, extra, why) in [
        (
            &client_ca,
            "sslserver",
            &server,
            &[][..],
            "server cert against the client CA",
        ),
        (
            &server_ca,
            "sslclient",
            &client,
            &[],
            "client cert against the server CA",
        ),
        (
            &client_ca,
            "sslserver",
            &client,
            &[],
            "client cert used as a server",
        ),
        (
            &server_ca,
            "sslclient",
            &server,
            &[],
            "server cert used as a client",
        ),
        (
            &server_ca,
            "sslserver",
            &server,
            &["-verify_hostname", "other.example.com"],
            "wrong host name",
        ),
        (
            &server_ca,
            "sslserver",
            &server,
            &["-verify_hostname", "a.b.db.example.com"],
            "wildcard over two labels",
        ),
        (
            &server_ca,
            "sslserver",
            &server,
            &["-verify_ip", "10.0.0.1"],
            "wrong IP",
        ),
    ] {
        let command = verify_command(ca_file, purpose, cert, t, extra);
        table.row(format!("{kt}: {why}"), command, |_| {
            let (ok, out) = verify("verify", ca_file, purpose, cert, t, extra);
            expect(!ok, "openssl refuses", format!("accepted: {out}"))
        });
    }
    let na = CertInfo::from_file(&client)
        .unwrap()
        .not_after
        .unix_timestamp();
    table.row(
        format!("{kt}: an expired certificate"),
        verify_command(&client_ca, "sslclient", &client, na + 60, &[]),
        |_| {
            let (ok, out) = verify("verify", &client_ca, "sslclient", &client, na + 60, &[]);
            expect(!ok, "openssl refuses", format!("accepted: {out}"))
        },
    );
    table.finish();

    // Each key matches its certificate, as openssl sees them.
    let mut table = Table::new(format!("{kt}: keys match their certificates"));
    for (key, cert) in [
        ("servers/localhost.key", "servers/localhost.crt"),
        ("clients/alice.key", "clients/alice.crt"),
        ("server-ca.key", "server-ca.crt"),
        ("client-ca.key", "client-ca.crt"),
    ] {
        let (key_path, cert_path) = (ca.root().join(key), ca.root().join(cert));
        let key_args = ["pkey", "-in", p(&key_path), "-pubout"];
        let cert_args = ["x509", "-in", p(&cert_path), "-pubkey", "-noout"];
        table.row(
            format!("{kt}: {key}"),
            format!(
                "{} vs {}",
                command_line("openssl", &key_args),
                command_line("openssl", &cert_args)
            ),
            |_| {
                let (ok1, from_key) = openssl(&key_args);
                let (ok2, from_cert) = openssl(&cert_args);
                expect(
                    ok1 && ok2,
                    "openssl reads both",
                    format!("{from_key}{from_cert}"),
                )?;
                expect(
                    from_key == from_cert,
                    format!("the public key of {cert}:\n{from_cert}"),
                    from_key,
                )
            },
        );
    }
    table.finish();
}

/// The certificate profile as openssl prints it.
fn check_profile_with_openssl(kt: KeyType) {
    let (_, ca) = issued(kt);
    let text = |f: &str| openssl(&["x509", "-in", p(&ca.root().join(f)), "-noout", "-text"]).1;
    let sig = match kt {
        KeyType::EcdsaP256 => "ecdsa-with-SHA256",
        KeyType::EcdsaP384 => "ecdsa-with-SHA384",
        KeyType::Ed25519 => "ED25519",
        _ => "sha256WithRSAEncryption",
    };
    for ca_file in ["server-ca.crt", "client-ca.crt"] {
        let t = text(ca_file);
        for want in [
            "Version: 3 (0x2)",
            "X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0",
            "X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign",
            "X509v3 Subject Key Identifier",
            sig,
        ] {
            assert!(t.contains(want), "{kt} {ca_file}: missing {want:?} in\n{t}");
        }
    }
    let ku = if kt.is_rsa() {
        "Digital Signature, Key Encipherment"
    } else {
        "Digital Signature"
    };
    for (leaf, eku, other_eku) in [
        (
            "servers/localhost.crt",
            "TLS Web Server Authentication",
            "TLS Web Client Authentication",
        ),
        (
            "clients/alice.crt",
            "TLS Web Client Authentication",
            "TLS Web Server Authentication",
        ),
    ] {
        let t = text(leaf);
        for want in [
            "Version: 3 (0x2)".to_string(),
            "CA:FALSE".to_string(),
            format!("X509v3 Key Usage: critical\n                {ku}\n"),
            format!("X509v3 Extended Key Usage: \n                {eku}\n"),
            "X509v3 Subject Key Identifier".into(),
            "X509v3 Authority Key Identifier".into(),
            sig.into(),
        ] {
            assert!(t.contains(&want), "{kt} {leaf}: missing {want:?} in\n{t}");
        }
        assert!(!t.contains(other_eku), "{kt} {leaf}: a second EKU");
        // The serial: random, positive, at least 64 bits, and the one pgca reports.
        let (_, serial) = openssl(&["x509", "-in", p(&ca.root().join(leaf)), "-noout", "-serial"]);
        let hex = serial.trim().strip_prefix("serial=").unwrap();
        assert!(hex.len() >= 16, "{kt}: serial {hex} has fewer than 64 bits");
        let ours = CertInfo::from_file(&ca.root().join(leaf))
            .unwrap()
            .serial
            .to_string();
        assert_eq!(hex.to_lowercase(), ours);
    }
    let server = text("servers/localhost.crt");
    assert!(
        server.contains(
            "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:*.db.example.com"
        ),
        "{kt}: {server}"
    );
    assert!(server.contains("Subject: CN = localhost"), "{server}");
    assert!(text("clients/alice.crt").contains("Subject: CN = alice"));
}

fn check_with_webpki(kt: KeyType) {
    let (_, ca) = issued(kt);
    let server_ca = CertificateDer::from(der(&ca.root().join("server-ca.crt")));
    let client_ca = CertificateDer::from(der(&ca.root().join("client-ca.crt")));
    let server_anchor = [anchor_from_trusted_cert(&server_ca).unwrap()];
    let client_anchor = [anchor_from_trusted_cert(&client_ca).unwrap()];
    let server_der = CertificateDer::from(der(&ca.root().join("servers/localhost.crt")));
    let client_der = CertificateDer::from(der(&ca.root().join("clients/alice.crt")));
    let server = EndEntityCert::try_from(&server_der).unwrap();
    let client = EndEntityCert::try_from(&client_der).unwrap();
    let info = CertInfo::from_file(&ca.root().join("servers/localhost.crt")).unwrap();
    let day_one = at(info.not_before + time::Duration::days(1));

    check(&server, &server_anchor, day_one, KeyUsage::server_auth())
        .unwrap_or_else(|e| panic!("{kt}: {e:?}"));
    check(&client, &client_anchor, day_one, KeyUsage::client_auth())
        .unwrap_or_else(|e| panic!("{kt}: {e:?}"));
    let mut names = Table::new(format!("{kt}: webpki matches the server's names"));
    for name in [
        "localhost",
        "LOCALHOST",
        "127.0.0.1",
        "::1",
        "replica.db.example.com",
    ] {
        names.row(format!("{kt}: {name} accepted"), name, |_| {
            let got = server.verify_is_valid_for_subject_name(&ServerName::try_from(name).unwrap());
            expect(got.is_ok(), "valid for the name", format!("{got:?}"))
        });
    }

    assert!(
        check(&server, &client_anchor, day_one, KeyUsage::server_auth()).is_err(),
        "{kt}: wrong CA"
    );
    assert!(
        check(&client, &server_anchor, day_one, KeyUsage::client_auth()).is_err(),
        "{kt}: wrong CA"
    );
    assert!(
        check(&server, &server_anchor, day_one, KeyUsage::client_auth()).is_err(),
        "{kt}: wrong usage"
    );
    assert!(
        check(&client, &client_anchor, day_one, KeyUsage::server_auth()).is_err(),
        "{kt}: wrong usage"
    );
    let after = at(info.not_after + time::Duration::seconds(1));
    assert!(
        matches!(
            check(&server, &server_anchor, after, KeyUsage::server_auth()),
            Err(webpki::Error::CertExpired { .. })
        ),
        "{kt}"
    );
    let before = at(info.not_before - time::Duration::seconds(1));
    assert!(
        matches!(
            check(&server, &server_anchor, before, KeyUsage::server_auth()),
            Err(webpki::Error::CertNotValidYet { .. })
        ),
        "{kt}"
    );
    for name in [
        "otherhost",
        "10.0.0.1",
        "a.b.db.example.com",
        "db.example.com",
    ] {
        names.row(format!("{kt}: {name} refused"), name, |_| {
            let got = server.verify_is_valid_for_subject_name(&ServerName::try_from(name).unwrap());
            expect(got.is_err(), "not valid for the name", format!("{got:?}"))
        });
    }
    names.finish();
}

fn check(
    ee: &EndEntityCert<'_>,
    anchors: &[TrustAnchor<'_>],
    t: UnixTime,
    usage: KeyUsage,
) -> Result<(), webpki::Error> {
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        anchors,
        &[],
        t,
        usage,
        None,
        None,
    )
    .map(|_| ())
}

macro_rules! per_key_type {
    ($($name:ident => $kt:expr),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[test]
            fn openssl_verifies_for_the_right_ca_purpose_and_name_only() {
                check_with_openssl($kt);
            }
            #[test]
            fn openssl_shows_the_certificate_profile() {
                check_profile_with_openssl($kt);
            }
            #[test]
            fn webpki_accepts_the_right_usage_and_name_only() {
                check_with_webpki($kt);
            }
        }
    )*};
}

per_key_type! {
    ecdsa_p256 => KeyType::EcdsaP256,
    ecdsa_p384 => KeyType::EcdsaP384,
    ed25519 => KeyType::Ed25519,
    rsa2048 => KeyType::Rsa2048,
    rsa3072 => KeyType::Rsa3072,
    rsa4096 => KeyType::Rsa4096,
}

#[test]
fn a_client_ca_from_another_directory_is_not_trusted() {
    let (_, ca_a) = issued(KeyType::EcdsaP256);
    let other = Env::init(&[]);
    other.ok(&["issue-client", "alice"]);
    let t = CertInfo::from_file(&other.path("clients/alice.crt"))
        .unwrap()
        .not_before
        .unix_timestamp()
        + 60;
    let (ok, out) = verify(
        "verify",
        &ca_a.root().join("client-ca.crt"),
        "sslclient",
        &other.path("clients/alice.crt"),
        t,
        &[],
    );
    assert!(!ok, "{out}");
}
