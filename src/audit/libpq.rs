//! A live target's connection parameters as libpq takes them (`fe-connect.c`): a `key=value`
//! string (`conninfo_parse`: white space between pairs, optional around `=`, single quotes,
//! backslash escapes) or a `postgresql://` URI (`conninfo_uri_parse`: percent-decoding, several
//! `host:port`s, `?key=value&…`), then the defaults libpq adds for what it leaves out, in
//! libpq's order: the service's `pg_service.conf` section (`service=` or `PGSERVICE`), the
//! `PG*` variables, the built-in defaults (port 5432, the OS user, the database named after
//! the user, `sslmode=prefer`, the default socket directory). [`redact`] hides the passwords.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::pg::service::{LIBPQ_KEYWORDS, Section, read_file};

/// The keys whose values are secrets: never shown.
const SECRET_KEYS: &[&str] = &["password", "sslpassword"];

/// The environment variables libpq reads for a parameter left out (`PQconninfoOptions`).
const ENV_DEFAULTS: &[(&str, &str)] = &[
    ("host", "PGHOST"),
    ("hostaddr", "PGHOSTADDR"),
    ("port", "PGPORT"),
    ("user", "PGUSER"),
    ("dbname", "PGDATABASE"),
    ("password", "PGPASSWORD"),
    ("passfile", "PGPASSFILE"),
    ("sslmode", "PGSSLMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("sslcert", "PGSSLCERT"),
    ("sslkey", "PGSSLKEY"),
    ("sslnegotiation", "PGSSLNEGOTIATION"),
    ("connect_timeout", "PGCONNECT_TIMEOUT"),
    ("application_name", "PGAPPNAME"),
    ("options", "PGOPTIONS"),
];

/// The socket directories a libpq build may default to: Debian's, then upstream's.
const SOCKET_DIRS: &[&str] = &["/var/run/postgresql", "/tmp"];

/// The environment a live read takes its `PG*` variables and `HOME` from: the process's, or
/// (for tests and embedding) a given one, which then replaces it whole.
#[derive(Clone, Debug, Default)]
pub(crate) struct Env(pub(crate) Option<Vec<(String, String)>>);

impl Env {
    /// The value of `name`, when set and not empty.
    pub(crate) fn var(&self, name: &str) -> Option<String> {
        let v = match &self.0 {
            Some(vars) => vars
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone()),
            None => std::env::var(name).ok(),
        };
        v.filter(|v| !v.is_empty())
    }

    /// The home directory: `HOME`, else the password database's for the user pgca runs as.
    pub(crate) fn home(&self) -> Option<PathBuf> {
        self.var("HOME").map(PathBuf::from).or_else(|| {
            self.0
                .is_none()
                .then(|| crate::storage::user_home(crate::storage::trust::effective_uid()))
                .flatten()
        })
    }
}

/// One `key=value` as written, with the byte range of the value in the string.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Written {
    key: String,
    value: String,
    span: Range<usize>,
}

/// Whether `s` is a URI rather than `key=value` pairs.
fn is_uri(s: &str) -> bool {
    s.starts_with("postgresql://") || s.starts_with("postgres://")
}

/// The pairs of `s`, and the first error libpq would stop at; scanning goes on after an error
/// so that [`redact`] finds every secret, even in a string libpq refuses.
fn scan(s: &str) -> (Vec<Written>, Option<String>) {
    if is_uri(s) {
        scan_uri(s)
    } else {
        scan_pairs(s)
    }
}

