//! Group commit of renewals: a request that finds no batch being committed commits every
//! renewal queued so far in one [`CaDir::renew_online_batch`] (one inventory append, one
//! durability barrier); those that arrive meanwhile queue for the next batch. No thread waits
//! on a timer: a lone request is committed at once, and under load a batch holds what came
//! during the previous one. Each request gets its own answer once its batch is durable.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};

use crate::error::Result;
use crate::online::enroll::OnlineIssued;
use crate::online::renew::{OnlineRenewRequest, RenewPolicy};
use crate::store::layout::CaDir;

/// At most this many renewals in one batch (a batch's files are written one by one).
const MAX_BATCH: usize = 128;

#[derive(Default)]
struct State {
    queue: Vec<(u64, OnlineRenewRequest)>,
    done: HashMap<u64, Result<OnlineIssued>>,
    committing: bool,
    next_id: u64,
}

/// The renewals queue of one `pgca serve`.
#[derive(Default)]
pub(crate) struct GroupCommit {
    state: Mutex<State>,
    changed: Condvar,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupCommit")
    }
}

impl GroupCommit {
    /// Renews `req` in the next batch, committing that batch itself if no other request is.
    pub(crate) fn renew(
        &self,
        ca: &CaDir,
        policy: &RenewPolicy,
        req: OnlineRenewRequest,
    ) -> Result<OnlineIssued> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let id = state.next_id;
        state.next_id += 1;
        state.queue.push((id, req));
        loop {
            if let Some(answer) = state.done.remove(&id) {
                return answer;
            }
            if state.committing {
                state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            state.committing = true;
            let take = state.queue.len().min(MAX_BATCH);
            let batch: Vec<(u64, OnlineRenewRequest)> = state.queue.drain(..take).collect();
            drop(state);
            let (ids, reqs): (Vec<u64>, Vec<OnlineRenewRequest>) = batch.into_iter().unzip();
            let committing = Committing {
                queue: self,
                ids: &ids,
            };
            let answers = ca.renew_online_batch(&reqs, policy);
            std::mem::forget(committing);
            state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.done.extend(ids.into_iter().zip(answers));
            state.committing = false;
            self.changed.notify_all();
        }
    }
}

/// Should the batch panic: an error for each of its requests, `committing` cleared and the
/// others woken, so that no request waits for an answer nobody will give.
struct Committing<'a> {
    queue: &'a GroupCommit,
    ids: &'a [u64],
}

impl Drop for Committing<'_> {
    fn drop(&mut self) {
        let mut state = self.queue.state.lock().unwrap_or_else(|p| p.into_inner());
        for id in self.ids {
            state.done.insert(
                *id,
                Err(crate::error::Error::io("renew", "pgca serve")(
                    std::io::Error::other("the batch it was in failed"),
                )),
            );
        }
        state.committing = false;
        self.queue.changed.notify_all();
    }
}
