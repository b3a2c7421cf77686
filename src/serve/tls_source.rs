//! The TLS configuration `pgca serve` accepts with, kept current: the trust bundles change in a
//! rollover's first phase (the new CA's leaves must be accepted from then on, by a server that
//! runs for months) and the serving certificate when cron's `pgca renew` renews it. Before each
//! handshake the three files' identities are compared with those the configuration was built
//! from (three `lstat`s); when one changed, the configuration is built again from the CA
//! directory, checked as at start. A rebuild that fails keeps the configuration in use, and is
//! tried again a second later. Each rebuild, and each new reason a rebuild fails, is told to
//! the caller ([`TlsChange`]) for the request log: a service stuck on an old configuration
//! (a rollover's new CAs not accepted) says so.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::model::kind::{CertKind, Side};
use crate::model::serial::Serial;
use crate::store::layout::CaDir;
use crate::store::ledger_cache::FileId;

/// The watched files' identities.
type Stamp = [Option<FileId>; 3];

/// The configuration and what it was built from.
struct Built {
    stamp: Stamp,
    config: Arc<rustls::ServerConfig>,
    /// When a rebuild last failed: the next try waits a second, so that a broken file does not
    /// cost every handshake a rebuild.
    failed_at: Option<std::time::Instant>,
    /// Why the last rebuild failed, told once until the reason changes or a rebuild succeeds.
    failure: Option<String>,
    /// The serial the configuration serves.
    serial: Serial,
}

/// What a call to [`TlsSource::current`] did besides answering.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TlsChange {
    /// The configuration was built again; it serves this serial.
    Rebuilt(Serial),
    /// A rebuild failed for a reason not told before; the configuration serving this serial
    /// stays in use.
    Failed {
        /// Why, one line.
        reason: String,
        /// What is still served.
        serial: Serial,
    },
}

/// What the acceptor asks for its configuration (see the module docs).
pub(crate) struct TlsSource {
    ca: CaDir,
    tls_name: String,
    grace: std::time::Duration,
    watched: [PathBuf; 3],
    built: Mutex<Built>,
}

impl TlsSource {
    /// Built from `ca` now; also the serial served.
    pub(crate) fn load(
        ca: CaDir,
        tls_name: &str,
        grace: std::time::Duration,
    ) -> Result<(TlsSource, Serial)> {
        let watched = [
            ca.ca_cert_path(Side::Server),
            ca.ca_cert_path(Side::Client),
            ca.cert_path(CertKind::Server, tls_name),
        ];
        let stamp = stamp_of(&watched);
        let (config, serial) = build(&ca, tls_name, grace)?;
        let source = TlsSource {
            ca,
            tls_name: tls_name.to_string(),
            grace,
            watched,
            built: Mutex::new(Built {
                stamp,
                config,
                failed_at: None,
                failure: None,
                serial: serial.clone(),
            }),
        };
        Ok((source, serial))
    }

    /// The configuration for the next handshake, built again first if a watched file changed;
    /// and what that did, if anything is worth a log line.
    pub(crate) fn current(&self) -> (Arc<rustls::ServerConfig>, Option<TlsChange>) {
        let mut built = self.built.lock().unwrap_or_else(|p| p.into_inner());
        let stamp = stamp_of(&self.watched);
        let waiting = built
            .failed_at
            .is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1));
        let mut change = None;
        if stamp != built.stamp && !waiting {
            // The accept loop runs on the async runtime, and a rebuild blocks: files, and with
            // the inventory in a database a query through the blocking `postgres` client, which
            // must not run on a runtime thread.
            let rebuilt =
                tokio::task::block_in_place(|| build(&self.ca, &self.tls_name, self.grace));
            match rebuilt {
                Ok((config, serial)) => {
                    change = Some(TlsChange::Rebuilt(serial.clone()));
                    *built = Built {
                        stamp,
                        config,
                        failed_at: None,
                        failure: None,
                        serial,
                    }
                }
                Err(e) => {
                    built.failed_at = Some(std::time::Instant::now());
                    let reason = e.to_string();
                    if built.failure.as_deref() != Some(reason.as_str()) {
                        built.failure = Some(reason.clone());
                        change = Some(TlsChange::Failed {
                            reason,
                            serial: built.serial.clone(),
                        });
                    }
                }
            }
        }
        (built.config.clone(), change)
    }
}

fn stamp_of(paths: &[PathBuf; 3]) -> Stamp {
    [
        FileId::of(&paths[0]),
        FileId::of(&paths[1]),
        FileId::of(&paths[2]),
    ]
}

fn build(
    ca: &CaDir,
    tls_name: &str,
    grace: std::time::Duration,
) -> Result<(Arc<rustls::ServerConfig>, Serial)> {
    let identity = ca.serving_identity(tls_name)?;
    let bundles = ca.trust_bundles()?;
    let config = crate::serve::tls::server_config(&identity, &bundles, grace)?;
    Ok((config, identity.serial))
}
