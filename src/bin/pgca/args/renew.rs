//! `pgca renew`: due certificates renewed (for cron), with its hook.

use std::path::PathBuf;

use clap::Args;

/// `pgca renew`.
#[derive(Debug, Args)]
pub struct RenewArgs {
    /// Renew only these (roles or server names)
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Due when less than DUR is left (e.g. 30d) instead of a third of the lifetime
    #[arg(long, value_name = "DUR")]
    pub within: Option<String>,

    /// Renew whether due or not
    #[arg(long)]
    pub force: bool,

    /// Keep the current key (a new certificate and serial for the same key)
    #[arg(long)]
    pub reuse_key: bool,

    /// Do not re-sign a key made elsewhere (pgca sign) first certified more than DUR ago: it
    /// fails with "needs a new CSR" (keys made elsewhere are otherwise always re-signed)
    #[arg(long, value_name = "DUR")]
    pub max_key_age: Option<String>,

    /// Also revoke each replaced certificate (reason superseded)
    #[arg(long)]
    pub revoke_old: bool,

    /// Leave the client installs (client-install: ~/.postgresql, --to DIR) as they are; by
    /// default a renewed client certificate, and the server CA's new CRL, are installed again
    /// wherever they were, for the same owner
    #[arg(long)]
    pub no_install: bool,

    /// The passphrase of encrypted client keys (issue-client --encrypt-key; first line of FILE,
    /// root's or yours, mode 0600): needed to renew them, and the new keys are encrypted with it
    #[arg(long, value_name = "FILE")]
    pub key_passphrase_file: Option<PathBuf>,

    /// Print nothing when nothing is due (renewals and failures are still printed: cron
    /// mails them)
    #[arg(long, short, conflicts_with = "json")]
    pub quiet: bool,

    /// Print what was renewed (and what failed) as JSON, also when nothing was due
    #[arg(long)]
    pub json: bool,

    /// Wait a random 0..SECS seconds first, so a fleet of cron jobs does not start at once
    #[arg(long, value_name = "SECS")]
    pub random_delay: Option<u64>,

    /// After renewing anything, run CMD with its ARGs (no shell; must come last), with
    /// PGCA_RENEWED set to the renewed certificates, one KIND/NAME a line, and PGCA_DIR;
    /// PGCA_PASSPHRASE and PGCA_PASSPHRASE_FILE are removed from its environment
    #[arg(long, value_name = "CMD", num_args = 1.., allow_hyphen_values = true)]
    pub exec: Vec<String>,
}
