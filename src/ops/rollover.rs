//! `pgca rollover`: a CA replaced in three phases without an outage.
//!
//! 1. [`CaDir::rollover_start`]: a new CA beside the old one; `DIR/server-ca.crt` (and the CRL)
//!    becomes the bundle of both, so every trust output written from then on trusts both, and
//!    `pgca renew` deploys and installs the bundles again. The old CA still signs.
//! 2. [`CaDir::rollover_switch`]: the new CA signs; every current leaf of the old one is due,
//!    and `pgca renew` re-issues, deploys and installs them.
//! 3. [`CaDir::rollover_finish`]: refused while a leaf, a deployment, an install or a probed
//!    server still depends on the old CA; then the old CA is archived and leaves the bundles.
//!
//! `--now` ([`RolloverOptions::compromised`]) does 1 and 2 at once, for a CA that must not be
//! trusted a day longer than it takes to replace it.

use std::path::PathBuf;

use serde::Serialize;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::inventory::{
    Event, Issued, Ledger, Rollover, RolloverPhase, RolloverStarted, RolloverStep,
};
use crate::model::kind::{CertKind, Side};
use crate::model::serial::Serial;
use crate::model::timefmt;
use crate::model::validity::Validity;
use crate::ops::outputs::{read_deployed, read_installed};
use crate::store::init::{NewCaSpec, make_one_file, make_one_in_token};
use crate::store::layout::CaDir;
use crate::store::options::{BACKDATE_SECONDS, DEFAULT_CA_VALIDITY};
use crate::x509::ca::CaSigner;
use crate::x509::inspect::CertInfo;
use crate::x509::keys::KeyType;
use crate::x509::token_uri::TokenUri;

/// What `pgca rollover start` makes.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RolloverOptions {
    /// The new CA's key type; by default the old CA's.
    pub key_type: Option<KeyType>,
    /// The new CA's lifetime; by default [`DEFAULT_CA_VALIDITY`].
    pub ca_validity: Option<Validity>,
    /// Make the new CA's key in this PKCS#11 token; by default where the old CA's key is (its
    /// token, or an encrypted key file when the old one is encrypted).
    pub token: Option<TokenUri>,
    /// The old CA is compromised: trust both and issue from the new CA in one step.
    pub compromised: bool,
    /// Replace the side's issuing intermediate (a hierarchy, `init --intermediate`) under the
    /// same root, instead of the root: no trust file changes.
    pub intermediate: bool,
    /// The time; `None` means the system clock.
    pub now: Option<OffsetDateTime>,
}

/// One rollover step done.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct RolloverOutcome {
    /// Which CA.
    pub side: Side,
    /// The phase it is in now; `None` once finished.
    pub phase: Option<RolloverPhase>,
    /// The CA being replaced.
    pub old_ca: Serial,
    /// The new CA.
    pub new_ca: Serial,
    /// The new CA's end of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub new_ca_not_after: OffsetDateTime,
    /// Current leaves still signed by the old CA (due at once from `switch` on).
    pub leaves_on_old: usize,
    /// The rollover replaces the side's issuing intermediate (the serials are intermediates').
    pub intermediate: bool,
    /// Where the retired CA's files went (`finish`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived: Option<PathBuf>,
    /// Whether the retired CA's key stays in its PKCS#11 token (`finish`): pgca never deletes
    /// a token object; remove it with the token's tools once nothing needs it.
    pub key_left_in_token: bool,
}

/// `pgca rollover finish`'s options.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct FinishOptions {
    /// How the probes list (`DIR/probes`) is probed before finishing.
    pub probe: crate::probe::ProbeOptions,
    /// The time; `None` means the system clock.
    pub now: Option<OffsetDateTime>,
}

