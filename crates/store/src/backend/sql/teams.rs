//! Teams: create, read, list, partial update, delete.

use sqlx::Row as _;

use super::{json_bind, json_col, json_opt, Builder, Pool, Row};
use crate::entities::{NewTeam, Team, TeamPatch};
use crate::error::{constraint_kind, StoreError};
use crate::ids::{new_id, now_ms};
use sqlx::error::ErrorKind;

macro_rules! team_columns {
    () => {
        "id, name, limits, budget, metadata, created_at, updated_at"
    };
}

fn from_row(row: &Row) -> Result<Team, StoreError> {
    Ok(Team {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        limits: json_opt(row, "limits")?,
        budget: json_opt(row, "budget")?,
        metadata: json_col(row, "metadata")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn check_name(name: &str) -> Result<(), StoreError> {
    if name.trim().is_empty() {
        return Err(StoreError::InvalidInput(
            "team name must not be empty".to_owned(),
        ));
    }
    Ok(())
}

fn name_taken(name: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| match constraint_kind(&e) {
        Some(ErrorKind::UniqueViolation) => {
            StoreError::Conflict(format!("team name `{name}` is already taken"))
        }
        _ => e.into(),
    }
}

pub(super) async fn create(pool: &Pool, new: NewTeam) -> Result<Team, StoreError> {
    check_name(&new.name)?;
    let now = now_ms();
    let team = Team {
        id: new_id("team"),
        name: new.name,
        limits: new.limits.filter(|v| !v.is_null()),
        budget: new.budget.filter(|v| !v.is_null()),
        metadata: new.metadata,
        created_at: now,
        updated_at: now,
    };
    sqlx::query(concat!(
        "INSERT INTO teams (",
        team_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(&team.id)
    .bind(&team.name)
    .bind(json_bind(team.limits.as_ref()))
    .bind(json_bind(team.budget.as_ref()))
    .bind(sqlx::types::Json(&team.metadata))
    .bind(team.created_at)
    .bind(team.updated_at)
    .execute(pool)
    .await
    .map_err(name_taken(&team.name))?;
    Ok(team)
}

pub(super) async fn get_by_id(pool: &Pool, id: &str) -> Result<Option<Team>, StoreError> {
    fetch_one(
        pool,
        concat!("SELECT ", team_columns!(), " FROM teams WHERE id = $1"),
        id,
    )
    .await
}

pub(super) async fn get_by_name(pool: &Pool, name: &str) -> Result<Option<Team>, StoreError> {
    fetch_one(
        pool,
        concat!("SELECT ", team_columns!(), " FROM teams WHERE name = $1"),
        name,
    )
    .await
}

async fn fetch_one(
    pool: &Pool,
    sql: &'static str,
    value: &str,
) -> Result<Option<Team>, StoreError> {
    let row = sqlx::query(sql).bind(value).fetch_optional(pool).await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn list(pool: &Pool) -> Result<Vec<Team>, StoreError> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        team_columns!(),
        " FROM teams ORDER BY name"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn update(pool: &Pool, id: &str, patch: TeamPatch) -> Result<Team, StoreError> {
    if let Some(name) = &patch.name {
        check_name(name)?;
    }
    let mut qb = Builder::new("UPDATE teams SET updated_at = ");
    qb.push_bind(now_ms());
    if let Some(name) = &patch.name {
        qb.push(", name = ").push_bind(name);
    }
    if let Some(limits) = &patch.limits {
        qb.push(", limits = ").push_bind(json_bind(limits.as_ref()));
    }
    if let Some(budget) = &patch.budget {
        qb.push(", budget = ").push_bind(json_bind(budget.as_ref()));
    }
    if let Some(metadata) = &patch.metadata {
        qb.push(", metadata = ")
            .push_bind(sqlx::types::Json(metadata));
    }
    qb.push(" WHERE id = ").push_bind(id);
    qb.push(concat!(" RETURNING ", team_columns!()));
    let row = qb
        .build()
        .fetch_optional(pool)
        .await
        .map_err(name_taken(patch.name.as_deref().unwrap_or_default()))?;
    match row {
        Some(row) => from_row(&row),
        None => Err(StoreError::NotFound {
            entity: "team",
            id: id.to_owned(),
        }),
    }
}

pub(super) async fn delete(pool: &Pool, id: &str) -> Result<(), StoreError> {
    let result = sqlx::query("DELETE FROM teams WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map_err(|e| match constraint_kind(&e) {
            Some(ErrorKind::ForeignKeyViolation) => StoreError::Conflict(format!(
                "team `{id}` still has keys (revoked ones included); move them to another team or none first"
            )),
            _ => e.into(),
        })?;
    if result.rows_affected() == 0 {
        return Err(StoreError::NotFound {
            entity: "team",
            id: id.to_owned(),
        });
    }
    Ok(())
}
