//! The client side: a role's files where libpq looks for them, and the variables that point
//! libpq at them.
//!
//! libpq does no `~` expansion and resolves relative paths from the client's working directory,
//! so every path pgca hands to libpq is absolute.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::kind::CertKind;
use crate::model::kind::Side;
use crate::model::names::{HostName, RoleName};
use crate::storage::{self, DIR_MODE, KEY_MODE, PUBLIC_MODE};
use crate::store::CaDir;

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
    /// A revoked certificate, or a file that is not the one the inventory records, is refused.
    pub fn client_paths(&self, role: &RoleName) -> Result<ClientPaths> {
        self.live_unrevoked(CertKind::Client, role.as_str())?;
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
    /// with [`CaDir::service_entries`]. Everything else in the file is kept byte for byte. With
    /// `owner` (uid, gid), the file is written for that user (see
    /// [`crate::pg::service::io::write_file_for`]).
    #[allow(clippy::too_many_arguments)]
    pub fn add_service(
        &self,
        file: &Path,
        owner: Option<(u32, u32)>,
        service: &str,
        role: &RoleName,
        host: &HostName,
        port: u16,
        dbname: Option<&str>,
        crl: bool,
        force: bool,
    ) -> Result<crate::pg::service::edit::Upserted> {
        let entries = self.service_entries(role, host, port, dbname, crl, true)?;
        let mut sf = crate::pg::service::io::read_file(file)?;
        let pairs: Vec<(&str, &str)> = entries.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let done = sf.upsert(service, &pairs, force)?;
        sf.save_for(owner)?;
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
    /// (default: `~/.postgresql` of `owner`, else of `$HOME`): `postgresql.crt`, `postgresql.key`
    /// (0600) and `root.crt`, so that `sslmode=verify-full` needs no other option. Existing files
    /// are replaced only with `force`.
    ///
    /// The files belong to `owner` (a user name or uid), else to the user pgca runs as: never
    /// to whoever happens to own the directory. The directory must be owned by that user (it is
    /// created, 0700, if missing), every directory on the way by root or that user, and a
    /// symbolic link at a file's name is replaced, never followed. A revoked certificate is not
    /// installed.
    pub fn client_install(
        &self,
        role: &RoleName,
        to: Option<&Path>,
        owner: Option<&str>,
        force: bool,
    ) -> Result<ClientInstalled> {
        let ids = match owner {
            Some(u) => storage::lookup_user(u)?,
            None => storage::invoker_ids(),
        };
        let dir = match (to, owner) {
            (Some(d), _) => d.to_path_buf(),
            (None, Some(_)) => storage::user_home(ids.0)
                .map(|h| h.join(".postgresql"))
                .ok_or(Error::NoDirectory)?,
            (None, None) => default_client_dir().ok_or(Error::NoDirectory)?,
        };
        let pair = self.live_unrevoked(CertKind::Client, role.as_str())?;
        let trust = storage::Trust::with_owner(ids.0);
        let parent = storage::open_dir(storage::parent(&dir), &trust, None)?;
        let name = dir
            .file_name()
            .ok_or_else(|| {
                Error::io("use directory", &dir)(std::io::ErrorKind::InvalidInput.into())
            })?
            .to_string_lossy()
            .into_owned();
        let mine = (ids != storage::invoker_ids()).then_some(ids);
        let target = match parent.open_sub(&name)? {
            Some(d) => d,
            None => parent.create_dir(&name, DIR_MODE, mine)?,
        };
        let st = target.stat()?;
        target.check(&trust)?;
        if st.st_uid != ids.0 {
            return Err(Error::Untrusted {
                path: dir,
                why: crate::error::Distrust::Owner {
                    uid: st.st_uid,
                    name: storage::user_name(st.st_uid),
                },
            });
        }
        let names = ["postgresql.crt", "postgresql.key", "root.crt"];
        if !force {
            for n in names {
                if target.stat_at(n)?.is_some() {
                    return Err(Error::CertExists(dir.join(n)));
                }
            }
        }
        let (root, crl) = {
            let _lock = self.read_lock()?;
            let crl_path = self.crl_path(Side::Server);
            let crl = if crl_path.exists() {
                Some(storage::read(&crl_path, "read CRL")?)
            } else {
                None
            };
            (
                storage::read(&self.ca_cert_path(Side::Server), "read CA certificate")?,
                crl,
            )
        };
        // The server CA's CRL, where libpq looks for one (~/.postgresql/root.crl), if there is one.
        if let Some(crl) = crl {
            target.replace_file("root.crl", &crl, PUBLIC_MODE, mine, "write")?;
        }
        for (file, bytes, mode) in [
            (names[2], &root[..], PUBLIC_MODE),
            (names[1], &pair.key_pem[..], KEY_MODE),
            (names[0], &pair.cert_pem[..], PUBLIC_MODE),
        ] {
            target.replace_file(file, bytes, mode, mine, "write")?;
        }
        Ok(ClientInstalled {
            files: names.map(|n| dir.join(n)),
            dir,
        })
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
