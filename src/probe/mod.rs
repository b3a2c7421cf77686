//! `pgca probe`: what a running PostgreSQL server really serves. PostgreSQL's SSLRequest
//! (`wire.rs`) or a direct TLS start with ALPN `postgresql` (17+), a rustls handshake that
//! records the served chain and the client CA names the server asks for (`tls.rs`), libpq's host name rules (`hostname.rs`), the judgement against the
//! CA directory's server CA and inventory (`report.rs`), many targets at once with a bound
//! (`run.rs`); their Prometheus lines are [`crate::metrics`]'s. Blocking sockets, and one
//! deadline per target (`deadline.rs`) for resolving, connecting, SSLRequest, the handshake and
//! the `--role` login together: every read and write ends by it, so a probe never hangs, not
//! even on a server that answers one byte at a time.

pub mod deadline;
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
pub use tls::Start;
pub use wire::{Failure, Target};
