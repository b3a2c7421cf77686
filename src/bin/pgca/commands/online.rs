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

/// `pgca enroll`: a key made here, a certificate from the CA with the token, installed.
pub fn enroll(a: &crate::args::EnrollArgs) -> Result<()> {
    let ca: pgca::CaUrl = a.ca.parse()?;
    let token = pgca::EnrollToken::from_file(&a.token_file)?;
    let target = match (&a.client, &a.data_dir, &a.to) {
        (None, Some(data_dir), _) => pgca::EnrollTarget::Server {
            names: a.server.clone(),
            data_dir: data_dir.clone(),
            owner: a.owner.clone(),
        },
        (Some(role), _, Some(to)) => {
            let mut install = pgca::InstallOptions::default();
            install.to = Some(to.clone());
            install.owner = a.owner.clone();
            pgca::EnrollTarget::Client {
                role: role.clone(),
                install,
            }
        }
        _ => super::usage_error("--server goes with --data-dir, --client with --to"),
    };
    let mut opts = pgca::EnrollOptions::new(ca, a.fingerprint.clone(), token, target);
    opts.key_type = a.key_type.parse()?;
    let report = pgca::enroll(&opts)?;
    render::print(
        Format::of(&a.out),
        || render::enrolled_text(&report),
        || render::enrolled_json(&report),
    );
    Ok(())
}

/// `pgca agent`: rounds until stopped, or one with --once (the Nagios status as exit status).
pub fn agent(a: &crate::args::AgentArgs) -> Result<std::process::ExitCode> {
    let ca: pgca::CaUrl = a.ca.parse()?;
    let target = match (&a.data_dir, &a.to) {
        (Some(data_dir), _) => pgca::AgentTarget::Server {
            data_dir: data_dir.clone(),
            owner: a.owner.clone(),
        },
        (None, Some(dir)) => pgca::AgentTarget::Client {
            dir: dir.clone(),
            owner: a.owner.clone(),
        },
        (None, None) => super::usage_error("give --data-dir or --to"),
    };
    let reload = match a.reload.as_str() {
        "pg_ctl" => pgca::Reload::PgCtl(a.pg_ctl.clone()),
        "none" => pgca::Reload::None,
        "sql" => pgca::Reload::Sql(a.reload_conninfo.clone()),
        cmd => pgca::Reload::Command(cmd.to_string()),
    };
    let timeout: Validity = a.timeout.parse()?;
    let mut opts = pgca::AgentOptions::new(ca, target, reload);
    opts.probe = a.probe.clone();
    opts.force = a.force;
    opts.key_type = a.key_type.parse()?;
    opts.timeout = std::time::Duration::from_secs(timeout.seconds().unsigned_abs());
    opts.check()?;
    let format = Format::of(&a.out);
    if a.once {
        let report = pgca::agent_once(&opts)?;
        render::print(
            format,
            || render::agent_text(&report),
            || render::agent_json(&report),
        );
        return Ok(std::process::ExitCode::from(report.status.exit_code()));
    }
    pgca::agent_loop(opts, |round| match round {
        Ok(report) => render::print(
            format,
            || render::agent_text(report),
            || render::agent_json(report),
        ),
        // The loop goes on: said on stderr, as an error would be, with its hint.
        Err(e) => eprintln!("pgca: {}", crate::hints::with_hint(e)),
    })
}
