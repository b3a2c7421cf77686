//! `pgca passwd`: the CA keys' passphrase.

use std::path::PathBuf;

use clap::Args;

use super::Report;

/// `pgca passwd`.
#[derive(Debug, Args)]
pub struct PasswdArgs {
    /// Which CA key: server or client [default: both]
    #[arg(value_name = "WHICH", value_parser = ["server", "client"])]
    pub which: Option<String>,

    /// Read the new passphrase from FILE (first line; root's or yours, mode 0600) instead of
    /// asking
    #[arg(long, value_name = "FILE")]
    pub new_passphrase_file: Option<PathBuf>,

    /// Store the key(s) unencrypted
    #[arg(long, conflicts_with = "new_passphrase_file")]
    pub no_passphrase: bool,

    #[command(flatten)]
    pub out: Report,
}
