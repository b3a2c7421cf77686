//! The client side: a role's files where libpq looks for them, and the variables that point
//! libpq at them.
//!
//! libpq does no `~` expansion and resolves relative paths from the client's working directory,
//! so every path pgca hands to libpq is absolute.

use std::fs;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::inventory::{Event, Install, InstallForgotten};
use crate::model::kind::CertKind;
use crate::model::kind::Side;
use crate::model::names::{HostName, RoleName};
use crate::model::passphrase::Passphrase;
use crate::pg::service::edit::{ServiceFile, Upserted};
use crate::storage::{self, DIR_MODE, KEY_MODE, PUBLIC_MODE};
use crate::store::layout::CaDir;
use crate::store::options::{IssueOptions, IssuedCert};
use zeroize::Zeroizing;

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
    /// The role's key as PKCS#8 DER, what pgjdbc's `sslkey` reads: [`ClientPaths::key`] with the
    /// extension `pk8`, beside it. Issuing does not write it: [`CaDir::conninfo`] for
    /// [`Driver::Jdbc`](crate::pg::conninfo::Driver::Jdbc) does, from the current key, before it
    /// prints the URL that names it (as `pgca export ROLE --format pk8 --out` this path would).
    /// (`pgca client-install` writes the same key as `postgresql.pk8` in the directory it
    /// installs to, pgjdbc's default.)
    pub key_pk8: PathBuf,
}

/// What [`CaDir::client_install`] wrote.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientInstalled {
    /// The directory (`~/.postgresql`).
    pub dir: PathBuf,
    /// `postgresql.crt`, `postgresql.key`, `root.crt` and `postgresql.pk8` in it.
    pub files: [PathBuf; 4],
    /// The role the certificate is for.
    pub role: RoleName,
    /// The uid the files belong to.
    pub uid: u32,
}

/// Where and how a role connects: the settings of a verify-full connection.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Connection {
    /// The role (`user`), whose certificate the connection presents.
    pub role: RoleName,
    /// The server's host name (`host`), one of its certificate's names.
    pub host: HostName,
    /// The port (`port`).
    pub port: u16,
    /// The database (`dbname`); libpq's default (the role's name) when `None`.
    pub dbname: Option<String>,
    /// Also check the server's certificate against the server CA's CRL (`sslcrl`).
    pub crl: bool,
}

impl Connection {
    /// `role` to `host` on port 5432, no database named, no CRL.
    pub fn new(role: RoleName, host: HostName) -> Connection {
        Connection {
            role,
            host,
            port: 5432,
            dbname: None,
            crl: false,
        }
    }
}

/// A service entry to write: which file, which section, for whom.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServiceRequest {
    /// The service file (see [`crate::pg::service::resolve_path`]).
    pub file: PathBuf,
    /// The section's name (`psql "service=NAME"`).
    pub name: String,
    /// Write the file for this user (uid, gid); else as the user pgca runs as.
    pub owner: Option<(u32, u32)>,
    /// Replace an existing section of the same name.
    pub force: bool,
    /// Also write `sslpassword`, the client key's passphrase (see
    /// [`CaDir::issue_client_with_service`]).
    pub sslpassword: bool,
}

impl ServiceRequest {
    /// The section `name` of `file`, written as the user pgca runs as, not replacing one.
    pub fn new(file: PathBuf, name: impl Into<String>) -> ServiceRequest {
        ServiceRequest {
            file,
            name: name.into(),
            owner: None,
            force: false,
            sslpassword: false,
        }
    }
}

