//! PostgreSQL's way into TLS: a TCP connection, the SSLRequest message (int32 length 8, int32
//! 80877103), and the server's one-byte answer, `S` (go ahead) or `N` (no TLS here). Resolving,
//! connecting and the SSLRequest take their time from the target's one [`Deadline`].

use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::str::FromStr;

use crate::probe::deadline::{Bounded, Deadline, Within};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::names::HostName;
use crate::model::status::Status;

/// PostgreSQL's default port.
pub const DEFAULT_PORT: u16 = 5432;

/// The SSLRequest message: length 8, then the code 1234 << 16 | 5679.
pub const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// A server to probe: `HOST`, `HOST:PORT`, `[IPV6]:PORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The host as given (a DNS name or an IP address), what the name match is judged against.
    pub host: String,
    /// The TCP port.
    pub port: u16,
}

impl FromStr for Target {
    type Err = Error;

    fn from_str(s: &str) -> Result<Target> {
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            // [v6] or [v6]:port
            let (h, after) = rest.split_once(']').ok_or_else(|| Error::InvalidHost {
                name: s.to_string(),
                reason: "missing ']'",
            })?;
            match after.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None if after.is_empty() => (h, None),
                None => {
                    return Err(Error::InvalidHost {
                        name: s.to_string(),
                        reason: "expected ':PORT' after ']'",
                    });
                }
            }
        } else if s.matches(':').count() == 1 {
            let (h, p) = s.split_once(':').expect("one colon");
            (h, Some(p))
        } else {
            (s, None)
        };
        // Checked as a host name (DNS name or IP address), no wildcard.
        let parsed: HostName = host.parse()?;
        if matches!(&parsed, HostName::Dns(d) if d.starts_with('*')) {
            return Err(Error::InvalidHost {
                name: host.to_string(),
                reason: "a wildcard cannot be probed",
            });
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| Error::InvalidPort(p.to_string()))?,
            None => DEFAULT_PORT,
        };
        Ok(Target {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Why a probe got no certificate to judge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "kebab-case")]
pub enum Failure {
    /// The name did not resolve, or the connection was refused (UNKNOWN).
    Unreachable(String),
    /// No answer within the timeout, which bounds the whole exchange with the target (UNKNOWN):
    /// `no answer within 2s (the TLS handshake was not finished)`.
    Timeout(String),
    /// The answer to SSLRequest was neither `S` nor `N` (UNKNOWN).
    NotPostgres(String),
    /// The server answered `N`: it does not offer TLS (CRITICAL).
    TlsRefused,
    /// The TLS handshake failed (CRITICAL).
    Handshake(String),
}

impl Failure {
    /// Its Nagios status.
    pub fn status(&self) -> Status {
        match self {
            Failure::TlsRefused | Failure::Handshake(_) => Status::Critical,
            _ => Status::Unknown,
        }
    }

    /// The target's deadline passed with `unfinished` not done (`the TLS handshake was not
    /// finished`).
    pub(crate) fn timed_out(deadline: &Deadline, unfinished: &str) -> Failure {
        Failure::Timeout(format!(
            "no answer within {} ({unfinished})",
            Within(deadline.timeout())
        ))
    }

    /// An I/O error while talking to the server: the deadline passed with `unfinished` not
    /// done, or `what` went wrong.
    pub(crate) fn io(
        e: &std::io::Error,
        deadline: &Deadline,
        what: &str,
        unfinished: &str,
    ) -> Failure {
        match e.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                Failure::timed_out(deadline, unfinished)
            }
            _ => Failure::Unreachable(format!("{what}: {e}")),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Unreachable(why) => f.write_str(why),
            Failure::Timeout(why) => f.write_str(why),
            Failure::NotPostgres(why) => write!(f, "not PostgreSQL: {why}"),
            Failure::TlsRefused => {
                f.write_str("the server does not offer TLS (answered N to SSLRequest; ssl = off?)")
            }
            Failure::Handshake(why) => write!(f, "TLS handshake failed: {why}"),
        }
    }
}

