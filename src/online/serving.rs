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
        })
    }

    /// A side's CRL (PEM), if one was written.
    pub fn crl_pem(&self, side: Side) -> Result<Option<Vec<u8>>> {
        let _lock = self.read_lock()?;
        let path = self.crl_path(side);
        match crate::storage::read(&path, "read CRL") {
            Ok(b) => Ok(Some(b)),
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
