//! pgjdbc (Java) connections, every case in one JVM: [`run_java`] feeds [`Case`]s to
//! PgcaJdbc.java (beside this file, a single-file source program) and returns each one's line.
//! Used by tests/jdbc.rs and tests/rollover_postgres.rs (`mod java;`).
//!
//! Needs `java` and pgjdbc (`/usr/share/java/postgresql.jar`, else `$PGJDBC_JAR`): `make deps`
//! installs Debian's `default-jre-headless` and `libpostgresql-jdbc-java`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::p;

/// pgjdbc's jar: `$PGJDBC_JAR`, else Debian's.
pub fn pgjdbc_jar() -> PathBuf {
    let jar = std::env::var_os("PGJDBC_JAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/java/postgresql.jar"));
    assert!(
        jar.exists(),
        "pgjdbc is not installed ({}): run `make deps` (apt-get install libpostgresql-jdbc-java)",
        jar.display()
    );
    jar
}

/// One connection attempt and what it must give.
pub struct Case {
    pub name: &'static str,
    /// The home pgjdbc takes its default files from; `None`: an empty one.
    pub home: Option<PathBuf>,
    pub url: String,
    /// `Ok(role)`: connects as that role. `Err(text)`: refused, the message containing `text`.
    pub want: Result<&'static str, &'static str>,
}

impl Case {
    pub fn new(
        name: &'static str,
        home: Option<&Path>,
        url: &str,
        want: Result<&'static str, &'static str>,
    ) -> Case {
        Case {
            name,
            home: home.map(Path::to_path_buf),
            url: url.to_string(),
            want,
        }
    }
}

/// A verify-full JDBC URL for `user` on the cluster's port, with `extra` parameters (`&`-joined).
pub fn url(port: u16, user: &str, extra: &str) -> String {
    let mut u = format!(
        "jdbc:postgresql://localhost:{port}/postgres?user={user}&sslmode=verify-full&connectTimeout=10"
    );
    if !extra.is_empty() {
        u.push('&');
        u.push_str(extra);
    }
    u
}

/// The `sslkey`, `sslcert`, `sslrootcert` parameters naming the files client-install put in `dir`.
pub fn files_in(dir: &Path, key: &str) -> String {
    format!(
        "sslkey={}&sslcert={}&sslrootcert={}",
        dir.join(key).display(),
        dir.join("postgresql.crt").display(),
        dir.join("root.crt").display()
    )
}

/// Runs every case in one JVM; returns each case's line (`OK role` or `FAIL message`).
pub fn run_java(cases: &[Case]) -> BTreeMap<String, String> {
    let empty_home = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java/PgcaJdbc.java");
    let mut child = Command::new("java")
        .arg(format!("-Duser.home={}", p(empty_home.path())))
        .arg("-Djava.net.preferIPv4Stack=true")
        .arg("-cp")
        .arg(pgjdbc_jar())
        .arg(&source)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("java is not installed: run `make deps` (apt-get install default-jre-headless)");
    let input: String = cases
        .iter()
        .map(|c| {
            let home = c
                .home
                .as_deref()
                .map_or("-".to_string(), |h| p(h).to_string());
            format!("{}\t{home}\t{}\n", c.name, c.url)
        })
        .collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "java: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let got: BTreeMap<String, String> = stdout
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(n, r)| (n.to_string(), r.to_string()))
        .collect();
    assert_eq!(got.len(), cases.len(), "one line per case:\n{stdout}");
    got
}

/// The cases whose line is not what they want, one description each (empty: all as wanted).
/// `Err("a|b")` accepts either text: a refusal after a TLS 1.3 handshake reaches the client as
/// the server's alert or as a broken pipe, whichever the socket sees first.
pub fn mismatches(cases: &[Case], got: &BTreeMap<String, String>) -> Vec<String> {
    let mut wrong = Vec::new();
    for c in cases {
        let line = &got[c.name];
        let fine = match c.want {
            Ok(role) => *line == format!("OK {role}"),
            Err(text) => line.starts_with("FAIL ") && text.split('|').any(|t| line.contains(t)),
        };
        if !fine {
            wrong.push(format!(
                "{}: want {:?}, got {line}\n  {}",
                c.name, c.want, c.url
            ));
        }
    }
    wrong
}
