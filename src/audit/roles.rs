//! `pgca roles`: the CA directory's current client certificates against the roles that exist on
//! a server, and against the `pg_hba.conf` rules that decide who may log in by certificate.
//!
//! A certificate of a role that does not exist is a loaded gun: a role created later with that
//! name accepts it. CloudNativePG deletes a dropped role's Secret and never revokes its
//! certificate; pgca finds it and, with `--revoke-orphans`, revokes it.

use serde::Serialize;
use time::OffsetDateTime;

use super::check_hba::needs_certificate;
use super::facts::{RoleFacts, ServerFacts};
use super::finding::{AuditFinding, Check};
use super::hba::{AuthMethod, HbaName, HbaRule};
use super::ident::{IdentMap, SystemUser};
use std::path::PathBuf;

use super::live::{LiveOptions, read_live, redact};
use super::target::{AuditOptions, AuditTarget};
use crate::error::{Error, Result};
use crate::inventory::Issued;
use crate::model::kind::{CertKind, CertState};
use crate::model::names::RoleName;
use crate::model::reason::Reason;
use crate::model::serial::Serial;
use crate::model::status::Status;
use crate::ops::revoke::RevokeRequest;
use crate::store::layout::CaDir;
use crate::store::options::IssueOptions;

/// What `pgca roles` found and did.
#[derive(Clone, Debug, Serialize)]
pub struct RolesReport {
    /// The server, as shown (no password).
    pub target: String,
    /// The worst finding not dealt with: `--revoke-orphans` and `--issue-missing` settle the
    /// findings they act on.
    pub status: Status,
    /// The findings, one a certificate or a role.
    pub findings: Vec<AuditFinding>,
    /// The certificates of roles that do not exist: `--revoke-orphans` revokes these.
    pub orphans: Vec<OrphanCert>,
    /// The LOGIN roles that log in only by certificate and have none.
    pub missing: Vec<String>,
    /// What `--revoke-orphans` revoked.
    pub revoked: Vec<OrphanCert>,
    /// The number of the client CRL it wrote.
    pub crl_number: Option<u64>,
    /// The data directories the CRL was deployed to.
    pub redeployed: Vec<PathBuf>,
    /// What `--issue-missing` issued: role and serial.
    pub issued: Vec<(String, Serial)>,
}

impl RolesReport {
    fn settle(&mut self) {
        let done = |f: &AuditFinding| {
            (f.check == Check::RoleCertOrphan
                && self
                    .revoked
                    .iter()
                    .any(|o| f.subject.contains(&o.serial.to_string())))
                || (f.check == Check::RoleCertMissing
                    && self
                        .issued
                        .iter()
                        .any(|(r, _)| f.subject == format!("role {r}")))
        };
        self.status = self
            .findings
            .iter()
            .filter(|f| !done(f))
            .map(|f| f.severity.status())
            .max()
            .unwrap_or(Status::Ok);
    }

    /// Revokes every orphan's certificate in one step (one inventory append, one client CRL,
    /// deployed to every recorded data directory), reason cessationOfOperation.
    pub fn revoke_orphans(&mut self, ca: &CaDir) -> Result<()> {
        if self.orphans.is_empty() {
            return Ok(());
        }
        let serials: Vec<String> = self.orphans.iter().map(|o| o.serial.to_string()).collect();
        let req = RevokeRequest::new(String::new(), Reason::CessationOfOperation);
        let done = ca.revoke_many(&serials, &req)?;
        self.revoked = self
            .orphans
            .iter()
            .filter(|o| {
                done.revoked
                    .iter()
                    .chain(&done.already)
                    .any(|(_, _, s)| *s == o.serial)
            })
            .cloned()
            .collect();
        self.crl_number = done.crl_record.map(|c| c.number);
        self.redeployed = done.redeployed;
        self.settle();
        Ok(())
    }

    /// Issues client certificates for the missing roles whose names match `pattern` (`*` any
    /// run of characters, `?` one), in one batch.
    pub fn issue_missing(&mut self, ca: &CaDir, pattern: &str, opts: &IssueOptions) -> Result<()> {
        let roles: Vec<RoleName> = self
            .missing
            .iter()
            .filter(|r| glob(pattern, r))
            .map(|r| r.parse())
            .collect::<Result<_>>()?;
        if roles.is_empty() {
            return Ok(());
        }
        let issued = ca.issue_clients(&roles, opts)?;
        self.issued = roles
            .iter()
            .zip(issued)
            .map(|(r, i)| (r.as_str().to_string(), i.serial))
            .collect();
        self.settle();
        Ok(())
    }
}

/// Reads the live server at `target` and judges the CA directory's client certificates
/// against its roles and rules.
pub fn reconcile(ca: &CaDir, target: &AuditTarget, opts: &AuditOptions) -> Result<RolesReport> {
    let AuditTarget::Live(conninfo) = target else {
        return Err(Error::BadAuditTarget(format!(
            "{target} (pgca roles needs a running server: a connection string)"
        )));
    };
    let read = read_live(
        conninfo,
        &LiveOptions {
            timeout: opts.timeout,
            ..LiveOptions::default()
        },
    )?;
    let now = opts.now.unwrap_or_else(crate::model::timefmt::now);
    let mut report = check_roles(ca, &read.facts, now)?;
    report.target = redact(conninfo);
    if read.facts.roles.is_none() {
        report.findings.push(AuditFinding::unknown(
            Check::Unreadable,
            "pg_roles",
            "the roles could not be read",
        ));
    }
    report.settle();
    Ok(report)
}

