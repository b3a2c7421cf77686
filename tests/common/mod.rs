//! Helpers shared by the integration tests: running the built `pgca`, snapshots of a directory
//! tree (to prove that a refused command changed nothing), openssl, a second user for the
//! attacks (`as_user`, `root_only!`), the ```sh blocks of a guide, and [`Table`], which runs
//! every row of a table-style test and reports every failing row at once.
#![allow(dead_code)]

pub mod serve;

use std::collections::{BTreeMap, HashSet};
use std::fmt::{Debug, Write as _};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub fn pgca_bin() -> &'static str {
    env!("CARGO_BIN_EXE_pgca")
}

/// A temporary directory with a CA directory path inside it.
pub struct Env {
    pub tmp: tempfile::TempDir,
    pub ca: PathBuf,
}

impl Env {
    /// A fresh temp dir; the CA directory (`<tmp>/ca`) is not created. Every `pgca` run gets
    /// `PGCA_PASSPHRASE_FILE` pointing at `<tmp>/passphrase`, so the CA keys are encrypted as
    /// they are by default.
    pub fn new() -> Env {
        let tmp = tempfile::tempdir().expect("tempdir");
        let ca = tmp.path().join("ca");
        write_secret(&tmp.path().join("passphrase"), "test passphrase\n");
        Env { tmp, ca }
    }

    /// The passphrase file every run uses.
    pub fn passphrase_file(&self) -> PathBuf {
        self.tmp.path().join("passphrase")
    }

    /// A temp dir with `pgca init` done.
    pub fn init(extra: &[&str]) -> Env {
        let env = Env::new();
        let mut args = vec!["init"];
        args.extend_from_slice(extra);
        env.ok(&args);
        env
    }

    /// Runs `pgca --dir <ca> ARGS`.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(pgca_bin())
            .arg("--dir")
            .arg(&self.ca)
            .args(args)
            .env_remove("PGCA_DIR")
            .env_remove("PGCA_PASSPHRASE")
            .env("PGCA_PASSPHRASE_FILE", self.passphrase_file())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run pgca")
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "pgca {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs and asserts exit status 1 with exactly one line on stderr; returns that line.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "pgca {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        one_line(&out.stderr)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.ca.join(rel)
    }
}

/// Writes a passphrase, PIN or password file as pgca wants one: mode 0600, whatever the umask
/// (pgca refuses one that group or others can open).
pub fn write_secret(path: &Path, contents: impl AsRef<[u8]>) {
    fs::write(path, contents).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

/// The single line of an error output, asserting there is exactly one and it starts with `pgca: `.
pub fn one_line(stderr: &[u8]) -> String {
    let s = String::from_utf8_lossy(stderr).into_owned();
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got {s:?}");
    assert!(lines[0].starts_with("pgca: "), "{s:?}");
    lines[0].to_string()
}

/// Everything below `root`, not following links: path → description (type, mode, bytes or target).
/// Empty lock files (`.lock`, `.renew.lock`) are left out: taking a lock creates one, and they
/// hold no data.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            let md = fs::symlink_metadata(&p).unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".lock") && md.len() == 0 {
                continue;
            }
            let mode = md.permissions().mode() & 0o7777;
            if md.file_type().is_symlink() {
                out.insert(
                    rel,
                    format!("link -> {}", fs::read_link(&p).unwrap().display()),
                );
            } else if md.is_dir() {
                out.insert(rel, format!("dir {mode:o}"));
                walk(root, &p, out);
            } else {
                let bytes = fs::read(&p).unwrap();
                out.insert(rel, format!("file {mode:o} {}", hex(&bytes)));
            }
        }
    }
    if let Ok(md) = fs::symlink_metadata(root) {
        out.insert(
            PathBuf::from("."),
            format!("dir {:o}", md.permissions().mode() & 0o7777),
        );
    }
    walk(root, root, &mut out);
    out
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// File mode bits.
pub fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Runs openssl; returns (success, stdout+stderr).
pub fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed (make deps)");
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), s)
}