/// Where one side stands (`pgca rollover status`).
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct SideStatus {
    /// Which CA.
    pub side: Side,
    /// The phase; `None` when no rollover is under way.
    pub phase: Option<RolloverPhase>,
    /// When the rollover started.
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    /// When issuing moved to the new CA.
    #[serde(with = "time::serde::rfc3339::option")]
    pub switched_at: Option<OffsetDateTime>,
    /// Started for a compromised CA (`--now`).
    pub compromised: bool,
    /// The CA in use (the old one during a rollover).
    pub ca: Serial,
    /// Its end of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub ca_not_after: OffsetDateTime,
    /// The new CA of a rollover under way.
    pub new_ca: Option<Serial>,
    /// Current (not revoked) leaves on the old CA and on the new one.
    pub leaves: OldNew,
    /// Recorded deployments (server side: their certificate; client side: their client CA
    /// bundle) on the old CA only, and holding the new one.
    pub deployments: OldNew,
    /// Recorded installs (client side: their certificate; server side: their `root.crt`) on the
    /// old CA only, and holding the new one.
    pub installs: OldNew,
    /// What keeps `finish` from passing now (without the probes it also takes).
    pub blockers: Vec<String>,
    /// The rollover under way replaces the issuing intermediate (`old`/`new` count on the old
    /// and new intermediate).
    pub intermediate: bool,
    /// A hierarchy's issuing intermediate in use (`ca` is then its root).
    pub issuing_ca: Option<Serial>,
    /// Its end of validity.
    #[serde(with = "time::serde::rfc3339::option")]
    pub issuing_ca_not_after: Option<OffsetDateTime>,
}

/// A count on the old CA and on the new one.
#[derive(Clone, Copy, Debug, Default, Serialize)]
#[non_exhaustive]
pub struct OldNew {
    /// Still on the old CA.
    pub old: usize,
    /// On the new CA.
    pub new: usize,
}

/// Both sides (`pgca rollover status`).
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct RolloverStatus {
    /// The server CA, then the client CA.
    pub sides: Vec<SideStatus>,
}

impl CaDir {
    /// Phase 1: a new CA of `side` beside the old one (a key file, encrypted when the old one
    /// is, or a key in a PKCS#11 token), the bundle and the CRLs of both. Nothing is issued by
    /// the new CA yet (unless [`RolloverOptions::compromised`]).
    pub fn rollover_start(&self, side: Side, opts: &RolloverOptions) -> Result<RolloverOutcome> {
        let now = opts.now.unwrap_or_else(timefmt::now);
        if opts.intermediate {
            self.start_intermediate(side, opts.ca_validity, opts.compromised, now)?;
            let ledger = self.inventory()?;
            return self.outcome(side, &ledger);
        }
        if self.has_issuing(side) {
            return Err(Error::RolloverKind {
                side: side.name(),
                hierarchy: true,
            });
        }
        let old = CaSigner::load(self.root(), side, self.passphrase())?;
        let _lock = self.write_lock()?;
        let ledger = self.read_inventory()?;
        if let Some(r) = ledger.rollover(side) {
            return Err(Error::RolloverUnderWay {
                side: side.name(),
                phase: r.phase.name(),
            });
        }
        self.refuse_unrecorded_next_ca(side)?;
        let made = self.make_next_ca(side, &old, &ledger, opts, now)?;
        // Under `.pending`: should this die before the commit, the write lock's recovery
        // removes the new CA's files, which nothing can have used.
        self.begin_pending(&[crate::store::rollover_files::pending_mark(side)])?;
        let mut events = vec![
            Event::Issued(ca_record(side, &made, &ledger, opts, now)),
            Event::RolloverStarted(started(side, &old, &made, opts, now)),
        ];
        if opts.compromised {
            events.push(Event::RolloverSwitched(step(
                side,
                &old.info.serial,
                &made.serial,
                now,
            )));
        }
        // With the inventory in a database, the new CA's certificate goes with its record: the
        // serve hosts take it from there (`store/ca_files.rs`).
        let published: Vec<_> =
            crate::inventory::PublishedFile::new(side.next_ca_cert_file(), made.cert_pem.clone())
                .into_iter()
                .collect();
        let committed = self
            .write_next_ca(&made)
            .and_then(|()| self.append_events_with(&events, &published));
        if let Err(e) = committed {
            let _ = self.remove_next_ca(side);
            let _ = self.end_pending();
            return Err(e);
        }
        self.end_pending()?;
        self.write_trust_bundle(side)?;
        let ledger = self.read_inventory()?;
        self.write_crls_if_used(side, &ledger, now)?;
        self.outcome(side, &ledger)
    }