/// Connects to the target by `deadline` (every address it resolves to, in turn, within the time
/// left), and hands back the stream bounded by the same deadline: every read and write after
/// this ends by it too.
pub fn connect(target: &Target, deadline: Deadline) -> std::result::Result<Bounded, Failure> {
    let addrs = resolve(target, &deadline)?;
    let mut last = Failure::Unreachable(format!("{} resolves to no address", target.host));
    for addr in addrs {
        let Some(left) = deadline.left() else {
            return Err(Failure::timed_out(&deadline, "no TCP connection"));
        };
        match TcpStream::connect_timeout(&addr, left) {
            Ok(stream) => {
                stream.set_nodelay(true).map_err(|e| {
                    Failure::io(
                        &e,
                        &deadline,
                        "cannot set socket options",
                        "no TCP connection",
                    )
                })?;
                return Ok(Bounded::new(stream, deadline));
            }
            Err(e) => {
                last = Failure::io(
                    &e,
                    &deadline,
                    &format!("cannot connect to {addr}"),
                    &format!("no TCP connection to {addr}"),
                )
            }
        }
    }
    Err(last)
}

/// The target's addresses. getaddrinfo has no timeout of its own (a dead DNS server holds it for
/// the resolver's retries, 10 s and more), so a name is resolved on a helper thread that is
/// abandoned at the deadline; an IP address is used as it is.
fn resolve(target: &Target, deadline: &Deadline) -> std::result::Result<Vec<SocketAddr>, Failure> {
    if let Ok(ip) = target.host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, target.port)]);
    }
    let (host, port) = (target.host.clone(), target.port);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let found = (host.as_str(), port)
            .to_socket_addrs()
            .map(Iterator::collect::<Vec<SocketAddr>>);
        let _ = tx.send(found);
    });
    let unresolved = format!("{} did not resolve", target.host);
    let Some(left) = deadline.left() else {
        return Err(Failure::timed_out(deadline, &unresolved));
    };
    match rx.recv_timeout(left) {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(Failure::Unreachable(format!(
            "cannot resolve {}: {e}",
            target.host
        ))),
        Err(_) => Err(Failure::timed_out(deadline, &unresolved)),
    }
}

/// Sends SSLRequest and reads the answer: `Ok(())` for `S`.
pub fn ssl_request(stream: &mut Bounded) -> std::result::Result<(), Failure> {
    let deadline = stream.deadline();
    let unanswered = "SSLRequest was not answered";
    stream
        .write_all(&SSL_REQUEST)
        .map_err(|e| Failure::io(&e, &deadline, "cannot send SSLRequest", unanswered))?;
    let mut answer = [0u8; 1];
    match stream.read(&mut answer) {
        Ok(0) => Err(Failure::NotPostgres(
            "the connection closed without an answer to SSLRequest".into(),
        )),
        Ok(_) => match answer[0] {
            b'S' => Ok(()),
            b'N' => Err(Failure::TlsRefused),
            b => Err(Failure::NotPostgres(format!(
                "answered {:?} to SSLRequest, expected 'S' or 'N'",
                char::from(b).escape_default().to_string()
            ))),
        },
        Err(e) => Err(Failure::io(
            &e,
            &deadline,
            "cannot read the answer to SSLRequest",
            unanswered,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        let t: Target = "db.example.com".parse().unwrap();
        assert_eq!((t.host.as_str(), t.port), ("db.example.com", 5432));
        let t: Target = "127.0.0.1:6543".parse().unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 6543));
        let t: Target = "[::1]:7".parse().unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.to_string()),
            ("::1", 7, "[::1]:7".into())
        );
        let t: Target = "::1".parse().unwrap();
        assert_eq!(t.port, 5432);
        for bad in ["", "a:0", "a:x", "a:70000", "*.x.com", "[::1", "a b"] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
    }
}
