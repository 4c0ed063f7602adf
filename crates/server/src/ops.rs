//! Operational endpoints: liveness, readiness, Prometheus metrics, and the model list.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::json;
use switchyard_ingress::Dialect;

use switchyard_routing::{BreakerState, LatencyKind};
use switchyard_telemetry::TargetLabels;

use crate::errors::error_response;
use crate::state::AppState;

pub async fn live() -> Response {
    (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response()
}

/// Ready while serving; 503 once draining for shutdown, so load balancers stop sending.
pub async fn ready(State(app): State<Arc<AppState>>) -> Response {
    let draining = app.draining.load(Ordering::Relaxed);
    let mut providers: Vec<_> = app
        .providers
        .values()
        .map(|p| json!({"name": p.name, "kind": p.kind.as_str()}))
        .collect();
    providers.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let body = json!({
        "status": if draining { "draining" } else { "ready" },
        "providers": providers,
        "models": app.model_names,
        "targets": targets_json(&app),
    });
    let status = if draining {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, axum::Json(body)).into_response()
}

/// Each declared target's live routing state, as JSON for `/health/ready`.
fn targets_json(app: &AppState) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for m in &app.runtimes {
        for t in m.group.targets() {
            let s = &t.state;
            let latency = s
                .latency_estimate(LatencyKind::FirstToken)
                .or_else(|| s.latency_estimate(LatencyKind::Total));
            out.push(json!({
                "model": m.name,
                "target": t.label,
                "region": t.settings.region,
                "state": breaker_name(s.state()),
                "in_flight": s.in_flight(),
                "latency_ms": latency.map(|d| d.as_secs_f64() * 1000.0),
                "cooldown_ms": s.cooldown_remaining().map(|d| d.as_millis() as u64),
            }));
        }
    }
    out
}

fn breaker_name(s: BreakerState) -> &'static str {
    match s {
        BreakerState::Closed => "closed",
        BreakerState::HalfOpen => "half_open",
        BreakerState::Open => "open",
    }
}

/// Copies the routing state into the target gauges (at scrape time, so the request path
/// never touches them).
fn refresh_target_gauges(app: &AppState) {
    let m = &app.metrics;
    for model in &app.runtimes {
        for t in model.group.targets() {
            let labels = TargetLabels {
                model: model.name.clone(),
                target: t.label.clone(),
            };
            let s = &t.state;
            let state = match s.state() {
                BreakerState::Closed => 0,
                BreakerState::HalfOpen => 1,
                BreakerState::Open => 2,
            };
            m.target_state.get_or_create(&labels).set(state);
            m.target_in_flight
                .get_or_create(&labels)
                .set(i64::from(s.in_flight()));
            let latency = s
                .latency_estimate(LatencyKind::FirstToken)
                .or_else(|| s.latency_estimate(LatencyKind::Total));
            if let Some(l) = latency {
                m.target_latency_ms
                    .get_or_create(&labels)
                    .set(i64::try_from(l.as_millis()).unwrap_or(i64::MAX));
            }
        }
    }
}

pub async fn metrics(State(app): State<Arc<AppState>>) -> Response {
    refresh_target_gauges(&app);
    let mut resp = app.metrics.render().into_response();
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(switchyard_telemetry::CONTENT_TYPE),
    );
    resp
}

/// `GET /v1/models`: the declared public models, in OpenAI's list shape.
pub async fn models(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let rid = crate::pipeline::request_id(&headers);
    if let Err(e) = crate::auth::authenticate(&app, &headers, Dialect::OpenAi).await {
        return error_response(Dialect::OpenAi, &e, &rid);
    }
    let data: Vec<_> = app
        .model_names
        .iter()
        .map(|m| json!({"id": m, "object": "model", "created": 0, "owned_by": "switchyard"}))
        .collect();
    let mut resp = axum::Json(json!({"object": "list", "data": data})).into_response();
    if let Ok(v) = HeaderValue::from_str(&rid) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}
