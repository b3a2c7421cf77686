//! What `check` and `verify` make of a rollover: which CAs a side trusts, which one signed a
//! leaf, a leaf still on the old CA after `switch`, a leaf on a CA nobody trusts any more, a CA
//! inside its rollover window with no rollover started.

use time::OffsetDateTime;

use crate::inventory::ledger::CurrentCert;
use crate::inventory::rollover::Rollovers;
use crate::inventory::{Rollover, RolloverPhase};
use crate::model::kind::Side;
use crate::model::serial::Serial;
use crate::model::status::Status;
use crate::model::validity::Validity;
use crate::store::layout::CaDir;

/// How much longer than its longest-lived leaf a CA must live before `check` warns that a
/// rollover is due: the time a rollover takes (every peer reloads twice), and slack.
pub const ROLLOVER_MARGIN: Validity = Validity::days(30);

/// One CA a side trusts.
#[derive(Clone, Debug)]
pub(crate) struct TrustedCa {
    pub(crate) serial: Serial,
    pub(crate) not_after: OffsetDateTime,
}

/// A side's CAs as `check` judges leaves against them.
#[derive(Clone, Debug, Default)]
pub(crate) struct SideCas {
    /// The bundle, the CA in use first.
    pub(crate) trusted: Vec<TrustedCa>,
    /// The rollover under way.
    pub(crate) rollover: Option<Rollover>,
    /// Whether a rollover of this side ever finished: a leaf recorded without its CA's serial
    /// (written before pgca kept it) was then on a CA since retired.
    pub(crate) retired_any: bool,
}

/// What a leaf's CA says of it.
pub(crate) struct CaVerdict {
    pub(crate) status: Status,
    /// On no trusted CA (else: on the old CA of a rollover).
    pub(crate) untrusted: bool,
    pub(crate) detail: String,
}

impl CaDir {
    /// A side's trusted CAs (its bundle) and its rollover, for `check`.
    pub(crate) fn side_cas(&self, side: Side, rollovers: &Rollovers) -> SideCas {
        let trusted = self
            .trusted_cas(side)
            .unwrap_or_default()
            .into_iter()
            .map(|c| TrustedCa {
                serial: c.serial,
                not_after: c.not_after,
            })
            // A hierarchy's leaves are on its intermediates, which chain to the root.
            .chain(
                self.issuing_cas(side)
                    .into_iter()
                    .map(|(_, _, c)| TrustedCa {
                        serial: c.serial,
                        not_after: c.not_after,
                    }),
            )
            .collect();
        SideCas {
            trusted,
            rollover: rollovers.of(side).cloned(),
            retired_any: rollovers.last_finished(side).is_some(),
        }
    }
}

impl SideCas {
    /// The trusted CA that signed a leaf, by its record; `None` when it is no CA of the bundle.
    pub(crate) fn signer_of(&self, cert: &CurrentCert) -> Option<&TrustedCa> {
        match &cert.ca_serial {
            Some(s) => self.trusted.iter().find(|c| &c.serial == s),
            // Recorded before pgca kept the CA's serial: signed by the side's first CA.
            None if !self.retired_any => self.trusted.first(),
            None => None,
        }
    }

    /// A leaf on no trusted CA (CRITICAL: every peer refuses it), or on the old CA after
    /// `switch` (WARNING: renew it; CRITICAL for a compromised CA). A revoked leaf is refused
    /// anyway and gets no verdict here.
    pub(crate) fn judge(&self, cert: &CurrentCert, revoked: bool) -> Option<CaVerdict> {
        if revoked {
            return None;
        }
        let Some(signer) = self.signer_of(cert) else {
            return Some(CaVerdict {
                status: Status::Critical,
                untrusted: true,
                detail: format!(
                    "{} {}: signed by a CA the directory no longer trusts: every peer refuses it; run pgca renew {} --force",
                    cert.kind, cert.name, cert.name
                ),
            });
        };
        let r = self.rollover.as_ref()?;
        if r.phase != RolloverPhase::IssueNew || signer.serial == r.new_ca {
            return None;
        }
        Some(CaVerdict {
            status: if r.compromised {
                Status::Critical
            } else {
                Status::Warning
            },
            untrusted: false,
            detail: format!(
                "{} {}: still signed by the old {} CA{}: run pgca renew",
                cert.kind,
                cert.name,
                r.side.name(),
                if r.compromised { " (compromised)" } else { "" }
            ),
        })
    }
}
