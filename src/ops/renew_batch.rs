//! [`CaDir::renew`]'s certificates renewed in batches: which of the chosen names are renewed, a
//! request built for each from its record and live pair, and the requests of a side issued
//! [`RENEW_BATCH`] at a time ([`RENEW_BATCH_TOKEN`] with a CA key in a token), each batch one
//! [`CaDir::issue_batch`].
//!
//! One batch per certificate made renewing N certificates quadratic: every batch appends to the
//! inventory, which reads and checks the whole log first. In batches, a run reads it a few times
//! per [`RENEW_BATCH`] certificates, and keys are made on every core, pairs made durable with one
//! `syncfs` per batch.
//!
//! A name's problem stays that name's. Each request is built on its own, and what would fail a
//! batch is checked there for that name alone: a pair that is not the one recorded, an encrypted
//! key without its passphrase, an external key older than `--max-key-age` or a key a revoked
//! certificate certified, a lifetime its CA cannot cover. Only the good requests are issued
//! together. Should a batch fail all the same (the CA key cannot be loaded or refuses to sign, the
//! disk fills), its names are renewed again one at a time, so that each failure is reported with
//! its own name and the others are still renewed. A name the failed batch did commit (it failed
//! while switching the links, which the next writer finishes) is not issued again but reported
//! renewed.

use std::collections::HashMap;
use std::fs;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::inventory::{Issued, Ledger};
use crate::model::due::is_due;
use crate::model::kind::{CertKind, Side};
use crate::model::names::HostName;
use crate::model::serial::Serial;
use crate::model::validity::Validity;
use crate::ops::renew::{RenewFailure, RenewOptions, RenewReport, Renewal};
use crate::store::issue::LeafRequest;
use crate::store::layout::CaDir;
use crate::store::live::LivePair;
use crate::store::options::{BACKDATE_SECONDS, IssuedCert};
use crate::x509::keys::PrivateKey;
use crate::x509::profile::LeafProfile;

/// Due certificates of a side are issued this many to a batch when the CA keys are files. Each
/// batch reads the inventory two or three times (its requests are built against one read; the
/// append that commits it, and with reused or external keys the revoked-key check, read it again),
/// and reading it is most of a large renewal's time: at 10,000 a batch, renewing 10,000
/// certificates reads it a handful of times. A batch holds the write lock while it signs, writes
/// and syncs its pairs: about a second for 10,000 with a CA key file.
pub(crate) const RENEW_BATCH: usize = 10_000;

/// The batch when a CA key is in a PKCS#11 token: a slow token signs 10,000 certificates in
/// minutes, longer than the 300 s other writers wait for the lock; 1,000 keeps a batch to tens of
/// seconds at worst. The one-by-one fallback of a failed batch is bounded by it too.
pub(crate) const RENEW_BATCH_TOKEN: usize = 1000;

/// The end of each CA's validity (`renew` loaded both keys up front): a certificate that would
/// outlive its CA fails on its own instead of failing its batch.
pub(super) type CaEnds = Vec<(Side, OffsetDateTime)>;

/// What a chunk's requests are built against: one read of the inventory, and what it says about
/// keys, worked out once for the chunk instead of once per certificate.
struct Known<'l> {
    ledger: &'l Ledger,
    /// The fingerprint of every key a revoked certificate certified.
    revoked_keys: HashMap<&'l str, (&'l Serial, &'l str)>,
    /// A public key's first certification, by fingerprint (`--max-key-age`; empty without).
    key_since: HashMap<&'l str, OffsetDateTime>,
}

impl<'l> Known<'l> {
    fn of(ledger: &'l Ledger, opts: &RenewOptions) -> Known<'l> {
        let mut key_since: HashMap<&str, OffsetDateTime> = HashMap::new();
        if opts.max_key_age.is_some() {
            for i in ledger.issued() {
                if let Some(h) = &i.spki_sha256 {
                    let since = key_since.entry(h.as_str()).or_insert(i.issued_at);
                    *since = (*since).min(i.issued_at);
                }
            }
        }
        Known {
            ledger,
            revoked_keys: ledger.revoked_keys(),
            key_since,
        }
    }
}

/// What renewing one name alone, after its batch failed, comes to.
enum Step {
    /// The name is still on its old certificate: this request renews it.
    Issue(Box<LeafRequest>),
    /// The failed batch committed the name's renewal after all.
    Committed(IssuedCert),
}

impl CaDir {
    /// How many certificates a renewal batch takes: [`RENEW_BATCH`], or [`RENEW_BATCH_TOKEN`]
    /// when a CA key is in a token.
    fn renew_batch(&self) -> usize {
        if Side::BOTH.iter().any(|&s| self.ca_key_in_token(s)) {
            RENEW_BATCH_TOKEN
        } else {
            RENEW_BATCH
        }
    }

