//! Renewal: `pgca renew`, run from cron or a systemd timer.
//!
//! A certificate is due as `pgca check` decides (less than a third of its lifetime left, or less
//! than `--within`). What a certificate should be is what the **inventory** recorded when it was
//! issued, never what a file on disk says: each due certificate is re-issued with the recorded
//! name, SANs, kind, key type and lifetime, a new random serial and, unless `--reuse-key`, a new
//! key. A certificate file that is not the one recorded (another serial or fingerprint: planted,
//! or edited) is not renewed but reported. A revoked name is never renewed (it stays revoked
//! until an admin issues it again), and `--reuse-key` never certifies a key whose certificate
//! was revoked. A certificate issued online (`pgca serve`: enrolled with a token, or renewed
//! over the API) is left to its host's `pgca agent` and reported: a certificate issued here
//! would reach no host and leave the agent's one superseded, its renewals refused. Certificate and key switch together (one rename of
//! `NAME.live`); `NAME.prev` points at the pair just replaced, and older pairs of that name are
//! removed from the archive. Renewed server certificates are deployed again wherever
//! `deploy-server` put them. A failure renewing one certificate is reported and the others are
//! still renewed.
//!
//! The due certificates of each side are issued in batches of up to `RENEW_BATCH` (10,000; 1,000 with a CA key in a token), each
//! one `issue_batch` (one lock, one inventory append): `renew_batch.rs` builds the requests,
//! issues them, and falls back to one name at a time should a batch fail.
//!
//! One renewal runs at a time: `DIR/.renew.lock` is held for the whole run, so a second `pgca
//! renew` (cron overlapping a manual run) waits, then finds nothing due.

use std::path::PathBuf;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::inventory::{Issued, Ledger};
use crate::model::due::is_due;
use crate::model::kind::CertKind;
use crate::model::kind::Side;
use crate::model::names::CertName;
use crate::model::serial::Serial;
use crate::model::timefmt;
use crate::model::validity::Validity;
use crate::ops::revoke::RevokeRequest;
use crate::store::layout::CaDir;
use crate::store::options::IssuedCert;

/// Options for [`CaDir::renew`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RenewOptions {
    /// Renew only these names (roles or server names); all due certificates when empty.
    pub names: Vec<CertName>,
    /// Due when less than this is left (instead of a third of the lifetime).
    pub within: Option<Validity>,
    /// Renew whether due or not.
    pub force: bool,
    /// Certify the existing key again instead of generating a new one.
    pub reuse_key: bool,
    /// Revoke each replaced certificate (reason superseded) instead of only superseding it.
    pub revoke_old: bool,
    /// The passphrase of encrypted client keys (`issue-client --encrypt-key`): their renewal
    /// needs it, and the new key is encrypted with it again.
    pub key_passphrase: Option<crate::model::passphrase::Passphrase>,
    /// The time to renew at (tests); `None` for now.
    pub now: Option<OffsetDateTime>,
    /// The oldest an external key (`pgca sign`) may be, from its first certification: an older
    /// one is not signed again but reported ([`Error::NeedsNewCsr`]). `None`: no limit.
    pub max_key_age: Option<Validity>,
    /// Leave the recorded client installs (`client-install`) as they are (`renew --no-install`):
    /// by default a renewed client certificate, and the server CA's new CRL, are installed
    /// again wherever they were.
    pub skip_installs: bool,
}

/// One renewed certificate.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Renewal {
    /// The serial that was replaced.
    pub old_serial: Serial,
    /// The new certificate.
    pub issued: IssuedCert,
    /// Data directories the new server certificate was deployed to.
    pub redeployed: Vec<PathBuf>,
    /// Directories the new client certificate was installed to (`client-install`).
    pub reinstalled: Vec<PathBuf>,
}

/// Something [`CaDir::renew`] could not do; the rest was still attempted. Its `Display` is one
/// line naming what and why; [`std::error::Error::source`] is the cause.
#[derive(Debug)]
#[non_exhaustive]
pub enum RenewFailure {
    /// A certificate could not be renewed (or, asked for by name, is revoked).
    Renew {
        /// Its kind.
        kind: CertKind,
        /// Its name.
        name: String,
        /// Why.
        error: Error,
    },
    /// The certificate a renewal replaced could not be revoked (`revoke_old`).
    RevokeOld {
        /// Its kind.
        kind: CertKind,
        /// Its name.
        name: String,
        /// Why.
        error: Error,
    },
    /// A CRL could not be re-issued.
    Crl {
        /// Whose CRL.
        side: Side,
        /// Why.
        error: Error,
    },
    /// A renewed server certificate (or the new client CRL) could not be deployed again.
    Deploy {
        /// The server certificate's name.
        name: String,
        /// The data directory.
        data_dir: PathBuf,
        /// Why.
        error: Error,
    },
    /// A renewed client certificate (or the server CA's new CRL) could not be installed again
    /// where `client-install` had put it.
    Install {
        /// The role.
        role: String,
        /// The directory.
        dir: PathBuf,
        /// Why.
        error: Error,
    },
}

