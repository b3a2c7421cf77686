//! pgca's certificates against a real PostgreSQL server and libpq's psql: Debian's 15, or the
//! major `$PGCA_TEST_PG` names (`make test` runs this file on 14, 15 and 18; see tests/pg/mod.rs).
//!
//! The server runs with `ssl = on`, `ssl_min_protocol_version = 'TLSv1.3'`, the client CA as
//! `ssl_ca_file`, and pg_hba.conf `hostssl all all 127.0.0.1/32 cert`; clients connect with
//! `sslmode=verify-full`.

mod common;
mod pg;

use std::path::Path;

use common::Env;
use pg::Cluster;

/// A libpq connection string for `user` with the client pair of `role` from `ca`.
fn conn(ca: &Path, host: &str, user: &str, role: &str) -> String {
    format!(
        "host={host} user={user} dbname=postgres sslmode=verify-full sslrootcert='{}' sslcert='{}' sslkey='{}'",
        ca.join("server-ca.crt").display(),
        ca.join(format!("clients/{role}.crt")).display(),
        ca.join(format!("clients/{role}.key")).display(),
    )
}

const WHO: &str =
    "SELECT current_user || ' ' || version FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

#[test]
fn verify_full_connects_as_the_role_for_every_key_type() {
    // Every key type on Debian's 15; on 14 and 18 (`PGCA_TEST_PG`, make test's second and
    // third passes) RSA only at 2048 bits: the larger RSA keys exercise the same OpenSSL code
    // in every major, and their key generation is most of this file's time on two cores.
    let all = [
        "ecdsa-p256",
        "ecdsa-p384",
        "ed25519",
        "rsa2048",
        "rsa3072",
        "rsa4096",
    ];
    let types = if std::env::var_os("PGCA_TEST_PG").is_some() {
        &all[..4]
    } else {
        &all[..]
    };
    // Issue everything first, in parallel: RSA-4096 keys take seconds each. The CAs of the
    // RSA-3072 and RSA-4096 rows are RSA-2048: what PostgreSQL is proven with here is the
    // leaf keys of each type in the handshake (the server's signature, the client's), while
    // the CAs' signatures are one algorithm at any size, verified by the same OpenSSL chain
    // code (tests/interop.rs checks CAs of every type with openssl and rustls-webpki).
    let envs: Vec<Env> = std::thread::scope(|s| {
        let handles: Vec<_> = types
            .iter()
            .map(|kt| {
                s.spawn(move || {
                    let ca_type = match *kt {
                        "rsa3072" | "rsa4096" => "rsa2048",
                        other => other,
                    };
                    let env = Env::init(&["--key-type", ca_type]);
                    // The two leaves at once too: an RSA-4096 key takes 3 to 18 s here.
                    std::thread::scope(|s| {
                        s.spawn(|| {
                            env.ok(&["issue-server", "localhost", "127.0.0.1", "--key-type", kt])
                        });
                        env.ok(&["issue-client", "alice", "--key-type", kt]);
                    });
                    env
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let mut cluster = Cluster::new();
    cluster.enable_tls();
    let mut started = false;
    for (kt, env) in types.iter().zip(&envs) {
        cluster.install_tls(
            &env.path("servers/localhost.crt"),
            &env.path("servers/localhost.key"),
            &env.path("client-ca.crt"),
        );
        if started {
            cluster.restart();
        } else {
            cluster.start();
            cluster.sql("CREATE ROLE alice LOGIN");
            started = true;
        }
        let (ok, out, err) = cluster.psql(&conn(&env.ca, "localhost", "alice", "alice"), WHO);
        assert!(ok, "{kt}: {err}\n{}", cluster.log_text());
        assert_eq!(out, "alice TLSv1.3", "{kt}");
        // The server certificate also carries 127.0.0.1 as an iPAddress SAN.
        let (ok, out, err) = cluster.psql(&conn(&env.ca, "127.0.0.1", "alice", "alice"), WHO);
        assert!(ok && out == "alice TLSv1.3", "{kt} by IP: {err}");
    }
}

#[test]
fn the_server_refuses_the_wrong_role_ca_and_protocol_and_the_client_the_wrong_host() {
    let env = Env::init(&["--server-host", "localhost", "--server-host", "127.0.0.1"]);
    env.ok(&["issue-client", "alice", "bob"]);
    let other = Env::init(&["--server-host", "localhost"]);
    other.ok(&["issue-client", "alice"]);

    let mut cluster = Cluster::new();
    cluster.install_tls(
        &env.path("servers/localhost.crt"),
        &env.path("servers/localhost.key"),
        &env.path("client-ca.crt"),
    );
    cluster.enable_tls();
    cluster.start();
    cluster.sql("CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN");

    // The right certificates: in.
    let (ok, out, err) = cluster.psql(
        &conn(&env.ca, "localhost", "alice", "alice"),
        "SELECT current_user",
    );
    assert!(ok && out == "alice", "{err}");
    let (ok, out, err) = cluster.psql(
        &conn(&env.ca, "localhost", "bob", "bob"),
        "SELECT current_user",
    );
    assert!(ok && out == "bob", "{err}");

    // bob with alice's certificate: the CN is not the role.
    let (ok, _, err) = cluster.psql(&conn(&env.ca, "localhost", "bob", "alice"), "SELECT 1");
    assert!(!ok);
    assert!(
        err.contains("certificate authentication failed for user \"bob\""),
        "{err}"
    );

    // alice's certificate from another pgca directory's client CA: unknown CA.
    let foreign = format!(
        "host=localhost user=alice dbname=postgres sslmode=verify-full sslrootcert='{}' sslcert='{}' sslkey='{}'",
        env.path("server-ca.crt").display(),
        other.path("clients/alice.crt").display(),
        other.path("clients/alice.key").display()
    );
    let (ok, _, err) = cluster.psql(&foreign, "SELECT 1");
    assert!(!ok);
    assert!(err.contains("unknown ca"), "{err}");

    // Trusting another directory's server CA: the server is not verified.
    let (ok, _, err) = cluster.psql(&conn(&other.ca, "localhost", "alice", "alice"), "SELECT 1");
    assert!(!ok);
    assert!(err.contains("certificate verify failed"), "{err}");

    // TLS 1.2 is refused by ssl_min_protocol_version.
    let (ok, _, _) = cluster.psql(
        &(conn(&env.ca, "localhost", "alice", "alice") + " ssl_max_protocol_version=TLSv1.2"),
        "SELECT 1",
    );
    assert!(!ok, "a TLS 1.2 connection was accepted");

    // A server certificate for another name: verify-full refuses host=localhost.
    env.ok(&["issue-server", "db.example.com"]);
    cluster.install_tls(
        &env.path("servers/db.example.com.crt"),
        &env.path("servers/db.example.com.key"),
        &env.path("client-ca.crt"),
    );
    cluster.restart();
    let (ok, _, err) = cluster.psql(&conn(&env.ca, "localhost", "alice", "alice"), "SELECT 1");
    assert!(!ok);
    assert!(
        err.contains(
            "server certificate for \"db.example.com\" does not match host name \"localhost\""
        ),
        "{err}"
    );

    // A server certificate for an IP address only: host=127.0.0.1 verifies through the iPAddress SAN.
    env.ok(&["issue-server", "127.0.0.1"]);
    cluster.install_tls(
        &env.path("servers/127.0.0.1.crt"),
        &env.path("servers/127.0.0.1.key"),
        &env.path("client-ca.crt"),
    );
    cluster.restart();
    let (ok, out, err) = cluster.psql(
        &conn(&env.ca, "127.0.0.1", "alice", "alice"),
        "SELECT current_user",
    );
    assert!(ok && out == "alice", "{err}");
    let (ok, _, err) = cluster.psql(&conn(&env.ca, "localhost", "alice", "alice"), "SELECT 1");
    assert!(
        !ok && err.contains("does not match host name \"localhost\""),
        "{err}"
    );

    // Names over 64 characters are SANs only, and a certificate with nothing else has no CN:
    // libpq matches the dNSName SANs and never looks for a CN.
    let long = format!("{}.example.com", "a".repeat(58));
    let longer = format!("{long}.x");
    env.ok(&["issue-server", &longer, &long]);
    assert_eq!(
        pgca::CertInfo::from_file(&env.path(&format!("servers/{longer}.crt")))
            .unwrap()
            .common_name,
        None
    );
    cluster.install_tls(
        &env.path(&format!("servers/{longer}.crt")),
        &env.path(&format!("servers/{longer}.key")),
        &env.path("client-ca.crt"),
    );
    cluster.restart();
    for host in [&longer, &long] {
        let (ok, out, err) = cluster.psql(
            &conn(&env.ca, host, "alice", "alice"),
            "SELECT current_user",
        );
        assert!(ok && out == "alice", "host={host}: {err}");
    }
}

#[test]
fn a_certificate_replaced_with_force_is_used_by_the_next_connection() {
    let env = Env::init(&["--server-host", "localhost"]);
    env.ok(&["issue-client", "alice"]);
    let mut cluster = Cluster::new();
    cluster.install_tls(
        &env.path("servers/localhost.crt"),
        &env.path("servers/localhost.key"),
        &env.path("client-ca.crt"),
    );
    cluster.enable_tls();
    cluster.start();
    cluster.sql("CREATE ROLE alice LOGIN");
    let serial = |c: &Cluster| {
        let (ok, out, err) = c.psql(
            &conn(&env.ca, "localhost", "alice", "alice"),
            "SELECT client_serial FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        );
        assert!(ok, "{err}");
        out
    };
    let before = serial(&cluster);
    env.ok(&["issue-client", "alice", "--force"]);
    let after = serial(&cluster);
    assert_ne!(
        before, after,
        "libpq read the new pair through the same paths"
    );
    let new: pgca::CertInfo = pgca::CertInfo::from_file(&env.path("clients/alice.crt")).unwrap();
    // pg_stat_ssl shows the serial in decimal.
    assert_eq!(after, hex_to_decimal(&new.serial.to_string()));
}

fn hex_to_decimal(hex: &str) -> String {
    let mut digits = vec![0u32]; // little-endian base 10
    for c in hex.chars() {
        let mut carry = c.to_digit(16).unwrap();
        for d in digits.iter_mut() {
            let v = *d * 16 + carry;
            *d = v % 10;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push(carry % 10);
            carry /= 10;
        }
    }
    digits
        .iter()
        .rev()
        .map(|d| char::from_digit(*d, 10).unwrap())
        .collect()
}

/// `pgca deploy-server localhost` into the cluster's data directory, and the `include_if_exists`
/// line it asks for, appended to postgresql.conf as an admin would.
fn deploy_and_include(env: &Env, cluster: &Cluster, extra: &[&str]) -> String {
    let data = cluster.data.to_str().unwrap();
    let mut args = vec!["deploy-server", "localhost", "--data-dir", data];
    args.extend_from_slice(extra);
    let deployed = env.ok(&args);
    cluster.include_deployed(&deployed);
    deployed
}

/// The pg_hba.conf lines `pgca server-config` prints (everything after its pg_hba header).
fn hba_lines_of(server_config: &str) -> String {
    let start = server_config
        .find("# pg_hba.conf")
        .expect("server-config prints pg_hba lines");
    server_config[start..]
        .lines()
        .skip(1)
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn a_cluster_configured_only_from_pgca_output_serves_verify_full_clients() {
    let env = Env::init(&["--server-host", "localhost", "--server-host", "127.0.0.1"]);
    env.ok(&["issue-client", "alice"]);
    let mut cluster = Cluster::new();

    // Server: deploy-server's files and include file, server-config's pg_hba lines. Nothing else
    // but the harness's own socket access for the superuser.
    let data = cluster.data.to_str().unwrap().to_string();
    deploy_and_include(&env, &cluster, &[]);
    let config = env.ok(&["server-config", "localhost", "--data-dir", &data]);
    cluster.write_hba(&format!("local all all trust\n{}", hba_lines_of(&config)));
    cluster.start();
    assert_eq!(cluster.sql("SHOW ssl").trim(), "on");
    assert_eq!(
        cluster.sql("SHOW ssl_min_protocol_version").trim(),
        "TLSv1.3"
    );
    cluster.sql("CREATE ROLE alice LOGIN");

    // Client 1: client-install, then a connection string with nothing but host, user, sslmode.
    let home = tempfile::tempdir().unwrap();
    let pgdir = home.path().join(".postgresql");
    env.ok(&["client-install", "alice", "--to", pgdir.to_str().unwrap()]);
    assert_eq!(common::mode(&pgdir.join("postgresql.key")), 0o600);
    let (ok, out, err) = cluster.psql_env(
        "host=localhost user=alice dbname=postgres sslmode=verify-full",
        "SELECT current_user",
        home.path(),
        &[],
    );
    assert!(ok && out == "alice", "{err}\n{}", cluster.log_text());

    // Client 2: pgca env, eval-ed by a shell.
    let script = format!(
        "eval \"$({} --dir {} env alice --host localhost --port {})\" && psql -X -A -t -c 'SELECT current_user' dbname=postgres",
        common::pgca_bin(),
        env.ca.display(),
        cluster.port
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env("PGHOSTADDR", "127.0.0.1")
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "alice");

    // A new server certificate, deployed again and reloaded, is what the next handshake serves.
    let before = cluster.served_serial();
    assert_eq!(
        before,
        pgca::CertInfo::from_file(&env.path("servers/localhost.crt"))
            .unwrap()
            .serial
            .to_string()
    );
    env.ok(&["issue-server", "localhost", "127.0.0.1", "--force"]);
    env.ok(&["deploy-server", "localhost", "--data-dir", &data]);
    cluster.sql("SELECT pg_reload_conf()");
    let want = pgca::CertInfo::from_file(&env.path("servers/localhost.crt"))
        .unwrap()
        .serial
        .to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while cluster.served_serial() != want && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(cluster.served_serial(), want);
    let (ok, _, err) = cluster.psql_env(
        "host=localhost user=alice dbname=postgres sslmode=verify-full",
        "SELECT 1",
        home.path(),
        &[],
    );
    assert!(ok, "{err}");
}

#[test]
fn psql_connects_by_service_name_and_foreign_service_file_content_survives() {
    let env = Env::init(&["--server-host", "localhost"]);
    let mut cluster = Cluster::new();
    cluster.install_tls(
        &env.path("servers/localhost.crt"),
        &env.path("servers/localhost.key"),
        &env.path("client-ca.crt"),
    );
    cluster.enable_tls();
    cluster.start();
    cluster.sql("CREATE ROLE alice LOGIN");

    // A service file an admin already has: comments, CRLF, other services, odd spacing.
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("services.conf");
    let foreign = "# company services\r\n[reporting]\r\nhost=reports.example.com\r\nport=6432\r\n\r\n  # indented comment\r\n[legacy]\r\ndbname=old\r\n";
    std::fs::write(&file, foreign).unwrap();
    let port = cluster.port.to_string();
    env.ok(&[
        "issue-client",
        "alice",
        "--service",
        "db",
        "--host",
        "localhost",
        "--port",
        &port,
        "--dbname",
        "postgres",
        "--file",
        file.to_str().unwrap(),
    ]);
    let merged = std::fs::read_to_string(&file).unwrap();
    assert!(
        merged.starts_with(foreign),
        "the foreign content changed:\n{merged:?}"
    );
    assert!(
        merged[foreign.len()..].starts_with("\r\n[db]\r\n"),
        "{merged:?}"
    );

    let pgservicefile = file.to_str().unwrap();
    let (ok, out, err) = cluster.psql_env(
        "service=db",
        WHO,
        home.path(),
        &[("PGSERVICEFILE", pgservicefile)],
    );
    assert!(ok, "{err}\n{}", cluster.log_text());
    assert_eq!(out, "alice TLSv1.3");

    // Renewed in place (--force): the same entry keeps working, and the file is unchanged.
    env.ok(&["issue-client", "alice", "--force"]);
    let (ok, _, err) = cluster.psql_env(
        "service=db",
        "SELECT 1",
        home.path(),
        &[("PGSERVICEFILE", pgservicefile)],
    );
    assert!(ok, "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), merged);

    // Removing it restores the admin's file exactly.
    env.ok(&["service", "remove", "db", "--file", pgservicefile]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), foreign);
}

#[test]
fn deploy_server_with_owner_root_uses_postgresqls_root_0640_rule() {
    let env = Env::init(&["--server-host", "localhost"]);
    env.ok(&["issue-client", "alice"]);
    let mut cluster = Cluster::new();
    deploy_and_include(&env, &cluster, &["--owner", "root"]);
    let key = cluster.data.join("pgca-tls/current/server.key");
    let m = std::fs::metadata(&key).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!((m.uid(), m.mode() & 0o777), (0, 0o640));
    assert_eq!(m.gid(), std::fs::metadata(&cluster.data).unwrap().gid());
    cluster.start(); // PostgreSQL accepts the root-owned key
    cluster.sql("CREATE ROLE alice LOGIN");
    let (ok, out, err) = cluster.psql(
        &conn(&env.ca, "localhost", "alice", "alice"),
        "SELECT current_user",
    );
    assert!(ok && out == "alice", "{err}");
}

#[test]
fn renew_from_cron_redeploys_reloads_and_clients_keep_connecting() {
    // Everything issued 250 days ago with a 1-year life: due (less than a third left).
    let env = Env::new();
    let past = pgca::timefmt::now() - time::Duration::days(250);
    let mut init = pgca::InitOptions::default();
    init.now = Some(past);
    let ca = pgca::CaDir::init(&env.ca, &init).unwrap();
    let mut opts = pgca::IssueOptions::default();
    opts.now = Some(past);
    ca.issue_server(
        &["localhost".parse().unwrap(), "127.0.0.1".parse().unwrap()],
        &opts,
    )
    .unwrap();
    ca.issue_client(&"alice".parse().unwrap(), &opts).unwrap();

    let mut cluster = Cluster::new();
    let data = cluster.data.to_str().unwrap().to_string();
    deploy_and_include(&env, &cluster, &[]);
    cluster.start();
    cluster.sql("CREATE ROLE alice LOGIN");
    let home = tempfile::tempdir().unwrap();
    let services = home.path().join("pg_service.conf");
    let port = cluster.port.to_string();
    env.ok(&[
        "service",
        "add",
        "db",
        "--role",
        "alice",
        "--host",
        "localhost",
        "--port",
        &port,
        "--dbname",
        "postgres",
        "--file",
        services.to_str().unwrap(),
    ]);
    let service_env = [("PGSERVICEFILE", services.to_str().unwrap())];
    let (ok, _, err) = cluster.psql_env("service=db", "SELECT 1", home.path(), &service_env);
    assert!(ok, "{err}");

    // Monitoring sees it due.
    let out = env.run(&["check"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // cron: renew, deploy again, and reload PostgreSQL through the hook.
    // What the server serves now is the deployed certificate: served_serial() gives "" when
    // it cannot tell, and the assert_ne below would pass on that.
    let old = cluster.served_serial();
    assert_eq!(
        old,
        pgca::CertInfo::from_file(&env.path("servers/localhost.crt"))
            .unwrap()
            .serial
            .to_string()
    );
    let pg_ctl = pg::bindir().join("pg_ctl");
    let out = env.ok(&[
        "renew",
        "--exec",
        "runuser",
        "-u",
        "postgres",
        "--",
        pg_ctl.to_str().unwrap(),
        "reload",
        "-D",
        &data,
    ]);
    assert!(
        out.contains("renewed server localhost") && out.contains("renewed client alice"),
        "{out}"
    );
    assert!(out.contains(&format!("deployed to {data}")), "{out}");
    let new = pgca::CertInfo::from_file(&env.path("servers/localhost.crt"))
        .unwrap()
        .serial
        .to_string();
    assert_ne!(old, new);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while cluster.served_serial() != new && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        cluster.served_serial(),
        new,
        "the reloaded server serves the renewed certificate"
    );
    let out = env.run(&["check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // alice, renewed in place, still connects through the same service entry.
    let (ok, out, err) = cluster.psql_env(
        "service=db",
        "SELECT client_serial FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        home.path(),
        &service_env,
    );
    assert!(ok, "{err}");
    let alice = pgca::CertInfo::from_file(&env.path("clients/alice.crt"))
        .unwrap()
        .serial
        .to_string();
    assert_eq!(out, hex_to_decimal(&alice));
}

#[test]
fn revoked_certificates_are_refused_by_postgresql_and_by_libpq_with_sslcrl() {
    let env = Env::init(&["--server-host", "localhost"]);
    env.ok(&["issue-client", "alice", "bob"]);
    let mut cluster = Cluster::new();
    let data = cluster.data.to_str().unwrap().to_string();
    deploy_and_include(&env, &cluster, &[]);
    cluster.start();
    cluster.sql("CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN");
    for role in ["alice", "bob"] {
        let (ok, _, err) = cluster.psql(&conn(&env.ca, "localhost", role, role), "SELECT 1");
        assert!(ok, "{role}: {err}");
    }

    // Revoke alice: the CRL is deployed with the server's files; a reload enforces it.
    let out = env.ok(&["revoke", "alice", "--reason", "keyCompromise"]);
    assert!(out.contains(&format!("deployed to {data}")), "{out}");
    assert!(
        std::fs::read_to_string(cluster.data.join("pgca_ssl.conf"))
            .unwrap()
            .contains("ssl_crl_file")
    );
    cluster.sql("SELECT pg_reload_conf()");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let refused = loop {
        let (ok, _, err) = cluster.psql(&conn(&env.ca, "localhost", "alice", "alice"), "SELECT 1");
        if !ok || std::time::Instant::now() > deadline {
            break (ok, err);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(!refused.0, "alice still connects after the revocation");
    assert!(refused.1.contains("certificate revoked"), "{}", refused.1);
    let (ok, out, err) = cluster.psql(
        &conn(&env.ca, "localhost", "bob", "bob"),
        "SELECT current_user",
    );
    assert!(ok && out == "bob", "bob must still connect: {err}");

    // The server side: with the server CA's CRL (sslcrl), libpq refuses a revoked server certificate.
    let sslcrl = format!(" sslcrl='{}'", env.path("server-ca.crl").display());
    env.ok(&["crl"]);
    let (ok, _, err) = cluster.psql(
        &(conn(&env.ca, "localhost", "bob", "bob") + &sslcrl),
        "SELECT 1",
    );
    assert!(ok, "a clean server CRL: {err}");
    env.ok(&["revoke", "localhost", "--reason", "keyCompromise"]);
    let (ok, _, err) = cluster.psql(
        &(conn(&env.ca, "localhost", "bob", "bob") + &sslcrl),
        "SELECT 1",
    );
    assert!(!ok, "verify-full accepted a revoked server certificate");
    // libpq says only this much; the revocation is the one difference, as the same connection
    // without sslcrl shows.
    assert!(err.contains("certificate verify failed"), "{err}");
    let (ok, _, err) = cluster.psql(&conn(&env.ca, "localhost", "bob", "bob"), "SELECT 1");
    assert!(ok, "without sslcrl: {err}");
}

#[test]
fn an_encrypted_client_key_connects_with_sslpassword_from_the_service_entry() {
    let env = Env::init(&["--server-host", "localhost"]);
    let mut cluster = Cluster::new();
    deploy_and_include(&env, &cluster, &[]);
    cluster.start();
    cluster.sql("CREATE ROLE alice LOGIN");
    let home = tempfile::tempdir().unwrap();
    let kp = home.path().join("alice-pass");
    common::write_secret(&kp, "alice's own\n");
    let services = home.path().join("pg_service.conf");
    let port = cluster.port.to_string();
    env.ok(&[
        "issue-client",
        "alice",
        "--encrypt-key",
        "--key-passphrase-file",
        kp.to_str().unwrap(),
        "--service",
        "db",
        "--host",
        "localhost",
        "--port",
        &port,
        "--dbname",
        "postgres",
        "--sslpassword",
        "--file",
        services.to_str().unwrap(),
    ]);
    assert_eq!(common::mode(&services), 0o600, "the file holds a password");
    let (ok, out, err) = cluster.psql_env(
        "service=db",
        "SELECT current_user",
        home.path(),
        &[("PGSERVICEFILE", services.to_str().unwrap())],
    );
    assert!(ok && out == "alice", "{err}");
    // Without sslpassword (and no terminal to ask on) libpq cannot use the key.
    let (ok, _, err) = cluster.psql(&conn(&env.ca, "localhost", "alice", "alice"), "SELECT 1");
    assert!(!ok, "an encrypted key worked without its passphrase");
    assert!(err.contains("private key"), "{err}");
}
