//! kill -9 at spread-out moments of a bulk issue: whatever the moment, every certificate path
//! gives a complete certificate with its own key, and the next pgca run leaves a directory whose
//! inventory and files agree.

mod common;

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

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
    }
    live_pairs_are_whole(ca);
}

#[test]
fn kill_9_during_bulk_issue_never_leaves_a_broken_pair() {
    let env = Env::init(&["--no-passphrase"]); // key protection is not what this test is about
    let roles =
        |round: usize| -> Vec<String> { (0..300).map(|i| format!("r{round}-{i}")).collect() };

    // Calibrate: how long does a 300-role batch take here?
    let t = Instant::now();
    let st = Command::new(pgca_bin())
        .arg("--dir")
        .arg(&env.ca)
        .args(["issue-client", "--quiet"])
        .args(roles(0))
        .status()
        .unwrap();
    assert!(st.success());
    let full = t.elapsed();

    let rounds = 16;
    let mut killed_mid_batch = 0;
    for round in 1..=rounds {
        // Spread the kill over the batch, from its very start to just past its end.
        let delay = full.mul_f64(round as f64 / rounds as f64 * 1.1);
        let mut child = Command::new(pgca_bin())
            .arg("--dir")
            .arg(&env.ca)
            .args(["issue-client", "--quiet"])
            .args(roles(round))
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if !finished {
            killed_mid_batch += 1;
        }
        live_pairs_are_whole(&env.ca);
        // The next writer recovers; then everything must agree.
        let probe = format!("probe-{round}");
        let out = Command::new(pgca_bin())
            .arg("--dir")
            .arg(&env.ca)
            .args(["issue-client", "--quiet", &probe])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "after the crash: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        directory_is_consistent(&env.ca);
        // A batch is all or nothing: either every role of the round is there or none is.
        let present = roles(round)
            .iter()
            .filter(|r| env.ca.join(format!("clients/{r}.crt")).exists())
            .count();
        assert!(
            present == 0 || present == 300,
            "round {round}: {present} of 300 roles after the crash"
        );
    }
    assert!(
        killed_mid_batch >= rounds / 2,
        "only {killed_mid_batch} kills hit a running batch"
    );
}
