//! The request pipeline, in order (see docs/architecture.md):
//!
//! 1. ingress: read the body (size limit), peek model/stream (fast path) — 400/413
//! 2. authenticate — 401
//! 3. admit (limits, budgets, model allow-list) — 429/403   [`Governance::admit`]
//! 4. input guardrails — 400 or rewrite                     [seam: `guard_input`, no rules yet]
//! 5. cache lookup                                          [not built yet]
//! 6. route: ordered attempts over targets and fallbacks; each attempt is a pass-through (same
//!    wire as the client) or a translation (client dialect -> canonical -> provider wire)
//! 7. output guardrails                                     [not built yet: they belong in the pumps]
//! 8. meter: metrics, then spend ledger and request log off the request path (`Meter`)
//! 9. egress in the client's dialect, with the x-switchyard-* headers
//!
//! Order matters: auth before reading anything costly about the request beyond its size;
//! admission before any upstream work; failover only before the first byte reaches the client.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use http_body_util::BodyExt;
use switchyard_ingress::anthropic::MessagesStreamEncoder;
use switchyard_ingress::openai::ChatStreamEncoder;
use switchyard_ingress::Dialect;
use switchyard_providers::{Dropped, WireRequest};
use switchyard_telemetry::Endpoint;
use switchyard_types::{ChatRequest, EmbedRequest, ErrorClass, GatewayError, Usage};

use crate::auth;
use crate::errors::error_response;
use crate::fastpath::{self, OpenAiStreamTap, Peeked, Required};
use crate::governance::Refused;
use crate::meter::Meter;
use crate::proxy::{self, Encoder, OpenAiPassPump, ProxyStream, Pump, TranslatePump};
use crate::state::{AppState, RoutePlan, Target, Wire};
use crate::transport::{collect_body, UpstreamBody};

/// Which API the request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    OpenAiChat,
    OpenAiEmbeddings,
    AnthropicMessages,
}

impl Api {
    fn dialect(self) -> Dialect {
        match self {
            Api::OpenAiChat | Api::OpenAiEmbeddings => Dialect::OpenAi,
            Api::AnthropicMessages => Dialect::Anthropic,
        }
    }
    fn endpoint(self) -> Endpoint {
        match self {
            Api::OpenAiChat => Endpoint::chat_completions,
            Api::OpenAiEmbeddings => Endpoint::embeddings,
            Api::AnthropicMessages => Endpoint::messages,
        }
    }
    fn required(self) -> Required {
        match self {
            Api::OpenAiChat => Required::Chat,
            Api::OpenAiEmbeddings => Required::Embeddings,
            Api::AnthropicMessages => Required::Messages,
        }
    }
}

/// The request id: the client's `x-request-id` when it is sane, else a new one.
pub fn request_id(headers: &HeaderMap) -> String {
    request_id_and_origin(headers).0
}

/// [`request_id`], and whether it is the client's (the meter then keys the ledger rows by an id
/// of the gateway's own).
fn request_id_and_origin(headers: &HeaderMap) -> (String, bool) {
    match client_request_id(headers) {
        Some(id) => (id, true),
        None => (new_request_id(), false),
    }
}

/// The client's `x-request-id` when it is sane (1–128 visible ASCII characters). It is echoed
/// back, but it is not unique (clients and retrying proxies repeat ids), so the spend ledger and
/// request log key their rows by an id of the gateway's own and keep the client's beside it.
fn client_request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
}

/// A new request id, `req_` + the time in milliseconds (12 hex digits) + 64 random bits (16 hex
/// digits). Ids sort by time, so the request log's and spend ledger's key indexes grow at
/// their right edge (pages that stay cached) instead of at random places: with random ids,
/// each insert into a large log read and rewrote index pages all over the file.
pub fn new_request_id() -> String {
    let ms = switchyard_store::now_ms() as u64 & 0xffff_ffff_ffff;
    // By hand rather than `format!`: this runs on every request.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(32);
    id.push_str("req_");
    let r = rand::random::<u64>();
    for (v, digits) in [(ms, 12u32), (r, 16)] {
        for i in (0..digits).rev() {
            id.push(char::from(HEX[((v >> (i * 4)) & 0xf) as usize]));
        }
    }
    id
}

