//! Operational endpoints: liveness, readiness, Prometheus metrics, and the model list.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::json;
use switchyard_ingress::Dialect;

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
    });
    let status = if draining {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, axum::Json(body)).into_response()
}

pub async fn metrics(State(app): State<Arc<AppState>>) -> Response {
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
    if let Err(e) = crate::auth::authenticate(&app, &headers, Dialect::OpenAi) {
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
