//! libpq's connection service file, `pg_service.conf`: read, edit and write it exactly as libpq
//! reads it, so that `psql service=prod` finds the certificates pgca issued.
//!
//! # How libpq reads the file
//!
//! The rules of `parseServiceFile` in libpq's `fe-connect.c` (PostgreSQL 15), all modelled here:
//!
//! - Lines are read with `fgets` into a 1024-byte buffer. A line of 1022 bytes or more, its `\n`
//!   included, fails with `line N too long`: at most [`MAX_LINE_BYTES`] (1021) bytes before the
//!   `\n`, and the `\r` of a CRLF line counts. libpq sees a C string, so a NUL byte ends the line
//!   early, and a 1023-byte piece holding a NUL is not an error: the rest of that line is then
//!   read as a line of its own. This module splits a file exactly as `fgets` does.
//! - White space is trimmed at both ends of each line (so CRLF files work). Blank lines and lines
//!   starting with `#` are skipped. There is no quoting and no inline comment: the value is
//!   everything after the first `=`, so `dbname=x # c` sets `x # c`, and `dbname = x` is a syntax
//!   error because the key is `dbname ` (with its space).
//! - A line starting with `[` starts a section. `[name]` matches the service `name` exactly (case
//!   matters); whatever follows the `]` is ignored. Lines before the first section are ignored.
//! - In the section libpq wants, every other line must be `keyword=value` with an exact libpq
//!   keyword (`service=` is refused too), else libpq fails with `syntax error in service file`;
//!   a line starting with `ldap` is an LDAP URL in libpq builds with LDAP. Other sections are not
//!   checked. The section ends at the next line starting with `[`.
//! - When a file holds a service twice, the first section wins; within a section, the first
//!   occurrence of a key wins.
//!
//! # What pgca writes
//!
//! [`ServiceFile`] keeps the file's bytes as they are; parsing and serialising without an edit
//! gives back the same bytes, whatever they are (comments, CRLF, odd spacing, foreign sections,
//! unknown keys, non-UTF-8). An edit touches one section and leaves every other byte alone.
//!
//! **The section** that [`ServiceFile::upsert`] replaces and [`ServiceFile::remove`] removes is
//! its header line and every line after it up to its last setting line (any line that is neither
//! blank nor a comment) before the next header or the end of the file. Comments and blank lines
//! between its last setting and the next header stay where they are: they usually introduce the
//! next section. `remove` also drops the blank lines right after the section, and when nothing
//! but blank lines follows it, the blank lines right before its header, so that adding and then
//! removing a service gives back the original file.
//!
//! Every name and value is checked before anything is written: anything libpq would read
//! differently from what was meant (a newline, any control character, white space at either
//! end, `[` or `]` in a name, a line longer than libpq reads, a key outside [`WRITABLE_KEYS`], a
//! `:` in `sslkey`) is refused. As a last line of defence every edit is re-parsed, and kept only
//! if libpq would read exactly the intended settings for that service.
//!
//! # Which file
//!
//! [`resolve_path`] follows libpq: `PGSERVICEFILE`, else `~/.pg_service.conf`. libpq reads the
//! system-wide `$PGSYSCONFDIR/pg_service.conf` only for a service that is not in the user's
//! file; the two files are never merged, and pgca edits only the user's.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::storage;

/// The most bytes libpq reads in one line before its `\n` (the `\r` of a CRLF line counts):
/// `fgets` into a 1024-byte buffer, and libpq refuses a line that fills 1023 bytes.
pub const MAX_LINE_BYTES: usize = 1021;

/// The mode of a service file pgca creates: it may hold `sslpassword`. An existing file keeps
/// its mode.
pub const SERVICE_FILE_MODE: u32 = 0o600;

/// The keys pgca writes into a service section: libpq connection keywords (PostgreSQL 15), all
/// taken by libpq as they are.
pub const WRITABLE_KEYS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslcrl",
    "sslcrldir",
    "sslpassword",
    "application_name",
    "connect_timeout",
    "target_session_attrs",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
];

/// Every keyword libpq 15 accepts in a service section (`PQconninfoOptions` in fe-connect.c,
/// without `service`, which is refused there), then those libpq 16 and 17 added: an older libpq
/// refuses the newer ones, which this module does not report.
const LIBPQ_KEYWORDS: &[&str] = &[
    "user",
    "password",
    "passfile",
    "channel_binding",
    "connect_timeout",
    "dbname",
    "host",
    "hostaddr",
    "port",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "sslmode",
    "sslcompression",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "gssencmode",
    "krbsrvname",
    "gsslib",
    "replication",
    "target_session_attrs",
    // libpq 16
    "sslcertmode",
    "require_auth",
    "gssdelegation",
    "load_balance_hosts",
    // libpq 17
    "sslnegotiation",
];

/// The size of libpq's line buffer.
const LINE_BUFFER: usize = 1024;

/// A service file: its bytes, and its lines as libpq reads them.
///
/// Parsing never fails: any bytes are a service file, and [`ServiceFile::to_bytes`] gives them
/// back unchanged until an edit. The path is only used in messages and by
/// [`ServiceFile::save`].
///
/// # Examples
///
/// ```
/// use pgca::pg::service::{ServiceFile, Upserted};
///
/// let mut file = ServiceFile::parse(
///     "/home/alice/.pg_service.conf",
///     "# my services\n[legacy]\nhost=old.example.com\n",
/// );
/// let added = file.upsert(
///     "prod",
///     &[("host", "db.example.com"), ("user", "alice"), ("sslmode", "verify-full")],
///     false,
/// )?;
/// assert_eq!(added, Upserted::Added);
/// assert_eq!(
///     file.to_bytes(),
///     b"# my services\n[legacy]\nhost=old.example.com\n\n\
///       [prod]\nhost=db.example.com\nuser=alice\nsslmode=verify-full\n"
/// );
/// assert_eq!(file.get("prod").unwrap().entries[1].value, "alice");
///
/// // A role name cannot smuggle in a section of its own, and a refused edit changes nothing.
/// let before = file.to_bytes();
/// let e = file.upsert("x", &[("user", "x\n[evil]\nhost=attacker")], false).unwrap_err();
/// assert!(e.to_string().contains("control characters"), "{e}");
/// assert_eq!(file.to_bytes(), before);
/// # Ok::<(), pgca::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceFile {
    path: PathBuf,
    bytes: Vec<u8>,
    records: Vec<Record>,
}

/// One line as libpq's `fgets` loop reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Record {
    /// The line's bytes in the file, its newline included.
    raw: Range<usize>,
    /// What libpq looks at: up to a NUL, white space trimmed at both ends.
    text: Range<usize>,
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Blank,
    Comment,
    Header,
    /// `key=value`; `eq` is the offset of the first `=` in the file.
    Setting {
        eq: usize,
    },
    NoEquals,
    Ldap,
    TooLong,
}

impl Kind {
    fn is_gap(self) -> bool {
        matches!(self, Kind::Blank | Kind::Comment)
    }
}

/// A section of a service file, read as libpq would read it were it the service asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Section {
    /// The name between `[` and the first `]` (invalid UTF-8 replaced by U+FFFD).
    pub name: String,
    /// The 1-based line of the header.
    pub line: usize,
    /// The line of the first section with the same name, when this one is not the first:
    /// libpq never reads this one.
    pub shadowed_by: Option<usize>,
    /// The settings libpq takes from the section, in file order: known keys only, the first
    /// occurrence of each key (invalid UTF-8 replaced by U+FFFD).
    pub entries: Vec<Entry>,
    /// What makes libpq fail on this service; empty when libpq reads it. For
    /// [`ServiceFile::get`] this includes over-long lines before the section, which libpq meets
    /// on its way there.
    pub problems: Vec<Problem>,
}

/// One `key=value` setting as libpq reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// The keyword: everything before the first `=`.
    pub key: String,
    /// The value: everything after the first `=`, to the end of the trimmed line.
    pub value: String,
    /// The 1-based line.
    pub line: usize,
}

/// A line that makes libpq fail on a service.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The 1-based line.
    pub line: usize,
    /// What libpq does not accept.
    pub kind: ProblemKind,
}

/// What libpq does not accept in a line of the service it reads.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// Longer than libpq's line buffer: `line N too long`.
    TooLong,
    /// No `=`: `syntax error in service file`.
    NoEquals,
    /// A key that is no libpq keyword, such as `dbname ` from `dbname = x`: `syntax error`.
    UnknownKey(String),
    /// `service=` inside a section: `nested service specifications not supported`.
    NestedService,
    /// Starts with `ldap`: an LDAP URL to libpq built with LDAP, a syntax error otherwise.
    Ldap,
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::TooLong => write!(
                f,
                "is too long: libpq reads at most {MAX_LINE_BYTES} characters a line"
            ),
            ProblemKind::NoEquals => f.write_str("has no '=': libpq reports a syntax error"),
            ProblemKind::UnknownKey(k) => write!(
                f,
                "has the key {k:?}, which libpq does not know (no spaces around '=')"
            ),
            ProblemKind::NestedService => {
                f.write_str("sets service=: libpq does not support nested services")
            }
            ProblemKind::Ldap => f.write_str("starts with \"ldap\": libpq reads an LDAP URL"),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} {}", self.line, self.kind)
    }
}

/// What [`ServiceFile::upsert`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upserted {
    /// The service was new: its section was added at the end of the file.
    Added,
    /// The service existed: its section was replaced where it was.
    Replaced,
}

impl ServiceFile {
    /// An empty service file at `path` (not created until [`ServiceFile::save`]).
    pub fn new(path: impl Into<PathBuf>) -> ServiceFile {
        ServiceFile::parse(path, Vec::new())
    }

