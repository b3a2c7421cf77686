//! The inventory file: reading committed batches, appending a batch, and the commit lines
//! that make a batch all or nothing (see the module docs of [`crate::inventory`]).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use ring::digest;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::inventory::ledger::{Ledger, note_latest};
use crate::inventory::record::{Event, Issued};
use crate::model::kind::CertKind;
use crate::model::serial::Serial;

/// The inventory's file name inside the CA directory.
pub const INVENTORY_FILE: &str = "inventory.jsonl";

/// Reads the inventory at `path`: every committed record (see the module docs). An uncommitted
/// batch at the end (an interrupted write) is skipped and reported in [`Ledger::torn_tail`]; a
/// committed line that cannot be read, or a commit line that does not match its batch where no
/// interrupted write can explain it, is [`Error::CorruptInventory`] naming the line.
pub fn read(path: &Path) -> Result<Ledger> {
    let mut ledger = Ledger::default();
    let scan = scan(path, parse_event, |e| ledger.apply(e))?;
    ledger.torn_tail = scan.torn;
    Ok(ledger)
}

/// The line that closes every batch pgca writes: how many event lines the batch has, and the
/// SHA-256 of their bytes, newlines included. Never an [`Event`]: readers consume it.
#[derive(Deserialize)]
struct CommitLine<'a> {
    events: usize,
    #[serde(borrow)]
    sha256: std::borrow::Cow<'a, str>,
}

/// How every commit line starts (pgca writes the tag first, as for events).
const COMMIT_PREFIX: &[u8] = br#"{"event":"commit","#;

/// How every `issued` line starts.
const ISSUED_PREFIX: &[u8] = br#"{"event":"issued","#;

/// The commit line `text` holds, if it is one.
fn parse_commit(text: &[u8]) -> Option<CommitLine<'_>> {
    if !text.starts_with(COMMIT_PREFIX) {
        return None;
    }
    let c: CommitLine<'_> = serde_json::from_slice(text).ok()?;
    (c.sha256.len() == 64 && c.sha256.bytes().all(|b| b.is_ascii_hexdigit())).then_some(c)
}

/// Event lines followed by the commit line that closes them: the bytes of one write.
fn frame(events: &[Event]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(events.len() * 400 + 128);
    for e in events {
        serde_json::to_writer(&mut buf, e).expect("inventory events serialise");
        buf.push(b'\n');
    }
    let sha = crate::model::hex::lower(digest::digest(&digest::SHA256, &buf).as_ref());
    let commit = format!(
        r#"{{"event":"commit","events":{},"sha256":"{sha}"}}"#,
        events.len()
    );
    debug_assert!(commit.as_bytes().starts_with(COMMIT_PREFIX));
    buf.extend_from_slice(commit.as_bytes());
    buf.push(b'\n');
    buf
}

/// A line that ends the file without its newline may have NUL bytes after its text: a power cut
/// can extend a file without the data written there. They are not part of the line.
fn without_trailing_nuls(raw: &[u8]) -> &[u8] {
    &raw[..raw.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)]
}

fn is_blank(text: &[u8]) -> bool {
    text.iter().all(u8::is_ascii_whitespace)
}

/// What [`scan`] found besides the records.
#[derive(Debug, PartialEq, Eq)]
struct Scan {
    /// An uncommitted batch or a torn line at the end was skipped.
    torn: bool,
    /// Where the last committed record ends (its newline included, if it has one): everything
    /// after it is an uncommitted tail that the next [`append`] cuts off.
    committed_end: u64,
    /// The last committed record ends the file without its newline.
    newline_missing: bool,
    /// The file has a commit line (otherwise it was written before batches were framed).
    framed: bool,
}

/// A line read but not yet known to be committed.
struct Pending<T> {
    /// 1-based line number.
    line: usize,
    /// Where its bytes are in the file, and how many (its newline included).
    offset: u64,
    len: usize,
    item: serde_json::Result<T>,
}

