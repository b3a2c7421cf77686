//! A live server's rows made into the facts the offline readers give: `pg_settings`,
//! `pg_hba_file_rules`, `pg_ident_file_mappings` and `pg_roles`, as PostgreSQL 14 to 18 print
//! them.
//!
//! The views print names without their quotes (every version: `hbafuncs.c` flattens each token
//! to its text), so a quoted `"all"` reads as the keyword `all` and a quoted `"+name"` as a
//! group; `+role` keeps its `+`, a `/regex` (16 and later) its `/`. An address is printed with
//! its mask (`127.0.0.1`, `255.255.255.255`), made a prefix here when the mask is contiguous;
//! `all`, `samehost`, `samenet` and host names are printed as written, with no mask. A `local`
//! rule written with `ident` is printed as `peer`, as the offline reader reads it. Options are
//! printed as the server holds them (a `cert` rule shows `clientcert=verify-full`).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::check_hba::mask_prefix;
use super::facts::{FactSetting, RoleFacts};
use super::finding::Location;
use super::hba::{AuthMethod, ConnType, HbaAddress, HbaName, HbaRule};
use super::ident::{IdentMap, SystemUser};

/// A `pg_settings` row: name, setting, source, sourcefile, sourceline.
pub(crate) struct SettingRow {
    pub(crate) name: String,
    pub(crate) setting: Option<String>,
    pub(crate) source: Option<String>,
    pub(crate) sourcefile: Option<String>,
    pub(crate) sourceline: Option<i32>,
}

/// The settings by lower-case name, and whether the server hid where any of them is set (a
/// role without `pg_read_all_settings` sees no `sourcefile`).
pub(crate) fn settings(rows: Vec<SettingRow>) -> (BTreeMap<String, FactSetting>, bool) {
    let mut hidden = false;
    let map = rows
        .into_iter()
        .map(|r| {
            let location = r.sourcefile.filter(|f| !f.is_empty()).map(|f| Location {
                file: PathBuf::from(f),
                line: r.sourceline.and_then(|l| usize::try_from(l).ok()),
            });
            if location.is_none() && r.source.as_deref() == Some("configuration file") {
                hidden = true;
            }
            (
                r.name.to_ascii_lowercase(),
                FactSetting {
                    value: r.setting.unwrap_or_default(),
                    location,
                },
            )
        })
        .collect();
    (map, hidden)
}

/// A `pg_hba_file_rules` row (`file_name` is PostgreSQL 16's and later's).
#[derive(Clone, Debug, Default)]
pub(crate) struct HbaRow {
    pub(crate) line_number: Option<i32>,
    pub(crate) conn_type: Option<String>,
    pub(crate) database: Option<Vec<String>>,
    pub(crate) user_name: Option<Vec<String>>,
    pub(crate) address: Option<String>,
    pub(crate) netmask: Option<String>,
    pub(crate) auth_method: Option<String>,
    pub(crate) options: Option<Vec<String>>,
    pub(crate) error: Option<String>,
    pub(crate) file_name: Option<String>,
}

/// Where a row is: its `file_name`, else `default_file` (`hba_file`, before 16), and line.
fn location(file_name: Option<&str>, default_file: &Path, line: Option<i32>) -> Location {
    Location {
        file: file_name.map_or_else(|| default_file.to_path_buf(), PathBuf::from),
        line: line.and_then(|l| usize::try_from(l).ok()),
    }
}

/// A row as a rule, or the server's complaint about its line (with where it is).
pub(crate) fn hba_rule(
    row: HbaRow,
    default_file: &Path,
    version_num: u32,
) -> Result<HbaRule, (Option<Location>, String)> {
    let at = location(row.file_name.as_deref(), default_file, row.line_number);
    if let Some(e) = row.error {
        return Err((Some(at), e));
    }
    let bad = |what: String| Err((Some(at.clone()), what));
    let Some(conn) = row.conn_type.as_deref().and_then(ConnType::parse) else {
        return bad(format!(
            "connection type {:?} is not one pgca knows",
            row.conn_type.unwrap_or_default()
        ));
    };
    let Some(method) = row.auth_method.as_deref().and_then(AuthMethod::parse) else {
        return bad(format!(
            "authentication method {:?} is not one pgca knows",
            row.auth_method.unwrap_or_default()
        ));
    };
    let regex = version_num >= 160000;
    let databases = names(
        row.database.unwrap_or_default(),
        &["all", "sameuser", "samerole", "samegroup", "replication"],
        false,
        regex,
    );
    let users = names(row.user_name.unwrap_or_default(), &["all"], true, regex);
    let address = if conn == ConnType::Local {
        None
    } else {
        match address(row.address.as_deref(), row.netmask.as_deref()) {
            Some(a) => Some(a),
            None => {
                return bad(format!(
                    "address {:?} with netmask {:?} does not parse",
                    row.address, row.netmask
                ));
            }
        }
    };
    let options = row
        .options
        .unwrap_or_default()
        .into_iter()
        .map(|o| match o.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (o, String::new()),
        })
        .collect();
    Ok(HbaRule {
        conn,
        databases,
        users,
        address,
        method,
        options,
        file: at.file,
        line: at.line.unwrap_or(0),
    })
}

