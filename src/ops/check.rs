//! Expiry monitoring: what `pgca check` reports. It changes nothing.
//!
//! Every current certificate in the inventory is read **from disk** (a certificate replaced by
//! hand is seen as it is), with its key, and both CAs:
//!
//! | finding | status |
//! |---|---|
//! | more than a third of its lifetime left (or more than `--within`) | OK |
//! | less than a third left (or less than `--within`): due for renewal | WARNING |
//! | a CA that expires within a year, before a freshly issued 1-year certificate would (or within `--within`) | WARNING |
//! | expired, or not yet valid | CRITICAL |
//! | the key does not match the certificate | CRITICAL |
//! | the file is not the certificate the inventory records (serial or SHA-256) | CRITICAL |
//! | the CA expires before a certificate it signed | CRITICAL |
//! | a file missing, unreadable or corrupt; the directory unreadable | UNKNOWN |
//!
//! The overall status is the most severe one found, in the order CRITICAL, WARNING, UNKNOWN, OK,
//! and the exit status follows the Nagios plugin convention: 0 OK, 1 WARNING, 2 CRITICAL,
//! 3 UNKNOWN.
//!
//! `check` is built to run often over large directories (100,000 certificates in under two
//! seconds on two cores): it reads of each certificate only its serial, validity and public key,
//! and compares that public key with the one the key file records, as OpenSSL's
//! `SSL_CTX_check_private_key` does when PostgreSQL loads the pair. `pgca verify` goes further:
//! it loads every key in full, checks every chain and every file mode.

use std::path::PathBuf;

use serde::Serialize;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::inventory::ledger::CurrentCert;
use crate::model::due::is_due;
use crate::model::kind::Side;
use crate::model::kind::{CertKind, CertState};
use crate::model::serial::Serial;
use crate::model::status::Status;
use crate::model::timefmt;
use crate::model::validity::Validity;
use crate::probe::report::ProbeResult;
use crate::probe::run::ProbeOptions;
use crate::probe::wire::Target;
use crate::storage;
use crate::store::layout::CaDir;
use crate::store::options::DEFAULT_LEAF_VALIDITY;
use crate::x509::inspect::CertFacts;
use crate::x509::keys::PrivateKey;

/// What `check` found about one certificate.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// What it is.
    pub kind: CertKind,
    /// Role, server name, or `server-ca`/`client-ca`.
    pub name: String,
    /// The certificate file read.
    pub path: PathBuf,
    /// Its serial, if it could be read.
    pub serial: Option<Serial>,
    /// Its end of validity, if it could be read.
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_after: Option<OffsetDateTime>,
    /// Seconds until it expires (negative once expired).
    pub seconds_left: Option<i64>,
    /// The status.
    pub status: Status,
    /// What was found, as a word in the JSON and metrics: `valid`, `due`, `expired`, ….
    pub state: FindingState,
    /// One line for people.
    pub detail: String,
    /// Whether the key is external (`pgca sign`): the CA directory holds none for it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external_key: bool,
    /// Due, and its external key is older than [`CheckOptions::max_key_age`]: renewal cannot
    /// help, the host must make a new key and request (`pgca request`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub needs_new_csr: bool,
    /// The certificate's whole lifetime (leaves): the longest sets its CA's rollover window.
    #[serde(skip)]
    pub(crate) lifetime: Option<time::Duration>,
}

/// What `check` found about a certificate, in a word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FindingState {
    /// Valid, with time to spare.
    Valid,
    /// Due for renewal.
    Due,
    /// Past its not-after.
    Expired,
    /// Before its not-before.
    NotYetValid,
    /// The key file does not match the certificate.
    KeyMismatch,
    /// The file is not the certificate the inventory records.
    NotRecorded,
    /// The certificate outlives the CA that signed it.
    OutlivesCa,
    /// The file is missing.
    Missing,
    /// The file cannot be read or parsed.
    Unreadable,
    /// Signed by the old CA of a rollover that has switched: renew it.
    OldCa,
    /// Signed by a CA the directory no longer trusts.
    UntrustedCa,
    /// A CA within its rollover window with no rollover started, or a rollover for a
    /// compromised CA not yet finished.
    RolloverDue,
}

