//! [`CaDir::export`]: a name's current pair, checked, built into the requested format and
//! written.

use zeroize::Zeroizing;

use super::k8s;
use super::request::{ExportFormat, ExportRequest, Exported, ReplicationCert};
use super::write::{OutFile, Target};
use crate::error::{Error, Result};
use crate::model::kind::{CertKind, Side};
use crate::model::names::RoleName;
use crate::model::timefmt;
use crate::storage::{self, KEY_MODE, PUBLIC_MODE};
use crate::store::layout::CaDir;
use crate::store::live::LivePair;
use crate::store::options::IssueOptions;
use crate::x509::keys::{PrivateKey, is_encrypted_pem};

/// The role CloudNativePG's replication connections use: its `replicationTLSSecret` holds a
/// client certificate for it.
pub const REPLICATION_ROLE: &str = "streaming_replica";

/// A checked pair: current, unrevoked, unexpired.
struct Checked {
    kind: CertKind,
    name: String,
    pair: LivePair,
}

impl Checked {
    /// The certificate's DER.
    fn cert_der(&self) -> Result<Vec<u8>> {
        crate::x509::pem::first_cert_der(&self.pair.cert_pem).map_err(|reason| Error::BadCert {
            path: std::path::PathBuf::from(&self.pair.record.cert),
            reason,
        })
    }

    /// The key as PKCS#8 DER, refusing an encrypted one (which `format` cannot carry).
    fn plain_key_der(&self, ca: &CaDir, format: &'static str) -> Result<Zeroizing<Vec<u8>>> {
        let path = ca.key_path(self.kind, &self.name);
        let text = Zeroizing::new(String::from_utf8_lossy(&self.pair.key_pem).into_owned());
        if is_encrypted_pem(&text) {
            return Err(Error::EncryptedExport { path, format });
        }
        Ok(PrivateKey::from_pem(&text, &path)?.to_pkcs8_der())
    }
}