/// Reads the inventory at `path` and calls `apply` with every committed record, in order, parsed
/// by `parse`. Blank lines are ignored everywhere. The rules, all of them in this one function
/// (read, read_current and append must agree):
///
/// - Event lines are held until a commit line covers them: the `events` lines before it, whose
///   bytes must hash to its `sha256`. Then they are applied; one that `parse` rejects is
///   [`Error::CorruptInventory`].
/// - Lines before the first commit that it does not cover were written before batches were
///   framed: they are committed records. In a file without any commit line every complete line
///   is, and so is a last line without its newline if `parse` accepts it.
/// - After the first commit, a line that the next commit does not cover is corruption.
/// - Lines after the last commit are an uncommitted batch: skipped, `torn`.
/// - A commit that does not match its lines (their count or their hash) is an interrupted write
///   if the batch shows the damage one leaves, NUL bytes where a power cut lost a block of the
///   write, and nothing but a torn line follows: its batch is skipped, `torn`. Anywhere else,
///   including the first commit of the file (pgca never appends a batch before a commit of its
///   own is durable), it is corruption: the batch was edited or the file damaged, and dropping
///   records that were committed could make recovery delete live certificates.
fn scan<T>(
    path: &Path,
    mut parse: impl FnMut(&[u8]) -> serde_json::Result<T>,
    mut apply: impl FnMut(T),
) -> Result<Scan> {
    let corrupt = |line: usize, reason: String| Error::CorruptInventory {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let file = File::open(path).map_err(Error::io("read inventory", path))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut found = Scan {
        torn: false,
        committed_end: 0,
        newline_missing: false,
        framed: false,
    };
    let mut pending: Vec<Pending<T>> = Vec::new();
    // The hash of the pending lines, kept once a commit has been seen: the next batch starts
    // right after it. Before the first commit, where the batch starts is known only at its
    // commit, and its lines are read again from the file (two lines, for a new inventory).
    let mut hash = digest::Context::new(&digest::SHA256);
    // A commit that did not match, in a batch an interrupted write damaged: only a torn line may
    // follow it.
    let mut damaged: Option<(usize, String)> = None;
    let mut raw = Vec::with_capacity(512);
    let (mut n, mut offset) = (0, 0u64);
    loop {
        raw.clear();
        let got = reader
            .read_until(b'\n', &mut raw)
            .map_err(Error::io("read inventory", path))?;
        if got == 0 {
            break;
        }
        n += 1;
        let start = offset;
        offset += got as u64;
        let complete = raw.last() == Some(&b'\n');
        let text = if complete {
            &raw[..raw.len() - 1]
        } else {
            without_trailing_nuls(&raw)
        };
        if is_blank(text) {
            // NUL bytes alone at the end: what a power cut left of a write.
            found.torn |= !complete && text.len() < raw.len();
            continue;
        }
        if let Some((line, reason)) = damaged.take() {
            if complete {
                return Err(corrupt(line, reason));
            }
            found.torn = true;
            break;
        }
        if let Some(commit) = parse_commit(text) {
            let running = std::mem::replace(&mut hash, digest::Context::new(&digest::SHA256));
            let count = commit.events;
            let first = pending.len().checked_sub(count);
            let matches = match first {
                None => false,
                Some(first) => {
                    let sha = if found.framed && first == 0 {
                        running.finish()
                    } else {
                        read_back(reader.get_ref(), &pending[first..], path)?.0
                    };
                    commit
                        .sha256
                        .eq_ignore_ascii_case(&crate::model::hex::lower(sha.as_ref()))
                }
            };
            if matches {
                let first = first.unwrap_or_default();
                if found.framed && first > 0 {
                    return Err(corrupt(
                        pending[0].line,
                        format!("the line is not part of the batch committed at line {n}"),
                    ));
                }
                for p in pending.drain(..) {
                    apply(p.item.map_err(|e| corrupt(p.line, e.to_string()))?);
                }
                found.framed = true;
                found.committed_end = start + text.len() as u64 + u64::from(complete);
                found.newline_missing = !complete;
                continue;
            }
            let reason = match first {
                None => format!(
                    "the commit counts {count} event lines, but only {} precede it",
                    pending.len()
                ),
                Some(_) => {
                    format!("the {count} event lines before the commit do not match its SHA-256")
                }
            };
            // A power cut that loses a block of a write leaves NUL bytes where it was; an edit
            // does not.
            let interrupted = found.framed && read_back(reader.get_ref(), &pending, path)?.1;
            if !interrupted {
                return Err(corrupt(n, reason));
            }
            damaged = Some((n, reason));
            pending.clear();
            continue;
        }
        if !complete {
            // The last line, without its newline. In a file without commit lines it is a
            // complete record if it reads as one (an editor dropped the newline); anywhere else,
            // what an interrupted write left.
            if !found.framed
                && let Ok(item) = parse(text)
            {
                pending.push(Pending {
                    line: n,
                    offset: start,
                    len: text.len(),
                    item: Ok(item),
                });
                found.newline_missing = true;
            } else {
                found.torn = true;
            }
            break;
        }
        if found.framed {
            hash.update(&raw);
        }
        pending.push(Pending {
            line: n,
            offset: start,
            len: raw.len(),
            item: parse(text),
        });
    }
    if damaged.is_some() {
        found.torn = true;
    } else if found.framed {
        found.torn |= !pending.is_empty();
    } else if let Some(last) = pending.last() {
        // No commit line: everything is a record written before batches were framed.
        found.committed_end = last.offset + last.len as u64;
        for p in pending {
            apply(p.item.map_err(|e| corrupt(p.line, e.to_string()))?);
        }
    }
    Ok(found)
}

/// Reads `lines` again from `file`: the SHA-256 of their bytes, and whether they hold a NUL byte.
fn read_back<T>(file: &File, lines: &[Pending<T>], path: &Path) -> Result<(digest::Digest, bool)> {
    let mut sha = digest::Context::new(&digest::SHA256);
    let mut nul = false;
    let mut buf = Vec::new();
    for p in lines {
        buf.resize(p.len, 0);
        file.read_exact_at(&mut buf, p.offset)
            .map_err(Error::io("read inventory", path))?;
        nul |= memchr::memchr(0, &buf).is_some();
        sha.update(&buf);
    }
    Ok((sha.finish(), nul))
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
    /// Whether each of `names` has an external key (`pgca sign`): no key file to check.
    pub external_key: Vec<bool>,
    /// For each of `names` with an external key, when its public key was first certified (the
    /// key's age, for `check --max-key-age`); `None` otherwise.
    pub key_since: Vec<Option<time::OffsetDateTime>>,
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
    #[serde(default)]
    external_key: bool,
    #[serde(default, borrow)]
    spki_sha256: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    issued_at: std::borrow::Cow<'a, str>,
}

/// What [`read_current`] keeps of a line until its batch is committed.
enum Light {
    /// Kind, name, serial, SHA-256, and for an external key its public key's SHA-256 and
    /// when it was issued (kept as text: parsed only for the current ones).
    Issued(
        CertKind,
        String,
        String,
        Option<String>,
        Option<(String, String)>,
    ),
    Crl(CertKind),
    Other,
}

/// Reads only what [`Current`] holds: of an `issued` line its kind and name, without the dates,
/// serial and paths that [`read`] parses and keeps (a fifth of `check`'s time at 100,000
/// certificates went to building that history). Other lines are parsed in full. Which lines are
/// committed is decided exactly as by [`read`], and an unreadable line is the same error.
pub(crate) fn read_current(path: &Path) -> Result<Current> {
    let mut latest: [HashMap<String, usize>; 4] = Default::default();
    let mut crl_recorded = [false; 2];
    let mut at = 0;
    let mut records: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    // An external public key's first certification (RFC 3339 text), by its SHA-256.
    let mut first_seen: HashMap<String, String> = HashMap::new();
    scan(
        path,
        |text| {
            Ok(if text.starts_with(ISSUED_PREFIX) {
                let i: IssuedName<'_> = serde_json::from_slice(text)?;
                Light::Issued(
                    i.kind,
                    i.name.into_owned(),
                    i.serial.into_owned(),
                    i.sha256.map(|h| h.into_owned()),
                    match (i.external_key, i.spki_sha256) {
                        (true, Some(spki)) => Some((spki.into_owned(), i.issued_at.into_owned())),
                        _ => None,
                    },
                )
            } else if let Event::CrlIssued(c) = parse_event(text)? {
                Light::Crl(c.ca)
            } else {
                Light::Other
            })
        },
        |line| match line {
            Light::Issued(kind, name, serial, sha256, external) => {
                note_latest(&mut latest, kind, name, at);
                let spki = external.map(|(spki, issued_at)| {
                    first_seen.entry(spki.clone()).or_insert(issued_at);
                    spki
                });
                records.push((serial, sha256, spki));
                at += 1;
            }
            Light::Crl(ca) => crl_recorded[usize::from(ca == CertKind::ClientCa)] = true,
            Light::Other => {}
        },
    )?;
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
    let mut external_key = Vec::with_capacity(names.len());
    let mut key_since = Vec::with_capacity(names.len());
    for (at, _, _) in &names {
        let (serial, sha256, spki) = std::mem::take(&mut records[*at]);
        external_key.push(spki.is_some());
        key_since.push(spki.and_then(|s| first_seen.get(&s)).and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        }));
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
        external_key,
        key_since,
        crl_recorded,
    })
}

