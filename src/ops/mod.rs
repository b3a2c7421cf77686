//! Operations on a CA directory, each adding its methods to [`crate::store::layout::CaDir`]:
//! health checks, renewal, revocation and CRLs, and the whole-installation doctor.

pub mod check;
mod hierarchy_judge;
mod installs;
mod outputs;
pub mod renew;
pub(crate) mod renew_batch;
pub mod repair;
pub mod revoke;
pub mod rollover;
mod rollover_intermediate;
mod rollover_judge;
pub mod verify;

pub use check::{CheckOptions, CheckReport, Finding, FindingState};
pub use renew::{RenewFailure, RenewOptions, RenewReport, Renewal};
pub use repair::{RepairReport, RepairRequest, Restored};
pub use revoke::{DEFAULT_CRL_VALIDITY, RevokeRequest, Revoked};
pub use rollover::{
    FinishOptions, OldNew, RolloverOptions, RolloverOutcome, RolloverStatus, SideStatus,
};
pub use verify::{Problem, VerifyReport};
