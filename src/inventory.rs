//! The inventory: an append-only log of everything the CA has done, `DIR/inventory.jsonl`.
//!
//! One JSON object per line, each with an `event` field. Issuing appends one line per certificate
//! in a single `write` followed by `fdatasync`: the cost of an issue does not grow with the
//! inventory, and a crash can only tear the last line, which readers skip and the next writer
//! trims. Whatever state a certificate is in (current, superseded by a later one of the same
//! name, expired) is derived from the log, not stored, so it can never disagree with it.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::keys::KeyType;
use crate::serial::Serial;

/// The inventory's file name inside the CA directory.
pub const INVENTORY_FILE: &str = "inventory.jsonl";

/// What a certificate is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CertKind {
    /// The self-signed CA that signs server certificates (clients trust it: `sslrootcert`).
    ServerCa,
    /// The self-signed CA that signs client certificates (the server trusts it: `ssl_ca_file`).
    ClientCa,
    /// A server certificate (`ssl_cert_file`), EKU serverAuth.
    Server,
    /// A client certificate whose CN is a PostgreSQL role, EKU clientAuth.
    Client,
}

impl CertKind {
    /// `server-ca`, `client-ca`, `server` or `client`.
    pub fn name(self) -> &'static str {
        match self {
            CertKind::ServerCa => "server-ca",
            CertKind::ClientCa => "client-ca",
            CertKind::Server => "server",
            CertKind::Client => "client",
        }
    }

    /// Whether this is one of the two CAs.
    pub fn is_ca(self) -> bool {
        matches!(self, CertKind::ServerCa | CertKind::ClientCa)
    }
}

impl std::fmt::Display for CertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One issued certificate, as recorded when it was issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Issued {
    /// Serial number.
    pub serial: Serial,
    /// What it is.
    pub kind: CertKind,
    /// Role (clients), first host name (servers), or `server-ca`/`client-ca`.
    pub name: String,
    /// Subject alternative names (servers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sans: Vec<String>,
    /// Key type.
    pub key_type: KeyType,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// When it was issued.
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// The certificate file, relative to the CA directory (the archived copy, which never moves).
    pub cert: String,
    /// The key file, relative to the CA directory.
    pub key: String,
    /// Whether the key file is encrypted (`issue-client --encrypt-key`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub encrypted_key: bool,
    /// SHA-256 of the certificate (DER), hex: a file claiming to be this certificate must hash
    /// to it. `None` in records written before pgca kept it (their serial is compared instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// SHA-256 of the certified public key (DER SubjectPublicKeyInfo), hex: once a certificate
    /// is revoked, its key is never certified again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spki_sha256: Option<String>,
}

impl Issued {
    /// A record for a freshly issued certificate.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        serial: Serial,
        kind: CertKind,
        name: String,
        sans: Vec<String>,
        key_type: KeyType,
        validity: (OffsetDateTime, OffsetDateTime),
        issued_at: OffsetDateTime,
        files: (String, String),
    ) -> Issued {
        Issued {
            serial,
            kind,
            name,
            sans,
            key_type,
            not_before: validity.0,
            not_after: validity.1,
            issued_at,
            cert: files.0,
            key: files.1,
            encrypted_key: false,
            sha256: None,
            spki_sha256: None,
        }
    }
}

/// A server certificate installed into a PostgreSQL data directory (`pgca deploy-server`).
/// Renewal installs the new certificate wherever the old one was deployed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Deployment {
    /// The server certificate's name.
    pub name: String,
    /// The data directory, absolute.
    pub data_dir: std::path::PathBuf,
    /// The serial installed.
    pub serial: Serial,
    /// The `--owner` given, if any (otherwise the data directory's owner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The uid that owned the data directory (the database user): a later deployment (renewal)
    /// refuses a data directory that another user owns by then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir_uid: Option<u32>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl Deployment {
    /// A record of a deployment made now.
    pub(crate) fn new(
        name: String,
        data_dir: PathBuf,
        serial: Serial,
        owner: Option<String>,
        at: OffsetDateTime,
    ) -> Deployment {
        Deployment {
            name,
            data_dir,
            serial,
            owner,
            data_dir_uid: None,
            at,
        }
    }
}

