//! `pgca rollover` end to end on a real PostgreSQL (Debian's 15, or the major `$PGCA_TEST_PG`
//! names; `make test` runs this file on 14, 15 and 18): each CA replaced while a client connects
//! every 200 ms with `sslmode=verify-full`, and not one connection fails.
//!
//! The server is configured from pgca's output only (`deploy-server`, its include file) with
//! pg_hba.conf `hostssl all all 127.0.0.1/32 cert`; the client's files are the ones
//! `client-install` put in a home's `~/.postgresql` (libpq also reads `root.crl` from there),
//! which `pgca renew` installs again. Each step is followed by `pgca renew` and a reload, as
//! the rollover's `--help` asks, with a pause between steps so that the client loop sees every
//! intermediate state.

mod common;
mod java;
mod pg;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Env, p};
use pg::Cluster;

/// The pause between two steps of a rollover.
const PAUSE: Duration = Duration::from_millis(1000);

fn pause() {
    std::thread::sleep(PAUSE);
}

/// Runs psql over TCP to 127.0.0.1 (the server certificate names localhost and 127.0.0.1) with
/// `conninfo` and `SELECT 1`, `HOME` = `home` and no `PG*` variable; `Err(stderr)` on failure.
fn psql(port: u16, home: &Path, conninfo: &str) -> Result<(), String> {
    let conn = format!("{conninfo} port={port} hostaddr=127.0.0.1 connect_timeout=5");
    let mut cmd = Command::new(pg::client_bindir().join("psql"));
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .env("HOME", home)
        .args(["-X", "-A", "-t", "-c", "SELECT 1", &conn])
        .output()
        .unwrap();
    if out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "1" {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// A verify-full connection string for `user` with these files.
fn files(user: &str, root: &Path, cert: &Path, key: &Path) -> String {
    format!(
        "host=localhost user={user} dbname=postgres sslmode=verify-full sslrootcert='{}' sslcert='{}' sslkey='{}'",
        p(root),
        p(cert),
        p(key)
    )
}

/// The client files `client-install` put in `dir`.
fn installed(user: &str, dir: &Path) -> String {
    files(
        user,
        &dir.join("root.crt"),
        &dir.join("postgresql.crt"),
        &dir.join("postgresql.key"),
    )
}

/// A client connecting every 200 ms until stopped, counting what succeeded and keeping what
/// failed (when, and libpq's message).
struct Load {
    ok: AtomicUsize,
    failed: Mutex<Vec<String>>,
    stop: AtomicBool,
    started: Instant,
}

impl Load {
    fn new() -> Load {
        Load {
            ok: AtomicUsize::new(0),
            failed: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            started: Instant::now(),
        }
    }

    fn run(&self, port: u16, home: &Path, conninfo: &str) {
        while !self.stop.load(Ordering::SeqCst) {
            match psql(port, home, conninfo) {
                Ok(()) => {
                    self.ok.fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => self
                    .failed
                    .lock()
                    .unwrap()
                    .push(format!("at {:?}: {e}", self.started.elapsed())),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A guard that stops the loop when dropped.
    fn stop_on_drop(&self) -> StopOnDrop<'_> {
        StopOnDrop(self)
    }

    /// Stops the loop (after its current connection) and asserts that every connection
    /// succeeded, and that there were some.
    fn finish(&self, what: &str, steps: &[String], log: &str) {
        self.stop.store(true, Ordering::SeqCst);
        let failed = self.failed.lock().unwrap();
        let ok = self.ok.load(Ordering::SeqCst);
        assert!(
            failed.is_empty(),
            "{what}: {} of {} connections failed:\n{}\n--- steps\n{}\n--- server log\n{log}",
            failed.len(),
            failed.len() + ok,
            failed.join("\n"),
            steps.join("\n")
        );
        assert!(ok > 10, "{what}: only {ok} connections");
        eprintln!("{what}: {ok} connections, none failed");
    }
}

struct StopOnDrop<'a>(&'a Load);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.stop.store(true, Ordering::SeqCst);
    }
}

/// The steps done so far, each with its time since the start (for the failure messages, beside
/// the client loop's).
struct Steps {
    started: Instant,
    done: Mutex<Vec<String>>,
}

impl Steps {
    fn new(started: Instant) -> Steps {
        Steps {
            started,
            done: Mutex::new(Vec::new()),
        }
    }

    fn note(&self, what: &str) {
        self.done
            .lock()
            .unwrap()
            .push(format!("at {:?}: {what}", self.started.elapsed()));
    }

    /// `pgca ARGS`, asserted to succeed; returns stdout.
    fn pgca(&self, env: &Env, args: &[&str]) -> String {
        self.note(&format!("pgca {}", args.join(" ")));
        env.ok(args)
    }

    fn reload(&self, cluster: &Cluster) {
        self.note("SELECT pg_reload_conf()");
        cluster.sql("SELECT pg_reload_conf()");
    }

    fn list(&self) -> Vec<String> {
        self.done.lock().unwrap().clone()
    }
}

/// Waits (10 s at most) until `f` gives `Ok`, then returns it; panics with `what` and the last
/// `Err` otherwise.
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) if Instant::now() > deadline => panic!("{what}: still {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Waits until a connection with `conninfo` is refused with a message containing `why`.
fn wait_refused(what: &str, port: u16, home: &Path, conninfo: &str, why: &str) {
    wait_for(what, || match psql(port, home, conninfo) {
        Ok(()) => Err("connects".to_string()),
        Err(e) if e.contains(why) => Ok(()),
        Err(e) => Err(format!("refused, but not with {why:?}: {e}")),
    });
}

/// Copies a file, key mode (0600).
fn copy_key(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
    common::write_secret(to, std::fs::read(to).unwrap());
}

fn cert(path: &Path) -> pgca::CertInfo {
    pgca::CertInfo::from_file(path).unwrap()
}

/// A CA directory (unencrypted keys: no passphrase to derive on every run) whose server
/// certificate names localhost and 127.0.0.1, deployed into a started cluster with the roles;
/// alice's files installed into `home/.postgresql`.
fn setup(roles: &[&str]) -> (Env, Cluster, tempfile::TempDir, PathBuf) {
    let env = Env::init(&[
        "--no-passphrase",
        "--server-host",
        "localhost",
        "--server-host",
        "127.0.0.1",
    ]);
    env.ok(&["issue-client", "alice"]);
    let mut cluster = Cluster::new();
    let deployed = env.ok(&["deploy-server", "localhost", "--data-dir", p(&cluster.data)]);
    cluster.include_deployed(&deployed);
    cluster.start();
    let create: String = roles
        .iter()
        .map(|r| format!("CREATE ROLE {r} LOGIN;"))
        .collect();
    cluster.sql(&create);
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".postgresql");
    env.ok(&["client-install", "alice", "--to", p(&dir)]);
    (env, cluster, home, dir)
}

#[test]
fn a_client_ca_rollover_drops_no_connection_and_old_and_revoked_certificates_end_as_they_should() {
    let started = Instant::now();
    let (env, cluster, home, dir) = setup(&["alice", "bob", "carol"]);
    let port = cluster.port;
    let data = p(&cluster.data).to_string();
    let empty = tempfile::tempdir().unwrap();
    let none = empty.path();
    let server_ca = env.path("server-ca.crt");
    // alice's pair on the old client CA, kept by a client that is never updated.
    let kept = tempfile::tempdir().unwrap();
    let (old_crt, old_key) = (kept.path().join("alice.crt"), kept.path().join("alice.key"));
    std::fs::copy(dir.join("postgresql.crt"), &old_crt).unwrap();
    copy_key(&dir.join("postgresql.key"), &old_key);
    let old_alice = files("alice", &server_ca, &old_crt, &old_key);
    let old_ca = cert(&env.path("client-ca.crt"));
    let role = |r: &str| {
        files(
            r,
            &server_ca,
            &env.path(&format!("clients/{r}.crt")),
            &env.path(&format!("clients/{r}.key")),
        )
    };
    psql(port, home.path(), &installed("alice", &dir)).unwrap();

    let load = Load::new();
    let steps = Steps::new(load.started);
    let conninfo = installed("alice", &dir);
    std::thread::scope(|s| {
        s.spawn(|| load.run(port, home.path(), &conninfo));
        // A failed assertion below stops the loop too (the scope waits for it).
        let _stop = load.stop_on_drop();
        pause();

        // Phase 1: the server trusts both client CAs; the old one still signs.
        steps.pgca(&env, &["rollover", "start", "client"]);
        let new_ca = cert(&env.path("client-ca.next.crt"));
        assert_ne!(new_ca.subject, old_ca.subject);
        pause();
        let out = steps.pgca(&env, &["renew"]);
        assert!(out.contains(&format!("refreshed {data}:")), "{out}");
        pause();
        steps.reload(&cluster);
        pause();
        let deployed_cas =
            std::fs::read_to_string(cluster.data.join("pgca-tls/current/client-ca.crt")).unwrap();
        assert_eq!(deployed_cas.matches("BEGIN CERTIFICATE").count(), 2);
        // Reloaded: the server asks for a certificate of either CA.
        let probe = env.run(&["probe", &format!("127.0.0.1:{port}"), "--json"]);
        let probe = String::from_utf8_lossy(&probe.stdout);
        assert!(
            probe.contains(&old_ca.subject) && probe.contains(&new_ca.subject),
            "{probe}"
        );

        // bob, issued during the overlap by the old CA, then revoked: refused once reloaded.
        steps.pgca(&env, &["issue-client", "bob"]);
        assert_eq!(cert(&env.path("clients/bob.crt")).issuer, old_ca.subject);
        psql(port, none, &role("bob")).unwrap();
        let out = steps.pgca(&env, &["revoke", "bob", "--reason", "keyCompromise"]);
        assert!(out.contains(&format!("deployed to {data}")), "{out}");
        steps.reload(&cluster);
        wait_refused(
            "bob, revoked on the old CA",
            port,
            none,
            &role("bob"),
            "certificate revoked",
        );
        psql(port, none, &old_alice).unwrap();
        pause();

        // Phase 2: the new CA signs; renew re-issues alice and installs her new pair, a new key
        // too. (libpq reads postgresql.crt, then postgresql.key: a connection of the loop that
        // reads them across the renames fails with "key values mismatch"; pgca renames them
        // back to back, which makes that rare, not impossible.)
        steps.pgca(&env, &["rollover", "switch", "client"]);
        pause();
        let out = steps.pgca(&env, &["renew"]);
        assert!(
            out.contains("renewed client alice")
                && out.contains(&format!("installed to {}", p(&dir))),
            "{out}"
        );
        pause();
        steps.reload(&cluster);
        pause();
        let alice = cert(&dir.join("postgresql.crt"));
        assert_eq!(
            alice.issuer, new_ca.subject,
            "renew installed alice's new pair"
        );
        assert_ne!(alice.serial, cert(&old_crt).serial);
        // Both of alice's pairs are accepted during the overlap; bob stays refused.
        psql(port, none, &old_alice).unwrap();
        psql(port, none, &installed("alice", &dir)).unwrap();
        let err = psql(port, none, &role("bob")).unwrap_err();
        assert!(err.contains("certificate revoked"), "bob: {err}");
        // carol, issued by the new CA, then revoked.
        steps.pgca(&env, &["issue-client", "carol"]);
        assert_eq!(cert(&env.path("clients/carol.crt")).issuer, new_ca.subject);
        psql(port, none, &role("carol")).unwrap();
        steps.pgca(&env, &["revoke", "carol", "--reason", "keyCompromise"]);
        steps.reload(&cluster);
        wait_refused(
            "carol, revoked on the new CA",
            port,
            none,
            &role("carol"),
            "certificate revoked",
        );
        psql(port, none, &old_alice).unwrap();
        pause();

        // Phase 3: the old CA retired; once deployed and reloaded, its certificates are refused.
        steps.pgca(&env, &["rollover", "finish", "client"]);
        pause();
        let out = steps.pgca(&env, &["renew"]);
        assert!(out.contains(&format!("refreshed {data}:")), "{out}");
        pause();
        steps.reload(&cluster);
        wait_refused(
            "alice's pair on the retired CA",
            port,
            none,
            &old_alice,
            "unknown ca",
        );
        let err = psql(port, none, &role("bob")).unwrap_err();
        assert!(err.contains("unknown ca"), "bob: {err}");
        let err = psql(port, none, &role("carol")).unwrap_err();
        assert!(err.contains("certificate revoked"), "carol: {err}");
        psql(port, none, &installed("alice", &dir)).unwrap();
        pause();
        load.finish("client CA rollover", &steps.list(), &cluster.log_text());
    });
    let out = env.ok(&["rollover", "status"]);
    assert!(
        !out.contains("trust-both") && !out.contains("issue-new"),
        "{out}"
    );
    eprintln!("client CA rollover: {:?}", started.elapsed());
}

#[test]
fn a_server_ca_rollover_drops_no_connection_and_finish_waits_for_every_server() {
    let jar = java::pgjdbc_jar(); // before anything slow: say what is missing first
    let started = Instant::now();
    let (env, cluster, home, dir) = setup(&["alice"]);
    let port = cluster.port;
    let data = p(&cluster.data).to_string();
    let empty = tempfile::tempdir().unwrap();
    let none = empty.path();
    let kept = tempfile::tempdir().unwrap();
    // A client that keeps the old server CA alone, and one that takes the bundle at start.
    let old_root = kept.path().join("old-server-ca.crt");
    std::fs::copy(env.path("server-ca.crt"), &old_root).unwrap();
    let bundle = kept.path().join("server-cas.crt");
    let with_root = |root: &Path| {
        files(
            "alice",
            root,
            &dir.join("postgresql.crt"),
            &dir.join("postgresql.key"),
        )
    };
    // The cluster is on the probes list: finish probes it.
    let target = format!("127.0.0.1:{port}");
    std::fs::write(env.path("probes"), format!("{target}\n")).unwrap();
    let localhost = env.path("servers/localhost.crt");
    let old_serial = cert(&localhost).serial.to_string();
    assert_eq!(cluster.served_serial(), old_serial);
    // pgjdbc (one JVM per call) with a root file as sslrootcert, its key the install's .pk8.
    let jdbc = |runs: &[(&'static str, &Path, Result<&'static str, &'static str>)]| {
        let cases: Vec<java::Case> = runs
            .iter()
            .map(|&(name, root, want)| {
                let extra = format!(
                    "sslkey={}&sslcert={}&sslrootcert={}",
                    p(&dir.join("postgresql.pk8")),
                    p(&dir.join("postgresql.crt")),
                    p(root)
                );
                java::Case::new(name, None, &java::url(port, "alice", &extra), want)
            })
            .collect();
        let got = java::run_java(&cases);
        let wrong = java::mismatches(&cases, &got);
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    };

    let load = Load::new();
    let steps = Steps::new(load.started);
    let conninfo = installed("alice", &dir);
    std::thread::scope(|s| {
        s.spawn(|| load.run(port, home.path(), &conninfo));
        // A failed assertion below stops the loop too (the scope waits for it).
        let _stop = load.stop_on_drop();
        pause();

        // Phase 1: clients trust both server CAs; the server still serves the old one's.
        steps.pgca(&env, &["rollover", "start", "server"]);
        std::fs::copy(env.path("server-ca.crt"), &bundle).unwrap();
        assert_eq!(
            std::fs::read_to_string(&bundle)
                .unwrap()
                .matches("BEGIN CERTIFICATE")
                .count(),
            2
        );
        pause();
        let out = steps.pgca(&env, &["renew"]);
        assert!(
            out.contains(&format!("refreshed {}:", p(&dir))),
            "renew installs root.crt again: {out}"
        );
        pause();
        steps.reload(&cluster);
        pause();
        assert_eq!(
            std::fs::read(dir.join("root.crt")).unwrap(),
            std::fs::read(&bundle).unwrap()
        );
        psql(port, none, &with_root(&old_root)).unwrap();
        psql(port, none, &with_root(&bundle)).unwrap();
        jdbc(&[
            ("bundle, phase 1", &bundle, Ok("alice")),
            ("old root, phase 1", &old_root, Ok("alice")),
        ]);

        // Phase 2: the new CA signs. finish is refused until the server's certificate is
        // re-issued, deployed and served.
        steps.pgca(&env, &["rollover", "switch", "server"]);
        let refused = env.fails(&["rollover", "finish", "server"]);
        assert!(
            refused.contains("server localhost") && refused.contains(&data),
            "finish before renew names the leaf and the deployment: {refused}"
        );
        pause();
        let out = steps.pgca(&env, &["renew"]);
        assert!(
            out.contains("renewed server localhost")
                && out.contains(&format!("deployed to {data}")),
            "{out}"
        );
        let new_serial = cert(&localhost).serial.to_string();
        assert_ne!(new_serial, old_serial);
        // Deployed, not yet reloaded: the probe of the cluster still sees the old CA's chain.
        let refused = env.fails(&["rollover", "finish", "server"]);
        assert!(
            refused.contains(&format!("server {target}")) && refused.contains("old server CA"),
            "finish before the reload names the probed server: {refused}"
        );
        assert!(!refused.contains("server localhost"), "{refused}");
        // probe says which CA the served chain leads to during the rollover.
        let probed = env.run(&["probe", &target]);
        let text = String::from_utf8_lossy(&probed.stdout).into_owned();
        assert!(
            text.contains("renewed but not reloaded")
                && text.contains("a chain to the old server CA"),
            "{text}"
        );
        pause();
        steps.reload(&cluster);
        wait_for(
            "the reloaded server serves the new certificate",
            || match cluster.served_serial() {
                s if s == new_serial => Ok(()),
                s => Err(format!("serving {s:?}")),
            },
        );
        wait_refused(
            "a client trusting the old server CA alone",
            port,
            none,
            &with_root(&old_root),
            "certificate verify failed",
        );
        psql(port, none, &with_root(&bundle)).unwrap();
        let probed = env.ok(&["probe", &target]);
        assert!(
            probed.contains(&format!("serves serial {new_serial} on the new server CA")),
            "{probed}"
        );
        jdbc(&[
            ("bundle, phase 2", &bundle, Ok("alice")),
            ("old root, phase 2", &old_root, Err("PKIX path")),
        ]);
        pause();

        // Phase 3: nothing depends on the old CA any more.
        let out = steps.pgca(&env, &["rollover", "finish", "server"]);
        assert!(!out.is_empty());
        pause();
        let out = steps.pgca(&env, &["renew"]);
        assert!(
            out.contains(&format!("refreshed {}:", p(&dir))),
            "renew installs root.crt again: {out}"
        );
        pause();
        steps.reload(&cluster);
        pause();
        let root = std::fs::read_to_string(dir.join("root.crt")).unwrap();
        assert_eq!(root.matches("BEGIN CERTIFICATE").count(), 1);
        psql(port, none, &with_root(&bundle)).unwrap();
        psql(port, none, &installed("alice", &dir)).unwrap();
        let err = psql(port, none, &with_root(&old_root)).unwrap_err();
        assert!(err.contains("certificate verify failed"), "{err}");
        load.finish("server CA rollover", &steps.list(), &cluster.log_text());
    });
    eprintln!(
        "server CA rollover: {:?} (pgjdbc {})",
        started.elapsed(),
        jar.display()
    );
}
