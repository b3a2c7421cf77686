//! CA rollovers as the inventory records them, and the phase each side is in.
//!
//! A rollover of a side (the server CA or the client CA) is three events: `rollover-started`
//! (a new CA beside the old one; every trust output carries both), `rollover-switched` (every
//! certificate of the side is signed by the new CA from now on) and `rollover-finished` (the
//! old CA is retired). `pgca rollover start --now` (a compromised CA) writes the first two in
//! one batch. The phase is derived from these events, never stored elsewhere.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::kind::Side;
use crate::model::serial::Serial;

/// A rollover begun (`pgca rollover start`): the new CA was created beside the old one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RolloverStarted {
    /// Which CA.
    pub side: Side,
    /// The serial of the CA being replaced.
    pub old_ca: Serial,
    /// The serial of the new CA.
    pub new_ca: Serial,
    /// Whether the old CA is taken for compromised (`--now`): issuing moved to the new CA at
    /// once, and `check` escalates until the rollover is finished.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compromised: bool,
    /// Whether it replaces the side's issuing intermediate (`--intermediate`), under the same
    /// root: no trust file changes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub intermediate: bool,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A rollover step after the start (`pgca rollover switch`, `pgca rollover finish`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RolloverStep {
    /// Which CA.
    pub side: Side,
    /// The serial of the CA being replaced.
    pub old_ca: Serial,
    /// The serial of the new CA.
    pub new_ca: Serial,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Where a rollover stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RolloverPhase {
    /// Phase 1: both CAs are trusted, the old one still signs.
    TrustBoth,
    /// Phase 2: both CAs are trusted, the new one signs; every leaf of the old one is due.
    IssueNew,
}

impl RolloverPhase {
    /// `trust-both` or `issue-new`.
    pub fn name(self) -> &'static str {
        match self {
            RolloverPhase::TrustBoth => "trust-both",
            RolloverPhase::IssueNew => "issue-new",
        }
    }
}

/// A rollover under way, as the inventory says.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rollover {
    /// Which CA.
    pub side: Side,
    /// The phase.
    pub phase: RolloverPhase,
    /// The serial of the CA being replaced.
    pub old_ca: Serial,
    /// The serial of the new CA.
    pub new_ca: Serial,
    /// When it started.
    pub started_at: OffsetDateTime,
    /// When issuing moved to the new CA.
    pub switched_at: Option<OffsetDateTime>,
    /// Whether it was started for a compromised CA (`--now`).
    pub compromised: bool,
    /// Whether it replaces the issuing intermediate (the old and new serials are
    /// intermediates'), not the root.
    pub intermediate: bool,
}

/// The rollover of each side folded from the events, and the last one finished.
#[derive(Clone, Debug, Default)]
pub(crate) struct Rollovers {
    under_way: [Option<Rollover>; 2],
    finished: [Option<RolloverStep>; 2],
}

fn slot(side: Side) -> usize {
    usize::from(side == Side::Client)
}

impl Rollovers {
    /// The rollover of `side` under way, if any.
    pub(crate) fn of(&self, side: Side) -> Option<&Rollover> {
        self.under_way[slot(side)].as_ref()
    }

    /// The last rollover of `side` finished, if any.
    pub(crate) fn last_finished(&self, side: Side) -> Option<&RolloverStep> {
        self.finished[slot(side)].as_ref()
    }

    pub(crate) fn started(&mut self, s: RolloverStarted) {
        self.under_way[slot(s.side)] = Some(Rollover {
            side: s.side,
            phase: RolloverPhase::TrustBoth,
            old_ca: s.old_ca,
            new_ca: s.new_ca,
            started_at: s.at,
            switched_at: None,
            compromised: s.compromised,
            intermediate: s.intermediate,
        });
    }

    pub(crate) fn switched(&mut self, s: RolloverStep) {
        if let Some(r) = self.under_way[slot(s.side)].as_mut() {
            r.phase = RolloverPhase::IssueNew;
            r.switched_at = Some(s.at);
        }
    }

    pub(crate) fn finished(&mut self, s: RolloverStep) {
        let at = slot(s.side);
        self.under_way[at] = None;
        self.finished[at] = Some(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn serial(b: u8) -> Serial {
        Serial::from_bytes(&[b; 16])
    }

    fn step(side: Side, at: OffsetDateTime) -> RolloverStep {
        RolloverStep {
            side,
            old_ca: serial(1),
            new_ca: serial(2),
            at,
        }
    }

    #[test]
    fn phases_follow_the_events_per_side() {
        let t = datetime!(2026-12-01 0:00 UTC);
        let mut r = Rollovers::default();
        assert!(r.of(Side::Client).is_none());
        r.started(RolloverStarted {
            side: Side::Client,
            old_ca: serial(1),
            new_ca: serial(2),
            compromised: false,
            intermediate: false,
            at: t,
        });
        let under_way = r.of(Side::Client).unwrap();
        assert_eq!(under_way.phase, RolloverPhase::TrustBoth);
        assert!(
            r.of(Side::Server).is_none(),
            "one side's rollover is not the other's"
        );
        // A switch for a side with no rollover changes nothing.
        r.switched(step(Side::Server, t));
        assert!(r.of(Side::Server).is_none());
        r.switched(step(Side::Client, t));
        assert_eq!(r.of(Side::Client).unwrap().phase, RolloverPhase::IssueNew);
        assert_eq!(r.of(Side::Client).unwrap().switched_at, Some(t));
        r.finished(step(Side::Client, t));
        assert!(r.of(Side::Client).is_none());
        assert_eq!(r.last_finished(Side::Client).unwrap().new_ca, serial(2));
    }
}