/// A certificate revoked with `pgca revoke`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Revocation {
    /// The serial revoked.
    pub serial: Serial,
    /// Its kind.
    pub kind: CertKind,
    /// Its name.
    pub name: String,
    /// Why.
    pub reason: crate::revoke::Reason,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// SHA-256 of the revoked certificate's public key, hex, when known: that key is never
    /// certified again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spki_sha256: Option<String>,
}

/// A CRL written (its number must only ever grow).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CrlRecord {
    /// Whose CRL: `server-ca` or `client-ca`.
    pub ca: CertKind,
    /// The CRL number.
    pub number: u64,
    /// thisUpdate.
    #[serde(with = "time::serde::rfc3339")]
    pub this_update: OffsetDateTime,
    /// nextUpdate.
    #[serde(with = "time::serde::rfc3339")]
    pub next_update: OffsetDateTime,
    /// Whether nextUpdate was cut short to the CA certificate's notAfter, because the period
    /// asked for would have outlived the CA. Reported on the record of a CRL just written; not
    /// kept in the inventory, so `false` on records read from it.
    #[serde(skip)]
    pub clamped_to_ca_expiry: bool,
}

/// One line of the inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Event {
    /// A certificate was issued.
    Issued(Issued),
    /// A server certificate was deployed into a data directory.
    Deployed(Deployment),
    /// A certificate was revoked.
    Revoked(Revocation),
    /// A CRL was written.
    CrlIssued(CrlRecord),
}

/// The state of a certificate, derived from the inventory and the time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CertState {
    /// Current and valid, with more than a third of its lifetime left.
    Valid,
    /// Current and valid, but less than a third of its lifetime is left: renew it.
    Due,
    /// Past its not-after.
    Expired,
    /// Before its not-before (a clock problem, or issued for later).
    NotYetValid,
    /// A later certificate was issued for the same name.
    Superseded,
    /// Revoked with `pgca revoke`.
    Revoked,
}

impl CertState {
    /// `valid`, `due`, `expired`, `not-yet-valid` or `superseded`.
    pub fn name(self) -> &'static str {
        match self {
            CertState::Valid => "valid",
            CertState::Due => "due",
            CertState::Expired => "expired",
            CertState::NotYetValid => "not-yet-valid",
            CertState::Superseded => "superseded",
            CertState::Revoked => "revoked",
        }
    }

    /// The state of a current (not superseded) certificate at `now`.
    ///
    /// Due means less than a third of the lifetime remains, compared exactly in seconds:
    /// `3 × (not_after − now) < not_after − not_before`.
    pub fn at(
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        now: OffsetDateTime,
    ) -> CertState {
        if now < not_before {
            CertState::NotYetValid
        } else if now >= not_after {
            CertState::Expired
        } else {
            let left = (not_after - now).whole_seconds() as i128;
            let life = (not_after - not_before).whole_seconds() as i128;
            if 3 * left < life {
                CertState::Due
            } else {
                CertState::Valid
            }
        }
    }
}

impl std::fmt::Display for CertState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The inventory as read: every issued certificate in order, with the current one per name.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    issued: Vec<Issued>,
    /// Per kind (indexed by [`kind_index`]), each name's latest entry in `issued`. A map per kind
    /// lets a lookup borrow the name instead of building a `(kind, String)` key.
    current: [HashMap<String, usize>; 4],
    deployments: Vec<Deployment>,
    revoked: HashMap<Serial, Revocation>,
    crls: Vec<CrlRecord>,
    /// Whether the last line was torn (an interrupted write); it was skipped.
    pub torn_tail: bool,
}

impl Ledger {
    /// Every issued certificate, oldest first.
    pub fn issued(&self) -> &[Issued] {
        &self.issued
    }

    /// The current (latest) certificate of a kind and name.
    pub fn current(&self, kind: CertKind, name: &str) -> Option<&Issued> {
        self.current[kind_index(kind)]
            .get(name)
            .map(|&i| &self.issued[i])
    }

