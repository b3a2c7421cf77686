//! `pgca request` and `pgca sign`: keys made on their host, certificates signed from requests
//! (PKCS#10), recorded with an external key. Every request and certificate is checked with
//! openssl; bad input is refused with one line, exit 1 and nothing written; the write paths
//! are attacked as `nobody`.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    Env, Table, command_line, expect, mode, one_line, openssl, p, snapshot, snapshot_diff,
};

/// Runs `pgca ARGS` with no CA directory anywhere: no `--dir`, no `PGCA_DIR`, `HOME` and
/// `XDG_DATA_HOME` in an empty directory (what `request` needs on a database host).
fn run_bare(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(common::pgca_bin())
        .args(args)
        .env_remove("PGCA_DIR")
        .env_remove("PGCA_PASSPHRASE")
        .env_remove("PGCA_PASSPHRASE_FILE")
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("xdg"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn bare_ok(home: &Path, args: &[&str]) -> String {
    let out = run_bare(home, args);
    assert!(
        out.status.success(),
        "pgca {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The DER SubjectPublicKeyInfo of a key or certificate file, as openssl sees it (PEM text).
fn public_key_of_key(key: &Path) -> String {
    let (ok, out) = openssl(&["pkey", "-in", p(key), "-pubout"]);
    assert!(ok, "{out}");
    out
}

fn public_key_of_cert(cert: &Path) -> String {
    let (ok, out) = openssl(&["x509", "-in", p(cert), "-noout", "-pubkey"]);
    assert!(ok, "{out}");
    out
}

fn cert_text(cert: &Path) -> String {
    let (ok, out) = openssl(&["x509", "-in", p(cert), "-noout", "-text"]);
    assert!(ok, "{out}");
    out
}

/// Every file below `root` (not following links) that holds a private key.
fn private_keys_below(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let md = fs::symlink_metadata(e.path()).unwrap();
            if md.is_dir() {
                todo.push(e.path());
            } else if md.is_file() {
                let bytes = fs::read(e.path()).unwrap();
                if String::from_utf8_lossy(&bytes).contains("PRIVATE KEY") {
                    found.push(e.path());
                }
            }
        }
    }
    found.sort();
    found
}

#[test]
fn a_server_and_a_client_key_made_elsewhere_are_signed_and_only_the_ca_keys_stay_in_the_ca() {
    let env = Env::init(&[]);
    let host = env.tmp.path().join("host");
    let out = bare_ok(
        env.tmp.path(),
        &[
            "request",
            "--server",
            "db.example.com",
            "10.0.0.5",
            "--out",
            p(&host),
        ],
    );
    assert!(
        out.contains("pgca sign db.example.com.csr --server"),
        "{out}"
    );
    let (key, csr) = (
        host.join("db.example.com.key"),
        host.join("db.example.com.csr"),
    );
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&host), 0o700);
    let (ok, text) = openssl(&["req", "-in", p(&csr), "-verify", "-noout", "-text"]);
    assert!(ok, "{text}");
    assert!(text.contains("verify OK"), "{text}");
    assert!(text.contains("Subject: CN = db.example.com"), "{text}");
    assert!(
        text.contains("DNS:db.example.com, IP Address:10.0.0.5"),
        "{text}"
    );

    let crt = host.join("db.example.com.crt");
    let out = env.ok(&["sign", p(&csr), "--server", "--out", p(&crt)]);
    assert!(out.contains("external key"), "{out}");
    let (ok, v) = openssl(&["verify", "-CAfile", p(&env.path("server-ca.crt")), p(&crt)]);
    assert!(ok, "{v}");
    assert_eq!(public_key_of_cert(&crt), public_key_of_key(&key));
    assert_eq!(
        fs::read(&crt).unwrap(),
        fs::read(env.path("servers/db.example.com.crt")).unwrap()
    );
    let text = cert_text(&crt);
    assert!(
        text.contains("DNS:db.example.com, IP Address:10.0.0.5"),
        "{text}"
    );
    assert!(text.contains("TLS Web Server Authentication"), "{text}");
    assert!(text.contains("CA:FALSE"), "{text}");

    // A client key made by openssl (software nobody here wrote), signed for the role alice.
    let client = env.tmp.path().join("client");
    fs::create_dir(&client).unwrap();
    let (ok, o) = openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
        "-nodes",
        "-keyout",
        p(&client.join("alice.key")),
        "-out",
        p(&client.join("alice.csr")),
        "-subj",
        "/O=Acme/CN=alice",
    ]);
    assert!(ok, "{o}");
    let json = env.ok(&[
        "sign",
        p(&client.join("alice.csr")),
        "--client",
        "--json",
        "--validity",
        "30d",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["out"], serde_json::Value::Null);
    let v = &v["issued"][0];
    assert_eq!(v["external_key"], true);
    assert_eq!(v["key"], serde_json::Value::Null);
    assert_eq!(v["key_type"], "ecdsa-p384");
    let alice = env.path("clients/alice.crt");
    assert_eq!(
        public_key_of_cert(&alice),
        public_key_of_key(&client.join("alice.key"))
    );
    let text = cert_text(&alice);
    assert!(text.contains("Subject: CN = alice\n"), "{text}");
    assert!(text.contains("TLS Web Client Authentication"), "{text}");
    assert!(!env.path("clients/alice.key").exists());

    // The CA directory holds no private key but the two CA keys.
    assert_eq!(
        private_keys_below(&env.ca),
        vec![env.path("client-ca.key"), env.path("server-ca.key")]
    );

    // list, check and verify see them, marked external-key.
    let list = env.ok(&["list"]);
    assert!(list.contains("valid (external key)"), "{list}");
    let rows: serde_json::Value = serde_json::from_str(&env.ok(&["list", "--json"])).unwrap();
    let externals = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["external_key"] == true)
        .count();
    assert_eq!(externals, 2);
    let check: serde_json::Value = serde_json::from_str(&env.ok(&["check", "--json"])).unwrap();
    assert_eq!(check["status"], "OK", "{check}");
    let external_findings = check["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["external_key"] == true)
        .count();
    assert_eq!(external_findings, 2, "{check}");
    let verify = env.ok(&["verify"]);
    assert!(verify.starts_with("PGCA OK"), "{verify}");

    // export: pem is the certificate alone; formats that carry the key are refused.
    let pem = env.tmp.path().join("pem");
    env.ok(&["export", "alice", "--format", "pem", "--out", p(&pem)]);
    let mut names: Vec<String> = fs::read_dir(&pem)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["alice.crt", "ca.crt"]);
    common::write_secret(&env.tmp.path().join("pw"), "export pw\n");
    for (format, out) in [("p12", "a.p12"), ("pk8", "a.pk8"), ("k8s", "a.yaml")] {
        let line = env.fails(&[
            "export",
            "alice",
            "--format",
            format,
            "--out",
            p(&env.tmp.path().join(out)),
            "--key-passphrase-file",
            p(&env.tmp.path().join("pw")),
        ]);
        assert!(line.contains("client alice has an external key"), "{line}");
        assert!(!env.tmp.path().join(out).exists());
    }
    // Nothing that needs the key in the CA directory uses it.
    let data = env.tmp.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("PG_VERSION"), "15\n").unwrap();
    let line = env.fails(&["deploy-server", "db.example.com", "--data-dir", p(&data)]);
    assert!(
        line.contains("server db.example.com has an external key"),
        "{line}"
    );
    let line = env.fails(&["env", "alice", "--host", "db.example.com"]);
    assert!(line.contains("client alice has an external key"), "{line}");
    let home = env.tmp.path().join("home");
    let line = env.fails(&["client-install", "alice", "--to", p(&home)]);
    assert!(line.contains("client alice has an external key"), "{line}");
    assert!(!home.exists());
    let svc = env.tmp.path().join("svc");
    let line = env.fails(&[
        "service",
        "add",
        "db",
        "--role",
        "alice",
        "--host",
        "db.example.com",
        "--file",
        p(&svc),
    ]);
    assert!(line.contains("client alice has an external key"), "{line}");
    assert!(!svc.exists());
}

