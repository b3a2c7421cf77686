//! What `pgca serve` hands out besides certificates, and what it serves with: the trust
//! bundles (`SIDE-ca.crt`: both CAs during a rollover), the CRLs, and its own TLS identity, a
//! server certificate of the CA directory checked against the inventory.

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::model::kind::{CertKind, Side};
use crate::store::layout::CaDir;

/// A server certificate and its key, to serve TLS with. `Debug` never shows the key.
#[non_exhaustive]
pub struct ServingIdentity {
    /// The certificate file (PEM: the leaf, then an intermediate in a hierarchy).
    pub cert_pem: Vec<u8>,
    /// The key (PEM PKCS#8), wiped when dropped.
    pub key_pem: Zeroizing<Vec<u8>>,
    /// Its serial, for the log.
    pub serial: crate::model::serial::Serial,
}

impl std::fmt::Debug for ServingIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServingIdentity(serial {})", self.serial)
    }
}

/// The trust bundles of both sides, as the hosts install them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct TrustBundles {
    /// `server-ca.crt`: what clients trust as `sslrootcert` (both CAs during a rollover).
    pub server_ca: String,
    /// `client-ca.crt`: what a server trusts as `ssl_ca_file` (both CAs during a rollover).
    pub client_ca: String,
    /// The subject key identifiers of the CAs that sign new certificates now: in the second
    /// phase of a rollover the new CA's, so that an agent whose certificate names another CA as
    /// its authority key renews at once. Absent from an older server.
    #[serde(default, skip_serializing_if = "Issuers::is_empty")]
    pub issuers: Issuers,
}

/// Which CA of each side signs new certificates now, by subject key identifier (colon-separated
/// hex, as `pgca inspect` prints it); `None` when that CA has none.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Issuers {
    /// The signer of server certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The signer of client certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

impl Issuers {
    fn is_empty(&self) -> bool {
        self.server.is_none() && self.client.is_none()
    }

    /// The signer of `side`'s certificates.
    pub fn of(&self, side: Side) -> Option<&str> {
        match side {
            Side::Server => self.server.as_deref(),
            Side::Client => self.client.as_deref(),
        }
    }
}

impl CaDir {
    /// The current certificate and key of the server `name`, checked against the inventory
    /// (the recorded file, not revoked, its key held here): `pgca serve --tls-name NAME`.
    pub fn serving_identity(&self, name: &str) -> Result<ServingIdentity> {
        let pair = self.live_with_key(CertKind::Server, name)?;
        Ok(ServingIdentity {
            cert_pem: pair.cert_pem,
            key_pem: Zeroizing::new(pair.key_pem.to_vec()),
            serial: pair.record.serial,
        })
    }

    /// Both trust bundles, read under the shared lock.
    pub fn trust_bundles(&self) -> Result<TrustBundles> {
        // Before the shared lock: choosing the signer may take the write lock to complete a
        // rollover finish a crash cut short.
        let issuers = Issuers {
            server: self.issuing_ca_info(Side::Server)?.subject_key_id,
            client: self.issuing_ca_info(Side::Client)?.subject_key_id,
        };
        let _lock = self.read_lock()?;
        let read = |side: Side| -> Result<String> {
            let path = self.ca_cert_path(side);
            let bytes = crate::storage::read(&path, "read CA certificate")?;
            String::from_utf8(bytes).map_err(|_| {
                Error::io("read CA certificate", &path)(std::io::ErrorKind::InvalidData.into())
            })
        };
        Ok(TrustBundles {
            server_ca: read(Side::Server)?,
            client_ca: read(Side::Client)?,
            issuers,
        })
    }

    /// A side's CRL (PEM), if one was written: with the inventory in a database, the latest
    /// committed there with its record (whichever host wrote it), else the directory's file.
    pub fn crl_pem(&self, side: Side) -> Result<Option<Vec<u8>>> {
        let _lock = self.read_lock()?;
        let path = self.crl_path(side);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if let Some(pem) = self.published(name)? {
            return Ok(Some(pem));
        }
        match crate::storage::read(&path, "read CRL") {
            Ok(b) => Ok(Some(b)),
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
