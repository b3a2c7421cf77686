//! Renewal with the current certificate (`POST /v1/renew`): the host proves it holds the
//! certificate's key (mutual TLS; the caller passes the certificate the TLS layer verified)
//! and sends a request for the next key. The new certificate keeps the kind, names and lifetime
//! of the one it renews.
//!
//! Refused for a certificate the inventory does not record, a revoked one, one expired past the
//! grace, and one superseded (not its name's current certificate: passive revocation, on top of
//! the CRLs). Idempotent: a host that retries with the certificate it just renewed and the same
//! request gets the certificate already issued for it, so a reply lost to a crash or a timeout
//! never locks it out.

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::inventory::{Authorization, Issued, Ledger};
use crate::model::hex;
use crate::model::timefmt;
use crate::model::validity::Validity;
use crate::online::enroll::OnlineIssued;
use crate::store::layout::CaDir;
use crate::x509::csr::CsrRequest;
use crate::x509::inspect::CertInfo;

/// What a CA allows of online renewals (`pgca serve`'s settings).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RenewPolicy {
    /// Certify the same key again (off: every renewal brings a new key).
    pub allow_same_key: bool,
    /// How long after its end an expired certificate may still renew itself (none: an expired
    /// certificate is enrolled again with a token).
    pub grace: Option<Validity>,
}

/// A renewal: the certificate presented over mutual TLS and the request for its successor.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OnlineRenewRequest {
    /// The presented certificate (DER), already verified by the TLS layer against the CA.
    pub presented: Vec<u8>,
    /// The request for the new key, parsed and its signature verified.
    pub csr: CsrRequest,
    /// The address the request came from, recorded with the certificate.
    pub peer: Option<String>,
    /// The time to renew at (tests); `None` for now.
    pub now: Option<OffsetDateTime>,
}

impl OnlineRenewRequest {
    /// A renewal of `presented` (DER) for the key of `csr`, now, from no recorded peer.
    pub fn new(presented: Vec<u8>, csr: CsrRequest) -> OnlineRenewRequest {
        OnlineRenewRequest {
            presented,
            csr,
            peer: None,
            now: None,
        }
    }
}

/// What the inventory says to do with a renewal.
pub(super) enum Plan {
    /// Issue the successor of this record.
    Issue(Box<Issued>),
    /// Already renewed with this request's key: hand out that certificate again.
    Repeat(Box<Issued>, Box<Issued>),
}

/// A renewal's presented certificate, read: what the inventory is asked about it.
pub(super) struct Presented {
    pub(super) info: CertInfo,
    /// The SHA-256 of the presented certificate (DER), hex.
    pub(super) digest: String,
    /// The SHA-256 of the requested key (SubjectPublicKeyInfo), hex.
    pub(super) spki: String,
    pub(super) now: OffsetDateTime,
}

impl Presented {
    pub(super) fn of(req: &OnlineRenewRequest) -> Result<Presented> {
        let info = CertInfo::from_der(&req.presented).map_err(|reason| Error::BadCert {
            path: "the presented certificate".into(),
            reason,
        })?;
        Ok(Presented {
            info,
            digest: hex::sha256(&req.presented),
            spki: hex::sha256(&req.csr.spki_der),
            now: req.now.unwrap_or_else(timefmt::now),
        })
    }

    pub(super) fn plan(&self, ledger: &Ledger, policy: &RenewPolicy) -> Result<Plan> {
        plan(
            ledger,
            &self.info,
            &self.digest,
            &self.spki,
            self.now,
            policy,
        )
    }
}

/// The request for the successor of `record`, for the key of `req.csr`.
pub(super) fn successor_request(
    record: &Issued,
    req: &OnlineRenewRequest,
) -> Result<crate::store::issue::LeafRequest> {
    crate::store::sign::external_request(
        record.name.clone(),
        crate::ops::renew_batch::profile_of(record)?,
        &req.csr,
        crate::ops::renew_batch::lifetime_of(record)?,
        Some(Authorization {
            token: None,
            renewed_from: Some(record.serial.clone()),
            peer: req.peer.clone(),
        }),
    )
}

