//! A service as libpq reads it: [`Section`], its [`Entry`] settings and the [`Problem`]s that
//! make libpq fail on it.

use std::fmt;

use super::lines::MAX_LINE_BYTES;

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
    /// `ServiceFile::get` this includes over-long lines before the section, which libpq meets
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