impl CaDir {
    /// Exports a name's current certificate and key (see [`ExportFormat`] for what each format
    /// writes). Refuses a name with no current certificate, a revoked or expired one, a file
    /// that is not the recorded certificate, an existing output without
    /// [`ExportRequest::force`], and a directory on the way another user controls. Bad input
    /// writes (and, for `cnpg`, issues) nothing.
    ///
    /// `cnpg` needs a server certificate; it carries a `streaming_replica` client certificate,
    /// the current one when it is unrevoked and unexpired, else one issued here (which needs
    /// the client CA's key: see [`CaDir::export_needs_signing`]). No CA key is ever exported.
    pub fn export(&self, req: &ExportRequest) -> Result<Exported> {
        let now = req.now.unwrap_or_else(timefmt::now);
        if let Some(ns) = &req.namespace {
            k8s::check_namespace(ns)?;
        }
        if let Some(n) = &req.secret_name {
            k8s::check_name(n)?;
        }
        let kind = self.export_kind(req)?;
        let checked = self.checked(kind, &req.name, now)?;
        // An external key (`pgca sign`) is not in the CA directory: PEM gives the certificate
        // alone; every format that carries the key is refused.
        let external = checked.pair.record.external_key;
        if external && req.format != ExportFormat::Pem {
            return Err(Error::ExternalKey {
                kind,
                name: req.name.clone(),
            });
        }
        let target = Target::open(&req.out, req.force)?;
        let side = kind.side();
        let read_ca = |side: Side| -> Result<Vec<u8>> {
            let _lock = self.read_lock()?;
            storage::read(&self.ca_cert_path(side), "read CA certificate")
        };
        let prefix = req
            .secret_name
            .clone()
            .unwrap_or_else(|| k8s::sanitise(&format!("pgca-{}-{}", kind.name(), req.name), 200));
        let ns = req.namespace.as_deref();
        let mut secrets = Vec::new();
        let mut replication = None;
        let files = match req.format {
            ExportFormat::Pem => {
                let peer_ca = read_ca(other(side))?;
                let mut files = vec![
                    OutFile {
                        name: "ca.crt".into(),
                        bytes: &peer_ca,
                        mode: PUBLIC_MODE,
                    },
                    OutFile {
                        name: format!("{}.crt", req.name),
                        bytes: &checked.pair.cert_pem,
                        mode: PUBLIC_MODE,
                    },
                ];
                if !external {
                    files.push(OutFile {
                        name: format!("{}.key", req.name),
                        bytes: &checked.pair.key_pem,
                        mode: KEY_MODE,
                    });
                }
                target.write_dir(&files)?
            }
            ExportFormat::Pk8 => {
                // An encrypted key stays encrypted: its EncryptedPrivateKeyInfo DER, which
                // pgjdbc decrypts with sslpassword.
                let (_, der) =
                    crate::x509::pem::parse_one(&checked.pair.key_pem).ok_or_else(|| {
                        Error::BadKey {
                            path: self.key_path(kind, &req.name),
                            reason: "not a PEM file".into(),
                        }
                    })?;
                target.write_file(&Zeroizing::new(der), KEY_MODE)?
            }
            ExportFormat::P12 => {
                let password = req.password.as_ref().ok_or(Error::NoExportPassword)?;
                let key = checked.plain_key_der(self, "p12")?;
                // Every CA of the side's bundle: during a rollover, the old and the new.
                let ca_pem = read_ca(side)?;
                let roots =
                    crate::x509::pem::all_cert_ders(&ca_pem).map_err(|reason| Error::BadCert {
                        path: self.ca_cert_path(side),
                        reason,
                    })?;
                // A hierarchy's leaf file carries its intermediate after it: the chain is that,
                // then the roots.
                let mut chain: Vec<Vec<u8>> =
                    crate::x509::pem::all_cert_ders(&checked.pair.cert_pem)
                        .unwrap_or_default()
                        .into_iter()
                        .skip(1)
                        .collect();
                chain.extend(roots);
                let p12 = crate::x509::pkcs12::encode(
                    &crate::x509::pkcs12::Pkcs12Input {
                        key_pkcs8: &key,
                        cert_der: &checked.cert_der()?,
                        chain: &chain,
                        // pgjdbc's PKCS12KeyManager takes the entry named `user`, whatever
                        // the role; keytool and .NET take any name.
                        friendly_name: crate::x509::pkcs12::PGJDBC_ALIAS,
                    },
                    password,
                )?;
                target.write_file(&p12, KEY_MODE)?
            }
            ExportFormat::K8s => {
                let key = self.plain_key_pem(&checked, "k8s")?;
                let peer_ca = read_ca(other(side))?;
                let yaml = k8s::secret(
                    &prefix,
                    ns,
                    "kubernetes.io/tls",
                    &[
                        ("tls.crt", &checked.pair.cert_pem),
                        ("tls.key", &key),
                        ("ca.crt", &peer_ca),
                    ],
                );
                secrets.push(prefix.clone());
                target.write_file(yaml.as_bytes(), KEY_MODE)?
            }
            ExportFormat::Cnpg => {
                let key = self.plain_key_pem(&checked, "cnpg")?;
                let (server_ca, client_ca) = (read_ca(Side::Server)?, read_ca(Side::Client)?);
                let (repl, issued) = self.replication_pair(req, now)?;
                let repl_key = self.plain_key_pem(&repl, "cnpg")?;
                let names = ["server", "server-ca", "client-ca", "replication"]
                    .map(|s| format!("{prefix}-{s}"));
                let docs = [
                    k8s::secret(
                        &names[0],
                        ns,
                        "kubernetes.io/tls",
                        &[("tls.crt", &checked.pair.cert_pem), ("tls.key", &key)],
                    ),
                    k8s::secret(&names[1], ns, "Opaque", &[("ca.crt", &server_ca)]),
                    k8s::secret(&names[2], ns, "Opaque", &[("ca.crt", &client_ca)]),
                    k8s::secret(
                        &names[3],
                        ns,
                        "kubernetes.io/tls",
                        &[("tls.crt", &repl.pair.cert_pem), ("tls.key", &repl_key)],
                    ),
                ];
                let mut yaml = Zeroizing::new(String::new());
                for d in &docs {
                    yaml.push_str("---\n");
                    yaml.push_str(d);
                }
                replication = Some(ReplicationCert {
                    serial: repl.pair.record.serial.clone(),
                    issued,
                });
                secrets.extend(names);
                target.write_file(yaml.as_bytes(), KEY_MODE)?
            }
        };
        Ok(Exported {
            format: req.format,
            kind,
            name: req.name.clone(),
            serial: checked.pair.record.serial.clone(),
            out: req.out.clone(),
            files,
            secrets,
            replication,
        })
    }