    /// Phase 2: the new CA signs every certificate of `side` from now on, and every current
    /// leaf of the old CA is due (`pgca renew` re-issues them).
    pub fn rollover_switch(
        &self,
        side: Side,
        now: Option<OffsetDateTime>,
    ) -> Result<RolloverOutcome> {
        let now = now.unwrap_or_else(timefmt::now);
        let _lock = self.write_lock()?;
        let ledger = self.read_inventory()?;
        let r = under_way(&ledger, side)?;
        if r.phase != RolloverPhase::TrustBoth {
            return Err(out_of_order(r, "switch"));
        }
        // The new CA must be able to sign before anything depends on it.
        let slot = if r.intermediate {
            crate::x509::ca::CaSlot::NextIssuing
        } else {
            crate::x509::ca::CaSlot::Next
        };
        let next = CaSigner::load_slot(self.root(), side, slot, self.passphrase())?;
        next.check_can_sign_until(now, now)?;
        self.append_events(&[Event::RolloverSwitched(step(
            side, &r.old_ca, &r.new_ca, now,
        ))])?;
        let ledger = self.read_inventory()?;
        self.outcome(side, &ledger)
    }

    /// Phase 3: refused with [`Error::RolloverBlocked`] while a current leaf, a recorded
    /// deployment or install, or a server of the probes list still depends on the old CA; then
    /// a last CRL of both CAs, the old CA's files into `DIR/ca-archive/`, and the bundles hold
    /// the new CA alone (`pgca renew` deploys and installs them).
    pub fn rollover_finish(&self, side: Side, opts: &FinishOptions) -> Result<RolloverOutcome> {
        let now = opts.now.unwrap_or_else(timefmt::now);
        let ledger = self.inventory()?;
        let r = under_way(&ledger, side)?.clone();
        if r.phase != RolloverPhase::IssueNew {
            return Err(out_of_order(&r, "finish"));
        }
        let mut blockers = self.blockers(&ledger, &r);
        blockers.extend(self.probe_blockers(&r, opts)?);
        if !blockers.is_empty() {
            return Err(Error::RolloverBlocked {
                side: side.name(),
                blockers,
            });
        }
        let in_token = !r.intermediate && self.ca_key_in_token(side);
        let _lock = self.write_lock()?;
        let ledger = self.read_inventory()?;
        let blockers = self.blockers(&ledger, under_way(&ledger, side)?);
        if !blockers.is_empty() {
            return Err(Error::RolloverBlocked {
                side: side.name(),
                blockers,
            });
        }
        self.write_crls_if_used(side, &ledger, now)?;
        let finished = step(side, &r.old_ca, &r.new_ca, now);
        let published = self.finished_ca_files(side, r.intermediate)?;
        self.append_events_with(&[Event::RolloverFinished(finished)], &published)?;
        self.settle_rollovers()?;
        let ledger = self.read_inventory()?;
        let mut out = self.outcome(side, &ledger)?;
        out.old_ca = r.old_ca.clone();
        out.new_ca = r.new_ca.clone();
        out.archived = Some(self.root().join(crate::store::rollover_files::CA_ARCHIVE));
        out.key_left_in_token = in_token;
        out.intermediate = r.intermediate;
        Ok(out)
    }

    /// Where each side stands, and what keeps a rollover under way from finishing.
    pub fn rollover_status(&self) -> Result<RolloverStatus> {
        let ledger = self.inventory()?;
        let sides = Side::BOTH
            .into_iter()
            .map(|side| self.side_status(&ledger, side))
            .collect::<Result<Vec<_>>>()?;
        Ok(RolloverStatus { sides })
    }

    fn side_status(&self, ledger: &Ledger, side: Side) -> Result<SideStatus> {
        let ca = self.ca_info(side)?;
        let r = ledger.rollover(side);
        let issuing = self
            .has_issuing(side)
            .then(|| CertInfo::from_file(&self.issuing_cert_path(side)))
            .transpose()?;
        let mut s = SideStatus {
            intermediate: r.is_some_and(|r| r.intermediate),
            issuing_ca: issuing.as_ref().map(|i| i.serial.clone()),
            issuing_ca_not_after: issuing.as_ref().map(|i| i.not_after),
            side,
            phase: r.map(|r| r.phase),
            started_at: r.map(|r| r.started_at),
            switched_at: r.and_then(|r| r.switched_at),
            compromised: r.is_some_and(|r| r.compromised),
            ca: ca.serial,
            ca_not_after: ca.not_after,
            new_ca: r.map(|r| r.new_ca.clone()),
            leaves: OldNew::default(),
            deployments: OldNew::default(),
            installs: OldNew::default(),
            blockers: Vec::new(),
        };
        if let Some(r) = r {
            let tally = self.tally(ledger, r);
            s.leaves = tally.leaves;
            s.deployments = tally.deployments;
            s.installs = tally.installs;
            s.blockers = tally.blockers;
        }
        Ok(s)
    }

