//! Opt-in SSE keep-alive while a stream waits for its first event (`stream_keepalive_ms`): the
//! response head (200, `text/event-stream`) goes out at once, then a `: keep-alive` comment every
//! interval while routing runs — comments are not events, so failover to another target is still
//! invisible to the client. Once a target produced its first event the stream continues as usual;
//! if every attempt failed, the stream ends with a well-formed error event in the client's dialect.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderMap, HeaderValue, StatusCode};
use switchyard_types::GatewayError;

use super::{client_facing, put, route, Answer, Api, Call, Served};
use crate::fastpath;
use crate::meter::Meter;
use crate::proxy::ProxyStream;
use crate::state::{AppState, RoutePlan};

type Routing = Pin<Box<dyn Future<Output = (Result<Served, GatewayError>, Meter)> + Send>>;

enum Phase {
    Waiting {
        routing: Routing,
        tick: tokio::time::Interval,
        api: Api,
    },
    Streaming(Box<ProxyStream>),
    Done,
}

#[expect(
    clippy::too_many_arguments,
    reason = "the request's parts, moved into the stream"
)]
pub(super) fn respond(
    app: Arc<AppState>,
    api: Api,
    bytes: Bytes,
    headers: HeaderMap,
    plan: Arc<RoutePlan>,
    deadline: Option<tokio::time::Instant>,
    mut meter: Meter,
    rate_headers: &[(&'static str, String)],
    every: Duration,
) -> Response {
    let rid = meter.request_id.clone();
    let routing: Routing = Box::pin(async move {
        let result = match fastpath::peek(&bytes, api.required()) {
            Ok(peek) => {
                let call = Call {
                    api,
                    body: &bytes,
                    peek,
                    client_headers: &headers,
                    canonical: OnceLock::new(),
                    embed: OnceLock::new(),
                };
                route(&app, &plan, &call, deadline, &mut meter).await
            }
            Err(e) => Err(e),
        };
        (result, meter)
    });
    // The first comment one interval from now: the head itself has just gone out.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let phase = Phase::Waiting { routing, tick, api };
    let body = futures_util::stream::unfold(phase, step);
    let mut resp = Response::new(Body::from_stream(body));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    put(h, "x-request-id", &rid);
    for (name, value) in rate_headers {
        put(h, *name, value);
    }
    resp
}

async fn step(phase: Phase) -> Option<(Result<Bytes, std::io::Error>, Phase)> {
    match phase {
        Phase::Done => None,
        Phase::Streaming(mut s) => {
            let item = s.next().await?;
            Some((item, Phase::Streaming(s)))
        }
        Phase::Waiting {
            mut routing,
            mut tick,
            api,
        } => {
            tokio::select! {
                (result, mut meter) = &mut routing => Some(match result {
                    Ok(served) => start_stream(served, meter),
                    Err(e) => {
                        let e = client_facing(e);
                        meter.status = e.status;
                        meter.error = Some(e.class);
                        meter.finish();
                        (Ok(error_event(api, &e)), Phase::Done)
                    }
                }),
                _ = tick.tick() => Some((
                    Ok(Bytes::from_static(b": keep-alive\n\n")),
                    Phase::Waiting { routing, tick, api },
                )),
            }
        }
    }
}

fn start_stream(served: Served, mut meter: Meter) -> (Result<Bytes, std::io::Error>, Phase) {
    let Served { answer, target, .. } = served;
    meter.served_by(&target);
    match answer {
        Answer::Stream {
            upstream,
            pump,
            prefix,
            idle,
        } => {
            let mut s = ProxyStream::new(upstream, pump, prefix, idle, meter);
            // The prefix is ready at once.
            match futures_util::FutureExt::now_or_never(s.next()) {
                Some(Some(item)) => (item, Phase::Streaming(Box::new(s))),
                _ => (Ok(Bytes::new()), Phase::Streaming(Box::new(s))),
            }
        }
        Answer::Full { body, usage } => {
            meter.usage = usage;
            meter.finish();
            (Ok(body), Phase::Done)
        }
    }
}

/// A terminal error event in the client's dialect.
fn error_event(api: Api, e: &GatewayError) -> Bytes {
    let mut out = Vec::new();
    match api.dialect() {
        switchyard_ingress::Dialect::Anthropic => {
            out.extend_from_slice(b"event: error\ndata: ");
            out.extend_from_slice(&api.dialect().render_error(e));
            out.extend_from_slice(b"\n\n");
        }
        switchyard_ingress::Dialect::OpenAi => {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(&api.dialect().render_error(e));
            out.extend_from_slice(b"\n\ndata: [DONE]\n\n");
        }
    }
    Bytes::from(out)
}