/// `*` matches any run of characters, `?` one character; the rest matches itself.
pub fn glob(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A current client certificate whose role does not exist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrphanCert {
    /// The role (the certificate's CN).
    pub role: String,
    /// Its serial.
    pub serial: Serial,
}

/// Judges every current (not revoked, not expired) client certificate of `ca` against the
/// server's roles and rules in `facts` (which must hold the roles: a live target).
pub fn check_roles(ca: &CaDir, facts: &ServerFacts, now: OffsetDateTime) -> Result<RolesReport> {
    let ledger = ca.inventory()?;
    let roles = facts.roles.as_deref().unwrap_or_default();
    let rules = facts.hba.as_deref().unwrap_or_default();
    let maps = facts.ident.as_deref().unwrap_or_default();
    let certs: Vec<&Issued> = ledger
        .all_current()
        .into_iter()
        .filter(|i| i.kind == CertKind::Client)
        .filter(|i| matches!(ledger.state(i, now), CertState::Valid | CertState::Due))
        .collect();
    let mut report = RolesReport {
        target: String::new(),
        status: Status::Ok,
        findings: Vec::new(),
        orphans: Vec::new(),
        missing: Vec::new(),
        revoked: Vec::new(),
        crl_number: None,
        redeployed: Vec::new(),
        issued: Vec::new(),
    };
    for cert in &certs {
        judge_cert(cert, roles, rules, maps, now, &mut report);
    }
    for role in roles.iter().filter(|r| r.login) {
        let has = certs.iter().any(|c| c.name == role.name);
        if !has && cert_only(&role.name, rules) {
            report.missing.push(role.name.clone());
            report.findings.push(AuditFinding::new(
                Check::RoleCertMissing,
                format!("role {}", role.name),
                format!(
                    "{} can log in only by certificate and has no current one",
                    role.name
                ),
            ));
        }
    }
    report.settle();
    Ok(report)
}

fn judge_cert(
    cert: &Issued,
    roles: &[RoleFacts],
    rules: &[HbaRule],
    maps: &[IdentMap],
    now: OffsetDateTime,
    report: &mut RolesReport,
) {
    let subject = format!("client certificate {} ({})", cert.name, cert.serial);
    let mut push = |check: Check, message: String| {
        report
            .findings
            .push(AuditFinding::new(check, subject.clone(), message))
    };
    let Some(role) = roles.iter().find(|r| r.name == cert.name) else {
        let mapped: Vec<String> = mapped_roles(&cert.name, rules, maps)
            .into_iter()
            .filter(|m| roles.iter().any(|r| r.name == *m))
            .collect();
        if mapped.is_empty() {
            push(
                Check::RoleCertOrphan,
                format!("the role {} does not exist", cert.name),
            );
            report.orphans.push(OrphanCert {
                role: cert.name.clone(),
                serial: cert.serial.clone(),
            });
        } else {
            push(
                Check::RoleCertViaMap,
                format!(
                    "CN {} is no role; a pg_ident.conf map lets it in as {}",
                    cert.name,
                    mapped.join(", ")
                ),
            );
        }
        return;
    };
    if !role.login {
        push(Check::RoleCertNologin, format!("{} is NOLOGIN", role.name));
    }
    if role.superuser {
        push(
            Check::RoleCertSuperuser,
            format!("{} is a superuser", role.name),
        );
    }
    if role.replication {
        push(
            Check::RoleCertReplication,
            format!("{} has REPLICATION", role.name),
        );
    }
    if let Some(until) = role.valid_until.filter(|u| *u <= now) {
        push(
            Check::RoleCertExpiredRole,
            format!(
                "{}'s VALID UNTIL passed on {}",
                role.name,
                crate::model::timefmt::rfc3339(until)
            ),
        );
    }
}

/// Whether a rule's user list names `role` (by name or `all`).
fn names_role(r: &HbaRule, role: &str) -> bool {
    r.users
        .iter()
        .any(|u| u.is_all() || matches!(u, HbaName::Name(n) if n == role))
}

/// Whether every rule that lets `role` in (not `reject`) needs a certificate, and one does.
fn cert_only(role: &str, rules: &[HbaRule]) -> bool {
    let mut lets_in = rules
        .iter()
        .filter(|r| names_role(r, role) && r.method != AuthMethod::Reject)
        .peekable();
    lets_in.peek().is_some() && lets_in.all(needs_certificate)
}

/// The roles a certificate whose CN is `cn` reaches through the maps of `cert` rules
/// (`\1` in a map's role replaced by the regular expression's first capture, as PostgreSQL does).
fn mapped_roles(cn: &str, rules: &[HbaRule], maps: &[IdentMap]) -> Vec<String> {
    let used: Vec<&str> = rules
        .iter()
        .filter(|r| r.method == AuthMethod::Cert)
        .filter_map(|r| {
            r.options
                .iter()
                .find(|(n, _)| n == "map")
                .map(|(_, v)| v.as_str())
        })
        .collect();
    maps.iter()
        .filter(|m| used.contains(&m.map.as_str()))
        .filter_map(|m| match &m.system_user {
            SystemUser::Name(n) if n == cn => Some(m.pg_user.clone()),
            SystemUser::Regex(re) => {
                let re = regex::Regex::new(re.trim_start_matches('/')).ok()?;
                let caps = re.captures(cn)?;
                let first = caps.get(1).map_or("", |c| c.as_str());
                Some(m.pg_user.replace("\\1", first))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        for (p, n, want) in [
            ("app_*", "app_web", true),
            ("app_*", "app", false),
            ("*", "", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*_ro", "sales_ro", true),
            ("*_ro", "sales_rw", false),
            ("a*b*c", "axxbyyc", true),
        ] {
            assert_eq!(glob(p, n), want, "{p} {n}");
        }
    }
}
