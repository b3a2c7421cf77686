//! `pgca agent`: one round (`--once`, or each turn of the daemon). It reads the certificate in
//! use (a data directory's `pgca-tls/current`, or a client directory), refreshes the trust
//! bundles and the client CA's CRL from the CA, and when the certificate is due (two thirds of
//! its life, with jitter; `--force`: now) renews it over mutual TLS with a new key made here,
//! installs it atomically, reloads PostgreSQL and probes the server until it serves the new
//! serial.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::agent::client::{CaClient, CaUrl, IssuedReply};
use crate::agent::schedule::renew_after;
use crate::error::{Error, Result};
use crate::model::kind::{CertKind, Side};
use crate::model::serial::Serial;
use crate::model::status::Status;
use crate::pg::client::{InstallOptions, install_pems};
use crate::pg::given::GivenPems;
use crate::pg::server::{TLS_DIR, deploy_pems};
use crate::x509::inspect::CertInfo;
use crate::x509::keys::KeyType;

/// Where the certificate the agent keeps current lives.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AgentTarget {
    /// A server certificate deployed into a data directory (`pgca enroll --data-dir`).
    Server {
        /// The data directory.
        data_dir: PathBuf,
        /// Owner of the installed files (default: the data directory's).
        owner: Option<String>,
    },
    /// A client certificate installed into a directory (`pgca enroll --to`).
    Client {
        /// The directory (`~/.postgresql`).
        dir: PathBuf,
        /// The user the files are for.
        owner: Option<String>,
    },
}

/// How PostgreSQL is told to read its new certificate.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Reload {
    /// Not at all (a client directory: libpq reads the files on every connection).
    None,
    /// `pg_ctl reload -D DATA` with this `pg_ctl`, as the data directory's owner.
    PgCtl(PathBuf),
    /// `SELECT pg_reload_conf()` over a connection (a libpq connection string, URI or
    /// `service=NAME`; empty: the `PG*` environment), for a server whose `pg_ctl` the agent
    /// cannot run (another container, another user). The role needs only
    /// `GRANT EXECUTE ON FUNCTION pg_reload_conf() TO ROLE`.
    Sql(String),
    /// `sh -c COMMAND`, with `PGCA_DATA_DIR` and `PGCA_SERIAL` set.
    Command(String),
}

/// What `pgca agent` is told.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AgentOptions {
    /// The CA service.
    pub ca: CaUrl,
    /// The certificate kept current.
    pub target: AgentTarget,
    /// How the server is reloaded.
    pub reload: Reload,
    /// Where the reloaded server is probed (`HOST:PORT`); `None`: 127.0.0.1 and the data
    /// directory's `port` (5432 by default). Not used for a client directory.
    pub probe: Option<String>,
    /// Renew now, due or not.
    pub force: bool,
    /// The new key's type.
    pub key_type: KeyType,
    /// The bound on each request to the CA and on the probe.
    pub timeout: Duration,
}

impl AgentOptions {
    /// Keeping `target` current from `ca`, reloading with `reload`.
    pub fn new(ca: CaUrl, target: AgentTarget, reload: Reload) -> AgentOptions {
        AgentOptions {
            ca,
            target,
            reload,
            probe: None,
            force: false,
            key_type: KeyType::default(),
            timeout: Duration::from_secs(30),
        }
    }

    /// Refuses what would make every round fail or leak: a `--reload sql` connection string
    /// with a password written into it (a long-running agent's command line is readable by
    /// every user through `ps`; a passfile or a service file keeps it out).
    pub fn check(&self) -> Result<()> {
        if let Reload::Sql(conninfo) = &self.reload
            && let Some(key) = crate::audit::libpq::written_secret(conninfo)
        {
            return Err(Error::InvalidValue {
                what: "reload connection string",
                value: crate::audit::libpq::redact(conninfo),
                reason: secret_reason(key),
            });
        }
        Ok(())
    }
}

fn secret_reason(key: &str) -> &'static str {
    if key == "sslpassword" {
        "an sslpassword in it would be in the agent's command line for every user to read; \
         give the key unencrypted, readable only by the agent's user"
    } else {
        "a password in it would be in the agent's command line for every user to read; \
         put it in a passfile (~/.pgpass or passfile=) or use service=NAME"
    }
}

