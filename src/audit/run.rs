//! `pgca audit`: each target read (offline or live), every check run on what was read, the
//! certificate side judged against the CA directory when there is one.

use time::OffsetDateTime;

use super::check_certs::{CaSide, Files, check_deployments, check_served, check_tls_files};
use super::check_hba::check_hba;
use super::check_settings::check_settings;
use super::facts::{Read, ServerFacts};
use super::finding::{AuditFinding, Check};
use super::live::{LiveOptions, read_live};
use super::offline::read_offline;
use super::report::{AuditReport, Expiry, TargetReport, TlsFacts};
use super::roles::check_roles;
use super::target::{AuditOptions, AuditTarget, shown};
use crate::error::Result;
use crate::model::kind::{CertKind, Side};
use crate::probe::ProbeOptions;
use crate::store::layout::CaDir;
use crate::x509::inspect::CertInfo;

/// Audits `targets`, the certificate side against `ca` when given. A target that cannot be read
/// (unreachable, refused, a configuration PostgreSQL would refuse) is reported with its error
/// and UNKNOWN; the others are audited all the same.
pub fn audit(
    ca: Option<&CaDir>,
    targets: &[AuditTarget],
    opts: &AuditOptions,
) -> Result<AuditReport> {
    let now = opts.now.unwrap_or_else(crate::model::timefmt::now);
    let side = ca.map(CaSide::read).transpose()?;
    let reports = std::thread::scope(|s| {
        let jobs: Vec<_> = targets
            .iter()
            .map(|t| s.spawn(|| audit_one(ca, side.as_ref(), t, opts, now)))
            .collect();
        jobs.into_iter()
            .zip(targets)
            .map(|(j, t)| {
                j.join()
                    .unwrap_or_else(|_| TargetReport::failed(shown(t), "the audit panicked".into()))
            })
            .collect()
    });
    Ok(AuditReport::new(now, reports))
}

fn read(t: &AuditTarget, opts: &AuditOptions) -> Result<Read> {
    match t {
        AuditTarget::Offline(p) => {
            let o = read_offline(p)?;
            let owner = o.owner;
            Ok(Read {
                facts: o.facts,
                owner: Some(owner),
                owner_name: o.owner_name,
                files_here: true,
                probe: opts.probe.clone(),
            })
        }
        AuditTarget::Live(c) => {
            let mut read = read_live(
                c,
                &LiveOptions {
                    timeout: opts.timeout,
                    probe: opts.probe.clone(),
                    ..LiveOptions::default()
                },
            )?;
            options_from_file(&mut read);
            Ok(read)
        }
    }
}

/// What the views leave out, when the server's files are on this host: `pg_hba_file_rules`
/// omits some options (`clientname`, before PostgreSQL 16), so each loaded rule takes its
/// options from the same line of the file if that line still has the same type and method;
/// PostgreSQL 14 has no `pg_ident_file_mappings`, so the maps are read from `ident_file`.
fn options_from_file(read: &mut Read) {
    if !read.files_here {
        return;
    }
    let Some(path) = read.facts.path_setting("hba_file") else {
        return;
    };
    let Ok(file_rules) = super::hba::read_pg_hba(&path, read.owner) else {
        return;
    };
    // PostgreSQL 14 has no pg_ident_file_mappings: the maps come from the file then.
    if read.facts.ident.is_none()
        && read
            .facts
            .unreadable
            .iter()
            .any(|u| u.contains("has no pg_ident_file_mappings view"))
        && let Some(ident) = read.facts.path_setting("ident_file")
    {
        let maps = if ident.exists() {
            super::ident::read_pg_ident(&ident, read.owner).ok()
        } else {
            Some(Vec::new())
        };
        if let Some(maps) = maps {
            read.facts.ident = Some(maps);
            read.facts
                .unreadable
                .retain(|u| !u.contains("has no pg_ident_file_mappings view"));
        }
    }
    for r in read.facts.hba.iter_mut().flatten() {
        if let Some(f) = file_rules.iter().find(|f| {
            f.line == r.line && f.conn == r.conn && f.method == r.method && f.file == r.file
        }) {
            r.options = f.options.clone();
        }
    }
}

