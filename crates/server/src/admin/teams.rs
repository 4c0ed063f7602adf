//! `/admin/teams`: create, list, get, update and delete teams. Creating, changing and deleting
//! take the master key; team-scoped keys read only their own team (others are 404).

use axum::response::Response;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use switchyard_policy::{BudgetSpec, Limits};
use switchyard_store::{NewTeam, Team, TeamPatch};
use switchyard_types::GatewayError;

use super::audit::{record, snapshot};
use super::input::{self, not_null, nullable, parse_body};
use super::output::{json, not_found, ok, rfc3339, store_error};
use super::Ctx;

/// A team as the API shows it.
#[derive(Debug, Serialize)]
pub struct TeamView {
    pub id: String,
    pub name: String,
    pub limits: Option<Value>,
    pub budget: Option<Value>,
    pub metadata: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Team> for TeamView {
    fn from(t: Team) -> Self {
        TeamView {
            id: t.id,
            name: t.name,
            limits: t.limits,
            budget: t.budget,
            metadata: t.metadata,
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTeam {
    name: String,
    limits: Option<Limits>,
    budget: Option<BudgetSpec>,
    metadata: Option<Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateTeam {
    #[serde(default, deserialize_with = "not_null")]
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    limits: Option<Option<Limits>>,
    #[serde(default, deserialize_with = "nullable")]
    budget: Option<Option<BudgetSpec>>,
    #[serde(default, deserialize_with = "not_null")]
    metadata: Option<Map<String, Value>>,
}

/// `POST /admin/teams` (master key).
pub async fn create(ctx: Ctx) -> Result<Response, GatewayError> {
    let body: CreateTeam = parse_body(&ctx.body)?;
    let new = NewTeam {
        name: input::text("name", &body.name)?,
        limits: body.limits.map(input::limits).transpose()?.flatten(),
        budget: body
            .budget
            .map(|b| input::budget(b, &ctx.app.tz))
            .transpose()?,
        metadata: input::metadata(body.metadata.unwrap_or_default())?,
    };
    let team = ctx.app.store.create_team(new).await.map_err(store_error)?;
    let view = TeamView::from(team);
    record(
        &ctx.app,
        &ctx.caller,
        "team.create",
        "team",
        &view.id,
        None,
        snapshot(&view),
    )
    .await?;
    json(StatusCode::CREATED, &view)
}

/// `GET /admin/teams`: every team by name, or only the caller's own team.
pub async fn list(ctx: Ctx) -> Result<Response, GatewayError> {
    input::parse_query::<NoQuery>(ctx.query.as_deref())?;
    let teams = match ctx.caller.team_scope() {
        None => ctx.app.store.list_teams().await.map_err(store_error)?,
        Some(team) => ctx
            .app
            .store
            .get_team(team)
            .await
            .map_err(store_error)?
            .into_iter()
            .collect(),
    };
    let data: Vec<TeamView> = teams.into_iter().map(TeamView::from).collect();
    ok(&json!({ "data": data }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoQuery {}

/// `GET /admin/teams/{id}`.
pub async fn get(ctx: Ctx) -> Result<Response, GatewayError> {
    let team = load(&ctx).await?;
    ok(&TeamView::from(team))
}

/// `PATCH /admin/teams/{id}` (master key). `null` clears `limits` / `budget`.
pub async fn update(ctx: Ctx) -> Result<Response, GatewayError> {
    let body: UpdateTeam = parse_body(&ctx.body)?;
    let patch = TeamPatch {
        name: input::text_opt("name", body.name.as_deref())?,
        limits: body
            .limits
            .map(|l| l.map(input::limits).transpose().map(Option::flatten))
            .transpose()?,
        budget: body
            .budget
            .map(|b| b.map(|b| input::budget(b, &ctx.app.tz)).transpose())
            .transpose()?,
        metadata: body.metadata.map(input::metadata).transpose()?,
    };
    let before = TeamView::from(load(&ctx).await?);
    let team = ctx
        .app
        .store
        .update_team(&before.id, patch)
        .await
        .map_err(store_error)?;
    ctx.app.keys.invalidate_all();
    let after = TeamView::from(team);
    record(
        &ctx.app,
        &ctx.caller,
        "team.update",
        "team",
        &after.id,
        snapshot(&before),
        snapshot(&after),
    )
    .await?;
    ok(&after)
}

/// `DELETE /admin/teams/{id}` (master key). 409 while keys (revoked ones too) belong to it.
pub async fn delete(ctx: Ctx) -> Result<Response, GatewayError> {
    let before = TeamView::from(load(&ctx).await?);
    ctx.app
        .store
        .delete_team(&before.id)
        .await
        .map_err(store_error)?;
    ctx.app.keys.invalidate_all();
    record(
        &ctx.app,
        &ctx.caller,
        "team.delete",
        "team",
        &before.id,
        snapshot(&before),
        None,
    )
    .await?;
    ok(&json!({ "id": before.id, "deleted": true }))
}

/// The team named by the path, if the caller may see it.
async fn load(ctx: &Ctx) -> Result<Team, GatewayError> {
    let id = ctx.param(0)?;
    if !ctx.caller.can_see(Some(id)) {
        return Err(not_found("team", id));
    }
    ctx.app
        .store
        .get_team(id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| not_found("team", id))
}
