//! `pgca rollover start|switch|finish|status`: a CA replaced in three phases.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::Report;

/// Which CA a rollover replaces.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SideArg {
    /// The server CA (clients trust it: sslrootcert, root.crt)
    Server,
    /// The client CA (servers trust it: ssl_ca_file)
    Client,
}

impl SideArg {
    /// The library's side.
    pub fn side(self) -> pgca::Side {
        match self {
            SideArg::Server => pgca::Side::Server,
            SideArg::Client => pgca::Side::Client,
        }
    }
}

/// `pgca rollover ...`.
#[derive(Debug, Subcommand)]
pub enum RolloverCommand {
    /// Phase 1, trust both: a new CA beside the old one; DIR/SIDE-ca.crt and the CRL become
    /// the bundle of both, so every trust file written from now on trusts both. Then run
    /// pgca renew (it deploys and installs the bundles, and runs your reload hook). The old CA
    /// still signs, so peers not yet updated keep working.
    Start(RolloverStartArgs),
    /// Phase 2, issue from the new CA: every certificate of the side is signed by the new CA
    /// from now on, and every current one of the old CA is due at once. Then run pgca renew
    /// (it re-issues them, keeping names, SANs, validity and keys made elsewhere, deploys and
    /// installs them, and runs your reload hook).
    Switch(RolloverSideArgs),
    /// Phase 3, retire the old CA: refused, naming each, while a current certificate, a
    /// recorded deployment or install, or a server of DIR/probes (probed now) still depends on
    /// the old CA. Then a last CRL, the old CA's files into DIR/ca-archive/, and the bundles
    /// hold the new CA alone: run pgca renew to deploy and install them.
    Finish(RolloverFinishArgs),
    /// Per side: the phase, since when, how many certificates, deployments and installs are
    /// on the old and on the new CA, and what keeps finish from passing
    Status(RolloverStatusArgs),
}

/// `pgca rollover start`.
#[derive(Debug, Args)]
pub struct RolloverStartArgs {
    /// Which CA
    #[arg(value_enum)]
    pub side: SideArg,

    /// Key type of the new CA [default: the old CA's]
    #[arg(long, value_name = "TYPE")]
    pub key_type: Option<String>,

    /// Lifetime of the new CA [default: 10y]
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub ca_validity: Option<String>,

    /// Make the new CA's key inside this PKCS#11 token (label or pkcs11: URI); its user PIN
    /// is read like the passphrase [default: where the old CA's key is: its token, or a key
    /// file encrypted like the old one]
    #[arg(long, value_name = "LABEL|URI")]
    pub pkcs11_token: Option<String>,

    /// The token's PKCS#11 module, as for init
    #[arg(long, value_name = "PATH", requires = "pkcs11_token")]
    pub pkcs11_module: Option<PathBuf>,

    /// The old CA is compromised: trust both and issue from the new CA in one step (check
    /// stays CRITICAL until finish)
    #[arg(long)]
    pub now: bool,

    /// Replace the issuing intermediate (init --intermediate) under the same root: no trust
    /// file changes, the CRL file gains the new intermediate's CRL
    #[arg(long, conflicts_with_all = ["key_type", "pkcs11_token"])]
    pub intermediate: bool,

    #[command(flatten)]
    pub out: Report,
}

/// `pgca rollover switch`.
#[derive(Debug, Args)]
pub struct RolloverSideArgs {
    /// Which CA
    #[arg(value_enum)]
    pub side: SideArg,

    #[command(flatten)]
    pub out: Report,
}

/// `pgca rollover finish`.
#[derive(Debug, Args)]
pub struct RolloverFinishArgs {
    /// Which CA
    #[arg(value_enum)]
    pub side: SideArg,

    /// Limit on each probe of DIR/probes (e.g. 5s)
    #[arg(long, value_name = "DUR", default_value = "5s")]
    pub timeout: String,

    #[command(flatten)]
    pub out: Report,
}

/// `pgca rollover status`.
#[derive(Debug, Args)]
pub struct RolloverStatusArgs {
    /// Print the status as JSON
    #[arg(long)]
    pub json: bool,
}