fn audit_one(
    ca: Option<&CaDir>,
    side: Option<&CaSide>,
    t: &AuditTarget,
    opts: &AuditOptions,
    now: OffsetDateTime,
) -> TargetReport {
    let read = match read(t, opts) {
        Ok(r) => r,
        Err(e) => return TargetReport::failed(shown(t), e.to_string()),
    };
    let facts = &read.facts;
    let mut findings = check_settings(facts);
    findings.extend(check_hba(facts, opts.widest, read.owner_name.as_deref()));
    findings.extend(
        facts
            .unreadable
            .iter()
            .map(|u| AuditFinding::unknown(Check::Unreadable, "server", u.clone())),
    );
    let mut timeline = Vec::new();
    let mut tls = TlsFacts {
        settings: tls_settings(facts),
        probe: None,
    };
    if read.files_here {
        let files = Files {
            facts,
            owner: read.owner,
        };
        findings.extend(check_tls_files(&files, side, now));
        timeline.extend(file_expiry(facts, &files));
    }
    match ca {
        None => findings.push(AuditFinding::new(
            Check::CaDirectory,
            "CA directory",
            "no CA directory: the certificate and role checks did not run",
        )),
        Some(ca) => {
            timeline.extend(ca_expiry(ca));
            if read.files_here
                && let Some(d) = facts.data_dir()
            {
                match check_deployments(ca, &d) {
                    Ok(f) => findings.extend(f),
                    Err(e) => findings.push(AuditFinding::unknown(
                        Check::DeploymentStale,
                        "inventory",
                        e.to_string(),
                    )),
                }
            }
            let tls_on = facts.value("ssl").and_then(super::facts::pg_bool) == Some(true);
            if let Some(target) = read.probe.as_ref().filter(|_| tls_on) {
                let popts = ProbeOptions {
                    timeout: opts.timeout,
                    now: Some(now),
                    ..ProbeOptions::default()
                };
                match ca.probe(std::slice::from_ref(target), &popts) {
                    Ok(r) => {
                        for p in r.targets {
                            findings.extend(check_served(&p));
                            timeline.extend(p.chain.iter().take(1).map(|c| Expiry {
                                kind: "served certificate".into(),
                                name: c.subject.clone(),
                                serial: c.serial.to_string(),
                                not_before: None,
                                not_after: c.not_after,
                                seen: "server",
                            }));
                            tls.probe = Some(p);
                        }
                    }
                    Err(e) => findings.push(AuditFinding::unknown(
                        Check::ServedChain,
                        target.to_string(),
                        e.to_string(),
                    )),
                }
            }
            if facts.roles.is_some() {
                match check_roles(ca, facts, now) {
                    Ok(r) => findings.extend(r.findings),
                    Err(e) => findings.push(AuditFinding::unknown(
                        Check::RoleCertOrphan,
                        "inventory",
                        e.to_string(),
                    )),
                }
            }
        }
    }
    let mut report = TargetReport {
        target: shown(t),
        source: Some(read.facts.source.clone()),
        status: crate::model::status::Status::Ok,
        error: None,
        findings,
        tls,
        timeline,
    };
    report.settle();
    report
}

/// The TLS settings in effect, for the report.
fn tls_settings(facts: &ServerFacts) -> Vec<(String, String)> {
    [
        "ssl",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "ssl_ciphers",
        "ssl_cert_file",
        "ssl_key_file",
        "ssl_ca_file",
        "ssl_crl_file",
        "ssl_crl_dir",
        "listen_addresses",
        "port",
    ]
    .into_iter()
    .filter_map(|n| facts.value(n).map(|v| (n.to_string(), v.to_string())))
    .collect()
}

fn expiry(kind: &str, c: &CertInfo, seen: &'static str) -> Expiry {
    Expiry {
        kind: kind.to_string(),
        name: c.common_name.clone().unwrap_or_else(|| c.subject.clone()),
        serial: c.serial.to_string(),
        not_before: Some(c.not_before),
        not_after: c.not_after,
        seen,
    }
}

fn file_expiry(facts: &ServerFacts, files: &Files<'_>) -> Vec<Expiry> {
    let _ = files;
    let mut out = Vec::new();
    if let Some(p) = facts.path_setting("ssl_cert_file")
        && let Ok(c) = CertInfo::from_file(&p)
    {
        out.push(expiry("ssl_cert_file", &c, "server"));
    }
    out
}

fn ca_expiry(ca: &CaDir) -> Vec<Expiry> {
    let mut out = Vec::new();
    for (side, kind) in [(Side::Server, "server CA"), (Side::Client, "client CA")] {
        if let Ok(cas) = ca.trusted_cas(side) {
            out.extend(cas.iter().map(|c| expiry(kind, c, "ca-directory")));
        }
    }
    if let Ok(ledger) = ca.inventory() {
        for i in ledger.all_current() {
            let kind = match i.kind {
                CertKind::Server => "server certificate",
                CertKind::Client => "client certificate",
                _ => continue,
            };
            if ledger.revocation(&i.serial).is_some() {
                continue;
            }
            out.push(Expiry {
                kind: kind.into(),
                name: i.name.clone(),
                serial: i.serial.to_string(),
                not_before: Some(i.not_before),
                not_after: i.not_after,
                seen: "ca-directory",
            });
        }
    }
    out
}
