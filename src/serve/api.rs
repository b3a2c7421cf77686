//! The API's routes and handlers, without HTTP: a request is a method, a path, a body, the
//! peer's address and the client certificate the TLS layer verified; the reply is a status
//! and a JSON body. The HTTP layer (`http.rs`) only moves bytes and enforces the limits.
//!
//! Routes (docs/openapi.json): `POST /v1/sign` (a CSR and an enrollment token), `POST
//! /v1/renew` (a CSR, with the current certificate over mutual TLS), `GET /v1/roots`,
//! `GET /v1/crl/server`, `GET /v1/crl/client`, `GET /v1/health`, `GET /v1/openapi.json`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::model::kind::{CertKind, Side};
use crate::online::enroll::{EnrollRequest, OnlineIssued};
use crate::online::renew::{OnlineRenewRequest, RenewPolicy};
use crate::online::token::EnrollToken;
use crate::serve::commit::GroupCommit;
use crate::serve::rate::RateLimiter;
use crate::store::layout::CaDir;
use crate::x509::csr::CsrRequest;

/// The OpenAPI 3 document of this API, as shipped in docs/openapi.json.
pub const OPENAPI: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json"));

/// One request as the handlers see it.
#[derive(Debug)]
pub struct ApiRequest<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// The body, already limited in size.
    pub body: &'a [u8],
    /// Where it came from.
    pub peer: SocketAddr,
    /// The client certificate (DER) the TLS layer verified, if one was presented.
    pub client_cert: Option<&'a [u8]>,
}

/// A reply: status, content type and body, and what the log says of it.
#[derive(Debug)]
pub struct ApiReply {
    /// The HTTP status.
    pub status: u16,
    /// `application/json` or `application/pkix-crl`… as the route says.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
    /// The identity the request acted as (`token ID`, `client alice`), for the log.
    pub identity: Option<String>,
    /// The serial issued, for the log.
    pub serial: Option<String>,
    /// The error, for the log (the same sentence as the body's).
    pub error: Option<String>,
    /// The methods the path allows, for a 405's `Allow` header (RFC 9110).
    pub allow: Option<&'static str>,
}

impl ApiReply {
    fn json(status: u16, value: &impl Serialize) -> ApiReply {
        ApiReply {
            status,
            content_type: "application/json",
            body: serde_json::to_vec(value).unwrap_or_default(),
            identity: None,
            serial: None,
            error: None,
            allow: None,
        }
    }

    /// An error reply: `{"error": "..."}`.
    pub fn error(status: u16, message: impl Into<String>) -> ApiReply {
        let message = message.into();
        let mut r = ApiReply::json(status, &ErrorBody { error: &message });
        r.error = Some(message);
        r
    }

    fn with_identity(mut self, identity: Option<String>) -> ApiReply {
        self.identity = identity;
        self
    }
}

/// `POST /v1/sign`'s body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignBody {
    token: String,
    csr: String,
}

/// `POST /v1/renew`'s body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenewBody {
    csr: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

/// A certificate issued: the reply of sign and renew.
#[derive(Serialize)]
struct CertBody<'a> {
    kind: CertKind,
    name: &'a str,
    serial: String,
    #[serde(with = "time::serde::rfc3339")]
    not_after: time::OffsetDateTime,
    certificate: &'a str,
    repeated: bool,
}

/// The handlers' shared state: the CA directory, the renewal policy, the rate limiter.
#[derive(Debug)]
pub struct Api {
    ca: CaDir,
    policy: RenewPolicy,
    rate: RateLimiter,
    /// Renewals arriving together are committed together.
    commit: GroupCommit,
    /// The server name this service serves, never enrolled ([`EnrollRequest::own_name`]).
    own_name: Option<String>,
}

impl Api {
    /// Handlers over `ca` with `policy`, allowing `per_minute` requests per identity.
    pub fn new(ca: CaDir, policy: RenewPolicy, per_minute: u32) -> Api {
        Api {
            ca,
            policy,
            rate: RateLimiter::new(per_minute),
            commit: GroupCommit::default(),
            own_name: None,
        }
    }

    /// Refusing enrollments for `name`, the server name the service serves.
    pub fn serving(mut self, name: &str) -> Api {
        self.own_name = Some(name.to_string());
        self
    }

    /// Answers one request.
    pub fn handle(&self, req: &ApiRequest<'_>) -> ApiReply {
        match (req.method, req.path) {
            ("POST", "/v1/sign") => self.sign(req),
            ("POST", "/v1/renew") => self.renew(req),
            ("GET", "/v1/roots") => match self.ca.trust_bundles() {
                Ok(b) => ApiReply::json(200, &b),
                Err(e) => internal(&e),
            },
            ("GET", "/v1/crl/server") => self.crl(Side::Server),
            ("GET", "/v1/crl/client") => self.crl(Side::Client),
            ("GET", "/v1/health") => ApiReply::json(200, &serde_json::json!({"status": "ok"})),
            ("GET", "/v1/openapi.json") => ApiReply {
                body: OPENAPI.as_bytes().to_vec(),
                ..ApiReply::json(200, &())
            },
            (_, "/v1/sign" | "/v1/renew") => not_allowed(req, "POST"),
            (
                _,
                "/v1/roots" | "/v1/crl/server" | "/v1/crl/client" | "/v1/health"
                | "/v1/openapi.json",
            ) => not_allowed(req, "GET"),
            _ => ApiReply::error(404, "no such route"),
        }
    }