    /// Renews the chosen certificates that are due (all of them with `force`) into `report`, in
    /// the order given; prunes each renewed name's older pairs from the archive. A revoked one is
    /// left alone, and reported as a failure when asked for by name.
    pub(super) fn renew_chosen(
        &self,
        chosen: &[&Issued],
        ledger: &Ledger,
        opts: &RenewOptions,
        now: OffsetDateTime,
        cas: &CaEnds,
        report: &mut RenewReport,
    ) {
        let revoked = |r: &Issued| ledger.revocation(&r.serial).is_some();
        let due = |r: &Issued| {
            opts.force
                || is_due(r.not_before, r.not_after, now, opts.within)
                || on_retiring_ca(ledger, r)
        };
        // Issued online by `pgca serve`: its key is on a host whose `pgca agent` renews it over
        // the API; a certificate issued here would go nowhere and lock that agent out (its
        // serial would no longer be the current one).
        let online = |r: &Issued| r.authorized.is_some();
        let to_renew: Vec<&Issued> = chosen
            .iter()
            .copied()
            .filter(|r| !revoked(r) && !online(r) && due(r))
            .collect();
        let mut results = self
            .renew_due(&to_renew, opts, now, cas, self.renew_batch())
            .into_iter();
        let archived = archived_serials(ledger);
        for &record in chosen {
            let (kind, name) = (record.kind, record.name.clone());
            if revoked(record) {
                // A revoked name stays revoked: asked for by name, that is a failure to report;
                // otherwise it is simply not due.
                if !opts.names.is_empty() {
                    let serial = record.serial.clone();
                    let error = Error::Revoked {
                        kind,
                        name: name.clone(),
                        serial,
                    };
                    report
                        .failures
                        .push(RenewFailure::Renew { kind, name, error });
                }
                report
                    .revoked
                    .push((kind, record.name.clone(), record.serial.clone()));
                continue;
            }
            if !due(record) && opts.names.is_empty() {
                continue;
            }
            if online(record) {
                if !opts.names.is_empty() {
                    let error = Error::RenewedOnline {
                        kind,
                        name: name.clone(),
                        serial: record.serial.clone(),
                    };
                    report
                        .failures
                        .push(RenewFailure::Renew { kind, name, error });
                }
                report
                    .online
                    .push((kind, record.name.clone(), record.serial.clone()));
                continue;
            }
            if !due(record) {
                continue;
            }
            match results.next().expect("one result per certificate renewed") {
                Ok(issued) => {
                    let older = archived.get(&(kind, name.as_str())).map(Vec::as_slice);
                    let older = older.unwrap_or_default();
                    self.prune_archive(kind, older, &record.serial, &issued.serial);
                    report.renewed.push(Renewal {
                        old_serial: record.serial.clone(),
                        issued,
                        redeployed: Vec::new(),
                        reinstalled: Vec::new(),
                    });
                }
                Err(error) => report
                    .failures
                    .push(RenewFailure::Renew { kind, name, error }),
            }
        }
    }