    /// The current certificate of every name of every kind, in the order they were issued.
    ///
    /// # Examples
    ///
    /// ```
    /// use pgca::inventory::CertKind;
    /// use pgca::{CaDir, InitOptions, IssueOptions, RoleName};
    ///
    /// let tmp = tempfile::tempdir()?;
    /// let ca = CaDir::init(tmp.path().join("ca"), &InitOptions::default())?;
    /// let alice: RoleName = "alice".parse()?;
    /// ca.issue_client(&alice, &IssueOptions::default())?;
    /// let mut force = IssueOptions::default();
    /// force.force = true;
    /// let again = ca.issue_client(&alice, &force)?;
    ///
    /// let ledger = ca.inventory()?;
    /// let current: Vec<_> = ledger.all_current().into_iter().filter(|i| !i.kind.is_ca()).collect();
    /// assert_eq!(current.len(), 1); // the first certificate was superseded
    /// assert_eq!((current[0].kind, current[0].serial.clone()), (CertKind::Client, again.serial));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn all_current(&self) -> Vec<&Issued> {
        let mut at: Vec<usize> = self
            .current
            .iter()
            .flat_map(|m| m.values().copied())
            .collect();
        at.sort_unstable();
        at.into_iter().map(|i| &self.issued[i]).collect()
    }

    /// The latest deployment of each (server name, data directory), in first-deployed order.
    pub fn deployments(&self) -> Vec<&Deployment> {
        let mut latest: Vec<&Deployment> = Vec::new();
        for d in &self.deployments {
            match latest
                .iter_mut()
                .find(|l| l.name == d.name && l.data_dir == d.data_dir)
            {
                Some(l) => *l = d,
                None => latest.push(d),
            }
        }
        latest
    }

    /// Whether `issued` is the latest certificate of its name.
    pub fn is_current(&self, issued: &Issued) -> bool {
        self.current(issued.kind, &issued.name)
            .is_some_and(|c| c.serial == issued.serial)
    }

    /// The revocation of a serial, if it was revoked.
    pub fn revocation(&self, serial: &Serial) -> Option<&Revocation> {
        self.revoked.get(serial)
    }

    /// The fingerprints (`spki_sha256`) of every key a revoked certificate certified, with that
    /// certificate's serial and name.
    pub fn revoked_keys(&self) -> HashMap<&str, (&Serial, &str)> {
        let mut keys = HashMap::new();
        for r in self.revoked.values() {
            if let Some(h) = &r.spki_sha256 {
                keys.insert(h.as_str(), (&r.serial, r.name.as_str()));
            }
        }
        for i in &self.issued {
            if let Some(h) = &i.spki_sha256
                && self.revoked.contains_key(&i.serial)
            {
                keys.insert(h.as_str(), (&i.serial, i.name.as_str()));
            }
        }
        keys
    }

    /// Every revocation.
    pub fn revocations(&self) -> impl Iterator<Item = &Revocation> {
        self.revoked.values()
    }

    /// The last CRL written for a CA (`ServerCa` or `ClientCa`).
    pub fn last_crl(&self, ca: CertKind) -> Option<&CrlRecord> {
        self.crls.iter().rev().find(|c| c.ca == ca)
    }

    /// The state of a recorded certificate at `now`.
    pub fn state(&self, issued: &Issued, now: OffsetDateTime) -> CertState {
        if self.revoked.contains_key(&issued.serial) {
            return CertState::Revoked;
        }
        if !self.is_current(issued) {
            return CertState::Superseded;
        }
        CertState::at(issued.not_before, issued.not_after, now)
    }

    fn apply(&mut self, event: Event) {
        match event {
            Event::Issued(i) => {
                note_latest(&mut self.current, i.kind, &i.name, self.issued.len());
                self.issued.push(i);
            }
            Event::Deployed(d) => self.deployments.push(d),
            Event::Revoked(r) => {
                self.revoked.entry(r.serial.clone()).or_insert(r);
            }
            Event::CrlIssued(c) => self.crls.push(c),
        }
    }
}

/// The slot of a kind in [`Ledger`]'s per-kind maps.
fn kind_index(kind: CertKind) -> usize {
    match kind {
        CertKind::ServerCa => 0,
        CertKind::ClientCa => 1,
        CertKind::Server => 2,
        CertKind::Client => 3,
    }
}

/// Records `at` as the latest entry of `kind` and `name`, allocating the name only the first time.
fn note_latest(latest: &mut [HashMap<String, usize>; 4], kind: CertKind, name: &str, at: usize) {
    let names = &mut latest[kind_index(kind)];
    match names.get_mut(name) {
        Some(last) => *last = at,
        None => {
            names.insert(name.to_owned(), at);
        }
    }
}

