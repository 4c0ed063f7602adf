//! The authenticate stage: who is calling. With a master key configured every API request needs
//! a valid key (`Authorization: Bearer`, or `x-api-key` on the Anthropic dialect); without one
//! the gateway runs open. Virtual keys plug in here.

use std::sync::Arc;

const X_API_KEY: http::HeaderName = http::HeaderName::from_static("x-api-key");
const API_KEY: http::HeaderName = http::HeaderName::from_static("api-key");

use http::HeaderMap;
use switchyard_ingress::Dialect;
use switchyard_types::{ErrorClass, GatewayError};

use crate::keys::KeyInfo;
use crate::state::AppState;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub enum Principal {
    /// No master key configured and no virtual key presented: the gateway is open.
    Anonymous,
    /// The master key.
    Master,
    /// A virtual key (active: not revoked, not expired).
    Key(Arc<KeyInfo>),
}

/// The key a client presented: `Authorization: Bearer KEY`, or on the Anthropic dialect also
/// `x-api-key: KEY`.
pub fn presented_key(headers: &HeaderMap, dialect: Dialect) -> Option<&str> {
    let bearer = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|k| !k.is_empty());
    match (bearer, dialect) {
        (Some(k), _) => Some(k),
        (None, Dialect::Anthropic) => headers
            .get(X_API_KEY)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|k| !k.is_empty()),
        (None, Dialect::OpenAi) => headers
            .get(API_KEY)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|k| !k.is_empty()),
    }
}

/// Who is calling. With a master key configured, a valid key (master or virtual) is required;
/// without one the gateway is open, but a presented virtual key is still honoured (attribution,
/// limits, budgets) and a presented unknown or revoked key is refused.
pub async fn authenticate(
    app: &AppState,
    headers: &HeaderMap,
    dialect: Dialect,
) -> Result<Principal, GatewayError> {
    let key = presented_key(headers, dialect);
    let Some(key) = key else {
        return match app.master_key {
            None => Ok(Principal::Anonymous),
            Some(_) => Err(GatewayError::client(
                ErrorClass::Unauthorized,
                "You didn't provide an API key. Send it as `Authorization: Bearer KEY`.",
            )),
        };
    };
    if let Some(master) = &app.master_key {
        if constant_time_eq(key.as_bytes(), master.expose().as_bytes()) {
            return Ok(Principal::Master);
        }
    }
    if !key.starts_with(switchyard_store::KEY_SCHEME_PREFIX) {
        // Not one of ours: an open gateway ignores it (clients often send a placeholder key).
        return match app.master_key {
            None => Ok(Principal::Anonymous),
            Some(_) => Err(invalid_key()),
        };
    }
    match app.keys.lookup(key).await? {
        Some(info) if info.key.is_active(switchyard_store::now_ms()) => Ok(Principal::Key(info)),
        Some(info) => Err(GatewayError::client(
            ErrorClass::Unauthorized,
            if info.key.revoked_at.is_some() {
                "This API key has been revoked."
            } else {
                "This API key has expired."
            },
        )),
        None => Err(invalid_key()),
    }
}

fn invalid_key() -> GatewayError {
    GatewayError::client(ErrorClass::Unauthorized, "Incorrect API key provided.")
}

/// Compares without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_sources() {
        let mut h = HeaderMap::new();
        h.insert("x-api-key", "k1".parse().unwrap());
        assert_eq!(presented_key(&h, Dialect::Anthropic), Some("k1"));
        assert_eq!(presented_key(&h, Dialect::OpenAi), None);
        h.insert("authorization", "Bearer k2".parse().unwrap());
        assert_eq!(presented_key(&h, Dialect::OpenAi), Some("k2"));
        assert_eq!(presented_key(&h, Dialect::Anthropic), Some("k2"));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
