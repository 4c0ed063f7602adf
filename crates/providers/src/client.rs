//! The one upstream HTTP client: pooled keep-alive connections, rustls with ALPN (HTTP/2 where
//! the upstream offers it, HTTP/1.1 otherwise), `TCP_NODELAY`, and a connect timeout. Build it
//! once with [`HttpClient::new`] and clone it (clones share the pools).
//!
//! `https://` upstreams (every hosted provider) go through hyper-util's pooled client, which
//! negotiates HTTP/2 or HTTP/1.1 over TLS. Plain `http://` upstreams (vLLM, Ollama, TGI and
//! other servers on the local network, which only speak HTTP/1.1 without TLS) go through a
//! smaller pool of hyper HTTP/1.1 connections kept here: a connection goes back to its pool
//! the moment its response body ends, instead of from a task spawned per request, and a
//! request on a reused connection that the server had closed meanwhile is sent again on
//! another one (as hyper-util's client does).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::client::conn::http1;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};

pub type Body = Full<Bytes>;
pub type Connector = TimedConnector;
type TlsConnector = hyper_rustls::HttpsConnector<HttpConnector>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Idle connections kept per upstream host (plain HTTP).
const MAX_IDLE_PER_HOST: usize = 256;
/// An idle connection older than this is not reused (servers close idle ones eventually).
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a pooled connection may take to become ready for its next request (its previous
/// response has ended; the connection task only has to notice).
const READY_WAIT: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Client<Connector, Body>>,
    plain: Arc<PlainPool>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Builds the shared client, trusting the Mozilla root certificates (webpki-roots).
    /// `connect_timeout` bounds TCP connect and, for `https://`, the TLS handshake with it.
    pub fn new(connect_timeout: Duration) -> Result<Self, String> {
        Self::with_roots(connect_timeout, webpki_roots())
    }

    /// [`HttpClient::new`] trusting exactly `roots` (a private CA; tests).
    pub fn with_roots(
        connect_timeout: Duration,
        roots: rustls::RootCertStore,
    ) -> Result<Self, String> {
        // Install ring as the process-wide provider once; ignore "already installed".
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_keepalive(Some(Duration::from_secs(60)));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(http);
        let connector = TimedConnector {
            inner: https,
            timeout: connect_timeout,
        };
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(IDLE_TIMEOUT)
            .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        Ok(Self {
            inner: Arc::new(inner),
            plain: Arc::new(PlainPool {
                idle: parking_lot::Mutex::new(HashMap::new()),
                connect_timeout,
            }),
        })
    }

    pub fn inner(&self) -> &Client<Connector, Body> {
        &self.inner
    }

    /// Sends a request and returns the response head with a streaming body.
    pub async fn send(&self, mut req: Request<Body>) -> Result<Response<ClientBody>, ClientError> {
        if req.uri().scheme_str() == Some("http") {
            set_host(&mut req);
            return self.plain.send(req).await;
        }
        match self.inner.request(req).await {
            Ok(resp) => Ok(resp.map(ClientBody::Shared)),
            Err(e) => Err(ClientError::Shared(e)),
        }
    }

    /// Idle plain-HTTP connections held for `authority` (tests).
    pub fn idle_plain_connections(&self, authority: &str) -> usize {
        self.plain.idle.lock().get(authority).map_or(0, Vec::len)
    }
}

fn webpki_roots() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// The TLS connector under one deadline for TCP connect and the TLS handshake together (the
/// TCP connector's own timeout covers only the former): a host that accepts connections but
/// never completes a handshake fails as a connect timeout, like one that never accepts.
#[derive(Clone)]
pub struct TimedConnector {
    inner: TlsConnector,
    timeout: Duration,
}

/// A TCP connect plus TLS handshake that took longer than the connect timeout.
#[derive(Debug)]
struct ConnectTimedOut(Duration);

impl std::fmt::Display for ConnectTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "connect (TCP and TLS handshake) timed out after {} ms",
            self.0.as_millis()
        )
    }
}

impl std::error::Error for ConnectTimedOut {}

impl tower_service::Service<http::Uri> for TimedConnector {
    type Response = <TlsConnector as tower_service::Service<http::Uri>>::Response;
    type Error = BoxError;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(connected) => connected,
                Err(_) => Err(Box::new(ConnectTimedOut(timeout)) as BoxError),
            }
        })
    }
}

/// Sets `Host` from the URL's authority when the request has none: the value hyper's client
/// would set (the host, and the port unless it is the scheme's default).
pub fn set_host<B>(request: &mut Request<B>) {
    if request.headers().contains_key(http::header::HOST) {
        return;
    }
    let uri = request.uri();
    let Some(authority) = uri.authority() else {
        return;
    };
    let text = authority.as_str();
    if text.contains('@') {
        // Credentials in the URL: leave it to hyper, which drops them.
        return;
    }
    let default_port = match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    };
    let value = match authority.port_u16() {
        Some(port) if Some(port) == default_port => HeaderValue::from_str(authority.host()),
        _ => HeaderValue::from_str(text),
    };
    if let Ok(v) = value {
        request.headers_mut().insert(http::header::HOST, v);
    }
}

