//! Putting certificates where PostgreSQL and libpq read them: `server-config`, `deploy-server`,
//! `client-install`, `env`.

use pgca::pg::client::InstallOptions;
use pgca::{Error, HostName, Result, RoleName};

use super::{Context, parse_port};
use crate::args::{ClientInstallArgs, DeployServerArgs, EnvArgs, ServerConfigArgs};
use crate::render::{self, Format, emit};

/// `pgca server-config`: the postgresql.conf and pg_hba.conf lines.
pub fn server_config(ctx: &Context, a: &ServerConfigArgs) -> Result<()> {
    let ca = ctx.open()?;
    let data_dir = a
        .data_dir
        .as_deref()
        .map(|d| std::fs::canonicalize(d).map_err(Error::io_at("open data directory", d)))
        .transpose()?;
    let text = pgca::pg::server::server_config_text(&ca, &a.name.parse()?, data_dir.as_deref())?;
    if !a.out.quiet {
        emit(&text);
    }
    Ok(())
}

/// `pgca deploy-server`.
pub fn deploy_server(ctx: &Context, a: &DeployServerArgs) -> Result<()> {
    let Some(name) = a.name.as_deref() else {
        return super::host::deploy_server(ctx, a); // --cert FILE: no CA directory
    };
    let ca = ctx.open()?;
    let probe: Option<pgca::probe::Target> = a.probe.as_deref().map(str::parse).transpose()?;
    let d = ca.deploy_server(&name.parse()?, &a.data_dir, a.owner.as_deref())?;
    if let Some(t) = &probe {
        ca.add_probe(t)?;
    }
    render::print(
        Format::of(&a.out),
        || render::deployed_text(name, &d),
        || render::deployed_json(name, &d),
    );
    Ok(())
}

/// `pgca client-install`.
pub fn client_install(ctx: &Context, a: &ClientInstallArgs) -> Result<()> {
    let Some(role) = a.role.as_deref() else {
        return super::host::client_install(a); // --cert FILE: no CA directory
    };
    let role = RoleName::parse_unusual(role)?;
    let ca = ctx.open()?;
    let mut opts = InstallOptions::default();
    opts.to = a.to.clone();
    opts.owner = a.owner.clone();
    opts.force = a.force;
    if a.forget {
        let dir = ca.forget_install(&role, &opts)?;
        if !a.out.quiet {
            render::emit(&render::forgotten_text(role.as_str(), &dir));
        }
        return Ok(());
    }
    let done = ca.client_install(&role, &opts)?;
    render::print(
        Format::of(&a.out),
        || render::installed_text(role.as_str(), &done.dir),
        || render::installed_json(role.as_str(), &done.dir, &done.files),
    );
    Ok(())
}

/// `pgca env`: export lines for `eval`.
pub fn env(ctx: &Context, a: &EnvArgs) -> Result<()> {
    let role = RoleName::parse_unusual(&a.role)?;
    let host: HostName = a.host.parse()?;
    let port = a.port.as_deref().map(parse_port).transpose()?;
    let ca = ctx.open()?;
    let text = ca.client_env(&role, &host, port, a.dbname.as_deref())?;
    if !a.out.quiet {
        emit(&text);
    }
    Ok(())
}
