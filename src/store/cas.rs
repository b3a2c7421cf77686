//! A side's CAs: the one in use and, during a rollover, the new one beside it; which of them
//! signs; and the trust bundle both are published in.
//!
//! `DIR/server-ca.crt` is what every trust output copies (deployments, installs, exports,
//! service entries point at it): outside a rollover it holds the server CA, during one the CA
//! in use followed by the new CA. The new CA's own certificate and key are
//! `server-ca.next.crt` and `server-ca.next.key` (or `.next.pkcs11`) until the rollover
//! finishes; `DIR/server-ca.crl` likewise holds a CRL of each CA in the bundle, in the same
//! order, under one CRL number.

use crate::error::{Error, Result};
use crate::inventory::{Ledger, Rollover, RolloverPhase};
use crate::model::kind::Side;
use crate::storage;
use crate::store::layout::CaDir;
use crate::x509::ca::{CaSigner, CaSlot};
use crate::x509::inspect::CertInfo;

impl CaDir {
    /// The path of a rollover's new CA certificate (`DIR/server-ca.next.crt`).
    pub fn next_ca_cert_path(&self, side: Side) -> std::path::PathBuf {
        self.root.join(side.next_ca_cert_file())
    }

    /// Whether a rollover's new CA is on disk: only then can a rollover be under way, and only
    /// then is the inventory read to choose the signer.
    pub(crate) fn has_next_ca(&self, side: Side) -> bool {
        self.next_ca_cert_path(side).symlink_metadata().is_ok()
    }

    /// The CAs a side's peers trust, in bundle order (the CA in use first), read from
    /// `DIR/server-ca.crt`.
    pub fn trusted_cas(&self, side: Side) -> Result<Vec<CertInfo>> {
        let path = self.ca_cert_path(side);
        let bytes = storage::read(&path, "read CA certificate")?;
        let bad = |reason| Error::BadCert {
            path: path.clone(),
            reason,
        };
        crate::x509::pem::all_cert_ders(&bytes)
            .map_err(bad)?
            .iter()
            .map(|der| CertInfo::from_der(der).map_err(bad))
            .collect()
    }

    /// The signer of new certificates of `side`: in a hierarchy its issuing intermediate (the
    /// new one once an intermediate rollover has switched), otherwise the new CA once a rollover
    /// has switched, or the CA in use. Reads the inventory only while a new CA is on disk.
    pub(crate) fn issuing_signer(&self, side: Side) -> Result<CaSigner> {
        let slot = self.issuing_slot_now(side)?;
        self.load_signer(side, slot)
    }

    /// The certificate of [`CaDir::issuing_signer`]'s CA, its key left alone.
    pub(crate) fn issuing_ca_info(&self, side: Side) -> Result<CertInfo> {
        let path = self.root.join(self.issuing_slot_now(side)?.files(side)[0]);
        let bytes = storage::read(&path, "read CA certificate")?;
        let bad = |reason| Error::BadCert {
            path: path.clone(),
            reason,
        };
        let der = crate::x509::pem::first_cert_der(&bytes).map_err(bad)?;
        CertInfo::from_der(&der).map_err(bad)
    }

    /// Which slot signs for `side` now (see [`CaDir::issuing_signer`]).
    fn issuing_slot_now(&self, side: Side) -> Result<CaSlot> {
        let hierarchy = self.has_issuing(side);
        Ok(
            if self.has_next_ca(side) || (hierarchy && self.has_next_issuing(side)) {
                let ledger = self.inventory()?;
                if ledger.rollover(side).is_none() {
                    // A finish a crash cut short: the write lock completes it first.
                    drop(self.write_lock()?);
                }
                issuing_slot(hierarchy, ledger.rollover(side))
            } else if hierarchy {
                CaSlot::Issuing
            } else {
                CaSlot::Current
            },
        )
    }

