//! pgca's client files with pgjdbc (Java) against a real PostgreSQL 15 server.
//!
//! pgjdbc cannot read a PEM key; it reads PKCS#8 DER, by default `~/.postgresql/postgresql.pk8`,
//! which `pgca client-install` writes next to `postgresql.key`. The server is configured as in
//! tests/postgres.rs (`deploy-server`, TLS 1.3 at least, `hostssl all all 127.0.0.1/32 cert`).
//!
//! Every connection runs in one JVM (tests/java/PgcaJdbc.java, a single-file source program
//! reading its cases from stdin), because a JVM takes a while to start. To add a case, add a
//! [`Case`] to the list in the test: a name, the home pgjdbc looks in (or none) and a URL, and
//! the outcome expected (`Ok(role)` or `Err(text the failure contains)`). A PKCS#12 case is
//! `Case::new("p12", None, &url(port, "alice", "sslkey=/…/alice.p12&sslpassword=…"), Ok("alice"))`;
//! a URL that `pgca conninfo --driver jdbc` prints goes in as it is (the `conninfo` case).
//!
//! Needs `java` and pgjdbc (`/usr/share/java/postgresql.jar`, else `$PGJDBC_JAR`): `make deps`
//! installs Debian's `default-jre-headless` and `libpostgresql-jdbc-java`.

mod common;
mod java;
mod pg;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use common::{Env, p};
use java::{Case, files_in, pgjdbc_jar, run_java, url};
use pg::Cluster;

