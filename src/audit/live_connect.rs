//! How a live read connects: each host of the target tried in turn, as libpq tries them, with
//! `sslmode`'s attempts (`prefer`: TLS if offered, plain when the handshake fails; `allow`:
//! plain, then TLS after a refusal; TLS only for `require` and the `verify-*` modes; never TLS
//! over a Unix socket), the password from the target or `~/.pgpass`, and the connection (TLS
//! and the login included) ended by the timeout. A failure is one lower-case line, as libpq
//! would say it.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use postgres::Client;
use postgres::config::{ChannelBinding, SslMode as PgSslMode, SslNegotiation, TargetSessionAttrs};

use super::libpq::{Env, Host, HostSpec, Params, SslMode, is_default_socket_dir};
use super::live_tls::{self, Check, Identity, MakeRustls, Refusal};
use super::pgpass::{self, Found};
use crate::probe::deadline::Within;

/// An open connection and the host it reached.
pub(crate) struct Connected {
    pub(crate) client: Client,
    pub(crate) host: HostSpec,
}

/// One way of trying a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Attempt {
    /// No TLS.
    Plain,
    /// TLS if the server offers it (`prefer`).
    TlsIfOffered,
    /// TLS or nothing.
    Tls,
}

/// The attempts `sslmode` makes on a host: none of them TLS over a Unix socket (libpq never
/// asks for TLS there, whatever the mode).
fn attempts(mode: SslMode, host: &Host) -> &'static [Attempt] {
    if matches!(host, Host::Unix(_)) {
        return &[Attempt::Plain];
    }
    match mode {
        SslMode::Disable => &[Attempt::Plain],
        SslMode::Allow => &[Attempt::Plain, Attempt::Tls],
        SslMode::Prefer => &[Attempt::TlsIfOffered, Attempt::Plain],
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => &[Attempt::Tls],
    }
}

/// Why an attempt failed.
enum Failure {
    /// The client library's error, and the certificate check's refusal if it made one.
    Pg(postgres::Error, Option<String>),
    /// No connection within the timeout.
    Timeout,
    /// Something before connecting (a file, a parameter).
    Setup(String),
}

impl Failure {
    /// Whether a `prefer` connection may go on without TLS after this: the handshake failed.
    fn tls_failed(&self) -> bool {
        match self {
            Failure::Pg(e, refusal) => {
                refusal.is_some()
                    || live_tls::rustls_error(e).is_some()
                    || chain(e).starts_with("error performing TLS handshake")
            }
            _ => false,
        }
    }
}

/// Connects to the first host that lets the role in, trying each as libpq does.
pub(crate) fn connect(
    params: &Params,
    env: &Env,
    timeout: Duration,
    secrets: &mut Vec<String>,
) -> std::result::Result<Connected, String> {
    let timeout = connect_timeout(params, timeout)?;
    let hosts = params.hosts()?;
    let user = params.user()?;
    let dbname = params.dbname()?;
    let mode = params.sslmode()?;
    let home = env.home();
    let mut failed = Vec::new();
    let mut note = None;
    for host in &hosts {
        let password = match params.get("password") {
            Some(p) => Some(p.to_string()),
            None => match pgpass::path(params.get("passfile"), home.as_deref()) {
                Some(file) => match pgpass::lookup(
                    &file,
                    &pgpass_host(host),
                    &host.port.to_string(),
                    &dbname,
                    &user,
                ) {
                    Found::Password(p) => Some(p),
                    Found::Nothing => None,
                    Found::Refused(why) => {
                        note = Some(why);
                        None
                    }
                },
                None => None,
            },
        };
        secrets.extend(password.clone());
        let mut tried = Vec::new();
        for &attempt in attempts(mode, &host.host) {
            let config = config(
                params,
                host,
                &user,
                &dbname,
                password.as_deref(),
                attempt,
                timeout,
            )?;
            let outcome = match attempt {
                Attempt::Plain => bounded(config, postgres::NoTls, None, timeout),
                Attempt::Tls | Attempt::TlsIfOffered => {
                    match tls(params, mode, host, home.as_deref()) {
                        Ok((tls, refusal)) => bounded(config, tls, Some(refusal), timeout),
                        Err(e) => Err(Failure::Setup(e)),
                    }
                }
            };
            match outcome {
                Ok(client) => {
                    return Ok(Connected {
                        client,
                        host: host.clone(),
                    });
                }
                Err(f) => {
                    // prefer: plain only when TLS itself failed; allow: TLS after any refusal.
                    let go_on = match attempt {
                        Attempt::TlsIfOffered => f.tls_failed(),
                        Attempt::Plain => {
                            matches!(&f, Failure::Pg(e, _) if e.as_db_error().is_some())
                        }
                        Attempt::Tls => false,
                    };
                    tried.push((attempt, reason(&f, host, &user, timeout, note.as_deref())));
                    if !go_on {
                        break;
                    }
                }
            }
        }
        // With a fallback (prefer, allow), what each attempt met.
        let why = match &tried[..] {
            [(_, one)] => one.clone(),
            all => all
                .iter()
                .map(|(a, r)| {
                    let how = if *a == Attempt::Plain {
                        "without"
                    } else {
                        "with"
                    };
                    format!("{how} TLS: {r}")
                })
                .collect::<Vec<_>>()
                .join("; "),
        };
        failed.push((host.clone(), why));
    }
    Err(match &failed[..] {
        [(_, one)] => one.clone(),
        many => many
            .iter()
            .map(|(h, r)| format!("{h}: {r}"))
            .collect::<Vec<_>>()
            .join("; "),
    })
}

