//! `pgca serve` as the tests run it: on 127.0.0.1, a free port, a 2-second client timeout.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::{Env, pgca_bin};

/// A running `pgca serve`, killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Server {
    /// Serves `env`'s CA directory as `localhost`, with a 2-second client timeout.
    pub fn start(env: &Env, extra: &[&str]) -> Server {
        let log = env.tmp.path().join("serve.log");
        let mut child = Command::new(pgca_bin())
            .arg("--dir")
            .arg(&env.ca)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--tls-name",
                "localhost",
            ])
            .args(["--client-timeout", "2s", "--log"])
            .arg(&log)
            .args(extra)
            .env("PGCA_PASSPHRASE_FILE", env.passphrase_file())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pgca serve");
        let mut line = String::new();
        BufReader::new(child.stderr.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .split("https://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("pgca serve did not start: {line:?}"));
        Server { child, port, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
