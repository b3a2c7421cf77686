//! The certificate side of an audit: the TLS files the server reads (its certificate, its key,
//! the client CA, the CRLs), judged against the CA directory; what a probe saw served; the
//! deployments the inventory records for this data directory.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::check_hba::needs_certificate;
use super::facts::{ServerFacts, pg_bool};
use super::finding::{AuditFinding, Check, Location};
use crate::model::kind::{CertKind, CertState, Side};
use crate::probe::ProbeResult;
use crate::storage::{Trust, read_public_trusting};
use crate::store::layout::CaDir;
use crate::x509::inspect::{CertInfo, CrlInfo};

/// The CA directory's side, read once per audit.
pub struct CaSide {
    /// The server CAs (during a rollover, both).
    pub server_cas: Vec<CertInfo>,
    /// Their DER.
    pub server_ders: Vec<Vec<u8>>,
    /// The client CAs' DER.
    pub client_ders: Vec<Vec<u8>>,
    /// The client CAs.
    pub client_cas: Vec<CertInfo>,
    /// The CA directory's client CRLs.
    pub client_crls: Vec<CrlInfo>,
}

impl CaSide {
    /// Reads the CAs and client CRLs of `ca`.
    pub fn read(ca: &CaDir) -> crate::error::Result<CaSide> {
        let ders = |side: Side| -> crate::error::Result<Vec<Vec<u8>>> {
            let path = ca.ca_cert_path(side);
            let pem = crate::storage::read(&path, "read certificate")?;
            crate::x509::pem::all_cert_ders(&pem).map_err(|reason| crate::error::Error::BadCert {
                path: path.clone(),
                reason,
            })
        };
        let crl_path = ca.crl_path(Side::Client);
        let client_crls = if crl_path.exists() {
            crls_of(&crate::storage::read(&crl_path, "read CRL")?)
        } else {
            Vec::new()
        };
        Ok(CaSide {
            server_cas: ca.trusted_cas(Side::Server)?,
            server_ders: ders(Side::Server)?,
            client_cas: ca.trusted_cas(Side::Client)?,
            client_ders: ders(Side::Client)?,
            client_crls,
        })
    }
}

/// Every CRL in a PEM bundle.
fn crls_of(pem: &[u8]) -> Vec<CrlInfo> {
    let text = String::from_utf8_lossy(pem);
    let mut out = Vec::new();
    let end = "-----END X509 CRL-----";
    let mut rest = text.as_ref();
    while let Some(i) = rest.find("-----BEGIN X509 CRL-----") {
        let Some(j) = rest[i..].find(end) else { break };
        let block = &rest[i..i + j + end.len()];
        if let Ok(c) = CrlInfo::from_pem(block.as_bytes()) {
            out.push(c);
        }
        rest = &rest[i + j + end.len()..];
    }
    out
}

/// What the file checks read: where the server's files are, and whose they are.
pub struct Files<'a> {
    /// The facts.
    pub facts: &'a ServerFacts,
    /// The database user (the data directory's owner), trusted with its own directories.
    pub owner: Option<u32>,
}

impl Files<'_> {
    fn read(&self, path: &Path) -> std::result::Result<Vec<u8>, String> {
        let trust = match self.owner {
            Some(uid) => Trust::with_owner(uid),
            None => Trust::invoker(),
        };
        read_public_trusting(path, "read TLS file", &trust)
            .map(|(b, _)| b)
            .or_else(|e| self.read_inside_data_dir(path, &trust).ok_or(e))
            .map_err(|e| e.to_string())
    }

    /// A path through links the database user owns (`pgca-tls/current`, which the server follows
    /// too), read only where it leads inside the data directory: the resolved path has no
    /// link left, and the trust walk checks each of its directories again.
    fn read_inside_data_dir(&self, path: &Path, trust: &Trust) -> Option<Vec<u8>> {
        let data = std::fs::canonicalize(self.facts.data_dir()?).ok()?;
        let real = std::fs::canonicalize(path).ok()?;
        if !real.starts_with(&data) {
            return None;
        }
        read_public_trusting(&real, "read TLS file", trust)
            .ok()
            .map(|(b, _)| b)
    }
}