/// A node_exporter textfile as the Prometheus project's own parser (Debian's
/// python3-prometheus-client) reads it: one `name{label="value",...} value` line per sample, labels
/// sorted. Panics when the parser refuses the file.
pub fn prometheus_samples(path: &Path) -> Vec<String> {
    let out = Command::new("/usr/bin/python3")
        .args([
            "-c",
            r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        labels = ",".join('%s="%s"' % kv for kv in sorted(s.labels.items()))
        print("%s{%s} %s" % (s.name, labels, repr(s.value)))
"#,
        ])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "prometheus_client refuses {} (make deps installs python3-prometheus-client): {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Whether the tests run as root (the attacks need a second user, PostgreSQL a `postgres` one).
pub fn is_root() -> bool {
    Command::new("id").arg("-u").output().unwrap().stdout == b"0\n"
}

/// Skips a test when not root (the attacks need a second user).
#[allow(unused_macros)]
macro_rules! root_only {
    () => {
        if !common::is_root() {
            eprintln!("skipped: this test attacks as another user, which needs root");
            return;
        }
    };
}
#[allow(unused_imports)]
pub(crate) use root_only;

/// Runs a shell command as `user` (`runuser -u USER -- sh -c SCRIPT`); asserts it succeeded.
pub fn as_user(user: &str, script: &str) {
    let out = Command::new("runuser")
        .args(["-u", user, "--", "sh", "-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{user}: {script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A user's (uid, gid).
pub fn ids(user: &str) -> (u32, u32) {
    let id = |flag| {
        let out = Command::new("id").args([flag, user]).output().unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    (id("-u"), id("-g"))
}

/// The ```sh blocks of a markdown text, in order.
pub fn sh_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "unterminated code block");
    blocks
}

pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// What changed between two [`snapshot`]s: one line per path added (`+`), removed (`-`) or
/// changed (`~`). Empty when they are equal.
pub fn snapshot_diff(
    before: &BTreeMap<PathBuf, String>,
    after: &BTreeMap<PathBuf, String>,
) -> String {
    let mut out = String::new();
    for (path, was) in before {
        match after.get(path) {
            None => writeln!(out, "- {}", path.display()).unwrap(),
            Some(now) if now != was => writeln!(out, "~ {}", path.display()).unwrap(),
            Some(_) => {}
        }
    }
    for path in after.keys().filter(|p| !before.contains_key(*p)) {
        writeln!(out, "+ {}", path.display()).unwrap();
    }
    out
}

/// A command line as a reader would type it: plain words as they are, anything else (spaces,
/// quotes, control characters, the empty string) quoted and escaped as a Rust string.
pub fn command_line<S: AsRef<std::ffi::OsStr>>(program: &str, args: &[S]) -> String {
    let mut line = program.to_string();
    for a in args {
        let a = a.as_ref().to_string_lossy();
        let plain = !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
        if plain {
            write!(line, " {a}").unwrap();
        } else {
            write!(line, " {a:?}").unwrap();
        }
    }
    line
}

// ---- tables: every row runs, every failing row is reported ----

/// What a row expected and what happened instead.
#[derive(Clone, Debug)]
pub struct Mismatch {
    pub expected: String,
    pub got: String,
}

/// The outcome of a row's checks. `?` ends the row at its first mismatch, as a failed `assert!`
/// would; the table goes on with the next row.
pub type Check = Result<(), Mismatch>;

/// `Ok` if `ok`, else a mismatch: `expected` is what should have held, `got` what happened.
pub fn expect(ok: bool, expected: impl Into<String>, got: impl Into<String>) -> Check {
    if ok {
        Ok(())
    } else {
        Err(Mismatch {
            expected: expected.into(),
            got: got.into(),
        })
    }
}

/// `Ok` if `got == want`; the mismatch shows both, as `{what} {value:?}`.
pub fn expect_eq<T: PartialEq + Debug>(what: &str, want: T, got: T) -> Check {
    expect(
        got == want,
        format!("{what} {want:?}"),
        format!("{what} {got:?}"),
    )
}

/// One failing row, as the report shows it.
#[derive(Clone, Debug)]
pub struct Failure {
    pub label: String,
    pub command: String,
    pub expected: String,
    pub got: String,
}

/// A row being run: the command line the report shows for it.
pub struct Row {
    command: String,
}

impl Row {
    /// The command line the row ran, once it is known (after the row's setup made its paths).
    pub fn ran(&mut self, command: impl Into<String>) {
        self.command = command.into();
    }
}

/// A table-style test: [`Table::row`] runs each row to its end whatever earlier rows did, and
/// [`Table::finish`] then panics once, naming every failing row with its command line, what it
/// expected and what happened. A row fails on its first mismatch ([`Check`]) or panic (an
/// `assert!` or `unwrap` in a setup helper); a row whose label another row has is a failure too,
/// and so is a table without rows.
///
/// A table must end with [`Table::finish`] or [`Table::into_report`]: dropping it unfinished
/// panics, so that no failure is ever lost.
pub struct Table {
    name: String,
    rows: usize,
    labels: HashSet<String>,
    failures: Vec<Failure>,
    done: bool,
}

impl Table {
    pub fn new(name: impl Into<String>) -> Table {
        Table {
            name: name.into(),
            rows: 0,
            labels: HashSet::new(),
            failures: Vec::new(),
            done: false,
        }
    }

    /// Runs one row: `check` does the row's setup, runs its command and checks the outcome,
    /// stopping at the first mismatch. `command` is shown in the report unless the row replaces
    /// it with [`Row::ran`].
    pub fn row(
        &mut self,
        label: impl Into<String>,
        command: impl Into<String>,
        check: impl FnOnce(&mut Row) -> Check,
    ) {
        let label = label.into();
        let mut row = Row {
            command: command.into(),
        };
        self.rows += 1;
        if !self.labels.insert(label.clone()) {
            self.failures.push(Failure {
                label: label.clone(),
                command: row.command.clone(),
                expected: "a label no other row of the table has".into(),
                got: "the label of an earlier row".into(),
            });
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| check(&mut row)));
        let mismatch = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(m)) => m,
            Err(panic) => Mismatch {
                expected: "the row to run to its end".into(),
                got: format!("panicked: {}", panic_message(panic.as_ref())),
            },
        };
        self.failures.push(Failure {
            label,
            command: row.command,
            expected: mismatch.expected,
            got: mismatch.got,
        });
    }

    /// The rows run so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The failing rows so far, in the order they ran.
    pub fn failures(&self) -> &[Failure] {
        &self.failures
    }

    /// Ends the table without panicking: the report of its failing rows, or `None` if every row
    /// passed. A table that ran no rows has a report too.
    pub fn into_report(mut self) -> Option<String> {
        self.done = true;
        if self.rows == 0 {
            return Some(format!("{}: the table ran no rows", self.name));
        }
        if self.failures.is_empty() {
            return None;
        }
        let mut report = format!(
            "{}: {} of {} rows failed:\n",
            self.name,
            self.failures.len(),
            self.rows
        );
        for f in &self.failures {
            write!(
                report,
                "\nrow {:?}\n  command:  {}\n  expected: {}\n  got:      {}\n",
                f.label,
                indent(&f.command),
                indent(&f.expected),
                indent(&f.got)
            )
            .unwrap();
        }
        Some(report)
    }

    /// Ends the table: panics with the report if a row failed (or no row ran).
    #[track_caller]
    pub fn finish(self) {
        if let Some(report) = self.into_report() {
            panic!("{report}");
        }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        if !self.done && !std::thread::panicking() {
            panic!(
                "table {:?} dropped without finish(): its failures would be lost",
                self.name
            );
        }
    }
}

/// Continuation lines indented under the report's values.
fn indent(text: &str) -> String {
    text.trim_end().replace('\n', "\n            ")
}

/// The message of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".into()
    }
}
