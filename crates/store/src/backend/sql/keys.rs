//! Virtual keys: create, look up by id or hash, list, partial update, revoke, rotate.

use sqlx::error::ErrorKind;
use sqlx::types::Json;
use sqlx::Row as _;

use super::{json_bind, json_col, json_opt, Builder, Pool, Row};
use crate::entities::{KeyFilter, KeyMaterial, KeyPatch, KeyRole, NewKey, VirtualKey};
use crate::error::{constraint_kind, StoreError};
use crate::ids::{is_key_hash, new_id, now_ms, KEY_DISPLAY_PREFIX_LEN};

macro_rules! key_columns {
    () => {
        "id, name, key_hash, key_prefix, team_id, user_id, models, expires_at, limits, budget, \
         metadata, role, capture_payloads, created_at, updated_at, revoked_at"
    };
}

fn from_row(row: &Row) -> Result<VirtualKey, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(VirtualKey {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        key_hash: row.try_get("key_hash")?,
        key_prefix: row.try_get("key_prefix")?,
        team_id: row.try_get("team_id")?,
        user: row.try_get("user_id")?,
        models: json_col(row, "models")?,
        expires_at: row.try_get("expires_at")?,
        limits: json_opt(row, "limits")?,
        budget: json_opt(row, "budget")?,
        metadata: json_col(row, "metadata")?,
        role: role
            .parse::<KeyRole>()
            .map_err(|_| StoreError::Corrupt(format!("unknown key role `{role}`")))?,
        capture_payloads: row.try_get("capture_payloads")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

/// Refuses anything that is not a `hash_key` output, so a raw secret can never be stored.
fn check_material(material: &KeyMaterial) -> Result<(), StoreError> {
    if !is_key_hash(&material.hash) {
        return Err(StoreError::InvalidInput(
            "key hash must be the lowercase SHA-256 hex of the secret (see hash_key)".to_owned(),
        ));
    }
    if material.prefix.chars().count() > KEY_DISPLAY_PREFIX_LEN {
        return Err(StoreError::InvalidInput(format!(
            "key prefix is for display only: at most {KEY_DISPLAY_PREFIX_LEN} characters"
        )));
    }
    Ok(())
}

fn team_admin_needs_team() -> StoreError {
    StoreError::InvalidInput("a team_admin key must belong to a team".to_owned())
}

/// Maps constraint failures of key writes to caller-facing errors.
fn write_error(team_id: Option<&str>) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| match constraint_kind(&e) {
        Some(ErrorKind::ForeignKeyViolation) => StoreError::NotFound {
            entity: "team",
            id: team_id.unwrap_or_default().to_owned(),
        },
        Some(ErrorKind::UniqueViolation) => {
            StoreError::Conflict("a key with this hash already exists".to_owned())
        }
        Some(ErrorKind::CheckViolation) => team_admin_needs_team(),
        _ => e.into(),
    }
}

fn not_found(id: &str) -> StoreError {
    StoreError::NotFound {
        entity: "key",
        id: id.to_owned(),
    }
}

pub(super) async fn create(pool: &Pool, new: NewKey) -> Result<VirtualKey, StoreError> {
    check_material(&new.material)?;
    if new.role == KeyRole::TeamAdmin && new.team_id.is_none() {
        return Err(team_admin_needs_team());
    }
    let now = now_ms();
    let key = VirtualKey {
        id: new_id("key"),
        name: new.name,
        key_hash: new.material.hash,
        key_prefix: new.material.prefix,
        team_id: new.team_id,
        user: new.user,
        models: new.models,
        expires_at: new.expires_at,
        limits: new.limits.filter(|v| !v.is_null()),
        budget: new.budget.filter(|v| !v.is_null()),
        metadata: new.metadata,
        role: new.role,
        capture_payloads: new.capture_payloads,
        created_at: now,
        updated_at: now,
        revoked_at: None,
    };
    sqlx::query(concat!(
        "INSERT INTO virtual_keys (",
        key_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    ))
    .bind(&key.id)
    .bind(key.name.as_deref())
    .bind(&key.key_hash)
    .bind(&key.key_prefix)
    .bind(key.team_id.as_deref())
    .bind(key.user.as_deref())
    .bind(Json(&key.models))
    .bind(key.expires_at)
    .bind(json_bind(key.limits.as_ref()))
    .bind(json_bind(key.budget.as_ref()))
    .bind(Json(&key.metadata))
    .bind(key.role.as_str())
    .bind(key.capture_payloads)
    .bind(key.created_at)
    .bind(key.updated_at)
    .bind(key.revoked_at)
    .execute(pool)
    .await
    .map_err(write_error(key.team_id.as_deref()))?;
    Ok(key)
}

pub(super) async fn get_by_id(pool: &Pool, id: &str) -> Result<Option<VirtualKey>, StoreError> {
    let sql = concat!(
        "SELECT ",
        key_columns!(),
        " FROM virtual_keys WHERE id = $1"
    );
    fetch_one(pool, sql, id).await
}

pub(super) async fn get_by_hash(
    pool: &Pool,
    key_hash: &str,
) -> Result<Option<VirtualKey>, StoreError> {
    let sql = concat!(
        "SELECT ",
        key_columns!(),
        " FROM virtual_keys WHERE key_hash = $1"
    );
    fetch_one(pool, sql, key_hash).await
}

async fn fetch_one(
    pool: &Pool,
    sql: &'static str,
    value: &str,
) -> Result<Option<VirtualKey>, StoreError> {
    let row = sqlx::query(sql).bind(value).fetch_optional(pool).await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn list(pool: &Pool, filter: &KeyFilter) -> Result<Vec<VirtualKey>, StoreError> {
    let mut qb = Builder::new(concat!(
        "SELECT ",
        key_columns!(),
        " FROM virtual_keys WHERE 1 = 1"
    ));
    super::push_eq(&mut qb, "team_id", filter.team_id.as_deref());
    if !filter.include_revoked {
        qb.push(" AND revoked_at IS NULL");
    }
    qb.push(" ORDER BY created_at, id");
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn update(
    pool: &Pool,
    id: &str,
    patch: KeyPatch,
) -> Result<VirtualKey, StoreError> {
    let mut qb = Builder::new("UPDATE virtual_keys SET updated_at = ");
    qb.push_bind(now_ms());
    if let Some(name) = &patch.name {
        qb.push(", name = ").push_bind(name.as_deref());
    }
    if let Some(team_id) = &patch.team_id {
        qb.push(", team_id = ").push_bind(team_id.as_deref());
    }
    if let Some(user) = &patch.user {
        qb.push(", user_id = ").push_bind(user.as_deref());
    }
    if let Some(models) = &patch.models {
        qb.push(", models = ").push_bind(Json(models));
    }
    if let Some(expires_at) = patch.expires_at {
        qb.push(", expires_at = ").push_bind(expires_at);
    }
    if let Some(limits) = &patch.limits {
        qb.push(", limits = ").push_bind(json_bind(limits.as_ref()));
    }
    if let Some(budget) = &patch.budget {
        qb.push(", budget = ").push_bind(json_bind(budget.as_ref()));
    }
    if let Some(metadata) = &patch.metadata {
        qb.push(", metadata = ").push_bind(Json(metadata));
    }
    if let Some(role) = patch.role {
        qb.push(", role = ").push_bind(role.as_str());
    }
    if let Some(capture) = patch.capture_payloads {
        qb.push(", capture_payloads = ").push_bind(capture);
    }
    qb.push(" WHERE id = ").push_bind(id);
    qb.push(concat!(" RETURNING ", key_columns!()));
    let team_id = patch.team_id.as_ref().and_then(|t| t.as_deref());
    let row = qb
        .build()
        .fetch_optional(pool)
        .await
        .map_err(write_error(team_id))?;
    row.as_ref()
        .map(from_row)
        .transpose()?
        .ok_or_else(|| not_found(id))
}

pub(super) async fn revoke(pool: &Pool, id: &str) -> Result<VirtualKey, StoreError> {
    let row = sqlx::query(concat!(
        "UPDATE virtual_keys SET updated_at = CASE WHEN revoked_at IS NULL THEN $1 ELSE updated_at END, ",
        "revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 RETURNING ",
        key_columns!()
    ))
    .bind(now_ms())
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref()
        .map(from_row)
        .transpose()?
        .ok_or_else(|| not_found(id))
}

pub(super) async fn rotate(
    pool: &Pool,
    id: &str,
    material: KeyMaterial,
) -> Result<VirtualKey, StoreError> {
    check_material(&material)?;
    // One statement: the old hash stops matching in the same instant the new one starts.
    let row = sqlx::query(concat!(
        "UPDATE virtual_keys SET key_hash = $1, key_prefix = $2, updated_at = $3 ",
        "WHERE id = $4 AND revoked_at IS NULL RETURNING ",
        key_columns!()
    ))
    .bind(&material.hash)
    .bind(&material.prefix)
    .bind(now_ms())
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(write_error(None))?;
    match row {
        Some(row) => from_row(&row),
        None => match get_by_id(pool, id).await? {
            Some(_) => Err(StoreError::Conflict(format!(
                "key `{id}` is revoked and cannot be rotated"
            ))),
            None => Err(not_found(id)),
        },
    }
}
