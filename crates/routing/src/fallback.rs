//! Which other models to try when a model fails, by the class of its failure.
//!
//! | failure class | falls back to |
//! | --- | --- |
//! | `context_window_exceeded` | `context_window` list only (a larger-context model) |
//! | `content_filtered` | `content_policy` list only |
//! | `rate_limited`, `overloaded`, `server_error`, `timeout`, `connect` | `general` list |
//! | `upstream_auth`, `quota_exceeded` (this provider account is unusable) | `general` list |
//! | everything else (bad request, unsupported, not found, budget, internal …) | nowhere |
//!
//! A request that is wrong for every model (bad request, unsupported parameter) is neither
//! retried nor sent elsewhere: another model would refuse it too.

use serde::{Deserialize, Serialize};
use switchyard_types::ErrorClass;

/// One of the fallback lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FallbackKind {
    General,
    ContextWindow,
    ContentPolicy,
}

impl FallbackKind {
    pub const ALL: [FallbackKind; 3] = [
        FallbackKind::General,
        FallbackKind::ContextWindow,
        FallbackKind::ContentPolicy,
    ];

    pub(crate) fn index(self) -> usize {
        match self {
            FallbackKind::General => 0,
            FallbackKind::ContextWindow => 1,
            FallbackKind::ContentPolicy => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FallbackKind::General => "general",
            FallbackKind::ContextWindow => "context_window",
            FallbackKind::ContentPolicy => "content_policy",
        }
    }
}

/// Whether, and to which list, a model that failed with `class` falls back.
pub fn fallback_kind(class: ErrorClass) -> Option<FallbackKind> {
    match class {
        ErrorClass::ContextWindowExceeded => Some(FallbackKind::ContextWindow),
        ErrorClass::ContentFiltered => Some(FallbackKind::ContentPolicy),
        ErrorClass::RateLimited
        | ErrorClass::Overloaded
        | ErrorClass::ServerError
        | ErrorClass::Timeout
        | ErrorClass::Connect
        | ErrorClass::UpstreamAuth
        | ErrorClass::QuotaExceeded => Some(FallbackKind::General),
        ErrorClass::BadRequest
        | ErrorClass::Unauthorized
        | ErrorClass::Forbidden
        | ErrorClass::NotFound
        | ErrorClass::PayloadTooLarge
        | ErrorClass::Unsupported
        | ErrorClass::BudgetExceeded
        | ErrorClass::Internal => None,
    }
}

/// A model's fallback lists, by public model name, in the order to try them. The config crate
/// maps `fallbacks`, `context_window_fallbacks` and `content_policy_fallbacks` onto these.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fallbacks {
    pub general: Vec<String>,
    pub context_window: Vec<String>,
    pub content_policy: Vec<String>,
}

impl Fallbacks {
    pub fn list(&self, kind: FallbackKind) -> &[String] {
        match kind {
            FallbackKind::General => &self.general,
            FallbackKind::ContextWindow => &self.context_window,
            FallbackKind::ContentPolicy => &self.content_policy,
        }
    }

    /// The models to try after a failure of `class` (empty: do not fall back).
    pub fn for_class(&self, class: ErrorClass) -> &[String] {
        fallback_kind(class).map_or(&[], |k| self.list(k))
    }

    pub fn is_empty(&self) -> bool {
        FallbackKind::ALL.iter().all(|k| self.list(*k).is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists() -> Fallbacks {
        Fallbacks {
            general: vec!["cheap".into()],
            context_window: vec!["long".into()],
            content_policy: vec!["lenient".into()],
        }
    }

    #[test]
    fn each_class_picks_its_list() {
        let f = lists();
        assert_eq!(f.for_class(ErrorClass::ContextWindowExceeded), ["long"]);
        assert_eq!(f.for_class(ErrorClass::ContentFiltered), ["lenient"]);
        for c in [
            ErrorClass::RateLimited,
            ErrorClass::Overloaded,
            ErrorClass::ServerError,
            ErrorClass::Timeout,
            ErrorClass::Connect,
            ErrorClass::UpstreamAuth,
            ErrorClass::QuotaExceeded,
        ] {
            assert_eq!(f.for_class(c), ["cheap"], "{c:?}");
        }
        for c in [
            ErrorClass::BadRequest,
            ErrorClass::Unsupported,
            ErrorClass::NotFound,
            ErrorClass::PayloadTooLarge,
            ErrorClass::BudgetExceeded,
            ErrorClass::Unauthorized,
            ErrorClass::Forbidden,
            ErrorClass::Internal,
        ] {
            assert!(f.for_class(c).is_empty(), "{c:?}");
        }
    }

    #[test]
    fn every_retryable_class_falls_back() {
        for c in ErrorClass::ALL {
            if c.retryable() {
                assert_eq!(fallback_kind(c), Some(FallbackKind::General));
            }
        }
    }

    #[test]
    fn deserializes_with_defaults_and_rejects_unknown_fields() {
        let f: Fallbacks = serde_json::from_str(r#"{"general":["a"]}"#).unwrap();
        assert_eq!(f.general, ["a"]);
        assert!(f.context_window.is_empty());
        assert!(!f.is_empty());
        assert!(Fallbacks::default().is_empty());
        assert!(serde_json::from_str::<Fallbacks>(r#"{"context":["a"]}"#).is_err());
    }
}
