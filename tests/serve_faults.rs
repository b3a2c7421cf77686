//! `pgca serve` killed with SIGKILL under load, then started again on the same port: the load
//! generator (examples/loadgen.rs: clients enrolled by token, renewing back to back over mutual
//! TLS, a request that got no answer sent again unchanged) carries on; afterwards every
//! certificate a client received is in the inventory exactly once, no serial is recorded twice,
//! and `pgca verify` passes. Renewals run in groups (one commit per group), so a kill lands in
//! the middle of batches being signed, written and recorded.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::serve::{free_port, loadgen, serve_on};
use common::{Env, p};

/// Every `issued` record of the inventory: serial → how many times.
fn recorded(ca: &Path) -> HashMap<String, usize> {
    let text = std::fs::read_to_string(ca.join("inventory.jsonl")).unwrap();
    let mut seen = HashMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["event"] == "issued" {
            *seen
                .entry(v["serial"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
    }
    seen
}

#[test]
fn a_killed_server_loses_and_duplicates_no_renewal_and_clients_carry_on() {
    let env = Env::init(&["--server-host", "localhost"]);
    let clients = 8;
    let tokens: Vec<String> = (0..clients)
        .map(|i| {
            env.ok(&["token", &format!("load{i}"), "--client", "--validity", "1h"])
                .trim()
                .to_string()
        })
        .collect();
    let token_file = env.tmp.path().join("tokens");
    std::fs::write(&token_file, tokens.join("\n")).unwrap();
    let received = env.tmp.path().join("received");

    let port = free_port();
    let mut server = serve_on(&env, &[], port);
    let load = Command::new(loadgen())
        .args(["--ca", &format!("https://localhost:{port}")])
        .args(["--server-ca", p(&env.path("server-ca.crt"))])
        .args(["--tokens", p(&token_file), "--seconds", "8"])
        .args(["--out", p(&received)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Two kills while the clients renew: each cuts batches short at whatever step they are.
    for pause in [2500, 2000] {
        std::thread::sleep(Duration::from_millis(pause));
        server.kill().unwrap();
        server.wait().unwrap();
        server = serve_on(&env, &[], port);
    }
    let out = load.wait_with_output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    drop(server.kill());
    server.wait().unwrap();

    assert_eq!(report["errors"], 0, "{report}");
    assert!(report["renewals"].as_u64().unwrap() > 20, "{report}");
    assert!(
        report["retries"].as_u64().unwrap() > 0,
        "no request was cut short: {report}"
    );

    let got: Vec<String> = std::fs::read_to_string(&received)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let recorded = recorded(&env.ca);
    let twice: Vec<_> = recorded.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "serials recorded twice: {twice:?}");
    // A retried renewal hands out the certificate it had committed: received twice, issued once.
    let distinct: HashSet<&String> = got.iter().collect();
    let missing: Vec<_> = distinct
        .iter()
        .filter(|s| !recorded.contains_key(s.as_str()))
        .collect();
    assert!(missing.is_empty(), "received but not recorded: {missing:?}");
    let report = env.ok(&["verify"]);
    assert!(report.starts_with("PGCA OK"), "{report}");
}
