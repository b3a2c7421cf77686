//! Judging what a server served: against the CA directory's server CA, libpq's host name rules,
//! the clock, and the inventory (is it the current certificate, or was it renewed and never
//! reloaded?). One [`ProbeResult`] per target, with its Nagios status.

use serde::Serialize;
use time::OffsetDateTime;

use crate::inventory::Ledger;
use crate::model::kind::{CertKind, CertState};
use crate::model::serial::Serial;
use crate::model::status::Status;
use crate::probe::hostname;
use crate::probe::login::Login;
use crate::probe::tls::Handshake;
use crate::probe::wire::{Failure, Target};
use crate::x509::inspect::CertInfo;

/// One certificate of the served chain.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct ServedCert {
    /// Subject DN.
    pub subject: String,
    /// DNS names and IP addresses.
    pub sans: Vec<String>,
    /// Serial number.
    pub serial: Serial,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whole days left (negative once expired).
    pub days_left: i64,
}

/// What one target served, and what pgca makes of it.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct ProbeResult {
    /// `HOST:PORT` as probed.
    pub target: String,
    /// The worst of the findings.
    pub status: Status,
    /// One line per finding that is not OK, most serious first; empty when all is well.
    pub problems: Vec<String>,
    /// Why there was no certificate to judge (unreachable, not PostgreSQL, no TLS, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// `TLSv1.3` or `TLSv1.2`.
    pub tls_version: Option<String>,
    /// The negotiated cipher suite.
    pub cipher_suite: Option<String>,
    /// The ALPN protocol the server chose (`postgresql` after `--direct`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    /// The served chain, the server's certificate first.
    pub chain: Vec<ServedCert>,
    /// Whether the served certificate chains to the CA directory's server CA (either CA of a
    /// rollover).
    pub chains_to_ca: Option<bool>,
    /// During a rollover of the server CA: `old` or `new`, the CA the served chain leads to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollover_ca: Option<&'static str>,
    /// Whether it is valid for the host name by libpq's rules (`sslmode=verify-full`).
    pub name_matches: Option<bool>,
    /// The inventory's current certificate for the name the served one was issued for.
    pub current_serial: Option<Serial>,
    /// Whether the served certificate is that current one.
    pub is_current: Option<bool>,
    /// Whether the served certificate's key was made on its host (`pgca sign`): the CA directory
    /// holds its public key only.
    pub external_key: Option<bool>,
    /// `Some` when the server asked for a client certificate: the CA names it advertised.
    pub client_ca_names: Option<Vec<String>>,
    /// With `--role`: whether the server accepted the role's certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login: Option<Login>,
}

impl ProbeResult {
    /// A target that gave no certificate.
    pub fn failed(target: &Target, failure: Failure) -> ProbeResult {
        ProbeResult {
            target: target.to_string(),
            status: failure.status(),
            problems: vec![failure.to_string()],
            failure: Some(failure),
            tls_version: None,
            cipher_suite: None,
            alpn: None,
            chain: Vec::new(),
            chains_to_ca: None,
            rollover_ca: None,
            name_matches: None,
            current_serial: None,
            is_current: None,
            external_key: None,
            client_ca_names: None,
            login: None,
        }
    }

    /// Folds in the verdict of a `--role` login: a refusal is CRITICAL, with the server's text.
    pub fn add_login(&mut self, login: Login) {
        if let Some(why) = &login.refusal {
            let line = format!("role {} refused: {why}", login.role);
            let at = self.problems.len().min(if self.status == Status::Critical {
                1
            } else {
                0
            });
            self.problems.insert(at, line);
            self.status = Status::Critical;
        }
        self.login = Some(login);
    }

