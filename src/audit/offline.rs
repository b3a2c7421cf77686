//! An offline target: a data directory or a `postgresql.conf`, read as the server would read
//! them at start, for a host where the server is down or a configuration repository in CI.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::conf::read_server_conf;
use super::facts::{FactSetting, ServerFacts, Source};
use super::finding::Location;
use super::hba::read_pg_hba;
use super::ident::read_pg_ident;
use crate::error::{Error, Result};

/// What an offline audit read, with the data directory's owner (the cluster's owner, trusted
/// with its own directories, and the default superuser's name).
pub struct Offline {
    /// The facts.
    pub facts: ServerFacts,
    /// The uid of the data directory's (or the configuration directory's) owner.
    pub owner: u32,
    /// The name of the data directory's (or the configuration directory's) owner.
    pub owner_name: Option<String>,
}

/// Reads the data directory or configuration file at `path`: `postgresql.conf` with its
/// includes, then `postgresql.auto.conf`, then `pg_hba.conf` and `pg_ident.conf` where
/// `hba_file` and `ident_file` say (by default beside `postgresql.conf`).
pub fn read_offline(path: &Path) -> Result<Offline> {
    let meta = std::fs::metadata(path).map_err(Error::io("read configuration", path))?;
    let (conf, given_data) = if meta.is_dir() {
        (path.join("postgresql.conf"), Some(path.to_path_buf()))
    } else {
        (path.to_path_buf(), None)
    };
    let conf_dir = conf
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let owner_uid = meta.uid();
    let owner = Some(owner_uid);
    // A config file may name its data directory (Debian keeps them apart); auto.conf is there.
    let first = read_server_conf(&conf, given_data.as_deref().unwrap_or(&conf_dir), owner)?;
    let data_dir = given_data.clone().or_else(|| {
        first
            .value("data_directory")
            .map(|d| resolve(&conf_dir, d))
            .filter(|d| d.is_dir())
    });
    let settings = match (&given_data, &data_dir) {
        (None, Some(d)) if *d != conf_dir => read_server_conf(&conf, d, owner)?,
        _ => first,
    };
    let settings: BTreeMap<String, FactSetting> = settings
        .effective()
        .into_iter()
        .map(|s| {
            (
                s.name.to_ascii_lowercase(),
                FactSetting {
                    value: s.value.clone(),
                    location: Some(Location {
                        file: s.file.clone(),
                        line: Some(s.line),
                    }),
                },
            )
        })
        .collect();
    let file_of = |name: &str, default: &str| match settings.get(name) {
        Some(s) if !s.value.is_empty() => resolve(&conf_dir, &s.value),
        _ => conf_dir.join(default),
    };
    let all_rules = read_pg_hba(&file_of("hba_file", "pg_hba.conf"), owner)?;
    let (hba, hba_errors) = flag_as_server_does(all_rules, &settings);
    let ident_path = file_of("ident_file", "pg_ident.conf");
    // A missing pg_ident.conf is an empty one to the server.
    let ident = if ident_path.exists() {
        read_pg_ident(&ident_path, owner)?
    } else {
        Vec::new()
    };
    Ok(Offline {
        facts: ServerFacts {
            source: Source::Offline {
                conf,
                data_dir: data_dir.clone(),
            },
            settings,
            hba: Some(hba),
            hba_errors,
            ident: Some(ident),
            roles: None,
            unreadable: Vec::new(),
        },
        owner: owner_uid,
        owner_name: crate::storage::user_name(owner_uid),
    })
}

/// The lines the server loads but flags, as `pg_hba_file_rules` shows them (an error, the
/// line's fields empty): `hostssl` with `ssl` off can never match. Both readers judge alike.
fn flag_as_server_does(
    rules: Vec<super::hba::HbaRule>,
    settings: &BTreeMap<String, FactSetting>,
) -> (Vec<super::hba::HbaRule>, Vec<(Option<Location>, String)>) {
    let ssl = settings
        .get("ssl")
        .and_then(|s| super::facts::pg_bool(&s.value))
        .unwrap_or(false);
    let mut kept = Vec::new();
    let mut flagged = Vec::new();
    for r in rules {
        if !ssl && r.conn == super::hba::ConnType::HostSsl {
            flagged.push((
                Some(Location {
                    file: r.file.clone(),
                    line: Some(r.line),
                }),
                "hostssl record cannot match because SSL is disabled".to_string(),
            ));
        } else {
            kept.push(r);
        }
    }
    (kept, flagged)
}

/// A path setting as the server takes it: relative ones from the configuration directory
/// (for `hba_file`, `ident_file` and `data_directory` the server uses the directory of
/// `postgresql.conf`).
fn resolve(dir: &Path, value: &str) -> PathBuf {
    let p = Path::new(value);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}
