//! The TLS configuration `pgca serve` accepts with, kept current: the trust bundles change in a
//! rollover's first phase (the new CA's leaves must be accepted from then on, by a server that
//! runs for months) and the serving certificate when cron's `pgca renew` renews it. Before each
//! handshake the three files' identities are compared with those the configuration was built
//! from (three `lstat`s); when one changed, the configuration is built again from the CA
//! directory, checked as at start. A rebuild that fails keeps the configuration in use, and is
//! tried again a second later.

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
            }),
        };
        Ok((source, serial))
    }

    /// The configuration for the next handshake, built again first if a watched file changed.
    pub(crate) fn current(&self) -> Arc<rustls::ServerConfig> {
        let mut built = self.built.lock().unwrap_or_else(|p| p.into_inner());
        let stamp = stamp_of(&self.watched);
        let waiting = built
            .failed_at
            .is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1));
        if stamp != built.stamp && !waiting {
            match build(&self.ca, &self.tls_name, self.grace) {
                Ok((config, _)) => {
                    *built = Built {
                        stamp,
                        config,
                        failed_at: None,
                    }
                }
                Err(_) => built.failed_at = Some(std::time::Instant::now()),
            }
        }
        built.config.clone()
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
