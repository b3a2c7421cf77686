//! The names certificates are issued for: PostgreSQL roles (client CN) and server host names.
//!
//! Both end up in file names under the CA directory, so the rules are those of PostgreSQL or DNS
//! plus what a file name needs (no `/`, not `.` or `..`).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::model::text;

/// PostgreSQL's NAMEDATALEN is 64: identifiers hold at most 63 bytes.
pub const MAX_ROLE_BYTES: usize = 63;

/// A PostgreSQL role name: the CN of a client certificate, compared by the server with the role.
///
/// Every name PostgreSQL accepts is accepted (1–63 bytes of UTF-8, capitals, digits, `_`, `.`,
/// `-`, `@`, spaces, any script) except what cannot be a file name, what would hide in output
/// or what libpq and shells mishandle. Always refused: control characters, the bidirectional
/// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069: they reorder how the rest of
/// a line is shown), the line and paragraph separators (U+2028, U+2029), a leading or trailing
/// space (libpq's `pg_service.conf` reader drops a trailing one, and neither shows), `/`, and the
/// names `.` and `..`.
///
/// Refused by [`FromStr`], accepted by [`RoleName::parse_unusual`] (`--allow-unusual-role`):
/// a name starting with `-` (commands such as `psql -U` take it for an option), whitespace other
/// than a plain space (U+00A0, U+3000: it looks like a space), `=`, `'`, `"` and `\` (the
/// separator and the quoting characters of conninfo strings, `pg_service.conf` lines and shells),
/// and the other invisible format characters ([`crate::model::text::is_invisible`]: zero-width
/// space, non-joiner and joiner, word joiner, byte-order mark, the direction marks U+200E, U+200F
/// and U+061C, soft hyphen…): a name holding one looks like another name, yet Persian and Indic
/// names may need the joiners. Output always shows them escaped.
///
/// # Examples
///
/// ```
/// use pgca::RoleName;
/// assert!("alice".parse::<RoleName>().is_ok());
/// assert!("App User@prod.eu".parse::<RoleName>().is_ok());
/// assert!("a/b".parse::<RoleName>().is_err());
/// assert!("x\n[evil]".parse::<RoleName>().is_err());
/// assert!("-x".parse::<RoleName>().is_err());
/// assert!(RoleName::parse_unusual("-x").is_ok());
/// assert!(RoleName::parse_unusual("a\u{202e}b").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoleName(String);

impl RoleName {
    /// The name as PostgreSQL sees it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `s` as a role name, accepting also the unusual names [`FromStr`] refuses (a leading `-`,
    /// whitespace other than a space, `=`, quotes, backslashes, invisible characters other than
    /// the bidirectional controls): for a role that really has such a name
    /// (`--allow-unusual-role`), and for reading back a name already issued.
    pub fn parse_unusual(s: &str) -> Result<RoleName> {
        role_refusal(s).map_or(Ok(RoleName(s.to_string())), |reason| {
            Err(Error::InvalidRole {
                name: s.to_string(),
                reason,
            })
        })
    }
}

/// Why `s` can never be a role name pgca issues for, if it cannot.
fn role_refusal(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        Some("empty")
    } else if s.len() > MAX_ROLE_BYTES {
        Some("longer than 63 bytes, PostgreSQL's limit for identifiers")
    } else if s.chars().any(char::is_control) {
        Some("control characters are not allowed")
    } else if s.chars().any(text::is_bidi_control) {
        Some(
            "a bidirectional control character (U+202A–U+202E, U+2066–U+2069) would reorder how it is shown",
        )
    } else if s.contains(['\u{2028}', '\u{2029}']) {
        Some("a line or paragraph separator (U+2028, U+2029) is not allowed")
    } else if s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        Some(
            "a leading or trailing space is not allowed (pg_service.conf drops it, output hides it)",
        )
    } else if s.contains('/') {
        Some("'/' is not allowed (the name becomes a file name)")
    } else if s == "." || s == ".." {
        Some("'.' and '..' cannot be file names")
    } else {
        None
    }
}

/// Why `s`, a possible role name, is an unusual one that needs `--allow-unusual-role`, if it is.
fn role_unusual(s: &str) -> Option<&'static str> {
    if s.starts_with('-') {
        Some("it starts with '-', which commands take for an option")
    } else if s.chars().any(|c| c.is_whitespace() && c != ' ') {
        Some("it holds whitespace other than a plain space, which looks like a space")
    } else if s.contains(['=', '\'', '"', '\\']) {
        Some(
            "it holds '=', a quote or a backslash, which conninfo strings, pg_service.conf and shells treat specially",
        )
    } else if s.chars().any(text::is_invisible) {
        Some(
            "it holds an invisible character (zero-width, joiner, direction mark…), so it looks like another name",
        )
    } else {
        None
    }
}

