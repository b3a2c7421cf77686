//! pgca run as root among hostile local users: each test runs an attacker's steps as an
//! unprivileged user (`runuser -u nobody --`, `runuser -u postgres --`) against a root pgca, and
//! asserts the outcome: refused with one line naming the path, or done safely; the victim's
//! files, modes and owners byte-identical afterwards. Every write path of pgca has a row here.
//!
//! Needs root (pgca's threat model is root among other users); as another user the tests say
//! so and pass without running.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Env, Table, command_line, expect, one_line, p};

/// Everything below `root` with type, mode, owner and content, not following links.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(p) = todo.pop() {
        let md = fs::symlink_metadata(&p).unwrap();
        let what = if md.file_type().is_symlink() {
            format!("link {}", fs::read_link(&p).unwrap().display())
        } else if md.is_dir() {
            for e in fs::read_dir(&p).unwrap().flatten() {
                todo.push(e.path());
            }
            "dir".to_string()
        } else {
            format!("file {:?}", fs::read(&p).unwrap())
        };
        out.insert(
            p,
            format!("{what} {:o} {}:{}", md.mode() & 0o7777, md.uid(), md.gid()),
        );
    }
    out
}

/// A new directory of nobody's (made by root where nobody could not).
fn give_to_nobody(dir: &Path, mode: u32) {
    fs::create_dir(dir).unwrap();
    let (uid, gid) = common::ids("nobody");
    std::os::unix::fs::chown(dir, Some(uid), Some(gid)).unwrap();
    fs::set_permissions(dir, fs::Permissions::from_mode(mode)).unwrap();
}

/// A victim directory of root's, with a file and a subdirectory, that must never change.
fn victim(env: &Env) -> PathBuf {
    let v = env.tmp.path().join("victim");
    fs::create_dir_all(v.join("sub")).unwrap();
    fs::write(v.join("secret"), b"root's own").unwrap();
    fs::write(v.join("sub/also"), b"keep").unwrap();
    fs::set_permissions(&v, fs::Permissions::from_mode(0o755)).unwrap();
    v
}

/// A fake data directory of the postgres user (PG_VERSION, mode 0700), reachable by it.
fn data_dir(env: &Env) -> PathBuf {
    fs::set_permissions(env.tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let data = env.tmp.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("PG_VERSION"), "15\n").unwrap();
    let (uid, gid) = common::ids("postgres");
    for path in [data.join("PG_VERSION"), data.clone()] {
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
    }
    fs::set_permissions(&data, fs::Permissions::from_mode(0o700)).unwrap();
    data
}

/// Exit status 1 and one line that names `path` and contains `word`.
fn refused(out: &Output, path: &Path, word: &str) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let line = one_line(&out.stderr);
    assert!(
        line.contains(p(path)),
        "{line} does not name {}",
        path.display()
    );
    assert!(line.contains(word), "{line} does not say {word:?}");
    line
}

