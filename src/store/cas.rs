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

    /// The signer of new certificates of `side`: the new CA once a rollover has switched,
    /// otherwise the CA in use. Reads the inventory only while a new CA is on disk.
    pub(crate) fn issuing_signer(&self, side: Side) -> Result<CaSigner> {
        let slot = if self.has_next_ca(side) {
            let ledger = self.inventory()?;
            if ledger.rollover(side).is_none() {
                // A finish a crash cut short: the write lock completes it first.
                drop(self.write_lock()?);
            }
            issuing_slot(ledger.rollover(side))
        } else {
            CaSlot::Current
        };
        CaSigner::load_slot(&self.root, side, slot, self.passphrase.as_ref())
    }

    /// Under the write lock: whether `signer` is still the one that must sign for its side (a
    /// rollover may have switched since it was loaded).
    pub(crate) fn still_issuing(&self, signer: &CaSigner, ledger: &Ledger) -> bool {
        let slot = issuing_slot(ledger.rollover(signer.side));
        let want = match (slot, ledger.rollover(signer.side)) {
            (CaSlot::Next, Some(r)) => &r.new_ca,
            (_, Some(r)) => &r.old_ca,
            (_, None) => return slot == signer.slot,
        };
        signer.slot == slot && &signer.info.serial == want
    }

    /// Whether `DIR/server-ca.crl` lacks a CRL for a CA of the bundle (a rollover start cut
    /// short after its commit): then it is written again, or PostgreSQL refuses every
    /// certificate of that CA once a CRL is configured.
    pub(crate) fn crl_bundle_incomplete(&self, side: Side) -> bool {
        let crls = storage::read(&self.crl_path(side), "read CRL")
            .ok()
            .and_then(|b| crate::x509::pem::all_blocks(&b, "X509 CRL").ok())
            .map_or(0, |c| c.len());
        let cas = self.trusted_cas(side).map_or(1, |c| c.len());
        crls != cas
    }

    /// Every CA of `side` that signs a CRL: the CA in use, and a rollover's new CA.
    pub(crate) fn crl_signers(&self, side: Side, ledger: &Ledger) -> Result<Vec<CaSigner>> {
        let mut signers = vec![CaSigner::load(&self.root, side, self.passphrase.as_ref())?];
        if ledger.rollover(side).is_some() {
            signers.push(CaSigner::load_slot(
                &self.root,
                side,
                CaSlot::Next,
                self.passphrase.as_ref(),
            )?);
        }
        Ok(signers)
    }
}

/// Which CA signs for a side in the phase the inventory gives.
pub(crate) fn issuing_slot(rollover: Option<&Rollover>) -> CaSlot {
    match rollover.map(|r| r.phase) {
        Some(RolloverPhase::IssueNew) => CaSlot::Next,
        _ => CaSlot::Current,
    }
}
