//! `pgca init --intermediate`: a root and an issuing intermediate per side, leaves whose files
//! carry the chain, the CRLs of both, and an intermediate rollover that changes no trust file.
//! openssl is the judge of every chain and CRL.

mod common;

use std::collections::BTreeSet;

use common::{Env, openssl, p};
use pgca::{CaDir, CertInfo, CertKind};

/// The certificate blocks of a PEM file, each as PEM text.
fn blocks(env: &Env, rel: &str) -> Vec<String> {
    let text = std::fs::read_to_string(env.path(rel)).unwrap();
    text.split_inclusive("-----END CERTIFICATE-----\n")
        .filter(|b| b.contains("BEGIN CERTIFICATE"))
        .map(str::to_string)
        .collect()
}

/// The CRLs of a CRL file, written each to its own file; their paths.
fn split_crls(env: &Env, rel: &str) -> Vec<std::path::PathBuf> {
    let text = std::fs::read_to_string(env.path(rel)).unwrap();
    text.split_inclusive("-----END X509 CRL-----\n")
        .filter(|b| b.contains("BEGIN X509 CRL"))
        .enumerate()
        .map(|(i, b)| {
            let path = env
                .tmp
                .path()
                .join(format!("{}-{i}.crl", rel.replace('/', "_")));
            std::fs::write(&path, b).unwrap();
            path
        })
        .collect()
}

/// A CRL's issuer and the serials it lists (lowercase), as openssl prints them.
fn crl_text(path: &std::path::Path) -> (String, BTreeSet<String>) {
    let (ok, text) = openssl(&["crl", "-in", p(path), "-noout", "-text"]);
    assert!(ok, "{text}");
    let issuer = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Issuer: "))
        .unwrap_or_default()
        .to_string();
    let serials = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Serial Number: "))
        .map(str::to_lowercase)
        .collect();
    (issuer, serials)
}

/// `openssl verify` of a leaf against the root of its side, the intermediate given as untrusted.
fn openssl_verify(env: &Env, root: &str, issuing: &str, leaf: &str, crl: Option<&str>) -> bool {
    let (root, issuing, leaf) = (env.path(root), env.path(issuing), env.path(leaf));
    let crl = crl.map(|c| env.path(c));
    let mut args = vec!["verify", "-CAfile", p(&root), "-untrusted", p(&issuing)];
    if let Some(crl) = &crl {
        args.extend(["-crl_check_all", "-CRLfile", p(crl)]);
    }
    args.push(p(&leaf));
    let (ok, text) = openssl(&args);
    ok && text.contains(": OK")
}

/// A hierarchy with unencrypted CA keys (every signing command would otherwise pay a key
/// derivation per key; encryption is init's test and passwd's below).
fn hierarchy() -> Env {
    let env = Env::init(&[
        "--intermediate",
        "--no-passphrase",
        "--server-host",
        "db.example.com",
    ]);
    env.ok(&["issue-client", "alice", "bob"]);
    env
}

#[test]
fn init_makes_a_root_and_an_issuing_intermediate_per_side() {
    let env = Env::init(&["--intermediate", "--org", "Acme"]);
    for side in ["server", "client"] {
        let root = CertInfo::from_file(&env.path(&format!("{side}-ca.crt"))).unwrap();
        let issuing = CertInfo::from_file(&env.path(&format!("{side}-issuing.crt"))).unwrap();
        assert_eq!(
            blocks(&env, &format!("{side}-ca.crt")).len(),
            1,
            "the root alone"
        );
        assert!(root.is_ca && issuing.is_ca);
        assert_eq!(root.path_len, Some(1));
        assert_eq!(issuing.path_len, Some(0));
        assert_eq!(root.key_usage, vec!["keyCertSign", "cRLSign"]);
        assert_eq!(issuing.key_usage, vec!["keyCertSign", "cRLSign"]);
        assert_eq!(issuing.issuer, root.subject);
        assert_eq!(issuing.authority_key_id, root.subject_key_id);
        assert!(issuing.subject_key_id.is_some());
        assert!(
            issuing
                .subject
                .starts_with(&format!("O=Acme, CN=pgca {side} issuing CA ")),
            "{}",
            issuing.subject
        );
        assert!(issuing.not_after <= root.not_after);
        let key = env.path(&format!("{side}-issuing.key"));
        assert_eq!(common::mode(&key), 0o600);
        assert!(
            std::fs::read_to_string(&key).unwrap().contains("ENCRYPTED"),
            "encrypted like the root's key"
        );
        let (ok, out) = openssl(&[
            "verify",
            "-CAfile",
            p(&env.path(&format!("{side}-ca.crt"))),
            p(&env.path(&format!("{side}-issuing.crt"))),
        ]);
        assert!(ok, "{out}");
    }
    let ledger = CaDir::open(&env.ca).unwrap().inventory().unwrap();
    let issuing = ledger
        .current(CertKind::ClientCa, "client-issuing")
        .unwrap();
    assert_eq!(issuing.cert, "client-issuing.crt");
    assert_eq!(issuing.key, "client-issuing.key");
    let root = CertInfo::from_file(&env.path("client-ca.crt")).unwrap();
    assert_eq!(issuing.ca_serial.as_ref(), Some(&root.serial));
    let list = env.ok(&["list"]);
    assert!(
        list.contains("server-issuing") && list.contains("client-issuing"),
        "{list}"
    );
    env.ok(&["check"]);
    env.ok(&["verify"]);
}