/// Reads the body, refusing more than `limit` bytes with a 413.
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, GatewayError> {
    let too_large = || {
        GatewayError::client(
            ErrorClass::PayloadTooLarge,
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    };
    if let Some(len) = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > limit {
            return Err(too_large());
        }
    }
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(too_large())
            } else {
                Err(GatewayError::bad_request(format!(
                    "could not read the request body: {e}"
                )))
            }
        }
    }
}

mod keepalive;

/// One client request on its way through the pipeline.
pub(crate) struct Call<'a> {
    api: Api,
    body: &'a [u8],
    peek: Peeked<'a>,
    client_headers: &'a HeaderMap,
    /// The body parsed into canonical form, once, when the first translated attempt needs it
    /// (attempts may run concurrently when hedging, hence a `OnceLock`).
    canonical: OnceLock<Result<ChatRequest, GatewayError>>,
    /// The embeddings body parsed, once, for translated attempts.
    embed: OnceLock<Result<EmbedRequest, GatewayError>>,
}

impl Call<'_> {
    fn canonical(&self) -> Result<&ChatRequest, GatewayError> {
        self.canonical
            .get_or_init(|| match self.api {
                Api::OpenAiChat => switchyard_ingress::openai::parse_chat_request(self.body),
                Api::AnthropicMessages => {
                    switchyard_ingress::anthropic::parse_messages_request(self.body)
                }
                Api::OpenAiEmbeddings => {
                    Err(GatewayError::internal("embeddings have no chat form"))
                }
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    fn embed(&self) -> Result<&EmbedRequest, GatewayError> {
        self.embed
            .get_or_init(|| switchyard_ingress::openai::parse_embed_request(self.body))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// A successful upstream attempt, not yet sent to the client.
pub(crate) enum Answer {
    Full {
        body: Bytes,
        usage: Option<Usage>,
    },
    Stream {
        upstream: UpstreamBody,
        pump: Box<dyn Pump>,
        prefix: Vec<u8>,
        idle: Duration,
    },
}

pub(crate) struct Served {
    pub(crate) answer: Answer,
    pub(crate) target: Target,
    pub(crate) dropped: Dropped,
}

/// Entry point for every API request.
pub async fn handle(app: Arc<AppState>, api: Api, headers: HeaderMap, body: Body) -> Response {
    let (rid, from_client) = request_id_and_origin(&headers);
    let dialect = api.dialect();
    let mut meter = Meter::start(app.clone(), api.endpoint(), rid.clone(), from_client);
    match run(&app, api, &headers, body, &mut meter).await {
        Ok(resp) => resp,
        Err(Refused {
            error: e,
            headers: extra,
        }) => {
            let e = client_facing(e);
            meter.status = e.status;
            meter.error = Some(e.class);
            if e.who != switchyard_types::Who::Client {
                tracing::warn!(request_id = %rid, error = %e, "request failed");
            }
            meter.finish();
            let mut resp = error_response(dialect, &e, &rid);
            for (name, value) in extra {
                put(resp.headers_mut(), name, &value);
            }
            if meter.attempts > 0 {
                resp.headers_mut()
                    .insert(X_ATTEMPTS, HeaderValue::from(meter.attempts));
            }
            // An upstream's failure names the provider and model of the last attempt.
            if let (switchyard_types::Who::Upstream, Some(t)) = (e.who, &meter.failed_at) {
                if let Some(v) = &t.provider.header {
                    resp.headers_mut().insert(X_PROVIDER, v.clone());
                }
                if let Some(v) = &t.model_header {
                    resp.headers_mut().insert(X_MODEL, v.clone());
                }
            }
            resp
        }
    }
}

async fn run(
    app: &Arc<AppState>,
    api: Api,
    headers: &HeaderMap,
    body: Body,
    meter: &mut Meter,
) -> Result<Response, Refused> {
    let principal = auth::authenticate(app, headers, api.dialect()).await?;
    let bytes = read_body(headers, body, app.max_body_bytes).await?;
    let peek = fastpath::peek(&bytes, api.required())?;
    meter.model_requested = peek.model.to_string();
    let stream = peek.stream && api != Api::OpenAiEmbeddings;
    meter.stream = stream;
    let resolved = app.resolve(&peek.model)?;
    meter.model_label = resolved.label.clone();
    let admitted = app
        .governance
        .admit(&principal, &resolved, &peek, &bytes, headers, |b| {
            estimate_tokens(api, b)
        })
        .await?;
    meter.attribution = admitted.attribution;
    meter.permit = admitted.permit;
    if admitted.capture {
        meter.request_body = Some(String::from_utf8_lossy(&bytes).into_owned());
    }
    guard_input(&bytes)?;
    // The client may shorten the model's `timeout_ms`, never extend it.
    let model_deadline = resolved
        .total
        .primary()
        .settings()
        .timeout_ms
        .map(|ms| tokio::time::Instant::now() + Duration::from_millis(ms));
    let deadline = match (client_deadline(headers)?, model_deadline) {
        (Some(c), Some(m)) => Some(c.min(m)),
        (c, m) => c.or(m),
    };
    if let (true, Some(every)) = (stream, resolved.keepalive) {
        let m = std::mem::replace(meter, meter.detach());
        return Ok(keepalive::respond(
            app.clone(),
            api,
            bytes.clone(),
            headers.clone(),
            resolved,
            deadline,
            m,
            &admitted.rate_headers,
            every,
        ));
    }
    let call = Call {
        api,
        body: &bytes,
        peek,
        client_headers: headers,
        canonical: OnceLock::new(),
        embed: OnceLock::new(),
    };
    let served = route(app, &resolved, &call, deadline, meter).await?;
    Ok(respond(
        served,
        stream,
        admitted.capture,
        &admitted.rate_headers,
        meter,
    )?)
}

/// The provider refusing *our* credentials is not the client's fault: it must not look like a
/// 401 for the client's own key, and the provider's message (which may echo part of the key)
/// stays in the logs.
fn client_facing(e: GatewayError) -> GatewayError {
    if e.class == switchyard_types::ErrorClass::UpstreamAuth
        && e.who == switchyard_types::Who::Upstream
    {
        tracing::error!(error = %e, "a provider rejected the gateway's credentials");
        return GatewayError::upstream(
            switchyard_types::ErrorClass::UpstreamAuth,
            502,
            format!(
                "the provider rejected the gateway's credentials (upstream status {}); the operator must check the provider's api_key",
                e.status
            ),
        );
    }
    e
}

/// Prompt tokens for limits and budget reservations, with a real tokenizer (only called when a
/// subject has a tokens-per-minute limit or a budget).
fn estimate_tokens(api: Api, body: &[u8]) -> u64 {
    let parsed = match api {
        Api::OpenAiChat => {
            if let Some(n) = switchyard_policy::estimate_plain_openai_chat(body) {
                return n;
            }
            switchyard_ingress::openai::parse_chat_request(body)
        }
        Api::AnthropicMessages => switchyard_ingress::anthropic::parse_messages_request(body),
        Api::OpenAiEmbeddings => {
            return switchyard_ingress::openai::parse_embed_request(body)
                .map(|r| {
                    r.input
                        .iter()
                        .map(|t| switchyard_policy::estimate_prompt_tokens(t))
                        .sum()
                })
                .unwrap_or(0)
        }
    };
    parsed
        .map(|r| switchyard_policy::estimate_chat_prompt_tokens(&r))
        .unwrap_or(0)
}

/// Input guardrails plug in here (PII, prompt injection, deny-lists).
fn guard_input(_body: &[u8]) -> Result<(), GatewayError> {
    Ok(())
}

/// The client's own deadline for the whole request, from `x-switchyard-timeout` (milliseconds
/// or a number of seconds with an `s` suffix). The model's `timeout_ms` applies otherwise.
fn client_deadline(headers: &HeaderMap) -> Result<Option<tokio::time::Instant>, GatewayError> {
    let Some(v) = headers.get(&X_TIMEOUT) else {
        return Ok(None);
    };
    let text = v.to_str().unwrap_or("").trim();
    let parsed = match text.strip_suffix('s') {
        Some(secs) if !secs.ends_with('m') => secs.parse::<f64>().ok().map(|s| s * 1000.0),
        _ => text.strip_suffix("ms").unwrap_or(text).parse::<f64>().ok(),
    };
    match parsed {
        Some(ms) if ms.is_finite() && ms > 0.0 => Ok(Some(
            tokio::time::Instant::now() + Duration::from_millis(ms as u64),
        )),
        _ => Err(GatewayError::bad_request(format!(
            "x-switchyard-timeout must be a positive number of milliseconds (or seconds with `s`), got {text:?}"
        ))
        .with_param("x-switchyard-timeout")),
    }
}

/// Routes through the model's plan: targets chosen by its strategy, retries with backoff,
/// fallback models by error class, hedging, circuit breakers, and the overall deadline — all in
/// `switchyard_routing::Executor`. For a stream, an attempt resolves once its first event
/// arrived, so failover stays invisible to the client.
pub(crate) async fn route(
    app: &Arc<AppState>,
    plan: &RoutePlan,
    call: &Call<'_>,
    deadline: Option<tokio::time::Instant>,
    meter: &mut Meter,
) -> Result<Served, GatewayError> {
    let stream = call.peek.stream && call.api != Api::OpenAiEmbeddings;
    let routing_plan = if stream { &plan.stream } else { &plan.total };
    let m: &Meter = meter;
    let outcome = app
        .executor
        .execute(routing_plan, deadline, |ctx| {
            let target = plan.target(ctx.group_index, ctx.target_index).cloned();
            async move {
                let target = target.ok_or_else(|| GatewayError::internal("plan target missing"))?;
                let (answer, dropped) = attempt(app, call, &target, m).await?;
                Ok(Served {
                    answer,
                    target,
                    dropped,
                })
            }
        })
        .await;
    meter.attempts = outcome.attempts;
    for rec in &outcome.attempt_log {
        if let Some(t) = plan.target(rec.group, rec.target) {
            meter.attempt(t, rec.class);
        }
    }
    if outcome.result.is_err() {
        meter.failed_at = outcome
            .attempt_log
            .last()
            .and_then(|rec| plan.target(rec.group, rec.target))
            .cloned();
    }
    outcome.result
}

/// One upstream attempt: send, check the status, and for streams peek the first event.
async fn attempt(
    app: &Arc<AppState>,
    call: &Call<'_>,
    target: &Target,
    meter: &Meter,
) -> Result<(Answer, Dropped), GatewayError> {
    let p = &target.provider;
    let stream = call.peek.stream && call.api != Api::OpenAiEmbeddings;
    let mut dropped = Dropped::default();
    let pass_through = matches!(
        (call.api, p.wire),
        (Api::OpenAiChat | Api::OpenAiEmbeddings, Wire::OpenAi)
            | (Api::AnthropicMessages, Wire::Anthropic)
    );
    let wire = if pass_through {
        pass_through_request(call, target)?
    } else {
        match call.api {
            Api::OpenAiEmbeddings => {
                let mut req = call.embed()?.clone();
                req.model = target.upstream_model.clone();
                p.adapter.embed_request(&req)?
            }
            Api::OpenAiChat | Api::AnthropicMessages => {
                let mut req = call.canonical()?.clone();
                req.model = target.upstream_model.clone();
                p.adapter.chat_request(&req, &mut dropped)?
            }
        }
    };
    let wire = p.adapter.authorize(wire).await?;
    let sent = Instant::now();
    let resp = p
        .transport
        .send(&p.name, wire, target.timeouts.head(stream))
        .await?;
    meter.upstream_latency(target, sent);
    if !resp.status.is_success() {
        let body = collect_body(&p.name, resp.body, 1 << 20, &target.timeouts, sent)
            .await
            .unwrap_or_default();
        return Err(p.adapter.error(resp.status.as_u16(), &resp.headers, &body));
    }
    if !stream {
        let body = collect_body(
            &p.name,
            resp.body,
            app.max_body_bytes.max(64 << 20),
            &target.timeouts,
            sent,
        )
        .await?;
        let answer = if pass_through {
            let usage = match call.api {
                Api::AnthropicMessages => fastpath::anthropic_usage_of_body(&body),
                _ => fastpath::usage_of_body(&body),
            };
            Answer::Full { body, usage }
        } else if call.api == Api::OpenAiEmbeddings {
            let mut req = call.embed()?.clone();
            req.model = target.upstream_model.clone();
            let er = p.adapter.embed_response(&req, &body)?;
            let base64 = req.encoding_format.as_deref() == Some("base64");
            let out =
                switchyard_ingress::openai::render_embed_response(&er, &call.peek.model, base64);
            Answer::Full {
                body: Bytes::from(out),
                usage: Some(er.usage),
            }
        } else {
            let mut cr = p.adapter.chat_response(&body)?;
            if cr.model.is_empty() {
                cr.model = target.upstream_model.clone();
            }
            let out = match call.api {
                Api::AnthropicMessages => {
                    switchyard_ingress::anthropic::render_message_response(&cr)
                }
                _ => switchyard_ingress::openai::render_chat_response(&cr, &call.peek.model),
            };
            Answer::Full {
                body: Bytes::from(out),
                usage: cr.usage,
            }
        };
        return Ok((answer, dropped));
    }
    let mut upstream = resp.body;
    let mut pump: Box<dyn Pump> = if pass_through {
        match call.api {
            Api::AnthropicMessages => Box::new(AnthropicPassPump::default()),
            _ => Box::new(OpenAiPassPump {
                tap: OpenAiStreamTap::new(!call.peek.include_usage),
            }),
        }
    } else {
        let encoder = match call.api {
            Api::AnthropicMessages => {
                Encoder::Anthropic(MessagesStreamEncoder::new(&call.peek.model))
            }
            _ => Encoder::OpenAi(ChatStreamEncoder::new(call.peek.include_usage, now_secs())),
        };
        Box::new(TranslatePump::new(
            p.adapter.stream_decoder(),
            encoder,
            target.upstream_model.clone(),
        ))
    };
    let prefix =
        proxy::first_bytes(&mut upstream, pump.as_mut(), target.timeouts.first_byte).await?;
    if let Some(err) = pump.leading_error(&prefix) {
        return Err(err);
    }
    Ok((
        Answer::Stream {
            upstream,
            pump,
            prefix,
            idle: target.timeouts.idle,
        },
        dropped,
    ))
}

/// The client's own body with the model swapped, to the provider's URL with its credentials.
fn pass_through_request(call: &Call<'_>, target: &Target) -> Result<WireRequest, GatewayError> {
    let p = &target.provider;
    let stream = call.peek.stream && call.api != Api::OpenAiEmbeddings;
    let body = fastpath::rewrite(
        call.body,
        &call.peek,
        &target.upstream_model,
        call.api == Api::OpenAiChat,
    );
    let mut req = match (call.api, &p.openai, &p.anthropic) {
        (Api::OpenAiChat, Some(oa), _) => {
            let mut r = WireRequest::post_json(oa.chat_url(&target.upstream_model), body);
            r.headers.extend(oa.auth_headers());
            r
        }
        (Api::OpenAiEmbeddings, Some(oa), _) => {
            let mut r = WireRequest::post_json(oa.embeddings_url(&target.upstream_model), body);
            r.headers.extend(oa.auth_headers());
            r
        }
        (Api::AnthropicMessages, _, Some(an)) => {
            let mut r = WireRequest::post_json(an.url().to_string(), body);
            r.headers.extend(an.headers().iter().cloned());
            if let Some(beta) = call.client_headers.get("anthropic-beta") {
                r.headers.push((
                    http::HeaderName::from_static("anthropic-beta"),
                    beta.clone(),
                ));
            }
            r
        }
        _ => {
            return Err(GatewayError::internal(
                "pass-through to a provider of another wire",
            ))
        }
    };
    if stream {
        req.headers.push((
            http::header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        ));
    }
    Ok(req)
}

/// Anthropic client, Anthropic provider: events pass through unchanged.
#[derive(Default)]
struct AnthropicPassPump {
    tap: fastpath::AnthropicStreamTap,
}

impl Pump for AnthropicPassPump {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), GatewayError> {
        self.tap.process(chunk, out);
        Ok(())
    }
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), GatewayError> {
        self.tap.finish(out);
        if !self.tap.saw_stop && !self.tap.error_seen {
            return Err(GatewayError::upstream(
                ErrorClass::ServerError,
                502,
                "the provider's stream ended before message_stop",
            ));
        }
        Ok(())
    }
    fn usage(&self) -> Option<Usage> {
        self.tap.usage()
    }
    fn leading_error(&self, prefix: &[u8]) -> Option<GatewayError> {
        if !self.tap.error_seen {
            return None;
        }
        let ev = switchyard_providers::sse::parse_event(prefix);
        Some(switchyard_providers::anthropic::map_error(
            502,
            &HeaderMap::new(),
            ev.data.as_bytes(),
        ))
    }
    fn error_event(&mut self, err: &GatewayError, out: &mut Vec<u8>) {
        out.extend_from_slice(b"event: error\ndata: ");
        out.extend_from_slice(&Dialect::Anthropic.render_error(err));
        out.extend_from_slice(b"\n\n");
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Builds the client response from the served answer.
fn respond(
    served: Served,
    stream: bool,
    capture: bool,
    rate_headers: &[(&'static str, String)],
    meter: &mut Meter,
) -> Result<Response, GatewayError> {
    let Served {
        answer,
        target,
        dropped,
    } = served;
    meter.served_by(&target);
    let mut builder = Response::builder().status(StatusCode::OK);
    if let Some(h) = builder.headers_mut() {
        for (name, value) in rate_headers {
            put(h, *name, value);
        }
        put(h, X_REQUEST_ID, &meter.request_id);
        if let Some(v) = &target.provider.header {
            h.insert(X_PROVIDER, v.clone());
        }
        if let Some(v) = &target.model_header {
            h.insert(X_MODEL, v.clone());
        }
        h.insert(X_ATTEMPTS, HeaderValue::from(meter.attempts));
        if !dropped.0.is_empty() {
            put(h, "x-switchyard-dropped-params", &dropped.0.join(","));
        }
        if stream {
            h.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            );
            h.insert(
                http::header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache"),
            );
        } else {
            h.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
    }
    let body = match answer {
        Answer::Full { body, usage } => {
            meter.usage = usage;
            if let (Some(cost), Some(h)) = (meter.cost_micros(), builder.headers_mut()) {
                put(h, X_COST, &switchyard_pricing::format_usd(cost));
            }
            if capture {
                meter.response_body = Some(String::from_utf8_lossy(&body).into_owned());
            }
            meter.finish();
            Body::from(body)
        }
        Answer::Stream {
            upstream,
            pump,
            prefix,
            idle,
        } => {
            let m = std::mem::replace(meter, meter.detach());
            Body::from_stream(ProxyStream::new(upstream, pump, prefix, idle, m))
        }
    };
    builder
        .body(body)
        .map_err(|e| GatewayError::internal(format!("building the response: {e}")))
}

pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_PROVIDER: HeaderName = HeaderName::from_static("x-switchyard-provider");
const X_MODEL: HeaderName = HeaderName::from_static("x-switchyard-model");
const X_ATTEMPTS: HeaderName = HeaderName::from_static("x-switchyard-attempts");
const X_TIMEOUT: HeaderName = HeaderName::from_static("x-switchyard-timeout");
const X_COST: HeaderName = HeaderName::from_static("x-switchyard-cost-usd");

/// Sets a header from text; a value that is not a valid header value is left out. Pass a
/// `HeaderName` constant where there is one: a `&str` name is parsed on every call.
fn put(h: &mut HeaderMap, name: impl http::header::IntoHeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// `POST /v1/messages/count_tokens`: an Anthropic model counts with Anthropic's own endpoint
/// (pass-through); any other model is counted with the tokenizer (an estimate for non-OpenAI
/// models, documented as such).
pub async fn count_tokens(app: Arc<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (rid, from_client) = request_id_and_origin(&headers);
    let mut meter = Meter::start(
        app.clone(),
        Endpoint::count_tokens,
        rid.clone(),
        from_client,
    );
    let result: Result<Response, GatewayError> = async {
        auth::authenticate(&app, &headers, Dialect::Anthropic).await?;
        let bytes = read_body(&headers, body, app.max_body_bytes).await?;
        let peek = fastpath::peek(&bytes, Required::Chat)?;
        let plan = app.resolve(&peek.model)?;
        meter.model_label = plan.label.clone();
        meter.model_requested = peek.model.to_string();
        let target = plan
            .target(0, 0)
            .cloned()
            .ok_or_else(|| GatewayError::internal("the model has no targets"))?;
        let p = &target.provider;
        if let (Wire::Anthropic, Some(an)) = (p.wire, &p.anthropic) {
            let body = fastpath::rewrite(&bytes, &peek, &target.upstream_model, false);
            let mut req = WireRequest::post_json(format!("{}/count_tokens", an.url()), body);
            req.headers.extend(an.headers().iter().cloned());
            let sent = Instant::now();
            let resp = p
                .transport
                .send(&p.name, req, target.timeouts.head(false))
                .await?;
            let status = resp.status;
            let out = collect_body(&p.name, resp.body, 1 << 20, &target.timeouts, sent).await?;
            if !status.is_success() {
                return Err(p.adapter.error(status.as_u16(), &resp.headers, &out));
            }
            meter.served_by(&target);
            return Ok(json_response(out, &rid));
        }
        let req = switchyard_ingress::anthropic::parse_count_tokens_request(&bytes)?;
        let n = switchyard_policy::estimate_chat_prompt_tokens(&req);
        Ok(json_response(
            Bytes::from(switchyard_ingress::anthropic::render_count_tokens(n)),
            &rid,
        ))
    }
    .await;
    match result {
        Ok(resp) => {
            meter.status = 200;
            meter.finish();
            resp
        }
        Err(e) => {
            let e = client_facing(e);
            meter.status = e.status;
            meter.error = Some(e.class);
            meter.finish();
            error_response(Dialect::Anthropic, &e, &rid)
        }
    }
}

fn json_response(body: Bytes, rid: &str) -> Response {
    let mut resp = Response::new(Body::from(body));
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    put(h, X_REQUEST_ID, rid);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_request_ids_sort_by_time_and_are_unique() {
        let a = new_request_id();
        std::thread::sleep(Duration::from_millis(2));
        let b = new_request_id();
        assert_eq!(a.len(), 32, "{a}");
        assert!(a.starts_with("req_") && a[4..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(a < b, "{a} then {b}");
        let many: std::collections::HashSet<String> = (0..1000).map(|_| new_request_id()).collect();
        assert_eq!(many.len(), 1000);
    }

    /// The shortcut for plain OpenAI chat bodies counts exactly what the full parse counts,
    /// and leaves every other shape to the full parse.
    #[test]
    fn plain_chat_bodies_are_counted_as_the_full_parse_counts() {
        let full = |body: &str| {
            switchyard_policy::estimate_chat_prompt_tokens(
                &switchyard_ingress::openai::parse_chat_request(body.as_bytes()).unwrap(),
            )
        };
        let long = "The quick brown fox jumps over the lazy dog. ".repeat(20);
        let plain = [
            r#"{"model":"m","messages":[{"role":"user","content":"hello world"}]}"#.to_string(),
            format!(
                r#"{{"model":"m","stream":true,"temperature":0.2,"x-unknown":{{"a":[1]}},"messages":[
                {{"role":"system","content":"You are terse.\nVery terse."}},
                {{"role":"developer","content":"{long}"}},
                {{"role":"user","content":"{long}"}},
                {{"role":"assistant","content":null}},
                {{"role":"assistant","content":""}},
                {{"role":"user","content":"caf\u00e9 \ud83d\ude00 \"quoted\""}}]}}"#
            ),
        ];
        for body in &plain {
            let fast = switchyard_policy::estimate_plain_openai_chat(body.as_bytes());
            assert_eq!(fast, Some(full(body)), "{body}");
        }
        let other = [
            // Content parts, names, tool calls, tool results, tools, functions.
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}"#,
            r#"{"model":"m","messages":[{"role":"user","name":"ann","content":"hi"}]}"#,
            r#"{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"}]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"functions":[{"name":"f","parameters":{"type":"object"}}]}"#,
        ];
        for body in other {
            let fast = switchyard_policy::estimate_plain_openai_chat(body.as_bytes());
            assert_eq!(fast, None, "{body}");
            assert!(full(body) > 0);
        }
        for bad in [
            r#"{"model":"m","messages":[{"role":"wizard","content":"hi"}]}"#,
            "not json",
            r#"{"messages":[]}"#,
        ] {
            let fast = switchyard_policy::estimate_plain_openai_chat(bad.as_bytes());
            assert_eq!(fast, None, "{bad}");
        }
    }

    #[test]
    fn a_sane_incoming_request_id_is_kept() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", http::HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&h), "abc-123");
        h.insert("x-request-id", http::HeaderValue::from_static("has space"));
        assert!(request_id(&h).starts_with("req_"));
    }
}