impl FindingState {
    /// The word: `valid`, `due`, `expired`, `not-yet-valid`, `key-mismatch`, `not-recorded`,
    /// `outlives-ca`, `missing`, `unreadable`.
    pub fn name(self) -> &'static str {
        match self {
            FindingState::Valid => "valid",
            FindingState::Due => "due",
            FindingState::Expired => "expired",
            FindingState::NotYetValid => "not-yet-valid",
            FindingState::KeyMismatch => "key-mismatch",
            FindingState::NotRecorded => "not-recorded",
            FindingState::OutlivesCa => "outlives-ca",
            FindingState::Missing => "missing",
            FindingState::Unreadable => "unreadable",
            FindingState::OldCa => "old-ca",
            FindingState::UntrustedCa => "untrusted-ca",
            FindingState::RolloverDue => "rollover-due",
        }
    }
}

impl std::fmt::Display for FindingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Options for [`CaDir::check`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CheckOptions {
    /// Due when less than this is left (instead of a third of the lifetime).
    pub within: Option<Validity>,
    /// The time to check at; `None` for now.
    pub now: Option<OffsetDateTime>,
    /// Running servers to probe as well (`check --probe`), besides the CA directory's probes
    /// list: each result's status counts.
    pub probes: Vec<Target>,
    /// How to probe them (the timeout, the parallelism).
    pub probe: ProbeOptions,
    /// The oldest an external key (`pgca sign`) may be, counted from its first certification:
    /// a due certificate with an older key is reported "due: needs a new CSR" (renewal only
    /// re-signs it). `None`: no limit.
    pub max_key_age: Option<Validity>,
}

/// The result of [`CaDir::check`].
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct CheckReport {
    /// The most severe status found.
    pub status: Status,
    /// Whether both CA keys are stored encrypted (`pgca init --no-passphrase` stores them plain).
    pub ca_keys_encrypted: bool,
    /// Every certificate looked at: the two CAs first.
    pub certificates: Vec<Finding>,
    /// What each probed server serves (`check --probe`), in the order given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<ProbeResult>,
}

impl CheckReport {
    /// How many findings have each status: (ok, warning, critical, unknown).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let n = |s| self.certificates.iter().filter(|f| f.status == s).count();
        (
            n(Status::Ok),
            n(Status::Warning),
            n(Status::Critical),
            n(Status::Unknown),
        )
    }

    /// The Nagios summary line, e.g. `PGCA WARNING - 1 due, 0 critical, 0 unknown, 41 ok`.
    pub fn summary(&self) -> String {
        let (ok, warning, critical, unknown) = self.counts();
        format!(
            "PGCA {} - {warning} due, {critical} critical, {unknown} unknown, {ok} ok",
            self.status
        )
    }
}