#[test]
fn renew_signs_the_recorded_public_key_again_for_every_key_type() {
    let env = Env::init(&[]);
    let host = env.tmp.path().join("host");
    for (i, kt) in ["ed25519", "rsa2048", "ecdsa-p256"].iter().enumerate() {
        let role = format!("r{i}");
        bare_ok(
            env.tmp.path(),
            &[
                "request",
                "--client",
                &role,
                "--out",
                p(&host),
                "--key-type",
                kt,
                "-q",
            ],
        );
        env.ok(&[
            "sign",
            p(&host.join(format!("{role}.csr"))),
            "--client",
            "-q",
        ]);
        let crt = env.path(&format!("clients/{role}.crt"));
        let key = host.join(format!("{role}.key"));
        assert_eq!(public_key_of_cert(&crt), public_key_of_key(&key), "{kt}");
        let before = cert_text(&crt);
        let out = env.ok(&["renew", "--force", &role]);
        assert!(
            out.contains("external key: re-signed the recorded public key"),
            "{out}"
        );
        let after = cert_text(&crt);
        assert_ne!(before, after, "{kt}: a new certificate");
        assert_eq!(public_key_of_cert(&crt), public_key_of_key(&key), "{kt}");
        let (ok, v) = openssl(&["verify", "-CAfile", p(&env.path("client-ca.crt")), p(&crt)]);
        assert!(ok, "{kt}: {v}");
        if *kt == "rsa2048" {
            assert!(after.contains("Key Encipherment"), "{after}");
        }
    }
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["renew", "--force", "r0", "--json"])).unwrap();
    assert_eq!(json["renewed"][0]["issued"]["external_key"], true, "{json}");
    assert_eq!(
        private_keys_below(&env.ca),
        vec![env.path("client-ca.key"), env.path("server-ca.key")]
    );
    assert!(env.ok(&["verify"]).starts_with("PGCA OK"));
}

#[test]
fn a_request_asking_for_ca_true_and_foreign_names_gets_pgcas_profile() {
    let env = Env::init(&[]);
    let dir = env.tmp.path().join("req");
    fs::create_dir(&dir).unwrap();
    let make = |name: &str, cn: &str| {
        let (ok, o) = openssl(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            p(&dir.join(format!("{name}.key"))),
            "-out",
            p(&dir.join(format!("{name}.csr"))),
            "-subj",
            &format!("/CN={cn}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-addext",
            "subjectAltName=DNS:db.example.com,IP:10.0.0.5,email:evil@example.com,URI:https://evil.example.com/",
        ]);
        assert!(ok, "{o}");
        dir.join(format!("{name}.csr"))
    };
    let out = env.ok(&["sign", p(&make("db", "db.example.com")), "--server"]);
    assert!(out.contains("asked for CA:TRUE"), "{out}");
    assert!(out.contains("2 requested name(s) of other types"), "{out}");
    let text = cert_text(&env.path("servers/db.example.com.crt"));
    assert!(text.contains("CA:FALSE"), "{text}");
    assert!(!text.contains("CA:TRUE"), "{text}");
    assert!(!text.contains("Certificate Sign"), "{text}");
    assert!(
        text.contains("DNS:db.example.com, IP Address:10.0.0.5\n"),
        "{text}"
    );
    assert!(!text.contains("email:") && !text.contains("URI:"), "{text}");
    // A client: the CN is the role, and no requested name is signed at all.
    let out = env.ok(&["sign", p(&make("bob", "bob")), "--client"]);
    assert!(
        out.contains("alternative name(s) db.example.com, 10.0.0.5 were not signed"),
        "{out}"
    );
    let text = cert_text(&env.path("clients/bob.crt"));
    assert!(text.contains("CA:FALSE"), "{text}");
    assert!(!text.contains("Subject Alternative Name"), "{text}");
    assert!(!text.contains("evil"), "{text}");
    let (ok, v) = openssl(&[
        "verify",
        "-CAfile",
        p(&env.path("client-ca.crt")),
        "-purpose",
        "sslclient",
        p(&env.path("clients/bob.crt")),
    ]);
    assert!(ok, "{v}");
}

#[test]
fn an_encrypted_request_key_opens_with_its_passphrase_only() {
    let tmp = tempfile::tempdir().unwrap();
    let pass = tmp.path().join("pass");
    common::write_secret(&pass, "host secret\n");
    let out = tmp.path().join("out");
    bare_ok(
        tmp.path(),
        &[
            "request",
            "--client",
            "alice",
            "--out",
            p(&out),
            "--key-passphrase-file",
            p(&pass),
            "--json",
        ],
    );
    let key = out.join("alice.key");
    let text = fs::read_to_string(&key).unwrap();
    assert!(
        text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{text}"
    );
    let (ok, _) = openssl(&["pkey", "-in", p(&key), "-passin", "pass:wrong", "-noout"]);
    assert!(!ok);
    let (ok, o) = openssl(&[
        "pkey",
        "-in",
        p(&key),
        "-passin",
        &format!("file:{}", p(&pass)),
        "-noout",
    ]);
    assert!(ok, "{o}");
    let (ok, o) = openssl(&["req", "-in", p(&out.join("alice.csr")), "-verify", "-noout"]);
    assert!(ok, "{o}");
}