/// Where [`CaDir::client_install`] puts a role's files, and for whom.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct InstallOptions {
    /// The directory; default `~/.postgresql` of the owner, else of `$HOME`.
    pub to: Option<PathBuf>,
    /// The user the files are for (a name or uid); default the user pgca runs as.
    pub owner: Option<String>,
    /// Replace existing files.
    pub force: bool,
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
        self.live_with_key(CertKind::Client, role.as_str())?;
        self.client_paths_unchecked(role)
    }

    /// [`CaDir::client_paths`] without checking that the certificate exists (yet).
    pub fn client_paths_unchecked(&self, role: &RoleName) -> Result<ClientPaths> {
        let root =
            fs::canonicalize(self.root()).map_err(Error::io("open CA directory", self.root()))?;
        let abs = CaDir::open(&root)?;
        let key = abs.key_path(CertKind::Client, role.as_str());
        let paths = ClientPaths {
            root_cert: abs.ca_cert_path(Side::Server),
            cert: abs.cert_path(CertKind::Client, role.as_str()),
            key_pk8: key.with_extension("pk8"),
            key,
        };
        if paths.key.to_string_lossy().contains(':') {
            return Err(Error::UnsafePath {
                path: paths.key,
                reason: "libpq may read a ':' in sslkey as engine:key",
            });
        }
        Ok(paths)
    }

    /// The `key=value` settings of a verify-full service entry for `conn` (absolute paths).
    /// With `check`, the role's certificate must already exist.
    pub fn service_entries(
        &self,
        conn: &Connection,
        check: bool,
    ) -> Result<Vec<(&'static str, String)>> {
        let role = &conn.role;
        let p = if check {
            self.client_paths(role)?
        } else {
            self.client_paths_unchecked(role)?
        };
        let mut e = vec![
            ("host", conn.host.to_string()),
            ("port", conn.port.to_string()),
            ("user", role.as_str().to_string()),
        ];
        if let Some(db) = &conn.dbname {
            e.push(("dbname", db.clone()));
        }
        e.extend([
            ("sslmode", "verify-full".to_string()),
            ("sslrootcert", p.root_cert.display().to_string()),
            ("sslcert", p.cert.display().to_string()),
            ("sslkey", p.key.display().to_string()),
        ]);
        if conn.crl {
            let path = self.crl_path(Side::Server);
            if !path.exists() {
                return Err(Error::NoCrl(path));
            }
            let abs = fs::canonicalize(&path).map_err(Error::io("open CRL", &path))?;
            e.push(("sslcrl", abs.display().to_string()));
        }
        Ok(e)
    }

    /// Writes (or, with [`ServiceRequest::force`], replaces) the section `req.name` of the service
    /// file `req.file` with [`CaDir::service_entries`] for an issued certificate. Everything else
    /// in the file is kept byte for byte. With an owner, the file is written for that user (see
    /// [`crate::pg::service::io::write_file_for`]).
    pub fn add_service(&self, conn: &Connection, req: &ServiceRequest) -> Result<Upserted> {
        let (sf, done) = self.prepare_service(conn, req, None, true)?;
        sf.save_for(req.owner)?;
        Ok(done)
    }

    /// Issues `conn.role`'s client certificate and writes its service entry, as one step: the
    /// entry (its name, every value, an existing entry without `force`) is checked before
    /// anything is issued, so bad input issues nothing, and the file is written after. With
    /// [`ServiceRequest::sslpassword`], the entry carries the client key's passphrase
    /// ([`IssueOptions::key_passphrase`]).
    pub fn issue_client_with_service(
        &self,
        conn: &Connection,
        opts: &IssueOptions,
        req: &ServiceRequest,
    ) -> Result<(IssuedCert, Upserted)> {
        let password = match (req.sslpassword, &opts.key_passphrase) {
            (false, _) => None,
            (true, Some(p)) => Some(p),
            (true, None) => {
                return Err(Error::BadPassphrase {
                    from: "sslpassword".into(),
                    reason: "the client key has no passphrase to write",
                });
            }
        };
        let (sf, done) = self.prepare_service(conn, req, password, false)?;
        let issued = self.issue_client(&conn.role, opts)?;
        sf.save_for(req.owner)?;
        Ok((issued, done))
    }

    /// The service file with the entry upserted, in memory.
    fn prepare_service(
        &self,
        conn: &Connection,
        req: &ServiceRequest,
        password: Option<&Passphrase>,
        check: bool,
    ) -> Result<(ServiceFile, Upserted)> {
        let entries = self.service_entries(conn, check)?;
        let mut sf = crate::pg::service::io::read_file(&req.file)?;
        let password =
            password.map(|p| Zeroizing::new(String::from_utf8_lossy(p.as_bytes()).into_owned()));
        let mut pairs: Vec<(&str, &str)> = entries.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if let Some(pw) = &password {
            pairs.push(("sslpassword", pw.as_str()));
        }
        let done = sf.upsert(&req.name, &pairs, req.force)?;
        Ok((sf, done))
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
    /// The key is also written as `postgresql.pk8` (0600): the same PKCS#8 document in DER,
    /// which is what pgjdbc reads by default (it refuses PEM), so a Java client with
    /// `sslmode=verify-full` needs no other option either. An encrypted key stays encrypted: its
    /// `.pk8` is the same `EncryptedPrivateKeyInfo` (pgca never decrypts a client's key).
    ///
    /// The files belong to `owner` (a user name or uid), else to the user pgca runs as: never
    /// to whoever happens to own the directory. The directory must be owned by that user (it is
    /// created, 0700, if missing), every directory on the way by root or that user, and a
    /// symbolic link at a file's name is replaced, never followed. A revoked certificate is not
    /// installed.
    pub fn client_install(
        &self,
        role: &RoleName,
        opts: &InstallOptions,
    ) -> Result<ClientInstalled> {
        let pair = self.live_with_key(CertKind::Client, role.as_str())?;
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
        let files = ClientFiles {
            cert_pem: &pair.cert_pem,
            key_pem: &pair.key_pem,
            key_path: self.key_path(CertKind::Client, role.as_str()),
            root_pem: &root,
            crl_pem: crl.as_deref(),
        };
        let done = write_client_files(&files, role, opts)?;
        // Recorded, so that renewal installs the next pair here too and check and verify see a
        // copy left behind.
        let _lock = self.write_lock()?;
        self.append_events(&[Event::Installed(Install {
            role: role.as_str().to_string(),
            dir: storage::absolute(&done.dir),
            serial: pair.info.serial.clone(),
            owner: opts.owner.clone(),
            uid: done.uid,
            at: crate::model::timefmt::now(),
        })])?;
        Ok(done)
    }

    /// Drops the record of a role's install in a directory (`client-install ROLE --forget`):
    /// renewal no longer installs there, and check and verify no longer look at it. The files
    /// stay where they are. The directory is found as [`CaDir::client_install`] finds it.
    pub fn forget_install(&self, role: &RoleName, opts: &InstallOptions) -> Result<PathBuf> {
        let (dir, _) = install_dir(opts)?;
        let dir = storage::absolute(&dir);
        let _lock = self.write_lock()?;
        let ledger = self.read_inventory()?;
        if !ledger
            .installs()
            .iter()
            .any(|i| i.role == role.as_str() && i.dir == dir)
        {
            return Err(Error::NotInstalled {
                role: role.as_str().to_string(),
                dir,
            });
        }
        self.append_events(&[Event::InstallForgotten(InstallForgotten {
            role: role.as_str().to_string(),
            dir: dir.clone(),
            at: crate::model::timefmt::now(),
        })])?;
        Ok(dir)
    }
}

