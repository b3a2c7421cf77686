//! The `pg_hba.conf` and `pg_ident.conf` checks.
//!
//! A certificate is a credential: a `cert` line, or any line with `clientcert=verify-ca` or
//! `verify-full`, is fine for every role from every address (`hostssl all all 0.0.0.0/0 cert`
//! is what `pgca server-config` prints). Wide ranges, `all all` and superusers are findings
//! with the methods that are not: password-type methods, `trust` and `ident`.

use std::net::IpAddr;

use super::facts::ServerFacts;
use super::finding::{AuditFinding, Check, Location};
use super::hba::{AuthMethod, ConnType, HbaAddress, HbaName, HbaRule};
use super::ident::IdentMap;

/// How wide a password-type line's address range may be: the shortest prefix allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Widest {
    /// For IPv4 (16 by default: a /16 or narrower).
    pub ipv4: u8,
    /// For IPv6 (48 by default).
    pub ipv6: u8,
}

impl Default for Widest {
    fn default() -> Widest {
        Widest { ipv4: 16, ipv6: 48 }
    }
}

/// A rule as the findings name it: type, databases, users, address and method.
pub fn rule_text(r: &HbaRule) -> String {
    let names = |v: &[HbaName]| {
        v.iter()
            .map(|n| match n {
                HbaName::Name(s) if s == "all" || s.contains([',', ' ']) => format!("\"{s}\""),
                n => n.text().to_string(),
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut parts = vec![
        r.conn.keyword().to_string(),
        names(&r.databases),
        names(&r.users),
    ];
    if let Some(a) = &r.address {
        parts.push(address_text(a));
    }
    parts.push(r.method.keyword().to_string());
    parts.join(" ")
}

fn address_text(a: &HbaAddress) -> String {
    match a {
        HbaAddress::All => "all".into(),
        HbaAddress::SameHost => "samehost".into(),
        HbaAddress::SameNet => "samenet".into(),
        HbaAddress::Cidr { addr, prefix } => format!("{addr}/{prefix}"),
        HbaAddress::Mask { addr, mask } => match mask_prefix(*mask) {
            Some(p) => format!("{addr}/{p}"),
            None => format!("{addr} {mask}"),
        },
        HbaAddress::Hostname(h) => h.clone(),
    }
}

/// A contiguous netmask's prefix length.
pub fn mask_prefix(mask: IpAddr) -> Option<u8> {
    let (bits, width) = match mask {
        IpAddr::V4(m) => (u128::from(u32::from(m)) << 96, 32),
        IpAddr::V6(m) => (u128::from(m), 128),
    };
    let ones = bits.leading_ones();
    (bits.checked_shl(ones).unwrap_or(0) == 0 && ones <= width).then_some(ones as u8)
}

/// Every hba and ident finding of `facts`.
pub fn check_hba(
    facts: &ServerFacts,
    widest: Widest,
    data_owner: Option<&str>,
) -> Vec<AuditFinding> {
    let mut out = Vec::new();
    for (at, e) in &facts.hba_errors {
        out.push(AuditFinding::new(Check::HbaError, "pg_hba.conf", e.clone()).at(at.clone()));
    }
    let Some(rules) = &facts.hba else {
        out.push(AuditFinding::unknown(
            Check::Unreadable,
            "pg_hba.conf",
            "the pg_hba.conf rules could not be read",
        ));
        return out;
    };
    let superusers = facts.superusers(data_owner);
    for (i, r) in rules.iter().enumerate() {
        let text = rule_text(r);
        let at = Some(Location {
            file: r.file.clone(),
            line: Some(r.line),
        });
        let mut push = |check: Check, message: String| {
            out.push(AuditFinding::new(check, text.clone(), message).at(at.clone()))
        };
        methods(r, &mut push);
        if credential_is_weak(r) && r.conn != ConnType::Local {
            reach(r, widest, &superusers, &mut push);
        }
        if let Some(j) = rules[..i].iter().position(|e| shadows(e, r)) {
            let e = &rules[j];
            push(
                Check::HbaShadowed,
                format!(
                    "never used: line {} of {} ({}) matches every connection it would",
                    e.line,
                    e.file.display(),
                    rule_text(e)
                ),
            );
        }
        maps(r, facts.ident.as_deref(), &mut push);
    }
    if let (Some(maps), Some(roles)) = (&facts.ident, &facts.roles) {
        for m in maps {
            let user = m.pg_user.trim_matches('"');
            let plain = !user.contains("\\1") && !user.starts_with(['+', '/']) && user != "all";
            if plain && !roles.iter().any(|r| r.name == user) {
                out.push(
                    AuditFinding::new(
                        Check::IdentUnknownRole,
                        format!("{} {} {}", m.map, m.system_user.text(), m.pg_user),
                        format!(
                            "map {:?} names the role {user:?}, which does not exist",
                            m.map
                        ),
                    )
                    .at(Some(Location {
                        file: m.file.clone(),
                        line: Some(m.line),
                    })),
                );
            }
        }
    }
    out
}

fn option<'a>(r: &'a HbaRule, name: &str) -> Option<&'a str> {
    r.options
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Whether a login by this rule needs a client certificate.
pub fn needs_certificate(r: &HbaRule) -> bool {
    r.method == AuthMethod::Cert
        || option(r, "clientcert").is_some_and(|v| matches!(v, "verify-ca" | "verify-full" | "1"))
}

/// Whether the rule lets a login in on less than a certificate: a password-type method, `trust`
/// or `ident`, without `clientcert`.
pub fn credential_is_weak(r: &HbaRule) -> bool {
    use AuthMethod::*;
    matches!(
        r.method,
        Trust | Password | Md5 | ScramSha256 | Ident | Pam | Bsd | Ldap | Radius
    ) && !needs_certificate(r)
}

fn methods(r: &HbaRule, push: &mut impl FnMut(Check, String)) {
    let tcp = r.conn != ConnType::Local;
    let without_tls = matches!(
        r.conn,
        ConnType::Host | ConnType::HostNoSsl | ConnType::HostGssEnc | ConnType::HostNoGssEnc
    );
    match r.method {
        AuthMethod::Trust if tcp => push(
            Check::HbaTrustNetwork,
            "trust: any client that reaches the address logs in as these roles".into(),
        ),
        AuthMethod::Trust => push(
            Check::HbaTrustLocal,
            "trust: any local user logs in as these roles".into(),
        ),
        AuthMethod::Password if without_tls && r.conn != ConnType::HostGssEnc => push(
            Check::HbaPasswordNoTls,
            "password: the password crosses the network in the clear".into(),
        ),
        AuthMethod::Password => push(
            Check::HbaPassword,
            "password: the server receives the password itself".into(),
        ),
        AuthMethod::Md5 => push(Check::HbaMd5, "md5 password authentication".into()),
        AuthMethod::Ident if tcp => push(
            Check::HbaIdentNetwork,
            "ident over TCP: the client host's identd says who logs in".into(),
        ),
        _ => {}
    }
    let lets_in = r.method != AuthMethod::Reject;
    if lets_in && matches!(r.conn, ConnType::Host | ConnType::HostNoSsl) {
        push(
            Check::HbaNoTls,
            format!("{}: logins without TLS match this line", r.conn.keyword()),
        );
    }
}

fn reach(r: &HbaRule, widest: Widest, superusers: &[String], push: &mut impl FnMut(Check, String)) {
    if let Some(a) = &r.address
        && let Some(why) = too_wide(a, widest)
    {
        push(
            Check::HbaWideRange,
            format!("{}: {why}", r.method.keyword()),
        );
    }
    let all_db = r.databases.iter().any(HbaName::is_all);
    let all_users = r.users.iter().any(HbaName::is_all);
    if all_db && all_users {
        push(
            Check::HbaAllAll,
            format!("{} for all roles and all databases", r.method.keyword()),
        );
    }
    let supers: Vec<&str> = if all_users {
        superusers.iter().map(String::as_str).collect()
    } else {
        superusers
            .iter()
            .filter(|s| {
                r.users
                    .iter()
                    .any(|u| matches!(u, HbaName::Name(n) if n == *s))
            })
            .map(String::as_str)
            .collect()
    };
    if !supers.is_empty() {
        let through = if all_users { " (through all)" } else { "" };
        push(
            Check::HbaSuperuserNetwork,
            format!(
                "the superuser {} may log in from the network by {}{through}",
                supers.join(", "),
                r.method.keyword()
            ),
        );
    }
}

fn too_wide(a: &HbaAddress, widest: Widest) -> Option<String> {
    let (addr, prefix) = match a {
        HbaAddress::All => return Some("the address is all".into()),
        HbaAddress::Cidr { addr, prefix } => (*addr, *prefix),
        HbaAddress::Mask { addr, mask } => (*addr, mask_prefix(*mask)?),
        _ => return None,
    };
    let limit = if addr.is_ipv4() {
        widest.ipv4
    } else {
        widest.ipv6
    };
    (prefix < limit).then(|| {
        if prefix == 0 {
            format!("{addr}/0 matches every address")
        } else {
            format!("{addr}/{prefix} is wider than /{limit}")
        }
    })
}

fn maps(r: &HbaRule, ident: Option<&[IdentMap]>, push: &mut impl FnMut(Check, String)) {
    let map = option(r, "map");
    if r.method == AuthMethod::Cert
        && option(r, "clientname").is_some_and(|v| v.eq_ignore_ascii_case("DN"))
        && map.is_none()
    {
        push(
            Check::HbaCertDnNoMap,
            "clientname=DN without map=: the whole DN would have to equal the role".into(),
        );
    }
    if let (Some(map), Some(ident)) = (map, ident)
        && !ident.iter().any(|m| m.map == map)
    {
        push(
            Check::HbaMapUndefined,
            format!("map={map} is not defined in pg_ident.conf"),
        );
    }
}

/// Whether `earlier` matches every connection `later` would, so that `later` is never used.
pub fn shadows(earlier: &HbaRule, later: &HbaRule) -> bool {
    conn_covers(earlier.conn, later.conn)
        && databases_cover(&earlier.databases, &later.databases)
        && users_cover(&earlier.users, &later.users)
        && address_covers(earlier.address.as_ref(), later.address.as_ref())
}

fn conn_covers(e: ConnType, l: ConnType) -> bool {
    e == l || (e == ConnType::Host && l != ConnType::Local)
}

fn plain_names(v: &[HbaName]) -> Option<Vec<&str>> {
    v.iter()
        .map(|n| match n {
            HbaName::Name(s) => Some(s.as_str()),
            _ => None,
        })
        .collect()
}

fn databases_cover(e: &[HbaName], l: &[HbaName]) -> bool {
    // `all` matches every database but not replication connections.
    let l_replication = l
        .iter()
        .any(|n| matches!(n, HbaName::Keyword(k) if k == "replication"));
    if e.iter().any(HbaName::is_all) {
        return !l_replication;
    }
    if l_replication {
        return e
            .iter()
            .any(|n| matches!(n, HbaName::Keyword(k) if k == "replication"))
            && l.len() == 1;
    }
    names_cover(e, l)
}

fn users_cover(e: &[HbaName], l: &[HbaName]) -> bool {
    e.iter().any(HbaName::is_all) || names_cover(e, l)
}

fn names_cover(e: &[HbaName], l: &[HbaName]) -> bool {
    match (plain_names(e), plain_names(l)) {
        (Some(e), Some(l)) => l.iter().all(|n| e.contains(n)),
        _ => false,
    }
}

fn address_covers(e: Option<&HbaAddress>, l: Option<&HbaAddress>) -> bool {
    let (Some(e), Some(l)) = (e, l) else {
        return e.is_none() && l.is_none();
    };
    if e == l || *e == HbaAddress::All {
        return true;
    }
    let net = |a: &HbaAddress| match a {
        HbaAddress::Cidr { addr, prefix } => Some((*addr, *prefix)),
        HbaAddress::Mask { addr, mask } => Some((*addr, mask_prefix(*mask)?)),
        _ => None,
    };
    match (net(e), net(l)) {
        (Some((ea, ep)), Some((la, lp))) => {
            ep <= lp && ea.is_ipv4() == la.is_ipv4() && masked(ea, ep) == masked(la, ep)
        }
        _ => false,
    }
}

fn masked(a: IpAddr, prefix: u8) -> u128 {
    let (bits, width) = match a {
        IpAddr::V4(v) => (u128::from(u32::from(v)), 32u32),
        IpAddr::V6(v) => (u128::from(v), 128),
    };
    let keep = u32::from(prefix).min(width);
    if keep == 0 { 0 } else { bits >> (width - keep) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn rule(text: &str) -> HbaRule {
        let f: Vec<&str> = text.split_whitespace().collect();
        let names = |s: &str| {
            s.split(',')
                .map(|n| match n {
                    "all" | "replication" | "sameuser" => HbaName::Keyword(n.into()),
                    n => HbaName::Name(n.into()),
                })
                .collect()
        };
        let conn = [
            ConnType::Local,
            ConnType::Host,
            ConnType::HostSsl,
            ConnType::HostNoSsl,
        ]
        .into_iter()
        .find(|c| c.keyword() == f[0])
        .unwrap();
        let (address, rest) = if conn == ConnType::Local {
            (None, &f[3..])
        } else {
            let a = match f[3] {
                "all" => HbaAddress::All,
                c => {
                    let (a, p) = c.split_once('/').unwrap();
                    HbaAddress::Cidr {
                        addr: a.parse().unwrap(),
                        prefix: p.parse().unwrap(),
                    }
                }
            };
            (Some(a), &f[4..])
        };
        let method = [
            AuthMethod::Trust,
            AuthMethod::Md5,
            AuthMethod::Cert,
            AuthMethod::ScramSha256,
            AuthMethod::Password,
            AuthMethod::Reject,
            AuthMethod::Peer,
            AuthMethod::Ident,
        ]
        .into_iter()
        .find(|m| m.keyword() == rest[0])
        .unwrap();
        HbaRule {
            conn,
            databases: names(f[1]),
            users: names(f[2]),
            address,
            method,
            options: rest[1..]
                .iter()
                .map(|o| {
                    let (n, v) = o.split_once('=').unwrap();
                    (n.into(), v.into())
                })
                .collect(),
            file: PathBuf::from("pg_hba.conf"),
            line: 1,
        }
    }

    fn facts(rules: &[&str]) -> ServerFacts {
        ServerFacts {
            source: super::super::facts::Source::Offline {
                conf: "postgresql.conf".into(),
                data_dir: None,
            },
            settings: Default::default(),
            hba: Some(rules.iter().map(|r| rule(r)).collect()),
            hba_errors: vec![],
            ident: Some(vec![]),
            roles: None,
            unreadable: vec![],
        }
    }

    /// Each rule's findings, the rule alone in its file.
    fn ids(rules: &[&str]) -> Vec<Vec<&'static str>> {
        rules
            .iter()
            .map(|r| {
                let mut v: Vec<_> = check_hba(&facts(&[r]), Widest::default(), None)
                    .iter()
                    .map(|f| f.check.id())
                    .collect();
                v.sort();
                v
            })
            .collect()
    }

    #[test]
    fn each_rule_gets_its_findings() {
        let table: &[(&str, &[&str])] = &[
            ("hostssl all all 0.0.0.0/0 cert", &[]),
            ("hostssl all all ::/0 cert", &[]),
            ("local all postgres peer", &[]),
            ("local all all trust", &["hba-trust-local"]),
            (
                "host all all 0.0.0.0/0 md5",
                &[
                    "hba-all-all",
                    "hba-host-not-hostssl",
                    "hba-md5",
                    "hba-superuser-network",
                    "hba-wide-range",
                ],
            ),
            (
                "host app alice 10.0.0.0/8 password",
                &[
                    "hba-host-not-hostssl",
                    "hba-password-no-tls",
                    "hba-wide-range",
                ],
            ),
            ("hostssl app alice 10.1.2.0/24 scram-sha-256", &[]),
            (
                "hostssl app postgres 10.1.2.0/24 scram-sha-256",
                &["hba-superuser-network"],
            ),
            (
                "hostssl app postgres 10.1.2.0/24 scram-sha-256 clientcert=verify-full",
                &[],
            ),
            ("hostnossl all all 0.0.0.0/0 reject", &[]),
            (
                "host all bob 192.168.1.5/32 ident",
                &["hba-host-not-hostssl", "hba-ident-network"],
            ),
        ];
        let rules: Vec<&str> = table.iter().map(|(r, _)| *r).collect();
        let got = ids(&rules);
        let bad: Vec<String> = table
            .iter()
            .zip(&got)
            .filter(|((_, want), got)| *want != got.as_slice())
            .map(|((r, want), got)| format!("{r}: want {want:?}, got {got:?}"))
            .collect();
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    #[test]
    fn shadowing_follows_first_match() {
        let s = |a: &str, b: &str| shadows(&rule(a), &rule(b));
        assert!(s(
            "host all all 10.0.0.0/8 md5",
            "hostssl db u 10.2.0.0/16 cert"
        ));
        assert!(!s(
            "hostssl all all 10.0.0.0/8 md5",
            "host db u 10.2.0.0/16 cert"
        ));
        assert!(!s(
            "host all all 10.0.0.0/16 md5",
            "host db u 10.0.0.0/8 cert"
        ));
        assert!(!s("host all all 0.0.0.0/0 md5", "host db u ::1/128 cert"));
        assert!(!s(
            "host all all 0.0.0.0/0 md5",
            "host replication u 10.0.0.1/32 md5"
        ));
        assert!(s("host a,b u,v 10.0.0.0/8 md5", "host b v 10.0.0.1/32 md5"));
        assert!(!s("host a u 10.0.0.0/8 md5", "host a,b u 10.0.0.1/32 md5"));
        assert!(s("local all all peer", "local db u trust"));
    }

    #[test]
    fn a_shadowed_rule_names_the_line_before_it() {
        let mut f = facts(&["host all all 0.0.0.0/0 md5", "host db bob 10.0.0.1/32 md5"]);
        f.hba.as_mut().unwrap()[1].line = 2;
        let found = check_hba(&f, Widest::default(), None);
        let shadowed: Vec<_> = found
            .iter()
            .filter(|f| f.check == Check::HbaShadowed)
            .collect();
        assert_eq!(shadowed.len(), 1, "{found:?}");
        assert_eq!(shadowed[0].location.as_ref().unwrap().line, Some(2));
        assert!(
            shadowed[0].message.contains("line 1"),
            "{}",
            shadowed[0].message
        );
    }

    #[test]
    fn netmasks() {
        assert_eq!(mask_prefix("255.255.0.0".parse().unwrap()), Some(16));
        assert_eq!(mask_prefix("0.0.0.0".parse().unwrap()), Some(0));
        assert_eq!(mask_prefix("255.0.255.0".parse().unwrap()), None);
        assert_eq!(mask_prefix("ffff:ffff::".parse().unwrap()), Some(32));
    }
}