/// One line of the inventory. Every line pgca writes starts with its tag, and an `issued` line
/// goes straight to [`Issued`]: serde buffers an internally tagged enum before it can pick the
/// variant, which made reading a 100,000-line inventory a fifth slower.
fn parse_event(text: &[u8]) -> serde_json::Result<Event> {
    if text.starts_with(ISSUED_PREFIX) {
        return serde_json::from_slice::<Issued>(text).map(Event::Issued);
    }
    serde_json::from_slice(text)
}

/// Appends events as one batch, closed by its commit line, in one write, and makes it durable:
/// the batch is committed when that write is. Must be called under the directory lock.
///
/// An uncommitted tail left by a crash is cut off first, back to the end of the last committed
/// record; if that record lost its newline, the newline is written (and synced) instead. An
/// inventory written before batches were framed first gets an empty commit line of its own,
/// synced before the batch is written, so that a torn first batch can never read as old records.
pub(crate) fn append(path: &Path, events: &[Event]) -> Result<()> {
    let batch = frame(events);
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(Error::io("open inventory", path))?;
    let len = file
        .metadata()
        .map_err(Error::io("read inventory", path))?
        .len();
    // Usually the last commit line is near the end and matches its batch; otherwise (an
    // interrupted write damaged the last batch, or no commit line yet) the whole file is read,
    // with the same rules as every reader.
    let tail = match last_commit(&file, len).map_err(Error::io("read inventory", path))? {
        Some(tail) => tail,
        None => scan(path, parse_event, drop)?,
    };
    if tail.committed_end < len {
        file.set_len(tail.committed_end)
            .map_err(Error::io("repair inventory", path))?;
    }
    if tail.newline_missing {
        write_synced(&mut file, b"\n", path)?;
    }
    if !tail.framed {
        write_synced(&mut file, &frame(&[]), path)?;
    }
    write_synced(&mut file, &batch, path)
}

