//! pkilint (DigiCert's RFC 5280 linter) on every kind of certificate and CRL pgca makes: both
//! CAs, server certificates (DNS and IP SANs; a first name over 64 characters; only names over
//! 64 characters), client certificates of every key type, and both CRLs, empty and with
//! revoked entries; and the hierarchy of `init --intermediate` (roots, intermediates, leaves
//! they signed, the CRLs of each).
//!
//! Any FATAL, ERROR or WARNING finding fails the test, which prints pkilint's whole report for
//! every failing file. Only NOTICE and INFO findings pass: pkilint notes that it cannot tell how
//! the subjectKeyIdentifier was computed (rcgen's way: the first 160 bits of a SHA-256 of the
//! SubjectPublicKeyInfo), and RFC 5280 leaves the method open.
//!
//! The host names are fully qualified: pkilint checks a dNSName with the Python `validators`
//! package, which calls `localhost`, any single-label name, a one-letter top-level label and
//! `*.` wildcards invalid (ERROR pkix.invalid_domain_name_syntax). pgca issues those on purpose
//! (libpq matches them), so they are left out here rather than filtered.
//!
//! `scripts/pkilint-venv.sh` installs pkilint from PyPI into `target/pkilint-venv` the first
//! time (and python3-venv with apt-get when it is missing).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Env, Table, command_line, expect, p};

/// The bin directory of the venv holding pkilint, installed when missing.
fn pkilint_bin() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pkilint-venv.sh");
    let out = Command::new(&script)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed ({}):\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// What pkilint is asked to lint, and how.
#[derive(Clone, Copy)]
enum Doc {
    Cert,
    Crl,
}

