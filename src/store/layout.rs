//! The CA directory itself: where it is, what is where inside it, opening it, and its CA keys.

use std::fs::{self};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::inventory::{self, Ledger};
use crate::model::kind::CertKind;
use crate::model::kind::Side;
use crate::storage::{self, KEY_MODE, Wait};
use crate::x509::ca::{CaSigner, CaSlot};
use crate::x509::inspect::CertInfo;

pub(crate) const PENDING: &str = ".pending";
/// The lock file: writers hold it exclusively, readers share it.
pub(crate) const LOCK_FILE: &str = ".lock";
/// The lock `pgca renew` holds for its whole run.
pub(crate) const RENEW_LOCK: &str = ".renew.lock";
pub(super) const INIT_STAGING: &str = ".init";

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

/// Refuses a directory holding a CA's certificate, key or token reference (of either side):
/// asked of a directory without an inventory, that is a CA pgca did not finish creating, or one
/// whose inventory is gone, never a place for a new one.
pub(super) fn refuse_partial_ca(root: &Path) -> Result<()> {
    for side in Side::BOTH {
        for f in [
            side.ca_cert_file(),
            side.ca_key_file(),
            side.ca_token_file(),
        ] {
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
    pub(super) root: PathBuf,
    pub(super) passphrase: Option<crate::model::passphrase::Passphrase>,
    pub(super) wait: Option<Wait>,
    /// The CA keys decrypted so far, when kept in memory ([`CaDir::keeping_keys`]).
    pub(super) keys: Option<std::sync::Arc<crate::x509::key_cache::KeyCache>>,
    /// The inventory as last read or written, when kept in memory ([`CaDir::keeping_state`]).
    pub(super) ledger: Option<std::sync::Arc<crate::store::ledger_cache::LedgerCache>>,
    /// The inventory in a database (`--inventory`), used instead of `DIR/inventory.jsonl`.
    pub(super) db: Option<crate::inventory::InventoryDb>,
}

impl CaDir {
    /// Opens an initialised CA directory. Every directory on the way must be one only root or
    /// the user pgca runs as can change (see [`crate::storage`]): a CA whose files another
    /// user could swap is refused.
    pub fn open(root: impl AsRef<Path>) -> Result<CaDir> {
        let ca = CaDir::open_checked(root.as_ref(), true)?;
        ca.require_ca_certs()?;
        Ok(ca)
    }

    /// Opens the CA directory `root` with its inventory in `db` (see
    /// [`crate::inventory::db`]): the directory holds the CA certificates and keys (or token
    /// references) and the files pgca writes, and `DIR/inventory.jsonl`, if any, is neither read
    /// nor written. A CA certificate the directory lacks and the database keeps (a `pgca serve`
    /// host that holds only the CA keys) is created from the database's copy, held to its
    /// record (`store/ca_files.rs`).
    pub fn open_with_inventory_db(
        root: impl AsRef<Path>,
        db: crate::inventory::InventoryDb,
    ) -> Result<CaDir> {
        let mut ca = CaDir::open_checked(root.as_ref(), false)?;
        ca.db = Some(db);
        if ca.require_ca_certs().is_err() {
            ca.take_ca_files()?;
            ca.require_ca_certs()?;
        }
        Ok(ca)
    }

    /// Refuses a directory without both CA certificates ([`Error::MissingCaFile`]).
    fn require_ca_certs(&self) -> Result<()> {
        for side in Side::BOTH {
            let path = self.root.join(side.ca_cert_file());
            if !path.exists() {
                return Err(Error::MissingCaFile(path));
            }
        }
        Ok(())
    }

    /// The inventory database in use, if the inventory is not the directory's file.
    pub fn inventory_db(&self) -> Option<&crate::inventory::InventoryDb> {
        self.db.as_ref()
    }

    fn open_checked(root: &Path, with_inventory_file: bool) -> Result<CaDir> {
        let root = root.to_path_buf();
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
        let has_inventory = inventory::log::path_in(&root)
            .try_exists()
            .map_err(Error::io("open CA directory", &root))?;
        if !has_inventory && with_inventory_file {
            refuse_partial_ca(&root)?;
            return Err(Error::NoCa(root));
        }
        Ok(CaDir {
            root,
            passphrase: None,
            wait: None,
            keys: None,
            ledger: None,
            db: None,
        })
    }

    /// The same directory, waiting at most `wait` for another pgca process's lock (by default
    /// [`Wait::READER`] to read, [`Wait::WRITER`] to write).
    pub fn with_wait(mut self, wait: Wait) -> CaDir {
        self.wait = Some(wait);
        self
    }

    /// The same directory, decrypting its CA keys with `passphrase` when they are encrypted, or
    /// logging in to the PKCS#11 token that holds them with it as the user PIN.
    pub fn with_passphrase(mut self, passphrase: crate::model::passphrase::Passphrase) -> CaDir {
        self.passphrase = Some(passphrase);
        self
    }

    /// The same directory, for a long-running process (`pgca serve`): each encrypted CA key
    /// kept in memory once decrypted, so that the key derivation is paid once, not per
    /// certificate (a key file that changes is decrypted again); and the inventory kept as last
    /// read or written, read again only when another process has changed the file
    /// (`store/ledger_cache.rs`).
    pub(crate) fn keeping_state(mut self) -> CaDir {
        self.keys = Some(std::sync::Arc::default());
        self.ledger = Some(std::sync::Arc::default());
        self
    }

    /// The CA of `side` in `slot`, loaded (its key from memory when kept).
    pub(crate) fn load_signer(
        &self,
        side: Side,
        slot: crate::x509::ca::CaSlot,
    ) -> Result<crate::x509::ca::CaSigner> {
        crate::x509::ca::CaSigner::load_slot_with(
            &self.root,
            side,
            slot,
            self.passphrase.as_ref(),
            self.keys.as_deref(),
        )
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
        // During a rollover the new CA's key goes along, and a hierarchy's intermediates
        // (`server-issuing.key`, `.next.key`): one passphrase for the side.
        let mut slots = vec![CaSlot::Current];
        for (slot, file) in [
            (CaSlot::Next, side.next_ca_key_file()),
            (CaSlot::Issuing, side.issuing_cert_file()),
            (CaSlot::NextIssuing, side.next_issuing_cert_file()),
        ] {
            if self.root.join(file).symlink_metadata().is_ok() {
                slots.push(slot);
            }
        }
        let mut keys = Vec::new();
        for slot in slots {
            let signer = CaSigner::load_slot(&self.root, side, slot, self.passphrase.as_ref())?;
            let [_, key_name, token_name] = slot.files(side);
            let key = signer
                .key
                .file()
                .ok_or_else(|| Error::KeyInToken(self.root.join(token_name)))?;
            let pem = match new {
                Some(p) => key.to_encrypted_pem(p)?,
                None => key.to_pem(),
            };
            keys.push((self.root.join(key_name), pem));
        }
        for (path, pem) in keys {
            storage::replace_file(&path, pem.as_bytes(), KEY_MODE, "write CA key")?;
        }
        Ok(())
    }

    /// Whether a CA's key is held in a PKCS#11 token: `DIR/server-ca.pkcs11` names it, and
    /// there is no key file.
    pub fn ca_key_in_token(&self, side: Side) -> bool {
        self.root
            .join(side.ca_token_file())
            .symlink_metadata()
            .is_ok()
    }

    /// Where a CA's key is: the key file, or the file naming it in a PKCS#11 token.
    pub fn ca_key_path(&self, side: Side) -> PathBuf {
        if self.ca_key_in_token(side) {
            self.root.join(side.ca_token_file())
        } else {
            self.root.join(side.ca_key_file())
        }
    }

    /// The first of these CAs' keys that is stored encrypted or in a token, if any: an
    /// operation that signs with them needs [`CaDir::with_passphrase`] first (for a token, the
    /// passphrase is the token's user PIN). Issuing server certificates signs with the
    /// server CA, client certificates with the client CA; revoking, CRLs and renewal may sign
    /// with both.
    pub fn encrypted_key_among(&self, sides: &[Side]) -> Result<Option<PathBuf>> {
        for &side in sides {
            if self.ca_key_encrypted(side)? {
                return Ok(Some(self.ca_key_path(side)));
            }
        }
        Ok(None)
    }

    /// Whether a CA key is stored encrypted (so signing with it needs the passphrase), or held
    /// in a PKCS#11 token (so signing with it needs the token's PIN, given the same way).
    pub fn ca_key_encrypted(&self, side: Side) -> Result<bool> {
        if self.ca_key_in_token(side) {
            return Ok(true);
        }
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

    /// The CRL file of a CA: `DIR/server-ca.crl` or `DIR/client-ca.crl`.
    pub fn crl_path(&self, side: Side) -> PathBuf {
        self.root.join(format!("{}-ca.crl", side.name()))
    }

    /// Reads the inventory (waiting while a writer is in the middle of a batch), checked against
    /// its seal and the rest of the directory: a damaged inventory is
    /// [`Error::DamagedInventory`].
    pub fn inventory(&self) -> Result<Ledger> {
        let _lock = self.read_lock()?;
        self.read_inventory()
    }

    pub(crate) fn leaf_dir(&self, kind: CertKind) -> PathBuf {
        let side = if kind == CertKind::Server {
            Side::Server
        } else {
            Side::Client
        };
        self.root.join(side.leaf_dir())
    }

    pub(crate) fn archive_dir(&self, kind: CertKind) -> PathBuf {
        self.leaf_dir(kind).join("archive")
    }
}
