//! `pgca audit` end to end on a real PostgreSQL data directory (Debian's 15, or the major
//! `$PGCA_TEST_PG` names): a cluster set up with the weak settings the guides warn about
//! reports each of them with its id and status, and the same cluster hardened exactly as
//! `pgca server-config` and `deploy-server` say audits OK, with the server running and probed.

mod common;
mod pg;

use std::collections::BTreeSet;
use std::path::Path;

use common::{Env, p};
use pg::Cluster;

/// `pgca audit ARGS` with the CA directory of `env` (or none): (exit code, stdout JSON).
fn audit(env: Option<&Env>, args: &[&str]) -> (i32, serde_json::Value, String) {
    let mut cmd = std::process::Command::new(common::pgca_bin());
    if let Some(env) = env {
        cmd.arg("--dir").arg(&env.ca);
    } else {
        // No default CA directory either.
        cmd.env("XDG_DATA_HOME", "/nonexistent")
            .env("HOME", "/nonexistent");
    }
    let out = cmd
        .arg("audit")
        .args(args)
        .arg("--json")
        .env_remove("PGCA_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

/// Every (check id, severity) of the report's first target.
fn found(report: &serde_json::Value) -> BTreeSet<(String, String)> {
    report["targets"][0]["findings"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Each wanted (id, severity) is among the findings; every missing one is reported.
fn assert_found(report: &serde_json::Value, want: &[(&str, &str)], log: &str) {
    let got = found(report);
    let missing: Vec<String> = want
        .iter()
        .filter(|(id, sev)| !got.contains(&(id.to_string(), sev.to_string())))
        .map(|(id, sev)| format!("{id} {sev}"))
        .collect();
    assert!(
        missing.is_empty(),
        "missing findings: {missing:?}\ngot: {got:?}\n{log}"
    );
}

const WEAK_CONF: &str = "listen_addresses = '*'\nssl = off\npassword_encryption = md5\n\
    log_connections = off\nlog_disconnections = off\nlog_statement = 'none'\n";

const WEAK_HBA: &str = "local all all trust\n\
    host all all 0.0.0.0/0 md5\n\
    host app alice 10.0.0.0/8 trust\n\
    host all all 192.168.0.0/16 password\n\
    hostssl all all ::/0 cert clientname=DN\n\
    hostssl app all 10.1.0.0/16 cert map=missing\n";

#[test]
fn a_weak_data_directory_reports_each_weakness_with_its_id() {
    let c = Cluster::new();
    c.append_conf(WEAK_CONF);
    c.write_hba(WEAK_HBA);
    let (code, report, log) = audit(None, &[p(&c.data)]);
    assert_eq!(code, 2, "{log}");
    assert_eq!(report["status"], "CRITICAL", "{log}");
    assert_found(
        &report,
        &[
            ("listen-addresses-all", "WARNING"),
            ("ssl-off", "CRITICAL"),
            ("password-encryption", "WARNING"),
            ("log-connections", "WARNING"),
            ("log-disconnections", "WARNING"),
            ("log-statement", "WARNING"),
            ("pgaudit-missing", "INFO"),
            ("hba-trust-local", "WARNING"),
            ("hba-md5", "WARNING"),
            ("hba-host-not-hostssl", "WARNING"),
            ("hba-wide-range", "WARNING"),
            ("hba-all-all", "WARNING"),
            ("hba-superuser-network", "CRITICAL"),
            ("hba-shadowed", "WARNING"),
            ("hba-password-no-tls", "CRITICAL"),
            // ssl is off: the server loads the hostssl lines but flags them, as pgca does.
            ("hba-error", "CRITICAL"),
            ("ca-directory", "INFO"),
        ],
        &log,
    );
    // Each hba finding names its file and line.
    let findings = report["targets"][0]["findings"].as_array().unwrap();
    let shadowed = findings
        .iter()
        .find(|f| f["check"] == "hba-shadowed" && f["subject"] == "host app alice 10.0.0.0/8 trust")
        .unwrap_or_else(|| panic!("line 3 is shadowed by line 2: {log}"));
    assert_eq!(shadowed["location"]["line"], 3, "{shadowed}");
    assert!(
        shadowed["location"]["file"]
            .as_str()
            .unwrap()
            .ends_with("pg_hba.conf")
    );
    // A shadowed line is still reported for what it says: it is one edit away from use.
    assert!(
        findings.iter().any(|f| f["check"] == "hba-trust-network"),
        "{log}"
    );
}

#[test]
fn tls_12_and_the_server_ca_as_client_ca_are_findings() {
    let env = Env::init(&["--no-passphrase"]);
    env.ok(&["issue-server", "localhost", "127.0.0.1"]);
    let c = Cluster::new();
    // The mix-up: the server CA given as ssl_ca_file.
    c.install_tls(
        &env.path("servers/localhost.crt"),
        &env.path("servers/localhost.key"),
        &env.path("server-ca.crt"),
    );
    c.append_conf(
        "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
         ssl_ca_file = 'client-ca.crt'\nssl_min_protocol_version = 'TLSv1.2'\n",
    );
    c.write_hba(
        "local all all trust\nhostssl all all ::/0 cert clientname=DN\n\
         hostssl app all 10.1.0.0/16 cert map=missing\n",
    );
    // A key others can read.
    std::fs::set_permissions(
        c.data.join("server.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let (code, report, log) = audit(Some(&env), &[p(&c.data)]);
    assert_eq!(code, 2, "{log}");
    assert_found(
        &report,
        &[
            ("ssl-min-protocol", "WARNING"),
            ("ssl-ciphers-weak", "WARNING"),
            ("ssl-ca-file-server-ca", "CRITICAL"),
            ("ssl-key-permissions", "CRITICAL"),
            ("ssl-crl-missing", "WARNING"),
            ("hba-cert-dn-no-map", "WARNING"),
            ("hba-map-undefined", "CRITICAL"),
        ],
        &log,
    );
    assert!(
        !found(&report).iter().any(|(id, _)| id == "ssl-cert-chain"),
        "the server certificate chains to the server CA: {log}"
    );
}

/// The lines `pgca server-config` prints under a heading, up to the next heading: the
/// postgresql.conf hardening block or the pg_hba.conf lines.
fn block(text: &str, heading: &str) -> String {
    text.lines()
        .skip_while(|l| !l.starts_with(heading))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A cluster hardened by pgca's own steps: init, issue, crl, deploy-server, the include line
/// and server-config's other lines; pg_hba.conf is server-config's lines after a peer line
/// for the superuser. Returns the cluster (started) and the CA directory.
fn hardened() -> (Cluster, Env) {
    let env = Env::init(&["--no-passphrase"]);
    env.ok(&["issue-server", "localhost", "127.0.0.1"]);
    env.ok(&["issue-client", "alice"]);
    env.ok(&["crl"]);
    let mut c = Cluster::new();
    let deployed = env.ok(&["deploy-server", "localhost", "--data-dir", p(&c.data)]);
    c.include_deployed(&deployed);
    let config = env.ok(&["server-config", "localhost", "--data-dir", p(&c.data)]);
    c.append_conf(&block(&config, "# postgresql.conf: the rest"));
    c.write_hba(&format!(
        "local all postgres peer map=admin\n{}",
        block(&config, "# pg_hba.conf:")
    ));
    std::fs::write(
        c.data.join("pg_ident.conf"),
        "admin root postgres\nadmin postgres postgres\n",
    )
    .unwrap();
    c.start();
    c.sql("CREATE ROLE alice LOGIN");
    (c, env)
}

#[test]
fn a_server_hardened_by_pgca_audits_ok() {
    let (mut c, env) = hardened();
    let probe = format!("127.0.0.1:{}", c.port);
    let (code, report, log) = audit(Some(&env), &[p(&c.data), "--probe", &probe]);
    let serious: Vec<_> = report["targets"][0]["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter(|f| f["severity"] != "INFO")
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(code, 0, "{serious:#?}\n{log}");
    assert_eq!(report["status"], "OK");
    // It was probed: the served chain is in the report.
    assert_eq!(
        report["targets"][0]["tls"]["probe"]["chains_to_ca"], true,
        "{log}"
    );
    assert!(report["targets"][0]["timeline"].as_array().unwrap().len() >= 4);
    // Live, over the Unix socket as the superuser (peer): OK too, with the roles checked
    // (alice's certificate and role agree) and the chain probed where the server listens.
    let live = format!("host={} port={} user=postgres", p(c.base.path()), c.port);
    let (code, report, log) = audit(Some(&env), &[&live]);
    assert_eq!(code, 0, "{log}");
    assert_eq!(report["targets"][0]["source"]["kind"], "live", "{log}");
    assert_eq!(
        report["targets"][0]["tls"]["probe"]["chains_to_ca"], true,
        "{log}"
    );

    // Renewed (and redeployed) but not reloaded: the server still serves the old serial.
    env.ok(&["renew", "--force", "localhost"]);
    let (code, report, log) = audit(Some(&env), &[p(&c.data), "--probe", &probe]);
    assert_eq!(code, 1, "{log}");
    assert_found(&report, &[("served-not-reloaded", "WARNING")], &log);

    // A revocation the server has not been given is a stale CRL: CRITICAL, until deployed.
    let crl_before = std::fs::read(env.path("client-ca.crl")).unwrap();
    env.ok(&["issue-client", "bob"]);
    env.ok(&["revoke", "bob"]);
    // revoke redeploys the CRL; put the old one back to stand for a server not told.
    let live = c.data.join("pgca-tls/current/client-ca.crl");
    std::fs::write(&live, &crl_before).unwrap();
    let (code, report, log) = audit(Some(&env), &[p(&c.data)]);
    assert_eq!(code, 2, "{log}");
    assert_found(&report, &[("ssl-crl-stale", "CRITICAL")], &log);
    c.stop();
}

#[test]
fn bad_targets_are_one_line_and_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("postgresql.conf");
    // A syntax error.
    std::fs::write(&conf, "ssl = on\nlisten_addresses '\n").unwrap();
    let (code, _, log) = audit(None, &[p(&conf)]);
    assert_eq!(code, 3, "{log}");
    assert!(log.contains("line 2"), "{log}");
    // An include loop.
    std::fs::write(&conf, "include 'postgresql.conf'\n").unwrap();
    let (code, _, log) = audit(None, &[p(&conf)]);
    assert_eq!(code, 3, "{log}");
    // Neither a path nor a connection string.
    let out = std::process::Command::new(common::pgca_bin())
        .args(["audit", "/nonexistent/data"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("/nonexistent/data"), "{text}");
    // Bad options: UNKNOWN, one line each, naming the value.
    for (args, names) in [
        (&["--timeout", "soon"][..], "soon"),
        (&["--timeout", "0s"][..], "0s"),
        (&["--probe", "db:0"][..], "\"0\""),
    ] {
        let out = std::process::Command::new(common::pgca_bin())
            .arg("audit")
            .arg(p(dir.path()))
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {text}");
        assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
        assert!(text.contains(names), "{args:?}: {text}");
    }
    let _ = Path::new("");
}

/// docs/audit.md lists every check with the severity the code gives it.
#[test]
fn every_check_is_documented_with_its_severity() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/audit.md"))
        .unwrap();
    let bad: Vec<String> = pgca::audit::Check::ALL
        .iter()
        .filter(|c| {
            let row = format!("| `{}` | {} | {} |", c.id(), c.severity(), c.area());
            !doc.contains(&row)
        })
        .map(|c| format!("{} {}", c.id(), c.severity()))
        .collect();
    assert!(
        bad.is_empty(),
        "not in docs/audit.md's table as such: {bad:?}"
    );
    let rows = doc.lines().filter(|l| l.starts_with("| `")).count();
    assert_eq!(
        rows,
        pgca::audit::Check::ALL.len(),
        "a row for each check, no more"
    );
}

/// The database user may point a TLS setting anywhere through a link it owns: the audit (run as
/// root) follows such a link only to a file inside the data directory, and reads nothing else.
#[test]
fn a_link_the_database_user_plants_is_not_followed_out_of_the_data_directory() {
    if !pg::is_root() {
        return;
    }
    let c = Cluster::new();
    let secret = tempfile::tempdir().unwrap();
    let target = secret.path().join("root-only.pem");
    std::fs::write(&target, "SECRET-CONTENT\n").unwrap();
    std::fs::set_permissions(&target, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let link = c.data.join("evil.crt");
    let out = std::process::Command::new("runuser")
        .args(["-u", "postgres", "--", "ln", "-s"])
        .arg(&target)
        .arg(&link)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    c.append_conf("ssl = on\nssl_cert_file = 'evil.crt'\nssl_key_file = 'evil.crt'\n");
    let (code, report, log) = audit(None, &[p(&c.data)]);
    assert!(code >= 2, "{log}");
    assert_found(&report, &[("ssl-cert-chain", "UNKNOWN")], &log);
    assert!(!log.contains("SECRET-CONTENT"), "{log}");
}

/// --sarif and --html: written (0600) when every target was read, the SARIF holding every
/// finding; not written at all when a target could not be read; and a link another user
/// planted at the name in a shared directory is replaced, never followed.
#[test]
fn report_files_are_written_whole_or_not_at_all() {
    let c = Cluster::new();
    c.append_conf(WEAK_CONF);
    c.write_hba(WEAK_HBA);
    let out = tempfile::tempdir().unwrap();
    let sarif = out.path().join("audit.sarif");
    let html = out.path().join("audit.html");
    let (code, report, log) = audit(
        None,
        &[p(&c.data), "--sarif", p(&sarif), "--html", p(&html)],
    );
    assert_eq!(code, 2, "{log}");
    assert_eq!(common::mode(&sarif), 0o600);
    assert_eq!(common::mode(&html), 0o600);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(
        s["runs"][0]["results"].as_array().unwrap().len(),
        report["targets"][0]["findings"].as_array().unwrap().len()
    );
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("hba-shadowed")
    );

    // One target unreadable: reported (the other's CRITICAL wins the exit status), and no file.
    let (s2, h2) = (out.path().join("b.sarif"), out.path().join("b.html"));
    let bad = out.path().join("broken.conf");
    std::fs::write(&bad, "include 'broken.conf'\n").unwrap();
    let (code, _, log) = audit(
        None,
        &[p(&c.data), p(&bad), "--sarif", p(&s2), "--html", p(&h2)],
    );
    assert_eq!(code, 2, "{log}");
    assert!(log.contains("broken.conf"), "{log}");
    assert!(!s2.exists() && !h2.exists(), "{log}");

    if pg::is_root() {
        let shared = out.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(
            out.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        std::fs::set_permissions(
            &shared,
            std::os::unix::fs::PermissionsExt::from_mode(0o1777),
        )
        .unwrap();
        let victim = out.path().join("victim");
        std::fs::write(&victim, "root's file\n").unwrap();
        let planted = shared.join("audit.html");
        common::as_user(
            "nobody",
            &format!("ln -s '{}' '{}'", p(&victim), p(&planted)),
        );
        let (code, _, log) = audit(None, &[p(&c.data), "--html", p(&planted)]);
        assert_eq!(code, 2, "{log}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "root's file\n");
        assert!(!std::fs::symlink_metadata(&planted).unwrap().is_symlink());
    }
}

/// `pgca audit` run inside `ns` (where the weak server listens), with the CA directory of
/// `env`: (exit code, JSON, everything printed).
fn audit_in(ns: &pg::Netns, env: &Env, args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = ns
        .command(common::pgca_bin())
        .arg("--dir")
        .arg(&env.ca)
        .arg("audit")
        .args(args)
        .arg("--json")
        .env_remove("PGCA_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null),
        format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

/// The configuration findings of a report's first target: (check, severity, subject) of the
/// settings, TLS, hba and ident checks.
fn config_findings(report: &serde_json::Value) -> BTreeSet<(String, String, String)> {
    report["targets"][0]["findings"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter(|f| {
            let id = f["check"].as_str().unwrap_or_default();
            pgca::audit::Check::from_id(id)
                .is_some_and(|c| matches!(c.area(), "settings" | "tls" | "hba" | "ident"))
                && id != "unreadable"
        })
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (s("check"), s("severity"), s("subject"))
        })
        .collect()
}

/// The proof of the issue: a running server with every weakness the guides warn about (in a
/// network namespace of the test's own, since it listens on '*'), read live over its Unix
/// socket, reports each with its id and status, and exactly the configuration findings the
/// offline audit of its data directory reports; then with TLS on but at 1.2 and the server CA
/// as ssl_ca_file, the same.
#[test]
fn a_weak_running_server_live_and_offline_agree() {
    if !pg::is_root() {
        return;
    }
    let env = Env::init(&["--no-passphrase"]);
    env.ok(&["issue-server", "localhost", "127.0.0.1"]);
    let ns = pg::Netns::new("audit");
    let mut c = Cluster::new();
    c.append_conf(WEAK_CONF);
    c.write_hba(WEAK_HBA);
    c.start_in(Some(&ns.0));
    let live = format!("host={} port={} user=postgres", p(c.base.path()), c.port);
    let compare = |want: &[(&str, &str)]| {
        let (lcode, lrep, llog) = audit_in(&ns, &env, &[&live]);
        let (ocode, orep, olog) = audit_in(&ns, &env, &[p(&c.data)]);
        assert_eq!(lrep["targets"][0]["source"]["kind"], "live", "{llog}");
        assert_found(&lrep, want, &llog);
        let (l, o) = (config_findings(&lrep), config_findings(&orep));
        let only_live: Vec<_> = l.difference(&o).collect();
        let only_offline: Vec<_> = o.difference(&l).collect();
        assert!(
            only_live.is_empty() && only_offline.is_empty(),
            "live and offline disagree: live only {only_live:?}, offline only {only_offline:?}\n--- live\n{llog}\n--- offline\n{olog}"
        );
        assert_eq!((lcode, ocode), (2, 2), "{llog}\n{olog}");
    };
    compare(&[
        ("listen-addresses-all", "WARNING"),
        ("ssl-off", "CRITICAL"),
        ("password-encryption", "WARNING"),
        ("log-connections", "WARNING"),
        ("log-disconnections", "WARNING"),
        ("log-statement", "WARNING"),
        ("hba-trust-local", "WARNING"),
        ("hba-trust-network", "CRITICAL"),
        ("hba-md5", "WARNING"),
        ("hba-wide-range", "WARNING"),
        ("hba-all-all", "WARNING"),
        ("hba-superuser-network", "CRITICAL"),
        ("hba-password-no-tls", "CRITICAL"),
    ]);
    // A wrong password: one line, UNKNOWN, and the password nowhere in it.
    let wrong = format!(
        "host=127.0.0.1 port={} user=postgres password=hunter2-not-it sslmode=disable",
        c.port
    );
    let out = ns
        .command(common::pgca_bin())
        .args(["audit", &wrong])
        .env("XDG_DATA_HOME", "/nonexistent")
        .env_remove("PGCA_DIR")
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(!log.contains("hunter2"), "{log}");
    assert!(log.contains("password"), "{log}");

    // TLS on, but 1.2 allowed and the server CA trusted for client logins.
    c.install_tls(
        &env.path("servers/localhost.crt"),
        &env.path("servers/localhost.key"),
        &env.path("server-ca.crt"),
    );
    c.append_conf(
        "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
         ssl_ca_file = 'client-ca.crt'\nssl_min_protocol_version = 'TLSv1.2'\n",
    );
    c.sql("SELECT pg_reload_conf()");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(c.sql("SHOW ssl").trim(), "on", "{}", c.log_text());
    compare(&[
        ("ssl-min-protocol", "WARNING"),
        ("ssl-ciphers-weak", "WARNING"),
        ("ssl-ca-file-server-ca", "CRITICAL"),
        ("ssl-crl-missing", "WARNING"),
        ("hba-superuser-network", "CRITICAL"),
    ]);
    c.stop();
}
