//! A CA directory: the one place pgca keeps its CAs, certificates, keys and inventory.
//!
//! ```text
//! DIR/                              0700
//!   server-ca.crt  server-ca.key    the server CA (key 0600)
//!   client-ca.crt  client-ca.key    the client CA (key 0600)
//!   inventory.jsonl                 append-only log of everything issued (see inventory.rs)
//!   .lock                           flock: one writer at a time
//!   servers/  clients/              0700, one set of entries per name:
//!     alice.crt -> alice.live/alice.crt
//!     alice.key -> alice.live/alice.key
//!     alice.live -> archive/<serial>          the switch: one atomic rename swaps cert and key
//!     archive/<serial>/alice.crt, alice.key   every pair ever issued; never modified
//! ```
//!
//! `alice.crt` and `alice.key` are the paths to give PostgreSQL and libpq. They resolve through
//! `alice.live`, so replacing a certificate (`--force`, renewal) changes both files in one rename:
//! nothing ever reads a new certificate with an old key.
//!
//! A write goes: sign everything in memory (bad input writes nothing) → create `.pending` →
//! write each pair into `archive/<serial>` and make it durable (fsync, or one syncfs for a bulk
//! batch) → append the batch to the inventory, closed by its commit line, in one write and
//! fdatasync (the commit point: a batch whose commit line is missing or does not match is not
//! committed, whatever part of it reached the disk) → swap the `.live` links → remove `.pending`.
//! If the process dies, the next writer finds `.pending` and recovers: archive directories the
//! inventory does not know are removed, links of recorded certificates are rolled forward.

use std::collections::HashSet;
use std::fs::{self, DirBuilder};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::inventory::{self, Event, Issued, Ledger};
use crate::model::kind::CertKind;
use crate::model::kind::CertState;
use crate::model::kind::Side;
use crate::model::names::{HostName, RoleName};
use crate::model::serial::Serial;
use crate::model::timefmt;
use crate::model::validity::Validity;
use crate::storage::{self, DIR_MODE, KEY_MODE, Lock, LockKind, PUBLIC_MODE, Wait};
use crate::x509::ca::{self, CaSigner};
use crate::x509::inspect::{CertInfo, days_between};
use crate::x509::keys::{KeyType, PrivateKey};
use crate::x509::profile::LeafProfile;

/// Default CA lifetime: 10 years. Rolling a CA over means touching every server and client, so it
/// should be rare; the CA key is the one to protect.
pub const DEFAULT_CA_VALIDITY: Validity = Validity::days(3650);

/// Default lifetime of server and client certificates: 1 year. Short enough that a leaked key
/// stops working within the year, long enough that the client certificates handed to people
/// are not re-issued every few weeks; `pgca renew` from cron handles the rest.
pub const DEFAULT_LEAF_VALIDITY: Validity = Validity::days(365);

/// Certificates start this many seconds before the moment of issue, so that a machine whose clock
/// is a little behind the CA's accepts them at once.
pub const BACKDATE_SECONDS: i64 = 300;

const PENDING: &str = ".pending";
/// The lock file: writers hold it exclusively, readers share it.
const LOCK_FILE: &str = ".lock";
const INIT_STAGING: &str = ".init";

/// Where pgca keeps its CA when neither `--dir` nor `PGCA_DIR` says: `$XDG_DATA_HOME/pgca`, else
/// `$HOME/.local/share/pgca`.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("pgca"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".local/share/pgca"))
}

/// Options for [`CaDir::init`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct InitOptions {
    /// Organisation (O=) of both CA subjects.
    pub org: String,
    /// Key type of both CA keys.
    pub key_type: KeyType,
    /// Lifetime of both CAs.
    pub ca_validity: Validity,
    /// The time to issue at (tests); `None` for now.
    pub now: Option<OffsetDateTime>,
    /// Encrypt both CA keys with this passphrase (the command line always asks for one unless
    /// given `--no-passphrase`); `None` writes them unencrypted.
    pub passphrase: Option<crate::model::passphrase::Passphrase>,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            org: "pgca".into(),
            key_type: KeyType::default(),
            ca_validity: DEFAULT_CA_VALIDITY,
            now: None,
            passphrase: None,
        }
    }
}

/// Options for issuing server and client certificates.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct IssueOptions {
    /// Lifetime of the certificate.
    pub validity: Validity,
    /// Key type of the new key.
    pub key_type: KeyType,
    /// Replace a certificate of the same name.
    pub force: bool,
    /// The time to issue at (tests); `None` for now.
    pub now: Option<OffsetDateTime>,
    /// Write the new key encrypted with this passphrase (a client's own, never the CA's);
    /// libpq decrypts it with `sslpassword`.
    pub key_passphrase: Option<crate::model::passphrase::Passphrase>,
    /// Told (done, total) as the keys of a batch are made: the long part of a bulk issue.
    pub progress: Option<Progress>,
}

/// A progress callback for long batches: called with (done, total) from the worker threads.
#[derive(Clone)]
pub struct Progress(std::sync::Arc<dyn Fn(usize, usize) + Send + Sync>);

impl Progress {
    /// Wraps a callback.
    pub fn new(f: impl Fn(usize, usize) + Send + Sync + 'static) -> Progress {
        Progress(std::sync::Arc::new(f))
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress(..)")
    }
}

impl Default for IssueOptions {
    fn default() -> Self {
        IssueOptions {
            validity: DEFAULT_LEAF_VALIDITY,
            key_type: KeyType::default(),
            force: false,
            now: None,
            key_passphrase: None,
            progress: None,
        }
    }
}

