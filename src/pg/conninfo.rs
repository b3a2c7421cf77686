//! What a user pastes into a client to connect as a role with verify-full: a connection string or
//! a snippet per driver, each with the role's certificate, key and the server CA (absolute
//! paths from [`CaDir::client_paths`]).
//!
//! Every value goes through the quoting of its syntax ([`libpq_value`], [`uri_component`],
//! [`python_str`], [`js_str`], [`npgsql_value`], [`go_str`]), so paths with spaces, quotes, `&`,
//! `=`, `%`, `#` or non-ASCII characters arrive as they are.

use std::path::Path;

use crate::error::{Error, Result};
use crate::export::request::{ExportFormat, ExportRequest};
use crate::model::kind::CertKind;
use crate::model::names::HostName;
use crate::pg::client::{ClientPaths, Connection};
use crate::store::layout::CaDir;

/// A client library, and the syntax [`CaDir::conninfo`] prints for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Driver {
    /// libpq's keyword/value string (`psql "host=… sslmode=verify-full …"`).
    Libpq,
    /// libpq's URI (`postgresql://user@host:port/db?sslmode=verify-full&…`).
    Uri,
    /// pgjdbc's URL; its `sslkey` is the PKCS#8 DER key ([`ClientPaths::key_pk8`]), which
    /// [`CaDir::conninfo`] writes.
    Jdbc,
    /// Python: asyncpg with an `ssl.SSLContext`.
    Asyncpg,
    /// Python: psycopg (3) or psycopg2, libpq's keywords as arguments.
    Psycopg,
    /// Node.js: a node-postgres (`pg`) client configuration.
    Node,
    /// .NET: an Npgsql connection string.
    Npgsql,
    /// Go: a pgx connection string (libpq's keyword/value syntax), as a Go string literal.
    Go,
}

impl Driver {
    /// Every driver, in the order `--help` lists them.
    pub const ALL: [Driver; 8] = [
        Driver::Libpq,
        Driver::Uri,
        Driver::Jdbc,
        Driver::Asyncpg,
        Driver::Psycopg,
        Driver::Node,
        Driver::Npgsql,
        Driver::Go,
    ];

    /// The name on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Driver::Libpq => "libpq",
            Driver::Uri => "uri",
            Driver::Jdbc => "jdbc",
            Driver::Asyncpg => "asyncpg",
            Driver::Psycopg => "psycopg",
            Driver::Node => "node",
            Driver::Npgsql => "npgsql",
            Driver::Go => "go",
        }
    }

    /// The driver of that [`Driver::name`].
    pub fn from_name(name: &str) -> Option<Driver> {
        Driver::ALL.into_iter().find(|d| d.name() == name)
    }
}

impl std::fmt::Display for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl CaDir {
    /// What to paste into `driver`'s client to connect as `conn.role` to `conn.host` with
    /// verify-full and the role's certificate (see [`conninfo_text`]). The database is
    /// `conn.dbname`, else the role's name (every driver's default, written out). Refuses a
    /// revoked role (as [`CaDir::client_paths`] does), a wildcard host, and a path that is not
    /// UTF-8 or holds a control character. `conn.crl` is not used: not every driver has `sslcrl`.
    ///
    /// What is printed works as printed: for [`Driver::Jdbc`], whose `sslkey` is the PKCS#8 DER
    /// key [`ClientPaths::key_pk8`] (`clients/ROLE.pk8`, beside `clients/ROLE.key`), that file is
    /// written first, from the role's current key, exactly as `pgca export ROLE --format pk8
    /// --out` that path writes it ([`CaDir::export`]: the checked current pair, mode 0600 from
    /// the first byte, replaced atomically; an encrypted key stays encrypted; an expired certificate
    /// is refused). A key that changes
    /// later (`renew` without `--reuse-key`, `issue-client --force`) needs it written again: run
    /// `conninfo` again.
    pub fn conninfo(&self, conn: &Connection, driver: Driver) -> Result<String> {
        if let HostName::Dns(d) = &conn.host
            && d.starts_with("*.")
        {
            return Err(Error::InvalidHost {
                name: d.clone(),
                reason: "a wildcard is not a host to connect to",
            });
        }
        let paths = self.client_paths(&conn.role)?;
        let text = conninfo_text(conn, &paths, driver)?;
        if driver == Driver::Jdbc {
            let mut pk8 =
                ExportRequest::new(conn.role.as_str(), ExportFormat::Pk8, paths.key_pk8.clone());
            pk8.kind = Some(CertKind::Client);
            pk8.force = true;
            self.export(&pk8)?;
        }
        Ok(text)
    }
}

