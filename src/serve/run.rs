//! `pgca serve`: the CA directory opened (its passphrase already given, read once), the serving
//! certificate and trust bundles loaded, the socket bound, then the loop.

use std::net::SocketAddr;

use crate::error::{Error, Result};
use crate::serve::api::Api;
use crate::serve::log::RequestLog;
use crate::serve::options::ServeOptions;
use crate::store::layout::CaDir;

/// Told once the socket listens: the address (its port, when 0 was asked for) and the serial
/// of the certificate it serves.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Listening {
    /// The address bound.
    pub addr: SocketAddr,
    /// The serving certificate's serial.
    pub serial: crate::model::serial::Serial,
}

/// Serves `ca` until the process ends; `ready` is called once the socket listens. The CA
/// signer checks (its key loads, with the passphrase given to `ca`) happen before that, so a
/// wrong passphrase fails at start, not at the first request.
pub fn serve(ca: CaDir, opts: &ServeOptions, ready: impl FnOnce(&Listening)) -> Result<()> {
    // The keys are decrypted here, once, and kept: a request never pays the key derivation;
    // the inventory is kept as last read or written, and read again when another process
    // (cron's pgca renew) has changed it.
    let ca = ca.keeping_state();
    for side in crate::model::kind::Side::BOTH {
        ca.issuing_signer(side)?;
    }
    let grace = opts.policy.grace.map_or(std::time::Duration::ZERO, |g| {
        std::time::Duration::from_secs(g.seconds().unsigned_abs())
    });
    let (tls, serial) =
        crate::serve::tls_source::TlsSource::load(ca.clone(), &opts.tls_name, grace)?;
    let log = RequestLog::new(match &opts.log {
        None => Box::new(std::io::stderr()),
        Some(path) => Box::new(crate::storage::open_append(path, "open the request log")?),
    });
    let listener = std::net::TcpListener::bind(opts.listen)
        .map_err(|e| Error::io("listen on", opts.listen.to_string())(e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("listen on", opts.listen.to_string())(e))?;
    ready(&Listening { addr, serial });
    if ca.inventory_db().is_some() {
        follow(ca.clone(), log.clone());
    }
    let api = Api::new(ca, opts.policy.clone(), opts.limits.per_identity_per_minute)
        .serving(&opts.tls_name);
    crate::serve::http::run(listener, tls, api, opts.limits.clone(), log)
}

/// How often a `serve` with the inventory in a database brings its CA files up to date with it.
pub(crate) const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// With the inventory in a database, every [`FOLLOW_EVERY`]: the write lock taken and let go,
/// which takes what another host did to the CAs into this directory (a rollover's new CA
/// certificate, the trust bundles of both, the old CA retired at its finish; see
/// `store/ca_files.rs`). The TLS configuration then takes the new bundles at the next
/// handshake: this host accepts a new CA's leaves within seconds of the rollover's start,
/// whether or not a request came. A failure is logged once per reason and tried again.
fn follow(ca: CaDir, log: RequestLog) {
    let told_here = log.clone();
    let spawned = std::thread::Builder::new()
        .name("pgca-follow".into())
        .spawn(move || {
            let mut told: Option<String> = None;
            loop {
                std::thread::sleep(FOLLOW_EVERY);
                match ca.follow_inventory_db() {
                    Ok(()) => told = None,
                    Err(e) => {
                        let reason = e.to_string();
                        if told.as_deref() != Some(reason.as_str()) {
                            log.follow_failed(&reason);
                            told = Some(reason);
                        }
                    }
                }
            }
        });
    if let Err(e) = spawned {
        told_here.follow_failed(&format!(
            "cannot start following the inventory database: {e}"
        ));
    }
}