#[test]
fn pgjdbc_connects_with_client_install_files_and_the_server_refuses_the_rest() {
    let jar = pgjdbc_jar(); // before anything slow: say what is missing first
    let started = Instant::now();
    let env = Env::init(&["--server-host", "localhost"]);
    let work = tempfile::tempdir().unwrap();
    let pass = work.path().join("dave-pass");
    common::write_secret(&pass, "dave-own-pass\n");
    env.ok(&["issue-client", "alice", "bob"]);
    env.ok(&["issue-client", "carol", "--key-type", "rsa2048"]);
    env.ok(&[
        "issue-client",
        "dave",
        "--encrypt-key",
        "--key-passphrase-file",
        p(&pass),
    ]);

    // Each role's files where client-install puts them: alice's in a home's ~/.postgresql (the
    // defaults case), the others in a directory named explicitly.
    let home = work.path().join("alice-home");
    std::fs::create_dir(&home).unwrap();
    let dirs: BTreeMap<&str, PathBuf> = ["bob", "carol", "dave"]
        .into_iter()
        .map(|r| (r, work.path().join(format!("{r}-files"))))
        .collect();
    let out = Command::new(common::pgca_bin())
        .arg("--dir")
        .arg(&env.ca)
        .args(["client-install", "alice"])
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let alice = home.join(".postgresql");
    for (role, dir) in &dirs {
        env.ok(&["client-install", role, "--to", p(dir)]);
    }
    // The .pk8 is the PEM key in DER, 0600: openssl reads both as the same key.
    assert_eq!(common::mode(&alice.join("postgresql.pk8")), 0o600);
    let key = |args: &[&str]| {
        let (ok, out) = common::openssl(args);
        assert!(ok, "openssl {args:?}: {out}");
        out
    };
    assert_eq!(
        key(&["pkey", "-in", p(&alice.join("postgresql.key"))]),
        key(&[
            "pkey",
            "-inform",
            "DER",
            "-in",
            p(&alice.join("postgresql.pk8"))
        ])
    );

    // The same key encrypted the way OpenSSL does by default (PBES2, PBKDF2, AES-256-CBC).
    let pbkdf2 = work.path().join("alice-pbkdf2.pk8");
    key(&[
        "pkcs8",
        "-topk8",
        "-v2",
        "aes-256-cbc",
        "-passout",
        "pass:alice-pass",
        "-outform",
        "DER",
        "-in",
        p(&alice.join("postgresql.key")),
        "-out",
        p(&pbkdf2),
    ]);

    let mut cluster = Cluster::new();
    let data = cluster.data.to_str().unwrap().to_string();
    let deployed = env.ok(&["deploy-server", "localhost", "--data-dir", &data]);
    cluster.include_deployed(&deployed);
    // bob is revoked after client-install: the CRL goes to the deployment before the start.
    env.ok(&["revoke", "bob", "--reason", "keyCompromise"]);
    cluster.start();
    cluster.sql("CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN; CREATE ROLE carol LOGIN; CREATE ROLE dave LOGIN");
    let port = cluster.port;
    // The URL `pgca conninfo --driver jdbc` prints, as printed: it names clients/alice.pk8 in
    // the CA directory, which the user writes with `pgca export`, as here.
    env.ok(&[
        "export",
        "alice",
        "--format",
        "pk8",
        "--out",
        p(&env.path("clients/alice.pk8")),
    ]);
    // Exported files, named in the URL: carol's RSA key as PKCS#8 DER, alice's pair as PKCS#12
    // (password from a file, never an argument).
    let carol_pk8 = work.path().join("carol.pk8");
    env.ok(&["export", "carol", "--format", "pk8", "--out", p(&carol_pk8)]);
    let p12_pass = work.path().join("p12-pass");
    common::write_secret(&p12_pass, "p12 s3cret&=\n");
    let alice_p12 = work.path().join("alice.p12");
    env.ok(&[
        "export",
        "alice",
        "--format",
        "p12",
        "--out",
        p(&alice_p12),
        "--key-passphrase-file",
        p(&p12_pass),
    ]);
    let conninfo = env
        .ok(&[
            "conninfo",
            "alice",
            "--host",
            "localhost",
            "--port",
            &port.to_string(),
            "--dbname",
            "postgres",
            "--driver",
            "jdbc",
        ])
        .trim()
        .to_string();
    let setup = started.elapsed();

    let cases = [
        // (a) client-install's defaults and nothing but sslmode=verify-full.
        Case::new(
            "defaults",
            Some(&home),
            &url(port, "alice", ""),
            Ok("alice"),
        ),
        // (b) the files named in the URL: ECDSA and RSA.
        Case::new(
            "explicit-ecdsa",
            None,
            &url(port, "alice", &files_in(&alice, "postgresql.pk8")),
            Ok("alice"),
        ),
        Case::new(
            "explicit-rsa",
            None,
            &url(port, "carol", &files_in(&dirs["carol"], "postgresql.pk8")),
            Ok("carol"),
        ),
        Case::new("conninfo", None, &conninfo, Ok("alice")),
        // `pgca export`'s files: a .pk8 (RSA) and a .p12 with its password.
        Case::new(
            "export-pk8-rsa",
            None,
            &url(
                port,
                "carol",
                &format!(
                    "sslkey={}&sslcert={}&sslrootcert={}",
                    carol_pk8.display(),
                    env.path("clients/carol.crt").display(),
                    env.path("server-ca.crt").display()
                ),
            ),
            Ok("carol"),
        ),
        Case::new(
            "export-p12",
            None,
            &url(
                port,
                "alice",
                &format!(
                    "sslkey={}&sslpassword=p12%20s3cret%26%3D&sslrootcert={}",
                    alice_p12.display(),
                    env.path("server-ca.crt").display()
                ),
            ),
            Ok("alice"),
        ),
        // Why the .pk8 exists: pgjdbc refuses the PEM key.
        Case::new(
            "pem-key",
            None,
            &url(port, "alice", &files_in(&alice, "postgresql.key")),
            Err("Could not read SSL key file"),
        ),
        // An empty home: nothing to verify the server with.
        Case::new(
            "no-files",
            None,
            &url(port, "alice", ""),
            Err("Could not open SSL root certificate file"),
        ),
        // (c) the server refuses: alice's certificate for another role, a revoked certificate.
        Case::new(
            "wrong-role",
            Some(&home),
            &url(port, "carol", ""),
            Err("certificate authentication failed for user \"carol\""),
        ),
        // In TLS 1.3 the server judges the client's certificate after the client has finished
        // its handshake and sent its startup message. The server then sends its alert and closes
        // with that message unread, so its kernel answers with a TCP reset, which may overtake
        // the alert: pgjdbc reports the alert, a broken pipe ("SSL error") or the reset,
        // whichever its socket sees first (all three were seen, the reset against PostgreSQL
        // 14's OpenSSL 1.1.1). That it is the revocation is proven below: the server logs the
        // failed verification, and libpq, which reads the alert, names it.
        Case::new(
            "revoked",
            None,
            &url(port, "bob", &files_in(&dirs["bob"], "postgresql.pk8")),
            Err("SSL error|certificate_revoked|Connection reset by peer"),
        ),
        // An encrypted key's .pk8 is encrypted PKCS#8 (PBES2 with scrypt and AES-256-CBC), which
        // pgjdbc 42.5 on Java 17 cannot read, even with sslpassword: Java knows no scrypt (and
        // has no "PBES2" cipher for pgjdbc to ask for either).
        Case::new(
            "encrypted",
            None,
            &url(
                port,
                "dave",
                &(files_in(&dirs["dave"], "postgresql.pk8") + "&sslpassword=dave-own-pass"),
            ),
            Err("expecting the object identifier for PBKDF2"),
        ),
        // Nor any PBES2 key: pgjdbc asks Java for a "PBES2" cipher, which Java does not have.
        Case::new(
            "encrypted-pbkdf2",
            None,
            &url(
                port,
                "alice",
                &(files_in(&alice, "postgresql.pk8")
                    .replace(p(&alice.join("postgresql.pk8")), p(&pbkdf2))
                    + "&sslpassword=alice-pass"),
            ),
            Err("PBES2"),
        ),
    ];
    let java = Instant::now();
    let got = run_java(&cases);
    let java = java.elapsed();
    let log = cluster.log_text();
    let wrong = java::mismatches(&cases, &got);
    assert!(
        wrong.is_empty(),
        "{}\n--- server log\n{log}",
        wrong.join("\n")
    );
    // The refusals are the server's: the role's certificate (above), and bob's revocation, which
    // the server logs only as "certificate verify failed"; libpq, which reads the alert, names
    // it. (The same files without the revocation: alice's and carol's above.)
    assert!(
        log.contains("could not accept SSL connection: certificate verify failed"),
        "{log}"
    );
    let (ok, _, err) = cluster.psql(
        &format!(
            "host=localhost user=bob dbname=postgres sslmode=verify-full sslrootcert='{0}/root.crt' sslcert='{0}/postgresql.crt' sslkey='{0}/postgresql.key'",
            p(&dirs["bob"])
        ),
        "SELECT 1",
    );
    assert!(
        !ok && err.contains("certificate revoked"),
        "libpq as bob: {err}"
    );
    eprintln!(
        "jdbc: setup {setup:?}, {} cases in one JVM {java:?} ({})",
        cases.len(),
        jar.display()
    );
}

