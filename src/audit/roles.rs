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
use crate::error::Result;
use crate::inventory::Issued;
use crate::model::kind::{CertKind, CertState};
use crate::store::layout::CaDir;

/// What [`check_roles`] found.
#[derive(Clone, Debug, Serialize)]
pub struct RolesReport {
    /// The findings, one a certificate or a role.
    pub findings: Vec<AuditFinding>,
    /// The roles whose certificates exist for no role: `--revoke-orphans` revokes these.
    pub orphans: Vec<OrphanCert>,
    /// The LOGIN roles that log in only by certificate and have none.
    pub missing: Vec<String>,
}

/// A current client certificate whose role does not exist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrphanCert {
    /// The role (the certificate's CN).
    pub role: String,
    /// Its serial.
    pub serial: crate::model::serial::Serial,
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
        findings: Vec::new(),
        orphans: Vec::new(),
        missing: Vec::new(),
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
