//! Operations on a CA directory, each adding its methods to [`crate::store::layout::CaDir`]:
//! health checks, renewal, revocation and CRLs, and the whole-installation doctor.

pub mod check;
mod installs;
pub mod renew;
pub mod repair;
pub mod revoke;
pub mod verify;
