//! Online enrollment and renewal against a real PostgreSQL server (Debian's 15, or
//! `$PGCA_TEST_PG`; `make test` runs this file on 14 and 18 too): `pgca serve` on 127.0.0.1, a
//! data directory enrolled by token (`pgca enroll --data-dir`), the server then renewed by its
//! agent (`pgca agent --once --force`: a new key, installed, `pg_ctl reload`, the new serial
//! confirmed served) while a psql loop connects with `sslmode=verify-full` every 200 ms and
//! counts failures; a client role enrolled (`pgca enroll --to`) and renewed the same way.

mod common;
mod pg;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::serve::Server;
use common::{Env, p, pgca_bin, write_secret};
use pg::Cluster;

/// The name `pgca serve` serves as: not the database server's (`localhost`), which the
/// service refuses to enroll as its own.
const CA_NAME: &str = "127.0.0.1";

/// The server CA's SHA-256 fingerprint, as `pgca inspect --json` gives it.
fn fingerprint(env: &Env) -> String {
    let out = env.ok(&["inspect", "--json", p(&env.path("server-ca.crt"))]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let v = if v.is_array() { v[0].clone() } else { v };
    v["sha256_fingerprint"].as_str().unwrap().to_string()
}

/// `pgca ARGS` (no CA directory: the host's side), with its output.
fn host(args: &[&str]) -> std::process::Output {
    std::process::Command::new(pgca_bin())
        .args(args)
        .env_remove("PGCA_DIR")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = host(args);
    assert!(
        out.status.success(),
        "pgca {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A token written 0600 for `pgca enroll --token-file`.
fn token_file(env: &Env, stem: &str, args: &[&str]) -> std::path::PathBuf {
    let mut all = vec!["token"];
    all.extend_from_slice(args);
    let token = env.ok(&all);
    let file = env.tmp.path().join(format!("{stem}.token"));
    write_secret(&file, token.trim());
    file
}

/// The serial of a served or installed certificate file.
fn serial_of(path: &Path) -> String {
    let info = pgca::CertInfo::from_file(path).unwrap();
    info.serial.to_string()
}

/// psql connecting with `conn` every 200 ms until stopped, counting failures.
struct ClientLoop {
    stop: Arc<AtomicBool>,
    tries: Arc<AtomicUsize>,
    handle: std::thread::JoinHandle<Vec<String>>,
}

impl ClientLoop {
    fn start(conn: &str) -> ClientLoop {
        let stop = Arc::new(AtomicBool::new(false));
        let tries = Arc::new(AtomicUsize::new(0));
        let psql = pg::client_bindir().join("psql");
        let handle = {
            let (stop, tries, conn) = (stop.clone(), tries.clone(), conn.to_string());
            std::thread::spawn(move || {
                let mut errors = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let out = std::process::Command::new(&psql)
                        .args(["-X", "-A", "-t", "-c", "SELECT 1", &conn])
                        .output()
                        .unwrap();
                    tries.fetch_add(1, Ordering::Relaxed);
                    if !out.status.success() {
                        errors.push(String::from_utf8_lossy(&out.stderr).into_owned());
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                errors
            })
        };
        ClientLoop {
            stop,
            tries,
            handle,
        }
    }

    /// Stops the loop; it must have connected at least `min` times, every time.
    fn stop_with_no_failure(self, min: usize) {
        self.stop.store(true, Ordering::Relaxed);
        let errors = self.handle.join().unwrap();
        let tries = self.tries.load(Ordering::Relaxed);
        assert!(tries >= min, "only {tries} connections");
        assert!(
            errors.is_empty(),
            "{} of {tries} failed: {errors:?}",
            errors.len()
        );
    }
}

#[test]
fn a_server_and_a_client_enroll_by_token_and_their_agents_renew_them_with_no_failed_connection() {
    let env = Env::init(&["--server-host", CA_NAME]);
    env.ok(&["issue-client", "alice"]);
    let serve = Server::start_as(&env, CA_NAME, &[]);
    let ca = serve.url("");
    let fp = fingerprint(&env);
    let mut cluster = Cluster::new();

    // The database host enrolls: a key made there, deployed into the data directory.
    let t = token_file(
        &env,
        "db",
        &["localhost", "127.0.0.1", "--server", "--validity", "2m"],
    );
    let out = ok(&[
        "enroll",
        "--ca",
        &ca,
        "--fingerprint",
        &fp,
        "--token-file",
        p(&t),
        "--server",
        "localhost",
        "127.0.0.1",
        "--data-dir",
        p(&cluster.data),
    ]);
    assert!(out.starts_with("enrolled server localhost"), "{out}");
    cluster.append_conf(&format!(
        "include_if_exists = '{}'\n",
        cluster.data.join("pgca_ssl.conf").display()
    ));
    cluster.start();
    cluster.sql("CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN");
    let current = cluster.data.join("pgca-tls/current/server.crt");
    let enrolled = serial_of(&current);
    assert_eq!(cluster.served_serial(), enrolled);

    // Clients connect all the while, verify-full, a new connection every 200 ms.
    let looping = ClientLoop::start(&alice_conn(&env, &cluster));

    // Not due yet (2 minutes, renewed at two thirds): a round only refreshes.
    let pg_ctl = pg::bindir().join("pg_ctl");
    let agent = |extra: &[&str]| {
        let mut args = vec![
            "agent",
            "--ca",
            &ca,
            "--data-dir",
            p(&cluster.data),
            "--once",
            "--pg-ctl",
            p(&pg_ctl),
            "--probe",
        ];
        let probe = format!("127.0.0.1:{}", cluster.port);
        args.push(&probe);
        args.extend_from_slice(extra);
        let out = host(&args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, out) = agent(&[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("not due until"), "{out}");
    assert_eq!(serial_of(&current), enrolled);

    // Renewed twice by the agent: a new key each time, reloaded, served.
    let mut serials = vec![enrolled.clone()];
    for _ in 0..2 {
        std::thread::sleep(Duration::from_millis(600));
        let (code, out) = agent(&["--force"]);
        assert_eq!(code, Some(0), "{out}\n{}", cluster.log_text());
        assert!(out.contains("renewed") && out.contains("served"), "{out}");
        let now = serial_of(&current);
        assert!(!serials.contains(&now), "{now} again");
        assert_eq!(cluster.served_serial(), now);
        serials.push(now);
    }

    // --reload sql, as a role that may not reload: the renewal is installed, the reload fails,
    // the server goes on serving the one before (still valid: no client notices).
    cluster.sql(
        "CREATE ROLE pgca_noreload LOGIN; CREATE ROLE pgca_reload LOGIN; \
         GRANT EXECUTE ON FUNCTION pg_reload_conf() TO pgca_reload",
    );
    let sql_as = |role: &str| {
        format!(
            "host={} port={} user={role} dbname=postgres",
            cluster.base.path().display(),
            cluster.port
        )
    };
    let denied = sql_as("pgca_noreload");
    std::thread::sleep(Duration::from_millis(600));
    let (code, out) = agent(&["--force", "--reload", "sql", "--reload-conninfo", &denied]);
    assert_ne!(code, Some(0), "{out}");
    assert!(
        out.contains("pg_reload_conf") && out.contains("permission denied"),
        "{out}"
    );
    let installed = serial_of(&current);
    assert!(!serials.contains(&installed));
    assert_eq!(cluster.served_serial(), serials[serials.len() - 1]);
    serials.push(installed.clone());
    // The next round, not due, finds the installed certificate not served and reloads, with
    // SELECT pg_reload_conf() as the role granted only that.
    let granted = sql_as("pgca_reload");
    let (code, out) = agent(&["--reload", "sql", "--reload-conninfo", &granted]);
    assert_eq!(code, Some(0), "{out}\n{}", cluster.log_text());
    assert!(out.contains("not due until"), "{out}");
    assert_eq!(cluster.served_serial(), installed);

    std::thread::sleep(Duration::from_millis(600));
    looping.stop_with_no_failure(5);

    // A client role enrolls into a directory of its own and is renewed by its agent; its files
    // log in, verify-full.
    let dir = env.tmp.path().join("bob-home/.postgresql");
    std::fs::create_dir(env.tmp.path().join("bob-home")).unwrap();
    let t = token_file(&env, "bob", &["bob", "--client"]);
    let out = ok(&[
        "enroll",
        "--ca",
        &ca,
        "--fingerprint",
        &fp,
        "--token-file",
        p(&t),
        "--client",
        "bob",
        "--to",
        p(&dir),
    ]);
    assert!(out.starts_with("enrolled client bob"), "{out}");
    let first = serial_of(&dir.join("postgresql.crt"));
    let out = ok(&["agent", "--ca", &ca, "--to", p(&dir), "--once", "--force"]);
    assert!(out.contains("renewed"), "{out}");
    assert_ne!(serial_of(&dir.join("postgresql.crt")), first);
    let bob = format!(
        "host=localhost port={} user=bob dbname=postgres sslmode=verify-full sslrootcert='{}' sslcert='{}' sslkey='{}'",
        cluster.port,
        p(&dir.join("root.crt")),
        p(&dir.join("postgresql.crt")),
        p(&dir.join("postgresql.key")),
    );
    let (ok_, who, err) = cluster.psql(&bob, "SELECT current_user");
    assert!(ok_ && who == "bob", "{err}");

    // The inventory has every one of them, each renewal authorised by its predecessor.
    let report = env.ok(&["verify"]);
    assert!(report.starts_with("PGCA OK"), "{report}");
    let ledger = pgca::CaDir::open(&env.ca).unwrap().inventory().unwrap();
    for pair in serials.windows(2) {
        let next = ledger
            .issued()
            .iter()
            .find(|i| i.serial.to_string() == pair[1])
            .unwrap();
        let from = next
            .authorized
            .as_ref()
            .unwrap()
            .renewed_from
            .as_ref()
            .unwrap();
        assert_eq!(from.to_string(), pair[0]);
    }
}

/// A cluster whose server certificate (localhost, 127.0.0.1) was enrolled from `ca` with a
/// token (`token_extra`: e.g. its validity), started with it, with the role alice.
fn enrolled_cluster(env: &Env, ca: &str, token_extra: &[&str]) -> Cluster {
    let mut cluster = Cluster::new();
    let mut args = vec!["localhost", "127.0.0.1", "--server"];
    args.extend_from_slice(token_extra);
    let t = token_file(env, "db", &args);
    ok(&[
        "enroll",
        "--ca",
        ca,
        "--fingerprint",
        &fingerprint(env),
        "--token-file",
        p(&t),
        "--server",
        "localhost",
        "127.0.0.1",
        "--data-dir",
        p(&cluster.data),
    ]);
    cluster.append_conf(&format!(
        "include_if_exists = '{}'\n",
        cluster.data.join("pgca_ssl.conf").display()
    ));
    cluster.start();
    cluster.sql("CREATE ROLE alice LOGIN");
    cluster
}

/// alice's verify-full connection to `cluster` with the CA directory's files in place.
fn alice_conn(env: &Env, cluster: &Cluster) -> String {
    format!(
        "host=localhost port={} user=alice dbname=postgres sslmode=verify-full sslrootcert='{}' sslcert='{}' sslkey='{}'",
        cluster.port,
        p(&env.path("server-ca.crt")),
        p(&env.path("clients/alice.crt")),
        p(&env.path("clients/alice.key")),
    )
}

/// A child process killed when dropped.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `pgca agent` as a daemon (no `--once`): a one-minute server certificate renewed untold at
/// two thirds of its life (40 s, give or take 5), reloaded and confirmed served, while clients
/// connect. On Debian's 15 only (`PGCA_TEST_PG` unset): the daemon runs the rounds the test
/// above proves on 14, 15 and 18, and waiting for a due date on every major would cost CI
/// three times the wait.
#[test]
fn the_agent_daemon_renews_a_server_at_two_thirds_of_its_life_with_no_failed_connection() {
    if std::env::var_os("PGCA_TEST_PG").is_some() {
        return;
    }
    let env = Env::init(&["--server-host", CA_NAME]);
    env.ok(&["issue-client", "alice"]);
    let serve = Server::start_as(&env, CA_NAME, &[]);
    let ca = serve.url("");
    let cluster = enrolled_cluster(&env, &ca, &["--validity", "1m"]);
    let current = cluster.data.join("pgca-tls/current/server.crt");
    let enrolled = serial_of(&current);
    let looping = ClientLoop::start(&alice_conn(&env, &cluster));

    let out_path = env.tmp.path().join("agent.out");
    let started = std::time::Instant::now();
    let _agent = Killed(
        std::process::Command::new(pgca_bin())
            .args(["agent", "--ca", &ca, "--data-dir", p(&cluster.data)])
            .args(["--pg-ctl", p(&pg::bindir().join("pg_ctl"))])
            .args(["--probe", &format!("127.0.0.1:{}", cluster.port)])
            .env_remove("PGCA_DIR")
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let out = || std::fs::read_to_string(&out_path).unwrap_or_default();
    // Due 40 s (35 to 45) after it was issued; the bound leaves the reload and probe 25 s more.
    while !out().contains("renewed") {
        assert!(
            started.elapsed() < Duration::from_secs(70),
            "not renewed after {:?}:\n{}",
            started.elapsed(),
            out()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(30),
        "renewed after {waited:?}, long before it was due:\n{}",
        out()
    );
    let text = out();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("not due until"), "{text}");
    assert!(
        lines[1].contains("renewed") && lines[1].contains("served"),
        "{text}"
    );
    let renewed = serial_of(&current);
    assert_ne!(renewed, enrolled);
    assert_eq!(cluster.served_serial(), renewed);
    looping.stop_with_no_failure(50);
}

/// The subject key id of a CA certificate file's first certificate, and the authority key id
/// of a leaf.
fn key_ids(path: &Path) -> (Option<String>, Option<String>) {
    let info = pgca::CertInfo::from_file(path).unwrap();
    (info.subject_key_id, info.authority_key_id)
}

/// A rollover of both CAs, all three phases, while `pgca serve` runs on and clients connect
/// verify-full every 200 ms: the server's agent takes both client CAs in phase 1, a leaf of
/// the new server CA in phase 2 (untold: the leaf's issuer is no longer the issuing CA) and
/// the new CAs alone after `finish`; cron's `pgca renew` re-issues the offline client alice
/// and leaves the online server to its agent. On 15 only, as the daemon test: the agent's
/// rounds are proven on every major by the first test.
#[test]
fn an_enrolled_server_follows_a_rollover_of_both_cas_through_its_agent_with_no_failed_connection() {
    if std::env::var_os("PGCA_TEST_PG").is_some() {
        return;
    }
    let env = Env::init(&["--server-host", CA_NAME]);
    env.ok(&["issue-client", "alice"]);
    let serve = Server::start_as(&env, CA_NAME, &[]);
    let ca = serve.url("");
    let cluster = enrolled_cluster(&env, &ca, &[]);
    let current = cluster.data.join("pgca-tls/current/server.crt");
    // alice uses the CA directory's files in place, as a service entry does: the server CA
    // file is the bundle during the rollover, her certificate is re-issued by pgca renew.
    let looping = ClientLoop::start(&alice_conn(&env, &cluster));
    let pg_ctl = pg::bindir().join("pg_ctl");
    let probe = format!("127.0.0.1:{}", cluster.port);
    let agent = || {
        let out = host(&[
            "agent",
            "--ca",
            &ca,
            "--data-dir",
            p(&cluster.data),
            "--once",
            "--pg-ctl",
            p(&pg_ctl),
            "--probe",
            &probe,
        ]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{text}\n{}\n{}",
            cluster.log_text(),
            serve.log_text()
        );
        text
    };
    let served_is_current = || assert_eq!(cluster.served_serial(), serial_of(&current));
    let enrolled = serial_of(&current);

    // Phase 1: the agent installs both client CAs and reloads; its certificate stays.
    env.ok(&["rollover", "start", "server"]);
    env.ok(&["rollover", "start", "client"]);
    let out = agent();
    assert!(out.contains("refreshed"), "{out}");
    assert_eq!(serial_of(&current), enrolled);
    let client_ca = std::fs::read_to_string(cluster.data.join("pgca-tls/current/client-ca.crt"));
    assert_eq!(client_ca.unwrap().matches("BEGIN CERTIFICATE").count(), 2);
    std::thread::sleep(Duration::from_millis(600));

    // Phase 2: cron's renew, first, re-issues alice onto the new client CA and leaves the
    // server, due too, to its agent, which then renews at once onto the new server CA.
    env.ok(&["rollover", "switch", "server"]);
    env.ok(&["rollover", "switch", "client"]);
    let out = env.ok(&["renew"]);
    assert!(out.contains("renewed client alice"), "{out}");
    assert!(
        out.contains(&format!("left server localhost (serial {enrolled})")),
        "{out}"
    );
    std::thread::sleep(Duration::from_millis(600));
    let out = agent();
    assert!(out.contains("the CA now signs with its new CA"), "{out}");
    served_is_current();
    assert_eq!(
        key_ids(&current).1,
        key_ids(&env.path("server-ca.next.crt")).0
    );
    std::thread::sleep(Duration::from_millis(600));

    // Phase 3: the old CAs retired; the agent installs the new client CA alone.
    env.ok(&["rollover", "finish", "client"]);
    env.ok(&["rollover", "finish", "server"]);
    let out = agent();
    assert!(out.contains("refreshed"), "{out}");
    served_is_current();
    let client_ca = std::fs::read_to_string(cluster.data.join("pgca-tls/current/client-ca.crt"));
    assert_eq!(client_ca.unwrap().matches("BEGIN CERTIFICATE").count(), 1);
    assert_eq!(key_ids(&current).1, key_ids(&env.path("server-ca.crt")).0);
    std::thread::sleep(Duration::from_millis(600));
    looping.stop_with_no_failure(5);
    let report = env.ok(&["verify"]);
    assert!(report.starts_with("PGCA OK"), "{report}");
}
