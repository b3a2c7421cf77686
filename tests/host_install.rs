//! `deploy-server --cert --key --ca-file` and `client-install --cert --key --root`: a host
//! without the CA directory installs its own key and the certificate and CA certificates the CA
//! host sent back.
//!
//! - `bad_inputs_are_one_line_exit_1_and_write_nothing`: every refused input (mismatched key,
//!   expired certificate, the other use's certificate, a non-CA or the wrong CA file, a key
//!   others can read or another user owns, an encrypted key, a missing file, a link nobody
//!   planted) is one line on stderr, exit status 1, and the destination unchanged.
//! - The attacks of tests/hostile.rs on the destinations, through the file mode (root only).
//! - A real PostgreSQL 15: the CA directory made and then removed from the picture, the host
//!   deploys and installs from copied files alone, psql logs in with verify-full and cert auth.

mod common;
mod pg;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Env, Table, command_line, expect, expect_eq, one_line, p};

/// Runs `pgca ARGS` on "the host": no `--dir`, no `PGCA_DIR`, and a `HOME` without a CA
/// directory, so that nothing could come from one.
fn host_run(home: &Path, args: &[&str]) -> Output {
    Command::new(common::pgca_bin())
        .args(args)
        .env_remove("PGCA_DIR")
        .env_remove("PGCA_PASSPHRASE")
        .env_remove("PGCA_PASSPHRASE_FILE")
        .env_remove("XDG_DATA_HOME")
        .env("HOME", home)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn host_ok(home: &Path, args: &[&str]) -> String {
    let out = host_run(home, args);
    assert!(
        out.status.success(),
        "pgca {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The CA side: a CA with the server certificate `localhost` and the client `alice`.
fn ca_side() -> Env {
    let env = Env::init(&["--server-host", "localhost", "--server-host", "127.0.0.1"]);
    env.ok(&["issue-client", "alice"]);
    env
}

/// What the CA host sends back, and the host's own keys, copied into `dir` as the host keeps
/// them: db.crt, db.key (0600), client-ca.crt, server-ca.crt, alice.crt, alice.key (0600).
fn copy_to_host(env: &Env, dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    for (from, to) in [
        ("servers/localhost.crt", "db.crt"),
        ("servers/localhost.key", "db.key"),
        ("client-ca.crt", "client-ca.crt"),
        ("server-ca.crt", "server-ca.crt"),
        ("clients/alice.crt", "alice.crt"),
        ("clients/alice.key", "alice.key"),
    ] {
        let bytes = fs::read(env.path(from)).unwrap();
        fs::write(dir.join(to), bytes).unwrap();
        let mode = if to.ends_with(".key") { 0o600 } else { 0o644 };
        fs::set_permissions(dir.join(to), fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// A fake data directory of the postgres user (PG_VERSION, mode 0700), reachable by it.
fn data_dir(base: &Path) -> PathBuf {
    fs::set_permissions(base, fs::Permissions::from_mode(0o755)).unwrap();
    let data = base.join("data");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("PG_VERSION"), "15\n").unwrap();
    let (uid, gid) = common::ids("postgres");
    for path in [data.join("PG_VERSION"), data.clone()] {
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
    }
    fs::set_permissions(&data, fs::Permissions::from_mode(0o700)).unwrap();
    data
}

/// A server certificate `old.example` that expired 30 days ago (issued 60 days ago for 30),
/// and its key.
fn expired_server(env: &Env) -> (PathBuf, PathBuf) {
    let ca = pgca::CaDir::open(&env.ca)
        .unwrap()
        .with_passphrase(pgca::Passphrase::new("test passphrase"));
    let mut opts = pgca::IssueOptions::default();
    opts.now = Some(pgca::timefmt::now() - time::Duration::days(60));
    opts.validity = "30d".parse().unwrap();
    ca.issue_server(&["old.example".parse().unwrap()], &opts)
        .unwrap();
    (
        env.path("servers/old.example.crt"),
        env.path("servers/old.example.key"),
    )
}

/// A self-signed client certificate without a CN (clientAuth, not a CA), and its key.
fn client_without_cn(dir: &Path) -> (PathBuf, PathBuf) {
    let (crt, key) = (dir.join("nocn.crt"), dir.join("nocn.key"));
    let (ok, out) = common::openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        p(&key),
        "-out",
        p(&crt),
        "-subj",
        "/O=pgca test",
        "-addext",
        "extendedKeyUsage=clientAuth",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-days",
        "30",
    ]);
    assert!(ok, "{out}");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    (crt, key)
}

/// A row's input: which files, after what was done to them.
struct Bad {
    label: &'static str,
    /// deploy-server (true) or client-install.
    deploy: bool,
    /// cert, key, CA file: names in the row's host directory.
    files: [&'static str; 3],
    /// --crl, a name in the row's host directory.
    crl: Option<&'static str>,
    /// Done to the row's host directory before the run.
    setup: fn(&Path),
    /// In the one line on stderr.
    says: &'static str,
}

fn nothing(_: &Path) {}

#[test]
fn bad_inputs_are_one_line_exit_1_and_write_nothing() {
    common::root_only!();
    let env = ca_side();
    let (old_crt, old_key) = expired_server(&env);
    // bob's key is encrypted with his own passphrase.
    let bob_pass = env.tmp.path().join("bob-pass");
    common::write_secret(&bob_pass, "bob's own passphrase\n");
    env.ok(&["issue-client", "bob", "--key-passphrase-file", p(&bob_pass)]);
    let base = env.tmp.path().join("host");
    copy_to_host(&env, &base);
    for (from, to) in [
        (old_crt, "old.crt"),
        (old_key, "old.key"),
        (env.path("clients/bob.crt"), "bob.crt"),
        (env.path("clients/bob.key"), "bob.key"),
    ] {
        fs::copy(from, base.join(to)).unwrap();
    }
    client_without_cn(&base);
    // A client CA CRL whose nextUpdate passed 9 days ago, then both CRLs current.
    let ca = pgca::CaDir::open(&env.ca)
        .unwrap()
        .with_passphrase(pgca::Passphrase::new("test passphrase"));
    ca.issue_crls(
        Some("1d".parse().unwrap()),
        Some(pgca::timefmt::now() - time::Duration::days(10)),
    )
    .unwrap();
    fs::copy(env.path("client-ca.crl"), base.join("stale-client-ca.crl")).unwrap();
    env.ok(&["crl"]);
    for crl in ["client-ca.crl", "server-ca.crl"] {
        fs::copy(env.path(crl), base.join(crl)).unwrap();
    }
    // A CA rollover bundle: the client CA and another CA, which has no CRL.
    let (ok, out) = common::openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        p(&env.tmp.path().join("other-ca.key")),
        "-out",
        p(&env.tmp.path().join("other-ca.crt")),
        "-subj",
        "/CN=another client CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-days",
        "30",
    ]);
    assert!(ok, "{out}");
    let mut bundle = fs::read(env.path("client-ca.crt")).unwrap();
    bundle.extend(fs::read(env.tmp.path().join("other-ca.crt")).unwrap());
    fs::write(base.join("bundle.crt"), bundle).unwrap();
    let home = env.tmp.path().join("home");
    fs::create_dir(&home).unwrap();
    let data = data_dir(env.tmp.path());
    let data_before = common::snapshot(&data);

    let rows = [
        Bad {
            label: "deploy-server: a key that is not the certificate's",
            deploy: true,
            files: ["db.crt", "alice.key", "client-ca.crt"],
            crl: None,
            setup: nothing,
            says: "does not match certificate",
        },
        Bad {
            label: "deploy-server: an expired certificate",
            deploy: true,
            files: ["old.crt", "old.key", "client-ca.crt"],
            crl: None,
            setup: nothing,
            says: "it expired",
        },
        Bad {
            label: "deploy-server: a client certificate",
            deploy: true,
            files: ["alice.crt", "alice.key", "client-ca.crt"],
            crl: None,
            setup: nothing,
            says: "not a server certificate: its extended key usage is clientAuth",
        },
        Bad {
            label: "deploy-server: a CA certificate as the server's",
            deploy: true,
            files: ["server-ca.crt", "db.key", "client-ca.crt"],
            crl: None,
            setup: nothing,
            says: "it is a CA certificate, not a server certificate",
        },
        Bad {
            label: "deploy-server: a --ca-file that is no CA",
            deploy: true,
            files: ["db.crt", "db.key", "alice.crt"],
            crl: None,
            setup: nothing,
            says: "not a CA certificate",
        },
        Bad {
            label: "deploy-server: the server CA as --ca-file",
            deploy: true,
            files: ["db.crt", "db.key", "server-ca.crt"],
            crl: None,
            setup: nothing,
            says: "holds the CA that signed",
        },
        Bad {
            label: "deploy-server: a key of mode 0644",
            deploy: true,
            files: ["db.crt", "db.key", "client-ca.crt"],
            crl: None,
            setup: |d| {
                fs::set_permissions(d.join("db.key"), fs::Permissions::from_mode(0o644)).unwrap()
            },
            says: "a key of mode 0644, open to other users",
        },
        Bad {
            label: "deploy-server: a missing key",
            deploy: true,
            files: ["db.crt", "gone.key", "client-ca.crt"],
            crl: None,
            setup: nothing,
            says: "cannot read key",
        },
        Bad {
            label: "deploy-server: a key that is a directory",
            deploy: true,
            files: ["db.crt", "dir.key", "client-ca.crt"],
            crl: None,
            setup: |d| fs::create_dir(d.join("dir.key")).unwrap(),
            says: "not a regular file",
        },
        Bad {
            label: "deploy-server: a certificate file that is not PEM",
            deploy: true,
            files: ["junk.crt", "db.key", "client-ca.crt"],
            crl: None,
            setup: |d| fs::write(d.join("junk.crt"), "junk\n").unwrap(),
            says: "cannot use certificate",
        },
        Bad {
            label: "deploy-server: a key owned by nobody",
            deploy: true,
            files: ["db.crt", "db.key", "client-ca.crt"],
            crl: None,
            setup: |d| {
                std::os::unix::fs::chown(d.join("db.key"), Some(common::ids("nobody").0), None)
                    .unwrap()
            },
            says: "a key owned by nobody",
        },
        Bad {
            label: "deploy-server: a key with a second hard link",
            deploy: true,
            files: ["db.crt", "db.key", "client-ca.crt"],
            crl: None,
            setup: |d| fs::hard_link(d.join("db.key"), d.join("db-again.key")).unwrap(),
            says: "a key with 2 hard links",
        },
        Bad {
            label: "deploy-server: a key link nobody planted in a shared directory",
            deploy: true,
            files: ["db.crt", "db.key", "client-ca.crt"],
            crl: None,
            setup: |d| {
                fs::rename(d.join("db.key"), d.join("real.key")).unwrap();
                fs::set_permissions(d, fs::Permissions::from_mode(0o1777)).unwrap();
                common::as_user("nobody", &format!("ln -s real.key '{}/db.key'", p(d)));
            },
            says: "db.key: a symbolic link owned by nobody",
        },
        Bad {
            label: "client-install: a key link nobody planted in a shared directory",
            deploy: false,
            files: ["alice.crt", "alice.key", "server-ca.crt"],
            crl: None,
            setup: |d| {
                fs::rename(d.join("alice.key"), d.join("real.key")).unwrap();
                fs::set_permissions(d, fs::Permissions::from_mode(0o1777)).unwrap();
                common::as_user("nobody", &format!("ln -s real.key '{}/alice.key'", p(d)));
            },
            says: "alice.key: a symbolic link owned by nobody",
        },
        Bad {
            label: "deploy-server: the server CA's CRL as --crl",
            deploy: true,
            files: ["db.crt", "db.key", "client-ca.crt"],
            crl: Some("server-ca.crl"),
            setup: nothing,
            says: "is not signed by a CA of",
        },
        Bad {
            label: "deploy-server: a CRL past its nextUpdate",
            deploy: true,
            files: ["db.crt", "db.key", "client-ca.crt"],
            crl: Some("stale-client-ca.crl"),
            setup: nothing,
            says: "(nextUpdate): PostgreSQL would refuse every certificate of",
        },
        Bad {
            label: "deploy-server: a CA bundle with a CRL for one CA only",
            deploy: true,
            files: ["db.crt", "db.key", "bundle.crt"],
            crl: Some("client-ca.crl"),
            setup: nothing,
            says: "holds no CRL of the CA CN=another client CA",
        },
        Bad {
            label: "deploy-server: a certificate as --crl",
            deploy: true,
            files: ["db.crt", "db.key", "client-ca.crt"],
            crl: Some("client-ca.crt"),
            setup: nothing,
            says: "no X509 CRL block",
        },
        Bad {
            label: "client-install: the client CA's CRL as --crl",
            deploy: false,
            files: ["alice.crt", "alice.key", "server-ca.crt"],
            crl: Some("client-ca.crl"),
            setup: nothing,
            says: "is not signed by a CA of",
        },
        Bad {
            label: "client-install: a server certificate",
            deploy: false,
            files: ["db.crt", "db.key", "server-ca.crt"],
            crl: None,
            setup: nothing,
            says: "not a client certificate: its extended key usage is serverAuth",
        },
        Bad {
            label: "client-install: a --root that is no CA",
            deploy: false,
            files: ["alice.crt", "alice.key", "db.crt"],
            crl: None,
            setup: nothing,
            says: "not a CA certificate",
        },
        Bad {
            label: "client-install: the client CA as --root",
            deploy: false,
            files: ["alice.crt", "alice.key", "client-ca.crt"],
            crl: None,
            setup: nothing,
            says: "holds the CA that signed",
        },
        Bad {
            label: "client-install: a key that is not the certificate's",
            deploy: false,
            files: ["alice.crt", "db.key", "server-ca.crt"],
            crl: None,
            setup: nothing,
            says: "does not match certificate",
        },
        Bad {
            label: "client-install: a key of mode 0644",
            deploy: false,
            files: ["alice.crt", "alice.key", "server-ca.crt"],
            crl: None,
            setup: |d| {
                fs::set_permissions(d.join("alice.key"), fs::Permissions::from_mode(0o644)).unwrap()
            },
            says: "a key of mode 0644, open to other users",
        },
        Bad {
            label: "client-install: a missing certificate",
            deploy: false,
            files: ["gone.crt", "alice.key", "server-ca.crt"],
            crl: None,
            setup: nothing,
            says: "cannot read certificate",
        },
        Bad {
            label: "client-install: an encrypted key",
            deploy: false,
            files: ["bob.crt", "bob.key", "server-ca.crt"],
            crl: None,
            setup: nothing,
            says: "the key is encrypted",
        },
        Bad {
            label: "client-install: a certificate without a CN",
            deploy: false,
            files: ["nocn.crt", "nocn.key", "server-ca.crt"],
            crl: None,
            setup: nothing,
            says: "it has no CN",
        },
    ];
    let mut table = Table::new("bad host inputs");
    for (i, row) in rows.iter().enumerate() {
        let dir = env.tmp.path().join(format!("row{i}"));
        let to = dir.join("pgdir");
        let files: Vec<PathBuf> = row.files.iter().map(|f| dir.join(f)).collect();
        let mut args = if row.deploy {
            vec!["deploy-server", "--data-dir", p(&data), "--cert"]
        } else {
            vec!["client-install", "--to", p(&to), "--cert"]
        };
        args.extend([
            p(&files[0]),
            "--key",
            p(&files[1]),
            if row.deploy { "--ca-file" } else { "--root" },
            p(&files[2]),
        ]);
        let crl = row.crl.map(|c| dir.join(c));
        if let Some(c) = &crl {
            args.extend(["--crl", p(c)]);
        }
        table.row(row.label, command_line("pgca", &args), |_| {
            fs::create_dir(&dir).unwrap();
            for e in fs::read_dir(&base).unwrap().flatten() {
                fs::copy(e.path(), dir.join(e.file_name())).unwrap();
            }
            (row.setup)(&dir);
            let out = host_run(&home, &args);
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            expect_eq("exit status", Some(1), out.status.code())?;
            expect(
                stderr.lines().count() == 1 && stderr.starts_with("pgca: "),
                "one line on stderr",
                stderr.clone(),
            )?;
            expect(stderr.contains(row.says), row.says, stderr.clone())?;
            expect(
                out.stdout.is_empty(),
                "nothing on stdout",
                String::from_utf8_lossy(&out.stdout),
            )?;
            expect(
                !to.exists(),
                "no client directory made",
                format!("{} exists", to.display()),
            )?;
            expect(
                common::snapshot(&data) == data_before,
                "the data directory unchanged",
                "it changed",
            )
        });
    }
    // A usage error: NAME and --cert, --cert alone (exit 2, as clap's).
    for (label, args) in [
        (
            "deploy-server: NAME and --cert",
            vec![
                "deploy-server",
                "localhost",
                "--data-dir",
                p(&data),
                "--cert",
                "a",
                "--key",
                "b",
                "--ca-file",
                "c",
            ],
        ),
        (
            "client-install: --cert without --root",
            vec!["client-install", "--cert", "a", "--key", "b"],
        ),
        (
            "deploy-server: --probe needs the CA directory",
            vec![
                "deploy-server",
                "--data-dir",
                p(&data),
                "--cert",
                "a",
                "--key",
                "b",
                "--ca-file",
                "c",
                "--probe",
                "db",
            ],
        ),
    ] {
        table.row(label, command_line("pgca", &args), |_| {
            let out = host_run(&home, &args);
            expect_eq("exit status", Some(2), out.status.code())
        });
    }
    table.finish();
    assert_eq!(common::snapshot(&data), data_before);
}

#[test]
fn the_file_mode_writes_what_the_ca_directory_mode_writes() {
    common::root_only!();
    let env = ca_side();
    let host = env.tmp.path().join("host");
    copy_to_host(&env, &host);
    let home = env.tmp.path().join("home");
    fs::create_dir(&home).unwrap();
    let data = data_dir(env.tmp.path());
    let out = host_ok(
        &home,
        &[
            "deploy-server",
            "--cert",
            p(&host.join("db.crt")),
            "--key",
            p(&host.join("db.key")),
            "--ca-file",
            p(&host.join("client-ca.crt")),
            "--data-dir",
            p(&data),
            "--json",
        ],
    );
    assert!(out.contains("\"include_file\""), "{out}");
    let current = data.join("pgca-tls/current");
    let postgres = common::ids("postgres").0;
    for (name, mode, from) in [
        ("server.crt", 0o644, "db.crt"),
        ("server.key", 0o600, "db.key"),
        ("client-ca.crt", 0o644, "client-ca.crt"),
    ] {
        let md = fs::metadata(current.join(name)).unwrap();
        assert_eq!((md.uid(), md.mode() & 0o777), (postgres, mode), "{name}");
        assert_eq!(
            fs::read(current.join(name)).unwrap(),
            fs::read(host.join(from)).unwrap(),
            "{name}"
        );
    }
    let conf = fs::read_to_string(data.join("pgca_ssl.conf")).unwrap();
    assert!(conf.contains("ssl_ca_file = '"), "{conf}");
    assert!(!conf.contains("ssl_crl_file"), "{conf}");
    assert!(
        conf.starts_with("# Written by `pgca deploy-server --cert`"),
        "{conf}"
    );
    // Deployed again (the host's renewal): the new pair is current, the old one kept.
    host_ok(
        &home,
        &[
            "deploy-server",
            "--cert",
            p(&host.join("db.crt")),
            "--key",
            p(&host.join("db.key")),
            "--ca-file",
            p(&host.join("client-ca.crt")),
            "--data-dir",
            p(&data),
            "-q",
        ],
    );
    assert_eq!(fs::read_dir(data.join("pgca-tls")).unwrap().count(), 3);

    // The client files, for the invoking user (root) under $HOME/.postgresql.
    let out = host_ok(
        &home,
        &[
            "client-install",
            "--cert",
            p(&host.join("alice.crt")),
            "--key",
            p(&host.join("alice.key")),
            "--root",
            p(&host.join("server-ca.crt")),
        ],
    );
    assert!(out.contains("installed role \"alice\""), "{out}");
    let pgdir = home.join(".postgresql");
    assert_eq!(common::mode(&pgdir), 0o700);
    for (name, mode) in [
        ("postgresql.crt", 0o644),
        ("postgresql.key", 0o600),
        ("postgresql.pk8", 0o600),
        ("root.crt", 0o644),
    ] {
        assert_eq!(common::mode(&pgdir.join(name)), mode, "{name}");
    }
    // openssl agrees: the installed key is the certificate's, and the pk8 is its DER.
    let (ok, out) = common::openssl(&[
        "pkey",
        "-in",
        p(&pgdir.join("postgresql.pk8")),
        "-inform",
        "DER",
        "-pubout",
    ]);
    assert!(ok, "{out}");
    let (ok, cert_pub) = common::openssl(&[
        "x509",
        "-in",
        p(&pgdir.join("postgresql.crt")),
        "-noout",
        "-pubkey",
    ]);
    assert!(ok, "{cert_pub}");
    assert_eq!(out, cert_pub);
    // Existing files: --force, as for the CA directory mode.
    let out = host_run(
        &home,
        &[
            "client-install",
            "--cert",
            p(&host.join("alice.crt")),
            "--key",
            p(&host.join("alice.key")),
            "--root",
            p(&host.join("server-ca.crt")),
        ],
    );
    let line = one_line(&out.stderr);
    assert!(line.contains("already exists: use --force"), "{line}");
}

#[test]
fn input_files_are_never_read_through_another_users_link_or_directory() {
    common::root_only!();
    let env = ca_side();
    let home = env.tmp.path().join("home");
    fs::create_dir(&home).unwrap();
    fs::set_permissions(env.tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    // root's own key and certificate, which nobody wants handed to them.
    let root_files = env.tmp.path().join("root-files");
    copy_to_host(&env, &root_files);
    fs::set_permissions(&root_files, fs::Permissions::from_mode(0o711)).unwrap();
    // A shared sticky directory (like /tmp) where nobody plants links to root's files.
    let shared = env.tmp.path().join("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    for name in ["alice.crt", "alice.key", "server-ca.crt"] {
        common::as_user(
            "nobody",
            &format!(
                "ln -s '{}' '{}'",
                p(&root_files.join(name)),
                p(&shared.join(name))
            ),
        );
    }
    let theirs = env.tmp.path().join("theirs");
    fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(
        &theirs,
        Some(common::ids("nobody").0),
        Some(common::ids("nobody").1),
    )
    .unwrap();
    fs::set_permissions(&theirs, fs::Permissions::from_mode(0o755)).unwrap();
    let to = theirs.join("pgdir");
    let run = |dir: &Path| {
        host_run(
            &home,
            &[
                "client-install",
                "--cert",
                p(&root_files.join("alice.crt")),
                "--key",
                p(&dir.join("alice.key")),
                "--root",
                p(&root_files.join("server-ca.crt")),
                "--to",
                p(&to),
                "--owner",
                "nobody",
            ],
        )
    };
    let out = run(&shared);
    assert_eq!(out.status.code(), Some(1));
    let line = one_line(&out.stderr);
    assert!(
        line.contains(&format!(
            "refusing {}: a symbolic link owned by nobody",
            p(&shared.join("alice.key"))
        )),
        "{line}"
    );
    assert!(!to.exists());
    // A directory nobody owns holding the key: nobody could have swapped it.
    fs::copy(root_files.join("alice.key"), theirs.join("alice.key")).unwrap();
    let out = run(&theirs);
    let line = one_line(&out.stderr);
    assert!(
        line.contains(&format!("refusing {}: owned by nobody", p(&theirs))),
        "{line}"
    );
    assert!(!to.exists());
    // root's own link is followed, and the files go to nobody as asked.
    fs::remove_file(shared.join("alice.key")).unwrap();
    std::os::unix::fs::symlink(root_files.join("alice.key"), shared.join("alice.key")).unwrap();
    let out = run(&shared);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = fs::metadata(to.join("postgresql.key")).unwrap();
    assert_eq!(
        (md.uid(), md.mode() & 0o777),
        (common::ids("nobody").0, 0o600)
    );
}

#[test]
fn the_destinations_withstand_the_attacks_of_the_ca_directory_mode() {
    common::root_only!();
    let env = ca_side();
    let host = env.tmp.path().join("host");
    copy_to_host(&env, &host);
    let home = env.tmp.path().join("home");
    fs::create_dir(&home).unwrap();
    let data = data_dir(env.tmp.path());
    // A victim directory of root's that must never change.
    let victim = env.tmp.path().join("victim");
    fs::create_dir_all(victim.join("sub")).unwrap();
    fs::write(victim.join("secret"), b"root's own").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o755)).unwrap();
    let before = common::snapshot(&victim);
    let deploy = |data: &Path| {
        host_run(
            &home,
            &[
                "deploy-server",
                "--cert",
                p(&host.join("db.crt")),
                "--key",
                p(&host.join("db.key")),
                "--ca-file",
                p(&host.join("client-ca.crt")),
                "--data-dir",
                p(data),
            ],
        )
    };
    assert!(deploy(&data).status.success());
    // The database user swaps pgca-tls for a link to root's directory: refused, untouched.
    let tls = data.join("pgca-tls");
    common::as_user(
        "postgres",
        &format!("rm -rf '{0}' && ln -s '{1}' '{0}'", p(&tls), p(&victim)),
    );
    let out = deploy(&data);
    assert_eq!(out.status.code(), Some(1));
    let line = one_line(&out.stderr);
    assert!(
        line.contains(&format!("refusing {}: a symbolic link", p(&tls))),
        "{line}"
    );
    assert_eq!(before, common::snapshot(&victim));

    // client-install into a directory nobody owns: refused; for nobody, as asked, with links
    // nobody plants at the file names replaced, never followed.
    let trap = env.tmp.path().join("trap");
    fs::create_dir(&trap).unwrap();
    std::os::unix::fs::chown(
        &trap,
        Some(common::ids("nobody").0),
        Some(common::ids("nobody").1),
    )
    .unwrap();
    fs::set_permissions(&trap, fs::Permissions::from_mode(0o700)).unwrap();
    let (crt, key, root) = (
        host.join("alice.crt"),
        host.join("alice.key"),
        host.join("server-ca.crt"),
    );
    let install = |extra: &[&str]| {
        let mut args = vec![
            "client-install",
            "--cert",
            p(&crt),
            "--key",
            p(&key),
            "--root",
            p(&root),
            "--to",
            p(&trap),
        ];
        args.extend_from_slice(extra);
        host_run(&home, &args)
    };
    let out = install(&[]);
    assert_eq!(out.status.code(), Some(1));
    let line = one_line(&out.stderr);
    assert!(
        line.contains(&format!("refusing {}: owned by nobody", p(&trap))),
        "{line}"
    );
    assert_eq!(fs::read_dir(&trap).unwrap().count(), 0);
    common::as_user(
        "nobody",
        &format!(
            "ln -s '{1}/secret' '{0}/root.crt' && ln -s '{1}/secret' '{0}/postgresql.key'",
            p(&trap),
            p(&victim)
        ),
    );
    let out = install(&["--owner", "nobody"]);
    assert_eq!(out.status.code(), Some(1), "existing names need --force");
    let out = install(&["--owner", "nobody", "--force"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["root.crt", "postgresql.key"] {
        let md = fs::symlink_metadata(trap.join(name)).unwrap();
        assert!(!md.file_type().is_symlink(), "{name}");
        assert_eq!(md.uid(), common::ids("nobody").0, "{name}");
    }
    assert_eq!(common::mode(&trap.join("postgresql.key")), 0o600);
    assert_eq!(before, common::snapshot(&victim));
}

#[test]
fn a_host_without_the_ca_directory_serves_verify_full_clients_of_postgresql() {
    common::root_only!();
    // The CA host: a CA, a server certificate for localhost, client certificates for alice and
    // bob, and bob revoked: both CRLs go to the host too.
    let env = ca_side();
    env.ok(&["issue-client", "bob"]);
    env.ok(&["revoke", "bob", "--reason", "keyCompromise"]);
    env.ok(&["crl"]); // the server CA's too
    let host = tempfile::tempdir().unwrap();
    copy_to_host(&env, host.path());
    for name in [
        "client-ca.crl",
        "server-ca.crl",
        "clients/bob.crt",
        "clients/bob.key",
    ] {
        let to = host.path().join(Path::new(name).file_name().unwrap());
        fs::copy(env.path(name), &to).unwrap();
    }
    // The CA directory is gone from the picture: nothing below can read it.
    let ca_elsewhere = env.tmp.path().join("ca-elsewhere");
    fs::rename(&env.ca, &ca_elsewhere).unwrap();
    let home = tempfile::tempdir().unwrap();
    let f = |n: &str| host.path().join(n).to_str().unwrap().to_string();

    let mut cluster = pg::Cluster::new();
    let data = cluster.data.to_str().unwrap().to_string();
    let deployed = host_ok(
        home.path(),
        &[
            "deploy-server",
            "--cert",
            &f("db.crt"),
            "--key",
            &f("db.key"),
            "--ca-file",
            &f("client-ca.crt"),
            "--crl",
            &f("client-ca.crl"),
            "--data-dir",
            &data,
        ],
    );
    let conf = fs::read_to_string(cluster.data.join("pgca_ssl.conf")).unwrap();
    assert!(conf.contains("ssl_crl_file = '"), "{conf}");
    cluster.include_deployed(&deployed);
    cluster.write_hba("local all all trust\nhostssl all all 127.0.0.1/32 cert\n");
    cluster.start();
    assert_eq!(cluster.sql("SHOW ssl").trim(), "on");
    cluster.sql("CREATE ROLE alice LOGIN");

    host_ok(
        home.path(),
        &[
            "client-install",
            "--cert",
            &f("alice.crt"),
            "--key",
            &f("alice.key"),
            "--root",
            &f("server-ca.crt"),
            "--crl",
            &f("server-ca.crl"),
        ],
    );
    // libpq reads ~/.postgresql/root.crl and checks the server's certificate against it.
    assert!(home.path().join(".postgresql/root.crl").exists());
    let (ok, out, err) = cluster.psql_env(
        "host=localhost user=alice dbname=postgres sslmode=verify-full",
        "SELECT current_user || ' ' || version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        home.path(),
        &[],
    );
    assert!(ok, "{err}\n{}", cluster.log_text());
    assert_eq!(out, "alice TLSv1.3");
    // The served certificate is the file the host was given.
    let served = cluster.served_serial();
    let given = pgca::CertInfo::from_file(&host.path().join("db.crt"))
        .unwrap()
        .serial
        .to_string();
    assert_eq!(served, given);
    // Cert auth holds: alice's certificate does not log in as postgres.
    let (ok, _, err) = cluster.psql_env(
        "host=localhost user=postgres dbname=postgres sslmode=verify-full",
        "SELECT 1",
        home.path(),
        &[],
    );
    assert!(!ok);
    assert!(
        err.contains("certificate authentication failed for user \"postgres\""),
        "{err}"
    );
    // bob's certificate, installed on his host, is refused by the server: it holds the CRL.
    cluster.sql("CREATE ROLE bob LOGIN");
    let bob_home = tempfile::tempdir().unwrap();
    host_ok(
        bob_home.path(),
        &[
            "client-install",
            "--cert",
            &f("bob.crt"),
            "--key",
            &f("bob.key"),
            "--root",
            &f("server-ca.crt"),
        ],
    );
    let (ok, _, err) = cluster.psql_env(
        "host=localhost user=bob dbname=postgres sslmode=verify-full",
        "SELECT 1",
        bob_home.path(),
        &[],
    );
    assert!(!ok);
    assert!(err.contains("certificate revoked"), "{err}");
}