/// Why a request got no response.
#[derive(Debug)]
pub enum ClientError {
    /// From the shared (TLS) client.
    Shared(hyper_util::client::legacy::Error),
    /// TCP connect to a plain-HTTP upstream failed or timed out.
    Connect(std::io::Error),
    /// The HTTP/1.1 exchange with a plain-HTTP upstream failed.
    Request(hyper::Error),
}

impl ClientError {
    /// No connection could be made (nothing was sent).
    pub fn is_connect(&self) -> bool {
        match self {
            ClientError::Shared(e) => e.is_connect(),
            ClientError::Connect(_) => true,
            ClientError::Request(_) => false,
        }
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Shared(e) => e.fmt(f),
            ClientError::Connect(_) => f.write_str("client error (Connect)"),
            ClientError::Request(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Shared(e) => e.source(),
            ClientError::Connect(e) => Some(e),
            ClientError::Request(e) => e.source(),
        }
    }
}

/// A response body from either client.
pub enum ClientBody {
    Shared(Incoming),
    Plain(PlainBody),
}

impl hyper::body::Body for ClientBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            ClientBody::Shared(b) => Pin::new(b).poll_frame(cx),
            ClientBody::Plain(b) => Pin::new(b).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ClientBody::Shared(b) => b.is_end_stream(),
            ClientBody::Plain(b) => b.inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ClientBody::Shared(b) => b.size_hint(),
            ClientBody::Plain(b) => b.inner.size_hint(),
        }
    }
}

/// A pooled plain-HTTP connection.
struct Idle {
    key: Arc<str>,
    tx: http1::SendRequest<Body>,
    since: Instant,
}

struct PlainPool {
    idle: parking_lot::Mutex<HashMap<Arc<str>, Vec<Idle>>>,
    connect_timeout: Duration,
}

/// A plain-HTTP response body: hands its connection back to the pool when it ends. Dropped
/// before its end, the connection goes with it (hyper closes it: the rest of the response
/// would still be on the wire).
pub struct PlainBody {
    inner: Incoming,
    back: Option<(Arc<PlainPool>, Idle)>,
}

impl PlainBody {
    fn give_back(&mut self) {
        if let Some((pool, idle)) = self.back.take() {
            pool.put(idle);
        }
    }
}