    /// Whether [`CaDir::export`] of `req` signs (and so needs the client CA's key and its
    /// passphrase): a `cnpg` export when `streaming_replica` has no current, unrevoked,
    /// unexpired certificate.
    pub fn export_needs_signing(&self, req: &ExportRequest) -> Result<bool> {
        if req.format != ExportFormat::Cnpg {
            return Ok(false);
        }
        let now = req.now.unwrap_or_else(timefmt::now);
        match self.checked(CertKind::Client, REPLICATION_ROLE, now) {
            Ok(_) => Ok(false),
            Err(Error::NotIssued { .. } | Error::Revoked { .. } | Error::Expired { .. }) => {
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }

    /// The replication pair: the current one if usable, else a new one; `true` when issued.
    fn replication_pair(
        &self,
        req: &ExportRequest,
        now: time::OffsetDateTime,
    ) -> Result<(Checked, bool)> {
        if !self.export_needs_signing(req)? {
            return Ok((
                self.checked(CertKind::Client, REPLICATION_ROLE, now)?,
                false,
            ));
        }
        let role: RoleName = REPLICATION_ROLE.parse()?;
        // Only a missing, revoked or expired certificate is replaced.
        let opts = IssueOptions {
            force: true,
            now: req.now,
            ..IssueOptions::default()
        };
        self.issue_client(&role, &opts)?;
        Ok((self.checked(CertKind::Client, REPLICATION_ROLE, now)?, true))
    }

    /// The kind `req` names: the one asked for, else the one the name has (both: ambiguous).
    fn export_kind(&self, req: &ExportRequest) -> Result<CertKind> {
        let kind = match req.kind {
            Some(k) => k,
            None => {
                let ledger = self.inventory()?;
                let server = ledger.current(CertKind::Server, &req.name).is_some();
                let client = ledger.current(CertKind::Client, &req.name).is_some();
                match (server, client) {
                    (true, true) => return Err(Error::Ambiguous(req.name.clone())),
                    (true, false) => CertKind::Server,
                    (false, true) => CertKind::Client,
                    (false, false) => return Err(self.not_issued_any(&req.name)),
                }
            }
        };
        if req.format == ExportFormat::Cnpg && kind != CertKind::Server {
            return Err(Error::InvalidValue {
                what: "cnpg export of",
                value: req.name.clone(),
                reason: "CloudNativePG's Secrets are built around a server certificate",
            });
        }
        Ok(kind)
    }

    /// A name's current pair, refused when revoked or expired at `now`.
    fn checked(&self, kind: CertKind, name: &str, now: time::OffsetDateTime) -> Result<Checked> {
        let pair = self.live_unrevoked(kind, name)?;
        if pair.info.not_after <= now {
            return Err(Error::Expired {
                kind,
                name: name.to_string(),
                serial: pair.record.serial.clone(),
                not_after: pair.info.not_after,
            });
        }
        Ok(Checked {
            kind,
            name: name.to_string(),
            pair,
        })
    }

    /// The key PEM of a pair, refusing an encrypted one.
    fn plain_key_pem(&self, c: &Checked, format: &'static str) -> Result<Zeroizing<Vec<u8>>> {
        let der = c.plain_key_der(self, format)?;
        Ok(Zeroizing::new(
            crate::x509::pem::encode("PRIVATE KEY", &der).into_bytes(),
        ))
    }

    fn not_issued_any(&self, name: &str) -> Error {
        Error::NotIssued {
            kind: None,
            name: name.to_string(),
            dir: self.root().to_path_buf(),
        }
    }
}

/// The other side: the CA a peer of `side` is checked against.
fn other(side: Side) -> Side {
    match side {
        Side::Server => Side::Client,
        Side::Client => Side::Server,
    }
}
