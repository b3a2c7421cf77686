//! `pg_hba.conf` read by PostgreSQL's rules (`src/backend/libpq/hba.c`, `parse_hba_line`): each
//! line a rule `TYPE DATABASE USER [ADDRESS [MASK]] METHOD [OPTION=VALUE ...]`, tokenized as
//! [`super::tokens`] describes (quotes, comma lists, `@file`, continuations, includes).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::source::{Files, bad};
use super::tokens::{AuthLine, Token, read_auth_file};
use crate::error::Result;

/// The connection type, a rule's first field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnType {
    /// `local`: Unix-domain sockets.
    Local,
    /// `host`: TCP, with or without TLS.
    Host,
    /// `hostssl`: TCP with TLS only.
    HostSsl,
    /// `hostnossl`: TCP without TLS only.
    HostNoSsl,
    /// `hostgssenc`: TCP with GSSAPI encryption only.
    HostGssEnc,
    /// `hostnogssenc`: TCP without GSSAPI encryption only.
    HostNoGssEnc,
}

impl ConnType {
    /// The keyword as `pg_hba.conf` spells it.
    pub fn keyword(self) -> &'static str {
        match self {
            ConnType::Local => "local",
            ConnType::Host => "host",
            ConnType::HostSsl => "hostssl",
            ConnType::HostNoSsl => "hostnossl",
            ConnType::HostGssEnc => "hostgssenc",
            ConnType::HostNoGssEnc => "hostnogssenc",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<ConnType> {
        [
            ConnType::Local,
            ConnType::Host,
            ConnType::HostSsl,
            ConnType::HostNoSsl,
            ConnType::HostGssEnc,
            ConnType::HostNoGssEnc,
        ]
        .into_iter()
        .find(|t| t.keyword() == s)
    }
}

/// The authentication method of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// `trust`: no authentication.
    Trust,
    /// `reject`.
    Reject,
    /// `scram-sha-256`.
    ScramSha256,
    /// `md5`.
    Md5,
    /// `password`: the password in the clear.
    Password,
    /// `gss`.
    Gss,
    /// `sspi`.
    Sspi,
    /// `ident` (on a `local` rule PostgreSQL reads it as `peer`, and so does this reader).
    Ident,
    /// `peer`.
    Peer,
    /// `pam`.
    Pam,
    /// `bsd`: BSD Authentication.
    Bsd,
    /// `ldap`.
    Ldap,
    /// `radius`.
    Radius,
    /// `cert`: a client certificate (hostssl only).
    Cert,
    /// `oauth` (PostgreSQL 18).
    Oauth,
}

impl AuthMethod {
    /// The keyword as `pg_hba.conf` spells it.
    pub fn keyword(self) -> &'static str {
        match self {
            AuthMethod::Trust => "trust",
            AuthMethod::Reject => "reject",
            AuthMethod::ScramSha256 => "scram-sha-256",
            AuthMethod::Md5 => "md5",
            AuthMethod::Password => "password",
            AuthMethod::Gss => "gss",
            AuthMethod::Sspi => "sspi",
            AuthMethod::Ident => "ident",
            AuthMethod::Peer => "peer",
            AuthMethod::Pam => "pam",
            AuthMethod::Bsd => "bsd",
            AuthMethod::Ldap => "ldap",
            AuthMethod::Radius => "radius",
            AuthMethod::Cert => "cert",
            AuthMethod::Oauth => "oauth",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<AuthMethod> {
        use AuthMethod::*;
        [
            Trust,
            Reject,
            ScramSha256,
            Md5,
            Password,
            Gss,
            Sspi,
            Ident,
            Peer,
            Pam,
            Bsd,
            Ldap,
            Radius,
            Cert,
            Oauth,
        ]
        .into_iter()
        .find(|m| m.keyword() == s)
    }
}

/// A database or user name of a rule, kept as written (quotes removed) and marked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HbaName {
    /// An unquoted keyword: `all`; for databases also `sameuser`, `samerole`, `samegroup`,
    /// `replication`.
    Keyword(String),
    /// An unquoted `+role`: the members of that role (users only), with its `+`.
    Group(String),
    /// A `/regex` (PostgreSQL 16 and later), with its `/`.
    Regex(String),
    /// A plain or quoted name.
    Name(String),
}

