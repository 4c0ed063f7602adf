//! `/admin/keys`: create, list, get, update, revoke and rotate virtual keys.
//!
//! The secret is generated here ([`generate_key`]), returned once in the `key` field of the
//! create and rotate responses, and stored only as its hash. Every other response (and every
//! audit entry) shows the 8-character `key_prefix` only.
//!
//! A `team_admin` caller works inside its team: keys it creates are forced into its team
//! (naming another team is 403), it cannot move a key to another team (403), and keys of other
//! teams or of no team are 404 to it.

use axum::response::Response;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use switchyard_policy::{BudgetSpec, Limits};
use switchyard_store::{
    generate_key, now_ms, KeyFilter, KeyMaterial, KeyPatch, KeyRole, NewKey, VirtualKey,
};
use switchyard_types::GatewayError;

use super::audit::{record, snapshot};
use super::input::{self, field_error, not_null, nullable, parse_body, present, Instant};
use super::output::{json, not_found, ok, rfc3339, rfc3339_opt, store_error};
use super::rbac::forbidden;
use super::Ctx;

/// A key as the API shows it: everything but the hash (and the secret, which is not stored).
#[derive(Debug, Clone, Serialize)]
pub struct KeyView {
    pub id: String,
    pub name: Option<String>,
    pub key_prefix: String,
    pub team_id: Option<String>,
    pub user: Option<String>,
    pub models: Vec<String>,
    pub expires_at: Option<String>,
    pub limits: Option<Value>,
    pub budget: Option<Value>,
    pub metadata: Map<String, Value>,
    pub role: KeyRole,
    pub capture_payloads: bool,
    /// `active`, `revoked` or `expired`.
    pub status: &'static str,
    pub created_at: String,
    pub updated_at: String,
    pub revoked_at: Option<String>,
}

impl From<VirtualKey> for KeyView {
    fn from(k: VirtualKey) -> Self {
        let status = if k.revoked_at.is_some() {
            "revoked"
        } else if k.is_active(now_ms()) {
            "active"
        } else {
            "expired"
        };
        KeyView {
            id: k.id,
            name: k.name,
            key_prefix: k.key_prefix,
            team_id: k.team_id,
            user: k.user,
            models: k.models,
            expires_at: rfc3339_opt(k.expires_at),
            limits: k.limits,
            budget: k.budget,
            metadata: k.metadata,
            role: k.role,
            capture_payloads: k.capture_payloads,
            status,
            created_at: rfc3339(k.created_at),
            updated_at: rfc3339(k.updated_at),
            revoked_at: rfc3339_opt(k.revoked_at),
        }
    }
}

/// The create and rotate responses: the view plus the secret, shown this once.
#[derive(Debug, Serialize)]
struct WithSecret {
    key: String,
    #[serde(flatten)]
    view: KeyView,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    name: Option<String>,
    team_id: Option<String>,
    user: Option<String>,
    models: Option<Vec<String>>,
    expires_at: Option<Instant>,
    limits: Option<Limits>,
    budget: Option<BudgetSpec>,
    metadata: Option<Map<String, Value>>,
    role: Option<KeyRole>,
    capture_payloads: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateKey {
    #[serde(default, deserialize_with = "nullable")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    team_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    user: Option<Option<String>>,
    #[serde(default, deserialize_with = "not_null")]
    models: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    expires_at: Option<Option<Instant>>,
    #[serde(default, deserialize_with = "nullable")]
    limits: Option<Option<Limits>>,
    #[serde(default, deserialize_with = "nullable")]
    budget: Option<Option<BudgetSpec>>,
    #[serde(default, deserialize_with = "not_null")]
    metadata: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "not_null")]
    role: Option<KeyRole>,
    #[serde(default, deserialize_with = "not_null")]
    capture_payloads: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    team_id: Option<String>,
    include_revoked: Option<String>,
}

