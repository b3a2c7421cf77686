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
    /// The name it serves (`--tls-name`), the host of [`Server::url`].
    pub name: String,
}

impl Server {
    /// Serves `env`'s CA directory as `localhost`, with a 2-second client timeout.
    pub fn start(env: &Env, extra: &[&str]) -> Server {
        Server::start_with(env, extra, &[])
    }

    /// Serves `env`'s CA directory as `name` (a server certificate of the CA directory).
    #[allow(dead_code)] // not every test binary that shares this module uses it
    pub fn start_as(env: &Env, name: &str, extra: &[&str]) -> Server {
        Server::spawn(env, name, extra, &[])
    }

    /// As [`Server::start`], with `vars` set in its environment (after the CA passphrase
    /// file's, which they may replace: a PKCS#11 token's PIN file, `SOFTHSM2_CONF`).
    #[allow(dead_code)] // not every test binary that shares this module uses it
    pub fn start_with(env: &Env, extra: &[&str], vars: &[(&str, &std::path::Path)]) -> Server {
        Server::spawn(env, "localhost", extra, vars)
    }

    fn spawn(env: &Env, name: &str, extra: &[&str], vars: &[(&str, &std::path::Path)]) -> Server {
        let log = env.tmp.path().join("serve.log");
        let mut child = Command::new(pgca_bin())
            .arg("--dir")
            .arg(&env.ca)
            .args(["serve", "--listen", "127.0.0.1:0", "--tls-name", name])
            .args(["--client-timeout", "2s", "--log"])
            .arg(&log)
            .args(extra)
            .env("PGCA_PASSPHRASE_FILE", env.passphrase_file())
            .envs(vars.iter().copied())
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
        Server {
            child,
            port,
            log,
            name: name.to_string(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}:{}{path}", self.name, self.port)
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
