//! Names on the command line: the role and host names pgca refuses (one line, exit 1, nothing
//! written) through every command that issues for a name, the unusual role names
//! `--allow-unusual-role` lets through, and how every line of output shows a name holding an
//! invisible or bidirectional character: escaped, never raw (JSON keeps it exact).

mod common;

use std::path::PathBuf;

use common::{Env, Table, command_line, expect, openssl, p, snapshot, snapshot_diff};

/// Whether text output would show `c` as an escape: a control character (other than the line
/// ends of the output itself) or one of the invisible and bidirectional format characters.
fn raw_invisible(s: &str) -> Option<char> {
    s.chars()
        .find(|&c| c != '\n' && pgca::model::text::needs_escape(c))
}

/// A client request for `role`, made with the library, which checks no role name: what a
/// foreign host could send to `pgca sign`.
fn client_csr(env: &Env, role: &str) -> PathBuf {
    let key = pgca::PrivateKey::generate(pgca::KeyType::EcdsaP256).unwrap();
    let pem = pgca::x509::csr::make_request(pgca::CertKind::Client, &[role.into()], &key).unwrap();
    let path = env.tmp.path().join("client.csr");
    std::fs::write(&path, pem).unwrap();
    path
}

/// A server request whose CN is `host`, made by openssl (the library checks host names).
fn server_csr(env: &Env, host: &str) -> PathBuf {
    let path = env.tmp.path().join("server.csr");
    let (ok, o) = openssl(&[
        "req",
        "-new",
        "-newkey",
        "ed25519",
        "-nodes",
        "-keyout",
        p(&env.tmp.path().join("server.key")),
        "-out",
        p(&path),
        "-subj",
        &format!("/CN={host}"),
    ]);
    assert!(ok, "{o}");
    path
}

/// How a row reaches the name: which command gets it.
#[derive(Clone, Copy, Debug)]
enum Via {
    IssueClient,
    IssueClientAllowing,
    SignClient,
    SignClientAllowing,
    RequestClient,
    IssueServer,
    SignServer,
    InitServerHost,
}

/// The command line a row runs, after its setup (a CA directory, a request file).
fn setup(env: &Env, via: Via, name: &str) -> Vec<String> {
    let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    if !matches!(via, Via::InitServerHost | Via::RequestClient) {
        env.ok(&["init", "--no-passphrase"]);
    }
    let out = env.tmp.path().join("req");
    match via {
        Via::IssueClient => s(&["issue-client", "--", name]),
        Via::IssueClientAllowing => s(&["issue-client", "--allow-unusual-role", "--", name]),
        Via::SignClient | Via::SignClientAllowing => {
            let csr = client_csr(env, name);
            let mut v = s(&["sign", p(&csr), "--client"]);
            if matches!(via, Via::SignClientAllowing) {
                v.push("--allow-unusual-role".into());
            }
            v
        }
        Via::RequestClient => s(&["request", "--client", "--out", p(&out), "--", name]),
        Via::IssueServer => s(&["issue-server", "--", name]),
        Via::SignServer => {
            let csr = server_csr(env, name);
            s(&["sign", p(&csr), "--server"])
        }
        Via::InitServerHost => s(&["init", "--no-passphrase", "--server-host", name]),
    }
}

