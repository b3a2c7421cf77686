//! `init`: both CAs and the inventory, staged and renamed into place.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::inventory::{self, Event, Issued};
use crate::model::kind::Side;
use crate::model::timefmt;
use crate::storage::{self, DIR_MODE, KEY_MODE, Lock, LockKind, PUBLIC_MODE, Wait};
use crate::store::layout::{CaDir, INIT_STAGING, LOCK_FILE};
use crate::store::options::{BACKDATE_SECONDS, InitOptions, IssueOptions, IssuedCert};
use crate::x509::ca::{self};

impl CaDir {
    /// Creates both CAs in `root` (created with mode 0700 if missing; an existing directory must
    /// hold no CA). The four CA files and the inventory are written to a staging directory first
    /// and renamed into place, the inventory last: it marks the directory as initialised.
    ///
    /// With [`InitOptions::server_hosts`], a server certificate is issued too (see
    /// [`CaDir::init_with_server`]).
    pub fn init(root: impl AsRef<Path>, opts: &InitOptions) -> Result<CaDir> {
        CaDir::init_with_server(root, opts).map(|(ca, _)| ca)
    }

    /// [`CaDir::init`], returning the server certificate issued for
    /// [`InitOptions::server_hosts`]. Every value is checked before anything is created: a
    /// server certificate that would outlive the CAs is refused.
    pub fn init_with_server(
        root: impl AsRef<Path>,
        opts: &InitOptions,
    ) -> Result<(CaDir, Option<IssuedCert>)> {
        if !opts.server_hosts.is_empty() && opts.server_validity > opts.ca_validity {
            return Err(Error::InvalidDuration {
                input: opts.server_validity.to_string(),
                reason: "the server certificate would outlive the CAs",
            });
        }
        let ca = CaDir::init_cas(root, opts)?;
        if opts.server_hosts.is_empty() {
            return Ok((ca, None));
        }
        let io = IssueOptions {
            validity: opts.server_validity,
            key_type: opts.key_type,
            now: opts.now,
            ..IssueOptions::default()
        };
        let issued = ca.issue_server(&opts.server_hosts, &io)?;
        Ok((ca, Some(issued)))
    }

    fn init_cas(root: impl AsRef<Path>, opts: &InitOptions) -> Result<CaDir> {
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
            inventory::log::create(&staging.join(inventory::log::INVENTORY_FILE), &events)?;
            files.push(inventory::log::INVENTORY_FILE);
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
}

/// Refuses a directory that already holds a CA, or pieces of one.
fn check_no_ca(root: &Path) -> Result<()> {
    if inventory::log::path_in(root).exists() {
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
