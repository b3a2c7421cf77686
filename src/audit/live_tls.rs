//! The TLS of a live read: rust-postgres's `MakeTlsConnect` over tokio-rustls, on the rustls
//! and ring provider the probe uses, with libpq's `sslmode` checks (`fe-secure-openssl.c`):
//!
//! - `require` (and `prefer`, `allow`): the handshake signatures are checked (the server holds
//!   the key of what it served), the chain is not, unless a root certificate file exists:
//!   then libpq checks the chain as for `verify-ca`, and so does this.
//! - `verify-ca`: the chain must lead to a CA of `sslrootcert` (default
//!   `~/.postgresql/root.crt`, which must exist).
//! - `verify-full`: that, and the certificate must name the host by libpq's rules
//!   ([`crate::probe::hostname`]).
//!
//! A client certificate (`sslcert`, default `~/.postgresql/postgresql.crt`, used only when it
//! exists, as libpq does) is presented with its key (`sslkey`, default
//! `~/.postgresql/postgresql.key`), read by libpq's rule for key files. The stream gives
//! SCRAM's `tls-server-end-point` channel binding: the certificate hashed with its signature's
//! hash (SHA-256 for MD5 and SHA-1), none for a signature without one (Ed25519, RSA-PSS), as
//! PostgreSQL computes it.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use postgres::Socket;
use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, TrustAnchor, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::storage::{Input, read_input};

/// What the server's certificate is checked against.
#[derive(Debug)]
pub(crate) enum Check {
    /// Nothing: any chain, the handshake signatures still checked (`require`).
    Nothing,
    /// The chain against these anchors, from `file` (`verify-ca`, or `require` with a root file).
    Chain {
        anchors: Vec<TrustAnchor<'static>>,
        file: PathBuf,
    },
    /// The chain, and the certificate against the host name (`verify-full`).
    Full {
        anchors: Vec<TrustAnchor<'static>>,
        file: PathBuf,
        host: String,
    },
}

/// Reads the CA certificates of a root certificate file.
pub(crate) fn anchors(path: &Path) -> Result<Vec<TrustAnchor<'static>>, String> {
    let pem = read_input(path, "read sslrootcert", Input::Public).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
        let anchor = webpki::anchor_from_trusted_cert(&cert)
            .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
        out.push(anchor.to_owned());
    }
    if out.is_empty() {
        return Err(format!(
            "sslrootcert {} holds no certificate",
            path.display()
        ));
    }
    Ok(out)
}

/// A client certificate chain and its key, read from `cert` and `key`.
pub(crate) struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Identity {
    /// Reads the certificate file (public) and the key file (libpq's rule for key files: the
    /// user's and at most 0600, or root's and at most 0640).
    pub(crate) fn read(cert: &Path, key: &Path) -> Result<Identity, String> {
        let pem = read_input(cert, "read sslcert", Input::Public).map_err(|e| e.to_string())?;
        let chain = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("sslcert {}: {e}", cert.display()))?;
        if chain.is_empty() {
            return Err(format!("sslcert {} holds no certificate", cert.display()));
        }
        if !key.exists() {
            return Err(format!(
                "certificate present, but not private key file {}",
                key.display()
            ));
        }
        let pem = read_input(key, "read sslkey", Input::Key).map_err(|e| e.to_string())?;
        let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
            format!(
                "sslkey {}: {e} (an encrypted key, sslpassword, is not supported)",
                key.display()
            )
        })?;
        Ok(Identity { chain, key })
    }
}

/// Why the certificate check refused the server, kept for the error message (rustls reports
/// only a kind).
pub(crate) type Refusal = Arc<Mutex<Option<String>>>;

/// A rustls client configuration for one connection attempt, and where its verifier puts a
/// refusal.
pub(crate) fn connector(
    check: Check,
    identity: Option<Identity>,
    versions: &[&'static rustls::SupportedProtocolVersion],
    sni: bool,
) -> Result<(MakeRustls, Refusal), String> {
    let provider = rustls::crypto::ring::default_provider();
    let refusal = Refusal::default();
    let verifier = Arc::new(Verifier {
        check,
        algorithms: provider.signature_verification_algorithms,
        refusal: refusal.clone(),
    });
    let builder =
        rustls::ClientConfig::builder_with_provider(Arc::new(CryptoProvider::clone(&provider)))
            .with_protocol_versions(versions)
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(id.chain, id.key)
            .map_err(|e| format!("sslkey: {e}"))?,
        None => builder.with_no_client_auth(),
    };
    // libpq 17 and later offer ALPN "postgresql" on every TLS connection; a direct start
    // (sslnegotiation=direct) needs it.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    config.enable_sni = sni;
    Ok((
        MakeRustls {
            config: Arc::new(config),
        },
        refusal,
    ))
}

/// libpq's checks of the served certificate; the handshake signatures as rustls checks them.
#[derive(Debug)]
struct Verifier {
    check: Check,
    algorithms: WebPkiSupportedAlgorithms,
    refusal: Refusal,
}

