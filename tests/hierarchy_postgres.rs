//! `pgca init --intermediate` against a real PostgreSQL and libpq: the server sends its leaf
//! and intermediate (`ssl_cert_file`), a client its own (`sslcert`), each side trusts the other's
//! root alone (`ssl_ca_file`, `sslrootcert`); with CRLs deployed PostgreSQL checks the root's and
//! the intermediate's. An intermediate rollover of both sides, driven as an admin would (start,
//! renew, reload, switch, renew, reload, finish, renew, reload), never fails a client and never
//! changes a trust file. The cluster runs as postgres on 127.0.0.1 (see tests/pg/mod.rs).

mod common;
mod pg;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Env;
use pg::Cluster;

/// verify-full as `role` with the pair of the CA directory, the server's root alone trusted.
fn conn(ca: &Path, role: &str) -> String {
    format!(
        "host=localhost user={role} dbname=postgres sslmode=verify-full sslrootcert='{}' sslcert='{}' sslkey='{}'",
        ca.join("server-ca.crt").display(),
        ca.join(format!("clients/{role}.crt")).display(),
        ca.join(format!("clients/{role}.key")).display(),
    )
}

fn hierarchy() -> Env {
    let env = Env::init(&[
        "--intermediate",
        "--server-host",
        "localhost",
        "--server-host",
        "127.0.0.1",
    ]);
    env.ok(&["issue-client", "alice", "bob"]);
    env
}

/// `pgca deploy-server localhost` into the cluster and its include line.
fn deploy(env: &Env, cluster: &Cluster) {
    let data = cluster.data.to_str().unwrap();
    let out = env.ok(&["deploy-server", "localhost", "--data-dir", data]);
    cluster.include_deployed(&out);
}

fn reload(cluster: &Cluster) {
    cluster.sql("SELECT pg_reload_conf()");
    std::thread::sleep(Duration::from_millis(500));
}