    /// Reads `bytes` as libpq would. Never fails: problems are reported per section.
    pub fn parse(path: impl Into<PathBuf>, bytes: impl Into<Vec<u8>>) -> ServiceFile {
        let bytes = bytes.into();
        let records = split_lines(&bytes);
        ServiceFile {
            path: path.into(),
            bytes,
            records,
        }
    }

    /// The path given to [`ServiceFile::parse`] or [`read_file`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's bytes, with the edits made so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The file's bytes, with the edits made so far: exactly the bytes parsed when nothing was
    /// changed.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// Whether the file has no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Every section in file order, each read as libpq would read it were it the first of its
    /// name (see [`Section::shadowed_by`]).
    pub fn sections(&self) -> Vec<Section> {
        let headers: Vec<usize> = self.header_indices().collect();
        headers
            .iter()
            .enumerate()
            .map(|(n, &h)| Section {
                shadowed_by: headers[..n]
                    .iter()
                    .find(|&&earlier| self.header_name(earlier) == self.header_name(h))
                    .map(|earlier| earlier + 1),
                ..self.section_at(h, false)
            })
            .collect()
    }

    /// The service `name` as libpq reads it from this file: the first section of that name,
    /// the first occurrence of each key. `None` when the file does not hold the service (libpq
    /// would then look in the system-wide file).
    pub fn get(&self, name: &str) -> Option<Section> {
        let h = *self.headers_for(name).first()?;
        Some(self.section_at(h, true))
    }

    /// Writes the service `name` with `entries` as `key=value` lines, in the order given.
    ///
    /// A new service is added at the end of the file, after a blank line when the file is not
    /// empty, with the file's line ending (that of its first line). An existing service is
    /// replaced in place when `force` is set (see the module documentation for what the section
    /// is), and refused otherwise. A file holding the service more than once is refused either
    /// way. On any error nothing changes.
    pub fn upsert(
        &mut self,
        name: &str,
        entries: &[(&str, &str)],
        force: bool,
    ) -> Result<Upserted> {
        let eol = self.line_ending();
        check_name(name, eol)?;
        for (i, (key, value)) in entries.iter().enumerate() {
            check_entry(key, value, eol)?;
            if entries[..i].iter().any(|(k, _)| k == key) {
                return Err(Error::DuplicateName((*key).to_string()));
            }
        }
        let headers = self.headers_for(name);
        if headers.len() > 1 {
            return Err(self.duplicate(name, &headers));
        }

        let mut section = Vec::new();
        section.extend_from_slice(format!("[{name}]{eol}").as_bytes());
        for (key, value) in entries {
            section.extend_from_slice(format!("{key}={value}{eol}").as_bytes());
        }

        let (bytes, outcome) = match headers.first() {
            Some(_) if !force => {
                return Err(Error::ServiceExists {
                    name: name.to_string(),
                    path: self.path.clone(),
                });
            }
            Some(&h) => {
                let start = self.records[h].raw.start;
                let end = self.records[self.content_end(h) - 1].raw.end;
                let mut b = self.bytes[..start].to_vec();
                b.extend_from_slice(&section);
                b.extend_from_slice(&self.bytes[end..]);
                (b, Upserted::Replaced)
            }
            None => {
                let mut b = self.bytes.clone();
                if let Some(last) = self.records.len().checked_sub(1) {
                    if !b.ends_with(b"\n") {
                        b.extend_from_slice(eol.as_bytes());
                    }
                    if !self.is_white_line(last) {
                        b.extend_from_slice(eol.as_bytes());
                    }
                }
                b.extend_from_slice(&section);
                (b, Upserted::Added)
            }
        };

        let edited = ServiceFile::parse(self.path.clone(), bytes);
        edited.check_written(name, entries)?;
        *self = edited;
        Ok(outcome)
    }

    /// Removes the service `name`: its section (see the module documentation), and the blank
    /// lines that would be left doubled. An error when the file does not hold the service or
    /// holds it more than once; on any error nothing changes.
    pub fn remove(&mut self, name: &str) -> Result<()> {
        let headers = self.headers_for(name);
        let h = match headers[..] {
            [] => {
                return Err(Error::NoSuchService {
                    name: name.to_string(),
                    path: self.path.clone(),
                });
            }
            [h] => h,
            _ => return Err(self.duplicate(name, &headers)),
        };
        let mut first = h;
        let mut last = self.content_end(h);
        while last < self.records.len() && self.is_white_line(last) {
            last += 1;
        }
        if last == self.records.len() {
            while first > 0 && self.is_white_line(first - 1) {
                first -= 1;
            }
        }
        let start = self.records[first].raw.start;
        let end = self.records[last - 1].raw.end;
        let mut bytes = self.bytes[..start].to_vec();
        bytes.extend_from_slice(&self.bytes[end..]);

        let edited = ServiceFile::parse(self.path.clone(), bytes);
        if let Some(&h) = edited.headers_for(name).first() {
            return Err(Error::UnreadableService {
                name: name.to_string(),
                path: self.path.clone(),
                line: h + 1,
                reason: "would still start the service (a bug in pgca: please report it)".into(),
            });
        }
        *self = edited;
        Ok(())
    }

    /// Writes the file to its path atomically: see [`write_file`].
    pub fn save(&self) -> Result<()> {
        write_file(&self.path, &self.bytes)
    }

    /// Writes the file for the user `owner` (uid, gid): see [`write_file_for`].
    pub fn save_for(&self, owner: Option<(u32, u32)>) -> Result<()> {
        write_file_for(&self.path, &self.bytes, owner)
    }

    /// CRLF when the file's first line ends with CRLF, else LF.
    fn line_ending(&self) -> &'static str {
        let first = self
            .records
            .iter()
            .map(|r| &self.bytes[r.raw.clone()])
            .find(|raw| raw.ends_with(b"\n"));
        match first {
            Some(raw) if raw.ends_with(b"\r\n") => "\r\n",
            _ => "\n",
        }
    }

    fn header_indices(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.records.len()).filter(|&i| self.records[i].kind == Kind::Header)
    }

    /// The headers libpq matches with the service `name`: `strncmp(line + 1, name, len) == 0
    /// && line[len + 1] == ']'`.
    fn headers_for(&self, name: &str) -> Vec<usize> {
        let name = name.as_bytes();
        self.header_indices()
            .filter(|&i| {
                let t = &self.bytes[self.records[i].text.clone()];
                t[1..].starts_with(name) && t.get(name.len() + 1) == Some(&b']')
            })
            .collect()
    }

    /// The bytes between `[` and the first `]` (or the end of the line).
    fn header_name(&self, h: usize) -> &[u8] {
        let t = &self.bytes[self.records[h].text.clone()][1..];
        &t[..t.iter().position(|&b| b == b']').unwrap_or(t.len())]
    }

    /// The next header after `h`, or the number of records.
    fn next_header(&self, h: usize) -> usize {
        (h + 1..self.records.len())
            .find(|&i| self.records[i].kind == Kind::Header)
            .unwrap_or(self.records.len())
    }

    /// One past the section's last line that is neither blank nor a comment (`h + 1` if none).
    fn content_end(&self, h: usize) -> usize {
        (h + 1..self.next_header(h))
            .rev()
            .find(|&i| !self.records[i].kind.is_gap())
            .map_or(h + 1, |i| i + 1)
    }

    /// Whether the line's bytes are all white space (a blank line, nothing hidden in it).
    fn is_white_line(&self, i: usize) -> bool {
        self.bytes[self.records[i].raw.clone()]
            .iter()
            .all(|&b| is_c_space(b))
    }

    fn section_at(&self, h: usize, with_lines_before: bool) -> Section {
        let mut problems = Vec::new();
        if with_lines_before {
            for (i, r) in self.records[..h].iter().enumerate() {
                if r.kind == Kind::TooLong {
                    problems.push(Problem {
                        line: i + 1,
                        kind: ProblemKind::TooLong,
                    });
                }
            }
        }
        let mut entries: Vec<Entry> = Vec::new();
        for i in h + 1..self.next_header(h) {
            let r = &self.records[i];
            let line = i + 1;
            let problem = match r.kind {
                Kind::Blank | Kind::Comment | Kind::Header => None,
                Kind::TooLong => Some(ProblemKind::TooLong),
                Kind::NoEquals => Some(ProblemKind::NoEquals),
                Kind::Ldap => Some(ProblemKind::Ldap),
                Kind::Setting { eq } => {
                    let key = &self.bytes[r.text.start..eq];
                    let value = &self.bytes[eq + 1..r.text.end];
                    if key == b"service" {
                        Some(ProblemKind::NestedService)
                    } else if !LIBPQ_KEYWORDS.iter().any(|k| k.as_bytes() == key) {
                        Some(ProblemKind::UnknownKey(lossy(key)))
                    } else {
                        let key = lossy(key);
                        if !entries.iter().any(|e| e.key == key) {
                            entries.push(Entry {
                                key,
                                value: lossy(value),
                                line,
                            });
                        }
                        None
                    }
                }
            };
            if let Some(kind) = problem {
                problems.push(Problem { line, kind });
            }
        }
        Section {
            name: lossy(self.header_name(h)),
            line: h + 1,
            shadowed_by: None,
            entries,
            problems,
        }
    }

    fn duplicate(&self, name: &str, headers: &[usize]) -> Error {
        Error::DuplicateService {
            name: name.to_string(),
            path: self.path.clone(),
            lines: headers.iter().map(|h| h + 1).collect(),
        }
    }

    /// After an edit: libpq must read exactly `entries` for `name`, from one section.
    fn check_written(&self, name: &str, entries: &[(&str, &str)]) -> Result<()> {
        let fail = |line: usize, reason: String| Error::UnreadableService {
            name: name.to_string(),
            path: self.path.clone(),
            line,
            reason,
        };
        let headers = self.headers_for(name);
        let Some(section) = self.get(name) else {
            return Err(fail(
                1,
                "would not start the service (a bug in pgca)".into(),
            ));
        };
        if let Some(p) = section.problems.first() {
            return Err(fail(p.line, p.kind.to_string()));
        }
        let read: Vec<(&str, &str)> = section
            .entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect();
        if headers.len() != 1 || read != entries {
            return Err(fail(
                section.line,
                "would not be read as written (a bug in pgca: please report it)".into(),
            ));
        }
        Ok(())
    }
}

