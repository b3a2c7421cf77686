//! The PostgreSQL server side: the configuration TLS needs, and installing a server certificate,
//! its key and the client CA into a data directory the way PostgreSQL accepts them.
//!
//! `deploy-server` writes, in the data directory:
//!
//! ```text
//! DATA/pgca_ssl.conf                 ssl = on, ssl_cert_file, ... (absolute paths); include it
//! DATA/pgca-tls/                     0700, owned by the database user
//!   current -> <serial>.<random>     switched in one rename: PostgreSQL never reads a new
//!   <serial>.<random>/server.crt     certificate with an old key
//!                     server.key     0600, owned by the database user
//!                     client-ca.crt
//! ```
//!
//! PostgreSQL refuses a key that is not a regular file owned by the database user with mode 0600
//! (or by root with 0640); following the `current` link is fine, since it checks with `stat`.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::dir::CaDir;
use crate::error::{Error, Result};
use crate::inspect::CertInfo;
use crate::inventory::{self, CertKind, Deployment, Event};
use crate::keys::PrivateKey;
use crate::serial::Serial;
use crate::storage::{self, DIR_MODE, DirLock, KEY_MODE, PUBLIC_MODE};
use crate::{Side, timefmt};

/// The directory `deploy-server` keeps its files in, inside the data directory.
pub const TLS_DIR: &str = "pgca-tls";
/// The include file `deploy-server` writes into the data directory.
pub const INCLUDE_FILE: &str = "pgca_ssl.conf";

/// A path quoted for postgresql.conf (single quotes, `'` doubled).
fn conf_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "''"))
}

/// The postgresql.conf lines for TLS. With `data_dir`, paths are absolute; without, relative to
/// the data directory (which is how PostgreSQL reads relative paths).
/// With `crl`, also `ssl_crl_file` (the client CA's CRL, deployed beside it).
pub fn postgresql_conf(data_dir: Option<&Path>, crl: bool) -> String {
    let base = data_dir
        .map_or_else(|| PathBuf::from(TLS_DIR), |d| d.join(TLS_DIR))
        .join("current");
    let rows = [
        ("ssl = on".to_string(), "accept TLS connections"),
        (
            format!("ssl_cert_file = {}", conf_quote(&base.join("server.crt"))),
            "the server certificate: its names are what clients verify",
        ),
        (
            format!("ssl_key_file = {}", conf_quote(&base.join("server.key"))),
            "its key: owned by the database user, mode 0600",
        ),
        (
            format!("ssl_ca_file = {}", conf_quote(&base.join("client-ca.crt"))),
            "client certificates must be signed by pgca's client CA",
        ),
        (
            "ssl_min_protocol_version = 'TLSv1.3'".to_string(),
            "refuse TLS 1.2 and older",
        ),
    ];
    let crl_row = (
        format!("ssl_crl_file = {}", conf_quote(&base.join("client-ca.crl"))),
        "revoked client certificates are refused; keep it current (pgca renew)",
    );
    let rows: Vec<_> = rows.into_iter().chain(crl.then_some(crl_row)).collect();
    let w = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(line, why)| format!("{line:<w$}  # {why}\n"))
        .collect()
}

/// The pg_hba.conf lines: TLS and a client certificate whose CN is the role, for every address.
pub fn pg_hba_conf() -> String {
    "hostssl all all 0.0.0.0/0 cert  # IPv4: TLS required; the certificate's CN must equal the role\n\
     hostssl all all ::/0      cert  # IPv6: the same\n\
     # To map certificate subjects to roles instead (PostgreSQL 14+), use\n\
     #   hostssl all all 0.0.0.0/0 cert clientname=DN map=pgca\n\
     # with this line in pg_ident.conf (the DN is in RFC 2253 form, e.g. CN=alice):\n\
     #   pgca  \"/^CN=(.*)$\"  \\1\n"
        .to_string()
}