/// A CSR (DER) whose signature is broken: the last byte of a valid one changed.
fn broken_signature(env: &Env) -> PathBuf {
    let home = env.tmp.path();
    bare_ok(
        home,
        &[
            "request",
            "--client",
            "mallory",
            "--out",
            p(&home.join("r")),
            "-q",
        ],
    );
    let pem = fs::read(home.join("r/mallory.csr")).unwrap();
    let (ok, _) = openssl(&[
        "req",
        "-in",
        p(&home.join("r/mallory.csr")),
        "-outform",
        "DER",
        "-out",
        p(&home.join("r/mallory.der")),
    ]);
    assert!(ok && !pem.is_empty());
    let mut der = fs::read(home.join("r/mallory.der")).unwrap();
    let last = der.len() - 1;
    der[last] ^= 0x55;
    let path = home.join("broken.der");
    fs::write(&path, der).unwrap();
    path
}

/// A client CSR for a role pgca refuses ("bad/role"), made with the library.
fn invalid_role(env: &Env) -> PathBuf {
    let key = pgca::PrivateKey::generate(pgca::KeyType::EcdsaP256).unwrap();
    let pem =
        pgca::x509::csr::make_request(pgca::CertKind::Client, &["bad/role".into()], &key).unwrap();
    let path = env.tmp.path().join("role.csr");
    fs::write(&path, pem).unwrap();
    path
}

/// A server CSR with a valid CN and an invalid DNS name among its SANs (made by openssl).
fn invalid_host(env: &Env) -> PathBuf {
    let path = env.tmp.path().join("host.csr");
    let (ok, o) = openssl(&[
        "req",
        "-new",
        "-newkey",
        "ed25519",
        "-nodes",
        "-keyout",
        p(&env.tmp.path().join("host.key")),
        "-out",
        p(&path),
        "-subj",
        "/CN=db.example.com",
        "-addext",
        "subjectAltName=DNS:db.example.com,DNS:bad..host",
    ]);
    assert!(ok, "{o}");
    path
}

/// A request openssl makes for a P-521 key, a type pgca does not certify.
fn p521(env: &Env) -> PathBuf {
    let path = env.tmp.path().join("p521.csr");
    let (ok, o) = openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-521",
        "-nodes",
        "-keyout",
        p(&env.tmp.path().join("p521.key")),
        "-out",
        p(&path),
        "-subj",
        "/CN=carol",
    ]);
    assert!(ok, "{o}");
    path
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

/// A request (DER, built by hand) for CN `cn` whose Ed25519 key is the identity point (0x01
/// then 31 zero bytes), signed with R = the identity, s = 0: a signature that verifies for
/// every message under that key, made without any private key.
fn identity_ed25519_request(cn: &str) -> Vec<u8> {
    let ed25519 = der(0x30, &der(0x06, &[0x2b, 0x65, 0x70]));
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut sig = [0u8; 64];
    sig[0] = 1;
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
        &[ed25519.clone(), der(0x03, &[&[0][..], &identity].concat())].concat(),
    );
    let info = der(
        0x30,
        &[der(0x02, &[0]), name, spki, der(0xa0, &[])].concat(),
    );
    der(
        0x30,
        &[info, ed25519, der(0x03, &[&[0][..], &sig].concat())].concat(),
    )
}

/// A P-256 request made by the library, its point moved off the curve (the last byte of y
/// flipped): the key check refuses it before the signature is looked at.
fn off_curve_p256(env: &Env) -> PathBuf {
    let key = pgca::PrivateKey::generate(pgca::KeyType::EcdsaP256).unwrap();
    let pem =
        pgca::x509::csr::make_request(pgca::CertKind::Client, &["carol".into()], &key).unwrap();
    let pem_path = write(env, "p256.csr", pem.as_bytes());
    let der_path = env.tmp.path().join("p256.der");
    let (ok, o) = openssl(&[
        "req",
        "-in",
        p(&pem_path),
        "-outform",
        "DER",
        "-out",
        p(&der_path),
    ]);
    assert!(ok, "{o}");
    let mut der = fs::read(&der_path).unwrap();
    let spki = key.public_key_der();
    let at = der.windows(spki.len()).position(|w| w == spki).unwrap();
    der[at + spki.len() - 1] ^= 1;
    fs::remove_file(&pem_path).unwrap();
    fs::remove_file(&der_path).unwrap();
    write(env, "offcurve.der", &der)
}

/// A request openssl makes with `args` for CN `cn` (`-subj`), its key at `NAME.key`.
fn openssl_request(env: &Env, name: &str, args: &[&str]) -> PathBuf {
    let path = env.tmp.path().join(format!("{name}.csr"));
    let key = env.tmp.path().join(format!("{name}.key"));
    let mut all = vec![
        "req",
        "-new",
        "-nodes",
        "-keyout",
        p(&key),
        "-out",
        p(&path),
    ];
    all.extend_from_slice(args);
    let (ok, o) = openssl(&all);
    assert!(ok, "{o}");
    path
}

fn write(env: &Env, name: &str, bytes: &[u8]) -> PathBuf {
    let path = env.tmp.path().join(name);
    fs::write(&path, bytes).unwrap();
    path
}

