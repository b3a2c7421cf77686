//! `pgca passwd`: a new passphrase (or none) for the CA keys.

use pgca::{Error, Result, Side};

use super::Context;
use crate::args::PasswdArgs;
use crate::passphrase::{self, Sources};
use crate::render::{self, Format};

/// `pgca passwd`: a new passphrase (or none) for one or both CA keys.
pub fn passwd(ctx: &Context, a: &PasswdArgs) -> Result<()> {
    let sides: Vec<Side> = match &a.which {
        Some(which) => vec![which.parse()?],
        None => Side::BOTH.to_vec(),
    };
    let ca = ctx.signing(&sides)?;
    let new = if a.no_passphrase {
        None
    } else {
        let next = Sources::with_file(a.new_passphrase_file.clone());
        // The new passphrase comes from its own file or the terminal, never from the variables
        // that hold the current one.
        let p = match &a.new_passphrase_file {
            Some(_) => next.get("new passphrase", true)?,
            None => passphrase::prompt_new()?,
        };
        Some(p.ok_or(Error::BadPassphrase {
            from: "--new-passphrase-file or a terminal".into(),
            reason: "none given",
        })?)
    };
    let mut keys = Vec::new();
    for side in sides {
        ca.change_passphrase(side, new.as_ref())?;
        keys.push((ca.root().join(side.ca_key_file()), new.is_some()));
    }
    render::print(
        Format::of(&a.out),
        || render::passwd_text(&keys),
        || render::passwd_json(&keys),
    );
    Ok(())
}
