//! What the command line shows, compared with the files in `tests/snapshots/`:
//!
//! - `help/pgca.txt` and `help/pgca-COMMAND.txt`: `--help` of pgca and of every command (found
//!   in the help's own command lists, so a new command gets a snapshot), 100 columns wide;
//! - `output/GROUP.txt`: a transcript per group of commands, one representative run of each
//!   (stdout, stderr, exit status), with what changes from run to run normalised: the temporary
//!   directory is `[TMP]`, serials `[SERIAL]`, times `[DATE]`, key ids and fingerprints
//!   `[HEX]`, the CA names' random suffix `[ID]`, and the digits of days and seconds left `N`.
//!
//! A mismatch fails with a diff. After a deliberate change, rewrite the files and review the
//! diff with git:
//!
//! ```sh
//! SNAPSHOTS=overwrite cargo test --test snapshots
//! git diff tests/snapshots
//! ```

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Env, pgca_bin};

fn snapshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

fn overwriting() -> bool {
    std::env::var("SNAPSHOTS").is_ok_and(|v| v == "overwrite")
}

/// Compares `actual` with the snapshot file (rewriting it under `SNAPSHOTS=overwrite`).
#[track_caller]
fn assert_snapshot(path: &Path, actual: String) {
    let expected = snapbox::Data::read_from(path, None).raw();
    snapbox::Assert::new()
        .action_env("SNAPSHOTS")
        .normalize_paths(false)
        .eq(actual, expected);
}

/// `pgca ARGS` with a fixed width for clap's wrapping, no CA directory, no passphrase.
fn pgca(args: &[&str]) -> std::process::Output {
    Command::new(pgca_bin())
        .args(args)
        .env("COLUMNS", "100")
        .env_remove("PGCA_DIR")
        .env_remove("PGCA_PASSPHRASE")
        .env_remove("PGCA_PASSPHRASE_FILE")
        .output()
        .expect("run pgca")
}

/// The command names a `--help` lists under `Commands:` (without `help`).
fn commands_in(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l[2..].starts_with(' ')) // not a wrapped line
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn help_of_pgca_and_every_command() {
    let dir = snapshots().join("help");
    let mut seen = Vec::new();
    let mut queue = vec![Vec::<String>::new()];
    while let Some(path) = queue.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = pgca(&args);
        assert!(out.status.success(), "pgca {args:?}");
        assert!(out.stderr.is_empty(), "pgca {args:?}");
        let help = String::from_utf8(out.stdout).unwrap();
        for c in commands_in(&help) {
            let mut sub = path.clone();
            sub.push(c);
            queue.push(sub);
        }
        let name = std::iter::once("pgca")
            .chain(path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("-");
        assert_snapshot(&dir.join(format!("{name}.txt")), help);
        seen.push(format!("{name}.txt"));
    }
    assert!(seen.len() > 20, "{seen:?}");
    // A command that went away takes its snapshot with it.
    for e in std::fs::read_dir(&dir).unwrap() {
        let file = e.unwrap().file_name().to_string_lossy().into_owned();
        if !seen.contains(&file) {
            if overwriting() {
                std::fs::remove_file(dir.join(&file)).unwrap();
            } else {
                panic!("tests/snapshots/help/{file} belongs to no command: remove it");
            }
        }
    }
}

/// Runs commands in one CA directory and writes what they show, normalised.
struct Transcript<'a> {
    env: &'a Env,
    text: String,
}

impl<'a> Transcript<'a> {
    fn new(env: &'a Env) -> Self {
        Transcript {
            env,
            text: String::new(),
        }
    }

    /// `pgca --dir CA ARGS` (`@` in an argument is the temporary directory, also `$HOME`; an
    /// explicit `--dir` replaces CA), and what it shows.
    fn run(&mut self, args: &[&str]) -> &mut Self {
        let tmp = self.env.tmp.path().to_str().unwrap();
        let args: Vec<String> = args.iter().map(|a| a.replace('@', tmp)).collect();
        let mut cmd = Command::new(pgca_bin());
        if !args.iter().any(|a| a == "--dir") {
            cmd.arg("--dir").arg(&self.env.ca);
        }
        let out = cmd
            .args(&args)
            .env("HOME", tmp)
            .env("COLUMNS", "100")
            .env_remove("PGCA_DIR")
            .env_remove("PGCA_PASSPHRASE")
            .env_remove("PGCA_PASSPHRASE_FILE")
            .env_remove("PGSERVICEFILE")
            .env_remove("XDG_DATA_HOME")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run pgca");
        let _ = writeln!(self.text, "$ pgca {}", args.join(" "));
        self.text.push_str(&String::from_utf8_lossy(&out.stdout));
        for line in String::from_utf8_lossy(&out.stderr).lines() {
            let _ = writeln!(self.text, "[stderr] {line}");
        }
        let _ = writeln!(self.text, "[exit {}]\n", out.status.code().unwrap_or(-1));
        self
    }