/// A certificate that was just issued.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct IssuedCert {
    /// Server or client.
    pub kind: CertKind,
    /// The role or first host name.
    pub name: String,
    /// Serial number.
    pub serial: Serial,
    /// Key type.
    pub key_type: KeyType,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// The certificate's path (`DIR/clients/alice.crt`).
    pub cert_path: PathBuf,
    /// The key's path (`DIR/clients/alice.key`).
    pub key_path: PathBuf,
    /// The serial of the certificate this one replaced (`--force`).
    pub replaced: Option<Serial>,
}

/// One row of [`CaDir::list`].
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct ListEntry {
    /// What it is.
    pub kind: CertKind,
    /// Role, first host name, or `server-ca`/`client-ca`.
    pub name: String,
    /// Serial number.
    pub serial: Serial,
    /// Subject alternative names.
    pub sans: Vec<String>,
    /// Key type.
    pub key_type: KeyType,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whole days left (negative once expired).
    pub days_left: i64,
    /// State at the time of listing.
    pub state: CertState,
    /// The certificate file: the live path for current ones, the archived copy otherwise.
    pub cert: PathBuf,
}

/// An initialised CA directory.
///
/// # Examples
///
/// ```
/// use pgca::{CaDir, InitOptions, IssueOptions, RoleName};
/// let tmp = tempfile::tempdir()?;
/// let ca = CaDir::init(tmp.path().join("ca"), &InitOptions::default())?;
/// let role: RoleName = "alice".parse()?;
/// let alice = ca.issue_client(&role, &IssueOptions::default())?;
/// assert!(alice.cert_path.ends_with("clients/alice.crt"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct CaDir {
    root: PathBuf,
    passphrase: Option<crate::model::passphrase::Passphrase>,
    wait: Option<Wait>,
}

impl CaDir {
    /// Creates both CAs in `root` (created with mode 0700 if missing; an existing directory must
    /// hold no CA). The four CA files and the inventory are written to a staging directory first
    /// and renamed into place, the inventory last: it marks the directory as initialised.
    pub fn init(root: impl AsRef<Path>, opts: &InitOptions) -> Result<CaDir> {
        ca::check_org(&opts.org)?;
        let root = root.as_ref().to_path_buf();
        let now = opts.now.unwrap_or_else(timefmt::now);
        let not_before = now - time::Duration::seconds(BACKDATE_SECONDS);
        let not_after = now + opts.ca_validity.duration();

        // The directory, and any missing parent, are made by a walk that refuses every directory
        // on the way another user could change (a directory pre-created by someone else could
        // later have its CA certificate swapped). Parents are 0755, the CA directory 0700.
        let trust = storage::Trust::invoker();
        let parent = storage::parent(&root);
        storage::open_dir(
            parent,
            &trust,
            Some(storage::NewDir {
                mode: 0o755,
                owner: None,
            }),
        )?;
        let handle = storage::open_dir(
            &root,
            &trust,
            Some(storage::NewDir {
                mode: DIR_MODE,
                owner: None,
            }),
        )?;
        check_no_ca(&root)?;
        handle.chmod(DIR_MODE)?;
        drop(handle);
        let _lock = Lock::file(&root, LOCK_FILE, LockKind::Exclusive, Wait::WRITER)?;
        check_no_ca(&root)?; // another `init` may have won the race for the lock
        remove_stale_staging(&root)?;

        // Two keys, two cores: an RSA-4096 init, or the two key derivations of encrypted keys,
        // take the time of one.
        let make = |side| -> Result<(ca::NewCa, zeroize::Zeroizing<String>)> {
            let new = ca::create(side, &opts.org, opts.key_type, not_before, not_after)?;
            let pem = match &opts.passphrase {
                Some(p) => new.key.to_encrypted_pem(p)?,
                None => new.key.to_pem(),
            };
            Ok((new, pem))
        };
        let (server, client) = std::thread::scope(|s| {
            let server = s.spawn(|| make(Side::Server));
            let client = make(Side::Client);
            (server.join().expect("CA generation does not panic"), client)
        });
        let (server, client) = (server?, client?);

        let staging = storage::temp_path(&root.join(INIT_STAGING));
        DirBuilder::new()
            .mode(DIR_MODE)
            .create(&staging)
            .map_err(Error::io("create directory", &staging))?;
        let result = (|| {
            let mut events = Vec::new();
            let mut files = Vec::new();
            for (side, (new, key_pem)) in [(Side::Server, &server), (Side::Client, &client)] {
                let (cert_name, key_name) = (side.ca_cert_file(), side.ca_key_file());
                storage::create_file(
                    &staging.join(key_name),
                    key_pem.as_bytes(),
                    KEY_MODE,
                    "write CA key",
                )?;
                storage::create_file(
                    &staging.join(cert_name),
                    new.cert_pem.as_bytes(),
                    PUBLIC_MODE,
                    "write CA certificate",
                )?;
                files.push(key_name);
                files.push(cert_name);
                events.push(Event::Issued(Issued::new(
                    new.serial.clone(),
                    side.ca_kind(),
                    side.ca_kind().name().to_string(),
                    Vec::new(),
                    opts.key_type,
                    (new.not_before, new.not_after),
                    now,
                    (cert_name.to_string(), key_name.to_string()),
                )));
            }
            inventory::create(&staging.join(inventory::INVENTORY_FILE), &events)?;
            files.push(inventory::INVENTORY_FILE);
            for side in Side::BOTH {
                storage::ensure_private_dir(&root.join(side.leaf_dir()))?;
            }
            for f in files {
                fs::rename(staging.join(f), root.join(f))
                    .map_err(Error::io("move into place", root.join(f)))?;
            }
            storage::sync_dir(&root)
        })();
        let _ = fs::remove_dir_all(&staging);
        result?;
        Ok(CaDir {
            root,
            passphrase: opts.passphrase.clone(),
            wait: None,
        })
    }

