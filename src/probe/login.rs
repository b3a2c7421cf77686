//! `probe --role`: a StartupMessage as the role over the open TLS session, the server's verdict
//! (AuthenticationOk then ReadyForQuery, an ErrorResponse, or another authentication method),
//! then Terminate. Every read and write ends by the target's deadline, the one its connection
//! and handshake took their time from.

use std::io::{Read, Write};

use rustls::ClientConnection;
use serde::Serialize;

use crate::probe::deadline::{Bounded, Deadline, Within};

/// The protocol version of a StartupMessage: 3.0.
const PROTOCOL_3_0: u32 = 196608;

/// The largest backend message read; anything longer is not a login answer.
const MAX_MESSAGE: usize = 1 << 20;

/// What the server made of the role's certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Login {
    /// The role logged in as.
    pub role: String,
    /// The database asked for.
    pub dbname: String,
    /// Whether the server accepted the login (AuthenticationOk, then ReadyForQuery).
    pub accepted: bool,
    /// Why not: the server's own text, or what went wrong on the way, one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}

/// The StartupMessage: length, protocol 3.0, `user`, `database`, a closing NUL.
pub fn startup_message(role: &str, dbname: &str) -> Vec<u8> {
    let mut body = PROTOCOL_3_0.to_be_bytes().to_vec();
    for (k, v) in [("user", role), ("database", dbname)] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    msg.extend_from_slice(&body);
    msg
}

/// The name of an authentication request other than AuthenticationOk.
fn auth_method(code: u32, body: &[u8]) -> String {
    match code {
        2 => "Kerberos V5".into(),
        3 => "a cleartext password".into(),
        5 => "an MD5 password".into(),
        7 => "GSSAPI".into(),
        9 => "SSPI".into(),
        10 => {
            let mechs: Vec<String> = body
                .split(|&b| b == 0)
                .filter(|m| !m.is_empty())
                .map(|m| String::from_utf8_lossy(m).into_owned())
                .collect();
            format!("SASL ({})", mechs.join(", "))
        }
        other => format!("authentication method {other}"),
    }
}

/// The `M` field of an ErrorResponse (type byte, cstring, …, a closing 0), or all of it.
pub fn error_message(body: &[u8]) -> String {
    let mut fields = body.split(|&b| b == 0);
    let mut message = None;
    for f in fields.by_ref() {
        match f.split_first() {
            Some((b'M', text)) => {
                message = Some(String::from_utf8_lossy(text).into_owned());
                break;
            }
            Some(_) => {}
            None => break,
        }
    }
    message
        .unwrap_or_else(|| {
            "the server refused the login (an ErrorResponse without a message)".into()
        })
        .replace(['\n', '\r'], " ")
}

/// An I/O error on the session, one line: a TLS alert means the server refused the certificate.
fn io_text(e: &std::io::Error, deadline: &Deadline) -> String {
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => format!(
            "no answer within {} (the login was not answered)",
            Within(deadline.timeout())
        ),
        std::io::ErrorKind::UnexpectedEof => "the server closed the connection".into(),
        // In TLS 1.3 a server refuses a client certificate after the client's handshake, with
        // the startup message unread: its reset can overtake its alert.
        std::io::ErrorKind::ConnectionReset => {
            "TLS: the server reset the connection after the handshake (a refused client certificate looks like this when the reset overtakes the alert)".into()
        }
        _ => {
            let text = e.to_string().replace(['\n', '\r'], " ");
            if text.contains("alert") {
                format!("TLS: the server refused the client certificate ({text})")
            } else {
                format!("TLS: {text}")
            }
        }
    }
}

/// Logs in as `role` to `dbname` over the open session and ends it with Terminate, all by the
/// stream's deadline.
pub fn login(conn: &mut ClientConnection, stream: &mut Bounded, role: &str, dbname: &str) -> Login {
    let verdict = talk(conn, stream, role, dbname);
    // Terminate, best effort (not once the deadline has passed), and close_notify.
    let mut tls = rustls::Stream::new(conn, stream);
    let _ = tls
        .write_all(&[b'X', 0, 0, 0, 4])
        .and_then(|()| tls.flush());
    crate::probe::tls::close(conn, stream);
    Login {
        role: role.to_string(),
        dbname: dbname.to_string(),
        accepted: verdict.is_ok(),
        refusal: verdict.err(),
    }
}

/// The exchange: `Ok` when the server is ready for queries as the role.
fn talk(
    conn: &mut ClientConnection,
    stream: &mut Bounded,
    role: &str,
    dbname: &str,
) -> Result<(), String> {
    let deadline = stream.deadline();
    let mut tls = rustls::Stream::new(conn, stream);
    tls.write_all(&startup_message(role, dbname))
        .and_then(|()| tls.flush())
        .map_err(|e| io_text(&e, &deadline))?;
    let mut authenticated = false;
    loop {
        let mut head = [0u8; 5];
        tls.read_exact(&mut head)
            .map_err(|e| io_text(&e, &deadline))?;
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if !(4..=MAX_MESSAGE).contains(&len) {
            return Err(format!(
                "not PostgreSQL: a message {:?} of length {len}",
                char::from(head[0])
            ));
        }
        let mut body = vec![0u8; len - 4];
        tls.read_exact(&mut body)
            .map_err(|e| io_text(&e, &deadline))?;
        match head[0] {
            b'R' => {
                let code = body
                    .get(..4)
                    .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .ok_or("a short authentication request")?;
                if code == 0 {
                    authenticated = true;
                } else {
                    return Err(format!(
                        "server asked for {}, not certificate authentication",
                        auth_method(code, &body[4..])
                    ));
                }
            }
            b'E' => return Err(error_message(&body)),
            b'Z' if authenticated => return Ok(()),
            b'Z' => return Err("ready for query before authentication".into()),
            // ParameterStatus, BackendKeyData, NoticeResponse, NegotiateProtocolVersion.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_and_error_fields() {
        let m = startup_message("bob", "postgres");
        assert_eq!(&m[..4], &(m.len() as u32).to_be_bytes());
        assert_eq!(&m[4..8], &[0, 3, 0, 0]);
        assert_eq!(&m[8..], b"user\0bob\0database\0postgres\0\0");
        let e = b"SFATAL\0C28000\0Mrole \"bob\" does not exist\0\0";
        assert_eq!(error_message(e), "role \"bob\" does not exist");
        assert!(error_message(b"\0").contains("without a message"));
        assert_eq!(
            auth_method(10, b"SCRAM-SHA-256\0\0"),
            "SASL (SCRAM-SHA-256)"
        );
    }

    #[test]
    fn session_errors_are_one_line_and_say_what_they_mean() {
        use std::io::{Error, ErrorKind};
        let d = Deadline::after(std::time::Duration::from_secs(2));
        let reset = io_text(&Error::from(ErrorKind::ConnectionReset), &d);
        assert!(
            reset.starts_with("TLS: the server reset the connection"),
            "{reset}"
        );
        let alert = io_text(
            &Error::new(ErrorKind::InvalidData, "received fatal alert: UnknownCA"),
            &d,
        );
        assert_eq!(
            alert,
            "TLS: the server refused the client certificate (received fatal alert: UnknownCA)"
        );
        assert_eq!(
            io_text(&Error::from(ErrorKind::TimedOut), &d),
            "no answer within 2s (the login was not answered)"
        );
        let multi = io_text(&Error::other("a\nb"), &d);
        assert!(!multi.contains('\n'), "{multi}");
    }
}