    #[track_caller]
    fn check(&mut self, group: &str) {
        let text = normalise(&std::mem::take(&mut self.text), self.env.tmp.path());
        assert_snapshot(&snapshots().join(format!("output/{group}.txt")), text);
    }
}

#[test]
fn the_output_of_every_command() {
    let env = Env::new();
    let data = env.tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("PG_VERSION"), "15\n").unwrap();
    let mut t = Transcript::new(&env);

    t.run(&["init", "--no-passphrase", "--server-host", "localhost"])
        .run(&["init", "--no-passphrase", "--dir", "@/other", "--json"])
        .run(&["init", "-q", "--no-passphrase", "--dir", "@/quiet"])
        .run(&["issue-server", "db.example.com", "10.0.0.5"])
        .run(&["issue-server", "--json", "db2.example.com"])
        .run(&["issue-client", "alice", "bob"])
        .run(&["issue-client", "--json", "carol"])
        .run(&["issue-client", "-q", "erin"])
        .run(&[
            "issue-client",
            "dave",
            "--service",
            "db",
            "--host",
            "localhost",
        ])
        .run(&[
            "issue-client",
            "frank",
            "--service",
            "f",
            "--host",
            "localhost",
            "--file",
            "@/svc",
            "--json",
        ])
        .run(&["passwd", "--no-passphrase"])
        .run(&["passwd", "client", "--no-passphrase", "--json"])
        .check("issue");

    // A certificate issued 300 days ago, due for renewal: check's WARNING and list's `due`.
    let mut old = pgca::IssueOptions::default();
    old.now = Some(pgca::timefmt::now() - time::Duration::days(300));
    pgca::CaDir::open(&env.ca)
        .unwrap()
        .issue_client(&"old".parse::<pgca::RoleName>().unwrap(), &old)
        .unwrap();
    t.run(&["list"])
        .run(&["list", "--json"])
        .run(&["check"])
        .run(&["check", "--json"])
        .run(&["check", "-q"])
        .run(&["verify"])
        .run(&["verify", "--json"])
        .check("monitor");

    t.run(&["inspect", "@/ca/clients/alice.crt"])
        .run(&["inspect", "--json", "@/ca/servers/db.example.com.crt"])
        .check("inspect");

    t.run(&["revoke", "bob"])
        .run(&[
            "revoke",
            "--json",
            "db2.example.com",
            "--reason",
            "keyCompromise",
        ])
        .run(&["crl"])
        .run(&["crl", "--json"])
        .run(&["inspect", "@/ca/client-ca.crl"])
        .run(&["renew"])
        .run(&["renew", "--quiet"])
        .run(&["renew", "--force", "alice"])
        .run(&["renew", "--force", "--json", "erin"])
        .check("revoke");

    t.run(&["server-config", "localhost"])
        .run(&["server-config", "localhost", "--data-dir", "@/data"])
        .run(&["deploy-server", "localhost", "--data-dir", "@/data"])
        .run(&[
            "deploy-server",
            "localhost",
            "--data-dir",
            "@/data",
            "--json",
        ])
        .run(&["client-install", "alice", "--to", "@/home"])
        .run(&[
            "client-install",
            "alice",
            "--to",
            "@/home",
            "--force",
            "--json",
        ])
        .run(&["env", "alice", "--host", "localhost"])
        .check("deploy");

    // The file mode of deploy-server and client-install (no CA directory needed), and what it
    // refuses, with the hints.
    t.run(&[
        "deploy-server",
        "--cert",
        "@/ca/servers/localhost.crt",
        "--key",
        "@/ca/servers/localhost.key",
        "--ca-file",
        "@/ca/client-ca.crt",
        "--data-dir",
        "@/data",
    ])
    .run(&[
        "deploy-server",
        "--cert",
        "@/ca/servers/localhost.crt",
        "--key",
        "@/ca/servers/localhost.key",
        "--ca-file",
        "@/ca/client-ca.crt",
        "--data-dir",
        "@/data",
        "--json",
    ])
    .run(&[
        "client-install",
        "--cert",
        "@/ca/clients/alice.crt",
        "--key",
        "@/ca/clients/alice.key",
        "--root",
        "@/ca/server-ca.crt",
        "--to",
        "@/host-home",
        "--json",
    ])
    .run(&[
        "deploy-server",
        "--cert",
        "@/ca/clients/alice.crt",
        "--key",
        "@/ca/clients/alice.key",
        "--ca-file",
        "@/ca/client-ca.crt",
        "--data-dir",
        "@/data",
    ])
    .run(&[
        "client-install",
        "--cert",
        "@/ca/clients/alice.crt",
        "--key",
        "@/ca/servers/localhost.key",
        "--root",
        "@/ca/server-ca.crt",
        "--to",
        "@/host-home",
        "--force",
    ])
    .run(&[
        "client-install",
        "--cert",
        "@/ca/clients/alice.crt",
        "--key",
        "@/ca/clients/alice.key",
        "--root",
        "@/ca/client-ca.crt",
        "--to",
        "@/host-home",
        "--force",
    ])
    .check("host");

    t.run(&[
        "service",
        "add",
        "a",
        "--role",
        "alice",
        "--host",
        "localhost",
        "--file",
        "@/s",
    ])
    .run(&[
        "service",
        "add",
        "a",
        "--role",
        "alice",
        "--host",
        "localhost",
        "--port",
        "5433",
        "--file",
        "@/s",
        "--force",
        "--json",
    ])
    .run(&["service", "list", "--file", "@/s"])
    .run(&["service", "list", "--file", "@/s", "--json"])
    .run(&["service", "show", "a", "--file", "@/s"])
    .run(&["service", "remove", "a", "--file", "@/s"])
    .check("service");

    // Failures: one line, the library's message and pgca's hint.
    t.run(&["issue-client", "alice"])
        .run(&["init", "--no-passphrase"])
        .run(&["server-config", "nosuch"])
        .run(&["client-install", "nosuch", "--to", "@/home"])
        .run(&["renew", "nosuch"])
        .run(&["env", "bob", "--host", "localhost"])
        .run(&["revoke", "server-ca"])
        .run(&[
            "service",
            "add",
            "a",
            "--role",
            "alice",
            "--host",
            "localhost",
            "--file",
            "@/s",
        ])
        .run(&[
            "service",
            "add",
            "a",
            "--role",
            "alice",
            "--host",
            "localhost",
            "--file",
            "@/s",
        ])
        .run(&["issue-client", "zed", "--validity", "20y"])
        .run(&["list", "--dir", "@/none"])
        .run(&["check", "--dir", "@/none"])
        .run(&["list", "--json", "-q"])
        .check("errors");
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = pgca(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for word in ["issue-client", "passphrase-file", "json"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    assert_eq!(pgca(&["completions", "tcsh"]).status.code(), Some(2));
}

// Normalisation: what changes from one run to the next.

/// The output with the temporary directory, serials, times, key ids and fingerprints, CA name
/// suffixes and days left replaced by placeholders.
fn normalise(text: &str, tmp: &Path) -> String {
    let text = text.replace(tmp.to_str().unwrap(), "[TMP]");
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        out.push_str(&days_left(&tokens(&dates(line))));
    }
    out
}

