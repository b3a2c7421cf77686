//! Online enrollment: `token` (a single-use enrollment token minted on the CA host).

use pgca::{CertKind, Result, TokenRequest, Validity};

use super::Context;
use crate::args::TokenArgs;
use crate::render::{self, Format};

/// `pgca token`: one token for a server's names, or one per role.
pub fn token(ctx: &Context, a: &TokenArgs) -> Result<()> {
    let ca = ctx.open()?;
    let ttl: Validity = a.ttl.parse()?;
    let validity: Validity = a.validity.parse()?;
    let requests: Vec<TokenRequest> = if a.server {
        vec![TokenRequest::new(CertKind::Server, a.names.clone())]
    } else {
        a.names
            .iter()
            .map(|role| TokenRequest::new(CertKind::Client, vec![role.clone()]))
            .collect()
    };
    let mut minted = Vec::with_capacity(requests.len());
    for mut req in requests {
        req.ttl = ttl;
        req.validity = validity;
        minted.push(ca.mint_token(&req)?);
    }
    render::print(
        Format::of(&a.out),
        || render::tokens_text(&minted),
        || render::tokens_json(&minted),
    );
    Ok(())
}
