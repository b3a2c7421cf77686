//! The request log: one JSON line per request (time, peer, method, path, status, identity,
//! serial issued, error, milliseconds), on stderr or appended to `--log FILE`, and one per
//! change of the TLS configuration (`"event":"tls-reloaded"` with the serial now served, or
//! `"event":"tls-reload-failed"` with why and the serial still served), and with the inventory
//! in a database one per new reason the CA files could not be brought up to date with it
//! (`"event":"follow-failed"`). It never holds a token's secret, a request body or a key.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// Where the lines go (clones write to the same place).
#[derive(Clone)]
pub(crate) struct RequestLog {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
}

/// One request, as logged.
#[derive(Serialize)]
pub(crate) struct LogLine<'a> {
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    pub peer: String,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
    pub ms: f64,
}

/// A change of the TLS configuration, as logged.
#[derive(Serialize)]
struct TlsLine<'a> {
    #[serde(with = "time::serde::rfc3339")]
    at: time::OffsetDateTime,
    event: &'static str,
    serial: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// A failure to follow the inventory database, as logged.
#[derive(Serialize)]
struct FollowLine<'a> {
    #[serde(with = "time::serde::rfc3339")]
    at: time::OffsetDateTime,
    event: &'static str,
    error: &'a str,
}

impl RequestLog {
    pub(crate) fn new(out: Box<dyn Write + Send>) -> RequestLog {
        RequestLog {
            out: Arc::new(Mutex::new(out)),
        }
    }

    /// Writes the line of a TLS configuration change.
    pub(crate) fn tls(&self, change: &crate::serve::tls_source::TlsChange) {
        use crate::serve::tls_source::TlsChange;
        let at = crate::model::timefmt::now();
        let line = match change {
            TlsChange::Rebuilt(serial) => TlsLine {
                at,
                event: "tls-reloaded",
                serial: serial.to_string(),
                error: None,
            },
            TlsChange::Failed { reason, serial } => TlsLine {
                at,
                event: "tls-reload-failed",
                serial: serial.to_string(),
                error: Some(reason),
            },
        };
        self.write_json(&line);
    }

    /// Writes the line of a failure to follow the inventory database ([`crate::serve::run`]).
    pub(crate) fn follow_failed(&self, reason: &str) {
        self.write_json(&FollowLine {
            at: crate::model::timefmt::now(),
            event: "follow-failed",
            error: reason,
        });
    }

    /// Writes one line; a failing log never fails the request.
    pub(crate) fn write(&self, line: &LogLine<'_>) {
        self.write_json(line);
    }

    fn write_json(&self, line: &impl Serialize) {
        let mut text = serde_json::to_vec(line).unwrap_or_default();
        text.push(b'\n');
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let _ = out.write_all(&text);
        let _ = out.flush();
    }
}