impl FromStr for RoleName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let role = RoleName::parse_unusual(s)?;
        match role_unusual(s) {
            Some(reason) => Err(Error::UnusualRole {
                name: s.to_string(),
                reason,
            }),
            None => Ok(role),
        }
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The public suffixes of more than one label a wildcard may not stand directly under
/// (`*.co.uk`), separated by spaces: the common country second-level domains, then the hosting
/// platforms whose subdomains belong to different owners. Not the whole Public Suffix List: a
/// wildcard with one label after it (`*.com`, `*.uk`) is refused anyway, and a suffix missing
/// here is accepted.
const PUBLIC_SUFFIXES: &str = "\
    ac.uk co.uk gov.uk ltd.uk me.uk net.uk nhs.uk org.uk plc.uk sch.uk com.au net.au org.au edu.au \
    gov.au id.au asn.au co.nz net.nz org.nz govt.nz ac.nz co.jp ne.jp or.jp ac.jp go.jp gr.jp \
    ed.jp co.kr or.kr ne.kr go.kr ac.kr com.cn net.cn org.cn gov.cn edu.cn com.hk org.hk net.hk \
    com.tw org.tw net.tw com.sg org.sg net.sg edu.sg gov.sg com.my co.id or.id co.th in.th com.ph \
    com.vn co.in net.in org.in gov.in ac.in firm.in com.pk co.il org.il ac.il com.tr org.tr net.tr \
    gov.tr co.za org.za gov.za ac.za com.eg com.ng co.ke com.br net.br org.br gov.br com.ar net.ar \
    org.ar gob.ar com.mx org.mx gob.mx com.co net.co com.pe com.ve com.uy com.ec co.ve com.ua \
    org.ua com.pl net.pl org.pl com.ru org.ru net.ru com.es org.es com.pt com.gr co.at or.at \
    com.sa com.qa co.ae com.kw \
    github.io gitlab.io herokuapp.com appspot.com blogspot.com azurewebsites.net cloudapp.net \
    cloudfront.net amazonaws.com s3.amazonaws.com elasticbeanstalk.com firebaseapp.com web.app \
    netlify.app vercel.app pages.dev workers.dev fly.dev onrender.com ngrok.io ngrok-free.app \
    readthedocs.io digitaloceanspaces.com";

/// Whether `name` (lowercase, no wildcard) is one of the multi-label public suffixes pgca
/// knows ([`HostName`] refuses a wildcard directly under one).
pub fn is_public_suffix(name: &str) -> bool {
    PUBLIC_SUFFIXES.split_ascii_whitespace().any(|s| s == name)
}

/// A name a server certificate is valid for: a DNS name (a leading `*.` wildcard allowed) or an
/// IP address, which becomes an iPAddress SAN (libpq matches those since PostgreSQL 15).
///
/// DNS names are stored in lowercase: DNS and libpq compare them without case.
///
/// Refused besides what is not a DNS name or an address: the unspecified addresses `0.0.0.0`
/// and `::` (where a server listens, never whom a client connects to), the broadcast address
/// `255.255.255.255` (also IPv4-mapped, `::ffff:0.0.0.0`), a wildcard with fewer than two labels
/// after it (`*.com`) and a wildcard directly under a multi-label public suffix pgca knows
/// (`*.co.uk`, `*.github.io`: [`is_public_suffix`], a short built-in list, not the whole Public
/// Suffix List).
///
/// # Examples
///
/// ```
/// use pgca::HostName;
/// assert_eq!("DB.Example.COM".parse::<HostName>()?.to_string(), "db.example.com");
/// assert!(matches!("127.0.0.1".parse::<HostName>()?, HostName::Ip(_)));
/// assert!("*.example.com".parse::<HostName>().is_ok());
/// assert!("a..b".parse::<HostName>().is_err());
/// assert!("0.0.0.0".parse::<HostName>().is_err());
/// assert!("*.co.uk".parse::<HostName>().is_err());
/// # Ok::<(), pgca::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HostName {
    /// A DNS name, lowercase, possibly starting with `*.`.
    Dns(String),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
}