/// `POST /admin/keys` → 201 with `key` (the secret) and `id`.
pub async fn create(ctx: Ctx) -> Result<Response, GatewayError> {
    let body: CreateKey = parse_body(&ctx.body)?;
    let requested_team = input::text_opt("team_id", body.team_id.as_deref())?;
    let team_id = match (ctx.caller.team_scope(), requested_team) {
        (None, team) => team,
        (Some(scope), None) => Some(scope.to_owned()),
        (Some(scope), Some(team)) if team == scope => Some(team),
        (Some(scope), Some(_)) => {
            return Err(
                forbidden(format!("this key may only create keys for team `{scope}`"))
                    .with_param("team_id"),
            )
        }
    };
    let role = body.role.unwrap_or_default();
    if role == KeyRole::TeamAdmin && team_id.is_none() {
        return Err(field_error("role", "a team_admin key needs a team_id"));
    }
    if let Some(Instant(at)) = body.expires_at {
        if at <= now_ms() {
            return Err(field_error("expires_at", "must be in the future"));
        }
    }
    if let Some(team) = &team_id {
        check_team_exists(&ctx, team).await?;
    }
    let secret = generate_key();
    let new = NewKey {
        material: KeyMaterial::from_secret(&secret),
        name: input::text_opt("name", body.name.as_deref())?,
        team_id,
        user: input::text_opt("user", body.user.as_deref())?,
        models: input::models(body.models.unwrap_or_default())?,
        expires_at: body.expires_at.map(|i| i.0),
        limits: body.limits.map(input::limits).transpose()?.flatten(),
        budget: body
            .budget
            .map(|b| input::budget(b, &ctx.app.tz))
            .transpose()?,
        metadata: input::metadata(body.metadata.unwrap_or_default())?,
        role,
        capture_payloads: body.capture_payloads.unwrap_or(false),
    };
    let key = ctx.app.store.create_key(new).await.map_err(store_error)?;
    ctx.app.keys.invalidate_all();
    let view = KeyView::from(key);
    record(
        &ctx.app,
        &ctx.caller,
        "key.create",
        "key",
        &view.id,
        None,
        snapshot(&view),
    )
    .await?;
    json(StatusCode::CREATED, &WithSecret { key: secret, view })
}

/// `GET /admin/keys?team_id=&include_revoked=true`: keys by creation time.
pub async fn list(ctx: Ctx) -> Result<Response, GatewayError> {
    let q: ListQuery = input::parse_query(ctx.query.as_deref())?;
    let include_revoked = match present(q.include_revoked).as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(field_error(
                "include_revoked",
                format!("expected true or false, got `{other}`"),
            ))
        }
    };
    let filter = KeyFilter {
        team_id: ctx.caller.scoped_team_filter(present(q.team_id))?,
        include_revoked,
    };
    let keys = ctx
        .app
        .store
        .list_keys(&filter)
        .await
        .map_err(store_error)?;
    let data: Vec<KeyView> = keys
        .into_iter()
        .filter(|k| ctx.caller.can_see(k.team_id.as_deref()))
        .map(KeyView::from)
        .collect();
    ok(&json!({ "data": data }))
}

/// `GET /admin/keys/{id}`.
pub async fn get(ctx: Ctx) -> Result<Response, GatewayError> {
    ok(&KeyView::from(load(&ctx).await?))
}

/// `PATCH /admin/keys/{id}`: `null` clears nullable fields; the secret changes only by rotation.
pub async fn update(ctx: Ctx) -> Result<Response, GatewayError> {
    let body: UpdateKey = parse_body(&ctx.body)?;
    let current = load(&ctx).await?;
    let team_id = match body.team_id {
        None => None,
        Some(team) => Some(team.map(|t| input::text("team_id", &t)).transpose()?),
    };
    if let (Some(scope), Some(new_team)) = (ctx.caller.team_scope(), &team_id) {
        if new_team.as_deref() != Some(scope) {
            return Err(
                forbidden("a team admin cannot move a key to another team").with_param("team_id")
            );
        }
    }
    let final_team = team_id.clone().unwrap_or_else(|| current.team_id.clone());
    let final_role = body.role.unwrap_or(current.role);
    if final_role == KeyRole::TeamAdmin && final_team.is_none() {
        return Err(field_error("role", "a team_admin key needs a team_id"));
    }
    if let Some(Some(team)) = &team_id {
        check_team_exists(&ctx, team).await?;
    }
    let patch = KeyPatch {
        name: body
            .name
            .map(|n| input::text_opt("name", n.as_deref()))
            .transpose()?,
        team_id,
        user: body
            .user
            .map(|u| input::text_opt("user", u.as_deref()))
            .transpose()?,
        models: body.models.map(input::models).transpose()?,
        // A past instant is allowed here: it expires the key now.
        expires_at: body.expires_at.map(|e| e.map(|i| i.0)),
        limits: body
            .limits
            .map(|l| l.map(input::limits).transpose().map(Option::flatten))
            .transpose()?,
        budget: body
            .budget
            .map(|b| b.map(|b| input::budget(b, &ctx.app.tz)).transpose())
            .transpose()?,
        metadata: body.metadata.map(input::metadata).transpose()?,
        role: body.role,
        capture_payloads: body.capture_payloads,
    };
    let before = KeyView::from(current);
    let key = ctx
        .app
        .store
        .update_key(&before.id, patch)
        .await
        .map_err(store_error)?;
    ctx.app.keys.invalidate_all();
    let after = KeyView::from(key);
    record(
        &ctx.app,
        &ctx.caller,
        "key.update",
        "key",
        &after.id,
        snapshot(&before),
        snapshot(&after),
    )
    .await?;
    ok(&after)
}