    /// Renews each of `due`: one result per certificate, in the same order. Per side, in batches
    /// of `batch` ([`RENEW_BATCH`]).
    fn renew_due(
        &self,
        due: &[&Issued],
        opts: &RenewOptions,
        now: OffsetDateTime,
        cas: &CaEnds,
        batch: usize,
    ) -> Vec<Result<IssuedCert>> {
        let mut done: Vec<(usize, Result<IssuedCert>)> = Vec::with_capacity(due.len());
        for side in Side::BOTH {
            let (at, of_side): (Vec<usize>, Vec<&Issued>) = due
                .iter()
                .enumerate()
                .filter(|(_, r)| r.kind.side() == side)
                .map(|(i, r)| (i, *r))
                .unzip();
            for (at, chunk) in at.chunks(batch).zip(of_side.chunks(batch)) {
                let results = self.renew_chunk(side, chunk, opts, now, cas);
                done.extend(at.iter().copied().zip(results));
            }
        }
        done.sort_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, r)| r).collect()
    }

    /// Renews one chunk of a side's certificates: every request built, the good ones issued in
    /// one batch. One result per certificate, in order.
    fn renew_chunk(
        &self,
        side: Side,
        chunk: &[&Issued],
        opts: &RenewOptions,
        now: OffsetDateTime,
        cas: &CaEnds,
    ) -> Vec<Result<IssuedCert>> {
        let mut failed: Vec<Option<Error>> = Vec::with_capacity(chunk.len());
        let mut requests = Vec::new();
        for built in self.renew_requests(chunk, opts, now, cas) {
            match built {
                Ok(request) => {
                    requests.push(request);
                    failed.push(None);
                }
                Err(e) => failed.push(Some(e)),
            }
        }
        let good: Vec<&Issued> = chunk
            .iter()
            .zip(&failed)
            .filter(|(_, e)| e.is_none())
            .map(|(r, _)| *r)
            .collect();
        let mut issued = match requests.len() {
            0 => Vec::new(),
            n => match self.issue_batch(side, requests, true, now, None) {
                Ok(issued) => issued.into_iter().map(Ok).collect(),
                Err(e) if n == 1 => vec![Err(e)],
                Err(_) => self.renew_alone(side, &good, opts, now, cas),
            },
        }
        .into_iter();
        failed
            .into_iter()
            .map(|e| match e {
                Some(e) => Err(e),
                None => issued.next().expect("one result per request"),
            })
            .collect()
    }

    /// The request of each certificate of `chunk`, built against one read of the inventory (a
    /// read that fails is tried again for each name, so that each reports its own error).
    fn renew_requests(
        &self,
        chunk: &[&Issued],
        opts: &RenewOptions,
        now: OffsetDateTime,
        cas: &CaEnds,
    ) -> Vec<Result<LeafRequest>> {
        let built = self.with_ledger(|ledger| {
            let known = Known::of(ledger, opts);
            Ok(chunk
                .iter()
                .map(|r| self.renew_request(&known, r, opts, now, cas))
                .collect())
        });
        built.unwrap_or_else(|_| {
            chunk
                .iter()
                .map(|r| {
                    self.with_ledger(|l| self.renew_request(&Known::of(l, opts), r, opts, now, cas))
                })
                .collect()
        })
    }

    /// The fallback of a batch that failed: each of its names renewed alone. A name the batch
    /// committed after all (the inventory records a certificate this run issued) is reported
    /// renewed, once the write lock finished the batch's links.
    fn renew_alone(
        &self,
        side: Side,
        records: &[&Issued],
        opts: &RenewOptions,
        now: OffsetDateTime,
        cas: &CaEnds,
    ) -> Vec<Result<IssuedCert>> {
        drop(self.write_lock());
        let renew = |record: &Issued| {
            let step =
                self.with_ledger(|ledger| match ledger.current(record.kind, &record.name) {
                    Some(c) if c.serial != record.serial && c.issued_at == now => {
                        Ok(Step::Committed(self.issued_from(c, &record.serial)))
                    }
                    _ => self
                        .renew_request(&Known::of(ledger, opts), record, opts, now, cas)
                        .map(|r| Step::Issue(Box::new(r))),
                })?;
            match step {
                Step::Issue(request) => Ok(self
                    .issue_batch(side, vec![*request], true, now, None)?
                    .remove(0)),
                Step::Committed(issued) => Ok(issued),
            }
        };
        records.iter().map(|r| renew(r)).collect()
    }

    /// Runs `f` on the inventory, read under the shared lock.
    fn with_ledger<T>(&self, f: impl FnOnce(&Ledger) -> Result<T>) -> Result<T> {
        let _lock = self.read_lock()?;
        f(&self.read_inventory()?)
    }

    /// The request renewing one certificate as the inventory recorded it: name, SANs, kind, key
    /// type, lifetime. The file on disk must be the certificate recorded.
    fn renew_request(
        &self,
        known: &Known<'_>,
        record: &Issued,
        opts: &RenewOptions,
        now: OffsetDateTime,
        cas: &CaEnds,
    ) -> Result<LeafRequest> {
        let (kind, name) = (record.kind, record.name.as_str());
        let pair = self.live_pair_in(known.ledger, kind, name)?;
        let profile = profile_of(record)?;
        let validity = lifetime_of(record)?;
        for (side, end) in cas.iter().filter(|(side, _)| *side == kind.side()) {
            let until = now + validity.duration();
            crate::x509::ca::check_can_sign_until(*side, *end, now, until)?;
        }
        // A leaf re-issued only because its CA is being retired keeps its key, as an external
        // key keeps its public key: the key is not what is replaced, and a client reading its
        // certificate and then its key while they are installed again (libpq opens the two
        // files one after the other) finds a pair either way.
        let keep_key = opts.reuse_key
            || (!opts.force
                && !is_due(record.not_before, record.not_after, now, opts.within)
                && on_retiring_ca(known.ledger, record));
        let request = if pair.record.external_key {
            external_request(known, &pair, profile, validity, opts, now)?
        } else {
            self.key_request(&pair, profile, validity, opts, keep_key)?
        };
        // What the batch would refuse for this name: a key a revoked certificate certified.
        let given = match (&request.key, &request.public_key) {
            (Some(k), _) => Some(k.public_key_der()),
            (None, spki) => spki.clone(),
        };
        let fingerprint = given.map(|der| crate::model::hex::sha256(&der));
        if let Some((serial, _)) = fingerprint.and_then(|h| known.revoked_keys.get(h.as_str())) {
            return Err(Error::RevokedKey {
                kind,
                name: name.to_string(),
                serial: (*serial).clone(),
            });
        }
        Ok(request)
    }

    /// The request for a key the CA directory holds: a new one of the recorded type, or with
    /// `keep_key` (`--reuse-key`, or a re-issue for a CA rollover) the same. An encrypted key
    /// stays encrypted: its renewal needs the passphrase, never drops it.
    fn key_request(
        &self,
        pair: &LivePair,
        profile: LeafProfile,
        validity: Validity,
        opts: &RenewOptions,
        keep_key: bool,
    ) -> Result<LeafRequest> {
        let (kind, name) = (pair.record.kind, pair.record.name.as_str());
        let path = self.key_path(kind, name);
        let pem = zeroize::Zeroizing::new(String::from_utf8_lossy(&pair.key_pem).into_owned());
        let encrypted = crate::x509::keys::is_encrypted_pem(&pem);
        if encrypted && opts.key_passphrase.is_none() {
            return Err(Error::NeedKeyPassphrase(format!("{kind} {name}")));
        }
        let key = if keep_key {
            let passphrase = opts.key_passphrase.as_ref();
            Some(PrivateKey::from_pem_with(&pem, &path, passphrase)?)
        } else {
            None
        };
        Ok(LeafRequest {
            name: name.to_string(),
            profile,
            key_type: key.as_ref().map_or(pair.record.key_type, |k| k.key_type()),
            validity,
            key,
            public_key: None,
            key_passphrase: opts.key_passphrase.clone().filter(|_| encrypted),
            authorized: None,
        })
    }

    /// What the caller learns of a certificate a failed batch committed after all.
    pub(crate) fn issued_from(&self, new: &Issued, replaced: &Serial) -> IssuedCert {
        let (kind, name) = (new.kind, new.name.as_str());
        IssuedCert {
            kind,
            name: name.to_string(),
            serial: new.serial.clone(),
            key_type: new.key_type,
            not_before: new.not_before,
            not_after: new.not_after,
            cert_path: self.cert_path(kind, name),
            key_path: if new.external_key {
                std::path::PathBuf::new()
            } else {
                self.key_path(kind, name)
            },
            external_key: new.external_key,
            replaced: Some(replaced.clone()),
        }
    }

    /// Keeps the pair in use and the one it replaced (`NAME.prev`); removes the name's other
    /// pairs (`recorded`: every serial the inventory knew of it) from the archive. Best effort: a
    /// leftover is only disk space.
    fn prune_archive(&self, kind: CertKind, recorded: &[&Serial], prev: &Serial, new: &Serial) {
        let archive = self.archive_dir(kind);
        for old in recorded.iter().filter(|s| **s != prev && **s != new) {
            let _ = fs::remove_dir_all(archive.join(old.to_string()));
        }
    }
}

