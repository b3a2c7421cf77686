//! A service as libpq reads it: [`Section`], its [`Entry`] settings and the [`Problem`]s that
//! make libpq fail on it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};

use super::lines::MAX_LINE_BYTES;

/// A section of a service file, read as libpq would read it were it the service asked for.
///
/// Serialised (as `pgca service list --json` prints it) to
/// `{"entries": {KEY: VALUE, ...}, "line": N, "name": NAME, "used_by_libpq": BOOL}`: the keys
/// of both objects sorted, as that output always had them, and `used_by_libpq` true when
/// [`Section::shadowed_by`] is `None`. The fields are declared in that order for the derive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Section {
    /// The settings libpq takes from the section, in file order: known keys only, the first
    /// occurrence of each key (invalid UTF-8 replaced by U+FFFD).
    #[serde(serialize_with = "entries_by_key")]
    pub entries: Vec<Entry>,
    /// The 1-based line of the header.
    pub line: usize,
    /// The name between `[` and the first `]` (invalid UTF-8 replaced by U+FFFD).
    pub name: String,
    /// The line of the first section with the same name, when this one is not the first:
    /// libpq never reads this one.
    #[serde(rename = "used_by_libpq", serialize_with = "is_none")]
    pub shadowed_by: Option<usize>,
    /// What makes libpq fail on this service; empty when libpq reads it. For
    /// `ServiceFile::get` this includes over-long lines before the section, which libpq meets
    /// on its way there.
    #[serde(skip)]
    pub problems: Vec<Problem>,
}

/// The entries as one object, `{KEY: VALUE, ...}`, its keys sorted (a section holds each key
/// once).
fn entries_by_key<S: Serializer>(entries: &[Entry], s: S) -> Result<S::Ok, S::Error> {
    let sorted: BTreeMap<&str, &str> = entries
        .iter()
        .map(|e| (e.key.as_str(), e.value.as_str()))
        .collect();
    s.collect_map(sorted)
}

/// `shadowed_by` as `used_by_libpq`: whether this is the first section of its name.
fn is_none<S: Serializer>(shadowed_by: &Option<usize>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(shadowed_by.is_none())
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

#[cfg(test)]
mod tests {
    use super::super::testing::file;

    #[test]
    fn sections_serialise_as_service_list_json_prints_them() {
        let f = file("[b]\nuser=bob\nhost=h\nsslpassword=s\n\n[a]\n[b]\nhost=dup\nbogus\n");
        let sections = f.sections();
        let expected = r#"[
  {
    "entries": {
      "host": "h",
      "sslpassword": "s",
      "user": "bob"
    },
    "line": 1,
    "name": "b",
    "used_by_libpq": true
  },
  {
    "entries": {},
    "line": 6,
    "name": "a",
    "used_by_libpq": true
  },
  {
    "entries": {
      "host": "dup"
    },
    "line": 7,
    "name": "b",
    "used_by_libpq": false
  }
]"#;
        assert_eq!(serde_json::to_string_pretty(&sections).unwrap(), expected);
        // The same through serde_json's own object type, which sorts keys.
        let value = serde_json::to_value(&sections).unwrap();
        assert_eq!(serde_json::to_string_pretty(&value).unwrap(), expected);
    }
}
