//! `pgca repair`: the way back from a damaged inventory.

use clap::Args;

use super::Report;

/// `pgca repair`.
#[derive(Debug, Args)]
pub struct RepairArgs {
    /// Write the repaired inventory (the damaged one is kept beside it as
    /// inventory.jsonl.damaged-TIME); without it, only show what would be added
    #[arg(long)]
    pub write: bool,

    #[command(flatten)]
    pub out: Report,
}