/// An external key (`pgca sign`) stays where it is: the request signs the recorded public key
/// again, and the host keeps its key, unless it is older than `--max-key-age`.
fn external_request(
    known: &Known<'_>,
    pair: &LivePair,
    profile: LeafProfile,
    validity: Validity,
    opts: &RenewOptions,
    now: OffsetDateTime,
) -> Result<LeafRequest> {
    let record = &pair.record;
    let (kind, name) = (record.kind, record.name.as_str());
    let spki = record.external_spki().ok_or_else(|| Error::ExternalKey {
        kind,
        name: name.to_string(),
    })?;
    if let Some(max) = opts.max_key_age {
        let fingerprint = crate::model::hex::sha256(&spki);
        let since = known
            .key_since
            .get(fingerprint.as_str())
            .copied()
            .unwrap_or(record.issued_at);
        if now - since >= max.duration() {
            return Err(Error::NeedsNewCsr {
                kind,
                name: name.to_string(),
                since,
                max: max.to_string(),
            });
        }
    }
    Ok(LeafRequest {
        name: name.to_string(),
        profile,
        key_type: record.key_type,
        validity,
        key: None,
        public_key: Some(spki),
        key_passphrase: None,
        authorized: None,
    })
}

/// The profile a record was issued with: a server's SANs (its name when none were recorded), or
/// a client's role.
pub(crate) fn profile_of(record: &Issued) -> Result<LeafProfile> {
    if record.kind != CertKind::Server {
        return Ok(LeafProfile::client(&record.name));
    }
    let mut sans = record
        .sans
        .iter()
        .map(|s| s.parse::<HostName>())
        .collect::<Result<Vec<_>>>()?;
    if sans.is_empty() {
        sans.push(record.name.parse()?);
    }
    Ok(LeafProfile::server(&sans))
}