    /// Opens an initialised CA directory. Every directory on the way must be one only root or
    /// the user pgca runs as can change (see [`crate::storage`]): a CA whose files another
    /// user could swap is refused.
    pub fn open(root: impl AsRef<Path>) -> Result<CaDir> {
        let root = root.as_ref().to_path_buf();
        match fs::metadata(&root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::NoCa(root)),
            Err(e) => return Err(Error::io("open CA directory", &root)(e)),
            Ok(m) if !m.is_dir() => {
                return Err(Error::io("open CA directory", &root)(
                    std::io::ErrorKind::NotADirectory.into(),
                ));
            }
            Ok(_) => {}
        }
        storage::open_dir(&root, &storage::Trust::invoker(), None)?;
        // try_exists, not exists: "permission denied" must not read as "no CA here".
        let has_inventory = inventory::path_in(&root)
            .try_exists()
            .map_err(Error::io("open CA directory", &root))?;
        if !has_inventory {
            for side in Side::BOTH {
                for f in [side.ca_cert_file(), side.ca_key_file()] {
                    if root.join(f).exists() {
                        return Err(Error::PartialCa {
                            dir: root.clone(),
                            found: root.join(f),
                        });
                    }
                }
            }
            return Err(Error::NoCa(root));
        }
        for side in Side::BOTH {
            if !root.join(side.ca_cert_file()).exists() {
                return Err(Error::MissingCaFile(root.join(side.ca_cert_file())));
            }
        }
        Ok(CaDir {
            root,
            passphrase: None,
            wait: None,
        })
    }

    /// The same directory, waiting at most `wait` for another pgca process's lock (by default
    /// [`Wait::READER`] to read, [`Wait::WRITER`] to write).
    pub fn with_wait(mut self, wait: Wait) -> CaDir {
        self.wait = Some(wait);
        self
    }

    /// The same directory, decrypting its CA keys with `passphrase` when they are encrypted.
    pub fn with_passphrase(mut self, passphrase: crate::model::passphrase::Passphrase) -> CaDir {
        self.passphrase = Some(passphrase);
        self
    }

    pub(crate) fn passphrase(&self) -> Option<&crate::model::passphrase::Passphrase> {
        self.passphrase.as_ref()
    }

    /// Re-encrypts a CA key with `new` (or stores it unencrypted with `None`), atomically: the key
    /// file is replaced by a complete new one in a single rename, never lost or half-written.
    /// The current passphrase must be set ([`CaDir::with_passphrase`]) if the key is encrypted.
    pub fn change_passphrase(
        &self,
        side: Side,
        new: Option<&crate::model::passphrase::Passphrase>,
    ) -> Result<()> {
        let _lock = self.write_lock()?;
        let signer = CaSigner::load(&self.root, side, self.passphrase.as_ref())?;
        let pem = match new {
            Some(p) => signer.key.to_encrypted_pem(p)?,
            None => signer.key.to_pem(),
        };
        storage::replace_file(
            &self.root.join(side.ca_key_file()),
            pem.as_bytes(),
            KEY_MODE,
            "write CA key",
        )
    }

    /// Whether a CA key is stored encrypted (so signing with it needs the passphrase).
    pub fn ca_key_encrypted(&self, side: Side) -> Result<bool> {
        let path = self.root.join(side.ca_key_file());
        let pem = zeroize::Zeroizing::new(storage::read(&path, "read CA key")?);
        Ok(crate::x509::keys::is_encrypted_pem(
            &String::from_utf8_lossy(&pem),
        ))
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of a CA certificate (`DIR/server-ca.crt`).
    pub fn ca_cert_path(&self, side: Side) -> PathBuf {
        self.root.join(side.ca_cert_file())
    }

    /// Reads a CA certificate.
    pub fn ca_info(&self, side: Side) -> Result<CertInfo> {
        CertInfo::from_file(&self.ca_cert_path(side))
    }

    /// Where the certificate of a server or client lives (`DIR/clients/alice.crt`).
    pub fn cert_path(&self, kind: CertKind, name: &str) -> PathBuf {
        self.leaf_dir(kind).join(format!("{name}.crt"))
    }

    /// Where the key of a server or client lives (`DIR/clients/alice.key`).
    pub fn key_path(&self, kind: CertKind, name: &str) -> PathBuf {
        self.leaf_dir(kind).join(format!("{name}.key"))
    }

    /// Issues one client certificate, CN = `role`, EKU clientAuth.
    pub fn issue_client(&self, role: &RoleName, opts: &IssueOptions) -> Result<IssuedCert> {
        Ok(self
            .issue_clients(std::slice::from_ref(role), opts)?
            .remove(0))
    }

    /// Issues client certificates for many roles in one batch: one lock, one inventory write,
    /// one pass. Either every role is issued or, on bad input, none is.
    pub fn issue_clients(
        &self,
        roles: &[RoleName],
        opts: &IssueOptions,
    ) -> Result<Vec<IssuedCert>> {
        let requests = roles
            .iter()
            .map(|r| {
                LeafRequest::new(
                    r.as_str().to_string(),
                    LeafProfile::client(r.as_str()),
                    opts,
                )
            })
            .collect();
        self.issue_batch(
            Side::Client,
            requests,
            opts.force,
            opts.now.unwrap_or_else(timefmt::now),
            opts.progress.as_ref(),
        )
    }

    /// Issues a server certificate: CN = `names[0]`, every name a SAN, EKU serverAuth.
    pub fn issue_server(&self, names: &[HostName], opts: &IssueOptions) -> Result<IssuedCert> {
        let first = names.first().ok_or(Error::InvalidHost {
            name: String::new(),
            reason: "no host name given",
        })?;
        let mut seen = HashSet::new();
        for n in names {
            if !seen.insert(n) {
                return Err(Error::DuplicateName(n.to_string()));
            }
        }
        let file_name = first.to_string();
        if file_name.len() > 240 {
            return Err(Error::InvalidHost {
                name: file_name,
                reason: "too long to be a file name",
            });
        }
        let request = LeafRequest::new(file_name, LeafProfile::server(names), opts);
        Ok(self
            .issue_batch(
                Side::Server,
                vec![request],
                opts.force,
                opts.now.unwrap_or_else(timefmt::now),
                None,
            )?
            .remove(0))
    }

    /// Reads the inventory (waiting while a writer is in the middle of a batch).
    pub fn inventory(&self) -> Result<Ledger> {
        let _lock = self.read_lock()?;
        inventory::read(&inventory::path_in(&self.root))
    }

    /// Every certificate in the inventory with its state at `now`: the CAs first, then servers
    /// and clients by name, older certificates of a name before newer ones.
    pub fn list(&self, now: OffsetDateTime) -> Result<Vec<ListEntry>> {
        let ledger = self.inventory()?;
        let mut rows: Vec<ListEntry> = ledger
            .issued()
            .iter()
            .map(|i| ListEntry {
                kind: i.kind,
                name: i.name.clone(),
                serial: i.serial.clone(),
                sans: i.sans.clone(),
                key_type: i.key_type,
                not_before: i.not_before,
                not_after: i.not_after,
                days_left: days_between(now, i.not_after),
                state: ledger.state(i, now),
                cert: if i.kind.is_ca() {
                    self.root.join(&i.cert)
                } else if ledger.is_current(i) {
                    self.cert_path(i.kind, &i.name)
                } else {
                    self.root.join(&i.cert)
                },
            })
            .collect();
        rows.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name))); // stable: issue order kept
        Ok(rows)
    }

    pub(crate) fn leaf_dir(&self, kind: CertKind) -> PathBuf {
        let side = if kind == CertKind::Server {
            Side::Server
        } else {
            Side::Client
        };
        self.root.join(side.leaf_dir())
    }

    fn archive_dir(&self, kind: CertKind) -> PathBuf {
        self.leaf_dir(kind).join("archive")
    }

    /// Takes the write lock, first finishing or undoing whatever a crashed writer left.
    pub(crate) fn write_lock(&self) -> Result<Lock> {
        let wait = self.wait.unwrap_or(Wait::WRITER);
        let lock = Lock::file(&self.root, LOCK_FILE, LockKind::Exclusive, wait)?;
        if self.root.join(PENDING).exists() {
            self.recover()?;
        }
        Ok(lock)
    }

    /// How long to wait for a lock: what [`CaDir::with_wait`] set, else `default`.
    pub(crate) fn lock_wait(&self, default: Wait) -> Wait {
        self.wait.unwrap_or(default)
    }

    /// Takes the shared lock: no writer is in the middle of a batch while it is held.
    pub(crate) fn read_lock(&self) -> Result<Lock> {
        let wait = self.wait.unwrap_or(Wait::READER);
        Lock::file(&self.root, LOCK_FILE, LockKind::Shared, wait)
    }

    /// Takes a lock of its own for a long operation (`renew`), with the writers' wait.
    pub(crate) fn named_lock(&self, name: &str) -> Result<Lock> {
        let wait = self.wait.unwrap_or(Wait::WRITER);
        Lock::file(&self.root, name, LockKind::Exclusive, wait)
    }

    fn begin_pending(&self) -> Result<()> {
        let p = self.root.join(PENDING);
        if !p.exists() {
            storage::create_file(&p, b"", 0o600, "create")?;
        }
        storage::sync_dir(&self.root)
    }

    fn end_pending(&self) -> Result<()> {
        let p = self.root.join(PENDING);
        fs::remove_file(&p).map_err(Error::io("remove", &p))?;
        storage::sync_dir(&self.root)
    }

    /// Restores a consistent directory after a writer died: see the module docs. Idempotent.
    fn recover(&self) -> Result<()> {
        let ledger = inventory::read(&inventory::path_in(&self.root))?;
        let recorded: HashSet<String> = ledger
            .issued()
            .iter()
            .map(|i| i.serial.to_string())
            .collect();
        for kind in [CertKind::Server, CertKind::Client] {
            let archive = self.archive_dir(kind);
            if let Ok(entries) = fs::read_dir(&archive) {
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if !recorded.contains(&name) {
                        let p = e.path();
                        fs::remove_dir_all(&p).map_err(Error::io("remove unfinished", &p))?;
                    }
                }
                storage::sync_dir(&archive)?;
            }
            let leaf = self.leaf_dir(kind);
            if let Ok(entries) = fs::read_dir(&leaf) {
                for e in entries.flatten() {
                    if is_temp_name(&e.file_name().to_string_lossy()) {
                        let _ = fs::remove_file(e.path());
                    }
                }
            }
        }
        for i in ledger.issued() {
            if !i.kind.is_ca() && ledger.is_current(i) {
                self.link_current(i.kind, &i.name, &i.serial, false)?;
            }
        }
        for kind in [CertKind::Server, CertKind::Client] {
            if self.leaf_dir(kind).exists() {
                storage::sync_dir(&self.leaf_dir(kind))?;
            }
        }
        self.end_pending()
    }

    /// Points `NAME.live` at `archive/<serial>` and makes sure `NAME.crt`/`NAME.key` go through it.
    /// `fresh`: the name had no certificate a moment ago (under the lock), so its links are
    /// created without first looking for old ones; one that exists after all is replaced.
    fn link_current(&self, kind: CertKind, name: &str, serial: &Serial, fresh: bool) -> Result<()> {
        let leaf = self.leaf_dir(kind);
        let live = format!("{name}.live");
        let target = Path::new("archive").join(serial.to_string());
        let link = |target: &Path, link: &Path| {
            if fresh {
                storage::new_symlink(target, link)
            } else {
                storage::ensure_symlink(target, link)
            }
        };
        let previous = if fresh {
            None
        } else {
            fs::read_link(leaf.join(&live))
                .ok()
                .filter(|p| p != &target)
        };
        // NAME.prev: the pair about to be replaced, kept until the next renewal. It is pointed
        // there before NAME.live moves, so that a crash between the two renames leaves both on
        // the old pair (and recovery, finding NAME.live still old, does both again).
        if let Some(previous) = previous {
            storage::swap_symlink(&previous, &leaf.join(format!("{name}.prev")))?;
        }
        link(&target, &leaf.join(&live))?;
        // The key link first: a certificate link without its key would make libpq fail
        // ("certificate present, but not private key"); a key without a certificate is unused.
        for ext in ["key", "crt"] {
            link(
                &Path::new(&live).join(format!("{name}.{ext}")),
                &leaf.join(format!("{name}.{ext}")),
            )?;
        }
        Ok(())
    }

    /// Refuses to overwrite an existing certificate without `force`; returns, per request,
    /// whether the name has a certificate and the serial a replacement would supersede.
    fn check_replaceable(
        &self,
        kind: CertKind,
        names: &[&str],
        force: bool,
    ) -> Result<Vec<(bool, Option<Serial>)>> {
        let mut replaced = Vec::with_capacity(names.len());
        for name in names {
            let crt = self.cert_path(kind, name);
            let exists = crt.symlink_metadata().is_ok();
            if exists && !force {
                return Err(Error::CertExists(crt));
            }
            replaced.push((
                exists,
                if exists {
                    self.live_serial(kind, name)
                } else {
                    None
                },
            ));
        }
        Ok(replaced)
    }

    /// The serial the `.live` link of a name points at, if any.
    fn live_serial(&self, kind: CertKind, name: &str) -> Option<Serial> {
        let target = fs::read_link(self.leaf_dir(kind).join(format!("{name}.live"))).ok()?;
        target.file_name()?.to_str()?.parse().ok()
    }

    pub(crate) fn issue_batch(
        &self,
        side: Side,
        requests: Vec<LeafRequest>,
        force: bool,
        now: OffsetDateTime,
        progress: Option<&Progress>,
    ) -> Result<Vec<IssuedCert>> {
        let kind = side.leaf_kind();
        let mut seen = HashSet::new();
        for r in &requests {
            if !seen.insert(r.name.as_str()) {
                return Err(Error::DuplicateName(r.name.clone()));
            }
        }
        let not_before = now - time::Duration::seconds(BACKDATE_SECONDS);
        let latest = requests
            .iter()
            .map(|r| r.validity)
            .max()
            .map(|v| now + v.duration())
            .unwrap_or(now);
        let owned: Vec<String> = requests.iter().map(|r| r.name.clone()).collect();
        let names: Vec<&str> = owned.iter().map(String::as_str).collect();

        // Fail fast on what can be seen without the lock; all of it is checked again under it.
        // The CA is loaded once, here: an encrypted key costs a deliberate key derivation, and a
        // wrong passphrase should fail before any key is generated.
        self.check_replaceable(kind, &names, force)?;
        let ca = CaSigner::load(&self.root, side, self.passphrase.as_ref())?;
        ca.check_can_sign_until(now, latest)?;

        // The fingerprints of keys given to certify again (`renew --reuse-key`).
        let reused: Vec<Option<String>> = if requests.iter().any(|r| r.key.is_some()) {
            requests
                .iter()
                .map(|r| {
                    r.key
                        .as_ref()
                        .map(|k| crate::x509::inspect::sha256_hex(&k.public_key_der()))
                })
                .collect()
        } else {
            Vec::new()
        };

        // Keys are generated before taking the lock, on every core: generation dominates
        // (RSA-4096 takes seconds a key), and another pgca process can write meanwhile.
        let total = requests.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let requests = parallel_map(requests, |mut r| {
            if r.key.is_none() {
                r.key = Some(PrivateKey::generate(r.key_type)?);
            }
            if let Some(p) = progress {
                (p.0)(
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                    total,
                );
            }
            Ok(r)
        })?;

        let _lock = self.write_lock()?;
        let replaced = self.check_replaceable(kind, &names, force)?;
        if !reused.is_empty() {
            // A key certified by a revoked certificate is never certified again.
            let ledger = inventory::read(&inventory::path_in(&self.root))?;
            let revoked = ledger.revoked_keys();
            for (r, spki) in requests.iter().zip(&reused) {
                if let Some((serial, _)) = spki.as_ref().and_then(|h| revoked.get(h.as_str())) {
                    return Err(Error::RevokedKey {
                        kind,
                        name: r.name.clone(),
                        serial: (*serial).clone(),
                    });
                }
            }
        }
        let issuer = ca.issuer()?;
        // Everything is signed in memory before anything is written.
        let made: Vec<Made> = parallel_map(requests, |r| {
            let key = r.key.expect("generated above");
            let serial = Serial::random();
            let not_after = now + r.validity.duration();
            let cert_pem = crate::x509::profile::sign_leaf(
                &r.profile, &key, &issuer, &serial, not_before, not_after,
            )?;
            let der =
                crate::x509::inspect::first_cert_der(cert_pem.as_bytes()).map_err(|reason| {
                    Error::Crypto {
                        what: "encoding the certificate",
                        reason,
                    }
                })?;
            Ok(Made {
                sha256: crate::x509::inspect::sha256_hex(&der),
                spki_sha256: crate::x509::inspect::sha256_hex(&key.public_key_der()),
                name: r.name,
                profile: r.profile,
                key_type: key.key_type(),
                key_pem: match &r.key_passphrase {
                    Some(p) => key.to_encrypted_pem(p)?,
                    None => key.to_pem(),
                },
                encrypted_key: r.key_passphrase.is_some(),
                cert_pem,
                serial,
                not_after,
            })
        })?;

        self.begin_pending()?;
        let archive = self.archive_dir(kind);
        let mut written: Vec<String> = Vec::with_capacity(made.len());
        let mut archive_dir: Option<storage::Dir> = None;
        let stored = (|| {
            storage::ensure_private_dir(&self.leaf_dir(kind))?;
            storage::ensure_private_dir(&archive)?;
            let archive_dir = archive_dir.insert(storage::open_dir(
                &archive,
                &storage::Trust::invoker(),
                None,
            )?);
            // Each pair is written straight into `archive/<serial>`: nothing refers to it until
            // the inventory commit below, and recovery removes the archive directories the
            // inventory does not know, so a temporary name and a rename would add nothing but a
            // second entry per pair in a directory that holds every pair ever issued (at 100,000
            // certificates each entry dirties its own block, which the fsync must write). Small
            // batches fsync each file and then the archive; bulk batches make everything durable
            // with one barrier.
            let bulk = made.len() >= BULK_BATCH;
            for m in &made {
                let dest = m.serial.to_string();
                written.push(dest.clone());
                write_pair(
                    archive_dir,
                    &dest,
                    &m.name,
                    m.key_pem.as_bytes(),
                    m.cert_pem.as_bytes(),
                    !bulk,
                )?;
            }
            if bulk {
                storage::sync_filesystem(&archive)?;
            } else {
                archive_dir.sync()?;
            }
            let leaf = side.leaf_dir();
            let events: Vec<Event> = made
                .iter()
                .map(|m| {
                    let (name, serial) = (&m.name, &m.serial);
                    let mut issued = Issued::new(
                        serial.clone(),
                        kind,
                        name.clone(),
                        m.profile.sans.iter().map(ToString::to_string).collect(),
                        m.key_type,
                        (not_before, m.not_after),
                        now,
                        (
                            format!("{leaf}/archive/{serial}/{name}.crt"),
                            format!("{leaf}/archive/{serial}/{name}.key"),
                        ),
                    );
                    issued.encrypted_key = m.encrypted_key;
                    issued.sha256 = Some(m.sha256.clone());
                    issued.spki_sha256 = Some(m.spki_sha256.clone());
                    Event::Issued(issued)
                })
                .collect();
            inventory::append(&inventory::path_in(&self.root), &events)
        })();
        if let Err(e) = stored {
            // Not committed: take back what this batch wrote, so nothing half-written remains.
            if let Some(archive) = &archive_dir {
                for d in &written {
                    let _ = archive.remove_tree(d);
                }
            }
            let _ = self.end_pending();
            return Err(e);
        }
        // Committed. A failure from here on leaves `.pending`, and the next writer rolls forward.
        for (m, (existed, _)) in made.iter().zip(&replaced) {
            self.link_current(kind, &m.name, &m.serial, !existed)?;
        }
        storage::sync_dir(&self.leaf_dir(kind))?;
        self.end_pending()?;

        Ok(made
            .into_iter()
            .zip(replaced)
            .map(|(m, (_, replaced))| IssuedCert {
                kind,
                cert_path: self.cert_path(kind, &m.name),
                key_path: self.key_path(kind, &m.name),
                name: m.name,
                serial: m.serial,
                key_type: m.key_type,
                not_before,
                not_after: m.not_after,
                replaced,
            })
            .collect())
    }
}