/// The text of [`CaDir::conninfo`] for these paths (which must be absolute).
pub fn conninfo_text(conn: &Connection, paths: &ClientPaths, driver: Driver) -> Result<String> {
    let v = Values {
        host: conn.host.to_string(),
        host_ip: matches!(conn.host, HostName::Ip(_)),
        url_host: match &conn.host {
            HostName::Ip(std::net::IpAddr::V6(ip)) => format!("[{ip}]"),
            h => h.to_string(),
        },
        port: conn.port,
        user: conn.role.as_str(),
        dbname: conn.dbname.as_deref().unwrap_or(conn.role.as_str()),
        root_cert: text_path(&paths.root_cert)?,
        cert: text_path(&paths.cert)?,
        key: text_path(&paths.key)?,
    };
    Ok(match driver {
        Driver::Libpq => format!("{}\n", v.keywords()),
        Driver::Uri => format!("{}\n", v.uri()),
        Driver::Jdbc => format!("{}\n", v.jdbc(text_path(&paths.key_pk8)?)),
        Driver::Asyncpg => v.asyncpg(),
        Driver::Psycopg => v.psycopg(),
        Driver::Node => v.node(),
        Driver::Npgsql => format!("{}\n", v.npgsql()),
        Driver::Go => v.go(),
    })
}

/// A path as text: UTF-8 (every syntax here is text) without control characters.
fn text_path(p: &Path) -> Result<&str> {
    let s = p.to_str().ok_or(Error::UnsafePath {
        path: p.to_path_buf(),
        reason: "the path is not UTF-8",
    })?;
    if s.chars().any(char::is_control) {
        return Err(Error::UnsafePath {
            path: p.to_path_buf(),
            reason: "the path holds a control character",
        });
    }
    Ok(s)
}

/// The settings every driver gets, as text.
struct Values<'a> {
    host: String,
    host_ip: bool,
    /// The host in a URL: an IPv6 address in brackets.
    url_host: String,
    port: u16,
    user: &'a str,
    dbname: &'a str,
    root_cert: &'a str,
    cert: &'a str,
    key: &'a str,
}

