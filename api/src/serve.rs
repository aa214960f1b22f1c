//! Serving a router on a TCP listener, with limits: every listener Yukari
//! opens (the EC2 endpoint, the guests' metadata service on a controller
//! and on a node) goes through [`serve`] (docs/adr/0010-connection-limits.md).
//!
//! - A connection must send a whole request head within
//!   [`Limits::header_timeout`] of opening, and of its previous answer
//!   (so the same time bounds an idle keep-alive connection); a request
//!   body may not pause longer than that either. Else it is closed.
//! - At most [`Limits::max_connections`] are open: at the cap, a new
//!   connection makes the one idle the longest close (never one answering
//!   a request), so a flood of idle sockets cannot keep a client out.
//! - Accept errors (out of file descriptors) close the idlest connection
//!   and back off briefly instead of spinning or ending the loop.
//! - Handlers see the peer as `ConnectInfo<SocketAddr>`.
//! - When `shutdown` completes, the listener closes, idle connections
//!   close at once and requests being answered are finished.
//! - [`serve_upgraded`] first turns each connection into something else
//!   (the web console: TLS, or plain HTTP that is told to go to https),
//!   within the header timeout; its requests carry [`Secure`].

mod connections;
#[cfg(test)]
mod tests;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use connections::{Answering, Connections, Tracker};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tower::ServiceExt;
use tower_http::timeout::{TimeoutBody, TimeoutError};

/// How long the accept loop waits after an accept error that is not one
/// connection's (such as running out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// A warning that holds on (at the cap, out of file descriptors) is
/// logged again at most this often.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// When a lasting condition was last warned of.
#[derive(Default)]
struct Warned(Option<Instant>);

impl Warned {
    /// Is it time to warn again?
    fn due(&mut self) -> bool {
        let due = self.0.is_none_or(|at| at.elapsed() >= WARN_EVERY);
        if due {
            self.0 = Some(Instant::now());
        }
        due
    }
}

/// The limits a listener's connections live with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Time to send a whole request head, from the connection's opening
    /// or its previous answer; also the longest pause in a request body.
    pub header_timeout: Duration,
}

impl Limits {
    /// Connections at most by default, whatever the file limit.
    pub const MAX_CONNECTIONS: usize = 10_000;
    /// Largest request head (request line with its query string, and
    /// headers), in bytes: beyond it hyper answers 431 and closes. An EC2
    /// GET naming 1,000 ids with a signature is about 40 KiB.
    pub const HEAD_LIMIT: usize = 128 * 1024;
    /// The default header timeout.
    pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

    /// The defaults for a process that may open `files` files: a quarter
    /// of them per listener (a process has a few listeners besides its log,
    /// its guests and its own clients), at most [`Self::MAX_CONNECTIONS`].
    pub fn for_file_limit(files: u64) -> Limits {
        let quarter = usize::try_from(files / 4).unwrap_or(usize::MAX);
        Limits {
            max_connections: quarter.clamp(16, Self::MAX_CONNECTIONS),
            header_timeout: Self::HEADER_TIMEOUT,
        }
    }
}

/// Did reading a request body fail because the client stopped sending it
/// (for longer than [`Limits::header_timeout`])?
pub fn body_stalled(error: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.is::<TimeoutError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// Accept errors of one connection (it went away before it was accepted):
/// the next accept is tried at once.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}

/// A byte stream HTTP is served on once a connection was upgraded.
pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}

impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Io for T {}

/// What a connection became: the stream to speak HTTP on, and whether it
/// is encrypted.
pub struct Upgraded {
    pub io: Box<dyn Io>,
    pub secure: bool,
}

/// Set on every request of a listener served by [`serve_upgraded`]:
/// whether its connection is encrypted (TLS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Secure(pub bool);

/// Turns a new connection into the stream HTTP is spoken on (a TLS
/// handshake, say), before any request is read.
pub trait Upgrade: Send + Sync + 'static {
    fn upgrade(
        &self,
        stream: TcpStream,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Upgraded>> + Send + 'static>>;
}

/// Serves `router` on `listener` within `limits` until `shutdown`
/// completes and every request being answered then has been answered.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) {
    serve_inner(listener, router, limits, None, shutdown).await
}

/// [`serve`], with each connection upgraded first by `upgrade` (which must
/// finish within the header timeout, or the connection is closed); the
/// connection's requests carry [`Secure`].
pub async fn serve_upgraded(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    upgrade: Arc<dyn Upgrade>,
    shutdown: impl Future<Output = ()> + Send,
) {
    serve_inner(listener, router, limits, Some(upgrade), shutdown).await
}