/// Bad input to `sign` and `request`: exit 1, one line naming the problem, nothing written (the
/// whole temporary directory, the CA directory and its inventory included, is unchanged).
#[test]
fn bad_input_is_one_line_exit_1_and_nothing_written() {
    type Setup = fn(&Env) -> Vec<String>;
    let rows: Vec<(&str, Setup, &str)> = vec![
        (
            "a broken signature",
            |env| {
                vec![
                    "sign".into(),
                    p(&broken_signature(env)).into(),
                    "--client".into(),
                ]
            },
            "its signature does not verify",
        ),
        (
            "an Ed25519 key of small order (the identity) whose forged signature verifies",
            |env| {
                let path = write(env, "forged.der", &identity_ed25519_request("alice"));
                vec!["sign".into(), p(&path).into(), "--client".into()]
            },
            "the Ed25519 public key is a small-order point (anyone can forge signatures for it)",
        ),
        (
            "the same for a server",
            |env| {
                let path = write(
                    env,
                    "forged.der",
                    &identity_ed25519_request("db.example.com"),
                );
                vec!["sign".into(), p(&path).into(), "--server".into()]
            },
            "forged.der: the Ed25519 public key is a small-order point",
        ),
        (
            "a P-256 point off the curve",
            |env| {
                vec![
                    "sign".into(),
                    p(&off_curve_p256(env)).into(),
                    "--client".into(),
                ]
            },
            "the ECDSA P-256 public key is not a point on the curve",
        ),
        (
            "an RSA key with public exponent 3",
            |env| {
                let key = env.tmp.path().join("e3.key");
                let (ok, o) = openssl(&[
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:2048",
                    "-pkeyopt",
                    "rsa_keygen_pubexp:3",
                    "-out",
                    p(&key),
                ]);
                assert!(ok, "{o}");
                let path = env.tmp.path().join("e3.csr");
                let (ok, o) = openssl(&[
                    "req",
                    "-new",
                    "-key",
                    p(&key),
                    "-out",
                    p(&path),
                    "-subj",
                    "/CN=carol",
                ]);
                assert!(ok, "{o}");
                vec!["sign".into(), p(&path).into(), "--client".into()]
            },
            "the RSA public exponent 3 is below 65537",
        ),
        (
            "an ECDSA-with-SHA512 signature",
            |env| {
                let path = openssl_request(
                    env,
                    "sha512",
                    &[
                        "-newkey",
                        "ec",
                        "-pkeyopt",
                        "ec_paramgen_curve:P-256",
                        "-sha512",
                        "-subj",
                        "/CN=carol",
                    ],
                );
                vec!["sign".into(), p(&path).into(), "--client".into()]
            },
            "its signature algorithm ecdsa-with-SHA512 is not supported",
        ),
        (
            "a request for 101 names",
            |env| {
                let sans: Vec<String> = (0..101).map(|i| format!("DNS:h{i}.example.com")).collect();
                let ext = format!("subjectAltName={}", sans.join(","));
                let path = openssl_request(
                    env,
                    "many",
                    &[
                        "-newkey",
                        "ed25519",
                        "-subj",
                        "/CN=h0.example.com",
                        "-addext",
                        &ext,
                    ],
                );
                vec!["sign".into(), p(&path).into(), "--server".into()]
            },
            "it asks for 101 names, more than the 100 pgca signs",
        ),
        (
            "a request of 2 MiB",
            |env| {
                let mut big = b"-----BEGIN CERTIFICATE REQUEST-----\n".to_vec();
                big.resize(2 << 20, b'A');
                vec![
                    "sign".into(),
                    p(&write(env, "big.csr", &big)).into(),
                    "--server".into(),
                ]
            },
            "big.csr: larger than 1048576 bytes",
        ),
        (
            "a client CSR whose CN is no valid role",
            |env| {
                vec![
                    "sign".into(),
                    p(&invalid_role(env)).into(),
                    "--client".into(),
                ]
            },
            "invalid role name \"bad/role\"",
        ),
        (
            "a server CSR with an invalid host",
            |env| {
                vec![
                    "sign".into(),
                    p(&invalid_host(env)).into(),
                    "--server".into(),
                ]
            },
            "invalid host name \"bad..host\"",
        ),
        (
            "a file that is neither PEM nor DER",
            |env| {
                vec![
                    "sign".into(),
                    p(&write(env, "x.csr", b"hello\n")).into(),
                    "--server".into(),
                ]
            },
            "neither PEM (a CERTIFICATE REQUEST block) nor DER",
        ),
        (
            "DER that is no request",
            |env| {
                vec![
                    "sign".into(),
                    p(&write(env, "x.der", &[0x30, 0x03, 2, 1, 5])).into(),
                    "--client".into(),
                ]
            },
            "not a PKCS#10 certificate request",
        ),
        (
            "a certificate instead of a request",
            |env| {
                vec![
                    "sign".into(),
                    p(&env.path("server-ca.crt")).into(),
                    "--server".into(),
                ]
            },
            "neither PEM (a CERTIFICATE REQUEST block) nor DER",
        ),
        (
            "an empty file",
            |env| {
                vec![
                    "sign".into(),
                    p(&write(env, "empty.csr", b"")).into(),
                    "--server".into(),
                ]
            },
            "neither PEM",
        ),
        (
            "a missing file",
            |env| {
                vec![
                    "sign".into(),
                    p(&env.tmp.path().join("nope.csr")).into(),
                    "--server".into(),
                ]
            },
            "nope.csr",
        ),
        (
            "a key type pgca does not certify",
            |env| vec!["sign".into(), p(&p521(env)).into(), "--client".into()],
            "its key is not of a type pgca certifies",
        ),
        (
            "a client CSR without a CN",
            |env| {
                let path = env.tmp.path().join("nocn.csr");
                let (ok, o) = openssl(&[
                    "req",
                    "-new",
                    "-newkey",
                    "ed25519",
                    "-nodes",
                    "-keyout",
                    p(&env.tmp.path().join("nocn.key")),
                    "-out",
                    p(&path),
                    "-subj",
                    "/O=Acme",
                ]);
                assert!(ok, "{o}");
                vec!["sign".into(), p(&path).into(), "--client".into()]
            },
            "no common name",
        ),
        (
            "a bad validity",
            |env| {
                vec![
                    "sign".into(),
                    p(&invalid_host(env)).into(),
                    "--server".into(),
                    "--validity".into(),
                    "soon".into(),
                ]
            },
            "invalid duration \"soon\"",
        ),
        (
            "an existing certificate without --force",
            |env| {
                env.ok(&["issue-client", "alice"]);
                bare_ok(
                    env.tmp.path(),
                    &[
                        "request",
                        "--client",
                        "alice",
                        "--out",
                        p(&env.tmp.path().join("r")),
                        "-q",
                    ],
                );
                vec![
                    "sign".into(),
                    p(&env.tmp.path().join("r/alice.csr")).into(),
                    "--client".into(),
                ]
            },
            "alice.crt already exists",
        ),
        (
            "an existing --out without --force",
            |env| {
                bare_ok(
                    env.tmp.path(),
                    &[
                        "request",
                        "--client",
                        "alice",
                        "--out",
                        p(&env.tmp.path().join("r")),
                        "-q",
                    ],
                );
                fs::write(env.tmp.path().join("taken.crt"), "mine").unwrap();
                vec![
                    "sign".into(),
                    p(&env.tmp.path().join("r/alice.csr")).into(),
                    "--client".into(),
                    "--out".into(),
                    p(&env.tmp.path().join("taken.crt")).into(),
                ]
            },
            "taken.crt already exists",
        ),
        (
            "a request for a role pgca refuses",
            |env| {
                vec![
                    "request".into(),
                    "--client".into(),
                    "bad/role".into(),
                    "--out".into(),
                    p(&env.tmp.path().join("o")).into(),
                ]
            },
            "invalid role name \"bad/role\"",
        ),
        (
            "a client request for two roles",
            |env| {
                vec![
                    "request".into(),
                    "--client".into(),
                    "alice".into(),
                    "bob".into(),
                    "--out".into(),
                    p(&env.tmp.path().join("o")).into(),
                ]
            },
            "a client request is for one role",
        ),
        (
            "a server request with an invalid host",
            |env| {
                vec![
                    "request".into(),
                    "--server".into(),
                    "db.example.com".into(),
                    "a!b".into(),
                    "--out".into(),
                    p(&env.tmp.path().join("o")).into(),
                ]
            },
            "invalid host name \"a!b\"",
        ),
        (
            "a server request for more names than sign takes",
            |env| {
                let mut args: Vec<String> = vec!["request".into(), "--server".into()];
                args.extend((0..=100).map(|i| format!("h{i}.example.com")));
                args.extend(["--out".into(), p(&env.tmp.path().join("o")).into()]);
                args
            },
            "invalid host name \"h100.example.com\": one name more than the 100 pgca signs",
        ),
        (
            "a server request naming a host twice",
            |env| {
                vec![
                    "request".into(),
                    "--server".into(),
                    "db".into(),
                    "db".into(),
                    "--out".into(),
                    p(&env.tmp.path().join("o")).into(),
                ]
            },
            "db",
        ),
        (
            "a bad key type",
            |env| {
                vec![
                    "request".into(),
                    "--server".into(),
                    "db".into(),
                    "--key-type".into(),
                    "dsa".into(),
                    "--out".into(),
                    p(&env.tmp.path().join("o")).into(),
                ]
            },
            "dsa",
        ),
        (
            "an existing key without --force",
            |env| {
                fs::create_dir(env.tmp.path().join("o")).unwrap();
                fs::write(env.tmp.path().join("o/db.key"), "old key").unwrap();
                vec![
                    "request".into(),
                    "--server".into(),
                    "db".into(),
                    "--out".into(),
                    p(&env.tmp.path().join("o")).into(),
                ]
            },
            "db.key already exists",
        ),
        (
            "an existing request without --force",
            |env| {
                fs::create_dir(env.tmp.path().join("o")).unwrap();
                fs::write(env.tmp.path().join("o/db.csr"), "old request").unwrap();
                vec![
                    "request".into(),
                    "--server".into(),
                    "db".into(),
                    "--out".into(),
                    p(&env.tmp.path().join("o")).into(),
                ]
            },
            "db.csr already exists",
        ),
        (
            "an output that is a file",
            |env| {
                fs::write(env.tmp.path().join("o"), "a file").unwrap();
                vec![
                    "request".into(),
                    "--server".into(),
                    "db".into(),
                    "--out".into(),
                    p(&env.tmp.path().join("o")).into(),
                ]
            },
            "/o",
        ),
    ];
    let mut table = Table::new("csr bad input");
    for (what, setup, message) in rows {
        table.row(what, what, |r| {
            let env = Env::init(&["--no-passphrase"]);
            let args = setup(&env);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            r.ran(command_line("pgca", &args));
            let before = snapshot(env.tmp.path());
            let inventory = fs::read(env.path("inventory.jsonl")).unwrap();
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
                lines[0].contains(message),
                format!("{message:?} in the error line"),
                format!("{:?}", lines[0]),
            )?;
            expect(
                fs::read(env.path("inventory.jsonl")).unwrap() == inventory,
                "the inventory unchanged",
                "it changed",
            )?;
            let diff = snapshot_diff(&before, &snapshot(env.tmp.path()));
            expect(diff.is_empty(), "nothing written", diff)
        });
    }
    table.finish();
}

