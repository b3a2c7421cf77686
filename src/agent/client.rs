//! The client of `pgca serve`, for `pgca enroll` and `pgca agent`: HTTPS over hyper's HTTP/1.1
//! client on tokio-rustls (TLS 1.3, ring), trusting only the pinned server CA, presenting the
//! current certificate to renew.
//!
//! Bootstrapping (`pgca enroll --fingerprint`, as `step ca bootstrap`): the first request
//! (`GET /v1/roots`) is made over a handshake whose chain is recorded, not yet trusted; the
//! reply's server CA bundle must hold a certificate with the pinned SHA-256, and the recorded
//! chain must chain to it for the CA's host name. Only then is the reply used.

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, TrustAnchor, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::model::kind::{CertKind, Side};
use crate::online::serving::TrustBundles;
use crate::online::token::EnrollToken;

/// The largest reply read (a certificate chain, both bundles, a CRL).
const MAX_REPLY: usize = 4 * 1024 * 1024;

/// A CA's address, `https://HOST:PORT` (parsed by hyper's URI parser).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaUrl {
    host: String,
    port: u16,
}

impl CaUrl {
    /// The host.
    pub fn host(&self) -> &str {
        &self.host
    }

    fn server_name(&self) -> Result<ServerName<'static>> {
        let bare = self.host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(ServerName::IpAddress(ip.into()));
        }
        ServerName::try_from(self.host.clone()).map_err(|_| Error::InvalidAddress {
            input: self.to_string(),
            reason: "its host is not a DNS name or an IP address",
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{self}{path}")
    }
}

impl FromStr for CaUrl {
    type Err = Error;

    fn from_str(s: &str) -> Result<CaUrl> {
        let bad = |reason| Error::InvalidAddress {
            input: s.to_string(),
            reason,
        };
        let uri: hyper::Uri = s
            .parse()
            .map_err(|_| bad("not a URL (https://HOST:PORT)"))?;
        if uri.scheme_str() != Some("https") {
            return Err(bad("pgca serve is reached over https://"));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(bad("give the CA's address only: https://HOST:PORT"));
        }
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("it names no host"))?
            .to_string();
        // The port as written after the host (hyper's `port()` hides one out of range).
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
        let after_host = authority
            .rsplit_once(host.as_str())
            .map_or("", |(_, rest)| rest);
        let port = match after_host.strip_prefix(':') {
            None => 443,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("its port is not a number from 1 to 65535"))?,
        };
        Ok(CaUrl { host, port })
    }
}

impl std::fmt::Display for CaUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "https://{}:{}", self.host, self.port)
    }
}

/// A certificate the CA issued (`POST /v1/sign`, `POST /v1/renew`).
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct IssuedReply {
    /// Server or client.
    pub kind: CertKind,
    /// The role or first host name.
    pub name: String,
    /// Its serial (hex).
    pub serial: String,
    /// Its end.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: time::OffsetDateTime,
    /// The certificate (PEM, an intermediate after it in a hierarchy).
    pub certificate: String,
    /// Whether it had been issued for this request before.
    pub repeated: bool,
}

#[derive(Deserialize)]
struct ErrorReply {
    error: String,
}

/// A client of one CA.
#[derive(Clone)]
pub struct CaClient {
    url: CaUrl,
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
}

impl std::fmt::Debug for CaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CaClient({})", self.url)
    }
}

fn crypto(what: &'static str) -> impl Fn(rustls::Error) -> Error {
    move |e| Error::Crypto {
        what,
        source: e.to_string().into(),
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider::clone(
        &rustls::crypto::ring::default_provider(),
    ))
}

