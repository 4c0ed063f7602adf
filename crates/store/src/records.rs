//! Append-mostly records: spend-ledger rows and reports, request-log rows, audit entries, and
//! the page shape of cursor-paginated queries.
//!
//! Time ranges are half-open: `from_ms <= ts < to_ms`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

use crate::error::StoreError;

/// The most rows one page of a log or audit query returns.
pub const MAX_PAGE_LIMIT: u32 = 1000;

/// One priced request in the spend ledger. Inserting the same `request_id` twice keeps the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendRow {
    pub request_id: String,
    pub ts: i64,
    pub key_id: Option<String>,
    pub team_id: Option<String>,
    pub user: Option<String>,
    pub end_user: Option<String>,
    /// The public model name the client asked for.
    pub model: String,
    pub provider: String,
    pub upstream_model: String,
    pub tags: Vec<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_tokens: i64,
    pub reasoning_tokens: i64,
    pub cost_micros: i64,
}

/// What a spend report is grouped by. Rows without the attribute (no key, no user, ...) fall in
/// the group `""`; a request with several tags counts once per tag, one without tags not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Key,
    Team,
    User,
    Model,
    Provider,
    Tag,
    /// UTC calendar day, `YYYY-MM-DD`.
    Day,
    /// UTC hour, `YYYY-MM-DDTHH:00:00Z`.
    Hour,
}

impl GroupBy {
    pub const ALL: [GroupBy; 8] = [
        GroupBy::Key,
        GroupBy::Team,
        GroupBy::User,
        GroupBy::Model,
        GroupBy::Provider,
        GroupBy::Tag,
        GroupBy::Day,
        GroupBy::Hour,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Key => "key",
            GroupBy::Team => "team",
            GroupBy::User => "user",
            GroupBy::Model => "model",
            GroupBy::Provider => "provider",
            GroupBy::Tag => "tag",
            GroupBy::Day => "day",
            GroupBy::Hour => "hour",
        }
    }
}

impl fmt::Display for GroupBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GroupBy {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GroupBy::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| {
                StoreError::InvalidInput(format!(
                    "unknown group_by `{s}` (expected key, team, user, model, provider, tag, day or hour)"
                ))
            })
    }
}

/// Restricts a spend report to one key and/or one team.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpendFilter {
    pub key_id: Option<String>,
    pub team_id: Option<String>,
}

/// One line of a spend report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendGroup {
    pub group: String,
    pub cost_micros: i64,
    pub requests: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
}

/// Whose spend [`crate::Store::spend_total`] adds up.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SpendScope {
    Key(String),
    Team(String),
    User(String),
    EndUser(String),
}

/// One request in the request log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRow {
    /// The gateway's own id for the request: unique per row.
    pub request_id: String,
    /// The `x-request-id` the client sent, when it sent one (echoed in the response; not unique:
    /// clients and retrying proxies may repeat it). `request_id` is then the gateway's.
    pub client_request_id: Option<String>,
    pub ts: i64,
    pub key_id: Option<String>,
    pub team_id: Option<String>,
    pub user: Option<String>,
    pub model_requested: String,
    /// None when no provider was reached (refused by auth, limits or budget).
    pub model_served: Option<String>,
    pub provider: Option<String>,
    pub attempts: u32,
    pub status: u16,
    pub error_class: Option<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_micros: i64,
    pub latency_ms: i64,
    pub ttft_ms: Option<i64>,
    pub cache_status: String,
    pub stream: bool,
    /// Captured payloads (only when capture is on for the key/team; redacted by the caller).
    pub request_body: Option<String>,
    pub response_body: Option<String>,
    pub tags: Vec<String>,
}

/// Filters for [`crate::Store::query_logs`]; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// Matches the gateway's request id or the id the client sent.
    pub request_id: Option<String>,
    pub key_id: Option<String>,
    pub team_id: Option<String>,
    /// Matches the model asked for or the model served.
    pub model: Option<String>,
    pub status: Option<u16>,
    pub error_class: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// One audit-log entry. `before`/`after` are stored as given: the caller redacts secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    pub ts: i64,
    /// A key id, or `"master"`.
    pub actor: String,
    /// e.g. `key.create`, `team.update`.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// What appending an audit entry takes; the store assigns `id` and `ts`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewAudit {
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Filters for [`crate::Store::query_audit`]; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// One page of a newest-first query. Pass `next_cursor` back to get the following page;
/// `None` means this was the last page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_by_parses_every_documented_name() {
        for g in GroupBy::ALL {
            assert_eq!(g.as_str().parse::<GroupBy>().unwrap(), g);
            assert_eq!(serde_json::to_value(g).unwrap(), Value::from(g.as_str()));
        }
        let err = "week".parse::<GroupBy>().unwrap_err();
        assert!(err.to_string().contains("unknown group_by `week`"));
    }
}
