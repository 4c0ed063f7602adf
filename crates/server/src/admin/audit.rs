//! The audit trail: every admin change appends one entry (actor, action, target, before/after),
//! and `GET /admin/audit` reads it back.
//!
//! `before`/`after` are the same views the API returns, which never hold a key's secret or its
//! hash (only the 8-character display prefix).
//!
//! Failure policy: the change is made first, then its entry is appended. If appending fails the
//! request fails with 500 (`audit_failed`) and an error is logged with actor, action and target:
//! the client learns that the change is not on record and must not assume success, and no change
//! is ever reported as done without its audit entry. (The store has no transaction spanning the
//! change and the entry, so the change itself stays applied; the error message says so.)

use std::sync::Arc;

use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchyard_store::{AuditEntry, AuditFilter, NewAudit, Page};
use switchyard_types::GatewayError;

use super::input::{self, parse_query, present, Bound};
use super::output::{ok, rfc3339, store_error};
use super::{Caller, Ctx};
use crate::state::AppState;

/// Appends one audit entry for a change `caller` just made; a failure becomes a 500.
pub async fn record(
    app: &Arc<AppState>,
    caller: &Caller,
    action: &str,
    target_type: &str,
    target_id: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<(), GatewayError> {
    let entry = NewAudit {
        actor: caller.actor().to_owned(),
        action: action.to_owned(),
        target_type: target_type.to_owned(),
        target_id: target_id.to_owned(),
        before,
        after,
    };
    match app.store.append_audit(entry).await {
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::error!(
                actor = caller.actor(),
                action,
                target_type,
                target_id,
                error = %e,
                "the audit entry of an admin change could not be written"
            );
            Err(GatewayError::internal(format!(
                "the change ({action} {target_type} `{target_id}`) was applied but its audit \
                 entry could not be written; check the database and review the change"
            ))
            .with_code("audit_failed"))
        }
    }
}

/// Serializes a view for `before`/`after`.
pub fn snapshot<T: Serialize>(view: &T) -> Option<Value> {
    serde_json::to_value(view).ok()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    target_type: Option<String>,
    target_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AuditView {
    pub id: String,
    pub ts: String,
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> Self {
        AuditView {
            id: e.id,
            ts: rfc3339(e.ts),
            actor: e.actor,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            before: e.before,
            after: e.after,
        }
    }
}

#[derive(Debug, Serialize)]
struct AuditPage {
    rows: Vec<AuditView>,
    next_cursor: Option<String>,
}

/// How many store pages a team-scoped query reads before returning a short page (with a
/// cursor to continue), so one request stays bounded however sparse the team's entries are.
const MAX_SCOPED_PAGES: usize = 20;

/// `GET /admin/audit`: newest first, cursor-paginated. A team-scoped caller sees the entries
/// whose target is its team or one of its team's keys; its pages may hold fewer than `limit`
/// rows — keep following `next_cursor` until it is `null`.
pub async fn list(ctx: Ctx) -> Result<Response, GatewayError> {
    let q: AuditQuery = parse_query(ctx.query.as_deref())?;
    let from_ms = input::parse_bound_opt("from", q.from, Bound::From)?;
    let to_ms = input::parse_bound_opt("to", q.to, Bound::To)?;
    input::check_range(from_ms, to_ms)?;
    let limit = input::parse_limit(q.limit, 100, switchyard_store::MAX_PAGE_LIMIT)?;
    let filter = AuditFilter {
        actor: present(q.actor),
        action: present(q.action),
        target_type: present(q.target_type),
        target_id: present(q.target_id),
        from_ms,
        to_ms,
    };
    let mut cursor = present(q.cursor);
    let page = match ctx.caller.team_scope() {
        None => query(&ctx.app, &filter, cursor.as_deref(), limit).await?,
        Some(team) => {
            let mut rows = Vec::new();
            for _ in 0..MAX_SCOPED_PAGES {
                // Never fetch more than still fits: every fetched page is consumed whole, so the
                // store's cursor is exactly where the next call must resume.
                let want = limit.saturating_sub(u32::try_from(rows.len()).unwrap_or(u32::MAX));
                let page = query(&ctx.app, &filter, cursor.as_deref(), want.max(1)).await?;
                rows.extend(page.items.into_iter().filter(|e| concerns_team(e, team)));
                cursor = page.next_cursor;
                if cursor.is_none() || rows.len() >= limit as usize {
                    break;
                }
            }
            Page {
                items: rows,
                next_cursor: cursor,
            }
        }
    };
    ok(&AuditPage {
        rows: page.items.into_iter().map(AuditView::from).collect(),
        next_cursor: page.next_cursor,
    })
}

async fn query(
    app: &Arc<AppState>,
    filter: &AuditFilter,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<AuditEntry>, GatewayError> {
    app.store
        .query_audit(filter, cursor, limit)
        .await
        .map_err(|e| match e {
            switchyard_store::StoreError::InvalidInput(m) => input::field_error("cursor", m),
            other => store_error(other),
        })
}

/// Whether an entry is about `team` or one of its keys (before or after the change).
fn concerns_team(entry: &AuditEntry, team: &str) -> bool {
    match entry.target_type.as_str() {
        "team" => entry.target_id == team,
        "key" => [&entry.before, &entry.after].into_iter().any(|v| {
            v.as_ref()
                .and_then(|v| v.get("team_id"))
                .and_then(Value::as_str)
                == Some(team)
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(
        target_type: &str,
        target_id: &str,
        before: Option<Value>,
        after: Option<Value>,
    ) -> AuditEntry {
        AuditEntry {
            id: "aud_1".into(),
            ts: 0,
            actor: "master".into(),
            action: "x".into(),
            target_type: target_type.into(),
            target_id: target_id.into(),
            before,
            after,
        }
    }

    #[test]
    fn team_relevance() {
        assert!(concerns_team(&entry("team", "t1", None, None), "t1"));
        assert!(!concerns_team(&entry("team", "t2", None, None), "t1"));
        let moved = entry(
            "key",
            "k1",
            Some(json!({"team_id": "t1"})),
            Some(json!({"team_id": "t2"})),
        );
        assert!(concerns_team(&moved, "t1") && concerns_team(&moved, "t2"));
        assert!(!concerns_team(&moved, "t3"));
        assert!(!concerns_team(
            &entry("key", "k2", None, Some(json!({"team_id": null}))),
            "t1"
        ));
        assert!(!concerns_team(&entry("other", "t1", None, None), "t1"));
    }
}
