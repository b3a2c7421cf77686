//! `make demo`, the README's first command, runs `scripts/demo.sh`: with PostgreSQL installed
//! it goes end to end (a throwaway cluster serving the demo's server certificate through
//! deploy-server's include file, alice logged in through the demo's service entry with
//! verify-full, her pg_stat_ssl row printed, the cluster stopped); without it, it says so and
//! still makes the files.

mod common;

use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

fn demo(dir: &Path, env: &[(&str, &str)]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/demo.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg(common::pgca_bin())
        .arg(dir)
        .envs(env.iter().copied())
        .env_remove("PGCA_DIR")
        .env_remove("PGSERVICEFILE")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "demo.sh failed: {}\n{text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn the_demo_logs_alice_in_over_tls_1_3_with_her_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = demo(&dir, &[]);
    let serial = pgca::CertInfo::from_file(&dir.join("ca/clients/alice.crt"))
        .unwrap()
        .serial;
    let decimal = u128::from_be_bytes(serial.as_bytes().try_into().expect("a 16-byte serial"));
    let row = out
        .lines()
        .find(|l| l.trim_start().starts_with("alice "))
        .unwrap_or_else(|| panic!("no pg_stat_ssl row for alice in:\n{out}"));
    let cols: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(
        cols,
        ["alice", "t", "TLSv1.3", "/CN=alice", &decimal.to_string()],
        "{out}"
    );
    // The cluster is gone: its port answers no more.
    let port: u16 = out
        .split("on 127.0.0.1:")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|p| p.trim_end_matches(',').parse().ok())
        .unwrap_or_else(|| panic!("no port in:\n{out}"));
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "{out}");
    // A second run keeps the CA and goes end to end again.
    let again = demo(&dir, &[]);
    assert!(again.contains("TLSv1.3"), "{again}");
}

#[test]
fn without_postgresql_the_demo_says_so_and_keeps_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = demo(&dir, &[("PG_BINDIR", "/nonexistent")]);
    assert!(out.contains("PostgreSQL is not installed"), "{out}");
    assert!(dir.join("ca/clients/alice.crt").exists());
    assert!(dir.join("pg_service.conf").exists());
}
