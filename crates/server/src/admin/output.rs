//! How the admin API answers: JSON bodies, RFC 3339 timestamps, USD numbers from integer
//! micro-dollars, and store errors mapped to HTTP (404 / 409 / 400 / 503 / 500).

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode};
use serde::Serialize;
use switchyard_policy::jiff::Timestamp;
use switchyard_store::StoreError;
use switchyard_types::{ErrorClass, GatewayError};

/// A JSON response with `status`.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<Response, GatewayError> {
    let body = serde_json::to_vec(value)
        .map_err(|e| GatewayError::internal(format!("cannot encode the response: {e}")))?;
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

/// 200 with a JSON body.
pub fn ok<T: Serialize>(value: &T) -> Result<Response, GatewayError> {
    json(StatusCode::OK, value)
}

/// Unix milliseconds as an RFC 3339 UTC timestamp (`2025-01-31T12:00:00.123Z`).
pub fn rfc3339(ms: i64) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.to_string(),
        // Outside jiff's range (years -9999..=9999): clamp rather than fail a listing.
        Err(_) if ms < 0 => Timestamp::MIN.to_string(),
        Err(_) => Timestamp::MAX.to_string(),
    }
}

pub fn rfc3339_opt(ms: Option<i64>) -> Option<String> {
    ms.map(rfc3339)
}

/// Integer micro-dollars as a USD number (`1234` → `0.001234`). The shortest decimal that
/// round-trips is printed, so six-decimal amounts come out exactly as written.
pub fn usd(micros: i64) -> f64 {
    micros as f64 / 1_000_000.0
}

/// A store failure as the client should see it. Details of internal failures go to the log,
/// not to the client.
pub fn store_error(err: StoreError) -> GatewayError {
    match err {
        StoreError::NotFound { .. } => {
            GatewayError::client(ErrorClass::NotFound, err.to_string()).with_code("not_found")
        }
        StoreError::Conflict(msg) => GatewayError::client(ErrorClass::BadRequest, msg)
            .with_status(409)
            .with_code("conflict"),
        StoreError::InvalidInput(msg) => GatewayError::bad_request(msg),
        StoreError::Unavailable(msg) => {
            tracing::error!(error = %msg, "admin: database unavailable");
            GatewayError::internal("the database is unavailable; try again").with_status(503)
        }
        other => {
            tracing::error!(error = %other, "admin: database error");
            GatewayError::internal("internal database error")
        }
    }
}

/// A 404 for `entity` `id` (also used for objects outside the caller's team).
pub fn not_found(entity: &str, id: &str) -> GatewayError {
    GatewayError::client(ErrorClass::NotFound, format!("{entity} `{id}` not found"))
        .with_code("not_found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_738_324_800_123), "2025-01-31T12:00:00.123Z");
        assert!(rfc3339(i64::MAX).starts_with("9999-12-30"));
        assert!(rfc3339(i64::MIN).starts_with("-009999-01-0"));
        assert_eq!(rfc3339_opt(None), None);
    }

    #[test]
    fn micros_become_exact_usd_numbers() {
        assert_eq!(serde_json::to_string(&usd(1234)).unwrap(), "0.001234");
        assert_eq!(serde_json::to_string(&usd(10_000_000)).unwrap(), "10.0");
        assert_eq!(
            serde_json::to_string(&usd(123_456_789)).unwrap(),
            "123.456789"
        );
    }

    #[test]
    fn store_errors_map_to_statuses() {
        let nf = store_error(StoreError::NotFound {
            entity: "key",
            id: "key_x".into(),
        });
        assert_eq!(
            (nf.status, nf.message.as_str()),
            (404, "key `key_x` not found")
        );
        assert_eq!(
            store_error(StoreError::Conflict("taken".into())).status,
            409
        );
        assert_eq!(
            store_error(StoreError::InvalidInput("bad".into())).status,
            400
        );
        assert_eq!(
            store_error(StoreError::Unavailable("io".into())).status,
            503
        );
        let db = store_error(StoreError::Database("syntax error near password".into()));
        assert_eq!(db.status, 500);
        assert!(!db.message.contains("password"));
    }
}