/// The forged request of finding 3: its self-signature verifies (openssl agrees), so only the
/// key check stands between it and a certificate anyone can log in with.
#[test]
fn a_key_anyone_can_sign_for_is_never_certified() {
    let env = Env::init(&["--no-passphrase"]);
    let path = write(&env, "forged.der", &identity_ed25519_request("alice"));
    let (ok, o) = openssl(&[
        "req",
        "-in",
        p(&path),
        "-inform",
        "DER",
        "-verify",
        "-noout",
    ]);
    assert!(
        ok && o.contains("verify OK"),
        "openssl accepts the forgery: {o}"
    );
    let inventory = fs::read(env.path("inventory.jsonl")).unwrap();
    let line = env.fails(&["sign", p(&path), "--client"]);
    assert_eq!(
        line,
        format!(
            "pgca: refused request {}: the Ed25519 public key is a small-order point (anyone can forge signatures for it): make a new key and request on the host that keeps the key (`pgca request`)",
            path.display()
        )
    );
    for dir in ["clients", "servers"] {
        let files: Vec<_> = fs::read_dir(env.path(dir))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(files.is_empty(), "{dir}: {files:?}");
    }
    assert_eq!(fs::read(env.path("inventory.jsonl")).unwrap(), inventory);
}

/// `pgca sign ARGS` with a 10-second bound (`timeout 10`): a read that blocks fails the test
/// instead of hanging it.
fn run_bounded(env: &Env, args: &[&str]) -> (std::process::Output, std::time::Duration) {
    let start = std::time::Instant::now();
    let out = Command::new("timeout")
        .arg("10")
        .arg(common::pgca_bin())
        .arg("--dir")
        .arg(&env.ca)
        .args(args)
        .env_remove("PGCA_DIR")
        .env_remove("PGCA_PASSPHRASE")
        .env("PGCA_PASSPHRASE_FILE", env.passphrase_file())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (out, start.elapsed())
}