/// Reads the inventory at `path`. A torn last line (no newline: the write was interrupted) is
/// skipped; any other unreadable line is an error naming its number.
pub fn read(path: &Path) -> Result<Ledger> {
    let mut ledger = Ledger::default();
    let torn = for_each_line(path, |text| {
        ledger.apply(parse_event(text)?);
        Ok(())
    })?;
    ledger.torn_tail = torn;
    Ok(ledger)
}

/// Calls `f` with each line of the inventory at `path` but blank ones, without its newline. A
/// torn last line is skipped, and reported by returning true; an error of `f` becomes
/// [`Error::CorruptInventory`] naming the line.
fn for_each_line(path: &Path, mut f: impl FnMut(&[u8]) -> serde_json::Result<()>) -> Result<bool> {
    let file = File::open(path).map_err(Error::io("read inventory", path))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::with_capacity(512);
    let mut n = 0;
    loop {
        line.clear();
        let got = reader
            .read_until(b'\n', &mut line)
            .map_err(Error::io("read inventory", path))?;
        if got == 0 {
            return Ok(false);
        }
        n += 1;
        if line.last() != Some(&b'\n') {
            return Ok(true);
        }
        let text = &line[..line.len() - 1];
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        f(text).map_err(|e| Error::CorruptInventory {
            path: path.to_path_buf(),
            line: n,
            reason: e.to_string(),
        })?;
    }
}

/// What `pgca check` needs of the inventory, read without building the history: see
/// [`read_current`].
#[derive(Debug, Default)]
pub(crate) struct Current {
    /// The current certificate's kind and name, for every name, in the order of their latest
    /// issue (as [`Ledger::all_current`]).
    pub names: Vec<(CertKind, String)>,
    /// What each of `names` must be: its serial, and its SHA-256 where recorded.
    pub expected: Vec<(Serial, Option<String>)>,
    /// Whether a CRL was ever recorded for the server CA (`[0]`) and the client CA (`[1]`).
    pub crl_recorded: [bool; 2],
}

/// The kind and name of an `issued` line; serde skips the other fields without allocating.
#[derive(Deserialize)]
struct IssuedName<'a> {
    kind: CertKind,
    #[serde(borrow)]
    name: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    serial: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    sha256: Option<std::borrow::Cow<'a, str>>,
}

/// Reads only what [`Current`] holds: of an `issued` line its kind and name, without the dates,
/// serial and paths that [`read`] parses and keeps (a fifth of `check`'s time at 100,000
/// certificates went to building that history). Other lines are parsed in full, and an
/// unreadable line is the same error as with [`read`].
pub(crate) fn read_current(path: &Path) -> Result<Current> {
    let mut latest: [HashMap<String, usize>; 4] = Default::default();
    let mut crl_recorded = [false; 2];
    let mut at = 0;
    let mut records: Vec<(String, Option<String>)> = Vec::new();
    for_each_line(path, |text| {
        if text.starts_with(br#"{"event":"issued","#) {
            let i: IssuedName<'_> = serde_json::from_slice(text)?;
            note_latest(&mut latest, i.kind, &i.name, at);
            records.push((i.serial.into_owned(), i.sha256.map(|h| h.into_owned())));
            at += 1;
        } else if let Event::CrlIssued(c) = parse_event(text)? {
            crl_recorded[usize::from(c.ca == CertKind::ClientCa)] = true;
        }
        Ok(())
    })?;
    let mut names: Vec<(usize, CertKind, String)> = Vec::new();
    for (kind, map) in [
        CertKind::ServerCa,
        CertKind::ClientCa,
        CertKind::Server,
        CertKind::Client,
    ]
    .into_iter()
    .zip(latest)
    {
        names.extend(map.into_iter().map(|(name, at)| (at, kind, name)));
    }
    names.sort_unstable_by_key(|n| n.0);
    let mut expected = Vec::with_capacity(names.len());
    for (at, _, _) in &names {
        let (serial, sha256) = std::mem::take(&mut records[*at]);
        let serial = serial.parse().map_err(|_| Error::CorruptInventory {
            path: path.to_path_buf(),
            line: 0,
            reason: format!("invalid serial {serial:?}"),
        })?;
        expected.push((serial, sha256));
    }
    Ok(Current {
        names: names.into_iter().map(|(_, k, n)| (k, n)).collect(),
        expected,
        crl_recorded,
    })
}

