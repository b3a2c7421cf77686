//! [`InventoryDb`]: reading the inventory from the database (the ledger kept in memory, only new
//! rows fetched), the writers' advisory lock, and appending a batch in one SERIALIZABLE
//! transaction.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use postgres::{Client, IsolationLevel};

use crate::error::{Error, Result};
use crate::inventory::db::connect::Target;
use crate::inventory::db::files::{self, PublishedFile};
use crate::inventory::db::retry::{self, Backoff, Next};
use crate::inventory::db::schema;
use crate::inventory::{Event, Ledger};

/// The advisory lock key writers hold ("pgca" and 1): the database's counterpart of the CA
/// directory's lock file.
const WRITE_LOCK: i64 = 0x7067_6361_0000_0001;

/// Rows inserted per statement by an import.
const IMPORT_CHUNK: usize = 5_000;

/// The inventory in a PostgreSQL database, shared by the clones of one handle (the connections
/// and the ledger in memory with them). Opened with [`InventoryDb::connect`], used by a
/// [`crate::CaDir`] through [`crate::CaDir::with_inventory_db`].
#[derive(Clone)]
pub struct InventoryDb {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for InventoryDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InventoryDb({})", self.inner.target.shown)
    }
}

struct Inner {
    target: Target,
    /// The connection reads go through.
    reader: Mutex<Conn>,
    /// The connection that holds the write lock and writes.
    writer: Mutex<Conn>,
    /// The ledger as of row `head`.
    cache: Mutex<Cache>,
}

/// A connection, opened again when lost; `session` counts the connections opened, so that a
/// lock taken on one is known lost once another replaced it.
#[derive(Default)]
struct Conn {
    client: Option<Client>,
    session: u64,
    /// The session the write lock is held in.
    locked: Option<u64>,
}

#[derive(Default)]
struct Cache {
    ledger: Arc<Ledger>,
    /// The last row applied to `ledger`.
    head: i64,
}

/// The write lock, held until dropped.
pub(crate) struct DbLock {
    db: InventoryDb,
}

impl Drop for DbLock {
    fn drop(&mut self) {
        let mut w = self.db.inner.writer();
        let session = w.session;
        if w.locked.take() == Some(session)
            && let Some(c) = w.client.as_mut()
            && c.execute("SELECT pg_advisory_unlock($1)", &[&WRITE_LOCK])
                .is_err()
        {
            // A lock that cannot be released goes with its connection.
            w.client = None;
        }
    }
}

/// One row to insert: the event's tag, its unique key (an issued serial, a used token's id),
/// the serial it renews, and its line.
struct Row {
    event: String,
    key: Option<String>,
    renewed_from: Option<String>,
    line: String,
}

impl Row {
    fn of(e: &Event) -> Row {
        let line = serde_json::to_string(e).expect("inventory events serialise");
        let (key, renewed_from) = match e {
            Event::Issued(i) => (
                Some(i.serial.to_string()),
                i.authorized
                    .as_ref()
                    .and_then(|a| a.renewed_from.as_ref())
                    .map(|s| s.to_string()),
            ),
            Event::TokenUsed(u) => (Some(u.id.clone()), None),
            _ => (None, None),
        };
        Row {
            event: tag(&line).to_string(),
            key,
            renewed_from,
            line,
        }
    }
}

