//! The records of online enrollment: enrollment tokens (`pgca token`), their use, and how an
//! issued certificate was authorised (`pgca serve`).
//!
//! A token's secret is never recorded: only its SHA-256. A token is used at most once: the
//! `token-used` line is committed in the same batch as the certificate it enrolled, so a crash
//! leaves either both or neither.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::kind::CertKind;
use crate::model::serial::Serial;

/// An enrollment token minted (`pgca token`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenMinted {
    /// The token's public id (the part before the secret; shown in logs and records).
    pub id: String,
    /// What it enrolls: `server` or `client`.
    pub kind: CertKind,
    /// The names it may enroll: a server's host names (the certificate may carry any of them,
    /// the first in the request being the CN), or one role.
    pub names: Vec<String>,
    /// SHA-256 of the secret, hex.
    pub secret_sha256: String,
    /// When it was minted.
    #[serde(with = "time::serde::rfc3339")]
    pub minted_at: OffsetDateTime,
    /// When it stops being accepted.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The validity of the certificate it enrolls, in seconds.
    pub validity_seconds: i64,
}

/// An enrollment token used: it enrolled `serial` and is never accepted again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenUsed {
    /// The token's id.
    pub id: String,
    /// The certificate it enrolled.
    pub serial: Serial,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// How a certificate issued online was authorised, recorded on its `issued` line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Authorization {
    /// The enrollment token's id, for a certificate enrolled with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The serial of the certificate presented to renew it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewed_from: Option<Serial>,
    /// The address the request came from (`IP:PORT`), when it came over the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

/// Every token minted, with its use, by id.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    minted: HashMap<String, TokenState>,
}

/// A token and whether it was used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenState {
    /// As minted.
    pub minted: TokenMinted,
    /// Its use, if it was used.
    pub used: Option<TokenUsed>,
}

impl Tokens {
    /// A token by id.
    pub fn get(&self, id: &str) -> Option<&TokenState> {
        self.minted.get(id)
    }

    /// Every token, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &TokenState> {
        self.minted.values()
    }

    pub(crate) fn minted(&mut self, t: TokenMinted) {
        self.minted.entry(t.id.clone()).or_insert(TokenState {
            minted: t,
            used: None,
        });
    }

    pub(crate) fn used(&mut self, u: TokenUsed) {
        if let Some(s) = self.minted.get_mut(&u.id)
            && s.used.is_none()
        {
            s.used = Some(u);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_used_once_and_the_first_use_stays() {
        let now = time::macros::datetime!(2026-12-01 00:00 UTC);
        let mut t = Tokens::default();
        t.minted(TokenMinted {
            id: "ab".into(),
            kind: CertKind::Client,
            names: vec!["alice".into()],
            secret_sha256: "00".into(),
            minted_at: now,
            expires_at: now,
            validity_seconds: 60,
        });
        let s1 = Serial::random();
        for serial in [s1.clone(), Serial::random()] {
            t.used(TokenUsed {
                id: "ab".into(),
                serial,
                at: now,
            });
        }
        assert_eq!(t.get("ab").unwrap().used.as_ref().unwrap().serial, s1);
        // A use of a token never minted is ignored.
        t.used(TokenUsed {
            id: "cd".into(),
            serial: s1,
            at: now,
        });
        assert!(t.get("cd").is_none());
    }
}
