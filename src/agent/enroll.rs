//! `pgca enroll`: on the database or client host, a key made here (never sent, 0600 from its
//! first byte where it is installed), a request for it, the certificate from `pgca serve` with a
//! token, installed with the rules of `deploy-server --cert` or `client-install --cert`, and the
//! roots pinned by the server CA's fingerprint.

use std::path::PathBuf;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::agent::client::{CaClient, CaUrl, IssuedReply};
use crate::error::Result;
use crate::model::kind::{CertKind, Side};
use crate::online::token::EnrollToken;
use crate::pg::client::{ClientInstalled, InstallOptions, install_pems};
use crate::pg::given::GivenPems;
use crate::pg::server::{Deployed, deploy_pems};
use crate::x509::keys::{KeyType, PrivateKey};

/// Where the enrolled certificate goes.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum EnrollTarget {
    /// A server certificate for these host names, deployed into a data directory.
    Server {
        /// The host names (the first is the CN).
        names: Vec<String>,
        /// The data directory.
        data_dir: PathBuf,
        /// Owner of the installed files (default: the data directory's).
        owner: Option<String>,
    },
    /// A client certificate for a role, installed as `client-install` installs one.
    Client {
        /// The role.
        role: String,
        /// Where and for whom.
        install: InstallOptions,
    },
}

/// What `pgca enroll` is told.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EnrollOptions {
    /// The CA service.
    pub ca: CaUrl,
    /// The server CA's SHA-256 fingerprint, as `pgca inspect` prints it.
    pub fingerprint: String,
    /// The enrollment token (`pgca token` on the CA host).
    pub token: EnrollToken,
    /// What to enroll and where to put it.
    pub target: EnrollTarget,
    /// The new key's type.
    pub key_type: KeyType,
    /// The bound on each request to the CA.
    pub timeout: Duration,
}

impl EnrollOptions {
    /// Enrolling `target` at `ca` with `token`, pinned by `fingerprint`, an ECDSA P-256 key,
    /// 30 s per request.
    pub fn new(
        ca: CaUrl,
        fingerprint: String,
        token: EnrollToken,
        target: EnrollTarget,
    ) -> EnrollOptions {
        EnrollOptions {
            ca,
            fingerprint,
            token,
            target,
            key_type: KeyType::default(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// What was installed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Installed {
    /// A server certificate, deployed.
    Server(Deployed),
    /// A client certificate, installed.
    Client(ClientInstalled),
}

impl Installed {
    /// The data directory or client directory it went into.
    pub fn dir(&self) -> &std::path::Path {
        match self {
            Installed::Server(d) => &d.data_dir,
            Installed::Client(c) => &c.dir,
        }
    }
}

/// The result of `pgca enroll`.
#[derive(Debug)]
#[non_exhaustive]
pub struct EnrollReport {
    /// The certificate the CA issued.
    pub issued: IssuedReply,
    /// Where it went.
    pub installed: Installed,
}

/// Enrolls (see the module docs). Nothing is installed unless the CA's identity checked out,
/// the token was accepted and the certificate fits the key and the use.
pub fn enroll(opts: &EnrollOptions) -> Result<EnrollReport> {
    let (client, bundles) = CaClient::bootstrap(&opts.ca, &opts.fingerprint, opts.timeout)?;
    let key = PrivateKey::generate(opts.key_type)?;
    let (kind, names) = match &opts.target {
        EnrollTarget::Server { names, .. } => (CertKind::Server, names.clone()),
        EnrollTarget::Client { role, .. } => (CertKind::Client, vec![role.clone()]),
    };
    let csr = crate::x509::csr::make_request(kind, &names, &key)?;
    let issued = client.sign(&opts.token, &csr)?;
    let key_pem = Zeroizing::new(key.to_pem().as_bytes().to_vec());
    let installed = match &opts.target {
        EnrollTarget::Server {
            data_dir, owner, ..
        } => {
            let mut pems = GivenPems::new(
                issued.certificate.clone().into_bytes(),
                key_pem,
                bundles.client_ca.into_bytes(),
                client.crl(Side::Client)?,
            );
            pems.server_ca_pem = Some(bundles.server_ca.into_bytes());
            Installed::Server(deploy_pems(
                &pems,
                data_dir,
                owner.as_deref(),
                "`pgca enroll`",
            )?)
        }
        EnrollTarget::Client { install, .. } => {
            let pems = GivenPems::new(
                issued.certificate.clone().into_bytes(),
                key_pem,
                bundles.server_ca.into_bytes(),
                None,
            );
            Installed::Client(install_pems(&pems, install)?)
        }
    };
    Ok(EnrollReport { issued, installed })
}