/// Every refused name, through every command that issues for it: exit 1, one line on stderr
/// naming the name escaped and the reason, nothing written.
#[test]
fn refused_names_are_one_line_naming_them_and_nothing_is_written() {
    use Via::*;
    let unusual = "if the role really has this name, pass --allow-unusual-role";
    let mut rows: Vec<(Via, &str, String)> = Vec::new();
    for (name, message) in [
        (
            "-x",
            r#"unusual role name "-x": it starts with '-'"#.to_string(),
        ),
        (
            "post\u{200b}gres",
            r#"unusual role name "post\u{200b}gres": it holds an invisible character"#.into(),
        ),
        (
            "zw\u{200d}j",
            r#""zw\u{200d}j": it holds an invisible"#.into(),
        ),
        (
            "\u{feff}bom",
            r#""\u{feff}bom": it holds an invisible"#.into(),
        ),
        (
            "a=b",
            r#""a=b": it holds '=', a quote or a backslash"#.into(),
        ),
        ("o'brien", r#""o'brien": it holds '=', a quote"#.into()),
        (
            r"back\slash",
            r#""back\slash": it holds '=', a quote or a backslash"#.into(),
        ),
        (
            "nb\u{a0}sp",
            "\"nb\u{a0}sp\": it holds whitespace other than a plain space".into(),
        ),
    ] {
        for via in [IssueClient, SignClient, RequestClient] {
            rows.push((via, name, message.clone()));
        }
        rows.push((IssueClient, name, unusual.into()));
    }
    for (name, message) in [
        (
            "a\u{202e}b",
            r#"invalid role name "a\u{202e}b": a bidirectional control character"#,
        ),
        (
            "\u{2066}iso\u{2069}",
            r#""\u{2066}iso\u{2069}": a bidirectional"#,
        ),
        (
            "a\u{2028}b",
            r#""a\u{2028}b": a line or paragraph separator"#,
        ),
        (" alice", r#"" alice": a leading or trailing space"#),
        ("alice ", r#""alice ": a leading or trailing space"#),
        ("esc\u{1b}[2J", r#""esc\x1b[2J": control characters"#),
    ] {
        for via in [
            IssueClient,
            IssueClientAllowing,
            SignClient,
            SignClientAllowing,
            RequestClient,
        ] {
            rows.push((via, name, message.into()));
        }
    }
    for (name, message) in [
        (
            "0.0.0.0",
            r#"invalid host name "0.0.0.0": the unspecified address"#,
        ),
        ("::", r#"invalid host name "::": the unspecified address"#),
        (
            "::ffff:0.0.0.0",
            r#""::ffff:0.0.0.0": the unspecified address"#,
        ),
        (
            "255.255.255.255",
            r#"invalid host name "255.255.255.255": the broadcast address"#,
        ),
        (
            "*.co.uk",
            r#"invalid host name "*.co.uk": a wildcard directly under a public suffix"#,
        ),
        (
            "*.com.au",
            r#""*.com.au": a wildcard directly under a public suffix"#,
        ),
        (
            "*.github.io",
            r#""*.github.io": a wildcard directly under a public suffix"#,
        ),
        (
            "*.com",
            r#""*.com": a wildcard needs at least two labels after it"#,
        ),
    ] {
        for via in [IssueServer, SignServer, InitServerHost] {
            rows.push((via, name, message.into()));
        }
    }

    let mut table = Table::new("refused names");
    for (via, name, message) in rows {
        let label = format!("{via:?} {}: {message}", name.escape_debug());
        table.row(label, format!("{via:?} {}", name.escape_debug()), |r| {
            let env = Env::new();
            let args = setup(&env, via, name);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            r.ran(command_line(
                &format!("pgca --dir {}", env.ca.display()),
                &args,
            ));
            let before = snapshot(env.tmp.path());
            let out = env.run(&args);
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
                lines[0].contains(message.as_str()),
                format!("{message:?} in the error line"),
                format!("{:?}", lines[0]),
            )?;
            expect(
                raw_invisible(lines[0]).is_none(),
                "no raw control or invisible character in the error line",
                format!("{:?}", lines[0]),
            )?;
            let after = snapshot(env.tmp.path());
            expect(
                before == after,
                "no file changed",
                format!("files changed:\n{}", snapshot_diff(&before, &after)),
            )
        });
    }
    table.finish();
}

/// A role issued with `--allow-unusual-role` (a zero-width space, a joiner, a leading `-`)
/// prints escaped in every text line that names it, and exactly in JSON; a foreign certificate
/// whose CN holds U+202E prints escaped in `inspect`.
#[test]
fn unusual_names_print_escaped_in_text_and_exact_in_json() {
    let env = Env::new();
    env.ok(&["init", "--no-passphrase"]);
    let zwsp = "post\u{200b}gres";
    let zwnj = "zw\u{200c}nj";
    let out = env.tmp.path().join("req");

    // (label, args, what stdout must contain, whether stdout is JSON)
    let rows: Vec<(&str, Vec<String>, String, bool)> = vec![
        (
            "issue-client",
            vec![
                "issue-client".into(),
                "--allow-unusual-role".into(),
                zwsp.into(),
            ],
            format!(
                "issued client certificate for role \"post\\u{{200b}}gres\": {}/clients/post\\u{{200b}}gres.crt",
                env.ca.display()
            ),
            false,
        ),
        (
            "issue-client --json",
            vec![
                "issue-client".into(),
                "--allow-unusual-role".into(),
                "--json".into(),
                "--".into(),
                "-dash\u{200d}".into(),
            ],
            "\"name\": \"-dash\u{200d}\"".into(),
            true,
        ),
        (
            "request",
            vec![
                "request".into(),
                "--client".into(),
                "--allow-unusual-role".into(),
                "--out".into(),
                p(&out).into(),
                zwnj.into(),
            ],
            "a certificate request for zw\\u{200c}nj".into(),
            false,
        ),
        (
            "sign",
            vec![
                "sign".into(),
                p(&out.join(format!("{zwnj}.csr"))).into(),
                "--client".into(),
                "--allow-unusual-role".into(),
            ],
            "signed client certificate for zw\\u{200c}nj (serial".into(),
            false,
        ),
        (
            "list",
            vec!["list".into()],
            "client     post\\u{200b}gres  ".into(),
            false,
        ),
        (
            "list shows the joiner",
            vec!["list".into()],
            "client     zw\\u{200c}nj   ".into(),
            false,
        ),
        (
            "list --json",
            vec!["list".into(), "--json".into()],
            format!("\"name\": \"{zwsp}\""),
            true,
        ),
        (
            "revoke",
            vec!["revoke".into(), zwsp.into()],
            "revoked client post\\u{200b}gres (serial".into(),
            false,
        ),
    ];
    let mut table = Table::new("escaped output");
    for (label, args, want, json) in rows {
        table.row(label, command_line("pgca", &args), |r| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            r.ran(command_line(
                &format!("pgca --dir {}", env.ca.display()),
                &args,
            ));
            let o = env.run(&args);
            let stdout = String::from_utf8_lossy(&o.stdout);
            expect(
                o.status.success(),
                "success",
                format!("{}: {}", o.status, String::from_utf8_lossy(&o.stderr)),
            )?;
            expect(
                stdout.contains(want.as_str()),
                format!("{want:?} in stdout"),
                format!("{stdout:?}"),
            )?;
            if !json {
                expect(
                    raw_invisible(&stdout).is_none(),
                    "no raw invisible character in the text output",
                    format!("{stdout:?}"),
                )?;
            }
            Ok(())
        });
    }

    table.row(
        "inspect a foreign certificate with U+202E and U+200B in its CN",
        "openssl req -x509 -utf8 -subj /CN=evil\u{202e}gpj.exe\u{200b} && pgca inspect",
        |r| {
            let cert = env.tmp.path().join("rlo.crt");
            let (ok, o) = openssl(&[
                "req",
                "-x509",
                "-new",
                "-newkey",
                "ed25519",
                "-nodes",
                "-utf8",
                "-keyout",
                p(&env.tmp.path().join("rlo.key")),
                "-out",
                p(&cert),
                "-subj",
                "/CN=evil\u{202e}gpj.exe\u{200b}",
                "-days",
                "1",
            ]);
            expect(ok, "openssl made the certificate", o)?;
            r.ran(format!("pgca inspect {}", cert.display()));
            let o = env.run(&["inspect", p(&cert)]);
            let stdout = String::from_utf8_lossy(&o.stdout);
            expect(o.status.success(), "success", format!("{}", o.status))?;
            expect(
                stdout.contains("CN=evil\\u{202e}gpj.exe\\u{200b}"),
                "the CN escaped in the subject row",
                format!("{stdout:?}"),
            )?;
            expect(
                raw_invisible(&stdout).is_none(),
                "no raw invisible character",
                format!("{stdout:?}"),
            )
        },
    );
    table.finish();
}