impl std::fmt::Display for RenewFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RenewFailure::Renew { kind, name, error } => {
                write!(f, "cannot renew {kind} {name}: {error}")
            }
            RenewFailure::RevokeOld { kind, name, error } => {
                write!(f, "cannot revoke the replaced {kind} {name}: {error}")
            }
            RenewFailure::Crl { side, error } => {
                write!(f, "cannot re-issue the {} CA's CRL: {error}", side.name())
            }
            RenewFailure::Deploy {
                name,
                data_dir,
                error,
            } => write!(
                f,
                "cannot deploy server {name} to {}: {error}",
                data_dir.display()
            ),
            RenewFailure::Install { role, dir, error } => write!(
                f,
                "cannot install client {role} to {}: {error}",
                dir.display()
            ),
        }
    }
}

impl std::error::Error for RenewFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RenewFailure::Renew { error, .. }
            | RenewFailure::RevokeOld { error, .. }
            | RenewFailure::Crl { error, .. }
            | RenewFailure::Deploy { error, .. }
            | RenewFailure::Install { error, .. } => Some(error),
        }
    }
}

/// What [`CaDir::renew`] did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct RenewReport {
    /// Renewed certificates.
    pub renewed: Vec<Renewal>,
    /// CRLs re-issued because they were due (or with `force`).
    pub crls: Vec<crate::inventory::CrlRecord>,
    /// What failed (the rest was still attempted).
    pub failures: Vec<RenewFailure>,
    /// Names left alone because their current certificate is revoked (kind, name, serial).
    pub revoked: Vec<(CertKind, String, Serial)>,
    /// Names due (or named) but left to their host's `pgca agent`: issued online by `pgca
    /// serve`, renewed over its API, never here (kind, name, serial).
    pub online: Vec<(CertKind, String, Serial)>,
    /// Deployments (data directories) and installs (directories) written again with no
    /// renewed certificate of theirs: their CA bundle or CRL differed from the CA directory's
    /// (a CA rollover, a CRL written by `pgca crl` or `revoke`).
    pub refreshed: Vec<PathBuf>,
}

impl RenewReport {
    /// The renewed items, one `KIND/NAME` each (`server/db.example.com`, `client/alice`,
    /// `crl/client-ca`): what the hook gets in `PGCA_RENEWED`.
    pub fn renewed_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .renewed
            .iter()
            .map(|r| format!("{}/{}", r.issued.kind, r.issued.name))
            .collect();
        v.extend(self.crls.iter().map(|c| format!("crl/{}", c.ca)));
        v.extend(
            self.refreshed
                .iter()
                .map(|p| format!("trust/{}", p.display())),
        );
        v
    }
}

impl CaDir {
    /// Renews what is due (or what is named, or with `force` everything named or everything).
    ///
    /// Errors are returned only when nothing could be attempted (an unknown name, an unreadable
    /// inventory); failures of single certificates are collected in the report.
    pub fn renew(&self, opts: &RenewOptions) -> Result<RenewReport> {
        let _renew_lock = self.named_lock(crate::store::layout::RENEW_LOCK)?;
        let now = opts.now.unwrap_or_else(timefmt::now);
        let ledger = self.inventory()?;
        let current: Vec<_> = ledger
            .all_current()
            .into_iter()
            .filter(|i| !i.kind.is_ca())
            .collect();
        for name in &opts.names {
            if !current.iter().any(|i| i.name == name.as_str()) {
                return Err(Error::NotIssued {
                    kind: None,
                    name: name.to_string(),
                    dir: self.root().to_path_buf(),
                });
            }
        }
        let wanted =
            |name: &str| opts.names.is_empty() || opts.names.iter().any(|n| n.as_str() == name);

        let chosen: Vec<&Issued> = current.into_iter().filter(|r| wanted(&r.name)).collect();

        // A wrong or missing passphrase fails the whole run once, up front, not once per
        // certificate.
        let mut cas = Vec::new();
        for r in &chosen {
            let side = r.kind.side();
            if !cas.iter().any(|(s, _)| *s == side) {
                // The CA that will sign: a rollover's new one once it has switched.
                let ca = self.issuing_signer(side)?;
                cas.push((side, ca.info.not_after));
            }
        }

        let mut report = RenewReport::default();
        self.renew_chosen(&chosen, &ledger, opts, now, &cas, &mut report);

        if opts.revoke_old {
            let mut failures = Vec::new();
            for r in &report.renewed {
                let mut req = RevokeRequest::new(
                    r.old_serial.to_string(),
                    crate::model::reason::Reason::Superseded,
                );
                req.scope = crate::model::reason::Scope::Current;
                req.now = Some(now);
                if let Err(error) = self.revoke(&req) {
                    failures.push(RenewFailure::RevokeOld {
                        kind: r.issued.kind,
                        name: r.issued.name.clone(),
                        error,
                    });
                }
            }
            report.failures.extend(failures);
        }

        // CRLs: re-issued when a third of their period is left, like certificates.
        for side in Side::BOTH {
            if ledger.last_crl(side.ca_kind()).is_none() && !self.crl_path(side).exists() {
                continue;
            }
            let due = match crate::x509::inspect::CrlInfo::from_file(&self.crl_path(side)) {
                Ok(c) => {
                    let next = c.next_update.unwrap_or(c.this_update);
                    opts.force
                        || is_due(c.this_update, next, now, opts.within)
                        || self.crl_bundle_incomplete(side)
                }
                Err(_) => true, // missing or corrupt: write a good one
            };
            if due {
                match self.reissue_crl(side, now) {
                    Ok(rec) => report.crls.push(rec),
                    Err(error) => report.failures.push(RenewFailure::Crl { side, error }),
                }
            }
        }
        let client_crl_renewed = report.crls.iter().any(|c| c.ca == CertKind::ClientCa);

        // Deploy renewed server certificates wherever they were deployed before (and every
        // deployment when the client CRL changed), into data directories still owned by the
        // database user recorded at the first deployment.
        let ledger = self.inventory()?;
        for d in ledger.deployments() {
            let renewed = report
                .renewed
                .iter_mut()
                .find(|r| r.issued.kind == CertKind::Server && r.issued.name == d.name);
            if renewed.is_none() && !client_crl_renewed && !self.deployment_stale(d) {
                continue;
            }
            let revoked = ledger
                .current(CertKind::Server, &d.name)
                .is_some_and(|c| ledger.revocation(&c.serial).is_some());
            if revoked {
                continue; // nothing of a revoked name is deployed again
            }
            match self.deploy_server_to(&d.name, &d.data_dir, d.owner.as_deref(), d.data_dir_uid) {
                Ok(done) => match renewed {
                    Some(r) => r.redeployed.push(done.data_dir),
                    None => report.refreshed.push(done.data_dir),
                },
                Err(error) => report.failures.push(RenewFailure::Deploy {
                    name: d.name.clone(),
                    data_dir: d.data_dir.clone(),
                    error,
                }),
            }
        }
        self.refresh_pk8(&mut report);
        if !opts.skip_installs {
            let server_crl_renewed = report.crls.iter().any(|c| c.ca == CertKind::ServerCa);
            self.reinstall(&ledger, server_crl_renewed, &mut report);
        }
        Ok(report)
    }