impl CaDir {
    /// Looks at both CAs and every current certificate, on disk. Changes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use pgca::{CaDir, InitOptions, Status, ops::check::CheckOptions};
    /// let tmp = tempfile::tempdir()?;
    /// let ca = CaDir::init(tmp.path().join("ca"), &InitOptions::default())?;
    /// let report = ca.check(&CheckOptions::default())?;
    /// assert_eq!(report.status, Status::Ok);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check(&self, opts: &CheckOptions) -> Result<CheckReport> {
        let now = opts.now.unwrap_or_else(timefmt::now);
        // Of the inventory, check needs the current names and whether CRLs were issued; reading
        // only those (not the whole history) is a fifth of its time at 100,000 certificates.
        // `pgca verify` reads every line in full.
        let inventory = {
            let _lock = self.read_lock()?;
            match self.inventory_db() {
                Some(_) => {
                    let current = self.with_inventory(|ledger| Ok(current_of(ledger)))?;
                    self.check_evidence(&current.facts)?;
                    current
                }
                None => {
                    let current = crate::inventory::log::read_current(
                        &crate::inventory::log::path_in(self.root()),
                    )?;
                    self.check_evidence(&current.facts)?;
                    current
                }
            }
        };
        // Each recorded client install against its role's current serial.
        let installs = if inventory.installs.is_empty() {
            Vec::new()
        } else {
            let current: std::collections::HashMap<&str, &Serial> = inventory
                .certs
                .iter()
                .filter(|c| c.kind == CertKind::Client)
                .map(|c| (c.name.as_str(), &c.serial))
                .collect();
            self.judge_installs(
                &inventory.installs,
                |role| current.get(role).map(|s| (*s).clone()),
                now,
            )
        };
        let mut findings = Vec::new();
        let mut ca_facts = Vec::new();
        let mut ca_end = [None, None];
        for (i, side) in Side::BOTH.into_iter().enumerate() {
            let path = self.ca_cert_path(side);
            let facts = CertFacts::from_file(&path);
            if let Ok(info) = &facts {
                ca_end[i] = Some(info.not_after);
            }
            ca_facts.push((side, path, facts));
        }
        for side in Side::BOTH {
            let recorded =
                inventory.crl_recorded[usize::from(side.ca_kind() == CertKind::ClientCa)];
            if let Some(f) = self.judge_crl(side, recorded, now, opts.within) {
                findings.push(f);
            }
        }
        let current: Vec<CurrentCert> = inventory
            .certs
            .into_iter()
            .filter(|c| !c.kind.is_ca())
            .collect();
        let judge = LeafJudge {
            now,
            within: opts.within,
            max_key_age: opts.max_key_age,
            ca_end,
            cas: Side::BOTH.map(|side| self.side_cas(side, &inventory.rollovers)),
            revoked: inventory.facts.revoked,
            readers: [CertKind::Server, CertKind::Client]
                .map(|kind| storage::DirReader::new(&self.leaf_dir(kind))),
        };
        // Four threads a core: on a cold cache the time is disk reads, and more of them in
        // flight finish sooner; on a warm one the extra threads cost nothing measurable.
        let leaves = crate::store::parallel::parallel_map_on(
            current,
            4 * crate::store::parallel::cores(),
            |cert| Ok(self.judge_leaf(&judge, &cert)),
        )?;
        for (side, path, facts) in ca_facts {
            let rollover = judge.cas[usize::from(side == Side::Client)]
                .rollover
                .as_ref();
            let mut window = CaWindow {
                within: opts.within,
                longest: longest_lifetime(&leaves, side),
                rollover: rollover.filter(|r| !r.intermediate),
                intermediate: false,
                hierarchy_root: self.has_issuing(side),
            };
            findings.push(match facts {
                Ok(info) => judge_ca(side, path, &info, now, &window),
                Err(e) => unreadable(side.ca_kind(), side.ca_kind().name(), path, &e),
            });
            if self.has_issuing(side) {
                // The intermediate expires sooner than the root: its own rollover window.
                window.rollover = rollover.filter(|r| r.intermediate);
                window.intermediate = true;
                window.hierarchy_root = false;
                findings.push(self.judge_issuing(side, now, &window));
            }
        }
        findings.extend(leaves);
        findings.extend(installs);
        // The targets given, then the CA directory's probes list (`DIR/probes`), each once.
        let mut targets = opts.probes.clone();
        for t in self.probe_list()? {
            if !targets.contains(&t) {
                targets.push(t);
            }
        }
        let probes = if targets.is_empty() {
            Vec::new()
        } else {
            let mut popts = opts.probe.clone();
            popts.now = Some(now);
            self.probe(&targets, &popts)?.targets
        };
        let status = findings
            .iter()
            .map(|f| f.status)
            .chain(probes.iter().map(|p| p.status))
            .max()
            .unwrap_or(Status::Ok);
        let ca_keys_encrypted = Side::BOTH
            .iter()
            .all(|&s| self.ca_key_encrypted(s).unwrap_or(true));
        Ok(CheckReport {
            status,
            ca_keys_encrypted,
            certificates: findings,
            probes,
        })
    }

    /// A CRL, once one exists for the CA: due when a third of its period is left, CRITICAL once
    /// past nextUpdate (PostgreSQL then refuses every client certificate of that CA).
    fn judge_crl(
        &self,
        side: Side,
        crl_recorded: bool,
        now: OffsetDateTime,
        within: Option<Validity>,
    ) -> Option<Finding> {
        let path = self.crl_path(side);
        let kind = side.ca_kind();
        let name = format!("{}-ca.crl", side.name());
        if !path.exists() && !crl_recorded {
            return None;
        }
        let crl = match crate::x509::inspect::CrlInfo::from_file(&path) {
            Ok(c) => c,
            Err(e) => return Some(unreadable(kind, &name, path, &e)),
        };
        let next = crl.next_update.unwrap_or(crl.this_update);
        let mut f = Finding {
            kind,
            name: name.clone(),
            path,
            serial: None,
            not_after: Some(next),
            seconds_left: Some((next - now).whole_seconds()),
            status: Status::Ok,
            state: FindingState::Valid,
            detail: format!("{name}: next update {}", timefmt::human(next)),
            external_key: false,
            needs_new_csr: false,
            lifetime: None,
        };
        let who = if side == Side::Client {
            "PostgreSQL refuses every client certificate"
        } else {
            "libpq with sslcrl refuses the server"
        };
        if let Some(detail) = self.hierarchy_crl_count(side, &name) {
            f.status = Status::Critical;
            f.state = FindingState::Unreadable;
            f.detail = detail;
        } else if now >= next {
            f.status = Status::Critical;
            f.state = FindingState::Expired;
            f.detail = format!(
                "{name}: past its next update {} ({who}): run pgca renew",
                timefmt::human(next)
            );
        } else if is_due(crl.this_update, next, now, within) {
            f.status = Status::Warning;
            f.state = FindingState::Due;
            f.detail = format!(
                "{name}: due, next update {} ({who} after that): run pgca renew",
                timefmt::human(next)
            );
        }
        Some(f)
    }

    /// A current certificate's files against its record, its key, its CA and the clock.
    fn judge_leaf(&self, judge: &LeafJudge, cert: &CurrentCert) -> Finding {
        let (kind, name) = (cert.kind, cert.name.as_str());
        let side = usize::from(kind == CertKind::Client);
        let (files, now) = (&judge.readers[side], judge.now);
        let path = self.cert_path(kind, name);
        let info = match self
            .current_cert_file(files, cert)
            .map_err(Error::io("read certificate", &path))
            .and_then(|pem| CertFacts::from_pem(&pem, &path))
        {
            Ok(info) => info,
            Err(e) => return unreadable(kind, name, path, &e),
        };
        // The inventory decides what the file must be: anything else is planted or edited.
        let serial = &cert.serial;
        if info.serial != *serial || cert.sha256.as_ref().is_some_and(|h| *h != info.sha256) {
            let mut f = finding(kind, name, path, &info, now);
            f.status = Status::Critical;
            f.state = FindingState::NotRecorded;
            f.detail = format!(
                "{kind} {name}: {} is not the certificate the inventory records (serial {serial}): run pgca verify",
                f.path.display()
            );
            return f;
        }

        // An external key (`pgca sign`) is on its host: the certificate's fingerprint, checked
        // above, ties it to the recorded public key, and there is no key file to read.
        if cert.external_key {
            let mut f = finding(kind, name, path, &info, now);
            f.external_key = true;
            let mut f = judge_leaf_dates(f, &info, judge, side, cert);
            // Renewal only re-signs an external key: once it is older than the policy allows,
            // a due certificate needs a new key, which only its host can make.
            if let (Some(max), Some(since)) = (judge.max_key_age, cert.key_since)
                && matches!(f.state, FindingState::Due | FindingState::Expired)
                && now - since >= max.duration()
            {
                f.needs_new_csr = true;
                f.detail = format!(
                    "{kind} {name}: due: needs a new CSR (its key was first certified {}, longer ago than --max-key-age {max}; renew only re-signs it): expires {}",
                    timefmt::human(since),
                    timefmt::human(info.not_after)
                );
            }
            return f;
        }
        // An encrypted client key (issue-client --encrypt-key) is only checked for presence: its
        // passphrase is the client's.
        // The public key the key file records is compared first (no key arithmetic); a key that
        // records none, or seems not to match, is loaded in full, so that only a real mismatch
        // is reported.
        let key = files
            .read(&format!("{name}.key"), "read key")
            .and_then(|pem| {
                let pem = zeroize::Zeroizing::new(match String::from_utf8(pem) {
                    Ok(text) => text,
                    Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                });
                if crate::x509::keys::is_encrypted_pem(&pem) {
                    return Ok(None);
                }
                if crate::x509::keys::recorded_public_key(&pem).as_ref() == Some(&info.spki_der) {
                    return Ok(Some(info.spki_der.clone()));
                }
                PrivateKey::from_pem(&pem, &self.key_path(kind, name))
                    .map(|k| Some(k.public_key_der()))
            });
        let mut f = finding(kind, name, path, &info, now);
        match key {
            Err(e) => {
                f.status = Status::Unknown;
                f.state = FindingState::Unreadable;
                f.detail = e.to_string();
                return f;
            }
            Ok(Some(public)) if public != info.spki_der => {
                f.status = Status::Critical;
                f.state = FindingState::KeyMismatch;
                f.detail = format!(
                    "{kind} {name}: key {} does not match the certificate",
                    self.key_path(kind, name).display()
                );
                return f;
            }
            Ok(_) => {}
        }
        judge_leaf_dates(f, &info, judge, side, cert)
    }
}

