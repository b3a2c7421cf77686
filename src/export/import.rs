//! `import_inventory`: an export ([`crate::inventory::export`]) loaded into an empty
//! inventory, the CA directory's file or the database's tables, all or nothing: the export is
//! checked whole (header, count, SHA-256, every line an event) before anything is written, and
//! what was written is checked against it before it counts.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::inventory::{ExportHeader, InventoryDb};
use crate::storage::{self, LockKind, Wait};

/// Where [`import_inventory`] loads an export.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ImportTarget {
    /// A CA directory without an inventory file (`DIR/inventory.jsonl` is created, one batch
    /// and its seal).
    Dir(PathBuf),
    /// An inventory database without records.
    Db(InventoryDb),
}

/// What to import, and where.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ImportRequest {
    /// The export file.
    pub file: PathBuf,
    /// The empty inventory it goes into.
    pub into: ImportTarget,
    /// How long to wait for another pgca process's lock.
    pub wait: Wait,
}

impl ImportRequest {
    /// Imports `file` into `into`, waiting [`Wait::WRITER`] for a lock.
    pub fn new(file: impl Into<PathBuf>, into: ImportTarget) -> ImportRequest {
        ImportRequest {
            file: file.into(),
            into,
            wait: Wait::WRITER,
        }
    }
}

/// What [`import_inventory`] loaded.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct InventoryImported {
    /// The export's header (its count and SHA-256, which the inventory now matches).
    pub header: ExportHeader,
    /// Where it went: the inventory file, or the database (redacted).
    pub target: String,
}

/// Loads the export `req.file` into the empty inventory `req.into`. An inventory that holds any
/// record is [`Error::InventoryNotEmpty`]; an export cut short, changed or of another format is
/// [`Error::BadInventoryExport`]. Nothing is written unless every record is.
pub fn import_inventory(req: &ImportRequest) -> Result<InventoryImported> {
    let bytes = storage::read(&req.file, "read inventory export")?;
    let (header, events) =
        crate::inventory::export::decode(&bytes).map_err(|reason| Error::BadInventoryExport {
            path: req.file.clone(),
            reason,
        })?;
    let target = match &req.into {
        ImportTarget::Db(db) => {
            db.import(&events, &header.sha256, req.wait.0)?;
            db.target().to_string()
        }
        ImportTarget::Dir(dir) => into_dir(dir, &events, &header, req.wait)?,
    };
    Ok(InventoryImported { header, target })
}

/// Creates `dir`'s inventory file from `events`, under the directory's write lock; it must not
/// exist. Read back, its records must export to the header's digest.
fn into_dir(
    dir: &Path,
    events: &[crate::inventory::Event],
    header: &ExportHeader,
    wait: Wait,
) -> Result<String> {
    storage::open_dir(dir, &storage::Trust::invoker(), None)?;
    let _lock = storage::Lock::file(
        dir,
        crate::store::layout::LOCK_FILE,
        LockKind::Exclusive,
        wait,
    )?;
    let path = crate::inventory::path_in(dir);
    // Whatever is at the name (a link too, never followed) means an inventory is there.
    let found = match std::fs::symlink_metadata(&path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("import inventory", &path)(e)),
    };
    if let Some(m) = found {
        let held = if m.is_file() {
            crate::inventory::log::read_events(&path).map_or(0, |e| e.len() as u64)
        } else {
            0
        };
        return Err(Error::InventoryNotEmpty {
            target: path.display().to_string(),
            events: held,
        });
    }
    crate::inventory::log::create(&path, events)?;
    let (_, stored) = crate::inventory::export::encode(&crate::inventory::log::read_events(&path)?);
    if stored != *header {
        return Err(Error::DamagedInventory {
            path,
            evidence: format!(
                "imported {} records hashing to {}, read back {} hashing to {}",
                header.events, header.sha256, stored.events, stored.sha256
            ),
        });
    }
    Ok(path.display().to_string())
}
