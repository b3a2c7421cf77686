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
            let db = ctx.inventory_db()?;
            let dir = ctx.dir();
            // Into a database, the CA directory's certificates and CRLs go along, when there
            // is one here.
            let files_from = match (&db, &dir) {
                (Some(_), Ok(d)) if d.is_dir() => Some(d.clone()),
                _ => None,
            };
            let into = match db {
                Some(db) => pgca::ImportTarget::Db(db),
                None => pgca::ImportTarget::Dir(dir?),
            };
            let mut req = pgca::ImportRequest::new(&a.file, into);
            req.files_from = files_from;
            if let Some(w) = ctx.wait() {
                req.wait = w;
            }
            let done = pgca::import_inventory(&req)?;
            render::print(
                Format::of(&a.out),
                || {
                    format!(
                        "imported {} records into {} (sha256 {}){}\n",
                        done.header.events,
                        done.target,
                        done.header.sha256,
                        match done.files {
                            0 => String::new(),
                            n => format!(", with {n} certificate and CRL files"),
                        },
                    )
                },
                || render::inventory_imported_json(&done),
            );
            Ok(())
        }
    }
}