/// What every current certificate is judged against: the clock, the thresholds, and for each side
/// (the server CA's `[0]`, the client CA's `[1]`) its CA's end and a reader of its directory.
struct LeafJudge {
    now: OffsetDateTime,
    within: Option<Validity>,
    max_key_age: Option<Validity>,
    ca_end: [Option<OffsetDateTime>; 2],
    /// Each side's trusted CAs and rollover.
    cas: [crate::ops::rollover_judge::SideCas; 2],
    /// Every revoked serial, as written.
    revoked: std::collections::HashSet<String>,
    readers: [storage::DirReader; 2],
}

/// The CA's end and the certificate's own dates, once the files agree with the inventory.
fn judge_leaf_dates(
    mut f: Finding,
    info: &CertFacts,
    judge: &LeafJudge,
    side: usize,
    cert: &CurrentCert,
) -> Finding {
    let (kind, name) = (f.kind, f.name.clone());
    let which = if kind == CertKind::Server {
        "server"
    } else {
        "client"
    };
    let cas = &judge.cas[side];
    let revoked = judge.revoked.contains(&cert.serial.to_string());
    if let Some(v) = cas
        .judge(cert, revoked)
        .filter(|v| v.status == Status::Critical)
    {
        (f.status, f.state, f.detail) = (v.status, verdict_state(&v), v.detail);
        return f;
    }
    let ca_end = cas
        .signer_of(cert)
        .map(|c| c.not_after)
        .or(judge.ca_end[side]);
    if let Some(ca_end) = ca_end.filter(|&c| c < info.not_after) {
        f.status = Status::Critical;
        f.state = FindingState::OutlivesCa;
        f.detail = format!(
            "{kind} {name}: the {which} CA expires {}, before this certificate ({}): renew the CA",
            timefmt::human(ca_end),
            timefmt::human(info.not_after)
        );
        return f;
    }
    judge_validity(&mut f, info, judge.now, judge.within);
    if let Some(v) = cas.judge(cert, revoked).filter(|v| v.status > f.status) {
        (f.status, f.state, f.detail) = (v.status, verdict_state(&v), v.detail);
    }
    if f.external_key {
        f.detail.push_str(" (external key)");
    }
    f
}

