//! A throwaway PostgreSQL cluster for end-to-end tests.
//!
//! PostgreSQL refuses to run as root, so when the tests run as root the cluster is created and
//! started as the `postgres` user (`runuser -u postgres --`). It lives in a temporary directory,
//! listens on 127.0.0.1 only, on a free port, with its Unix socket in that directory, and is
//! stopped by its pid when dropped. No other address is ever touched.
#![allow(dead_code)]

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The PostgreSQL major the end-to-end tests run against: `$PGCA_TEST_PG` (14 and 18 come from
/// npm, installed into `target/pg/MAJOR` by scripts/install-deps.sh; `make test` runs every
/// test file that starts a server once more with each: `PG_TESTS` in the Makefile), else
/// Debian's (15).
pub fn major() -> u32 {
    match std::env::var("PGCA_TEST_PG") {
        Ok(v) if !v.is_empty() => v
            .parse()
            .unwrap_or_else(|_| panic!("PGCA_TEST_PG={v}: expected a major version like 18")),
        _ => debian().0,
    }
}

/// The directory of the server binaries (initdb, pg_ctl, postgres) of [`major`]:
/// `target/pg/MAJOR/bin` when `$PGCA_TEST_PG` names one, else Debian's.
pub fn bindir() -> PathBuf {
    let wanted = major();
    let (debian_major, debian_bin) = debian();
    if wanted == debian_major {
        return debian_bin;
    }
    let bin = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/pg")
        .join(wanted.to_string())
        .join("bin");
    assert!(
        bin.join("postgres").exists(),
        "PostgreSQL {wanted} is not installed in {}: run `make deps`",
        bin.display()
    );
    bin
}

/// The client binaries (psql): always Debian's, which speak to every supported server.
pub fn client_bindir() -> PathBuf {
    debian().1
}

/// Debian's PostgreSQL: the newest `/usr/lib/postgresql/*/bin` (or `$PG_BINDIR`, or whatever
/// `initdb` is on PATH) and its major.
fn debian() -> (u32, PathBuf) {
    static FOUND: std::sync::OnceLock<(u32, PathBuf)> = std::sync::OnceLock::new();
    FOUND.get_or_init(find_debian).clone()
}

fn find_debian() -> (u32, PathBuf) {
    let version_of = |bin: &Path| -> u32 {
        let out = Command::new(bin.join("pg_ctl"))
            .arg("--version")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace()
            .last()
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.parse().ok())
            .unwrap_or_else(|| panic!("cannot read the version of {}: {text}", bin.display()))
    };
    if let Some(d) = std::env::var_os("PG_BINDIR") {
        let bin = PathBuf::from(d);
        return (version_of(&bin), bin);
    }
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    if let Some((v, bin)) = found.pop() {
        assert!(
            v >= 15,
            "PostgreSQL {v} found; pgca's tests need 15 or newer (iPAddress SANs)"
        );
        return (v, bin);
    }
    let out = Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()
        .unwrap();
    let path = String::from_utf8(out.stdout).unwrap();
    assert!(
        !path.trim().is_empty(),
        "PostgreSQL is not installed: run `make deps` (apt-get install postgresql)"
    );
    let bin = PathBuf::from(path.trim()).parent().unwrap().to_path_buf();
    (version_of(&bin), bin)
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false)
}

fn id_of(flag: &str) -> u32 {
    let out = Command::new("id")
        .args([flag, "postgres"])
        .output()
        .expect("id");
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .expect("a postgres user exists (installed with PostgreSQL)")
}

