//! A damaged or restored inventory never un-revokes: cut short, emptied, an older copy put back,
//! a flipped byte, NULs, a lost commit line. Every reader and writer refuses it with one line
//! naming the evidence, and changes nothing; `check` and `verify` say CRITICAL; `pgca repair`
//! shows what the CA directory says was lost and, told to, records it again, so that the next
//! CRL lists every revoked serial again with a higher CRL number.

mod common;

use std::collections::BTreeSet;
use std::fs;

use common::{Env, Table, expect, openssl, p, snapshot, snapshot_diff};

/// The inventory's bytes after each step: init; alice and bob issued; bob revoked (and the CRL
/// recorded); carol issued.
struct History {
    env: Env,
    states: Vec<Vec<u8>>,
    seals: Vec<Vec<u8>>,
    bob: String,
}

fn history() -> History {
    let env = Env::init(&[]);
    let inv = env.path("inventory.jsonl");
    let seal = env.path("inventory.seal");
    let mut states = vec![fs::read(&inv).unwrap()];
    let mut seals = vec![fs::read(&seal).unwrap()];
    for args in [
        &["issue-client", "alice", "bob"][..],
        &["revoke", "bob"],
        &["issue-client", "carol"],
    ] {
        env.ok(args);
        states.push(fs::read(&inv).unwrap());
        seals.push(fs::read(&seal).unwrap());
    }
    let bob = pgca::CertInfo::from_file(&env.path("clients/archive").join(archive_of(&env, "bob")))
        .unwrap()
        .serial
        .to_string();
    History {
        env,
        states,
        seals,
        bob,
    }
}

/// `<serial>/bob.crt` of bob's archived certificate.
fn archive_of(env: &Env, role: &str) -> String {
    let live = fs::read_link(env.path(&format!("clients/{role}.live"))).unwrap();
    format!("{}/{role}.crt", live.file_name().unwrap().to_string_lossy())
}

/// The serials a CRL lists and its number, as openssl prints them.
fn crl_of(env: &Env) -> (BTreeSet<String>, u64) {
    let (ok, text) = openssl(&[
        "crl",
        "-in",
        p(&env.path("client-ca.crl")),
        "-noout",
        "-text",
    ]);
    assert!(ok, "{text}");
    let serials = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Serial Number: "))
        .map(|s| s.to_lowercase())
        .collect();
    let number = text
        .lines()
        .skip_while(|l| !l.contains("X509v3 CRL Number"))
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .expect("a CRL number");
    (serials, number)
}

type Damage = fn(&History) -> (Vec<u8>, Option<Vec<u8>>);

/// Each damage: the inventory's new bytes and, where the damage puts back an older seal too,
/// that seal; and a word of the evidence every refusal must name.
const DAMAGES: &[(&str, Damage, &str)] = &[
    (
        "cut mid-batch",
        |h| (h.states[3][..h.states[1].len() + 40].to_vec(), None),
        "cut short",
    ),
    (
        "cut at a commit line",
        |h| (h.states[1].clone(), None),
        "cut short",
    ),
    ("emptied", |_| (Vec::new(), None), "cut short"),
    (
        "an older copy put back, with its seal",
        |h| (h.states[1].clone(), Some(h.seals[1].clone())),
        "client-ca.crl",
    ),
    (
        "a flipped byte",
        |h| {
            let mut b = h.states[3].clone();
            b[h.states[1].len() + 30] ^= 0x01;
            (b, None)
        },
        "SHA-256",
    ),
    (
        "NULs in the middle",
        |h| {
            let mut b = h.states[3].clone();
            let at = h.states[1].len() + 10;
            b[at..at + 16].fill(0);
            (b, None)
        },
        "SHA-256",
    ),
    (
        "a lost commit line",
        |h| {
            let (a, b) = (&h.states[1], &h.states[2]);
            let commit = a[..a.len() - 1].iter().rposition(|&c| c == b'\n').unwrap() + 1;
            (
                [&a[..commit], &b[a.len()..], &h.states[3][b.len()..]].concat(),
                None,
            )
        },
        "not part of the batch",
    ),
];

/// The commands that read or write the inventory, and the exit status each gives it.
const COMMANDS: &[(&[&str], i32)] = &[
    (&["list"], 1),
    (&["check"], 2),
    (&["verify"], 2),
    (&["issue-client", "dave"], 1),
    (&["crl"], 1),
    (&["revoke", "alice"], 1),
    (&["renew", "--force"], 1),
    (&["env", "alice", "--host", "localhost"], 1),
];

fn damaged(h: &History, damage: Damage) {
    let (bytes, seal) = damage(h);
    fs::write(h.env.path("inventory.jsonl"), bytes).unwrap();
    if let Some(seal) = seal {
        fs::write(h.env.path("inventory.seal"), seal).unwrap();
    }
}

