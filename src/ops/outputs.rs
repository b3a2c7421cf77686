//! The trust files pgca put elsewhere, read back: the client CA bundle and CRL of each
//! recorded deployment (`DATA/pgca-tls/current/`), the `root.crt` and `root.crl` of each
//! recorded install. `renew` writes again those that differ from the CA directory's (a rollover
//! changed a bundle), and `rollover finish` refuses while one lacks the new CA.

use crate::error::Result;
use crate::inventory::{Deployment, Install};
use crate::model::kind::Side;
use crate::model::serial::Serial;
use crate::storage;
use crate::store::layout::CaDir;

/// The most pgca reads of a deployed or installed trust file.
const MAX_FILE: u64 = 1 << 20;

/// A deployment's file (`client-ca.crt`, `client-ca.crl`, `server.crt`), read through the trust
/// walk for the database user recorded: no link followed but `current`, PostgreSQL's own.
/// `None` for a file that is not there.
pub(crate) fn read_deployed(d: &Deployment, file: &str) -> Result<Option<Vec<u8>>> {
    let tls_path = d.data_dir.join(crate::pg::server::TLS_DIR);
    let trust = match d.data_dir_uid {
        Some(uid) => storage::Trust::with_owner(uid),
        None => storage::Trust::invoker(),
    };
    let tls = storage::open_dir(&tls_path, &trust, None)?;
    let Some(version) = tls.read_link("current") else {
        return Ok(None);
    };
    let Some(name) = version.to_str().filter(|n| !n.contains('/')) else {
        return Ok(None);
    };
    let Some(dir) = tls.open_sub(name)? else {
        return Ok(None);
    };
    read_if_there(&dir, file)
}

/// An install's file (`root.crt`, `root.crl`, `postgresql.crt`), read through the trust walk for
/// the install's owner. `None` for a file that is not there.
pub(crate) fn read_installed(i: &Install, file: &str) -> Result<Option<Vec<u8>>> {
    let dir = storage::open_dir(&i.dir, &storage::Trust::with_owner(i.uid), None)?;
    read_if_there(&dir, file)
}

fn read_if_there(dir: &storage::Dir, file: &str) -> Result<Option<Vec<u8>>> {
    if dir.stat_at(file)?.is_none() {
        return Ok(None);
    }
    dir.read_file(file, MAX_FILE, "read deployed file")
        .map(Some)
}

impl CaDir {
    /// The CA directory's bundle and CRL of `side`, as deployments and installs must hold them.
    fn trust_files(&self, side: Side) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        let read = |p: std::path::PathBuf| storage::read(&p, "read").ok();
        (read(self.ca_cert_path(side)), read(self.crl_path(side)))
    }

    /// Whether a deployment's client CA bundle or CRL differs from the CA directory's (or
    /// cannot be read): then it is deployed again.
    pub(crate) fn deployment_stale(&self, d: &Deployment) -> bool {
        let (ca, crl) = self.trust_files(Side::Client);
        let deployed = |f| read_deployed(d, f).ok().flatten();
        deployed("client-ca.crt") != ca || (crl.is_some() && deployed("client-ca.crl") != crl)
    }

    /// Whether an install's `root.crt` or `root.crl` differs from the CA directory's server CA
    /// bundle and CRL, or its `postgresql.crt` is not the role's `current` certificate (or any
    /// cannot be read): then it is installed again.
    pub(crate) fn install_stale(&self, i: &Install, current: Option<&Serial>) -> bool {
        let (ca, crl) = self.trust_files(Side::Server);
        let installed = |f| read_installed(i, f).ok().flatten();
        let serial = installed("postgresql.crt")
            .and_then(|pem| crate::x509::inspect::CertInfo::from_pem(&pem).ok())
            .map(|c| c.serial);
        installed("root.crt") != ca
            || (crl.is_some() && installed("root.crl") != crl)
            || serial.as_ref() != current
    }
}