fn scan_pairs(s: &str) -> (Vec<Written>, Option<String>) {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut err = None;
    let mut i = 0;
    let skip_ws = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    loop {
        i = skip_ws(i);
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && b[i] != b'=' && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        let key = s[start..i].to_string();
        i = skip_ws(i);
        if i >= b.len() || b[i] != b'=' {
            err.get_or_insert_with(|| {
                format!("missing \"=\" after \"{key}\" in connection info string")
            });
            continue;
        }
        i = skip_ws(i + 1);
        let vstart = i;
        let mut value = Vec::new();
        if i < b.len() && b[i] == b'\'' {
            i += 1;
            loop {
                if i >= b.len() {
                    err.get_or_insert_with(|| {
                        "unterminated quoted string in connection info string".to_string()
                    });
                    break;
                }
                match b[i] {
                    b'\\' if i + 1 < b.len() => {
                        value.push(b[i + 1]);
                        i += 2;
                    }
                    b'\'' => {
                        i += 1;
                        break;
                    }
                    c => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
        } else {
            while i < b.len() && !b[i].is_ascii_whitespace() {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                value.push(b[i]);
                i += 1;
            }
        }
        out.push(Written {
            key,
            value: String::from_utf8_lossy(&value).into_owned(),
            span: vstart..i,
        });
    }
    (out, err)
}

/// `%XX` decoded, as libpq's `conninfo_uri_decode`.
fn decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()));
            let Some(hex) = hex else {
                return Err(format!("invalid percent-encoded token: \"{s}\""));
            };
            let byte = u8::from_str_radix(hex, 16).expect("two hex digits");
            if byte == 0 {
                return Err(format!(
                    "forbidden value %00 in percent-encoded value: \"{s}\""
                ));
            }
            out.push(byte);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("invalid percent-encoded token: \"{s}\""))
}

fn scan_uri(s: &str) -> (Vec<Written>, Option<String>) {
    let mut out = Vec::new();
    let mut err: Option<String> = None;
    // Decoded, or as written (the error kept) when it does not decode.
    let decoded = |err: &mut Option<String>, raw: &str| match decode(raw) {
        Ok(v) => v,
        Err(e) => {
            err.get_or_insert(e);
            raw.to_string()
        }
    };
    let push = |out: &mut Vec<Written>, err: &mut Option<String>, key: &str, raw: Range<usize>| {
        out.push(Written {
            key: key.to_string(),
            value: decoded(err, &s[raw.clone()]),
            span: raw,
        });
    };
    let mut i = s.find("://").map_or(s.len(), |p| p + 3);
    let b = s.as_bytes();
    // Credentials: everything up to an '@' met before the first '/'.
    let rest_end = s[i..].find('/').map_or(s.len(), |p| i + p);
    if let Some(at) = s[i..rest_end].rfind('@').map(|p| i + p) {
        let cred = &s[i..at];
        match cred.find(':') {
            Some(c) => {
                if c > 0 {
                    push(&mut out, &mut err, "user", i..i + c);
                }
                push(&mut out, &mut err, "password", i + c + 1..at);
            }
            None if !cred.is_empty() => push(&mut out, &mut err, "user", i..at),
            None => {}
        }
        i = at + 1;
    }
    // Hosts and ports, up to '/' or '?'.
    let (mut hosts, mut ports) = (Vec::new(), Vec::new());
    let mut any_port = false;
    loop {
        let (host, after) = if i < b.len() && b[i] == b'[' {
            match s[i..].find(']') {
                Some(e) => (s[i + 1..i + e].to_string(), i + e + 1),
                None => {
                    err.get_or_insert_with(|| {
                        format!("end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"{s}\"")
                    });
                    (s[i + 1..].to_string(), s.len())
                }
            }
        } else {
            let e = s[i..].find([':', '/', '?', ',']).map_or(s.len(), |p| i + p);
            (decoded(&mut err, &s[i..e]), e)
        };
        i = after;
        let mut port = String::new();
        if i < b.len() && b[i] == b':' {
            let e = s[i + 1..]
                .find(['/', '?', ','])
                .map_or(s.len(), |p| i + 1 + p);
            port = s[i + 1..e].to_string();
            any_port = true;
            i = e;
        }
        hosts.push(host);
        ports.push(port);
        if i < b.len() && b[i] == b',' {
            i += 1;
            continue;
        }
        break;
    }
    if hosts.iter().any(|h| !h.is_empty()) || hosts.len() > 1 {
        out.push(Written {
            key: "host".into(),
            value: hosts.join(","),
            span: 0..0,
        });
    }
    if any_port {
        out.push(Written {
            key: "port".into(),
            value: ports.join(","),
            span: 0..0,
        });
    }
    if i < b.len() && b[i] == b'/' {
        let e = s[i + 1..].find('?').map_or(s.len(), |p| i + 1 + p);
        if e > i + 1 {
            push(&mut out, &mut err, "dbname", i + 1..e);
        }
        i = e;
    }
    if i < b.len() && b[i] == b'?' {
        i += 1;
        while i < s.len() {
            let e = s[i..].find('&').map_or(s.len(), |p| i + p);
            let param = &s[i..e];
            match param.find('=') {
                Some(eq) => {
                    let key = decoded(&mut err, &param[..eq]);
                    push(&mut out, &mut err, &key, i + eq + 1..e);
                    // libpq's one synonym in URIs: ssl=true is sslmode=require.
                    if key == "ssl" {
                        let last = out.last_mut().expect("just pushed");
                        if last.value == "true" {
                            last.key = "sslmode".into();
                            last.value = "require".into();
                        }
                    }
                }
                None => {
                    err.get_or_insert_with(|| {
                        format!(
                            "missing key/value separator \"=\" in URI query parameter: \"{param}\""
                        )
                    });
                }
            }
            i = e + 1;
        }
    }
    (out, err)
}