    /// The new CA, made as the options and the old CA say.
    fn make_next_ca(
        &self,
        side: Side,
        old: &CaSigner,
        ledger: &Ledger,
        opts: &RolloverOptions,
        now: OffsetDateTime,
    ) -> Result<crate::store::init::Made> {
        let org = crate::ops::rollover_intermediate::org_of(&old.info);
        let spec = NewCaSpec {
            side,
            org: &org,
            key_type: opts
                .key_type
                .or_else(|| ca_key_type(ledger, &old.info.serial))
                .unwrap_or_default(),
            span: (
                now - time::Duration::seconds(BACKDATE_SECONDS),
                now + opts.ca_validity.unwrap_or(DEFAULT_CA_VALIDITY).duration(),
            ),
            path_len: 0,
        };
        let token = match &opts.token {
            Some(uri) => Some(uri.clone()),
            None if self.ca_key_in_token(side) => {
                let mut uri = TokenUri::read(&self.root().join(side.ca_token_file()))?;
                uri.object = None;
                uri.id = None;
                Some(uri)
            }
            None => None,
        };
        let Some(uri) = token else {
            let encrypt = self.ca_key_encrypted(side)?;
            let pass = self.passphrase().filter(|_| encrypt);
            return make_one_file(&spec, side.next_ca_key_file(), pass);
        };
        crate::x509::token::check_key_type(spec.key_type)?;
        let pin = self.passphrase().ok_or_else(|| Error::NeedPin {
            token: uri.token.clone(),
        })?;
        let token = crate::x509::token::Token::open(&uri)?;
        let session = token.login(pin, true)?;
        let mut generated = Vec::new();
        let made = make_one_in_token(
            &token,
            session,
            &spec,
            side.next_ca_token_file(),
            &mut generated,
        );
        if made.is_err() {
            generated
                .into_iter()
                .for_each(crate::x509::token::TokenKey::destroy);
        }
        made
    }

    /// A CRL of both CAs of `side`, when the side has CRLs at all (PostgreSQL, once a CRL is
    /// configured, refuses the clients of a CA without one).
    fn write_crls_if_used(&self, side: Side, ledger: &Ledger, now: OffsetDateTime) -> Result<()> {
        if ledger.last_crl(side.ca_kind()).is_some() || self.crl_path(side).exists() {
            self.reissue_crl_locked(side, ledger, now)?;
        }
        Ok(())
    }

    fn outcome(&self, side: Side, ledger: &Ledger) -> Result<RolloverOutcome> {
        let r = ledger.rollover(side);
        let (old_ca, new_ca) = match r {
            Some(r) => (r.old_ca.clone(), r.new_ca.clone()),
            None if self.has_issuing(side) => {
                let s = CertInfo::from_file(&self.issuing_cert_path(side))?.serial;
                (s.clone(), s)
            }
            None => {
                let s = self.ca_info(side)?.serial;
                (s.clone(), s)
            }
        };
        let new_ca_not_after = match r {
            Some(r) => {
                CertInfo::from_file(&self.rollover_new_cert_path(side, r.intermediate))?.not_after
            }
            None if self.has_issuing(side) => {
                CertInfo::from_file(&self.issuing_cert_path(side))?.not_after
            }
            None => self.ca_info(side)?.not_after,
        };
        Ok(RolloverOutcome {
            side,
            phase: r.map(|r| r.phase),
            leaves_on_old: r.map_or(0, |r| self.tally(ledger, r).leaves.old),
            old_ca,
            new_ca,
            new_ca_not_after,
            archived: None,
            key_left_in_token: false,
            intermediate: r.is_some_and(|r| r.intermediate),
        })
    }