/// The TLS file checks. `ca`: the CA directory's side, when there is one.
pub fn check_tls_files(
    files: &Files<'_>,
    ca: Option<&CaSide>,
    now: OffsetDateTime,
) -> Vec<AuditFinding> {
    let facts = files.facts;
    let mut out = Vec::new();
    if facts.value("ssl").and_then(pg_bool) != Some(true) {
        return out;
    }
    let certs_used = facts
        .hba
        .as_ref()
        .is_some_and(|rules| rules.iter().any(needs_certificate));
    client_ca(files, ca, certs_used, &mut out);
    server_cert(files, ca, now, &mut out);
    server_key(files, &mut out);
    crls(files, ca, certs_used, now, &mut out);
    out
}

fn at(facts: &ServerFacts, name: &str) -> Option<Location> {
    facts.location(name)
}

fn client_ca(
    files: &Files<'_>,
    ca: Option<&CaSide>,
    certs_used: bool,
    out: &mut Vec<AuditFinding>,
) {
    let facts = files.facts;
    let Some(path) = facts.path_setting("ssl_ca_file") else {
        if certs_used {
            out.push(
                AuditFinding::new(
                    Check::SslCaMissing,
                    "ssl_ca_file",
                    "cert lines in pg_hba.conf, and no ssl_ca_file to verify certificates with",
                )
                .at(at(facts, "ssl_ca_file")),
            );
        }
        return;
    };
    let ders = match files.read(&path).and_then(|pem| {
        crate::x509::pem::all_cert_ders(&pem).map_err(|e| format!("{}: {e}", path.display()))
    }) {
        Ok(d) => d,
        Err(e) => {
            out.push(
                AuditFinding::unknown(Check::SslCaIsServerCa, "ssl_ca_file", e)
                    .at(at(facts, "ssl_ca_file")),
            );
            return;
        }
    };
    let Some(ca) = ca else { return };
    if ders.iter().any(|d| ca.server_ders.contains(d)) {
        out.push(
            AuditFinding::new(
                Check::SslCaIsServerCa,
                "ssl_ca_file",
                format!(
                    "{} holds the server CA: any server certificate logs in as the role in its CN",
                    path.display()
                ),
            )
            .at(at(facts, "ssl_ca_file")),
        );
    } else if !ders.iter().any(|d| ca.client_ders.contains(d)) {
        out.push(
            AuditFinding::new(
                Check::SslCaForeign,
                "ssl_ca_file",
                format!("{} holds no client CA of this CA directory", path.display()),
            )
            .at(at(facts, "ssl_ca_file")),
        );
    }
}

fn server_cert(
    files: &Files<'_>,
    ca: Option<&CaSide>,
    now: OffsetDateTime,
    out: &mut Vec<AuditFinding>,
) {
    let facts = files.facts;
    let Some(path) = facts.path_setting("ssl_cert_file") else {
        return;
    };
    let loc = at(facts, "ssl_cert_file");
    let chain = match files.read(&path).and_then(|pem| {
        crate::x509::pem::all_cert_ders(&pem).map_err(|e| format!("{}: {e}", path.display()))
    }) {
        Ok(c) if !c.is_empty() => c,
        Ok(_) => {
            out.push(
                AuditFinding::new(
                    Check::SslCertChain,
                    "ssl_cert_file",
                    format!("{} holds no certificate", path.display()),
                )
                .at(loc),
            );
            return;
        }
        Err(e) => {
            out.push(AuditFinding::unknown(Check::SslCertChain, "ssl_cert_file", e).at(loc));
            return;
        }
    };
    let Ok(leaf) = CertInfo::from_der(&chain[0]) else {
        out.push(
            AuditFinding::new(
                Check::SslCertChain,
                "ssl_cert_file",
                format!("{}: not a certificate", path.display()),
            )
            .at(loc),
        );
        return;
    };
    let subject = format!("ssl_cert_file ({})", leaf.serial);
    match CertState::at(leaf.not_before, leaf.not_after, now) {
        CertState::Expired | CertState::NotYetValid => out.push(
            AuditFinding::new(
                Check::SslCertChain,
                &subject,
                format!(
                    "{} is not valid now (valid {} to {})",
                    path.display(),
                    date(leaf.not_before),
                    date(leaf.not_after)
                ),
            )
            .at(loc.clone()),
        ),
        CertState::Due => out.push(
            AuditFinding::new(
                Check::SslCertExpiry,
                &subject,
                format!("{} expires on {}", path.display(), date(leaf.not_after)),
            )
            .at(loc.clone()),
        ),
        _ => {}
    }
    let Some(ca) = ca else { return };
    let mid = leaf.not_before + (leaf.not_after - leaf.not_before) / 2;
    let chains = ca
        .server_ders
        .iter()
        .any(|root| crate::probe::report::chains_to(&chain, root, now, mid));
    if !chains {
        out.push(
            AuditFinding::new(
                Check::SslCertChain,
                &subject,
                format!(
                    "{} does not chain to this CA directory's server CA",
                    path.display()
                ),
            )
            .at(loc.clone()),
        );
    }
    if let Some(expiry) = ca.server_cas.iter().map(|c| c.not_after).max()
        && leaf.not_after > expiry
    {
        out.push(
            AuditFinding::new(
                Check::SslCertExpiry,
                &subject,
                format!(
                    "it outlives the server CA ({}), which clients stop trusting first",
                    date(expiry)
                ),
            )
            .at(loc),
        );
    }
}

