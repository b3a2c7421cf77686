//! `pgca probe`: what running servers serve.

use std::path::PathBuf;

use clap::Args;

/// `pgca probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Servers to probe: HOST, HOST:PORT or [IPV6]:PORT (default port 5432)
    #[arg(value_name = "HOST[:PORT]", required = true)]
    pub targets: Vec<String>,

    /// The server name to send and to match the certificate against, instead of each HOST
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,

    /// Give up on a target after DUR in all (e.g. 2s): resolving, connecting, SSLRequest, the TLS
    /// handshake and the --role login end within it, however slowly the server answers
    #[arg(long, value_name = "DUR", default_value = "5s")]
    pub timeout: String,

    /// Log in as ROLE with its pgca client certificate and report whether the server accepts it
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,

    /// The database of the --role login (default postgres)
    #[arg(long, value_name = "NAME", requires = "role")]
    pub dbname: Option<String>,

    /// Start TLS at once with ALPN "postgresql" (sslnegotiation=direct, PostgreSQL 17+)
    /// instead of PostgreSQL's SSLRequest
    #[arg(long)]
    pub direct: bool,

    /// Also write a node_exporter textfile (atomically): status, served serial and expiry per
    /// target
    #[arg(long, value_name = "FILE")]
    pub prometheus: Option<PathBuf>,

    /// Print every target as JSON (TLS version, chain, findings)
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,

    /// Print nothing, UNKNOWN's reason on stderr: the exit status tells
    #[arg(short, long)]
    pub quiet: bool,
}