/// One round's outcome.
#[derive(Debug)]
#[non_exhaustive]
pub struct AgentReport {
    /// OK (renewed and served, or not due and served), WARNING (the certificate installed not
    /// served even after a reload, or due and the CA unreachable), CRITICAL (expired, or the CA refused the renewal).
    pub status: Status,
    /// The certificate renewed, if one was.
    pub renewed: Option<IssuedReply>,
    /// The serial in use after the round.
    pub serial: Serial,
    /// When the certificate in use is due next.
    pub due_at: OffsetDateTime,
    /// Whether the trust bundles or the CRL changed and were installed again.
    pub refreshed: bool,
    /// One sentence on what happened.
    pub summary: String,
}

/// The pair in use and the trust the agent has in its CA.
struct Current {
    cert_pem: Vec<u8>,
    key_pem: Zeroizing<Vec<u8>>,
    /// The server CA bundle: what the CA service is trusted with.
    server_ca_pem: Vec<u8>,
    /// What is installed as the peer's trust (the client CA for a server, the server CA for a
    /// client) and the CRL, to see whether a refresh changes them.
    peer_ca_pem: Vec<u8>,
    crl_pem: Option<Vec<u8>>,
    info: CertInfo,
    /// Where a renewal's pending key is kept: `pgca-tls`, or the client directory.
    home: crate::storage::Dir,
}

/// Runs one round (see the module docs).
pub fn agent_once(opts: &AgentOptions) -> Result<AgentReport> {
    opts.check()?;
    let current = read_current(&opts.target)?;
    let now = crate::model::timefmt::now();
    let due_at = renew_after(
        current.info.not_before,
        current.info.not_after,
        &current.info.serial,
    );
    let client = CaClient::new(
        &opts.ca,
        &current.server_ca_pem,
        Some((&current.cert_pem, &current.key_pem)),
        opts.timeout,
    )?;
    let due_by_time = opts.force || now >= due_at;
    let fetched = client.roots().and_then(|b| {
        let crl = match opts.target {
            AgentTarget::Server { .. } => client.crl(Side::Client)?,
            AgentTarget::Client { .. } => None,
        };
        Ok((b, crl))
    });
    let (bundles, crl) = match fetched {
        Ok(f) => f,
        Err(e) => return Ok(unreachable(&current, now, due_by_time, due_at, &e)),
    };
    // In a rollover's second phase the CA signs with the new CA: a certificate of the old one
    // is renewed at once, so that the old CA can leave the bundles.
    let superseded_ca = bundles
        .issuers
        .of(kind_of(&opts.target).side())
        .is_some_and(|issuer| current.info.authority_key_id.as_deref() != Some(issuer));
    let due = due_by_time || superseded_ca;
    if !due {
        let peer = peer_bundle(&opts.target, &bundles);
        let refreshed = peer != current.peer_ca_pem || crl != current.crl_pem;
        if refreshed {
            let pems = pems_of(
                &opts.target,
                current.cert_pem.clone(),
                current.key_pem.clone(),
                &bundles,
                crl,
            );
            install(opts, &pems)?;
            reload(opts, &current.info.serial)?;
        }
        // The certificate installed must be the one served: a reload an earlier round could not
        // confirm is done again now.
        let served = match &opts.target {
            AgentTarget::Server { data_dir, .. } => {
                Some(still_served(opts, data_dir, &current.info.serial))
            }
            AgentTarget::Client { .. } => None,
        };
        let (status, tail) = match served {
            Some(Err(why)) => (
                Status::Warning,
                format!("; but the server does not serve it: {why}"),
            ),
            _ => (Status::Ok, String::new()),
        };
        return Ok(AgentReport {
            status,
            renewed: None,
            serial: current.info.serial.clone(),
            due_at,
            refreshed,
            summary: format!(
                "{} {}: not due until {}{}{tail}",
                kind_of(&opts.target),
                name_of(&current.info),
                crate::model::timefmt::human(due_at),
                if refreshed {
                    "; trust bundles and CRL refreshed"
                } else {
                    ""
                }
            ),
        });
    }
    // The key is kept as pending until the certificate is installed (see agent/pending.rs).
    let (key, resumed) =
        crate::agent::pending::key_for(&current.home, &current.info.serial, opts.key_type)?;
    let csr =
        crate::x509::csr::make_request(kind_of(&opts.target), &[name_of(&current.info)], &key)?;
    let issued = match renew_retrying(&client, &csr) {
        Ok(i) => i,
        Err(
            e @ Error::CaRequest {
                status: Some(_), ..
            },
        ) => {
            crate::agent::pending::clear(&current.home);
            return Ok(AgentReport {
                status: Status::Critical,
                renewed: None,
                serial: current.info.serial.clone(),
                due_at,
                refreshed: false,
                summary: format!("the CA refused the renewal: {e}"),
            });
        }
        Err(e) => return Ok(unreachable(&current, now, due, due_at, &e)),
    };
    let key_pem = Zeroizing::new(key.to_pem().as_bytes().to_vec());
    let pems = pems_of(
        &opts.target,
        issued.certificate.clone().into_bytes(),
        key_pem,
        &bundles,
        crl,
    );
    install(opts, &pems)?;
    crate::agent::pending::clear(&current.home);
    let new_serial: Serial = issued.serial.parse().map_err(|_| Error::CaRequest {
        url: opts.ca.to_string(),
        status: Some(200),
        reason: format!(
            "an answer pgca does not understand: serial {:?}",
            issued.serial
        ),
    })?;
    reload(opts, &new_serial)?;
    let served = match &opts.target {
        AgentTarget::Server { data_dir, .. } => Some(confirm_served(opts, data_dir, &new_serial)),
        AgentTarget::Client { .. } => None,
    };
    let info =
        CertInfo::from_pem(issued.certificate.as_bytes()).map_err(|reason| Error::BadCert {
            path: "the certificate the CA sent".into(),
            reason,
        })?;
    let (status, tail) = match served {
        Some(Ok(())) => (Status::Ok, ", reloaded, and served".to_string()),
        Some(Err(why)) => (
            Status::Warning,
            format!(", but the server does not serve it yet: {why}"),
        ),
        None => (Status::Ok, String::new()),
    };
    Ok(AgentReport {
        status,
        summary: format!(
            "{} {}: renewed{}{}, serial {} until {}{tail}",
            issued.kind,
            issued.name,
            if superseded_ca && !due_by_time {
                " (the CA now signs with its new CA)"
            } else {
                ""
            },
            if resumed {
                " (with the key of a renewal an earlier round did not finish)"
            } else {
                ""
            },
            issued.serial,
            crate::model::timefmt::human(issued.not_after)
        ),
        serial: new_serial,
        due_at: renew_after(info.not_before, info.not_after, &info.serial),
        refreshed: true,
        renewed: Some(issued),
    })
}

