//! `pgca check` (Nagios exit codes for every state) and `pgca renew` (cron behaviour). Aged
//! certificates are issued with the library at a past time; nothing sleeps.

mod common;

use std::fs;
use std::process::Command;

use common::{Env, Table, command_line, expect, pgca_bin, snapshot, snapshot_diff};
use pgca::{CaDir, CertInfo, InitOptions, IssueOptions, RoleName};
use time::{Duration, OffsetDateTime};

fn ago(days: i64) -> OffsetDateTime {
    pgca::timefmt::now() - Duration::days(days)
}

/// A CA directory created `ca_age` days ago, with clients issued `age` days ago (365-day life).
fn aged(ca_age: i64, clients: &[(&str, i64)]) -> Env {
    let env = Env::new();
    let mut init = InitOptions::default();
    init.now = Some(ago(ca_age));
    let ca = CaDir::init(&env.ca, &init).unwrap();
    for (role, age) in clients {
        let mut opts = IssueOptions::default();
        opts.now = Some(ago(*age));
        ca.issue_client(&role.parse::<RoleName>().unwrap(), &opts)
            .unwrap();
    }
    env
}

fn check(env: &Env, args: &[&str]) -> (i32, String) {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    let out = env.run(&all);
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn check_exit_codes_for_every_state() {
    type Setup = fn() -> Env;
    let cases: Vec<(&str, Setup, &[&str], i32, &str)> = vec![
        (
            "fresh",
            || aged(0, &[("alice", 0)]),
            &[],
            0,
            "PGCA OK - 0 due, 0 critical, 0 unknown, 3 ok",
        ),
        (
            "due: a third of the life left",
            || aged(300, &[("alice", 250)]),
            &[],
            1,
            "WARNING: client alice: due for renewal",
        ),
        (
            "not yet due",
            || aged(300, &[("alice", 240)]),
            &[],
            0,
            "PGCA OK",
        ),
        (
            "--within",
            || aged(0, &[("alice", 0)]),
            &["--within", "400d"],
            1,
            "PGCA WARNING - 1 due",
        ),
        (
            "expired",
            || aged(500, &[("alice", 400)]),
            &[],
            2,
            "CRITICAL: client alice: expired",
        ),
        (
            "expired beats due",
            || aged(500, &[("alice", 400), ("bob", 250)]),
            &[],
            2,
            "1 due, 1 critical",
        ),
        (
            "not yet valid",
            || {
                let env = aged(0, &[]);
                let mut opts = IssueOptions::default();
                opts.now = Some(pgca::timefmt::now() + Duration::days(3));
                CaDir::open(&env.ca)
                    .unwrap()
                    .issue_client(&"alice".parse().unwrap(), &opts)
                    .unwrap();
                env
            },
            &[],
            2,
            "CRITICAL: client alice: not valid before",
        ),
        (
            "key does not match",
            || {
                let env = aged(0, &[("alice", 0), ("bob", 0)]);
                let bob_key = fs::read(env.path("clients/bob.key")).unwrap();
                fs::write(env.path("clients/alice.key"), bob_key).unwrap();
                env
            },
            &[],
            2,
            "alice.key does not match the certificate",
        ),
        (
            "a CA that expires before its certificate",
            || {
                let env = aged(0, &[("alice", 0)]);
                let short = Env::init(&["--ca-validity", "30d"]);
                for f in ["client-ca.crt", "client-ca.key"] {
                    fs::copy(short.path(f), env.path(f)).unwrap();
                }
                env
            },
            &[],
            2,
            "the client CA expires",
        ),
        (
            "a CA due for rollover",
            || Env::init(&["--ca-validity", "200d"]),
            &[],
            1,
            "within its rollover window (a 1-year certificate's lifetime plus 30d): start a rollover: pgca rollover start",
        ),
        (
            "corrupt certificate",
            || {
                let env = aged(0, &[("alice", 0)]);
                fs::write(env.path("clients/alice.crt"), "garbage").unwrap();
                env
            },
            &[],
            3,
            "UNKNOWN: cannot use certificate",
        ),
        (
            "missing certificate",
            || {
                let env = aged(0, &[("alice", 0)]);
                let target = fs::canonicalize(env.path("clients/alice.crt")).unwrap();
                fs::remove_file(target).unwrap();
                env
            },
            &[],
            3,
            "no such file or directory",
        ),
        (
            "no CA directory",
            Env::new,
            &[],
            3,
            "PGCA UNKNOWN - no CA in",
        ),
        (
            "a bad --within",
            || aged(0, &[]),
            &["--within", "soon"],
            3,
            "PGCA UNKNOWN - invalid duration",
        ),
    ];
    let mut table = Table::new("check's exit codes");
    for (what, setup, args, code, want) in cases {
        table.row(what, command_line("pgca check", args), |_| {
            let env = setup();
            let before = snapshot(&env.ca);
            let mut all = vec!["check"];
            all.extend_from_slice(args);
            let run = env.run(&all);
            let out = String::from_utf8(run.stdout).unwrap();
            expect(
                run.status.code() == Some(code),
                format!("exit status {code}"),
                format!("{}:\n{out}", run.status),
            )?;
            expect(
                out.contains(want),
                format!("{want:?} in the report"),
                out.clone(),
            )?;
            expect(
                out.lines().next().is_some_and(|l| l.starts_with("PGCA ")),
                "the summary line `PGCA ...` first",
                out.clone(),
            )?;
            let after = snapshot(&env.ca);
            expect(
                before == after,
                "check changes no file",
                format!("files changed:\n{}", snapshot_diff(&before, &after)),
            )
        });
    }
    table.finish();
}

#[test]
fn check_json_and_prometheus() {
    let env = aged(300, &[("alice", 250), ("bob", 0)]);
    let prom = env.tmp.path().join("pgca.prom");
    let (code, out) = check(&env, &["--json", "--prometheus", prom.to_str().unwrap()]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "WARNING");
    let certs = v["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 4, "both CAs and both clients");
    let alice = certs.iter().find(|c| c["name"] == "alice").unwrap();
    assert_eq!(alice["state"], "due");
    assert!(alice["seconds_left"].as_i64().unwrap() < 116 * 86_400);
    assert!(
        alice["path"]
            .as_str()
            .unwrap()
            .ends_with("clients/alice.crt")
    );
    let text = fs::read_to_string(&prom).unwrap();
    let serial = CertInfo::from_file(&env.path("clients/alice.crt"))
        .unwrap()
        .serial;
    assert!(
        text.contains(&format!(
            "pgca_certificate_due{{kind=\"client\",name=\"alice\",serial=\"{serial}\"}} 1"
        )),
        "{text}"
    );
    assert!(text.contains("pgca_certificate_due{kind=\"client\",name=\"bob\""));
    assert!(text.contains("pgca_check_status 1"));
    // The Prometheus project's parser reads it as written.
    let samples = common::prometheus_samples(&prom);
    assert!(
        samples.contains(&format!(
            "pgca_certificate_due{{kind=\"client\",name=\"alice\",serial=\"{serial}\"}} 1.0"
        )),
        "{samples:?}"
    );
    assert!(
        samples.contains(&"pgca_check_status{} 1.0".to_string()),
        "{samples:?}"
    );
    assert!(text.contains("# TYPE pgca_certificate_expiry_timestamp_seconds gauge"));
}

#[test]
fn renew_renews_what_is_due_like_it_was() {
    let env = aged(300, &[("alice", 250), ("bob", 10)]);
    let old = CertInfo::from_file(&env.path("clients/alice.crt")).unwrap();
    let bob = CertInfo::from_file(&env.path("clients/bob.crt")).unwrap();
    let out = env.ok(&["renew"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with(&format!("renewed client alice: serial {} -> ", old.serial)),
        "{out}"
    );
    let new = CertInfo::from_file(&env.path("clients/alice.crt")).unwrap();
    assert_ne!(new.serial, old.serial);
    assert_ne!(new.spki_der, old.spki_der, "a new key");
    assert_eq!(
        (new.subject.as_str(), &new.extended_key_usage, &new.key_type),
        (old.subject.as_str(), &old.extended_key_usage, &old.key_type)
    );
    assert_eq!(
        new.not_after - new.not_before,
        old.not_after - old.not_before,
        "the same lifetime"
    );
    assert_eq!(
        CertInfo::from_file(&env.path("clients/bob.crt"))
            .unwrap()
            .serial,
        bob.serial,
        "bob was not due"
    );
    // The replaced pair is kept as alice.prev; check is happy again.
    assert_eq!(
        CertInfo::from_file(&env.path("clients/alice.prev/alice.crt"))
            .unwrap()
            .serial,
        old.serial
    );
    assert_eq!(check(&env, &[]).0, 0);
    // Nothing due now: exit 0, and nothing at all with --quiet.
    assert_eq!(env.ok(&["renew"]), "nothing to renew\n");
    assert_eq!(env.ok(&["renew", "--quiet"]), "");
}

#[test]
fn renew_reuse_key_force_names_and_pruning() {
    let env = aged(0, &[("alice", 0), ("bob", 0)]);
    let first = CertInfo::from_file(&env.path("clients/alice.crt")).unwrap();
    // Read before the renewal, so that the comparison below can tell whether it touched bob.
    let bob = CertInfo::from_file(&env.path("clients/bob.crt")).unwrap();
    env.ok(&["renew", "alice", "--force", "--reuse-key"]);
    let second = CertInfo::from_file(&env.path("clients/alice.crt")).unwrap();
    assert_ne!(second.serial, first.serial);
    assert_eq!(second.spki_der, first.spki_der, "--reuse-key keeps the key");
    assert_eq!(
        bob.serial,
        CertInfo::from_file(&env.path("clients/bob.crt"))
            .unwrap()
            .serial,
        "only the named one"
    );
    env.ok(&["renew", "alice", "--force"]);
    // Only the current pair and the one before it stay in the archive.
    let archived: Vec<String> = fs::read_dir(env.path("clients/archive"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != &bob.serial.to_string())
        .collect();
    assert_eq!(archived.len(), 2, "{archived:?}");
    assert!(!archived.contains(&first.serial.to_string()));
    let line = env.fails(&["renew", "carol"]);
    assert!(line.contains("\"carol\""), "{line}");
}

#[test]
fn renew_runs_the_hook_with_the_renewed_names_and_reports_its_failure() {
    let env = aged(300, &[("alice", 250), ("App User", 250)]);
    let file = env.tmp.path().join("renewed");
    let script = format!("printf '%s' \"$PGCA_RENEWED\" > '{}'", file.display());
    env.ok(&["renew", "--exec", "sh", "-c", &script]);
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        "client/alice\nclient/App User",
        "in issue order"
    );

    // A failing hook: exit 1, but the renewal stands.
    let env = aged(300, &[("alice", 250)]);
    let out = env.run(&["renew", "--exec", "false"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hook \"false\" failed"));
    assert_eq!(check(&env, &[]).0, 0, "renewed despite the hook");

    // Nothing renewed: the hook does not run.
    let out = env.run(&["renew", "--exec", "false"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn the_hook_never_sees_the_ca_passphrase() {
    let env = Env::init(&[]);
    env.ok(&["issue-client", "alice"]);
    let file = env.tmp.path().join("hook-env");
    let script = format!("env > '{}'", file.display());
    // Both variables set, as cron might: the file is read first, the variable is the fallback.
    let out = Command::new(pgca_bin())
        .arg("--dir")
        .arg(&env.ca)
        .args(["renew", "--force", "--exec", "sh", "-c", &script])
        .env("PGCA_PASSPHRASE", "test passphrase")
        .env("PGCA_PASSPHRASE_FILE", env.passphrase_file())
        .env("PGCA_TEST_MARKER", "kept")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = fs::read_to_string(&file).unwrap();
    assert!(seen.contains("PGCA_RENEWED=client/alice\n"), "{seen}");
    assert!(
        seen.contains("PGCA_TEST_MARKER=kept\n"),
        "the rest is inherited: {seen}"
    );
    assert!(
        !seen.contains("PGCA_PASSPHRASE") && !seen.contains("test passphrase"),
        "{seen}"
    );
}

#[test]
fn one_failure_does_not_stop_the_others() {
    let env = aged(300, &[("alice", 250), ("bob", 250)]);
    fs::write(env.path("clients/alice.key"), "garbage").unwrap();
    let out = env.run(&["renew", "--reuse-key"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot renew client alice"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("renewed client bob"));
}

#[test]
fn concurrent_renewals_renew_each_certificate_once() {
    let roles: Vec<(String, i64)> = (0..20).map(|i| (format!("r{i}"), 250)).collect();
    let env = Env::new();
    {
        let mut init = InitOptions::default();
        init.now = Some(ago(300));
        let ca = CaDir::init(&env.ca, &init).unwrap();
        let mut opts = IssueOptions::default();
        opts.now = Some(ago(250));
        let names: Vec<RoleName> = roles.iter().map(|(r, _)| r.parse().unwrap()).collect();
        ca.issue_clients(&names, &opts).unwrap();
    }
    let children: Vec<_> = (0..3)
        .map(|_| {
            Command::new(pgca_bin())
                .arg("--dir")
                .arg(&env.ca)
                .args(["renew", "--quiet"])
                .output_async()
        })
        .collect();
    let mut renewed = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        renewed += String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("renewed"))
            .count();
    }
    assert_eq!(renewed, 20, "each due certificate renewed exactly once");
}

/// `renew` issues the due certificates of a side in batches of this many (the library's
/// `RENEW_BATCH`, src/ops/renew_batch.rs).
const RENEW_BATCH: usize = 10_000;

/// The commit lines of the inventory: one per batch written.
fn commit_lines(env: &Env) -> usize {
    fs::read_to_string(env.path("inventory.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with(r#"{"event":"commit","#))
        .count()
}

#[test]
fn renew_issues_the_due_certificates_in_batches() {
    const N: usize = 300;
    let env = Env::new();
    let names: Vec<RoleName> = (0..N).map(|i| format!("r{i}").parse().unwrap()).collect();
    {
        let mut init = InitOptions::default();
        init.now = Some(ago(300));
        let ca = CaDir::init(&env.ca, &init).unwrap();
        let mut opts = IssueOptions::default();
        opts.now = Some(ago(250));
        ca.issue_clients(&names, &opts).unwrap();
    }
    // One damaged pair fails on its own, and does not keep the others out of their batch.
    fs::write(env.path("clients/r150.key"), "garbage").unwrap();
    let ca = CaDir::open(&env.ca).unwrap();
    let before = ca.inventory().unwrap();
    let commits = commit_lines(&env);

    let out = env.run(&["renew"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot renew client r150"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let renewed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("renewed client "))
        .collect();
    assert_eq!(renewed.len(), N - 1, "{stdout}");
    // Reported in the inventory's order, as before.
    let order: Vec<&str> = renewed
        .iter()
        .map(|l| l["renewed client ".len()..].split(':').next().unwrap())
        .collect();
    let want: Vec<String> = (0..N)
        .filter(|&i| i != 150)
        .map(|i| format!("r{i}"))
        .collect();
    assert_eq!(order, want);

    let after = ca.inventory().unwrap();
    for name in &names {
        let (old, new) = (
            before
                .current(pgca::CertKind::Client, name.as_str())
                .unwrap(),
            after
                .current(pgca::CertKind::Client, name.as_str())
                .unwrap(),
        );
        let live = CertInfo::from_file(&env.path(&format!("clients/{name}.crt"))).unwrap();
        assert_eq!(
            live.serial, new.serial,
            "{name}: the live certificate is the recorded one"
        );
        if name.as_str() == "r150" {
            assert_eq!(new.serial, old.serial, "the damaged pair is left alone");
        } else {
            assert_ne!(new.serial, old.serial, "{name} renewed");
            assert!(
                stdout.contains(&format!(
                    "renewed client {name}: serial {} -> {}",
                    old.serial, new.serial
                )),
                "{name}"
            );
        }
    }
    // One batch per RENEW_BATCH certificates, not one per certificate.
    assert_eq!(commit_lines(&env) - commits, N.div_ceil(RENEW_BATCH));
}

trait SpawnCaptured {
    fn output_async(&mut self) -> std::process::Child;
}

impl SpawnCaptured for Command {
    fn output_async(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }
}