/// A name's current certificate and key as the inventory records them, read under the lock.
pub(crate) struct LivePair {
    /// The inventory's record.
    pub(crate) record: Issued,
    /// Whether the record's serial is revoked.
    pub(crate) revoked: bool,
    /// The certificate file's bytes (PEM).
    pub(crate) cert_pem: Vec<u8>,
    /// The key file's bytes (PEM), wiped when dropped.
    pub(crate) key_pem: zeroize::Zeroizing<Vec<u8>>,
    /// What the certificate says.
    pub(crate) info: CertInfo,
}

impl CaDir {
    /// The current certificate of `name` and its key, read under the shared lock and checked
    /// against the inventory: the file must be the certificate recorded (its SHA-256, or for
    /// older records its serial), and a plain key must match it. A file that disagrees is
    /// [`Error::NotRecorded`], never used.
    pub(crate) fn live_pair(&self, kind: CertKind, name: &str) -> Result<LivePair> {
        let _lock = self.read_lock()?;
        let ledger = inventory::read(&inventory::path_in(&self.root))?;
        let Some(record) = ledger.current(kind, name).cloned() else {
            return Err(self.not_issued(kind, name));
        };
        let revoked = ledger.revocation(&record.serial).is_some();
        let cert_path = self.cert_path(kind, name);
        let key_path = self.key_path(kind, name);
        let cert_pem = storage::read(&cert_path, "read certificate")?;
        let info = CertInfo::from_pem(&cert_pem).map_err(|reason| Error::BadCert {
            path: cert_path.clone(),
            reason,
        })?;
        let mismatch = |found: String| Error::NotRecorded {
            kind,
            name: name.to_string(),
            path: cert_path.clone(),
            expected: record.serial.clone(),
            found,
        };
        match &record.sha256 {
            Some(h) => {
                let der = crate::x509::inspect::first_cert_der(&cert_pem).map_err(&mismatch)?;
                if &crate::x509::inspect::sha256_hex(&der) != h {
                    return Err(mismatch(format!(
                        "it holds serial {} with another fingerprint",
                        info.serial
                    )));
                }
            }
            None if info.serial != record.serial => {
                return Err(mismatch(format!("it holds serial {}", info.serial)));
            }
            None => {}
        }
        let key_pem = zeroize::Zeroizing::new(storage::read(&key_path, "read key")?);
        let text = zeroize::Zeroizing::new(String::from_utf8_lossy(&key_pem).into_owned());
        // An encrypted key is its owner's to decrypt; only a plain one is checked here.
        if !crate::x509::keys::is_encrypted_pem(&text)
            && PrivateKey::from_pem(&text, &key_path)?.public_key_der() != info.spki_der
        {
            return Err(Error::KeyMismatch {
                key: key_path,
                cert: cert_path,
            });
        }
        Ok(LivePair {
            record,
            revoked,
            cert_pem,
            key_pem,
            info,
        })
    }

