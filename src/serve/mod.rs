//! `pgca serve`: the HTTPS API over the handlers of [`crate::online`]. `options.rs` (what it
//! is told: `ServeOptions`, `Limits`), `tls.rs` (TLS 1.3, client certificates of pgca's CAs
//! only), `tls_source.rs` (that configuration rebuilt when the bundles or the serving
//! certificate change), `api.rs` (routes and handlers without HTTP: `Api::handle`), `http.rs` (hyper on
//! tokio, the limits), `rate.rs` (requests per identity), `commit.rs` (renewals
//! committed in groups), `log.rs` (a JSON line per request),
//! `run.rs` (`serve`: everything loaded once, then the loop).

pub mod api;
mod commit;
mod http;
mod log;
pub mod options;
mod rate;
pub mod run;
mod tls;
mod tls_source;

pub use api::{Api, ApiReply, ApiRequest, OPENAPI};
pub use options::{Limits, ServeOptions};
pub use run::{Listening, serve};
