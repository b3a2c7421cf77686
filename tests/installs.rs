//! `client-install` is recorded: `renew` installs the renewed pair there again for the same
//! owner, `check` and `verify` report an install left on an old serial, `--forget` drops the
//! record, and a directory its user changed (a FIFO or a link planted, another owner) is
//! reported or refused, never followed.

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Env, as_user, ids, is_root, p};

fn serial_in(dir: &Path) -> String {
    pgca::CertInfo::from_file(&dir.join("postgresql.crt"))
        .unwrap()
        .serial
        .to_string()
}

fn current(env: &Env, role: &str) -> String {
    pgca::CertInfo::from_file(&env.path(&format!("clients/{role}.crt")))
        .unwrap()
        .serial
        .to_string()
}

fn status(env: &Env, args: &[&str]) -> (i32, String) {
    let out = env.run(args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn renew_installs_again_and_check_sees_a_copy_left_behind() {
    let env = Env::init(&[]);
    env.ok(&["issue-client", "alice", "bob"]);
    let a = env.tmp.path().join("alice-home");
    let b = env.tmp.path().join("bob-home");
    env.ok(&["client-install", "alice", "--to", p(&a)]);
    env.ok(&["client-install", "bob", "--to", p(&b)]);
    assert_eq!(status(&env, &["check"]).0, 0);

    // Re-issued behind the install's back: the copy is on the old serial.
    let old = serial_in(&a);
    env.ok(&["issue-client", "alice", "--force"]);
    let new = current(&env, "alice");
    for cmd in ["check", "verify"] {
        let (code, out) = status(&env, &[cmd]);
        assert_eq!(code, 1, "{cmd}: {out}");
        assert!(
            out.contains(&format!("holds serial {old}, not the current {new}"))
                && out.contains(p(&a)),
            "{cmd}: {out}"
        );
    }

    // renew installs the renewed pair wherever alice was installed, and only there.
    let bob_before = fs::read(b.join("postgresql.crt")).unwrap();
    let out = env.ok(&["renew", "alice", "--force"]);
    assert!(out.contains(&format!("installed to {}", p(&a))), "{out}");
    assert_eq!(serial_in(&a), current(&env, "alice"));
    assert_eq!(fs::read(b.join("postgresql.crt")).unwrap(), bob_before);
    assert_eq!(
        fs::read(a.join("postgresql.key")).unwrap(),
        fs::read(env.path("clients/alice.key")).unwrap()
    );
    assert_eq!(status(&env, &["check"]).0, 0);

    // --no-install leaves the copy, and check says so.
    env.ok(&["renew", "alice", "--force", "--no-install"]);
    assert_ne!(serial_in(&a), current(&env, "alice"));
    assert_eq!(status(&env, &["check"]).0, 1);

    // --forget drops the record: check is quiet about it, renew no longer installs there.
    let out = env.ok(&["client-install", "alice", "--to", p(&a), "--forget"]);
    assert!(out.contains("forgot the install of alice"), "{out}");
    assert_eq!(status(&env, &["check"]).0, 0);
    let left = fs::read(a.join("postgresql.crt")).unwrap();
    env.ok(&["renew", "alice", "--force"]);
    assert_eq!(fs::read(a.join("postgresql.crt")).unwrap(), left);
    let again = env.run(&["client-install", "alice", "--to", p(&a), "--forget"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        common::one_line(&again.stderr).contains("no install of alice is recorded"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    // A revoked role is not installed again.
    env.ok(&["revoke", "bob"]);
    let bob_now = fs::read(b.join("postgresql.crt")).unwrap();
    env.ok(&["renew", "--force"]);
    assert_eq!(fs::read(b.join("postgresql.crt")).unwrap(), bob_now);
}

/// The install's user controls its directory: a FIFO planted where the certificate was is
/// reported at once (never opened, so check cannot hang), a link is replaced rather than
/// followed by the next renewal, and a directory that changed hands is refused.
#[test]
fn a_users_changes_to_an_install_are_reported_and_never_followed() {
    if !is_root() {
        eprintln!("skipped: needs root (pgca's threat model is root among other users)");
        return;
    }
    let env = Env::init(&[]);
    env.ok(&["issue-client", "alice"]);
    let home = env.tmp.path().join("home");
    fs::create_dir(&home).unwrap();
    let (uid, gid) = ids("nobody");
    std::os::unix::fs::chown(&home, Some(uid), Some(gid)).unwrap();
    // The temp dir itself is root's 0700: let nobody reach its home.
    fs::set_permissions(
        env.tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o711),
    )
    .unwrap();
    let dir = home.join(".postgresql");
    env.ok(&[
        "client-install",
        "alice",
        "--to",
        p(&dir),
        "--owner",
        "nobody",
    ]);
    let crt = dir.join("postgresql.crt");

    as_user(
        "nobody",
        &format!(
            "rm -f {0} && mkfifo {0}",
            pgca::pg::client::shell_quote(p(&crt))
        ),
    );
    let started = Instant::now();
    let (code, out) = status(&env, &["check"]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "check hung on a FIFO"
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cannot be read"), "{out}");

    let secret = env.tmp.path().join("root-secret");
    fs::write(&secret, "root's own").unwrap();
    as_user(
        "nobody",
        &format!(
            "rm -f {0} && ln -s {1} {0}",
            pgca::pg::client::shell_quote(p(&crt)),
            pgca::pg::client::shell_quote(p(&secret))
        ),
    );
    env.ok(&["renew", "alice", "--force"]);
    assert_eq!(fs::read_to_string(&secret).unwrap(), "root's own");
    assert!(!fs::symlink_metadata(&crt).unwrap().file_type().is_symlink());
    assert_eq!(serial_in(&dir), current(&env, "alice"));
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::metadata(&crt).unwrap().uid(), uid);

    // The directory changed hands: renewal refuses to write there, and says so.
    let (puid, pgid) = ids("postgres");
    std::os::unix::fs::chown(&dir, Some(puid), Some(pgid)).unwrap();
    let before = fs::read(&crt).unwrap();
    let out = env.run(&["renew", "alice", "--force"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot install client alice"), "{err}");
    assert_eq!(fs::read(&crt).unwrap(), before);
}

/// The `clients/ROLE.pk8` that `conninfo --driver jdbc` wrote (its URL names it) follows a
/// renewal: the new key in PKCS#8 DER, as openssl converts it, never the old one.
#[test]
fn renew_writes_the_jdbc_pk8_again() {
    let env = Env::init(&[]);
    env.ok(&["issue-client", "alice"]);
    env.ok(&[
        "conninfo",
        "alice",
        "--host",
        "localhost",
        "--driver",
        "jdbc",
    ]);
    let pk8 = env.path("clients/alice.pk8");
    let der_of_key = || {
        let out = std::process::Command::new("openssl")
            .args(["pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in"])
            .arg(env.path("clients/alice.key"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let before = fs::read(&pk8).unwrap();
    assert_eq!(before, der_of_key());
    let out = env.ok(&["renew", "alice", "--force"]);
    assert!(out.contains(&format!("installed to {}", p(&pk8))), "{out}");
    let after = fs::read(&pk8).unwrap();
    assert_ne!(after, before, "a new key was made");
    assert_eq!(after, der_of_key());
    assert_eq!(common::mode(&pk8), 0o600);
    assert_eq!(status(&env, &["verify"]).0, 0);

    // A new key by issue-client --force leaves the copy behind: the doctor says so.
    env.ok(&["issue-client", "alice", "--force"]);
    let (code, out) = status(&env, &["verify"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("alice.pk8") && out.contains("--driver jdbc again"),
        "{out}"
    );
    env.ok(&[
        "conninfo",
        "alice",
        "--host",
        "localhost",
        "--driver",
        "jdbc",
    ]);
    assert_eq!(status(&env, &["verify"]).0, 0);
    fs::set_permissions(&pk8, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let (code, out) = status(&env, &["verify"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("alice.pk8") && out.contains("open to other users"),
        "{out}"
    );
}