/// The CA could not be reached: WARNING while the certificate is valid, CRITICAL once expired.
fn unreachable(
    current: &Current,
    now: OffsetDateTime,
    due: bool,
    due_at: OffsetDateTime,
    e: &Error,
) -> AgentReport {
    let expired = now >= current.info.not_after;
    AgentReport {
        status: if expired {
            Status::Critical
        } else if due {
            Status::Warning
        } else {
            Status::Unknown
        },
        renewed: None,
        serial: current.info.serial.clone(),
        due_at,
        refreshed: false,
        summary: format!(
            "{}: {e}",
            if expired {
                "expired and not renewed"
            } else if due {
                "due and not renewed"
            } else {
                "the CA could not be asked"
            }
        ),
    }
}

/// A renewal, retried with the same request when no answer came (the CA answers a retry
/// with the certificate it already issued for it).
fn renew_retrying(client: &CaClient, csr: &str) -> Result<IssuedReply> {
    let mut backoff =
        crate::agent::schedule::Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
    let mut tries = 0;
    loop {
        match client.renew(csr) {
            Err(Error::CaRequest { status: None, .. }) if tries < 4 => {
                tries += 1;
                std::thread::sleep(backoff.next_wait());
            }
            Err(Error::CaRequest {
                status: Some(429 | 503),
                ..
            }) if tries < 4 => {
                tries += 1;
                std::thread::sleep(backoff.next_wait());
            }
            r => return r,
        }
    }
}

fn kind_of(target: &AgentTarget) -> CertKind {
    match target {
        AgentTarget::Server { .. } => CertKind::Server,
        AgentTarget::Client { .. } => CertKind::Client,
    }
}

fn name_of(info: &CertInfo) -> String {
    info.common_name
        .clone()
        .or_else(|| info.sans.first().cloned())
        .unwrap_or_default()
}

fn peer_bundle(target: &AgentTarget, b: &crate::online::serving::TrustBundles) -> Vec<u8> {
    match target {
        AgentTarget::Server { .. } => b.client_ca.clone().into_bytes(),
        AgentTarget::Client { .. } => b.server_ca.clone().into_bytes(),
    }
}

fn pems_of(
    target: &AgentTarget,
    cert: Vec<u8>,
    key: Zeroizing<Vec<u8>>,
    bundles: &crate::online::serving::TrustBundles,
    crl: Option<Vec<u8>>,
) -> GivenPems {
    let mut pems = GivenPems::new(cert, key, peer_bundle(target, bundles), crl);
    if let AgentTarget::Server { .. } = target {
        pems.server_ca_pem = Some(bundles.server_ca.clone().into_bytes());
    }
    pems
}