#[test]
fn every_reader_and_writer_refuses_a_damaged_inventory_and_changes_nothing() {
    let mut table = Table::new("damaged inventories");
    for (what, damage, evidence) in DAMAGES {
        let h = history();
        damaged(&h, *damage);
        for (args, code) in COMMANDS {
            table.row(
                format!("{what}: {}", args.join(" ")),
                args.join(" "),
                |_| {
                    let before = snapshot(&h.env.ca);
                    let out = h.env.run(args);
                    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
                    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
                    let said = if *code == 2 { &stdout } else { &stderr };
                    expect(
                        out.status.code() == Some(*code),
                        format!("exit {code}"),
                        format!("{:?}: {stdout}{stderr}", out.status.code()),
                    )?;
                    expect(
                        said.lines().count() == 1
                            && said.contains("inventory")
                            && said.contains(evidence)
                            && said.contains("pgca repair"),
                        format!("one line naming {evidence:?} and pgca repair"),
                        said.clone(),
                    )?;
                    if *code == 2 {
                        expect(
                            stdout.starts_with("PGCA CRITICAL - "),
                            "PGCA CRITICAL",
                            stdout.clone(),
                        )?;
                    }
                    let diff = snapshot_diff(&before, &snapshot(&h.env.ca));
                    expect(diff.is_empty(), "nothing changed", diff)
                },
            );
        }
    }
    table.finish();
}

#[test]
fn repair_shows_then_restores_every_revocation_with_a_higher_crl_number() {
    let mut table = Table::new("repair");
    for (what, damage, _) in DAMAGES {
        table.row(*what, "pgca repair; pgca repair --write; pgca crl", |_| {
            let h = history();
            let (_, number_before) = crl_of(&h.env);
            damaged(&h, *damage);
            let before = snapshot(&h.env.ca);
            let shown = h.env.run(&["repair"]);
            let text = String::from_utf8_lossy(&shown.stdout).into_owned();
            expect(
                shown.status.success() && text.contains("would record") && text.contains("--write"),
                "repair shows what it would record",
                format!(
                    "{}{text}{}",
                    shown.status,
                    String::from_utf8_lossy(&shown.stderr)
                ),
            )?;
            let diff = snapshot_diff(&before, &snapshot(&h.env.ca));
            expect(
                diff.is_empty(),
                "repair without --write changes nothing",
                diff,
            )?;
            let written = h.env.run(&["repair", "--write"]);
            expect(
                written.status.success(),
                "repair --write succeeds",
                String::from_utf8_lossy(&written.stderr),
            )?;
            let aside: Vec<_> = fs::read_dir(&h.env.ca)
                .unwrap()
                .flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("inventory.jsonl.damaged-")
                })
                .collect();
            expect(
                aside.len() == 1,
                "the damaged file set aside",
                format!("{aside:?}"),
            )?;
            let list = h.env.run(&["list"]);
            let list = String::from_utf8_lossy(&list.stdout).into_owned();
            for (role, state) in [("alice", "valid"), ("bob", "revoked"), ("carol", "valid")] {
                expect(
                    list.lines().any(|l| l.contains(role) && l.contains(state)),
                    format!("{role} {state} in list"),
                    list.clone(),
                )?;
            }
            let verify = h.env.run(&["verify"]);
            expect(
                verify.status.code() == Some(0),
                "verify OK after the repair",
                String::from_utf8_lossy(&verify.stdout),
            )?;
            let check = h.env.run(&["check"]);
            expect(
                check.status.code() == Some(0),
                "check OK after the repair",
                String::from_utf8_lossy(&check.stdout),
            )?;
            h.env.ok(&["crl"]);
            let (serials, number) = crl_of(&h.env);
            expect(
                serials.contains(&h.bob.replace(':', "")) && number > number_before,
                format!(
                    "bob's serial {} in a CRL numbered above {number_before}",
                    h.bob
                ),
                format!("{serials:?}, number {number}"),
            )?;
            h.env.ok(&["issue-client", "dave"]);
            Ok(())
        });
    }
    table.finish();
}

/// An interrupted write is not damage: the seal still counts the batches before it, and every
/// command goes on (the next writer cuts the tail off).
#[test]
fn an_interrupted_write_is_still_taken_for_one() {
    let h = history();
    let inv = h.env.path("inventory.jsonl");
    let torn = [&h.states[3][..], br#"{"event":"issued","serial":"ab"#].concat();
    fs::write(&inv, torn).unwrap();
    h.env.ok(&["list"]);
    let check = h.env.run(&["check"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    h.env.ok(&["issue-client", "dave"]);
    assert!(fs::read(&inv).unwrap().starts_with(&h.states[3]));
    let out = h.env.ok(&["repair"]);
    assert!(out.contains("nothing to repair"), "{out}");
}
