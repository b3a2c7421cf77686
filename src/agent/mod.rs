//! The host's side of online enrollment: `client.rs` (the HTTPS client of `pgca serve`,
//! bootstrap by fingerprint), `enroll.rs` (`pgca enroll`: a key made here, a token, the
//! certificate installed), `renew.rs` (`pgca agent`: one round, renewing when due, installing,
//! reloading, probing), `pending.rs` (a renewal's key kept until it is installed),
//! `daemon.rs` (rounds until stopped), `schedule.rs` (when the next round is due, with jitter and backoff).

pub mod client;
pub mod daemon;
pub mod enroll;
mod pending;
pub mod renew;
pub mod schedule;

pub use client::{CaClient, CaUrl, IssuedReply};
pub use daemon::{agent_loop, next_wait};
pub use enroll::{EnrollOptions, EnrollReport, EnrollTarget, enroll};
pub use renew::{AgentOptions, AgentReport, AgentTarget, Reload, agent_once};
pub use schedule::{Backoff, renew_after};
