//! The Switchyard server: builds the shared state from a validated config, the axum router with
//! every endpoint, and runs it with graceful shutdown. `pipeline` holds the request lifecycle.

pub mod admin;
pub mod auth;
pub mod errors;
pub mod fastpath;
pub mod governance;
pub mod keys;
pub mod ledger;
pub mod meter;
pub mod mock;
pub mod ops;
pub mod pipeline;
pub mod proxy;
pub mod state;
pub mod transport;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use http::HeaderMap;
use switchyard_config::Config;
use switchyard_ingress::Dialect;
use switchyard_types::{ErrorClass, GatewayError};

use crate::pipeline::Api;
pub use crate::state::AppState;

/// Builds the router over already-built state.
pub fn router(app: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/chat/completions", post(chat))
        .route("/v1/embeddings", post(embeddings))
        .route("/embeddings", post(embeddings))
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .route("/v1/models", get(ops::models))
        .route("/models", get(ops::models))
        .route("/health/live", get(ops::live))
        .route("/health/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .nest("/admin", admin::router())
        .fallback(not_found)
        .with_state(app)
}

async fn chat(State(app): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    pipeline::handle(app, Api::OpenAiChat, headers, body).await
}

async fn embeddings(State(app): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    pipeline::handle(app, Api::OpenAiEmbeddings, headers, body).await
}

async fn messages(State(app): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    pipeline::handle(app, Api::AnthropicMessages, headers, body).await
}

async fn count_tokens(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    pipeline::count_tokens(app, headers, body).await
}

async fn not_found(headers: HeaderMap, uri: http::Uri) -> Response {
    let rid = pipeline::request_id(&headers);
    let dialect = if headers.contains_key("anthropic-version") {
        Dialect::Anthropic
    } else {
        Dialect::OpenAi
    };
    let mut e = GatewayError::client(ErrorClass::NotFound, format!("no route for {}", uri.path()));
    e.code = Some("unknown_url".into());
    errors::error_response(dialect, &e, &rid)
}

/// A running server: its address and a handle to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

impl Running {
    /// Waits until the server stops (after an external shutdown signal), then flushes the
    /// spend ledger and request log.
    pub async fn wait(self) -> Result<(), String> {
        let _keep_sender = self.shutdown;
        let r = self.task.await.map_err(|e| e.to_string())?;
        self.state.ledger.close(Duration::from_secs(10)).await;
        r
    }

    /// Asks the server to stop accepting, waits for in-flight requests (up to the grace), then
    /// flushes the ledger.
    pub async fn shutdown(self) -> Result<(), String> {
        let _ = self.shutdown.send(true);
        let r = self.task.await.map_err(|e| e.to_string())?;
        self.state.ledger.close(Duration::from_secs(10)).await;
        r
    }
}

/// Builds everything from `config`, binds, and serves in a background task. Shutdown is
/// triggered by [`Running::shutdown`] or by `external` resolving (SIGTERM/SIGINT in the binary).
pub async fn start(
    config: &Config,
    external: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Running, String> {
    let store = switchyard_store::connect(&config.database)
        .await
        .map_err(|e| format!("database: {e}"))?;
    let state = Arc::new(AppState::build(config, store).await?);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    let grace = Duration::from_millis(config.server.shutdown_grace_ms);
    let app = router(state.clone());
    let st = state.clone();
    let state_for_serve = state.clone();
    let task = tokio::spawn(async move {
        let (drain_tx, mut drain_rx) = tokio::sync::watch::channel(false);
        let signal = async move {
            tokio::select! {
                _ = external => {}
                _ = rx.wait_for(|v| *v) => {}
            }
            st.draining.store(true, Ordering::Relaxed);
            tracing::info!("shutting down: no new connections; waiting for in-flight requests");
            let _ = drain_tx.send(true);
        };
        let server = serve(listener, state_for_serve, app, signal);
        let deadline = async move {
            let _ = drain_rx.wait_for(|v| *v).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            r = server => r,
            _ = deadline => {
                tracing::warn!(grace_ms = grace.as_millis() as u64, "shutdown grace period over; closing remaining connections");
                Ok(())
            }
        }
    });
    Ok(Running {
        addr,
        state,
        shutdown: tx,
        task,
    })
}

/// Accepts connections until `signal` resolves (HTTP/1.1, and HTTP/2 with prior knowledge),
/// then stops accepting and waits for the open connections to finish their requests. Dropping
/// the future closes every connection still open.
///
/// The API endpoints that carry traffic go straight to the pipeline; everything else (admin,
/// health, metrics, models, 404s and 405s) through the axum router. Hyper's own connection
/// builder instead of `axum::serve`: the router's per-request machinery (route lookup,
/// extractor plumbing, a copy of the header map) is measurable at these request rates.
async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<AppState>,
    router: Router,
    signal: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto;
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // The connection tasks, so that dropping this future (the grace period is over) aborts
    // them and closes their sockets instead of leaving them running detached.
    let mut connections = tokio::task::JoinSet::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        let tcp = tokio::select! {
            _ = &mut signal => break,
            r = listener.accept() => match r {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    if !is_connection_error(&e) {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::error!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |req| dispatch(app.clone(), router.clone(), req));
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(tcp), service)
            .into_owned();
        let conn = graceful.watch(conn);
        while connections.try_join_next().is_some() {}
        connections.spawn(async move {
            if let Err(e) = conn.await {
                tracing::trace!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// One request: the traffic endpoints to the pipeline, the rest to the router.
async fn dispatch(
    app: Arc<AppState>,
    mut router: Router,
    req: http::Request<hyper::body::Incoming>,
) -> Result<Response, std::convert::Infallible> {
    if req.method() == http::Method::POST {
        let api = match req.uri().path() {
            "/v1/chat/completions" | "/chat/completions" => Some(Api::OpenAiChat),
            "/v1/embeddings" | "/embeddings" => Some(Api::OpenAiEmbeddings),
            "/v1/messages" => Some(Api::AnthropicMessages),
            _ => None,
        };
        if let Some(api) = api {
            let (parts, body) = req.into_parts();
            return Ok(pipeline::handle(app, api, parts.headers, Body::new(body)).await);
        }
    }
    tower_service::Service::call(&mut router, req.map(Body::new)).await
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