/// The timeout, or the target's `connect_timeout` when that is shorter (libpq's: whole
/// seconds, 0 for none, at least 2).
fn connect_timeout(params: &Params, timeout: Duration) -> std::result::Result<Duration, String> {
    let Some(v) = params.get("connect_timeout") else {
        return Ok(timeout);
    };
    let secs: u64 = v.trim().parse().map_err(|_| {
        format!("invalid integer value \"{v}\" for connection option \"connect_timeout\"")
    })?;
    Ok(match secs {
        0 => timeout,
        s => timeout.min(Duration::from_secs(s.max(2))),
    })
}

/// The host `~/.pgpass` lines are matched against: `localhost` for the default socket
/// directory, as libpq has it.
fn pgpass_host(host: &HostSpec) -> String {
    match &host.host {
        Host::Unix(d) if is_default_socket_dir(d) => "localhost".into(),
        Host::Unix(d) => d.display().to_string(),
        Host::Tcp(h) => h.clone(),
    }
}

/// The client configuration of one attempt.
#[allow(clippy::too_many_arguments)]
fn config(
    params: &Params,
    host: &HostSpec,
    user: &str,
    dbname: &str,
    password: Option<&str>,
    attempt: Attempt,
    timeout: Duration,
) -> std::result::Result<postgres::Config, String> {
    // What libpq would check and this client cannot: refused rather than passed over.
    for key in ["requirepeer", "sslcrl", "sslcrldir", "require_auth"] {
        if params.get(key).is_some() {
            return Err(format!("{key} is not supported by pgca audit's client"));
        }
    }
    if params.get("gssencmode") == Some("require") {
        return Err("gssencmode=require: pgca audit's client has no GSSAPI encryption".into());
    }
    let mut c = postgres::Config::new();
    c.user(user)
        .dbname(dbname)
        .port(host.port)
        .connect_timeout(timeout)
        .tcp_user_timeout(timeout)
        .keepalives(true)
        .application_name(params.get("application_name").unwrap_or("pgca audit"));
    match &host.host {
        Host::Tcp(name) => c.host(name),
        Host::Unix(dir) => c.host_path(dir),
    };
    if let Some(a) = host.hostaddr {
        c.hostaddr(a);
    }
    if let Some(p) = password {
        c.password(p);
    }
    if let Some(o) = params.get("options") {
        c.options(o);
    }
    c.ssl_mode(match attempt {
        Attempt::Plain => PgSslMode::Disable,
        Attempt::TlsIfOffered => PgSslMode::Prefer,
        Attempt::Tls => PgSslMode::Require,
    });
    c.channel_binding(match params.get("channel_binding") {
        None | Some("prefer") => ChannelBinding::Prefer,
        Some("disable") => ChannelBinding::Disable,
        Some("require") => ChannelBinding::Require,
        Some(other) => return Err(format!("invalid channel_binding value: \"{other}\"")),
    });
    c.target_session_attrs(match params.get("target_session_attrs") {
        None | Some("any") => TargetSessionAttrs::Any,
        Some("read-write") => TargetSessionAttrs::ReadWrite,
        Some("read-only") => TargetSessionAttrs::ReadOnly,
        Some(other) => {
            return Err(format!(
                "target_session_attrs={other} is not supported by pgca audit's client"
            ));
        }
    });
    match params.get("sslnegotiation") {
        None | Some("postgres") => {}
        Some("direct") => {
            c.ssl_negotiation(SslNegotiation::Direct);
        }
        Some(other) => return Err(format!("invalid sslnegotiation value: \"{other}\"")),
    }
    Ok(c)
}

