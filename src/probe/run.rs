//! `CaDir::probe`: many targets at once, a bounded number of threads, one deadline per target
//! for all its steps.

use std::sync::{Arc, Mutex};

use rustls::sign::CertifiedKey;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::inventory::Ledger;
use crate::model::kind::{CertKind, Side};
use crate::model::status::Status;
use crate::model::timefmt;
use crate::probe::deadline::Deadline;
use crate::probe::login::login;
use crate::probe::report::{ProbeReport, ProbeResult};
use crate::probe::tls::{Start, handshake, identity, open};
use crate::probe::wire::{Target, connect, ssl_request};
use crate::store::CaDir;
use crate::x509::keys::PrivateKey;
use crate::x509::pem::first_cert_der;

/// How to probe.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ProbeOptions {
    /// The server name sent in the handshake and matched against the certificate; by default
    /// each target's host.
    pub sni: Option<String>,
    /// The limit on each target's whole exchange (default 5 s): resolving its name, connecting,
    /// SSLRequest, the TLS handshake and the `role` login all end within it, however slowly the
    /// server answers.
    pub timeout: Duration,
    /// How many targets are probed at once (default 8).
    pub parallel: usize,
    /// The time the certificates are judged at; `None` means the system clock.
    pub now: Option<OffsetDateTime>,
    /// Log in as this role with its pgca client certificate, and report the server's verdict.
    pub role: Option<String>,
    /// The database of that login (default `postgres`).
    pub dbname: Option<String>,
    /// How TLS starts: SSLRequest (default), or directly with ALPN `postgresql` (17+).
    pub start: Start,
}

impl Default for ProbeOptions {
    fn default() -> ProbeOptions {
        ProbeOptions {
            sni: None,
            timeout: Duration::from_secs(5),
            parallel: 8,
            now: None,
            role: None,
            dbname: None,
            start: Start::SslRequest,
        }
    }
}

impl CaDir {
    /// Probes each target: SSLRequest, a TLS handshake, and the served certificate judged
    /// against this directory's server CA and inventory. A target that cannot be reached is a
    /// result (UNKNOWN), not an error; errors are only about reading the CA directory.
    pub fn probe(&self, targets: &[Target], opts: &ProbeOptions) -> Result<ProbeReport> {
        // Every CA of the bundle: during a rollover a server may serve a chain to either.
        let path = self.ca_cert_path(Side::Server);
        let pem = crate::storage::read(&path, "read certificate")?;
        let server_ca = crate::x509::pem::all_cert_ders(&pem).map_err(|reason| Error::BadCert {
            path: path.clone(),
            reason,
        })?;
        let identity = match &opts.role {
            Some(role) => Some(self.client_identity(role)?),
            None => None,
        };
        let ledger = self.inventory()?;
        let now = opts.now.unwrap_or_else(timefmt::now);
        let results: Vec<Mutex<Option<ProbeResult>>> =
            targets.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let workers = opts.parallel.clamp(1, targets.len().max(1));
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(target) = targets.get(i) else { break };
                        let r = probe_one(target, opts, &server_ca, &ledger, now, identity.clone());
                        *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                    }
                });
            }
        });
        let targets: Vec<ProbeResult> = results
            .into_iter()
            .zip(targets)
            .map(|(m, t)| {
                m.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .unwrap_or_else(|| {
                        ProbeResult::failed(
                            t,
                            crate::probe::wire::Failure::Unreachable("not probed".into()),
                        )
                    })
            })
            .collect();
        let status = targets.iter().map(|r| r.status).max().unwrap_or(Status::Ok);
        Ok(ProbeReport { status, targets })
    }

    /// The role's current client certificate and key (checked against the inventory, not
    /// revoked), ready to present.
    fn client_identity(&self, role: &str) -> Result<Arc<CertifiedKey>> {
        let pair = self.live_with_key(CertKind::Client, role)?;
        let key_path = self.key_path(CertKind::Client, role);
        let text = zeroize::Zeroizing::new(String::from_utf8_lossy(&pair.key_pem).into_owned());
        let key = PrivateKey::from_pem(&text, &key_path)?;
        let chain = vec![
            first_cert_der(&pair.cert_pem).map_err(|reason| Error::BadCert {
                path: self.cert_path(CertKind::Client, role),
                reason,
            })?,
        ];
        identity(chain, &key.to_pkcs8_der()).map_err(|reason| Error::BadKey {
            path: key_path,
            reason,
        })
    }
}

/// One target, start to end, by one deadline.
fn probe_one(
    target: &Target,
    opts: &ProbeOptions,
    server_ca: &[Vec<u8>],
    ledger: &Ledger,
    now: OffsetDateTime,
    identity: Option<Arc<CertifiedKey>>,
) -> ProbeResult {
    let host = opts.sni.as_deref().unwrap_or(&target.host);
    let deadline = Deadline::after(opts.timeout);
    let Some(role) = &opts.role else {
        let done = connect(target, deadline).and_then(|mut stream| {
            if opts.start == Start::SslRequest {
                ssl_request(&mut stream)?;
            }
            handshake(&mut stream, host, opts.start)
        });
        return match done {
            Ok(hs) => ProbeResult::judge(target, host, hs, server_ca, ledger, now),
            Err(f) => ProbeResult::failed(target, f),
        };
    };
    let mut stream = match connect(target, deadline) {
        Ok(s) => s,
        Err(f) => return ProbeResult::failed(target, f),
    };
    let started = match opts.start {
        Start::SslRequest => ssl_request(&mut stream),
        Start::Direct => Ok(()),
    };
    let (hs, mut conn) = match started.and_then(|()| open(&mut stream, host, opts.start, identity))
    {
        Ok(done) => done,
        Err(f) => return ProbeResult::failed(target, f),
    };
    let mut r = ProbeResult::judge(target, host, hs, server_ca, ledger, now);
    let dbname = opts.dbname.as_deref().unwrap_or("postgres");
    r.add_login(login(&mut conn, &mut stream, role, dbname));
    r
}
