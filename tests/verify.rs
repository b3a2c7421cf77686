//! `pgca verify`: a healthy directory is OK; each kind of damage is found, with its status, and
//! verify itself changes nothing.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::{Env, Table, expect, snapshot, snapshot_diff};

/// A CA with a server certificate deployed to a (fake) data directory, two clients and a CRL;
/// with `encrypted` CA keys or not (key derivation is slow and beside the point of most cases).
fn healthy_with(encrypted: bool) -> Env {
    let env = if encrypted {
        Env::init(&["--server-host", "localhost"])
    } else {
        Env::init(&["--server-host", "localhost", "--no-passphrase"])
    };
    env.ok(&["issue-client", "alice", "bob"]);
    env.ok(&["crl"]);
    let data = env.tmp.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("PG_VERSION"), "15\n").unwrap();
    env.ok(&[
        "deploy-server",
        "localhost",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    env
}

fn healthy() -> Env {
    healthy_with(false)
}

fn verify(env: &Env) -> (i32, String) {
    let before = snapshot(env.tmp.path());
    let out = env.run(&["verify"]);
    assert_eq!(before, snapshot(env.tmp.path()), "verify changed files");
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn a_healthy_directory_is_ok() {
    let env = healthy_with(true);
    let (code, out) = verify(&env);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("PGCA OK - 3 certificates checked, 0 problems"),
        "{out}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&env.run(&["verify", "--json"]).stdout).unwrap();
    assert_eq!(json["status"], "OK");
}

#[test]
fn every_kind_of_damage_is_found() {
    type Damage = fn(&Env);
    let cases: Vec<(&str, Damage, i32, &str)> = vec![
        (
            "a key that is not its certificate's",
            |e| {
                fs::write(
                    e.path("clients/alice.key"),
                    fs::read(e.path("clients/bob.key")).unwrap(),
                )
                .unwrap()
            },
            2,
            "the key does not match its certificate",
        ),
        (
            // What check trusts (see check.rs): alice's public key recorded in bob's key file.
            "a key whose recorded public key is not its own",
            |e| {
                let der = |n: &str| {
                    pem::parse(fs::read(e.path(&format!("clients/{n}.key"))).unwrap())
                        .unwrap()
                        .into_contents()
                };
                let (alice, mut forged) = (der("alice"), der("bob"));
                // A P-256 PKCS#8 key as ring writes it ends with the 65-byte public point.
                let at = forged.len() - 65;
                forged[at..].copy_from_slice(&alice[alice.len() - 65..]);
                let text = pem::encode(&pem::Pem::new("PRIVATE KEY", forged));
                fs::write(e.path("clients/alice.key"), text).unwrap();
            },
            2,
            "clients/alice.key: unsupported or corrupt PKCS#8 key",
        ),
        (
            "a readable key",
            |e| {
                let k = fs::canonicalize(e.path("clients/bob.key")).unwrap();
                fs::set_permissions(k, fs::Permissions::from_mode(0o644)).unwrap();
            },
            2,
            "readable by others",
        ),
        (
            "a certificate from another CA",
            |e| {
                let other = Env::init(&["--no-passphrase"]);
                other.ok(&["issue-client", "alice"]);
                fs::write(
                    e.path("clients/alice.crt"),
                    fs::read(other.path("clients/alice.crt")).unwrap(),
                )
                .unwrap();
            },
            2,
            "does not chain to the client CA",
        ),
        (
            "a missing certificate",
            |e| {
                let target = fs::canonicalize(e.path("clients/bob.crt")).unwrap();
                fs::remove_file(target).unwrap();
            },
            2,
            "recorded in the inventory but unreadable",
        ),
        (
            "a CRL not signed by its CA",
            |e| {
                fs::write(
                    e.path("client-ca.crl"),
                    fs::read(e.path("server-ca.crl")).unwrap(),
                )
                .unwrap()
            },
            2,
            "not signed by the client CA",
        ),
        (
            "a deployed key readable by others",
            |e| {
                let k = fs::canonicalize(e.tmp.path().join("data/pgca-tls/current/server.key"))
                    .unwrap();
                fs::set_permissions(k, fs::Permissions::from_mode(0o644)).unwrap();
            },
            2,
            "server.key: the key is mode 644",
        ),
        (
            "a stale deployment",
            |e| {
                e.ok(&["issue-server", "localhost", "--force"]);
            },
            1,
            "differs from",
        ),
        (
            // Listed in `.pending`: an unfinished batch was writing it (any other unrecorded
            // archive directory is inventory damage, the next row).
            "an unknown archived pair",
            |e| {
                fs::create_dir(e.path("clients/archive/0123456789abcdef0123456789abcdef")).unwrap();
                fs::write(e.path(".pending"), "0123456789abcdef0123456789abcdef\n").unwrap();
            },
            1,
            "the inventory does not know",
        ),
        (
            "an archived pair no batch was writing",
            |e| fs::create_dir(e.path("clients/archive/0123456789abcdef0123456789abcdef")).unwrap(),
            2,
            "the inventory records no certificate of that serial",
        ),
        (
            "a temporary file",
            |e| fs::write(e.path("clients/.alice.live.tmp-1-0123456789ab"), "").unwrap(),
            1,
            "a temporary file left",
        ),
        (
            "an interrupted write",
            |e| fs::write(e.path(".pending"), "").unwrap(),
            1,
            "an interrupted write",
        ),
        (
            "a CA directory others can read",
            |e| fs::set_permissions(&e.ca, fs::Permissions::from_mode(0o755)).unwrap(),
            1,
            "not 0700",
        ),
        (
            "a CA key that belongs to the other CA",
            |e| {
                fs::write(
                    e.path("client-ca.key"),
                    fs::read(e.path("server-ca.key")).unwrap(),
                )
                .unwrap()
            },
            2,
            "client-ca.key: the key does not match its certificate",
        ),
    ];
    let mut table = Table::new("verify finds every kind of damage");
    for (what, damage, code, message) in cases {
        table.row(what, "pgca verify", |_| {
            let env = healthy();
            damage(&env);
            let before = snapshot(env.tmp.path());
            let run = env.run(&["verify"]);
            let after = snapshot(env.tmp.path());
            expect(
                before == after,
                "verify changes no file",
                format!("files changed:\n{}", snapshot_diff(&before, &after)),
            )?;
            let out = String::from_utf8(run.stdout).unwrap();
            expect(
                run.status.code() == Some(code),
                format!("exit status {code}"),
                format!("{}:\n{out}", run.status),
            )?;
            expect(
                out.contains(message),
                format!("{message:?} in the report"),
                out.clone(),
            )?;
            expect(
                out.lines().next().is_some_and(|l| l.starts_with("PGCA ")),
                "the summary line `PGCA ...` first",
                out.clone(),
            )
        });
    }
    table.finish();
}

/// Every entry of the CA directory that nothing accounts for is named, with a status that is not
/// OK: a certificate and key copied into `clients/` under a name the inventory never recorded
/// (CRITICAL), a stray file at the top and in `servers/` (WARNING).
#[test]
fn entries_nothing_accounts_for_are_found() {
    let env = healthy();
    fs::copy(
        env.path("clients/alice.crt"),
        env.path("clients/mallory.crt"),
    )
    .unwrap();
    fs::copy(
        env.path("clients/alice.key"),
        env.path("clients/mallory.key"),
    )
    .unwrap();
    fs::write(env.path("notes.txt"), "remember the milk\n").unwrap();
    fs::write(env.path("servers/localhost.old"), "").unwrap();
    let (code, out) = verify(&env);
    assert_eq!(code, 2, "{out}");
    for (path, status) in [
        ("clients/mallory.crt", "CRITICAL"),
        ("clients/mallory.key", "CRITICAL"),
        ("notes.txt", "WARNING"),
        ("servers/localhost.old", "WARNING"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("{status}: ")) && l.contains(path)),
            "{path} as {status}:\n{out}"
        );
    }
    assert!(out.contains("the inventory records no such name"), "{out}");
    assert!(out.contains("not part of a CA directory's layout"), "{out}");
}

/// What pgca itself leaves in a CA directory is all accounted for: after renewals (`NAME.prev`),
/// a revocation and its CRLs, a second server deployed, a probes list and a signed external key,
/// verify finds nothing.
#[test]
fn what_pgca_makes_is_accounted_for() {
    let env = healthy();
    env.ok(&["renew", "--force", "alice"]);
    env.ok(&["renew", "--force", "alice"]);
    env.ok(&["revoke", "bob", "--reason", "keyCompromise"]);
    env.ok(&["issue-server", "db.example.com"]);
    let data = env.tmp.path().join("data");
    env.ok(&[
        "deploy-server",
        "localhost",
        "--data-dir",
        data.to_str().unwrap(),
        "--probe",
        "127.0.0.1:5432",
    ]);
    assert!(env.path("probes").exists());
    assert!(env.path("clients/alice.prev").symlink_metadata().is_ok());
    let (code, out) = verify(&env);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(" 0 problems"), "{out}");
}
