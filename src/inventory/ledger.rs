//! The inventory as read: the history, and each name's current certificate.

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::inventory::record::{CrlRecord, Deployment, Event, Install, Issued, Revocation};
use crate::inventory::rollover::{Rollover, RolloverStep};
use crate::model::kind::CertKind;
use crate::model::kind::CertState;
use crate::model::serial::Serial;

/// The inventory as read: every issued certificate in order, with the current one per name.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    issued: Vec<Issued>,
    /// Per kind (indexed by [`kind_index`]), each name's latest entry in `issued`. A map per kind
    /// lets a lookup borrow the name instead of building a `(kind, String)` key.
    current: [HashMap<String, usize>; 4],
    deployments: Vec<Deployment>,
    installs: Vec<Install>,
    revoked: HashMap<Serial, Revocation>,
    crls: Vec<CrlRecord>,
    rollovers: crate::inventory::rollover::Rollovers,
    tokens: crate::inventory::enrollment::Tokens,
    /// Per serial renewed online, the entry in `issued` of the first certificate renewing it.
    renewals: HashMap<Serial, usize>,
    /// Whether the inventory ends with an uncommitted batch or a torn line (an interrupted
    /// write); it was skipped, and the next write cuts it off.
    pub torn_tail: bool,
}

impl Ledger {
    /// Every issued certificate, oldest first.
    pub fn issued(&self) -> &[Issued] {
        &self.issued
    }

    /// The current (latest) certificate of a kind and name.
    pub fn current(&self, kind: CertKind, name: &str) -> Option<&Issued> {
        self.current[kind_index(kind)]
            .get(name)
            .map(|&i| &self.issued[i])
    }

    /// The current certificate of every name of every kind, in the order they were issued.
    ///
    /// # Examples
    ///
    /// ```
    /// use pgca::CertKind;
    /// use pgca::{CaDir, InitOptions, IssueOptions, RoleName};
    ///
    /// let tmp = tempfile::tempdir()?;
    /// let ca = CaDir::init(tmp.path().join("ca"), &InitOptions::default())?;
    /// let alice: RoleName = "alice".parse()?;
    /// ca.issue_client(&alice, &IssueOptions::default())?;
    /// let mut force = IssueOptions::default();
    /// force.force = true;
    /// let again = ca.issue_client(&alice, &force)?;
    ///
    /// let ledger = ca.inventory()?;
    /// let current: Vec<_> = ledger.all_current().into_iter().filter(|i| !i.kind.is_ca()).collect();
    /// assert_eq!(current.len(), 1); // the first certificate was superseded
    /// assert_eq!((current[0].kind, current[0].serial.clone()), (CertKind::Client, again.serial));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn all_current(&self) -> Vec<&Issued> {
        let mut at: Vec<usize> = self
            .current
            .iter()
            .flat_map(|m| m.values().copied())
            .collect();
        at.sort_unstable();
        at.into_iter().map(|i| &self.issued[i]).collect()
    }

    /// [`Ledger::all_current`] as [`CurrentCert`]s: what each name's files must be.
    pub(crate) fn current_certs(&self) -> Vec<CurrentCert> {
        // An external public key's first certification, by its SHA-256.
        let mut first_seen: HashMap<&str, OffsetDateTime> = HashMap::new();
        for i in self.issued.iter().filter(|i| i.external_key) {
            if let Some(spki) = &i.spki_sha256 {
                first_seen.entry(spki.as_str()).or_insert(i.issued_at);
            }
        }
        self.all_current()
            .into_iter()
            .map(|i| {
                let spki = i.spki_sha256.as_ref().filter(|_| i.external_key);
                CurrentCert {
                    kind: i.kind,
                    name: i.name.clone(),
                    serial: i.serial.clone(),
                    sha256: i.sha256.clone(),
                    external_key: i.external_key,
                    spki_sha256: spki.cloned(),
                    key_since: spki.and_then(|h| first_seen.get(h.as_str()).copied()),
                    ca_serial: i.ca_serial.clone(),
                }
            })
            .collect()
    }

    /// The latest deployment of each (server name, data directory), in first-deployed order.
    pub fn deployments(&self) -> Vec<&Deployment> {
        let mut latest: Vec<&Deployment> = Vec::new();
        for d in &self.deployments {
            match latest
                .iter_mut()
                .find(|l| l.name == d.name && l.data_dir == d.data_dir)
            {
                Some(l) => *l = d,
                None => latest.push(d),
            }
        }
        latest
    }

    /// The latest install of each (role, directory) not forgotten since, in first-installed
    /// order.
    pub fn installs(&self) -> &[Install] {
        &self.installs
    }

    /// Whether `issued` is the latest certificate of its name.
    pub fn is_current(&self, issued: &Issued) -> bool {
        self.current(issued.kind, &issued.name)
            .is_some_and(|c| c.serial == issued.serial)
    }

    /// The revocation of a serial, if it was revoked.
    pub fn revocation(&self, serial: &Serial) -> Option<&Revocation> {
        self.revoked.get(serial)
    }

    /// The fingerprints (`spki_sha256`) of every key a revoked certificate certified, with that
    /// certificate's serial and name.
    pub fn revoked_keys(&self) -> HashMap<&str, (&Serial, &str)> {
        let mut keys = HashMap::new();
        for r in self.revoked.values() {
            if let Some(h) = &r.spki_sha256 {
                keys.insert(h.as_str(), (&r.serial, r.name.as_str()));
            }
        }
        for i in &self.issued {
            if let Some(h) = &i.spki_sha256
                && self.revoked.contains_key(&i.serial)
            {
                keys.insert(h.as_str(), (&i.serial, i.name.as_str()));
            }
        }
        keys
    }

    /// Every revocation.
    pub fn revocations(&self) -> impl Iterator<Item = &Revocation> {
        self.revoked.values()
    }

    /// The last CRL written for a CA (`ServerCa` or `ClientCa`).
    pub fn last_crl(&self, ca: CertKind) -> Option<&CrlRecord> {
        self.crls.iter().rev().find(|c| c.ca == ca)
    }

    /// The rollover of a CA under way, if any.
    pub fn rollover(&self, side: crate::model::kind::Side) -> Option<&Rollover> {
        self.rollovers.of(side)
    }

    /// The last rollover of a CA finished, if any.
    pub fn last_finished_rollover(&self, side: crate::model::kind::Side) -> Option<&RolloverStep> {
        self.rollovers.last_finished(side)
    }

    /// Every enrollment token minted, with its use.
    pub fn tokens(&self) -> &crate::inventory::enrollment::Tokens {
        &self.tokens
    }

    /// The certificate with this serial, if the inventory records one.
    pub fn by_serial(&self, serial: &Serial) -> Option<&Issued> {
        self.issued.iter().rev().find(|i| &i.serial == serial)
    }

    /// The certificate issued by renewing `serial` online, if any (the first such).
    pub fn renewed_from(&self, serial: &Serial) -> Option<&Issued> {
        self.renewals.get(serial).map(|&i| &self.issued[i])
    }

    /// The state of a recorded certificate at `now`.
    pub fn state(&self, issued: &Issued, now: OffsetDateTime) -> CertState {
        if self.revoked.contains_key(&issued.serial) {
            return CertState::Revoked;
        }
        // The CA a rollover is replacing is still in use until the rollover finishes.
        let retiring = issued.kind.is_ca()
            && self
                .rollover(issued.kind.side())
                .is_some_and(|r| r.old_ca == issued.serial);
        if !self.is_current(issued) && !retiring {
            return CertState::Superseded;
        }
        CertState::at(issued.not_before, issued.not_after, now)
    }

    /// The rollovers, as recorded.
    pub(crate) fn rollovers(&self) -> &crate::inventory::rollover::Rollovers {
        &self.rollovers
    }

    pub(crate) fn apply(&mut self, event: Event) {
        match event {
            Event::Issued(i) => {
                note_latest(&mut self.current, i.kind, &i.name, self.issued.len());
                if let Some(from) = i.authorized.as_ref().and_then(|a| a.renewed_from.clone()) {
                    self.renewals.entry(from).or_insert(self.issued.len());
                }
                self.issued.push(i);
            }
            Event::Deployed(d) => self.deployments.push(d),
            Event::Revoked(r) => {
                self.revoked.entry(r.serial.clone()).or_insert(r);
            }
            Event::CrlIssued(c) => self.crls.push(c),
            e @ (Event::Installed(_) | Event::InstallForgotten(_)) => {
                note_install(&mut self.installs, e)
            }
            Event::RolloverStarted(r) => self.rollovers.started(r),
            Event::RolloverSwitched(r) => self.rollovers.switched(r),
            Event::RolloverFinished(r) => self.rollovers.finished(r),
            Event::TokenMinted(t) => self.tokens.minted(t),
            Event::TokenUsed(u) => self.tokens.used(u),
        }
    }
}