    /// [`CaDir::live_pair`], refusing a revoked certificate: what deployments and installs use.
    pub(crate) fn live_unrevoked(&self, kind: CertKind, name: &str) -> Result<LivePair> {
        let pair = self.live_pair(kind, name)?;
        if pair.revoked {
            return Err(Error::Revoked {
                kind,
                name: name.to_string(),
                serial: pair.record.serial,
            });
        }
        Ok(pair)
    }

    /// The error for a name that has no certificate of `kind`.
    pub(crate) fn not_issued(&self, kind: CertKind, name: &str) -> Error {
        let (kind, command) = if kind == CertKind::Server {
            ("server", "issue-server")
        } else {
            ("client", "issue-client")
        };
        Error::NotIssued {
            kind,
            name: name.to_string(),
            dir: self.root.clone(),
            command,
        }
    }
}

/// One certificate to issue in a batch.
pub(crate) struct LeafRequest {
    /// The file name: the role, or the server's first name.
    pub(crate) name: String,
    pub(crate) profile: LeafProfile,
    pub(crate) key_type: KeyType,
    pub(crate) validity: Validity,
    /// A key to certify (`renew --reuse-key`); otherwise a new one of `key_type`.
    pub(crate) key: Option<PrivateKey>,
    /// Encrypt the key file with this passphrase.
    pub(crate) key_passphrase: Option<crate::model::passphrase::Passphrase>,
}

