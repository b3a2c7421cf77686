//! `pgca rollover start|switch|finish|status`: each phase one library call, printed.

use pgca::{FinishOptions, KeyType, Result, RolloverOptions, Validity};

use super::{Context, parse_opt};
use crate::args::{RolloverCommand, RolloverStartArgs};
use crate::render::{self, Format};

/// `pgca rollover ...`.
pub fn run(ctx: &Context, c: &RolloverCommand) -> Result<()> {
    match c {
        RolloverCommand::Start(a) => start(ctx, a),
        RolloverCommand::Switch(a) => {
            let side = a.side.side();
            let ca = ctx.signing(&[side])?;
            let out = ca.rollover_switch(side, None)?;
            render::print(Format::of(&a.out), || render::rollover_text(&out), || &out);
            Ok(())
        }
        RolloverCommand::Finish(a) => {
            let side = a.side.side();
            let ca = ctx.signing(&[side])?;
            let mut opts = FinishOptions::default();
            opts.probe.timeout = super::probe::timeout(&a.timeout)?;
            let out = ca.rollover_finish(side, &opts)?;
            render::print(Format::of(&a.out), || render::rollover_text(&out), || &out);
            Ok(())
        }
        RolloverCommand::Status(a) => {
            let status = ctx.open()?.rollover_status()?;
            let format = if a.json { Format::Json } else { Format::Text };
            render::print(format, || render::rollover_status_text(&status), || &status);
            Ok(())
        }
    }
}

/// `pgca rollover start SIDE`: the passphrase (or the token's PIN) of the old CA also protects
/// the new one.
fn start(ctx: &Context, a: &RolloverStartArgs) -> Result<()> {
    let side = a.side.side();
    let mut opts = RolloverOptions::default();
    opts.key_type = parse_opt::<KeyType>(&a.key_type)?;
    opts.ca_validity = parse_opt::<Validity>(&a.ca_validity)?;
    opts.compromised = a.now;
    opts.intermediate = a.intermediate;
    let mut ca = ctx.signing(&[side])?;
    let token = crate::args::Pkcs11Args {
        pkcs11_token: a.pkcs11_token.clone(),
        pkcs11_module: a.pkcs11_module.clone(),
    };
    if let Some(uri) = super::hsm::token(&token)? {
        if !ca.ca_key_encrypted(side)? {
            ca = ca.with_passphrase(super::hsm::pin(&ctx.sources, &uri.token)?);
        }
        opts.token = Some(uri);
    }
    let out = ca.rollover_start(side, &opts)?;
    render::print(Format::of(&a.out), || render::rollover_text(&out), || &out);
    Ok(())
}
