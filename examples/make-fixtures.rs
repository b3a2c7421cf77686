//! Rebuilds `fixtures/`: a CA directory issued at a fixed time, and what `pgca inspect --json`
//! says about each certificate in it. See fixtures/README.md.
//!
//!     cargo run --example make-fixtures -- fixtures

use std::fs;
use std::path::PathBuf;

use pgca::{CaDir, CertInfo, InitOptions, IssueOptions, RoleName};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "fixtures".into()));
    let ca_dir = out.join("ca");
    if ca_dir.exists() {
        fs::remove_dir_all(&ca_dir)?;
    }
    let now = time::macros::datetime!(2026-01-01 00:00 UTC);
    let mut init = InitOptions::default();
    init.org = "pgca fixtures".into();
    init.now = Some(now);
    let ca = CaDir::init(&ca_dir, &init)?;
    let mut opts = IssueOptions::default();
    opts.now = Some(now);
    let hosts = ["localhost", "127.0.0.1"]
        .map(|h| h.parse())
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    ca.issue_server(&hosts, &opts)?;
    ca.issue_client(&"alice".parse::<RoleName>()?, &opts)?;
    opts.validity = "30d".parse()?;
    ca.issue_client(&"bob".parse::<RoleName>()?, &opts)?;
    fs::remove_file(ca_dir.join(".lock"))?;

    let expected = out.join("expected");
    fs::create_dir_all(&expected)?;
    for (file, name) in [
        ("server-ca.crt", "server-ca"),
        ("client-ca.crt", "client-ca"),
        ("servers/localhost.crt", "server-localhost"),
        ("clients/alice.crt", "client-alice"),
        ("clients/bob.crt", "client-bob"),
    ] {
        let info = CertInfo::from_file(&ca_dir.join(file))?;
        fs::write(
            expected.join(format!("{name}.inspect.json")),
            serde_json::to_string_pretty(&info)? + "\n",
        )?;
    }
    println!("wrote {}", out.display());
    Ok(())
}
