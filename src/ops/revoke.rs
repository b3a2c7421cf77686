//! Revocation: `pgca revoke`, the two CRLs (`DIR/client-ca.crl`, `DIR/server-ca.crl`), and
//! keeping them fresh.
//!
//! A CRL is created the first time a certificate of that CA is revoked (or with `pgca crl`);
//! from then on it must stay current: PostgreSQL refuses **every** client certificate of a CA
//! whose CRL in `ssl_crl_file` is past its nextUpdate, and libpq with `sslcrl` likewise refuses
//! the server. `pgca check` warns when a third of a CRL's period is left, `pgca renew` re-issues
//! it then and deploys it again.
//!
//! CRLs are v2 with a strictly increasing CRL number (recorded in the inventory), the
//! authorityKeyIdentifier of the CA, a reason code per entry, thisUpdate five minutes in the
//! past and nextUpdate 30 days later by default, but never after the CA certificate's notAfter:
//! nothing the CA signed is valid past it, and a CRL promising an update from an expired CA
//! would be a promise it cannot keep. The record of such a CRL says it was clamped.

use std::path::PathBuf;

use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevokedCertParams, SerialNumber};

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::inventory::{CrlRecord, Event, Ledger, Revocation};
use crate::model::kind::CertKind;
use crate::model::kind::Side;
use crate::model::reason::Reason;
use crate::model::reason::Scope;
use crate::model::serial::Serial;
use crate::model::timefmt;
use crate::model::validity::Validity;
use crate::storage;
use crate::store::layout::CaDir;
use crate::store::options::BACKDATE_SECONDS;
use crate::x509::ca::CaSigner;
use crate::x509::inspect::CrlInfo;

/// Default CRL period: 30 days. Short enough that a CRL a cron job forgot is noticed (check
/// warns after 20 days), long enough that a missed day or two does no harm.
pub const DEFAULT_CRL_VALIDITY: Validity = Validity::days(30);

/// What to revoke, why, and when.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RevokeRequest {
    /// A certificate's name (a role, a server's first name) or a serial (hex, `:` allowed).
    pub target: String,
    /// Why (written into the CRL entry).
    pub reason: Reason,
    /// Which certificates of a name: every unexpired one by default.
    pub scope: Scope,
    /// The CRL's period until nextUpdate; default the period it had, or 30 days.
    pub crl_validity: Option<Validity>,
    /// The time of revocation (tests); `None` for now.
    pub now: Option<OffsetDateTime>,
}

impl RevokeRequest {
    /// Revokes `target` for `reason`, every unexpired certificate of a name, now.
    pub fn new(target: impl Into<String>, reason: Reason) -> RevokeRequest {
        RevokeRequest {
            target: target.into(),
            reason,
            scope: Scope::default(),
            crl_validity: None,
            now: None,
        }
    }
}

/// What [`CaDir::revoke`] did.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Revoked {
    /// Certificates revoked now (kind, name, serial).
    pub revoked: Vec<(CertKind, String, Serial)>,
    /// Certificates that were revoked already (nothing to do for them).
    pub already: Vec<(CertKind, String, Serial)>,
    /// The CRL written, if any.
    pub crl: Option<PathBuf>,
    /// Its record: number, thisUpdate, nextUpdate, and whether nextUpdate was clamped to the
    /// CA's expiry.
    pub crl_record: Option<CrlRecord>,
    /// Data directories the new client CRL was deployed to.
    pub redeployed: Vec<PathBuf>,
    /// Certificates of the name that stay valid ([`Scope::Current`]).
    pub still_valid: Vec<(CertKind, String, Serial)>,
}

impl CaDir {
    /// Revokes the certificate with serial `target`, or the certificates named `target` (by
    /// `scope`: every unexpired one by default), and writes that CA's CRL. Revoking what is
    /// revoked already changes nothing. The CAs themselves cannot be revoked. A revoked name
    /// stays revoked: nothing renews, deploys or installs it until it is issued again
    /// explicitly, and a revoked certificate's key is never certified again.
    pub fn revoke(&self, req: &RevokeRequest) -> Result<Revoked> {
        self.revoke_many(std::slice::from_ref(&req.target), req)
    }