#[test]
fn without_intermediate_nothing_changes() {
    let env = Env::init(&["--server-host", "db"]);
    assert!(!env.path("server-issuing.crt").exists());
    assert!(!env.path("client-issuing.crt").exists());
    assert_eq!(blocks(&env, "servers/db.crt").len(), 1);
    let root = CertInfo::from_file(&env.path("server-ca.crt")).unwrap();
    assert_eq!(root.path_len, Some(0));
}

#[test]
fn leaf_files_hold_the_chain_and_openssl_verifies_it_through_the_intermediate() {
    let env = hierarchy();
    let ledger = CaDir::open(&env.ca).unwrap().inventory().unwrap();
    for (side, kind, name, leaf) in [
        (
            "server",
            CertKind::Server,
            "db.example.com",
            "servers/db.example.com.crt",
        ),
        ("client", CertKind::Client, "alice", "clients/alice.crt"),
    ] {
        let chain = blocks(&env, leaf);
        assert_eq!(chain.len(), 2, "{leaf}: the leaf, then the intermediate");
        assert_eq!(
            chain[1],
            std::fs::read_to_string(env.path(&format!("{side}-issuing.crt"))).unwrap()
        );
        let issuing = CertInfo::from_file(&env.path(&format!("{side}-issuing.crt"))).unwrap();
        let info = CertInfo::from_file(&env.path(leaf)).unwrap();
        assert_eq!(info.issuer, issuing.subject);
        assert_eq!(info.authority_key_id, issuing.subject_key_id);
        let record = ledger.current(kind, name).unwrap();
        assert_eq!(record.ca_serial.as_ref(), Some(&issuing.serial));
        assert_eq!(
            record.sha256.as_deref(),
            Some(
                info.sha256_fingerprint
                    .replace(':', "")
                    .to_lowercase()
                    .as_str()
            ),
            "the inventory holds the leaf's own fingerprint"
        );
        let root = format!("{side}-ca.crt");
        let issuing_file = format!("{side}-issuing.crt");
        assert!(openssl_verify(&env, &root, &issuing_file, leaf, None));
        // The file alone carries what a peer needs besides the root.
        assert!(openssl_verify(&env, &root, leaf, leaf, None));
        // The root alone cannot verify the leaf without the intermediate.
        let (ok, _) = openssl(&[
            "verify",
            "-CAfile",
            p(&env.path(&root)),
            "-partial_chain",
            p(&env.path(&issuing_file)),
        ]);
        assert!(ok);
        let (ok, out) = openssl(&[
            "verify",
            "-CAfile",
            p(&env.path(&root)),
            "-untrusted",
            p(&env.path(&root)),
            p(&env.path(leaf)),
        ]);
        assert!(!ok, "{out}");
    }
    env.ok(&["check"]);
    env.ok(&["verify"]);
    // Exports and installs carry the chain; the root stays the only trust anchor.
    let to = env.tmp.path().join("home");
    std::fs::create_dir(&to).unwrap();
    env.ok(&["client-install", "alice", "--to", p(&to)]);
    assert_eq!(
        std::fs::read(to.join("postgresql.crt")).unwrap(),
        std::fs::read(env.path("clients/alice.crt")).unwrap()
    );
    assert_eq!(
        std::fs::read(to.join("root.crt")).unwrap(),
        std::fs::read(env.path("server-ca.crt")).unwrap()
    );
    env.ok(&["check"]);
}

