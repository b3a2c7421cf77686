//! Revocation: `revoke` (and its CA's CRL), and `crl` (both CRLs afresh).

use pgca::ops::revoke::RevokeRequest;
use pgca::{Reason, Result, Scope, Side, Validity};

use super::{Context, parse_opt};
use crate::args::{CrlArgs, RevokeArgs};
use crate::render::{self, Format};

/// `pgca revoke`.
pub fn revoke(ctx: &Context, a: &RevokeArgs) -> Result<()> {
    let reason: Reason = a.reason.parse()?;
    let next = parse_opt::<Validity>(&a.next_update)?;
    let ca = ctx.signing(&Side::BOTH)?;
    let scope = if a.all {
        Scope::All
    } else if a.only_current {
        Scope::Current
    } else {
        Scope::Unexpired
    };
    let mut req = RevokeRequest::new(a.target.clone(), reason);
    req.scope = scope;
    req.crl_validity = next;
    let done = ca.revoke(&req)?;
    render::print(
        Format::of(&a.out),
        || render::revoke_text(&done, reason),
        || render::revoke_json(ca.root(), &done),
    );
    Ok(())
}

/// `pgca crl`: both CRLs afresh.
pub fn crl(ctx: &Context, a: &CrlArgs) -> Result<()> {
    let next = parse_opt::<Validity>(&a.next_update)?;
    let ca = ctx.signing(&Side::BOTH)?;
    let crls = ca.issue_crls(next, None)?;
    render::print(
        Format::of(&a.out),
        || render::crls_text(ca.root(), &crls),
        || render::crls_json(ca.root(), &crls),
    );
    Ok(())
}