impl FromStr for HostName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason| {
            Err(Error::InvalidHost {
                name: s.to_string(),
                reason,
            })
        };
        if let Ok(ip) = s.parse::<IpAddr>() {
            return match ip.to_canonical() {
                a if a.is_unspecified() => bad(
                    "the unspecified address (0.0.0.0, ::) is where a server listens, never whom a client connects to",
                ),
                IpAddr::V4(a) if a.is_broadcast() => {
                    bad("the broadcast address 255.255.255.255 is no server's")
                }
                _ => Ok(HostName::Ip(ip)),
            };
        }
        if s.is_empty() {
            return bad("empty");
        }
        if s.chars().any(char::is_whitespace) {
            return bad("spaces are not allowed");
        }
        if s.chars().any(char::is_control) {
            return bad("control characters are not allowed");
        }
        if s.ends_with('.') {
            return bad("trailing dot: libpq compares the name as written, drop the dot");
        }
        if s.len() > 253 {
            return bad("longer than 253 characters");
        }
        let lower = s.to_ascii_lowercase();
        let (wildcard, rest) = match lower.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, lower.as_str()),
        };
        let labels: Vec<&str> = rest.split('.').collect();
        for label in &labels {
            if label.is_empty() {
                return bad("empty label (two dots in a row, or a leading dot)");
            }
            if label.len() > 63 {
                return bad("a label is longer than 63 characters");
            }
            if label.contains('*') {
                return bad(
                    "a wildcard is allowed only as the whole first label, as in *.example.com",
                );
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return bad("only letters, digits, '-' and '_' are allowed in a label");
            }
            if label.starts_with('-') || label.ends_with('-') {
                return bad("a label cannot start or end with '-'");
            }
        }
        if labels
            .last()
            .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
        {
            return bad("looks like an IP address but is not a valid one");
        }
        if wildcard && labels.len() < 2 {
            return bad("a wildcard needs at least two labels after it, as in *.example.com");
        }
        if wildcard && is_public_suffix(rest) {
            return bad(
                "a wildcard directly under a public suffix would cover every domain registered under it",
            );
        }
        Ok(HostName::Dns(lower))
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostName::Dns(d) => f.write_str(d),
            HostName::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// The name a certificate is filed under in the CA directory: a role for a client
/// certificate, a server certificate's first host name. What commands that take "a name"
/// (`deploy-server`, `server-config`, `renew NAME`) accept: anything that can be such a file
/// name (not empty, at most 255 bytes, no `/`, no control characters, not `.` or `..`).
///
/// # Examples
///
/// ```
/// use pgca::{CertName, HostName, RoleName};
/// let role: RoleName = "alice".parse()?;
/// assert_eq!(CertName::from(&role).as_str(), "alice");
/// let host: HostName = "DB.example.com".parse()?;
/// assert_eq!(CertName::from(&host).as_str(), "db.example.com");
/// assert!("a/b".parse::<CertName>().is_err());
/// # Ok::<(), pgca::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CertName(String);

impl CertName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CertName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let reason = if s.is_empty() {
            Some("empty")
        } else if s.len() > 255 {
            Some("longer than 255 bytes")
        } else if s.chars().any(char::is_control) {
            Some("control characters are not allowed")
        } else if s.contains('/') {
            Some("'/' is not allowed (the name is a file name)")
        } else if s == "." || s == ".." {
            Some("'.' and '..' cannot be file names")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidValue {
                what: "certificate name",
                value: s.to_string(),
                reason,
            }),
            None => Ok(CertName(s.to_string())),
        }
    }
}

impl From<&RoleName> for CertName {
    fn from(r: &RoleName) -> CertName {
        CertName(r.as_str().to_string())
    }
}

impl From<&HostName> for CertName {
    fn from(h: &HostName) -> CertName {
        CertName(h.to_string())
    }
}