impl Verifier {
    fn refuse(&self, why: String) -> rustls::Error {
        *self.refusal.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
        rustls::Error::InvalidCertificate(rustls::CertificateError::ApplicationVerificationFailure)
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let (anchors, file, host) = match &self.check {
            Check::Nothing => return Ok(ServerCertVerified::assertion()),
            Check::Chain { anchors, file } => (anchors, file, None),
            Check::Full {
                anchors,
                file,
                host,
            } => (anchors, file, Some(host)),
        };
        let ee = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|e| self.refuse(format!("the server certificate is unreadable: {e}")))?;
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            anchors,
            intermediates,
            now,
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )
        .map_err(|e| {
            let why = match e {
                webpki::Error::UnknownIssuer => format!(
                    "the server certificate does not chain to a CA of sslrootcert {}",
                    file.display()
                ),
                webpki::Error::CertExpired { .. } => "the server certificate has expired".into(),
                webpki::Error::CertNotValidYet { .. } => {
                    "the server certificate is not valid yet".into()
                }
                e => format!("the server certificate is not valid: {e}"),
            };
            self.refuse(why)
        })?;
        if let Some(host) = host {
            let info = crate::x509::inspect::CertInfo::from_der(end_entity)
                .map_err(|e| self.refuse(format!("the server certificate is unreadable: {e}")))?;
            if !crate::probe::hostname::matches(host, &info.sans, info.common_name.as_deref()) {
                return Err(self.refuse(format!(
                    "the server certificate ({}) does not match host name \"{host}\"",
                    if info.sans.is_empty() {
                        info.subject.clone()
                    } else {
                        info.sans.join(", ")
                    }
                )));
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// rust-postgres's TLS factory: one [`RustlsConnect`] per host, named as the host is.
pub(crate) struct MakeRustls {
    config: Arc<rustls::ClientConfig>,
}

impl MakeTlsConnect<Socket> for MakeRustls {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<RustlsConnect> {
        // Called for every connection, a Unix socket's too (with no name): a bad name fails
        // only if TLS is attempted.
        Ok(RustlsConnect {
            config: self.config.clone(),
            name: ServerName::try_from(domain.to_string()).ok(),
        })
    }
}

/// The handshake over one connection.
pub(crate) struct RustlsConnect {
    config: Arc<rustls::ClientConfig>,
    name: Option<ServerName<'static>>,
}

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move {
            let name = self.name.ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "no host name for TLS")
            })?;
            let stream = tokio_rustls::TlsConnector::from(self.config)
                .connect(name, stream)
                .await?;
            Ok(RustlsStream(stream))
        })
    }
}

/// A TLS session over a rust-postgres socket.
pub(crate) struct RustlsStream(tokio_rustls::client::TlsStream<Socket>);

impl TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        let (_, session) = self.0.get_ref();
        match session
            .peer_certificates()
            .and_then(|c| c.first())
            .and_then(|c| end_point_hash(c))
        {
            Some(hash) => ChannelBinding::tls_server_end_point(hash),
            None => ChannelBinding::none(),
        }
    }
}

/// RFC 5929's `tls-server-end-point`: the certificate hashed with its signature algorithm's
/// hash, MD5 and SHA-1 raised to SHA-256; `None` for an algorithm without a separate hash.
fn end_point_hash(der: &[u8]) -> Option<Vec<u8>> {
    use x509_parser::prelude::FromDer;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).ok()?;
    let alg = match cert.signature_algorithm.algorithm.to_id_string().as_str() {
        // md5WithRSA, sha1WithRSA, sha256WithRSA, ecdsa-with-SHA1, ecdsa-with-SHA256
        "1.2.840.113549.1.1.4"
        | "1.2.840.113549.1.1.5"
        | "1.2.840.113549.1.1.11"
        | "1.2.840.10045.4.1"
        | "1.2.840.10045.4.3.2" => &ring::digest::SHA256,
        // sha384WithRSA, ecdsa-with-SHA384
        "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" => &ring::digest::SHA384,
        // sha512WithRSA, ecdsa-with-SHA512
        "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" => &ring::digest::SHA512,
        _ => return None,
    };
    Some(ring::digest::digest(alg, der).as_ref().to_vec())
}

impl AsyncRead for RustlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

/// The rustls error inside a failed connection's causes, if the handshake failed.
pub(crate) fn rustls_error<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = err.downcast_ref::<io::Error>()
            && let Some(r) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return Some(r);
        }
        cur = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_point_hashes_follow_the_signature_hash() {
        // A certificate pgca's profile signs (ECDSA P-256 with SHA-256): 32 bytes.
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["db".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let hash = end_point_hash(cert.der()).unwrap();
        assert_eq!(
            hash,
            ring::digest::digest(&ring::digest::SHA256, cert.der()).as_ref()
        );
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["db".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        assert_eq!(end_point_hash(cert.der()).unwrap().len(), 48);
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["db".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        assert_eq!(end_point_hash(cert.der()), None);
    }
}
