//! What `pgca serve` is told: where to listen, its TLS name, its limits and its renewal policy.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::online::renew::RenewPolicy;

/// The limits every connection and request is held to. A client that breaks one is dropped
/// (or answered 408, 413, 429) without holding up the others.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Limits {
    /// The largest request body accepted (a CSR and a token fit in a few kilobytes).
    pub max_body: usize,
    /// The TLS handshake must be done within this.
    pub handshake_timeout: Duration,
    /// A request's headers must arrive within this (also the idle time allowed between two
    /// requests on one connection).
    pub header_timeout: Duration,
    /// A request's body must arrive, and its answer be made, within this.
    pub request_timeout: Duration,
    /// A connection is closed after this, however busy.
    pub connection_lifetime: Duration,
    /// Connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Requests per minute allowed per identity (a token's id, a certificate's kind and name),
    /// not per address: many hosts share a NAT.
    pub per_identity_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 64 * 1024,
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            connection_lifetime: Duration::from_secs(300),
            max_connections: 512,
            per_identity_per_minute: 120,
        }
    }
}

/// `pgca serve`'s options.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServeOptions {
    /// The address to listen on (`127.0.0.1:8443`; port 0 picks a free one).
    pub listen: SocketAddr,
    /// The server certificate (of the CA directory's server CA) to serve TLS with.
    pub tls_name: String,
    /// Connection and request limits.
    pub limits: Limits,
    /// What renewals are allowed.
    pub policy: RenewPolicy,
    /// Where the request log goes (one JSON line per request); `None` for stderr.
    pub log: Option<PathBuf>,
}

impl ServeOptions {
    /// Serving `tls_name` on `listen`, with the default limits and policy, logging to stderr.
    pub fn new(listen: SocketAddr, tls_name: impl Into<String>) -> ServeOptions {
        ServeOptions {
            listen,
            tls_name: tls_name.into(),
            limits: Limits::default(),
            policy: RenewPolicy::default(),
            log: None,
        }
    }
}
