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