/// The first secret written into `conninfo` itself (`password`, `sslpassword`, a URI's
/// password), not one a service file, a passfile or the environment gives: a secret a
/// long-running process would show in its command line.
pub(crate) fn written_secret(conninfo: &str) -> Option<&'static str> {
    let (written, _) = scan(conninfo);
    written.iter().find_map(|w| {
        SECRET_KEYS
            .iter()
            .find(|k| **k == w.key && !w.value.is_empty())
            .copied()
    })
}

/// `conninfo` with the value of every `password=` and `sslpassword=` (and a URI's password)
/// replaced by `***`, for reports and errors; a string libpq would refuse is redacted all the
/// same.
pub fn redact(conninfo: &str) -> String {
    let (written, _) = scan(conninfo);
    let mut spans: Vec<Range<usize>> = written
        .into_iter()
        .filter(|w| SECRET_KEYS.contains(&w.key.as_str()) && !w.span.is_empty())
        .map(|w| w.span)
        .collect();
    spans.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(conninfo.len());
    let mut at = 0;
    for r in spans {
        if r.start < at {
            continue;
        }
        out.push_str(&conninfo[at..r.start]);
        out.push_str("***");
        at = r.end;
    }
    out.push_str(&conninfo[at..]);
    out
}

/// The parameters in effect for `conninfo`: as written (a repeated key: the last), then the
/// service's, then the environment's; the built-in defaults are [`Params`]'s accessors'.
#[derive(Clone, Debug)]
pub(crate) struct Params {
    values: BTreeMap<String, String>,
    /// The OS user libpq defaults `user` to.
    os_user: Option<String>,
}

impl Params {
    /// Reads `conninfo` as libpq does; `Err` is libpq's complaint, one line.
    pub(crate) fn resolve(conninfo: &str, env: &Env) -> Result<Params, String> {
        let (written, err) = scan(conninfo);
        if let Some(e) = err {
            return Err(e);
        }
        let mut values = BTreeMap::new();
        for w in written {
            let known = w.key == "service"
                || w.key == "requiressl"
                || LIBPQ_KEYWORDS.contains(&w.key.as_str());
            if !known {
                return Err(format!("invalid connection option \"{}\"", w.key));
            }
            values.insert(w.key, w.value);
        }
        let service = values
            .get("service")
            .cloned()
            .or_else(|| env.var("PGSERVICE"));
        if let Some(name) = service {
            for (k, v) in service_entries(&name, env)? {
                values.entry(k).or_insert(v);
            }
        }
        for (key, var) in ENV_DEFAULTS {
            if values.get(*key).is_none_or(|v| v.is_empty())
                && let Some(v) = env.var(var)
            {
                values.insert((*key).to_string(), v);
            }
        }
        Ok(Params {
            values,
            os_user: crate::storage::user_name(crate::storage::trust::effective_uid()),
        })
    }