/// Where a client install goes, and whose it is: `--to`, else `~/.postgresql` of `--owner`,
/// else of `$HOME`; the owner's (uid, gid), else the invoking user's.
fn install_dir(opts: &InstallOptions) -> Result<(PathBuf, (u32, u32))> {
    let (to, owner) = (opts.to.as_deref(), opts.owner.as_deref());
    let ids = match owner {
        Some(u) => storage::lookup_user(u)?,
        None => storage::invoker_ids(),
    };
    let dir = match (to, owner) {
        (Some(d), _) => d.to_path_buf(),
        (None, Some(u)) => storage::user_home(ids.0)
            .map(|h| h.join(".postgresql"))
            .ok_or_else(|| Error::NoHome(Some(u.to_string())))?,
        (None, None) => default_client_dir().ok_or(Error::NoHome(None))?,
    };
    Ok((dir, ids))
}

/// What `client-install --cert FILE --key FILE --root FILE` installs: the files a client host
/// holds without a CA directory (its own key, and the certificate and server CA the CA host sent
/// back).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct InstallFiles {
    /// The client certificate (PEM), extended key usage clientAuth, CN the role.
    pub cert: PathBuf,
    /// Its key (unencrypted PKCS#8 PEM): owned by root or the user pgca runs as, at most 0600
    /// (root's: 0640), one hard link.
    pub key: PathBuf,
    /// The server CA certificate (PEM; several for a CA rollover): libpq's `sslrootcert`, which
    /// the server's certificate must chain to.
    pub root: PathBuf,
    /// The server CA's CRL (PEM), written as `root.crl`, where libpq looks for one: a revoked
    /// server certificate is refused. It must be signed by the server CA and current, and every
    /// CA of [`InstallFiles::root`] needs one (libpq checks the whole chain once a CRL loads).
    pub crl: Option<PathBuf>,
    /// The time the certificate must be valid at; `None`: the system clock.
    pub now: Option<time::OffsetDateTime>,
}