/// The TLS connector of `sslmode` for `host`: the certificate check, the client certificate.
fn tls(
    params: &Params,
    mode: SslMode,
    host: &HostSpec,
    home: Option<&Path>,
) -> std::result::Result<(MakeRustls, Refusal), String> {
    let in_home = |name: &str| home.map(|h| h.join(".postgresql").join(name));
    let root = params
        .get("sslrootcert")
        .map(PathBuf::from)
        .or_else(|| in_home("root.crt"));
    if root.as_deref() == Some(Path::new("system")) {
        return Err("sslrootcert=system is not supported: name a CA file".into());
    }
    let root = root.filter(|r| r.exists());
    let check = match (root, mode) {
        (None, m) if m.verifies() => {
            return Err(format!(
                "sslmode={} needs a root certificate file: {} does not exist",
                if m == SslMode::VerifyCa {
                    "verify-ca"
                } else {
                    "verify-full"
                },
                params
                    .get("sslrootcert")
                    .map(PathBuf::from)
                    .or_else(|| in_home("root.crt"))
                    .map_or_else(
                        || "~/.postgresql/root.crt".into(),
                        |p| p.display().to_string()
                    )
            ));
        }
        (None, _) => Check::Nothing,
        // libpq checks the chain whenever a root certificate file exists, require included.
        (Some(file), SslMode::VerifyFull) => Check::Full {
            anchors: live_tls::anchors(&file)?,
            host: match &host.host {
                Host::Tcp(h) => h.clone(),
                Host::Unix(d) => d.display().to_string(),
            },
            file,
        },
        (Some(file), _) => Check::Chain {
            anchors: live_tls::anchors(&file)?,
            file,
        },
    };
    let cert = params
        .get("sslcert")
        .map(PathBuf::from)
        .or_else(|| in_home("postgresql.crt"));
    let send_cert = match params.get("sslcertmode") {
        None | Some("allow") => true,
        Some("disable") => false,
        Some("require") => {
            return Err("sslcertmode=require is not supported by pgca audit's client".into());
        }
        Some(other) => return Err(format!("invalid sslcertmode value: \"{other}\"")),
    };
    let identity = match cert.filter(|c| send_cert && c.exists()) {
        Some(cert) => {
            let key = params
                .get("sslkey")
                .map(PathBuf::from)
                .or_else(|| in_home("postgresql.key"))
                .unwrap_or_else(|| PathBuf::from("postgresql.key"));
            Some(Identity::read(&cert, &key)?)
        }
        None => None,
    };
    let version = |key: &str| match params.get(key) {
        None => Ok(None),
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "tlsv1" | "tlsv1.1" | "tlsv1.2" => Ok(Some(12)),
            "tlsv1.3" => Ok(Some(13)),
            _ => Err(format!("invalid {key} value: \"{v}\"")),
        },
    };
    let (min, max) = (
        version("ssl_min_protocol_version")?.unwrap_or(12),
        version("ssl_max_protocol_version")?.unwrap_or(13),
    );
    if params
        .get("ssl_max_protocol_version")
        .is_some_and(|v| v.eq_ignore_ascii_case("tlsv1") || v.eq_ignore_ascii_case("tlsv1.1"))
        || min > max
    {
        return Err("ssl_min_protocol_version and ssl_max_protocol_version leave no TLS version this client speaks (TLSv1.2, TLSv1.3)".into());
    }
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, p)| p)
            .collect();
    live_tls::connector(
        check,
        identity,
        &versions,
        params.get("sslsni") != Some("0"),
    )
}