impl hyper::body::Body for PlainBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_frame(cx);
        match &r {
            Poll::Ready(None) => this.give_back(),
            Poll::Ready(Some(Ok(_))) if this.inner.is_end_stream() => this.give_back(),
            Poll::Ready(Some(Err(_))) => this.back = None,
            _ => {}
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl PlainPool {
    /// A live idle connection to `authority`, newest first (the most likely to be warm).
    fn take(&self, authority: &str) -> Option<Idle> {
        let mut idle = self.idle.lock();
        let list = idle.get_mut(authority)?;
        while let Some(conn) = list.pop() {
            if !conn.tx.is_closed() && conn.since.elapsed() < IDLE_TIMEOUT {
                return Some(conn);
            }
        }
        None
    }

    fn put(&self, mut conn: Idle) {
        if conn.tx.is_closed() {
            return;
        }
        conn.since = Instant::now();
        let mut idle = self.idle.lock();
        let list = idle.entry(conn.key.clone()).or_default();
        if list.len() >= MAX_IDLE_PER_HOST {
            // Drop the oldest instead of the one just used.
            list.remove(0);
        }
        list.push(conn);
    }

    async fn connect(&self, key: Arc<str>, host: &str, port: u16) -> Result<Idle, ClientError> {
        let connect = tokio::net::TcpStream::connect((host, port));
        let tcp = match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => return Err(ClientError::Connect(e)),
            Err(_) => {
                return Err(ClientError::Connect(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "tcp connect timed out",
                )))
            }
        };
        let _ = tcp.set_nodelay(true);
        let (tx, conn) = http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(ClientError::Request)?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "upstream connection closed with an error");
            }
        });
        Ok(Idle {
            key,
            tx,
            since: Instant::now(),
        })
    }

    async fn send(
        self: &Arc<Self>,
        mut req: Request<Body>,
    ) -> Result<Response<ClientBody>, ClientError> {
        let uri = req.uri().clone();
        let (Some(authority), Some(host)) = (uri.authority(), uri.host()) else {
            return Err(ClientError::Connect(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the upstream URL has no host",
            )));
        };
        let port = uri.port_u16().unwrap_or(80);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        // HTTP/1.1 to an origin server: the request line carries the path only.
        let origin = uri
            .path_and_query()
            .map_or("/", http::uri::PathAndQuery::as_str);
        *req.uri_mut() = http::Uri::try_from(origin).map_err(|_| {
            ClientError::Connect(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the upstream URL has an invalid path",
            ))
        })?;
        loop {
            let (mut conn, reused) = match self.take(authority.as_str()) {
                Some(conn) => (conn, true),
                None => (
                    self.connect(Arc::from(authority.as_str()), host, port)
                        .await?,
                    false,
                ),
            };
            if !conn.tx.is_ready() {
                // The previous response has ended; wait for the connection to notice.
                match tokio::time::timeout(READY_WAIT, conn.tx.ready()).await {
                    Ok(Ok(())) => {}
                    _ if reused => continue,
                    Ok(Err(e)) => return Err(ClientError::Request(e)),
                    Err(_) => {
                        return Err(ClientError::Connect(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "the new upstream connection never became ready",
                        )))
                    }
                }
            }
            match conn.tx.try_send_request(req).await {
                Ok(resp) => {
                    let (parts, inner) = resp.into_parts();
                    let mut body = PlainBody {
                        inner,
                        back: Some((self.clone(), conn)),
                    };
                    if body.inner.is_end_stream() {
                        body.give_back();
                    }
                    return Ok(Response::from_parts(parts, ClientBody::Plain(body)));
                }
                Err(mut e) => match e.take_message() {
                    // Never written: the server closed the reused connection first. Again, on
                    // another one.
                    Some(again) if reused => req = again,
                    _ => return Err(ClientError::Request(e.into_error())),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::set_host;

    fn host_for(url: &str, preset: Option<&str>) -> Option<String> {
        let mut b = http::Request::builder().uri(url);
        if let Some(h) = preset {
            b = b.header(http::header::HOST, h);
        }
        let mut req = b.body(()).unwrap();
        set_host(&mut req);
        req.headers()
            .get(http::header::HOST)
            .map(|v| v.to_str().unwrap().to_string())
    }

    /// The same Host hyper's client would send; a Host the adapter set is kept.
    #[test]
    fn host_is_the_authority_without_a_default_port() {
        assert_eq!(
            host_for("http://127.0.0.1:8000/v1/x", None).as_deref(),
            Some("127.0.0.1:8000")
        );
        assert_eq!(
            host_for("https://api.openai.com/v1/x", None).as_deref(),
            Some("api.openai.com")
        );
        assert_eq!(
            host_for("https://api.openai.com:443/v1", None).as_deref(),
            Some("api.openai.com")
        );
        assert_eq!(host_for("http://h:80/", None).as_deref(), Some("h"));
        assert_eq!(host_for("https://h:80/", None).as_deref(), Some("h:80"));
        assert_eq!(
            host_for("http://[::1]:9000/", None).as_deref(),
            Some("[::1]:9000")
        );
        assert_eq!(host_for("http://u:p@h:9000/", None), None);
        assert_eq!(
            host_for("https://a.example/", Some("b.example")).as_deref(),
            Some("b.example")
        );
    }
}

#[cfg(test)]
mod pool_tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::HttpClient;

    /// A bare HTTP/1.1 server: answers every request with `body`, counts connections, and
    /// closes each connection after `per_conn` responses (without saying so).
    async fn server(body: &'static str, per_conn: usize) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (mut sock, _) = listener.accept().await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    for _ in 0..per_conn {
                        // Read one request head (the test requests have no body).
                        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            let mut chunk = [0u8; 1024];
                            match sock.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.clear();
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if sock.write_all(resp.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (format!("127.0.0.1:{}", addr.port()), accepted)
    }

    async fn get(client: &HttpClient, authority: &str) -> String {
        let req = http::Request::get(format!("http://{authority}/v1/x"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let resp = client.send(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn sequential_requests_share_one_connection() {
        let (authority, accepted) = server("hello", usize::MAX).await;
        let client = HttpClient::new(Duration::from_secs(1)).unwrap();
        for _ in 0..5 {
            assert_eq!(get(&client, &authority).await, "hello");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        assert_eq!(client.idle_plain_connections(&authority), 1);
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_is_replaced() {
        let (authority, accepted) = server("once", 1).await;
        let client = HttpClient::new(Duration::from_secs(1)).unwrap();
        for _ in 0..4 {
            assert_eq!(get(&client, &authority).await, "once");
            // Let the close reach the client sometimes before the next request, sometimes not.
            tokio::task::yield_now().await;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_body_dropped_before_its_end_takes_its_connection_along() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut chunk = [0u8; 1024];
            let _ = sock.read(&mut chunk).await;
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf")
                .await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let client = HttpClient::new(Duration::from_secs(1)).unwrap();
        let req = http::Request::get(format!("http://{authority}/"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let resp = client.send(req).await.unwrap();
        let mut body = resp.into_body();
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), "half");
        drop(body);
        assert_eq!(client.idle_plain_connections(&authority), 0);
    }

    #[tokio::test]
    async fn an_unreachable_upstream_is_a_connect_error() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = HttpClient::new(Duration::from_secs(1)).unwrap();
        let req = http::Request::get(format!("http://127.0.0.1:{port}/"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let e = client.send(req).await.err().unwrap();
        assert!(e.is_connect(), "{e}");
    }
}
