//! Sending a built upstream request: over HTTP with the shared client, or in-process to the
//! `mock` provider. Both give an [`UpstreamResponse`] whose body is a stream of byte chunks.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Full};
use switchyard_providers::client::{ClientError, HttpClient};
use switchyard_providers::WireRequest;
use switchyard_types::{ErrorClass, GatewayError};

use crate::mock::MockProvider;

pub type UpstreamBody = Pin<Box<dyn Stream<Item = Result<Bytes, GatewayError>> + Send>>;

pub struct UpstreamResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: UpstreamBody,
}

/// Per-provider timeouts with the gateway defaults filled in.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub first_byte: Duration,
    pub request: Duration,
    pub idle: Duration,
}

impl Timeouts {
    pub fn from_config(t: &switchyard_config::Timeouts) -> Self {
        let ms = |v: Option<u64>, d: u64| Duration::from_millis(v.unwrap_or(d));
        Self {
            connect: ms(t.connect_ms, 5_000),
            first_byte: ms(t.first_byte_ms, 60_000),
            request: ms(t.request_ms, 600_000),
            idle: ms(t.idle_ms, 60_000),
        }
    }
}

impl Timeouts {
    /// These timeouts with a target's overrides applied. `connect` stays the provider's:
    /// connections are pooled per provider (validation refuses `connect_ms` on a target).
    pub fn overridden(&self, o: &switchyard_config::Timeouts) -> Self {
        let ms = |v: Option<u64>, d: Duration| v.map_or(d, Duration::from_millis);
        Self {
            connect: self.connect,
            first_byte: ms(o.first_byte_ms, self.first_byte),
            request: ms(o.request_ms, self.request),
            idle: ms(o.idle_ms, self.idle),
        }
    }

    /// How long to wait for the response head: `first_byte`, and for an answer read whole (not
    /// a stream) no longer than `request`, which bounds the whole exchange from the moment the
    /// request is sent.
    pub fn head(&self, stream: bool) -> Duration {
        if stream {
            self.first_byte
        } else {
            self.first_byte.min(self.request)
        }
    }
}

#[derive(Clone)]
pub enum Transport {
    Http(HttpClient),
    Mock(Arc<MockProvider>),
}

impl Transport {
    /// Sends `req` and waits for the response head, at most `head_wait` (see
    /// [`Timeouts::head`]).
    pub async fn send(
        &self,
        provider: &str,
        req: WireRequest,
        head_wait: Duration,
    ) -> Result<UpstreamResponse, GatewayError> {
        match tokio::time::timeout(head_wait, self.exchange(provider, req)).await {
            Ok(result) => result,
            Err(_) => Err(GatewayError::upstream(
                ErrorClass::Timeout,
                504,
                format!(
                    "provider {provider} did not answer within {} ms",
                    head_wait.as_millis()
                ),
            )),
        }
    }

    async fn exchange(
        &self,
        provider: &str,
        req: WireRequest,
    ) -> Result<UpstreamResponse, GatewayError> {
        match self {
            Transport::Mock(m) => m.handle(req).await,
            Transport::Http(client) => {
                let mut builder = http::Request::builder().method(req.method).uri(&req.url);
                if let Some(h) = builder.headers_mut() {
                    h.reserve(req.headers.len());
                    for (k, v) in req.headers {
                        h.append(k, v);
                    }
                }
                let mut request = builder.body(Full::new(req.body)).map_err(|_| {
                    GatewayError::internal(format!("invalid upstream URL for provider {provider}"))
                })?;
                switchyard_providers::client::set_host(&mut request);
                let resp = client
                    .send(request)
                    .await
                    .map_err(|e| send_error(provider, &e))?;
                let (parts, body) = resp.into_parts();
                let provider_name = provider.to_string();
                let body = body.into_data_stream().map(move |r| {
                    r.map_err(|e| {
                        GatewayError::upstream(
                            ErrorClass::ServerError,
                            502,
                            format!("connection to provider {provider_name} broke: {e}"),
                        )
                    })
                });
                Ok(UpstreamResponse {
                    status: parts.status,
                    headers: parts.headers,
                    body: Box::pin(body),
                })
            }
        }
    }
}

fn send_error(provider: &str, e: &ClientError) -> GatewayError {
    use std::error::Error as _;
    // The error chain names hosts and OS errors, never headers (where the key is).
    let mut detail = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        src = s.source();
    }
    if e.is_connect() {
        let class = if detail.contains("timed out") {
            ErrorClass::Timeout
        } else {
            ErrorClass::Connect
        };
        GatewayError::upstream(
            class,
            if class == ErrorClass::Timeout {
                504
            } else {
                502
            },
            format!("could not connect to provider {provider}: {detail}"),
        )
    } else {
        GatewayError::upstream(
            ErrorClass::Connect,
            502,
            format!("request to provider {provider} failed: {detail}"),
        )
    }
}

/// Reads a whole (non-streaming) body, bounded by `limit` bytes and by what is left of
/// `timeouts.request` since the request was `sent`.
pub async fn collect_body(
    provider: &str,
    mut body: UpstreamBody,
    limit: usize,
    timeouts: &Timeouts,
    sent: Instant,
) -> Result<Bytes, GatewayError> {
    let read = async {
        let mut first: Option<Bytes> = None;
        let mut buf: Vec<u8> = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            if first.is_none() && buf.is_empty() {
                first = Some(chunk);
                continue;
            }
            if let Some(f) = first.take() {
                buf.extend_from_slice(&f);
            }
            buf.extend_from_slice(&chunk);
            if buf.len() > limit {
                return Err(GatewayError::upstream(
                    ErrorClass::ServerError,
                    502,
                    format!("provider {provider} sent a response larger than {limit} bytes"),
                ));
            }
        }
        Ok(match first {
            Some(f) => f,
            None => Bytes::from(buf),
        })
    };
    let left = timeouts.request.saturating_sub(sent.elapsed());
    match tokio::time::timeout(left, read).await {
        Ok(r) => r,
        Err(_) => Err(GatewayError::upstream(
            ErrorClass::Timeout,
            504,
            format!(
                "provider {provider} did not finish its response within {} ms",
                timeouts.request.as_millis()
            ),
        )),
    }
}
