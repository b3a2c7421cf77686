//! The CA certificates in the inventory database. The host that makes or moves them publishes
//! them in `pgca.files` with the records that say so (`inventory import`, a rollover's start and
//! finish); a host whose directory lacks one (a `pgca serve` host that holds only its CA keys and
//! TLS pair) takes it from there, held to its record, as a new file: never over a file or link
//! already at the name (one that disagrees with the inventory is `verify`'s finding, not
//! replaced). The keys never go into the database; each host keeps its own.

use crate::error::{Error, Result};
use crate::inventory::{Issued, Ledger, PublishedFile};
use crate::model::kind::Side;
use crate::model::serial::Serial;
use crate::storage::{self, PUBLIC_MODE};
use crate::store::layout::CaDir;

/// A CA certificate file the inventory says a CA directory holds now.
#[derive(Clone, Debug)]
pub(crate) struct CaFile {
    /// Its name in the directory (`server-ca.crt`).
    pub(crate) name: &'static str,
    /// The record of the CA its first certificate must be.
    pub(crate) record: Issued,
}

/// The CA certificate files of `side` the inventory says a directory holds: the CA in use
/// (`server-ca.crt`, during a rollover the bundle that starts with it), a rollover's new CA
/// (`server-ca.next.crt`), and in a hierarchy the issuing intermediate and an intermediate
/// rollover's new one.
pub(crate) fn expected(ledger: &Ledger, side: Side) -> Vec<CaFile> {
    let rollover = ledger.rollover(side);
    let by_serial = |s: &Serial| ledger.issued().iter().find(|i| &i.serial == s).cloned();
    let current = |name: &str| ledger.current(side.ca_kind(), name).cloned();
    let (root, issuing) = match rollover {
        Some(r) if r.intermediate => (current(side.ca_kind().name()), by_serial(&r.old_ca)),
        Some(r) => (by_serial(&r.old_ca), current(side.issuing_name())),
        None => (current(side.ca_kind().name()), current(side.issuing_name())),
    };
    let next = rollover.and_then(|r| by_serial(&r.new_ca).map(|n| (r.intermediate, n)));
    let mut files = Vec::new();
    let mut add = |name, record: Option<Issued>| {
        files.extend(record.map(|record| CaFile { name, record }));
    };
    add(side.ca_cert_file(), root);
    add(side.issuing_cert_file(), issuing);
    match next {
        Some((false, n)) => add(side.next_ca_cert_file(), Some(n)),
        Some((true, n)) => add(side.next_issuing_cert_file(), Some(n)),
        None => {}
    }
    files
}

/// The CA certificate files of both sides `read` gives (by name, `None` when absent), each held
/// to its record: what a directory publishes in the database (`inventory import`).
pub(crate) fn publishable(
    ledger: &Ledger,
    dir: &std::path::Path,
    mut read: impl FnMut(&str) -> Result<Option<Vec<u8>>>,
) -> Result<Vec<PublishedFile>> {
    let mut out = Vec::new();
    for f in Side::BOTH.into_iter().flat_map(|s| expected(ledger, s)) {
        if let Some(pem) = read(f.name)? {
            check(&f, &dir.join(f.name), &pem)?;
            out.extend(PublishedFile::new(f.name, pem));
        }
    }
    Ok(out)
}

/// Refuses `pem` as the file `f` unless it is CA certificates whose first is the one `f`'s
/// record describes.
fn check(f: &CaFile, path: &std::path::Path, pem: &[u8]) -> Result<()> {
    let bad = |reason| Error::BadCert {
        path: path.to_path_buf(),
        reason,
    };
    for der in &crate::x509::pem::all_cert_ders(pem).map_err(bad)? {
        if !crate::x509::inspect::CertInfo::from_der(der)
            .map_err(bad)?
            .is_ca
        {
            return Err(bad(crate::error::Malformed::NotCa));
        }
    }
    crate::store::live::check_recorded(&f.record, path, pem).map(drop)
}