/// Splits `bytes` into lines exactly as libpq's `fgets(buf, 1024, f)` loop does.
fn split_lines(bytes: &[u8]) -> Vec<Record> {
    let mut records = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        // fgets: at most 1023 bytes, up to and including a newline.
        let limit = (pos + LINE_BUFFER - 1).min(bytes.len());
        let end = bytes[pos..limit]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(limit, |i| pos + i + 1);
        // libpq looks at a C string: a NUL ends it.
        let c_end = bytes[pos..end]
            .iter()
            .position(|&b| b == 0)
            .map_or(end, |i| pos + i);
        if c_end - pos >= LINE_BUFFER - 1 {
            // `line N too long`: libpq stops reading here. The rest of the line stays with it.
            let raw_end = if bytes[end - 1] == b'\n' {
                end
            } else {
                bytes[end..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |i| end + i + 1)
            };
            records.push(Record {
                raw: pos..raw_end,
                text: pos..pos,
                kind: Kind::TooLong,
            });
            pos = raw_end;
            continue;
        }
        let (mut a, mut b) = (pos, c_end);
        while b > a && is_c_space(bytes[b - 1]) {
            b -= 1;
        }
        while a < b && is_c_space(bytes[a]) {
            a += 1;
        }
        let text = &bytes[a..b];
        let kind = match text.first() {
            None => Kind::Blank,
            Some(b'#') => Kind::Comment,
            Some(b'[') => Kind::Header,
            Some(_) if text.starts_with(b"ldap") => Kind::Ldap,
            Some(_) => match text.iter().position(|&c| c == b'=') {
                Some(i) => Kind::Setting { eq: a + i },
                None => Kind::NoEquals,
            },
        };
        records.push(Record {
            raw: pos..end,
            text: a..b,
            kind,
        });
        pos = end;
    }
    records
}

/// C's `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The longest line pgca writes with the line ending `eol`, without the ending.
fn max_line(eol: &str) -> usize {
    MAX_LINE_BYTES + 1 - eol.len()
}

/// Refuses a service name libpq would read differently from what was meant.
fn check_name(name: &str, eol: &str) -> Result<()> {
    let bad = |reason: String| {
        Err(Error::InvalidServiceName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("empty".into());
    }
    if name.chars().any(char::is_control) {
        return bad(
            "control characters (newline, carriage return, tab…) are not allowed: \
             libpq reads the file line by line"
                .into(),
        );
    }
    if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        return bad("white space at either end is not allowed: libpq trims lines".into());
    }
    if name.contains(['[', ']']) {
        return bad("'[' and ']' are not allowed: libpq ends the name at the first ']'".into());
    }
    let len = name.len() + 2;
    if len > max_line(eol) {
        return bad(format!(
            "too long: the line [NAME] would be {len} bytes, libpq reads at most {}",
            max_line(eol)
        ));
    }
    Ok(())
}

/// Refuses a key pgca does not write, and a value libpq would read differently.
fn check_entry(key: &str, value: &str, eol: &str) -> Result<()> {
    if !WRITABLE_KEYS.contains(&key) {
        return Err(Error::UnknownServiceKey {
            key: key.to_string(),
            expected: WRITABLE_KEYS,
        });
    }
    let bad = |reason: String| {
        Err(Error::InvalidServiceValue {
            key: key.to_string(),
            value: (key != "sslpassword").then(|| value.to_string()),
            reason,
        })
    };
    if value.is_empty() {
        return bad("empty: leave the key out instead".into());
    }
    if value.chars().any(char::is_control) {
        return bad(
            "control characters (newline, carriage return, tab…) are not allowed: \
             libpq reads the file line by line"
                .into(),
        );
    }
    if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
        return bad("white space at either end is not allowed: libpq trims lines".into());
    }
    if key == "sslkey" && value.contains(':') {
        return bad(
            "libpq reads \"engine:key\" in sslkey as an OpenSSL engine key, not a file: \
             use a path without ':'"
                .into(),
        );
    }
    let len = key.len() + 1 + value.len();
    if len > max_line(eol) {
        return bad(format!(
            "the line {key}=… would be {len} bytes, libpq reads at most {}",
            max_line(eol)
        ));
    }
    Ok(())
}

/// The service file libpq reads first: `explicit` if given, else `$PGSERVICEFILE`, else
/// `$HOME/.pg_service.conf`.
///
/// libpq falls back to the system-wide `$PGSYSCONFDIR/pg_service.conf` only for a service that
/// is not in this file (or when this file does not exist and `PGSERVICEFILE` is unset); the two
/// files are never merged. libpq up to 17 takes the home directory from the password database
/// rather than `HOME`; they agree unless `HOME` was changed.
pub fn resolve_path(explicit: Option<&Path>) -> Result<PathBuf> {
    resolve_from(
        explicit,
        std::env::var_os("PGSERVICEFILE"),
        std::env::var_os("HOME"),
    )
}

