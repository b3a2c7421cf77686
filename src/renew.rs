//! Renewal: `pgca renew`, run from cron or a systemd timer.
//!
//! A certificate is due as `pgca check` decides (less than a third of its lifetime left, or less
//! than `--within`), judged on the certificate on disk. Each due certificate is re-issued with
//! the same subject, SANs, extended key usage, key type and lifetime, a new random serial and,
//! unless `--reuse-key`, a new key. Certificate and key switch together (one rename of
//! `NAME.live`); `NAME.prev` points at the pair just replaced, and older pairs of that name are
//! removed from the archive. Renewed server certificates are deployed again wherever
//! `deploy-server` put them. A failure renewing one certificate is reported and the others are
//! still renewed.
//!
//! One renewal runs at a time: `DIR/.renew.lock` is held for the whole run, so a second `pgca
//! renew` (cron overlapping a manual run) waits, then finds nothing due.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use time::OffsetDateTime;

use crate::check::is_due;
use crate::dir::{BACKDATE_SECONDS, CaDir, IssuedCert, LeafRequest};
use crate::duration::Validity;
use crate::error::{Error, Result};
use crate::inspect::CertInfo;
use crate::inventory::CertKind;
use crate::issue::LeafProfile;
use crate::keys::PrivateKey;
use crate::names::HostName;
use crate::serial::Serial;
use crate::{Side, timefmt};

/// Options for [`CaDir::renew`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RenewOptions {
    /// Renew only these names (roles or server names); all due certificates when empty.
    pub names: Vec<String>,
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
    pub key_passphrase: Option<crate::Passphrase>,
    /// The time to renew at (tests); `None` for now.
    pub now: Option<OffsetDateTime>,
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
}

/// What [`CaDir::renew`] did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct RenewReport {
    /// Renewed certificates.
    pub renewed: Vec<Renewal>,
    /// CRLs re-issued because they were due (or with `force`).
    pub crls: Vec<crate::inventory::CrlRecord>,
    /// What failed, one line each (the rest was still attempted).
    pub failures: Vec<String>,
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
        v
    }
}

impl CaDir {
    /// Renews what is due (or what is named, or with `force` everything named or everything).
    ///
    /// Errors are returned only when nothing could be attempted (an unknown name, an unreadable
    /// inventory); failures of single certificates are collected in the report.
    pub fn renew(&self, opts: &RenewOptions) -> Result<RenewReport> {
        let _renew_lock = self.renew_lock()?;
        let now = opts.now.unwrap_or_else(timefmt::now);
        let ledger = self.inventory()?;
        let current: Vec<_> = ledger
            .issued()
            .iter()
            .filter(|i| !i.kind.is_ca() && ledger.is_current(i))
            .collect();
        for name in &opts.names {
            if !current.iter().any(|i| &i.name == name) {
                return Err(Error::NotIssued {
                    kind: "server or client",
                    name: name.clone(),
                    dir: self.root().to_path_buf(),
                    command: "issue-client",
                });
            }
        }

        // A wrong or missing passphrase fails the whole run once, up front, not once per
        // certificate.
        let mut needed = Vec::new();
        for r in &current {
            let wanted = opts.names.is_empty() || opts.names.contains(&r.name);
            let side = if r.kind == CertKind::Server {
                Side::Server
            } else {
                Side::Client
            };
            if wanted && !needed.contains(&side) {
                needed.push(side);
            }
        }
        for side in needed {
            crate::ca::CaSigner::load(self.root(), side, self.passphrase())?;
        }

        let mut report = RenewReport::default();
        for record in current {
            if !opts.names.is_empty() && !opts.names.contains(&record.name) {
                continue;
            }
            let what = format!("{} {}", record.kind, record.name);
            let info = match CertInfo::from_file(&self.cert_path(record.kind, &record.name)) {
                Ok(info) => info,
                Err(e) => {
                    report.failures.push(format!("cannot renew {what}: {e}"));
                    continue;
                }
            };
            if !opts.force && !is_due(info.not_before, info.not_after, now, opts.within) {
                continue;
            }
            match self.renew_one(record.kind, &record.name, &info, opts, now) {
                Ok(issued) => {
                    self.prune_archive(
                        record.kind,
                        &record.name,
                        &ledger,
                        &info.serial,
                        &issued.serial,
                    );
                    report.renewed.push(Renewal {
                        old_serial: info.serial,
                        issued,
                        redeployed: Vec::new(),
                    });
                }
                Err(e) => report.failures.push(format!("cannot renew {what}: {e}")),
            }
        }

        if opts.revoke_old {
            for r in &report.renewed {
                if let Err(e) = self.revoke(
                    &r.old_serial.to_string(),
                    crate::revoke::Reason::Superseded,
                    false,
                    None,
                ) {
                    report.failures.push(format!(
                        "cannot revoke the replaced {} {}: {e}",
                        r.issued.kind, r.issued.name
                    ));
                }
            }
        }

        // CRLs: re-issued when a third of their period is left, like certificates.
        for side in Side::BOTH {
            if ledger.last_crl(side.ca_kind()).is_none() && !self.crl_path(side).exists() {
                continue;
            }
            let due = match crate::inspect::CrlInfo::from_file(&self.crl_path(side)) {
                Ok(c) => {
                    let next = c.next_update.unwrap_or(c.this_update);
                    opts.force || is_due(c.this_update, next, now, opts.within)
                }
                Err(_) => true, // missing or corrupt: write a good one
            };
            if due {
                match self.reissue_crl(side, now) {
                    Ok(rec) => report.crls.push(rec),
                    Err(e) => report
                        .failures
                        .push(format!("cannot re-issue the {} CA's CRL: {e}", side.name())),
                }
            }
        }
        let client_crl_renewed = report.crls.iter().any(|c| c.ca == CertKind::ClientCa);

        // Deploy renewed server certificates wherever they were deployed before (and every
        // deployment when the client CRL changed).
        if client_crl_renewed {
            for d in ledger.deployments() {
                if report
                    .renewed
                    .iter()
                    .any(|r| r.issued.kind == CertKind::Server && r.issued.name == d.name)
                {
                    continue; // deployed below
                }
                if let Err(e) = self.deploy_server(&d.name, &d.data_dir, d.owner.as_deref()) {
                    report.failures.push(format!(
                        "cannot deploy server {} to {}: {e}",
                        d.name,
                        d.data_dir.display()
                    ));
                }
            }
        }
        for r in report
            .renewed
            .iter_mut()
            .filter(|r| r.issued.kind == CertKind::Server)
        {
            for d in ledger
                .deployments()
                .into_iter()
                .filter(|d| d.name == r.issued.name)
            {
                match self.deploy_server(&d.name, &d.data_dir, d.owner.as_deref()) {
                    Ok(done) => r.redeployed.push(done.data_dir),
                    Err(e) => report.failures.push(format!(
                        "cannot deploy server {} to {}: {e}",
                        d.name,
                        d.data_dir.display()
                    )),
                }
            }
        }
        Ok(report)
    }

