//! libpq's password file (`passwordFromFile` in `fe-connect.c`): `PGPASSFILE` or `passfile=`,
//! else `~/.pgpass`; lines `host:port:database:user:password`, `#` comments, `*` matching
//! anything in the first four fields, `\:` and `\\` for a literal colon and backslash. Read
//! only when no password was given, and only from a file nobody else can read or write (libpq
//! ignores one with group or other access, with a warning: here the warning is kept for the
//! error, should the server then ask for the password it would have given).

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::storage::{Input, read_input};

/// What looking in the password file gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// The first matching line's password.
    Password(String),
    /// No file, or no matching line.
    Nothing,
    /// The file exists but was not read: why (one sentence, no secret in it).
    Refused(String),
}

/// The password file in effect: `passfile` (the parameter or `PGPASSFILE`), else `~/.pgpass`.
pub(crate) fn path(passfile: Option<&str>, home: Option<&Path>) -> Option<PathBuf> {
    passfile
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".pgpass")))
}

/// The password for `host`, `port`, `dbname` and `user` in the file at `path`.
pub(crate) fn lookup(path: &Path, host: &str, port: &str, dbname: &str, user: &str) -> Found {
    if !path.exists() {
        return Found::Nothing;
    }
    match read_input(path, "read password file", Input::Secret) {
        Ok(bytes) => match find(&String::from_utf8_lossy(&bytes), [host, port, dbname, user]) {
            Some(p) => Found::Password(p),
            None => Found::Nothing,
        },
        Err(e @ Error::UnsafeInput { .. }) => {
            Found::Refused(format!("the password file was not used: {e}"))
        }
        Err(e) => Found::Refused(format!("the password file was not read: {e}")),
    }
}

/// The password of the first line of `text` whose four fields match `want`.
fn find(text: &str, want: [&str; 4]) -> Option<String> {
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let fields = split(line);
        if fields.len() < 5 {
            continue;
        }
        let matches = fields
            .iter()
            .zip(want)
            .all(|((text, raw), want)| raw == "*" || text == want);
        if matches && !fields[4].0.is_empty() {
            return Some(fields[4].0.clone());
        }
    }
    None
}

/// The fields of a line, each unescaped and as written (to tell `*` from `\*`); the fifth field
/// ends at the next unescaped `:`, as libpq reads it.
fn split(line: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let (mut text, mut raw) = (String::new(), String::new());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                raw.push(c);
                if let Some(n) = chars.next() {
                    text.push(n);
                    raw.push(n);
                }
            }
            ':' => {
                fields.push((std::mem::take(&mut text), std::mem::take(&mut raw)));
                if fields.len() == 5 {
                    return fields;
                }
            }
            c => {
                text.push(c);
                raw.push(c);
            }
        }
    }
    fields.push((text, raw));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_match_as_libpq_matches_them() {
        let file = "# comment\n\
                    db:5432:*:bob:first\n\
                    *:*:*:alice:a\\:b\\\\c:ignored\n\
                    localhost:5433:app:carol:\n\
                    localhost:5433:app:carol:second\n\
                    short:line\n\
                    \\*:1:d:u:star\n";
        let f = |h, p, d, u| find(file, [h, p, d, u]);
        assert_eq!(f("db", "5432", "any", "bob"), Some("first".into()));
        assert_eq!(f("db", "5433", "any", "bob"), None);
        assert_eq!(f("x", "1", "y", "alice"), Some("a:b\\c".into()));
        // An empty password is skipped, the next line taken.
        assert_eq!(
            f("localhost", "5433", "app", "carol"),
            Some("second".into())
        );
        // An escaped * is a literal one.
        assert_eq!(f("h", "1", "d", "u"), None);
        assert_eq!(f("*", "1", "d", "u"), Some("star".into()));
    }

    #[test]
    fn a_file_others_can_read_is_not_used() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pgpass");
        std::fs::write(&p, "*:*:*:*:secret\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            lookup(&p, "h", "1", "d", "u"),
            Found::Password("secret".into())
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        match lookup(&p, "h", "1", "d", "u") {
            Found::Refused(why) => assert!(!why.contains("secret"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            lookup(&dir.path().join("none"), "h", "1", "d", "u"),
            Found::Nothing
        );
        assert_eq!(
            path(None, Some(Path::new("/h"))),
            Some(PathBuf::from("/h/.pgpass"))
        );
        assert_eq!(
            path(Some("/f"), Some(Path::new("/h"))),
            Some(PathBuf::from("/f"))
        );
    }
}
