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

/// `pgca serve`: the passphrase read once, then the API until the process is stopped.
pub fn serve(ctx: &Context, a: &crate::args::ServeArgs) -> Result<()> {
    let listen: std::net::SocketAddr =
        a.listen.parse().map_err(|_| pgca::Error::InvalidAddress {
            input: a.listen.clone(),
            reason: "not ADDR:PORT (127.0.0.1:8443, [::1]:8443)",
        })?;
    let ca = ctx.signing(&pgca::Side::BOTH)?;
    let mut opts = pgca::ServeOptions::new(listen, a.tls_name.clone());
    opts.policy.allow_same_key = a.allow_same_key;
    opts.policy.grace = super::parse_opt::<Validity>(&a.grace)?;
    opts.limits.max_body = a.max_body;
    let client_timeout: Validity = a.client_timeout.parse()?;
    let client_timeout = std::time::Duration::from_secs(client_timeout.seconds().unsigned_abs());
    opts.limits.handshake_timeout = client_timeout;
    opts.limits.header_timeout = client_timeout;
    opts.limits.request_timeout = client_timeout;
    opts.limits.max_connections = a.max_connections.max(1);
    opts.limits.per_identity_per_minute = a.rate;
    opts.log = a.log.clone();
    pgca::serve(ca, &opts, |l| {
        eprintln!(
            "pgca serve: listening on https://{} (certificate serial {})",
            l.addr, l.serial
        );
    })
}
