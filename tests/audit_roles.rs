//! `pgca roles` end to end on a real PostgreSQL (Debian's 15, or `$PGCA_TEST_PG`): the CA
//! directory's client certificates against the server's roles. A dropped role's certificate is
//! found and, with `--revoke-orphans`, revoked, its CRL deployed, and refused by the server
//! after a reload even when the role is created again; NOLOGIN and superuser certificates are
//! flagged; a role that may log in only by certificate and has none is found, and
//! `--issue-missing` issues it one that the server accepts.

mod common;
mod pg;

use std::collections::BTreeSet;
use std::process::Command;

use common::{Env, p};
use pg::Cluster;

/// `pgca roles TARGET ARGS --json`: (exit code, JSON, everything printed).
fn roles(env: &Env, target: &str, args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = Command::new(common::pgca_bin())
        .arg("--dir")
        .arg(&env.ca)
        .args(["roles", target])
        .args(args)
        .arg("--json")
        .env_remove("PGCA_DIR")
        .env("PGCA_PASSPHRASE_FILE", env.passphrase_file())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null),
        format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

fn found(report: &serde_json::Value) -> BTreeSet<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap_or_default().to_string(),
                f["subject"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Whether `role` logs in over TLS (verify-full) with its pgca certificate.
fn logs_in(env: &Env, c: &Cluster, role: &str) -> Result<(), String> {
    let conn = format!(
        "host=localhost hostaddr=127.0.0.1 port={} dbname=postgres user={role} sslmode=verify-full \
         sslrootcert={} sslcert={} sslkey={} connect_timeout=5",
        c.port,
        p(&env.path("server-ca.crt")),
        p(&env.path(&format!("clients/{role}.crt"))),
        p(&env.path(&format!("clients/{role}.key"))),
    );
    let out = Command::new(pg::client_bindir().join("psql"))
        .args(["-X", "-A", "-t", "-c", "SELECT current_user", &conn])
        .env_remove("PGHOST")
        .env_remove("PGPORT")
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

#[test]
fn roles_finds_orphans_revokes_them_and_issues_the_missing() {
    let env = Env::init(&["--no-passphrase"]);
    env.ok(&["issue-server", "localhost", "127.0.0.1"]);
    for role in ["alice", "bob", "carol", "dba", "ghost"] {
        env.ok(&["issue-client", role]);
    }
    env.ok(&["crl"]);
    let mut c = Cluster::new();
    let deployed = env.ok(&["deploy-server", "localhost", "--data-dir", p(&c.data)]);
    c.include_deployed(&deployed);
    c.write_hba("local all postgres trust\nhostssl all all 127.0.0.1/32 cert\n");
    c.start();
    c.sql(
        "CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN; CREATE ROLE carol NOLOGIN; \
         CREATE ROLE dba LOGIN SUPERUSER; CREATE ROLE dave LOGIN",
    );
    logs_in(&env, &c, "bob").expect("bob logs in before his role is dropped");
    c.sql("DROP ROLE bob");

    let target = format!("host={} port={} user=postgres", p(c.base.path()), c.port);
    let (code, report, log) = roles(&env, &target, &[]);
    assert_eq!(code, 2, "{log}");
    let got = found(&report);
    let serial = |role: &str| {
        std::fs::read_to_string(env.path(&format!("clients/{role}.crt")))
            .ok()
            .and_then(|pem| pgca::CertInfo::from_pem(pem.as_bytes()).ok())
            .map(|c| c.serial.to_string())
            .unwrap()
    };
    let want = [
        (
            "role-cert-orphan",
            format!("client certificate bob ({})", serial("bob")),
        ),
        (
            "role-cert-orphan",
            format!("client certificate ghost ({})", serial("ghost")),
        ),
        (
            "role-cert-nologin",
            format!("client certificate carol ({})", serial("carol")),
        ),
        (
            "role-cert-superuser",
            format!("client certificate dba ({})", serial("dba")),
        ),
        ("role-cert-missing", "role dave".to_string()),
    ];
    let missing: Vec<_> = want
        .iter()
        .filter(|(id, s)| !got.contains(&(id.to_string(), s.clone())))
        .collect();
    assert!(
        missing.is_empty(),
        "missing {missing:?}\ngot {got:?}\n{log}"
    );
    assert!(
        !got.iter().any(|(_, s)| s.contains("alice")),
        "alice's certificate and role agree: {got:?}"
    );

    // --revoke-orphans: both orphans revoked in one CRL, deployed; the reloaded server refuses
    // bob's certificate even once a role named bob exists again.
    let (code, report, log) = roles(&env, &target, &["--revoke-orphans"]);
    let revoked: BTreeSet<String> = report["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["role"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        revoked,
        ["bob", "ghost"].iter().map(|s| s.to_string()).collect(),
        "{log}"
    );
    assert_eq!(report["redeployed"].as_array().unwrap().len(), 1, "{log}");
    // What is left: carol's NOLOGIN and dave's missing certificate (WARNING).
    assert_eq!(code, 1, "{log}");
    c.sql("SELECT pg_reload_conf()");
    c.sql("CREATE ROLE bob LOGIN");
    let refused = logs_in(&env, &c, "bob").expect_err("a revoked certificate is refused");
    assert!(refused.contains("revoked"), "{refused}");
    logs_in(&env, &c, "alice").expect("alice still logs in");

    // --issue-missing: dave gets a certificate the server accepts.
    let (code, report, log) = roles(&env, &target, &["--issue-missing", "da*"]);
    assert_eq!(report["issued"][0][0], "dave", "{log}");
    logs_in(&env, &c, "dave").expect("dave logs in with the certificate issued for him");
    // Only carol's NOLOGIN and dba's superuser certificate are left: WARNING.
    assert_eq!(code, 1, "{log}");
    c.stop();
}

#[test]
fn roles_needs_a_running_server() {
    let env = Env::init(&["--no-passphrase"]);
    let dir = tempfile::tempdir().unwrap();
    let (code, _, log) = roles(&env, p(dir.path()), &[]);
    assert_eq!(code, 3, "{log}");
    assert_eq!(log.lines().count(), 1, "{log}");
    // Unreachable: one line, UNKNOWN.
    let (code, _, log) = roles(
        &env,
        "host=127.0.0.1 port=1 user=postgres connect_timeout=2",
        &[],
    );
    assert_eq!(code, 3, "{log}");
    assert_eq!(log.lines().count(), 1, "{log}");
}
