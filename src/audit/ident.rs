//! `pg_ident.conf` read by PostgreSQL's rules (`src/backend/libpq/hba.c`, `parse_ident_line`):
//! each line `MAP SYSTEM-USER PG-USER`, one token each (PostgreSQL ignores any further field),
//! tokenized as [`super::tokens`]
//! describes (quotes, `@file`, continuations, includes).

use std::path::{Path, PathBuf};

use super::source::{Files, bad};
use super::tokens::{AuthLine, read_auth_file};
use crate::error::Result;

/// The system-user field of a mapping, kept as written (quotes removed).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SystemUser {
    /// A user name (or a certificate's name) compared as it is.
    Name(String),
    /// A regular expression: the text with its leading `/`; `\1` in the PostgreSQL user takes
    /// its first capture.
    Regex(String),
}

impl SystemUser {
    /// The text as written, quotes removed.
    pub fn text(&self) -> &str {
        match self {
            SystemUser::Name(s) | SystemUser::Regex(s) => s,
        }
    }
}

/// One mapping of `pg_ident.conf`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentMap {
    /// The map name (`map=` in `pg_hba.conf`).
    pub map: String,
    /// The system user it matches.
    pub system_user: SystemUser,
    /// The PostgreSQL user it allows, as written (`all`, `+group`, `/regex` and `\1` kept).
    pub pg_user: String,
    /// The file it is in.
    pub file: PathBuf,
    /// Its 1-based line (the first, for a continued line).
    pub line: usize,
}

/// Reads the `pg_ident.conf` at `path` and the files it includes, through the trust walk as
/// [`super::conf::read_postgresql_conf`] does (`owner`: the cluster's owner, also trusted with
/// the directories on the way).
pub fn read_pg_ident(path: &Path, owner: Option<u32>) -> Result<Vec<IdentMap>> {
    let mut lines = Vec::new();
    read_auth_file(&mut Files::new(owner), path, None, false, &mut lines)?;
    lines.iter().map(parse_map).collect()
}

fn parse_map(l: &AuthLine) -> Result<IdentMap> {
    let err = |reason: &str| bad(&l.file, l.line, reason);
    let one = |i: usize| -> Result<&str> {
        match l.fields.get(i).map(|f| &f[..]) {
            None => Err(err("missing entry at end of line")),
            Some([t]) => Ok(&t.text),
            Some(_) => Err(err("multiple values in ident field")),
        }
    };
    let map = one(0)?.to_string();
    let system = one(1)?;
    let pg_user = one(2)?.to_string();
    // Fields after the third are ignored, as PostgreSQL ignores them.
    let system_user = if system.starts_with('/') {
        SystemUser::Regex(system.to_string())
    } else {
        SystemUser::Name(system.to_string())
    };
    Ok(IdentMap {
        map,
        system_user,
        pg_user,
        file: l.file.clone(),
        line: l.line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn maps(text: &str) -> Result<Vec<IdentMap>> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("pg_ident.conf");
        fs::write(&p, text).unwrap();
        fs::write(d.path().join("more.conf"), "m carol carol\n").unwrap();
        read_pg_ident(&p, None)
    }

    #[test]
    fn mappings_parse_like_parse_ident_line() {
        let got = maps(
            "# MAPNAME SYSTEM-USERNAME PG-USERNAME\n\n\
             ssl alice alice\n\
             ssl \"/^(.*)@example\\.com$\" \\1 # regex\n\
             ssl \"bob smith\" \\\n  bob\n\
             include more.conf\n\
             ssl root +admins ignored\n",
        )
        .unwrap();
        let rows: Vec<(&str, &SystemUser, &str, usize)> = got
            .iter()
            .map(|m| (m.map.as_str(), &m.system_user, m.pg_user.as_str(), m.line))
            .collect();
        assert_eq!(
            rows,
            [
                ("ssl", &SystemUser::Name("alice".into()), "alice", 3),
                (
                    "ssl",
                    &SystemUser::Regex("/^(.*)@example\\.com$".into()),
                    "\\1",
                    4
                ),
                ("ssl", &SystemUser::Name("bob smith".into()), "bob", 5),
                ("m", &SystemUser::Name("carol".into()), "carol", 1),
                ("ssl", &SystemUser::Name("root".into()), "+admins", 8),
            ]
        );
        assert!(got[3].file.ends_with("more.conf"));
    }

    #[test]
    fn bad_mappings_name_their_file_and_line() {
        for (text, reason) in [
            ("ssl alice", "missing entry at end of line"),
            ("ssl", "missing entry at end of line"),
            ("ssl alice,bob alice", "multiple values in ident field"),
        ] {
            let e = maps(&format!("\n{text}\n")).unwrap_err();
            let crate::error::Error::BadConfig {
                line, reason: got, ..
            } = &e
            else {
                panic!("{text:?}: {e:?}");
            };
            assert_eq!((*line, got.as_str()), (2, reason), "{text:?}");
        }
    }
}
