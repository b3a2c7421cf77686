//! Reading the CA directory: `pgca list`, and the monitoring commands `check` and `verify`.

use std::path::PathBuf;

use clap::Args;

use super::Quiet;

/// `pgca list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array instead of a table
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,

    #[command(flatten)]
    pub out: Quiet,
}

/// `pgca check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Due when less than DUR is left (e.g. 30d) instead of a third of the lifetime
    #[arg(long, value_name = "DUR")]
    pub within: Option<String>,

    /// Print every certificate as JSON (state, not-after, seconds left, path)
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,

    /// Also write a node_exporter textfile (atomically) with expiry and state per certificate
    #[arg(long, value_name = "FILE")]
    pub prometheus: Option<PathBuf>,

    /// Also probe this running server (repeatable): what it serves counts in the status
    #[arg(long = "probe", value_name = "HOST[:PORT]")]
    pub probes: Vec<String>,

    /// Give up on a probed server after DUR in all: resolving, connecting, SSLRequest and the
    /// TLS handshake end within it, however slowly the server answers
    #[arg(long, value_name = "DUR", default_value = "5s")]
    pub probe_timeout: String,
    /// Report a due certificate whose key was made elsewhere (pgca sign) and first certified
    /// more than DUR ago as "due: needs a new CSR": renew only re-signs such a key
    #[arg(long, value_name = "DUR")]
    pub max_key_age: Option<String>,

    /// Print nothing, UNKNOWN's reason on stderr: the exit status tells
    #[arg(short, long)]
    pub quiet: bool,
}

/// `pgca verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Print the report as JSON
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,

    /// Print nothing, UNKNOWN's reason on stderr: the exit status tells
    #[arg(short, long)]
    pub quiet: bool,
}
