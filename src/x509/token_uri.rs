//! Where a CA key held in a PKCS#11 token is: an RFC 7512 `pkcs11:` URI.
//!
//! A CA directory whose keys live in a token holds `server-ca.pkcs11` and `client-ca.pkcs11`
//! instead of `*-ca.key`: one line each, such as
//!
//! ```text
//! pkcs11:token=pgca;serial=3c1f0a9e8d7b6a52;object=pgca-server-ca-3f9a1c2e;id=%3f%9a%1c%2e;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so
//! ```
//!
//! No secret is ever part of it: a `pin-value` or `pin-source` attribute is refused (the PIN is
//! read like the CA passphrase).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A token, and optionally one key in it, as an RFC 7512 `pkcs11:` URI.
///
/// # Examples
///
/// ```
/// use pgca::x509::token_uri::TokenUri;
/// let uri: TokenUri = "pkcs11:token=pgca?module-path=/usr/lib/softhsm/libsofthsm2.so".parse()?;
/// assert_eq!(uri.token, "pgca");
/// assert_eq!(uri.to_string(), "pkcs11:token=pgca?module-path=/usr/lib/softhsm/libsofthsm2.so");
/// # Ok::<(), pgca::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenUri {
    /// The PKCS#11 module (shared library) to load: `module-path`.
    pub module: Option<PathBuf>,
    /// The token's label: `token`.
    pub token: String,
    /// The token's serial number: `serial` (pins the exact token when several share a label).
    pub serial: Option<String>,
    /// The key's label: `object`.
    pub object: Option<String>,
    /// The key's CKA_ID: `id`.
    pub id: Option<Vec<u8>>,
}

impl TokenUri {
    /// Reads a CA's token reference (`DIR/server-ca.pkcs11`): one `pkcs11:` URI line.
    pub fn read(path: &std::path::Path) -> Result<TokenUri> {
        let bytes = crate::storage::read(path, "read CA key reference")?;
        let text = String::from_utf8(bytes).map_err(|_| Error::BadKey {
            path: path.to_path_buf(),
            reason: "not a pkcs11: URI".into(),
        })?;
        text.trim().parse()
    }

    /// A token by its label, in `module`.
    pub fn new(module: impl Into<PathBuf>, token: impl Into<String>) -> TokenUri {
        TokenUri {
            module: Some(module.into()),
            token: token.into(),
            ..TokenUri::default()
        }
    }
}

fn bad(input: &str, reason: &'static str) -> Error {
    Error::BadPkcs11Uri {
        input: input.to_string(),
        reason,
    }
}

/// `%xx` escapes decoded (RFC 3986); `None` for a broken escape.
fn unescape(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Everything but RFC 7512's unreserved and path characters escaped as `%xx`.
fn escape(bytes: &[u8], keep: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &c in bytes {
        if c.is_ascii_alphanumeric() || b"-._~".contains(&c) || keep.contains(&c) {
            out.push(char::from(c));
        } else {
            out.push_str(&format!("%{c:02x}"));
        }
    }
    out
}

impl FromStr for TokenUri {
    type Err = Error;

    fn from_str(input: &str) -> Result<TokenUri> {
        let rest = input
            .strip_prefix("pkcs11:")
            .ok_or_else(|| bad(input, "does not start with pkcs11:"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut uri = TokenUri::default();
        let mut token = None;
        let text = |v: &str| -> Result<String> {
            let raw = unescape(v).ok_or_else(|| bad(input, "a broken %-escape"))?;
            String::from_utf8(raw).map_err(|_| bad(input, "a value that is not UTF-8"))
        };
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (k, v) = attr
                .split_once('=')
                .ok_or_else(|| bad(input, "an attribute without '='"))?;
            match k {
                "token" => token = Some(text(v)?),
                "serial" => uri.serial = Some(text(v)?),
                "object" => uri.object = Some(text(v)?),
                "id" => uri.id = Some(unescape(v).ok_or_else(|| bad(input, "a broken %-escape"))?),
                // Only private keys are ever meant; the other RFC 7512 attributes describe the
                // token or module further, which a label and a serial already pin.
                "type" if v == "private" => {}
                "type" => return Err(bad(input, "type must be private")),
                "manufacturer"
                | "model"
                | "library-manufacturer"
                | "library-description"
                | "library-version"
                | "slot-description"
                | "slot-manufacturer"
                | "slot-id" => {}
                _ => return Err(bad(input, "an unknown attribute")),
            }
        }
        for attr in query.split('&').filter(|a| !a.is_empty()) {
            let (k, v) = attr
                .split_once('=')
                .ok_or_else(|| bad(input, "an attribute without '='"))?;
            match k {
                "module-path" => uri.module = Some(PathBuf::from(text(v)?)),
                "pin-value" | "pin-source" => {
                    return Err(bad(
                        input,
                        "a PIN in the URI is refused: it is read like the CA passphrase",
                    ));
                }
                _ => return Err(bad(input, "an unknown query attribute")),
            }
        }
        uri.token = token.ok_or_else(|| bad(input, "no token= attribute"))?;
        if uri.token.is_empty() {
            return Err(bad(input, "an empty token label"));
        }
        Ok(uri)
    }
}

impl fmt::Display for TokenUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pkcs11:token={}", escape(self.token.as_bytes(), b""))?;
        if let Some(s) = &self.serial {
            write!(f, ";serial={}", escape(s.as_bytes(), b""))?;
        }
        if let Some(o) = &self.object {
            write!(f, ";object={}", escape(o.as_bytes(), b""))?;
        }
        if let Some(id) = &self.id {
            f.write_str(";id=")?;
            for b in id {
                write!(f, "%{b:02x}")?;
            }
        }
        if self.object.is_some() || self.id.is_some() {
            f.write_str(";type=private")?;
        }
        if let Some(m) = &self.module {
            use std::os::unix::ffi::OsStrExt;
            write!(f, "?module-path={}", escape(m.as_os_str().as_bytes(), b"/"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let uri = TokenUri {
            module: Some("/usr/lib/softhsm/libsofthsm2.so".into()),
            token: "my token;1".into(),
            serial: Some("3c1f0a9e8d7b6a52".into()),
            object: Some("pgca-server-ca-3f9a1c2e".into()),
            id: Some(vec![0x3f, 0x9a, 0x1c, 0x2e]),
        };
        let text = uri.to_string();
        assert_eq!(
            text,
            "pkcs11:token=my%20token%3b1;serial=3c1f0a9e8d7b6a52;object=pgca-server-ca-3f9a1c2e;\
             id=%3f%9a%1c%2e;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so"
        );
        assert_eq!(text.parse::<TokenUri>().unwrap(), uri);
    }

    #[test]
    fn refusals() {
        for bad in [
            "token=pgca",
            "pkcs11:object=x",
            "pkcs11:token=",
            "pkcs11:token=pgca?pin-value=1234",
            "pkcs11:token=pgca?pin-source=file:/etc/pin",
            "pkcs11:token=pgca;type=cert",
            "pkcs11:token=pgca;frobnicate=1",
            "pkcs11:token=%zz",
        ] {
            assert!(bad.parse::<TokenUri>().is_err(), "{bad}");
        }
        let ok: TokenUri = "pkcs11:token=pgca;slot-id=0".parse().unwrap();
        assert_eq!(ok.module, None);
    }
}