/// The ```sh blocks of the `## pgjdbc (Java)` section of docs/clients.md, in order.
fn pgjdbc_section_blocks() -> Vec<String> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/clients.md"))
            .unwrap();
    let start = text
        .find("\n## pgjdbc (Java)\n")
        .expect("docs/clients.md has a `## pgjdbc (Java)` section");
    let section = &text[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 4)];
    common::sh_blocks(section)
}

/// docs/clients.md's pgjdbc section, run as written (like tests/guide.rs runs the guides): after
/// the client guide's `pgca issue-client alice`, in a home of its own, against a cluster serving
/// the CA's `localhost` certificate.
#[test]
fn the_pgjdbc_section_of_the_clients_guide_runs_as_written() {
    pgjdbc_jar();
    let blocks = pgjdbc_section_blocks();
    assert!(blocks.len() >= 2, "{blocks:?}");
    let env = Env::init(&["--server-host", "localhost"]);
    env.ok(&["issue-client", "alice"]);
    let mut cluster = Cluster::new();
    let data = cluster.data.to_str().unwrap().to_string();
    let deployed = env.ok(&["deploy-server", "localhost", "--data-dir", &data]);
    cluster.include_deployed(&deployed);
    cluster.start();
    cluster.sql("CREATE ROLE alice LOGIN");

    let work = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_pgca")).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let mut transcript = String::new();
    for (i, block) in blocks.iter().enumerate() {
        let mut cmd = Command::new("bash");
        for (k, _) in std::env::vars() {
            if k.starts_with("PG") {
                cmd.env_remove(k);
            }
        }
        let out = cmd
            .args(["-euo", "pipefail", "-c", block])
            .current_dir(work.path())
            .env("PATH", &path)
            .env("HOME", home.path())
            .env("PGCA_DIR", &env.ca)
            .env("PGPORT", cluster.port.to_string())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        transcript.push_str(&stdout);
        assert!(
            out.status.success(),
            "docs/clients.md pgjdbc block {} failed ({}):\n{block}\n--- stdout\n{stdout}\n--- stderr\n{}\n--- server log\n{}",
            i + 1,
            out.status,
            String::from_utf8_lossy(&out.stderr),
            cluster.log_text()
        );
    }
    assert!(transcript.contains("postgresql.pk8"), "{transcript}");
    assert!(
        transcript.lines().any(|l| l == "alice"),
        "the Java check prints the role:\n{transcript}"
    );
}