impl InstallFiles {
    /// The three files, checked against the system clock.
    pub fn new(cert: PathBuf, key: PathBuf, root: PathBuf) -> InstallFiles {
        InstallFiles {
            cert,
            key,
            root,
            crl: None,
            now: None,
        }
    }
}

/// Installs a client certificate, its key and the server CA given as files where libpq looks
/// by default, without a CA directory: the same files, modes and owners as
/// [`CaDir::client_install`], through the same writer and under the same rules for the
/// directory (`postgresql.crt`, `postgresql.key` and `postgresql.pk8` 0600, `root.crt`;
/// existing files replaced only with [`InstallOptions::force`]). The role is the
/// certificate's CN ([`ClientInstalled::role`]).
///
/// Before anything is written, the files are read safely and checked: no link or directory
/// another user controls on the way; a key only under libpq's own rule (owned by root or the
/// user pgca runs as, at most 0600, or 0640 for root's) and not encrypted; the certificate a
/// client certificate (clientAuth, not a CA) whose CN is a valid role, valid now, whose public
/// key is the key's; the root file CA certificates only, none of them the CA that signed the
/// client certificate.
pub fn install_files(files: &InstallFiles, opts: &InstallOptions) -> Result<ClientInstalled> {
    let now = files.now.unwrap_or_else(crate::model::timefmt::now);
    let paths = crate::pg::given::Paths {
        cert: &files.cert,
        key: &files.key,
        ca: &files.root,
        crl: files.crl.as_deref(),
    };
    let given = crate::pg::given::read_checked(crate::pg::given::Use::Client, &paths, now)?;
    install_given(&given, opts)
}

/// [`install_files`] for a pair held in memory ([`GivenPems`](crate::pg::given::GivenPems)):
/// `pgca enroll --to` and `pgca agent --to`. The CA bundle is the server CA (`root.crt`).
pub fn install_pems(
    pems: &crate::pg::given::GivenPems,
    opts: &InstallOptions,
) -> Result<ClientInstalled> {
    let given = pems.checked(crate::pg::given::Use::Client)?;
    install_given(&given, opts)
}

/// Installs a checked client pair: the one step `install_files` and `install_pems` share.
fn install_given(
    given: &crate::pg::given::GivenPair,
    opts: &InstallOptions,
) -> Result<ClientInstalled> {
    let role = given
        .role
        .clone()
        .expect("a client certificate's role is checked");
    let contents = ClientFiles {
        cert_pem: &given.cert_pem,
        key_pem: &given.key_pem,
        key_path: given.key_path.clone(),
        root_pem: &given.ca_pem,
        crl_pem: given.crl_pem.as_deref(),
    };
    write_client_files(&contents, &role, opts)
}

/// What a client install writes, read and checked by the caller.
struct ClientFiles<'a> {
    cert_pem: &'a [u8],
    key_pem: &'a [u8],
    /// Where the key came from, for messages.
    key_path: PathBuf,
    root_pem: &'a [u8],
    crl_pem: Option<&'a [u8]>,
}