/// What `pgca server-config` prints: both files' lines, with comments saying what each does.
pub fn server_config_text(ca: &CaDir, name: &str, data_dir: Option<&Path>) -> Result<String> {
    let info = ca.current_cert(CertKind::Server, name)?;
    let include = data_dir.map_or_else(
        || PathBuf::from("DATA").join(INCLUDE_FILE),
        |d| d.join(INCLUDE_FILE),
    );
    Ok(format!(
        "# postgresql.conf: TLS with the server certificate {name:?} (clients may use host={})\n\
         # `pgca deploy-server {name} --data-dir DATA` installs the files and writes these lines to\n\
         # {}; then add, at the end of postgresql.conf:  include_if_exists = {}\n\
         {}\n\
         # pg_hba.conf: put these before other host lines (the first matching line wins)\n\
         {}",
        info.sans.join(", host="),
        include.display(),
        conf_quote(&include),
        postgresql_conf(data_dir, ca.crl_path(Side::Client).exists()),
        pg_hba_conf()
    ))
}

/// What [`CaDir::deploy_server`] installed.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Deployed {
    /// The data directory, absolute.
    pub data_dir: PathBuf,
    /// The serial of the installed certificate.
    pub serial: Serial,
    /// The include file to reference from postgresql.conf.
    pub include_file: PathBuf,
    /// The installed certificate, key and client CA (through the `current` link).
    pub cert: PathBuf,
    /// The installed key.
    pub key: PathBuf,
    /// The installed client CA.
    pub client_ca: PathBuf,
}

impl CaDir {
    /// The current certificate of a server or client, read from its live path.
    pub fn current_cert(&self, kind: CertKind, name: &str) -> Result<CertInfo> {
        let path = self.cert_path(kind, name);
        if fs::symlink_metadata(&path).is_err() {
            let (kind, command) = if kind == CertKind::Server {
                ("server", "issue-server")
            } else {
                ("client", "issue-client")
            };
            return Err(Error::NotIssued {
                kind,
                name: name.to_string(),
                dir: self.root().to_path_buf(),
                command,
            });
        }
        CertInfo::from_file(&path)
    }