const STATES: [&str; 6] = [
    "valid",
    "due",
    "expired",
    "not-yet-valid",
    "superseded",
    "revoked",
];

/// `2026-11-30 04:06:55 UTC` and `2026-11-30T04:06:55Z` as `[DATE]`.
fn dates(line: &str) -> String {
    let shapes = ["dddd-dd-dd dd:dd:dd UTC", "dddd-dd-ddTdd:dd:ddZ"];
    let b = line.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    'scan: while i < b.len() {
        for shape in shapes {
            let s = shape.as_bytes();
            let fits = b.len() - i >= s.len()
                && s.iter().zip(&b[i..]).all(|(&p, &c)| {
                    if p == b'd' {
                        c.is_ascii_digit()
                    } else {
                        p == c
                    }
                });
            if fits {
                out.push_str("[DATE]");
                i += s.len();
                continue 'scan;
            }
        }
        let ch = line[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Serials (16 or more lowercase hex digits) as `[SERIAL]`, colon-separated hex of eight bytes
/// or more as `[HEX]`, the random suffix of a CA's name (`pgca client CA 2a72b094`) as `[ID]`.
fn tokens(line: &str) -> String {
    let is_hex = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_hexdigit());
    let mut out = String::new();
    let mut rest = line;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == ':'))
            .unwrap_or(rest.len());
        if end == 0 {
            let ch = rest.chars().next().unwrap();
            out.push(ch);
            rest = &rest[ch.len_utf8()..];
            continue;
        }
        let token = &rest[..end];
        let word = token.trim_end_matches(':');
        let colons = &token[word.len()..];
        let pairs: Vec<&str> = word.split(':').collect();
        if pairs.len() >= 8 && pairs.iter().all(|p| p.len() == 2 && is_hex(p)) {
            out.push_str("[HEX]");
        } else if word.len() >= 16 && is_hex(word) && !word.bytes().any(|c| c.is_ascii_uppercase())
        {
            out.push_str("[SERIAL]");
        } else if word.len() == 8 && is_hex(word) && out.ends_with(" CA ") {
            out.push_str("[ID]");
        } else {
            out.push_str(word);
        }
        out.push_str(colons);
        rest = &rest[end..];
    }
    out
}