impl CaDir {
    /// Renews the presented certificate for the request's key, if `policy` and the inventory
    /// allow it (see the module docs); the successor is recorded with the renewed serial and
    /// the peer.
    pub fn renew_online(
        &self,
        req: &OnlineRenewRequest,
        policy: &RenewPolicy,
    ) -> Result<OnlineIssued> {
        let presented = Presented::of(req)?;
        let record = match self.with_read_ledger(|l| presented.plan(l, policy))? {
            Plan::Repeat(old, new) => return self.repeat(&old, &new),
            Plan::Issue(record) => record,
        };
        let request = successor_request(&record, req)?;
        // Under the lock, the presented certificate must still be current: of two racing
        // renewals, the second finds it superseded, and then (same request) the first's answer.
        let guard = |ledger: &Ledger, _: &[crate::model::serial::Serial]| match presented
            .plan(ledger, policy)?
        {
            Plan::Issue(_) => Ok(Vec::new()),
            Plan::Repeat(..) => Err(refused(&record, "renewed meanwhile")),
        };
        let side = record.kind.side();
        match self.issue_batch_guarded(side, vec![request], true, presented.now, None, Some(&guard))
        {
            Ok(mut issued) => {
                let issued = issued.remove(0);
                let cert_pem = self.archived_pem(&issued)?;
                Ok(OnlineIssued {
                    issued,
                    cert_pem,
                    repeated: false,
                })
            }
            Err(Error::RenewRefused { .. }) => {
                match self.with_read_ledger(|l| presented.plan(l, policy))? {
                    Plan::Repeat(old, new) => self.repeat(&old, &new),
                    Plan::Issue(_) => Err(refused(&record, "renewed meanwhile")),
                }
            }
            Err(e) => Err(e),
        }
    }

    pub(super) fn with_read_ledger<T>(&self, f: impl FnOnce(&Ledger) -> Result<T>) -> Result<T> {
        let _lock = self.read_lock()?;
        self.with_inventory(f)
    }

    /// The PEM of a certificate just issued, from its archive directory (the name's link may
    /// already point at a later one).
    pub(super) fn archived_pem(
        &self,
        issued: &crate::store::options::IssuedCert,
    ) -> Result<String> {
        let path = self
            .archive_dir(issued.kind)
            .join(issued.serial.to_string())
            .join(format!("{}.crt", issued.name));
        let _lock = self.read_lock()?;
        let pem = crate::storage::read(&path, "read certificate")?;
        Ok(String::from_utf8_lossy(&pem).into_owned())
    }

    /// The certificate `new` already issued renewing `old`, handed out again.
    pub(super) fn repeat(&self, old: &Issued, new: &Issued) -> Result<OnlineIssued> {
        let path = self.root().join(&new.cert);
        let pem = {
            let _lock = self.read_lock()?;
            self.recorded_cert(new)?
        };
        let mut issued = self.issued_from(new, &old.serial);
        issued.cert_path = path;
        Ok(OnlineIssued {
            issued,
            cert_pem: String::from_utf8_lossy(&pem).into_owned(),
            repeated: true,
        })
    }
}

pub(super) fn refused(record: &Issued, reason: &'static str) -> Error {
    Error::RenewRefused {
        kind: record.kind,
        name: record.name.clone(),
        serial: record.serial.clone(),
        reason,
    }
}

/// The inventory's verdict on renewing `presented` (DER digest `digest`) for the key `spki`.
fn plan(
    ledger: &Ledger,
    presented: &CertInfo,
    digest: &str,
    spki: &str,
    now: OffsetDateTime,
    policy: &RenewPolicy,
) -> Result<Plan> {
    let record = ledger
        .by_serial(&presented.serial)
        .filter(|r| !r.kind.is_ca() && r.sha256.as_deref().is_none_or(|h| h == digest))
        .ok_or_else(|| Error::RenewRefused {
            kind: crate::model::kind::CertKind::Client,
            name: presented.common_name.clone().unwrap_or_default(),
            serial: presented.serial.clone(),
            reason: "the inventory records no such certificate",
        })?;
    if ledger.revocation(&record.serial).is_some() {
        return Err(refused(record, "it is revoked"));
    }
    if let Some(next) = ledger.renewed_from(&record.serial) {
        if next.spki_sha256.as_deref() == Some(spki) && ledger.revocation(&next.serial).is_none() {
            return Ok(Plan::Repeat(
                Box::new(record.clone()),
                Box::new(next.clone()),
            ));
        }
        return Err(refused(record, "it was renewed already (for another key)"));
    }
    if !ledger.is_current(record) {
        return Err(refused(record, "it is superseded by a later certificate"));
    }
    let grace = policy.grace.map_or(time::Duration::ZERO, |g| g.duration());
    if now >= record.not_after + grace {
        return Err(refused(record, "it has expired"));
    }
    if !policy.allow_same_key && record.spki_sha256.as_deref() == Some(spki) {
        return Err(refused(
            record,
            "the request is for the same key (send a new one)",
        ));
    }
    Ok(Plan::Issue(Box::new(record.clone())))
}