    /// Revokes every target of `targets` (names or serials, all of one side) as
    /// [`CaDir::revoke`] does one, in one step: one inventory append, one CRL, one
    /// redeployment; `req`'s target is ignored, its reason, scope and CRL period apply to all.
    /// Nothing is revoked if any target is unknown or the sides differ.
    pub fn revoke_many(&self, targets: &[String], req: &RevokeRequest) -> Result<Revoked> {
        let now = req.now.unwrap_or_else(timefmt::now);
        let (reason, scope, crl_validity) = (req.reason, req.scope, req.crl_validity);
        let mut out = Revoked {
            revoked: Vec::new(),
            already: Vec::new(),
            crl: None,
            crl_record: None,
            redeployed: Vec::new(),
            still_valid: Vec::new(),
        };
        let side = {
            let _lock = self.write_lock()?;
            let ledger = self.read_inventory()?;
            let mut all = Vec::new();
            for target in targets {
                let (found, still_valid) = resolve(&ledger, target, scope, now, self)?;
                all.extend(found);
                out.still_valid.extend(still_valid);
            }
            let Some(first) = all.first() else {
                return Ok(out);
            };
            let side = if first.0 == CertKind::Server {
                Side::Server
            } else {
                Side::Client
            };
            if let Some(other) = all
                .iter()
                .find(|t| (t.0 == CertKind::Server) != (side == Side::Server))
            {
                return Err(Error::MixedRevocation {
                    first: first.1.clone(),
                    other: other.1.clone(),
                });
            }
            all.sort_by(|a, b| a.2.cmp(&b.2));
            all.dedup_by(|a, b| a.2 == b.2);
            let targets = all;
            // The CA keys first: a wrong passphrase must leave the inventory untouched.
            let signers = self.crl_signers(side, &ledger)?;
            let mut events = Vec::new();
            for (kind, name, serial) in targets {
                if ledger.revocation(&serial).is_some() {
                    out.already.push((kind, name, serial));
                } else {
                    events.push(Event::Revoked(Revocation {
                        serial: serial.clone(),
                        kind,
                        name: name.clone(),
                        reason,
                        at: now,
                        spki_sha256: self.key_fingerprint(&ledger, &serial),
                    }));
                    out.revoked.push((kind, name, serial));
                }
            }
            if events.is_empty() {
                return Ok(out);
            }
            self.append_events(&events)?;
            let ledger = self.read_inventory()?;
            let validity = crl_validity.unwrap_or_else(|| period_of(&ledger, side));
            out.crl_record = Some(self.write_crl(&signers, &ledger, validity, now)?);
            out.crl = Some(self.crl_path(side));
            side
        };
        if side == Side::Client {
            out.redeployed = self.redeploy_all()?;
        }
        Ok(out)
    }

    /// Writes both CRLs afresh (`pgca crl`): the revoked certificates of each CA, the next CRL
    /// number, `validity` (default: the period each CRL had, or 30 days) until nextUpdate, or
    /// until the CA expires if that is sooner (the records say so).
    pub fn issue_crls(
        &self,
        validity: Option<Validity>,
        now: Option<OffsetDateTime>,
    ) -> Result<Vec<CrlRecord>> {
        let now = now.unwrap_or_else(timefmt::now);
        let records = {
            let _lock = self.write_lock()?;
            let ledger = self.read_inventory()?;
            let mut records = Vec::new();
            let signers = Side::BOTH
                .iter()
                .map(|&side| self.crl_signers(side, &ledger))
                .collect::<Result<Vec<_>>>()?;
            for (side, signers) in Side::BOTH.into_iter().zip(&signers) {
                let v = validity.unwrap_or_else(|| period_of(&ledger, side));
                records.push(self.write_crl(signers, &ledger, v, now)?);
            }
            records
        };
        self.redeploy_all()?;
        Ok(records)
    }

    /// Re-issues one CRL with the period it had (for `renew`); the caller deploys.
    pub(crate) fn reissue_crl(&self, side: Side, now: OffsetDateTime) -> Result<CrlRecord> {
        let _lock = self.write_lock()?;
        let ledger = self.read_inventory()?;
        self.reissue_crl_locked(side, &ledger, now)
    }

    /// [`CaDir::reissue_crl`] under a write lock the caller holds, from `ledger` as read there.
    pub(crate) fn reissue_crl_locked(
        &self,
        side: Side,
        ledger: &Ledger,
        now: OffsetDateTime,
    ) -> Result<CrlRecord> {
        let signers = self.crl_signers(side, ledger)?;
        self.write_crl(&signers, ledger, period_of(ledger, side), now)
    }