/// PostgreSQL's rule for `ssl_key_file` (`be-secure-common.c`): a regular file, owned by the
/// database user with no group or other access, or by root with at most group read.
fn server_key(files: &Files<'_>, out: &mut Vec<AuditFinding>) {
    let facts = files.facts;
    let Some(path) = facts.path_setting("ssl_key_file") else {
        return;
    };
    let loc = at(facts, "ssl_key_file");
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) => {
            out.push(
                AuditFinding::unknown(
                    Check::SslKeyPermissions,
                    "ssl_key_file",
                    format!("{}: {e}", path.display()),
                )
                .at(loc),
            );
            return;
        }
    };
    let mode = meta.mode() & 0o7777;
    let why = if !meta.is_file() {
        Some("is not a regular file".to_string())
    } else if Some(meta.uid()) == files.owner && mode & 0o077 != 0 {
        Some(format!(
            "is mode {mode:04o}, owned by the database user: it must be 0600 or less"
        ))
    } else if meta.uid() == 0 && Some(0) != files.owner && mode & 0o037 != 0 {
        Some(format!(
            "is mode {mode:04o}, owned by root: it must be 0640 or less"
        ))
    } else if meta.uid() != 0 && files.owner.is_some() && Some(meta.uid()) != files.owner {
        Some(format!(
            "is owned by uid {}, neither the database user nor root",
            meta.uid()
        ))
    } else {
        None
    };
    if let Some(why) = why {
        out.push(
            AuditFinding::new(
                Check::SslKeyPermissions,
                "ssl_key_file",
                format!("{} {why}", path.display()),
            )
            .at(loc),
        );
    }
}