    /// Judges a completed handshake: the chain against `server_ca` (DER), the name against
    /// `host`, the dates against `now`, the serial against the inventory.
    pub fn judge(
        target: &Target,
        host: &str,
        hs: Handshake,
        server_ca: &[Vec<u8>],
        ledger: &Ledger,
        now: OffsetDateTime,
    ) -> ProbeResult {
        let mut r = ProbeResult::failed(target, Failure::TlsRefused);
        r.failure = None;
        r.problems.clear();
        r.status = Status::Ok;
        r.tls_version = Some(hs.version);
        r.cipher_suite = Some(hs.cipher_suite);
        r.alpn = hs.alpn;
        r.client_ca_names = hs.client_ca_names;
        let mut findings: Vec<(Status, String)> = Vec::new();
        let infos: Vec<Option<CertInfo>> = hs
            .chain
            .iter()
            .map(|d| CertInfo::from_der(d).ok())
            .collect();
        r.chain = infos
            .iter()
            .flatten()
            .map(|i| ServedCert {
                subject: i.subject.clone(),
                sans: i.sans.clone(),
                serial: i.serial.clone(),
                not_after: i.not_after,
                days_left: i.days_left(now),
            })
            .collect();
        let Some(Some(leaf)) = infos.first() else {
            r.status = Status::Critical;
            r.problems = vec!["the server's certificate cannot be read".into()];
            return r;
        };
        if r.tls_version.as_deref() != Some("TLSv1.3") {
            // rustls offered 1.3, so the server cannot do it: PostgreSQL's guides (and pgca's
            // server-config) ask for ssl_min_protocol_version = 'TLSv1.3'.
            findings.push((
                Status::Warning,
                format!(
                    "negotiated {} only: the server does not offer TLSv1.3 (ssl_min_protocol_version = 'TLSv1.3')",
                    r.tls_version.as_deref().unwrap_or("an unknown version")
                ),
            ));
        }
        let midpoint = leaf.not_before + (leaf.not_after - leaf.not_before) / 2;
        let leads_to = server_ca
            .iter()
            .position(|ca| chains_to(&hs.chain, ca, now, midpoint));
        let chains = leads_to.is_some();
        r.chains_to_ca = Some(chains);
        if let (Some(at), Some(_)) = (leads_to, ledger.rollover(crate::model::kind::Side::Server)) {
            r.rollover_ca = Some(if at == 0 { "old" } else { "new" });
        }
        if !chains {
            findings.push((
                Status::Critical,
                format!(
                    "serves serial {} (issuer {}), which does not chain to the server CA",
                    leaf.serial, leaf.issuer
                ),
            ));
        }
        let named = hostname::matches(host, &leaf.sans, leaf.common_name.as_deref());
        r.name_matches = Some(named);
        if !named {
            findings.push((
                Status::Critical,
                format!(
                    "serial {} is not valid for {host} (names: {})",
                    leaf.serial,
                    if leaf.sans.is_empty() {
                        leaf.common_name.clone().unwrap_or_default()
                    } else {
                        leaf.sans.join(", ")
                    }
                ),
            ));
        }
        match CertState::at(leaf.not_before, leaf.not_after, now) {
            CertState::Expired => findings.push((
                Status::Critical,
                format!("serial {} expired {}", leaf.serial, leaf.not_after.date()),
            )),
            CertState::NotYetValid => findings.push((
                Status::Critical,
                format!(
                    "serial {} is not valid before {}",
                    leaf.serial, leaf.not_before
                ),
            )),
            CertState::Due => findings.push((
                Status::Warning,
                format!(
                    "serial {} is due for renewal: {} days left",
                    leaf.serial,
                    leaf.days_left(now)
                ),
            )),
            _ => {}
        }
        if chains {
            let issued = ledger
                .issued()
                .iter()
                .find(|i| i.kind == CertKind::Server && i.serial == leaf.serial);
            match issued.and_then(|i| ledger.current(CertKind::Server, &i.name).map(|c| (i, c))) {
                Some((i, current)) => {
                    r.external_key = Some(i.external_key);
                    r.current_serial = Some(current.serial.clone());
                    r.is_current = Some(current.serial == leaf.serial);
                    if current.serial != leaf.serial {
                        findings.push((
                            Status::Warning,
                            format!(
                                "renewed but not reloaded: serves serial {}, the current certificate of {} is serial {}",
                                leaf.serial, i.name, current.serial
                            ),
                        ));
                    }
                }
                None => findings.push((
                    Status::Warning,
                    format!(
                        "serves serial {}, which the inventory does not know",
                        leaf.serial
                    ),
                )),
            }
        }
        findings.sort_by_key(|f| std::cmp::Reverse(f.0));
        r.status = findings.first().map_or(Status::Ok, |f| f.0);
        r.problems = findings.into_iter().map(|f| f.1).collect();
        r
    }