    /// The connection as `key=value` pairs, for a target given as an empty string (libpq's
    /// defaults): host (or hostaddr), port, user and dbname, no secret.
    pub(crate) fn describe(&self) -> String {
        let host = self.hosts().ok().and_then(|h| h.into_iter().next());
        let mut out = Vec::new();
        match host.as_ref().map(|h| &h.host) {
            Some(Host::Tcp(h)) => out.push(format!("host={h}")),
            Some(Host::Unix(d)) => out.push(format!("host={}", d.display())),
            None => {}
        }
        if let Some(h) = &host {
            out.push(format!("port={}", h.port));
        }
        out.extend(self.user().ok().map(|u| format!("user={u}")));
        out.extend(self.dbname().ok().map(|d| format!("dbname={d}")));
        out.join(" ")
    }

    /// The same parameters with `key` set to `value` where nothing set it.
    pub(crate) fn with_default(mut self, key: &str, value: &str) -> Params {
        let slot = self.values.entry(key.to_string()).or_default();
        if slot.is_empty() {
            *slot = value.to_string();
        }
        self
    }

    /// A parameter as given (string, service or environment), when not empty.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `user`, else the OS user's name.
    pub(crate) fn user(&self) -> Result<String, String> {
        self.get("user")
            .map(str::to_string)
            .or_else(|| self.os_user.clone())
            .ok_or_else(|| "no user given, and the OS user has no name".to_string())
    }

    /// `dbname`, else the user's name.
    pub(crate) fn dbname(&self) -> Result<String, String> {
        match self.get("dbname") {
            Some(d) => Ok(d.to_string()),
            None => self.user(),
        }
    }

    /// `sslmode`, libpq's `prefer` by default (`requiressl=1` is `require`).
    pub(crate) fn sslmode(&self) -> Result<SslMode, String> {
        let mode = match self.get("sslmode") {
            Some(m) => m,
            None if self.get("requiressl") == Some("1") => "require",
            None => "prefer",
        };
        SslMode::parse(mode).ok_or_else(|| format!("invalid sslmode value: \"{mode}\""))
    }

    /// Where to connect, one entry per host of `host`/`hostaddr`, each with its port.
    pub(crate) fn hosts(&self) -> Result<Vec<HostSpec>, String> {
        let split = |k: &str| -> Vec<String> {
            self.get(k)
                .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
                .unwrap_or_default()
        };
        let (hosts, addrs, ports) = (split("host"), split("hostaddr"), split("port"));
        let n = hosts.len().max(addrs.len()).max(1);
        if !hosts.is_empty() && !addrs.is_empty() && hosts.len() != addrs.len() {
            return Err(format!(
                "could not match {} host names to {} hostaddr values",
                hosts.len(),
                addrs.len()
            ));
        }
        if ports.len() > 1 && ports.len() != n {
            return Err(format!(
                "could not match {} port numbers to {n} hosts",
                ports.len()
            ));
        }
        (0..n)
            .map(|i| {
                let port_text = ports
                    .get(i)
                    .or(ports.first())
                    .filter(|p| !p.is_empty())
                    .map_or("5432", String::as_str);
                let port = port_text
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("invalid port number: \"{port_text}\""))?;
                let hostaddr = match addrs.get(i).filter(|a| !a.is_empty()) {
                    Some(a) => Some(
                        a.parse::<std::net::IpAddr>()
                            .map_err(|_| format!("could not parse network address \"{a}\""))?,
                    ),
                    None => None,
                };
                let host = hosts.get(i).filter(|h| !h.is_empty()).cloned();
                let host = match (host, hostaddr) {
                    (Some(h), _) if h.starts_with('/') => Host::Unix(PathBuf::from(h)),
                    (Some(h), _) => Host::Tcp(h),
                    // hostaddr alone: libpq checks the certificate against the address.
                    (None, Some(a)) => Host::Tcp(a.to_string()),
                    (None, None) => Host::Unix(default_socket_dir(port)),
                };
                Ok(HostSpec {
                    host,
                    hostaddr,
                    port,
                })
            })
            .collect()
    }
}