    /// Re-issues one certificate like the one on disk: subject, SANs, usage, key type, lifetime.
    fn renew_one(
        &self,
        kind: CertKind,
        name: &str,
        info: &CertInfo,
        opts: &RenewOptions,
        now: OffsetDateTime,
    ) -> Result<IssuedCert> {
        let side = if kind == CertKind::Server {
            Side::Server
        } else {
            Side::Client
        };
        let profile = if kind == CertKind::Server {
            let mut sans = info
                .sans
                .iter()
                .map(|s| s.parse::<HostName>())
                .collect::<Result<Vec<_>>>()?;
            if sans.is_empty() {
                sans.push(name.parse()?);
            }
            let mut p = LeafProfile::server(&sans);
            if let Some(cn) = &info.common_name {
                p.common_name = cn.clone();
            }
            p
        } else {
            LeafProfile::client(info.common_name.as_deref().unwrap_or(name))
        };
        let lifetime = (info.not_after - info.not_before).whole_seconds() - BACKDATE_SECONDS;
        let validity = Validity::from_seconds(lifetime.max(1)).ok_or(Error::InvalidDuration {
            input: format!("{lifetime}s"),
            reason: "the certificate's lifetime cannot be repeated",
        })?;
        // An encrypted key stays encrypted: its renewal needs the passphrase, never drops it.
        let path = self.key_path(kind, name);
        let pem = zeroize::Zeroizing::new(
            String::from_utf8_lossy(&crate::storage::read(&path, "read key")?).into_owned(),
        );
        let encrypted = crate::keys::is_encrypted_pem(&pem);
        if encrypted && opts.key_passphrase.is_none() {
            return Err(Error::NeedKeyPassphrase(format!("{kind} {name}")));
        }
        let key = if opts.reuse_key {
            Some(PrivateKey::from_pem_with(
                &pem,
                &path,
                opts.key_passphrase.as_ref(),
            )?)
        } else {
            None
        };
        let key_type = match &key {
            Some(k) => k.key_type(),
            None => info.key_type.parse()?,
        };
        let request = LeafRequest {
            name: name.to_string(),
            profile,
            key_type,
            validity,
            key,
            key_passphrase: if encrypted {
                opts.key_passphrase.clone()
            } else {
                None
            },
        };
        Ok(self
            .issue_batch(side, vec![request], true, now, None)?
            .remove(0))
    }

    /// Keeps the pair in use and the one it replaced (`NAME.prev`); removes older pairs of the
    /// name from the archive. Best effort: a leftover is only disk space.
    fn prune_archive(
        &self,
        kind: CertKind,
        name: &str,
        ledger: &crate::inventory::Ledger,
        prev: &Serial,
        new: &Serial,
    ) {
        let archive = self
            .cert_path(kind, name)
            .parent()
            .map(|p| p.join("archive"));
        let Some(archive) = archive else { return };
        for old in ledger
            .issued()
            .iter()
            .filter(|i| i.kind == kind && i.name == name)
        {
            if &old.serial != prev && &old.serial != new {
                let _ = fs::remove_dir_all(archive.join(old.serial.to_string()));
            }
        }
    }

    fn renew_lock(&self) -> Result<fs::File> {
        let path = self.root().join(".renew.lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(Error::io("open lock file", &path))?;
        file.lock().map_err(Error::io("lock", &path))?;
        Ok(file)
    }
}
