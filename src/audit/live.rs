//! A live target: a running server, asked over a real PostgreSQL client connection
//! (rust-postgres: the protocol, SCRAM-SHA-256 with channel binding, md5, cleartext passwords,
//! Unix sockets) for its settings (`pg_settings`), rules (`pg_hba_file_rules`,
//! `pg_ident_file_mappings`) and roles (`pg_roles`), in one read-only transaction.
//!
//! The target is a libpq connection string, URI or `service=` ([`super::libpq`], with libpq's
//! defaults, `~/.pgpass` ([`super::pgpass`]) and `sslmode` ([`super::live_tls`])). Each host
//! is tried in turn, as libpq tries them ([`super::live_connect`]); `prefer` falls back to a plain connection when the
//! server refuses TLS or the handshake fails, `allow` tries plain first. Connecting (TLS and
//! the login included) ends within [`LiveOptions::timeout`], and so does each query (the
//! transaction's `statement_timeout`).
//!
//! What the role may not read (`pg_hba_file_rules` without the grant, `sourcefile` hidden
//! without `pg_read_all_settings`, PostgreSQL 14's missing `pg_ident_file_mappings`) is `None`
//! in the facts, with a sentence in [`ServerFacts::unreadable`]. No password appears in any
//! error: the target is shown through [`redact`], and a password the server echoed is masked.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use postgres::Transaction;

use super::facts::{Read, ServerFacts, Source};
use super::libpq::{Env, Host, Params};
use super::live_connect::{Connected, chain, connect, lower_first};
use super::live_rows::{self, HbaRow, IdentRow, SettingRow};
use crate::error::{Error, Result};
use crate::probe::Target;

pub use super::libpq::redact;

/// How a live target is read.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// The limit on connecting (each host and TLS attempt, the login included) and on each
    /// query.
    pub timeout: Duration,
    /// Probe the served chain here instead of where the server listens.
    pub probe: Option<Target>,
    /// The environment the `PG*` variables and `HOME` come from: `None`, the process's; `Some`,
    /// these variables only.
    pub env: Option<Vec<(String, String)>>,
}

impl Default for LiveOptions {
    fn default() -> LiveOptions {
        LiveOptions {
            timeout: Duration::from_secs(10),
            probe: None,
            env: None,
        }
    }
}

/// Reads a running server through `conninfo` (a libpq connection string, URI or `service=`).
/// Every error is [`Error::AuditConnect`] naming the target without its password, with one
/// line saying what failed.
pub fn read_live(conninfo: &str, opts: &LiveOptions) -> Result<Read> {
    let mut target = redact(conninfo);
    let env = Env(opts.env.clone());
    let mut secrets = Vec::new();
    let result = (|| {
        let params = Params::resolve(conninfo, &env)?;
        if conninfo.trim().is_empty() {
            // No string: name the target by what the environment and defaults made of it.
            target = params.describe();
        }
        secrets.extend(
            ["password", "sslpassword"]
                .iter()
                .filter_map(|k| params.get(k))
                .map(str::to_string),
        );
        let mut conn = connect(&params, &env, opts.timeout, &mut secrets)?;
        read_facts(&mut conn, &target, opts)
    })();
    result.map_err(|reason| Error::AuditConnect {
        target,
        reason: scrub(&reason, &secrets),
    })
}

/// Connects through `conninfo` as [`read_live`] does (the process's environment) and runs
/// `sql`, a statement returning one boolean: `Ok(that boolean)`, or one line saying what
/// failed, without a password. `pgca agent --reload sql` runs `SELECT pg_reload_conf()` so.
pub(crate) fn run_bool(
    conninfo: &str,
    timeout: Duration,
    sql: &str,
) -> std::result::Result<bool, String> {
    let env = Env(None);
    let mut secrets = Vec::new();
    let result = (|| {
        let params = Params::resolve(conninfo, &env)?;
        secrets.extend(
            ["password", "sslpassword"]
                .iter()
                .filter_map(|k| params.get(k))
                .map(str::to_string),
        );
        let mut conn = connect(&params, &env, timeout, &mut secrets)?;
        let row = conn
            .client
            .query_one(sql, &[])
            .map_err(|e| query_reason(&e))?;
        row.try_get::<_, bool>(0).map_err(|e| query_reason(&e))
    })();
    result.map_err(|reason| scrub(&reason, &secrets))
}