fn crls(
    files: &Files<'_>,
    ca: Option<&CaSide>,
    certs_used: bool,
    now: OffsetDateTime,
    out: &mut Vec<AuditFinding>,
) {
    let facts = files.facts;
    let file = facts.path_setting("ssl_crl_file");
    let dir = facts.path_setting("ssl_crl_dir");
    if file.is_none() && dir.is_none() {
        if certs_used {
            out.push(
                AuditFinding::new(
                    Check::SslCrlMissing,
                    "ssl_crl_file",
                    "client certificates are accepted and neither ssl_crl_file nor ssl_crl_dir is set",
                )
                .at(at(facts, "ssl_crl_file")),
            );
        }
        return;
    }
    let mut deployed: Vec<(PathBuf, CrlInfo)> = Vec::new();
    if let Some(path) = &file {
        match files.read(path) {
            Ok(pem) => deployed.extend(crls_of(&pem).into_iter().map(|c| (path.clone(), c))),
            Err(e) => out.push(
                AuditFinding::unknown(Check::SslCrlStale, "ssl_crl_file", e)
                    .at(at(facts, "ssl_crl_file")),
            ),
        }
    }
    if let Some(dir) = &dir {
        let trust = files.owner.map_or_else(Trust::invoker, Trust::with_owner);
        match crate::storage::list_dir_trusting(dir, &trust) {
            Ok((dir, names)) => {
                for (name, _) in names {
                    let path = dir.join(&name);
                    if let Ok(pem) = files.read(&path) {
                        deployed.extend(crls_of(&pem).into_iter().map(|c| (path.clone(), c)));
                    }
                }
            }
            Err(e) => out.push(
                AuditFinding::unknown(Check::SslCrlStale, "ssl_crl_dir", e.to_string())
                    .at(at(facts, "ssl_crl_dir")),
            ),
        }
    }
    for (path, crl) in &deployed {
        let subject = format!("CRL {}", path.display());
        if crl.next_update.is_some_and(|n| n <= now) {
            out.push(AuditFinding::new(
                Check::SslCrlStale,
                &subject,
                format!(
                    "past its next update ({})",
                    date(crl.next_update.unwrap_or(now))
                ),
            ));
        }
        let newer = ca
            .into_iter()
            .flat_map(|c| &c.client_crls)
            .find(|c| c.authority_key_id == crl.authority_key_id && c.number > crl.number);
        if let Some(newer) = newer {
            let missing = newer
                .revoked
                .iter()
                .filter(|r| !crl.revoked.iter().any(|d| d.serial == r.serial))
                .count();
            out.push(AuditFinding::new(
                Check::SslCrlStale,
                &subject,
                format!(
                    "CRL number {} is older than the CA directory's {} ({missing} revoked certificate(s) still accepted)",
                    crl.number.map_or("none".into(), |n| n.to_string()),
                    newer.number.map_or("none".into(), |n| n.to_string()),
                ),
            ));
        }
    }
    if let Some(ca) = ca
        && certs_used
        && !ca.client_crls.is_empty()
        && deployed.is_empty()
        && !out.iter().any(|f| f.check == Check::SslCrlStale)
    {
        out.push(AuditFinding::new(
            Check::SslCrlStale,
            "ssl_crl_file",
            "no CRL could be read from the files the server is told",
        ));
    }
}

/// The findings of a probe of the server: what it serves. The TLS version it negotiated is
/// the settings checks' (`ssl-min-protocol`); each other problem the probe names is a finding.
pub fn check_served(p: &ProbeResult) -> Vec<AuditFinding> {
    let subject = format!("served chain ({})", p.target);
    if let Some(f) = &p.failure {
        return vec![AuditFinding::unknown(
            Check::ServedChain,
            subject,
            format!("probe failed: {f}"),
        )];
    }
    p.problems
        .iter()
        .filter(|m| !m.starts_with("negotiated "))
        .map(|m| {
            let check = if m.starts_with("renewed but not reloaded") {
                Check::ServedStale
            } else if m.contains("is due for renewal") {
                Check::SslCertExpiry
            } else if m.contains("which the inventory does not know") {
                Check::DeploymentStale
            } else {
                Check::ServedChain
            };
            AuditFinding::new(check, subject.clone(), m.clone())
        })
        .collect()
}

/// The deployments the inventory records for `data_dir`: an old certificate or old CA files.
pub fn check_deployments(ca: &CaDir, data_dir: &Path) -> crate::error::Result<Vec<AuditFinding>> {
    let ledger = ca.inventory()?;
    let data_dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let mut out = Vec::new();
    for d in ledger
        .deployments()
        .into_iter()
        .filter(|d| d.data_dir == data_dir)
    {
        let subject = format!("deployment of {} in {}", d.name, d.data_dir.display());
        let current = ledger.current(CertKind::Server, &d.name);
        if current.is_some_and(|c| c.serial != d.serial) {
            out.push(AuditFinding::new(
                Check::DeploymentStale,
                subject,
                format!(
                    "serial {} is deployed; the current certificate is {}",
                    d.serial,
                    current.map(|c| c.serial.to_string()).unwrap_or_default()
                ),
            ));
        } else if ca.deployment_stale(d) {
            out.push(AuditFinding::new(
                Check::DeploymentStale,
                subject,
                "the deployed client CA or CRL is not the CA directory's",
            ));
        }
    }
    Ok(out)
}

fn date(t: OffsetDateTime) -> String {
    crate::model::timefmt::rfc3339(t)
}