/// Runs pkilint on `file` in `format` (JSON or TEXT); returns stdout, stderr.
fn run_pkilint(bin: &Path, doc: Doc, file: &Path, format: &str) -> (String, String) {
    let (tool, options): (&str, &[&str]) = match doc {
        Doc::Cert => ("lint_pkix_cert", &[]),
        Doc::Crl => ("lint_crl", &["--type", "CRL", "--profile", "PKIX"]),
    };
    // pkilint's exit status is the number of findings (NOTICEs included): the JSON decides.
    let out = Command::new(bin.join(tool))
        .arg("lint")
        .args(options)
        .args(["--format", format, "--document-format", "PEM"])
        .arg(file)
        .output()
        .expect("run pkilint");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The findings above NOTICE (`SEVERITY code`), or why pkilint's report could not be read.
fn serious_findings(bin: &Path, doc: Doc, file: &Path) -> Vec<String> {
    let (stdout, stderr) = run_pkilint(bin, doc, file, "JSON");
    let Ok(report) = serde_json::from_str::<serde_json::Value>(&stdout) else {
        return vec![format!("no JSON report from pkilint: {stdout}{stderr}")];
    };
    let Some(results) = report["results"].as_array() else {
        return vec![format!("no results in pkilint's report: {stdout}")];
    };
    let mut serious = Vec::new();
    for r in results {
        // A result without its findings is a report this test cannot read, never a clean one.
        let Some(findings) = r["finding_descriptions"].as_array() else {
            serious.push(format!("a result without finding_descriptions: {r}"));
            continue;
        };
        for f in findings {
            let severity = f["severity"].as_str().unwrap_or("?");
            if !matches!(severity, "NOTICE" | "INFO" | "DEBUG") {
                serious.push(format!(
                    "{severity} {} at {}",
                    f["code"].as_str().unwrap_or("?"),
                    r["node_path"].as_str().unwrap_or("?")
                ));
            }
        }
    }
    serious
}

#[test]
fn pkilint_finds_nothing_above_notice_in_any_certificate_or_crl() {
    let bin = pkilint_bin();
    let env = Env::init(&[
        "--server-host",
        "db.example.com",
        "--server-host",
        "10.0.0.5",
        "--server-host",
        "::1",
    ]);
    let long = format!("{}.example.com", "a".repeat(58)); // 70 characters
    let longer = format!("pg.{long}");
    env.ok(&["issue-server", &long, "db2.example.com", "10.0.0.6"]);
    env.ok(&["issue-server", &longer, &long]);
    let key_types = ["ecdsa-p256", "ecdsa-p384", "ed25519", "rsa2048"];
    for kt in key_types {
        env.ok(&["issue-client", &format!("user-{kt}"), "--key-type", kt]);
    }

    // Empty CRLs first, kept aside; then CRLs listing a revoked client and server.
    env.ok(&["crl"]);
    let empty = env.tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for side in ["server", "client"] {
        let name = format!("{side}-ca.crl");
        std::fs::copy(env.path(&name), empty.join(&name)).unwrap();
    }
    env.ok(&["revoke", "user-ed25519", "--reason", "keyCompromise"]);
    env.ok(&["revoke", "db.example.com"]);
    env.ok(&["crl"]);

    let mut files: Vec<(Doc, PathBuf)> = vec![
        (Doc::Cert, env.path("server-ca.crt")),
        (Doc::Cert, env.path("client-ca.crt")),
        (Doc::Cert, env.path("servers/db.example.com.crt")),
        (Doc::Cert, env.path(&format!("servers/{long}.crt"))),
        (Doc::Cert, env.path(&format!("servers/{longer}.crt"))),
    ];
    for kt in key_types {
        files.push((Doc::Cert, env.path(&format!("clients/user-{kt}.crt"))));
    }
    for side in ["server", "client"] {
        files.push((Doc::Crl, empty.join(format!("{side}-ca.crl"))));
        files.push((Doc::Crl, env.path(&format!("{side}-ca.crl"))));
    }
    // Make sure the CRLs linted are the ones with entries.
    for side in ["server", "client"] {
        let crl =
            pgca::x509::inspect::CrlInfo::from_file(&env.path(&format!("{side}-ca.crl"))).unwrap();
        assert_eq!(crl.revoked.len(), 1, "{side}");
    }

    lint_all(&bin, &env, &files, "pkilint");
}

/// The hierarchy of `init --intermediate`: both roots (pathlen 1), both intermediates, leaves
/// they signed (each file's first block: the leaf) and the CRLs of roots and intermediates, one
/// file each.
#[test]
fn pkilint_finds_nothing_above_notice_in_a_hierarchy() {
    let bin = pkilint_bin();
    let env = Env::init(&["--intermediate", "--server-host", "db.example.com"]);
    env.ok(&["issue-client", "alice", "bob"]);
    env.ok(&["revoke", "bob", "--reason", "keyCompromise"]);
    env.ok(&["crl"]);
    let split = env.tmp.path().join("split");
    std::fs::create_dir(&split).unwrap();
    let mut files: Vec<(Doc, PathBuf)> = Vec::new();
    for side in ["server", "client"] {
        files.push((Doc::Cert, env.path(&format!("{side}-ca.crt"))));
        files.push((Doc::Cert, env.path(&format!("{side}-issuing.crt"))));
        let text = std::fs::read_to_string(env.path(&format!("{side}-ca.crl"))).unwrap();
        let crls: Vec<&str> = text.split_inclusive("-----END X509 CRL-----\n").collect();
        assert_eq!(
            crls.len(),
            2,
            "{side}: the root's CRL and the intermediate's"
        );
        for (i, crl) in crls.iter().enumerate() {
            let to = split.join(format!("{side}-ca-{i}.crl"));
            std::fs::write(&to, crl).unwrap();
            files.push((Doc::Crl, to));
        }
    }
    for leaf in ["servers/db.example.com.crt", "clients/alice.crt"] {
        let text = std::fs::read_to_string(env.path(leaf)).unwrap();
        let first = text
            .split_inclusive("-----END CERTIFICATE-----\n")
            .next()
            .unwrap();
        let to = split.join(leaf.replace('/', "-"));
        std::fs::write(&to, first).unwrap();
        files.push((Doc::Cert, to));
    }
    lint_all(&bin, &env, &files, "pkilint: hierarchy");
}

/// Lints every file, one table row each.
fn lint_all(bin: &Path, env: &Env, files: &[(Doc, PathBuf)], name: &str) {
    let mut table = Table::new(name);
    for (doc, file) in files {
        let tool = match doc {
            Doc::Cert => "lint_pkix_cert",
            Doc::Crl => "lint_crl",
        };
        table.row(
            p(file.strip_prefix(env.tmp.path()).unwrap()),
            command_line(tool, &["lint", p(file)]),
            |_| {
                let serious = serious_findings(bin, *doc, file);
                // pkilint's own text report, for a file that fails.
                let report = if serious.is_empty() {
                    String::new()
                } else {
                    let (text, stderr) = run_pkilint(bin, *doc, file, "TEXT");
                    format!("{}\n{text}{stderr}", serious.join("; "))
                };
                expect(serious.is_empty(), "no finding above NOTICE", report)
            },
        );
    }
    table.finish();
}