fn write_synced(file: &mut File, bytes: &[u8], path: &Path) -> Result<()> {
    file.write_all(bytes)
        .map_err(Error::io("append to inventory", path))?;
    file.sync_data().map_err(Error::io("sync inventory", path))
}

/// Creates a new inventory holding `events` as one batch (used by `init`, which renames it into
/// place).
pub(crate) fn create(path: &Path, events: &[Event]) -> Result<()> {
    crate::storage::create_file(path, &frame(events), 0o600, "write inventory")
}

/// [`scan`]'s verdict on where the committed records end, read from the end of the file: found
/// when the last commit line matches the lines before it. `None` when it does not, when its
/// batch would reach past another commit line, or when there is no commit line: then only a
/// full [`scan`] can tell.
fn last_commit(file: &File, len: u64) -> std::io::Result<Option<Scan>> {
    let mut lines = LinesBack::new(file, len);
    let mut torn = false;
    let (end, complete, count, sha) = loop {
        let Some((start, raw)) = lines.next()? else {
            return Ok(None);
        };
        // Only the first line read (the file's last) can lack its newline.
        let complete = raw.last() == Some(&b'\n');
        let text = if complete {
            &raw[..raw.len() - 1]
        } else {
            without_trailing_nuls(&raw)
        };
        if let Some(c) = parse_commit(text) {
            let end = start + text.len() as u64 + u64::from(complete);
            break (end, complete, c.events, c.sha256.into_owned());
        }
        torn |= !is_blank(text) || text.len() + usize::from(complete) < raw.len();
    };
    let mut batch: Vec<Vec<u8>> = Vec::new();
    while batch.len() < count {
        let Some((_, raw)) = lines.next()? else {
            return Ok(None);
        };
        let text = &raw[..raw.len() - 1];
        if is_blank(text) {
            continue;
        }
        if parse_commit(text).is_some() {
            return Ok(None);
        }
        batch.push(raw);
    }
    let mut hash = digest::Context::new(&digest::SHA256);
    for line in batch.iter().rev() {
        hash.update(line);
    }
    if !sha.eq_ignore_ascii_case(&crate::model::hex::lower(hash.finish().as_ref())) {
        return Ok(None);
    }
    Ok(Some(Scan {
        torn,
        committed_end: end,
        newline_missing: !complete,
        framed: true,
    }))
}

