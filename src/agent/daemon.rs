//! `pgca agent` without `--once`: rounds until the process is stopped. After a good round it
//! sleeps until the certificate is due (at least a second, at most an hour: the trust bundles
//! and the CRL are refreshed on every round, which is how a rollover reaches the host); after a
//! round that did not go well, or failed outright, it backs off (5 s doubling to 10 minutes).
//! A failed round never ends the loop: a CA or server down for an hour must not leave the host
//! without its agent.

use std::time::Duration;

use time::OffsetDateTime;

use crate::agent::renew::{AgentOptions, AgentReport, agent_once};
use crate::agent::schedule::Backoff;
use crate::error::Result;
use crate::model::status::Status;

/// The first wait after a failed round.
pub const RETRY_FIRST: Duration = Duration::from_secs(5);
/// The longest wait after failed rounds.
pub const RETRY_MAX: Duration = Duration::from_secs(600);
/// The longest sleep between good rounds.
pub const ROUND_MAX: Duration = Duration::from_secs(3600);

/// Runs rounds for ever; `each` is told every round's report or error (`--force` applies to
/// the first round only).
pub fn agent_loop(mut opts: AgentOptions, mut each: impl FnMut(&Result<AgentReport>)) -> ! {
    let mut backoff = Backoff::new(RETRY_FIRST, RETRY_MAX);
    loop {
        let round = agent_once(&opts);
        each(&round);
        opts.force = false;
        std::thread::sleep(next_wait(
            &round,
            crate::model::timefmt::now(),
            &mut backoff,
        ));
    }
}

/// How long to sleep after `round`, at `now`.
pub fn next_wait(
    round: &Result<AgentReport>,
    now: OffsetDateTime,
    backoff: &mut Backoff,
) -> Duration {
    match round {
        Ok(report) if report.status == Status::Ok => {
            backoff.reset();
            let until = (report.due_at - now).max(time::Duration::ZERO);
            Duration::try_from(until)
                .unwrap_or_default()
                .clamp(Duration::from_secs(1), ROUND_MAX)
        }
        _ => backoff.next_wait(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use time::macros::datetime;

    fn report(status: Status, due_at: OffsetDateTime) -> Result<AgentReport> {
        Ok(AgentReport {
            status,
            renewed: None,
            serial: "01".parse().unwrap(),
            due_at,
            refreshed: false,
            summary: String::new(),
        })
    }

    #[test]
    fn good_rounds_sleep_until_due_within_a_second_and_an_hour_and_bad_ones_back_off() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let mut b = Backoff::new(RETRY_FIRST, RETRY_MAX);
        let at = |s: i64| now + time::Duration::seconds(s);
        assert_eq!(
            next_wait(&report(Status::Ok, at(80)), now, &mut b),
            Duration::from_secs(80)
        );
        assert_eq!(
            next_wait(&report(Status::Ok, at(-5)), now, &mut b),
            Duration::from_secs(1)
        );
        assert_eq!(
            next_wait(&report(Status::Ok, at(86_400)), now, &mut b),
            ROUND_MAX
        );
        // A warning, a failed round: waits that double, whatever the due time says.
        let w1 = next_wait(&report(Status::Warning, at(80)), now, &mut b);
        let failed: Result<AgentReport> = Err(Error::CaRequest {
            url: "https://ca:8443".into(),
            status: None,
            reason: "connection refused".into(),
        });
        let w2 = next_wait(&failed, now, &mut b);
        let w3 = next_wait(&failed, now, &mut b);
        assert!(w1 >= RETRY_FIRST / 2 && w1 <= RETRY_FIRST, "{w1:?}");
        assert!(w2 >= RETRY_FIRST && w2 <= RETRY_FIRST * 2, "{w2:?}");
        assert!(w3 >= RETRY_FIRST * 2 && w3 <= RETRY_FIRST * 4, "{w3:?}");
        // A good round again starts the backoff over.
        next_wait(&report(Status::Ok, at(80)), now, &mut b);
        let w = next_wait(&failed, now, &mut b);
        assert!(w <= RETRY_FIRST, "{w:?}");
    }
}