    /// The Nagios line: `OK: db:5432 serves serial … (TLSv1.3, 80 days left)`, with `, ALPN
    /// postgresql` after the version on a direct start, and `on the new server CA` (or old)
    /// during a rollover of the server CA.
    pub fn summary(&self) -> String {
        match (self.problems.first(), self.chain.first()) {
            (Some(p), _) => {
                let more = if self.problems.len() > 1 {
                    format!(" (+{} more)", self.problems.len() - 1)
                } else {
                    String::new()
                };
                let ca = match self.rollover_ca {
                    Some(which) => format!(" (a chain to the {which} server CA)"),
                    None => String::new(),
                };
                format!("{}: {}: {p}{more}{ca}", self.status, self.target)
            }
            (None, Some(leaf)) => format!(
                "{}: {} serves serial {}{}{} ({}, {} days left){}",
                self.status,
                self.target,
                leaf.serial,
                if self.external_key == Some(true) {
                    " (external key)"
                } else {
                    ""
                },
                match self.rollover_ca {
                    Some(which) => format!(" on the {which} server CA"),
                    None => String::new(),
                },
                match &self.alpn {
                    Some(alpn) => format!(
                        "{}, ALPN {alpn}",
                        self.tls_version.as_deref().unwrap_or("TLS")
                    ),
                    None => self.tls_version.clone().unwrap_or_else(|| "TLS".into()),
                },
                leaf.days_left,
                match &self.login {
                    Some(l) => format!("; role {} accepted", l.role),
                    None => String::new(),
                }
            ),
            (None, None) => format!("{}: {}", self.status, self.target),
        }
    }
}

/// Whether the chain leads to `server_ca` (one CA's DER) for server authentication. Validity dates are judged
/// apart: a chain that fails only on dates at `now` is verified again at `fallback` (the
/// middle of the served certificate's validity), so an expired certificate still chains.
pub(crate) fn chains_to(
    chain: &[Vec<u8>],
    server_ca: &[u8],
    now: OffsetDateTime,
    fallback: OffsetDateTime,
) -> bool {
    use rustls_pki_types::{CertificateDer, UnixTime};
    let ca = CertificateDer::from(server_ca);
    let Ok(anchor) = webpki::anchor_from_trusted_cert(&ca) else {
        return false;
    };
    let Some((leaf, rest)) = chain.split_first() else {
        return false;
    };
    let leaf = CertificateDer::from(leaf.as_slice());
    let Ok(ee) = webpki::EndEntityCert::try_from(&leaf) else {
        return false;
    };
    let intermediates: Vec<CertificateDer<'_>> = rest
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let verify_at = |t: OffsetDateTime| {
        let at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            t.unix_timestamp().max(0) as u64,
        ));
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            std::slice::from_ref(&anchor),
            &intermediates,
            at,
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )
        .map(|_| ())
    };
    match verify_at(now) {
        Ok(()) => true,
        Err(webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. }) => {
            verify_at(fallback).is_ok()
        }
        Err(_) => false,
    }
}

/// Every target's result, and the worst status.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct ProbeReport {
    /// The worst status of all targets: the exit status.
    pub status: Status,
    /// One result per target, in the order given.
    pub targets: Vec<ProbeResult>,
}