/// The certificates of a PEM bundle, as DER.
fn ders(pem: &[u8], what: &'static str) -> Result<Vec<CertificateDer<'static>>> {
    Ok(crate::x509::pem::all_cert_ders(pem)
        .map_err(|reason| Error::BadCert {
            path: what.into(),
            reason,
        })?
        .into_iter()
        .map(CertificateDer::from)
        .collect())
}

impl CaClient {
    /// A client of `url` trusting the server CA bundle `server_ca_pem`, presenting
    /// `identity` (a certificate chain and its PKCS#8 key, PEM) when given.
    pub fn new(
        url: &CaUrl,
        server_ca_pem: &[u8],
        identity: Option<(&[u8], &[u8])>,
        timeout: Duration,
    ) -> Result<CaClient> {
        let mut roots = rustls::RootCertStore::empty();
        for der in ders(server_ca_pem, "the server CA bundle")? {
            roots.add(der).map_err(crypto("reading the server CA"))?;
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(crypto("setting up TLS 1.3"))?
            .with_root_certificates(roots);
        let config = match identity {
            None => builder.with_no_client_auth(),
            Some((chain, key)) => {
                let key_der = zeroize::Zeroizing::new(
                    crate::x509::pem::first_block_fast(key, "PRIVATE KEY").ok_or_else(|| {
                        Error::Crypto {
                            what: "reading the current key",
                            source: "not a PKCS#8 PEM key".into(),
                        }
                    })?,
                );
                builder
                    .with_client_auth_cert(
                        ders(chain, "the current certificate")?,
                        PrivateKeyDer::Pkcs8(key_der.to_vec().into()),
                    )
                    .map_err(crypto("loading the current certificate"))?
            }
        };
        Ok(CaClient {
            url: url.clone(),
            tls: Arc::new(config),
            timeout,
        })
    }

    /// Connects to `url` trusting nothing yet, fetches the trust bundles, and keeps them only
    /// if the server CA bundle holds the certificate whose SHA-256 is `fingerprint` (hex, `:`
    /// allowed, as `pgca inspect` prints it) and the CA's own chain leads to it for its host
    /// name. Returns a client trusting that bundle, and the bundles.
    pub fn bootstrap(
        url: &CaUrl,
        fingerprint: &str,
        timeout: Duration,
    ) -> Result<(CaClient, TrustBundles)> {
        let want: String = fingerprint
            .chars()
            .filter(|c| *c != ':')
            .collect::<String>()
            .to_ascii_lowercase();
        if want.len() != 64 || !want.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::InvalidValue {
                what: "fingerprint",
                value: fingerprint.to_string(),
                reason: "not a SHA-256 fingerprint (64 hex digits, as pgca inspect prints it)",
            });
        }
        let seen = Arc::new(Mutex::new(Vec::new()));
        let verifier = Arc::new(Recording {
            seen: seen.clone(),
            algorithms: provider().signature_verification_algorithms,
        });
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(crypto("setting up TLS 1.3"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        let probe = CaClient {
            url: url.clone(),
            tls: Arc::new(config),
            timeout,
        };
        let bundles: TrustBundles = probe.get_json("/v1/roots")?;
        let chain = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let refuse = |reason: String| Error::CaRequest {
            url: url.url("/v1/roots"),
            status: None,
            reason,
        };
        let pinned = ders(bundles.server_ca.as_bytes(), "the server CA bundle")?
            .into_iter()
            .find(|der| crate::model::hex::sha256(der) == want)
            .ok_or_else(|| {
                refuse(format!(
                    "no server CA certificate with fingerprint {fingerprint}: this is not the CA you pinned"
                ))
            })?;
        let anchor = webpki::anchor_from_trusted_cert(&pinned)
            .map_err(|e| refuse(format!("the pinned CA is unreadable: {e}")))?;
        verify_served(&chain, &anchor, &url.server_name()?).map_err(|e| {
            refuse(format!(
                "the CA's own certificate does not chain to the pinned CA: {e}"
            ))
        })?;
        let client = CaClient::new(url, bundles.server_ca.as_bytes(), None, timeout)?;
        Ok((client, bundles))
    }

    /// This client, presenting `identity` (to renew).
    pub fn with_identity(
        &self,
        server_ca_pem: &[u8],
        chain: &[u8],
        key: &[u8],
    ) -> Result<CaClient> {
        CaClient::new(&self.url, server_ca_pem, Some((chain, key)), self.timeout)
    }

    /// `GET /v1/roots`.
    pub fn roots(&self) -> Result<TrustBundles> {
        self.get_json("/v1/roots")
    }

    /// `GET /v1/crl/SIDE`: `None` when the CA has written none.
    pub fn crl(&self, side: Side) -> Result<Option<Vec<u8>>> {
        let path = format!("/v1/crl/{}", side.name());
        match self.request("GET", &path, None)? {
            (200, body) => Ok(Some(body)),
            (404, _) => Ok(None),
            (status, body) => Err(self.refused(&path, status, &body)),
        }
    }

    /// `POST /v1/sign`: enrollment with a token.
    pub fn sign(&self, token: &EnrollToken, csr_pem: &str) -> Result<IssuedReply> {
        let body = serde_json::json!({ "token": token.expose(), "csr": csr_pem });
        self.post_issued("/v1/sign", &body)
    }

    /// `POST /v1/renew`: renewal with the identity this client presents.
    pub fn renew(&self, csr_pem: &str) -> Result<IssuedReply> {
        self.post_issued("/v1/renew", &serde_json::json!({ "csr": csr_pem }))
    }

    fn post_issued(&self, path: &str, body: &serde_json::Value) -> Result<IssuedReply> {
        let bytes = zeroize::Zeroizing::new(serde_json::to_vec(body).unwrap_or_default());
        match self.request("POST", path, Some(&bytes))? {
            (200 | 201, reply) => serde_json::from_slice(&reply).map_err(|e| Error::CaRequest {
                url: self.url.url(path),
                status: Some(200),
                reason: format!("an answer pgca does not understand: {e}"),
            }),
            (status, reply) => Err(self.refused(path, status, &reply)),
        }
    }

    fn get_json<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T> {
        match self.request("GET", path, None)? {
            (200, body) => serde_json::from_slice(&body).map_err(|e| Error::CaRequest {
                url: self.url.url(path),
                status: Some(200),
                reason: format!("an answer pgca does not understand: {e}"),
            }),
            (status, body) => Err(self.refused(path, status, &body)),
        }
    }

    fn refused(&self, path: &str, status: u16, body: &[u8]) -> Error {
        let said = serde_json::from_slice::<ErrorReply>(body)
            .map(|e| e.error)
            .unwrap_or_else(|_| "no reason given".into());
        Error::CaRequest {
            url: self.url.url(path),
            status: Some(status),
            reason: format!("refused ({status}): {said}"),
        }
    }

    /// One request on a connection of its own, within the timeout: (status, body).
    fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> Result<(u16, Vec<u8>)> {
        let unreachable = |reason: String| Error::CaRequest {
            url: self.url.url(path),
            status: None,
            reason,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| unreachable(format!("cannot start the client runtime: {e}")))?;
        let work = self.exchange(method, path, body.map(<[u8]>::to_vec));
        runtime
            .block_on(async { tokio::time::timeout(self.timeout, work).await })
            .map_err(|_| unreachable(format!("no answer within {:?}", self.timeout)))?
            .map_err(unreachable)
    }

    async fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> std::result::Result<(u16, Vec<u8>), String> {
        let addr = format!(
            "{}:{}",
            self.url.host.trim_start_matches('[').trim_end_matches(']'),
            self.url.port
        );
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let name = self.url.server_name().map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .map_err(|e| format!("HTTP: {e}"))?;
        let driver = tokio::spawn(conn);
        let mut req = hyper::Request::builder().method(method).uri(path).header(
            hyper::header::HOST,
            format!("{}:{}", self.url.host, self.url.port),
        );
        if body.is_some() {
            req = req.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| format!("HTTP: {e}"))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        let status = resp.status().as_u16();
        let bytes = Limited::new(resp.into_body(), MAX_REPLY)
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
            .to_bytes()
            .to_vec();
        driver.abort();
        Ok((status, bytes))
    }
}

/// Whether `chain` (the leaf first) leads to `anchor` for `name`, now.
fn verify_served(
    chain: &[CertificateDer<'static>],
    anchor: &TrustAnchor<'_>,
    name: &ServerName<'_>,
) -> std::result::Result<(), String> {
    let (leaf, intermediates) = chain.split_first().ok_or("no certificate was served")?;
    let ee = webpki::EndEntityCert::try_from(leaf).map_err(|e| e.to_string())?;
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        std::slice::from_ref(anchor),
        intermediates,
        UnixTime::now(),
        webpki::KeyUsage::server_auth(),
        None,
        None,
    )
    .map_err(|e| e.to_string())?;
    ee.verify_is_valid_for_subject_name(name)
        .map_err(|e| e.to_string())
}

/// Records the served chain, checking only the handshake's signature (the chain is judged
/// afterwards, against the pinned CA).
#[derive(Debug)]
struct Recording {
    seen: Arc<Mutex<Vec<CertificateDer<'static>>>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = chain;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_urls() {
        let u: CaUrl = "https://ca.example.com:8443".parse().unwrap();
        assert_eq!((u.host(), u.port), ("ca.example.com", 8443));
        assert_eq!(u.to_string(), "https://ca.example.com:8443");
        let u: CaUrl = "https://127.0.0.1:9/".parse().unwrap();
        assert_eq!(u.port, 9);
        for bad in [
            "http://ca:80",
            "ca:8443",
            "https://ca:8443/v1/sign",
            "https://:1",
            "https://ca:99999",
        ] {
            assert!(bad.parse::<CaUrl>().is_err(), "{bad}");
        }
    }
}