    /// Writes `clients/ROLE.pk8` again for each renewed role that has one (`conninfo --driver
    /// jdbc` wrote it, and pgjdbc URLs name it): otherwise the URL would pair the new
    /// certificate with the old key.
    fn refresh_pk8(&self, report: &mut RenewReport) {
        for r in report
            .renewed
            .iter_mut()
            .filter(|r| r.issued.kind == CertKind::Client && !r.issued.external_key)
        {
            let Ok(role) = crate::model::names::RoleName::parse_unusual(&r.issued.name) else {
                continue;
            };
            let Ok(paths) = self.client_paths_unchecked(&role) else {
                continue;
            };
            if paths.key_pk8.symlink_metadata().is_err() {
                continue;
            }
            let mut pk8 = crate::export::ExportRequest::new(
                role.as_str(),
                crate::export::ExportFormat::Pk8,
                paths.key_pk8.clone(),
            );
            pk8.kind = Some(CertKind::Client);
            pk8.force = true;
            match self.export(&pk8) {
                Ok(_) => r.reinstalled.push(paths.key_pk8),
                Err(error) => report.failures.push(RenewFailure::Install {
                    role: role.as_str().to_string(),
                    dir: paths.key_pk8,
                    error,
                }),
            }
        }
    }

    /// Installs renewed client certificates again wherever `client-install` put them (every
    /// install when the server CA's CRL changed: each carries it as `root.crl`), for the uid
    /// recorded at the install: a directory another user owns by then is refused.
    fn reinstall(&self, ledger: &Ledger, server_crl_renewed: bool, report: &mut RenewReport) {
        for i in ledger.installs() {
            let renewed = report
                .renewed
                .iter_mut()
                .find(|r| r.issued.kind == CertKind::Client && r.issued.name == i.role);
            let current = ledger.current(CertKind::Client, &i.role).map(|c| &c.serial);
            if renewed.is_none() && !server_crl_renewed && !self.install_stale(i, current) {
                continue;
            }
            let revoked = ledger
                .current(CertKind::Client, &i.role)
                .is_some_and(|c| ledger.revocation(&c.serial).is_some());
            if revoked {
                continue; // nothing of a revoked name is installed again
            }
            let o = crate::pg::client::InstallOptions {
                to: Some(i.dir.clone()),
                owner: Some(i.uid.to_string()),
                force: true,
            };
            let done = crate::model::names::RoleName::parse_unusual(&i.role)
                .and_then(|role| self.client_install(&role, &o));
            match done {
                Ok(done) => match renewed {
                    Some(r) => r.reinstalled.push(done.dir),
                    None => report.refreshed.push(done.dir),
                },
                Err(error) => report.failures.push(RenewFailure::Install {
                    role: i.role.clone(),
                    dir: i.dir.clone(),
                    error,
                }),
            }
        }
    }
}