    /// Signs and writes the CRL of `side` from the revocations in `ledger`, records it. Must be
    /// called under the write lock. nextUpdate is `now + validity`, or the CA's notAfter when
    /// that is sooner; an expired CA signs no CRL. During a rollover each CA of the bundle signs
    /// one, under the same number, and `DIR/server-ca.crl` holds both in bundle order.
    fn write_crl(
        &self,
        signers: &[CaSigner],
        ledger: &Ledger,
        validity: Validity,
        now: OffsetDateTime,
    ) -> Result<CrlRecord> {
        let side = signers[0].side;
        // Above the last recorded number, and above the CRL on disk (which the evidence check has
        // already held to the record): a CRL number never goes backwards (RFC 5280 §5.2.3).
        let on_disk = CrlInfo::from_file(&self.crl_path(side))
            .ok()
            .and_then(|c| c.number);
        let number = ledger
            .last_crl(side.ca_kind())
            .map(|c| c.number)
            .max(on_disk)
            .map_or(1, |n| n + 1);
        let ca_not_after = signers
            .iter()
            .map(|s| s.info.not_after)
            .min()
            .unwrap_or(now);
        if let Some(expired) = signers.iter().find(|s| now >= s.info.not_after) {
            return Err(Error::CaExpired {
                ca: side.name(),
                not_after: expired.info.not_after,
                now,
            });
        }
        let this_update = now - time::Duration::seconds(BACKDATE_SECONDS);
        let wanted = now + validity.duration();
        let clamped = wanted > ca_not_after;
        let next_update = if clamped { ca_not_after } else { wanted };
        // In a hierarchy the root's CRL lists revoked intermediates, the intermediates' list
        // the revoked leaves.
        let hierarchy = self.has_issuing(side);
        let mut pem = String::new();
        for ca in signers {
            let lists = if hierarchy && !ca.slot.is_issuing() {
                side.ca_kind()
            } else {
                side.leaf_kind()
            };
            pem.push_str(&sign_crl(
                ca,
                ledger,
                (this_update, next_update),
                number,
                lists,
            )?);
        }
        let record = CrlRecord {
            ca: side.ca_kind(),
            number,
            this_update,
            next_update,
            clamped_to_ca_expiry: false,
        };
        // The record before the file: a CRL on disk whose number the inventory does not know is
        // evidence of a damaged inventory (store/evidence.rs), which a crash here must not fake.
        // With the inventory in a database the CRL is committed with its record, for the
        // `serve` hosts that hold no copy of this directory.
        let published: Vec<_> = self
            .inventory_db()
            .and_then(|_| {
                let name = self.crl_path(side).file_name()?.to_str()?.to_string();
                crate::inventory::PublishedFile::new(name, pem.as_bytes())
            })
            .into_iter()
            .collect();
        self.append_events_with(&[Event::CrlIssued(record.clone())], &published)?;
        storage::replace_file(
            &self.crl_path(side),
            pem.as_bytes(),
            storage::PUBLIC_MODE,
            "write CRL",
        )?;
        Ok(CrlRecord {
            clamped_to_ca_expiry: clamped,
            ..record
        })
    }

    /// Deploys every recorded server deployment again (a new client CRL goes with it).
    pub(crate) fn redeploy_all(&self) -> Result<Vec<PathBuf>> {
        let ledger = self.inventory()?;
        let mut done = Vec::new();
        for d in ledger.deployments() {
            // A revoked server certificate is never deployed again.
            let live = ledger
                .current(CertKind::Server, &d.name)
                .is_some_and(|c| ledger.revocation(&c.serial).is_none());
            if live {
                let to = &d.data_dir;
                done.push(
                    self.deploy_server_to(&d.name, to, d.owner.as_deref(), d.data_dir_uid)?
                        .data_dir,
                );
            }
        }
        Ok(done)
    }
}

