//! The key of a renewal under way, kept until its certificate is installed: `pgca agent` writes
//! it (0600 from the first byte, fsync-ed, named after the serial it renews) before it sends
//! the request, and removes it once the new certificate is installed or the CA refused. An
//! agent killed after the CA issued but before the install (a reboot, an OOM kill) finds the
//! key at its next round and asks again with it: the CA answers a renewal of the same
//! certificate for the same key with the certificate it already issued, where a new key would
//! be refused as a second renewal and lock the host out.
//!
//! The file lives beside the pair in use (`DATA/pgca-tls/`, or the client directory), which its
//! owner (the postgres user, the client) can change: a pending key is used only if it is a
//! regular file with one link, owned by the user the agent runs as, and private to it. Any
//! other file of the name is removed and a new key made.

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use zeroize::Zeroizing;

use crate::error::Result;
use crate::model::serial::Serial;
use crate::storage::Dir;
use crate::x509::keys::{KeyType, PrivateKey};

/// The largest pending key read.
const MAX_KEY: u64 = 64 * 1024;

/// The name of the pending key renewing `serial`.
pub(crate) fn file_name(serial: &Serial) -> String {
    format!("pgca-pending-{serial}.key")
}

/// The key to renew `serial` with: the pending one if a trustworthy one is there, otherwise a
/// new one of `key_type`, written as pending before it is returned.
pub(crate) fn key_for(dir: &Dir, serial: &Serial, key_type: KeyType) -> Result<(PrivateKey, bool)> {
    let name = file_name(serial);
    if let Some(pem) = read_own(dir, &name)
        && let Ok(text) = std::str::from_utf8(&pem)
        && let Ok(key) = PrivateKey::from_pem(text, &dir.path().join(&name))
    {
        return Ok((key, true));
    }
    clear(dir);
    let key = PrivateKey::generate(key_type)?;
    dir.replace_file(
        &name,
        key.to_pem().as_bytes(),
        0o600,
        None,
        "write the pending key",
    )?;
    Ok((key, false))
}

/// Removes every pending key of the directory (best effort: a key left behind is removed at
/// the next renewal).
pub(crate) fn clear(dir: &Dir) {
    let Ok(entries) = dir.entries() else {
        return;
    };
    for e in entries {
        let n = e.to_string_lossy();
        if n.starts_with("pgca-pending-") && n.ends_with(".key") {
            let _ = rustix::fs::unlinkat(dir.fd(), n.as_ref(), AtFlags::empty());
        }
    }
}

/// The file `name` if it is a regular file with one link, owned by the user the agent runs as,
/// that no one else can read or write; `None` otherwise.
fn read_own(dir: &Dir, name: &str) -> Option<Zeroizing<Vec<u8>>> {
    use std::io::Read;
    let fd = rustix::fs::openat(
        dir.fd(),
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let st = rustix::fs::fstat(&fd).ok()?;
    let own = FileType::from_raw_mode(st.st_mode) == FileType::RegularFile
        && st.st_uid == rustix::process::geteuid().as_raw()
        && st.st_nlink == 1
        && st.st_mode & 0o077 == 0;
    if !own {
        return None;
    }
    let mut out = Zeroizing::new(Vec::new());
    std::fs::File::from(fd)
        .take(MAX_KEY)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}
