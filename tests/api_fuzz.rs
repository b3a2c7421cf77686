//! `pgca serve` fuzzed against its own OpenAPI document (docs/openapi.json, served at
//! `/v1/openapi.json`) by schemathesis (PyPI; `scripts/schemathesis-venv.sh` installs it, pinned,
//! into `target/schemathesis-venv` the first time). Every operation gets examples, boundary
//! cases and random schema-valid and schema-invalid bodies, with a client certificate presented
//! (so `POST /v1/renew` reaches its handler) and once without: no 5xx, every status, content
//! type and body as the document declares, schema-invalid input refused with a 4xx.
//!
//! `make test` runs a short pass (`PGCA_FUZZ_API_EXAMPLES`, 40 cases an operation by default);
//! `make fuzz` a longer one. One check is left out, on purpose: `positive_data_acceptance`
//! expects a 2xx for any schema-valid body, but a schema-valid string is almost never a valid
//! CSR or a live token, and refusing it is the point.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::serve::Server;
use common::{Env, p};

/// The venv's bin directory, installing schemathesis there when missing.
fn schemathesis_bin() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/schemathesis-venv.sh");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .expect("run schemathesis-venv.sh");
    assert!(
        out.status.success(),
        "schemathesis-venv.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn examples() -> String {
    std::env::var("PGCA_FUZZ_API_EXAMPLES").unwrap_or_else(|_| "40".into())
}

/// Runs schemathesis against `server`, with `cert` (certificate, key) presented if given;
/// returns whether it passed and what it printed.
fn run(env: &Env, server: &Server, cert: Option<(&Path, &Path)>, report: &Path) -> (bool, String) {
    let mut cmd = Command::new(schemathesis_bin().join("st"));
    cmd.arg("--no-color")
        .arg("run")
        .arg(server.url("/v1/openapi.json"))
        .args(["--url", &server.url("")])
        .args(["--tls-verify", p(&env.path("server-ca.crt"))])
        .args([
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", &examples()])
        .args(["--request-timeout", "10", "--workers", "2", "--seed", "1"])
        .args(["--report", "junit", "--report-dir", p(report)])
        .env("SCHEMATHESIS_HOOKS", "")
        .env("HOME", env.tmp.path())
        // Its example cache (.schemathesis/) goes into the test's directory, not the checkout.
        .current_dir(env.tmp.path());
    if let Some((crt, key)) = cert {
        cmd.args(["--request-cert", p(crt), "--request-cert-key", p(key)]);
    }
    let out = cmd.output().expect("run schemathesis");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_api_answers_as_its_openapi_document_says() {
    let env = Env::init(&["--server-host", "localhost"]);
    env.ok(&["issue-client", "fuzzer"]);
    // A generous rate: the fuzzer sends hundreds of requests as one identity.
    let server = Server::start(&env, &["--rate", "100000"]);
    let crt = env.path("clients/fuzzer.crt");
    let key = env.path("clients/fuzzer.key");

    let (ok, out) = run(
        &env,
        &server,
        Some((&crt, &key)),
        &env.tmp.path().join("with-cert"),
    );
    assert!(ok, "schemathesis, with a client certificate:\n{out}");
    let (ok, out) = run(&env, &server, None, &env.tmp.path().join("without"));
    assert!(ok, "schemathesis, without a client certificate:\n{out}");

    // It really reached the handlers: the log records refusals of both kinds of POST, and no
    // 5xx among its lines.
    let log = server.log_text();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let count = |path: &str, status: u64| {
        lines
            .iter()
            .filter(|v| v["path"] == path && v["status"] == status)
            .count()
    };
    assert!(
        count("/v1/sign", 400) + count("/v1/sign", 403) > 10,
        "{log}"
    );
    assert!(
        count("/v1/renew", 400) > 10 && count("/v1/renew", 401) > 0,
        "{log}"
    );
    let server_errors: Vec<_> = lines
        .iter()
        .filter(|v| v["status"].as_u64().is_some_and(|s| s >= 500))
        .collect();
    assert!(server_errors.is_empty(), "{server_errors:?}");
    // Nothing was issued, and the CA directory is intact.
    let report = env.ok(&["verify"]);
    assert!(report.starts_with("PGCA OK"), "{report}");
}