impl fmt::Display for CertName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_kind_of_valid_role() {
        for r in [
            "alice",
            "Alice",
            "app_user",
            "a.b",
            "a-b",
            "user@example.com",
            "with space",
            "日本語",
            "x",
            &"a".repeat(63),
            "ñandú_2",
        ] {
            assert!(r.parse::<RoleName>().is_ok(), "{r:?}");
        }
    }

    #[test]
    fn refuses_bad_roles_with_reason() {
        for (r, why) in [
            ("", "empty"),
            (&"a".repeat(64) as &str, "63 bytes"),
            (&"é".repeat(32), "63 bytes"),
            ("x\n[evil]\nhost=attacker", "control"),
            ("tab\there", "control"),
            ("nul\0", "control"),
            ("del\x7f", "control"),
            ("c1\u{85}", "control"),
            ("a/b", "'/'"),
            ("..", "file names"),
            (".", "file names"),
        ] {
            let e = r.parse::<RoleName>().unwrap_err().to_string();
            assert!(e.contains(why), "{r:?}: {e}");
        }
    }

    #[test]
    fn unusual_roles_need_parse_unusual() {
        for (r, why) in [
            ("-x", "starts with '-'"),
            ("--help", "starts with '-'"),
            ("a\u{a0}b", "other than a plain space"),
            ("a\u{3000}b", "other than a plain space"),
            ("a=b", "'='"),
            ("o'brien", "quote"),
            ("say\"hi\"", "quote"),
            ("back\\slash", "backslash"),
            ("post\u{200b}gres", "invisible"),
            ("\u{200c}", "invisible"),
            ("a\u{200d}b", "invisible"),
            ("a\u{2060}b", "invisible"),
            ("\u{feff}bom", "invisible"),
            ("a\u{200e}b", "invisible"),
            ("a\u{200f}b", "invisible"),
            ("a\u{61c}b", "invisible"),
            ("soft\u{ad}hyphen", "invisible"),
        ] {
            let e = r.parse::<RoleName>().unwrap_err();
            assert!(matches!(e, Error::UnusualRole { .. }), "{r:?}: {e}");
            let msg = e.to_string();
            assert!(msg.contains(why), "{r:?}: {msg}");
            assert!(!msg.chars().any(text::needs_escape), "{r:?}: {msg}");
            assert_eq!(RoleName::parse_unusual(r).unwrap().as_str(), r);
        }
        // A persian name with a zero-width non-joiner, as the flag is for.
        assert!(
            RoleName::parse_unusual("\u{645}\u{6cc}\u{200c}\u{62e}\u{648}\u{627}\u{647}\u{645}")
                .is_ok()
        );
        assert_eq!(
            "post\u{200b}gres"
                .parse::<RoleName>()
                .unwrap_err()
                .to_string(),
            "unusual role name \"post\\u{200b}gres\": it holds an invisible character (zero-width, joiner, direction mark…), so it looks like another name"
        );
    }

    #[test]
    fn some_roles_are_refused_even_with_parse_unusual() {
        for (r, why) in [
            ("a\u{202e}b", "bidirectional"),
            ("a\u{202a}b", "bidirectional"),
            ("a\u{2066}b\u{2069}", "bidirectional"),
            ("a\u{2028}b", "line or paragraph separator"),
            ("a\u{2029}b", "line or paragraph separator"),
            (" alice", "leading or trailing space"),
            ("alice ", "leading or trailing space"),
            ("\u{a0}alice", "leading or trailing space"),
            ("esc\u{1b}[2J", "control"),
        ] {
            for e in [
                r.parse::<RoleName>().unwrap_err(),
                RoleName::parse_unusual(r).unwrap_err(),
            ] {
                assert!(matches!(e, Error::InvalidRole { .. }), "{r:?}: {e}");
                let msg = e.to_string();
                assert!(msg.contains(why), "{r:?}: {msg}");
                assert!(!msg.chars().any(text::needs_escape), "{r:?}: {msg}");
            }
        }
        assert!(
            RoleName::parse_unusual("a\u{202e}b")
                .unwrap_err()
                .to_string()
                .starts_with("invalid role name \"a\\u{202e}b\": ")
        );
    }

    #[test]
    fn accepts_hosts() {
        for (h, want) in [
            ("localhost", "localhost"),
            ("DB.Example.com", "db.example.com"),
            ("*.example.com", "*.example.com"),
            ("db-1.internal", "db-1.internal"),
            ("my_db", "my_db"),
            ("127.0.0.1", "127.0.0.1"),
            ("::1", "::1"),
            ("2001:db8::5", "2001:db8::5"),
            ("*.example.co.uk", "*.example.co.uk"),
            ("*.alice.github.io", "*.alice.github.io"),
            ("co.uk", "co.uk"),
            ("10.0.0.255", "10.0.0.255"),
            ("192.168.1.0", "192.168.1.0"),
        ] {
            assert_eq!(h.parse::<HostName>().unwrap().to_string(), want);
        }
    }

    #[test]
    fn refuses_bad_hosts_with_reason() {
        for (h, why) in [
            ("", "empty"),
            ("a b", "spaces"),
            ("a..b", "empty label"),
            (".a", "empty label"),
            ("a.", "trailing dot"),
            ("db.example.com!", "only letters"),
            ("db.example.com/x", "only letters"),
            ("-a.b", "start or end"),
            ("a*.b.c", "wildcard"),
            ("a.*.c", "wildcard"),
            ("*.com", "two labels"),
            ("*", "wildcard"),
            ("1.2.3.999", "IP address"),
            ("fe80::1%eth0", "only letters"),
            ("0.0.0.0", "unspecified"),
            ("::", "unspecified"),
            ("0::0", "unspecified"),
            ("::ffff:0.0.0.0", "unspecified"),
            ("255.255.255.255", "broadcast"),
            ("::ffff:255.255.255.255", "broadcast"),
            ("*.co.uk", "public suffix"),
            ("*.CO.UK", "public suffix"),
            ("*.com.au", "public suffix"),
            ("*.github.io", "public suffix"),
            ("*.s3.amazonaws.com", "public suffix"),
            ("*.uk", "two labels"),
            (&"a".repeat(64), "63 characters"),
        ] {
            let e = h.parse::<HostName>().unwrap_err().to_string();
            assert!(e.contains(why), "{h:?}: {e}");
        }
    }
}
