//! Helpers shared by the integration tests: running the built `pgca`, snapshots of a directory
//! tree (to prove that a refused command changed nothing), and openssl.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
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
        std::fs::write(tmp.path().join("passphrase"), "test passphrase\n").unwrap();
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

pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}
