//! The inventory file: reading committed batches, appending a batch, and the commit lines
//! that make a batch all or nothing (see the module docs of [`crate::inventory`]).

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use ring::digest;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::inventory::ledger::{CurrentCert, Ledger, note_latest};
use crate::inventory::record::{CrlRecord, Event, Issued};
use crate::inventory::seal::{self, Chain, Seal};
use crate::model::kind::CertKind;

/// The inventory's file name inside the CA directory.
pub const INVENTORY_FILE: &str = "inventory.jsonl";

/// Reads the inventory at `path`: every committed record (see the module docs). An uncommitted
/// batch at the end (an interrupted write) is skipped and reported in [`Ledger::torn_tail`]; a
/// committed line that cannot be read, or a commit line that does not match its batch where no
/// interrupted write can explain it, is [`Error::CorruptInventory`] naming the line.
pub fn read(path: &Path) -> Result<Ledger> {
    let mut ledger = Ledger::default();
    let seal = seal::read(path)?;
    let scan = scan(path, parse_event, |e| ledger.apply(e), seal.as_ref())?;
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

/// Event lines followed by the commit line that closes them: the bytes of one write, and the
/// SHA-256 (hex) the commit line carries.
fn frame(events: &[Event]) -> (Vec<u8>, String) {
    let mut buf = event_lines(events);
    let sha = crate::model::hex::lower(digest::digest(&digest::SHA256, &buf).as_ref());
    let commit = format!(
        r#"{{"event":"commit","events":{},"sha256":"{sha}"}}"#,
        events.len()
    );
    debug_assert!(commit.as_bytes().starts_with(COMMIT_PREFIX));
    buf.extend_from_slice(commit.as_bytes());
    buf.push(b'\n');
    (buf, sha)
}

/// The event lines of `events`, each as pgca writes it, newline included.
pub(crate) fn event_lines(events: &[Event]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(events.len() * 400 + 128);
    for e in events {
        serde_json::to_writer(&mut buf, e).expect("inventory events serialise");
        buf.push(b'\n');
    }
    buf
}

/// Every committed event of the inventory at `path`, in order, checked as [`read`] checks
/// (its seal included).
pub(crate) fn read_events(path: &Path) -> Result<Vec<Event>> {
    let seal = seal::read(path)?;
    let mut events = Vec::new();
    scan(path, parse_event, |e| events.push(e), seal.as_ref())?;
    Ok(events)
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
    /// The hash chain over every committed batch (see [`seal`]).
    chain: Chain,
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
/// - With a `seal` (see [`seal`]), the committed batches must reach at least as far as the seal
///   counts and hash to its chain; otherwise records that were committed are missing, which no
///   crash explains: [`Error::DamagedInventory`].
fn scan<T>(
    path: &Path,
    parse: impl FnMut(&[u8]) -> serde_json::Result<T>,
    apply: impl FnMut(T),
    seal: Option<&Seal>,
) -> Result<Scan> {
    let file = File::open(path).map_err(Error::io("read inventory", path))?;
    scan_file(path, &file, u64::MAX, parse, apply, seal)
}

/// [`scan`] of the first `limit` bytes of the open inventory `file`.
fn scan_file<T>(
    path: &Path,
    file: &File,
    limit: u64,
    mut parse: impl FnMut(&[u8]) -> serde_json::Result<T>,
    mut apply: impl FnMut(T),
    seal: Option<&Seal>,
) -> Result<Scan> {
    let corrupt = |line: usize, reason: String| Error::CorruptInventory {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut at_start = file;
    std::io::Seek::rewind(&mut at_start).map_err(Error::io("read inventory", path))?;
    let mut reader = BufReader::with_capacity(1 << 16, std::io::Read::take(file, limit));
    let mut found = Scan {
        torn: false,
        committed_end: 0,
        newline_missing: false,
        framed: false,
        chain: Chain::default(),
    };
    // The chain where it had as many batches as the seal counts.
    let mut at_seal = seal.filter(|s| s.batches == 0).map(|_| Chain::default());
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
        let got = next_line(&mut reader, &mut raw, path)?;
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
                        read_back(file, &pending[first..], path)?.0
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
                found.chain = found.chain.next(&commit.sha256);
                if seal.is_some_and(|s| s.batches == found.chain.batches) {
                    at_seal = Some(found.chain.clone());
                }
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
            let interrupted = found.framed && read_back(file, &pending, path)?.1;
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
    if let Some(seal) = seal {
        seal::judge(
            path,
            seal,
            &found.chain,
            found.committed_end,
            at_seal.as_ref(),
        )?;
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
    /// The current certificate of every name, in the order of their latest issue (as
    /// [`Ledger::all_current`]).
    pub certs: Vec<CurrentCert>,
    /// Whether a CRL was ever recorded for the server CA (`[0]`) and the client CA (`[1]`).
    pub crl_recorded: [bool; 2],
    /// What the rest of the directory is checked against.
    pub facts: Facts,
    /// The recorded client installs (`client-install`), as [`Ledger::installs`].
    pub installs: Vec<crate::inventory::record::Install>,
    /// The rollovers under way, as [`Ledger::rollover`].
    pub rollovers: crate::inventory::rollover::Rollovers,
}

/// What the inventory says was done, as far as the rest of the CA directory can contradict it
/// (the archive, the CRLs: see `store/evidence.rs`): every serial issued, every serial revoked,
/// the last CRL number of each CA. Serials are kept as they are written (lowercase hex with
/// colons, as [`Serial`](crate::model::serial::Serial) displays).
#[derive(Debug, Default)]
pub(crate) struct Facts {
    /// Every serial ever issued.
    pub issued: HashSet<String>,
    /// Every serial revoked.
    pub revoked: HashSet<String>,
    /// The last CRL number recorded for the server CA (`[0]`) and the client CA (`[1]`).
    pub crl_number: [Option<u64>; 2],
}

impl Facts {
    /// The facts of an inventory read in full.
    pub(crate) fn of(ledger: &Ledger) -> Facts {
        let mut f = Facts {
            issued: ledger
                .issued()
                .iter()
                .map(|i| i.serial.to_string())
                .collect(),
            revoked: ledger.revocations().map(|r| r.serial.to_string()).collect(),
            crl_number: [None, None],
        };
        for (i, ca) in [CertKind::ServerCa, CertKind::ClientCa]
            .into_iter()
            .enumerate()
        {
            f.crl_number[i] = ledger.last_crl(ca).map(|c| c.number);
        }
        f
    }

    /// Takes in one line other than `issued` (those are noted by their serial alone).
    fn note(&mut self, event: Event) {
        match event {
            Event::Issued(i) => {
                self.issued.insert(i.serial.to_string());
            }
            Event::Revoked(r) => {
                self.revoked.insert(r.serial.to_string());
            }
            Event::CrlIssued(c) => {
                let slot = &mut self.crl_number[usize::from(c.ca == CertKind::ClientCa)];
                *slot = Some(slot.map_or(c.number, |n| n.max(c.number)));
            }
            Event::Deployed(_)
            | Event::Installed(_)
            | Event::InstallForgotten(_)
            | Event::RolloverStarted(_)
            | Event::RolloverSwitched(_)
            | Event::RolloverFinished(_)
            | Event::TokenMinted(_)
            | Event::TokenUsed(_) => {}
        }
    }
}

/// The serial of an `issued` line, the one field [`Facts`] needs of it.
#[derive(Deserialize)]
struct SerialOnly<'a> {
    #[serde(borrow)]
    serial: std::borrow::Cow<'a, str>,
}

/// What [`read_current`] reads of an `issued` line: its kind, name, serial and digests, whether its
/// key is external and when it was issued; serde skips the other fields without allocating.
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
    #[serde(default, borrow)]
    ca_serial: Option<std::borrow::Cow<'a, str>>,
}

/// What [`read_current`] keeps of a line until its batch is committed.
enum Light {
    Issued(LightIssued),
    Crl(CrlRecord),
    Other(Event),
}

/// What [`read_current`] keeps of an `issued` line: [`IssuedName`]'s fields, owned.
struct LightIssued {
    kind: CertKind,
    name: String,
    /// What [`CurrentCert`] takes of the line, should it be the current one of its name.
    recorded: Recorded,
    /// For an external key, when the line was issued (RFC 3339 text, parsed only for the key's
    /// first certification of a current certificate).
    issued_at: Option<String>,
}

/// What [`read_current`] keeps of every committed `issued` line until it knows which are current.
#[derive(Default)]
struct Recorded {
    /// As written (lowercase hex with colons): parsed only for the current ones.
    serial: String,
    sha256: Option<String>,
    external_key: bool,
    /// An external key's public key SHA-256, where recorded.
    spki_sha256: Option<String>,
    /// The signing CA's serial as written, where recorded.
    ca_serial: Option<String>,
}

impl LightIssued {
    fn of(i: IssuedName<'_>) -> LightIssued {
        let spki_sha256 = i
            .spki_sha256
            .filter(|_| i.external_key)
            .map(|h| h.into_owned());
        LightIssued {
            kind: i.kind,
            name: i.name.into_owned(),
            issued_at: spki_sha256.as_ref().map(|_| i.issued_at.into_owned()),
            recorded: Recorded {
                serial: i.serial.into_owned(),
                sha256: i.sha256.map(|h| h.into_owned()),
                external_key: i.external_key,
                spki_sha256,
                ca_serial: i.ca_serial.map(|s| s.into_owned()),
            },
        }
    }
}

/// Reads only what [`Current`] holds: of an `issued` line its kind, name, serial, digests and
/// key origin, without the dates, names and paths that [`read`] parses and keeps (a fifth of
/// `check`'s time at 100,000 certificates went to building that history). Other lines are parsed
/// in full. Which lines are committed is decided exactly as by [`read`], and an unreadable line
/// is the same error.
pub(crate) fn read_current(path: &Path) -> Result<Current> {
    let mut latest: [HashMap<String, usize>; 4] = Default::default();
    let mut crl_recorded = [false; 2];
    let mut records: Vec<Recorded> = Vec::new();
    // An external public key's first certification (RFC 3339 text), by its SHA-256.
    let mut first_seen: HashMap<String, String> = HashMap::new();
    let mut facts = Facts::default();
    let mut installs = Vec::new();
    let mut rollovers = crate::inventory::rollover::Rollovers::default();
    let seal = seal::read(path)?;
    scan(
        path,
        |text| {
            Ok(if text.starts_with(ISSUED_PREFIX) {
                Light::Issued(LightIssued::of(serde_json::from_slice(text)?))
            } else {
                match parse_event(text)? {
                    Event::CrlIssued(c) => Light::Crl(c),
                    other => Light::Other(other),
                }
            })
        },
        |line| match line {
            Light::Issued(i) => {
                facts.issued.insert(i.recorded.serial.clone());
                note_latest(&mut latest, i.kind, i.name, records.len());
                if let (Some(spki), Some(at)) = (&i.recorded.spki_sha256, i.issued_at) {
                    first_seen.entry(spki.clone()).or_insert(at);
                }
                records.push(i.recorded);
            }
            Light::Crl(c) => {
                crl_recorded[usize::from(c.ca == CertKind::ClientCa)] = true;
                facts.note(Event::CrlIssued(c));
            }
            Light::Other(e @ (Event::Installed(_) | Event::InstallForgotten(_))) => {
                crate::inventory::ledger::note_install(&mut installs, e)
            }
            Light::Other(Event::RolloverStarted(r)) => rollovers.started(r),
            Light::Other(Event::RolloverSwitched(r)) => rollovers.switched(r),
            Light::Other(Event::RolloverFinished(r)) => rollovers.finished(r),
            Light::Other(e) => facts.note(e),
        },
        seal.as_ref(),
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
    let mut certs = Vec::with_capacity(names.len());
    for (at, kind, name) in names {
        let r = std::mem::take(&mut records[at]);
        let key_since = r
            .spki_sha256
            .as_ref()
            .and_then(|s| first_seen.get(s))
            .and_then(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            });
        let bad_serial = |s: &str| Error::CorruptInventory {
            path: path.to_path_buf(),
            line: 0,
            reason: format!("invalid serial {s:?}"),
        };
        let serial = r.serial.parse().map_err(|_| bad_serial(&r.serial))?;
        let ca_serial = match &r.ca_serial {
            Some(s) => Some(s.parse().map_err(|_| bad_serial(s))?),
            None => None,
        };
        certs.push(CurrentCert {
            kind,
            name,
            serial,
            sha256: r.sha256,
            external_key: r.external_key,
            spki_sha256: r.spki_sha256,
            key_since,
            ca_serial,
        });
    }
    Ok(Current {
        certs,
        crl_recorded,
        facts,
        installs,
        rollovers,
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

/// What [`salvage`] keeps of a damaged inventory: the longest prefix of committed batches that
/// reads by every rule, without the seal.
#[derive(Debug)]
pub(crate) struct Salvage {
    /// The records of that prefix.
    pub ledger: Ledger,
    /// Where the prefix ends; everything after it is set aside by a repair.
    pub committed_end: u64,
    /// The file's length.
    pub len: u64,
    /// Whether the seal disagrees with the whole file (the damage the seal shows), and why.
    pub seal_evidence: Option<String>,
    scan: Scan,
}

/// Reads as much of a damaged inventory as can be trusted: the committed batches up to the first
/// line that does not read ([`Error::CorruptInventory`]), without regard to the seal (whose own
/// verdict is kept in [`Salvage::seal_evidence`]).
pub(crate) fn salvage(path: &Path) -> Result<Salvage> {
    let file = File::open(path).map_err(Error::io("read inventory", path))?;
    let len = file
        .metadata()
        .map_err(Error::io("read inventory", path))?
        .len();
    let seal_evidence = match seal::read(path) {
        Err(Error::DamagedInventory { evidence, .. }) => Some(evidence),
        Err(e) => return Err(e),
        Ok(None) => None,
        Ok(Some(seal)) => match scan_file(path, &file, len, |_| Ok(()), drop, Some(&seal)) {
            Err(Error::DamagedInventory { evidence, .. }) => Some(evidence),
            _ => None,
        },
    };
    let mut limit = len;
    loop {
        let mut ledger = Ledger::default();
        match scan_file(path, &file, limit, parse_event, |e| ledger.apply(e), None) {
            Ok(scan) => {
                return Ok(Salvage {
                    ledger,
                    committed_end: scan.committed_end,
                    len,
                    seal_evidence,
                    scan,
                });
            }
            Err(Error::CorruptInventory { line, .. }) if line > 0 => {
                let before = end_of_commit_before(&file, line, path)?;
                if before >= limit {
                    return Err(Error::CorruptInventory {
                        path: path.to_path_buf(),
                        line,
                        reason: "no committed batch before it reads".into(),
                    });
                }
                limit = before;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Reads the next line of the inventory into `raw` (its newline included, if it has one): the
/// number of bytes read, 0 at the end.
fn next_line(reader: &mut impl BufRead, raw: &mut Vec<u8>, path: &Path) -> Result<usize> {
    raw.clear();
    reader
        .read_until(b'\n', raw)
        .map_err(Error::io("read inventory", path))
}

/// Where the last commit line before line `line` (1-based) ends, or 0.
fn end_of_commit_before(file: &File, line: usize, path: &Path) -> Result<u64> {
    let mut at_start = file;
    std::io::Seek::rewind(&mut at_start).map_err(Error::io("read inventory", path))?;
    let mut reader = BufReader::new(file);
    let (mut raw, mut offset, mut end) = (Vec::new(), 0u64, 0u64);
    for _ in 1..line {
        let got = next_line(&mut reader, &mut raw, path)?;
        if got == 0 {
            break;
        }
        offset += got as u64;
        if raw.ends_with(b"\n") && parse_commit(&raw[..raw.len() - 1]).is_some() {
            end = offset;
        }
    }
    Ok(end)
}

/// Replaces a damaged inventory by its salvaged prefix followed by `events` (what the rest of
/// the CA directory shows was lost), sealed anew. The whole file as it was is first copied to
/// `set_aside` (created, never overwritten). Must be called under the directory lock.
pub(crate) fn rebuild(
    path: &Path,
    salvage: &Salvage,
    events: &[Event],
    set_aside: &Path,
) -> Result<()> {
    let whole = std::fs::read(path).map_err(Error::io("read inventory", path))?;
    crate::storage::create_file(set_aside, &whole, 0o600, "set aside the damaged inventory")?;
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(Error::io("open inventory", path))?;
    file.set_len(salvage.committed_end)
        .map_err(Error::io("repair inventory", path))?;
    file.sync_data()
        .map_err(Error::io("sync inventory", path))?;
    // The prefix is sealed as it is; the append below then validates it by the usual rules.
    seal::write(path, &salvage.scan.chain, salvage.committed_end)?;
    append(path, events, |_| Ok(()))
}

/// Appends events as one batch, closed by its commit line, in one write, and makes it durable:
/// the batch is committed when that write is. Then the seal is replaced to count it. Must be
/// called under the directory lock.
///
/// The whole log is validated first, by the rules every reader applies (each batch against its
/// commit line, the batches against the seal), and what it says was done is handed to `evidence`
/// (the caller checks it against the rest of the CA directory) before anything is written: a
/// writer never builds on a damaged inventory. An
/// uncommitted tail left by a crash is cut off first, back to the end of the last committed
/// record; if that record lost its newline, the newline is written (and synced) instead. An
/// inventory written before batches were framed first gets an empty commit line of its own,
/// synced before the batch is written, so that a torn first batch can never read as old records.
pub(crate) fn append(
    path: &Path,
    events: &[Event],
    evidence: impl FnOnce(&Facts) -> Result<()>,
) -> Result<()> {
    let (batch, sha) = frame(events);
    let seal = seal::read(path)?;
    let mut facts = Facts::default();
    let tail = scan(
        path,
        |text| {
            if text.starts_with(ISSUED_PREFIX) {
                let s: SerialOnly<'_> = serde_json::from_slice(text)?;
                Ok(Err(s.serial.into_owned()))
            } else {
                parse_event(text).map(Ok)
            }
        },
        |line| match line {
            Err(serial) => {
                facts.issued.insert(serial);
            }
            Ok(event) => facts.note(event),
        },
        seal.as_ref(),
    )?;
    evidence(&facts)?;
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
    if tail.committed_end < len {
        file.set_len(tail.committed_end)
            .map_err(Error::io("repair inventory", path))?;
    }
    let mut end = tail.committed_end;
    let mut chain = tail.chain;
    if tail.newline_missing {
        write_synced(&mut file, b"\n", path)?;
        end += 1;
    }
    if !tail.framed {
        let (empty, sha) = frame(&[]);
        write_synced(&mut file, &empty, path)?;
        end += empty.len() as u64;
        chain = chain.next(&sha);
    }
    write_synced(&mut file, &batch, path)?;
    // The batch is committed. A seal that cannot be replaced now (a full disk) only lags behind,
    // as after a crash, and the next write replaces it; failing here would make the caller take
    // back files of a batch that is committed.
    let _ = seal::write(path, &chain.next(&sha), end + batch.len() as u64);
    Ok(())
}

/// [`append`] for a process that knows the inventory is as it last read or wrote it (`pgca
/// serve`'s ledger in memory, checked against the directory when it was read): when the seal
/// says the committed batches end where the file ends, the batch is appended after them with
/// no scan of the file. Returns `Ok(false)`, having written nothing, when the seal and the file
/// do not agree that way; the caller then appends with [`append`].
pub(crate) fn append_after_seal(path: &Path, events: &[Event]) -> Result<bool> {
    let Some(seal) = seal::read(path)?.filter(|s| s.batches > 0) else {
        return Ok(false);
    };
    let Some(chain) = Chain::of_seal(&seal) else {
        return Ok(false);
    };
    let mut file = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(Error::io("open inventory", path))?;
    let len = file
        .metadata()
        .map_err(Error::io("read inventory", path))?
        .len();
    if len != seal.bytes {
        return Ok(false);
    }
    let (batch, sha) = frame(events);
    write_synced(&mut file, &batch, path)?;
    // As in `append`: the batch is committed; a seal that lags behind is replaced next time.
    let _ = seal::write(path, &chain.next(&sha), len + batch.len() as u64);
    Ok(true)
}

fn write_synced(file: &mut File, bytes: &[u8], path: &Path) -> Result<()> {
    file.write_all(bytes)
        .map_err(Error::io("append to inventory", path))?;
    file.sync_data().map_err(Error::io("sync inventory", path))
}

/// Creates a new inventory holding `events` as one batch, and its seal (used by `init`, which
/// renames both into place).
pub(crate) fn create(path: &Path, events: &[Event]) -> Result<()> {
    let (batch, sha) = frame(events);
    crate::storage::create_file(path, &batch, 0o600, "write inventory")?;
    seal::create(path, &Chain::default().next(&sha), batch.len() as u64)
}

/// The inventory path of a CA directory.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(INVENTORY_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kind::CertState;
    use crate::model::serial::Serial;
    use crate::x509::keys::KeyType;
    use time::macros::datetime;

    /// [`super::append`] with no evidence beside the file (that is `store/evidence.rs`'s).
    fn append(p: &Path, events: &[Event]) -> Result<()> {
        super::append(p, events, |_| Ok(()))
    }

    /// Writes an inventory's bytes as a test states them, without a seal: what an interrupted
    /// write or an older pgca leaves (the seal's own cases are in `seal_cases`).
    fn put(p: &Path, bytes: impl AsRef<[u8]>) -> std::io::Result<()> {
        let _ = std::fs::remove_file(seal::path_of(p));
        std::fs::write(p, bytes)
    }

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

    fn kinds_and_names(c: &Current) -> Vec<(CertKind, String)> {
        c.certs.iter().map(|c| (c.kind, c.name.clone())).collect()
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
                assert_eq!(kinds_and_names(&light), expected);
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
        assert_eq!(kinds_and_names(&light), expected);
        assert_eq!(light.certs.len(), 5);
        assert_eq!(
            (light.certs[4].kind, light.certs[4].name.as_str()),
            (CertKind::Client, "alice")
        );
        // Each carries what its record says its file must be.
        let alice = full.current(CertKind::Client, "alice").unwrap();
        assert_eq!(light.certs[4].serial, alice.serial);
        assert_eq!(light.certs[4].sha256, alice.sha256);
        assert_eq!(light.certs, full.current_certs());
        assert_eq!(light.crl_recorded, [false, true]);

        // A torn tail is skipped as by `read`.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"event":"issued","serial":"#).unwrap();
        assert_eq!(kinds_and_names(&read_current(&p).unwrap()), expected);
        assert_agree(&p);
        // An edited line of a committed batch: its commit (line 9) no longer matches.
        let text = std::fs::read_to_string(&p).unwrap();
        let edited = text.replacen(r#""kind":"client""#, r#""kind":"nope""#, 1);
        put(&p, &edited).unwrap();
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
        put(&p, &bytes).unwrap();
        let (a, b) = (read(&p).unwrap_err(), read_current(&p).unwrap_err());
        assert!(matches!(a, Error::CorruptInventory { line: 11, .. }), "{a}");
        assert!(matches!(b, Error::CorruptInventory { line: 11, .. }), "{b}");
    }

    /// An external key's current certificate carries its public key's digest and when that key was
    /// first certified, in both reads.
    #[test]
    fn read_current_keeps_an_external_keys_first_certification() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(INVENTORY_FILE);
        let external = |at: time::OffsetDateTime| {
            let Event::Issued(mut i) = rec("db1", CertKind::Server) else {
                unreachable!()
            };
            i.issued_at = at;
            i.external_key = true;
            i.key = String::new();
            i.spki_sha256 = Some("ab".repeat(32));
            i.sha256 = Some("cd".repeat(32));
            Event::Issued(i)
        };
        create(&p, &[rec("server-ca", CertKind::ServerCa)]).unwrap();
        let first = datetime!(2026-01-01 0:00 UTC);
        append(&p, &[external(first)]).unwrap();
        append(&p, &[external(datetime!(2026-06-01 0:00 UTC))]).unwrap();
        let light = read_current(&p).unwrap();
        assert_eq!(light.certs, read(&p).unwrap().current_certs());
        let db1 = &light.certs[1];
        assert!(db1.external_key);
        assert_eq!(db1.spki_sha256.as_deref(), Some("ab".repeat(32).as_str()));
        assert_eq!(db1.key_since, Some(first));
        assert!(!light.certs[0].external_key);
        assert_eq!(light.certs[0].spki_sha256, None);
    }

    #[test]
    fn append_after_seal_writes_what_append_would_and_only_where_the_seal_ends() {
        let d = tempfile::tempdir().unwrap();
        let (fast, slow) = (d.path().join("fast.jsonl"), d.path().join("slow.jsonl"));
        let first = [rec("server-ca", CertKind::ServerCa)];
        let next = [rec("alice", CertKind::Client), rec("bob", CertKind::Client)];
        create(&fast, &first).unwrap();
        create(&slow, &first).unwrap();
        assert!(append_after_seal(&fast, &next).unwrap());
        append(&slow, &next).unwrap();
        assert_eq!(std::fs::read(&fast).unwrap(), std::fs::read(&slow).unwrap());
        assert_eq!(
            std::fs::read(seal::path_of(&fast)).unwrap(),
            std::fs::read(seal::path_of(&slow)).unwrap()
        );
        assert_eq!(names(&fast), ["server-ca", "alice", "bob"]);
        // A file that does not end where its seal says (a torn tail, another writer's lines):
        // nothing written, the caller falls back to the full append.
        let mut torn = std::fs::read(&fast).unwrap();
        torn.extend_from_slice(b"{\"event\":\"iss");
        std::fs::write(&fast, &torn).unwrap();
        assert!(!append_after_seal(&fast, &next).unwrap());
        assert_eq!(std::fs::read(&fast).unwrap(), torn);
        // No seal: the same.
        std::fs::remove_file(seal::path_of(&slow)).unwrap();
        assert!(!append_after_seal(&slow, &next).unwrap());
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
        put(&p, &bytes).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("is corrupt at line 5"), "{e}");
        assert_agree(&p);
        // Before the first commit, an unreadable line is an unreadable record.
        let mut bytes = b"garbage\n".to_vec();
        bytes.extend(frame(&[rec("a", CertKind::Client)]).0);
        put(&p, &bytes).unwrap();
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

    /// An inventory of four committed batches (the CA, then three of one role each), its bytes
    /// after each batch, and its seal.
    fn sealed(d: &Path) -> (PathBuf, Vec<Vec<u8>>) {
        let p = d.join(INVENTORY_FILE);
        create(&p, &[rec("ca", CertKind::ClientCa)]).unwrap();
        let mut states = vec![std::fs::read(&p).unwrap()];
        for role in ["alice", "bob", "carol"] {
            append(
                &p,
                &[rec(role, CertKind::Client), rec(role, CertKind::Client)],
            )
            .unwrap();
            states.push(std::fs::read(&p).unwrap());
        }
        (p, states)
    }

    /// Damage no crash leaves is refused by every reader and by the writer, naming the evidence;
    /// the file is left as it was.
    #[test]
    fn damage_is_never_taken_for_a_crash_tail() {
        type Damage = fn(&[Vec<u8>]) -> Vec<u8>;
        let cases: &[(&str, Damage, &str)] = &[
            (
                "cut mid-batch",
                |s| s[3][..s[2].len() + 40].to_vec(),
                "cut short",
            ),
            ("cut at a commit line", |s| s[2].clone(), "cut short"),
            ("emptied", |_| Vec::new(), "cut short"),
            ("an older copy put back", |s| s[1].clone(), "cut short"),
            (
                "a flipped byte",
                |s| {
                    let mut b = s[3].clone();
                    let at = s[1].len() + 30;
                    b[at] ^= 0x20;
                    b
                },
                "do not match its SHA-256",
            ),
            (
                "NULs in the middle",
                |s| {
                    let mut b = s[3].clone();
                    let at = s[1].len() + 10;
                    b[at..at + 8].fill(0);
                    b
                },
                "do not match its SHA-256",
            ),
            (
                "a lost commit line",
                |s| {
                    let (a, b) = (&s[1], &s[2]);
                    let end = a.len() - 1;
                    let commit = a[..end].iter().rposition(|&c| c == b'\n').unwrap() + 1;
                    [&a[..commit], &b[a.len()..], &s[3][b.len()..]].concat()
                },
                "not part of the batch",
            ),
        ];
        let mut failures = Vec::new();
        for (what, damage, evidence) in cases {
            let d = tempfile::tempdir().unwrap();
            let (p, states) = sealed(d.path());
            let bad = damage(&states);
            std::fs::write(&p, &bad).unwrap();
            let results = [
                ("read", read(&p).map(drop)),
                ("read_current", read_current(&p).map(drop)),
                ("append", append(&p, &[rec("dave", CertKind::Client)])),
            ];
            for (who, r) in results {
                match r {
                    Err(e @ (Error::DamagedInventory { .. } | Error::CorruptInventory { .. }))
                        if e.to_string().contains(evidence) => {}
                    other => failures.push(format!("{what}: {who} gave {other:?}")),
                }
            }
            if std::fs::read(&p).unwrap() != bad {
                failures.push(format!("{what}: the file was changed"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// What a crash leaves is still recovered with a seal: a torn last batch the seal does not
    /// count yet, and a committed batch whose seal was not replaced yet.
    #[test]
    fn a_crash_around_the_seal_is_recovered() {
        let d = tempfile::tempdir().unwrap();
        let (p, states) = sealed(d.path());
        let seal_before = std::fs::read(seal::path_of(&p)).unwrap();
        // Killed after the batch was durable, before the seal moved.
        append(&p, &[rec("dave", CertKind::Client)]).unwrap();
        let committed = std::fs::read(&p).unwrap();
        std::fs::write(seal::path_of(&p), &seal_before).unwrap();
        assert_eq!(read(&p).unwrap().issued().len(), 8);
        append(&p, &[rec("erin", CertKind::Client)]).unwrap();
        assert_eq!(read(&p).unwrap().issued().len(), 9);
        // Killed in the middle of the batch: the seal still counts the batches before it.
        std::fs::write(&p, &committed[..states[3].len() + 30]).unwrap();
        std::fs::write(seal::path_of(&p), &seal_before).unwrap();
        let l = read(&p).unwrap();
        assert!(l.torn_tail);
        assert_eq!(l.issued().len(), 7);
        append(&p, &[rec("erin", CertKind::Client)]).unwrap();
        assert_eq!(names(&p).last().map(String::as_str), Some("erin"));
        assert!(!read(&p).unwrap().torn_tail);
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
            put(&p, &bytes[..cut]).unwrap();
            let l = read(&p).unwrap();
            // The commit line without its newline is complete: everything but that newline.
            let all = cut >= bytes.len() - 1;
            assert_eq!(l.issued().len(), if all { 5 } else { 2 }, "cut at {cut}");
            assert_eq!(l.torn_tail, !all && cut > before, "cut at {cut}");
            assert_agree(&p);
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
        put(&p, &bytes).unwrap();
        let l = read(&p).unwrap();
        assert_eq!((l.issued().len(), l.torn_tail), (1, true));
        assert_agree(&p);
        // More after it: that was no interrupted write.
        let commit_line = bytes.iter().filter(|&&b| b == b'\n').count();
        let mut more = bytes.clone();
        more.extend(batch(&line(&rec("later", CertKind::Client))));
        put(&p, &more).unwrap();
        match read(&p).unwrap_err() {
            Error::CorruptInventory { line, .. } => assert_eq!(line, commit_line),
            e => panic!("{e}"),
        }
        assert_agree(&p);
        // At the end, the next write cuts the damaged batch off.
        put(&p, &bytes).unwrap();
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
        put(&p, text.replace("alice", "alicE")).unwrap();
        let e = read(&p).unwrap_err();
        assert!(matches!(e, Error::CorruptInventory { line: 4, .. }), "{e}");
        assert_agree(&p);
        // The writer refuses too, rather than cutting off alice.
        assert!(append(&p, &[rec("b", CertKind::Client)]).is_err());
        // A first commit that does not match: nothing tells the old records from its batch.
        put(&p, text.replacen("\"ca\"", "\"cA\"", 1)).unwrap();
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
        put(&p, &bytes).unwrap();
        let l = read(&p).unwrap();
        assert_eq!((l.issued().len(), l.torn_tail), (3, false));
        assert_agree(&p);
        append(&p, &[rec("c", CertKind::Client)]).unwrap();
        assert_eq!(names(&p), ["ca", "a", "b", "c"]);
        assert!(!read(&p).unwrap().torn_tail);
        // NUL bytes after it (a power cut extended the file without its data): still complete.
        bytes.extend([0; 40]);
        put(&p, &bytes).unwrap();
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
        put(&p, &legacy).unwrap();
        let l = read(&p).unwrap();
        assert_eq!((l.issued().len(), l.torn_tail), (3, false));
        assert_agree(&p);
        // A torn last line is still torn.
        let mut torn = legacy.clone();
        torn.extend(b"\n{\"event\":\"issued\",\"ser");
        put(&p, &torn).unwrap();
        let l = read(&p).unwrap();
        assert_eq!((l.issued().len(), l.torn_tail), (3, true));
        assert_agree(&p);
        append(&p, &[rec("c", CertKind::Client)]).unwrap();
        assert_eq!(names(&p), ["ca", "a", "b", "c"]);

        put(&p, &legacy).unwrap();
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
        want.extend(frame(&[]).0);
        let bytes = std::fs::read(&p).unwrap();
        assert!(bytes.starts_with(&want));
        // A write torn after the old lines (the empty commit, or a batch): not committed.
        for cut in want.len() - frame(&[]).0.len() - 1..bytes.len() - 1 {
            put(&p, &bytes[..cut]).unwrap();
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
        put(&p, &bytes).unwrap();
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
