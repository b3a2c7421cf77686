//! kill -9 at spread-out moments of a bulk issue: whatever the moment, every certificate path
//! gives a complete certificate with its own key, and the next pgca run leaves a directory whose
//! inventory and files agree.

mod common;

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Env, pgca_bin};
use pgca::{CaDir, CertInfo, CertKind, PrivateKey};

/// What must hold at any moment, even right after a crash: every `NAME.crt`/`NAME.key` that
/// exists resolves to a complete certificate and the key that belongs to it.
fn live_pairs_are_whole(ca: &Path) -> usize {
    let clients = ca.join("clients");
    let mut n = 0;
    for e in fs::read_dir(&clients).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(role) = name.strip_suffix(".crt") else {
            continue;
        };
        let crt = e.path();
        let key = clients.join(format!("{role}.key"));
        let info = CertInfo::from_file(&crt).unwrap_or_else(|e| panic!("{name}: {e}"));
        let k = PrivateKey::from_pem(&fs::read_to_string(&key).unwrap(), &key)
            .unwrap_or_else(|e| panic!("{role}.key: {e}"));
        assert_eq!(
            k.public_key_der(),
            info.spki_der,
            "{role}: key and certificate differ"
        );
        n += 1;
    }
    n
}

/// What must hold once a pgca writer has run after the crash: no leftovers, and the inventory
/// and the files agree in both directions.
fn directory_is_consistent(ca: &Path) {
    assert!(!ca.join(".pending").exists(), "recovery did not finish");
    let ledger = CaDir::open(ca).unwrap().inventory().unwrap();
    let recorded: HashSet<String> = ledger
        .issued()
        .iter()
        .map(|i| i.serial.to_string())
        .collect();
    let archive = ca.join("clients/archive");
    for e in fs::read_dir(&archive).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            recorded.contains(&name),
            "archive/{name} is not in the inventory (a leftover)"
        );
    }
    for e in fs::read_dir(ca.join("clients")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp-"), "temporary file left: {name}");
    }
    let mut current = 0;
    for i in ledger
        .issued()
        .iter()
        .filter(|i| i.kind == CertKind::Client && ledger.is_current(i))
    {
        let crt = ca.join(format!("clients/{}.crt", i.name));
        let info =
            CertInfo::from_file(&crt).unwrap_or_else(|e| panic!("{}: recorded but {e}", i.name));
        assert_eq!(
            info.serial, i.serial,
            "{}: the live certificate is not the recorded one",
            i.name
        );
        current += 1;
    }
    // The other direction: every live pair is one the inventory records as current (each
    // recorded one was found above, so equal counts leave no unrecorded pair).
    assert_eq!(
        live_pairs_are_whole(ca),
        current,
        "live pairs the inventory does not record"
    );
}