impl LeafRequest {
    fn new(name: String, profile: LeafProfile, opts: &IssueOptions) -> LeafRequest {
        LeafRequest {
            name,
            profile,
            key_type: opts.key_type,
            validity: opts.validity,
            key: None,
            key_passphrase: opts.key_passphrase.clone(),
        }
    }
}

/// A signed pair before it is written.
struct Made {
    name: String,
    profile: LeafProfile,
    key_type: KeyType,
    key_pem: zeroize::Zeroizing<String>,
    encrypted_key: bool,
    cert_pem: String,
    sha256: String,
    spki_sha256: String,
    serial: Serial,
    not_after: OffsetDateTime,
}

/// Maps `f` over `items` on every available core, keeping the order; the first error wins.
pub(crate) fn parallel_map<T: Send, U: Send>(
    items: Vec<T>,
    f: impl Fn(T) -> Result<U> + Sync,
) -> Result<Vec<U>> {
    parallel_map_on(items, cores(), f)
}

/// The number of cores this process may use.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Maps `f` over `items` on `threads` threads, keeping the order; the first error wins. The
/// items are handed out in small chunks, so that a thread held up by a slow disk read does not
/// leave the others idle at the end.
pub(crate) fn parallel_map_on<T: Send, U: Send>(
    items: Vec<T>,
    threads: usize,
    f: impl Fn(T) -> Result<U> + Sync,
) -> Result<Vec<U>> {
    let total = items.len();
    let threads = threads.min(total).max(1);
    if threads <= 1 {
        return items.into_iter().map(f).collect();
    }
    // Chunks of up to 64, but small enough that every thread gets work: a batch of three RSA
    // keys (seconds each) still runs on every core.
    let chunk = (total / (threads * 4)).clamp(1, 64);
    let mut queue = std::collections::VecDeque::with_capacity(total.div_ceil(chunk));
    let mut items = items.into_iter();
    for start in (0..total).step_by(chunk) {
        queue.push_back((start, items.by_ref().take(chunk).collect::<Vec<T>>()));
    }
    let queue = std::sync::Mutex::new(queue);
    let f = &f;
    // Each worker returns the chunks it did, by the index of their first item.
    type Done<U> = Vec<(usize, Vec<U>)>;
    let worker = || -> Result<Done<U>> {
        let mut done = Vec::new();
        loop {
            let next = queue.lock().expect("no worker panics").pop_front();
            let Some((start, chunk)) = next else {
                return Ok(done);
            };
            done.push((start, chunk.into_iter().map(f).collect::<Result<Vec<U>>>()?));
        }
    };
    let results: Vec<Result<Done<U>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(worker)).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no worker panics"))
            .collect()
    });
    let mut chunks = Vec::with_capacity(total.div_ceil(chunk));
    for r in results {
        chunks.extend(r?);
    }
    chunks.sort_unstable_by_key(|(start, _)| *start);
    let mut out = Vec::with_capacity(total);
    for (_, chunk) in chunks {
        out.extend(chunk);
    }
    Ok(out)
}