/// `DELETE /admin/keys/{id}`: revokes (idempotent; the first revocation time is kept and only
/// the first revocation is audited).
pub async fn revoke(ctx: Ctx) -> Result<Response, GatewayError> {
    let current = load(&ctx).await?;
    let already = current.revoked_at.is_some();
    let before = KeyView::from(current);
    let key = ctx
        .app
        .store
        .revoke_key(&before.id)
        .await
        .map_err(store_error)?;
    ctx.app.keys.invalidate_all();
    let after = KeyView::from(key);
    if !already {
        record(
            &ctx.app,
            &ctx.caller,
            "key.revoke",
            "key",
            &after.id,
            snapshot(&before),
            snapshot(&after),
        )
        .await?;
    }
    ok(&after)
}

/// `POST /admin/keys/{id}/rotate`: a new secret (shown once) replaces the old one at once; 409
/// for a revoked key.
pub async fn rotate(ctx: Ctx) -> Result<Response, GatewayError> {
    let before = KeyView::from(load(&ctx).await?);
    let secret = generate_key();
    let key = ctx
        .app
        .store
        .rotate_key(&before.id, KeyMaterial::from_secret(&secret))
        .await
        .map_err(store_error)?;
    ctx.app.keys.invalidate_all();
    let after = KeyView::from(key);
    record(
        &ctx.app,
        &ctx.caller,
        "key.rotate",
        "key",
        &after.id,
        snapshot(&before),
        snapshot(&after),
    )
    .await?;
    ok(&WithSecret {
        key: secret,
        view: after,
    })
}

/// The key named by the path, if the caller may see it (else 404).
async fn load(ctx: &Ctx) -> Result<VirtualKey, GatewayError> {
    let id = ctx.param(0)?;
    let key = ctx
        .app
        .store
        .get_key(id)
        .await
        .map_err(store_error)?
        .filter(|k| ctx.caller.can_see(k.team_id.as_deref()));
    key.ok_or_else(|| not_found("key", id))
}

/// A `team_id` in a body must name an existing team (400 naming the field otherwise).
async fn check_team_exists(ctx: &Ctx, team: &str) -> Result<(), GatewayError> {
    match ctx.app.store.get_team(team).await.map_err(store_error)? {
        Some(_) => Ok(()),
        None => Err(field_error(
            "team_id",
            format!("team `{team}` does not exist"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_store::hash_key;

    #[test]
    fn views_never_carry_the_hash() {
        let secret = generate_key();
        let mut key = VirtualKey {
            id: "key_1".into(),
            name: Some("ci".into()),
            key_hash: hash_key(&secret),
            key_prefix: secret[..8].to_owned(),
            team_id: None,
            user: None,
            models: vec![],
            expires_at: Some(1),
            limits: None,
            budget: None,
            metadata: Map::new(),
            role: KeyRole::User,
            capture_payloads: false,
            created_at: 0,
            updated_at: 0,
            revoked_at: None,
        };
        let text = serde_json::to_string(&KeyView::from(key.clone())).unwrap();
        assert!(!text.contains(&hash_key(&secret)), "{text}");
        assert!(!text.contains(&secret), "{text}");
        assert!(!text.contains("key_hash"), "{text}");
        assert!(text.contains(r#""status":"expired""#), "{text}");
        assert!(
            text.contains(r#""expires_at":"1970-01-01T00:00:00.001Z""#),
            "{text}"
        );
        key.revoked_at = Some(5);
        assert_eq!(KeyView::from(key.clone()).status, "revoked");
        key.revoked_at = None;
        key.expires_at = None;
        assert_eq!(KeyView::from(key).status, "active");
    }
}
