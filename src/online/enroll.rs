//! Enrollment with a token (`POST /v1/sign`, `pgca enroll`): a request signed as `pgca sign`
//! signs it, authorised by a single-use token instead of an admin at the CA host.
//!
//! The token is checked twice: before anything is signed (a clear refusal, no CA work), and
//! again under the write lock, where its `token-used` line is committed in the same batch as the
//! certificate, so two requests racing with one token get one certificate between them.

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::inventory::{Authorization, Event, Ledger, TokenMinted, TokenUsed};
use crate::model::kind::CertKind;
use crate::model::serial::Serial;
use crate::model::timefmt;
use crate::model::validity::Validity;
use crate::online::token::EnrollToken;
use crate::store::layout::CaDir;
use crate::store::options::IssuedCert;
use crate::store::sign::SignedNames;
use crate::x509::csr::CsrRequest;

/// An enrollment: a verified request and the token that authorises it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EnrollRequest {
    /// The token, as the host sent it.
    pub token: EnrollToken,
    /// The request, parsed and its signature verified ([`CsrRequest::parse`]).
    pub csr: CsrRequest,
    /// The address the request came from, recorded with the certificate.
    pub peer: Option<String>,
    /// The time to issue at (tests); `None` for now.
    pub now: Option<OffsetDateTime>,
    /// The server name the CA service itself serves (`pgca serve --tls-name`): never enrolled,
    /// since the certificate would replace, as the name's current one, the certificate whose
    /// key the service holds, and the service could no longer build its TLS configuration
    /// (a rollover's new trust would never reach it).
    pub own_name: Option<String>,
}

impl EnrollRequest {
    /// An enrollment of `csr` with `token`, now, from no recorded peer.
    pub fn new(token: EnrollToken, csr: CsrRequest) -> EnrollRequest {
        EnrollRequest {
            token,
            csr,
            peer: None,
            now: None,
            own_name: None,
        }
    }
}

/// A certificate issued online: its record and its file's text (the leaf, then the issuing
/// intermediate in a two-level hierarchy).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OnlineIssued {
    /// What was issued.
    pub issued: IssuedCert,
    /// The certificate file's PEM text.
    pub cert_pem: String,
    /// Whether it had been issued before (a retried renewal given the certificate it already
    /// got), rather than just now.
    pub repeated: bool,
}

impl CaDir {
    /// Signs `req.csr` for the token's kind, with the token's validity, if the token is known,
    /// unused, unexpired and carries every name the request asks for (a server's CN and
    /// alternative names; a client's CN, the role). The certificate replaces the name's current
    /// one: minting the token was the admin's decision to (re-)enroll it. Recorded with the
    /// token's id and the peer; the token is never accepted again.
    pub fn enroll(&self, req: &EnrollRequest) -> Result<OnlineIssued> {
        let now = req.now.unwrap_or_else(timefmt::now);
        let minted = {
            let _lock = self.read_lock()?;
            let ledger = self.read_inventory()?;
            accepted(&ledger, &req.token, now)?.clone()
        };
        let names = SignedNames::of(&req.csr, minted.kind, false)?;
        check_names(&minted, &names)?;
        if minted.kind == CertKind::Server && req.own_name.as_deref() == Some(&*names.name()) {
            return Err(Error::BadToken {
                id: minted.id.clone(),
                reason: "it enrolls the CA service's own name (serve --tls-name)",
            });
        }
        let validity = Validity::from_seconds(minted.validity_seconds).ok_or(Error::BadToken {
            id: minted.id.clone(),
            reason: "its recorded validity is not a valid lifetime",
        })?;
        let (side, profile) = names.profile();
        let request = crate::store::sign::external_request(
            names.name(),
            profile,
            &req.csr,
            validity,
            Some(Authorization {
                token: Some(minted.id.clone()),
                renewed_from: None,
                peer: req.peer.clone(),
            }),
        )?;
        let token = &req.token;
        let guard = |ledger: &Ledger, serials: &[Serial]| -> Result<Vec<Event>> {
            accepted(ledger, token, now)?;
            Ok(vec![Event::TokenUsed(TokenUsed {
                id: token.id().to_string(),
                serial: serials[0].clone(),
                at: now,
            })])
        };
        let issued = self
            .issue_batch_guarded(side, vec![request], true, now, None, Some(&guard))?
            .remove(0);
        let cert_pem = self.issued_pem(&issued)?;
        Ok(OnlineIssued {
            issued,
            cert_pem,
            repeated: false,
        })
    }

    /// The PEM text of a certificate just issued, read from its archived file.
    pub(crate) fn issued_pem(&self, issued: &IssuedCert) -> Result<String> {
        let _lock = self.read_lock()?;
        let pem = crate::storage::read(&issued.cert_path, "read certificate")?;
        Ok(String::from_utf8_lossy(&pem).into_owned())
    }
}

/// The token's record, if the inventory has it and it can still be used at `now`.
fn accepted<'l>(
    ledger: &'l Ledger,
    token: &EnrollToken,
    now: OffsetDateTime,
) -> Result<&'l TokenMinted> {
    let refuse = |reason| Error::BadToken {
        id: token.id().to_string(),
        reason,
    };
    let state = ledger
        .tokens()
        .get(token.id())
        .ok_or_else(|| refuse("not minted by this CA"))?;
    if !token.matches(&state.minted.secret_sha256) {
        return Err(refuse("not minted by this CA"));
    }
    if state.used.is_some() {
        return Err(refuse("already used"));
    }
    if now >= state.minted.expires_at {
        return Err(refuse("expired"));
    }
    Ok(&state.minted)
}

/// Refuses a request for a name the token does not carry.
fn check_names(minted: &TokenMinted, names: &SignedNames) -> Result<()> {
    let refuse = |reason| Error::BadToken {
        id: minted.id.clone(),
        reason,
    };
    match (minted.kind, names) {
        (CertKind::Server, SignedNames::Server(hosts)) => {
            if hosts
                .iter()
                .any(|h| !minted.names.iter().any(|n| *n == h.to_string()))
            {
                return Err(refuse("the request names a host the token does not carry"));
            }
            Ok(())
        }
        (CertKind::Client, SignedNames::Client(role)) => {
            if minted.names.iter().any(|n| n == role.as_str()) {
                Ok(())
            } else {
                Err(refuse("the request is for a role the token does not carry"))
            }
        }
        _ => Err(refuse("the token enrolls another kind of certificate")),
    }
}
