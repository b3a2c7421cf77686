//! Encrypted CA keys: the format openssl reads and writes, every passphrase source for every
//! command that signs, wrong and missing passphrases, passwd, and the terminal prompt.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{Env, Table, command_line, expect, openssl, p, pgca_bin, snapshot, snapshot_diff};

/// Runs pgca with exactly the passphrase environment given (nothing inherited), stdin closed.
fn run_with(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(pgca_bin());
    c.arg("--dir")
        .arg(&env.ca)
        .args(args)
        .env_remove("PGCA_PASSPHRASE")
        .env_remove("PGCA_PASSPHRASE_FILE")
        .stdin(Stdio::null());
    for (k, v) in vars {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn ca_keys_are_pkcs8_pbes2_that_openssl_decrypts() {
    let env = Env::init(&[]);
    for side in ["server", "client"] {
        let key = env.path(&format!("{side}-ca.key"));
        let text = fs::read_to_string(&key).unwrap();
        assert!(
            text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{text}"
        );
        assert!(!text.contains("Proc-Type"));
        let pass = format!("file:{}", env.passphrase_file().display());
        let (ok, from_key) = openssl(&["pkey", "-in", p(&key), "-passin", &pass, "-pubout"]);
        assert!(ok, "{from_key}");
        let (_, from_cert) = openssl(&[
            "x509",
            "-in",
            p(&env.path(&format!("{side}-ca.crt"))),
            "-pubkey",
            "-noout",
        ]);
        assert_eq!(from_key, from_cert, "{side}: the decrypted key is the CA's");
        let (ok, _) = openssl(&["pkey", "-in", p(&key), "-passin", "pass:wrong", "-noout"]);
        assert!(!ok, "openssl must refuse a wrong passphrase");
        let (_, asn1) = openssl(&["asn1parse", "-in", p(&key)]);
        assert!(
            asn1.contains(":PBES2") && asn1.contains(":scrypt") && asn1.contains(":aes-256-cbc"),
            "{asn1}"
        );
    }
}

#[test]
fn a_key_encrypted_by_openssl_pkcs8_is_read() {
    let env = Env::init(&["--no-passphrase"]);
    let key = env.path("client-ca.key");
    let enc = env.tmp.path().join("enc.key");
    let pass = format!("file:{}", env.passphrase_file().display());
    let (ok, out) = openssl(&[
        "pkcs8",
        "-topk8",
        "-v2",
        "aes-256-cbc",
        "-in",
        p(&key),
        "-out",
        p(&enc),
        "-passout",
        &pass,
    ]);
    assert!(ok, "{out}");
    fs::copy(&enc, &key).unwrap();
    env.ok(&["issue-client", "alice"]);
    let out = run_with(
        &env,
        &["issue-client", "bob"],
        &[("PGCA_PASSPHRASE", "wrong")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong passphrase for"));
}

#[test]
fn every_signing_command_works_with_every_source_and_fails_cleanly_without() {
    let file = |env: &Env| env.passphrase_file().display().to_string();
    let commands: [&[&str]; 5] = [
        &["issue-client", "bob"],
        &["issue-server", "db"],
        &["renew", "--force", "alice"],
        &["revoke", "alice"],
        &["crl"],
    ];
    let mut table = Table::new("passphrase sources");
    for cmd in commands {
        for source in [
            "--passphrase-file",
            "PGCA_PASSPHRASE_FILE",
            "PGCA_PASSPHRASE",
        ] {
            table.row(
                format!("{} with {source}", cmd.join(" ")),
                command_line("pgca", cmd),
                |r| {
                    let env = Env::init(&[]);
                    env.ok(&["issue-client", "alice"]);
                    let f = file(&env);
                    let out = match source {
                        "--passphrase-file" => {
                            let mut args = vec!["--passphrase-file", f.as_str()];
                            args.extend_from_slice(cmd);
                            r.ran(command_line("pgca", &args));
                            run_with(&env, &args, &[])
                        }
                        "PGCA_PASSPHRASE_FILE" => {
                            r.ran(command_line(&format!("PGCA_PASSPHRASE_FILE={f} pgca"), cmd));
                            run_with(&env, cmd, &[("PGCA_PASSPHRASE_FILE", &f)])
                        }
                        _ => {
                            r.ran(command_line("PGCA_PASSPHRASE=... pgca", cmd));
                            run_with(&env, cmd, &[("PGCA_PASSPHRASE", "test passphrase")])
                        }
                    };
                    expect(
                        out.status.success(),
                        "success",
                        format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr)),
                    )
                },
            );
        }
        // Wrong, and none at all (standard input is not a terminal): one line, exit 1, nothing
        // written. Both run on one directory, made by the first row that needs it.
        let mut shared = None;
        for (what, vars, message) in [
            (
                "a wrong passphrase",
                &[("PGCA_PASSPHRASE", "wrong")][..],
                "wrong passphrase for",
            ),
            (
                "no passphrase",
                &[],
                "is encrypted: give --passphrase-file FILE or set PGCA_PASSPHRASE_FILE",
            ),
        ] {
            table.row(
                format!("{} with {what}", cmd.join(" ")),
                command_line("pgca", cmd),
                |_| {
                    let (env, before) = shared.get_or_insert_with(|| {
                        let env = Env::init(&[]);
                        env.ok(&["issue-client", "alice"]);
                        let before = snapshot(&env.ca);
                        (env, before)
                    });
                    let out = run_with(env, cmd, vars);
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    expect(
                        out.status.code() == Some(1),
                        "exit status 1",
                        format!("{}, stderr {stderr:?}", out.status),
                    )?;
                    let lines: Vec<&str> = stderr.lines().collect();
                    expect(
                        lines.len() == 1 && lines[0].starts_with("pgca: "),
                        "one line on stderr, starting with `pgca: `",
                        format!("stderr {stderr:?}"),
                    )?;
                    expect(
                        lines[0].contains(message),
                        format!("{message:?} in the error line"),
                        format!("{:?}", lines[0]),
                    )?;
                    let after = snapshot(&env.ca);
                    expect(
                        *before == after,
                        "no file changed",
                        format!("files changed:\n{}", snapshot_diff(before, &after)),
                    )
                },
            );
        }
    }
    table.finish();
}

#[test]
fn init_without_a_passphrase_refuses_and_creates_nothing() {
    let env = Env::new();
    let out = run_with(&env, &["init"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(common::one_line(&out.stderr).contains("pgca init encrypts the CA keys"));
    assert!(!env.ca.exists());
    // --no-passphrase: plain keys, and list and check say so.
    assert!(
        run_with(&env, &["init", "--no-passphrase"], &[])
            .status
            .success()
    );
    assert!(
        fs::read_to_string(env.path("client-ca.key"))
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    for cmd in ["list", "check"] {
        let out = String::from_utf8(run_with(&env, &[cmd], &[]).stdout).unwrap();
        assert!(
            out.contains("note: the CA keys are stored unencrypted"),
            "{cmd}: {out}"
        );
    }
}

#[test]
fn passwd_re_encrypts_and_the_old_passphrase_stops_working() {
    let env = Env::init(&[]);
    let new = env.tmp.path().join("new");
    common::write_secret(&new, "a new passphrase\n");
    env.ok(&["passwd", "--new-passphrase-file", new.to_str().unwrap()]);
    let out = env.run(&["issue-client", "bob"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("wrong passphrase"),
        "the old passphrase still works"
    );
    let newf = new.display().to_string();
    assert!(
        run_with(
            &env,
            &["issue-client", "bob"],
            &[("PGCA_PASSPHRASE_FILE", &newf)]
        )
        .status
        .success()
    );
    let (ok, out) = openssl(&[
        "pkey",
        "-in",
        p(&env.path("client-ca.key")),
        "-passin",
        &format!("file:{newf}"),
        "-noout",
    ]);
    assert!(ok, "{out}");
    // Only the server key, back to unencrypted.
    assert!(
        run_with(
            &env,
            &["passwd", "server", "--no-passphrase"],
            &[("PGCA_PASSPHRASE_FILE", &newf)]
        )
        .status
        .success()
    );
    assert!(
        fs::read_to_string(env.path("server-ca.key"))
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert!(
        fs::read_to_string(env.path("client-ca.key"))
            .unwrap()
            .starts_with("-----BEGIN ENCRYPTED")
    );
    assert_eq!(common::mode(&env.path("server-ca.key")), 0o600);
}

#[test]
fn the_prompt_reads_from_the_terminal_without_echo() {
    // `script` runs pgca on a pseudo-terminal, so standard input is a terminal.
    let env = Env::new();
    let cmd = format!("{} --dir {} init", pgca_bin(), env.ca.display());
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("PGCA_PASSPHRASE")
        .env_remove("PGCA_PASSPHRASE_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            let mut stdin = c.stdin.take().unwrap();
            // Typed after the prompt appears: the terminal would otherwise echo it before pgca
            // turns echo off.
            std::thread::sleep(std::time::Duration::from_millis(500));
            stdin.write_all(b"typed secret\n")?;
            std::thread::sleep(std::time::Duration::from_millis(300));
            stdin.write_all(b"typed secret\n")?;
            drop(stdin);
            c.wait_with_output()
        })
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("new passphrase for the CA keys:"), "{text}");
    assert!(
        !text.contains("typed secret"),
        "the passphrase was echoed:\n{text}"
    );
    let (ok, err) = openssl(&[
        "pkey",
        "-in",
        p(&env.path("client-ca.key")),
        "-passin",
        "pass:typed secret",
        "-noout",
    ]);
    assert!(ok, "{err}");
}

#[test]
fn legacy_encrypted_pem_is_refused_with_a_clear_message() {
    let env = Env::init(&["--no-passphrase"]);
    let key = env.path("client-ca.key");
    let legacy = env.tmp.path().join("legacy.key");
    let (ok, out) = openssl(&[
        "pkey",
        "-in",
        p(&key),
        "-out",
        p(&legacy),
        "-aes256",
        "-passout",
        "pass:x",
        "-traditional",
    ]);
    assert!(ok, "{out}");
    fs::copy(&legacy, &key).unwrap();
    let out = run_with(&env, &["issue-client", "bob"], &[("PGCA_PASSPHRASE", "x")]);
    assert_eq!(out.status.code(), Some(1));
    let line = common::one_line(&out.stderr);
    assert!(
        line.contains("client-ca.key") && line.contains("openssl pkcs8 -topk8 -v2 aes-256-cbc"),
        "{line}"
    );
}

#[test]
fn an_encrypted_client_key_stays_encrypted_through_renewal() {
    let env = Env::init(&[]);
    let kp = env.tmp.path().join("alice-pass");
    common::write_secret(&kp, "alice's own\n");
    let kpf = kp.to_str().unwrap();
    env.ok(&[
        "issue-client",
        "alice",
        "--encrypt-key",
        "--key-passphrase-file",
        kpf,
    ]);
    let key = env.path("clients/alice.key");
    assert!(
        fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    );
    let (ok, from_key) = openssl(&[
        "pkey",
        "-in",
        p(&key),
        "-passin",
        &format!("file:{kpf}"),
        "-pubout",
    ]);
    assert!(ok, "{from_key}");
    let (_, from_cert) = openssl(&[
        "x509",
        "-in",
        p(&env.path("clients/alice.crt")),
        "-pubkey",
        "-noout",
    ]);
    assert_eq!(from_key, from_cert);
    // check and verify are content with a key they cannot open; client-install copies it as it is.
    assert_eq!(env.run(&["check"]).status.code(), Some(0));
    assert_eq!(env.run(&["verify"]).status.code(), Some(0));
    let home = env.tmp.path().join("home");
    env.ok(&["client-install", "alice", "--to", home.to_str().unwrap()]);
    assert_eq!(
        fs::read(home.join("postgresql.key")).unwrap(),
        fs::read(&key).unwrap()
    );

    // Renewal never drops the encryption: without the passphrase it is refused, with it the new
    // key is encrypted again.
    let out = env.run(&["renew", "--force", "alice"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("key is encrypted: renew it with --key-passphrase-file")
    );
    env.ok(&["renew", "--force", "alice", "--key-passphrase-file", kpf]);
    let renewed = fs::read_to_string(&key).unwrap();
    assert!(renewed.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert!(
        openssl(&[
            "pkey",
            "-in",
            p(&key),
            "-passin",
            &format!("file:{kpf}"),
            "-noout"
        ])
        .0
    );
}

/// How a passphrase, PIN or password file reaches pgca: `(label, pgca's arguments, the
/// `PGCA_PASSPHRASE_FILE` value)` for a file `F` (and `OUT`, a path that must stay absent).
fn secret_flags(f: &str, out: &str) -> [(&'static str, Vec<String>, Option<String>); 6] {
    let v = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    [
        (
            "--passphrase-file",
            v(&["--passphrase-file", f, "issue-client", "bob"]),
            None,
        ),
        (
            "PGCA_PASSPHRASE_FILE",
            v(&["issue-client", "erin"]),
            Some(f.to_string()),
        ),
        (
            "issue-client --key-passphrase-file",
            v(&[
                "issue-client",
                "carol",
                "--encrypt-key",
                "--key-passphrase-file",
                f,
            ]),
            None,
        ),
        (
            "renew --key-passphrase-file",
            v(&["renew", "--force", "dave", "--key-passphrase-file", f]),
            None,
        ),
        (
            "export --format p12 --key-passphrase-file",
            v(&[
                "export",
                "alice",
                "--format",
                "p12",
                "--out",
                out,
                "--key-passphrase-file",
                f,
            ]),
            None,
        ),
        (
            "passwd --new-passphrase-file",
            v(&["passwd", "--new-passphrase-file", f]),
            None,
        ),
    ]
}

#[test]
fn passphrase_pin_and_password_files_others_could_read_or_plant_are_refused_at_once() {
    common::root_only!();
    let env = Env::init(&[]);
    env.ok(&["issue-client", "alice"]);
    common::write_secret(&env.tmp.path().join("dave.pass"), "test passphrase\n");
    env.ok(&[
        "issue-client",
        "dave",
        "--encrypt-key",
        "--key-passphrase-file",
        p(&env.tmp.path().join("dave.pass")),
    ]);
    // nobody reaches tmp; tmp/shared is root's with the sticky bit, like /tmp, where nobody
    // plants files; tmp/root is root's (0755), for root's own files.
    let tmp = env.tmp.path();
    fs::set_permissions(tmp, fs::Permissions::from_mode(0o755)).unwrap();
    let shared = tmp.join("shared");
    let root = tmp.join("root");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    fs::create_dir(&root).unwrap();
    fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
    let good = root.join("good");
    common::write_secret(&good, "test passphrase\n");
    // Each case plants `name` and returns the file to give, the path the refusal names and a
    // word it says.
    type Plant = Box<dyn Fn(&str) -> (PathBuf, PathBuf, &'static str)>;
    let (shared_, root_, good_) = (shared.clone(), root.clone(), good.clone());
    let loose = move |mode: u32| -> Plant {
        let root = root_.clone();
        Box::new(move |name: &str| {
            let f = root.join(name);
            fs::write(&f, "test passphrase\n").unwrap();
            fs::set_permissions(&f, fs::Permissions::from_mode(mode)).unwrap();
            (f.clone(), f, "open to other users")
        })
    };
    let by_nobody = |script: &'static str, word: &'static str| -> Plant {
        let shared = shared_.clone();
        let good = good_.clone();
        Box::new(move |name: &str| {
            let f = shared.join(name);
            let script = script
                .replace("GOOD", p(&good))
                .replace("F", &format!("'{}'", p(&f)));
            common::as_user("nobody", &script);
            (f.clone(), f, word)
        })
    };
    let (tmp_, shared2) = (tmp.to_path_buf(), shared.clone());
    let cases: Vec<(&str, Plant)> = vec![
        (
            "a file nobody owns",
            by_nobody(
                "umask 077 && printf 'test passphrase\\n' > F",
                "owned by nobody",
            ),
        ),
        ("root's, mode 0644", loose(0o644)),
        ("root's, mode 0640", loose(0o640)),
        ("root's, mode 0620", loose(0o620)),
        (
            "a FIFO nobody made",
            by_nobody("mkfifo -m 600 F", "not a regular file"),
        ),
        (
            "nobody's link to root's 0600 file",
            by_nobody("ln -s GOOD F", "symbolic link owned by nobody"),
        ),
        (
            "root's 0600 file in a directory others can write",
            Box::new(move |name: &str| {
                let d = tmp_.join(format!("open-{name}"));
                fs::create_dir(&d).unwrap();
                fs::set_permissions(&d, fs::Permissions::from_mode(0o777)).unwrap();
                let f = d.join("pass");
                common::write_secret(&f, "test passphrase\n");
                (f, d, "writable by other users")
            }),
        ),
        (
            "root's 0600 file in nobody's directory",
            Box::new(move |name: &str| {
                let d = shared2.join(format!("dir-{name}"));
                common::as_user("nobody", &format!("mkdir -m 755 '{}'", p(&d)));
                let f = d.join("pass");
                common::write_secret(&f, "test passphrase\n");
                (f, d, "owned by nobody")
            }),
        ),
    ];
    let out = tmp.join("alice.p12");
    let mut table = Table::new("passphrase files others could read or plant");
    let mut n = 0;
    for (case, plant) in &cases {
        for flag in 0..secret_flags("", "").len() {
            n += 1;
            let label = format!("{}: {case}", secret_flags("", "")[flag].0);
            table.row(label, "", |r| {
                let (file, named, word) = plant(&format!("f{n}"));
                let (_, args, var) = secret_flags(p(&file), p(&out))
                    .into_iter()
                    .nth(flag)
                    .unwrap();
                let vars = var.unwrap_or_else(|| p(&good).to_string());
                r.ran(command_line(
                    &format!("PGCA_PASSPHRASE_FILE={vars} timeout 10 pgca"),
                    &args,
                ));
                let before = snapshot(&env.ca);
                let o = Command::new("timeout")
                    .arg("10")
                    .arg(pgca_bin())
                    .arg("--dir")
                    .arg(&env.ca)
                    .args(&args)
                    .env_remove("PGCA_PASSPHRASE")
                    .env("PGCA_PASSPHRASE_FILE", &vars)
                    .stdin(Stdio::null())
                    .output()
                    .unwrap();
                let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
                expect(
                    o.status.code() == Some(1),
                    "exit status 1 at once",
                    format!("{} (124: timed out): {stderr}", o.status),
                )?;
                let lines: Vec<&str> = stderr.lines().collect();
                expect(
                    lines.len() == 1
                        && lines[0].starts_with(&format!("pgca: refusing {}: ", p(&named)))
                        && lines[0].contains(word),
                    format!("one line: pgca: refusing {}: …{word}…", p(&named)),
                    stderr.clone(),
                )?;
                expect(
                    snapshot_diff(&before, &snapshot(&env.ca)).is_empty() && !out.exists(),
                    "nothing written",
                    snapshot_diff(&before, &snapshot(&env.ca)),
                )
            });
        }
    }
    // A good file (root's, 0600, in root's directories) works for every flag.
    for (label, args, var) in secret_flags(p(&good), p(&out)) {
        table.row(format!("{label}: root's 0600 file"), "", |r| {
            r.ran(command_line("pgca", &args));
            let o = Command::new(pgca_bin())
                .arg("--dir")
                .arg(&env.ca)
                .args(&args)
                .env_remove("PGCA_PASSPHRASE")
                .env("PGCA_PASSPHRASE_FILE", var.as_deref().unwrap_or(p(&good)))
                .stdin(Stdio::null())
                .output()
                .unwrap();
            expect(
                o.status.success(),
                "success",
                format!("{}: {}", o.status, String::from_utf8_lossy(&o.stderr)),
            )
        });
    }
    table.finish();
}