/// Connects with `config` within `timeout`, the TLS handshake and the login included (the
/// client library bounds only the socket's connect): the attempt runs on a thread of its own,
/// which closes the connection should it succeed after the timeout.
fn bounded<T>(
    config: postgres::Config,
    tls: T,
    refusal: Option<Refusal>,
    timeout: Duration,
) -> std::result::Result<Client, Failure>
where
    T: postgres::tls::MakeTlsConnect<postgres::Socket> + 'static + Send,
    T::TlsConnect: Send,
    T::Stream: Send,
    <T::TlsConnect as postgres::tls::TlsConnect<postgres::Socket>>::Future: Send,
{
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("pgca-audit-connect".into())
        .spawn(move || {
            let _ = tx.send(config.connect(tls));
        })
        .map_err(|e| Failure::Setup(format!("cannot start a thread: {e}")))?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => {
            let why = refusal.and_then(|r| r.lock().unwrap_or_else(|e| e.into_inner()).take());
            Err(Failure::Pg(e, why))
        }
        Err(_) => Err(Failure::Timeout),
    }
}

/// One line saying why an attempt failed, lower case, as libpq would say it.
fn reason(
    f: &Failure,
    host: &HostSpec,
    user: &str,
    timeout: Duration,
    note: Option<&str>,
) -> String {
    let e = match f {
        Failure::Setup(s) => return s.clone(),
        Failure::Timeout => return format!("no answer within {}", Within(timeout)),
        Failure::Pg(_, Some(refusal)) => return format!("tls: {refusal}"),
        Failure::Pg(e, None) => e,
    };
    if let Some(db) = e.as_db_error() {
        return lower_first(db.message());
    }
    let text = chain(e);
    if text.contains("password missing") {
        let mut s = format!(
            "the server asks for a password for user \"{user}\" and none was given \
             (password=, PGPASSWORD or a ~/.pgpass line)"
        );
        if let Some(n) = note {
            s.push_str("; ");
            s.push_str(n);
        }
        return s;
    }
    if text.contains("server does not support TLS") {
        return "the server does not accept TLS connections".into();
    }
    if let Some(r) = live_tls::rustls_error(e) {
        return format!("tls: {}", lower_first(&r.to_string()));
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return io_reason(io, host, timeout);
        }
        cur = err.source();
    }
    lower_first(&text)
}

/// An error and its causes, `: ` between them (rust-postgres says `invalid configuration` and
/// keeps `password missing` as the cause).
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !out.ends_with(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        cur = c.source();
    }
    out
}

fn io_reason(e: &std::io::Error, host: &HostSpec, timeout: Duration) -> String {
    use std::io::ErrorKind::*;
    match (e.kind(), &host.host) {
        (ConnectionRefused, _) => "connection refused".into(),
        (TimedOut | WouldBlock, _) => format!("no answer within {}", Within(timeout)),
        (NotFound, Host::Unix(_)) => format!("no server socket at {host}"),
        (PermissionDenied, Host::Unix(_)) => format!("permission denied on {host}"),
        (ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe, _) => {
            "the server closed the connection".into()
        }
        (_, Host::Tcp(name)) if e.to_string().starts_with("failed to lookup address") => {
            format!("cannot resolve host name \"{name}\"")
        }
        _ => {
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text);
            lower_first(text)
        }
    }
}

/// `Peer authentication failed` as `peer authentication failed`; a word in capitals (`SSL`)
/// stays.
pub(crate) fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match (c.next(), c.next()) {
        (Some(a), Some(b)) if a.is_uppercase() && b.is_lowercase() => {
            a.to_lowercase().chain(s[a.len_utf8()..].chars()).collect()
        }
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_follow_sslmode() {
        let tcp = Host::Tcp("db".into());
        assert_eq!(
            attempts(SslMode::Prefer, &tcp),
            [Attempt::TlsIfOffered, Attempt::Plain]
        );
        assert_eq!(
            attempts(SslMode::Allow, &tcp),
            [Attempt::Plain, Attempt::Tls]
        );
        assert_eq!(attempts(SslMode::VerifyFull, &tcp), [Attempt::Tls]);
        assert_eq!(attempts(SslMode::Disable, &tcp), [Attempt::Plain]);
        assert_eq!(
            attempts(SslMode::Require, &Host::Unix("/run".into())),
            [Attempt::Plain]
        );
    }

    #[test]
    fn server_messages_start_lower_case() {
        assert_eq!(
            lower_first("Peer authentication failed"),
            "peer authentication failed"
        );
        assert_eq!(lower_first("SSL off"), "SSL off");
    }
}
