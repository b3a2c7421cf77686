//! The `pgca` command line, run as a user would run it.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{
    Env, Table, command_line, expect, expect_eq, mode, one_line, pgca_bin, snapshot, snapshot_diff,
};
use pgca::{CertInfo, PrivateKey};

/// Whether a key (encrypted with the test passphrase, or not) belongs to a certificate.
fn key_matches_cert(key: &Path, cert: &Path) -> bool {
    let pass = pgca::Passphrase::new("test passphrase");
    let k = PrivateKey::from_pem_with(&fs::read_to_string(key).unwrap(), key, Some(&pass)).unwrap();
    k.public_key_der() == CertInfo::from_file(cert).unwrap().spki_der
}

#[test]
fn init_creates_two_independent_cas_with_private_modes() {
    let env = Env::init(&["--org", "Acme"]);
    assert_eq!(mode(&env.ca), 0o700);
    for f in ["server-ca.key", "client-ca.key"] {
        assert_eq!(mode(&env.path(f)), 0o600, "{f}");
    }
    let server = CertInfo::from_file(&env.path("server-ca.crt")).unwrap();
    let client = CertInfo::from_file(&env.path("client-ca.crt")).unwrap();
    assert!(server.is_ca && client.is_ca);
    assert_ne!(server.subject, client.subject);
    assert_ne!(server.spki_der, client.spki_der, "each CA has its own key");
    assert!(
        server.subject.contains("O=Acme") && server.subject.contains("pgca server CA"),
        "{}",
        server.subject
    );
    assert!(key_matches_cert(
        &env.path("server-ca.key"),
        &env.path("server-ca.crt")
    ));
    assert!(key_matches_cert(
        &env.path("client-ca.key"),
        &env.path("client-ca.crt")
    ));
    let days = (server.not_after - server.not_before).whole_days();
    assert!(
        (3650..=3651).contains(&days),
        "default CA validity is 10 years: {days}"
    );
    let inv = fs::read_to_string(env.path("inventory.jsonl")).unwrap();
    // Both CAs in one batch, closed by its commit line.
    let lines: Vec<&str> = inv.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines[0].contains("\"kind\":\"server-ca\"") && lines[1].contains("\"kind\":\"client-ca\"")
    );
    assert!(lines[2].starts_with(r#"{"event":"commit","events":2,"sha256":""#));
}

#[test]
fn init_with_server_hosts_issues_the_server_certificate() {
    let env = Env::init(&[
        "--server-host",
        "DB.example.com",
        "--server-host",
        "10.0.0.5",
        "--key-type",
        "ecdsa-p384",
    ]);
    let info = CertInfo::from_file(&env.path("servers/db.example.com.crt")).unwrap();
    assert_eq!(info.common_name.as_deref(), Some("db.example.com"));
    assert_eq!(info.sans, ["db.example.com", "10.0.0.5"]);
    assert_eq!(info.key_type, "ecdsa-p384");
    assert_eq!(
        CertInfo::from_file(&env.path("server-ca.crt"))
            .unwrap()
            .key_type,
        "ecdsa-p384"
    );
    assert!(key_matches_cert(
        &env.path("servers/db.example.com.key"),
        &env.path("servers/db.example.com.crt")
    ));
}

#[test]
fn issue_server_profile() {
    let env = Env::init(&[]);
    let out = env.ok(&[
        "issue-server",
        "db.example.com",
        "*.db.example.com",
        "127.0.0.1",
        "::1",
        "--validity",
        "90d",
    ]);
    assert!(out.contains("servers/db.example.com.crt"), "{out}");
    let info = CertInfo::from_file(&env.path("servers/db.example.com.crt")).unwrap();
    assert_eq!(info.subject, "CN=db.example.com");
    assert_eq!(
        info.sans,
        ["db.example.com", "*.db.example.com", "127.0.0.1", "::1"]
    );
    assert_eq!(info.extended_key_usage, ["serverAuth"]);
    assert_eq!(info.key_usage, ["digitalSignature"]);
    assert!(!info.is_ca);
    assert_eq!(
        (info.not_after - info.not_before).whole_seconds(),
        90 * 86_400 + 300,
        "90 days + 5 min backdating"
    );
    assert_eq!(mode(&env.path("servers/db.example.com.key")), 0o600);
}

#[test]
fn a_host_name_over_64_characters_is_a_san_and_never_the_cn() {
    // RFC 5280 bounds a CN at 64 characters: a longer first name gives the CN to the next one
    // that fits; when none fits the subject is empty and the SAN extension critical.
    let env = Env::init(&[]);
    let long = format!("{}.example.com", "a".repeat(58));
    assert_eq!(long.len(), 70);
    let subject_and_sans = |name: &str| {
        let (ok, text) = common::openssl(&[
            "x509",
            "-in",
            common::p(&env.path(&format!("servers/{name}.crt"))),
            "-noout",
            "-subject",
            "-ext",
            "subjectAltName",
        ]);
        assert!(ok, "{text}");
        text
    };
    env.ok(&["issue-server", &long, "db.example.com"]);
    let text = subject_and_sans(&long);
    assert!(text.starts_with("subject=CN = db.example.com\n"), "{text}");
    assert!(
        text.contains(&format!(
            "X509v3 Subject Alternative Name: \n    DNS:{long}, DNS:db.example.com\n"
        )),
        "{text}"
    );

    let longer = format!("{long}.x");
    env.ok(&["issue-server", &longer, &long]);
    let text = subject_and_sans(&longer);
    assert!(text.starts_with("subject=\n"), "no CN at all: {text}");
    assert!(
        text.contains(&format!(
            "X509v3 Subject Alternative Name: critical\n    DNS:{longer}, DNS:{long}\n"
        )),
        "{text}"
    );
    let out = env.ok(&["verify"]);
    assert!(out.starts_with("PGCA OK"), "{out}");
}

#[test]
fn issue_client_many_roles_including_unusual_valid_names() {
    let env = Env::init(&[]);
    let long = "r".repeat(63);
    let roles = [
        "alice",
        "App User",
        "user@example.com",
        "O'Brien",
        "日本語",
        "-dash",
        "Alice",
        &long,
    ];
    // O'Brien and -dash are unusual (a quote, a leading '-'): PostgreSQL allows them, so does
    // --allow-unusual-role.
    let mut args = vec!["issue-client", "--allow-unusual-role", "--"];
    args.extend(roles);
    let out = env.ok(&args);
    assert_eq!(out.lines().count(), roles.len(), "{out}");
    let mut serials = std::collections::HashSet::new();
    for r in roles {
        let crt = env.path(&format!("clients/{r}.crt"));
        let info = CertInfo::from_file(&crt).unwrap();
        assert_eq!(info.common_name.as_deref(), Some(r));
        assert_eq!(info.extended_key_usage, ["clientAuth"]);
        assert!(info.sans.is_empty());
        assert!(key_matches_cert(
            &env.path(&format!("clients/{r}.key")),
            &crt
        ));
        assert!(serials.insert(info.serial.clone()));
        assert!(info.serial.as_bytes().len() >= 8, "at least 64 bits");
    }
}

#[test]
fn keys_are_0600_whatever_the_umask() {
    let env = Env::new();
    let script = format!(
        "umask 000 && export PGCA_PASSPHRASE_FILE={pass} && {bin} --dir {dir} init && {bin} --dir {dir} issue-client alice && {bin} --dir {dir} issue-server db",
        bin = pgca_bin(),
        dir = env.ca.display(),
        pass = env.passphrase_file().display()
    );
    let st = Command::new("sh").arg("-c").arg(&script).status().unwrap();
    assert!(st.success());
    for k in [
        "server-ca.key",
        "client-ca.key",
        "clients/alice.key",
        "servers/db.key",
    ] {
        assert_eq!(mode(&env.path(k)), 0o600, "{k}");
    }
    assert_eq!(mode(&env.ca), 0o700);
}

#[test]
fn force_replaces_cert_and_key_together_and_keeps_the_old_pair() {
    let env = Env::init(&[]);
    env.ok(&["issue-client", "alice"]);
    let old = CertInfo::from_file(&env.path("clients/alice.crt")).unwrap();
    let out = env.ok(&["issue-client", "alice", "--force", "--key-type", "ed25519"]);
    assert!(out.starts_with("replaced client certificate"), "{out}");
    let new = CertInfo::from_file(&env.path("clients/alice.crt")).unwrap();
    assert_ne!(old.serial, new.serial);
    assert_eq!(new.key_type, "ed25519");
    assert!(key_matches_cert(
        &env.path("clients/alice.key"),
        &env.path("clients/alice.crt")
    ));
    let archived = env.path(&format!("clients/archive/{}/alice.crt", old.serial));
    assert_eq!(
        CertInfo::from_file(&archived).unwrap().serial,
        old.serial,
        "old pair kept"
    );
    let list = env.ok(&["list"]);
    assert!(
        list.contains(&format!("{}  ", old.serial)) && list.contains("superseded"),
        "{list}"
    );
}

#[test]
fn list_table_and_json() {
    let env = Env::init(&["--server-host", "localhost"]);
    env.ok(&["issue-client", "bob", "--validity", "30d"]);
    let table = env.ok(&["list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("KIND")
            && lines[0].contains("NOT AFTER")
            && lines[0].ends_with("STATE")
    );
    assert_eq!(lines.len(), 5, "{table}");
    let json: serde_json::Value = serde_json::from_str(&env.ok(&["list", "--json"])).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let bob = rows.iter().find(|r| r["name"] == "bob").unwrap();
    assert_eq!(bob["kind"], "client");
    assert_eq!(bob["state"], "valid");
    assert!(bob["days_left"].as_i64().unwrap() >= 29);
    assert_eq!(bob["serial"].as_str().unwrap().len(), 32);
    assert!(bob["cert"].as_str().unwrap().ends_with("clients/bob.crt"));
    assert!(bob["not_after"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn inspect_text_and_json() {
    let env = Env::init(&["--server-host", "localhost", "--server-host", "127.0.0.1"]);
    let crt = env.path("servers/localhost.crt");
    let text = env.ok(&["inspect", crt.to_str().unwrap()]);
    for want in [
        "subject:             CN=localhost",
        "SANs:                localhost, 127.0.0.1",
        "extended key usage:  serverAuth",
        "key type:            ecdsa-p256",
        "signature:           ecdsa-with-SHA256",
        "days left",
        "SHA-256 fingerprint:",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", "--json", crt.to_str().unwrap()])).unwrap();
    assert_eq!(json["common_name"], "localhost");
    assert_eq!(json["is_ca"], false);
    assert!(json["days_left"].as_i64().unwrap() >= 364);
    assert_eq!(
        json["sha256_fingerprint"].as_str().unwrap().len(),
        32 * 3 - 1
    );
    let ca = CertInfo::from_file(&env.path("server-ca.crt")).unwrap();
    assert_eq!(
        json["authority_key_id"].as_str(),
        ca.subject_key_id.as_deref()
    );
}

#[test]
fn inspect_escapes_control_characters_in_foreign_certificates_and_crls() {
    // A hostile certificate: an ESC sequence that turns the terminal red, a BEL, and a newline
    // forging a row, in the subject (so the issuer too: it is self-signed) and the SANs.
    let env = Env::new();
    let evil = "evil\u{1b}[31m\u{7}\nSANs:                trusted.example.com";
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, evil);
    params.subject_alt_names = vec![
        rcgen::SanType::DnsName("x\u{1b}]0;title\u{7}.example.com".try_into().unwrap()),
        rcgen::SanType::URI("https://a\r\nb.example/".try_into().unwrap()),
    ];
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let crt = env.tmp.path().join("evil.crt");
    fs::write(&crt, cert.pem()).unwrap();
    let crl = rcgen::CertificateRevocationListParams {
        this_update: time::OffsetDateTime::now_utc(),
        next_update: time::OffsetDateTime::now_utc() + time::Duration::days(1),
        crl_number: rcgen::SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: Vec::new(),
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(&rcgen::Issuer::new(params, key))
    .unwrap();
    let crl_file = env.tmp.path().join("evil.crl");
    fs::write(&crl_file, crl.pem().unwrap()).unwrap();

    let rows = |file: &Path, n: usize| {
        let text = env.ok(&["inspect", file.to_str().unwrap()]);
        let controls: Vec<u8> = text
            .bytes()
            .filter(|&b| (b < 0x20 && b != b'\n') || b == 0x7f)
            .collect();
        assert!(controls.is_empty(), "control bytes {controls:?} in\n{text}");
        assert_eq!(text.lines().count(), n, "one line per row:\n{text}");
        text
    };
    let text = rows(&crt, 15);
    let shown = "evil\\x1b[31m\\x07\\nSANs:                trusted.example.com";
    for want in [
        format!("subject:             CN={shown}\n"),
        format!("issuer:              CN={shown}\n"),
        "SANs:                x\\x1b]0;title\\x07.example.com, URI(https://a\\r\\nb.example/)\n"
            .into(),
    ] {
        assert!(text.contains(&want), "missing {want:?} in\n{text}");
    }
    let text = rows(&crl_file, 7);
    assert!(
        text.contains(&format!("issuer:       CN={shown}\n")),
        "{text}"
    );

    // JSON keeps the values as they are, escaped by JSON's rules.
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", "--json", crt.to_str().unwrap()])).unwrap();
    assert_eq!(json["common_name"], evil);
    assert_eq!(json["subject"], format!("CN={evil}"));
}

/// One row of the bad-input table.
struct Bad {
    what: &'static str,
    setup: fn(&Env),
    args: Vec<String>,
    message: &'static str,
}

fn bad(what: &'static str, setup: fn(&Env), args: &[&str], message: &'static str) -> Bad {
    Bad {
        what,
        setup,
        args: args.iter().map(|s| s.to_string()).collect(),
        message,
    }
}

fn no_setup(_: &Env) {}
/// A CA directory, and a well-formed enrollment token, 0600, beside it (never minted).
fn token_file(env: &Env) {
    do_init(env);
    common::write_secret(
        &env.tmp.path().join("token"),
        "pgca1.0011223344556677.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    );
}
// The table's directories are unencrypted, so that its ~100 rows do not each pay for key
// derivation; the passphrase rows and tests/passphrase.rs cover encrypted keys.
fn do_init(env: &Env) {
    env.ok(&["init", "--no-passphrase"]);
}
fn rollover_started(env: &Env) {
    env.ok(&["init", "--no-passphrase"]);
    env.ok(&["issue-client", "alice"]);
    env.ok(&["rollover", "start", "client"]);
}
fn encrypted_init(env: &Env) {
    env.ok(&["init"]);
    env.ok(&["issue-client", "alice"]);
}
fn init_and_server(env: &Env) {
    env.ok(&["init", "--no-passphrase", "--server-host", "localhost"]);
}
fn init_with_data_dir(env: &Env) {
    init_and_server(env);
    let data = env.tmp.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("PG_VERSION"), "15\n").unwrap();
}
fn with_service(env: &Env) {
    init_and_alice(env);
    let file = env.tmp.path().join("svc");
    env.ok(&[
        "service",
        "add",
        "db",
        "--role",
        "alice",
        "--host",
        "db",
        "--file",
        file.to_str().unwrap(),
    ]);
}
fn init_and_alice(env: &Env) {
    env.ok(&["init", "--no-passphrase"]);
    env.ok(&["issue-client", "alice"]);
}

#[test]
fn bad_input_is_refused_with_one_line_exit_1_and_nothing_written() {
    let long_role = "x".repeat(64);
    let rows = vec![
        bad(
            "issue before init",
            no_setup,
            &["issue-client", "alice"],
            "no CA in ",
        ),
        bad(
            "issue-server before init",
            no_setup,
            &["issue-server", "db"],
            "run `pgca init`",
        ),
        bad("list before init", no_setup, &["list"], "no CA in "),
        bad("repair before init", no_setup, &["repair"], "no CA in "),
        bad(
            "rollover switch with no rollover",
            do_init,
            &["rollover", "switch", "client"],
            "no rollover of the client CA is under way",
        ),
        bad(
            "rollover finish with no rollover",
            do_init,
            &["rollover", "finish", "server"],
            "no rollover of the server CA is under way",
        ),
        bad(
            "rollover started twice",
            rollover_started,
            &["rollover", "start", "client"],
            "a rollover of the client CA is already under way (phase trust-both)",
        ),
        bad(
            "rollover finish before switch",
            rollover_started,
            &["rollover", "finish", "client"],
            "is in phase trust-both: finish is not its next step",
        ),
        bad(
            "rollover switch twice",
            |e| {
                rollover_started(e);
                e.ok(&["rollover", "switch", "client"]);
            },
            &["rollover", "switch", "client"],
            "is in phase issue-new: switch is not its next step",
        ),
        bad(
            "rollover finish with a leaf on the old CA",
            |e| {
                rollover_started(e);
                e.ok(&["rollover", "switch", "client"]);
            },
            &["rollover", "finish", "client"],
            "cannot finish: 1 still on the old CA: client alice",
        ),
        bad(
            "init on an existing CA",
            do_init,
            &["init"],
            "already holds a CA",
        ),
        bad(
            "init over leftovers",
            |e| {
                fs::create_dir_all(&e.ca).unwrap();
                fs::write(e.ca.join("server-ca.key"), "x").unwrap();
            },
            &["init"],
            "holds ",
        ),
        bad(
            "empty role",
            do_init,
            &["issue-client", ""],
            "invalid role name \"\": empty",
        ),
        bad(
            "over-long role",
            do_init,
            &["issue-client", &long_role],
            "longer than 63 bytes",
        ),
        bad(
            "newline in role",
            do_init,
            &["issue-client", "x\n[evil]\nhost=attacker"],
            "control characters",
        ),
        bad(
            "tab in role",
            do_init,
            &["issue-client", "a\tb"],
            "control characters",
        ),
        bad(
            "slash in role",
            do_init,
            &["issue-client", "a/b"],
            "'/' is not allowed",
        ),
        bad(
            "dot-dot role",
            do_init,
            &["issue-client", ".."],
            "cannot be file names",
        ),
        bad(
            "one bad role in a batch",
            do_init,
            &["issue-client", "good1", "good2", "bad/role"],
            "'/'",
        ),
        bad(
            "duplicate role",
            do_init,
            &["issue-client", "bob", "bob"],
            "\"bob\" is given twice",
        ),
        bad(
            "host with space",
            do_init,
            &["issue-server", "db host"],
            "spaces are not allowed",
        ),
        bad(
            "empty host",
            do_init,
            &["issue-server", ""],
            "invalid host name \"\": empty",
        ),
        bad(
            "empty label",
            do_init,
            &["issue-server", "a..b"],
            "empty label",
        ),
        bad(
            "trailing junk",
            do_init,
            &["issue-server", "db.example.com!"],
            "only letters",
        ),
        bad(
            "trailing dot",
            do_init,
            &["issue-server", "db.example.com."],
            "trailing dot",
        ),
        bad(
            "bad wildcard",
            do_init,
            &["issue-server", "db.*.com"],
            "wildcard",
        ),
        bad(
            "not quite an IP",
            do_init,
            &["issue-server", "10.0.0.256"],
            "not a valid one",
        ),
        bad(
            "duplicate host",
            do_init,
            &["issue-server", "db", "DB"],
            "given twice",
        ),
        bad(
            "zero validity",
            do_init,
            &["issue-client", "a", "--validity", "0d"],
            "greater than zero",
        ),
        bad(
            "negative validity",
            do_init,
            &["issue-client", "a", "--validity", "-5d"],
            "must be positive",
        ),
        bad(
            "unparseable validity",
            do_init,
            &["issue-client", "a", "--validity", "soon"],
            "invalid duration \"soon\"",
        ),
        bad(
            "validity without unit",
            do_init,
            &["issue-client", "a", "--validity", "90"],
            "missing unit",
        ),
        bad(
            "validity past the CA",
            do_init,
            &["issue-client", "a", "--validity", "11y"],
            "after the client CA does",
        ),
        bad(
            "server validity past the CA",
            do_init,
            &["issue-server", "db", "--validity", "20y"],
            "after the server CA does",
        ),
        bad(
            "unknown key type",
            do_init,
            &["issue-client", "a", "--key-type", "rsa1024"],
            "unknown key type \"rsa1024\"",
        ),
        bad(
            "unknown CA key type",
            no_setup,
            &["init", "--key-type", "dsa"],
            "unknown key type",
        ),
        bad(
            "existing cert without --force",
            init_and_alice,
            &["issue-client", "alice"],
            "alice.crt already exists: use --force",
        ),
        bad(
            "existing cert in a batch",
            init_and_alice,
            &["issue-client", "zed", "alice"],
            "alice.crt already exists",
        ),
        bad(
            "corrupt CA key",
            |e| {
                do_init(e);
                fs::write(e.ca.join("client-ca.key"), "garbage").unwrap();
            },
            &["issue-client", "a"],
            "client-ca.key: not a PEM file",
        ),
        bad(
            "CA key of the other CA",
            |e| {
                do_init(e);
                fs::copy(e.ca.join("server-ca.key"), e.ca.join("client-ca.key")).unwrap();
            },
            &["issue-client", "a"],
            "client-ca.key does not match certificate",
        ),
        bad(
            "missing CA key",
            |e| {
                do_init(e);
                fs::remove_file(e.ca.join("server-ca.key")).unwrap();
            },
            &["issue-server", "db"],
            "cannot read CA key",
        ),
        bad(
            "unreadable CA key",
            |e| {
                do_init(e);
                fs::remove_file(e.ca.join("client-ca.key")).unwrap();
                fs::create_dir(e.ca.join("client-ca.key")).unwrap();
            },
            &["issue-client", "a"],
            "client-ca.key: is a directory",
        ),
        bad(
            "corrupt CA certificate",
            |e| {
                do_init(e);
                fs::write(
                    e.ca.join("client-ca.crt"),
                    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                )
                .unwrap();
            },
            &["issue-client", "a"],
            "cannot use certificate",
        ),
        bad(
            "CA certificate replaced by a leaf",
            |e| {
                init_and_alice(e);
                fs::copy(e.ca.join("clients/alice.crt"), e.ca.join("client-ca.crt")).unwrap();
            },
            &["issue-client", "b"],
            "not a CA certificate",
        ),
        bad(
            "empty org",
            no_setup,
            &["init", "--org", ""],
            "invalid organisation name",
        ),
        bad(
            "zero CA validity",
            no_setup,
            &["init", "--ca-validity", "0y"],
            "greater than zero",
        ),
        bad(
            "bad host at init",
            no_setup,
            &["init", "--server-host", "a b"],
            "spaces are not allowed",
        ),
        bad(
            "server cert outliving new CAs",
            no_setup,
            &[
                "init",
                "--server-host",
                "db",
                "--ca-validity",
                "30d",
                "--validity",
                "1y",
            ],
            "outlive the CAs",
        ),
        bad(
            "default server validity outliving new CAs",
            no_setup,
            &["init", "--server-host", "db", "--ca-validity", "60d"],
            "the server certificate's validity (1y, the default) would outlive the CAs (60d): \
             give a --validity of at most 60d, or a longer --ca-validity",
        ),
        bad(
            "server validity outliving the default CAs",
            no_setup,
            &["init", "--server-host", "db", "--validity", "20y"],
            "the server certificate's validity (20y) would outlive the CAs (10y, the default): \
             give a --validity of at most 10y, or a longer --ca-validity",
        ),
        bad(
            "inspect a missing file",
            no_setup,
            &["inspect", "/nonexistent/x.crt"],
            "cannot read certificate /nonexistent/x.crt",
        ),
        bad(
            "inspect a key",
            init_and_alice,
            &["inspect", "@/clients/alice.key"],
            "no CERTIFICATE block",
        ),
        bad(
            "corrupt inventory",
            |e| {
                init_and_alice(e);
                let p = e.ca.join("inventory.jsonl");
                let mut s = fs::read_to_string(&p).unwrap();
                s.insert_str(0, "not json\n");
                fs::write(p, s).unwrap();
            },
            &["list"],
            "is corrupt at line 1",
        ),
        bad(
            "deploy before init",
            no_setup,
            &["deploy-server", "localhost", "--data-dir", "/tmp"],
            "no CA in ",
        ),
        bad(
            "client-install before init",
            no_setup,
            &["client-install", "alice", "--to", "@/../home"],
            "no CA in ",
        ),
        bad(
            "service add before init",
            no_setup,
            &[
                "service", "add", "db", "--role", "alice", "--host", "db", "--file", "@/../svc",
            ],
            "no CA in ",
        ),
        bad(
            "env before init",
            no_setup,
            &["env", "alice", "--host", "db"],
            "no CA in ",
        ),
        bad(
            "deploy to a non-data-dir",
            init_and_server,
            &["deploy-server", "localhost", "--data-dir", "@/.."],
            "is not a PostgreSQL data directory",
        ),
        bad(
            "deploy to a missing dir",
            init_and_server,
            &[
                "deploy-server",
                "localhost",
                "--data-dir",
                "/nonexistent/pg",
            ],
            "cannot open data directory /nonexistent/pg",
        ),
        bad(
            "deploy an unknown server",
            init_with_data_dir,
            &["deploy-server", "db", "--data-dir", "@/../data"],
            "no server certificate for \"db\"",
        ),
        bad(
            "deploy to an unknown owner",
            init_with_data_dir,
            &[
                "deploy-server",
                "localhost",
                "--data-dir",
                "@/../data",
                "--owner",
                "no-such-user",
            ],
            "unknown user \"no-such-user\"",
        ),
        bad(
            "server-config for an unknown server",
            do_init,
            &["server-config", "db"],
            "run `pgca issue-server db`",
        ),
        bad(
            "client-install an unknown role",
            do_init,
            &["client-install", "bob", "--to", "@/../home"],
            "no client certificate for \"bob\"",
        ),
        bad(
            "client-install a bad role",
            do_init,
            &["client-install", "a/b", "--to", "@/../home"],
            "'/' is not allowed",
        ),
        bad(
            "client-install over existing files",
            |e| {
                init_and_alice(e);
                fs::create_dir_all(e.tmp.path().join("home")).unwrap();
                fs::write(e.tmp.path().join("home/postgresql.key"), "mine").unwrap();
            },
            &["client-install", "alice", "--to", "@/../home"],
            "postgresql.key already exists: use --force",
        ),
        bad(
            "service with [ in its name",
            init_and_alice,
            &[
                "service", "add", "[x", "--role", "alice", "--host", "db", "--file", "@/../svc",
            ],
            "'[' and ']' are not allowed",
        ),
        bad(
            "service for an unknown role",
            do_init,
            &[
                "service", "add", "db", "--role", "bob", "--host", "db", "--file", "@/../svc",
            ],
            "no client certificate for \"bob\"",
        ),
        bad(
            "service with a bad host",
            init_and_alice,
            &[
                "service", "add", "db", "--role", "alice", "--host", "a..b", "--file", "@/../svc",
            ],
            "empty label",
        ),
        bad(
            "service with a bad port",
            init_and_alice,
            &[
                "service", "add", "db", "--role", "alice", "--host", "db", "--port", "99999",
                "--file", "@/../svc",
            ],
            "invalid port",
        ),
        bad(
            "service with an injected dbname",
            init_and_alice,
            &[
                "service",
                "add",
                "db",
                "--role",
                "alice",
                "--host",
                "db",
                "--dbname",
                "x\n[evil]\nhost=attacker",
                "--file",
                "@/../svc",
            ],
            "control character",
        ),
        bad(
            "service with a padded dbname",
            init_and_alice,
            &[
                "service", "add", "db", "--role", "alice", "--host", "db", "--dbname", " x",
                "--file", "@/../svc",
            ],
            "white space at either end",
        ),
        bad(
            "service that exists",
            with_service,
            &[
                "service", "add", "db", "--role", "alice", "--host", "db", "--file", "@/../svc",
            ],
            "service \"db\" already exists",
        ),
        bad(
            "remove a missing service",
            with_service,
            &["service", "remove", "nope", "--file", "@/../svc"],
            "nope",
        ),
        bad(
            "show a missing service",
            with_service,
            &["service", "show", "nope", "--file", "@/../svc"],
            "nope",
        ),
        bad(
            "issue with a bad service name issues nothing",
            do_init,
            &[
                "issue-client",
                "bob",
                "--service",
                "a]b",
                "--host",
                "db",
                "--file",
                "@/../svc",
            ],
            "'[' and ']' are not allowed",
        ),
        bad(
            "service file that is a directory",
            |e| {
                init_and_alice(e);
                fs::create_dir(e.tmp.path().join("svc")).unwrap();
            },
            &[
                "service", "add", "db", "--role", "alice", "--host", "db", "--file", "@/../svc",
            ],
            "svc",
        ),
        bad(
            "revoke an unknown name",
            init_and_alice,
            &["revoke", "bob"],
            "no certificate named \"bob\"",
        ),
        bad(
            "revoke an unknown serial",
            init_and_alice,
            &["revoke", "0123456789abcdef0123456789abcdef"],
            "and no certificate with that serial",
        ),
        bad(
            "revoke a malformed serial",
            init_and_alice,
            &["revoke", "zz:zz:zz"],
            "it is not a serial",
        ),
        bad(
            "revoke with an unknown reason",
            init_and_alice,
            &["revoke", "alice", "--reason", "stolen"],
            "unknown revocation reason \"stolen\"",
        ),
        bad(
            "revoke the client CA by name",
            init_and_alice,
            &["revoke", "client-ca"],
            "client-ca cannot be revoked",
        ),
        bad(
            "revoke the server CA by serial",
            |e| {
                init_and_alice(e);
                let serial = pgca::CertInfo::from_file(&e.ca.join("server-ca.crt"))
                    .unwrap()
                    .serial
                    .to_string();
                fs::write(e.tmp.path().join("serial"), serial).unwrap();
            },
            &["revoke", "@serial"],
            "server-ca cannot be revoked",
        ),
        bad(
            "revoke with a zero CRL period",
            init_and_alice,
            &["revoke", "alice", "--next-update", "0d"],
            "greater than zero",
        ),
        bad(
            "crl with a bad period",
            do_init,
            &["crl", "--next-update", "soon"],
            "invalid duration",
        ),
        bad(
            "a service with a CRL that does not exist",
            init_and_alice,
            &[
                "service", "add", "db", "--role", "alice", "--host", "db", "--crl", "--file",
                "@/../svc",
            ],
            "run `pgca crl`",
        ),
        bad(
            "wrong passphrase",
            |e| {
                encrypted_init(e);
                fs::write(e.passphrase_file(), "not the passphrase\n").unwrap();
            },
            &["issue-client", "bob"],
            "wrong passphrase for",
        ),
        bad(
            "wrong passphrase for renew",
            |e| {
                encrypted_init(e);
                fs::write(e.passphrase_file(), "not the passphrase\n").unwrap();
            },
            &["renew", "--force"],
            "wrong passphrase for",
        ),
        bad(
            "wrong passphrase for revoke",
            |e| {
                encrypted_init(e);
                fs::write(e.passphrase_file(), "not the passphrase\n").unwrap();
            },
            &["revoke", "alice"],
            "wrong passphrase for",
        ),
        bad(
            "empty passphrase file",
            |e| {
                encrypted_init(e);
                fs::write(e.passphrase_file(), "\n").unwrap();
            },
            &["crl"],
            "unusable passphrase from",
        ),
        bad(
            "missing passphrase file",
            |e| {
                encrypted_init(e);
                fs::remove_file(e.passphrase_file()).unwrap();
            },
            &["issue-server", "db"],
            "cannot read passphrase file",
        ),
        bad(
            "passwd with a wrong passphrase",
            |e| {
                encrypted_init(e);
                common::write_secret(&e.tmp.path().join("new"), "new passphrase\n");
                fs::write(e.passphrase_file(), "not the passphrase\n").unwrap();
            },
            &["passwd", "--new-passphrase-file", "@/../new"],
            "wrong passphrase for",
        ),
        bad(
            "env with a bad port",
            init_and_alice,
            &["env", "alice", "--host", "db", "--port", "0"],
            "invalid port \"0\"",
        ),
        bad(
            "env with a non-numeric port",
            init_and_alice,
            &["env", "alice", "--host", "db", "--port", "x"],
            "invalid port",
        ),
        bad(
            "env with a bad host",
            init_and_alice,
            &["env", "alice", "--host", "a b"],
            "spaces are not allowed",
        ),
        bad(
            "export of an unknown name",
            do_init,
            &["export", "carol", "--format", "pem", "--out", "@/carol"],
            "no server or client certificate for \"carol\"",
        ),
        bad(
            "export over an existing file",
            init_and_alice,
            &[
                "export",
                "alice",
                "--format",
                "pk8",
                "--out",
                "@/server-ca.crt",
            ],
            "already exists: use --force",
        ),
        bad(
            "env for an unknown role",
            do_init,
            &["env", "carol", "--host", "db"],
            "no client certificate for \"carol\"",
        ),
        bad(
            "conninfo for an unknown role",
            do_init,
            &["conninfo", "carol", "--host", "db", "--driver", "libpq"],
            "no client certificate for \"carol\"",
        ),
        bad(
            "conninfo to a wildcard host",
            init_and_alice,
            &[
                "conninfo",
                "alice",
                "--host",
                "*.example.com",
                "--driver",
                "uri",
            ],
            "a wildcard is not a host to connect to",
        ),
        bad(
            "conninfo with a bad port",
            init_and_alice,
            &[
                "conninfo", "alice", "--host", "db", "--port", "0", "--driver", "jdbc",
            ],
            "invalid port \"0\"",
        ),
        bad(
            "sign a certificate instead of a request",
            do_init,
            &["sign", "@/server-ca.crt", "--server"],
            "neither PEM (a CERTIFICATE REQUEST block) nor DER",
        ),
        bad(
            "request for a role pgca refuses",
            no_setup,
            &["request", "--client", "bad/role", "--out", "@/req"],
            "invalid role name \"bad/role\"",
        ),
        bad(
            "serve before init",
            no_setup,
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--tls-name",
                "localhost",
            ],
            "no CA in ",
        ),
        bad(
            "serve on an address that is not ADDR:PORT",
            do_init,
            &["serve", "--listen", "localhost", "--tls-name", "localhost"],
            "invalid address \"localhost\": not ADDR:PORT",
        ),
        bad(
            "serve with a server certificate never issued",
            do_init,
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--tls-name",
                "db9.example.com",
            ],
            "db9.example.com",
        ),
        bad(
            "enroll with a CA address that is not https",
            no_setup,
            &[
                "enroll",
                "--ca",
                "http://ca:8443",
                "--fingerprint",
                "00",
                "--token-file",
                "@/../token",
                "--client",
                "alice",
                "--to",
                "@/../home",
            ],
            "invalid address \"http://ca:8443\": pgca serve is reached over https://",
        ),
        bad(
            "enroll with a token file that does not exist",
            do_init,
            &[
                "enroll",
                "--ca",
                "https://127.0.0.1:1",
                "--fingerprint",
                "00",
                "--token-file",
                "@/../token",
                "--client",
                "alice",
                "--to",
                "@/../home",
            ],
            "token",
        ),
        bad(
            "enroll with a fingerprint that is not SHA-256",
            token_file,
            &[
                "enroll",
                "--ca",
                "https://127.0.0.1:1",
                "--fingerprint",
                "00",
                "--token-file",
                "@/../token",
                "--client",
                "alice",
                "--to",
                "@/../home",
            ],
            "not a SHA-256 fingerprint",
        ),
        bad(
            "agent for a data directory nothing was enrolled into",
            do_init,
            &[
                "agent",
                "--ca",
                "https://127.0.0.1:1",
                "--data-dir",
                "@/..",
                "--once",
            ],
            "pgca-tls",
        ),
        bad(
            "agent told a reload password on its command line",
            do_init,
            &[
                "agent",
                "--ca",
                "https://127.0.0.1:1",
                "--data-dir",
                "@/..",
                "--reload",
                "sql",
                "--reload-conninfo",
                "user=r password=hunter2",
                "--once",
            ],
            "invalid reload connection string \"user=r password=***\": a password in it",
        ),
        bad(
            "inventory export before init",
            no_setup,
            &["inventory", "export", "@/inv.export"],
            "no CA in ",
        ),
        bad(
            "inventory export into a directory that does not exist",
            do_init,
            &["inventory", "export", "@/missing/inv.export"],
            "cannot open directory",
        ),
        bad(
            "inventory import of a file that is not an export",
            do_init,
            &["inventory", "import", "@/inventory.jsonl"],
            "line 1 is not an export header",
        ),
        bad(
            "an inventory database with a password in its connection string",
            do_init,
            &["--inventory", "host=127.0.0.1 password=hunter2", "list"],
            "inventory database host=127.0.0.1 password=***: a password written into the connection string would be readable by other users",
        ),
        bad(
            "an inventory database that does not answer",
            do_init,
            &["--inventory", "host=127.0.0.1 port=1 user=pgca", "list"],
            "inventory database host=127.0.0.1 port=1 user=pgca: ",
        ),
        bad(
            "token before init",
            no_setup,
            &["token", "alice", "--client"],
            "no CA in ",
        ),
        bad(
            "token accepted for longer than 7d",
            do_init,
            &["token", "db1", "--server", "--ttl", "8d"],
            "an enrollment token is accepted for at most 7d",
        ),
        bad(
            "token for a host name pgca refuses",
            do_init,
            &["token", "bad host", "--server"],
            "invalid host name \"bad host\"",
        ),
    ];
    // Every command pgca documents has bad input refused here, but check, verify, probe, audit
    // and roles, whose failures are findings with Nagios exit codes (tests/renew.rs,
    // tests/verify.rs, probe's bad input in `probe_bad_input_is_unknown` below, audit's in
    // tests/audit.rs `bad_targets_are_one_line_and_unknown`, roles' in tests/audit_roles.rs
    // `roles_needs_a_running_server`), help, and completions, whose only bad input is an
    // unknown shell: a usage error, exit 2 (tests/snapshots.rs).
    let elsewhere = [
        "check",
        "verify",
        "probe",
        "audit",
        "roles",
        "help",
        "completions",
    ];
    let documented = commands_in_help();
    for c in elsewhere {
        assert!(documented.contains(&c.to_string()), "--help lists no {c}");
    }
    let missing: Vec<&String> = documented
        .iter()
        .filter(|c| !elsewhere.contains(&c.as_str()) && !rows.iter().any(|r| &r.args[0] == *c))
        .collect();
    assert!(
        missing.is_empty(),
        "commands in --help without a row in the bad-input table: {missing:?}"
    );

    let mut table = Table::new("bad input");
    for row in rows {
        table.row(row.what, command_line("pgca", &row.args), |r| {
            let env = Env::new();
            (row.setup)(&env);
            let before = snapshot(env.tmp.path());
            let serial = fs::read_to_string(env.tmp.path().join("serial")).unwrap_or_default();
            let args: Vec<String> = row
                .args
                .iter()
                .map(|a| {
                    if a == "@serial" {
                        serial.clone()
                    } else {
                        a.replace("@/", &format!("{}/", env.ca.display()))
                    }
                })
                .collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            r.ran(command_line(
                &format!("pgca --dir {}", env.ca.display()),
                &args,
            ));
            let out = env.run(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            expect(
                out.status.code() == Some(1),
                "exit status 1",
                format!("{}, stderr {stderr:?}", out.status),
            )?;
            let lines: Vec<&str> = stderr.lines().collect();
            expect(
                lines.len() == 1 && lines[0].starts_with("pgca: "),
                "one line on stderr, starting with `pgca: `",
                format!("stderr {stderr:?}"),
            )?;
            expect(
                lines[0].contains(row.message),
                format!("{:?} in the error line", row.message),
                format!("{:?}", lines[0]),
            )?;
            let after = snapshot(env.tmp.path());
            expect(
                before == after,
                "no file changed",
                format!("files changed:\n{}", snapshot_diff(&before, &after)),
            )
        });
    }
    table.finish();
}

/// `probe` speaks Nagios like check: bad input is UNKNOWN (exit 3), said on stdout, and nothing
/// is connected to.
#[test]
fn probe_bad_input_is_unknown() {
    let env = Env::new();
    do_init(&env);
    let mut table = Table::new("probe bad input");
    for (what, args, message) in [
        (
            "a bad timeout",
            &["probe", "db", "--timeout", "soon"][..],
            "invalid duration \"soon\"",
        ),
        (
            "a zero timeout",
            &["probe", "db", "--timeout", "0s"],
            "invalid duration \"0s\"",
        ),
        ("a bad port", &["probe", "db:0"], "invalid port \"0\""),
        (
            "a wildcard",
            &["probe", "*.example.com"],
            "a wildcard cannot be probed",
        ),
        (
            "no CA directory",
            &["probe", "db", "--dir", "/nonexistent/pgca"],
            "/nonexistent/pgca",
        ),
    ] {
        table.row(what, command_line("pgca", args), |r| {
            r.ran(command_line("pgca", args));
            let out = env.run(args);
            let stdout = String::from_utf8_lossy(&out.stdout);
            expect(
                out.status.code() == Some(3),
                "exit status 3",
                format!("{}, stdout {stdout:?}", out.status),
            )?;
            expect(
                stdout.starts_with("PGCA UNKNOWN - ") && stdout.contains(message),
                format!("PGCA UNKNOWN naming {message:?}"),
                format!("{stdout:?}"),
            )
        });
    }
    table.finish();
}

/// The commands `pgca --help` lists.
fn commands_in_help() -> Vec<String> {
    let out = Command::new(pgca_bin()).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let (_, section) = text
        .split_once("\nCommands:\n")
        .expect("--help has a Commands section");
    let commands: Vec<String> = section
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l[2..].starts_with(' ')) // a description wrapped onto the next line
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert!(!commands.is_empty(), "no commands in\n{text}");
    commands
}

#[test]
fn an_unwritable_directory_is_a_clean_failure() {
    let env = Env::init(&[]);
    let before = snapshot(&env.ca);
    // Root ignores permission bits, so run as an unprivileged user when we are root.
    let is_root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let out = if is_root {
        fs::set_permissions(
            env.tmp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        Command::new("runuser")
            .args(["-u", "nobody", "--", pgca_bin(), "--dir"])
            .arg(&env.ca)
            .args(["issue-client", "alice"])
            .output()
            .unwrap()
    } else {
        fs::set_permissions(&env.ca, std::os::unix::fs::PermissionsExt::from_mode(0o500)).unwrap();
        let out = env.run(&["issue-client", "alice"]);
        fs::set_permissions(&env.ca, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        out
    };
    assert_eq!(out.status.code(), Some(1));
    let line = one_line(&out.stderr);
    assert!(
        line.contains("permission denied") && line.contains(env.ca.to_str().unwrap()),
        "{line}"
    );
    assert_eq!(before, snapshot(&env.ca));
}

#[test]
fn concurrent_processes_never_share_a_serial_or_corrupt_the_inventory() {
    let env = Env::init(&[]);
    let children: Vec<_> = (0..4)
        .map(|p| {
            let roles: Vec<String> = (0..250).map(|i| format!("p{p}-r{i}")).collect();
            Command::new(pgca_bin())
                .arg("--dir")
                .arg(&env.ca)
                .arg("issue-client")
                .arg("--quiet")
                .args(&roles)
                .env("PGCA_PASSPHRASE_FILE", env.passphrase_file())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let rows: serde_json::Value = serde_json::from_str(&env.ok(&["list", "--json"])).unwrap();
    let clients: Vec<&serde_json::Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "client")
        .collect();
    assert_eq!(clients.len(), 1000);
    let serials: std::collections::HashSet<&str> = clients
        .iter()
        .map(|r| r["serial"].as_str().unwrap())
        .collect();
    assert_eq!(serials.len(), 1000);
    for r in &clients {
        let name = r["name"].as_str().unwrap();
        let crt = env.path(&format!("clients/{name}.crt"));
        assert_eq!(
            CertInfo::from_file(&crt).unwrap().serial.to_string(),
            r["serial"].as_str().unwrap()
        );
        assert!(key_matches_cert(
            &env.path(&format!("clients/{name}.key")),
            &crt
        ));
    }
    assert!(!env.path(".pending").exists());
}

#[test]
fn usage_errors_exit_2_and_help_documents_exit_codes() {
    let mut table = Table::new("usage errors");
    for (what, args) in [
        ("unknown command", &["bogus"][..]),
        ("missing argument", &["issue-client"]),
        ("unknown option", &["init", "--no-such-flag"]),
        ("no command", &[]),
    ] {
        table.row(what, command_line("pgca", args), |_| {
            let out = Command::new(pgca_bin()).args(args).output().unwrap();
            expect_eq("exit status", Some(2), out.status.code())
        });
    }
    table.finish();
    let help = Command::new(pgca_bin()).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    for want in [
        "Exit status:",
        "0  success",
        "1  failure",
        "2  usage error",
        "PGCA_DIR",
        "issue-client",
    ] {
        assert!(text.contains(want), "--help lacks {want:?}");
    }
    let version = Command::new(pgca_bin()).arg("--version").output().unwrap();
    assert!(
        String::from_utf8(version.stdout)
            .unwrap()
            .starts_with("pgca ")
    );
}

#[test]
fn the_directory_comes_from_pgca_dir_or_the_default() {
    let env = Env::new();
    let st = Command::new(pgca_bin())
        .args(["init", "--no-passphrase"])
        .env("PGCA_DIR", &env.ca)
        .status()
        .unwrap();
    assert!(st.success());
    assert!(env.path("inventory.jsonl").exists());

    let home = tempfile::tempdir().unwrap();
    let out = Command::new(pgca_bin())
        .args(["init", "--no-passphrase"])
        .env_remove("PGCA_DIR")
        .env_remove("XDG_DATA_HOME")
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(home.path().join(".local/share/pgca/client-ca.crt").exists());
}

#[test]
fn bulk_issue_shows_progress_on_a_terminal_and_nothing_elsewhere() {
    let env = Env::init(&["--no-passphrase"]);
    let roles: Vec<String> = (0..150).map(|i| format!("p{i}")).collect();
    // Not a terminal: stderr stays empty.
    let mut args = vec!["issue-client"];
    args.extend(roles.iter().map(String::as_str));
    let out = env.run(&args);
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A terminal (script gives pgca a pseudo-terminal): a progress bar that reaches the end.
    let more: Vec<String> = (0..150).map(|i| format!("q{i}")).collect();
    let cmd = format!(
        "{} --dir {} issue-client {} > /dev/null",
        pgca_bin(),
        env.ca.display(),
        more.join(" ")
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("] 150/150 keys"), "{text:?}");
}

#[test]
fn service_list_json_shows_every_section_with_its_keys_sorted() {
    let env = Env::new();
    let file = env.tmp.path().join("svc");
    fs::write(
        &file,
        "# mine\n[b]\nuser=bob\nhost=h\nsslpassword=s\nbogus\n\n[a]\n[b]\nhost=dup\n",
    )
    .unwrap();
    let out = env.ok(&[
        "service",
        "list",
        "--json",
        "--file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        out,
        r#"[
  {
    "entries": {
      "host": "h",
      "sslpassword": "s",
      "user": "bob"
    },
    "line": 2,
    "name": "b",
    "used_by_libpq": true
  },
  {
    "entries": {},
    "line": 8,
    "name": "a",
    "used_by_libpq": true
  },
  {
    "entries": {
      "host": "dup"
    },
    "line": 9,
    "name": "b",
    "used_by_libpq": false
  }
]
"#
    );
    let empty = env.tmp.path().join("none");
    let out = env.ok(&[
        "service",
        "list",
        "--json",
        "--file",
        empty.to_str().unwrap(),
    ]);
    assert_eq!(out, "[]\n");
}