/// The `event` tag of a line as pgca writes it (the tag first).
fn tag(line: &str) -> &str {
    line.strip_prefix(r#"{"event":""#)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
}

impl InventoryDb {
    /// Connects to the database `conninfo` names (a `postgresql://` URI, `key=value` pairs or a
    /// `service=`, read as libpq reads them), and creates or migrates its `pgca` schema. A
    /// password written into `conninfo` is refused (see [`crate::Error::InventoryDb`]); a schema
    /// newer than this pgca's is [`crate::Error::InventorySchemaNewer`].
    pub fn connect(conninfo: &str) -> Result<InventoryDb> {
        let target = Target::parse(conninfo)?;
        let mut client = target.connect()?;
        schema::migrate(&mut client, &target)?;
        Ok(InventoryDb {
            inner: Arc::new(Inner {
                target,
                reader: Mutex::new(Conn {
                    client: Some(client),
                    session: 1,
                    locked: None,
                }),
                writer: Mutex::default(),
                cache: Mutex::default(),
            }),
        })
    }

    /// The connection string, its secrets redacted.
    pub fn target(&self) -> &str {
        &self.inner.target.shown
    }

    /// `f` of the inventory as it is now (the rows committed since the last read fetched).
    pub(crate) fn with_ledger<T>(&self, f: impl FnOnce(&Ledger) -> Result<T>) -> Result<T> {
        let ledger = self.refresh()?;
        f(&ledger)
    }

    /// The inventory as it is now.
    pub(crate) fn read(&self) -> Result<Ledger> {
        Ok(Arc::unwrap_or_clone(self.refresh()?))
    }

    /// Every record, in commit order.
    pub(crate) fn events(&self) -> Result<Vec<Event>> {
        let rows = self
            .inner
            .on_reader(|c| c.query("SELECT seq, line FROM pgca.events ORDER BY seq", &[]))?;
        rows.iter()
            .map(|r| self.inner.parse(r.get(0), r.get(1)))
            .collect()
    }

    /// Fetches the rows after the last one applied and returns the ledger with them.
    fn refresh(&self) -> Result<Arc<Ledger>> {
        let mut cache = self.inner.cache.lock().unwrap_or_else(|p| p.into_inner());
        let head = cache.head;
        let rows = self.inner.on_reader(|c| {
            c.query(
                "SELECT seq, line FROM pgca.events WHERE seq > $1 ORDER BY seq",
                &[&head],
            )
        })?;
        if !rows.is_empty() {
            let mut events = Vec::with_capacity(rows.len());
            for r in &rows {
                events.push((r.get::<_, i64>(0), self.inner.parse(r.get(0), r.get(1))?));
            }
            let cache = &mut *cache;
            let ledger = Arc::make_mut(&mut cache.ledger);
            for (seq, e) in events {
                ledger.apply(e);
                cache.head = seq;
            }
        }
        Ok(cache.ledger.clone())
    }

    /// Takes the write lock, waiting at most `wait` for another process's, then reads what
    /// that process committed.
    pub(crate) fn lock(&self, wait: Duration) -> Result<DbLock> {
        let millis = wait.as_millis().clamp(1, i32::MAX as u128) as i32;
        let mut backoff = Backoff::new();
        loop {
            let mut w = self.inner.writer();
            let got = self.inner.open(&mut w).and_then(|c| {
                let c: &mut Client = c;
                c.batch_execute(&format!("SET lock_timeout = {millis}"))
                    .and_then(|()| c.execute("SELECT pg_advisory_lock($1)", &[&WRITE_LOCK]))
                    .and_then(|_| c.batch_execute("SET lock_timeout = 0"))
                    .map_err(|e| self.inner.failed(e))
            });
            match got {
                Ok(()) => {
                    w.locked = Some(w.session);
                    drop(w);
                    let lock = DbLock { db: self.clone() };
                    self.refresh()?;
                    return Ok(lock);
                }
                Err(Failed::Lost(_)) if backoff.wait() => {
                    w.client = None;
                }
                Err(Failed::Lost(e)) | Err(Failed::Other(e)) => {
                    if let Some(db) = e.as_db_error()
                        && db.code() == &postgres::error::SqlState::LOCK_NOT_AVAILABLE
                    {
                        let _ = w
                            .client
                            .as_mut()
                            .map(|c| c.batch_execute("SET lock_timeout = 0"));
                        return Err(self.inner.target.error(format!(
                            "another pgca process held the inventory's write lock for {}",
                            crate::probe::deadline::Within(wait)
                        )));
                    }
                    w.client = None;
                    return Err(self.inner.target.error(retry::line(&e)));
                }
                // The first connection was made by `connect`: a host that cannot be reached
                // now is away for a while (a failover's promotion), as a lost connection is.
                Err(Failed::Setup(e)) => {
                    if !backoff.wait() {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Appends `events` as one batch: one SERIALIZABLE transaction, retried on a serialization
    /// failure, under the write lock (the caller holds it). Refused, with nothing written, when
    /// the lock's connection was lost since it was taken (another writer may have committed
    /// meanwhile) or the inventory has rows this process has not read.
    pub(crate) fn append(&self, events: &[Event]) -> Result<()> {
        self.append_with(events, &[])
    }

    /// [`InventoryDb::append`], with `files` written in the same transaction (see
    /// [`crate::inventory::db::files`]).
    pub(crate) fn append_with(&self, events: &[Event], files: &[PublishedFile]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let rows: Vec<Row> = events.iter().map(Row::of).collect();
        let batch = crate::model::hex::random(16);
        let mut w = self.inner.writer();
        if w.locked.is_none_or(|s| s != w.session) || w.client.is_none() {
            return Err(self.lost_lock());
        }
        let head = self
            .inner
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .head;
        let mut tries = 0;
        let outcome = loop {
            let client = w.client.as_mut().expect("checked above");
            match insert(client, &batch, &rows, files, Some(head)) {
                Ok(Inserted::Done(last)) => break Ok(last),
                Ok(Inserted::Moved(found)) => {
                    return Err(self.inner.target.error(format!(
                        "the inventory gained rows (up to {found}) that this process had not \
                         read (up to {head}) while it held the write lock; nothing was written"
                    )));
                }
                Err(e) => match retry::next(&e) {
                    Next::Retry if tries < retry::SERIALIZATION_TRIES => tries += 1,
                    Next::Reconnect => break Err(e),
                    _ => return Err(self.inner.write_refused(&e)),
                },
            }
        };
        match outcome {
            Ok(last) => {
                drop(w);
                let mut cache = self.inner.cache.lock().unwrap_or_else(|p| p.into_inner());
                if cache.head == head {
                    let cache = &mut *cache;
                    let ledger = Arc::make_mut(&mut cache.ledger);
                    for e in events {
                        ledger.apply(e.clone());
                    }
                    cache.head = last;
                }
                Ok(())
            }
            Err(e) => {
                // Lost before, during or after the commit: whether the batch is there says
                // which.
                w.client = None;
                w.locked = None;
                drop(w);
                if self.committed(&batch)? {
                    return Ok(());
                }
                Err(self.inner.target.error(format!(
                    "the connection was lost before the batch was committed ({}); nothing was \
                     written",
                    retry::line(&e)
                )))
            }
        }
    }

    /// The file kept as `name` (a certificate's record's `cert` path, a CRL's file name), if the
    /// database has it; its content must hash to the digest stored with it.
    pub(crate) fn file(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let Some((content, sha256)) = self.inner.on_reader(|c| files::read(c, name))? else {
            return Ok(None);
        };
        if crate::model::hex::sha256(&content) != sha256 {
            return Err(self.inner.target.error(format!(
                "pgca.files row {name:?} does not hash to the digest stored with it"
            )));
        }
        Ok(Some(content))
    }

    /// Whether batch `batch` is in the inventory (asked after a connection was lost around a
    /// commit).
    fn committed(&self, batch: &str) -> Result<bool> {
        let row = self.inner.on_reader(|c| {
            c.query_one(
                "SELECT count(*) FROM pgca.events WHERE batch = $1",
                &[&batch],
            )
        })?;
        Ok(row.get::<_, i64>(0) > 0)
    }

    fn lost_lock(&self) -> Error {
        self.inner.target.error(
            "the connection holding the inventory's write lock was lost during the operation \
             (another process may have written since): nothing was written, run it again",
        )
    }

    /// Loads `events` into the inventory, which must hold no record: one SERIALIZABLE
    /// transaction under the write lock, whose count and SHA-256 of the lines stored (computed
    /// by the database) must be `events`' before it commits. Returns how many it loaded.
    /// `files` (the certificates and CRLs of the CA directory the records came from) are
    /// loaded in the same transaction; the table of files must be empty too.
    pub(crate) fn import(
        &self,
        events: &[Event],
        sha256: &str,
        files: &[PublishedFile],
        wait: Duration,
    ) -> Result<u64> {
        let _lock = self.lock(wait)?;
        let rows: Vec<Row> = events.iter().map(Row::of).collect();
        let batch = crate::model::hex::random(16);
        let mut w = self.inner.writer();
        let client = w.client.as_mut().ok_or_else(|| self.lost_lock())?;
        let target = &self.inner.target;
        let pg = |e: postgres::Error| target.error(retry::line(&e));
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::Serializable)
            .start()
            .map_err(pg)?;
        let held = tx
            .query_one(
                "SELECT (SELECT count(*) FROM pgca.events), (SELECT count(*) FROM pgca.files)",
                &[],
            )
            .map_err(pg)?;
        let (held, held_files): (i64, i64) = (held.get(0), held.get(1));
        if held > 0 {
            return Err(Error::InventoryNotEmpty {
                target: target.shown.clone(),
                events: held as u64,
            });
        }
        if held_files > 0 {
            return Err(target.error(format!(
                "pgca.files holds {held_files} files but pgca.events no record: import loads \
                 only an empty inventory; nothing was written"
            )));
        }
        for chunk in rows.chunks(IMPORT_CHUNK) {
            insert_rows(&mut tx, &batch, chunk).map_err(|e| self.inner.write_refused(&e))?;
        }
        for chunk in files.chunks(IMPORT_CHUNK) {
            files::upsert(&mut tx, &batch, chunk).map_err(|e| self.inner.write_refused(&e))?;
        }
        let row = tx
            .query_one(
                "SELECT count(*), encode(sha256(convert_to(coalesce(string_agg(line || E'\\n', '' \
                 ORDER BY seq), ''), 'UTF8')), 'hex') FROM pgca.events",
                &[],
            )
            .map_err(pg)?;
        let (count, stored): (i64, String) = (row.get(0), row.get(1));
        if count as usize != events.len() || stored != sha256 {
            return Err(target.error(format!(
                "the import stored {count} records hashing to {stored}, not the export's {} \
                 hashing to {sha256}; nothing was written",
                events.len()
            )));
        }
        tx.commit().map_err(pg)?;
        drop(w);
        self.refresh()?;
        Ok(count as u64)
    }
}

/// What an insert found.
enum Inserted {
    /// Committed; the last row's `seq`.
    Done(i64),
    /// The inventory's last row is not the one expected: nothing inserted.
    Moved(i64),
}

/// Inserts `rows` and `files` as batch `batch` in one SERIALIZABLE transaction and commits it,
/// if the inventory's last row is still `head`.
fn insert(
    client: &mut Client,
    batch: &str,
    rows: &[Row],
    files: &[PublishedFile],
    head: Option<i64>,
) -> std::result::Result<Inserted, postgres::Error> {
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::Serializable)
        .start()?;
    if let Some(head) = head {
        let found: i64 = tx
            .query_one("SELECT coalesce(max(seq), 0) FROM pgca.events", &[])?
            .get(0);
        if found != head {
            return Ok(Inserted::Moved(found));
        }
    }
    let last = insert_rows(&mut tx, batch, rows)?;
    files::upsert(&mut tx, batch, files)?;
    tx.commit()?;
    Ok(Inserted::Done(last))
}

/// Inserts `rows` in order, in one statement; the last row's `seq`.
fn insert_rows(
    tx: &mut postgres::Transaction<'_>,
    batch: &str,
    rows: &[Row],
) -> std::result::Result<i64, postgres::Error> {
    let events: Vec<&str> = rows.iter().map(|r| r.event.as_str()).collect();
    let keys: Vec<Option<&str>> = rows.iter().map(|r| r.key.as_deref()).collect();
    let renewed: Vec<Option<&str>> = rows.iter().map(|r| r.renewed_from.as_deref()).collect();
    let lines: Vec<&str> = rows.iter().map(|r| r.line.as_str()).collect();
    let inserted = tx.query(
        "INSERT INTO pgca.events (batch, event, key, renewed_from, line)
         SELECT $1, e, k, r, l
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])
              WITH ORDINALITY AS u(e, k, r, l, n)
         ORDER BY n
         RETURNING seq",
        &[&batch, &events, &keys, &renewed, &lines],
    )?;
    Ok(inserted
        .iter()
        .map(|r| r.get::<_, i64>(0))
        .max()
        .unwrap_or(0))
}

/// Why a call on a connection failed.
enum Failed {
    /// The connection went away: another may do.
    Lost(postgres::Error),
    /// The server refused.
    Other(postgres::Error),
    /// No connection could be opened.
    Setup(Error),
}

impl Inner {
    fn writer(&self) -> MutexGuard<'_, Conn> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `conn`'s client, opened if there is none.
    fn open<'c>(&self, conn: &'c mut Conn) -> std::result::Result<&'c mut Client, Failed> {
        if conn.client.as_ref().is_none_or(Client::is_closed) {
            conn.client = None;
            conn.locked = None;
            let client = self.target.connect().map_err(Failed::Setup)?;
            conn.session += 1;
            conn.client = Some(client);
        }
        Ok(conn.client.as_mut().expect("just opened"))
    }

    fn failed(&self, e: postgres::Error) -> Failed {
        match retry::next(&e) {
            Next::Reconnect => Failed::Lost(e),
            _ => Failed::Other(e),
        }
    }

    /// `query` on the reader connection: run again on a serialization failure, and on a new
    /// connection (after a pause, for [`retry::RECONNECT_FOR`]) when the connection was lost;
    /// it only reads, so running it again is safe.
    fn on_reader<T>(
        &self,
        mut query: impl FnMut(&mut Client) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        let mut backoff = Backoff::new();
        let mut conn = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let outcome = match self.open(&mut conn) {
                Ok(c) => query(c).map_err(|e| self.failed(e)),
                Err(f) => Err(f),
            };
            match outcome {
                Ok(v) => return Ok(v),
                Err(Failed::Other(e)) if retry::next(&e) == Next::Retry => {}
                Err(Failed::Other(e)) => return Err(self.target.error(retry::line(&e))),
                Err(Failed::Lost(e)) => {
                    conn.client = None;
                    if !backoff.wait() {
                        return Err(self.target.error(format!(
                            "connection lost and not back within {}: {}",
                            crate::probe::deadline::Within(retry::RECONNECT_FOR),
                            retry::line(&e)
                        )));
                    }
                }
                Err(Failed::Setup(e)) => {
                    if !backoff.wait() {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// A row's event.
    fn parse(&self, seq: i64, line: &str) -> Result<Event> {
        serde_json::from_str(line).map_err(|e| {
            self.target.error(format!(
                "pgca.events row {seq} is not an inventory record: {e}"
            ))
        })
    }

    /// A write the database refused: a unique index names what was recorded already.
    fn write_refused(&self, e: &postgres::Error) -> Error {
        let what = e
            .as_db_error()
            .and_then(|d| d.constraint())
            .map(|c| match c {
                "events_issued_once" => "a certificate of that serial is recorded already",
                "events_token_used_once" => "that enrollment token was used already",
                "events_renewed_once" => "that certificate was renewed already",
                _ => "",
            });
        match what {
            Some(w) if !w.is_empty() => self
                .target
                .error(format!("{w} ({}); nothing was written", retry::line(e))),
            _ => self
                .target
                .error(format!("{}; nothing was written", retry::line(e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_is_read_from_the_line_as_pgca_writes_it() {
        assert_eq!(tag(r#"{"event":"token-used","id":"x"}"#), "token-used");
        assert_eq!(tag(r#"{"id":"x"}"#), "");
    }
}