/// One line of the inventory. Every line pgca writes starts with its tag, and an `issued` line
/// goes straight to [`Issued`]: serde buffers an internally tagged enum before it can pick the
/// variant, which made reading a 100,000-line inventory a fifth slower.
fn parse_event(text: &[u8]) -> serde_json::Result<Event> {
    if text.starts_with(br#"{"event":"issued","#) {
        return serde_json::from_slice::<Issued>(text).map(Event::Issued);
    }
    serde_json::from_slice(text)
}

/// Appends events in one write and makes them durable. Must be called under the directory lock.
/// A torn last line left by a crash is cut off first, so the new lines start on a line of their own.
pub(crate) fn append(path: &Path, events: &[Event]) -> Result<()> {
    let mut buf = Vec::with_capacity(events.len() * 400);
    for e in events {
        serde_json::to_writer(&mut buf, e).expect("inventory events serialise");
        buf.push(b'\n');
    }
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(Error::io("open inventory", path))?;
    trim_torn_tail(&mut file, path)?;
    file.write_all(&buf)
        .map_err(Error::io("append to inventory", path))?;
    file.sync_data().map_err(Error::io("sync inventory", path))
}

/// Creates a new inventory holding `events` (used by `init`, which renames it into place).
pub(crate) fn create(path: &Path, events: &[Event]) -> Result<()> {
    let mut buf = Vec::new();
    for e in events {
        serde_json::to_writer(&mut buf, e).expect("inventory events serialise");
        buf.push(b'\n');
    }
    crate::storage::create_file(path, &buf, 0o600, "write inventory")
}

fn trim_torn_tail(file: &mut File, path: &Path) -> Result<()> {
    let len = file
        .metadata()
        .map_err(Error::io("read inventory", path))?
        .len();
    if len == 0 {
        return Ok(());
    }
    let io = Error::io("repair inventory", path);
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))
        .and_then(|_| file.read_exact(&mut last))
        .map_err(Error::io("read inventory", path))?;
    if last[0] == b'\n' {
        return Ok(());
    }
    // Walk back to the last newline, a block at a time.
    let mut end = len;
    let mut keep = 0;
    'search: while end > 0 {
        let start = end.saturating_sub(4096);
        let mut block = vec![0u8; (end - start) as usize];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut block))
            .map_err(Error::io("read inventory", path))?;
        if let Some(i) = block.iter().rposition(|&b| b == b'\n') {
            keep = start + i as u64 + 1;
            break 'search;
        }
        end = start;
    }
    file.set_len(keep).map_err(io)
}