/// A reason with every secret in it masked, on one line.
fn scrub(reason: &str, secrets: &[String]) -> String {
    let mut out = reason.replace(['\n', '\r'], " ");
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s.as_str(), "***");
    }
    out
}

/// What the connection gave, read in one read-only transaction.
fn read_facts(
    conn: &mut Connected,
    target: &str,
    opts: &LiveOptions,
) -> std::result::Result<Read, String> {
    let host = conn.host.clone();
    let mut tx = conn
        .client
        .build_transaction()
        .read_only(true)
        .start()
        .map_err(|e| query_reason(&e))?;
    tx.batch_execute(&format!(
        "SET LOCAL statement_timeout = {}",
        opts.timeout.as_millis().max(1)
    ))
    .map_err(|e| query_reason(&e))?;
    let row = tx
        .query_one(
            "SELECT current_setting('server_version_num')::int4, session_user::text, \
             host(inet_server_addr())",
            &[],
        )
        .map_err(|e| query_reason(&e))?;
    let version_num = u32::try_from(col::<i32>(&row, 0)?).unwrap_or(0);
    let user: String = col(&row, 1)?;
    let server_addr: Option<String> = col(&row, 2)?;
    let mut unreadable = Vec::new();

    let rows = tx
        .query(
            "SELECT name, setting, source, sourcefile, sourceline FROM pg_settings",
            &[],
        )
        .map_err(|e| query_reason(&e))?;
    let (settings, hidden) = live_rows::settings(
        rows.iter()
            .map(|r| {
                Ok(SettingRow {
                    name: col(r, 0)?,
                    setting: col(r, 1)?,
                    source: col(r, 2)?,
                    sourcefile: col(r, 3)?,
                    sourceline: col(r, 4)?,
                })
            })
            .collect::<std::result::Result<_, String>>()?,
    );
    if hidden {
        unreadable.push(format!(
            "pg_settings does not show role \"{user}\" where settings are set \
             (pg_read_all_settings does): the findings name no file"
        ));
    }
    let file_setting = |name: &str, default: &str| -> PathBuf {
        settings
            .get(name)
            .map(|s| PathBuf::from(&s.value))
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from(default))
    };
    let file_col = if version_num >= 160000 {
        "file_name"
    } else {
        "NULL::text"
    };

    let mut hba_errors = Vec::new();
    let hba_file = file_setting("hba_file", "pg_hba.conf");
    let hba = optional(&mut tx, |tx| {
        tx.query(
            &format!(
                "SELECT line_number, type, database, user_name, address, netmask, auth_method, \
                 options, error, {file_col} FROM pg_hba_file_rules"
            ),
            &[],
        )
    })
    .map_err(|e| query_reason(&e))?;
    let hba = match hba {
        Ok(rows) => {
            let mut rules = Vec::new();
            for r in rows {
                let row = HbaRow {
                    line_number: col(&r, 0)?,
                    conn_type: col(&r, 1)?,
                    database: col(&r, 2)?,
                    user_name: col(&r, 3)?,
                    address: col(&r, 4)?,
                    netmask: col(&r, 5)?,
                    auth_method: col(&r, 6)?,
                    options: col(&r, 7)?,
                    error: col(&r, 8)?,
                    file_name: col(&r, 9)?,
                };
                match live_rows::hba_rule(row, &hba_file, version_num) {
                    Ok(rule) => rules.push(rule),
                    Err(e) => hba_errors.push(e),
                }
            }
            Some(rules)
        }
        Err(why) => {
            unreadable.push(format!(
                "pg_hba_file_rules: {why}: the pg_hba.conf rules were not checked"
            ));
            None
        }
    };

    let ident = if version_num < 150000 {
        unreadable.push(format!(
            "PostgreSQL {} has no pg_ident_file_mappings view: the pg_ident.conf maps were not checked",
            version_num / 10000
        ));
        None
    } else {
        let ident_file = file_setting("ident_file", "pg_ident.conf");
        let rows = optional(&mut tx, |tx| {
            tx.query(
                &format!(
                    "SELECT line_number, map_name, sys_name, pg_username, error, {file_col} \
                     FROM pg_ident_file_mappings"
                ),
                &[],
            )
        })
        .map_err(|e| query_reason(&e))?;
        match rows {
            Ok(rows) => {
                let mut maps = Vec::new();
                for r in rows {
                    let row = IdentRow {
                        line_number: col(&r, 0)?,
                        map_name: col(&r, 1)?,
                        sys_name: col(&r, 2)?,
                        pg_username: col(&r, 3)?,
                        error: col(&r, 4)?,
                        file_name: col(&r, 5)?,
                    };
                    match live_rows::ident_map(row, &ident_file) {
                        Ok(m) => maps.push(m),
                        Err(e) => hba_errors.push(e),
                    }
                }
                Some(maps)
            }
            Err(why) => {
                unreadable.push(format!(
                    "pg_ident_file_mappings: {why}: the pg_ident.conf maps were not checked"
                ));
                None
            }
        }
    };

    let roles = optional(&mut tx, |tx| {
        tx.query(
            "SELECT rolname::text, rolcanlogin, rolsuper, rolreplication, \
             date_part('epoch', rolvaliduntil) FROM pg_roles ORDER BY rolname",
            &[],
        )
    })
    .map_err(|e| query_reason(&e))?;
    let roles = match roles {
        Ok(rows) => Some(
            rows.iter()
                .map(|r| {
                    Ok(live_rows::role(
                        col(r, 0)?,
                        col(r, 1)?,
                        col(r, 2)?,
                        col(r, 3)?,
                        col(r, 4)?,
                    ))
                })
                .collect::<std::result::Result<_, String>>()?,
        ),
        Err(why) => {
            unreadable.push(format!("pg_roles: {why}: the roles were not checked"));
            None
        }
    };
    tx.commit().map_err(|e| query_reason(&e))?;

    // Over a Unix socket inet_server_addr() is NULL; over TCP, the server's end of it.
    let local = match server_addr.as_deref() {
        None => true,
        Some(a) => a.parse::<IpAddr>().is_ok_and(|a| a.is_loopback()),
    };
    let data_dir = settings
        .get("data_directory")
        .map(|s| PathBuf::from(&s.value));
    let mut owner = None;
    if local {
        match &data_dir {
            None => unreadable.push(format!(
                "data_directory is hidden from role \"{user}\" (pg_read_all_settings shows it): \
                 the server's TLS files on this host were not checked"
            )),
            Some(d) => match data_dir_owner(d) {
                Ok(uid) => owner = uid,
                Err(e) => unreadable.push(format!(
                    "the data directory {} is not readable here ({e}): the server's TLS files were not checked",
                    d.display()
                )),
            },
        }
    }
    let probe = opts.probe.clone().or_else(|| match &host.host {
        Host::Tcp(name) => Some(Target {
            host: name.clone(),
            port: host.port,
        }),
        Host::Unix(_) => listening(
            settings.get("listen_addresses").map(|s| s.value.as_str()),
            settings.get("port").and_then(|s| s.value.parse().ok()),
        ),
    });
    let facts = ServerFacts {
        source: Source::Live {
            target: target.to_string(),
            version_num,
            user,
        },
        settings,
        hba,
        hba_errors,
        ident,
        roles,
        unreadable,
    };
    Ok(Read {
        facts,
        owner,
        owner_name: owner.and_then(crate::storage::user_name),
        files_here: owner.is_some(),
        probe,
    })
}

