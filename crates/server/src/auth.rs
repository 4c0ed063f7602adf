//! The authenticate stage: who is calling. With a master key configured every API request needs
//! a valid key (`Authorization: Bearer`, or `x-api-key` on the Anthropic dialect); without one
//! the gateway runs open. Virtual keys plug in here.

use http::HeaderMap;
use switchyard_ingress::Dialect;
use switchyard_types::{ErrorClass, GatewayError};

use crate::state::AppState;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No master key configured: the gateway is open.
    Anonymous,
    /// The master key.
    Master,
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
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|k| !k.is_empty()),
        (None, Dialect::OpenAi) => headers
            .get("api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|k| !k.is_empty()),
    }
}

pub fn authenticate(
    app: &AppState,
    headers: &HeaderMap,
    dialect: Dialect,
) -> Result<Principal, GatewayError> {
    let Some(master) = &app.master_key else {
        return Ok(Principal::Anonymous);
    };
    let Some(key) = presented_key(headers, dialect) else {
        return Err(GatewayError::client(
            ErrorClass::Unauthorized,
            "You didn't provide an API key. Send it as `Authorization: Bearer KEY`.",
        ));
    };
    if constant_time_eq(key.as_bytes(), master.expose().as_bytes()) {
        return Ok(Principal::Master);
    }
    Err(GatewayError::client(
        ErrorClass::Unauthorized,
        "Incorrect API key provided.",
    ))
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