/// A request path another user controls: a FIFO (a plain read blocks forever) or a link to
/// `/dev/zero` (a plain read never ends), planted by `nobody` in a shared sticky directory and
/// in a directory of nobody's. Each is refused at once, with one line naming the path, and
/// nothing is signed.
#[test]
fn sign_refuses_a_fifo_or_a_foreign_link_at_the_request_path_at_once() {
    common::root_only!();
    let env = Env::init(&["--no-passphrase"]);
    let tmp = env.tmp.path();
    fs::set_permissions(tmp, fs::Permissions::from_mode(0o755)).unwrap();
    let shared = tmp.join("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    let theirs = tmp.join("theirs");
    fs::create_dir(&theirs).unwrap();
    let (uid, gid) = common::ids("nobody");
    std::os::unix::fs::chown(&theirs, Some(uid), Some(gid)).unwrap();
    for dir in [&shared, &theirs] {
        common::as_user(
            "nobody",
            &format!(
                "mkfifo '{0}/fifo.csr' && ln -s /dev/zero '{0}/zero.csr'",
                p(dir)
            ),
        );
    }
    let rows = [
        (shared.join("fifo.csr"), "not a regular file"),
        (shared.join("zero.csr"), "a symbolic link owned by nobody"),
        (theirs.join("fifo.csr"), "owned by nobody"),
        (theirs.join("zero.csr"), "owned by nobody"),
    ];
    let ca_before = snapshot(&env.ca);
    let mut table = Table::new("sign: a request path of nobody's");
    for (csr, message) in rows {
        let args = ["sign", p(&csr), "--client"];
        table.row(p(&csr), command_line("pgca", &args), |r| {
            r.ran(command_line("timeout 10 pgca", &args));
            let (out, took) = run_bounded(&env, &args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            expect(
                out.status.code() == Some(1),
                "exit status 1 (124: it blocked until the timeout)",
                format!("{}, stderr {stderr:?}", out.status),
            )?;
            expect(
                took < std::time::Duration::from_secs(5),
                "refused at once",
                format!("after {took:?}"),
            )?;
            let lines: Vec<&str> = stderr.lines().collect();
            expect(
                lines.len() == 1 && lines[0].contains(message),
                format!("one line with {message:?}"),
                format!("{stderr:?}"),
            )?;
            let dir = csr.parent().unwrap();
            expect(
                lines[0].contains(p(dir)),
                format!("the path {} named", dir.display()),
                lines[0],
            )
        });
    }
    table.finish();
    assert!(
        snapshot_diff(&ca_before, &snapshot(&env.ca)).is_empty(),
        "nothing signed"
    );
}

#[test]
fn the_kind_is_always_said_never_guessed() {
    let env = Env::init(&["--no-passphrase"]);
    for args in [
        &["sign", "x.csr"][..],
        &["sign", "x.csr", "--server", "--client"],
        &["request", "db", "--out", "o"],
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn a_key_whose_certificate_was_revoked_is_never_signed_again() {
    let env = Env::init(&["--no-passphrase"]);
    let r = env.tmp.path().join("r");
    bare_ok(
        env.tmp.path(),
        &["request", "--client", "alice", "--out", p(&r), "-q"],
    );
    let csr = r.join("alice.csr");
    env.ok(&["sign", p(&csr), "--client", "-q"]);
    env.ok(&["revoke", "alice", "--reason", "keyCompromise", "-q"]);
    let before = snapshot(&env.ca);
    let line = env.fails(&["sign", p(&csr), "--client", "--force"]);
    assert!(line.contains("never certified again"), "{line}");
    let after = snapshot(&env.ca);
    assert!(snapshot_diff(&before, &after).is_empty());
    // renew leaves a revoked name alone; the same request for a new key is fine.
    bare_ok(
        env.tmp.path(),
        &[
            "request",
            "--client",
            "alice",
            "--out",
            p(&r),
            "--force",
            "-q",
        ],
    );
    env.ok(&["sign", p(&csr), "--client", "--force", "-q"]);
}

// ---- attacks as nobody ----

/// A root-owned directory with a secret, that must never change.
fn victim(root: &Path) -> PathBuf {
    let v = root.join("victim");
    fs::create_dir(&v).unwrap();
    fs::write(v.join("secret"), b"root's own").unwrap();
    fs::set_permissions(&v, fs::Permissions::from_mode(0o755)).unwrap();
    v
}

#[test]
fn request_and_sign_never_write_through_a_directory_or_link_of_nobodys() {
    if !common::is_root() {
        eprintln!("skipped: the hostile-user tests run as root");
        return;
    }
    let env = Env::init(&["--no-passphrase"]);
    let tmp = env.tmp.path();
    fs::set_permissions(tmp, fs::Permissions::from_mode(0o755)).unwrap();
    let target = victim(tmp);
    let victim_before = snapshot(&target);
    let (uid, gid) = common::ids("nobody");

    // A directory nobody owns (or can write in): refused, nothing written in it.
    let theirs = tmp.join("theirs");
    fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(uid), Some(gid)).unwrap();
    let inside = snapshot(&theirs);
    for out in [theirs.clone(), theirs.join("sub")] {
        let o = env.run(&["request", "--server", "db", "--out", p(&out)]);
        assert_eq!(o.status.code(), Some(1));
        let line = one_line(&o.stderr);
        assert!(
            line.contains(p(&theirs)) && line.contains("owned by nobody"),
            "{line}"
        );
    }
    assert_eq!(inside, snapshot(&theirs));
    let writable = tmp.join("writable");
    fs::create_dir(&writable).unwrap();
    fs::set_permissions(&writable, fs::Permissions::from_mode(0o777)).unwrap();
    let o = env.run(&["request", "--server", "db", "--out", p(&writable)]);
    assert_eq!(o.status.code(), Some(1));
    let line = one_line(&o.stderr);
    assert!(line.contains(p(&writable)), "{line}");
    assert_eq!(fs::read_dir(&writable).unwrap().count(), 0);

    // A shared sticky directory (like /tmp): nobody plants DIR as a link to root's directory
    // (refused), and NAME.key / NAME.csr as links to root's file (refused without --force,
    // replaced and never followed with it).
    let shared = tmp.join("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    common::as_user(
        "nobody",
        &format!("ln -s '{}' '{}/out'", p(&target), p(&shared)),
    );
    let o = env.run(&["request", "--server", "db", "--out", p(&shared.join("out"))]);
    assert_eq!(o.status.code(), Some(1));
    let line = one_line(&o.stderr);
    assert!(line.contains("nobody"), "{line}");
    for name in ["db.key", "db.csr"] {
        common::as_user(
            "nobody",
            &format!("ln -sf '{}/secret' '{}/{name}'", p(&target), p(&shared)),
        );
    }
    let o = env.run(&["request", "--server", "db", "--out", p(&shared)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(one_line(&o.stderr).contains("already exists"));
    env.ok(&[
        "request",
        "--server",
        "db",
        "--out",
        p(&shared),
        "--force",
        "-q",
    ]);
    for (name, want) in [("db.key", 0o600), ("db.csr", 0o644)] {
        let md = fs::symlink_metadata(shared.join(name)).unwrap();
        assert!(md.is_file(), "{name} is a file of its own now");
        assert_eq!((md.uid(), md.mode() & 0o777), (0, want), "{name}");
    }
    assert_eq!(victim_before, snapshot(&target));

    // sign --out: a directory of nobody's is refused before anything is signed; a link nobody
    // plants at FILE is refused without --force and replaced, not followed, with it.
    let csr = shared.join("db.csr");
    let ca_before = snapshot(&env.ca);
    let o = env.run(&[
        "sign",
        p(&csr),
        "--server",
        "--out",
        p(&theirs.join("db.crt")),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(one_line(&o.stderr).contains("owned by nobody"));
    assert!(
        snapshot_diff(&ca_before, &snapshot(&env.ca)).is_empty(),
        "nothing signed"
    );
    common::as_user(
        "nobody",
        &format!("ln -s '{}/secret' '{}/db.crt'", p(&target), p(&shared)),
    );
    let o = env.run(&[
        "sign",
        p(&csr),
        "--server",
        "--out",
        p(&shared.join("db.crt")),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(one_line(&o.stderr).contains("already exists"));
    assert!(
        snapshot_diff(&ca_before, &snapshot(&env.ca)).is_empty(),
        "nothing signed"
    );
    env.ok(&[
        "sign",
        p(&csr),
        "--server",
        "--out",
        p(&shared.join("db.crt")),
        "--force",
        "-q",
    ]);
    let md = fs::symlink_metadata(shared.join("db.crt")).unwrap();
    assert!(md.is_file());
    assert_eq!(md.uid(), 0);
    assert_eq!(victim_before, snapshot(&target));
    assert_eq!(
        public_key_of_cert(&shared.join("db.crt")),
        public_key_of_key(&shared.join("db.key"))
    );
}

#[test]
fn a_due_external_key_older_than_max_key_age_needs_a_new_csr() {
    let env = Env::init(&["--no-passphrase"]);
    let r = env.tmp.path().join("r");
    bare_ok(
        env.tmp.path(),
        &["request", "--client", "alice", "--out", p(&r), "-q"],
    );
    env.ok(&[
        "sign",
        p(&r.join("alice.csr")),
        "--client",
        "--validity",
        "1h",
        "-q",
    ]);
    // Without a policy, or a young key: due, and renew would re-sign it.
    let out = env.run(&["check", "--within", "2h"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("due for renewal") && !text.contains("needs a new CSR"),
        "{text}"
    );
    let out = env.run(&["check", "--within", "2h", "--max-key-age", "1h"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("needs a new CSR"));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // An old key: check says so (WARNING, as due), JSON too; renew refuses with one line.
    let out = env.run(&["check", "--within", "2h", "--max-key-age", "1s"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("client alice: due: needs a new CSR"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_slice(
        &env.run(&["check", "--within", "2h", "--max-key-age", "1s", "--json"])
            .stdout,
    )
    .unwrap();
    let alice = json["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "alice")
        .unwrap()
        .clone();
    assert_eq!(alice["needs_new_csr"], true, "{alice}");
    assert_eq!(alice["state"], "due", "{alice}");
    let before = snapshot(&env.ca);
    let out = env.run(&["renew", "--force", "alice", "--max-key-age", "1s"]);
    assert_eq!(out.status.code(), Some(1));
    let line = one_line(&out.stderr);
    assert!(line.contains("client alice needs a new CSR"), "{line}");
    assert!(line.contains("pgca request --client alice"), "{line}");
    assert!(snapshot_diff(&before, &snapshot(&env.ca)).is_empty());
    // A new key from the host, signed with --force, starts the clock again.
    bare_ok(
        env.tmp.path(),
        &[
            "request",
            "--client",
            "alice",
            "--out",
            p(&r),
            "--force",
            "-q",
        ],
    );
    env.ok(&["sign", p(&r.join("alice.csr")), "--client", "--force", "-q"]);
    let out = env.run(&["check", "--max-key-age", "1h"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_name_moves_between_a_key_here_and_an_external_key_with_force() {
    let env = Env::init(&["--no-passphrase"]);
    env.ok(&["issue-client", "alice", "-q"]);
    assert!(env.path("clients/alice.key").exists());
    let r = env.tmp.path().join("r");
    bare_ok(
        env.tmp.path(),
        &["request", "--client", "alice", "--out", p(&r), "-q"],
    );
    env.ok(&["sign", p(&r.join("alice.csr")), "--client", "--force", "-q"]);
    // No key link is left pointing at nothing; verify and check are clean.
    assert!(fs::symlink_metadata(env.path("clients/alice.key")).is_err());
    assert_eq!(
        public_key_of_cert(&env.path("clients/alice.crt")),
        public_key_of_key(&r.join("alice.key"))
    );
    assert!(env.ok(&["verify"]).starts_with("PGCA OK"));
    assert!(env.ok(&["check"]).starts_with("PGCA OK"));
    // And back: a key made here again, its link restored.
    env.ok(&["issue-client", "alice", "--force", "-q"]);
    assert_eq!(
        public_key_of_cert(&env.path("clients/alice.crt")),
        public_key_of_key(&env.path("clients/alice.key"))
    );
    assert!(env.ok(&["verify"]).starts_with("PGCA OK"));
    env.ok(&["env", "alice", "--host", "db"]);
}

#[test]
fn renew_revoke_old_of_an_external_key_means_the_next_renewal_needs_a_new_csr() {
    // --revoke-old revokes the replaced certificate, and a key a revoked certificate certified
    // is never certified again: the host must make a new key before the next renewal.
    let env = Env::init(&["--no-passphrase"]);
    let r = env.tmp.path().join("r");
    bare_ok(
        env.tmp.path(),
        &["request", "--client", "alice", "--out", p(&r), "-q"],
    );
    env.ok(&["sign", p(&r.join("alice.csr")), "--client", "-q"]);
    env.ok(&["renew", "--force", "--revoke-old", "alice", "-q"]);
    let out = env.run(&["renew", "--force", "alice"]);
    assert_eq!(out.status.code(), Some(1));
    let line = one_line(&out.stderr);
    assert!(line.contains("never certified again"), "{line}");
    assert!(
        line.contains("pgca request --client alice --force"),
        "{line}"
    );
    bare_ok(
        env.tmp.path(),
        &[
            "request",
            "--client",
            "alice",
            "--out",
            p(&r),
            "--force",
            "-q",
        ],
    );
    env.ok(&["sign", p(&r.join("alice.csr")), "--client", "--force", "-q"]);
    env.ok(&["renew", "--force", "alice", "-q"]);
}

/// The bin directory of the venv holding DigiCert's pkilint (installed by
/// scripts/pkilint-venv.sh when missing, as tests/pkilint.rs does).
fn pkilint_bin() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pkilint-venv.sh");
    let out = Command::new(&script).output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// pkilint's findings above NOTICE for a PEM certificate.
fn pkilint_findings(bin: &Path, cert: &Path) -> Vec<String> {
    let out = Command::new(bin.join("lint_pkix_cert"))
        .args(["lint", "--format", "JSON", "--document-format", "PEM"])
        .arg(cert)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Ok(report) = serde_json::from_str::<serde_json::Value>(&stdout) else {
        return vec![format!("no JSON report: {stdout}")];
    };
    let mut serious = Vec::new();
    for r in report["results"].as_array().into_iter().flatten() {
        let Some(findings) = r["finding_descriptions"].as_array() else {
            serious.push(format!("a result without findings: {r}"));
            continue;
        };
        for f in findings {
            let severity = f["severity"].as_str().unwrap_or("?");
            if !matches!(severity, "NOTICE" | "INFO" | "DEBUG") {
                serious.push(format!("{severity} {}", f["code"].as_str().unwrap_or("?")));
            }
        }
    }
    if report["results"].as_array().is_none_or(|r| r.is_empty()) {
        serious.push(format!("no results: {stdout}"));
    }
    serious
}

#[test]
fn pkilint_finds_nothing_above_notice_in_certificates_signed_from_requests() {
    let bin = pkilint_bin();
    let env = Env::init(&["--no-passphrase"]);
    let dir = env.tmp.path().join("req");
    fs::create_dir(&dir).unwrap();
    // Requests made by openssl, for every key algorithm pgca certifies, asking for more than
    // pgca gives; and one made by pgca request.
    let mut table = Table::new("pkilint on signed requests");
    for (name, kind, newkey, extra) in [
        ("db1.example.com", "--server", &["rsa:2048"][..], true),
        (
            "db2.example.com",
            "--server",
            &["ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
            true,
        ),
        ("carol", "--client", &["ed25519"], true),
        ("dave", "--client", &["rsa:3072"], false),
    ] {
        table.row(
            name,
            format!("openssl req -new -newkey {}", newkey[0]),
            |_| {
                let csr = dir.join(format!("{name}.csr"));
                let mut args = vec!["req", "-new", "-nodes", "-newkey"];
                args.extend_from_slice(newkey);
                let key = dir.join(format!("{name}.key"));
                let subj = format!("/CN={name}");
                args.extend_from_slice(&["-keyout", p(&key), "-out", p(&csr), "-subj", &subj]);
                if extra {
                    args.extend_from_slice(&[
                        "-addext",
                        "basicConstraints=critical,CA:TRUE",
                        "-addext",
                        "subjectAltName=DNS:db9.example.com,email:x@example.com",
                    ]);
                }
                let (ok, o) = openssl(&args);
                expect(ok, "openssl made the request", o)?;
                let out = env.run(&["sign", p(&csr), kind, "-q"]);
                expect(
                    out.status.success(),
                    "signed",
                    String::from_utf8_lossy(&out.stderr),
                )?;
                let sub = if kind == "--server" {
                    "servers"
                } else {
                    "clients"
                };
                let cert = env.path(&format!("{sub}/{name}.crt"));
                expect(
                    public_key_of_cert(&cert) == public_key_of_key(&key),
                    "the certificate certifies the request's key",
                    "another key",
                )?;
                let serious = pkilint_findings(&bin, &cert);
                expect(
                    serious.is_empty(),
                    "no finding above NOTICE",
                    serious.join("; "),
                )
            },
        );
    }
    bare_ok(
        env.tmp.path(),
        &[
            "request",
            "--server",
            "db3.example.com",
            "10.0.0.7",
            "--out",
            p(&dir),
            "-q",
        ],
    );
    env.ok(&[
        "sign",
        p(&dir.join("db3.example.com.csr")),
        "--server",
        "-q",
    ]);
    let serious = pkilint_findings(&bin, &env.path("servers/db3.example.com.crt"));
    assert!(serious.is_empty(), "{serious:?}");
    table.finish();
}

/// Runs `pgca --dir CA ARGS` and SIGKILLs it after `delay`; true if the kill landed mid-run.
fn killed_after(env: &Env, args: &[&str], delay: std::time::Duration) -> bool {
    use std::os::unix::process::ExitStatusExt;
    let start = std::time::Instant::now();
    let mut child = Command::new(common::pgca_bin())
        .arg("--dir")
        .arg(&env.ca)
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "pgca {args:?} ended by itself: {status}");
            return false;
        }
        if start.elapsed() >= delay {
            child.kill().unwrap();
            return child.wait().unwrap().signal() == Some(9);
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

#[test]
fn kill_9_during_renewal_of_external_keys_leaves_each_name_its_host_key() {
    let env = Env::init(&["--no-passphrase"]);
    let ca = pgca::CaDir::open(&env.ca).unwrap();
    // 40 hosts' keys, kept by the "hosts" (here: this test); their requests signed.
    let mut spkis = Vec::new();
    for i in 0..40 {
        let key = pgca::PrivateKey::generate(pgca::KeyType::EcdsaP256).unwrap();
        let role = format!("h{i}");
        let pem = pgca::x509::csr::make_request(
            pgca::CertKind::Client,
            std::slice::from_ref(&role),
            &key,
        )
        .unwrap();
        let csr = pgca::x509::csr::CsrRequest::parse(pem.as_bytes(), Path::new("h.csr")).unwrap();
        ca.sign_request(&csr, pgca::CertKind::Client, &pgca::IssueOptions::default())
            .unwrap();
        spkis.push((role, key.public_key_der()));
    }
    let t = std::time::Instant::now();
    env.ok(&["renew", "--force", "-q"]);
    let full = t.elapsed();
    let mut killed = 0;
    for round in 1..=10u32 {
        if killed_after(
            &env,
            &["renew", "--force", "-q"],
            full.mul_f64(f64::from(round) / 11.0),
        ) {
            killed += 1;
        }
        // Right after the kill, and after the next writer recovered: every name's certificate
        // certifies its host's key, and no key link or key file appeared.
        for pass in ["after the kill", "after recovery"] {
            for (role, spki) in &spkis {
                let crt = env.path(&format!("clients/{role}.crt"));
                let info = pgca::CertInfo::from_file(&crt)
                    .unwrap_or_else(|e| panic!("{pass}: {role}: {e}"));
                assert_eq!(&info.spki_der, spki, "{pass}: {role}");
                assert!(
                    fs::symlink_metadata(env.path(&format!("clients/{role}.key"))).is_err(),
                    "{pass}: {role}.key"
                );
            }
            if pass == "after the kill" {
                env.ok(&["issue-client", "-q", &format!("probe{round}")]);
            }
        }
        let verify = env.run(&["verify"]);
        assert!(
            verify.status.success(),
            "round {round}: {}",
            String::from_utf8_lossy(&verify.stdout)
        );
    }
    assert_eq!(
        private_keys_below(&env.ca)
            .iter()
            .filter(|p| !p.to_string_lossy().contains("probe"))
            .count(),
        2
    );
    eprintln!("{killed} of 10 renewals killed mid-run");
}