    /// Installs the server certificate `name`, its key and the client CA into a PostgreSQL data
    /// directory, owned by `owner` (default: the data directory's owner, i.e. the database user;
    /// `root` gives root-owned files with the key 0640 in the database user's group, the other
    /// ownership PostgreSQL accepts),
    /// writes `DATA/pgca_ssl.conf`, and records the deployment so renewal can repeat it.
    pub fn deploy_server(
        &self,
        name: &str,
        data_dir: &Path,
        owner: Option<&str>,
    ) -> Result<Deployed> {
        let data_dir =
            fs::canonicalize(data_dir).map_err(Error::io("open data directory", data_dir))?;
        if !data_dir.join("PG_VERSION").is_file() {
            return Err(Error::NotADataDir(data_dir));
        }
        let m = fs::metadata(&data_dir).map_err(Error::io("read", &data_dir))?;
        let ids = match owner {
            // PostgreSQL's other accepted form: owned by root, mode 0640, the database user's group.
            Some(u) if storage::lookup_user(u)?.0 == 0 => (0, m.gid()),
            Some(u) => storage::lookup_user(u)?,
            None => (m.uid(), m.gid()),
        };
        // Root-owned for another database user: the group must reach the files.
        let group_access = ids.0 == 0 && m.uid() != 0;
        let (key_mode, dir_mode) = if group_access {
            (0o640, 0o750)
        } else {
            (KEY_MODE, DIR_MODE)
        };

        // Read a matching pair while no writer can swap it.
        let (cert_pem, key_pem, ca_pem, info, crl_pem) = {
            let _lock = DirLock::shared(self.root())?;
            let info = self.current_cert(CertKind::Server, name)?;
            let cert_path = self.cert_path(CertKind::Server, name);
            let key_path = self.key_path(CertKind::Server, name);
            let cert_pem = storage::read(&cert_path, "read certificate")?;
            let key_pem = zeroize::Zeroizing::new(storage::read(&key_path, "read key")?);
            let key = PrivateKey::from_pem(&String::from_utf8_lossy(&key_pem), &key_path)?;
            if key.public_key_der() != info.spki_der {
                return Err(Error::KeyMismatch {
                    key: key_path,
                    cert: cert_path,
                });
            }
            let ca_pem = storage::read(&self.ca_cert_path(Side::Client), "read CA certificate")?;
            // The client CA's CRL goes along once there is one: PostgreSQL then refuses revoked
            // client certificates.
            let crl_path = self.crl_path(Side::Client);
            let crl_pem = if crl_path.exists() {
                Some(storage::read(&crl_path, "read CRL")?)
            } else {
                None
            };
            (cert_pem, key_pem, ca_pem, info, crl_pem)
        };

        let tls = data_dir.join(TLS_DIR);
        storage::ensure_private_dir(&tls)?;
        storage::chown(&tls, ids)?;
        fs::set_permissions(&tls, fs::Permissions::from_mode(dir_mode))
            .map_err(Error::io("set permissions of", &tls))?;
        let version = format!("{}.{}", info.serial, storage::random_hex(3));
        let tmp = storage::temp_path(&tls.join(&version));
        DirBuilder::new()
            .mode(DIR_MODE)
            .create(&tmp)
            .map_err(Error::io("create directory", &tmp))?;
        let staged = (|| {
            let crl = crl_pem
                .as_deref()
                .map(|c| ("client-ca.crl", c, PUBLIC_MODE));
            for (file, bytes, mode) in [
                ("server.key", &key_pem[..], key_mode),
                ("server.crt", &cert_pem[..], PUBLIC_MODE),
                ("client-ca.crt", &ca_pem[..], PUBLIC_MODE),
            ]
            .into_iter()
            .chain(crl)
            {
                let p = tmp.join(file);
                storage::create_file(&p, bytes, mode, "write")?;
                storage::chown(&p, ids)?;
            }
            storage::chown(&tmp, ids)?;
            fs::set_permissions(&tmp, fs::Permissions::from_mode(dir_mode))
                .map_err(Error::io("set permissions of", &tmp))?;
            fs::rename(&tmp, tls.join(&version))
                .map_err(Error::io("move into place", tls.join(&version)))
        })();
        if let Err(e) = staged {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        storage::sync_dir(&tls)?;
        let current = tls.join("current");
        let previous = fs::read_link(&current).ok();
        storage::swap_symlink(Path::new(&version), &current)?;
        storage::chown(&current, ids)?;
        storage::sync_dir(&tls)?;
        // Keep the pair in use and the one before it; drop older ones and crash leftovers.
        for e in fs::read_dir(&tls)
            .map_err(Error::io("read directory", &tls))?
            .flatten()
        {
            let n = e.file_name();
            let keep = n == "current"
                || n == version.as_str()
                || previous.as_deref().is_some_and(|p| p == Path::new(&n));
            if !keep {
                let _ = fs::remove_dir_all(e.path());
            }
        }

        let include = data_dir.join(INCLUDE_FILE);
        let text = format!(
            "# Written by `pgca deploy-server {name}` ({}): rewritten on every deployment and renewal.\n\
             # Include it at the end of postgresql.conf:  include_if_exists = {}\n{}",
            info.serial,
            conf_quote(&include),
            postgresql_conf(Some(&data_dir), crl_pem.is_some())
        );
        storage::replace_file(&include, text.as_bytes(), PUBLIC_MODE, Some(ids), "write")?;

        {
            let _lock = self.write_lock()?;
            let event = Event::Deployed(Deployment {
                name: name.to_string(),
                data_dir: data_dir.clone(),
                serial: info.serial.clone(),
                owner: owner.map(str::to_string),
                at: timefmt::now(),
            });
            inventory::append(&inventory::path_in(self.root()), &[event])?;
        }
        let live = current;
        Ok(Deployed {
            serial: info.serial,
            include_file: include,
            cert: live.join("server.crt"),
            key: live.join("server.key"),
            client_ca: live.join("client-ca.crt"),
            data_dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_paths_are_quoted_for_postgresql() {
        assert_eq!(conf_quote(Path::new("/a/it's")), "'/a/it''s'");
        let relative = postgresql_conf(None, false);
        assert!(!relative.contains("ssl_crl_file"));
        assert!(
            postgresql_conf(None, true).contains("ssl_crl_file = 'pgca-tls/current/client-ca.crl'")
        );
        assert!(
            relative.contains("ssl_cert_file = 'pgca-tls/current/server.crt'"),
            "{relative}"
        );
        assert!(relative.contains("ssl_min_protocol_version = 'TLSv1.3'"));
        let absolute = postgresql_conf(Some(Path::new("/var/lib/pg")), false);
        assert!(
            absolute.contains("ssl_ca_file = '/var/lib/pg/pgca-tls/current/client-ca.crt'"),
            "{absolute}"
        );
    }
}