    /// What keeps `finish` from passing, from the records and the deployed and installed files.
    fn blockers(&self, ledger: &Ledger, r: &Rollover) -> Vec<String> {
        self.tally(ledger, r).blockers
    }

    /// Every server of the probes list, probed now: during a server CA rollover each must serve
    /// a chain to the new CA; during a client CA rollover each must advertise the new client CA
    /// (it has been reloaded since `start`).
    fn probe_blockers(&self, r: &Rollover, opts: &FinishOptions) -> Result<Vec<String>> {
        let targets = self.probe_list()?;
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let new_subject = CertInfo::from_file(&self.next_ca_cert_path(r.side))
            .map(|c| c.subject)
            .unwrap_or_default();
        let report = self.probe(&targets, &opts.probe)?;
        let ledger = self.inventory()?;
        let mut out = Vec::new();
        for p in report.targets {
            // An intermediate rollover changes no trust: a server must serve a leaf of the new
            // intermediate, and the client side's servers need nothing probed.
            let on_new = || {
                p.chain.first().is_some_and(|c| {
                    ledger
                        .issued()
                        .iter()
                        .find(|i| i.serial == c.serial)
                        .is_some_and(|i| i.ca_serial.as_ref() == Some(&r.new_ca))
                })
            };
            let why = match r.side {
                Side::Server if r.intermediate && p.failure.is_some() => {
                    Some("cannot be probed".to_string())
                }
                Side::Server if r.intermediate && !on_new() => {
                    Some("serves a certificate of the old intermediate".to_string())
                }
                _ if r.intermediate => None,
                Side::Server if p.failure.is_some() => Some("cannot be probed".to_string()),
                Side::Server if p.rollover_ca != Some("new") => Some(format!(
                    "serves serial {} on the old server CA",
                    p.chain
                        .first()
                        .map_or_else(String::new, |c| c.serial.to_string())
                )),
                Side::Client => match &p.client_ca_names {
                    Some(names) if !names.contains(&new_subject) => {
                        Some("does not trust the new client CA yet (reload it)".into())
                    }
                    None if p.failure.is_some() => Some("cannot be probed".into()),
                    _ => None,
                },
                _ => None,
            };
            if let Some(why) = why {
                out.push(format!("server {} {why}", p.target));
            }
        }
        Ok(out)
    }

    /// Leaves, deployments and installs on the old and the new CA, and the blockers among them.
    fn tally(&self, ledger: &Ledger, r: &Rollover) -> Tally {
        let mut t = Tally::default();
        let now = timefmt::now();
        for i in ledger
            .all_current()
            .into_iter()
            .filter(|i| i.kind == r.side.leaf_kind())
        {
            if ledger.revocation(&i.serial).is_some() || now >= i.not_after {
                continue;
            }
            if i.ca_serial.as_ref() == Some(&r.new_ca) {
                t.leaves.new += 1;
            } else {
                t.leaves.old += 1;
                t.blockers.push(format!(
                    "{} {} (serial {}) is signed by the old CA: run pgca renew",
                    i.kind, i.name, i.serial
                ));
            }
        }
        let new_ca = CertInfo::from_file(&self.next_ca_cert_path(r.side)).ok();
        // An intermediate rollover changes no trust file: a deployment or install is on the new
        // intermediate once it holds the CA directory's trust files (the CRL of both
        // intermediates) and, for its own certificate, one the new intermediate signed.
        let i_r = r.intermediate;
        for d in ledger.deployments() {
            let live = ledger
                .current(CertKind::Server, &d.name)
                .filter(|c| ledger.revocation(&c.serial).is_none());
            let Some(current) = live else { continue };
            let ok = match r.side {
                Side::Server => {
                    d.serial == current.serial && current.ca_serial.as_ref() == Some(&r.new_ca)
                }
                Side::Client if i_r => !self.deployment_stale(d),
                Side::Client => holds(read_deployed(d, "client-ca.crt"), new_ca.as_ref()),
            };
            let what = format!("the deployment of {} in {}", d.name, d.data_dir.display());
            t.deployments.count(ok, &mut t.blockers, what);
        }
        for i in ledger.installs() {
            let ok = match r.side {
                Side::Client => read_installed(i, "postgresql.crt")
                    .ok()
                    .flatten()
                    .and_then(|pem| CertInfo::from_pem(&pem).ok())
                    .and_then(|c| {
                        ledger
                            .issued()
                            .iter()
                            .find(|x| x.serial == c.serial)
                            .cloned()
                    })
                    .is_some_and(|x| x.ca_serial.as_ref() == Some(&r.new_ca)),
                Side::Server if i_r => {
                    let current = ledger.current(CertKind::Client, &i.role).map(|c| &c.serial);
                    !self.install_stale(i, current)
                }
                Side::Server => holds(read_installed(i, "root.crt"), new_ca.as_ref()),
            };
            let what = format!("the install of {} in {}", i.role, i.dir.display());
            t.installs.count(ok, &mut t.blockers, what);
        }
        t
    }
}

