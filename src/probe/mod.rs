//! `pgca probe`: what a running PostgreSQL server really serves. PostgreSQL's SSLRequest
//! (`wire.rs`), a rustls handshake that records the served chain and the client CA names the
//! server asks for (`tls.rs`), libpq's host name rules (`hostname.rs`), the judgement against the
//! CA directory's server CA and inventory (`report.rs`), and many targets at once with a bound
//! (`run.rs`). Blocking sockets with a timeout on connect and on every read and write: a probe
//! never hangs.

pub mod hostname;
pub mod list;
pub mod login;
pub mod report;
pub mod run;
pub mod tls;
pub mod wire;

pub use login::Login;
pub use report::{ProbeReport, ProbeResult, ServedCert};
pub use run::ProbeOptions;
pub use wire::{Failure, Target};