impl HbaName {
    /// The text as written, quotes removed.
    pub fn text(&self) -> &str {
        match self {
            HbaName::Keyword(s) | HbaName::Group(s) | HbaName::Regex(s) | HbaName::Name(s) => s,
        }
    }

    /// Whether this is the unquoted keyword `all`.
    pub fn is_all(&self) -> bool {
        matches!(self, HbaName::Keyword(k) if k == "all")
    }
}

/// The client address a `host*` rule matches.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HbaAddress {
    /// `all`: any address.
    All,
    /// `samehost`: any of the server's own addresses.
    SameHost,
    /// `samenet`: any address in a subnet the server is directly connected to.
    SameNet,
    /// `ADDRESS/PREFIX`.
    Cidr {
        /// The address.
        addr: IpAddr,
        /// The prefix length.
        prefix: u8,
    },
    /// `ADDRESS MASK`, in two fields.
    Mask {
        /// The address.
        addr: IpAddr,
        /// The mask.
        mask: IpAddr,
    },
    /// A host name, or a suffix starting with `.`.
    Hostname(String),
}

/// One rule of `pg_hba.conf`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HbaRule {
    /// The connection type.
    pub conn: ConnType,
    /// The databases it matches.
    pub databases: Vec<HbaName>,
    /// The users it matches.
    pub users: Vec<HbaName>,
    /// The client address: `None` for `local`.
    pub address: Option<HbaAddress>,
    /// The authentication method.
    pub method: AuthMethod,
    /// The `name=value` options, in order.
    pub options: Vec<(String, String)>,
    /// The file it is in.
    pub file: PathBuf,
    /// Its 1-based line (the first, for a continued line).
    pub line: usize,
}

/// Reads the `pg_hba.conf` at `path` and the files it includes or names with `@`, through the
/// trust walk as [`super::conf::read_postgresql_conf`] does (`owner`: the cluster's owner, also
/// trusted with the directories on the way).
pub fn read_pg_hba(path: &Path, owner: Option<u32>) -> Result<Vec<HbaRule>> {
    let mut lines = Vec::new();
    read_auth_file(&mut Files::new(owner), path, None, false, &mut lines)?;
    lines.iter().map(parse_rule).collect()
}

/// The one token of a field that takes no list.
fn single<'a>(l: &AuthLine, field: &'a [Token], what: &str) -> Result<&'a Token> {
    match field {
        [t] => Ok(t),
        _ => Err(bad(
            &l.file,
            l.line,
            format!("multiple values specified for {what}"),
        )),
    }
}

fn names(field: &[Token], keywords: &[&str]) -> Vec<HbaName> {
    field
        .iter()
        .map(|t| {
            if keywords.iter().any(|k| t.is_keyword(k)) {
                HbaName::Keyword(t.text.clone())
            } else if !t.quoted && t.text.starts_with('+') {
                HbaName::Group(t.text.clone())
            } else if t.text.starts_with('/') {
                HbaName::Regex(t.text.clone())
            } else {
                HbaName::Name(t.text.clone())
            }
        })
        .collect()
}