/// The lifetime a record was issued with, without the backdating.
pub(crate) fn lifetime_of(record: &Issued) -> Result<Validity> {
    let lifetime = (record.not_after - record.not_before).whole_seconds() - BACKDATE_SECONDS;
    Validity::from_seconds(lifetime.max(1)).ok_or(Error::InvalidDuration {
        input: format!("{lifetime}s"),
        reason: "the certificate's lifetime cannot be repeated",
    })
}

/// Every serial the inventory records for each name, oldest first: what pruning a renewed
/// name's archive looks at, gathered in one pass instead of one per name.
fn archived_serials(ledger: &Ledger) -> HashMap<(CertKind, &str), Vec<&Serial>> {
    let mut by_name: HashMap<(CertKind, &str), Vec<&Serial>> = HashMap::new();
    for i in ledger.issued().iter().filter(|i| !i.kind.is_ca()) {
        by_name
            .entry((i.kind, i.name.as_str()))
            .or_default()
            .push(&i.serial);
    }
    by_name
}

/// Whether a current leaf was signed by a CA a rollover is retiring: from `rollover switch` on,
/// every such leaf is due, whatever its expiry.
fn on_retiring_ca(ledger: &Ledger, record: &Issued) -> bool {
    ledger.rollover(record.kind.side()).is_some_and(|r| {
        r.phase == crate::inventory::RolloverPhase::IssueNew
            && record.ca_serial.as_ref() != Some(&r.new_ca)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::names::RoleName;
    use crate::model::timefmt;
    use crate::store::options::{InitOptions, IssueOptions};

    fn commits(ca: &CaDir) -> usize {
        fs::read_to_string(crate::inventory::path_in(ca.root()))
            .unwrap()
            .lines()
            .filter(|l| l.starts_with(r#"{"event":"commit","#))
            .count()
    }

    fn issue_clients(ca: &CaDir, names: &[&str], opts: &IssueOptions) {
        let roles: Vec<RoleName> = names.iter().map(|n| n.parse().unwrap()).collect();
        ca.issue_clients(&roles, opts).unwrap();
    }

    fn force() -> RenewOptions {
        RenewOptions {
            force: true,
            ..RenewOptions::default()
        }
    }

    #[test]
    fn batches_per_side_keep_the_order_given() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = CaDir::init(tmp.path().join("ca"), &InitOptions::default()).unwrap();
        let opts = IssueOptions::default();
        let first: Vec<String> = (0..10).map(|i| format!("a{i}")).collect();
        let second: Vec<String> = (0..10).map(|i| format!("b{i}")).collect();
        issue_clients(
            &ca,
            &first.iter().map(String::as_str).collect::<Vec<_>>(),
            &opts,
        );
        ca.issue_server(&["db1.example.com".parse().unwrap()], &opts)
            .unwrap();
        issue_clients(
            &ca,
            &second.iter().map(String::as_str).collect::<Vec<_>>(),
            &opts,
        );
        ca.issue_server(&["db2.example.com".parse().unwrap()], &opts)
            .unwrap();
        let ledger = ca.inventory().unwrap();
        let due: Vec<&Issued> = ledger
            .all_current()
            .into_iter()
            .filter(|i| !i.kind.is_ca())
            .collect();
        let before = commits(&ca);
        let results = ca.renew_due(&due, &force(), timefmt::now(), &Vec::new(), 7);
        assert_eq!(results.len(), due.len());
        for (record, result) in due.iter().zip(&results) {
            let issued = result.as_ref().unwrap();
            assert_eq!((issued.kind, &issued.name), (record.kind, &record.name));
            assert_eq!(issued.replaced.as_ref(), Some(&record.serial));
        }
        // 20 clients in batches of 7, and the 2 servers in one.
        assert_eq!(commits(&ca) - before, 3 + 1);
    }

    #[test]
    fn a_batch_that_fails_is_renewed_one_by_one() {
        let tmp = tempfile::tempdir().unwrap();
        let t0 = timefmt::now() - time::Duration::days(1000);
        let init = InitOptions {
            now: Some(t0),
            ..InitOptions::default()
        };
        let ca = CaDir::init(tmp.path().join("ca"), &init).unwrap();
        let mut opts = IssueOptions {
            now: Some(t0),
            validity: Validity::days(30),
            ..IssueOptions::default()
        };
        issue_clients(&ca, &["a", "b"], &opts);
        // Renewed now, 3000 days would outlive the CA (3650 days from t0).
        opts.validity = Validity::days(3000);
        issue_clients(&ca, &["long"], &opts);
        opts.validity = Validity::days(30);
        issue_clients(&ca, &["c"], &opts);
        let ledger = ca.inventory().unwrap();
        let due: Vec<&Issued> = ledger
            .all_current()
            .into_iter()
            .filter(|i| !i.kind.is_ca())
            .collect();
        let now = timefmt::now();
        let outcome = |results: &[Result<IssuedCert>]| -> Vec<String> {
            results
                .iter()
                .map(|r| match r {
                    Ok(i) => format!("renewed {}", i.name),
                    Err(Error::OutlivesCa { .. }) => "outlives".to_string(),
                    Err(e) => e.to_string(),
                })
                .collect()
        };
        let want = ["renewed a", "renewed b", "outlives", "renewed c"];

        // Knowing the CA's end, the long one fails on its own: one batch for the rest.
        let ca_ends = vec![(Side::Client, t0 + time::Duration::days(3650))];
        let before = commits(&ca);
        let results = ca.renew_due(&due, &force(), now, &ca_ends, RENEW_BATCH);
        assert_eq!(outcome(&results), want);
        assert_eq!(commits(&ca) - before, 1);

        // Not knowing it, the batch fails, and each name is renewed alone.
        let ledger = ca.inventory().unwrap();
        let due: Vec<&Issued> = due
            .iter()
            .map(|r| ledger.current(r.kind, &r.name).unwrap())
            .collect();
        let before = commits(&ca);
        let results = ca.renew_due(&due, &force(), now, &Vec::new(), RENEW_BATCH);
        assert_eq!(outcome(&results), want);
        assert_eq!(commits(&ca) - before, 3);
    }
}
