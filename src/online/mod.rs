//! Online enrollment and renewal, the handlers behind `pgca serve`: `token.rs` (the token's
//! text), `mint.rs` (`pgca token`), `enroll.rs` (a request signed with a token), `renew.rs` (a
//! certificate renewed with itself), `renew_batch.rs` (renewals that arrive together, committed
//! together). Each is a `CaDir` operation with request and report types,
//! testable without HTTP.

pub mod enroll;
pub mod mint;
pub mod renew;
pub mod renew_batch;
pub mod serving;
pub mod token;

pub use enroll::{EnrollRequest, OnlineIssued};
pub use mint::{DEFAULT_TOKEN_TTL, MAX_TOKEN_TTL, MintedToken, TokenRequest};
pub use renew::{OnlineRenewRequest, RenewPolicy};
pub use serving::{Issuers, ServingIdentity, TrustBundles};
pub use token::EnrollToken;