fn finding(
    kind: CertKind,
    name: &str,
    path: PathBuf,
    info: &CertFacts,
    now: OffsetDateTime,
) -> Finding {
    Finding {
        kind,
        name: name.to_string(),
        path,
        serial: Some(info.serial.clone()),
        not_after: Some(info.not_after),
        seconds_left: Some((info.not_after - now).whole_seconds()),
        status: Status::Ok,
        state: FindingState::Valid,
        detail: String::new(),
        external_key: false,
        needs_new_csr: false,
        lifetime: Some(info.not_after - info.not_before),
    }
}

fn unreadable(kind: CertKind, name: &str, path: PathBuf, e: &Error) -> Finding {
    let missing =
        matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound);
    Finding {
        kind,
        name: name.to_string(),
        path,
        serial: None,
        not_after: None,
        seconds_left: None,
        status: Status::Unknown,
        state: if missing {
            FindingState::Missing
        } else {
            FindingState::Unreadable
        },
        detail: e.to_string(),
        external_key: false,
        needs_new_csr: false,
        lifetime: None,
    }
}

/// Expired, not yet valid, due or valid; sets status, state and detail.
fn judge_validity(
    f: &mut Finding,
    info: &CertFacts,
    now: OffsetDateTime,
    within: Option<Validity>,
) {
    let days = crate::x509::inspect::days_between(now, info.not_after);
    let expires = timefmt::human(info.not_after);
    let (status, state, detail) =
        match CertState::at_within(info.not_before, info.not_after, now, within) {
            CertState::Expired => (
                Status::Critical,
                FindingState::Expired,
                format!("expired {expires} ({} days ago)", -days),
            ),
            CertState::NotYetValid => (
                Status::Critical,
                FindingState::NotYetValid,
                format!("not valid before {}", timefmt::human(info.not_before)),
            ),
            CertState::Due => (
                Status::Warning,
                FindingState::Due,
                format!("due for renewal: expires {expires} ({days} days left)"),
            ),
            _ => (
                Status::Ok,
                FindingState::Valid,
                format!("expires {expires} ({days} days left)"),
            ),
        };
    f.status = status;
    f.state = state;
    f.detail = format!("{} {}: {detail}", f.kind, f.name);
}

