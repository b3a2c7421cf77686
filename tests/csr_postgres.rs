//! Keys made on their hosts with `pgca request`, certificates made with `pgca sign`, against a
//! real PostgreSQL 15 and libpq's psql: `sslmode=verify-full`, pg_hba.conf `cert`. The CA
//! directory never holds a key but its two CA keys; a renewal keeps the host's key.

mod common;
mod pg;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Env, openssl, p};
use pg::Cluster;

/// Runs `pgca ARGS` as a database host or client machine would: no CA directory anywhere.
fn on_host(home: &Path, args: &[&str]) {
    let out = Command::new(common::pgca_bin())
        .args(args)
        .env_remove("PGCA_DIR")
        .env_remove("PGCA_PASSPHRASE")
        .env_remove("PGCA_PASSPHRASE_FILE")
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("xdg"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pgca {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn spki_of_cert(cert: &Path) -> String {
    let (ok, out) = openssl(&["x509", "-in", p(cert), "-noout", "-pubkey"]);
    assert!(ok, "{out}");
    out
}

fn spki_of_key(key: &Path) -> String {
    let (ok, out) = openssl(&["pkey", "-in", p(key), "-pubout"]);
    assert!(ok, "{out}");
    out
}

fn serial_of(cert: &Path) -> String {
    let (ok, out) = openssl(&["x509", "-in", p(cert), "-noout", "-serial"]);
    assert!(ok, "{out}");
    out.trim()
        .trim_start_matches("serial=")
        .to_lowercase()
        .to_string()
}

/// Every file below `root` (links not followed) holding a private key.
fn private_keys_below(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let md = fs::symlink_metadata(e.path()).unwrap();
            if md.is_dir() {
                todo.push(e.path());
            } else if md.is_file()
                && String::from_utf8_lossy(&fs::read(e.path()).unwrap()).contains("PRIVATE KEY")
            {
                found.push(e.path());
            }
        }
    }
    found.sort();
    found
}

const WHO: &str =
    "SELECT current_user || ' ' || version FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

#[test]
fn keys_made_on_their_hosts_serve_tls_log_in_and_survive_renewal() {
    let env = Env::init(&[]);
    let hosts = tempfile::tempdir().unwrap();
    let (db_host, laptop) = (hosts.path().join("db"), hosts.path().join("laptop"));

    // The database host: a key and a request, no CA directory. The CA host signs.
    on_host(
        hosts.path(),
        &[
            "request",
            "--server",
            "localhost",
            "127.0.0.1",
            "--out",
            p(&db_host),
            "-q",
        ],
    );
    let server_crt = db_host.join("localhost.crt");
    env.ok(&[
        "sign",
        p(&db_host.join("localhost.csr")),
        "--server",
        "--out",
        p(&server_crt),
        "-q",
    ]);
    // The client machine: alice's key stays there.
    on_host(
        hosts.path(),
        &["request", "--client", "alice", "--out", p(&laptop), "-q"],
    );
    let alice_crt = laptop.join("alice.crt");
    env.ok(&[
        "sign",
        p(&laptop.join("alice.csr")),
        "--client",
        "--out",
        p(&alice_crt),
        "-q",
    ]);

    // The CA directory holds no private key but the two CA keys.
    assert_eq!(
        private_keys_below(&env.ca),
        vec![env.path("client-ca.key"), env.path("server-ca.key")]
    );

    let mut cluster = Cluster::new();
    let server_key = db_host.join("localhost.key");
    cluster.install_tls(&server_crt, &server_key, &env.path("client-ca.crt"));
    cluster.enable_tls();
    cluster.start();
    cluster.sql("CREATE ROLE alice LOGIN");
    let conn = |host: &str, cert: &Path| {
        format!(
            "host={host} user=alice dbname=postgres sslmode=verify-full sslrootcert='{}' sslcert='{}' sslkey='{}'",
            p(&env.path("server-ca.crt")),
            p(cert),
            p(&laptop.join("alice.key")),
        )
    };
    for host in ["localhost", "127.0.0.1"] {
        let (ok, out, err) = cluster.psql(&conn(host, &alice_crt), WHO);
        assert!(ok, "{host}: {err}\n{}", cluster.log_text());
        assert_eq!(out, "alice TLSv1.3");
    }
    let first = serial_of(&server_crt);
    assert_eq!(cluster.served_serial(), first);

    // Renewal re-signs the recorded public keys: a new serial, the same key on each host.
    let out = env.ok(&["renew", "--force", "localhost"]);
    assert!(out.contains("re-signed the recorded public key"), "{out}");
    env.ok(&["renew", "--force", "alice", "-q"]);
    let renewed = env.path("servers/localhost.crt");
    let second = serial_of(&renewed);
    assert_ne!(second, first);
    assert_eq!(spki_of_cert(&renewed), spki_of_key(&server_key));
    assert_eq!(spki_of_cert(&renewed), spki_of_cert(&server_crt));
    assert_eq!(
        spki_of_cert(&env.path("clients/alice.crt")),
        spki_of_key(&laptop.join("alice.key"))
    );
    assert_eq!(
        private_keys_below(&env.ca),
        vec![env.path("client-ca.key"), env.path("server-ca.key")]
    );

    // The host gets the new certificate (its key unchanged) and reloads: it serves the new
    // serial, and alice logs in with her renewed certificate and the key she always had.
    fs::copy(&renewed, &server_crt).unwrap();
    cluster.install_tls(&server_crt, &server_key, &env.path("client-ca.crt"));
    assert_eq!(cluster.served_serial(), first, "not reloaded yet");
    cluster.sql("SELECT pg_reload_conf()");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while cluster.served_serial() != second && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(cluster.served_serial(), second);
    let (ok, out, err) = cluster.psql(&conn("localhost", &env.path("clients/alice.crt")), WHO);
    assert!(ok, "{err}\n{}", cluster.log_text());
    assert_eq!(out, "alice TLSv1.3");
    // probe sees the current certificate served, marked as one whose key stays on its host.
    let target = format!("127.0.0.1:{}", cluster.port);
    let probe = env.run(&["probe", &target, "--sni", "localhost"]);
    let text = String::from_utf8_lossy(&probe.stdout);
    assert_eq!(probe.status.code(), Some(0), "{text}");
    assert!(
        text.starts_with(&format!(
            "OK: {target} serves serial {second} (external key) ("
        )),
        "{text}"
    );
    let probe = env.run(&["probe", &target, "--sni", "localhost", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
    assert_eq!(v["targets"][0]["external_key"], true, "{v}");
    assert_eq!(v["targets"][0]["is_current"], true, "{v}");
}

/// Kills the `pgca serve` a guide started (its pid in `serve.pid`) if the guide stopped early.
struct ServeOf(PathBuf);

impl Drop for ServeOf {
    fn drop(&mut self) {
        if let Ok(pid) = fs::read_to_string(self.0.join("serve.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
    }
}

/// docs/fleet.md, run as written against its own cluster (as tests/guide.rs runs the others):
/// the CA host, a database host and a client machine as three directories; then the online
/// part: `pgca serve` on 127.0.0.1, the database host and a client enrolled by token and
/// renewed by their agents.
#[test]
fn the_fleet_guide_runs_as_written() {
    assert!(
        pg::is_root(),
        "the guide installs files as root with `install -o postgres`: run the tests as root"
    );
    let text =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/fleet.md")).unwrap();
    let blocks = common::sh_blocks(&text);
    assert!(blocks.len() >= 16, "{} sh blocks", blocks.len());
    let mut cluster = Cluster::new();
    cluster.start();
    let work = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let _serve = ServeOf(work.path().to_path_buf());
    let pgca_dir = work.path().join("pgca");
    let blocks: Vec<(&str, String)> = blocks.into_iter().map(|b| ("docs/fleet.md", b)).collect();
    let transcript = cluster.run_guide(&blocks, work.path(), home.path());
    let alice = transcript.lines().filter(|l| l.trim() == "alice").count();
    assert_eq!(
        alice, 2,
        "alice logged in before and after renewal:\n{transcript}"
    );
    let keys: Vec<&str> = transcript
        .lines()
        .filter(|l| l.starts_with('/') && l.ends_with(".key"))
        .collect();
    assert_eq!(
        keys,
        [
            format!("{}/client-ca.key", pgca_dir.display()),
            format!("{}/server-ca.key", pgca_dir.display())
        ],
        "{transcript}"
    );
    assert!(transcript.contains("valid (external key)"), "{transcript}");
    // The inventory moved into the database (its rows counted there) and back, the same
    // records both ways; the directory's file again at the end.
    assert!(
        transcript.lines().any(|l| l.starts_with("issued|")),
        "{transcript}"
    );
    assert!(transcript.contains("the same records"), "{transcript}");
    assert!(pgca_dir.join("inventory.jsonl").exists());
    // The CA directory holds its two CA keys and, once it serves, the key of its own TLS
    // certificate: no key of a database host or a client.
    let keys = private_keys_below(&pgca_dir);
    assert_eq!(
        keys[..2],
        [
            pgca_dir.join("client-ca.key"),
            pgca_dir.join("server-ca.key")
        ],
        "{keys:?}"
    );
    assert!(
        keys.len() == 3
            && keys[2].starts_with(pgca_dir.join("servers"))
            && keys[2].file_name().unwrap() == "127.0.0.1.key",
        "{keys:?}"
    );
    // Online: carol logged in with what her agent installed; the server serves the
    // certificate its agent installed, renewed from the one enrolled.
    assert!(
        transcript.lines().any(|l| l.trim() == "carol"),
        "{transcript}"
    );
    let deployed = serial_of(&cluster.data.join("pgca-tls/current/server.crt"));
    assert_eq!(cluster.served_serial(), deployed);
    // The CA directory's copy follows the online renewals.
    assert_eq!(deployed, serial_of(&pgca_dir.join("servers/localhost.crt")));
    let ledger = pgca::CaDir::open(&pgca_dir).unwrap().inventory().unwrap();
    let record = ledger
        .issued()
        .iter()
        .find(|i| i.serial.to_string() == deployed)
        .expect("the agent's certificate is in the inventory");
    assert!(
        record
            .authorized
            .as_ref()
            .and_then(|a| a.renewed_from.as_ref())
            .is_some(),
        "{record:?}"
    );
    let log = fs::read_to_string(work.path().join("serve.log")).unwrap();
    assert!(log.lines().count() >= 4, "{log}");
}