/// One CA's CRL (PEM): every revoked certificate of kind `lists` (its side's leaves, or for a
/// hierarchy's root its intermediates) (a serial of the other CA of a
/// rollover is listed too: serials are random and never shared, and a revoked certificate stays
/// revoked everywhere).
fn sign_crl(
    ca: &CaSigner,
    ledger: &Ledger,
    (this_update, next_update): (OffsetDateTime, OffsetDateTime),
    number: u64,
    lists: CertKind,
) -> Result<String> {
    let issuer = ca.issuer()?;
    let ski = ca
        .info
        .subject_key_id
        .as_deref()
        .and_then(|s| crate::model::hex::decode(&s.replace(':', "")));
    let params = CertificateRevocationListParams {
        this_update,
        next_update,
        crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs: ledger
            .revocations()
            .filter(|r| r.kind == lists)
            .map(|r| RevokedCertParams {
                serial_number: SerialNumber::from_slice(r.serial.as_bytes()),
                revocation_time: r.at,
                reason_code: Some(rcgen_reason(r.reason)),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: match ski {
            Some(ski) => KeyIdMethod::PreSpecified(ski),
            None => KeyIdMethod::Sha256,
        },
    };
    let crl = params
        .signed_by(&issuer)
        .map_err(|e| ca.explain(Error::rcgen("signing the CRL")(e)))?;
    crl.pem().map_err(Error::rcgen("encoding the CRL"))
}

/// The period of the last CRL of `side`, or the default.
fn period_of(ledger: &Ledger, side: Side) -> Validity {
    ledger
        .last_crl(side.ca_kind())
        .and_then(|c| {
            Validity::from_seconds(
                (c.next_update - c.this_update).whole_seconds() - BACKDATE_SECONDS,
            )
        })
        .unwrap_or(DEFAULT_CRL_VALIDITY)
}

/// `ab:cd` → bytes.
/// A revocation target: kind, name, serial.
type Target = (CertKind, String, Serial);

/// The certificates `target` names: a serial, or a name (by `scope`); and, for
/// [`Scope::Current`], the other certificates of the name that stay valid.
fn resolve(
    ledger: &Ledger,
    target: &str,
    scope: Scope,
    now: OffsetDateTime,
    ca: &CaDir,
) -> Result<(Vec<Target>, Vec<Target>)> {
    if let Ok(serial) = target.parse::<Serial>()
        && let Some(i) = ledger.issued().iter().find(|i| i.serial == serial)
    {
        if i.kind.is_ca() {
            return Err(Error::RevokeCa(i.kind.name()));
        }
        return Ok((vec![(i.kind, i.name.clone(), serial)], Vec::new()));
    }
    if target == "server-ca" || target == "client-ca" {
        return Err(Error::RevokeCa(if target == "server-ca" {
            "server-ca"
        } else {
            "client-ca"
        }));
    }
    let named: Vec<_> = ledger
        .issued()
        .iter()
        .filter(|i| !i.kind.is_ca() && i.name == target)
        .collect();
    if named.is_empty() {
        return Err(Error::NotFound {
            target: target.to_string(),
            dir: ca.root().to_path_buf(),
            serial_like: target.parse::<Serial>().is_ok(),
        });
    }
    let kinds: std::collections::HashSet<CertKind> = named.iter().map(|i| i.kind).collect();
    if kinds.len() > 1 {
        return Err(Error::Ambiguous(target.to_string()));
    }
    let unexpired = |i: &&crate::inventory::Issued| i.not_after > now;
    let chosen = |i: &&crate::inventory::Issued| match scope {
        Scope::All => true,
        Scope::Unexpired => unexpired(i) || ledger.is_current(i),
        Scope::Current => ledger.is_current(i),
    };
    let entry = |i: &crate::inventory::Issued| (i.kind, i.name.clone(), i.serial.clone());
    let targets = named
        .iter()
        .filter(|i| chosen(i))
        .map(|i| entry(i))
        .collect();
    let still_valid = named
        .iter()
        .filter(|i| !chosen(i) && unexpired(i) && ledger.revocation(&i.serial).is_none())
        .map(|i| entry(i))
        .collect();
    Ok((targets, still_valid))
}

impl CaDir {
    /// The SHA-256 of the public key a recorded certificate certifies: from its record, or
    /// (records older than that field) from its archived copy, if it is still there.
    fn key_fingerprint(&self, ledger: &Ledger, serial: &Serial) -> Option<String> {
        let i = ledger.issued().iter().find(|i| &i.serial == serial)?;
        if let Some(h) = &i.spki_sha256 {
            return Some(h.clone());
        }
        let info = crate::x509::inspect::CertInfo::from_file(&self.root().join(&i.cert)).ok()?;
        Some(crate::model::hex::sha256(&info.spki_der))
    }
}

/// The reason as rcgen writes it into a CRL entry.
fn rcgen_reason(r: Reason) -> rcgen::RevocationReason {
    use rcgen::RevocationReason as R;
    match r {
        Reason::Unspecified => R::Unspecified,
        Reason::KeyCompromise => R::KeyCompromise,
        Reason::CaCompromise => R::CaCompromise,
        Reason::AffiliationChanged => R::AffiliationChanged,
        Reason::Superseded => R::Superseded,
        Reason::CessationOfOperation => R::CessationOfOperation,
        Reason::PrivilegeWithdrawn => R::PrivilegeWithdrawn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_parse_by_their_rfc_names() {
        for r in Reason::ALL {
            assert_eq!(r.name().parse::<Reason>().unwrap(), r);
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.name())
            );
        }
        assert_eq!(
            "KEYCOMPROMISE".parse::<Reason>().unwrap(),
            Reason::KeyCompromise
        );
        assert!("stolen".parse::<Reason>().is_err());
    }
}