fn install(opts: &AgentOptions, pems: &GivenPems) -> Result<()> {
    match &opts.target {
        AgentTarget::Server { data_dir, owner } => {
            deploy_pems(pems, data_dir, owner.as_deref(), "`pgca agent`").map(|_| ())
        }
        AgentTarget::Client { dir, owner } => {
            // By default the directory's owner, whose enrolled files these are (an agent run
            // as root keeping a user's ~/.postgresql current).
            let owner = match owner {
                Some(o) => Some(o.clone()),
                None => std::fs::symlink_metadata(dir)
                    .ok()
                    .and_then(|m| crate::storage::user_name(m.uid())),
            };
            let install = InstallOptions {
                to: Some(dir.clone()),
                owner,
                force: true,
            };
            install_pems(pems, &install).map(|_| ())
        }
    }
}

/// Reads the pair in use through the trust walk (the data directory's owner trusted).
fn read_current(target: &AgentTarget) -> Result<Current> {
    let (d, home, dir, names) = match target {
        AgentTarget::Server { data_dir, .. } => {
            // pgca-tls is a directory; `current` a link to a sibling version directory, read
            // and opened relative to the handle (never resolved as a path again).
            let owner = std::fs::metadata(data_dir)
                .map_err(Error::io("open data directory", data_dir))?
                .uid();
            let tls_path = data_dir.join(TLS_DIR);
            let tls = crate::storage::open_dir(
                &tls_path,
                &crate::storage::Trust::with_owner(owner),
                None,
            )?;
            let version = tls
                .read_link("current")
                .and_then(|v| v.to_str().map(str::to_string))
                .filter(|v| !v.contains('/') && v != "." && v != "..")
                .ok_or_else(|| {
                    Error::io(
                        "read the deployed certificate (enrolled with pgca enroll?)",
                        tls_path.join("current"),
                    )(std::io::ErrorKind::NotFound.into())
                })?;
            let d = tls.open_sub(&version)?.ok_or_else(|| {
                Error::io("open", tls_path.join(&version))(std::io::ErrorKind::NotFound.into())
            })?;
            (
                d,
                tls,
                tls_path.join("current"),
                ["server.crt", "server.key", "server-ca.crt", "client-ca.crt"],
            )
        }
        AgentTarget::Client { dir, .. } => {
            let owner = std::fs::metadata(dir)
                .map_err(Error::io("open", dir))?
                .uid();
            let trust = crate::storage::Trust::with_owner(owner);
            (
                crate::storage::open_dir(dir, &trust, None)?,
                crate::storage::open_dir(dir, &trust, None)?,
                dir.clone(),
                ["postgresql.crt", "postgresql.key", "root.crt", "root.crt"],
            )
        }
    };
    let read = |name: &str, what| d.read_file(name, 1 << 20, what);
    let cert_pem = read(names[0], "read the certificate in use")?;
    let key_pem = Zeroizing::new(read(names[1], "read the key in use")?);
    let server_ca_pem = read(
        names[2],
        "read the server CA bundle (enrolled with pgca enroll?)",
    )?;
    let peer_ca_pem = read(names[3], "read the installed CA bundle")?;
    let crl_pem = match target {
        AgentTarget::Server { .. } => match d.stat_at("client-ca.crl")? {
            Some(_) => Some(read("client-ca.crl", "read the installed CRL")?),
            None => None,
        },
        AgentTarget::Client { .. } => None,
    };
    let info = CertInfo::from_pem(&cert_pem).map_err(|reason| Error::BadCert {
        path: dir.join(names[0]),
        reason,
    })?;
    Ok(Current {
        cert_pem,
        key_pem,
        server_ca_pem,
        peer_ca_pem,
        crl_pem,
        info,
        home,
    })
}

