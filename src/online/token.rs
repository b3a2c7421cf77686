//! The enrollment token's text: `pgca1.ID.SECRET`, a public id (16 hex digits, shown in records
//! and logs) and a secret (32 random bytes, base64url), of which the inventory keeps only the
//! SHA-256.

use std::fmt;
use std::str::FromStr;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The prefix of every token: its format version.
const PREFIX: &str = "pgca1";

/// Random bytes in a token's id and secret.
const ID_BYTES: usize = 8;
const SECRET_BYTES: usize = 32;

/// An enrollment token as the holder sends it. `Debug` and `Display` show its id only; the
/// secret is wiped when the token is dropped.
///
/// # Examples
///
/// ```
/// use pgca::EnrollToken;
/// let t = EnrollToken::generate();
/// let text = t.expose().to_string();
/// let back: EnrollToken = text.parse()?;
/// assert_eq!(back.id(), t.id());
/// assert!(!format!("{t:?}").contains(&text[23..]));
/// assert!("pgca1.0011223344556677.short".parse::<EnrollToken>().is_err());
/// # Ok::<(), pgca::Error>(())
/// ```
#[derive(Clone)]
pub struct EnrollToken {
    id: String,
    text: Zeroizing<String>,
}

impl EnrollToken {
    /// A new token from the operating system's random source.
    pub fn generate() -> EnrollToken {
        use base64::Engine;
        use ring::rand::SecureRandom;
        let rng = ring::rand::SystemRandom::new();
        let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
        rng.fill(secret.as_mut())
            .expect("the system random source works");
        let id = crate::model::hex::random(ID_BYTES);
        let secret = Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret.as_ref()),
        );
        let text = Zeroizing::new(format!("{PREFIX}.{id}.{}", secret.as_str()));
        EnrollToken { id, text }
    }

    /// Reads a token from a file by the secret-file rule (root's or the user's, at most 0600):
    /// `pgca enroll --token-file`. A token is a credential; it is never taken from argv.
    pub fn from_file(path: &std::path::Path) -> Result<EnrollToken> {
        let bytes = Zeroizing::new(
            crate::storage::read_input(path, "read token file", crate::storage::Input::Secret)?
                .to_vec(),
        );
        String::from_utf8_lossy(&bytes).parse()
    }

    /// The public id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The whole token, secret included: to print once for the admin, or to send.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// SHA-256 of the secret, hex: what the inventory keeps.
    pub(crate) fn secret_sha256(&self) -> String {
        let secret = &self.text[PREFIX.len() + 1 + self.id.len() + 1..];
        crate::model::hex::sha256(secret.as_bytes())
    }

    /// Whether the secret hashes to `recorded` (compared in constant time).
    pub(crate) fn matches(&self, recorded: &str) -> bool {
        #[allow(deprecated)]
        ring::constant_time::verify_slices_are_equal(
            self.secret_sha256().as_bytes(),
            recorded.as_bytes(),
        )
        .is_ok()
    }
}

impl FromStr for EnrollToken {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason| Error::BadToken {
            id: "?".into(),
            reason,
        };
        let s = s.trim();
        let mut parts = s.split('.');
        let (Some(PREFIX), Some(id), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("not a pgca enrollment token (pgca1.ID.SECRET)"));
        };
        let id_ok = id.len() == 2 * ID_BYTES && id.bytes().all(|b| b.is_ascii_hexdigit());
        let secret_ok = secret.len() == 43
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_ok || !secret_ok {
            return Err(bad("not a pgca enrollment token (pgca1.ID.SECRET)"));
        }
        Ok(EnrollToken {
            id: id.to_ascii_lowercase(),
            text: Zeroizing::new(s.to_string()),
        })
    }
}

impl fmt::Debug for EnrollToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnrollToken({})", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_its_own_hash_only() {
        let a = EnrollToken::generate();
        let b = EnrollToken::generate();
        assert_ne!(a.id(), b.id());
        assert!(a.matches(&a.secret_sha256()));
        assert!(!a.matches(&b.secret_sha256()));
        // The same id with another secret: refused.
        let forged: EnrollToken = format!("{PREFIX}.{}.{}", a.id(), &b.expose()[23..])
            .parse()
            .unwrap();
        assert!(!forged.matches(&a.secret_sha256()));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let good = EnrollToken::generate();
        let text = good.expose().to_string();
        for bad in [
            "",
            "pgca1",
            "pgca2.0011223344556677.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "pgca1.00112233445566.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "pgca1.0011223344556677.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "pgca1.0011223344556677.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
            &format!("{text}.x"),
        ] {
            let e = bad.parse::<EnrollToken>().unwrap_err().to_string();
            assert!(e.contains("not a pgca enrollment token"), "{bad}: {e}");
        }
        assert_eq!(
            format!(" {text}\n").parse::<EnrollToken>().unwrap().id(),
            good.id()
        );
    }
}
