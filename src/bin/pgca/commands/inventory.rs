//! `pgca inventory export`: one library call, printed.

use pgca::Result;

use super::Context;
use crate::args::InventoryCommand;
use crate::render::{self, Format};

/// `pgca inventory ...`.
pub fn run(ctx: &Context, c: &InventoryCommand) -> Result<()> {
    match c {
        InventoryCommand::Export(a) => {
            let done = ctx.open()?.export_inventory(&a.file, a.force)?;
            render::print(
                Format::of(&a.out),
                || {
                    format!(
                        "exported {} records to {} (sha256 {})\n",
                        done.header.events,
                        pgca::model::text::escape_path(&done.path),
                        done.header.sha256
                    )
                },
                || render::inventory_exported_json(&done),
            );
            Ok(())
        }
    }
}
