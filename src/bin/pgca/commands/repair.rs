//! `pgca repair`: what a damaged inventory lost, shown, and recorded again when told.

use pgca::{RepairRequest, Result};

use super::Context;
use crate::args::RepairArgs;
use crate::render::{self, Format};

/// `pgca repair [--write]`.
pub fn repair(ctx: &Context, a: &RepairArgs) -> Result<()> {
    let ca = ctx.open()?;
    let mut req = RepairRequest::default();
    req.write = a.write;
    let report = ca.repair(&req)?;
    render::print(
        Format::of(&a.out),
        || render::repair_text(&report),
        || &report,
    );
    Ok(())
}