async fn serve_inner(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    upgrade: Option<Arc<dyn Upgrade>>,
    shutdown: impl Future<Output = ()> + Send,
) {
    let connections = Arc::new(Connections::default());
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).max_buf_size(Limits::HEAD_LIMIT);
    let address = listener.local_addr().ok();
    let (mut at_cap, mut failing) = (Warned::default(), Warned::default());
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Most likely out of file descriptors: the idlest
                // connection gives its own back.
                let evicted = connections.evict_idlest();
                if failing.due() {
                    tracing::warn!(listener = ?address, error = %e, evicted, "cannot accept connections; retrying");
                }
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                }
            }
        };
        // Answers go out as soon as they are written: with Nagle's
        // algorithm, a small body written after its head waited for the
        // client's delayed ACK (about 40 ms a request).
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let admitted = tokio::select! {
            _ = &mut shutdown => break,
            admitted = connections.admit(limits.max_connections) => admitted,
        };
        if admitted.evicted && at_cap.due() {
            tracing::warn!(
                listener = ?address,
                max_connections = limits.max_connections,
                "at the connection cap: each new connection closes the one idle the longest"
            );
        }
        let mut connection =
            Connection { peer, router: router.clone(), body_timeout: limits.header_timeout, secure: None };
        let (http, tracker, mut close) = (http.clone(), admitted.tracker, admitted.close);
        match upgrade.clone() {
            None => {
                tokio::spawn(connection.run(http, stream, tracker, close));
            }
            Some(upgrade) => {
                tokio::spawn(async move {
                    let upgraded = tokio::select! {
                        upgraded = tokio::time::timeout(limits.header_timeout, upgrade.upgrade(stream)) => upgraded,
                        _ = &mut close => return,
                    };
                    match upgraded {
                        Ok(Ok(upgraded)) => {
                            connection.secure = Some(Secure(upgraded.secure));
                            connection.run(http, upgraded.io, tracker, close).await
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "connection not upgraded"),
                        Err(_) => tracing::debug!(%peer, "connection not upgraded in time"),
                    }
                });
            }
        }
    }
    drop(listener);
    connections.close_all();
    connections.all_closed().await;
}

/// What a connection's requests need.
struct Connection {
    peer: SocketAddr,
    router: Router,
    body_timeout: Duration,
    /// For an upgraded connection: whether it is encrypted.
    secure: Option<Secure>,
}

impl Connection {
    /// Serves the connection until it ends, or until it is asked to close:
    /// then at once if no request has reached the router on it, else once
    /// the request it answers (if any) is answered and sent.
    async fn run(
        self,
        http: http1::Builder,
        stream: impl Io,
        tracker: Tracker,
        close: tokio::sync::oneshot::Receiver<()>,
    ) {
        let (peer, tracker) = (self.peer, Arc::new(tracker));
        let service = {
            let tracker = tracker.clone();
            let this = Arc::new(self);
            hyper::service::service_fn(move |request| this.clone().answer(request, tracker.answering()))
        };
        let connection = http.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(connection);
        let ended = tokio::select! {
            ended = connection.as_mut() => ended,
            _ = close => {
                // Nothing to answer or to finish sending: dropping the
                // connection closes it (hyper's graceful shutdown would
                // wait for a half-sent first head).
                if tracker.untouched() {
                    tracing::debug!(%peer, "connection closed before its first request");
                    return;
                }
                // Closes once idle, after its last answer is sent.
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(e) = ended {
            tracing::debug!(%peer, error = %e, "connection ended");
        }
    }

    async fn answer(
        self: Arc<Self>,
        request: hyper::Request<Incoming>,
        answering: Answering,
    ) -> Result<hyper::Response<Answer>, Infallible> {
        let mut request = request.map(|body| Body::new(TimeoutBody::new(self.body_timeout, body)));
        request.extensions_mut().insert(ConnectInfo(self.peer));
        if let Some(secure) = self.secure {
            request.extensions_mut().insert(secure);
        }
        let response = self.router.clone().oneshot(request).await?;
        Ok(response.map(|body| Answer { body, _answering: answering }))
    }
}

/// A response body that keeps its connection counted as busy until the
/// server drops it, having sent it.
struct Answer {
    body: Body,
    _answering: Answering,
}

impl http_body::Body for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