/// The digits of days and seconds left as `N`s: they depend on the second a command runs in.
fn days_left(line: &str) -> String {
    let mut line = line.to_string();
    for key in ["\"days_left\": ", "\"seconds_left\": "] {
        if let Some(at) = line.find(key) {
            line = digits_as_n(&line, at + key.len());
        }
    }
    if let Some(at) = line.find(" days left)") {
        let start = line[..at]
            .rfind(|c: char| !c.is_ascii_digit())
            .map_or(0, |i| i + 1);
        line = digits_as_n(&line, start);
    }
    // A row of `list`'s table: the number before the state.
    let trimmed = line.trim_end();
    if let Some(state) = STATES.iter().find(|s| trimmed.ends_with(&format!("  {s}"))) {
        let before = trimmed[..trimmed.len() - state.len()].trim_end();
        let start = before.rfind(' ').map_or(0, |i| i + 1);
        if before[start..]
            .bytes()
            .all(|c| c.is_ascii_digit() || c == b'-')
        {
            line = digits_as_n(&line, start);
        }
    }
    line
}

/// `line` with the run of digits (and a minus sign) starting at `at` turned into `N`s.
fn digits_as_n(line: &str, at: usize) -> String {
    let len = line[at..]
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(line.len() - at);
    format!("{}{}{}", &line[..at], "N".repeat(len), &line[at + len..])
}

/// `request` and `sign`, and how other commands treat an external key.
#[test]
fn the_output_of_request_and_sign() {
    let env = Env::new();
    common::write_secret(&env.tmp.path().join("pw"), "export pw\n");
    let data = env.tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("PG_VERSION"), "15\n").unwrap();
    let mut t = Transcript::new(&env);
    t.run(&["init", "-q", "--no-passphrase"])
        .run(&[
            "request",
            "--server",
            "db.example.com",
            "10.0.0.5",
            "--out",
            "@/host",
        ])
        .run(&[
            "request", "--client", "alice", "--out", "@/laptop", "--json",
        ])
        .run(&["request", "--client", "bob", "--out", "@/laptop", "-q"])
        .run(&[
            "sign",
            "@/host/db.example.com.csr",
            "--server",
            "--out",
            "@/host/db.example.com.crt",
        ])
        .run(&["sign", "@/laptop/alice.csr", "--client", "--json"])
        .run(&["sign", "@/laptop/bob.csr", "--client", "-q"])
        .run(&["renew", "--force", "alice"])
        .run(&[
            "export",
            "alice",
            "--format",
            "p12",
            "--out",
            "@/a.p12",
            "--key-passphrase-file",
            "@/pw",
        ])
        .run(&["deploy-server", "db.example.com", "--data-dir", "@/data"])
        .run(&["sign", "@/laptop/alice.csr", "--client"])
        .run(&["sign", "@/host/db.example.com.key", "--server"])
        .run(&["request", "--client", "alice", "--out", "@/laptop"])
        .check("csr");
}
