//! The guides, run as written: every ```sh block of docs/server.md and then docs/client.md, in
//! order, against one throwaway cluster.

mod common;
mod pg;

use std::path::Path;
use std::process::Command;

use common::{Table, command_line, expect};
use pg::Cluster;

/// The guides, in the order a reader follows them.
const GUIDES: &[&str] = &[
    "docs/server.md",
    "docs/client.md",
    "docs/renewal.md",
    "docs/revocation.md",
    "docs/rollover.md",
    "docs/audit.md",
];

#[test]
fn the_guides_run_as_written() {
    assert!(
        pg::is_root(),
        "the guide installs files as root with `install -o postgres`: run the tests as root"
    );
    let mut blocks = Vec::new();
    for guide in GUIDES {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(guide)).unwrap();
        let found = common::sh_blocks(&text);
        assert!(found.len() >= 3, "{guide} has {} sh blocks", found.len());
        blocks.extend(found.into_iter().map(|b| (guide, b)));
    }

    let mut cluster = Cluster::new();
    cluster.start();
    let work = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let blocks: Vec<(&str, String)> = blocks.into_iter().map(|(g, b)| (*g, b)).collect();
    let transcript = cluster.run_guide(&blocks, work.path(), home.path());
    // The server guide's check: TLS on, 1.3 at least.
    assert!(
        transcript.contains("\non\nTLSv1.3\n"),
        "the server guide's SHOW printed:\n{transcript}"
    );
    // The client guide connects three ways (service entry, ~/.postgresql, environment): each
    // prints alice, the first with TLSv1.3.
    let alice = transcript
        .lines()
        .filter(|l| l.trim_start().starts_with("alice"))
        .count();
    // The rollover guide connects after every phase of the client CA's rollover and the
    // server CA's.
    assert_eq!(
        alice, 12,
        "the client, renewal, revocation and rollover guides' connections printed:\n{transcript}"
    );
    for want in [
        "client CA rollover started",
        "client CA rollover switched",
        "client CA rollover finished",
        "server CA rollover finished",
        "the client root is unchanged",
        "client issuing CA rollover finished",
        "client CA: no rollover",
        "renewed server localhost",
    ] {
        assert!(transcript.contains(want), "{want}:\n{transcript}");
    }
    assert!(transcript.contains("revoked client bob"), "{transcript}");
    // The audit guide: findings first, then OK after its fixes.
    for want in [
        "hba-trust-local",
        "hba-shadowed",
        "log-connections",
        "audit exit status: 1",
        "PGCA AUDIT OK",
    ] {
        assert!(transcript.contains(want), "{want}:\n{transcript}");
    }
    // The renewal guide's probes: OK, then renewed but not reloaded (exit 1), OK after the
    // reload, alice let in, and check folding the probe in.
    for want in [
        "renewed but not reloaded",
        "probe exit status: 1",
        "role alice accepted",
        "asks for a client certificate from: ",
    ] {
        assert!(transcript.contains(want), "{want}:\n{transcript}");
    }
    let ok_probes = transcript
        .lines()
        .filter(|l| l.starts_with("OK: 127.0.0.1:") && l.contains(" serves serial "))
        .count();
    // probe, probe after the reload, probe --role, check --probe.
    assert_eq!(ok_probes, 4, "{transcript}");
    assert!(transcript.contains("PGCA OK - 0 due"), "{transcript}");
    assert!(
        transcript.contains("renewed server localhost"),
        "{transcript}"
    );
    assert!(
        transcript
            .lines()
            .any(|l| l.contains("alice") && l.contains("TLSv1.3")),
        "{transcript}"
    );
}

/// The `pgca ...` command of every crontab line, systemd ExecStart and Nagios command_line in
/// docs/renewal.md, run against a real CA directory and, for the probes, a real server: the
/// snippets' flags must work as printed.
#[test]
fn the_renewal_snippets_run() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/renewal.md"))
            .unwrap();
    let mut commands = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.starts_with("```crontab")
            || line.starts_with("```ini")
            || line.starts_with("```nagios")
        {
            in_block = true;
        } else if line.starts_with("```") {
            in_block = false;
        } else if in_block && let Some(at) = line.find("pgca --dir") {
            commands.push(
                line[at..]
                    .split_whitespace()
                    .map(str::to_string)
                    .collect::<Vec<_>>(),
            );
        }
    }
    let probing = commands
        .iter()
        .filter(|c| c.iter().any(|a| a == "probe" || a == "--probe"))
        .count();
    assert_eq!(
        (commands.len(), probing),
        (7, 4),
        "crontab, systemd, Nagios and Prometheus, renewal and probes: {commands:?}"
    );
    // A server with the CA directory's certificate for localhost and 127.0.0.1, as deployed.
    let env = common::Env::init(&[
        "--no-passphrase",
        "--server-host",
        "localhost",
        "--server-host",
        "127.0.0.1",
    ]);
    let mut cluster = Cluster::new();
    let deployed = env.ok(&[
        "deploy-server",
        "localhost",
        "--data-dir",
        cluster.data.to_str().unwrap(),
    ]);
    cluster.include_deployed(&deployed);
    cluster.start();
    let target = format!("127.0.0.1:{}", cluster.port);
    let ca = env.ca.clone();
    let bin = env!("CARGO_BIN_EXE_pgca");
    let mut table = Table::new("the renewal snippets");
    for (i, cmd) in commands.iter().enumerate() {
        let prom = env.tmp.path().join(format!("snippet-{i}.prom"));
        table.row(format!("snippet {}", i + 1), cmd.join(" "), |r| {
            expect(
                cmd[1] == "--dir",
                "`pgca --dir DIR ...`",
                format!("{cmd:?}"),
            )?;
            // The CA is unencrypted here, so the snippets' --passphrase-file is never read.
            // The snippet's own arguments, with the directory swapped for the test's, a random
            // delay of 0 instead of up to half an hour, the example hosts (and Nagios' host
            // macros) for the test's server and the textfile for one in the test's directory.
            // Nothing is due, so renew does not run its hook, check finds everything OK, and the
            // server serves its current certificate.
            let mut args = cmd[3..].to_vec();
            for i in 0..args.len() {
                let prev = if i > 0 { args[i - 1].as_str() } else { "" };
                let new = match (prev, args[i].as_str()) {
                    ("--random-delay", _) => Some("0".to_string()),
                    ("--prometheus", _) => Some(prom.to_str().unwrap().to_string()),
                    ("--sni", "$HOSTNAME$") => Some("localhost".to_string()),
                    (_, a) if a.contains("example.com") || a.starts_with("$HOSTADDRESS$") => {
                        Some(target.clone())
                    }
                    _ => None,
                };
                if let Some(new) = new {
                    args[i] = new;
                }
            }
            r.ran(command_line(&format!("pgca --dir {}", ca.display()), &args));
            let out = Command::new(bin)
                .arg("--dir")
                .arg(&ca)
                .args(&args)
                .output()
                .unwrap();
            expect(
                out.status.success(),
                "success",
                format!(
                    "{}: {}{}",
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            )?;
            if args.iter().any(|a| a == "--prometheus") {
                // node_exporter's format, as the Prometheus project's parser reads it.
                let samples = common::prometheus_samples(&prom);
                let want = format!("pgca_probe_status{{target=\"{target}\"}} 0.0");
                expect(samples.contains(&want), want, format!("{samples:?}"))?;
            }
            Ok(())
        });
    }
    table.finish();
}
