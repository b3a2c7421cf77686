//! `pgca renew`: what is due renewed (for cron), renewed server certificates deployed again,
//! then the hook.

use std::process::ExitCode;

use pgca::ops::renew::RenewOptions;
use pgca::{Result, Side, Validity};

use super::{Context, parse_all, parse_opt};
use crate::args::RenewArgs;
use crate::hints;
use crate::render::{self, Format};

/// `pgca renew`: what is due, then the hook; exit status 1 when anything failed (the rest
/// still renewed).
pub fn renew(ctx: &Context, a: &RenewArgs) -> Result<ExitCode> {
    let mut opts = RenewOptions::default();
    opts.within = parse_opt::<Validity>(&a.within)?;
    opts.names = parse_all(&a.names)?;
    opts.force = a.force;
    opts.reuse_key = a.reuse_key;
    opts.max_key_age = parse_opt::<Validity>(&a.max_key_age)?;
    opts.revoke_old = a.revoke_old;
    opts.skip_installs = a.no_install;
    if let Some(f) = &a.key_passphrase_file {
        opts.key_passphrase = Some(pgca::Passphrase::from_file(f)?);
    }
    let ca = ctx.signing(&Side::BOTH)?;
    if let Some(max) = a.random_delay.filter(|&m| m > 0) {
        std::thread::sleep(std::time::Duration::from_millis(random_below(max * 1000)));
    }
    let report = ca.renew(&opts)?;
    // -q keeps the renewals (cron mails them) and drops only "nothing to renew".
    let format = if a.json { Format::Json } else { Format::Text };
    render::print(
        format,
        || render::renew_text(&report, a.quiet),
        || render::renew_json(ca.root(), &report),
    );
    let mut failed = !report.failures.is_empty();
    for f in &report.failures {
        eprintln!("pgca: {}", hints::failure_with_hint(f));
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

/// A uniformly random number below `n` (for --random-delay).
fn random_below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .expect("random source");
    u64::from_le_bytes(b) % n.max(1)
}
