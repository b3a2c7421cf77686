//! `pgca conninfo`: what each driver's output means, proven by the driver itself where it is
//! installed, against a real PostgreSQL (TLS 1.3, `hostssl all all 127.0.0.1/32 cert`), with the
//! CA directory at a path holding a space, a quote, `&`, `=`, `%`, `#` and non-ASCII, a role
//! with a space and a quote, and a database with `&`, `=`, `%` and `#`.
//!
//! - libpq, uri: psql connects with the printed string as it is.
//! - go: the Go literal, read back, is a keyword/value string; psql connects with it (pgx parses
//!   libpq's syntax).
//! - psycopg, asyncpg: Debian's python3 runs the printed snippet (psycopg2, asyncpg).
//! - jdbc: Java runs a one-file program with Debian's pgjdbc and the printed URL, nothing else:
//!   the `.pk8` key the URL names is the one `pgca conninfo` wrote.
//! - node: node runs the printed module with node-postgres from `target/node-pg`, where
//!   scripts/install-deps.sh (`make test`) puts it with npm.
//! - npgsql: the quoting only (unit tests in `src/pg/conninfo.rs`).

mod common;
mod pg;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Env;
use pg::Cluster;

const ROLE: &str = "o'neil app";
const DB: &str = "d b&=%#ü";
const WHO: &str = "select current_user || ' ' || current_database()";

/// A CA directory at a hostile path, with a server certificate for localhost and 127.0.0.1 and
/// a client certificate for [`ROLE`].
fn hostile_ca() -> Env {
    let mut env = Env::new();
    env.ca = env.tmp.path().join("ca dir it's &a=b %41 #x ü");
    env.ok(&[
        "init",
        "--server-host",
        "localhost",
        "--server-host",
        "127.0.0.1",
    ]);
    env.ok(&["issue-client", "--allow-unusual-role", ROLE]);
    env
}

/// A command with no PG* variables and an empty HOME: only what pgca printed configures it.
fn clean(program: impl AsRef<std::ffi::OsStr>, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home);
    cmd
}

fn run(mut cmd: Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A Go interpreted string literal read back (what pgca's quoting writes).
fn go_unquote(lit: &str) -> String {
    let inner = lit.strip_prefix('"').unwrap().strip_suffix('"').unwrap();
    let mut out = String::new();
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next().unwrap() {
            'x' => {
                let h: String = it.by_ref().take(2).collect();
                out.push(char::from_u32(u32::from_str_radix(&h, 16).unwrap()).unwrap());
            }
            'u' => {
                let h: String = it.by_ref().take(4).collect();
                out.push(char::from_u32(u32::from_str_radix(&h, 16).unwrap()).unwrap());
            }
            c => out.push(c),
        }
    }
    out
}

fn python() -> PathBuf {
    // Debian's interpreter, where python3-psycopg2 and python3-asyncpg are installed (a pyenv
    // python3 earlier on PATH does not see them).
    ["/usr/bin/python3", "python3"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_absolute() && p.exists())
        .unwrap_or_else(|| "python3".into())
}

const JAVA_CHECK: &str = r#"
import java.sql.*;

public class Check {
    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0]);
             ResultSet r = c.createStatement().executeQuery(args[1])) {
            r.next();
            System.out.println(r.getString(1));
        }
    }
}
"#;

const PGJDBC: &str = "/usr/share/java/postgresql.jar";

