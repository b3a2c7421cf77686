//! The `pgca` binary: parses the command line, calls the library, prints, sets the exit status.
#![forbid(unsafe_code)]

mod args;
mod passphrase;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use pgca::ops::revoke::RevokeRequest;
use pgca::pg::client::{Connection, InstallOptions, ServiceRequest};
use pgca::x509::inspect::Inspected;
use pgca::{
    CaDir, CertInfo, Error, HostName, InitOptions, IssueOptions, IssuedCert, KeyType, Reason,
    Result, RoleName, Scope, Side, Validity, timefmt,
};

use args::{Cli, Command};

const UNENCRYPTED_NOTE: &str = "note: the CA keys are stored unencrypted (pgca init --no-passphrase); pgca passwd encrypts them\n";

fn main() -> ExitCode {
    // Before anything is read: pgca holds CA keys and passphrases in memory, and a
    // non-dumpable process leaves no core dump, and cannot be ptraced or have its memory read
    // through /proc by other processes of its user (only by root, CAP_SYS_PTRACE).
    use rustix::process::{DumpableBehavior, set_dumpable_behavior};
    if let Err(e) = set_dumpable_behavior(DumpableBehavior::NotDumpable) {
        eprintln!("pgca: cannot keep key material out of core dumps (prctl PR_SET_DUMPABLE): {e}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse(); // usage errors exit with status 2 here
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pgca: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--wait`, parsed once.
static WAIT: std::sync::OnceLock<Option<pgca::Wait>> = std::sync::OnceLock::new();

/// Opens the CA directory with the `--wait` given.
fn open_ca(dir: std::path::PathBuf) -> Result<CaDir> {
    let ca = CaDir::open(dir)?;
    Ok(match WAIT.get().copied().flatten() {
        Some(w) => ca.with_wait(w),
        None => ca,
    })
}

fn run(cli: Cli) -> Result<ExitCode> {
    let wait = parse_opt::<Validity>(&cli.wait)?
        .map(|v| pgca::Wait(std::time::Duration::from_secs(v.seconds().max(0) as u64)));
    WAIT.set(wait).expect("set once");
    let dir = || {
        cli.dir
            .clone()
            .or_else(pgca::default_dir)
            .ok_or(Error::NoDirectory)
    };
    let sources = passphrase::Sources::with_file(cli.passphrase_file.clone());
    let done: Result<()> = match &cli.command {
        Command::Init(a) => init(&dir()?, a, &sources),
        Command::Passwd(a) => passwd(a, dir()?, &sources),
        Command::IssueServer(a) => {
            let names = parse_all::<HostName>(&a.names)?;
            let opts = issue_options(&a.issue)?;
            let ca = signing_ca(dir()?, &sources, &[Side::Server])?;
            let issued = ca.issue_server(&names, &opts)?;
            emit(&describe_server(&issued, &names));
            Ok(())
        }
        Command::IssueClient(a) => {
            let roles = parse_all::<RoleName>(&a.roles)?;
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
            let ca = signing_ca(dir()?, &sources, &[Side::Client])?;
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
            if terminal && !a.quiet && roles.len() >= 100 {
                opts.progress = Some(progress_line());
            }
            let mut out = String::new();
            if let Some((conn, req)) = service {
                let (issued, _) = ca.issue_client_with_service(&conn, &opts, &req)?;
                out.push_str(&describe_client(&issued));
                out.push_str(&format!(
                    "wrote service {:?} to {}: psql \"service={}\"\n",
                    req.name,
                    req.file.display(),
                    req.name
                ));
            } else {
                let issued = ca.issue_clients(&roles, &opts)?;
                if opts.progress.is_some() {
                    eprintln!();
                }
                for i in &issued {
                    out.push_str(&describe_client(i));
                }
            }
            if !a.quiet {
                emit(&out);
            }
            Ok(())
        }
        Command::Service(s) => service(s, dir),
        Command::List(a) => {
            let ca = open_ca(dir()?)?;
            let rows = ca.list(timefmt::now())?;
            if a.json {
                emit(&(serde_json::to_string_pretty(&rows).expect("rows serialise") + "\n"));
            } else {
                let mut out = list_table(&rows);
                if !Side::BOTH
                    .iter()
                    .all(|&s| ca.ca_key_encrypted(s).unwrap_or(true))
                {
                    out.push_str(UNENCRYPTED_NOTE);
                }
                emit(&out);
            }
            Ok(())
        }
        Command::Check(a) => return Ok(check(a, dir)),
        Command::Verify(a) => return Ok(verify(a, dir, &sources)),
        Command::Revoke(a) => {
            let reason: Reason = a.reason.parse()?;
            let next = parse_opt::<Validity>(&a.next_update)?;
            let ca = signing_ca(dir()?, &sources, &Side::BOTH)?;
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
            let mut out = String::new();
            for (kind, name, serial) in &done.already {
                out.push_str(&format!(
                    "{kind} {name} (serial {serial}) was revoked already: nothing to do\n"
                ));
            }
            for (kind, name, serial) in &done.revoked {
                out.push_str(&format!(
                    "revoked {kind} {name} (serial {serial}, {reason})\n"
                ));
            }
            if let Some(crl) = &done.crl {
                out.push_str(&format!("  wrote {}\n", crl.display()));
            }
            for (kind, name, serial) in &done.still_valid {
                out.push_str(&format!(
                    "  still valid: {kind} {name} serial {serial} (revoke it by serial, or leave out --only-current)\n"
                ));
            }
            if let Some(c) = &done.crl_record {
                out.push_str(&clamp_note(c));
            }
            for d in &done.redeployed {
                out.push_str(&format!(
                    "  deployed to {}: reload PostgreSQL to enforce it\n",
                    d.display()
                ));
            }
            emit(&out);
            Ok(())
        }
        Command::Crl(a) => {
            let next = parse_opt::<Validity>(&a.next_update)?;
            let ca = signing_ca(dir()?, &sources, &Side::BOTH)?;
            let mut out = String::new();
            for c in ca.issue_crls(next, None)? {
                out.push_str(&format!(
                    "wrote {} (CRL number {}, next update {})\n",
                    ca.root().join(format!("{}.crl", c.ca)).display(),
                    c.number,
                    timefmt::human(c.next_update)
                ));
                out.push_str(&clamp_note(&c));
            }
            emit(&out);
            Ok(())
        }
        Command::Renew(a) => return renew(a, dir, &sources),
        Command::ServerConfig(a) => {
            let ca = open_ca(dir()?)?;
            let data_dir = a
                .data_dir
                .as_deref()
                .map(|d| std::fs::canonicalize(d).map_err(Error::io_at("open data directory", d)))
                .transpose()?;
            emit(&pgca::pg::server::server_config_text(
                &ca,
                &a.name.parse()?,
                data_dir.as_deref(),
            )?);
            Ok(())
        }
        Command::DeployServer(a) => {
            let ca = open_ca(dir()?)?;
            let d = ca.deploy_server(&a.name.parse()?, &a.data_dir, a.owner.as_deref())?;
            emit(&format!(
                "deployed server certificate {} (serial {}) to {}
  include it at the end of postgresql.conf:  include_if_exists = '{}'
  then reload PostgreSQL: pg_ctl reload, or SELECT pg_reload_conf()
",
                a.name,
                d.serial,
                d.data_dir.display(),
                d.include_file.display()
            ));
            Ok(())
        }
        Command::ClientInstall(a) => {
            let role: RoleName = a.role.parse()?;
            let ca = open_ca(dir()?)?;
            let mut opts = InstallOptions::default();
            opts.to = a.to.clone();
            opts.owner = a.owner.clone();
            opts.force = a.force;
            let done = ca.client_install(&role, &opts)?;
            emit(&format!(
                "installed role {:?}'s certificate in {}: postgresql.crt, postgresql.key, root.crt
  connect with: psql \"host=HOST user={} sslmode=verify-full\"
",
                role.as_str(),
                done.dir.display(),
                role.as_str()
            ));
            Ok(())
        }
        Command::Env(a) => {
            let role: RoleName = a.role.parse()?;
            let host: HostName = a.host.parse()?;
            let port = a.port.as_deref().map(parse_port).transpose()?;
            let ca = open_ca(dir()?)?;
            emit(&ca.client_env(&role, &host, port, a.dbname.as_deref())?);
            Ok(())
        }
        Command::Inspect(a) => {
            let info = match Inspected::from_file(&a.file)? {
                Inspected::Crl(crl) => {
                    if a.json {
                        emit(&(serde_json::to_string_pretty(&crl).expect("json") + "\n"));
                    } else {
                        emit(&crl_text(&a.file, &crl));
                    }
                    return Ok(ExitCode::SUCCESS);
                }
                Inspected::Certificate(info) => *info,
                _ => unreachable!("pgca reads every kind it knows"),
            };
            let now = timefmt::now();
            if a.json {
                let mut v = serde_json::to_value(&info).expect("info serialises");
                v["days_left"] = info.days_left(now).into();
                v["file"] = a.file.display().to_string().into();
                emit(&(serde_json::to_string_pretty(&v).expect("json") + "\n"));
            } else {
                emit(&inspect_text(&a.file, &info, now));
            }
            Ok(())
        }
    };
    done.map(|()| ExitCode::SUCCESS)
}

fn init(dir: &Path, a: &args::InitArgs, sources: &passphrase::Sources) -> Result<()> {
    // Check every value before anything is created.
    let hosts = parse_all::<HostName>(&a.server_hosts)?;
    let key_type = parse_opt::<KeyType>(&a.key_type)?.unwrap_or_default();
    let ca_validity =
        parse_opt::<Validity>(&a.ca_validity)?.unwrap_or(pgca::store::DEFAULT_CA_VALIDITY);
    let validity =
        parse_opt::<Validity>(&a.validity)?.unwrap_or(pgca::store::DEFAULT_LEAF_VALIDITY);
    let mut opts = InitOptions::default();
    opts.org = a.org.clone();
    opts.key_type = key_type;
    opts.ca_validity = ca_validity;
    opts.server_hosts = hosts.clone();
    opts.server_validity = validity;
    if !a.no_passphrase {
        let p = sources
            .get("new passphrase for the CA keys", true)?
            .ok_or(Error::NoPassphraseForInit)?;
        opts.passphrase = Some(p);
    }
    let (ca, server) = CaDir::init_with_server(dir, &opts)?;
    let mut out = String::new();
    for side in Side::BOTH {
        let info = ca.ca_info(side)?;
        out.push_str(&format!(
            "created {} CA {} (expires {})\n",
            side.name(),
            ca.ca_cert_path(side).display(),
            timefmt::human(info.not_after)
        ));
    }
    match server {
        Some(issued) => out.push_str(&describe_server(&issued, &hosts)),
        None => out.push_str("next: pgca issue-server HOST..., then pgca issue-client ROLE...\n"),
    }
    emit(&out);
    Ok(())
}

/// `pgca check`: Nagios output and exit status; anything that stops the check is UNKNOWN (3).
fn check(a: &args::CheckArgs, dir: impl Fn() -> Result<std::path::PathBuf>) -> ExitCode {
    use pgca::{Status, ops::check::CheckOptions};
    let report = (|| {
        let mut opts = CheckOptions::default();
        opts.within = parse_opt::<Validity>(&a.within)?;
        let report = open_ca(dir()?)?.check(&opts)?;
        if let Some(path) = &a.prometheus {
            pgca::ops::check::write_textfile(path, &report.prometheus())?;
        }
        Ok::<_, Error>(report)
    })();
    let report = match report {
        Ok(r) => r,
        Err(e) => return unknown(&e),
    };
    if a.json {
        emit(&(serde_json::to_string_pretty(&report).expect("report serialises") + "\n"));
    } else {
        let mut out = report.summary() + "\n";
        for f in report
            .certificates
            .iter()
            .filter(|f| f.status != Status::Ok)
        {
            out.push_str(&format!("{}: {}\n", f.status, f.detail));
        }
        if !report.ca_keys_encrypted {
            out.push_str(UNENCRYPTED_NOTE);
        }
        emit(&out);
    }
    ExitCode::from(report.status.exit_code())
}

/// Anything that stops `check` or `verify` is Nagios UNKNOWN (3), said on stdout where Nagios
/// reads it.
fn unknown(e: &Error) -> ExitCode {
    emit(&format!("PGCA UNKNOWN - {e}\n"));
    ExitCode::from(pgca::Status::Unknown.exit_code())
}

/// `pgca verify`: Nagios output and exit status, like check.
fn verify(
    a: &args::VerifyArgs,
    dir: impl Fn() -> Result<std::path::PathBuf>,
    sources: &passphrase::Sources,
) -> ExitCode {
    let report = (|| {
        let mut ca = open_ca(dir()?)?;
        // Never a prompt: a doctor runs from monitoring too.
        if sources.given()
            && let Some(p) = sources.get("passphrase", false)?
        {
            ca = ca.with_passphrase(p);
        }
        ca.verify(None)
    })();
    let report = match report {
        Ok(r) => r,
        Err(e) => return unknown(&e),
    };
    if a.json {
        emit(&(serde_json::to_string_pretty(&report).expect("report serialises") + "\n"));
    } else {
        let mut out = format!(
            "PGCA {} - {} certificates checked, {} problems\n",
            report.status,
            report.certificates,
            report.problems.len()
        );
        for p in &report.problems {
            out.push_str(&format!("{}: {}: {}\n", p.status, p.path.display(), p.what));
        }
        emit(&out);
    }
    ExitCode::from(report.status.exit_code())
}

/// `pgca renew`.
fn renew(
    a: &args::RenewArgs,
    dir: impl Fn() -> Result<std::path::PathBuf>,
    sources: &passphrase::Sources,
) -> Result<ExitCode> {
    let mut opts = pgca::ops::renew::RenewOptions::default();
    opts.within = parse_opt::<Validity>(&a.within)?;
    opts.names = parse_all(&a.names)?;
    opts.force = a.force;
    opts.reuse_key = a.reuse_key;
    opts.revoke_old = a.revoke_old;
    if let Some(f) = &a.key_passphrase_file {
        opts.key_passphrase = Some(pgca::Passphrase::from_file(f)?);
    }
    let ca = signing_ca(dir()?, sources, &Side::BOTH)?;
    if let Some(max) = a.random_delay.filter(|&m| m > 0) {
        std::thread::sleep(std::time::Duration::from_millis(random_below(max * 1000)));
    }
    let report = ca.renew(&opts)?;
    let mut out = String::new();
    for r in &report.renewed {
        let i = &r.issued;
        out.push_str(&format!(
            "renewed {} {}: serial {} -> {}, expires {}\n",
            i.kind,
            i.name,
            r.old_serial,
            i.serial,
            timefmt::human(i.not_after)
        ));
        for d in &r.redeployed {
            out.push_str(&format!(
                "  deployed to {} (reload PostgreSQL to use it)\n",
                d.display()
            ));
        }
    }
    for c in &report.crls {
        out.push_str(&format!(
            "renewed {}.crl: CRL number {}, next update {}\n",
            c.ca,
            c.number,
            timefmt::human(c.next_update)
        ));
        out.push_str(&clamp_note(c));
    }
    if report.renewed.is_empty() && report.crls.is_empty() && !a.quiet {
        out.push_str("nothing to renew\n");
    }
    emit(&out);
    let mut failed = !report.failures.is_empty();
    for f in &report.failures {
        eprintln!("pgca: {f}");
    }
    let renewed = report.renewed_names();
    if !renewed.is_empty() && !a.exec.is_empty() {
        // The hook is a reload, not a signer: it never gets the CA passphrase or where it is.
        let status = std::process::Command::new(&a.exec[0])
            .args(&a.exec[1..])
            .env_remove("PGCA_PASSPHRASE")
            .env_remove("PGCA_PASSPHRASE_FILE")
            .env("PGCA_RENEWED", renewed.join("\n"))
            .env("PGCA_DIR", ca.root())
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                eprintln!(
                    "pgca: hook {:?} failed: {s} (the renewal stands)",
                    a.exec[0]
                );
                failed = true;
            }
            Err(e) => {
                eprintln!(
                    "pgca: cannot run hook {:?}: {e} (the renewal stands)",
                    a.exec[0]
                );
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A line saying a CRL's nextUpdate was cut to its CA's expiry, or nothing.
fn clamp_note(c: &pgca::inventory::CrlRecord) -> String {
    if !c.clamped_to_ca_expiry {
        return String::new();
    }
    let side = c.ca.side();
    format!(
        "note: {}.crl's next update is clamped to the {} CA's expiry, {}: a CRL cannot outlive its CA\n",
        c.ca,
        side.name(),
        timefmt::human(c.next_update)
    )
}

/// `\rpgca: 1200/10000 keys` on stderr, redrawn at most every 100 ms and at the end.
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

/// A uniformly random number below `n` (for --random-delay).
fn random_below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .expect("random source");
    u64::from_le_bytes(b) % n.max(1)
}

fn service(cmd: &args::ServiceCommand, dir: impl Fn() -> Result<std::path::PathBuf>) -> Result<()> {
    use args::ServiceCommand as S;
    use pgca::pg::service;
    match cmd {
        S::Add(a) => {
            let role: RoleName = a.role.parse()?;
            let Some(host) = a.conn.host.as_deref() else {
                usage_error("service add needs --host HOST")
            };
            let host: HostName = host.parse()?;
            let port = parse_port(&a.conn.port)?;
            let file = service::resolve_path(a.conn.file.file.as_deref())?;
            let ca = open_ca(dir()?)?;
            let owner = file_owner(&a.conn.file)?;
            let mut conn = Connection::new(role, host);
            conn.port = port;
            conn.dbname = a.conn.dbname.clone();
            conn.crl = a.conn.crl;
            let mut req = ServiceRequest::new(file.clone(), a.name.clone());
            req.owner = owner;
            req.force = a.force;
            let done = ca.add_service(&conn, &req)?;
            let verb = if matches!(done, service::Upserted::Replaced) {
                "replaced"
            } else {
                "added"
            };
            emit(&format!(
                "{verb} service {:?} in {}: psql \"service={}\"\n",
                a.name,
                file.display(),
                a.name
            ));
        }
        S::Remove(a) => {
            let file = service::resolve_path(a.file.file.as_deref())?;
            let owner = file_owner(&a.file)?;
            let mut sf = service::read_file(&file)?;
            sf.remove(&a.name)?;
            sf.save_for(owner)?;
            emit(&format!(
                "removed service {:?} from {}\n",
                a.name,
                file.display()
            ));
        }
        S::List(a) => {
            let file = service::resolve_path(a.file.file.as_deref())?;
            let sections = service::read_file(&file)?.sections();
            if a.json {
                emit(&(serde_json::to_string_pretty(&sections).expect("json") + "\n"));
            } else {
                let mut out = String::new();
                for s in &sections {
                    let get = |k: &str| {
                        s.entries
                            .iter()
                            .find(|e| e.key == k)
                            .map_or("-", |e| e.value.as_str())
                    };
                    let note = match s.shadowed_by {
                        Some(first) => {
                            format!("  (ignored by libpq: line {first} has the same name)")
                        }
                        None => String::new(),
                    };
                    out.push_str(&format!(
                        "{}  line {}  user={} host={} sslmode={}{note}\n",
                        s.name.escape_debug(),
                        s.line,
                        get("user"),
                        get("host"),
                        get("sslmode")
                    ));
                }
                emit(&out);
            }
        }
        S::Show(a) => {
            let file = service::resolve_path(a.file.file.as_deref())?;
            let sf = service::read_file(&file)?;
            let Some(s) = sf.get(&a.name) else {
                return Err(Error::NoSuchService {
                    name: a.name.clone(),
                    path: file,
                });
            };
            let mut out = format!("[{}]\n", s.name);
            for e in &s.entries {
                let v = if e.key == "sslpassword" {
                    "(hidden)"
                } else {
                    e.value.as_str()
                };
                out.push_str(&format!("{}={v}\n", e.key));
            }
            emit(&out);
        }
    }
    Ok(())
}

/// A command line that parsed but does not make sense: clap's usage error, exit status 2.
fn usage_error(msg: &str) -> ! {
    use clap::CommandFactory;
    Cli::command()
        .error(clap::error::ErrorKind::ArgumentConflict, msg)
        .exit()
}

/// Opens the CA directory for a command that signs with the given CAs' keys, with the
/// passphrase (asked for only when one of those keys is encrypted).
fn signing_ca(
    dir: std::path::PathBuf,
    sources: &passphrase::Sources,
    sides: &[Side],
) -> Result<CaDir> {
    let ca = open_ca(dir)?;
    match ca.encrypted_key_among(sides)? {
        None => Ok(ca),
        Some(key) => match sources.get("passphrase for the CA keys", false)? {
            Some(p) => Ok(ca.with_passphrase(p)),
            None => Err(Error::NeedPassphrase(key)),
        },
    }
}

/// `pgca passwd`.
fn passwd(
    a: &args::PasswdArgs,
    dir: std::path::PathBuf,
    sources: &passphrase::Sources,
) -> Result<()> {
    let sides: Vec<Side> = match &a.which {
        Some(which) => vec![which.parse()?],
        None => Side::BOTH.to_vec(),
    };
    let ca = signing_ca(dir, sources, &sides)?;
    let new = if a.no_passphrase {
        None
    } else {
        let next = passphrase::Sources::with_file(a.new_passphrase_file.clone());
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
    let mut out = String::new();
    for side in sides {
        ca.change_passphrase(side, new.as_ref())?;
        let how = if new.is_some() {
            "encrypted with the new passphrase"
        } else {
            "stored unencrypted"
        };
        out.push_str(&format!(
            "{}: {how}\n",
            ca.root().join(side.ca_key_file()).display()
        ));
    }
    emit(&out);
    Ok(())
}

fn issue_options(a: &args::IssueArgs) -> Result<IssueOptions> {
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

/// `--file-owner`, looked up: (uid, gid).
fn file_owner(a: &args::ServiceFileArg) -> Result<Option<(u32, u32)>> {
    a.owner.as_deref().map(pgca::lookup_user).transpose()
}

fn parse_port(s: &str) -> Result<u16> {
    s.parse::<u16>()
        .ok()
        .filter(|&p| p > 0)
        .ok_or(Error::InvalidPort(s.to_string()))
}

fn parse_all<T: std::str::FromStr<Err = Error>>(items: &[String]) -> Result<Vec<T>> {
    items.iter().map(|s| s.parse()).collect()
}

fn parse_opt<T: std::str::FromStr<Err = Error>>(item: &Option<String>) -> Result<Option<T>> {
    item.as_deref().map(str::parse).transpose()
}

fn describe_server(i: &IssuedCert, names: &[HostName]) -> String {
    let names: Vec<String> = names.iter().map(ToString::to_string).collect();
    format!(
        "{} server certificate for {} (serial {}, {}, expires {})\n  certificate: {}\n  key:         {}\n",
        if i.replaced.is_some() {
            "replaced"
        } else {
            "issued"
        },
        names.join(", "),
        i.serial,
        i.key_type,
        timefmt::human(i.not_after),
        i.cert_path.display(),
        i.key_path.display(),
    )
}

fn describe_client(i: &IssuedCert) -> String {
    format!(
        "{} client certificate for role {:?}: {} (serial {}, expires {})\n",
        if i.replaced.is_some() {
            "replaced"
        } else {
            "issued"
        },
        i.name,
        i.cert_path.display(),
        i.serial,
        timefmt::human(i.not_after),
    )
}

fn list_table(rows: &[pgca::ListEntry]) -> String {
    let header = ["KIND", "NAME", "SERIAL", "NOT AFTER", "DAYS", "STATE"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.kind.to_string(),
                r.name.escape_debug().to_string(),
                r.serial.to_string(),
                timefmt::human(r.not_after),
                r.days_left.to_string(),
                r.state.to_string(),
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for c in &cells {
        for (w, s) in width.iter_mut().zip(c) {
            *w = (*w).max(s.chars().count());
        }
    }
    let line = |c: [&str; 6]| -> String {
        let mut s = String::new();
        for (i, (cell, w)) in c.iter().zip(width).enumerate() {
            if i == 4 {
                s.push_str(&format!("{cell:>w$}  "));
            } else if i == 5 {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(header);
    for c in &cells {
        out.push_str(&line([&c[0], &c[1], &c[2], &c[3], &c[4], &c[5]]));
    }
    out
}

/// `pgca inspect`'s rows. Every value is printed through [`pgca::x509::inspect::escape_controls`]: a
/// foreign certificate's names may hold terminal escape sequences and line breaks.
fn inspect_text(file: &Path, i: &CertInfo, now: time::OffsetDateTime) -> String {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(", ")
        }
    };
    let mut rows: Vec<(&str, String)> = vec![
        ("file", file.display().to_string()),
        (
            "subject",
            if i.subject.is_empty() {
                "-".to_string()
            } else {
                i.subject.clone()
            },
        ),
        ("issuer", i.issuer.clone()),
        ("serial", i.serial.to_string()),
        ("not before", timefmt::human(i.not_before)),
        (
            "not after",
            format!(
                "{} ({} days left)",
                timefmt::human(i.not_after),
                i.days_left(now)
            ),
        ),
        ("key type", i.key_type.clone()),
        ("signature", i.signature_algorithm.clone()),
        ("CA", yes_no(i.is_ca).to_string()),
    ];
    if let Some(p) = i.path_len {
        rows.push(("path length", p.to_string()));
    }
    rows.extend([
        ("SANs", list(&i.sans)),
        ("key usage", list(&i.key_usage)),
        ("extended key usage", list(&i.extended_key_usage)),
        (
            "subject key id",
            i.subject_key_id.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            "authority key id",
            i.authority_key_id.clone().unwrap_or_else(|| "-".into()),
        ),
        ("SHA-256 fingerprint", i.sha256_fingerprint.clone()),
    ]);
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    rows.into_iter()
        .map(|(k, v)| {
            format!(
                "{:<w$} {}\n",
                format!("{k}:"),
                pgca::x509::inspect::escape_controls(&v)
            )
        })
        .collect()
}

/// `pgca inspect`'s rows for a CRL, the issuer and file name escaped as in [`inspect_text`].
fn crl_text(file: &Path, c: &pgca::x509::inspect::CrlInfo) -> String {
    use pgca::x509::inspect::escape_controls;
    let mut out = format!(
        "file:         {}\nissuer:       {}\nCRL number:   {}\nthis update:  {}\nnext update:  {}\nauthority key id: {}\nrevoked:      {}\n",
        escape_controls(&file.display().to_string()),
        escape_controls(&c.issuer),
        c.number.map_or("-".to_string(), |n| n.to_string()),
        timefmt::human(c.this_update),
        c.next_update.map_or("-".to_string(), timefmt::human),
        c.authority_key_id.as_deref().unwrap_or("-"),
        c.revoked.len()
    );
    for r in &c.revoked {
        out.push_str(&format!(
            "  {}  {}  {}\n",
            r.serial,
            timefmt::human(r.at),
            r.reason.as_deref().unwrap_or("unspecified")
        ));
    }
    out
}

/// Writes to stdout; a closed pipe (`pgca list | head`) is not an error.
fn emit(s: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(s.as_bytes()).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("pgca: cannot write output: {e}");
        std::process::exit(1);
    }
}