/// Folds an `installed` or `install-forgotten` event into the current installs: the latest of
/// each (role, directory), none for one forgotten since.
pub(crate) fn note_install(installs: &mut Vec<Install>, event: Event) {
    match event {
        Event::Installed(i) => match installs
            .iter_mut()
            .find(|l| l.role == i.role && l.dir == i.dir)
        {
            Some(l) => *l = i,
            None => installs.push(i),
        },
        Event::InstallForgotten(f) => installs.retain(|l| !(l.role == f.role && l.dir == f.dir)),
        _ => {}
    }
}

/// The current certificate of a name, as the inventory records it: what its files on disk must
/// be. [`Ledger::current_certs`] and `log::read_current` (the light read of `pgca check`) both
/// make them; `check` and `verify` judge the files against them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CurrentCert {
    /// What it is.
    pub kind: CertKind,
    /// Role, first host name, or `server-ca`/`client-ca`.
    pub name: String,
    /// The serial its certificate file must carry.
    pub serial: Serial,
    /// The SHA-256 (hex) of its DER, where recorded: its certificate file must hash to it.
    pub sha256: Option<String>,
    /// Whether its key is external (`pgca sign`): the CA directory holds no key file for it.
    pub external_key: bool,
    /// For an external key, the SHA-256 (hex) of the public key it certifies, where recorded
    /// (its certificate must certify that key); not kept for a key the CA directory holds.
    pub spki_sha256: Option<String>,
    /// For an external key, when its public key was first certified (the key's age, for
    /// `check --max-key-age`); `None` otherwise.
    pub key_since: Option<OffsetDateTime>,
    /// The serial of the CA that signed it, where recorded (see [`Issued::ca_serial`]).
    pub ca_serial: Option<Serial>,
}

/// The slot of a kind in [`Ledger`]'s per-kind maps.
fn kind_index(kind: CertKind) -> usize {
    match kind {
        CertKind::ServerCa => 0,
        CertKind::ClientCa => 1,
        CertKind::Server => 2,
        CertKind::Client => 3,
    }
}

/// Records `at` as the latest entry of `kind` and `name`. A borrowed name is copied only the first
/// time it is seen; an owned one is moved in.
pub(super) fn note_latest<S: AsRef<str> + Into<String>>(
    latest: &mut [HashMap<String, usize>; 4],
    kind: CertKind,
    name: S,
    at: usize,
) {
    let names = &mut latest[kind_index(kind)];
    match names.get_mut(name.as_ref()) {
        Some(last) => *last = at,
        None => {
            names.insert(name.into(), at);
        }
    }
}