/// The word for what a leaf's CA says of it.
fn verdict_state(v: &crate::ops::rollover_judge::CaVerdict) -> FindingState {
    if v.untrusted {
        FindingState::UntrustedCa
    } else {
        FindingState::OldCa
    }
}

/// What a CA's rollover window depends on.
struct CaWindow<'a> {
    /// `--within`.
    within: Option<Validity>,
    /// The longest lifetime of the side's current leaves.
    longest: Option<time::Duration>,
    /// The side's rollover under way.
    rollover: Option<&'a crate::inventory::Rollover>,
    /// The CA judged is the side's issuing intermediate, not its root.
    intermediate: bool,
    /// The CA judged is a hierarchy's root, which `pgca rollover` does not replace.
    hierarchy_root: bool,
}

impl CaDir {
    /// In a hierarchy, a CRL file that does not hold one CRL per CA (the root, each
    /// intermediate): PostgreSQL, checking a CRL for every CA of a chain, refuses a chain
    /// through a CA without one.
    fn hierarchy_crl_count(&self, side: Side, name: &str) -> Option<String> {
        if !self.has_issuing(side) {
            return None;
        }
        let want = self.trusted_cas(side).map_or(0, |t| t.len()) + self.issuing_cas(side).len();
        let have = storage::read(&self.crl_path(side), "read CRL")
            .ok()
            .and_then(|b| crate::x509::pem::all_blocks(&b, "X509 CRL").ok())
            .map_or(0, |b| b.len());
        (have != want).then(|| {
            format!("{name}: {have} CRL(s) for the {want} CAs of the root and its intermediates (PostgreSQL refuses a chain through a CA without one): run pgca crl")
        })
    }

    /// A hierarchy's issuing intermediate in use: its dates and rollover window as a CA's, and
    /// what [`CaDir::issuing_problems`] finds (signed by the root, its key there).
    fn judge_issuing(&self, side: Side, now: OffsetDateTime, window: &CaWindow<'_>) -> Finding {
        let path = self.issuing_cert_path(side);
        let mut f = match CertFacts::from_file(&path) {
            Ok(info) => judge_ca(side, path, &info, now, window),
            Err(e) => return unreadable(side.ca_kind(), side.issuing_name(), path, &e),
        };
        if let Some((status, p, what)) = self
            .issuing_problems(side, now, false)
            .into_iter()
            .max_by_key(|p| p.0)
            .filter(|p| p.0 > f.status)
        {
            f.status = status;
            f.state = FindingState::Unreadable;
            f.detail = format!("{}: {}: {what}", side.issuing_name(), p.display());
        }
        f
    }
}

/// The longest lifetime among the leaf findings of `side`.
fn longest_lifetime(leaves: &[Finding], side: Side) -> Option<time::Duration> {
    leaves
        .iter()
        .filter(|f| f.kind == side.leaf_kind())
        .filter_map(|f| f.lifetime)
        .max()
}

