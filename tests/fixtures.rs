//! The committed fixtures (fixtures/README.md): a CA directory issued at 2026-01-01T00:00Z,
//! checked by openssl and rustls-webpki at fixed instants, and pgca's view of it pinned.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Table, command_line, expect, openssl, p};
use pgca::{CaDir, CertKind, CertState};
use rustls_pki_types::{CertificateDer, UnixTime};
use time::macros::datetime;
use webpki::{EndEntityCert, KeyUsage, anchor_from_trusted_cert};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A private copy of the fixture CA directory (pgca takes a lock file in it).
fn copy_of_ca() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let st = Command::new("cp")
        .arg("-a")
        .arg(fixtures().join("ca"))
        .arg(tmp.path())
        .status()
        .unwrap();
    assert!(st.success());
    let ca = tmp.path().join("ca");
    (tmp, ca)
}

#[test]
fn inspect_output_is_stable() {
    let mut table = Table::new("inspect --json of the fixtures");
    for (file, name) in [
        ("server-ca.crt", "server-ca"),
        ("client-ca.crt", "client-ca"),
        ("servers/localhost.crt", "server-localhost"),
        ("clients/alice.crt", "client-alice"),
        ("clients/bob.crt", "client-bob"),
    ] {
        let path = fixtures().join("ca").join(file);
        table.row(
            file,
            command_line("pgca", &["inspect", "--json", p(&path)]),
            |_| {
                let out = Command::new(common::pgca_bin())
                    .args(["inspect", "--json"])
                    .arg(&path)
                    .output()
                    .unwrap();
                expect(
                    out.status.success(),
                    "success",
                    format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr)),
                )?;
                let mut got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                let obj = got.as_object_mut().unwrap();
                expect(
                    obj.remove("days_left").is_some() && obj.remove("file").is_some(),
                    "days_left and file in the output",
                    format!("{obj:?}"),
                )?;
                let expected = fixtures().join(format!("expected/{name}.inspect.json"));
                let want: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&expected).unwrap()).unwrap();
                expect(
                    got == want,
                    format!("{}:\n{want:#}", expected.display()),
                    format!("{got:#}"),
                )
            },
        );
    }
    table.finish();
}

#[test]
fn openssl_verifies_the_fixtures_at_fixed_times() {
    let ca = fixtures().join("ca");
    let at = |t: time::OffsetDateTime| t.unix_timestamp().to_string();
    let verify = |ca_file: &str, purpose: &str, cert: &str, t: &str| {
        openssl(&[
            "verify",
            "-attime",
            t,
            "-purpose",
            purpose,
            "-CAfile",
            p(&ca.join(ca_file)),
            p(&ca.join(cert)),
        ])
    };
    let mid_jan = at(datetime!(2026-01-15 00:00 UTC));
    let mid_feb = at(datetime!(2026-02-15 00:00 UTC));
    let before = at(datetime!(2025-12-31 23:00 UTC));
    assert!(
        verify(
            "server-ca.crt",
            "sslserver",
            "servers/localhost.crt",
            &mid_jan
        )
        .0
    );
    assert!(verify("client-ca.crt", "sslclient", "clients/alice.crt", &mid_jan).0);
    assert!(verify("client-ca.crt", "sslclient", "clients/bob.crt", &mid_jan).0);
    let (ok, out) = verify("client-ca.crt", "sslclient", "clients/bob.crt", &mid_feb);
    assert!(!ok && out.contains("certificate has expired"), "{out}");
    assert!(verify("client-ca.crt", "sslclient", "clients/alice.crt", &mid_feb).0);
    let (ok, out) = verify("client-ca.crt", "sslclient", "clients/alice.crt", &before);
    assert!(!ok && out.contains("not yet valid"), "{out}");
}

#[test]
fn webpki_verifies_the_fixtures_at_fixed_times() {
    let der = |f: &str| {
        CertificateDer::from(
            pem::parse(std::fs::read(fixtures().join("ca").join(f)).unwrap())
                .unwrap()
                .into_contents(),
        )
    };
    let client_ca = der("client-ca.crt");
    let anchors = [anchor_from_trusted_cert(&client_ca).unwrap()];
    let bob_der = der("clients/bob.crt");
    let bob = EndEntityCert::try_from(&bob_der).unwrap();
    let t = |d: time::OffsetDateTime| {
        UnixTime::since_unix_epoch(Duration::from_secs(d.unix_timestamp() as u64))
    };
    let check = |when| {
        bob.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &[],
            when,
            KeyUsage::client_auth(),
            None,
            None,
        )
        .map(|_| ())
    };
    assert!(check(t(datetime!(2026-01-15 00:00 UTC))).is_ok());
    assert!(matches!(
        check(t(datetime!(2026-02-15 00:00 UTC))),
        Err(webpki::Error::CertExpired { .. })
    ));
}

#[test]
fn states_at_fixed_times() {
    let (_tmp, ca) = copy_of_ca();
    let ca = CaDir::open(&ca).unwrap();
    let state = |now, name: &str| {
        ca.list(now)
            .unwrap()
            .into_iter()
            .find(|r| r.kind == CertKind::Client && r.name == name)
            .unwrap()
            .state
    };
    assert_eq!(
        state(datetime!(2026-01-05 00:00 UTC), "bob"),
        CertState::Valid
    );
    // bob lives 30 days (+5 minutes): due once less than a third is left, i.e. after ~day 20.
    assert_eq!(
        state(datetime!(2026-01-22 00:00 UTC), "bob"),
        CertState::Due
    );
    assert_eq!(
        state(datetime!(2026-02-15 00:00 UTC), "bob"),
        CertState::Expired
    );
    assert_eq!(
        state(datetime!(2026-02-15 00:00 UTC), "alice"),
        CertState::Valid
    );
    assert_eq!(
        state(datetime!(2026-10-01 00:00 UTC), "alice"),
        CertState::Due
    );
    assert_eq!(
        state(datetime!(2025-12-31 00:00 UTC), "alice"),
        CertState::NotYetValid
    );
}
