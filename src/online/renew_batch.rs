//! Renewals that arrive together, committed together: `pgca serve`'s group commit. One read of
//! the inventory plans them all, one locked batch per side signs and records them, and one
//! commit (the archive made durable, one inventory append) makes every certificate of the batch
//! durable before any is handed out. What a batch cannot take (two renewals of one name, a
//! renewal asked for another time, a batch whose guard finds the inventory changed under it)
//! is renewed on its own afterwards, by [`CaDir::renew_online`], with the same answers.

use crate::error::Result;
use crate::inventory::Ledger;
use crate::model::kind::Side;
use crate::online::enroll::OnlineIssued;
use crate::online::renew::{
    OnlineRenewRequest, Plan, Presented, RenewPolicy, refused, successor_request,
};
use crate::store::layout::CaDir;

/// One renewal a batch issues: its index among the requests and what it renews.
struct Member {
    index: usize,
    presented: Presented,
    record: Box<crate::inventory::Issued>,
}

impl CaDir {
    /// Renews each of `reqs` as [`CaDir::renew_online`] would, one answer per request in
    /// order, sharing the inventory reads and the commit among them.
    pub fn renew_online_batch(
        &self,
        reqs: &[OnlineRenewRequest],
        policy: &RenewPolicy,
    ) -> Vec<Result<OnlineIssued>> {
        let mut answers: Vec<Option<Result<OnlineIssued>>> = reqs.iter().map(|_| None).collect();
        let mut alone: Vec<usize> = Vec::new();
        let presented: Vec<Option<Presented>> = reqs
            .iter()
            .enumerate()
            .map(|(i, r)| match Presented::of(r) {
                Ok(p) if r.now.is_none() => Some(p),
                Ok(_) => {
                    alone.push(i);
                    None
                }
                Err(e) => {
                    answers[i] = Some(Err(e));
                    None
                }
            })
            .collect();
        let plans = self.with_read_ledger(|ledger| Ok(plan_all(ledger, presented, policy)));
        let Ok(plans) = plans else {
            // The inventory could not be read: each request learns why on its own.
            return reqs.iter().map(|r| self.renew_online(r, policy)).collect();
        };
        let mut members: [Vec<Member>; 2] = [Vec::new(), Vec::new()];
        let mut names: [std::collections::HashSet<String>; 2] = Default::default();
        for (index, planned) in plans {
            match planned {
                (_, Err(e)) => answers[index] = Some(Err(e)),
                (_, Ok(Plan::Repeat(old, new))) => answers[index] = Some(self.repeat(&old, &new)),
                (presented, Ok(Plan::Issue(record))) => {
                    let side = side_index(record.kind.side());
                    if names[side].insert(record.name.clone()) {
                        members[side].push(Member {
                            index,
                            presented,
                            record,
                        });
                    } else {
                        alone.push(index);
                    }
                }
            }
        }
        for (side, group) in Side::BOTH.into_iter().zip(members) {
            if group.is_empty() {
                continue;
            }
            match self.issue_group(side, &group, reqs, policy) {
                Ok(issued) => {
                    for (m, answer) in group.iter().zip(issued) {
                        answers[m.index] = Some(answer);
                    }
                }
                Err(_) => alone.extend(group.iter().map(|m| m.index)),
            }
        }
        for i in alone {
            answers[i] = Some(self.renew_online(&reqs[i], policy));
        }
        answers
            .into_iter()
            .zip(reqs)
            .map(|(a, r)| a.unwrap_or_else(|| self.renew_online(r, policy)))
            .collect()
    }

    /// Issues the successors of `group` (one side, distinct names) in one locked batch whose
    /// guard plans every member again under the lock.
    fn issue_group(
        &self,
        side: Side,
        group: &[Member],
        reqs: &[OnlineRenewRequest],
        policy: &RenewPolicy,
    ) -> Result<Vec<Result<OnlineIssued>>> {
        let requests = group
            .iter()
            .map(|m| successor_request(&m.record, &reqs[m.index]))
            .collect::<Result<Vec<_>>>()?;
        let guard = |ledger: &Ledger, _: &[crate::model::serial::Serial]| {
            for m in group {
                if let Plan::Repeat(..) = m.presented.plan(ledger, policy)? {
                    return Err(refused(&m.record, "renewed meanwhile"));
                }
            }
            Ok(Vec::new())
        };
        let now = crate::model::timefmt::now();
        let issued = self.issue_batch_guarded(side, requests, true, now, None, Some(&guard))?;
        Ok(issued
            .into_iter()
            .map(|issued| {
                let cert_pem = self.archived_pem(&issued)?;
                Ok(OnlineIssued {
                    issued,
                    cert_pem,
                    repeated: false,
                })
            })
            .collect())
    }
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Server => 0,
        Side::Client => 1,
    }
}

/// Every readable request's plan against `ledger`, with its index.
fn plan_all(
    ledger: &Ledger,
    presented: Vec<Option<Presented>>,
    policy: &RenewPolicy,
) -> Vec<(usize, (Presented, Result<Plan>))> {
    presented
        .into_iter()
        .enumerate()
        .filter_map(|(i, p)| p.map(|p| (i, p)))
        .map(|(i, p)| {
            let plan = p.plan(ledger, policy);
            (i, (p, plan))
        })
        .collect()
}
