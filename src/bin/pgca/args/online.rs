//! `pgca token` (and, as they land, `serve`, `enroll`, `agent`): online enrollment.

use clap::Args;

use super::Report;

/// `pgca token`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("kind").required(true).args(["server", "client"])))]
pub struct TokenArgs {
    /// The server's host names (the certificate carries those its request asks for), or the
    /// roles (one token each)
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,

    /// A token enrolling a server certificate
    #[arg(long)]
    pub server: bool,

    /// Tokens enrolling client certificates, one per role
    #[arg(long)]
    pub client: bool,

    /// How long the token is accepted (at most 7d)
    #[arg(long, value_name = "DUR", default_value = "15m")]
    pub ttl: String,

    /// The validity of the certificate it enrolls
    #[arg(long, value_name = "DUR", default_value = "365d")]
    pub validity: String,

    #[command(flatten)]
    pub out: Report,
}

/// `pgca serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0: a free port, printed at start)
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: String,

    /// The server certificate (of this CA directory) to serve TLS with: its first host name
    #[arg(long, value_name = "NAME")]
    pub tls_name: String,

    /// Renew a certificate for the key it already certifies [default: a new key each time]
    #[arg(long)]
    pub allow_same_key: bool,

    /// How long after its end an expired certificate may still renew itself [default: none]
    #[arg(long, value_name = "DUR")]
    pub grace: Option<String>,

    /// The largest request body accepted, in bytes
    #[arg(long, value_name = "BYTES", default_value = "65536")]
    pub max_body: usize,

    /// How long a client may take for its TLS handshake, a request's headers (or idling
    /// between requests) and its body; a slower one is dropped
    #[arg(long, value_name = "DUR", default_value = "10s")]
    pub client_timeout: String,

    /// Connections open at once
    #[arg(long, value_name = "N", default_value = "512")]
    pub max_connections: usize,

    /// Requests per minute per token or certificate
    #[arg(long, value_name = "N", default_value = "120")]
    pub rate: u32,

    /// Append the request log (one JSON line per request) here instead of stderr
    #[arg(long, value_name = "FILE")]
    pub log: Option<std::path::PathBuf>,
}