/// What [`CaDir::tally`] counts.
#[derive(Default)]
struct Tally {
    leaves: OldNew,
    deployments: OldNew,
    installs: OldNew,
    blockers: Vec<String>,
}

impl OldNew {
    fn count(&mut self, ok: bool, blockers: &mut Vec<String>, what: String) {
        if ok {
            self.new += 1;
        } else {
            self.old += 1;
            blockers.push(format!("{what} is still on the old CA: run pgca renew"));
        }
    }
}

/// Whether a trust file read back holds the new CA.
fn holds(file: Result<Option<Vec<u8>>>, new_ca: Option<&CertInfo>) -> bool {
    let (Ok(Some(pem)), Some(new_ca)) = (file, new_ca) else {
        return false;
    };
    crate::x509::pem::all_cert_ders(&pem)
        .unwrap_or_default()
        .iter()
        .any(|der| CertInfo::from_der(der).is_ok_and(|c| c.serial == new_ca.serial))
}

fn under_way(ledger: &Ledger, side: Side) -> Result<&Rollover> {
    ledger
        .rollover(side)
        .ok_or(Error::NoRollover { side: side.name() })
}

fn out_of_order(r: &Rollover, wanted: &'static str) -> Error {
    Error::RolloverOrder {
        side: r.side.name(),
        phase: r.phase.name(),
        wanted,
    }
}

fn step(side: Side, old: &Serial, new: &Serial, at: OffsetDateTime) -> RolloverStep {
    RolloverStep {
        side,
        old_ca: old.clone(),
        new_ca: new.clone(),
        at,
    }
}

fn started(
    side: Side,
    old: &CaSigner,
    made: &crate::store::init::Made,
    opts: &RolloverOptions,
    at: OffsetDateTime,
) -> RolloverStarted {
    RolloverStarted {
        side,
        old_ca: old.info.serial.clone(),
        new_ca: made.serial.clone(),
        compromised: opts.compromised,
        intermediate: false,
        at,
    }
}

/// The inventory record of the new CA.
fn ca_record(
    side: Side,
    made: &crate::store::init::Made,
    ledger: &Ledger,
    opts: &RolloverOptions,
    now: OffsetDateTime,
) -> Issued {
    let info = CertInfo::from_pem(made.cert_pem.as_bytes()).ok();
    let key_type = opts.key_type.unwrap_or_else(|| {
        ledger
            .issued()
            .iter()
            .rev()
            .find(|i| i.kind == side.ca_kind())
            .map_or_else(KeyType::default, |i| i.key_type)
    });
    let mut issued = Issued::new(
        made.serial.clone(),
        side.ca_kind(),
        side.ca_kind().name().to_string(),
        Vec::new(),
        key_type,
        info.as_ref()
            .map_or((now, now), |i| (i.not_before, i.not_after)),
        now,
        (
            side.next_ca_cert_file().to_string(),
            made.key_name.to_string(),
        ),
    );
    if let Ok(der) = crate::x509::pem::first_cert_der(made.cert_pem.as_bytes()) {
        issued.sha256 = Some(crate::model::hex::sha256(&der));
    }
    issued
}

/// The key type recorded for a CA.
fn ca_key_type(ledger: &Ledger, serial: &Serial) -> Option<KeyType> {
    ledger
        .issued()
        .iter()
        .find(|i| &i.serial == serial)
        .map(|i| i.key_type)
}
