//! `pgca service add|remove|list|show`: pg_service.conf entries for verify-full connections.

use pgca::pg::client::{Connection, ServiceRequest};
use pgca::pg::service;
use pgca::{Error, HostName, Result, RoleName};

use super::{Context, file_owner, parse_port, usage_error};
use crate::args::ServiceCommand;
use crate::render::{self, Format, emit};

/// Runs a `service` subcommand.
pub fn run(ctx: &Context, cmd: &ServiceCommand) -> Result<()> {
    match cmd {
        ServiceCommand::Add(a) => {
            let role = RoleName::parse_unusual(&a.role)?;
            let Some(host) = a.conn.host.as_deref() else {
                usage_error("service add needs --host HOST")
            };
            let host: HostName = host.parse()?;
            let port = parse_port(&a.conn.port)?;
            let file = service::resolve_path(a.conn.file.file.as_deref())?;
            let ca = ctx.open()?;
            let owner = file_owner(&a.conn.file)?;
            let mut conn = Connection::new(role, host);
            conn.port = port;
            conn.dbname = a.conn.dbname.clone();
            conn.crl = a.conn.crl;
            let mut req = ServiceRequest::new(file.clone(), a.name.clone());
            req.owner = owner;
            req.force = a.force;
            let done = ca.add_service(&conn, &req)?;
            let replaced = matches!(done, service::Upserted::Replaced);
            render::print(
                Format::of(&a.out),
                || render::service_added(replaced, &a.name, &file),
                || render::service_added_json(replaced, &a.name, &file),
            );
        }
        ServiceCommand::Remove(a) => {
            let file = service::resolve_path(a.file.file.as_deref())?;
            let owner = file_owner(&a.file)?;
            let mut sf = service::read_file(&file)?;
            sf.remove(&a.name)?;
            sf.save_for(owner)?;
            if !a.out.quiet {
                emit(&render::service_removed(&a.name, &file));
            }
        }
        ServiceCommand::List(a) => {
            let file = service::resolve_path(a.file.file.as_deref())?;
            let sections = service::read_file(&file)?.sections();
            render::print(
                Format::new(a.out.quiet, a.json),
                || render::service_list(&sections),
                || &sections,
            );
        }
        ServiceCommand::Show(a) => {
            let file = service::resolve_path(a.file.file.as_deref())?;
            let sf = service::read_file(&file)?;
            let Some(s) = sf.get(&a.name) else {
                return Err(Error::NoSuchService {
                    name: a.name.clone(),
                    path: file,
                });
            };
            if !a.out.quiet {
                emit(&render::service_show(&s));
            }
        }
    }
    Ok(())
}