/// The database or user names of a row, marked as [`super::hba`] marks them.
fn names(v: Vec<String>, keywords: &[&str], groups: bool, regex: bool) -> Vec<HbaName> {
    v.into_iter()
        .map(|s| {
            if keywords.contains(&s.as_str()) {
                HbaName::Keyword(s)
            } else if groups && s.starts_with('+') {
                HbaName::Group(s)
            } else if regex && s.starts_with('/') {
                HbaName::Regex(s)
            } else {
                HbaName::Name(s)
            }
        })
        .collect()
}

/// The address and netmask columns as an [`HbaAddress`].
fn address(address: Option<&str>, netmask: Option<&str>) -> Option<HbaAddress> {
    let address = address?;
    match address {
        "all" => return Some(HbaAddress::All),
        "samehost" => return Some(HbaAddress::SameHost),
        "samenet" => return Some(HbaAddress::SameNet),
        _ => {}
    }
    let Ok(addr) = address.parse::<IpAddr>() else {
        return Some(HbaAddress::Hostname(address.to_string()));
    };
    let mask: IpAddr = netmask?.parse().ok()?;
    Some(match mask_prefix(mask) {
        Some(prefix) => HbaAddress::Cidr { addr, prefix },
        None => HbaAddress::Mask { addr, mask },
    })
}

/// A `pg_ident_file_mappings` row (PostgreSQL 15 and later; `file_name` 16 and later).
#[derive(Clone, Debug, Default)]
pub(crate) struct IdentRow {
    pub(crate) line_number: Option<i32>,
    pub(crate) map_name: Option<String>,
    pub(crate) sys_name: Option<String>,
    pub(crate) pg_username: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) file_name: Option<String>,
}

/// A row as a mapping, or the server's complaint about its line.
pub(crate) fn ident_map(
    row: IdentRow,
    default_file: &Path,
) -> Result<IdentMap, (Option<Location>, String)> {
    let at = location(row.file_name.as_deref(), default_file, row.line_number);
    if let Some(e) = row.error {
        return Err((Some(at), format!("pg_ident.conf: {e}")));
    }
    let sys = row.sys_name.unwrap_or_default();
    let system_user = if sys.starts_with('/') {
        SystemUser::Regex(sys)
    } else {
        SystemUser::Name(sys)
    };
    Ok(IdentMap {
        map: row.map_name.unwrap_or_default(),
        system_user,
        pg_user: row.pg_username.unwrap_or_default(),
        file: at.file,
        line: at.line.unwrap_or(0),
    })
}

