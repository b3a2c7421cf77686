//! What an audit knows of one server, whichever way it was read: from its files (offline) or by
//! asking it (live). The checks read only this, so that both ways judge alike.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use time::OffsetDateTime;

use super::finding::Location;
use super::hba::HbaRule;
use super::ident::IdentMap;
use crate::probe::Target;

/// A setting's value and, when known, where it was set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FactSetting {
    /// The value as the server reads it.
    pub value: String,
    /// Where it is set; `None` for a built-in default (or when the server did not say).
    pub location: Option<Location>,
}

/// A role as `pg_roles` has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoleFacts {
    /// `rolname`.
    pub name: String,
    /// `rolcanlogin`.
    pub login: bool,
    /// `rolsuper`.
    pub superuser: bool,
    /// `rolreplication`.
    pub replication: bool,
    /// `rolvaliduntil`, if set.
    #[serde(with = "time::serde::rfc3339::option")]
    pub valid_until: Option<OffsetDateTime>,
}

/// How the facts were read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Source {
    /// From the files of a data directory or a configuration file.
    Offline {
        /// The `postgresql.conf` read.
        conf: PathBuf,
        /// The data directory, when the target is one (relative paths are taken from it).
        data_dir: Option<PathBuf>,
    },
    /// From a running server.
    Live {
        /// The target as given, without any password.
        target: String,
        /// `server_version_num`.
        version_num: u32,
        /// The role the audit logged in as.
        user: String,
    },
}

/// Everything an audit read of one server. A part that could not be read is `None`, and
/// [`ServerFacts::unreadable`] says why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerFacts {
    /// How they were read.
    pub source: Source,
    /// The settings in effect, by lower-case name; offline, only those the files set.
    pub settings: BTreeMap<String, FactSetting>,
    /// The `pg_hba.conf` rules, in order.
    pub hba: Option<Vec<HbaRule>>,
    /// Lines the server could not load (live: `pg_hba_file_rules.error`), with where they are.
    pub hba_errors: Vec<(Option<Location>, String)>,
    /// The `pg_ident.conf` maps.
    pub ident: Option<Vec<IdentMap>>,
    /// The roles (live only).
    pub roles: Option<Vec<RoleFacts>>,
    /// What could not be read, one sentence each (an UNKNOWN finding each).
    pub unreadable: Vec<String>,
}

/// What reading one target gave: the facts, the data directory's owner, whether the server's
/// files are on this host, and where to probe it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Read {
    /// The facts.
    pub facts: ServerFacts,
    /// The uid of the data directory's owner, when its files are on this host.
    pub owner: Option<u32>,
    /// That owner's name.
    pub owner_name: Option<String>,
    /// Whether the server's files are on this host (offline: always; live: over a Unix socket or
    /// loopback, with `data_directory` readable here).
    pub files_here: bool,
    /// Where to probe the served chain, if anywhere.
    pub probe: Option<Target>,
}

/// The built-in defaults of the settings the checks read, for an offline audit (where the files
/// set only some). `password_encryption`'s is PostgreSQL 14's and later's.
pub const DEFAULTS: &[(&str, &str)] = &[
    ("listen_addresses", "localhost"),
    ("port", "5432"),
    ("ssl", "off"),
    ("ssl_min_protocol_version", "TLSv1.2"),
    ("ssl_ciphers", "HIGH:MEDIUM:+3DES:!aNULL"),
    ("ssl_cert_file", "server.crt"),
    ("ssl_key_file", "server.key"),
    ("ssl_ca_file", ""),
    ("ssl_crl_file", ""),
    ("ssl_crl_dir", ""),
    ("password_encryption", "scram-sha-256"),
    ("log_connections", "off"),
    ("log_disconnections", "off"),
    ("log_statement", "none"),
    ("shared_preload_libraries", ""),
];

impl ServerFacts {
    /// The value of `name` in effect: the server's or the files', else the built-in default.
    pub fn value(&self, name: &str) -> Option<&str> {
        match self.settings.get(name) {
            Some(s) => Some(&s.value),
            None if self.is_offline() => DEFAULTS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v),
            None => None,
        }
    }

    /// Where `name` is set, if known.
    pub fn location(&self, name: &str) -> Option<Location> {
        self.settings.get(name).and_then(|s| s.location.clone())
    }

    /// Whether these are a data directory's or a file's facts.
    pub fn is_offline(&self) -> bool {
        matches!(self.source, Source::Offline { .. })
    }

    /// The data directory, when known: the offline target's, or the server's `data_directory`.
    pub fn data_dir(&self) -> Option<PathBuf> {
        match &self.source {
            Source::Offline { data_dir, conf } => data_dir
                .clone()
                .or_else(|| conf.parent().map(Path::to_path_buf)),
            Source::Live { .. } => self
                .settings
                .get("data_directory")
                .map(|s| s.value.clone().into()),
        }
    }

    /// A path setting's file, relative ones taken from the data directory as the server does;
    /// `None` when it is empty or relative with no data directory known.
    pub fn path_setting(&self, name: &str) -> Option<PathBuf> {
        let v = self.value(name).filter(|v| !v.is_empty())?;
        let p = Path::new(v);
        if p.is_absolute() {
            Some(p.to_path_buf())
        } else {
            self.data_dir().map(|d| d.join(p))
        }
    }

    /// Whether the server listens on TCP at all (`listen_addresses` not empty).
    pub fn listens_on_tcp(&self) -> bool {
        self.value("listen_addresses")
            .is_some_and(|v| !v.trim().is_empty())
    }

    /// The superusers: live, `pg_roles`'; offline, `postgres` and the data directory's owner
    /// (initdb's bootstrap superuser is named after the user who ran it).
    pub fn superusers(&self, data_owner: Option<&str>) -> Vec<String> {
        match &self.roles {
            Some(roles) => roles
                .iter()
                .filter(|r| r.superuser)
                .map(|r| r.name.clone())
                .collect(),
            None => {
                let mut v = vec!["postgres".to_string()];
                if let Some(o) = data_owner.filter(|o| *o != "postgres") {
                    v.push(o.to_string());
                }
                v
            }
        }
    }
}

/// A PostgreSQL boolean as the server parses it (`on`, `off`, `true`, `false`, `yes`, `no`,
/// `1`, `0` and unique prefixes of the words), `None` when it is none of them.
pub fn pg_bool(v: &str) -> Option<bool> {
    let v = v.trim().to_ascii_lowercase();
    if v.is_empty() {
        return None;
    }
    let is = |word: &str, min: usize| v.len() >= min && word.starts_with(v.as_str());
    if v == "1" || is("true", 1) || is("yes", 1) || is("on", 2) {
        Some(true)
    } else if v == "0" || is("false", 1) || is("no", 1) || is("off", 2) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_parse_as_postgresql_does() {
        for (v, b) in [
            ("on", Some(true)),
            ("ON", Some(true)),
            ("of", Some(false)),
            ("o", None),
            ("t", Some(true)),
            ("fa", Some(false)),
            ("yes", Some(true)),
            ("n", Some(false)),
            ("1", Some(true)),
            ("0", Some(false)),
            ("receipt", None),
            ("", None),
        ] {
            assert_eq!(pg_bool(v), b, "{v:?}");
        }
    }
}
