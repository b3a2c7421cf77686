//! The TLS client of a probe: rustls (ring provider) over the SSLRequest'ed stream. It records
//! what the server serves and lets the handshake finish, whatever the chain: the chain is judged
//! afterwards (`report.rs`), so a wrong certificate is a finding, not a failed connection. It
//! also records whether the server asked for a client certificate and which CA names it
//! advertised, and presents the role's certificate when `--role` gave one (none otherwise).
//! Its reads and writes go through [`Bounded`]: the handshake ends by the target's deadline,
//! however slowly the server sends.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientConnection, ResolvesClientCert};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, SignatureScheme};
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

use crate::probe::deadline::Bounded;
use crate::probe::wire::Failure;

/// What the handshake gave.
#[derive(Clone, Debug)]
pub struct Handshake {
    /// `TLSv1.3`, `TLSv1.2` (OpenSSL's names, as `pg_stat_ssl` shows them).
    pub version: String,
    /// The cipher suite, as rustls names it (`TLS13_AES_256_GCM_SHA384`).
    pub cipher_suite: String,
    /// The served chain, DER, the server's certificate first.
    pub chain: Vec<Vec<u8>>,
    /// `Some` when the server asked for a client certificate: the CA names it advertised.
    pub client_ca_names: Option<Vec<String>>,
    /// The ALPN protocol the server chose (`postgresql` after a direct start), if any.
    pub alpn: Option<String>,
}

/// The ALPN protocol of a direct TLS start (PostgreSQL 17+ requires it there).
pub const ALPN_POSTGRESQL: &[u8] = b"postgresql";

/// How TLS starts on the connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Start {
    /// PostgreSQL's SSLRequest first, then TLS on `S` (every version).
    #[default]
    SslRequest,
    /// TLS at once, with ALPN `postgresql` (`sslnegotiation=direct`, PostgreSQL 17+).
    Direct,
}

/// Records the served chain; checks the handshake signatures (so the server holds the key of
/// what it served) but not the chain.
#[derive(Debug)]
struct Recorder {
    chain: Mutex<Vec<Vec<u8>>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = self.chain.lock().unwrap_or_else(|e| e.into_inner());
        chain.clear();
        chain.push(end_entity.to_vec());
        chain.extend(intermediates.iter().map(|c| c.to_vec()));
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

/// Records the CA names of a CertificateRequest; presents `identity`, if any.
#[derive(Debug, Default)]
struct AskedFor {
    names: Mutex<Option<Vec<String>>>,
    identity: Option<Arc<CertifiedKey>>,
}

impl ResolvesClientCert for AskedFor {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        let names = root_hint_subjects
            .iter()
            .map(|der| match X509Name::from_der(der) {
                Ok((_, name)) => name.to_string(),
                Err(_) => format!("(unreadable name, {} bytes)", der.len()),
            })
            .collect();
        *self.names.lock().unwrap_or_else(|e| e.into_inner()) = Some(names);
        self.identity.clone()
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A client certificate chain (DER, the certificate first) and its PKCS#8 key, made ready for
/// rustls with the ring provider.
pub fn identity(chain: Vec<Vec<u8>>, pkcs8: &[u8]) -> Result<Arc<CertifiedKey>, String> {
    let provider = rustls::crypto::ring::default_provider();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8.to_vec()));
    let signer = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| e.to_string())?;
    let certs = chain.into_iter().map(CertificateDer::from).collect();
    Ok(Arc::new(CertifiedKey::new(certs, signer)))
}

/// Handshakes over `stream` (after the server's `S`), sending `sni` as the server name when it is
/// a DNS name, then ends the session (close_notify).
pub fn handshake(stream: &mut Bounded, sni: &str, start: Start) -> Result<Handshake, Failure> {
    let (hs, mut conn) = open(stream, sni, start, None)?;
    close(&mut conn, stream);
    Ok(hs)
}

/// A clean end: close_notify, best effort (the server may already be gone, the deadline may
/// have passed).
pub fn close(conn: &mut ClientConnection, stream: &mut Bounded) {
    conn.send_close_notify();
    let _ = conn.complete_io(stream);
}

/// Handshakes over `stream`, presenting `identity` if the server asks for a client
/// certificate, and hands back the open session. With [`Start::Direct`] it offers ALPN
/// `postgresql` and insists the server chooses it, as libpq does.
pub fn open(
    stream: &mut Bounded,
    sni: &str,
    start: Start,
    identity: Option<Arc<CertifiedKey>>,
) -> Result<(Handshake, ClientConnection), Failure> {
    let provider = rustls::crypto::ring::default_provider();
    let recorder = Arc::new(Recorder {
        chain: Mutex::new(Vec::new()),
        algorithms: provider.signature_verification_algorithms,
    });
    let asked = Arc::new(AskedFor {
        names: Mutex::new(None),
        identity,
    });
    let mut config =
        rustls::ClientConfig::builder_with_provider(Arc::new(CryptoProvider::clone(&provider)))
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .map_err(|e| Failure::Handshake(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(recorder.clone())
            .with_client_cert_resolver(asked.clone());
    if start == Start::Direct {
        config.alpn_protocols = vec![ALPN_POSTGRESQL.to_vec()];
    }
    let name = ServerName::try_from(sni.to_string())
        .map_err(|e| Failure::Handshake(format!("server name {sni:?}: {e}")))?;
    let mut conn = ClientConnection::new(Arc::new(config), name)
        .map_err(|e| Failure::Handshake(e.to_string()))?;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(stream) {
            return Err(match e.kind() {
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                    Failure::timed_out(&stream.deadline(), "the TLS handshake was not finished")
                }
                std::io::ErrorKind::UnexpectedEof if start == Start::Direct => Failure::Handshake(
                    "the server closed the connection at a direct TLS start \
                     (PostgreSQL before 17 needs SSLRequest)"
                        .into(),
                ),
                std::io::ErrorKind::UnexpectedEof => {
                    Failure::Handshake("the server closed the connection".into())
                }
                _ => Failure::Handshake(e.to_string()),
            });
        }
    }
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_string(),
    };
    let cipher_suite = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_else(|| "unknown".into());
    let alpn = conn
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    if start == Start::Direct && alpn.as_deref().map(str::as_bytes) != Some(ALPN_POSTGRESQL) {
        // libpq closes such a connection: a direct start without ALPN may be a TLS
        // terminator in front of something else.
        return Err(Failure::Handshake(format!(
            "the server did not choose ALPN \"postgresql\" at a direct TLS start (chose {})",
            alpn.as_deref()
                .map_or("none".to_string(), |p| format!("{p:?}"))
        )));
    }
    let chain = std::mem::take(&mut *recorder.chain.lock().unwrap_or_else(|e| e.into_inner()));
    let client_ca_names = asked.names.lock().unwrap_or_else(|e| e.into_inner()).take();
    Ok((
        Handshake {
            version,
            cipher_suite,
            chain,
            client_ca_names,
            alpn,
        },
        conn,
    ))
}