/// Runs `f` under a savepoint: a refusal by the server (permission denied, no such view) is
/// `Ok(Err(message))` and leaves the transaction usable; a broken connection is `Err`.
fn optional<T>(
    tx: &mut Transaction<'_>,
    f: impl FnOnce(&mut Transaction<'_>) -> std::result::Result<T, postgres::Error>,
) -> std::result::Result<std::result::Result<T, String>, postgres::Error> {
    let mut sp = tx.savepoint("pgca_audit")?;
    match f(&mut sp) {
        Ok(v) => {
            sp.commit()?;
            Ok(Ok(v))
        }
        Err(e) => match e.as_db_error() {
            Some(db) => {
                let why = lower_first(db.message());
                sp.rollback()?;
                Ok(Err(why))
            }
            None => Err(e),
        },
    }
}

/// Column `i` of `row`; a type the server did not send as expected is an error, not a panic.
fn col<'a, T: postgres::types::FromSql<'a>>(
    row: &'a postgres::Row,
    i: usize,
) -> std::result::Result<T, String> {
    row.try_get(i)
        .map_err(|e| format!("unexpected column {i} from the server: {}", chain(&e)))
}

fn query_reason(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => lower_first(db.message()),
        None => lower_first(&chain(e)),
    }
}

/// The data directory's owner when it is a data directory on this host (its `PG_VERSION`
/// readable through the trust walk, the owner trusted with its own directories); `None` when
/// there is no such directory here.
fn data_dir_owner(dir: &Path) -> std::result::Result<Option<u32>, String> {
    use std::os::unix::fs::MetadataExt;
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let trust = crate::storage::Trust::with_owner(meta.uid());
    crate::storage::read_public_trusting(&dir.join("PG_VERSION"), "read PG_VERSION", &trust)
        .map_err(|e| e.to_string())?;
    Ok(Some(meta.uid()))
}

