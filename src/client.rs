//! The client side: a role's files where libpq looks for them, and the variables that point
//! libpq at them.
//!
//! libpq does no `~` expansion and resolves relative paths from the client's working directory,
//! so every path pgca hands to libpq is absolute.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::Side;
use crate::dir::CaDir;
use crate::error::{Error, Result};
use crate::inventory::CertKind;
use crate::keys::PrivateKey;
use crate::names::{HostName, RoleName};
use crate::storage::{self, DirLock, KEY_MODE, PUBLIC_MODE};

/// Absolute paths of the files a role's libpq connections use.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientPaths {
    /// The server CA (`sslrootcert`).
    pub root_cert: PathBuf,
    /// The role's certificate (`sslcert`).
    pub cert: PathBuf,
    /// The role's key (`sslkey`).
    pub key: PathBuf,
}

/// What [`CaDir::client_install`] wrote.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientInstalled {
    /// The directory (`~/.postgresql`).
    pub dir: PathBuf,
    /// `postgresql.crt`, `postgresql.key` and `root.crt` in it.
    pub files: [PathBuf; 3],
}

/// libpq's default directory for client certificates: `$HOME/.postgresql`.
pub fn default_client_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".postgresql"))
}

/// A value quoted for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl CaDir {
    /// The absolute paths of a role's certificate, key and the server CA in this directory.
    /// Refuses a key path with `:`, which libpq builds with OpenSSL engines read as `engine:key`.
    pub fn client_paths(&self, role: &RoleName) -> Result<ClientPaths> {
        self.current_cert(CertKind::Client, role.as_str())?;
        self.client_paths_unchecked(role)
    }

    /// [`CaDir::client_paths`] without checking that the certificate exists (yet).
    pub fn client_paths_unchecked(&self, role: &RoleName) -> Result<ClientPaths> {
        let root =
            fs::canonicalize(self.root()).map_err(Error::io("open CA directory", self.root()))?;
        let abs = CaDir::open(&root)?;
        let paths = ClientPaths {
            root_cert: abs.ca_cert_path(Side::Server),
            cert: abs.cert_path(CertKind::Client, role.as_str()),
            key: abs.key_path(CertKind::Client, role.as_str()),
        };
        if paths.key.to_string_lossy().contains(':') {
            return Err(Error::UnsafePath {
                path: paths.key,
                reason: "libpq may read a ':' in sslkey as engine:key",
            });
        }
        Ok(paths)
    }

    /// The `key=value` settings of a verify-full service entry for `role` (absolute paths).
    /// With `check`, the role's certificate must already exist.
    pub fn service_entries(
        &self,
        role: &RoleName,
        host: &HostName,
        port: u16,
        dbname: Option<&str>,
        crl: bool,
        check: bool,
    ) -> Result<Vec<(&'static str, String)>> {
        let p = if check {
            self.client_paths(role)?
        } else {
            self.client_paths_unchecked(role)?
        };
        let mut e = vec![
            ("host", host.to_string()),
            ("port", port.to_string()),
            ("user", role.as_str().to_string()),
        ];
        if let Some(db) = dbname {
            e.push(("dbname", db.to_string()));
        }
        e.extend([
            ("sslmode", "verify-full".to_string()),
            ("sslrootcert", p.root_cert.display().to_string()),
            ("sslcert", p.cert.display().to_string()),
            ("sslkey", p.key.display().to_string()),
        ]);
        if crl {
            let path = self.crl_path(Side::Server);
            if !path.exists() {
                return Err(Error::NoCrl(path));
            }
            let abs = fs::canonicalize(&path).map_err(Error::io("open CRL", &path))?;
            e.push(("sslcrl", abs.display().to_string()));
        }
        Ok(e)
    }

    /// Writes (or, with `force`, replaces) the section `service` of the service file at `file`
    /// with [`CaDir::service_entries`]. Everything else in the file is kept byte for byte.
    #[allow(clippy::too_many_arguments)]
    pub fn add_service(
        &self,
        file: &Path,
        service: &str,
        role: &RoleName,
        host: &HostName,
        port: u16,
        dbname: Option<&str>,
        crl: bool,
        force: bool,
    ) -> Result<crate::service::Upserted> {
        let entries = self.service_entries(role, host, port, dbname, crl, true)?;
        let mut sf = crate::service::read_file(file)?;
        let pairs: Vec<(&str, &str)> = entries.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let done = sf.upsert(service, &pairs, force)?;
        sf.save()?;
        Ok(done)
    }

    /// `export` lines for a POSIX shell that make libpq connect as `role` with verify-full:
    /// `eval "$(pgca env alice --host db.example.com)"`.
    pub fn client_env(
        &self,
        role: &RoleName,
        host: &HostName,
        port: Option<u16>,
        dbname: Option<&str>,
    ) -> Result<String> {
        let p = self.client_paths(role)?;
        let mut vars = vec![("PGHOST", host.to_string())];
        if let Some(port) = port {
            vars.push(("PGPORT", port.to_string()));
        }
        if let Some(db) = dbname {
            vars.push(("PGDATABASE", db.to_string()));
        }
        vars.extend([
            ("PGUSER", role.as_str().to_string()),
            ("PGSSLMODE", "verify-full".to_string()),
            ("PGSSLROOTCERT", p.root_cert.display().to_string()),
            ("PGSSLCERT", p.cert.display().to_string()),
            ("PGSSLKEY", p.key.display().to_string()),
        ]);
        Ok(vars
            .into_iter()
            .map(|(k, v)| format!("export {k}={}\n", shell_quote(&v)))
            .collect())
    }

    /// Copies a role's certificate and key and the server CA to libpq's default locations in `to`
    /// (default `~/.postgresql`): `postgresql.crt`, `postgresql.key` (0600) and `root.crt`, so
    /// that `sslmode=verify-full` needs no other option. Existing files are replaced only with
    /// `force`. The files belong to the owner of the directory (when run as root for another
    /// user, libpq running as that user must be able to read its key).
    pub fn client_install(
        &self,
        role: &RoleName,
        to: Option<&Path>,
        force: bool,
    ) -> Result<ClientInstalled> {
        let dir = match to {
            Some(d) => d.to_path_buf(),
            None => default_client_dir().ok_or(Error::NoDirectory)?,
        };
        let files = [
            dir.join("postgresql.crt"),
            dir.join("postgresql.key"),
            dir.join("root.crt"),
        ];
        if !force && let Some(f) = files.iter().find(|f| fs::symlink_metadata(f).is_ok()) {
            return Err(Error::CertExists(f.clone()));
        }
        let (cert, key, root) = {
            let _lock = DirLock::shared(self.root())?;
            let info = self.current_cert(CertKind::Client, role.as_str())?;
            let key_path = self.key_path(CertKind::Client, role.as_str());
            let key = zeroize::Zeroizing::new(storage::read(&key_path, "read key")?);
            let text = zeroize::Zeroizing::new(String::from_utf8_lossy(&key).into_owned());
            // An encrypted key is copied as it is (libpq asks for its passphrase, or takes
            // sslpassword); only a plain one can be checked against the certificate here.
            let parsed = if crate::keys::is_encrypted_pem(&text) {
                None
            } else {
                Some(PrivateKey::from_pem(&text, &key_path)?)
            };
            if parsed.is_some_and(|p| p.public_key_der() != info.spki_der) {
                return Err(Error::KeyMismatch {
                    key: key_path,
                    cert: self.cert_path(CertKind::Client, role.as_str()),
                });
            }
            let cert = storage::read(
                &self.cert_path(CertKind::Client, role.as_str()),
                "read certificate",
            )?;
            (
                cert,
                key,
                storage::read(&self.ca_cert_path(Side::Server), "read CA certificate")?,
            )
        };
        let created = !dir.exists();
        storage::ensure_private_dir(&dir)?;
        // The owner of the home (or of the directory, if it existed): it is who runs libpq.
        let owner_of = if created {
            storage::parent(&dir).to_path_buf()
        } else {
            dir.clone()
        };
        let m = fs::metadata(&owner_of).map_err(Error::io("read", &owner_of))?;
        let ids = (m.uid(), m.gid());
        let owner = (Some(ids.0) != storage::effective_uid()).then_some(ids);
        if created && let Some(ids) = owner {
            storage::chown(&dir, ids)?;
        }
        // The server CA's CRL, where libpq looks for one (~/.postgresql/root.crl), if there is one.
        let crl_path = self.crl_path(Side::Server);
        if crl_path.exists() {
            let crl = storage::read(&crl_path, "read CRL")?;
            storage::replace_file(&dir.join("root.crl"), &crl, PUBLIC_MODE, owner, "write")?;
        }
        for (path, bytes, mode) in [
            (&files[2], &root[..], PUBLIC_MODE),
            (&files[1], &key[..], KEY_MODE),
            (&files[0], &cert[..], PUBLIC_MODE),
        ] {
            storage::replace_file(path, bytes, mode, owner, "write")?;
        }
        Ok(ClientInstalled { dir, files })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_quotes_and_spaces() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("O'Brien"), "'O'\\''Brien'");
    }
}