#[test]
fn verify_full_with_chains_and_a_revoked_leaf_refused_with_both_crls() {
    let env = hierarchy();
    assert_eq!(
        std::fs::read_to_string(env.path("client-ca.crt"))
            .unwrap()
            .matches("BEGIN CERTIFICATE")
            .count(),
        1,
        "ssl_ca_file holds the client root only"
    );
    let mut cluster = Cluster::new();
    deploy(&env, &cluster);
    cluster.start();
    cluster.sql("CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN");
    for role in ["alice", "bob"] {
        let (ok, out, err) = cluster.psql(
            &conn(&env.ca, role),
            "SELECT current_user || ' ' || version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        );
        assert!(ok, "{role}: {err}");
        assert!(out.starts_with(&format!("{role} TLSv1.3")), "{out}");
    }
    // pgca probe sees the chain the server sends reach the server root.
    let target = format!("127.0.0.1:{}", cluster.port);
    let out = env.run(&["probe", &target]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A client that sends its leaf without the intermediate is refused.
    let alone = env.tmp.path().join("alice-alone.crt");
    let text = std::fs::read_to_string(env.path("clients/alice.crt")).unwrap();
    std::fs::write(
        &alone,
        text.split_inclusive("-----END CERTIFICATE-----\n")
            .next()
            .unwrap(),
    )
    .unwrap();
    let bare = conn(&env.ca, "alice").replace(
        &env.path("clients/alice.crt").display().to_string(),
        &alone.display().to_string(),
    );
    let (ok, _, err) = cluster.psql(&bare, "SELECT 1");
    assert!(!ok, "a leaf without its intermediate must be refused");
    assert!(err.contains("unknown ca"), "{err}");

    // Revoke alice: both CRLs of the client side are deployed, the reload enforces them.
    let out = env.ok(&["revoke", "alice", "--reason", "keyCompromise"]);
    assert!(out.contains("deployed to"), "{out}");
    let deployed =
        std::fs::read_to_string(cluster.data.join("pgca-tls/current/client-ca.crl")).unwrap();
    assert_eq!(
        deployed.matches("BEGIN X509 CRL").count(),
        2,
        "the root's and the intermediate's"
    );
    cluster.sql("SELECT pg_reload_conf()");
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let (ok, _, err) = cluster.psql(&conn(&env.ca, "alice"), "SELECT 1");
        if !ok || Instant::now() > deadline {
            break (ok, err);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!refused.0, "alice still connects after the revocation");
    assert!(refused.1.contains("certificate revoked"), "{}", refused.1);
    let (ok, out, err) = cluster.psql(&conn(&env.ca, "bob"), "SELECT current_user");
    assert!(ok && out == "bob", "bob must still connect: {err}");

    // libpq with the server side's CRLs (root and intermediate): the server still passes.
    env.ok(&["crl"]);
    cluster.sql("SELECT pg_reload_conf()");
    let sslcrl = format!(" sslcrl='{}'", env.path("server-ca.crl").display());
    let (ok, out, err) = cluster.psql(&(conn(&env.ca, "bob") + &sslcrl), "SELECT current_user");
    assert!(ok && out == "bob", "{err}");
}

#[test]
fn an_intermediate_rollover_of_both_sides_fails_no_client_and_changes_no_trust_file() {
    let env = hierarchy();
    env.ok(&["crl"]); // CRLs in use on both sides: each new intermediate needs its own deployed
    let mut cluster = Cluster::new();
    deploy(&env, &cluster);
    cluster.start();
    cluster.sql("CREATE ROLE alice LOGIN");
    let home = env.tmp.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let install = home.join(".postgresql");
    env.ok(&["client-install", "alice", "--to", install.to_str().unwrap()]);
    let client_conn = format!(
        "host=localhost user=alice dbname=postgres sslmode=verify-full sslrootcert='{0}/root.crt' sslcrl='{0}/root.crl' sslcert='{0}/postgresql.crt' sslkey='{0}/postgresql.key'",
        install.display()
    );
    let (ok, _, err) = cluster.psql(&client_conn, "SELECT 1");
    assert!(ok, "{err}");

    let deployed_ca = cluster.data.join("pgca-tls/current/client-ca.crt");
    let root_crt = install.join("root.crt");
    let trust = || {
        (
            std::fs::read(&deployed_ca).unwrap(),
            std::fs::read(&root_crt).unwrap(),
            std::fs::read(env.path("client-ca.crt")).unwrap(),
            std::fs::read(env.path("server-ca.crt")).unwrap(),
        )
    };
    let before = trust();

    // A client connecting every 200 ms for the whole rollover.
    let stop = Arc::new(AtomicBool::new(false));
    let runs = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let cluster = Arc::new(cluster);
    let looper = {
        let (stop, runs, failures, cluster) = (
            stop.clone(),
            runs.clone(),
            failures.clone(),
            cluster.clone(),
        );
        let conn = client_conn.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let (ok, out, err) = cluster.psql(&conn, "SELECT current_user");
                if !ok || out != "alice" {
                    failures.lock().unwrap().push(err);
                }
                runs.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let served_issuers = |env: &Env| {
        let issuing = pgca::CertInfo::from_file(&env.path("server-issuing.crt")).unwrap();
        let served = cluster.served_serial();
        (issuing, served)
    };
    let step = |args: &[&str]| {
        env.ok(args);
        assert_eq!(trust(), before, "after pgca {args:?}: a trust file changed");
    };
    let old_server_leaf = pgca::CertInfo::from_file(&env.path("servers/localhost.crt")).unwrap();

    for side in ["client", "server"] {
        step(&["rollover", "start", side, "--intermediate"]);
    }
    step(&["renew"]);
    reload(&cluster);
    for side in ["client", "server"] {
        step(&["rollover", "switch", side]);
    }
    step(&["renew"]);
    reload(&cluster);
    let (issuing, served) = served_issuers(&env);
    let new_server_leaf = pgca::CertInfo::from_file(&env.path("servers/localhost.crt")).unwrap();
    assert_ne!(new_server_leaf.serial, old_server_leaf.serial);
    assert_eq!(
        served,
        new_server_leaf.serial.to_string(),
        "the reloaded server serves the new leaf"
    );
    let next = pgca::CertInfo::from_file(&env.path("server-issuing.next.crt")).unwrap();
    assert_ne!(issuing.serial, next.serial);
    assert_eq!(
        new_server_leaf.issuer, next.subject,
        "signed by the new intermediate"
    );
    for side in ["client", "server"] {
        step(&["rollover", "finish", side]);
    }
    step(&["renew"]);
    reload(&cluster);
    std::thread::sleep(Duration::from_millis(1000));
    stop.store(true, Ordering::Relaxed);
    looper.join().unwrap();

    let failures = failures.lock().unwrap();
    let runs = runs.load(Ordering::Relaxed);
    assert!(runs >= 10, "the client loop ran {runs} times");
    assert!(
        failures.is_empty(),
        "{} of {runs} connections failed: {failures:?}",
        failures.len()
    );
    assert_eq!(trust(), before, "the trust files never changed");
    let alice = pgca::CertInfo::from_file(&install.join("postgresql.crt")).unwrap();
    let client_issuing = pgca::CertInfo::from_file(&env.path("client-issuing.crt")).unwrap();
    assert_eq!(
        alice.issuer, client_issuing.subject,
        "alice is on the new intermediate"
    );
    let out = env.run(&["check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = env.run(&["verify"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
