//! The audit log: append and newest-first filtered pages. There is deliberately no update or
//! delete here, and database triggers refuse both (see the migrations).

use sqlx::Row as _;

use super::{json_bind, json_opt, push_eq, Builder, Pool, Row};
use crate::cursor::{clamp_limit, finish_page, Cursor, CursorKind};
use crate::error::StoreError;
use crate::ids::{new_id, now_ms};
use crate::records::{AuditEntry, AuditFilter, NewAudit, Page};

macro_rules! audit_columns {
    () => {
        "id, ts, actor, action, target_type, target_id, before, after"
    };
}

fn from_row(row: &Row) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: row.try_get("id")?,
        ts: row.try_get("ts")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        target_type: row.try_get("target_type")?,
        target_id: row.try_get("target_id")?,
        before: json_opt(row, "before")?,
        after: json_opt(row, "after")?,
    })
}

pub(super) async fn append(pool: &Pool, new: NewAudit) -> Result<AuditEntry, StoreError> {
    let entry = AuditEntry {
        id: new_id("aud"),
        ts: now_ms(),
        actor: new.actor,
        action: new.action,
        target_type: new.target_type,
        target_id: new.target_id,
        before: new.before.filter(|v| !v.is_null()),
        after: new.after.filter(|v| !v.is_null()),
    };
    sqlx::query(concat!(
        "INSERT INTO audit_log (",
        audit_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(&entry.id)
    .bind(entry.ts)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.target_type)
    .bind(&entry.target_id)
    .bind(json_bind(entry.before.as_ref()))
    .bind(json_bind(entry.after.as_ref()))
    .execute(pool)
    .await?;
    Ok(entry)
}

pub(super) async fn query(
    pool: &Pool,
    filter: &AuditFilter,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<AuditEntry>, StoreError> {
    let after = cursor
        .map(|c| Cursor::decode(c, CursorKind::Audit))
        .transpose()?;
    let limit = clamp_limit(limit);
    let mut qb = Builder::new(concat!(
        "SELECT ",
        audit_columns!(),
        " FROM audit_log WHERE 1 = 1"
    ));
    push_eq(&mut qb, "actor", filter.actor.as_deref());
    push_eq(&mut qb, "action", filter.action.as_deref());
    push_eq(&mut qb, "target_type", filter.target_type.as_deref());
    push_eq(&mut qb, "target_id", filter.target_id.as_deref());
    if let Some(from) = filter.from_ms {
        qb.push(" AND ts >= ").push_bind(from);
    }
    if let Some(to) = filter.to_ms {
        qb.push(" AND ts < ").push_bind(to);
    }
    if let Some(after) = &after {
        qb.push(" AND (ts, id) < (").push_bind(after.ts);
        qb.push(", ").push_bind(&after.id).push(")");
    }
    qb.push(" ORDER BY ts DESC, id DESC LIMIT ")
        .push_bind(i64::from(limit) + 1);
    let rows = qb.build().fetch_all(pool).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(finish_page(items, limit, CursorKind::Audit, |last| {
        Cursor {
            ts: last.ts,
            id: last.id.clone(),
        }
    }))
}
