//! `pgca inventory export` and `import`: the inventory as one portable file, and back.

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

    /// Load an export into the inventory in use, which must hold no record: with --inventory
    /// (or $PGCA_INVENTORY) the database's pgca tables, else DIR/inventory.jsonl, created. The
    /// file's header (format, count, SHA-256) is checked before anything is written, and the
    /// load is one transaction (one batch in the file): all of it or nothing. Into a
    /// database, DIR's certificates and CRLs go along (pgca.files; never a key), each held to
    /// its record's SHA-256, so that serve hosts without a copy of DIR can answer with them.
    ///
    /// Moving a CA directory's inventory into PostgreSQL:
    ///   pgca inventory export /root/inventory.export
    ///   export PGCA_INVENTORY='host=db1 dbname=pgca sslmode=verify-full'
    ///   pgca inventory import /root/inventory.export
    ///   mv DIR/inventory.jsonl DIR/inventory.seal /root/
    /// and from then on every command with $PGCA_INVENTORY set (or --inventory).
    #[command(verbatim_doc_comment)]
    Import(InventoryImportArgs),
}

/// `pgca inventory import`.
#[derive(Debug, Args)]
pub struct InventoryImportArgs {
    /// The export to load (made by `pgca inventory export`)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    #[command(flatten)]
    pub out: Report,
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
