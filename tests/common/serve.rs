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

/// The load generator (examples/loadgen.rs), built by `cargo test` beside the test binaries.
#[allow(dead_code)] // not every test binary that shares this module uses it
pub fn loadgen() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/loadgen");
    assert!(
        path.exists(),
        "{} is missing: cargo test builds it",
        path.display()
    );
    path
}

/// A port on 127.0.0.1 free a moment ago.
#[allow(dead_code)] // not every test binary that shares this module uses it
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `pgca [GLOBAL...] serve` of `env`'s CA directory on 127.0.0.1:`port` as `localhost`, no rate
/// limit, a 5-second client timeout; returned once the port accepts.
#[allow(dead_code)] // not every test binary that shares this module uses it
pub fn serve_on(env: &Env, global: &[&str], port: u16) -> Child {
    serve_in(env, &env.ca, global, port)
}

/// [`serve_on`] of the CA directory `dir` (with `env`'s passphrase).
#[allow(dead_code)] // not every test binary that shares this module uses it
pub fn serve_in(env: &Env, dir: &std::path::Path, global: &[&str], port: u16) -> Child {
    let child = Command::new(pgca_bin())
        .arg("--dir")
        .arg(dir)
        .args(global)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--tls-name", "localhost", "--rate", "100000"])
        .args(["--client-timeout", "5s"])
        .env("PGCA_PASSPHRASE_FILE", env.passphrase_file())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pgca serve");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "pgca serve did not listen on {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child
}
