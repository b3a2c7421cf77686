//! pgca makes itself non-dumpable (prctl PR_SET_DUMPABLE) before it reads anything: no core
//! dump of a process holding CA keys, and no ptrace or /proc memory access by its user.
//!
//! The kernel shows it: the files under `/proc/PID` of a non-dumpable process belong to root
//! instead of the process's user. So pgca runs as an unprivileged user (uid 65534 through
//! `setpriv` when the tests run as root, else the tests' own user), waits for the directory lock
//! the test holds, and the test looks at who owns `/proc/PID/status` meanwhile. A `sleep` run
//! the same way is the control: it must show its own user, or the check would prove nothing.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Env, p, pgca_bin};

/// The uid pgca and the control run as.
const UNPRIVILEGED: u32 = 65534;

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// `program ARGS`, as [`UNPRIVILEGED`] when the tests run as root.
fn unprivileged(program: &Path, args: &[&str]) -> Command {
    let mut cmd = if is_root() {
        let mut c = Command::new("setpriv");
        c.arg(format!("--reuid={UNPRIVILEGED}"))
            .arg(format!("--regid={UNPRIVILEGED}"))
            .arg("--clear-groups")
            .arg(program);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// The user pgca and the control run as.
fn runner_uid() -> u32 {
    if is_root() {
        UNPRIVILEGED
    } else {
        rustix::process::geteuid().as_raw()
    }
}

/// Waits until `pred` holds, or panics after 10 s with `what`.
fn wait_for(what: &str, mut pred: impl FnMut() -> bool) {
    let start = Instant::now();
    while !pred() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Who owns `/proc/PID/status`.
fn proc_owner(child: &Child) -> u32 {
    fs::metadata(format!("/proc/{}/status", child.id()))
        .expect("the process is alive")
        .uid()
}

/// `chown -R uid:uid root`, links themselves rather than what they point at.
fn chown_tree(root: &Path, uid: u32) {
    let md = fs::symlink_metadata(root).unwrap();
    std::os::unix::fs::lchown(root, Some(uid), Some(uid)).unwrap();
    if md.is_dir() {
        for e in fs::read_dir(root).unwrap() {
            chown_tree(&e.unwrap().path(), uid);
        }
    }
}

#[test]
fn pgca_is_not_dumpable() {
    let env = Env::init(&[]);
    // A copy of the binary everyone may read: the kernel makes a process non-dumpable by itself
    // when it executes a file its user cannot read, which would pass this test for nothing.
    let bin = env.tmp.path().join("pgca");
    fs::copy(pgca_bin(), &bin).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    if is_root() {
        fs::set_permissions(env.tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
        chown_tree(&env.ca, UNPRIVILEGED);
    }

    // The control: an ordinary process started the same way shows its own user.
    let mut control = unprivileged(Path::new("/bin/sleep"), &["30"])
        .spawn()
        .unwrap();
    wait_for("the control to run sleep", || {
        fs::read_to_string(format!("/proc/{}/comm", control.id()))
            .is_ok_and(|c| c.trim() == "sleep")
    });
    let control_owner = proc_owner(&control);
    control.kill().unwrap();
    control.wait().unwrap();
    assert_eq!(
        control_owner,
        runner_uid(),
        "/proc/PID of a dumpable process belongs to its user, so the check below means something"
    );

    // pgca waits for the lock the test holds: /proc/locks lists it as a waiter.
    let lock = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(env.path(".lock"))
        .unwrap();
    lock.lock().unwrap();
    let child = unprivileged(&bin, &["--dir", p(&env.ca), "--wait", "30s", "list"])
        .spawn()
        .unwrap();
    let pid = child.id();
    // pgca polls for the lock (its wait is bounded), so it is no blocked waiter in /proc/locks:
    // it is waiting once it has the lock file open, long after main made it non-dumpable.
    wait_for("pgca to open the directory lock", || {
        fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|d| {
            d.flatten()
                .any(|e| fs::read_link(e.path()).is_ok_and(|t| t.ends_with(".lock")))
        })
    });
    let owner = proc_owner(&child);
    lock.unlock().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("server-ca"));
    assert_eq!(
        owner, 0,
        "/proc/{pid}/status belongs to uid {owner}: pgca is dumpable"
    );
}
