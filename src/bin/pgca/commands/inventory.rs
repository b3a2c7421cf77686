//! `pgca inventory export` and `import`: one library call each, printed.

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
        InventoryCommand::Import(a) => {
            let into = match ctx.inventory_db()? {
                Some(db) => pgca::ImportTarget::Db(db),
                None => pgca::ImportTarget::Dir(ctx.dir()?),
            };
            let mut req = pgca::ImportRequest::new(&a.file, into);
            if let Some(w) = ctx.wait() {
                req.wait = w;
            }
            let done = pgca::import_inventory(&req)?;
            render::print(
                Format::of(&a.out),
                || {
                    format!(
                        "imported {} records into {} (sha256 {})\n",
                        done.header.events, done.target, done.header.sha256
                    )
                },
                || render::inventory_imported_json(&done),
            );
            Ok(())
        }
    }
}