    /// Under the write lock: whether `signer` is still the one that must sign for its side (a
    /// rollover may have switched, or finished, since it was loaded).
    pub(crate) fn still_issuing(&self, signer: &CaSigner, ledger: &Ledger) -> bool {
        let hierarchy = self.has_issuing(signer.side);
        let slot = issuing_slot(hierarchy, ledger.rollover(signer.side));
        let want = match (slot, ledger.rollover(signer.side)) {
            (CaSlot::Next | CaSlot::NextIssuing, Some(r)) => &r.new_ca,
            (_, Some(r)) => &r.old_ca,
            (CaSlot::Issuing, None) => {
                let current = ledger.current(signer.side.ca_kind(), signer.side.issuing_name());
                return signer.slot == slot
                    && current.is_some_and(|c| c.serial == signer.info.serial);
            }
            (_, None) => return slot == signer.slot,
        };
        signer.slot == slot && &signer.info.serial == want
    }

    /// Whether `DIR/server-ca.crl` lacks a CRL for a CA that signs one (a rollover start cut
    /// short after its commit): then it is written again, or PostgreSQL refuses every
    /// certificate of that CA once a CRL is configured.
    pub(crate) fn crl_bundle_incomplete(&self, side: Side) -> bool {
        let crls = storage::read(&self.crl_path(side), "read CRL")
            .ok()
            .and_then(|b| crate::x509::pem::all_blocks(&b, "X509 CRL").ok())
            .map_or(0, |c| c.len());
        let roots = self.trusted_cas(side).map_or(1, |c| c.len());
        let issuing =
            usize::from(self.has_issuing(side)) + usize::from(self.has_next_issuing(side));
        crls != roots + issuing
    }

    /// Every CA of `side` that signs a CRL, in the order of `DIR/server-ca.crl`: the CA in use
    /// (a hierarchy's root), a rollover's new CA; in a hierarchy then the intermediate in use and
    /// an intermediate rollover's new one.
    pub(crate) fn crl_signers(&self, side: Side, ledger: &Ledger) -> Result<Vec<CaSigner>> {
        let pass = self.passphrase.as_ref();
        let mut signers = vec![CaSigner::load(&self.root, side, pass)?];
        let rollover = ledger.rollover(side);
        if rollover.is_some_and(|r| !r.intermediate) {
            signers.push(CaSigner::load_slot(&self.root, side, CaSlot::Next, pass)?);
        }
        if self.has_issuing(side) {
            signers.push(CaSigner::load_slot(
                &self.root,
                side,
                CaSlot::Issuing,
                pass,
            )?);
            if rollover.is_some_and(|r| r.intermediate) {
                signers.push(CaSigner::load_slot(
                    &self.root,
                    side,
                    CaSlot::NextIssuing,
                    pass,
                )?);
            }
        }
        Ok(signers)
    }
}

/// Which CA signs for a side in the phase the inventory gives; `hierarchy`: the side has an
/// issuing intermediate (its rollovers replace the intermediate).
pub(crate) fn issuing_slot(hierarchy: bool, rollover: Option<&Rollover>) -> CaSlot {
    let switched = rollover.is_some_and(|r| r.phase == RolloverPhase::IssueNew);
    match (hierarchy, switched) {
        (true, true) => CaSlot::NextIssuing,
        (true, false) => CaSlot::Issuing,
        (false, true) => CaSlot::Next,
        (false, false) => CaSlot::Current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signing_slot_by_hierarchy_and_phase() {
        let mut r = Rollover {
            side: Side::Client,
            phase: RolloverPhase::TrustBoth,
            old_ca: "01".parse().unwrap(),
            new_ca: "02".parse().unwrap(),
            started_at: time::OffsetDateTime::UNIX_EPOCH,
            switched_at: None,
            compromised: false,
            intermediate: true,
        };
        assert_eq!(issuing_slot(false, None), CaSlot::Current);
        assert_eq!(issuing_slot(true, None), CaSlot::Issuing);
        assert_eq!(issuing_slot(true, Some(&r)), CaSlot::Issuing);
        r.phase = RolloverPhase::IssueNew;
        assert_eq!(issuing_slot(true, Some(&r)), CaSlot::NextIssuing);
        r.intermediate = false;
        assert_eq!(issuing_slot(false, Some(&r)), CaSlot::Next);
    }
}