/// Rounds of kills per test: PGCA_STRESS_ROUNDS (make stress), else `default`.
fn rounds(default: usize) -> usize {
    std::env::var("PGCA_STRESS_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(default)
}

fn pgca(env: &Env, args: &[&str]) -> std::process::Output {
    Command::new(pgca_bin())
        .arg("--dir")
        .arg(&env.ca)
        .args(args)
        .output()
        .unwrap()
}

/// After the next writer has run, `pgca verify` must find nothing wrong.
fn verify_is_clean(env: &Env, when: &str) {
    let out = pgca(env, &["verify"]);
    assert!(
        out.status.success(),
        "{when}: pgca verify:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Runs `pgca ARGS` and kills it (SIGKILL) once `delay` has passed. `None` if the kill landed
/// mid-run (pgca died of it); otherwise how long it took, so that the caller can aim the next
/// kills earlier when the disk has sped up. A run that ends by itself must succeed.
fn kill_after(env: &Env, args: &[String], delay: Duration) -> Option<Duration> {
    use std::os::unix::process::ExitStatusExt;
    let start = Instant::now();
    let mut child = Command::new(pgca_bin())
        .arg("--dir")
        .arg(&env.ca)
        .args(args)
        .spawn()
        .unwrap();
    let (status, took) = loop {
        let elapsed = start.elapsed();
        if let Some(status) = child.try_wait().unwrap() {
            break (status, elapsed);
        }
        if elapsed >= delay {
            // Not reaped yet, so the kill cannot fail; pgca may have exited just before it,
            // and then the kill did not land mid-run.
            child.kill().unwrap();
            let status = child.wait().unwrap();
            if status.signal() == Some(9) {
                return None; // SIGKILL
            }
            break (status, start.elapsed());
        }
        std::thread::sleep((delay - elapsed).min(Duration::from_millis(1)));
    };
    assert!(status.success(), "pgca {args:?} ended by itself: {status}");
    Some(took)
}

/// Right after a kill: every live pair is whole. Then the next writer (a probe issue) recovers,
/// and the inventory, the files and `pgca verify` must all agree.
fn recover_and_check(env: &Env, round: usize, label: &str) {
    live_pairs_are_whole(&env.ca);
    let out = pgca(env, &["issue-client", "--quiet", &format!("probe-{round}")]);
    assert!(
        out.status.success(),
        "after the crash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    directory_is_consistent(&env.ca);
    verify_is_clean(env, label);
}

#[test]
fn kill_9_during_bulk_issue_never_leaves_a_broken_pair() {
    let env = Env::init(&["--no-passphrase"]); // key protection is not what this test is about
    let batch = 150;
    let roles =
        |round: usize| -> Vec<String> { (0..batch).map(|i| format!("r{round}-{i}")).collect() };

    // Calibrate: the fastest of three batches, so that the kills below land inside a batch
    // even when the disk speeds up (on this machine it varies from minute to minute).
    let mut full = (0..3)
        .map(|k| {
            let t = Instant::now();
            let st = Command::new(pgca_bin())
                .arg("--dir")
                .arg(&env.ca)
                .args(["issue-client", "--quiet"])
                .args(roles(1_000_000 + k))
                .status()
                .unwrap();
            assert!(st.success());
            t.elapsed()
        })
        .min()
        .unwrap();

    let rounds = rounds(30);
    let mut killed_mid_batch = 0;
    for round in 1..=rounds {
        // Spread the kills over the batch, from its very start to near its end.
        let delay = full.mul_f64((round % 16) as f64 / 16.0 * 0.9);
        let mut args = vec!["issue-client".to_string(), "--quiet".to_string()];
        args.extend(roles(round));
        match kill_after(&env, &args, delay) {
            None => killed_mid_batch += 1,
            Some(took) => full = full.min(took),
        }
        recover_and_check(&env, round, &format!("round {round}"));
        // A batch is all or nothing: either every role of the round is there or none is.
        let present = roles(round)
            .iter()
            .filter(|r| env.ca.join(format!("clients/{r}.crt")).exists())
            .count();
        assert!(
            present == 0 || present == batch,
            "round {round}: {present} of {batch} roles after the crash"
        );
    }
    assert!(
        killed_mid_batch >= rounds / 2,
        "only {killed_mid_batch} kills hit a running batch"
    );
}

#[test]
fn kill_9_during_renew_keeps_the_old_pair_or_the_new_one() {
    let env = Env::init(&["--no-passphrase"]);
    let names: Vec<String> = (0..60).map(|i| format!("c{i}")).collect();
    let out = pgca(
        &env,
        &[
            &["issue-client", "--quiet"][..],
            &names.iter().map(String::as_str).collect::<Vec<_>>(),
        ]
        .concat(),
    );
    assert!(out.status.success());

    // The fastest of three renewals (see the bulk test's calibration).
    let mut full = (0..3)
        .map(|_| {
            let t = Instant::now();
            assert!(
                pgca(&env, &["renew", "--force", "--quiet"])
                    .status
                    .success()
            );
            t.elapsed()
        })
        .min()
        .unwrap();

    let rounds = rounds(20);
    let mut killed_mid_run = 0;
    let mut renewed_pairs = 0;
    for round in 1..=rounds {
        // What each name holds before this round: after the kill it must hold that pair or a
        // newer one that the inventory recorded, whole either way.
        let before: Vec<String> = names
            .iter()
            .map(|n| {
                CertInfo::from_file(&env.ca.join(format!("clients/{n}.crt")))
                    .unwrap()
                    .serial
                    .to_string()
            })
            .collect();
        // Renew issues the names in one batch, committed near the end of the run: the delays
        // reach a little past the fastest whole run, so that some kills land after the commit
        // (while the links switch) or not at all, and the renewed pairs are checked too.
        let delay = full.mul_f64((round % 10) as f64 / 10.0 * 1.2);
        let args = ["renew", "--force", "--quiet"].map(String::from);
        match kill_after(&env, &args, delay) {
            None => killed_mid_run += 1,
            Some(took) => full = full.min(took),
        }
        recover_and_check(&env, round, &format!("renew round {round}"));
        let ledger = CaDir::open(&env.ca).unwrap().inventory().unwrap();
        for (n, old) in names.iter().zip(&before) {
            let now = CertInfo::from_file(&env.ca.join(format!("clients/{n}.crt")))
                .unwrap()
                .serial
                .to_string();
            if &now != old {
                // Renewed: the replaced pair is still whole behind NAME.prev.
                let prev = env.ca.join(format!("clients/{n}.prev"));
                assert_eq!(
                    CertInfo::from_file(&prev.join(format!("{n}.crt")))
                        .unwrap()
                        .serial
                        .to_string(),
                    *old,
                    "{n}"
                );
                assert!(
                    ledger.issued().iter().any(|i| i.serial.to_string() == now),
                    "{n}: unrecorded serial"
                );
                renewed_pairs += 1;
            }
        }
    }
    assert!(
        killed_mid_run >= rounds / 2,
        "only {killed_mid_run} kills hit a running renewal"
    );
    // The checks of a renewed pair above ran at all.
    assert!(renewed_pairs > 0, "no round renewed a single certificate");
}
