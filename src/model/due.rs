//! When a certificate or CRL is due: the one rule, and the states it gives.

use time::OffsetDateTime;

use crate::model::kind::CertState;
use crate::model::validity::Validity;

impl CertState {
    /// The state of a current (not superseded) certificate at `now`, due by the default rule
    /// (see [`is_due`]).
    pub fn at(
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        now: OffsetDateTime,
    ) -> CertState {
        CertState::at_within(not_before, not_after, now, None)
    }

    /// The state of a current certificate (or a CRL's period) at `now`, due by [`is_due`] with
    /// `within`.
    pub fn at_within(
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        now: OffsetDateTime,
        within: Option<Validity>,
    ) -> CertState {
        if now < not_before {
            CertState::NotYetValid
        } else if now >= not_after {
            CertState::Expired
        } else if is_due(not_before, not_after, now, within) {
            CertState::Due
        } else {
            CertState::Valid
        }
    }
}

/// The one rule for when a certificate (or a CRL) is due for renewal: with `within`, when less
/// than that is left; otherwise when less than a third of its lifetime is left, compared exactly
/// in seconds: `3 × (not_after − now) < not_after − not_before`. `check` warns, `renew` renews,
/// and `list` shows `due` by it.
pub fn is_due(
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    now: OffsetDateTime,
    within: Option<Validity>,
) -> bool {
    let left = (not_after - now).whole_seconds() as i128;
    match within {
        Some(w) => left < w.seconds() as i128,
        None => 3 * left < (not_after - not_before).whole_seconds() as i128,
    }
}