#[test]
fn a_symlinked_pgca_tls_never_makes_root_touch_its_target() {
    common::root_only!();
    let env = Env::init(&["--server-host", "localhost"]);
    let data = data_dir(&env);
    env.ok(&["deploy-server", "localhost", "--data-dir", p(&data)]);
    let target = victim(&env);
    let before = snapshot(&target);
    let tls = data.join("pgca-tls");
    common::as_user(
        "postgres",
        &format!(
            "rm -rf '{}' && ln -s '{}' '{}'",
            p(&tls),
            p(&target),
            p(&tls)
        ),
    );
    let out = env.run(&["deploy-server", "localhost", "--data-dir", p(&data)]);
    refused(&out, &tls, "symbolic link");
    // The cron job: renewal deploys again, fails for that data directory, touches nothing.
    let out = env.run(&["renew", "--force"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("refusing {}", p(&tls))),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(before, snapshot(&target));

    // The data directory itself swapped for a link to root's directory: refused too.
    common::as_user("postgres", &format!("rm -f '{}'", p(&tls)));
    let moved = env.tmp.path().join("data-moved");
    fs::rename(&data, &moved).unwrap();
    std::os::unix::fs::symlink(&target, &data).unwrap();
    std::os::unix::fs::lchown(&data, Some(common::ids("postgres").0), None).unwrap();
    let out = env.run(&["deploy-server", "localhost", "--data-dir", p(&data)]);
    refused(&out, &data, "symbolic link owned by postgres");
    assert_eq!(before, snapshot(&target));
}

#[test]
fn concurrent_deployments_always_leave_a_complete_current_pair() {
    common::root_only!();
    let env = Env::init(&["--server-host", "localhost"]);
    let data = data_dir(&env);
    for round in 0..5 {
        let children: Vec<_> = (0..3)
            .map(|_| {
                Command::new(common::pgca_bin())
                    .arg("--dir")
                    .arg(&env.ca)
                    .args(["deploy-server", "localhost", "--data-dir", p(&data)])
                    .env("PGCA_PASSPHRASE_FILE", env.passphrase_file())
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success(), "round {round}");
        }
        let current = data.join("pgca-tls/current");
        let cert = pgca::CertInfo::from_file(&current.join("server.crt"))
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let key_path = current.join("server.key");
        let key =
            pgca::PrivateKey::from_pem(&fs::read_to_string(&key_path).unwrap(), &key_path).unwrap();
        assert_eq!(key.public_key_der(), cert.spki_der, "round {round}");
        assert!(current.join("client-ca.crt").exists(), "round {round}");
    }
}

#[test]
fn a_revoked_name_stays_revoked_and_its_key_is_never_certified_again() {
    common::root_only!();
    let env = Env::init(&[]);
    env.ok(&["issue-client", "bob", "alice"]);
    env.ok(&["revoke", "bob", "--reason", "keyCompromise"]);
    let bob = env.ca.join("clients/bob.crt");
    let revoked_serial = pgca::CertInfo::from_file(&bob).unwrap().serial;
    // The cron job renews everything due: not bob.
    let out = env.ok(&["renew", "--within", "400d", "--reuse-key"]);
    assert!(!out.contains("client bob"), "{out}");
    assert!(out.contains("renewed client alice"), "{out}");
    assert_eq!(
        pgca::CertInfo::from_file(&bob).unwrap().serial,
        revoked_serial
    );
    // Asked for by name: one line saying it is revoked.
    let line = env.fails(&["renew", "bob", "--force", "--reuse-key"]);
    assert!(line.contains("revoked"), "{line}");
    // Nothing installs or deploys it.
    let to = env.tmp.path().join("bob-home");
    let line = env.fails(&["client-install", "bob", "--to", p(&to)]);
    assert!(line.contains("is revoked"), "{line}");
    assert!(!to.join("postgresql.key").exists());
    let mut table = Table::new("nothing hands out a revoked name's paths");
    for args in [
        &["env", "bob", "--host", "localhost"][..],
        &[
            "service",
            "add",
            "db",
            "--role",
            "bob",
            "--host",
            "localhost",
            "--file",
            p(&to),
        ][..],
    ] {
        table.row(args[0], command_line("pgca", args), |_| {
            let line = env.fails(args);
            expect(
                line.contains("is revoked"),
                "\"is revoked\" in the error line",
                line,
            )
        });
    }
    table.finish();

    // alice's key, certified again by renewal; then her old certificate (same key) is revoked
    // by serial: that key is never certified again, though her current certificate is valid.
    // Both CAs, bob, and alice's first and renewed certificates.
    let listed = env
        .ok(&["list", "--json"])
        .lines()
        .filter(|l| l.contains("\"serial\""))
        .count();
    assert_eq!(listed, 5);
    let ledger = pgca::CaDir::open(&env.ca).unwrap().inventory().unwrap();
    let first_alice = ledger
        .issued()
        .iter()
        .find(|i| i.name == "alice")
        .unwrap()
        .serial
        .to_string();
    env.ok(&["revoke", &first_alice, "--reason", "keyCompromise"]);
    let line = env.fails(&["renew", "alice", "--force", "--reuse-key"]);
    assert!(
        line.contains("revoked certificate") && line.contains(&first_alice),
        "{line}"
    );
    // A new key is fine; and an admin may issue bob again explicitly.
    env.ok(&["renew", "alice", "--force"]);
    env.ok(&["issue-client", "bob", "--force"]);
    env.ok(&["client-install", "bob", "--to", p(&to)]);
}

#[test]
fn revoking_a_name_revokes_every_unexpired_certificate_of_it() {
    common::root_only!();
    let env = Env::init(&[]);
    env.ok(&["issue-client", "carol"]);
    env.ok(&["issue-client", "carol", "--force"]);
    env.ok(&["issue-client", "dave"]);
    env.ok(&["issue-client", "dave", "--force"]);
    let out = env.ok(&["revoke", "carol"]);
    assert_eq!(out.matches("revoked client carol").count(), 2, "{out}");
    let out = env.ok(&["revoke", "dave", "--only-current"]);
    assert_eq!(out.matches("revoked client dave").count(), 1, "{out}");
    assert!(out.contains("still valid: client dave serial"), "{out}");
}

#[test]
fn a_planted_certificate_is_a_finding_never_a_template() {
    common::root_only!();
    let env = Env::init(&["--server-host", "db.example.com"]);
    let live = env
        .ca
        .join("servers/db.example.com.live/db.example.com.crt");
    let key = env
        .ca
        .join("servers/db.example.com.live/db.example.com.key");
    let tmp = env.tmp.path();
    // A foreign certificate for www.bank.example on the same key, planted over the live file.
    let (ok, out) = common::openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        p(&key),
        "-subj",
        "/CN=www.bank.example",
        "-addext",
        "subjectAltName=DNS:www.bank.example",
        "-days",
        "30",
        "-out",
        p(&tmp.join("foreign.crt")),
    ]);
    assert!(ok, "{out}");
    let issued = pgca::CertInfo::from_file(&live).unwrap().serial.to_string();
    fs::remove_file(&live).unwrap();
    fs::copy(tmp.join("foreign.crt"), &live).unwrap();
    let out = env.run(&["renew", "--force"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not the certificate the inventory records"),
        "{err}"
    );
    // Nothing pgca signed names the bank. The live file is init's archived pair (the planted
    // file replaced it), so there may be no certificate of pgca's left to look at: renew must
    // have signed nothing at all, neither archived nor recorded.
    let foreign = fs::read(tmp.join("foreign.crt")).unwrap();
    let mut archived = Vec::new();
    for e in fs::read_dir(env.ca.join("servers/archive"))
        .unwrap()
        .flatten()
    {
        let crt = e.path().join("db.example.com.crt");
        if fs::read(&crt).unwrap() != foreign {
            let info = pgca::CertInfo::from_file(&crt).unwrap();
            assert!(!info.sans.iter().any(|s| s.contains("bank")), "{info:?}");
        }
        archived.push(e.file_name().to_string_lossy().into_owned());
    }
    assert_eq!(
        archived,
        [issued.as_str()],
        "the archive holds init's pair only"
    );
    let ledger = pgca::CaDir::open(&env.ca).unwrap().inventory().unwrap();
    let recorded: Vec<String> = ledger
        .issued()
        .iter()
        .filter(|i| i.kind == pgca::CertKind::Server)
        .map(|i| i.serial.to_string())
        .collect();
    assert_eq!(
        recorded,
        [issued],
        "renew recorded no new server certificate"
    );
    let out = env.run(&["verify"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("CRITICAL"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = env.run(&["check"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let data = data_dir(&env);
    let out = env.run(&["deploy-server", "db.example.com", "--data-dir", p(&data)]);
    let named = env.ca.join("servers/db.example.com.crt");
    refused(&out, &named, "is not the certificate the inventory records");
}

#[test]
fn client_install_never_hands_a_key_to_whoever_owns_the_directory() {
    common::root_only!();
    let env = Env::init(&[]);
    env.ok(&["issue-client", "alice"]);
    fs::set_permissions(env.tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let trap = env.tmp.path().join("trap");
    give_to_nobody(&trap, 0o700);
    let before = snapshot(&trap);
    let out = env.run(&["client-install", "alice", "--to", p(&trap)]);
    refused(&out, &trap, "owned by nobody");
    assert_eq!(before, snapshot(&trap));
    // Named as the owner, nobody gets the files: that is the admin's decision.
    let out = env.ok(&[
        "client-install",
        "alice",
        "--to",
        p(&trap),
        "--owner",
        "nobody",
    ]);
    assert!(out.contains("installed"), "{out}");
    for key in ["postgresql.key", "postgresql.pk8"] {
        let md = fs::metadata(trap.join(key)).unwrap();
        assert_eq!(
            (md.uid(), md.mode() & 0o777),
            (common::ids("nobody").0, 0o600),
            "{key}"
        );
    }
    // A link nobody plants at a file's name is replaced, never followed: the CA certificate's
    // name, and the DER key's (a key written through it would land in the victim's file).
    let target = victim(&env);
    let before = snapshot(&target);
    common::as_user(
        "nobody",
        &format!(
            "rm -f '{0}/root.crt' '{0}/postgresql.pk8' && ln -s '{1}/secret' '{0}/root.crt' \
             && ln -s '{1}/secret' '{0}/postgresql.pk8'",
            p(&trap),
            p(&target)
        ),
    );
    env.ok(&[
        "client-install",
        "alice",
        "--to",
        p(&trap),
        "--owner",
        "nobody",
        "--force",
    ]);
    for name in ["root.crt", "postgresql.pk8"] {
        assert!(
            !fs::symlink_metadata(trap.join(name)).unwrap().is_symlink(),
            "{name}"
        );
    }
    let md = fs::symlink_metadata(trap.join("postgresql.pk8")).unwrap();
    assert_eq!(
        (md.uid(), md.mode() & 0o777),
        (common::ids("nobody").0, 0o600)
    );
    assert_eq!(before, snapshot(&target));
}

#[test]
fn init_refuses_a_directory_or_link_another_user_planted() {
    common::root_only!();
    let env = Env::new();
    fs::set_permissions(env.tmp.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    let planted = env.tmp.path().join("planted");
    common::as_user("nobody", &format!("mkdir -m 755 '{}'", p(&planted)));
    let run = |dir: &Path| {
        Command::new(common::pgca_bin())
            .arg("--dir")
            .arg(dir)
            .arg("init")
            .env("PGCA_PASSPHRASE_FILE", env.passphrase_file())
            .output()
            .unwrap()
    };
    refused(&run(&planted), &planted, "owned by nobody");
    assert!(fs::read_dir(&planted).unwrap().next().is_none());
    let target = victim(&env);
    let before = snapshot(&target);
    let link = env.tmp.path().join("link");
    common::as_user("nobody", &format!("ln -s '{}' '{}'", p(&target), p(&link)));
    refused(&run(&link), &link, "symbolic link owned by nobody");
    assert_eq!(before, snapshot(&target));
}

#[test]
fn metrics_and_service_files_are_never_written_through_another_users_link() {
    common::root_only!();
    let env = Env::init(&[]);
    env.ok(&["issue-client", "alice"]);
    let target = victim(&env);
    let before = snapshot(&target);
    // A shared, sticky directory (like /tmp): nobody plants links at the names root writes.
    let shared = env.tmp.path().join("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(env.tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    let prom = shared.join("pgca.prom");
    let svc = shared.join("pg_service.conf");
    for l in [&prom, &svc] {
        common::as_user(
            "nobody",
            &format!("ln -s '{}/secret' '{}'", p(&target), p(l)),
        );
    }
    env.ok(&["check", "--prometheus", p(&prom)]);
    assert!(!fs::symlink_metadata(&prom).unwrap().is_symlink());
    // probe --prometheus goes through the same writer: the link nobody planted is replaced, not
    // followed (the probed port is closed: UNKNOWN, and the textfile says so).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let probe_prom = shared.join("probe.prom");
    common::as_user(
        "nobody",
        &format!("ln -s '{}/secret' '{}'", p(&target), p(&probe_prom)),
    );
    let out = env.run(&["probe", &closed, "--prometheus", p(&probe_prom)]);
    assert_eq!(out.status.code(), Some(3));
    assert!(!fs::symlink_metadata(&probe_prom).unwrap().is_symlink());
    assert!(
        fs::read_to_string(&probe_prom)
            .unwrap()
            .contains(&format!("pgca_probe_status{{target=\"{closed}\"}} 3"))
    );
    let out = env.run(&[
        "service",
        "add",
        "db",
        "--role",
        "alice",
        "--host",
        "localhost",
        "--file",
        p(&svc),
    ]);
    refused(&out, &svc, "symbolic link owned by nobody");
    // A directory nobody owns is refused for both.
    let theirs = env.tmp.path().join("theirs");
    give_to_nobody(&theirs, 0o755);
    for args in [
        vec!["check", "--prometheus"],
        vec!["probe", &closed, "--prometheus"],
    ] {
        let mut args = args;
        let m = theirs.join("m.prom");
        args.push(p(&m));
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(3));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("refusing {}", p(&theirs))),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let out = env.run(&[
        "service",
        "add",
        "db",
        "--role",
        "alice",
        "--host",
        "localhost",
        "--file",
        p(&theirs.join("pg_service.conf")),
    ]);
    refused(&out, &theirs, "owned by nobody");
    assert!(fs::read_dir(&theirs).unwrap().next().is_none());
    // Written for nobody, on purpose: the file is theirs.
    env.ok(&[
        "service",
        "add",
        "db",
        "--role",
        "alice",
        "--host",
        "localhost",
        "--file",
        p(&theirs.join("pg_service.conf")),
        "--file-owner",
        "nobody",
    ]);
    // An unknown owner is refused before anything is issued.
    let line = env.fails(&[
        "issue-client",
        "bob",
        "--service",
        "db2",
        "--host",
        "localhost",
        "--file",
        p(&theirs.join("pg_service.conf")),
        "--file-owner",
        "no-such-user",
    ]);
    assert!(line.contains("unknown user"), "{line}");
    assert!(!env.ca.join("clients/bob.crt").exists());
    let md = fs::metadata(theirs.join("pg_service.conf")).unwrap();
    assert_eq!(
        (md.uid(), md.mode() & 0o777),
        (common::ids("nobody").0, 0o600)
    );
    assert_eq!(before, snapshot(&target));
}

#[test]
fn a_loose_ca_key_or_ca_directory_is_never_used_to_sign() {
    common::root_only!();
    let env = Env::init(&[]);
    let key = env.ca.join("client-ca.key");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o640)).unwrap();
    let line = env.fails(&["issue-client", "alice"]);
    assert!(
        line.contains(p(&key)) && line.contains("chmod 600"),
        "{line}"
    );
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(&env.ca, fs::Permissions::from_mode(0o770)).unwrap();
    let line = env.fails(&["issue-client", "alice"]);
    assert!(
        line.contains(p(&env.ca)) && line.contains("writable by other users"),
        "{line}"
    );
    fs::set_permissions(&env.ca, fs::Permissions::from_mode(0o700)).unwrap();
    env.ok(&["issue-client", "alice"]);
}

#[test]
fn a_held_lock_is_a_bounded_wait() {
    common::root_only!();
    let env = Env::init(&[]);
    let mut holder = Command::new("flock")
        .arg("--no-fork")
        .arg(env.ca.join(".lock"))
        .args(["sleep", "30"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let start = std::time::Instant::now();
    let out = env.run(&["check"]);
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(".lock is held by another pgca process"),
        "{stdout}"
    );
    assert!(took < std::time::Duration::from_secs(9), "{took:?}");
    let line = env.fails(&["--wait", "1s", "issue-client", "alice"]);
    assert!(line.contains("gave up after 1s"), "{line}");
    // --no-fork: the process killed is the one holding the lock, so it is free at once.
    holder.kill().unwrap();
    holder.wait().unwrap();
    let start = std::time::Instant::now();
    env.ok(&["--wait", "5s", "issue-client", "alice"]);
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn bad_paths_and_a_wide_umask_are_handled() {
    common::root_only!();
    let env = Env::init(&["--server-host", "localhost"]);
    let data = env.tmp.path().join("da\nta");
    let line = env.fails(&["deploy-server", "localhost", "--data-dir", p(&data)]);
    assert!(line.contains("control characters"), "{line}");
    // umask 000: missing parents are 0755, the CA directory 0700, nothing 0777.
    let deep = env.tmp.path().join("a/b/ca");
    let out = Command::new("sh")
        .args(["-c", "umask 000 && exec \"$0\" \"$@\""])
        .arg(common::pgca_bin())
        .args(["--dir", p(&deep), "init", "--no-passphrase"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(common::mode(&env.tmp.path().join("a")), 0o755);
    assert_eq!(common::mode(&env.tmp.path().join("a/b")), 0o755);
    assert_eq!(common::mode(&deep), 0o700);
}

#[test]
fn export_never_writes_through_another_users_directory_or_link() {
    common::root_only!();
    let env = Env::init(&["--server-host", "db.example.com"]);
    env.ok(&["issue-client", "alice"]);
    fs::set_permissions(env.tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let target = victim(&env);
    let before = snapshot(&target);
    // A directory nobody owns: refused for every format, nothing written in it, even where
    // nobody planted a link at the output's name.
    let theirs = env.tmp.path().join("theirs");
    give_to_nobody(&theirs, 0o755);
    common::as_user(
        "nobody",
        &format!("ln -s '{}/secret' '{}/alice.pk8'", p(&target), p(&theirs)),
    );
    let inside = snapshot(&theirs);
    for (format, name) in [
        ("pk8", "alice.pk8"),
        ("pem", "alice"),
        ("k8s", "alice.yaml"),
        ("cnpg", "db.yaml"),
    ] {
        let who = if format == "cnpg" {
            "db.example.com"
        } else {
            "alice"
        };
        let out = env.run(&[
            "export",
            who,
            "--format",
            format,
            "--out",
            p(&theirs.join(name)),
            "--force",
        ]);
        refused(&out, &theirs, "owned by nobody");
    }
    assert_eq!(inside, snapshot(&theirs));
    // A shared sticky directory (like /tmp): a link nobody plants at the output's name is
    // refused without --force and replaced, never followed, with it; the key is root's, 0600.
    let shared = env.tmp.path().join("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    let planted = shared.join("alice.yaml");
    common::as_user(
        "nobody",
        &format!("ln -s '{}/secret' '{}'", p(&target), p(&planted)),
    );
    let out = env.run(&["export", "alice", "--format", "k8s", "--out", p(&planted)]);
    refused(&out, &planted, "already exists");
    env.ok(&[
        "export",
        "alice",
        "--format",
        "k8s",
        "--out",
        p(&planted),
        "--force",
        "-q",
    ]);
    let md = fs::symlink_metadata(&planted).unwrap();
    assert!(!md.is_symlink());
    assert_eq!((md.uid(), md.mode() & 0o777), (0, 0o600));
    // A pem directory nobody planted as a link to root's own directory: refused.
    let pem = shared.join("alice-pem");
    common::as_user("nobody", &format!("ln -s '{}' '{}'", p(&target), p(&pem)));
    let out = env.run(&[
        "export",
        "alice",
        "--format",
        "pem",
        "--out",
        p(&pem),
        "--force",
    ]);
    assert_eq!(out.status.code(), Some(1));
    one_line(&out.stderr);
    assert_eq!(before, snapshot(&target));
}