/// The CA rule: its rollover window opens once its remaining life is less than its
/// longest-lived current leaf's lifetime (the default validity, 1 year, when it has none
/// longer; `--within` if that is longer still) plus [`ROLLOVER_MARGIN`]. Inside the window with
/// no rollover started, WARNING. During a rollover the old CA is quiet, unless it was declared
/// compromised (`rollover start --now`): CRITICAL until the rollover finishes.
///
/// [`ROLLOVER_MARGIN`]: crate::ops::rollover_judge::ROLLOVER_MARGIN
fn judge_ca(
    side: Side,
    path: PathBuf,
    info: &CertFacts,
    now: OffsetDateTime,
    window: &CaWindow<'_>,
) -> Finding {
    let kind = side.ca_kind();
    let (name, what, flag) = if window.intermediate {
        (side.issuing_name(), "issuing CA", " --intermediate")
    } else {
        (kind.name(), "CA", "")
    };
    let mut f = finding(kind, name, path, info, now);
    f.lifetime = None;
    let longest = window
        .longest
        .map_or(DEFAULT_LEAF_VALIDITY, |l| {
            Validity::from_seconds(l.whole_seconds()).unwrap_or(DEFAULT_LEAF_VALIDITY)
        })
        .max(DEFAULT_LEAF_VALIDITY);
    let horizon = window.within.map_or(longest, |w| w.max(longest));
    let horizon = Validity::from_seconds(
        horizon.seconds() + crate::ops::rollover_judge::ROLLOVER_MARGIN.seconds(),
    )
    .unwrap_or(horizon);
    judge_validity(&mut f, info, now, Some(horizon));
    if let Some(r) = window.rollover {
        if r.compromised {
            f.status = Status::Critical;
            f.state = FindingState::RolloverDue;
            f.detail = format!(
                "the {} {what} is compromised: its rollover is in phase {}: renew, reload and run pgca rollover finish {}",
                side.name(),
                r.phase.name(),
                side.name()
            );
        } else if f.state == FindingState::Due {
            f.status = Status::Ok;
            f.state = FindingState::Valid;
            f.detail = format!(
                "the {} {what} expires {}: its rollover is in phase {}",
                side.name(),
                timefmt::human(info.not_after),
                r.phase.name()
            );
        }
        return f;
    }
    if f.state == FindingState::Due && window.hierarchy_root {
        f.state = FindingState::RolloverDue;
        f.detail = format!(
            "the {} root CA expires {} ({} days left), within its rollover window: pgca does not roll over a hierarchy's root: plan its replacement (a new pgca init --intermediate) before then",
            side.name(),
            timefmt::human(info.not_after),
            crate::x509::inspect::days_between(now, info.not_after),
        );
    } else if f.state == FindingState::Due {
        f.state = FindingState::RolloverDue;
        f.detail = format!(
            "the {} {what} expires {} ({} days left), within its rollover window ({} plus {}): start a rollover: pgca rollover start {}{flag}",
            side.name(),
            timefmt::human(info.not_after),
            crate::x509::inspect::days_between(now, info.not_after),
            if window.longest.is_some() {
                "its longest certificate's lifetime"
            } else {
                "a 1-year certificate's lifetime"
            },
            crate::ops::rollover_judge::ROLLOVER_MARGIN,
            side.name()
        );
    }
    f
}

/// What check needs of a ledger read whole (the inventory in a database), as
/// `log::read_current` gives it of the file.
fn current_of(ledger: &crate::inventory::Ledger) -> crate::inventory::log::Current {
    crate::inventory::log::Current {
        certs: ledger.current_certs(),
        crl_recorded: [CertKind::ServerCa, CertKind::ClientCa]
            .map(|k| ledger.last_crl(k).is_some()),
        facts: crate::inventory::log::Facts::of(ledger),
        installs: ledger.installs().to_vec(),
        rollovers: ledger.rollovers().clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn due_is_exact() {
        let nb = datetime!(2026-01-01 0:00 UTC);
        let na = nb + time::Duration::seconds(3_000);
        assert!(!is_due(nb, na, nb + time::Duration::seconds(2_000), None));
        assert!(is_due(nb, na, nb + time::Duration::seconds(2_001), None));
        let within = Some(Validity::days(30));
        assert!(!is_due(nb, nb + time::Duration::days(31), nb, within));
        assert!(is_due(
            nb,
            nb + time::Duration::days(30) - time::Duration::seconds(1),
            nb,
            within
        ));
    }

    #[test]
    fn exit_codes_and_severity_order() {
        assert_eq!(
            [
                Status::Ok,
                Status::Warning,
                Status::Critical,
                Status::Unknown
            ]
            .map(Status::exit_code),
            [0, 1, 2, 3]
        );
        assert!(
            Status::Critical > Status::Warning
                && Status::Warning > Status::Unknown
                && Status::Unknown > Status::Ok
        );
    }
}