/// One line as `parse_hba_line` reads it.
pub(crate) fn parse_rule(l: &AuthLine) -> Result<HbaRule> {
    let err = |reason: String| bad(&l.file, l.line, reason);
    let mut fields = l.fields.iter();
    let first = fields.next().ok_or_else(|| err("empty rule".into()))?;
    let conn_token = single(l, first, "connection type")?;
    let conn = ConnType::parse(&conn_token.text).ok_or_else(|| {
        err(format!(
            "invalid connection type {}",
            crate::model::text::quoted(&conn_token.text)
        ))
    })?;
    let databases = fields
        .next()
        .ok_or_else(|| err("end-of-line before database specification".into()))?;
    let databases = names(
        databases,
        &["all", "sameuser", "samerole", "samegroup", "replication"],
    )
    .into_iter()
    .map(|n| match n {
        // `+` marks a group only among users.
        HbaName::Group(s) => HbaName::Name(s),
        n => n,
    })
    .collect();
    let users = fields
        .next()
        .ok_or_else(|| err("end-of-line before role specification".into()))?;
    let users = names(users, &["all"]);
    let address = if conn == ConnType::Local {
        None
    } else {
        let field = fields
            .next()
            .ok_or_else(|| err("end-of-line before IP address specification".into()))?;
        let token = single(l, field, "host address")?;
        Some(address(token, &mut fields, &err)?)
    };
    let method = fields
        .next()
        .ok_or_else(|| err("end-of-line before authentication method".into()))?;
    let method_token = single(l, method, "authentication type")?;
    let method = AuthMethod::parse(&method_token.text).ok_or_else(|| {
        err(format!(
            "invalid authentication method {}",
            crate::model::text::quoted(&method_token.text)
        ))
    })?;
    // PostgreSQL's own substitution, for backwards compatibility.
    let method = match (conn, method) {
        (ConnType::Local, AuthMethod::Ident) => AuthMethod::Peer,
        (_, m) => m,
    };
    let refused = match (conn, method) {
        (ConnType::Local, AuthMethod::Gss) => {
            Some("gssapi authentication is not supported on local sockets")
        }
        (c, AuthMethod::Peer) if c != ConnType::Local => {
            Some("peer authentication is only supported on local sockets")
        }
        (c, AuthMethod::Cert) if c != ConnType::HostSsl => {
            Some("cert authentication is only supported on hostssl connections")
        }
        _ => None,
    };
    if let Some(reason) = refused {
        return Err(err(reason.into()));
    }
    let mut options = Vec::new();
    for token in fields.flatten() {
        let Some((k, v)) = token.text.split_once('=') else {
            return Err(err(format!(
                "authentication option not in name=value format: {}",
                crate::model::text::escape(&token.text)
            )));
        };
        options.push((k.to_string(), v.to_string()));
    }
    Ok(HbaRule {
        conn,
        databases,
        users,
        address,
        method,
        options,
        file: l.file.clone(),
        line: l.line,
    })
}