fn resolve_from(
    explicit: Option<&Path>,
    pgservicefile: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf> {
    if let Some(p) = explicit {
        if p.as_os_str().is_empty() {
            return Err(Error::NoServiceFile("the path given is empty"));
        }
        return Ok(p.to_path_buf());
    }
    match pgservicefile {
        // libpq uses an empty PGSERVICEFILE as it is, and fails to open it.
        Some(f) if f.is_empty() => Err(Error::NoServiceFile(
            "PGSERVICEFILE is set but empty, so libpq reads no service file",
        )),
        Some(f) => Ok(PathBuf::from(f)),
        None => match home.filter(|h| !h.is_empty()) {
            Some(h) => Ok(PathBuf::from(h).join(".pg_service.conf")),
            None => Err(Error::NoServiceFile(
                "neither PGSERVICEFILE nor HOME is set",
            )),
        },
    }
}

/// Reads the service file at `path`. A missing file is an empty one, ready to be added to.
pub fn read_file(path: &Path) -> Result<ServiceFile> {
    match fs::read(path) {
        Ok(bytes) => Ok(ServiceFile::parse(path, bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(ServiceFile::new(path)),
        Err(e) => Err(Error::io("read service file", path)(e)),
    }
}

/// Replaces the service file at `path` with `bytes` atomically: a reader sees the old file or
/// the new one, never a mix.
///
/// The bytes go to a temporary file in the same directory, created with mode 0600 from the first
/// byte, fsync-ed, then renamed over `path`, and the directory is fsync-ed (the storage layer's
/// one atomic writer). A new file gets mode [`SERVICE_FILE_MODE`] whatever the umask; an
/// existing file keeps its permission bits, owner and group. A symbolic link (a dotfile
/// manager's) is followed when root or the user pgca runs as owns it: its target is replaced
/// and the link stays. Every directory on the way must be one only root or the user pgca runs
/// as can change (see [`write_file_for`] to write for another user). On any failure the
/// original file is untouched and no temporary file is left.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    write_file_for(path, bytes, None)
}

/// [`write_file`] for the user `owner` (uid, gid): directories on the way may also be theirs,
/// and a new file is theirs.
pub fn write_file_for(path: &Path, bytes: &[u8], owner: Option<(u32, u32)>) -> Result<()> {
    const WHAT: &str = "write service file";
    let trust = match owner {
        Some((uid, _)) => storage::Trust::with_owner(uid),
        None => storage::Trust::invoker(),
    };
    // Failures name the service file, not the directory or the temporary name.
    let named = |e: Error| match e {
        Error::Io { source, .. } => Error::Io {
            action: WHAT,
            path: path.to_path_buf(),
            source,
        },
        other => other,
    };
    let me = storage::invoker_ids();
    let mut target = path.to_path_buf();
    for _ in 0..40 {
        let name = target
            .file_name()
            .ok_or_else(|| Error::io(WHAT, path)(io::ErrorKind::InvalidInput.into()))?
            .to_string_lossy()
            .into_owned();
        let dir = storage::open_dir(storage::parent(&target), &trust, None).map_err(named)?;
        match dir.stat_at(&name).map_err(named)? {
            Some(st) if st.st_mode & 0o170000 == 0o120000 => {
                if !trust.follows(st.st_uid) {
                    return Err(Error::Untrusted {
                        path: target,
                        why: crate::error::Distrust::ForeignLink {
                            uid: st.st_uid,
                            name: storage::user_name(st.st_uid),
                        },
                    });
                }
                let link = dir
                    .read_link(&name)
                    .ok_or_else(|| Error::io(WHAT, path)(io::ErrorKind::NotFound.into()))?;
                target = storage::parent(&target).join(link);
            }
            existing => {
                let (mode, ids) = match existing {
                    Some(st) => (st.st_mode & 0o7777, (st.st_uid, st.st_gid)),
                    None => (SERVICE_FILE_MODE, owner.unwrap_or(me)),
                };
                let ids = (ids != me).then_some(ids);
                return dir
                    .replace_file(&name, bytes, mode, ids, WHAT)
                    .map_err(named);
            }
        }
    }
    Err(Error::Untrusted {
        path: path.to_path_buf(),
        why: crate::error::Distrust::TooManyLinks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::Permissions;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    const PATH: &str = "/x/pg_service.conf";

    fn file(bytes: impl Into<Vec<u8>>) -> ServiceFile {
        ServiceFile::parse(PATH, bytes)
    }

    /// The settings libpq takes for `name`, as pairs.
    fn pairs(f: &ServiceFile, name: &str) -> Option<Vec<(String, String)>> {
        f.get(name).map(|s| {
            s.entries
                .into_iter()
                .map(|e| (e.key, e.value))
                .collect::<Vec<_>>()
        })
    }

    fn owned(entries: &[(&str, &str)]) -> Vec<(String, String)> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn problems(f: &ServiceFile, name: &str) -> Vec<(usize, ProblemKind)> {
        f.get(name)
            .unwrap()
            .problems
            .into_iter()
            .map(|p| (p.line, p.kind))
            .collect()
    }

    // ---- libpq's reading rules ----

    #[test]
    fn white_space_is_trimmed_at_both_ends_and_crlf_works() {
        let f = file(" \t [a]  \r\n \t host=h1 \t\r\n\x0bport=5432\x0c\r\n");
        assert_eq!(
            pairs(&f, "a").unwrap(),
            owned(&[("host", "h1"), ("port", "5432")])
        );
        assert!(f.get("a").unwrap().problems.is_empty());
    }

    #[test]
    fn blank_lines_and_comments_are_skipped_but_there_are_no_inline_comments() {
        let f = file(
            "[a]\n\n   \n# host=commented\n  \t#port=1\nhost=h # not a comment\n\
             dbname=a=b\napplication_name=#x\n",
        );
        assert_eq!(
            pairs(&f, "a").unwrap(),
            owned(&[
                ("host", "h # not a comment"),
                ("dbname", "a=b"),
                ("application_name", "#x")
            ])
        );
        // `;` is no comment character for libpq.
        let f = file("[a]\n; c\n");
        assert_eq!(problems(&f, "a"), [(2, ProblemKind::NoEquals)]);
    }

    #[test]
    fn spaces_around_equals_are_part_of_the_key_or_value() {
        let f = file("[a]\ndbname = x\ndbname =y\nuser= x\n");
        assert_eq!(
            problems(&f, "a"),
            [
                (2, ProblemKind::UnknownKey("dbname ".into())),
                (3, ProblemKind::UnknownKey("dbname ".into()))
            ]
        );
        // The leading space of a value is kept: only the line is trimmed.
        assert_eq!(pairs(&f, "a").unwrap(), owned(&[("user", " x")]));
        assert_eq!(
            f.get("a").unwrap().problems[0].to_string(),
            "line 2 has the key \"dbname \", which libpq does not know (no spaces around '=')"
        );
    }

    #[test]
    fn the_first_section_and_the_first_key_win() {
        let f = file("[a]\nhost=1\nhost=2\nport=1\n[a]\nhost=3\n");
        let a = f.get("a").unwrap();
        assert_eq!(a.line, 1);
        assert_eq!(
            pairs(&f, "a").unwrap(),
            owned(&[("host", "1"), ("port", "1")])
        );
        assert_eq!(a.entries[1].line, 4);
        let all = f.sections();
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].shadowed_by, all[1].shadowed_by), (None, Some(1)));
        assert_eq!(all[1].entries[0].value, "3");
    }

    #[test]
    fn names_match_exactly_and_text_after_the_bracket_is_ignored() {
        let f =
            file("[a] trailing\nhost=1\n[A]\nhost=2\n[ab]\nhost=3\n[c]d]\nhost=4\n[e\nhost=5\n");
        assert_eq!(pairs(&f, "a").unwrap(), owned(&[("host", "1")]));
        assert_eq!(pairs(&f, "A").unwrap(), owned(&[("host", "2")]));
        assert_eq!(pairs(&f, "ab").unwrap(), owned(&[("host", "3")]));
        assert_eq!(pairs(&f, "b"), None);
        // libpq's strncmp match: `[c]d]` is both `c` and `c]d`.
        assert_eq!(pairs(&f, "c").unwrap(), owned(&[("host", "4")]));
        assert_eq!(pairs(&f, "c]d").unwrap(), owned(&[("host", "4")]));
        // An unclosed header matches nothing but still ends the section before it.
        assert_eq!(pairs(&f, "e"), None);
        let names: Vec<String> = f.sections().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["a", "A", "ab", "c", "e"]);
    }

    #[test]
    fn lines_before_the_first_section_are_ignored() {
        let f = file("host=ignored\nnonsense\n[a]\nport=1\n");
        assert_eq!(pairs(&f, "a").unwrap(), owned(&[("port", "1")]));
        assert!(f.get("a").unwrap().problems.is_empty());
    }

    #[test]
    fn unknown_keys_and_syntax_errors_only_matter_in_their_own_section() {
        let f = file(
            "[bad]\nnoequals\nservice=x\nldap://h/x\nfoo=1\nHost=x\n=x\nhost=ok\n[good]\nhost=g\n",
        );
        assert_eq!(
            problems(&f, "bad"),
            [
                (2, ProblemKind::NoEquals),
                (3, ProblemKind::NestedService),
                (4, ProblemKind::Ldap),
                (5, ProblemKind::UnknownKey("foo".into())),
                (6, ProblemKind::UnknownKey("Host".into())),
                (7, ProblemKind::UnknownKey("".into())),
            ]
        );
        assert_eq!(pairs(&f, "bad").unwrap(), owned(&[("host", "ok")]));
        assert!(f.get("good").unwrap().problems.is_empty());
    }

    /// A line of `n` bytes before its ending.
    fn line_of(n: usize) -> String {
        format!("host={}", "h".repeat(n - 5))
    }

    #[test]
    fn lines_of_more_than_1021_bytes_are_too_long() {
        let ok = file(format!("[a]\n{}\n", line_of(1021)));
        assert!(ok.get("a").unwrap().problems.is_empty());
        assert_eq!(ok.get("a").unwrap().entries[0].value.len(), 1016);
        let long = file(format!("[a]\n{}\nport=1\n", line_of(1022)));
        assert_eq!(problems(&long, "a"), [(2, ProblemKind::TooLong)]);
        // The rest of the long line is not a line of its own.
        assert_eq!(pairs(&long, "a").unwrap(), owned(&[("port", "1")]));
        // CRLF: the \r counts.
        let ok = file(format!("[a]\r\n{}\r\n", line_of(1020)));
        assert!(ok.get("a").unwrap().problems.is_empty());
        let long = file(format!("[a]\r\n{}\r\n", line_of(1021)));
        assert_eq!(problems(&long, "a"), [(2, ProblemKind::TooLong)]);
        // The last line needs no newline, so it may be one byte longer.
        let ok = file(format!("[a]\n{}", line_of(1022)));
        assert!(ok.get("a").unwrap().problems.is_empty());
        let long = file(format!("[a]\n{}", line_of(1023)));
        assert_eq!(problems(&long, "a"), [(2, ProblemKind::TooLong)]);
        // Comments are read into the same buffer.
        let long = file(format!("[a]\n#{}\n", "c".repeat(1021)));
        assert_eq!(problems(&long, "a"), [(2, ProblemKind::TooLong)]);
        assert_eq!(
            long.get("a").unwrap().problems[0].to_string(),
            "line 2 is too long: libpq reads at most 1021 characters a line"
        );
    }

    #[test]
    fn a_long_line_breaks_the_services_after_it_not_those_before() {
        let f = file(format!(
            "[a]\nhost=1\n[c]\n#{}\n[b]\nhost=2\n",
            "c".repeat(2000)
        ));
        assert!(f.get("a").unwrap().problems.is_empty());
        assert_eq!(problems(&f, "c"), [(4, ProblemKind::TooLong)]);
        assert_eq!(problems(&f, "b"), [(4, ProblemKind::TooLong)]);
        assert_eq!(pairs(&f, "b").unwrap(), owned(&[("host", "2")]));
        // Listing reads each section alone.
        assert!(f.sections()[2].problems.is_empty());
        assert_eq!(f.sections()[2].line, 5);
    }

    #[test]
    fn a_nul_ends_the_line_and_fgets_pieces_become_lines() {
        let f = file(b"[a]\nhost=x\0junk\n\0[b]\n".to_vec());
        assert_eq!(pairs(&f, "a").unwrap(), owned(&[("host", "x")]));
        assert_eq!(f.sections().len(), 1);
        // 1023 bytes holding a NUL are no error, and the rest of that line is a line of its own:
        // libpq sees a section here.
        let mut b = b"#\0".to_vec();
        b.extend(std::iter::repeat_n(b'x', 1021));
        b.extend_from_slice(b"[evil]\nhost=attacker\n");
        let f = file(b.clone());
        assert_eq!(f.get("evil").unwrap().line, 2);
        assert_eq!(pairs(&f, "evil").unwrap(), owned(&[("host", "attacker")]));
        assert_eq!(f.to_bytes(), b);
    }

    #[test]
    fn any_bytes_round_trip_unchanged() {
        let long = format!("#{}\n", "x".repeat(3000));
        let inputs: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"\n".to_vec(),
            b"\r\n\r\n".to_vec(),
            b"no newline".to_vec(),
            b"[a]\r\nhost=x".to_vec(),
            b"\xff\xfe[\x80]\nhost=\xc3\n\n".to_vec(),
            b"a=1\rb=2\r".to_vec(),
            b"[a]\0\n\0\0\0".to_vec(),
            b"  [ spaced ] x \n\t\thost = y  \n".to_vec(),
            long.into_bytes(),
            vec![b'x'; 5000],
        ];
        for b in inputs {
            let f = file(b.clone());
            assert_eq!(f.to_bytes(), b);
            assert_eq!(f.as_bytes(), &b[..]);
            assert_eq!(f.is_empty(), b.is_empty());
            let _ = f.sections();
        }
    }

    #[test]
    fn foreign_non_utf8_sections_are_listed_lossily_and_kept() {
        let b = b"[caf\xe9]\nhost=\xff\n\n[a]\nhost=x\n".to_vec();
        let mut f = file(b.clone());
        assert_eq!(f.sections()[0].name, "caf\u{fffd}");
        assert_eq!(f.sections()[0].entries[0].value, "\u{fffd}");
        f.upsert("a", &[("host", "y")], true).unwrap();
        assert_eq!(f.to_bytes(), b"[caf\xe9]\nhost=\xff\n\n[a]\nhost=y\n");
        f.remove("a").unwrap();
        assert_eq!(f.to_bytes(), b"[caf\xe9]\nhost=\xff\n");
    }

    // ---- editing ----

    #[test]
    fn upsert_into_an_empty_file() {
        let mut f = ServiceFile::new(PATH);
        let r = f.upsert("a", &[("host", "h"), ("port", "5432")], false);
        assert_eq!(r.unwrap(), Upserted::Added);
        assert_eq!(f.to_bytes(), b"[a]\nhost=h\nport=5432\n");
        assert_eq!(f.path(), Path::new(PATH));
    }

    #[test]
    fn a_new_section_goes_last_after_a_blank_line_with_the_files_line_ending() {
        let mut f = file("[z]\r\nhost=1\r\n");
        f.upsert("a", &[("host", "h")], false).unwrap();
        assert_eq!(f.to_bytes(), b"[z]\r\nhost=1\r\n\r\n[a]\r\nhost=h\r\n");
        // The first line decides.
        let mut f = file("# c\n[z]\r\nhost=1\r\n");
        f.upsert("a", &[("host", "h")], false).unwrap();
        assert_eq!(f.to_bytes(), b"# c\n[z]\r\nhost=1\r\n\n[a]\nhost=h\n");
    }

    #[test]
    fn a_missing_final_newline_is_added_and_a_final_blank_line_reused() {
        let mut f = file("[z]\nhost=1");
        f.upsert("a", &[("host", "h")], false).unwrap();
        assert_eq!(f.to_bytes(), b"[z]\nhost=1\n\n[a]\nhost=h\n");
        let mut f = file("# c\n\n");
        f.upsert("a", &[("host", "h")], false).unwrap();
        assert_eq!(f.to_bytes(), b"# c\n\n[a]\nhost=h\n");
        // Without the newline, the header would have been part of the comment.
        let mut f = file("# c");
        f.upsert("a", &[("host", "h")], false).unwrap();
        assert_eq!(f.to_bytes(), b"# c\n\n[a]\nhost=h\n");
        let mut f = file("[z]\r\nhost=1");
        f.upsert("a", &[("host", "h")], false).unwrap();
        assert_eq!(f.to_bytes(), b"[z]\r\nhost=1\r\n\r\n[a]\r\nhost=h\r\n");
    }

    #[test]
    fn an_existing_service_is_replaced_only_with_force() {
        let mut f = file("[a]\nhost=old\n");
        let e = f.upsert("a", &[("host", "new")], false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "service \"a\" already exists in /x/pg_service.conf: use --force to replace it"
        );
        assert_eq!(f.to_bytes(), b"[a]\nhost=old\n");
        assert_eq!(
            f.upsert("a", &[("host", "new")], true).unwrap(),
            Upserted::Replaced
        );
        assert_eq!(f.to_bytes(), b"[a]\nhost=new\n");
    }

    #[test]
    fn replacing_keeps_the_comments_before_the_next_header_and_everything_else() {
        let mut f = file(
            "# top\n[z]\nhost=z\n\n[a] # mine\nhost=old\n# inside\nbogus line\nport=1\n\n\
             # about b\n[b]\nhost=b\n",
        );
        f.upsert("a", &[("host", "new"), ("sslmode", "verify-full")], true)
            .unwrap();
        assert_eq!(
            f.to_bytes(),
            b"# top\n[z]\nhost=z\n\n[a]\nhost=new\nsslmode=verify-full\n\n# about b\n[b]\nhost=b\n"
        );
        // The last section, with a comment after it and no final newline.
        let mut f = file("[a]\r\nhost=old\r\n# end");
        f.upsert("a", &[("user", "u")], true).unwrap();
        assert_eq!(f.to_bytes(), b"[a]\r\nuser=u\r\n# end");
        // A section with no settings: only its header is replaced.
        let mut f = file("[a]\n# note\n[b]\n");
        f.upsert("a", &[("user", "u")], true).unwrap();
        assert_eq!(f.to_bytes(), b"[a]\nuser=u\n# note\n[b]\n");
    }

    #[test]
    fn a_service_held_twice_is_never_edited() {
        let b = "[a]\nhost=1\n[b]\nhost=2\n  [a] again\nhost=3\n";
        let mut f = file(b);
        let e = f.upsert("a", &[("host", "x")], true).unwrap_err();
        assert_eq!(
            e.to_string(),
            "service \"a\" appears 2 times in /x/pg_service.conf (lines 1, 5): libpq uses the \
             first (line 1); pgca will not guess which one to change: edit the file by hand"
        );
        assert!(matches!(
            f.remove("a").unwrap_err(),
            Error::DuplicateService { ref lines, .. } if lines == &[1, 5]
        ));
        assert_eq!(f.to_bytes(), b.as_bytes());
        // Other services are fine.
        f.upsert("b", &[("host", "x")], true).unwrap();
        assert_eq!(pairs(&f, "b").unwrap(), owned(&[("host", "x")]));
    }

    #[test]
    fn remove_takes_the_section_and_the_blank_lines_it_would_leave_doubled() {
        let mut f = file("[z]\nhost=1\n\n[a]\nhost=x\n# in a\nport=2\n\n# about b\n[b]\nhost=2\n");
        f.remove("a").unwrap();
        assert_eq!(f.to_bytes(), b"[z]\nhost=1\n\n# about b\n[b]\nhost=2\n");
        let mut f = file("[z]\nhost=1\n\n\n[a]\nhost=x\n\n");
        f.remove("a").unwrap();
        assert_eq!(f.to_bytes(), b"[z]\nhost=1\n");
        let mut f = file("[a]\nhost=x");
        f.remove("a").unwrap();
        assert_eq!(f.to_bytes(), b"");
        let e = f.remove("q").unwrap_err();
        assert_eq!(e.to_string(), "no service \"q\" in /x/pg_service.conf");
    }

    #[test]
    fn adding_then_removing_gives_back_the_file() {
        for b in [
            "",
            "[z]\nhost=1\n",
            "[z]\r\nhost=1\r\n",
            "# only a comment\n",
            "[z]\nhost=1\n# trailing\n",
        ] {
            let mut f = file(b);
            f.upsert("new", &[("host", "h"), ("user", "u")], false)
                .unwrap();
            f.remove("new").unwrap();
            assert_eq!(f.to_bytes(), b.as_bytes(), "{b:?}");
        }
    }

    // ---- refusals ----

    #[test]
    fn a_role_name_cannot_inject_a_section() {
        let evil = "x\n[evil]\nhost=attacker";
        let before = "[a]\nhost=1\n";
        let mut f = file(before);
        for r in [
            f.clone().upsert("a", &[("user", evil)], true),
            f.clone().upsert(evil, &[("user", "x")], true),
            f.clone()
                .upsert("b", &[("sslcert", &format!("/certs/{evil}.crt"))], true),
            f.upsert("x\r[evil]", &[("host", "h")], true),
        ] {
            let e = r.unwrap_err().to_string();
            assert!(e.contains("control characters"), "{e}");
            assert!(!e.contains('\n') && !e.contains('\r'), "{e:?}");
        }
        assert_eq!(f.to_bytes(), before.as_bytes());
        assert!(f.get("evil").is_none());
    }

    #[test]
    fn every_dangerous_service_name_is_refused_and_nothing_changes() {
        let long_ok = "n".repeat(MAX_LINE_BYTES - 2);
        let long_bad = "n".repeat(MAX_LINE_BYTES - 1);
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("a\nb", "control characters"),
            ("a\rb", "control characters"),
            ("a\tb", "control characters"),
            ("a\0b", "control characters"),
            ("a\u{7f}", "control characters"),
            ("a\u{85}b", "control characters"),
            ("a\u{1b}[0m", "control characters"),
            (" a", "white space"),
            ("a ", "white space"),
            ("a\u{a0}", "white space"),
            ("\u{3000}a", "white space"),
            ("[a", "'[' and ']'"),
            ("a]", "'[' and ']'"),
            ("a]b", "'[' and ']'"),
            ("[a]", "'[' and ']'"),
            (&long_bad, "too long"),
        ];
        let before = "[z]\nhost=1\n";
        let mut f = file(before);
        for (name, reason) in cases {
            let e = f.upsert(name, &[("host", "h")], true).unwrap_err();
            assert!(
                matches!(e, Error::InvalidServiceName { .. }),
                "{name:?}: {e}"
            );
            let msg = e.to_string();
            assert!(msg.contains(reason), "{name:?}: {msg}");
            assert!(!msg.contains('\n') && !msg.contains('\r'), "{msg:?}");
            assert_eq!(f.to_bytes(), before.as_bytes(), "{name:?}");
        }
        // At the limit: the header line is exactly 1021 bytes.
        f.upsert(&long_ok, &[("host", "h")], false).unwrap();
        assert!(f.get(&long_ok).unwrap().problems.is_empty());
        // With CRLF the \r counts.
        let mut f = file("[z]\r\n");
        assert!(f.upsert(&long_ok, &[("host", "h")], false).is_err());
        f.upsert(&long_ok[1..], &[("host", "h")], false).unwrap();
    }

    #[test]
    fn every_dangerous_key_or_value_is_refused_and_nothing_changes() {
        let cases: &[(&str, &str, &str)] = &[
            ("host", "", "empty"),
            ("host", "x\ny", "control characters"),
            ("host", "x\r", "control characters"),
            ("host", "a\tb", "control characters"),
            ("host", "x\0", "control characters"),
            ("host", "x\u{1b}[31m", "control characters"),
            ("host", "x\u{9b}", "control characters"),
            ("host", " x", "white space"),
            ("host", "x ", "white space"),
            ("host", "x\u{2028}", "white space"),
            ("sslkey", "pkcs11:token", "engine"),
            ("sslkey", "/keys/a:b.key", "engine"),
        ];
        let before = "[z]\nhost=1\n";
        let mut f = file(before);
        for (key, value, reason) in cases {
            let e = f
                .upsert("a", &[("port", "1"), (key, value)], false)
                .unwrap_err();
            assert!(
                matches!(e, Error::InvalidServiceValue { .. }),
                "{value:?}: {e}"
            );
            let msg = e.to_string();
            assert!(msg.contains(reason), "{value:?}: {msg}");
            assert!(!msg.contains('\n') && !msg.contains('\r'), "{msg:?}");
            assert_eq!(f.to_bytes(), before.as_bytes());
        }
        for key in [
            "password", "service", "Host", "host ", "", "ldap", "options", "x\ny",
        ] {
            let e = f.upsert("a", &[(key, "v")], false).unwrap_err();
            assert!(matches!(e, Error::UnknownServiceKey { .. }), "{key:?}: {e}");
            assert!(
                e.to_string().contains("expected one of host, hostaddr"),
                "{e}"
            );
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        let e = f
            .upsert("a", &[("host", "1"), ("port", "2"), ("host", "3")], false)
            .unwrap_err();
        assert_eq!(e.to_string(), "\"host\" is given twice");
        assert_eq!(f.to_bytes(), before.as_bytes());
    }

    #[test]
    fn secrets_never_appear_in_messages() {
        let mut f = ServiceFile::new(PATH);
        let e = f
            .upsert("a", &[("sslpassword", "hunter2\n")], false)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("(hidden)"), "{e}");
        let e = f
            .upsert("a", &[("user", "bob\n")], false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"bob\\n\""), "{e}");
    }

    #[test]
    fn values_libpq_takes_verbatim_are_written_verbatim() {
        let entries: &[(&str, &str)] = &[
            ("application_name", "#not a comment"),
            ("dbname", "k=v=w"),
            ("user", "two words"),
            ("host", "Zürich-東京"),
            ("sslcert", "C:/certs/a.crt"),
            ("sslkey", "/keys/[a].key"),
            ("sslpassword", "p@ss;w=rd#1"),
            ("target_session_attrs", "read-write"),
        ];
        let mut f = file("[z]\nhost=1\n");
        f.upsert("My Service é", entries, false).unwrap();
        assert_eq!(pairs(&f, "My Service é").unwrap(), owned(entries));
        assert!(f.get("My Service é").unwrap().problems.is_empty());
    }

    #[test]
    fn value_lines_may_be_1021_bytes_and_no_more() {
        let mut f = ServiceFile::new(PATH);
        let ok = "v".repeat(MAX_LINE_BYTES - "host=".len());
        let bad = format!("{ok}v");
        let e = f.upsert("a", &[("host", &bad)], false).unwrap_err();
        assert!(
            e.to_string()
                .contains("would be 1022 bytes, libpq reads at most 1021"),
            "{e}"
        );
        assert!(e.to_string().len() < 200, "{e}");
        f.upsert("a", &[("host", &ok)], false).unwrap();
        assert_eq!(pairs(&f, "a").unwrap(), owned(&[("host", &ok)]));
        // In a CRLF file the \r counts.
        let mut f = file("[z]\r\n");
        let e = f.upsert("a", &[("host", &ok)], false).unwrap_err();
        assert!(e.to_string().contains("at most 1020"), "{e}");
        f.upsert("a", &[("host", &ok[1..])], false).unwrap();
        assert_eq!(pairs(&f, "a").unwrap(), owned(&[("host", &ok[1..])]));
    }

    #[test]
    fn a_service_libpq_could_not_reach_is_not_written() {
        let before = format!("[z]\n#{}\n", "c".repeat(1500));
        let mut f = file(before.clone());
        let e = f.upsert("a", &[("host", "h")], false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "libpq cannot read service \"a\" from /x/pg_service.conf: line 2 is too long: \
             libpq reads at most 1021 characters a line"
        );
        assert_eq!(f.to_bytes(), before.as_bytes());
        // Replacing a section that holds the long line fixes it.
        f.upsert("z", &[("host", "h")], true).unwrap();
        assert_eq!(f.to_bytes(), b"[z]\nhost=h\n");
    }

    #[test]
    fn an_empty_entry_list_makes_an_empty_section() {
        let mut f = ServiceFile::new(PATH);
        f.upsert("a", &[], false).unwrap();
        assert_eq!(f.to_bytes(), b"[a]\n");
        assert_eq!(pairs(&f, "a").unwrap(), []);
    }

    // ---- which file ----

    #[test]
    fn the_path_comes_from_the_caller_then_pgservicefile_then_home() {
        let os = |s: &str| Some(OsString::from(s));
        let given = Path::new("/given");
        assert_eq!(
            resolve_from(Some(given), os("/env"), os("/home/u")).unwrap(),
            given
        );
        assert_eq!(
            resolve_from(None, os("/env/pg_service.conf"), os("/home/u")).unwrap(),
            Path::new("/env/pg_service.conf")
        );
        assert_eq!(
            resolve_from(None, None, os("/home/u")).unwrap(),
            Path::new("/home/u/.pg_service.conf")
        );
        let e = resolve_from(None, None, None).unwrap_err().to_string();
        assert_eq!(e, "no service file: neither PGSERVICEFILE nor HOME is set");
        assert!(resolve_from(None, None, os("")).is_err());
        let e = resolve_from(None, os(""), os("/home/u")).unwrap_err();
        assert!(
            e.to_string().contains("PGSERVICEFILE is set but empty"),
            "{e}"
        );
        assert!(resolve_from(Some(Path::new("")), None, os("/h")).is_err());
        // The real environment: whatever it holds, the answer is one of these.
        if let Ok(p) = resolve_path(Some(given)) {
            assert_eq!(p, given);
        }
    }

    // ---- reading and writing files ----

    fn mode_of(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    fn dir_names(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_missing_file_reads_as_empty_and_other_read_errors_name_the_path() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("pg_service.conf");
        let f = read_file(&p).unwrap();
        assert!(f.is_empty());
        assert_eq!(f.path(), p);
        let e = read_file(d.path()).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "cannot read service file {}: is a directory",
                d.path().display()
            )
        );
    }

    #[test]
    fn a_new_file_is_0600_and_an_edit_survives_a_save_and_read() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("pg_service.conf");
        let mut f = read_file(&p).unwrap();
        f.upsert("a", &[("sslpassword", "s")], false).unwrap();
        f.save().unwrap();
        assert_eq!(mode_of(&p), 0o600);
        assert_eq!(read_file(&p).unwrap(), f);
        assert_eq!(dir_names(d.path()), ["pg_service.conf"]);
    }

    /// Run by [`a_new_file_is_0600_under_umask_000`] in a child process whose umask is 000.
    #[test]
    #[ignore = "run as a child process by a_new_file_is_0600_under_umask_000"]
    fn write_as_child_under_umask() {
        if let Some(dir) = std::env::var_os("PGCA_SERVICE_TEST_DIR") {
            let dir = PathBuf::from(dir);
            // Proves the umask: a plain file gets 0666.
            fs::write(dir.join("control"), b"x").unwrap();
            write_file(&dir.join("pg_service.conf"), b"[a]\nhost=h\n").unwrap();
        }
    }

    #[test]
    fn a_new_file_is_0600_under_umask_000() {
        let d = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("sh")
            .args(["-c", "umask 000 && exec \"$0\" \"$@\""])
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "pg::service::tests::write_as_child_under_umask",
                "--ignored",
                "--test-threads=1",
            ])
            .env("PGCA_SERVICE_TEST_DIR", d.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(mode_of(&d.path().join("control")), 0o666);
        let p = d.path().join("pg_service.conf");
        assert_eq!(mode_of(&p), 0o600);
        assert_eq!(fs::read(&p).unwrap(), b"[a]\nhost=h\n");
    }

    #[test]
    fn an_existing_file_keeps_its_mode_owner_and_group() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("pg_service.conf");
        fs::write(&p, b"[z]\nhost=1\n").unwrap();
        fs::set_permissions(&p, Permissions::from_mode(0o640)).unwrap();
        let is_root = fs::metadata(d.path()).unwrap().uid() == 0;
        if is_root {
            std::os::unix::fs::chown(&p, Some(1234), Some(5678)).unwrap();
        }
        let before = fs::metadata(&p).unwrap();
        write_file(&p, b"[z]\nhost=2\n").unwrap();
        let after = fs::metadata(&p).unwrap();
        assert_eq!(mode_of(&p), 0o640);
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
        assert_ne!(
            after.ino(),
            before.ino(),
            "replaced by rename, not rewritten"
        );
        assert_eq!(fs::read(&p).unwrap(), b"[z]\nhost=2\n");
        assert_eq!(dir_names(d.path()), ["pg_service.conf"]);
        // A world-readable file stays so: that is the owner's choice.
        fs::set_permissions(&p, Permissions::from_mode(0o644)).unwrap();
        write_file(&p, b"").unwrap();
        assert_eq!(mode_of(&p), 0o644);
    }

    #[test]
    fn a_failed_write_leaves_the_original_and_no_temporary_file() {
        let d = tempfile::tempdir().unwrap();
        // A name so long that the temporary name beside it cannot be created (even by root).
        let p = d.path().join("s".repeat(250));
        fs::write(&p, b"[z]\nhost=1\n").unwrap();
        let e = write_file(&p, b"[z]\nhost=2\n").unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("cannot write service file {}: ", p.display())),
            "{e}"
        );
        assert_eq!(fs::read(&p).unwrap(), b"[z]\nhost=1\n");
        assert_eq!(dir_names(d.path()), ["s".repeat(250)]);
        // A missing directory.
        let q = d.path().join("missing/pg_service.conf");
        let e = write_file(&q, b"x").unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "cannot write service file {}: no such file or directory",
                q.display()
            )
        );
    }

    #[test]
    fn an_unwritable_directory_is_permission_denied() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("ro");
        fs::create_dir(&sub).unwrap();
        let p = sub.join("pg_service.conf");
        fs::write(&p, b"[z]\nhost=1\n").unwrap();
        fs::set_permissions(&sub, Permissions::from_mode(0o500)).unwrap();
        // Root ignores permission bits: nothing to test then.
        let probe = sub.join("probe");
        if fs::write(&probe, b"").is_ok() {
            fs::remove_file(&probe).unwrap();
        } else {
            let e = write_file(&p, b"[z]\nhost=2\n").unwrap_err().to_string();
            assert_eq!(
                e,
                format!(
                    "cannot write service file {}: permission denied",
                    p.display()
                )
            );
            assert_eq!(fs::read(&p).unwrap(), b"[z]\nhost=1\n");
            assert_eq!(dir_names(&sub), ["pg_service.conf"]);
        }
        fs::set_permissions(&sub, Permissions::from_mode(0o700)).unwrap();
    }

    #[test]
    fn a_symbolic_link_is_followed_and_kept() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("dotfiles-pg_service.conf");
        fs::write(&real, b"[z]\nhost=1\n").unwrap();
        fs::set_permissions(&real, Permissions::from_mode(0o600)).unwrap();
        let link = d.path().join(".pg_service.conf");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut f = read_file(&link).unwrap();
        f.upsert("a", &[("host", "h")], false).unwrap();
        f.save().unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"[z]\nhost=1\n\n[a]\nhost=h\n");
        assert_eq!(mode_of(&real), 0o600);
    }

    // ---- property tests ----

    /// splitmix64: small, deterministic, good enough to pick test cases.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }
        fn pick<'a, T: ?Sized>(&mut self, xs: &[&'a T]) -> &'a T {
            xs[self.below(xs.len())]
        }
    }

    /// Service names the random files and edits share, so that edits meet foreign sections.
    const POOL: &[&str] = &["a", "b", "prod", "Prod", "app db", "café", "x#y", "k=v"];

    const VALUES: &[&str] = &[
        "db.example.com",
        "5432",
        "verify-full",
        "/home/u/.pgca/clients/alice.crt",
        "two words",
        "a#b",
        "k=v",
        "Zürich",
        "[x]",
        "x",
    ];

    fn gen_header(rng: &mut Rng) -> Vec<u8> {
        let name = if rng.chance(90) {
            rng.pick(POOL).to_string()
        } else {
            rng.pick(&["other", "", "a]b", "caf\u{e9}x"]).to_string()
        };
        let line = match rng.below(7) {
            0 => format!("  [{name}]  "),
            1 => format!("[{name}] # comment"),
            2 => format!("[{name}]junk"),
            3 => format!("\t[{name}]"),
            4 => format!("[{name}"),
            _ => format!("[{name}]"),
        };
        line.into_bytes()
    }

    fn gen_gap(rng: &mut Rng) -> Vec<u8> {
        rng.pick::<[u8]>(&[
            b"",
            b"   ",
            b"\t",
            b"# comment",
            b"  #host=commented",
            b"#[a]",
            b"# \xff non-utf8 comment",
        ])
        .to_vec()
    }

    fn gen_body(rng: &mut Rng) -> Vec<u8> {
        if rng.chance(30) {
            return gen_gap(rng);
        }
        rng.pick::<[u8]>(&[
            b"host=h1",
            b"  port=5432  ",
            b"dbname = x",
            b"unknown=1",
            b"noequals",
            b"ldap://h/x",
            b"service=other",
            b"host=a=b # c",
            b"user=\xff\xfe",
            b"user=\xc3\xa9",
            b"a=1\rb=2",
            b"sslmode=require",
            b"host=h2",
        ])
        .to_vec()
    }

    fn gen_file(rng: &mut Rng) -> Vec<u8> {
        let mut lines = Vec::new();
        for _ in 0..rng.below(3) {
            lines.push(gen_gap(rng));
        }
        for _ in 0..rng.below(6) {
            lines.push(gen_header(rng));
            for _ in 0..rng.below(5) {
                lines.push(gen_body(rng));
            }
        }
        let style = rng.below(3);
        let mut out = Vec::new();
        for line in lines {
            out.extend_from_slice(&line);
            let crlf = match style {
                0 => false,
                1 => true,
                _ => rng.chance(50),
            };
            out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
        if rng.chance(20) {
            while out.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                out.pop();
            }
        }
        out
    }

    fn gen_entries(rng: &mut Rng) -> Vec<(&'static str, &'static str)> {
        let mut keys: Vec<&str> = WRITABLE_KEYS.to_vec();
        let mut out = Vec::new();
        for _ in 0..rng.below(5) {
            let key = keys.remove(rng.below(keys.len()));
            let mut value = rng.pick(VALUES);
            if key == "sslkey" {
                value = "/keys/alice.key";
            }
            out.push((key, value));
        }
        out
    }

    // An independent, plain reading of the file, valid for the files generated here (short
    // lines, no NUL): split after each \n, trim, match headers as libpq does.

    fn plain_lines(b: &[u8]) -> Vec<(Range<usize>, &[u8])> {
        let mut out = Vec::new();
        let mut start = 0;
        while start < b.len() {
            let end = b[start..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |i| start + i + 1);
            out.push((start..end, b[start..end].trim_ascii()));
            start = end;
        }
        out
    }

    fn plain_matches(text: &[u8], name: &str) -> bool {
        text.first() == Some(&b'[')
            && text[1..].starts_with(name.as_bytes())
            && text.get(name.len() + 1) == Some(&b']')
    }

    fn plain_headers(b: &[u8], name: &str) -> Vec<usize> {
        plain_lines(b)
            .iter()
            .enumerate()
            .filter(|(_, (_, t))| plain_matches(t, name))
            .map(|(i, _)| i)
            .collect()
    }

    /// What libpq takes for `name`: known keys, first wins.
    fn plain_get(b: &[u8], name: &str) -> Option<Vec<(String, String)>> {
        let mut found = None;
        for (_, t) in plain_lines(b) {
            if t.first() == Some(&b'[') {
                if found.is_some() {
                    break;
                }
                if plain_matches(t, name) {
                    found = Some(Vec::new());
                }
                continue;
            }
            let Some(entries) = found.as_mut() else {
                continue;
            };
            if t.is_empty() || t[0] == b'#' || t.starts_with(b"ldap") {
                continue;
            }
            let Some(eq) = t.iter().position(|&c| c == b'=') else {
                continue;
            };
            let (k, v) = (lossy(&t[..eq]), lossy(&t[eq + 1..]));
            if LIBPQ_KEYWORDS.contains(&k.as_str())
                && !entries.iter().any(|(e, _): &(String, String)| *e == k)
            {
                entries.push((k, v));
            }
        }
        found
    }

    /// The first section of `name`: where its header starts, where its last setting line ends.
    fn plain_region(b: &[u8], name: &str) -> (usize, usize) {
        let lines = plain_lines(b);
        let h = plain_headers(b, name)[0];
        let mut end = lines[h].0.end;
        for (r, t) in &lines[h + 1..] {
            if t.first() == Some(&b'[') {
                break;
            }
            if !t.is_empty() && t[0] != b'#' {
                end = r.end;
            }
        }
        (lines[h].0.start, end)
    }

    fn eol_of(b: &[u8]) -> &'static str {
        match b.iter().position(|&c| c == b'\n') {
            Some(i) if i > 0 && b[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        }
    }

    fn white(b: &[u8]) -> bool {
        b.iter().all(|&c| is_c_space(c))
    }

    fn expected_section(name: &str, entries: &[(&str, &str)], eol: &str) -> Vec<u8> {
        let mut s = format!("[{name}]{eol}");
        for (k, v) in entries {
            s.push_str(&format!("{k}={v}{eol}"));
        }
        s.into_bytes()
    }

    fn concat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[derive(Debug)]
    enum Op {
        Upsert(&'static str, Vec<(&'static str, &'static str)>, bool),
        Remove(&'static str),
    }

    /// Checks one edit against the plain reading; `before` and `f` are the file around it.
    fn check_step(ctx: &str, before: &[u8], f: &ServiceFile, op: &Op, result: Result<()>) {
        let after = f.as_bytes();
        let eol = eol_of(before);
        let touched = match op {
            Op::Upsert(n, _, _) | Op::Remove(n) => *n,
        };
        let count = plain_headers(before, touched).len();
        match (op, result) {
            (_, Err(e)) => {
                assert_eq!(after, before, "{ctx}: a refused edit changed the file");
                let expected = match op {
                    _ if count > 1 => matches!(e, Error::DuplicateService { .. }),
                    Op::Upsert(_, _, false) if count == 1 => {
                        matches!(e, Error::ServiceExists { .. })
                    }
                    Op::Remove(_) if count == 0 => matches!(e, Error::NoSuchService { .. }),
                    _ => false,
                };
                assert!(expected, "{ctx}: unexpected error: {e}");
            }
            (Op::Upsert(name, entries, force), Ok(())) => {
                assert!(
                    count == 0 || (count == 1 && *force),
                    "{ctx}: should be refused"
                );
                let section = expected_section(name, entries, eol);
                let expected = if count == 1 {
                    let (h, e) = plain_region(before, name);
                    concat(&[&before[..h], &section, &before[e..]])
                } else {
                    let mut x = before.to_vec();
                    if !x.is_empty() {
                        if !x.ends_with(b"\n") {
                            x.extend_from_slice(eol.as_bytes());
                        }
                        let last = plain_lines(before).last().unwrap().0.clone();
                        if !white(&before[last]) {
                            x.extend_from_slice(eol.as_bytes());
                        }
                    }
                    x.extend_from_slice(&section);
                    x
                };
                assert_eq!(
                    String::from_utf8_lossy(after),
                    String::from_utf8_lossy(&expected),
                    "{ctx}"
                );
                assert_eq!(after, &expected[..], "{ctx}");
                assert_eq!(plain_get(after, name), Some(owned(entries)), "{ctx}");
                assert_eq!(pairs(f, name), Some(owned(entries)), "{ctx}");
                assert!(f.get(name).unwrap().problems.is_empty(), "{ctx}");
                assert_eq!(plain_headers(after, name).len(), 1, "{ctx}");
            }
            (Op::Remove(name), Ok(())) => {
                assert_eq!(count, 1, "{ctx}: should be refused");
                let (h, e) = plain_region(before, name);
                let removed = before.len() - after.len();
                let common = before.iter().zip(after).take_while(|(x, y)| x == y).count();
                let p = common.min(h);
                let q = p + removed;
                assert_eq!(after, &concat(&[&before[..p], &before[q..]])[..], "{ctx}");
                assert!(q >= e, "{ctx}: part of the section is left");
                assert!(
                    white(&before[p..h]),
                    "{ctx}: removed more before the header"
                );
                assert!(
                    white(&before[e..q]),
                    "{ctx}: removed more after the section"
                );
                if p < h {
                    assert!(
                        white(&before[q..]),
                        "{ctx}: removed blank lines before a header"
                    );
                }
                assert_eq!(plain_get(after, name), None, "{ctx}");
                assert_eq!(pairs(f, name), None, "{ctx}");
            }
        }
        // Every other service reads as before, unless it is the same section (`[a]b]` is both
        // `a` and `a]b`).
        let lines = plain_lines(before);
        for other in POOL.iter().chain(&["other", "", "a]b"]) {
            let shared = lines
                .iter()
                .any(|(_, t)| plain_matches(t, touched) && plain_matches(t, other));
            if *other != touched && !shared {
                assert_eq!(
                    plain_get(before, other),
                    plain_get(after, other),
                    "{ctx}: {other:?} changed"
                );
            }
            assert_eq!(pairs(f, other), plain_get(after, other), "{ctx}: {other:?}");
        }
        // Parsing and serialising changes nothing.
        assert_eq!(file(after.to_vec()).to_bytes(), after, "{ctx}");
        assert_eq!(
            &file(after.to_vec()),
            f,
            "{ctx}: the edited model is not the parsed one"
        );
    }

    #[test]
    fn property_edits_touch_only_their_section() {
        let mut ops = 0;
        for seed in 0..3000u64 {
            let mut rng = Rng(0x5e41_ce00 + seed);
            let original = gen_file(&mut rng);
            let mut f = file(original.clone());
            assert_eq!(f.to_bytes(), original, "seed {seed}: round trip");
            for step in 0..rng.below(8) + 1 {
                let name = rng.pick(POOL);
                let op = if rng.chance(65) {
                    Op::Upsert(name, gen_entries(&mut rng), rng.chance(70))
                } else {
                    Op::Remove(name)
                };
                let before = f.to_bytes();
                let result = match &op {
                    Op::Upsert(n, entries, force) => f.upsert(n, entries, *force).map(|_| ()),
                    Op::Remove(n) => f.remove(n),
                };
                let ctx = format!(
                    "seed {seed} step {step} {op:?} on {:?}",
                    String::from_utf8_lossy(&before)
                );
                check_step(&ctx, &before, &f, &op, result);
                ops += 1;
            }
        }
        assert!(ops > 10_000, "{ops}");
    }

    #[test]
    fn property_the_parser_agrees_with_a_plain_reading() {
        for seed in 0..3000u64 {
            let mut rng = Rng(0xface_0000 + seed);
            let b = gen_file(&mut rng);
            let f = file(b.clone());
            assert_eq!(f.to_bytes(), b, "seed {seed}");
            for name in POOL.iter().chain(&["other", "", "a]b", "zzz"]) {
                assert_eq!(pairs(&f, name), plain_get(&b, name), "seed {seed} {name:?}");
            }
            let sections = f.sections();
            let headers = plain_lines(&b)
                .iter()
                .filter(|(_, t)| t.first() == Some(&b'['))
                .count();
            assert_eq!(sections.len(), headers, "seed {seed}");
        }
    }

    /// Pieces of hostile names, keys and values.
    const HOSTILE: &[&str] = &[
        "a", "b", "x", "host", "\n", "\r", "\r\n", "[", "]", "=", "#", " ", "\t", "\0", "é",
        "\u{85}", "\u{a0}", "\u{2028}", "\u{7f}", ":", "\u{1b}", "evil", "[evil]",
    ];

    fn hostile(rng: &mut Rng) -> String {
        (0..rng.below(6)).map(|_| rng.pick(HOSTILE)).collect()
    }

    /// The rules of the module documentation, restated.
    fn acceptable(name: &str, entries: &[(String, String)]) -> bool {
        let clean = |s: &str| {
            !s.is_empty()
                && !s.chars().any(char::is_control)
                && !s.starts_with(char::is_whitespace)
                && !s.ends_with(char::is_whitespace)
        };
        clean(name)
            && !name.contains(['[', ']'])
            && entries.iter().enumerate().all(|(i, (k, v))| {
                WRITABLE_KEYS.contains(&k.as_str())
                    && clean(v)
                    && !(k == "sslkey" && v.contains(':'))
                    && !entries[..i].iter().any(|(e, _)| e == k)
            })
    }

    #[test]
    fn property_hostile_input_is_refused_or_read_back_exactly() {
        let mut written = 0;
        for seed in 0..20_000u64 {
            let mut rng = Rng(0xbad0_0000 + seed);
            let original = gen_file(&mut rng);
            let name = if rng.chance(40) {
                hostile(&mut rng)
            } else {
                rng.pick(POOL).to_string()
            };
            let entries: Vec<(String, String)> = (0..rng.below(3) + 1)
                .map(|_| {
                    let key = if rng.chance(90) {
                        rng.pick(WRITABLE_KEYS).to_string()
                    } else {
                        hostile(&mut rng)
                    };
                    let value = if rng.chance(40) {
                        hostile(&mut rng)
                    } else {
                        rng.pick(VALUES).to_string()
                    };
                    (key, value)
                })
                .collect();
            let refs: Vec<(&str, &str)> = entries
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let mut f = file(original.clone());
            let before_names: Vec<String> = f.sections().into_iter().map(|s| s.name).collect();
            let result = f.upsert(&name, &refs, true);
            let ctx = format!("seed {seed}: {name:?} {entries:?}");
            let duplicated = plain_headers(&original, &name).len() > 1;
            match result {
                Ok(outcome) => {
                    assert!(
                        acceptable(&name, &entries) && !duplicated,
                        "{ctx}: accepted"
                    );
                    assert_eq!(pairs(&f, &name), Some(entries.clone()), "{ctx}");
                    assert_eq!(
                        plain_get(f.as_bytes(), &name),
                        Some(entries.clone()),
                        "{ctx}"
                    );
                    let mut names: Vec<String> = f.sections().into_iter().map(|s| s.name).collect();
                    let mut expected = before_names;
                    if outcome == Upserted::Added {
                        expected.push(name.clone());
                    }
                    names.sort();
                    expected.sort();
                    assert_eq!(names, expected, "{ctx}: sections appeared or vanished");
                    written += 1;
                }
                Err(e) => {
                    assert!(!acceptable(&name, &entries) || duplicated, "{ctx}: {e}");
                    assert_eq!(f.to_bytes(), original, "{ctx}: changed on refusal");
                    assert!(!e.to_string().contains(['\n', '\r']), "{ctx}: {e:?}");
                }
            }
        }
        assert!(written > 3000, "{written}");
    }
}
