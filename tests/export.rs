//! `pgca export`: every format read back by the tool that consumes it (openssl for PEM, PKCS#8
//! and PKCS#12; keytool for PKCS#12; a YAML parser for the Kubernetes manifests, whose base64
//! payloads must decode to exactly pgca's files), and every refusal: one line, exit status 1,
//! nothing written.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Env, Table, command_line, expect, mode, openssl, p, snapshot};
use pgca::{CaDir, InitOptions, IssueOptions, RoleName};

/// A CA with server db.example.com and client alice (keys of `key_type`).
fn setup(key_type: &str) -> Env {
    let env = Env::init(&["--server-host", "db.example.com", "--key-type", key_type]);
    env.ok(&["issue-client", "alice", "--key-type", key_type]);
    env
}

fn out(env: &Env, name: &str) -> PathBuf {
    env.tmp.path().join(name)
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The public key of a key file (any format openssl reads), as PEM.
fn pubkey(args: &[&str]) -> String {
    let mut all = vec!["pkey"];
    all.extend_from_slice(args);
    all.push("-pubout");
    let (ok, text) = openssl(&all);
    assert!(ok, "openssl {all:?}: {text}");
    text
}

/// A YAML file's documents, as JSON values (python3's yaml module).
fn yaml_docs(path: &Path) -> Vec<serde_json::Value> {
    let out = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import sys, yaml, json; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn b64(v: &serde_json::Value) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().expect("a base64 string"))
        .unwrap()
}

#[test]
fn pem_writes_the_pair_and_the_peers_ca() {
    let env = setup("ecdsa-p256");
    for (name, kind_dir, peer_ca) in [
        ("alice", "clients", "server-ca.crt"),
        ("db.example.com", "servers", "client-ca.crt"),
    ] {
        let dir = out(&env, &format!("{name}-pem"));
        env.ok(&["export", name, "--format", "pem", "--out", p(&dir), "-q"]);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(format!("{name}.key"))), 0o600);
        assert_eq!(
            read(&dir.join(format!("{name}.crt"))),
            read(&env.path(&format!("{kind_dir}/{name}.crt")))
        );
        assert_eq!(
            read(&dir.join(format!("{name}.key"))),
            read(&env.path(&format!("{kind_dir}/{name}.key")))
        );
        assert_eq!(read(&dir.join("ca.crt")), read(&env.path(peer_ca)));
        let mut names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let mut want = vec![
            "ca.crt".to_string(),
            format!("{name}.crt"),
            format!("{name}.key"),
        ];
        want.sort();
        assert_eq!(names, want);
    }
}