#[test]
fn verify_reports_a_leaf_file_without_its_intermediate() {
    let env = hierarchy();
    let leaf = env.path("clients/bob.crt");
    let chain = blocks(&env, "clients/bob.crt");
    let target = std::fs::canonicalize(&leaf).unwrap();
    std::fs::write(&target, &chain[0]).unwrap();
    env.ok(&["check"]); // the leaf itself is the recorded one
    let out = env.run(&["verify"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("issuing CA after the certificate"), "{text}");
}

#[test]
fn revocation_lands_in_the_intermediates_crl_and_the_root_signs_its_own() {
    let env = hierarchy();
    let alice = CertInfo::from_file(&env.path("clients/alice.crt")).unwrap();
    env.ok(&["revoke", "alice", "--reason", "keyCompromise"]);
    let crls = split_crls(&env, "client-ca.crl");
    assert_eq!(crls.len(), 2, "the root's CRL and the intermediate's");
    let root = CertInfo::from_file(&env.path("client-ca.crt")).unwrap();
    let issuing = CertInfo::from_file(&env.path("client-issuing.crt")).unwrap();
    let (issuer0, listed0) = crl_text(&crls[0]);
    let (issuer1, listed1) = crl_text(&crls[1]);
    assert!(
        root.subject
            .ends_with(issuer0.rsplit("CN = ").next().unwrap()),
        "{issuer0}"
    );
    assert!(
        issuing
            .subject
            .ends_with(issuer1.rsplit("CN = ").next().unwrap()),
        "{issuer1}"
    );
    assert!(listed0.is_empty(), "the root revoked no intermediate");
    assert_eq!(
        listed1,
        BTreeSet::from([alice.serial.to_string().replace(':', "")])
    );
    for (crl, issuer) in [
        (&crls[0], "client-ca.crt"),
        (&crls[1], "client-issuing.crt"),
    ] {
        let (ok, out) = openssl(&[
            "crl",
            "-in",
            p(crl),
            "-noout",
            "-CAfile",
            p(&env.path(issuer)),
        ]);
        assert!(ok && out.contains("verify OK"), "{out}");
    }
    let crl = Some("client-ca.crl");
    assert!(!openssl_verify(
        &env,
        "client-ca.crt",
        "client-issuing.crt",
        "clients/alice.crt",
        crl
    ));
    assert!(openssl_verify(
        &env,
        "client-ca.crt",
        "client-issuing.crt",
        "clients/bob.crt",
        crl
    ));
    env.ok(&["crl"]);
    assert_eq!(split_crls(&env, "client-ca.crl").len(), 2);
    assert_eq!(split_crls(&env, "server-ca.crl").len(), 2);
    assert!(openssl_verify(
        &env,
        "server-ca.crt",
        "server-issuing.crt",
        "servers/db.example.com.crt",
        Some("server-ca.crl")
    ));
    env.ok(&["check"]);
    env.ok(&["verify"]);
}

#[test]
fn an_intermediate_rollover_changes_no_trust_file() {
    let env = hierarchy();
    env.ok(&["crl"]);
    let trust = |e: &Env| {
        (
            std::fs::read(e.path("client-ca.crt")).unwrap(),
            std::fs::read(e.path("server-ca.crt")).unwrap(),
        )
    };
    let before = trust(&env);
    let old = CertInfo::from_file(&env.path("client-issuing.crt")).unwrap();

    let out = env.ok(&["rollover", "start", "client", "--intermediate"]);
    assert!(out.contains("no trust file changes"), "{out}");
    assert_eq!(trust(&env), before, "phase 1 changes no trust file");
    let new = CertInfo::from_file(&env.path("client-issuing.next.crt")).unwrap();
    assert_eq!(new.issuer, old.issuer, "signed by the same root");
    assert_eq!(
        split_crls(&env, "client-ca.crl").len(),
        3,
        "the root's and both intermediates'"
    );
    env.ok(&["check"]);
    env.ok(&["verify"]);
    let status = env.ok(&["rollover", "status"]);
    assert!(
        status.contains("client issuing CA: rollover in phase trust-both"),
        "{status}"
    );
    assert!(
        env.fails(&["rollover", "finish", "client"])
            .contains("trust-both")
    );

    env.ok(&["rollover", "switch", "client"]);
    let e = env.fails(&["rollover", "finish", "client"]);
    assert!(e.contains("alice"), "{e}");
    env.ok(&["issue-client", "carol"]);
    assert_eq!(
        blocks(&env, "clients/carol.crt")[1],
        std::fs::read_to_string(env.path("client-issuing.next.crt")).unwrap()
    );
    env.ok(&["renew"]);
    assert_eq!(
        blocks(&env, "clients/alice.crt")[1],
        std::fs::read_to_string(env.path("client-issuing.next.crt")).unwrap()
    );
    env.ok(&["check"]);
    env.ok(&["verify"]);

    let out = env.ok(&["rollover", "finish", "client"]);
    assert!(out.contains("issuing CA rollover finished"), "{out}");
    assert_eq!(trust(&env), before, "the trust files never changed");
    assert!(!env.path("client-issuing.next.crt").exists());
    assert_eq!(
        CertInfo::from_file(&env.path("client-issuing.crt"))
            .unwrap()
            .serial,
        new.serial
    );
    let archived = format!("ca-archive/client-issuing-{}", old.serial);
    for ext in ["crt", "key", "crl"] {
        assert!(
            env.path(&format!("{archived}.{ext}")).exists(),
            "{archived}.{ext}"
        );
    }
    assert_eq!(split_crls(&env, "client-ca.crl").len(), 2);
    for role in ["alice", "bob", "carol"] {
        let leaf = format!("clients/{role}.crt");
        assert!(
            openssl_verify(
                &env,
                "client-ca.crt",
                "client-issuing.crt",
                &leaf,
                Some("client-ca.crl")
            ),
            "{role}"
        );
    }
    env.ok(&["check"]);
    env.ok(&["verify"]);
    env.ok(&["revoke", "bob", "--reason", "superseded"]);
    assert!(!openssl_verify(
        &env,
        "client-ca.crt",
        "client-issuing.crt",
        "clients/bob.crt",
        Some("client-ca.crl")
    ));
}

#[test]
fn the_root_of_a_hierarchy_is_not_rolled_over_and_a_flat_ca_has_no_intermediate() {
    let env = hierarchy();
    let e = env.fails(&["rollover", "start", "server"]);
    assert!(
        e.contains("only its intermediate can be rolled over"),
        "{e}"
    );
    let flat = Env::init(&[]);
    let e = flat.fails(&["rollover", "start", "server", "--intermediate"]);
    assert!(e.contains("has no issuing intermediate"), "{e}");
}

#[test]
fn check_and_verify_want_a_crl_for_the_root_and_for_the_intermediate() {
    let env = hierarchy();
    env.ok(&["revoke", "bob"]);
    let text = std::fs::read_to_string(env.path("client-ca.crl")).unwrap();
    let root_only = text
        .split_inclusive("-----END X509 CRL-----\n")
        .next()
        .unwrap()
        .to_string();
    std::fs::write(env.path("client-ca.crl"), root_only).unwrap();
    for cmd in ["check", "verify"] {
        let out = env.run(&[cmd]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {text}");
        assert!(text.contains("1 CRL(s) for the 2 CA"), "{cmd}: {text}");
    }
    env.ok(&["crl"]);
    env.ok(&["check"]);
    env.ok(&["verify"]);
}

#[test]
fn the_intermediate_has_a_rollover_window_of_its_own() {
    let env = Env::init(&["--intermediate", "--no-passphrase", "--ca-validity", "300d"]);
    let out = env.run(&["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("the client issuing CA expires")
            && text.contains("pgca rollover start client --intermediate"),
        "{text}"
    );
    assert!(
        text.contains("pgca does not roll over a hierarchy's root"),
        "the root's advice is not a command that refuses: {text}"
    );
    env.ok(&["rollover", "start", "client", "--intermediate"]);
    let out = String::from_utf8(env.run(&["check", "--json"]).stdout).unwrap();
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let issuing = report["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "client-issuing")
        .unwrap_or_else(|| panic!("{out}"))
        .clone();
    assert!(
        issuing["detail"]
            .as_str()
            .unwrap()
            .contains("its rollover is in phase trust-both"),
        "{issuing}"
    );
    assert!(
        !issuing["status"].as_str().unwrap().contains("WARN"),
        "{issuing}"
    );
    let status = env.ok(&["rollover", "status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let client = &status["sides"][1];
    assert_eq!(client["intermediate"], true, "{status}");
    assert_eq!(client["phase"], "trust-both");
    assert!(client["issuing_ca"].is_string());
}

#[test]
fn passwd_re_encrypts_the_intermediates_with_the_roots() {
    let env = Env::init(&["--intermediate", "--server-host", "db.example.com"]);
    env.ok(&["issue-client", "alice", "bob"]);
    let new = env.tmp.path().join("new-passphrase");
    common::write_secret(&new, "another passphrase\n");
    env.ok(&["passwd", "--new-passphrase-file", p(&new)]);
    let out = std::process::Command::new(common::pgca_bin())
        .arg("--dir")
        .arg(&env.ca)
        .args(["issue-client", "carol"])
        .env_remove("PGCA_PASSPHRASE")
        .env("PGCA_PASSPHRASE_FILE", &new)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        env.run(&["issue-client", "dave"]).status.code() == Some(1),
        "the old passphrase no longer opens the intermediate"
    );
}
