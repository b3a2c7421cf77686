//! `pgca inspect`: a certificate or CRL file shown.

use std::path::PathBuf;

use clap::Args;

use super::Quiet;

/// `pgca inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A PEM certificate file
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Print JSON instead of text
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,

    #[command(flatten)]
    pub out: Quiet,
}