/// A `pg_roles` row; `valid_until` is `rolvaliduntil` in seconds since the epoch (`None` for
/// none or `infinity`).
pub(crate) fn role(
    name: String,
    login: bool,
    superuser: bool,
    replication: bool,
    valid_until: Option<f64>,
) -> RoleFacts {
    RoleFacts {
        name,
        login,
        superuser,
        replication,
        valid_until: valid_until
            .filter(|s| s.is_finite())
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s.floor() as i64).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::check_hba::rule_text;

    fn row(
        t: &str,
        db: &[&str],
        user: &[&str],
        addr: Option<&str>,
        mask: Option<&str>,
        m: &str,
    ) -> HbaRow {
        let v = |x: &[&str]| Some(x.iter().map(|s| s.to_string()).collect());
        HbaRow {
            line_number: Some(7),
            conn_type: Some(t.into()),
            database: v(db),
            user_name: v(user),
            address: addr.map(Into::into),
            netmask: mask.map(Into::into),
            auth_method: Some(m.into()),
            options: Some(vec!["clientcert=verify-full".into(), "map=m".into()]),
            ..HbaRow::default()
        }
    }

    #[test]
    fn rows_read_as_the_files_do() {
        let f = Path::new("/data/pg_hba.conf");
        let cases = [
            (
                row("local", &["all"], &["postgres"], None, None, "peer"),
                "local all postgres peer",
            ),
            (
                row(
                    "host",
                    &["sameuser", "db"],
                    &["+admins", "bob"],
                    Some("10.1.0.0"),
                    Some("255.255.0.0"),
                    "scram-sha-256",
                ),
                "host sameuser,db +admins,bob 10.1.0.0/16 scram-sha-256",
            ),
            (
                row(
                    "hostssl",
                    &["replication"],
                    &["all"],
                    Some("::1"),
                    Some("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
                    "cert",
                ),
                "hostssl replication all ::1/128 cert",
            ),
            (
                row(
                    "host",
                    &["all"],
                    &["/^a"],
                    Some("10.0.0.0"),
                    Some("255.0.255.0"),
                    "md5",
                ),
                "host all /^a 10.0.0.0 255.0.255.0 md5",
            ),
            (
                row(
                    "hostnossl",
                    &["all"],
                    &["all"],
                    Some("samenet"),
                    None,
                    "trust",
                ),
                "hostnossl all all samenet trust",
            ),
            (
                row(
                    "host",
                    &["all"],
                    &["all"],
                    Some(".example.com"),
                    None,
                    "md5",
                ),
                "host all all .example.com md5",
            ),
        ];
        for (r, text) in cases {
            let rule = hba_rule(r, f, 180000).unwrap();
            assert_eq!(rule_text(&rule), text);
            assert_eq!(rule.file, f);
            assert_eq!(rule.line, 7);
        }
        let rule = hba_rule(
            row("host", &["/^x"], &["/^a"], Some("all"), None, "md5"),
            f,
            150000,
        )
        .unwrap();
        assert_eq!(
            rule.users,
            vec![HbaName::Name("/^a".into())],
            "no regex before 16"
        );
        assert_eq!(rule.options[1], ("map".to_string(), "m".to_string()));
        let err = HbaRow {
            line_number: Some(3),
            error: Some("invalid connection type \"hots\"".into()),
            file_name: Some("/etc/inc.conf".into()),
            ..HbaRow::default()
        };
        let (at, e) = hba_rule(err, f, 180000).unwrap_err();
        assert_eq!(at.unwrap().file, Path::new("/etc/inc.conf"));
        assert!(e.contains("hots"));
        assert!(hba_rule(row("host", &["all"], &["all"], None, None, "md5"), f, 1).is_err());
        assert!(
            hba_rule(
                row("host", &["all"], &["all"], Some("all"), None, "magic"),
                f,
                1
            )
            .is_err()
        );
    }

    #[test]
    fn ident_rows_settings_and_roles() {
        let f = Path::new("/data/pg_ident.conf");
        let m = ident_map(
            IdentRow {
                line_number: Some(2),
                map_name: Some("certs".into()),
                sys_name: Some("/^(.*)@example$".into()),
                pg_username: Some("\\1".into()),
                ..IdentRow::default()
            },
            f,
        )
        .unwrap();
        assert!(matches!(m.system_user, SystemUser::Regex(_)));
        assert_eq!((m.file.as_path(), m.line), (f, 2));
        let (s, hidden) = settings(vec![
            SettingRow {
                name: "DateStyle".into(),
                setting: Some("ISO, MDY".into()),
                source: Some("configuration file".into()),
                sourcefile: Some("/data/postgresql.conf".into()),
                sourceline: Some(9),
            },
            SettingRow {
                name: "ssl".into(),
                setting: Some("on".into()),
                source: Some("configuration file".into()),
                sourcefile: None,
                sourceline: None,
            },
        ]);
        assert!(hidden);
        assert_eq!(s["datestyle"].location.as_ref().unwrap().line, Some(9));
        assert_eq!(s["ssl"].value, "on");
        let r = role("a".into(), true, false, false, Some(86400.5));
        assert_eq!(r.valid_until.unwrap().unix_timestamp(), 86400);
        assert_eq!(
            role("a".into(), true, false, false, Some(f64::INFINITY)).valid_until,
            None
        );
    }
}
