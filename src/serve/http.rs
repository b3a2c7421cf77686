//! The HTTPS server: a tokio runtime, a TLS acceptor, hyper's HTTP/1.1 per connection, and the
//! limits of [`Limits`]: at most `max_connections` at once, a handshake timeout, hyper's
//! header-read timeout (which also bounds idling between requests), a body limit and a
//! request timeout, a lifetime per connection. Each request is answered by [`Api::handle`] on
//! the blocking pool (it signs and fsyncs), and logged.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::time::timeout;

use crate::error::{Error, Result};
use crate::serve::api::{Api, ApiReply, ApiRequest};
use crate::serve::log::{LogLine, RequestLog};
use crate::serve::options::Limits;
use crate::serve::tls_source::TlsSource;

/// Everything a connection task shares.
struct Shared {
    api: Api,
    limits: Limits,
    log: RequestLog,
}

/// Runs the server on `listener` until the process ends (or the accept loop fails for good).
pub(crate) fn run(
    std_listener: std::net::TcpListener,
    tls: TlsSource,
    api: Api,
    limits: Limits,
    log: RequestLog,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .enable_time()
        .thread_name("pgca-serve")
        .build()
        .map_err(|e| Error::io("start the server runtime", "pgca serve")(e))?;
    let shared = Arc::new(Shared { api, limits, log });
    runtime.block_on(accept_loop(std_listener, tls, shared))
}

async fn accept_loop(
    std_listener: std::net::TcpListener,
    tls: TlsSource,
    shared: Arc<Shared>,
) -> Result<()> {
    let addr = std_listener.local_addr().ok();
    let where_ = || addr.map_or("pgca serve".to_string(), |a| a.to_string());
    std_listener
        .set_nonblocking(true)
        .map_err(|e| Error::io("listen", where_())(e))?;
    let listener =
        TcpListener::from_std(std_listener).map_err(|e| Error::io("listen", where_())(e))?;
    let slots = Arc::new(tokio::sync::Semaphore::new(shared.limits.max_connections));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return Ok(());
        };
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(_) => {
                // Out of descriptors, a connection reset before accept: wait a little, go on.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (config, change) = tls.current();
        if let Some(change) = change {
            shared.log.tls(&change);
        }
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let shared = shared.clone();
        tokio::spawn(async move {
            let _permit = permit;
            connection(tcp, peer, acceptor, shared).await;
        });
    }
}

/// One connection: the handshake within its timeout, then HTTP/1.1 within the lifetime.
async fn connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    shared: Arc<Shared>,
) {
    let limits = shared.limits.clone();
    let tls = match timeout(limits.handshake_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        // A failed or slow handshake: nothing to answer, the socket closes.
        _ => return,
    };
    let client_cert: Option<Arc<[u8]>> = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| Arc::from(c.as_ref()));
    let service = hyper::service::service_fn(move |req| {
        let shared = shared.clone();
        let cert = client_cert.clone();
        async move { Ok::<_, Infallible>(answer(shared, req, peer, cert).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(16 * 1024)
        .serve_connection(TokioIo::new(tls), service);
    let _ = timeout(limits.connection_lifetime, conn).await;
}

/// Reads the body (limited, within the request timeout), answers on the blocking pool, logs.
async fn answer(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    peer: SocketAddr,
    cert: Option<Arc<[u8]>>,
) -> Response<Full<Bytes>> {
    let start = Instant::now();
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let limits = &shared.limits;
    // A declared length over the limit is answered before any of the body is read (a client
    // that sent `Expect: 100-continue` then sends none of it).
    let declared = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = declared.is_some_and(|n| n > limits.max_body as u64);
    let body = Limited::new(req.into_body(), limits.max_body).collect();
    let reply = if too_large {
        ApiReply::error(
            413,
            format!("the request body is larger than {} bytes", limits.max_body),
        )
    } else {
        match timeout(limits.request_timeout, body).await {
            Err(_) => ApiReply::error(408, "the request body did not arrive in time"),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => ApiReply::error(
                413,
                format!("the request body is larger than {} bytes", limits.max_body),
            ),
            Ok(Err(_)) => ApiReply::error(400, "the request body could not be read"),
            Ok(Ok(collected)) => {
                let body = collected.to_bytes();
                let shared2 = shared.clone();
                let (m, p) = (method.clone(), path.clone());
                let task = tokio::task::spawn_blocking(move || {
                    shared2.api.handle(&ApiRequest {
                        method: &m,
                        path: &p,
                        body: &body,
                        peer,
                        client_cert: cert.as_deref(),
                    })
                });
                match timeout(limits.request_timeout, task).await {
                    Ok(Ok(reply)) => reply,
                    Ok(Err(_)) => ApiReply::error(500, "the handler failed"),
                    Err(_) => ApiReply::error(503, "the CA did not answer in time: retry"),
                }
            }
        }
    };
    shared.log.write(&LogLine {
        at: crate::model::timefmt::now(),
        peer: peer.to_string(),
        method: &method,
        path: &path,
        status: reply.status,
        identity: reply.identity.as_deref(),
        serial: reply.serial.as_deref(),
        error: reply.error.as_deref(),
        ms: start.elapsed().as_secs_f64() * 1000.0,
    });
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(reply.content_type),
    );
    if let Some(allow) = reply.allow {
        response.headers_mut().insert(
            hyper::header::ALLOW,
            hyper::header::HeaderValue::from_static(allow),
        );
    }
    response
}
