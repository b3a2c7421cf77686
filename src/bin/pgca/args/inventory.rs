//! `pgca inventory export`: the inventory as one portable file.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Report;

/// `pgca inventory ...`.
#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// Write every committed record of the inventory to FILE: a header line (the format,
    /// the number of records, the SHA-256 of their lines), then one JSON object per record,
    /// as the inventory holds them. The same inventory always exports to the same bytes.
    /// FILE is made 0600, replaced only with --force, and its directory must exist.
    Export(InventoryExportArgs),
}

/// `pgca inventory export`.
#[derive(Debug, Args)]
pub struct InventoryExportArgs {
    /// The file to write
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Replace FILE if it exists (atomically; a link at its name is replaced, not followed)
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub out: Report,
}
