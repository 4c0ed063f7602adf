//! The one upstream HTTP client: pooled keep-alive connections, rustls with ALPN (HTTP/2 where
//! the upstream offers it, HTTP/1.1 otherwise), `TCP_NODELAY`, and a connect timeout. Build it
//! once with [`HttpClient::new`] and clone it (clones share the pool).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioTimer};

pub type Body = Full<Bytes>;
pub type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: std::sync::Arc<Client<Connector, Body>>,
}

impl HttpClient {
    /// Builds the shared client. `connect_timeout` bounds TCP connect.
    pub fn new(connect_timeout: Duration) -> Result<Self, String> {
        // Install ring as the process-wide provider once; ignore "already installed".
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_keepalive(Some(Duration::from_secs(60)));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(http);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(256)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(https);
        Ok(Self {
            inner: std::sync::Arc::new(inner),
        })
    }

    pub fn inner(&self) -> &Client<Connector, Body> {
        &self.inner
    }

    /// Sends a request and returns the response head with a streaming body.
    pub async fn send(
        &self,
        req: http::Request<Body>,
    ) -> Result<http::Response<hyper::body::Incoming>, hyper_util::client::legacy::Error> {
        self.inner.request(req).await
    }
}