/// The address field (and the mask field after a bare IP address).
fn address<'a>(
    token: &Token,
    fields: &mut impl Iterator<Item = &'a Vec<Token>>,
    err: &dyn Fn(String) -> crate::error::Error,
) -> Result<HbaAddress> {
    for (k, a) in [
        ("all", HbaAddress::All),
        ("samehost", HbaAddress::SameHost),
        ("samenet", HbaAddress::SameNet),
    ] {
        if token.is_keyword(k) {
            return Ok(a);
        }
    }
    let text = &token.text;
    if let Some((addr, prefix)) = text.split_once('/') {
        let Ok(addr) = addr.parse::<IpAddr>() else {
            return Err(err(format!(
                "specifying both host name and CIDR mask is invalid: {}",
                crate::model::text::quoted(text)
            )));
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max && !prefix.starts_with('+'))
            .ok_or_else(|| {
                err(format!(
                    "invalid CIDR mask in address {}",
                    crate::model::text::quoted(text)
                ))
            })?;
        return Ok(HbaAddress::Cidr { addr, prefix });
    }
    let Ok(addr) = text.parse::<IpAddr>() else {
        return Ok(HbaAddress::Hostname(text.clone()));
    };
    let field = fields
        .next()
        .ok_or_else(|| err("end-of-line before netmask specification".into()))?;
    let [mask] = &field[..] else {
        return Err(err("multiple values specified for netmask".into()));
    };
    let mask: IpAddr = mask.text.parse().map_err(|_| {
        err(format!(
            "invalid IP mask {}",
            crate::model::text::quoted(&mask.text)
        ))
    })?;
    if mask.is_ipv4() != addr.is_ipv4() {
        return Err(err("IP address and mask do not match".into()));
    }
    Ok(HbaAddress::Mask { addr, mask })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn rules(text: &str) -> Result<Vec<HbaRule>> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("pg_hba.conf");
        fs::write(&p, text).unwrap();
        read_pg_hba(&p, None)
    }

    fn one(text: &str) -> HbaRule {
        let mut r = rules(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(r.len(), 1, "{text:?}");
        r.remove(0)
    }

    #[test]
    fn rules_parse_like_parse_hba_line() {
        use HbaName::*;
        let r = one("local all all trust\n");
        assert_eq!(
            (
                r.conn,
                &r.databases[..],
                &r.users[..],
                &r.address,
                r.method,
                r.line
            ),
            (
                ConnType::Local,
                &[Keyword("all".into())][..],
                &[Keyword("all".into())][..],
                &None,
                AuthMethod::Trust,
                1
            )
        );
        let r = one(
            "# c\n\nhostssl \"all\",sameuser +admins,/^ci-,bob 10.1.0.0/16 cert clientcert=verify-full map=m\n",
        );
        assert_eq!(r.line, 3);
        assert_eq!(r.conn, ConnType::HostSsl);
        assert_eq!(
            r.databases,
            [Name("all".into()), Keyword("sameuser".into())]
        );
        assert_eq!(
            r.users,
            [
                Group("+admins".into()),
                Regex("/^ci-".into()),
                Name("bob".into())
            ]
        );
        assert_eq!(
            r.address,
            Some(HbaAddress::Cidr {
                addr: "10.1.0.0".parse().unwrap(),
                prefix: 16
            })
        );
        assert_eq!(r.method, AuthMethod::Cert);
        assert_eq!(
            r.options,
            [
                ("clientcert".to_string(), "verify-full".to_string()),
                ("map".to_string(), "m".to_string())
            ]
        );
        let table: &[(&str, HbaAddress, AuthMethod)] = &[
            (
                "host all all ::1/128 scram-sha-256",
                HbaAddress::Cidr {
                    addr: "::1".parse().unwrap(),
                    prefix: 128,
                },
                AuthMethod::ScramSha256,
            ),
            (
                "host all all 127.0.0.1 255.255.255.255 md5",
                HbaAddress::Mask {
                    addr: "127.0.0.1".parse().unwrap(),
                    mask: "255.255.255.255".parse().unwrap(),
                },
                AuthMethod::Md5,
            ),
            (
                "hostnossl all all all reject",
                HbaAddress::All,
                AuthMethod::Reject,
            ),
            (
                "hostgssenc all all samehost gss",
                HbaAddress::SameHost,
                AuthMethod::Gss,
            ),
            (
                "hostnogssenc all all samenet password",
                HbaAddress::SameNet,
                AuthMethod::Password,
            ),
            (
                "host all all .example.com ldap",
                HbaAddress::Hostname(".example.com".into()),
                AuthMethod::Ldap,
            ),
            (
                "host all all \"all\" ident",
                HbaAddress::Hostname("all".into()),
                AuthMethod::Ident,
            ),
            (
                "host all all db.example.com \\\n  radius",
                HbaAddress::Hostname("db.example.com".into()),
                AuthMethod::Radius,
            ),
        ];
        for (line, addr, method) in table {
            let r = one(line);
            assert_eq!(
                (r.address.as_ref(), r.method),
                (Some(addr), *method),
                "{line:?}"
            );
        }
        // `ident` on a local rule is `peer`, as PostgreSQL reads it.
        assert_eq!(one("local all all ident").method, AuthMethod::Peer);
        assert_eq!(one("host all all all ident").method, AuthMethod::Ident);
        let r = one("host all all 0.0.0.0/0 ldap ldapurl=\"ldap://h/dc=x?uid?sub\"");
        assert_eq!(r.options[0].1, "ldap://h/dc=x?uid?sub");
    }

    #[test]
    fn lines_that_do_not_parse_name_their_file_and_line() {
        let table: &[(&str, &str)] = &[
            ("local all all", "end-of-line before authentication method"),
            ("local all", "end-of-line before role specification"),
            ("local", "end-of-line before database specification"),
            (
                "host all all",
                "end-of-line before IP address specification",
            ),
            (
                "hosts all all all trust",
                "invalid connection type \"hosts\"",
            ),
            (
                "local,host all all trust",
                "multiple values specified for connection type",
            ),
            (
                "local all all magic",
                "invalid authentication method \"magic\"",
            ),
            (
                "host all all 10.0.0.0/33 md5",
                "invalid CIDR mask in address \"10.0.0.0/33\"",
            ),
            (
                "host all all db.example.com/8 md5",
                "specifying both host name and CIDR mask is invalid: \"db.example.com/8\"",
            ),
            (
                "local all all gss",
                "gssapi authentication is not supported on local sockets",
            ),
            (
                "host all all all peer",
                "peer authentication is only supported on local sockets",
            ),
            (
                "host all all 10.0.0.1",
                "end-of-line before netmask specification",
            ),
            (
                "host all all 10.0.0.1 ::1 md5",
                "IP address and mask do not match",
            ),
            (
                "host all all a,b md5",
                "multiple values specified for host address",
            ),
            (
                "host all all all cert",
                "cert authentication is only supported on hostssl connections",
            ),
            (
                "local all all trust x",
                "authentication option not in name=value format: x",
            ),
            ("include", "invalid connection type \"include\""),
            ("include a b", "invalid connection type \"include\""),
        ];
        for (text, reason) in table {
            let e = rules(&format!("# first\n{text}\n")).unwrap_err();
            let crate::error::Error::BadConfig {
                path,
                line,
                reason: got,
            } = &e
            else {
                panic!("{text:?}: {e:?}");
            };
            assert!(path.ends_with("pg_hba.conf"), "{path:?}");
            assert_eq!((*line, got.as_str()), (2, *reason), "{text:?}");
        }
    }

    #[test]
    fn includes_read_in_place_with_include_dir_in_name_order() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("hba.d")).unwrap();
        fs::write(d.path().join("hba.d/b.conf"), "host b all all md5\n").unwrap();
        fs::write(d.path().join("hba.d/a.conf"), "host a all all md5\n").unwrap();
        fs::write(d.path().join("hba.d/.z.conf"), "host z all all md5\n").unwrap();
        fs::write(d.path().join("hba.d/c.txt"), "host c all all md5\n").unwrap();
        fs::write(d.path().join("extra"), "local x all peer\n").unwrap();
        let top = d.path().join("pg_hba.conf");
        fs::write(
            &top,
            "local all postgres peer\n\"include\" extra\ninclude_if_exists nope\ninclude_dir hba.d\n\
             local all all reject\n",
        )
        .unwrap();
        let got: Vec<String> = read_pg_hba(&top, None)
            .unwrap()
            .iter()
            .map(|r| format!("{} {}", r.databases[0].text(), r.line))
            .collect();
        assert_eq!(got, ["all 1", "x 1", "a 1", "b 1", "all 5"]);
        fs::write(d.path().join("extra"), "include pg_hba.conf\n").unwrap();
        let e = read_pg_hba(&top, None).unwrap_err().to_string();
        assert!(e.contains("an include cycle"), "{e}");
        fs::write(&top, "include missing\n").unwrap();
        assert!(read_pg_hba(&top, None).is_err());
    }
}
