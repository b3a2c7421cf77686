//! Issuing: `issue-server` and `issue-client` (one role or a batch, optionally with a service
//! entry).

use pgca::pg::client::{Connection, ServiceRequest};
use pgca::{Error, HostName, IssueOptions, KeyType, Result, RoleName, Side, Validity};

use super::{Context, file_owner, parse_all, parse_opt, parse_port, usage_error};
use crate::args::{IssueArgs, IssueClientArgs, IssueServerArgs};
use crate::passphrase;
use crate::render::{self, Format};

/// `pgca issue-server`.
pub fn issue_server(ctx: &Context, a: &IssueServerArgs) -> Result<()> {
    let names = parse_all::<HostName>(&a.names)?;
    let opts = issue_options(&a.issue)?;
    let ca = ctx.signing(&[Side::Server])?;
    let issued = ca.issue_server(&names, &opts)?;
    render::print(
        Format::of(&a.out),
        || render::describe_server(&issued, &names),
        || render::issue_json(std::slice::from_ref(&issued), None),
    );
    Ok(())
}

/// `pgca issue-client`: one role or a batch, optionally with a service entry.
pub fn issue_client(ctx: &Context, a: &IssueClientArgs) -> Result<()> {
    let roles = if a.allow_unusual_role {
        a.roles
            .iter()
            .map(|r| RoleName::parse_unusual(r))
            .collect::<Result<Vec<_>>>()?
    } else {
        parse_all::<RoleName>(&a.roles)?
    };
    let mut opts = issue_options(&a.issue)?;
    if a.sslpassword && !(a.encrypt_key || a.key_passphrase_file.is_some()) {
        usage_error("--sslpassword goes with --encrypt-key");
    }
    if a.encrypt_key || a.key_passphrase_file.is_some() {
        let p = passphrase::key_passphrase(a.key_passphrase_file.as_deref(), true)?.ok_or(
            Error::BadPassphrase {
                from: "--key-passphrase-file or a terminal".into(),
                reason: "--encrypt-key needs a passphrase for the client key",
            },
        )?;
        opts.key_passphrase = Some(p);
    }
    if a.service.is_none()
        && (a.conn.host.is_some() || a.conn.dbname.is_some() || a.conn.file.file.is_some())
    {
        usage_error("--host, --dbname and --file go with --service");
    }
    if a.service.is_some() && roles.len() != 1 {
        usage_error("--service takes exactly one ROLE");
    }
    let ca = ctx.signing(&[Side::Client])?;
    let service = match &a.service {
        Some(service) => {
            let host: HostName = a.conn.host.as_deref().unwrap_or_default().parse()?;
            let mut conn = Connection::new(roles[0].clone(), host);
            conn.port = parse_port(&a.conn.port)?;
            conn.dbname = a.conn.dbname.clone();
            conn.crl = a.conn.crl;
            let file = pgca::pg::service::resolve_path(a.conn.file.file.as_deref())?;
            let mut req = ServiceRequest::new(file, service.clone());
            req.owner = file_owner(&a.conn.file)?;
            req.force = opts.force;
            req.sslpassword = a.sslpassword;
            Some((conn, req))
        }
        None => None,
    };
    // Long bulk runs show their progress on a terminal, and nothing extra elsewhere.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    if terminal && !a.out.quiet && roles.len() >= 100 {
        opts.progress = Some(progress_line());
    }
    let (issued, service) = match service {
        Some((conn, req)) => {
            let (issued, _) = ca.issue_client_with_service(&conn, &opts, &req)?;
            (vec![issued], Some(req))
        }
        None => {
            let issued = ca.issue_clients(&roles, &opts)?;
            if opts.progress.is_some() {
                eprintln!();
            }
            (issued, None)
        }
    };
    let service = service
        .as_ref()
        .map(|r| (r.name.as_str(), r.file.as_path()));
    render::print(
        Format::of(&a.out),
        || {
            let mut out: String = issued.iter().map(render::describe_client).collect();
            if let Some((name, file)) = service {
                out.push_str(&render::service_written(name, file));
            }
            out
        },
        || render::issue_json(&issued, service),
    );
    Ok(())
}

/// `--validity`, `--key-type` and `--force`, checked.
fn issue_options(a: &IssueArgs) -> Result<IssueOptions> {
    let mut opts = IssueOptions::default();
    if let Some(v) = parse_opt::<Validity>(&a.validity)? {
        opts.validity = v;
    }
    if let Some(k) = parse_opt::<KeyType>(&a.key_type)? {
        opts.key_type = k;
    }
    opts.force = a.force;
    Ok(opts)
}

/// `\rpgca: [####      ] 1200/10000 keys` on stderr, redrawn at most every 100 ms and at the end.
fn progress_line() -> pgca::Progress {
    let last = std::sync::Mutex::new(std::time::Instant::now() - std::time::Duration::from_secs(1));
    pgca::Progress::new(move |done, total| {
        let mut last = last.lock().expect("progress lock");
        if done == total || last.elapsed() >= std::time::Duration::from_millis(100) {
            *last = std::time::Instant::now();
            let width = 30;
            let filled = width * done / total.max(1);
            eprint!(
                "\rpgca: [{}{}] {done}/{total} keys",
                "#".repeat(filled),
                " ".repeat(width - filled)
            );
        }
    })
}
