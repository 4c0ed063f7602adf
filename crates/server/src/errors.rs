//! Errors as HTTP responses in the client's dialect: one place maps a `GatewayError` to status,
//! body and headers.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode};
use switchyard_ingress::Dialect;
use switchyard_types::GatewayError;

/// The response for `err` in `dialect`, tagged with the request id.
pub fn error_response(dialect: Dialect, err: &GatewayError, request_id: &str) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut resp = Response::new(Body::from(dialect.render_error(err)));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-request-id", v);
    }
    if let Some(d) = err.retry_after {
        let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
        h.insert(http::header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    resp
}