#[test]
fn every_printed_connection_connects_as_the_role() {
    let env = hostile_ca();
    let mut cluster = Cluster::new();
    cluster.enable_tls();
    cluster.install_tls(
        &env.path("servers/localhost.crt"),
        &env.path("servers/localhost.key"),
        &env.path("client-ca.crt"),
    );
    cluster.start();
    cluster.sql(&format!("CREATE ROLE \"{ROLE}\" LOGIN"));
    cluster.sql(&format!("CREATE DATABASE \"{DB}\" OWNER \"{ROLE}\""));
    let port = cluster.port.to_string();
    let conninfo = |driver: &str, db: Option<&str>| {
        let mut args = vec![
            "conninfo",
            ROLE,
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--driver",
            driver,
        ];
        if let Some(db) = db {
            args.extend(["--dbname", db]);
        }
        env.ok(&args)
    };
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let psql = pg::client_bindir().join("psql");
    let both = format!("{ROLE} {DB}");

    // libpq and uri: psql "$(pgca conninfo ...)".
    for driver in ["libpq", "uri"] {
        let text = conninfo(driver, Some(DB));
        let mut cmd = clean(&psql, home.path());
        cmd.args(["-X", "-A", "-t", "-c", WHO, text.trim_end()]);
        assert_eq!(run(cmd, &format!("psql {text}")), both, "{driver}");
    }
    // The database defaults to the role's name, written out.
    cluster.sql(&format!("CREATE DATABASE \"{ROLE}\" OWNER \"{ROLE}\""));
    let text = conninfo("libpq", None);
    let mut cmd = clean(&psql, home.path());
    cmd.args(["-X", "-A", "-t", "-c", WHO, text.trim_end()]);
    assert_eq!(run(cmd, &text), format!("{ROLE} {ROLE}"));

    // go: the literal holds a keyword/value string libpq (and pgx) reads.
    let text = conninfo("go", Some(DB));
    let lit = text
        .lines()
        .find_map(|l| l.strip_prefix("connString := "))
        .expect("a connString line");
    let mut cmd = clean(&psql, home.path());
    cmd.args(["-X", "-A", "-t", "-c", WHO, &go_unquote(lit)]);
    assert_eq!(run(cmd, &text), both, "go");

    // Python: the snippets run as printed.
    for driver in ["psycopg", "asyncpg"] {
        let text = conninfo(driver, Some(DB));
        let file = work.path().join(format!("{driver}_snippet.py"));
        std::fs::write(&file, &text).unwrap();
        let mut cmd = clean(python(), home.path());
        cmd.arg(&file);
        assert_eq!(run(cmd, &format!("{driver}:\n{text}")), ROLE, "{driver}");
    }

    // jdbc: pgjdbc with the printed URL as it is; its key is the PKCS#8 DER file conninfo wrote
    // beside the PEM key.
    let java_ok = Command::new("java").arg("-version").output().is_ok();
    if java_ok && Path::new(PGJDBC).exists() {
        let text = conninfo("jdbc", Some(DB));
        let src = work.path().join("Check.java");
        std::fs::write(&src, JAVA_CHECK).unwrap();
        let mut cmd = clean("java", home.path());
        cmd.args(["-cp", PGJDBC])
            .arg(&src)
            .args([text.trim_end(), WHO]);
        assert_eq!(run(cmd, &format!("jdbc: {text}")), both, "jdbc");
    } else {
        panic!("no java or no {PGJDBC}: make test installs them (scripts/install-deps.sh)");
    }

    // node: node-postgres, when `npm install pg` was done in target/node-pg.
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/node-pg/node_modules");
    if modules.join("pg").exists() {
        let text = conninfo("node", Some(DB));
        let file = work.path().join("snippet.js");
        std::fs::write(&file, &text).unwrap();
        let mut cmd = clean("node", home.path());
        cmd.env("NODE_PATH", &modules).arg(&file);
        assert_eq!(run(cmd, &format!("node:\n{text}")), ROLE, "node");
    } else {
        panic!(
            "no node-postgres in {}: make test installs it (scripts/install-deps.sh)",
            modules.display()
        );
    }
}