/// Where a server reached over its Unix socket listens on TCP: the first of
/// `listen_addresses` (`*` and `0.0.0.0` as 127.0.0.1, `::` as ::1) and `port`.
fn listening(listen_addresses: Option<&str>, port: Option<u16>) -> Option<Target> {
    let first = listen_addresses?
        .split(',')
        .map(str::trim)
        .find(|a| !a.is_empty())?;
    let host = match first {
        "*" | "0.0.0.0" => "127.0.0.1",
        "::" => "::1",
        a => a,
    };
    Some(Target {
        host: host.to_string(),
        port: port.unwrap_or(crate::probe::wire::DEFAULT_PORT),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unix_socket_read_probes_where_the_server_listens() {
        let t = |l: &str| listening(Some(l), Some(5433)).map(|t| t.to_string());
        assert_eq!(t("*").as_deref(), Some("127.0.0.1:5433"));
        assert_eq!(t("0.0.0.0, ::").as_deref(), Some("127.0.0.1:5433"));
        assert_eq!(t("::").as_deref(), Some("[::1]:5433"));
        assert_eq!(t("localhost").as_deref(), Some("localhost:5433"));
        assert_eq!(
            t(" db.example.com ,x").as_deref(),
            Some("db.example.com:5433")
        );
        assert_eq!(t(""), None);
        assert_eq!(listening(None, None), None);
    }

    #[test]
    fn reasons_are_one_line_without_secrets() {
        assert_eq!(
            scrub("bad\npassword hunter2 here", &["hunter2".into()]),
            "bad password *** here"
        );
    }

    #[test]
    fn an_unparsable_target_is_an_audit_connect_error_without_its_password() {
        let opts = LiveOptions {
            env: Some(vec![]),
            ..LiveOptions::default()
        };
        let e = read_live("password=hunter2 bogus=1", &opts).unwrap_err();
        assert!(matches!(e, Error::AuditConnect { .. }));
        assert_eq!(
            e.to_string(),
            "password=*** bogus=1: invalid connection option \"bogus\""
        );
    }
}