#[test]
fn pk8_is_the_key_as_pkcs8_der() {
    for key_type in ["ecdsa-p256", "ed25519", "rsa2048"] {
        let env = setup(key_type);
        let file = out(&env, "alice.pk8");
        let json = env.ok(&[
            "export",
            "alice",
            "--format",
            "pk8",
            "--out",
            p(&file),
            "--json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["format"], "pk8");
        assert_eq!(v["kind"], "client");
        assert_eq!(mode(&file), 0o600, "{key_type}");
        // DER PKCS#8 (openssl reads it as DER, "PRIVATE KEY" structure), the same key.
        let (ok, text) = openssl(&["asn1parse", "-inform", "DER", "-in", p(&file)]);
        assert!(ok, "{key_type}: {text}");
        assert_eq!(
            pubkey(&["-inform", "DER", "-in", p(&file)]),
            pubkey(&["-in", p(&env.path("clients/alice.key"))]),
            "{key_type}"
        );
    }
}

#[test]
fn p12_is_read_by_openssl_and_keytool() {
    for key_type in ["ecdsa-p256", "rsa2048", "ed25519"] {
        let env = setup(key_type);
        let pw = env.tmp.path().join("p12-password");
        common::write_secret(&pw, "correct horse battery\n");
        let file = out(&env, "alice.p12");
        env.ok(&[
            "export",
            "alice",
            "--format",
            "p12",
            "--out",
            p(&file),
            "--key-passphrase-file",
            p(&pw),
            "-q",
        ]);
        assert_eq!(mode(&file), 0o600);
        let passin = format!("file:{}", p(&pw));
        // The structure: what OpenSSL 3 writes by default.
        let (ok, info) = openssl(&[
            "pkcs12",
            "-info",
            "-nokeys",
            "-in",
            p(&file),
            "-passin",
            &passin,
        ]);
        assert!(ok, "{key_type}: {info}");
        for want in [
            "MAC: sha256, Iteration 2048",
            "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256",
            "friendlyName: user",
            "subject=CN = alice",
            "subject=O = pgca, CN = pgca client CA",
        ] {
            assert!(info.contains(want), "{key_type}: no {want:?} in {info}");
        }
        // The chain: the leaf and the client CA, byte for byte.
        let (ok, certs) = openssl(&["pkcs12", "-nokeys", "-in", p(&file), "-passin", &passin]);
        assert!(ok);
        let leaf = String::from_utf8(read(&env.path("clients/alice.crt"))).unwrap();
        let ca = String::from_utf8(read(&env.path("client-ca.crt"))).unwrap();
        assert!(certs.contains(leaf.trim()), "{key_type}: the leaf");
        assert!(certs.contains(ca.trim()), "{key_type}: the CA");
        // The key: decrypts with the password and matches the certificate.
        let keyfile = env.tmp.path().join("p12.key");
        let (ok, text) = openssl(&[
            "pkcs12",
            "-nocerts",
            "-nodes",
            "-in",
            p(&file),
            "-passin",
            &passin,
            "-out",
            p(&keyfile),
        ]);
        assert!(ok, "{key_type}: {text}");
        assert_eq!(
            pubkey(&["-in", p(&keyfile)]),
            pubkey(&["-in", p(&env.path("clients/alice.key"))])
        );
        // A wrong password fails the MAC.
        let bad = env.tmp.path().join("bad-password");
        fs::write(&bad, "wrong\n").unwrap();
        let (ok, _) = openssl(&[
            "pkcs12",
            "-info",
            "-nokeys",
            "-in",
            p(&file),
            "-passin",
            &format!("file:{}", p(&bad)),
        ]);
        assert!(!ok, "{key_type}: a wrong password is accepted");
        // keytool (Java 17): one PrivateKeyEntry named user (the alias pgjdbc looks up), a chain of two.
        let out = Command::new("keytool")
            .args(["-list", "-v", "-storetype", "PKCS12", "-keystore", p(&file)])
            .args(["-storepass:file", p(&pw)])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{key_type}: keytool: {text}");
        check_keytool(key_type, &text);
    }
}

fn check_keytool(key_type: &str, text: &str) {
    for want in [
        "Your keystore contains 1 entry",
        "Alias name: user",
        "Entry type: PrivateKeyEntry",
        "Certificate chain length: 2",
    ] {
        assert!(
            text.contains(want),
            "{key_type}: keytool lacks {want:?}: {text}"
        );
    }
}

#[test]
fn k8s_is_a_tls_secret_of_pgcas_files() {
    let env = setup("ecdsa-p256");
    let file = out(&env, "alice.yaml");
    env.ok(&[
        "export",
        "alice",
        "--format",
        "k8s",
        "--out",
        p(&file),
        "--namespace",
        "prod",
        "-q",
    ]);
    assert_eq!(mode(&file), 0o600);
    let docs = yaml_docs(&file);
    assert_eq!(docs.len(), 1);
    let s = &docs[0];
    assert_eq!(s["apiVersion"], "v1");
    assert_eq!(s["kind"], "Secret");
    assert_eq!(s["type"], "kubernetes.io/tls");
    assert_eq!(s["metadata"]["name"], "pgca-client-alice");
    assert_eq!(s["metadata"]["namespace"], "prod");
    assert_eq!(
        b64(&s["data"]["tls.crt"]),
        read(&env.path("clients/alice.crt"))
    );
    assert_eq!(
        b64(&s["data"]["tls.key"]),
        read(&env.path("clients/alice.key"))
    );
    assert_eq!(b64(&s["data"]["ca.crt"]), read(&env.path("server-ca.crt")));
    assert_eq!(s["data"].as_object().unwrap().len(), 3);

    // A server: its name made DNS-1123, the client CA as ca.crt; --name is taken as given.
    let file = out(&env, "db.yaml");
    env.ok(&[
        "export",
        "db.example.com",
        "--format",
        "k8s",
        "--out",
        p(&file),
        "-q",
    ]);
    let s = &yaml_docs(&file)[0];
    assert_eq!(s["metadata"]["name"], "pgca-server-db.example.com");
    assert!(s["metadata"].get("namespace").is_none());
    assert_eq!(b64(&s["data"]["ca.crt"]), read(&env.path("client-ca.crt")));
    env.ok(&[
        "export",
        "db.example.com",
        "--format",
        "k8s",
        "--out",
        p(&file),
        "--force",
        "--name",
        "pg-tls",
        "-q",
    ]);
    assert_eq!(yaml_docs(&file)[0]["metadata"]["name"], "pg-tls");
}

#[test]
fn cnpg_writes_four_secrets_and_issues_streaming_replica_once() {
    let env = setup("ecdsa-p256");
    let file = out(&env, "cnpg.yaml");
    let json = env.ok(&[
        "export",
        "db.example.com",
        "--format",
        "cnpg",
        "--out",
        p(&file),
        "--name",
        "pg",
        "--namespace",
        "db",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["replication"]["issued"], true);
    assert_eq!(v["replication"]["role"], "streaming_replica");
    assert_eq!(mode(&file), 0o600);
    let docs = yaml_docs(&file);
    let names: Vec<&str> = docs
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "pg-server",
            "pg-server-ca",
            "pg-client-ca",
            "pg-replication"
        ]
    );
    for d in &docs {
        assert_eq!(d["metadata"]["namespace"], "db");
        // Never a CA key.
        assert!(d["data"].get("ca.key").is_none());
    }
    assert_eq!(docs[0]["type"], "kubernetes.io/tls");
    assert_eq!(
        b64(&docs[0]["data"]["tls.crt"]),
        read(&env.path("servers/db.example.com.crt"))
    );
    assert_eq!(
        b64(&docs[0]["data"]["tls.key"]),
        read(&env.path("servers/db.example.com.key"))
    );
    assert_eq!(
        b64(&docs[1]["data"]["ca.crt"]),
        read(&env.path("server-ca.crt"))
    );
    assert_eq!(
        b64(&docs[2]["data"]["ca.crt"]),
        read(&env.path("client-ca.crt"))
    );
    assert_eq!(docs[1]["data"].as_object().unwrap().len(), 1);
    assert_eq!(docs[2]["data"].as_object().unwrap().len(), 1);
    assert_eq!(docs[3]["type"], "kubernetes.io/tls");
    assert_eq!(
        b64(&docs[3]["data"]["tls.crt"]),
        read(&env.path("clients/streaming_replica.crt"))
    );
    assert_eq!(
        b64(&docs[3]["data"]["tls.key"]),
        read(&env.path("clients/streaming_replica.key"))
    );
    let (ok, text) = openssl(&[
        "verify",
        "-purpose",
        "sslclient",
        "-CAfile",
        p(&env.path("client-ca.crt")),
        p(&env.path("clients/streaming_replica.crt")),
    ]);
    assert!(ok, "{text}");
    let (_, subject) = openssl(&[
        "x509",
        "-noout",
        "-subject",
        "-in",
        p(&env.path("clients/streaming_replica.crt")),
    ]);
    assert!(subject.contains("CN = streaming_replica"), "{subject}");

    // Again: the current streaming_replica certificate is reused, not issued twice.
    let json = env.ok(&[
        "export",
        "db.example.com",
        "--format",
        "cnpg",
        "--out",
        p(&file),
        "--force",
        "--json",
    ]);
    let again: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(again["replication"]["issued"], false);
    assert_eq!(again["replication"]["serial"], v["replication"]["serial"]);
}

/// A CA whose client alice's certificate expired (issued 400 days ago for a year).
fn with_expired_client(env: &Env) {
    let ago = time::OffsetDateTime::now_utc() - time::Duration::days(400);
    let mut init = InitOptions::default();
    init.now = Some(ago);
    let ca = CaDir::init(&env.ca, &init).unwrap();
    let mut opts = IssueOptions::default();
    opts.now = Some(ago);
    ca.issue_client(&"alice".parse::<RoleName>().unwrap(), &opts)
        .unwrap();
}

#[test]
fn bad_input_writes_nothing() {
    type Setup = fn(&Env);
    fn plain(env: &Env) {
        env.ok(&["init", "--server-host", "db.example.com"]);
        env.ok(&["issue-client", "alice"]);
    }
    let rows: Vec<(&str, Setup, Vec<&str>, &str)> = vec![
        (
            "unknown name",
            plain,
            vec!["export", "bob", "--format", "pem", "--out", "@/out"],
            "no server or client certificate for \"bob\"",
        ),
        (
            "revoked",
            |env| {
                env.ok(&["init"]);
                env.ok(&["issue-client", "alice"]);
                env.ok(&["revoke", "alice", "-q"]);
            },
            vec!["export", "alice", "--format", "k8s", "--out", "@/out"],
            "is revoked",
        ),
        (
            "expired",
            with_expired_client,
            vec!["export", "alice", "--format", "pk8", "--out", "@/out"],
            "expired",
        ),
        (
            "existing file",
            |env| {
                plain(env);
                fs::write(env.tmp.path().join("out"), "mine").unwrap();
            },
            vec!["export", "alice", "--format", "pk8", "--out", "@/out"],
            "already exists: use --force",
        ),
        (
            "existing pem directory",
            |env| {
                plain(env);
                fs::create_dir(env.tmp.path().join("out")).unwrap();
            },
            vec!["export", "alice", "--format", "pem", "--out", "@/out"],
            "already exists",
        ),
        (
            "missing directory",
            plain,
            vec![
                "export",
                "alice",
                "--format",
                "p12",
                "--out",
                "@/nowhere/out",
                "--key-passphrase-file",
                "@/passphrase",
            ],
            "nowhere",
        ),
        (
            "p12 without a password on a non-terminal",
            plain,
            vec!["export", "alice", "--format", "p12", "--out", "@/out"],
            "no password for the PKCS#12 file",
        ),
        (
            "cnpg of a client",
            plain,
            vec!["export", "alice", "--format", "cnpg", "--out", "@/out"],
            "server certificate",
        ),
        (
            "unknown format",
            plain,
            vec!["export", "alice", "--format", "jks", "--out", "@/out"],
            "invalid export format",
        ),
        (
            "bad secret name",
            plain,
            vec![
                "export", "alice", "--format", "k8s", "--out", "@/out", "--name", "Bad_Name",
            ],
            "DNS-1123",
        ),
        (
            "bad namespace",
            plain,
            vec![
                "export",
                "alice",
                "--format",
                "k8s",
                "--out",
                "@/out",
                "--namespace",
                "a.b",
            ],
            "DNS-1123",
        ),
        (
            "encrypted key as p12",
            |env| {
                env.ok(&["init"]);
                common::write_secret(&env.tmp.path().join("kp"), "client key pass\n");
                let kp = env.tmp.path().join("kp");
                env.ok(&["issue-client", "alice", "--key-passphrase-file", p(&kp)]);
            },
            vec![
                "export",
                "alice",
                "--format",
                "p12",
                "--out",
                "@/out",
                "--key-passphrase-file",
                "@/kp",
            ],
            "needs the key in the clear",
        ),
    ];
    let mut table = Table::new("export: bad input");
    for (label, setup, args, want) in rows {
        table.row(label, command_line("pgca", &args), |r| {
            let env = Env::new();
            setup(&env);
            let args: Vec<String> = args
                .iter()
                .map(|a| a.replace("@/", &format!("{}/", env.tmp.path().display())))
                .collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            r.ran(command_line("pgca", &args));
            let before = snapshot(env.tmp.path());
            let out = env.run(&args);
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            expect(
                out.status.code() == Some(1),
                "exit status 1",
                format!("{} {stderr:?}", out.status),
            )?;
            expect(
                stderr.lines().count() == 1 && stderr.starts_with("pgca: "),
                "one line on stderr",
                stderr.clone(),
            )?;
            expect(
                stderr.contains(want),
                format!("a line with {want:?}"),
                stderr.clone(),
            )?;
            let after = snapshot(env.tmp.path());
            expect(
                before == after,
                "nothing written",
                format!("{:?}", common::snapshot_diff(&before, &after)),
            )
        });
    }
    table.finish();
}

#[test]
fn force_replaces_and_a_link_at_the_name_is_replaced_not_followed() {
    let env = setup("ecdsa-p256");
    let victim = env.tmp.path().join("victim");
    fs::write(&victim, "precious").unwrap();
    let file = out(&env, "alice.pk8");
    std::os::unix::fs::symlink(&victim, &file).unwrap();
    // Without --force: refused, the link and its target untouched.
    let line = env.fails(&["export", "alice", "--format", "pk8", "--out", p(&file)]);
    assert!(line.contains("already exists"), "{line}");
    env.ok(&[
        "export",
        "alice",
        "--format",
        "pk8",
        "--out",
        p(&file),
        "--force",
        "-q",
    ]);
    assert_eq!(read(&victim), b"precious");
    assert!(
        !fs::symlink_metadata(&file)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(mode(&file), 0o600);
}

/// Every command in the `pgca export` part of docs/clients.md runs as written (in a directory
/// of its own, `pgca` on PATH, the CA in PGCA_DIR), except the synopsis line and `kubectl apply`,
/// for which the manifest it names must parse as Kubernetes Secrets.
#[test]
fn the_export_part_of_the_clients_guide_runs_as_written() {
    let text =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/clients.md")).unwrap();
    let part = text
        .split_once("\n# Files for other clients and platforms")
        .expect("docs/clients.md has its export part")
        .1;
    let mut lines = Vec::new();
    let mut in_sh = false;
    for l in part.lines() {
        match (in_sh, l.trim_start().starts_with("```")) {
            (false, true) => in_sh = l.trim() == "```sh",
            (true, true) => in_sh = false,
            (true, false) if !l.trim().is_empty() => lines.push(l.trim().to_string()),
            _ => {}
        }
    }
    let env = Env::init(&["--server-host", "localhost"]);
    env.ok(&["issue-client", "alice"]);
    let work = tempfile::tempdir().unwrap();
    common::write_secret(&work.path().join("alice.pass"), "p12 pass\n");
    let bin_dir = Path::new(common::pgca_bin()).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let (mut ran, mut applied) = (0, 0);
    for line in &lines {
        if line.contains("NAME") || line.contains("FORMAT") {
            continue; // the synopsis
        }
        if let Some(file) = line.strip_prefix("kubectl apply -f ") {
            let docs = yaml_docs(&work.path().join(file));
            assert!(!docs.is_empty(), "{line}: no documents");
            for d in &docs {
                assert_eq!(d["kind"], "Secret", "{line}: {d}");
                assert_eq!(d["apiVersion"], "v1", "{line}: {d}");
            }
            applied += 1;
            continue;
        }
        let out = Command::new("sh")
            .args(["-c", line])
            .current_dir(work.path())
            .env("PATH", &path)
            .env("PGCA_DIR", &env.ca)
            .env("PGCA_PASSPHRASE_FILE", env.passphrase_file())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docs/clients.md: {line}\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    assert_eq!((ran, applied), (8, 2), "commands run, manifests parsed");
}
