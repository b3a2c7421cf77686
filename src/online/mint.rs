//! `pgca token`: an enrollment token minted on the CA host, bound to a kind and its names,
//! recorded in the inventory as a hash.

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::inventory::{Event, TokenMinted};
use crate::model::kind::CertKind;
use crate::model::names::{HostName, RoleName};
use crate::model::timefmt;
use crate::model::validity::Validity;
use crate::online::token::EnrollToken;
use crate::store::layout::CaDir;
use crate::store::options::DEFAULT_LEAF_VALIDITY;

/// How long a token is accepted by default: 15 minutes, enough to paste it into the host's
/// `pgca enroll`.
pub const DEFAULT_TOKEN_TTL: Validity = match Validity::from_seconds(15 * 60) {
    Some(v) => v,
    None => unreachable!(),
};

/// The longest a token may be accepted: 7 days. A token is a credential that mints a
/// certificate; a longer-lived one is a standing key.
pub const MAX_TOKEN_TTL: Validity = Validity::days(7);

/// What `pgca token` asks for.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TokenRequest {
    /// `Server` or `Client`.
    pub kind: CertKind,
    /// A server's host names (the certificate it enrolls carries those its request asks for,
    /// at least one), or one role.
    pub names: Vec<String>,
    /// How long the token is accepted ([`DEFAULT_TOKEN_TTL`], at most [`MAX_TOKEN_TTL`]).
    pub ttl: Validity,
    /// The validity of the certificate it enrolls ([`DEFAULT_LEAF_VALIDITY`]).
    pub validity: Validity,
    /// The time to mint at (tests); `None` for now.
    pub now: Option<OffsetDateTime>,
}

impl TokenRequest {
    /// A request for a token of `kind` for `names`, with the default lifetimes.
    pub fn new(kind: CertKind, names: Vec<String>) -> TokenRequest {
        TokenRequest {
            kind,
            names,
            ttl: DEFAULT_TOKEN_TTL,
            validity: DEFAULT_LEAF_VALIDITY,
            now: None,
        }
    }
}

/// A token just minted. `Debug` shows its id only.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MintedToken {
    /// The token: [`EnrollToken::expose`] is what the host's `pgca enroll` is given.
    pub token: EnrollToken,
    /// What it enrolls.
    pub kind: CertKind,
    /// The names it carries, validated and each once.
    pub names: Vec<String>,
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
    /// The validity of the certificate it enrolls.
    pub validity: Validity,
}

impl CaDir {
    /// Mints an enrollment token: single-use, bound to `req.kind` and `req.names`, accepted
    /// until `req.ttl` from now; the inventory records its SHA-256, never the secret. Needs
    /// no CA key.
    pub fn mint_token(&self, req: &TokenRequest) -> Result<MintedToken> {
        let names = token_names(req.kind, &req.names)?;
        if req.ttl > MAX_TOKEN_TTL {
            return Err(Error::InvalidDuration {
                input: req.ttl.to_string(),
                reason: "an enrollment token is accepted for at most 7d",
            });
        }
        let now = req.now.unwrap_or_else(timefmt::now);
        let token = EnrollToken::generate();
        let expires_at = now + req.ttl.duration();
        let record = TokenMinted {
            id: token.id().to_string(),
            kind: req.kind,
            names: names.clone(),
            secret_sha256: token.secret_sha256(),
            minted_at: now,
            expires_at,
            validity_seconds: req.validity.seconds(),
        };
        let _lock = self.write_lock()?;
        self.append_events(&[Event::TokenMinted(record)])?;
        Ok(MintedToken {
            token,
            kind: req.kind,
            names,
            expires_at,
            validity: req.validity,
        })
    }
}

/// The names of a token, validated as `issue-server` and `issue-client` validate theirs: host
/// names, each once; or exactly one role.
fn token_names(kind: CertKind, names: &[String]) -> Result<Vec<String>> {
    match kind {
        CertKind::Server => {
            if names.is_empty() {
                return Err(Error::InvalidHost {
                    name: String::new(),
                    reason: "no host name given",
                });
            }
            let mut out: Vec<String> = Vec::with_capacity(names.len());
            for n in names {
                let host: HostName = n.parse()?;
                let host = host.to_string();
                if out.contains(&host) {
                    return Err(Error::DuplicateName(host));
                }
                out.push(host);
            }
            Ok(out)
        }
        CertKind::Client => match names {
            [role] => Ok(vec![role.parse::<RoleName>()?.as_str().to_string()]),
            _ => Err(Error::InvalidRole {
                name: names.join(" "),
                reason: "a client token enrolls exactly one role",
            }),
        },
        _ => Err(Error::InvalidHost {
            name: kind.to_string(),
            reason: "only server and client certificates are enrolled",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated_per_kind() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            token_names(CertKind::Server, &s(&["db1.example.com", "10.0.0.5"])).unwrap(),
            s(&["db1.example.com", "10.0.0.5"])
        );
        for (kind, names) in [
            (CertKind::Server, s(&[])),
            (CertKind::Server, s(&["a.example", "a.example"])),
            (CertKind::Server, s(&["bad host"])),
            (CertKind::Client, s(&["alice", "bob"])),
            (CertKind::Client, s(&[])),
            (CertKind::ServerCa, s(&["x"])),
        ] {
            assert!(token_names(kind, &names).is_err(), "{kind} {names:?}");
        }
    }
}
