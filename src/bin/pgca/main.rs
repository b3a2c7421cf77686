//! The `pgca` binary: parses the command line, hands it to its command, prints a failure with
//! its hint, and sets the exit status. Nothing else happens here.
//!
//! - [`args`]: the clap definitions (every flag, every `--help` text).
//! - [`commands`]: a module per group of commands; each turns its arguments into library calls.
//! - [`render`]: everything a command prints on stdout: tables, text, JSON.
//! - [`hints`]: the advice printed after a library error (`use --force to replace it`).
//! - [`passphrase`]: where passphrases come from (file, environment, prompt).
#![forbid(unsafe_code)]

mod args;
mod commands;
mod hints;
mod passphrase;
mod render;

use std::process::ExitCode;

use args::Command;
use commands::{
    Context, audit, completions, conninfo, csr, deploy, export, init, inspect, inventory, issue,
    monitor, online, passwd, probe, renew, repair, revoke, rollover, service,
};

fn main() -> ExitCode {
    // Before anything is read: pgca holds CA keys and passphrases in memory, and a
    // non-dumpable process leaves no core dump, and cannot be ptraced or have its memory read
    // through /proc by other processes of its user (only by root, CAP_SYS_PTRACE).
    use rustix::process::{DumpableBehavior, set_dumpable_behavior};
    if let Err(e) = set_dumpable_behavior(DumpableBehavior::NotDumpable) {
        eprintln!("pgca: cannot keep key material out of core dumps (prctl PR_SET_DUMPABLE): {e}");
        return ExitCode::FAILURE;
    }
    let cli = args::parse(); // usage errors exit with status 2 here
    let done = Context::new(&cli).and_then(|ctx| dispatch(&cli.command, &ctx));
    match done {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pgca: {}", hints::with_hint(&e));
            ExitCode::FAILURE
        }
    }
}

/// Runs the command. Most commands succeed (0) or fail (1, through `Err`); `check` and
/// `verify` return their Nagios status, `renew` 1 when part of it failed.
fn dispatch(command: &Command, ctx: &Context) -> pgca::Result<ExitCode> {
    let done = match command {
        Command::Init(a) => init::init(ctx, a),
        Command::IssueServer(a) => issue::issue_server(ctx, a),
        Command::IssueClient(a) => issue::issue_client(ctx, a),
        Command::Passwd(a) => passwd::passwd(ctx, a),
        Command::Request(a) => csr::request(a),
        Command::Sign(a) => csr::sign(ctx, a),
        Command::Service(s) => service::run(ctx, s),
        Command::Inspect(a) => inspect::inspect(a),
        Command::List(a) => monitor::list(ctx, a),
        Command::Check(a) => return Ok(monitor::check(ctx, a)),
        Command::Verify(a) => return Ok(monitor::verify(ctx, a)),
        Command::Probe(a) => return Ok(probe::probe(ctx, a)),
        Command::Audit(a) => return Ok(audit::audit(ctx, a)),
        Command::Roles(a) => return Ok(audit::roles(ctx, a)),
        Command::Token(a) => online::token(ctx, a),
        Command::Serve(a) => online::serve(ctx, a),
        Command::Enroll(a) => online::enroll(a),
        Command::Agent(a) => return online::agent(a),
        Command::Revoke(a) => revoke::revoke(ctx, a),
        Command::Crl(a) => revoke::crl(ctx, a),
        Command::Repair(a) => repair::repair(ctx, a),
        Command::Rollover(a) => rollover::run(ctx, a),
        Command::Renew(a) => return renew::renew(ctx, a),
        Command::ServerConfig(a) => deploy::server_config(ctx, a),
        Command::DeployServer(a) => deploy::deploy_server(ctx, a),
        Command::ClientInstall(a) => deploy::client_install(ctx, a),
        Command::Env(a) => deploy::env(ctx, a),
        Command::Conninfo(a) => conninfo::conninfo(ctx, a),
        Command::Export(a) => export::export(ctx, a),
        Command::Inventory(a) => inventory::run(ctx, a),
        Command::Completions(a) => completions::completions(a),
    };
    done.map(|()| ExitCode::SUCCESS)
}
