//! `pgca serve`'s TLS: TLS 1.3 only, on rustls with ring, its certificate a server certificate
//! of the CA directory; a client certificate is asked for and, when sent, must chain to one of
//! pgca's CAs: a client certificate to the client CA (clientAuth), a server certificate to the
//! server CA (serverAuth: a database server renews with the certificate it serves). Anything
//! else fails the handshake. A request without one can still enroll with a token.

use std::sync::Arc;

use rustls::DistinguishedName;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, TrustAnchor, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use crate::error::{Error, Result};
use crate::online::serving::{ServingIdentity, TrustBundles};

/// The anchors of one side and the key usage its leaves carry.
#[derive(Debug)]
struct SideAnchors {
    anchors: Vec<TrustAnchor<'static>>,
    usage: webpki::KeyUsage,
}

/// Accepts a client certificate of either of pgca's CAs (see the module docs).
#[derive(Debug)]
pub(crate) struct PgcaClientVerifier {
    sides: Vec<SideAnchors>,
    subjects: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
    /// How long after its end an expired certificate may still be presented (to renew).
    grace: std::time::Duration,
}

impl PgcaClientVerifier {
    fn new(bundles: &TrustBundles, grace: std::time::Duration) -> Result<PgcaClientVerifier> {
        let mut sides = Vec::new();
        let mut subjects = Vec::new();
        for (pem, usage) in [
            (&bundles.client_ca, webpki::KeyUsage::client_auth()),
            (&bundles.server_ca, webpki::KeyUsage::server_auth()),
        ] {
            let mut anchors = Vec::new();
            for der in crate::x509::pem::all_cert_ders(pem.as_bytes()).map_err(|reason| {
                Error::BadCert {
                    path: "a CA bundle".into(),
                    reason,
                }
            })? {
                let der = CertificateDer::from(der);
                let anchor = webpki::anchor_from_trusted_cert(&der)
                    .map_err(|e| Error::Crypto {
                        what: "reading a CA certificate as a trust anchor",
                        source: e.to_string().into(),
                    })?
                    .to_owned();
                subjects.push(DistinguishedName::in_sequence(&anchor.subject));
                anchors.push(anchor);
            }
            sides.push(SideAnchors { anchors, usage });
        }
        Ok(PgcaClientVerifier {
            sides,
            subjects,
            algorithms: rustls::crypto::ring::default_provider().signature_verification_algorithms,
            grace,
        })
    }

    fn verify_at(
        &self,
        ee: &webpki::EndEntityCert<'_>,
        intermediates: &[CertificateDer<'_>],
        at: UnixTime,
    ) -> std::result::Result<(), webpki::Error> {
        let mut last = webpki::Error::UnknownIssuer;
        for side in &self.sides {
            match ee.verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &side.anchors,
                intermediates,
                at,
                side.usage,
                None,
                None,
            ) {
                Ok(_) => return Ok(()),
                Err(webpki::Error::UnknownIssuer) => {}
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

impl ClientCertVerifier for PgcaClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.subjects
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> std::result::Result<ClientCertVerified, rustls::Error> {
        let ee = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let result = match self.verify_at(&ee, intermediates, now) {
            Err(webpki::Error::CertExpired { .. }) if !self.grace.is_zero() => {
                let earlier = now.as_secs().saturating_sub(self.grace.as_secs());
                self.verify_at(
                    &ee,
                    intermediates,
                    UnixTime::since_unix_epoch(std::time::Duration::from_secs(earlier)),
                )
            }
            r => r,
        };
        result
            .map(|()| ClientCertVerified::assertion())
            .map_err(|e| {
                rustls::Error::InvalidCertificate(match e {
                    webpki::Error::CertExpired { .. } => CertificateError::Expired,
                    webpki::Error::CertNotValidYet { .. } => CertificateError::NotValidYet,
                    webpki::Error::UnknownIssuer => CertificateError::UnknownIssuer,
                    _ => CertificateError::ApplicationVerificationFailure,
                })
            })
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

/// The rustls server configuration: TLS 1.3, `identity`, client certificates of pgca's CAs.
pub(crate) fn server_config(
    identity: &ServingIdentity,
    bundles: &TrustBundles,
    grace: std::time::Duration,
) -> Result<Arc<rustls::ServerConfig>> {
    let crypto = |what: &'static str| {
        move |e: rustls::Error| Error::Crypto {
            what,
            source: e.to_string().into(),
        }
    };
    let chain: Vec<CertificateDer<'static>> = crate::x509::pem::all_cert_ders(&identity.cert_pem)
        .map_err(|reason| Error::BadCert {
            path: "the serving certificate".into(),
            reason,
        })?
        .into_iter()
        .map(CertificateDer::from)
        .collect();
    let key_der =
        crate::x509::pem::first_block_fast(&identity.key_pem, "PRIVATE KEY").ok_or_else(|| {
            Error::Crypto {
                what: "reading the serving key",
                source: "not a PKCS#8 PEM key".into(),
            }
        })?;
    let key = PrivateKeyDer::Pkcs8(key_der.into());
    let provider = Arc::new(CryptoProvider::clone(
        &rustls::crypto::ring::default_provider(),
    ));
    let verifier = Arc::new(PgcaClientVerifier::new(bundles, grace)?);
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(crypto("setting up TLS 1.3"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(crypto("loading the serving certificate"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