/// The lines of a file from its end back to its start, each with its offset and its newline.
struct LinesBack<'a> {
    file: &'a File,
    /// Where the bytes in `buf` start.
    at: u64,
    /// Read but not yet returned.
    buf: Vec<u8>,
}

impl<'a> LinesBack<'a> {
    fn new(file: &'a File, len: u64) -> Self {
        LinesBack {
            file,
            at: len,
            buf: Vec::new(),
        }
    }

    fn next(&mut self) -> std::io::Result<Option<(u64, Vec<u8>)>> {
        loop {
            // The newline that ends the line before the last one in `buf`.
            let before = self.buf.len().saturating_sub(1);
            if let Some(i) = memchr::memrchr(b'\n', &self.buf[..before]) {
                let line = self.buf.split_off(i + 1);
                return Ok(Some((self.at + i as u64 + 1, line)));
            }
            if self.at == 0 {
                return Ok((!self.buf.is_empty()).then(|| (0, std::mem::take(&mut self.buf))));
            }
            let start = self.at.saturating_sub(1 << 16);
            let mut block = vec![0; (self.at - start) as usize];
            self.file.read_exact_at(&mut block, start)?;
            block.extend_from_slice(&self.buf);
            self.buf = block;
            self.at = start;
        }
    }
}

/// The inventory path of a CA directory.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(INVENTORY_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::record::CrlRecord;
    use crate::model::kind::CertState;
    use crate::x509::keys::KeyType;
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

    /// An event's line, as pgca writes it.
    fn line(e: &Event) -> Vec<u8> {
        let mut l = serde_json::to_vec(e).unwrap();
        l.push(b'\n');
        l
    }

    /// Lines (each with its newline) closed by the commit line that covers them.
    fn batch(lines: &[u8]) -> Vec<u8> {
        let count = lines.iter().filter(|&&b| b == b'\n').count();
        let sha = crate::model::hex::lower(digest::digest(&digest::SHA256, lines).as_ref());
        let mut b = lines.to_vec();
        b.extend(format!(r#"{{"event":"commit","events":{count},"sha256":"{sha}"}}"#).bytes());
        b.push(b'\n');
        b
    }

    fn names(p: &Path) -> Vec<String> {
        read(p)
            .unwrap()
            .issued()
            .iter()
            .map(|i| i.name.clone())
            .collect()
    }

    /// `read_current` decides what is committed exactly as `read` does.
    fn assert_agree(p: &Path) {
        match (read(p), read_current(p)) {
            (Ok(full), Ok(light)) => {
                let expected: Vec<(CertKind, String)> = full
                    .all_current()
                    .iter()
                    .map(|i| (i.kind, i.name.clone()))
                    .collect();
                assert_eq!(light.names, expected);
            }
            (
                Err(Error::CorruptInventory { line: a, .. }),
                Err(Error::CorruptInventory { line: b, .. }),
            ) => assert_eq!(a, b),
            (a, b) => panic!("read: {a:?}, read_current: {b:?}"),
        }
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

        // A torn tail is skipped as by `read`.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"event":"issued","serial":"#).unwrap();
        assert_eq!(read_current(&p).unwrap().names, expected);
        assert_agree(&p);
        // An edited line of a committed batch: its commit (line 9) no longer matches.
        let text = std::fs::read_to_string(&p).unwrap();
        let edited = text.replacen(r#""kind":"client""#, r#""kind":"nope""#, 1);
        std::fs::write(&p, &edited).unwrap();
        let (a, b) = (read(&p).unwrap_err(), read_current(&p).unwrap_err());
        assert!(matches!(a, Error::CorruptInventory { line: 9, .. }), "{a}");
        assert!(matches!(b, Error::CorruptInventory { line: 9, .. }), "{b}");
        // A committed line that cannot be read is an error naming it, in both.
        let mut bytes = text.into_bytes();
        bytes.truncate(bytes.iter().rposition(|&b| b == b'\n').unwrap() + 1);
        let mut bad = line(&rec("x", CertKind::Client));
        bad.extend(
            br#"{"event":"issued","kind":"nope","name":"x"}"#
                .iter()
                .chain(b"\n"),
        );
        bytes.extend(batch(&bad));
        std::fs::write(&p, &bytes).unwrap();
        let (a, b) = (read(&p).unwrap_err(), read_current(&p).unwrap_err());
        assert!(matches!(a, Error::CorruptInventory { line: 11, .. }), "{a}");
        assert!(matches!(b, Error::CorruptInventory { line: 11, .. }), "{b}");
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
    fn a_corrupt_line_is_an_error_with_its_number() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(INVENTORY_FILE);
        create(&p, &[rec("a", CertKind::Client)]).unwrap();
        // Garbage after the last commit is an uncommitted tail: the next write cuts it off.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"garbage\n").unwrap();
        drop(f);
        assert!(read(&p).unwrap().torn_tail);
        append(&p, &[rec("b", CertKind::Client)]).unwrap();
        let l = read(&p).unwrap();
        assert_eq!((l.issued().len(), l.torn_tail), (2, false));
        // Between two commits, a line that the later one does not cover is a hand edit.
        let mut bytes = std::fs::read(&p).unwrap();
        bytes.extend(b"garbage\n");
        bytes.extend(batch(&line(&rec("c", CertKind::Client))));
        std::fs::write(&p, &bytes).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("is corrupt at line 5"), "{e}");
        assert_agree(&p);
        // Before the first commit, an unreadable line is an unreadable record.
        let mut bytes = b"garbage\n".to_vec();
        bytes.extend(frame(&[rec("a", CertKind::Client)]));
        std::fs::write(&p, &bytes).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("is corrupt at line 1"), "{e}");
        assert_agree(&p);
    }

    #[test]
    fn every_write_ends_with_its_commit_line() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(INVENTORY_FILE);
        let (a, b) = (rec("a", CertKind::Client), rec("b", CertKind::Client));
        create(&p, std::slice::from_ref(&a)).unwrap();
        append(&p, std::slice::from_ref(&b)).unwrap();
        let mut want = batch(&line(&a));
        want.extend(batch(&line(&b)));
        assert_eq!(std::fs::read(&p).unwrap(), want);
        let last = want[..want.len() - 1]
            .split(|&c| c == b'\n')
            .next_back()
            .unwrap();
        assert!(
            last.starts_with(COMMIT_PREFIX),
            "{}",
            String::from_utf8_lossy(last)
        );
    }

    #[test]
    fn a_batch_torn_at_any_byte_is_all_or_nothing() {
        let d = tempfile::tempdir().unwrap();
        let whole = d.path().join("whole");
        create(&whole, &[rec("ca", CertKind::ClientCa)]).unwrap();
        append(&whole, &[rec("a", CertKind::Client)]).unwrap();
        let before = std::fs::metadata(&whole).unwrap().len() as usize;
        let roles: Vec<Event> = (0..3)
            .map(|i| rec(&format!("r{i}"), CertKind::Client))
            .collect();
        append(&whole, &roles).unwrap();
        let bytes = std::fs::read(&whole).unwrap();
        let p = d.path().join(INVENTORY_FILE);
        let commit_start = bytes[..bytes.len() - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .unwrap()
            + 1;
        for cut in before..=bytes.len() {
            std::fs::write(&p, &bytes[..cut]).unwrap();
            let l = read(&p).unwrap();
            // The commit line without its newline is complete: everything but that newline.
            let all = cut >= bytes.len() - 1;
            assert_eq!(l.issued().len(), if all { 5 } else { 2 }, "cut at {cut}");
            assert_eq!(l.torn_tail, !all && cut > before, "cut at {cut}");
            assert_agree(&p);
            // The writer's shortcut from the end agrees with the full scan.
            let quick = last_commit(&File::open(&p).unwrap(), cut as u64).unwrap();
            assert_eq!(
                quick,
                Some(scan(&p, parse_event, drop).unwrap()),
                "cut at {cut}"
            );
            // The next write cuts the tail off (or completes the line) and commits after it:
            // tried at every line end and every byte of the commit line, and every 16th byte
            // elsewhere (each append is an fdatasync).
            let edge = bytes[..cut].ends_with(b"\n") || bytes[cut..].starts_with(b"\n");
            if !(edge || cut >= commit_start || cut % 16 == 0) {
                continue;
            }
            append(&p, &[rec("next", CertKind::Client)]).unwrap();
            let l = read(&p).unwrap();
            assert_eq!(l.issued().len(), if all { 6 } else { 3 }, "cut at {cut}");
            assert!(!l.torn_tail, "cut at {cut}");
            let want = if all { &bytes[..] } else { &bytes[..before] };
            assert!(std::fs::read(&p).unwrap().starts_with(want), "cut at {cut}");
        }
    }

    #[test]
    fn a_batch_with_a_lost_block_is_not_committed() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(INVENTORY_FILE);
        create(&p, &[rec("ca", CertKind::ClientCa)]).unwrap();
        let before = std::fs::read(&p).unwrap();
        let roles: Vec<Event> = (0..3)
            .map(|i| rec(&format!("r{i}"), CertKind::Client))
            .collect();
        append(&p, &roles).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        // A power cut lost a block in the middle of the write; its commit line made it.
        let mid = before.len() + (bytes.len() - before.len()) / 3;
        bytes[mid..mid + 300].fill(0);
        std::fs::write(&p, &bytes).unwrap();
        let l = read(&p).unwrap();
        assert_eq!((l.issued().len(), l.torn_tail), (1, true));
        assert_agree(&p);
        // More after it: that was no interrupted write.
        let commit_line = bytes.iter().filter(|&&b| b == b'\n').count();
        let mut more = bytes.clone();
        more.extend(batch(&line(&rec("later", CertKind::Client))));
        std::fs::write(&p, &more).unwrap();
        match read(&p).unwrap_err() {
            Error::CorruptInventory { line, .. } => assert_eq!(line, commit_line),
            e => panic!("{e}"),
        }
        assert_agree(&p);
        // At the end, the next write cuts the damaged batch off.
        std::fs::write(&p, &bytes).unwrap();
        append(&p, &[rec("b", CertKind::Client)]).unwrap();
        assert_eq!(names(&p), ["ca", "b"]);
        assert!(std::fs::read(&p).unwrap().starts_with(&before));
    }

    #[test]
    fn an_edited_last_batch_is_an_error_not_a_torn_tail() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(INVENTORY_FILE);
        create(&p, &[rec("ca", CertKind::ClientCa)]).unwrap();
        append(&p, &[rec("alice", CertKind::Client)]).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, text.replace("alice", "alicE")).unwrap();
        let e = read(&p).unwrap_err();
        assert!(matches!(e, Error::CorruptInventory { line: 4, .. }), "{e}");
        assert_agree(&p);
        // The writer refuses too, rather than cutting off alice.
        assert!(append(&p, &[rec("b", CertKind::Client)]).is_err());
        // A first commit that does not match: nothing tells the old records from its batch.
        std::fs::write(&p, text.replacen("\"ca\"", "\"cA\"", 1)).unwrap();
        let e = read(&p).unwrap_err();
        assert!(matches!(e, Error::CorruptInventory { line: 2, .. }), "{e}");
    }

    #[test]
    fn a_committed_last_record_without_its_newline_is_kept() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(INVENTORY_FILE);
        create(&p, &[rec("ca", CertKind::ClientCa)]).unwrap();
        append(
            &p,
            &[rec("a", CertKind::Client), rec("b", CertKind::Client)],
        )
        .unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        bytes.pop();
        std::fs::write(&p, &bytes).unwrap();
        let l = read(&p).unwrap();
        assert_eq!((l.issued().len(), l.torn_tail), (3, false));
        assert_agree(&p);
        append(&p, &[rec("c", CertKind::Client)]).unwrap();
        assert_eq!(names(&p), ["ca", "a", "b", "c"]);
        assert!(!read(&p).unwrap().torn_tail);
        // NUL bytes after it (a power cut extended the file without its data): still complete.
        bytes.extend([0; 40]);
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(names(&p), ["ca", "a", "b"]);
        append(&p, &[rec("c", CertKind::Client)]).unwrap();
        assert_eq!(names(&p), ["ca", "a", "b", "c"]);
        assert!(!std::fs::read(&p).unwrap().contains(&0));
    }

    #[test]
    fn a_legacy_inventory_reads_and_takes_framed_batches() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(INVENTORY_FILE);
        // Written before batches were framed: no commit line, and the last line lost its newline.
        let mut legacy = Vec::new();
        for n in ["ca", "a", "b"] {
            legacy.extend(line(&rec(n, CertKind::Client)));
        }
        legacy.pop();
        std::fs::write(&p, &legacy).unwrap();
        let l = read(&p).unwrap();
        assert_eq!((l.issued().len(), l.torn_tail), (3, false));
        assert_agree(&p);
        // A torn last line is still torn.
        let mut torn = legacy.clone();
        torn.extend(b"\n{\"event\":\"issued\",\"ser");
        std::fs::write(&p, &torn).unwrap();
        let l = read(&p).unwrap();
        assert_eq!((l.issued().len(), l.torn_tail), (3, true));
        assert_agree(&p);
        append(&p, &[rec("c", CertKind::Client)]).unwrap();
        assert_eq!(names(&p), ["ca", "a", "b", "c"]);

        std::fs::write(&p, &legacy).unwrap();
        append(&p, &[rec("c", CertKind::Client)]).unwrap();
        append(
            &p,
            &[rec("d", CertKind::Client), rec("e", CertKind::Client)],
        )
        .unwrap();
        assert_eq!(names(&p), ["ca", "a", "b", "c", "d", "e"]);
        assert_agree(&p);
        // The old lines kept their bytes; an empty commit closes them, then the new batches.
        let mut want = legacy;
        want.push(b'\n');
        want.extend(frame(&[]));
        let bytes = std::fs::read(&p).unwrap();
        assert!(bytes.starts_with(&want));
        // A write torn after the old lines (the empty commit, or a batch): not committed.
        for cut in want.len() - frame(&[]).len() - 1..bytes.len() - 1 {
            std::fs::write(&p, &bytes[..cut]).unwrap();
            assert!(names(&p).len() < 6, "cut at {cut}");
            assert!(names(&p).starts_with(&["ca", "a", "b"].map(String::from)));
            assert_agree(&p);
        }
    }

    #[test]
    fn blank_lines_are_ignored() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(INVENTORY_FILE);
        create(&p, &[rec("ca", CertKind::ClientCa)]).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        bytes.extend(b"\n  \n");
        bytes.extend(batch(&line(&rec("a", CertKind::Client))));
        bytes.extend(b"\n");
        std::fs::write(&p, &bytes).unwrap();
        let l = read(&p).unwrap();
        assert_eq!((l.issued().len(), l.torn_tail), (2, false));
        assert_agree(&p);
        append(&p, &[rec("b", CertKind::Client)]).unwrap();
        assert_eq!(names(&p), ["ca", "a", "b"]);
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
