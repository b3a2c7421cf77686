//! `pgca rollover start SIDE --intermediate`: a hierarchy's issuing intermediate replaced under
//! the same root. The new intermediate (`server-issuing.next.crt`, `.next.key`) is signed by the
//! root every peer already trusts, so no trust file changes (`server-ca.crt` stays byte for
//! byte); `DIR/server-ca.crl` gains the new intermediate's CRL (PostgreSQL checks a CRL for every
//! CA of a chain), which `pgca renew` deploys. `switch` and `finish` are the rollover's own.

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::inventory::{Event, Ledger, RolloverStarted, RolloverStep};
use crate::model::kind::Side;
use crate::model::serial::Serial;
use crate::store::layout::CaDir;
use crate::store::options::{BACKDATE_SECONDS, DEFAULT_CA_VALIDITY};
use crate::x509::ca::{CaSigner, CaSlot};
use crate::x509::inspect::CertInfo;

impl CaDir {
    /// Phase 1 of an intermediate rollover: a new intermediate signed by the root, its record
    /// and the rollover's start committed, and the CRLs (when the side has them) signed by the
    /// root and both intermediates. With `compromised`, issuing moves to it at once.
    pub(crate) fn start_intermediate(
        &self,
        side: Side,
        validity: Option<crate::model::validity::Validity>,
        compromised: bool,
        now: OffsetDateTime,
    ) -> Result<()> {
        if !self.has_issuing(side) {
            return Err(Error::RolloverKind {
                side: side.name(),
                hierarchy: false,
            });
        }
        let root = CaSigner::load(self.root(), side, self.passphrase())?;
        let old = CaSigner::load_slot(self.root(), side, CaSlot::Issuing, self.passphrase())?;
        let _lock = self.write_lock()?;
        let ledger = self.read_inventory()?;
        if let Some(r) = ledger.rollover(side) {
            return Err(Error::RolloverUnderWay {
                side: side.name(),
                phase: r.phase.name(),
            });
        }
        let key_type = key_type_of(&ledger, &old.info.serial);
        let span = (
            now - time::Duration::seconds(BACKDATE_SECONDS),
            now + validity.unwrap_or(DEFAULT_CA_VALIDITY).duration(),
        );
        let encrypt = crate::x509::keys::is_encrypted_pem(&String::from_utf8_lossy(
            &zeroize::Zeroizing::new(crate::storage::read(
                &self.root().join(side.issuing_key_file()),
                "read CA key",
            )?),
        ));
        let made = crate::store::hierarchy::make_issuing(
            &root,
            &org_of(&old.info),
            key_type,
            span,
            side.next_issuing_key_file(),
            self.passphrase().filter(|_| encrypt),
        )?;
        // Under `.pending`: should this die before the commit, the write lock's recovery
        // removes the new intermediate's files, which nothing can have used.
        let mark = crate::store::hierarchy::issuing_pending_mark(side);
        self.begin_pending(&[mark])?;
        let mut events = vec![
            Event::Issued(crate::store::hierarchy::issuing_record(
                &made,
                &root.info.serial,
                key_type,
                side.next_issuing_cert_file(),
                now,
            )),
            Event::RolloverStarted(RolloverStarted {
                side,
                old_ca: old.info.serial.clone(),
                new_ca: made.serial.clone(),
                compromised,
                intermediate: true,
                at: now,
            }),
        ];
        if compromised {
            events.push(Event::RolloverSwitched(RolloverStep {
                side,
                old_ca: old.info.serial.clone(),
                new_ca: made.serial.clone(),
                at: now,
            }));
        }
        let published: Vec<_> = crate::inventory::PublishedFile::new(
            side.next_issuing_cert_file(),
            made.cert_pem.clone(),
        )
        .into_iter()
        .collect();
        let committed = self
            .write_next_issuing(&made)
            .and_then(|()| self.append_events_with(&events, &published));
        if let Err(e) = committed {
            for name in [side.next_issuing_key_file(), side.next_issuing_cert_file()] {
                let _ = std::fs::remove_file(self.root().join(name));
            }
            let _ = self.end_pending();
            return Err(e);
        }
        self.end_pending()?;
        let ledger = self.read_inventory()?;
        if ledger.last_crl(side.ca_kind()).is_some() || self.crl_path(side).exists() {
            self.reissue_crl_locked(side, &ledger, now)?;
        }
        Ok(())
    }

    /// The certificate file of a rollover's new CA: the new intermediate's for an intermediate
    /// rollover, else the new root's.
    pub(crate) fn rollover_new_cert_path(
        &self,
        side: Side,
        intermediate: bool,
    ) -> std::path::PathBuf {
        if intermediate {
            self.next_issuing_cert_path(side)
        } else {
            self.next_ca_cert_path(side)
        }
    }
}

/// The key type recorded for a CA, or the default.
fn key_type_of(ledger: &Ledger, serial: &Serial) -> crate::x509::keys::KeyType {
    ledger
        .issued()
        .iter()
        .find(|i| &i.serial == serial)
        .map(|i| i.key_type)
        .unwrap_or_default()
}

/// The organisation of a CA's subject (`O=Acme, CN=pgca server CA 3f9a1c2e`), for a new CA.
pub(crate) fn org_of(info: &CertInfo) -> String {
    info.subject
        .split(", ")
        .find_map(|p| p.strip_prefix("O="))
        .unwrap_or("pgca")
        .to_string()
}