/// The default socket directory: the first of Debian's and upstream's that holds the port's
/// socket, else Debian's.
fn default_socket_dir(port: u16) -> PathBuf {
    SOCKET_DIRS
        .iter()
        .map(PathBuf::from)
        .find(|d| d.join(format!(".s.PGSQL.{port}")).exists())
        .unwrap_or_else(|| PathBuf::from(SOCKET_DIRS[0]))
}

/// Whether `dir` is a default socket directory (`~/.pgpass` calls it `localhost`).
pub(crate) fn is_default_socket_dir(dir: &Path) -> bool {
    SOCKET_DIRS.iter().any(|d| Path::new(d) == dir)
}

/// One host to try.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HostSpec {
    /// The host as named (the name TLS checks), or the socket directory.
    pub(crate) host: Host,
    /// The address to dial instead of resolving the name.
    pub(crate) hostaddr: Option<std::net::IpAddr>,
    /// The port (also the socket's number).
    pub(crate) port: u16,
}

/// A host: a name or address over TCP, or a Unix socket directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Host {
    /// A DNS name or an IP address.
    Tcp(String),
    /// The directory holding `.s.PGSQL.PORT`.
    Unix(PathBuf),
}

impl std::fmt::Display for HostSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.host {
            Host::Unix(d) => write!(f, "{}/.s.PGSQL.{}", d.display(), self.port),
            Host::Tcp(h) if h.contains(':') => write!(f, "[{h}]:{}", self.port),
            Host::Tcp(h) => write!(f, "{h}:{}", self.port),
        }
    }
}

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SslMode {
    /// No TLS.
    Disable,
    /// Without TLS first, with it if the server refuses that.
    Allow,
    /// TLS if the server offers it (the default).
    Prefer,
    /// TLS, the certificate unchecked (unless a root certificate file exists, as in libpq).
    Require,
    /// TLS, the chain checked against `sslrootcert`.
    VerifyCa,
    /// TLS, the chain and the host name checked.
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Option<SslMode> {
        Some(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    /// Whether the certificate must chain to `sslrootcert`.
    pub(crate) fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

/// The settings of service `name` as libpq reads them: the user's file (`PGSERVICEFILE`, else
/// `~/.pg_service.conf`), else the system's (`PGSYSCONFDIR/pg_service.conf`, else Debian's
/// `/etc/postgresql-common/pg_service.conf`); never both.
fn service_entries(name: &str, env: &Env) -> Result<Vec<(String, String)>, String> {
    let user_file = env
        .var("PGSERVICEFILE")
        .map(PathBuf::from)
        .or_else(|| env.home().map(|h| h.join(".pg_service.conf")));
    let system_file = env.var("PGSYSCONFDIR").map_or_else(
        || PathBuf::from("/etc/postgresql-common/pg_service.conf"),
        |d| PathBuf::from(d).join("pg_service.conf"),
    );
    for path in user_file.iter().chain([&system_file]) {
        let file = read_file(path).map_err(|e| e.to_string())?;
        if let Some(section) = file.get(name) {
            return entries(name, path, section);
        }
    }
    Err(Error::NoSuchService {
        name: name.to_string(),
        path: user_file.unwrap_or(system_file),
    }
    .to_string())
}

fn entries(name: &str, path: &Path, section: Section) -> Result<Vec<(String, String)>, String> {
    if let Some(p) = section.problems.first() {
        return Err(Error::UnreadableService {
            name: name.to_string(),
            path: path.to_path_buf(),
            line: p.line,
            reason: p.kind.to_string(),
        }
        .to_string());
    }
    Ok(section
        .entries
        .into_iter()
        .map(|e| (e.key, e.value))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &str) -> Vec<(String, String)> {
        let (w, err) = scan(s);
        assert_eq!(err, None, "{s}");
        w.into_iter().map(|w| (w.key, w.value)).collect()
    }

    fn kv(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn key_value_strings_read_as_libpq_reads_them() {
        assert_eq!(
            pairs("host=db  port = 5433 user='a b' dbname=x\\ y  password= 'p w'"),
            kv(&[
                ("host", "db"),
                ("port", "5433"),
                ("user", "a b"),
                ("dbname", "x y"),
                ("password", "p w"),
            ])
        );
        assert_eq!(
            pairs(r"user='o\'k' password=a\ b sslmode=require"),
            kv(&[("user", "o'k"), ("password", "a b"), ("sslmode", "require")])
        );
        assert_eq!(
            scan("host").1.unwrap(),
            "missing \"=\" after \"host\" in connection info string"
        );
        assert!(scan("password='x").1.unwrap().contains("unterminated"));
    }

    #[test]
    fn uris_read_as_libpq_reads_them() {
        assert_eq!(
            pairs(
                "postgresql://al%40ce:s%3Acret@db1:5433,[::1]:5434/my%20db?sslmode=verify-full&connect_timeout=3"
            ),
            kv(&[
                ("user", "al@ce"),
                ("password", "s:cret"),
                ("host", "db1,::1"),
                ("port", "5433,5434"),
                ("dbname", "my db"),
                ("sslmode", "verify-full"),
                ("connect_timeout", "3"),
            ])
        );
        assert_eq!(
            pairs("postgres://%2Fvar%2Frun%2Fpostgresql/postgres?ssl=true"),
            kv(&[
                ("host", "/var/run/postgresql"),
                ("dbname", "postgres"),
                ("sslmode", "require")
            ])
        );
        assert_eq!(pairs("postgresql://"), kv(&[]));
        assert_eq!(pairs("postgresql:///db"), kv(&[("dbname", "db")]));
        assert!(scan("postgresql://h/db?x%zz=1").1.is_some());
    }

    #[test]
    fn a_secret_written_into_the_string_is_found_and_nothing_else() {
        let mut failed = Vec::new();
        for (given, found) in [
            ("host=db password=secret user=u", Some("password")),
            ("sslpassword=k host=x", Some("sslpassword")),
            ("postgresql://u:secret@h/db", Some("password")),
            ("postgresql://u@h/db?password=two", Some("password")),
            ("host=db user=u passfile=/etc/pgpass", None),
            ("service=reload", None),
            ("password=", None),
            ("postgresql://u@h/db", None),
            ("", None),
        ] {
            if written_secret(given) != found {
                failed.push(format!("{given}: {:?}", written_secret(given)));
            }
        }
        assert!(failed.is_empty(), "{failed:#?}");
    }

    #[test]
    fn redact_hides_every_password_and_nothing_else() {
        for (given, shown) in [
            (
                "host=db password=secret user=u",
                "host=db password=*** user=u",
            ),
            ("password = 'a b\\' c' host=x", "password = *** host=x"),
            ("sslpassword=k password=p", "sslpassword=*** password=***"),
            ("host=db user=u", "host=db user=u"),
            ("password=", "password="),
            ("bogus password=secret host", "bogus password=*** host"),
            ("password='unterminated secret", "password=***"),
            ("postgresql://u:secret@h/db", "postgresql://u:***@h/db"),
            (
                "postgresql://u:s%40c@h:1/db?password=two&x=1",
                "postgresql://u:***@h:1/db?password=***&x=1",
            ),
            ("postgresql://u@h/db", "postgresql://u@h/db"),
            ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"),
        ] {
            assert_eq!(redact(given), shown, "{given}");
        }
    }

    fn env(v: &[(&str, &str)]) -> Env {
        Env(Some(kv(v)))
    }

    #[test]
    fn defaults_come_from_the_service_then_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("svc.conf");
        std::fs::write(&file, "[prod]\nhost=svc-host\nport=6000\nuser=svc\n").unwrap();
        let e = env(&[
            ("PGSERVICEFILE", file.to_str().unwrap()),
            ("PGPORT", "7000"),
            ("PGUSER", "envuser"),
            ("PGDATABASE", "envdb"),
            ("PGSSLMODE", "verify-ca"),
        ]);
        let p = Params::resolve("service=prod user=given", &e).unwrap();
        assert_eq!(p.get("host"), Some("svc-host"));
        assert_eq!(p.user().unwrap(), "given");
        assert_eq!(p.dbname().unwrap(), "envdb");
        assert_eq!(p.sslmode().unwrap(), SslMode::VerifyCa);
        assert_eq!(p.hosts().unwrap()[0].port, 6000);
        let e2 = env(&[
            ("PGSERVICEFILE", file.to_str().unwrap()),
            ("PGSERVICE", "prod"),
        ]);
        assert_eq!(Params::resolve("", &e2).unwrap().get("user"), Some("svc"));
        let err = Params::resolve("service=none", &e).unwrap_err();
        assert!(err.starts_with("no service \"none\""), "{err}");
        std::fs::write(&file, "[prod]\nhost = x\n").unwrap();
        let err = Params::resolve("service=prod", &e).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn hosts_ports_and_sockets() {
        let e = env(&[]);
        let p = Params::resolve("host=a,/run/pg,b hostaddr=,,127.0.0.2 port=1,2,3", &e);
        assert_eq!(p.unwrap().hosts().unwrap().len(), 3);
        let p = Params::resolve("host=a,b hostaddr=127.0.0.1", &e).unwrap();
        assert!(p.hosts().is_err());
        let p = Params::resolve("host=a,/run/pg port=1,2", &e).unwrap();
        let hosts = p.hosts().unwrap();
        assert_eq!(hosts[0].host, Host::Tcp("a".into()));
        assert_eq!(hosts[1].host, Host::Unix("/run/pg".into()));
        assert_eq!(hosts[1].port, 2);
        assert_eq!(hosts[1].to_string(), "/run/pg/.s.PGSQL.2");
        let p = Params::resolve("hostaddr=127.0.0.1", &e).unwrap();
        assert_eq!(p.hosts().unwrap()[0].host, Host::Tcp("127.0.0.1".into()));
        let p = Params::resolve("", &e).unwrap();
        assert!(matches!(p.hosts().unwrap()[0].host, Host::Unix(_)));
        assert_eq!(p.sslmode().unwrap(), SslMode::Prefer);
        assert!(Params::resolve("port=x", &e).unwrap().hosts().is_err());
        assert!(
            Params::resolve("sslmode=bogus", &e)
                .unwrap()
                .sslmode()
                .is_err()
        );
        let p = Params::resolve(
            "",
            &env(&[("PGHOST", "db"), ("PGUSER", "u"), ("PGPASSWORD", "s")]),
        );
        assert_eq!(p.unwrap().describe(), "host=db port=5432 user=u dbname=u");
        let err = Params::resolve("hots=x", &e).unwrap_err();
        assert_eq!(err, "invalid connection option \"hots\"");
    }
}