/// A command run as the cluster's owner.
pub fn as_owner(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Gives a file or directory to the cluster's owner (when running as root).
pub fn give_to_owner(path: &Path) {
    if is_root() {
        std::os::unix::fs::chown(path, Some(id_of("-u")), Some(id_of("-g"))).unwrap();
    }
}

/// A `pg_basebackup` that can copy a server of `major`: the server's own, else Debian's when it
/// is as new (npm's builds ship the server binaries only; pg_basebackup reads older servers).
#[allow(dead_code)] // not every test binary that shares this module uses it
pub fn basebackup_for(major: u32) -> Option<PathBuf> {
    let own = bindir().join("pg_basebackup");
    if own.exists() {
        return Some(own);
    }
    let (debian_major, debian_bin) = debian();
    (debian_major >= major).then(|| debian_bin.join("pg_basebackup"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn check(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub struct Cluster {
    pub base: tempfile::TempDir,
    pub data: PathBuf,
    pub port: u16,
    /// The server's major version.
    pub major: u32,
    bin: PathBuf,
    client_bin: PathBuf,
    pid: Option<u32>,
}

impl Cluster {
    /// initdb a cluster (not started). pg_hba.conf allows the superuser over the Unix socket
    /// (trust) and, over TCP, only `hostssl ... cert` from 127.0.0.1.
    pub fn new() -> Cluster {
        let bin = bindir();
        let base = tempfile::Builder::new()
            .prefix("pgca-pg-")
            .tempdir()
            .unwrap();
        give_to_owner(base.path());
        let data = base.path().join("data");
        check(
            as_owner(&bin.join("initdb"))
                .args(["-D"])
                .arg(&data)
                .args([
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync",
                    "--no-instructions",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ])
                .output()
                .unwrap(),
            "initdb",
        );
        let port = free_port();
        let c = Cluster {
            base,
            data,
            port,
            major: major(),
            bin,
            client_bin: client_bindir(),
            pid: None,
        };
        c.append_conf(&format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\nfsync = off\n",
            c.base.path().display()
        ));
        c.write_hba("local all all trust\nhostssl all all 127.0.0.1/32 cert\n");
        c
    }

    pub fn append_conf(&self, text: &str) {
        let p = self.data.join("postgresql.conf");
        let mut s = fs::read_to_string(&p).unwrap();
        s.push('\n');
        s.push_str(text);
        fs::write(&p, s).unwrap();
    }

    /// Appends to postgresql.conf the `include_if_exists = '…'` line that `pgca deploy-server`
    /// printed (its `deploy_output`), as an admin would.
    pub fn include_deployed(&self, deploy_output: &str) {
        let include = deploy_output
            .split("include_if_exists = ")
            .nth(1)
            .and_then(|s| s.lines().next())
            .unwrap_or_else(|| panic!("no include_if_exists line in:\n{deploy_output}"));
        self.append_conf(&format!("include_if_exists = {include}\n"));
    }

    pub fn write_hba(&self, text: &str) {
        fs::write(self.data.join("pg_hba.conf"), text).unwrap();
    }

    /// Copies a server certificate, its key and the client CA into the data directory, owned by
    /// the cluster's owner (key 0600), and configures TLS as the PostgreSQL guides ask.
    pub fn install_tls(&self, cert: &Path, key: &Path, client_ca: &Path) {
        for (src, name, mode) in [
            (cert, "server.crt", 0o644),
            (key, "server.key", 0o600),
            (client_ca, "client-ca.crt", 0o644),
        ] {
            let dst = self.data.join(name);
            let _ = fs::remove_file(&dst);
            fs::write(&dst, fs::read(src).unwrap()).unwrap();
            fs::set_permissions(&dst, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
            give_to_owner(&dst);
        }
    }

    pub fn enable_tls(&self) {
        self.append_conf(
            "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'client-ca.crt'\n\
             ssl_min_protocol_version = 'TLSv1.3'\n",
        );
    }

    fn log(&self) -> PathBuf {
        self.base.path().join("server.log")
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(self.log()).unwrap_or_default()
    }

    pub fn start(&mut self) {
        self.start_in(None);
    }

    /// Starts the server inside the network namespace `netns` (one the test made: only its own
    /// loopback), where it may listen on every address without reaching any real network; the
    /// Unix socket, a file, is reached from outside as usual.
    pub fn start_in(&mut self, netns: Option<&str>) {
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "runuser", "-u", "postgres", "--"])
                    .arg(self.bin.join("pg_ctl"));
                c
            }
            None => as_owner(&self.bin.join("pg_ctl")),
        };
        let out = cmd
            .args(["-D"])
            .arg(&self.data)
            .args(["-l"])
            .arg(self.log())
            .args(["-w", "-t", "60", "start"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log_text()
        );
        let pidfile = fs::read_to_string(self.data.join("postmaster.pid")).unwrap();
        self.pid = pidfile.lines().next().and_then(|l| l.trim().parse().ok());
        // The server that answers is the major under test, not another one on PATH.
        let version = self.sql("SHOW server_version_num");
        assert_eq!(
            version.trim().parse::<u32>().ok().map(|n| n / 10000),
            Some(self.major),
            "the cluster runs server_version_num {version}, expected PostgreSQL {}",
            self.major
        );
    }

    /// Stops the server by its pid: SIGINT (fast shutdown), then SIGKILL after 20 s.
    pub fn stop(&mut self) {
        // The current postmaster, which may have been restarted behind our back (the guide does).
        let current = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse().ok()));
        let Some(pid) = current.or(self.pid.take()) else {
            return;
        };
        self.pid = None;
        let _ = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Path::new(&format!("/proc/{pid}")).exists() {
            if Instant::now() > deadline {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // postmaster.pid goes with a clean shutdown; wait for it so a restart does not race.
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.data.join("postmaster.pid").exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A streaming-replication standby of this running cluster (which must let the superuser
    /// replicate over its Unix socket: `local replication all trust`): `pg_basebackup` into a
    /// temp dir of its own, its own port and socket directory, `application_name` `name` (for
    /// `synchronous_standby_names`). Not started.
    #[allow(dead_code)] // not every test binary that shares this module uses it
    pub fn standby_of(&self, name: &str) -> Cluster {
        let basebackup = basebackup_for(self.major)
            .unwrap_or_else(|| panic!("no pg_basebackup for PostgreSQL {}", self.major));
        let base = tempfile::Builder::new()
            .prefix("pgca-pg-standby-")
            .tempdir()
            .unwrap();
        give_to_owner(base.path());
        let data = base.path().join("data");
        check(
            as_owner(&basebackup)
                .arg("-D")
                .arg(&data)
                .arg("-h")
                .arg(self.base.path())
                .args([
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                    "-X",
                    "stream",
                ])
                .args(["--checkpoint=fast", "--no-sync"])
                .output()
                .unwrap(),
            "pg_basebackup",
        );
        let port = free_port();
        let standby = Cluster {
            base,
            data,
            port,
            major: self.major,
            bin: self.bin.clone(),
            client_bin: self.client_bin.clone(),
            pid: None,
        };
        fs::write(standby.data.join("standby.signal"), "").unwrap();
        give_to_owner(&standby.data.join("standby.signal"));
        standby.append_conf(&format!(
            "port = {port}\nunix_socket_directories = '{}'\n\
             primary_conninfo = 'host={} port={} user=postgres application_name={name}'\n",
            standby.base.path().display(),
            self.base.path().display(),
            self.port
        ));
        standby
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: no shutdown checkpoint, as a crash).
    #[allow(dead_code)] // not every test binary that shares this module uses it
    pub fn stop_immediately(&mut self) {
        check(
            as_owner(&self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "stop"])
                .output()
                .unwrap(),
            "pg_ctl stop -m immediate",
        );
        self.pid = None;
    }

    /// Promotes a standby to primary, waiting until it takes writes.
    #[allow(dead_code)] // not every test binary that shares this module uses it
    pub fn promote(&self) {
        check(
            as_owner(&self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(&self.data)
                .args(["-w", "promote"])
                .output()
                .unwrap(),
            "pg_ctl promote",
        );
    }

    pub fn restart(&mut self) {
        self.stop();
        self.start();
    }

    /// Runs SQL as the superuser over the Unix socket.
    pub fn sql(&self, sql: &str) -> String {
        self.sql_in("postgres", sql)
    }

    /// [`Cluster::sql`] in the database `db`.
    #[allow(dead_code)] // not every test binary that shares this module uses it
    pub fn sql_in(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.client_bin.join("psql"))
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(self.base.path())
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-c",
                sql,
            ])
            .output()
            .unwrap();
        String::from_utf8(check(out, sql).stdout).unwrap()
    }

    /// Connects with psql over TCP to 127.0.0.1 with `conninfo` (plus port and hostaddr), runs
    /// `sql`; returns (success, stdout, stderr). The environment holds no PG* variables and an
    /// empty HOME, so nothing but the connection string configures libpq.
    pub fn psql(&self, conninfo: &str, sql: &str) -> (bool, String, String) {
        let home = tempfile::tempdir().unwrap();
        self.psql_env(conninfo, sql, home.path(), &[])
    }

    /// Like [`Cluster::psql`], with `HOME` and extra environment variables of the caller's.
    pub fn psql_env(
        &self,
        conninfo: &str,
        sql: &str,
        home: &Path,
        env: &[(&str, &str)],
    ) -> (bool, String, String) {
        let conn = format!(
            "{conninfo} port={} hostaddr=127.0.0.1 connect_timeout=10",
            self.port
        );
        let mut cmd = Command::new(self.client_bin.join("psql"));
        for (k, _) in std::env::vars() {
            if k.starts_with("PG") {
                cmd.env_remove(k);
            }
        }
        let out = cmd
            .env("HOME", home)
            .envs(env.iter().copied())
            .args(["-X", "-A", "-t", "-c", sql, &conn])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Cluster {
    /// The serial (hex, lowercase) of the certificate the server presents now, as openssl
    /// s_client sees it through PostgreSQL's STARTTLS.
    pub fn served_serial(&self) -> String {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "openssl s_client -starttls postgres -connect 127.0.0.1:{} </dev/null 2>/dev/null | openssl x509 -noout -serial",
                self.port
            ))
            .output()
            .unwrap();
        let s = String::from_utf8_lossy(&out.stdout).trim().to_lowercase();
        s.strip_prefix("serial=").unwrap_or(&s).to_string()
    }
}

impl Cluster {
    /// Runs the ```sh blocks of guides (each named by its guide, for failures) in order against
    /// this started cluster, as a reader would: `bash -euo pipefail` in `work`, with the built
    /// pgca and the server's and psql's binaries first on `PATH`, `HOME` = `home`,
    /// `PGCA_DIR` = `work/pgca`, `PGCA_PASSPHRASE_FILE` = `work/pgca-passphrase`, the cluster's
    /// `PGDATA`/`PGHOST`/`PGPORT`, no other `PG*` variable, and nothing on stdin. Panics naming
    /// the block that failed; returns everything the blocks printed on stdout.
    pub fn run_guide(&self, blocks: &[(&str, String)], work: &Path, home: &Path) -> String {
        let bin_dir = Path::new(env!("CARGO_BIN_EXE_pgca")).parent().unwrap();
        let path = format!(
            "{}:{}:{}:{}",
            bin_dir.display(),
            bindir().display(),
            client_bindir().display(),
            std::env::var("PATH").unwrap()
        );
        let mut transcript = String::new();
        for (i, (guide, block)) in blocks.iter().enumerate() {
            let mut cmd = Command::new("bash");
            for (k, _) in std::env::vars() {
                if k.starts_with("PG") {
                    cmd.env_remove(k);
                }
            }
            cmd.args(["-euo", "pipefail", "-c", block])
                .current_dir(work)
                .env("PATH", &path)
                .env("HOME", home)
                .env("PGCA_DIR", work.join("pgca"))
                .env("PGCA_PASSPHRASE_FILE", work.join("pgca-passphrase"))
                .stdin(std::process::Stdio::null())
                .env("PGDATA", &self.data)
                .env("PGHOST", self.base.path())
                .env("PGPORT", self.port.to_string());
            // Client connections name host=localhost (that is what verify-full checks) but dial
            // only 127.0.0.1, never ::1; the admin's `runuser -- psql` blocks use the Unix socket.
            if !block.contains("runuser") {
                cmd.env("PGHOSTADDR", "127.0.0.1");
            }
            let out = cmd.output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            transcript.push_str(&stdout);
            assert!(
                out.status.success(),
                "{guide}: block {} failed ({}):\n{block}\n--- stdout\n{stdout}\n--- stderr\n{}\n--- server log\n{}",
                i + 1,
                out.status,
                String::from_utf8_lossy(&out.stderr),
                self.log_text()
            );
        }
        transcript
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A network namespace of the test's own (only a loopback, up), deleted when dropped.
pub struct Netns(pub String);

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = format!("pgca-{tag}-{}", std::process::id());
        for args in [
            vec!["netns", "add", name.as_str()],
            vec![
                "netns",
                "exec",
                name.as_str(),
                "ip",
                "link",
                "set",
                "lo",
                "up",
            ],
        ] {
            let out = Command::new("ip")
                .args(&args)
                .output()
                .expect("ip (iproute2)");
            assert!(out.status.success(), "ip {args:?}: {out:?}");
        }
        Netns(name)
    }

    /// A command run inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}