/// Tells PostgreSQL to read its files again.
fn reload(opts: &AgentOptions, serial: &Serial) -> Result<()> {
    let AgentTarget::Server { data_dir, .. } = &opts.target else {
        return Ok(());
    };
    let mut cmd = match &opts.reload {
        Reload::None => return Ok(()),
        Reload::PgCtl(pg_ctl) => {
            let owner = std::fs::metadata(data_dir)
                .map_err(Error::io("open data directory", data_dir))?
                .uid();
            let mut cmd = if rustix::process::geteuid().is_root() && owner != 0 {
                let name = crate::storage::user_name(owner).ok_or_else(|| {
                    Error::io("look up the owner of", data_dir)(std::io::ErrorKind::NotFound.into())
                })?;
                let mut c = std::process::Command::new("runuser");
                c.args(["-u", &name, "--"]).arg(pg_ctl);
                c
            } else {
                std::process::Command::new(pg_ctl)
            };
            cmd.args(["reload", "-s", "-D"]).arg(data_dir);
            cmd
        }
        Reload::Sql(conninfo) => {
            return match crate::audit::live::run_bool(
                conninfo,
                opts.timeout,
                "SELECT pg_reload_conf()",
            ) {
                Ok(true) => Ok(()),
                Ok(false) => Err(Error::ReloadFailed {
                    command: "SELECT pg_reload_conf()".into(),
                    status: "false".into(),
                    stderr: "the server could not signal the postmaster".into(),
                }),
                Err(why) => Err(Error::ReloadFailed {
                    command: "SELECT pg_reload_conf()".into(),
                    status: "not run".into(),
                    stderr: why,
                }),
            };
        }
        Reload::Command(line) => {
            let mut cmd = std::process::Command::new("sh");
            cmd.args(["-c", line])
                .env("PGCA_DATA_DIR", data_dir)
                .env("PGCA_SERIAL", serial.to_string());
            cmd
        }
    };
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(Error::io("run the reload command for", data_dir))?;
    if !out.status.success() {
        return Err(Error::ReloadFailed {
            command: format!("{:?}", opts.reload),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// A round with nothing to renew: whether the server serves `serial`, the certificate
/// installed; when it does not (a reload an earlier round could not confirm, a server started
/// since with an older configuration), reloaded again and confirmed.
fn still_served(
    opts: &AgentOptions,
    data_dir: &Path,
    serial: &Serial,
) -> std::result::Result<(), String> {
    let target = probe_target(opts, data_dir)?;
    match served_serial(&target) {
        Ok(s) if &s == serial => Ok(()),
        // Not reachable: nothing a reload can mend.
        Err(e) => Err(format!("{target}: {e}")),
        Ok(_) => {
            reload(opts, serial).map_err(|e| e.to_string())?;
            confirm_served(opts, data_dir, serial)
        }
    }
}

fn probe_target(
    opts: &AgentOptions,
    data_dir: &Path,
) -> std::result::Result<crate::probe::Target, String> {
    match &opts.probe {
        Some(t) => t.parse().map_err(|e: Error| e.to_string()),
        None => format!("127.0.0.1:{}", data_dir_port(data_dir))
            .parse()
            .map_err(|e: Error| e.to_string()),
    }
}

/// Probes the reloaded server until it serves `serial` (a reload takes effect on the next
/// connection, but the postmaster reads its files asynchronously), for up to the timeout.
fn confirm_served(
    opts: &AgentOptions,
    data_dir: &Path,
    serial: &Serial,
) -> std::result::Result<(), String> {
    let target = probe_target(opts, data_dir)?;
    let give_up = std::time::Instant::now() + opts.timeout.min(Duration::from_secs(15));
    loop {
        let last = match served_serial(&target) {
            Ok(s) if &s == serial => return Ok(()),
            Ok(s) => format!("{target} serves serial {s}"),
            Err(e) => format!("{target}: {e}"),
        };
        if std::time::Instant::now() >= give_up {
            return Err(last);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn served_serial(target: &crate::probe::Target) -> std::result::Result<Serial, String> {
    let deadline = crate::probe::deadline::Deadline::after(Duration::from_secs(5));
    let mut stream = crate::probe::wire::connect(target, deadline).map_err(|f| f.to_string())?;
    crate::probe::wire::ssl_request(&mut stream).map_err(|f| f.to_string())?;
    let hs = crate::probe::tls::handshake(
        &mut stream,
        &target.host,
        crate::probe::tls::Start::SslRequest,
    )
    .map_err(|f| f.to_string())?;
    let leaf = hs.chain.first().ok_or("no certificate served")?;
    CertInfo::from_der(leaf)
        .map(|i| i.serial)
        .map_err(|e| e.to_string())
}

/// The data directory's `port` (postgresql.conf, then postgresql.auto.conf), else 5432.
fn data_dir_port(data_dir: &Path) -> u16 {
    // Read through the trust walk with the data directory's owner trusted, as the server reads
    // its files (they are the postgres user's, not root's).
    let owner = std::fs::metadata(data_dir).ok().map(|m| m.uid());
    crate::audit::conf::read_server_conf(&data_dir.join("postgresql.conf"), data_dir, owner)
        .ok()
        .and_then(|s| s.value("port").and_then(|p| p.trim().parse().ok()))
        .unwrap_or(5432)
}