    fn sign(&self, req: &ApiRequest<'_>) -> ApiReply {
        let body: SignBody = match parse_body(req.body) {
            Ok(b) => b,
            Err(r) => return *r,
        };
        let token: EnrollToken = match body.token.parse() {
            Ok(t) => t,
            Err(e) => return ApiReply::error(403, e.to_string()),
        };
        let identity = Some(format!("token {}", token.id()));
        if !self
            .rate
            .allow(identity.as_deref().unwrap_or_default(), Instant::now())
        {
            return ApiReply::error(429, "too many requests for this token")
                .with_identity(identity);
        }
        let csr = match parse_csr(&body.csr) {
            Ok(c) => c,
            Err(r) => return (*r).with_identity(identity),
        };
        let mut enroll = EnrollRequest::new(token, csr);
        enroll.peer = Some(req.peer.to_string());
        enroll.own_name = self.own_name.clone();
        issued_reply(self.ca.enroll(&enroll)).with_identity(identity)
    }

    fn renew(&self, req: &ApiRequest<'_>) -> ApiReply {
        let Some(cert) = req.client_cert else {
            return ApiReply::error(401, "renewal needs the current certificate (mutual TLS)");
        };
        // The rate counts per kind and name, not per serial: each renewal brings a new serial.
        let info = crate::x509::inspect::CertInfo::from_der(cert).ok();
        let who = info.as_ref().map(|i| {
            let kind = if i.extended_key_usage.iter().any(|u| u == "serverAuth") {
                "server"
            } else {
                "client"
            };
            format!("{kind} {}", i.common_name.as_deref().unwrap_or("?"))
        });
        let identity = info
            .as_ref()
            .zip(who.as_ref())
            .map(|(i, who)| format!("{who} serial {}", i.serial));
        if !self
            .rate
            .allow(who.as_deref().unwrap_or("?"), Instant::now())
        {
            return ApiReply::error(429, "too many requests for this certificate")
                .with_identity(identity);
        }
        let body: RenewBody = match parse_body(req.body) {
            Ok(b) => b,
            Err(r) => return (*r).with_identity(identity),
        };
        let csr = match parse_csr(&body.csr) {
            Ok(c) => c,
            Err(r) => return (*r).with_identity(identity),
        };
        let mut renew = OnlineRenewRequest::new(cert.to_vec(), csr);
        renew.peer = Some(req.peer.to_string());
        issued_reply(self.commit.renew(&self.ca, &self.policy, renew)).with_identity(identity)
    }

    fn crl(&self, side: Side) -> ApiReply {
        match self.ca.crl_pem(side) {
            Ok(Some(pem)) => ApiReply {
                content_type: "application/x-pem-file",
                body: pem,
                ..ApiReply::json(200, &())
            },
            Ok(None) => ApiReply::error(404, format!("the {} CA has no CRL yet", side.name())),
            Err(e) => internal(&e),
        }
    }
}

/// 405, with the methods `req.path` allows.
fn not_allowed(req: &ApiRequest<'_>, allow: &'static str) -> ApiReply {
    ApiReply {
        allow: Some(allow),
        ..ApiReply::error(
            405,
            format!("{} is not allowed on {}", req.method, req.path),
        )
    }
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Box<ApiReply>> {
    serde_json::from_slice(body)
        .map_err(|e| Box::new(ApiReply::error(400, format!("bad request body: {e}"))))
}

fn parse_csr(pem: &str) -> Result<CsrRequest, Box<ApiReply>> {
    CsrRequest::parse(pem.as_bytes(), Path::new("the request's csr"))
        .map_err(|e| Box::new(ApiReply::error(400, e.to_string())))
}

fn issued_reply(result: crate::error::Result<OnlineIssued>) -> ApiReply {
    match result {
        Ok(o) => {
            let mut r = ApiReply::json(
                if o.repeated { 200 } else { 201 },
                &CertBody {
                    kind: o.issued.kind,
                    name: &o.issued.name,
                    serial: o.issued.serial.to_string(),
                    not_after: o.issued.not_after,
                    certificate: &o.cert_pem,
                    repeated: o.repeated,
                },
            );
            r.serial = Some(o.issued.serial.to_string());
            r
        }
        Err(e) => refusal(&e),
    }
}

/// The status of a library error: a refusal of the request is 4xx; anything else is the
/// CA's trouble, 503 when it is busy or its inventory database unavailable, otherwise 500.
fn refusal(e: &Error) -> ApiReply {
    match e {
        Error::BadToken { .. } | Error::RenewRefused { .. } | Error::RevokedKey { .. } => {
            ApiReply::error(403, e.to_string())
        }
        Error::BadCsr { .. }
        | Error::RefusedKey { .. }
        | Error::InvalidHost { .. }
        | Error::InvalidRole { .. }
        | Error::DuplicateName(_) => ApiReply::error(400, e.to_string()),
        Error::LockTimeout { .. } => ApiReply::error(503, "the CA directory is busy: retry"),
        // Nothing was written (or what was is found again on the retry): a failover, a restart.
        Error::InventoryDb { .. } => {
            let mut r = ApiReply::error(503, "the inventory database is not available: retry");
            r.error = Some(e.to_string());
            r
        }
        _ => internal(e),
    }
}

fn internal(e: &Error) -> ApiReply {
    let mut r = ApiReply::error(500, "the CA could not answer (see its log)");
    r.error = Some(e.to_string());
    r
}
