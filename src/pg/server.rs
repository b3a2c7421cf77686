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

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::inventory::{Deployment, Event};
use crate::model::kind::CertKind;
use crate::model::kind::Side;
use crate::model::names::CertName;
use crate::model::serial::Serial;
use crate::model::timefmt;
use crate::storage::{self, DIR_MODE, KEY_MODE, Lock, LockKind, PUBLIC_MODE, Trust};
use crate::store::layout::CaDir;
use crate::x509::inspect::CertInfo;
use time::OffsetDateTime;

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

/// The postgresql.conf lines of the guides' checklist beyond TLS: what `pgca audit` checks
/// (passwords stored as SCRAM, connections and DDL logged), and where to listen.
pub fn hardening_conf() -> String {
    "# postgresql.conf: the rest of the checklist pgca audit checks\n\
     # listen_addresses = 'ADDRESS'         # only the addresses clients connect to, never '*'\n\
     password_encryption = 'scram-sha-256'  # new passwords stored as SCRAM, never md5\n\
     log_connections = on                   # the audit trail: who connected, how\n\
     log_disconnections = on                # and for how long\n\
     log_statement = 'ddl'                  # and every change to the schema or the roles\n"
        .to_string()
}

/// What `pgca server-config` prints: both files' lines, with comments saying what each does.
pub fn server_config_text(ca: &CaDir, name: &CertName, data_dir: Option<&Path>) -> Result<String> {
    let info = ca.current_cert(CertKind::Server, name)?;
    let include = data_dir.map_or_else(
        || PathBuf::from("DATA").join(INCLUDE_FILE),
        |d| d.join(INCLUDE_FILE),
    );
    Ok(format!(
        "# postgresql.conf: TLS with the server certificate {:?} (clients may use host={})\n\
         # `pgca deploy-server {name} --data-dir DATA` installs the files and writes these lines to\n\
         # {}; then add, at the end of postgresql.conf:  include_if_exists = {}\n\
         {}\n\
         {}\n\
         # pg_hba.conf: put these before other host lines (the first matching line wins)\n\
         {}",
        name.as_str(),
        info.sans.join(", host="),
        include.display(),
        conf_quote(&include),
        postgresql_conf(data_dir, ca.crl_path(Side::Client).exists()),
        hardening_conf(),
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
    pub fn current_cert(&self, kind: CertKind, name: &CertName) -> Result<CertInfo> {
        let name = name.as_str();
        let path = self.cert_path(kind, name);
        if fs::symlink_metadata(&path).is_err() {
            return Err(self.not_issued(kind, name));
        }
        CertInfo::from_file(&path)
    }

    /// Installs the server certificate `name`, its key and the client CA into a PostgreSQL data
    /// directory, owned by `owner` (default: the data directory's owner, i.e. the database user;
    /// `root` gives root-owned files with the key 0640 in the database user's group, the other
    /// ownership PostgreSQL accepts),
    /// writes `DATA/pgca_ssl.conf`, and records the deployment so renewal can repeat it.
    ///
    /// The data directory belongs to the database user, who can change anything in it: every
    /// directory on the way must be owned by root or that user (see [`crate::storage`]), the
    /// data directory is opened once, and everything below it is done relative to that handle
    /// without following a symbolic link (`DATA/pgca-tls` as a link is refused). Deployments
    /// into one data directory take turns (they lock `pgca-tls`), so `current` always points at
    /// a complete pair. A revoked certificate, or a file that is not the certificate the
    /// inventory records, is never deployed.
    pub fn deploy_server(
        &self,
        name: &CertName,
        data_dir: &Path,
        owner: Option<&str>,
    ) -> Result<Deployed> {
        self.deploy_server_to(name.as_str(), data_dir, owner, None)
    }

    /// [`CaDir::deploy_server`], requiring the data directory to be owned by `uid` when given
    /// (renewal passes the owner recorded at the first deployment).
    pub(crate) fn deploy_server_to(
        &self,
        name: &str,
        data_dir: &Path,
        owner: Option<&str>,
        uid: Option<u32>,
    ) -> Result<Deployed> {
        check_data_dir_path(data_dir)?;
        let pair = self.live_with_key(CertKind::Server, name)?;
        let (ca_pem, crl_pem) = {
            let _lock = self.read_lock()?;
            let ca_pem = storage::read(&self.ca_cert_path(Side::Client), "read CA certificate")?;
            // The client CA's CRL goes along once there is one: PostgreSQL then refuses revoked
            // client certificates.
            let crl_path = self.crl_path(Side::Client);
            let crl_pem = if crl_path.exists() {
                Some(storage::read(&crl_path, "read CRL")?)
            } else {
                None
            };
            (ca_pem, crl_pem)
        };
        let files = ServerFiles {
            cert_pem: &pair.cert_pem,
            key_pem: &pair.key_pem,
            client_ca_pem: &ca_pem,
            crl_pem: crl_pem.as_deref(),
            server_ca_pem: None,
            serial: &pair.info.serial,
        };
        let how = Placement {
            owner,
            uid,
            wait: self.lock_wait(storage::Wait::WRITER),
            written_by: format!("`pgca deploy-server {name}`"),
            rewritten: "rewritten on every deployment and renewal",
        };
        let (deployed, data_dir_uid) = write_deployment(&files, data_dir, &how)?;
        {
            let _lock = self.write_lock()?;
            let mut deployment = Deployment::new(
                name.to_string(),
                deployed.data_dir.clone(),
                deployed.serial.clone(),
                owner.map(str::to_string),
                timefmt::now(),
            );
            deployment.data_dir_uid = Some(data_dir_uid);
            self.append_events(&[Event::Deployed(deployment)])?;
        }
        Ok(deployed)
    }
}

/// What `deploy-server --cert FILE --key FILE --ca-file FILE` installs, and how: the files a
/// database host holds without a CA directory (its own key, and the certificate and client CA
/// the CA host sent back).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DeployFiles {
    /// The server certificate (PEM), extended key usage serverAuth.
    pub cert: PathBuf,
    /// Its key (unencrypted PKCS#8 PEM): owned by root or the user pgca runs as, at most 0600
    /// (root's: 0640), one hard link.
    pub key: PathBuf,
    /// The client CA certificate (PEM; several for a CA rollover): PostgreSQL's `ssl_ca_file`,
    /// which client certificates must chain to.
    pub client_ca: PathBuf,
    /// Owner of the installed files (see [`CaDir::deploy_server`]); default the data
    /// directory's owner.
    pub owner: Option<String>,
    /// The client CA's CRL (PEM), PostgreSQL's `ssl_crl_file`: revoked client certificates are
    /// refused. It must be signed by the client CA and current (not past its nextUpdate), and
    /// every CA of [`DeployFiles::client_ca`] needs one (PostgreSQL refuses every client of a
    /// CA without a current CRL once one is set).
    pub crl: Option<PathBuf>,
    /// How long to wait for another deployment into the same data directory.
    pub wait: Option<storage::Wait>,
    /// The time the certificate must be valid at; `None`: the system clock.
    pub now: Option<OffsetDateTime>,
}

impl DeployFiles {
    /// The three files, owned as the data directory is, the default wait, the system clock.
    pub fn new(cert: PathBuf, key: PathBuf, client_ca: PathBuf) -> DeployFiles {
        DeployFiles {
            cert,
            key,
            client_ca,
            crl: None,
            owner: None,
            wait: None,
            now: None,
        }
    }
}

/// Installs a server certificate, its key and the client CA given as files into a PostgreSQL
/// data directory, without a CA directory: the same files, modes, owners, `current` switch and
/// `DATA/pgca_ssl.conf` as [`CaDir::deploy_server`], through the same writer, and under the same
/// rules for the data directory. Nothing is recorded (there is no inventory on the database host;
/// renewal on the CA host does not redeploy it).
///
/// Before anything is written, the files are read safely and checked: no link or directory
/// another user controls on the way; a key only under PostgreSQL's own rule (owned by root or the
/// user pgca runs as, at most 0600, or 0640 for root's) and not encrypted; the certificate a
/// server certificate (serverAuth, not a CA), valid at `now`, whose public key is the key's; the
/// client CA file CA certificates only, none of them the CA that signed the server certificate.
pub fn deploy_files(req: &DeployFiles, data_dir: &Path) -> Result<Deployed> {
    check_data_dir_path(data_dir)?;
    let now = req.now.unwrap_or_else(timefmt::now);
    let paths = crate::pg::given::Paths {
        cert: &req.cert,
        key: &req.key,
        ca: &req.client_ca,
        crl: req.crl.as_deref(),
    };
    let given = crate::pg::given::read_checked(crate::pg::given::Use::Server, &paths, now)?;
    let files = ServerFiles {
        cert_pem: &given.cert_pem,
        key_pem: &given.key_pem,
        client_ca_pem: &given.ca_pem,
        crl_pem: given.crl_pem.as_deref(),
        server_ca_pem: None,
        serial: &given.info.serial,
    };
    let how = Placement {
        owner: req.owner.as_deref(),
        uid: None,
        wait: req.wait.unwrap_or(storage::Wait::WRITER),
        written_by: "`pgca deploy-server --cert`".to_string(),
        rewritten: "rewritten on every deployment",
    };
    write_deployment(&files, data_dir, &how).map(|(d, _)| d)
}

/// [`deploy_files`] for a pair held in memory ([`GivenPems`](crate::pg::given::GivenPems)):
/// `pgca enroll --data-dir` and `pgca agent`. The same checks (the CA bundle is the client CA
/// here), files, owners and `current` switch.
pub fn deploy_pems(
    pems: &crate::pg::given::GivenPems,
    data_dir: &Path,
    owner: Option<&str>,
    written_by: &str,
) -> Result<Deployed> {
    check_data_dir_path(data_dir)?;
    let given = pems.checked(crate::pg::given::Use::Server)?;
    let files = ServerFiles {
        cert_pem: &given.cert_pem,
        key_pem: &given.key_pem,
        client_ca_pem: &given.ca_pem,
        crl_pem: given.crl_pem.as_deref(),
        server_ca_pem: pems.server_ca_pem.as_deref(),
        serial: &given.info.serial,
    };
    let how = Placement {
        owner,
        uid: None,
        wait: storage::Wait::WRITER,
        written_by: written_by.to_string(),
        rewritten: "rewritten on every renewal",
    };
    write_deployment(&files, data_dir, &how).map(|(d, _)| d)
}

/// Refuses a data directory path that cannot be written into postgresql.conf.
fn check_data_dir_path(data_dir: &Path) -> Result<()> {
    let shown = data_dir.to_string_lossy();
    if shown.chars().any(char::is_control) || data_dir.to_str().is_none() {
        return Err(Error::InvalidValue {
            what: "data directory",
            value: shown.into_owned(),
            reason: "control characters and non-UTF-8 bytes cannot be written into postgresql.conf",
        });
    }
    Ok(())
}

/// What a deployment writes, read and checked by the caller.
struct ServerFiles<'a> {
    cert_pem: &'a [u8],
    key_pem: &'a [u8],
    client_ca_pem: &'a [u8],
    crl_pem: Option<&'a [u8]>,
    /// The server CA bundle, kept beside as `server-ca.crt` (what `pgca agent` trusts its CA
    /// service with); PostgreSQL does not read it.
    server_ca_pem: Option<&'a [u8]>,
    serial: &'a Serial,
}