/// The one writer of a client install, for both [`CaDir::client_install`] and
/// [`install_files`]: opens (or creates) the directory for its owner, refuses existing files
/// without `force`, and writes `root.crl` (if any), `root.crt`, the key in both encodings and
/// the certificate last.
fn write_client_files(
    files: &ClientFiles<'_>,
    role: &RoleName,
    opts: &InstallOptions,
) -> Result<ClientInstalled> {
    let force = opts.force;
    let (dir, ids) = install_dir(opts)?;
    let key_der = pkcs8_der(files.key_pem).ok_or_else(|| Error::BadKey {
        path: files.key_path.clone(),
        reason: "not a PKCS#8 PEM key".to_string(),
    })?;
    let trust = storage::Trust::with_owner(ids.0);
    let parent = storage::open_dir(storage::parent(&dir), &trust, None)?;
    let name = dir
        .file_name()
        .ok_or_else(|| Error::io("use directory", &dir)(std::io::ErrorKind::InvalidInput.into()))?
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
    let names = [
        "postgresql.crt",
        "postgresql.key",
        "root.crt",
        "postgresql.pk8",
    ];
    if !force {
        for n in names {
            if target.stat_at(n)?.is_some() {
                return Err(Error::CertExists(dir.join(n)));
            }
        }
    }
    // The server CA's CRL, where libpq looks for one (~/.postgresql/root.crl), if there is one.
    let mut writes: Vec<(&str, &[u8], u32)> = Vec::with_capacity(5);
    if let Some(crl) = files.crl_pem {
        writes.push(("root.crl", crl, PUBLIC_MODE));
    }
    // The certificate last: whoever sees it sees its key in both encodings. All are written
    // and synced before any is renamed into place, so that a client connecting meanwhile
    // (libpq reads the certificate, then the key) can meet the old certificate beside a new key
    // only if it reads them across the few renames, not for as long as the rest takes to write.
    // Two files cannot switch at once: only a kept key (`renew --reuse-key`) closes that gap.
    writes.extend([
        (names[2], files.root_pem, PUBLIC_MODE),
        (names[1], files.key_pem, KEY_MODE),
        (names[3], &key_der[..], KEY_MODE),
        (names[0], files.cert_pem, PUBLIC_MODE),
    ]);
    target.replace_files(&writes, mine, "write")?;
    Ok(ClientInstalled {
        files: names.map(|n| dir.join(n)),
        dir,
        role: role.clone(),
        uid: ids.0,
    })
}

/// The DER of a PKCS#8 PEM key, plain (`PRIVATE KEY`) or encrypted (`ENCRYPTED PRIVATE KEY`):
/// the bytes pgjdbc reads from a `.pk8` file. The buffer is wiped when dropped.
fn pkcs8_der(key_pem: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let (label, der) = crate::x509::pem::parse_one(key_pem)?;
    let der = Zeroizing::new(der);
    matches!(label.as_str(), "PRIVATE KEY" | "ENCRYPTED PRIVATE KEY").then_some(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_quotes_and_spaces() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("O'Brien"), "'O'\\''Brien'");
    }

    #[test]
    fn the_pk8_is_the_pem_keys_der_plain_or_encrypted() {
        let key =
            crate::x509::keys::PrivateKey::generate(crate::x509::keys::KeyType::EcdsaP256).unwrap();
        let pem = key.to_pem();
        let der = pkcs8_der(pem.as_bytes()).unwrap();
        assert_eq!(der[0], 0x30);
        assert_eq!(
            crate::x509::pem::encode("PRIVATE KEY", &der),
            pem.as_str(),
            "the same document"
        );
        let pass = Passphrase::new("correct horse");
        let enc = key.to_encrypted_pem(&pass).unwrap();
        let der = pkcs8_der(enc.as_bytes()).unwrap();
        assert!(pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice()).is_ok());
        assert!(
            pkcs8_der(b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")
                .is_none()
        );
        assert!(pkcs8_der(b"not pem").is_none());
    }
}
