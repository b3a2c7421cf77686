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
    /// Into a database: the CA directory the records came from, whose certificates (each at its
    /// record's `cert` path, checked against the record's digest) and CRLs go into the database
    /// with them, so that `serve` hosts without a copy of the directory can answer with them.
    /// `None` loads the records alone. Ignored for [`ImportTarget::Dir`].
    pub files_from: Option<PathBuf>,
}

impl ImportRequest {
    /// Imports `file` into `into`, waiting [`Wait::WRITER`] for a lock.
    pub fn new(file: impl Into<PathBuf>, into: ImportTarget) -> ImportRequest {
        ImportRequest {
            file: file.into(),
            into,
            wait: Wait::WRITER,
            files_from: None,
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
    /// How many certificate and CRL files went into the database with the records
    /// ([`ImportRequest::files_from`]); 0 into a directory.
    pub files: u64,
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
    let (target, files) = match &req.into {
        ImportTarget::Db(db) => {
            let files = match &req.files_from {
                Some(dir) => published_in(dir, &events)?,
                None => Vec::new(),
            };
            db.import(&events, &header.sha256, &files, req.wait.0)?;
            (db.target().to_string(), files.len() as u64)
        }
        ImportTarget::Dir(dir) => (into_dir(dir, &events, &header, req.wait)?, 0),
    };
    Ok(InventoryImported {
        header,
        target,
        files,
    })
}

/// The largest certificate or CRL file taken from a directory.
const MAX_PUBLISHED: u64 = 16 << 20;

/// The files of `dir` that go into a database with `events`: each issued certificate's archived
/// file, which must be the certificate its record describes (one that is not is
/// [`Error::NotRecorded`], and nothing is imported), and each CA's CRL. A record whose file is
/// not there is loaded without it. Every file is read relative to the directory's handle,
/// through no link.
fn published_in(
    dir: &Path,
    events: &[crate::inventory::Event],
) -> Result<Vec<crate::inventory::PublishedFile>> {
    let root = storage::open_dir(dir, &storage::Trust::invoker(), None)?;
    let mut files = Vec::new();
    for e in events {
        let crate::inventory::Event::Issued(i) = e else {
            continue;
        };
        if i.kind.is_ca() {
            // A CA's file name is not its own for good (a rollover's finish puts the new CA
            // in the old one's place): published below, by what the inventory says is there.
            continue;
        }
        if !crate::inventory::db::files::is_publishable(&i.cert) {
            return Err(Error::BadInventoryExport {
                path: dir.join(&i.cert),
                reason: format!(
                    "the record of serial {} names {:?} as its certificate file, not a path \
                     inside a CA directory",
                    i.serial, i.cert
                ),
            });
        }
        let Some(pem) = read_beneath(&root, &i.cert, "read certificate")? else {
            continue;
        };
        crate::store::live::check_recorded(i, &dir.join(&i.cert), &pem)?;
        files.extend(crate::inventory::PublishedFile::new(i.cert.clone(), pem));
    }
    let mut ledger = crate::inventory::Ledger::default();
    for e in events {
        ledger.apply(e.clone());
    }
    files.extend(crate::store::ca_files::publishable(&ledger, dir, |name| {
        read_beneath(&root, name, "read CA certificate")
    })?);
    for side in crate::model::kind::Side::BOTH {
        let name = format!("{}-ca.crl", side.name());
        if let Some(pem) = read_beneath(&root, &name, "read CRL")? {
            files.extend(crate::inventory::PublishedFile::new(name, pem));
        }
    }
    Ok(files)
}

/// The regular file at the relative path `rel` beneath `root`, every directory on the way opened
/// from the one before without following a link; `None` if any part is missing.
fn read_beneath(root: &storage::Dir, rel: &str, what: &'static str) -> Result<Option<Vec<u8>>> {
    let mut parts: Vec<&str> = rel.split('/').collect();
    let Some(file) = parts.pop() else {
        return Ok(None);
    };
    let mut held: Option<storage::Dir> = None;
    for part in parts {
        let next = held.as_ref().unwrap_or(root).open_sub(part)?;
        match next {
            Some(d) => held = Some(d),
            None => return Ok(None),
        }
    }
    let dir = held.as_ref().unwrap_or(root);
    if dir.stat_at(file)?.is_none() {
        return Ok(None);
    }
    dir.read_file(file, MAX_PUBLISHED, what).map(Some)
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