/// Whose the deployed files are, and what wrote them.
struct Placement<'a> {
    /// `--owner`.
    owner: Option<&'a str>,
    /// The data directory's owner recorded at the first deployment (renewal).
    uid: Option<u32>,
    /// The wait for the `pgca-tls` lock.
    wait: storage::Wait,
    /// Named in the include file's first comment line (no user input: it is configuration).
    written_by: String,
    /// When the include file is written again, for that line.
    rewritten: &'static str,
}

/// The one writer of a deployment, for both [`CaDir::deploy_server`] and [`deploy_files`]:
/// checks the data directory, writes a fresh `pgca-tls/<serial>.<random>/`, switches `current`
/// to it, drops older pairs and writes the include file. Returns what was deployed and the data
/// directory's owner.
fn write_deployment(
    files: &ServerFiles<'_>,
    data_dir: &Path,
    how: &Placement<'_>,
) -> Result<(Deployed, u32)> {
    check_data_dir_path(data_dir)?;
    let named_owner = how.owner.map(storage::lookup_user).transpose()?;
    // The database user: the recorded one, else whoever owns the data directory now.
    let db_uid = match how.uid {
        Some(u) => u,
        None => fs::metadata(data_dir)
            .map_err(Error::io("open data directory", data_dir))?
            .uid(),
    };
    let data = storage::open_dir(data_dir, &Trust::with_owner(db_uid), None)?;
    let st = data.stat()?;
    let is_version_file = data
        .stat_at("PG_VERSION")?
        .is_some_and(|s| s.st_mode & 0o170000 == 0o100000);
    if !is_version_file {
        return Err(Error::NotADataDir(data.path().to_path_buf()));
    }
    if st.st_uid != db_uid {
        let who = |uid| match storage::user_name(uid) {
            Some(n) => format!("{n} (uid {uid})"),
            None => format!("uid {uid}"),
        };
        return Err(Error::DataDirOwner {
            path: data.path().to_path_buf(),
            found: who(st.st_uid),
            expected: Some(who(db_uid)),
        });
    }
    // Every directory on the way is trusted, so resolving the path again is safe: it gives
    // the absolute path PostgreSQL is to be told.
    let data_dir =
        fs::canonicalize(data_dir).map_err(Error::io("open data directory", data_dir))?;
    let ids = match named_owner {
        // PostgreSQL's other accepted form: owned by root, mode 0640, the database user's group.
        Some((0, _)) => (0, st.st_gid),
        Some(ids) => ids,
        None => (st.st_uid, st.st_gid),
    };
    // Root-owned for another database user: the group must reach the files.
    let group_access = ids.0 == 0;
    let (key_mode, dir_mode) = if group_access {
        (0o640, 0o750)
    } else {
        (KEY_MODE, DIR_MODE)
    };
    let serial = files.serial.clone();

    let tls = data.create_dir(TLS_DIR, dir_mode, Some(ids))?;
    let tls_owner = tls.stat()?.st_uid;
    if ![0, ids.0, st.st_uid].contains(&tls_owner) {
        return Err(Error::Untrusted {
            path: tls.path().to_path_buf(),
            why: crate::error::Distrust::Owner {
                uid: tls_owner,
                name: storage::user_name(tls_owner),
            },
        });
    }
    let _deploying = Lock::dir(&tls, LockKind::Exclusive, how.wait)?;
    tls.chown(ids.0, ids.1)?;
    tls.chmod(dir_mode)?;
    let version = format!("{serial}.{}", crate::model::hex::random(3));
    let tmp = storage::temp_name(&version);
    let staged = (|| {
        let dir = tls.create_dir_new(&tmp, DIR_MODE)?;
        let crl = files.crl_pem.map(|c| ("client-ca.crl", c, PUBLIC_MODE));
        let server_ca = files
            .server_ca_pem
            .map(|c| ("server-ca.crt", c, PUBLIC_MODE));
        for (file, bytes, mode) in [
            ("server.key", files.key_pem, key_mode),
            ("server.crt", files.cert_pem, PUBLIC_MODE),
            ("client-ca.crt", files.client_ca_pem, PUBLIC_MODE),
        ]
        .into_iter()
        .chain(crl)
        .chain(server_ca)
        {
            dir.create_file(file, bytes, mode, Some(ids), true, "write")?;
        }
        dir.chown(ids.0, ids.1)?;
        dir.chmod(dir_mode)?;
        dir.sync()?;
        tls.rename(&tmp, &version)
    })();
    if let Err(e) = staged {
        let _ = tls.remove_tree(&tmp);
        return Err(e);
    }
    tls.sync()?;
    let previous = tls.read_link("current");
    tls.swap_symlink(Path::new(&version), "current", Some(ids))?;
    tls.sync()?;
    // Keep the pair in use and the one before it; drop older ones and crash leftovers.
    for n in tls.entries()? {
        let keep = n == "current"
            || n == version.as_str()
            || previous.as_deref().is_some_and(|p| p == Path::new(&n));
        if !keep {
            let _ = tls.remove_tree(&n.to_string_lossy());
        }
    }

    let include = data_dir.join(INCLUDE_FILE);
    let text = format!(
        "# Written by {} ({serial}): {}.\n\
         # Include it at the end of postgresql.conf:  include_if_exists = {}\n{}",
        how.written_by,
        how.rewritten,
        conf_quote(&include),
        postgresql_conf(Some(&data_dir), files.crl_pem.is_some())
    );
    data.replace_file(
        INCLUDE_FILE,
        text.as_bytes(),
        PUBLIC_MODE,
        Some(ids),
        "write",
    )?;
    let live = data_dir.join(TLS_DIR).join("current");
    Ok((
        Deployed {
            serial,
            include_file: include,
            cert: live.join("server.crt"),
            key: live.join("server.key"),
            client_ca: live.join("client-ca.crt"),
            data_dir,
        },
        st.st_uid,
    ))
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