#[test]
fn json_quiet_and_refusals() {
    let env = hostile_ca();
    let text = env.ok(&[
        "conninfo",
        ROLE,
        "--host",
        "db.example.com",
        "--driver",
        "uri",
    ]);
    assert!(
        text.starts_with("postgresql://o%27neil%20app@db.example.com:5432/o%27neil%20app?sslmode=verify-full&sslrootcert=/"),
        "{text}"
    );
    let json = env.ok(&[
        "conninfo", ROLE, "--host", "::1", "--driver", "jdbc", "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["driver"], "jdbc");
    let t = v["text"].as_str().unwrap();
    assert!(t.starts_with("jdbc:postgresql://[::1]:5432/"), "{t}");
    assert!(t.trim_end().ends_with(".pk8"), "{t}");
    assert_eq!(
        env.ok(&["conninfo", ROLE, "--host", "db", "--driver", "node", "-q"]),
        ""
    );

    let e = env.fails(&[
        "conninfo",
        ROLE,
        "--host",
        "*.example.com",
        "--driver",
        "libpq",
    ]);
    assert!(e.contains("wildcard"), "{e}");
    let e = env.fails(&["conninfo", "bob", "--host", "db", "--driver", "libpq"]);
    assert!(e.contains("no client certificate"), "{e}");
    env.ok(&["revoke", ROLE, "--reason", "keyCompromise"]);
    let e = env.fails(&["conninfo", ROLE, "--host", "db", "--driver", "psycopg"]);
    assert!(e.contains("revoked"), "{e}");
    let out = env.run(&["conninfo", ROLE, "--host", "db", "--driver", "perl"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The `sslkey` of a printed jdbc URL names a file that exists: conninfo writes it, mode 0600,
/// the role's current key as PKCS#8 DER, and writes it again when the key has changed.
#[test]
fn the_jdbc_url_names_a_key_file_that_exists() {
    use std::os::unix::fs::PermissionsExt;
    let env = hostile_ca();
    let conninfo = |driver: &str| {
        let args = [
            "conninfo",
            ROLE,
            "--host",
            "db.example.com",
            "--driver",
            driver,
        ];
        env.ok(&args)
    };
    let pk8 = env.path(&format!("clients/{ROLE}.pk8"));
    assert!(!pk8.exists());
    let url = conninfo("jdbc");
    let sslkey = url
        .trim_end()
        .rsplit_once("&sslkey=")
        .map(|(_, v)| v)
        .expect("an sslkey parameter");
    assert!(sslkey.ends_with("/clients/o%27neil%20app.pk8"), "{url}");
    assert!(pk8.exists(), "{url}: no {}", pk8.display());
    let mode = std::fs::metadata(&pk8).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // The PEM key's DER, the bytes pgjdbc reads.
    let key = env.path(&format!("clients/{ROLE}.key"));
    let der = || {
        pem::parse(std::fs::read_to_string(&key).unwrap())
            .unwrap()
            .contents()
            .to_vec()
    };
    let first = der();
    assert_eq!(std::fs::read(&pk8).unwrap(), first);
    // A renewal makes a new key: the next conninfo writes the file again.
    env.ok(&["renew", "--force", ROLE]);
    assert_ne!(der(), first);
    conninfo("jdbc");
    assert_eq!(std::fs::read(&pk8).unwrap(), der());
    // Other drivers write nothing.
    std::fs::remove_file(&pk8).unwrap();
    conninfo("libpq");
    assert!(!pk8.exists());
}

/// Every `pgca conninfo` command of a ```sh block in docs/clients.md runs, and prints what the section after it
/// shows (the first line's start, up to the first path).
#[test]
fn the_clients_guide_commands_run() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/clients.md"))
            .unwrap();
    let env = Env::init(&["--server-host", "db.example.com"]);
    env.ok(&["issue-client", "alice"]);
    let mut ran = 0;
    let mut lines = text.lines();
    let mut in_sh = false;
    while let Some(line) = lines.next() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        let Some(rest) = line.strip_prefix("pgca conninfo ").filter(|_| in_sh) else {
            continue;
        };
        let mut args = vec!["conninfo"];
        args.extend(rest.split_whitespace());
        let out = env.ok(&args);
        // The output block follows the command's block.
        in_sh = false;
        let shown = lines
            .by_ref()
            .skip_while(|l| !l.starts_with("```"))
            .skip(1)
            .skip_while(|l| !l.starts_with("```"))
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let prefix: String = shown.chars().take_while(|&c| c != '/').collect();
        assert!(
            out.starts_with(&prefix),
            "{line}: the guide shows {shown:?}, pgca printed {out:?}"
        );
        ran += 1;
    }
    assert_eq!(ran, 8, "one command per driver in docs/clients.md");
}
