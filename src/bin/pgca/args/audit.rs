//! `pgca audit` and `pgca roles`: a server's connection-security checklist.

use std::path::PathBuf;

use clap::Args;

/// `pgca audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// What to audit: a data directory or postgresql.conf (offline), or a running server: a
    /// libpq connection string ("host=/var/run/postgresql user=postgres", "service=db",
    /// "postgresql://audit@db.example.com/postgres?sslmode=verify-full"). Several are audited
    /// at once. Default: a connection from the libpq environment (PGHOST, PGUSER, ...)
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Probe the served chain at HOST:PORT (default: where the target listens)
    #[arg(long, value_name = "HOST:PORT")]
    pub probe: Option<String>,

    /// Give up on connecting, each query and the probe after DUR
    #[arg(long, value_name = "DUR", default_value = "10s")]
    pub timeout: String,

    /// The widest IPv4 range (prefix length) a password-type pg_hba.conf line may allow
    #[arg(long, value_name = "BITS", default_value_t = 16)]
    pub widest_ipv4: u8,

    /// The widest IPv6 range (prefix length) a password-type pg_hba.conf line may allow
    #[arg(long, value_name = "BITS", default_value_t = 48)]
    pub widest_ipv6: u8,

    /// Also write the findings as SARIF 2.1.0, one rule per check id, located at config files and
    /// lines (for code-scanning views of a configuration repository); mode 0600, replaced
    /// atomically; not written when a target could not be read
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,

    /// Also write one self-contained HTML page (nothing fetched): findings by severity, the TLS
    /// facts, a timeline of every certificate's and CA's expiry; as --sarif
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Print the report as JSON
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,

    /// Print nothing, UNKNOWN's reason on stderr: the exit status tells
    #[arg(short, long)]
    pub quiet: bool,
}

/// `pgca roles`.
#[derive(Debug, Args)]
pub struct RolesArgs {
    /// The running server: a libpq connection string or service (as for pgca audit)
    #[arg(value_name = "TARGET")]
    pub target: String,

    /// Revoke the certificates of roles that do not exist, write the client CRL and deploy it
    /// to every recorded data directory, in one step
    #[arg(long)]
    pub revoke_orphans: bool,

    /// Issue client certificates for the LOGIN roles matching PATTERN (`*` and `?` wildcards)
    /// that log in only by certificate and have none
    #[arg(long, value_name = "PATTERN")]
    pub issue_missing: Option<String>,

    /// Give up on connecting and each query after DUR
    #[arg(long, value_name = "DUR", default_value = "10s")]
    pub timeout: String,

    /// Print the report as JSON
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,

    /// Print nothing, UNKNOWN's reason on stderr: the exit status tells
    #[arg(short, long)]
    pub quiet: bool,
}
