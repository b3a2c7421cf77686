//! `pgca revoke` and `pgca crl`.

use clap::Args;

use super::Report;

/// `pgca revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// A role, a server name, or a serial (hex, as `pgca list` shows it)
    #[arg(value_name = "NAME|SERIAL")]
    pub target: String,

    /// Why: keyCompromise, cessationOfOperation, affiliationChanged, superseded,
    /// privilegeWithdrawn, cACompromise or unspecified
    #[arg(long, value_name = "REASON", default_value = "unspecified")]
    pub reason: String,

    /// Revoke only the name's current certificate; its other unexpired certificates stay
    /// valid and are listed [default: every unexpired certificate of the name]
    #[arg(long, conflicts_with = "all")]
    pub only_current: bool,

    /// Revoke every certificate of the name, expired ones too
    #[arg(long)]
    pub all: bool,

    /// Time until the CRL's nextUpdate [default: the CRL's period so far, or 30d]
    #[arg(long, value_name = "DUR")]
    pub next_update: Option<String>,

    #[command(flatten)]
    pub out: Report,
}

/// `pgca crl`.
#[derive(Debug, Args)]
pub struct CrlArgs {
    /// Time until nextUpdate [default: each CRL's period so far, or 30d]
    #[arg(long, value_name = "DUR")]
    pub next_update: Option<String>,

    #[command(flatten)]
    pub out: Report,
}