impl Values<'_> {
    /// libpq's keyword/value pairs (also pgx's).
    fn keywords(&self) -> String {
        let port = self.port.to_string();
        [
            ("host", self.host.as_str()),
            ("port", &port),
            ("user", self.user),
            ("dbname", self.dbname),
            ("sslmode", "verify-full"),
            ("sslrootcert", self.root_cert),
            ("sslcert", self.cert),
            ("sslkey", self.key),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", libpq_value(v)))
        .collect::<Vec<_>>()
        .join(" ")
    }

    /// The query string of a URL: `&`-separated, values percent-encoded.
    fn query(pairs: &[(&str, &str)]) -> String {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", uri_component(v, true)))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn uri(&self) -> String {
        format!(
            "postgresql://{}@{}:{}/{}?{}",
            uri_component(self.user, false),
            self.url_host,
            self.port,
            uri_component(self.dbname, false),
            Values::query(&[
                ("sslmode", "verify-full"),
                ("sslrootcert", self.root_cert),
                ("sslcert", self.cert),
                ("sslkey", self.key),
            ])
        )
    }

    fn jdbc(&self, key_pk8: &str) -> String {
        format!(
            "jdbc:postgresql://{}:{}/{}?{}",
            self.url_host,
            self.port,
            uri_component(self.dbname, false),
            Values::query(&[
                ("user", self.user),
                ("sslmode", "verify-full"),
                ("sslrootcert", self.root_cert),
                ("sslcert", self.cert),
                ("sslkey", key_pk8),
            ])
        )
    }

    fn asyncpg(&self) -> String {
        format!(
            "\
import asyncio
import ssl

import asyncpg

# verify-full: the server's certificate must chain to the server CA and name the host.
ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ssl_context.check_hostname = True
ssl_context.verify_mode = ssl.CERT_REQUIRED
ssl_context.load_verify_locations(cafile={root})
ssl_context.load_cert_chain(certfile={cert}, keyfile={key})


async def connect():
    return await asyncpg.connect(
        host={host}, port={port}, user={user}, database={db}, ssl=ssl_context
    )


async def main():
    conn = await connect()
    try:
        print(await conn.fetchval(\"select current_user\"))
    finally:
        await conn.close()


if __name__ == \"__main__\":
    asyncio.run(main())
",
            root = python_str(self.root_cert),
            cert = python_str(self.cert),
            key = python_str(self.key),
            host = python_str(&self.host),
            port = self.port,
            user = python_str(self.user),
            db = python_str(self.dbname),
        )
    }

    fn psycopg(&self) -> String {
        format!(
            "\
try:
    import psycopg  # psycopg 3
except ImportError:
    import psycopg2 as psycopg  # the keywords are libpq's in both


def connect():
    return psycopg.connect(
        host={host},
        port={port},
        user={user},
        dbname={db},
        sslmode=\"verify-full\",
        sslrootcert={root},
        sslcert={cert},
        sslkey={key},
    )


if __name__ == \"__main__\":
    conn = connect()
    cur = conn.cursor()
    cur.execute(\"select current_user\")
    print(cur.fetchone()[0])
    conn.close()
",
            host = python_str(&self.host),
            port = self.port,
            user = python_str(self.user),
            db = python_str(self.dbname),
            root = python_str(self.root_cert),
            cert = python_str(self.cert),
            key = python_str(self.key),
        )
    }

    fn node(&self) -> String {
        // Node refuses an IP address as the TLS server name (RFC 6066); the identity check then
        // uses `host`, which node-postgres does not pass to TLS itself.
        let identity = if self.host_ip {
            format!("host: {}", js_str(&self.host))
        } else {
            format!("servername: {}", js_str(&self.host))
        };
        format!(
            "\
const fs = require(\"fs\");
const {{ Client }} = require(\"pg\");

// verify-full: the server's certificate must chain to the server CA and name the host.
const config = {{
  host: {host},
  port: {port},
  user: {user},
  database: {db},
  ssl: {{
    ca: fs.readFileSync({root}),
    cert: fs.readFileSync({cert}),
    key: fs.readFileSync({key}),
    rejectUnauthorized: true,
    {identity},
  }},
}};

module.exports = config;

if (require.main === module) {{
  const client = new Client(config);
  client
    .connect()
    .then(() => client.query(\"select current_user\"))
    .then((res) => console.log(res.rows[0].current_user))
    .finally(() => client.end());
}}
",
            host = js_str(&self.host),
            port = self.port,
            user = js_str(self.user),
            db = js_str(self.dbname),
            root = js_str(self.root_cert),
            cert = js_str(self.cert),
            key = js_str(self.key),
        )
    }

    fn npgsql(&self) -> String {
        let port = self.port.to_string();
        [
            ("Host", self.host.as_str()),
            ("Port", &port),
            ("Username", self.user),
            ("Database", self.dbname),
            ("SSL Mode", "VerifyFull"),
            ("Root Certificate", self.root_cert),
            ("SSL Certificate", self.cert),
            ("SSL Key", self.key),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", npgsql_value(v)))
        .collect::<Vec<_>>()
        .join(";")
    }

    fn go(&self) -> String {
        format!(
            "// pgx (github.com/jackc/pgx/v5): conn, err := pgx.Connect(ctx, connString)\n\
             connString := {}\n",
            go_str(&self.keywords())
        )
    }
}

/// A value in libpq's keyword/value syntax: as it is when it is plain, else in single quotes
/// with `\` and `'` escaped by a backslash (an empty value is `''`).
pub fn libpq_value(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/:@+,".contains(c));
    if plain {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('\'');
    for c in v.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// RFC 3986 percent-encoding of a URL component: every byte of the UTF-8 but the unreserved
/// characters (letters, digits, `-._~`) as `%XX`, and with `keep_slash` (a query value) `/`
/// as it is. `+` is encoded: Java's and Go's query decoders read it as a space.
pub fn uri_component(v: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `\u{..}` escapes in the syntax of `\x`/`\u` languages for a character that is not to be
/// written as it is: control characters and Unicode's line and paragraph separators.
fn escape_unprintable(c: char, out: &mut String) -> bool {
    if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
        let n = c as u32;
        out.push_str(&if n <= 0xff {
            format!("\\x{n:02x}")
        } else {
            format!("\\u{n:04x}")
        });
        return true;
    }
    false
}

/// A Python string literal (single quotes; `\`, `'` and unprintable characters escaped), as
/// `repr` would write it.
pub fn python_str(v: &str) -> String {
    quoted(v, '\'')
}

/// A JavaScript string literal (double quotes; `\`, `"`, control characters and U+2028/U+2029
/// escaped).
pub fn js_str(v: &str) -> String {
    quoted(v, '"')
}

/// A Go interpreted string literal (double quotes; `\`, `"` and control characters escaped).
pub fn go_str(v: &str) -> String {
    quoted(v, '"')
}

/// `v` between `q`s, `\` and `q` escaped with a backslash, unprintable characters as `\x..`
/// or `\u....` (the same in Python, JavaScript and Go).
fn quoted(v: &str, q: char) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push(q);
    for c in v.chars() {
        if c == q || c == '\\' {
            out.push('\\');
            out.push(c);
        } else if !escape_unprintable(c, &mut out) {
            out.push(c);
        }
    }
    out.push(q);
    out
}

/// A value of an ADO.NET connection string (Npgsql): as it is when it is plain, else in double
/// quotes with `"` doubled.
pub fn npgsql_value(v: &str) -> String {
    let plain = !v.is_empty()
        && !v
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || ";='\"".contains(c));
    if plain {
        return v.to_string();
    }
    format!("\"{}\"", v.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paths that break naive quoting, one per trap.
    const HOSTILE: &[&str] = &[
        "/ca dir/server-ca.crt",
        "/it's/server-ca.crt",
        "/a\"b/server-ca.crt",
        "/back\\slash/server-ca.crt",
        "/a&b=c/server-ca.crt",
        "/100%/server-ca.crt",
        "/x#y?z/server-ca.crt",
        "/a+b;c/server-ca.crt",
        "/ünï cødé/日本/server-ca.crt",
        "",
    ];

    /// libpq's unquoting of one keyword/value value (conninfo_parse).
    fn libpq_unquote(s: &str) -> String {
        let mut out = String::new();
        let mut it = s.chars();
        if s.starts_with('\'') {
            it.next();
            while let Some(c) = it.next() {
                match c {
                    '\\' => out.push(it.next().unwrap()),
                    '\'' => {
                        assert!(it.next().is_none(), "text after the closing quote: {s}");
                        return out;
                    }
                    c => out.push(c),
                }
            }
            panic!("unterminated: {s}");
        }
        for c in it {
            assert!(!c.is_whitespace() && c != '\'' && c != '\\', "{s}");
            out.push(c);
        }
        out
    }

    fn percent_decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                assert!(
                    b[i].is_ascii_alphanumeric() || b"-._~/".contains(&b[i]),
                    "{s}"
                );
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// The reading of a `\`-escaped literal between `q`s (Python, JavaScript, Go).
    fn unquote_backslash(s: &str, q: char) -> String {
        let inner = s.strip_prefix(q).and_then(|s| s.strip_suffix(q)).unwrap();
        let mut out = String::new();
        let mut it = inner.chars();
        while let Some(c) = it.next() {
            assert!(c != q && !c.is_control(), "{s}");
            if c != '\\' {
                out.push(c);
                continue;
            }
            match it.next().unwrap() {
                'x' => {
                    let h: String = it.by_ref().take(2).collect();
                    out.push(char::from_u32(u32::from_str_radix(&h, 16).unwrap()).unwrap());
                }
                'u' => {
                    let h: String = it.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&h, 16).unwrap()).unwrap());
                }
                c => out.push(c),
            }
        }
        out
    }

    fn npgsql_unquote(s: &str) -> String {
        match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            Some(inner) => {
                assert!(!inner.replace("\"\"", "").contains('"'), "{s}");
                inner.replace("\"\"", "\"")
            }
            None => {
                assert!(!s.contains([';', '=', '"', '\'', ' ']), "{s}");
                s.to_string()
            }
        }
    }

    #[test]
    fn every_quoter_gives_back_every_hostile_value() {
        let mut values: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
        values.push("tab\there\nline\u{1b}[31m\u{2028}".into());
        for v in &values {
            assert_eq!(&libpq_unquote(&libpq_value(v)), v, "libpq {v:?}");
            assert_eq!(&percent_decode(&uri_component(v, true)), v, "uri {v:?}");
            assert!(!uri_component(v, false).contains('/'), "{v:?}");
            assert!(!uri_component(v, true).contains(['&', '=', '#', '?', '+', ' ']));
            assert_eq!(&unquote_backslash(&python_str(v), '\''), v, "py {v:?}");
            assert_eq!(&unquote_backslash(&js_str(v), '"'), v, "js {v:?}");
            assert_eq!(&unquote_backslash(&go_str(v), '"'), v, "go {v:?}");
            assert_eq!(&npgsql_unquote(&npgsql_value(v)), v, "npgsql {v:?}");
        }
    }

    #[test]
    fn plain_values_stay_readable() {
        assert_eq!(
            libpq_value("/var/lib/pgca/server-ca.crt"),
            "/var/lib/pgca/server-ca.crt"
        );
        assert_eq!(libpq_value("it's"), r"'it\'s'");
        assert_eq!(libpq_value(""), "''");
        assert_eq!(uri_component("a b/c", true), "a%20b/c");
        assert_eq!(uri_component("app user@eu", false), "app%20user%40eu");
        assert_eq!(python_str("it's"), r"'it\'s'");
        assert_eq!(npgsql_value("/tmp/x"), "/tmp/x");
        assert_eq!(npgsql_value("a \"b\";c"), "\"a \"\"b\"\";c\"");
    }

    fn paths(dir: &str) -> ClientPaths {
        ClientPaths {
            root_cert: format!("{dir}/server-ca.crt").into(),
            cert: format!("{dir}/clients/app user.crt").into(),
            key: format!("{dir}/clients/app user.key").into(),
            key_pk8: format!("{dir}/clients/app user.pk8").into(),
        }
    }

    fn conn(host: &str) -> Connection {
        let mut c = Connection::new("app user".parse().unwrap(), host.parse().unwrap());
        c.port = 6432;
        c
    }

    #[test]
    fn uri_and_jdbc_bracket_ipv6_and_encode_every_part() {
        let p = paths("/srv/ca & co=1");
        let uri = conninfo_text(&conn("::1"), &p, Driver::Uri).unwrap();
        assert_eq!(
            uri,
            "postgresql://app%20user@[::1]:6432/app%20user?sslmode=verify-full\
             &sslrootcert=/srv/ca%20%26%20co%3D1/server-ca.crt\
             &sslcert=/srv/ca%20%26%20co%3D1/clients/app%20user.crt\
             &sslkey=/srv/ca%20%26%20co%3D1/clients/app%20user.key\n"
        );
        let jdbc = conninfo_text(&conn("db.example.com"), &p, Driver::Jdbc).unwrap();
        assert!(
            jdbc.starts_with(
                "jdbc:postgresql://db.example.com:6432/app%20user?user=app%20user&sslmode=verify-full&"
            ),
            "{jdbc}"
        );
        assert!(jdbc.ends_with("&sslkey=/srv/ca%20%26%20co%3D1/clients/app%20user.pk8\n"));
    }

    #[test]
    fn every_driver_names_every_setting() {
        let p = paths("/srv/it's");
        for d in Driver::ALL {
            assert_eq!(Driver::from_name(d.name()), Some(d));
            let t = conninfo_text(&conn("db.example.com"), &p, d).unwrap();
            assert!(t.contains("db.example.com"), "{d}: {t}");
            assert!(t.contains("6432"), "{d}: {t}");
            assert!(t.ends_with('\n'), "{d}: {t}");
            let verify = [
                "verify-full",
                "VerifyFull",
                "CERT_REQUIRED",
                "rejectUnauthorized: true",
            ];
            assert!(verify.iter().any(|v| t.contains(v)), "{d}: {t}");
        }
        let npgsql = conninfo_text(&conn("db"), &p, Driver::Npgsql).unwrap();
        assert!(npgsql.starts_with("Host=db;Port=6432;Username=\"app user\";Database=\"app user\";SSL Mode=VerifyFull;Root Certificate=\"/srv/it's/server-ca.crt\";"), "{npgsql}");
        let go = conninfo_text(&conn("db"), &p, Driver::Go).unwrap();
        assert!(
            go.contains(r#"sslrootcert='/srv/it\\'s/server-ca.crt'"#),
            "{go}"
        );
        let node = conninfo_text(&conn("10.0.0.1"), &p, Driver::Node).unwrap();
        assert!(
            node.contains("host: \"10.0.0.1\",\n    }") || node.contains("    host: \"10.0.0.1\"")
        );
        assert!(!node.contains("servername"), "{node}");
    }

    #[test]
    fn a_path_with_a_control_character_is_refused() {
        let p = paths("/srv/a\nb");
        let e = conninfo_text(&conn("db"), &p, Driver::Libpq).unwrap_err();
        assert!(matches!(e, Error::UnsafePath { .. }), "{e}");
    }
}
