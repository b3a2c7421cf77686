//! `CaDir::export_inventory`: the inventory in use as one portable file
//! ([`crate::inventory::export`] has the format), written as every export is
//! ([`super::write`]): through a parent reached by the trust walk, mode 0600 from the first
//! byte, nothing replaced without `force`, nothing half-written on error.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::inventory::ExportHeader;
use crate::store::layout::CaDir;

/// What [`CaDir::export_inventory`] wrote.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct InventoryExported {
    /// The file.
    pub path: PathBuf,
    /// Its header: how many events, their SHA-256.
    pub header: ExportHeader,
}

/// The export's mode: the inventory is not secret, but it maps every name, host and token id.
const EXPORT_MODE: u32 = 0o600;

impl CaDir {
    /// Writes every committed record of the inventory to `out` (see
    /// [`crate::inventory::export`]), read under the shared lock and checked as every read is
    /// (its seal, and the directory against it). An existing `out` is refused without `force`.
    pub fn export_inventory(&self, out: &Path, force: bool) -> Result<InventoryExported> {
        let target = super::write::Target::open(out, force)?;
        let events = match self.inventory_db() {
            Some(db) => db.events()?,
            None => {
                let _lock = self.read_lock()?;
                self.read_inventory()?;
                crate::inventory::log::read_events(&crate::inventory::log::path_in(self.root()))?
            }
        };
        let (bytes, header) = crate::inventory::export::encode(&events);
        target.write_file(&bytes, EXPORT_MODE)?;
        Ok(InventoryExported {
            path: out.to_path_buf(),
            header,
        })
    }
}