/// The inventory path of a CA directory.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(INVENTORY_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn rec(name: &str, kind: CertKind) -> Event {
        Event::Issued(Issued::new(
            Serial::random(),
            kind,
            name.into(),
            vec![],
            KeyType::EcdsaP256,
            (
                datetime!(2026-01-01 0:00 UTC),
                datetime!(2027-01-01 0:00 UTC),
            ),
            datetime!(2026-01-01 0:00 UTC),
            ("c".into(), "k".into()),
        ))
    }

    #[test]
    fn read_current_agrees_with_the_full_read() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(INVENTORY_FILE);
        let crl = Event::CrlIssued(CrlRecord {
            ca: CertKind::ClientCa,
            number: 1,
            this_update: datetime!(2026-01-01 0:00 UTC),
            next_update: datetime!(2026-02-01 0:00 UTC),
            clamped_to_ca_expiry: false,
        });
        create(&p, &[rec("server-ca", CertKind::ServerCa)]).unwrap();
        append(
            &p,
            &[
                rec("alice", CertKind::Client),
                rec("db1", CertKind::Server),
                rec("bob", CertKind::Client),
                // A name with an escape: serde cannot borrow it.
                rec("we\"ird", CertKind::Client),
                crl,
                rec("alice", CertKind::Client),
            ],
        )
        .unwrap();
        let full = read(&p).unwrap();
        let expected: Vec<(CertKind, String)> = full
            .all_current()
            .iter()
            .map(|i| (i.kind, i.name.clone()))
            .collect();
        let light = read_current(&p).unwrap();
        assert_eq!(light.names, expected);
        assert_eq!(light.names.len(), 5);
        assert_eq!(light.names[4], (CertKind::Client, "alice".to_string()));
        assert_eq!(light.crl_recorded, [false, true]);

        // A torn tail is skipped as by `read`; a corrupt line is the same error.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"event":"issued","serial":"#).unwrap();
        assert_eq!(read_current(&p).unwrap().names, expected);
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(
            &p,
            text.replacen(r#""kind":"client""#, r#""kind":"nope""#, 1),
        )
        .unwrap();
        let (a, b) = (read(&p).unwrap_err(), read_current(&p).unwrap_err());
        assert!(matches!(a, Error::CorruptInventory { line: 2, .. }), "{a}");
        assert!(matches!(b, Error::CorruptInventory { line: 2, .. }), "{b}");
    }

    #[test]
    fn append_read_round_trip_and_current_per_name() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(INVENTORY_FILE);
        create(&p, &[rec("server-ca", CertKind::ServerCa)]).unwrap();
        let a1 = rec("alice", CertKind::Client);
        let a2 = rec("alice", CertKind::Client);
        append(&p, &[a1.clone(), rec("alice", CertKind::Server)]).unwrap();
        append(&p, std::slice::from_ref(&a2)).unwrap();
        let l = read(&p).unwrap();
        assert_eq!(l.issued().len(), 4);
        let (Event::Issued(a1), Event::Issued(a2)) = (a1, a2) else {
            unreachable!()
        };
        assert_eq!(l.current(CertKind::Client, "alice"), Some(&a2));
        // One per kind and name, in the order of their latest issue.
        let all: Vec<(CertKind, &str)> = l
            .all_current()
            .iter()
            .map(|i| (i.kind, i.name.as_str()))
            .collect();
        assert_eq!(
            all,
            [
                (CertKind::ServerCa, "server-ca"),
                (CertKind::Server, "alice"),
                (CertKind::Client, "alice"),
            ]
        );
        assert_eq!(l.all_current()[2], &a2);
        let now = datetime!(2026-02-01 0:00 UTC);
        assert_eq!(l.state(&a1, now), CertState::Superseded);
        assert_eq!(l.state(&a2, now), CertState::Valid);
        assert!(
            l.current(CertKind::Server, "alice").is_some(),
            "kinds are separate namespaces"
        );
    }

    #[test]
    fn the_issued_shortcut_reads_what_the_tagged_enum_reads() {
        let e = rec("alice", CertKind::Client);
        let line = serde_json::to_vec(&e).unwrap();
        assert!(
            line.starts_with(br#"{"event":"issued","#),
            "the shortcut is taken"
        );
        assert_eq!(parse_event(&line).unwrap(), e);
        assert_eq!(serde_json::from_slice::<Event>(&line).unwrap(), e);
        // Anything else goes through the enum, including a line whose tag comes later.
        let reordered = br#"{"kind":"client","event":"issued"}"#;
        assert!(parse_event(reordered).is_err());
    }

    #[test]
    fn torn_tail_is_skipped_then_trimmed() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(INVENTORY_FILE);
        create(&p, &[rec("a", CertKind::Client)]).unwrap();
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"event\":\"issued\",\"ser").unwrap();
        drop(f);
        let l = read(&p).unwrap();
        assert!(l.torn_tail);
        assert_eq!(l.issued().len(), 1);
        append(&p, &[rec("b", CertKind::Client)]).unwrap();
        let l = read(&p).unwrap();
        assert!(!l.torn_tail);
        assert_eq!(l.issued().len(), 2);
    }

    #[test]
    fn a_corrupt_middle_line_is_an_error_with_its_number() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(INVENTORY_FILE);
        create(&p, &[rec("a", CertKind::Client)]).unwrap();
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"garbage\n").unwrap();
        drop(f);
        append(&p, &[rec("b", CertKind::Client)]).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("is corrupt at line 2"), "{e}");
    }

    #[test]
    fn due_is_exactly_one_third() {
        let nb = datetime!(2026-01-01 0:00 UTC);
        let na = nb + time::Duration::seconds(300);
        assert_eq!(
            CertState::at(nb, na, nb + time::Duration::seconds(200)),
            CertState::Valid
        );
        assert_eq!(
            CertState::at(nb, na, nb + time::Duration::seconds(201)),
            CertState::Due
        );
        assert_eq!(CertState::at(nb, na, na), CertState::Expired);
        assert_eq!(
            CertState::at(nb, na, nb - time::Duration::seconds(1)),
            CertState::NotYetValid
        );
    }
}
