//! `pgca revoke` and the CRLs: what openssl makes of them, and how check and renew keep them
//! from going stale.

mod common;

use std::collections::BTreeSet;

use common::{Env, openssl, p};
use pgca::{CaDir, CertInfo, CertKind};

/// The serials a CRL lists, as openssl prints them (lowercase).
fn crl_serials(env: &Env, crl: &str) -> BTreeSet<String> {
    let (ok, text) = openssl(&["crl", "-in", p(&env.path(crl)), "-noout", "-text"]);
    assert!(ok, "{text}");
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Serial Number: "))
        .map(|s| s.to_lowercase())
        .collect()
}

fn serial_of(env: &Env, cert: &str) -> String {
    CertInfo::from_file(&env.path(cert))
        .unwrap()
        .serial
        .to_string()
}

#[test]
fn revoke_writes_a_crl_openssl_verifies_listing_exactly_the_revoked() {
    let env = Env::init(&[]);
    env.ok(&["issue-client", "alice", "bob", "carol"]);
    let alice = serial_of(&env, "clients/alice.crt");
    let out = env.ok(&["revoke", "alice", "--reason", "keyCompromise"]);
    assert!(
        out.contains(&format!(
            "revoked client alice (serial {alice}, keyCompromise)"
        )),
        "{out}"
    );
    let (ok, text) = openssl(&[
        "crl",
        "-in",
        p(&env.path("client-ca.crl")),
        "-CAfile",
        p(&env.path("client-ca.crt")),
        "-verify",
        "-noout",
    ]);
    assert!(ok && text.contains("verify OK"), "{text}");
    assert_eq!(
        crl_serials(&env, "client-ca.crl"),
        BTreeSet::from([alice.clone()])
    );
    let (_, text) = openssl(&[
        "crl",
        "-in",
        p(&env.path("client-ca.crl")),
        "-noout",
        "-text",
    ]);
    for want in [
        "Version 2 (0x1)",
        "X509v3 CRL Number: \n                1",
        "X509v3 Authority Key Identifier",
        "Key Compromise",
    ] {
        assert!(text.contains(want), "missing {want:?}:\n{text}");
    }
    let ca = CertInfo::from_file(&env.path("client-ca.crt")).unwrap();
    let crl = pgca::x509::inspect::CrlInfo::from_file(&env.path("client-ca.crl")).unwrap();
    assert_eq!(crl.authority_key_id, ca.subject_key_id);
    let period = crl.next_update.unwrap() - crl.this_update;
    assert_eq!(
        period.whole_seconds(),
        30 * 86_400 + 300,
        "30 days by default"
    );

    // openssl refuses alice with the CRL, accepts bob.
    let verify = |cert: &str| {
        openssl(&[
            "verify",
            "-crl_check",
            "-CAfile",
            p(&env.path("client-ca.crt")),
            "-CRLfile",
            p(&env.path("client-ca.crl")),
            p(&env.path(cert)),
        ])
    };
    let (ok, text) = verify("clients/alice.crt");
    assert!(!ok && text.contains("certificate revoked"), "{text}");
    assert!(verify("clients/bob.crt").0);

    // A second revocation: the CRL number grows and lists both.
    let bob = serial_of(&env, "clients/bob.crt");
    env.ok(&["revoke", &bob, "--reason", "cessationOfOperation"]);
    assert_eq!(
        crl_serials(&env, "client-ca.crl"),
        BTreeSet::from([alice.clone(), bob.clone()])
    );
    assert_eq!(
        pgca::x509::inspect::CrlInfo::from_file(&env.path("client-ca.crl"))
            .unwrap()
            .number,
        Some(2)
    );

    // Revoking again is a no-op that says so.
    let out = env.ok(&["revoke", "alice"]);
    assert!(out.contains("was revoked already: nothing to do"), "{out}");
    assert_eq!(
        pgca::x509::inspect::CrlInfo::from_file(&env.path("client-ca.crl"))
            .unwrap()
            .number,
        Some(2)
    );

    // list shows it; inspect reads the CRL.
    let list = env.ok(&["list"]);
    assert!(
        list.lines()
            .any(|l| l.contains(&alice) && l.ends_with("revoked")),
        "{list}"
    );
    let shown = env.ok(&["inspect", env.path("client-ca.crl").to_str().unwrap()]);
    assert!(
        shown.contains("CRL number:   2")
            && shown.contains(&format!("{alice}  "))
            && shown.contains("keyCompromise"),
        "{shown}"
    );
    let json: serde_json::Value = serde_json::from_str(&env.ok(&[
        "inspect",
        "--json",
        env.path("client-ca.crl").to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(json["revoked"].as_array().unwrap().len(), 2);
}

#[test]
fn revoke_all_covers_every_certificate_of_a_name() {
    let env = Env::init(&[]);
    env.ok(&["issue-client", "alice"]);
    let first = serial_of(&env, "clients/alice.crt");
    env.ok(&["issue-client", "alice", "--force"]);
    let second = serial_of(&env, "clients/alice.crt");
    env.ok(&["revoke", "alice", "--only-current"]);
    assert_eq!(
        crl_serials(&env, "client-ca.crl"),
        BTreeSet::from([second.clone()]),
        "by name, --only-current: the current one"
    );
    // By name alone: every unexpired certificate of the name (the issue's finding 5).
    env.ok(&["revoke", "alice"]);
    assert_eq!(
        crl_serials(&env, "client-ca.crl"),
        BTreeSet::from([first, second])
    );
}

#[test]
fn crl_command_and_the_server_crl() {
    let env = Env::init(&["--server-host", "localhost"]);
    env.ok(&["crl", "--next-update", "7d"]);
    assert!(
        crl_serials(&env, "server-ca.crl").is_empty()
            && crl_serials(&env, "client-ca.crl").is_empty()
    );
    let (ok, text) = openssl(&[
        "crl",
        "-in",
        p(&env.path("server-ca.crl")),
        "-CAfile",
        p(&env.path("server-ca.crt")),
        "-verify",
        "-noout",
    ]);
    assert!(ok, "{text}");
    let server = serial_of(&env, "servers/localhost.crt");
    env.ok(&["revoke", "localhost"]);
    assert_eq!(crl_serials(&env, "server-ca.crl"), BTreeSet::from([server]));
    let crl = pgca::x509::inspect::CrlInfo::from_file(&env.path("server-ca.crl")).unwrap();
    assert_eq!(crl.number, Some(2));
    assert_eq!(
        (crl.next_update.unwrap() - crl.this_update).whole_seconds(),
        7 * 86_400 + 300,
        "the period is kept"
    );
}

#[test]
fn a_stale_crl_is_critical_and_renew_fixes_it() {
    let env = Env::init(&[]);
    env.ok(&["issue-client", "alice"]);
    env.ok(&["revoke", "alice"]);
    // Re-issue it as if written 2 days ago with a 1-day period: past its nextUpdate.
    let ca = CaDir::open(&env.ca)
        .unwrap()
        .with_passphrase(pgca::Passphrase::new("test passphrase"));
    ca.issue_crls(
        Some("1d".parse().unwrap()),
        Some(pgca::timefmt::now() - time::Duration::days(2)),
    )
    .unwrap();
    let out = env.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("CRITICAL: client-ca.crl: past its next update"),
        "{text}"
    );
    // Due (a third of the period left) is a warning.
    ca.issue_crls(
        Some("3d".parse().unwrap()),
        Some(pgca::timefmt::now() - time::Duration::days(2) - time::Duration::hours(1)),
    )
    .unwrap();
    let out = env.run(&["check"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = env.ok(&["renew"]);
    assert!(
        out.contains("renewed server-ca.crl") && out.contains("renewed client-ca.crl"),
        "{out}"
    );
    assert_eq!(env.run(&["check"]).status.code(), Some(0));
    let alice = serial_of(&env, "clients/alice.crt");
    assert_eq!(
        crl_serials(&env, "client-ca.crl"),
        BTreeSet::from([alice]),
        "still lists alice"
    );
}

#[test]
fn renew_revoke_old_revokes_the_replaced_certificate() {
    let env = Env::init(&[]);
    env.ok(&["issue-client", "alice"]);
    let old = serial_of(&env, "clients/alice.crt");
    env.ok(&["renew", "alice", "--force", "--revoke-old"]);
    assert_ne!(serial_of(&env, "clients/alice.crt"), old);
    assert_eq!(crl_serials(&env, "client-ca.crl"), BTreeSet::from([old]));
    let (_, text) = openssl(&[
        "crl",
        "-in",
        p(&env.path("client-ca.crl")),
        "-noout",
        "-text",
    ]);
    assert!(text.contains("Superseded"), "{text}");
}

#[test]
fn a_crl_never_outlives_its_ca() {
    let env = Env::init(&["--ca-validity", "10d"]);
    env.ok(&["issue-client", "alice", "--validity", "5d"]);
    let next_update = |side: &str| {
        let (ok, text) = openssl(&[
            "crl",
            "-in",
            p(&env.path(&format!("{side}-ca.crl"))),
            "-noout",
            "-nextupdate",
        ]);
        assert!(ok, "{text}");
        text.trim().strip_prefix("nextUpdate=").unwrap().to_string()
    };
    let ca_end = |side: &str| {
        let (ok, text) = openssl(&[
            "x509",
            "-in",
            p(&env.path(&format!("{side}-ca.crt"))),
            "-noout",
            "-enddate",
        ]);
        assert!(ok, "{text}");
        text.trim().strip_prefix("notAfter=").unwrap().to_string()
    };
    let notes = |out: &str| out.lines().filter(|l| l.starts_with("note:")).count();

    // 30 days asked for, 10 left: nextUpdate is the CA's notAfter, and pgca says so.
    let out = env.ok(&["crl", "--next-update", "30d"]);
    for side in ["server", "client"] {
        assert_eq!(next_update(side), ca_end(side), "{side}");
        assert!(
            out.contains(&format!(
                "note: {side}-ca.crl's next update is clamped to the {side} CA's expiry"
            )),
            "{out}"
        );
        let (ok, text) = openssl(&[
            "crl",
            "-in",
            p(&env.path(&format!("{side}-ca.crl"))),
            "-CAfile",
            p(&env.path(&format!("{side}-ca.crt"))),
            "-verify",
            "-noout",
        ]);
        assert!(ok && text.contains("verify OK"), "{text}");
    }
    assert_eq!(notes(&out), 2, "{out}");

    // A period that fits is kept, without a note.
    let out = env.ok(&["crl", "--next-update", "5d"]);
    assert_eq!(notes(&out), 0, "{out}");
    assert_ne!(next_update("client"), ca_end("client"));

    // revoke clamps the same way.
    let out = env.ok(&["revoke", "alice", "--next-update", "30d"]);
    assert!(
        out.contains("note: client-ca.crl's next update is clamped to the client CA's expiry"),
        "{out}"
    );
    assert_eq!(next_update("client"), ca_end("client"));

    // So does renew, re-issuing a due CRL with its 30-day period (written as if 25 days ago).
    let ca = CaDir::open(&env.ca)
        .unwrap()
        .with_passphrase(pgca::Passphrase::new("test passphrase"));
    let now = pgca::timefmt::now();
    let records = ca
        .issue_crls(
            Some("30d".parse().unwrap()),
            Some(now - time::Duration::days(25)),
        )
        .unwrap();
    // One record per CA, neither clamped (an empty list would pass an `all` vacuously).
    assert_eq!(
        records
            .iter()
            .map(|r| (r.ca, r.clamped_to_ca_expiry))
            .collect::<Vec<_>>(),
        [(CertKind::ServerCa, false), (CertKind::ClientCa, false)]
    );
    let out = env.ok(&["renew"]);
    assert!(
        out.contains("renewed client-ca.crl") && out.contains("renewed server-ca.crl"),
        "{out}"
    );
    assert_eq!(notes(&out), 2, "{out}");
    assert_eq!(next_update("server"), ca_end("server"));

    // An expired CA signs no CRL at all.
    let e = ca
        .issue_crls(None, Some(now + time::Duration::days(11)))
        .unwrap_err();
    assert!(e.to_string().contains("CA expired"), "{e}");
}