impl CaDir {
    /// With the inventory in a database: each CA certificate file the inventory says this
    /// directory holds and it lacks, taken from the database, held to its record and created
    /// complete (see the module docs). Returns how many were created. Without a database, or
    /// with nothing missing, nothing is read.
    pub(crate) fn take_ca_files(&self) -> Result<usize> {
        let Some(db) = &self.db else {
            return Ok(0);
        };
        let missing: Vec<CaFile> = db.with_ledger(|ledger| {
            Ok(Side::BOTH
                .into_iter()
                .flat_map(|s| expected(ledger, s))
                .filter(|f| self.root.join(f.name).symlink_metadata().is_err())
                .collect())
        })?;
        if missing.is_empty() {
            return Ok(0);
        }
        let dir = storage::open_dir(&self.root, &storage::Trust::invoker(), None)?;
        // As for its keys (`x509/ca.rs`): a CA directory others can add entries to, sticky or
        // not, gets nothing from the database; a name one of them took first would be theirs.
        let mode = dir.stat()?.st_mode & 0o7777;
        if mode & 0o022 != 0 {
            return Err(Error::Untrusted {
                path: self.root.clone(),
                why: crate::error::Distrust::Writable { mode },
            });
        }
        let mut created = 0;
        for f in missing {
            let Some(pem) = db.file(f.name)? else {
                continue;
            };
            check(&f, &self.root.join(f.name), &pem)?;
            if dir.create_file_complete(f.name, &pem, PUBLIC_MODE, "write CA certificate")? {
                created += 1;
            }
        }
        Ok(created)
    }

    /// Brings this directory up to date with the inventory database: the write lock taken and
    /// let go (it takes the CA files the directory lacks and settles a rollover's files as the
    /// inventory says; see [`CaDir::take_ca_files`]). `pgca serve` calls it every few seconds.
    pub(crate) fn follow_inventory_db(&self) -> Result<()> {
        drop(self.write_lock()?);
        Ok(())
    }

    /// What a rollover's finish publishes with its record: the new CA's certificate under the
    /// name of the one it replaces (`server-ca.crt`, or a hierarchy's `server-issuing.crt`).
    /// Empty without a database.
    pub(crate) fn finished_ca_files(
        &self,
        side: Side,
        intermediate: bool,
    ) -> Result<Vec<PublishedFile>> {
        if self.db.is_none() {
            return Ok(Vec::new());
        }
        let new = self.rollover_new_cert_path(side, intermediate);
        let pem = storage::read(&new, "read CA certificate")?;
        let name = match intermediate {
            true => side.issuing_cert_file(),
            false => side.ca_cert_file(),
        };
        Ok(PublishedFile::new(name, pem).into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Event, RolloverStarted};

    fn ca(serial: &str, name: &str, cert: &str) -> Issued {
        let now = time::OffsetDateTime::UNIX_EPOCH;
        Issued::new(
            serial.parse().unwrap(),
            crate::model::kind::CertKind::ClientCa,
            name.to_string(),
            Vec::new(),
            crate::x509::keys::KeyType::default(),
            (now, now),
            now,
            (cert.to_string(), "k".to_string()),
        )
    }

    fn names(ledger: &Ledger) -> Vec<(&'static str, String)> {
        expected(ledger, Side::Client)
            .into_iter()
            .map(|f| (f.name, f.record.serial.to_string()))
            .collect()
    }

    fn start(ledger: &mut Ledger, old: &str, new: &str, intermediate: bool) {
        ledger.apply(Event::RolloverStarted(RolloverStarted {
            side: Side::Client,
            old_ca: old.parse().unwrap(),
            new_ca: new.parse().unwrap(),
            compromised: false,
            intermediate,
            at: time::OffsetDateTime::UNIX_EPOCH,
        }));
    }

    #[test]
    fn the_files_a_directory_holds_follow_the_rollover() {
        let mut ledger = Ledger::default();
        ledger.apply(Event::Issued(ca("01", "client-ca", "client-ca.crt")));
        assert_eq!(names(&ledger), [("client-ca.crt", "01".to_string())]);
        ledger.apply(Event::Issued(ca("02", "client-ca", "client-ca.next.crt")));
        start(&mut ledger, "01", "02", false);
        assert_eq!(
            names(&ledger),
            [
                ("client-ca.crt", "01".to_string()),
                ("client-ca.next.crt", "02".to_string())
            ]
        );
    }

    #[test]
    fn a_hierarchy_adds_its_intermediates() {
        let mut ledger = Ledger::default();
        ledger.apply(Event::Issued(ca("01", "client-ca", "client-ca.crt")));
        ledger.apply(Event::Issued(ca("0a", "client-issuing", "x.crt")));
        ledger.apply(Event::Issued(ca("0b", "client-issuing", "y.crt")));
        start(&mut ledger, "0a", "0b", true);
        assert_eq!(
            names(&ledger),
            [
                ("client-ca.crt", "01".to_string()),
                ("client-issuing.crt", "0a".to_string()),
                ("client-issuing.next.crt", "0b".to_string())
            ]
        );
    }
}