/// Batches of at least this many certificates are made durable with one filesystem barrier.
const BULK_BATCH: usize = 16;

/// Writes a key (mode 0600 from creation) and certificate into the fresh directory `serial` of
/// the archive, fsync-ing each file unless the caller syncs the filesystem afterwards.
fn write_pair(
    archive: &storage::Dir,
    serial: &str,
    name: &str,
    key_pem: &[u8],
    cert_pem: &[u8],
    fsync: bool,
) -> Result<()> {
    let dir = archive.create_dir_new(serial, DIR_MODE)?;
    let key = format!("{name}.key");
    dir.create_file(&key, key_pem, KEY_MODE, None, fsync, "write key")?;
    let crt = format!("{name}.crt");
    dir.create_file(
        &crt,
        cert_pem,
        PUBLIC_MODE,
        None,
        fsync,
        "write certificate",
    )
}

/// Refuses a directory that already holds a CA, or pieces of one.
fn check_no_ca(root: &Path) -> Result<()> {
    if inventory::path_in(root).exists() {
        return Err(Error::CaExists(root.to_path_buf()));
    }
    for side in Side::BOTH {
        for f in [side.ca_cert_file(), side.ca_key_file()] {
            if root.join(f).exists() {
                return Err(Error::PartialCa {
                    dir: root.to_path_buf(),
                    found: root.join(f),
                });
            }
        }
    }
    Ok(())
}

fn remove_stale_staging(root: &Path) -> Result<()> {
    let prefix = format!(".{INIT_STAGING}{}", storage::TEMP_MARK);
    for e in fs::read_dir(root)
        .map_err(Error::io("read directory", root))?
        .flatten()
    {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
    Ok(())
}

/// Whether a directory entry is one of pgca's temporary names (`.X.tmp-PID-HEX12`). A role's own
/// entries end in `.crt`, `.key` or `.live`, so they never match.
fn is_temp_name(name: &str) -> bool {
    name.starts_with('.')
        && name.contains(storage::TEMP_MARK)
        && name
            .rsplit_once('-')
            .is_some_and(|(_, hex)| hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_map_keeps_the_order_and_reports_an_error() {
        for threads in [1, 2, 7] {
            let out = parallel_map_on((0..1000).collect(), threads, |i: u32| Ok(i * 2)).unwrap();
            assert_eq!(out, (0..1000).map(|i| i * 2).collect::<Vec<_>>());
            let e = parallel_map_on((0..1000).collect(), threads, |i: u32| {
                if i == 777 {
                    Err(Error::DuplicateName(i.to_string()))
                } else {
                    Ok(i)
                }
            })
            .unwrap_err();
            assert!(matches!(e, Error::DuplicateName(n) if n == "777"));
        }
        assert!(parallel_map_on(Vec::<u8>::new(), 4, Ok).unwrap().is_empty());
        // A small batch still uses every thread.
        let ids = std::sync::Mutex::new(std::collections::HashSet::new());
        let barrier = std::sync::Barrier::new(2);
        parallel_map_on(vec![0, 1], 2, |_| {
            barrier.wait(); // would deadlock if both items ran on one thread
            ids.lock().unwrap().insert(std::thread::current().id());
            Ok(())
        })
        .unwrap();
        assert_eq!(ids.lock().unwrap().len(), 2);
    }

    #[test]
    fn temp_names_never_match_a_roles_entries() {
        assert!(is_temp_name(
            &storage::temp_path(Path::new("d/alice.live"))
                .file_name()
                .unwrap()
                .to_string_lossy()
        ));
        for role in [".alice.live.tmp-1-abcdefabcdef", "x.tmp-12-aaaaaaaaaaaa"] {
            for ext in ["crt", "key", "live"] {
                assert!(!is_temp_name(&format!("{role}.{ext}")));
            }
        }
    }

    #[test]
    fn issue_replace_and_list() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = CaDir::init(tmp.path().join("ca"), &InitOptions::default()).unwrap();
        let alice: RoleName = "alice".parse().unwrap();
        let first = ca.issue_client(&alice, &IssueOptions::default()).unwrap();
        let e = ca
            .issue_client(&alice, &IssueOptions::default())
            .unwrap_err();
        assert!(matches!(e, Error::CertExists(_)), "{e}");
        let opts = IssueOptions {
            force: true,
            ..IssueOptions::default()
        };
        let second = ca.issue_client(&alice, &opts).unwrap();
        assert_eq!(second.replaced.as_ref(), Some(&first.serial));
        let info = CertInfo::from_file(&second.cert_path).unwrap();
        assert_eq!(info.serial, second.serial);
        let key = PrivateKey::from_pem(
            &fs::read_to_string(&second.key_path).unwrap(),
            &second.key_path,
        )
        .unwrap();
        assert_eq!(
            key.public_key_der(),
            info.spki_der,
            "the live key matches the live cert"
        );
        let rows = ca.list(timefmt::now()).unwrap();
        let states: Vec<_> = rows.iter().map(|r| (r.kind, r.state)).collect();
        assert_eq!(
            states,
            vec![
                (CertKind::ServerCa, CertState::Valid),
                (CertKind::ClientCa, CertState::Valid),
                (CertKind::Client, CertState::Superseded),
                (CertKind::Client, CertState::Valid),
            ]
        );
        assert!(!ca.root().join(PENDING).exists());
    }

    #[test]
    fn recovery_rolls_forward_committed_and_removes_uncommitted() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = CaDir::init(tmp.path().join("ca"), &InitOptions::default()).unwrap();
        let bob: RoleName = "bob".parse().unwrap();
        let issued = ca.issue_client(&bob, &IssueOptions::default()).unwrap();
        // Simulate a crash after commit but before the link swap, plus an uncommitted pair.
        fs::remove_file(ca.root().join("clients/bob.live")).unwrap();
        let orphan = ca
            .archive_dir(CertKind::Client)
            .join(Serial::random().to_string());
        fs::create_dir(&orphan).unwrap();
        fs::write(ca.root().join(PENDING), b"").unwrap();
        let carol: RoleName = "carol".parse().unwrap();
        ca.issue_client(&carol, &IssueOptions::default()).unwrap();
        assert!(!orphan.exists());
        assert_eq!(
            CertInfo::from_file(&issued.cert_path).unwrap().serial,
            issued.serial
        );
    }
}
