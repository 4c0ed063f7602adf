//! Who may call the admin API, and what each caller may see and change.
//!
//! - The master key: everything.
//! - A `team_admin` virtual key: reads and manages the keys of its own team and reads its own
//!   team, spend, logs and audit trail; it cannot create, change or delete teams. Anything of
//!   another team is answered 404, as if it did not exist (existence is not leaked).
//! - A `read_only` virtual key: GET routes only; scoped to its team when it has one, everything
//!   when it has none.
//! - A `user` key, a revoked or an expired key: 403 (`permission_error`). No key or an unknown
//!   key: 401.
//! - No `master_key` configured: 401 for everything. An open gateway never has an open admin
//!   API; set `master_key` to use it.
//!
//! Virtual keys are looked up in the store on every admin request (not through the request-path
//! cache), so a key revoked or rotated on any replica loses admin access at once.

use switchyard_ingress::Dialect;
use switchyard_store::{hash_key, now_ms, KeyRole};
use switchyard_types::{ErrorClass, GatewayError};

use crate::auth::presented_key;
use crate::state::AppState;

/// The access level a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// GET routes: master, `team_admin` and `read_only` keys (scoped by team).
    Read,
    /// Key changes: master and `team_admin` keys (scoped to the team).
    Write,
    /// Team changes: the master key only.
    MasterOnly,
}

/// An authenticated admin caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Master,
    /// A virtual key with role `team_admin` or `read_only`.
    Key {
        id: String,
        role: KeyRole,
        team_id: Option<String>,
    },
}

impl Caller {
    /// The audit log's `actor`: `"master"` or the acting key's id.
    pub fn actor(&self) -> &str {
        match self {
            Caller::Master => "master",
            Caller::Key { id, .. } => id,
        }
    }

    /// The one team this caller is confined to, or `None` for everything.
    pub fn team_scope(&self) -> Option<&str> {
        match self {
            Caller::Master => None,
            Caller::Key { team_id, .. } => team_id.as_deref(),
        }
    }

    /// Whether an object owned by `team_id` is visible to this caller.
    pub fn can_see(&self, team_id: Option<&str>) -> bool {
        match self.team_scope() {
            None => true,
            Some(scope) => team_id == Some(scope),
        }
    }

    /// The team filter a listing must use: the caller's team when confined (403 if the client
    /// asked for another team), else whatever the client asked for.
    pub fn scoped_team_filter(
        &self,
        requested: Option<String>,
    ) -> Result<Option<String>, GatewayError> {
        match (self.team_scope(), requested) {
            (None, requested) => Ok(requested),
            (Some(scope), None) => Ok(Some(scope.to_owned())),
            (Some(scope), Some(req)) if req == scope => Ok(Some(req)),
            (Some(scope), Some(_)) => {
                Err(forbidden(format!("this key may only read team `{scope}`"))
                    .with_param("team_id"))
            }
        }
    }
}

/// A 403 in the admin API's words.
pub fn forbidden(message: impl Into<String>) -> GatewayError {
    GatewayError::client(ErrorClass::Forbidden, message)
}

fn unauthorized(message: impl Into<String>) -> GatewayError {
    GatewayError::client(ErrorClass::Unauthorized, message)
}

/// Identifies the caller from `Authorization: Bearer KEY` (or `api-key: KEY`).
pub async fn authenticate(
    app: &AppState,
    headers: &http::HeaderMap,
) -> Result<Caller, GatewayError> {
    let Some(master) = &app.master_key else {
        return Err(unauthorized(
            "The admin API is disabled because no master_key is configured. Set master_key to use it.",
        )
        .with_code("admin_api_disabled"));
    };
    let Some(presented) = presented_key(headers, Dialect::OpenAi) else {
        return Err(unauthorized(
            "You didn't provide an API key. Send it as `Authorization: Bearer KEY`.",
        ));
    };
    if constant_time_eq(presented.as_bytes(), master.expose().as_bytes()) {
        return Ok(Caller::Master);
    }
    let key = app
        .store
        .get_key_by_hash(&hash_key(presented))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "admin key lookup failed");
            GatewayError::internal("the key store is unavailable").with_status(503)
        })?;
    let Some(key) = key else {
        return Err(unauthorized("Incorrect API key provided."));
    };
    if key.revoked_at.is_some() {
        return Err(forbidden("This key has been revoked.").with_code("key_revoked"));
    }
    if !key.is_active(now_ms()) {
        return Err(forbidden("This key has expired.").with_code("key_expired"));
    }
    match key.role {
        KeyRole::User => Err(forbidden(
            "This key may not use the admin API (its role is `user`).",
        )),
        role @ (KeyRole::TeamAdmin | KeyRole::ReadOnly) => Ok(Caller::Key {
            id: key.id,
            role,
            team_id: key.team_id,
        }),
    }
}

/// Refuses a caller whose role does not reach `access`.
pub fn check_access(caller: &Caller, access: Access) -> Result<(), GatewayError> {
    let role = match caller {
        Caller::Master => return Ok(()),
        Caller::Key { role, .. } => *role,
    };
    match (access, role) {
        (Access::Read, _) => Ok(()),
        (Access::Write, KeyRole::TeamAdmin) => Ok(()),
        (Access::Write, _) => Err(forbidden(format!(
            "This key is `{role}`: it may only read."
        ))),
        (Access::MasterOnly, _) => Err(forbidden("Only the master key may manage teams.")),
    }
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

    fn key(role: KeyRole, team: Option<&str>) -> Caller {
        Caller::Key {
            id: "key_1".into(),
            role,
            team_id: team.map(str::to_owned),
        }
    }

    #[test]
    fn access_matrix() {
        let admin = key(KeyRole::TeamAdmin, Some("team_a"));
        let reader = key(KeyRole::ReadOnly, None);
        for access in [Access::Read, Access::Write, Access::MasterOnly] {
            assert!(check_access(&Caller::Master, access).is_ok());
        }
        assert!(check_access(&admin, Access::Read).is_ok());
        assert!(check_access(&admin, Access::Write).is_ok());
        assert_eq!(
            check_access(&admin, Access::MasterOnly).unwrap_err().status,
            403
        );
        assert!(check_access(&reader, Access::Read).is_ok());
        assert_eq!(
            check_access(&reader, Access::Write).unwrap_err().status,
            403
        );
    }

    #[test]
    fn scoping() {
        let admin = key(KeyRole::TeamAdmin, Some("team_a"));
        assert!(admin.can_see(Some("team_a")));
        assert!(!admin.can_see(Some("team_b")));
        assert!(!admin.can_see(None));
        assert_eq!(
            admin.scoped_team_filter(None).unwrap().as_deref(),
            Some("team_a")
        );
        assert_eq!(
            admin
                .scoped_team_filter(Some("team_b".into()))
                .unwrap_err()
                .status,
            403
        );
        let reader = key(KeyRole::ReadOnly, None);
        assert!(reader.can_see(Some("team_b")) && reader.can_see(None));
        assert_eq!(
            reader
                .scoped_team_filter(Some("team_b".into()))
                .unwrap()
                .as_deref(),
            Some("team_b")
        );
        assert_eq!(Caller::Master.actor(), "master");
        assert_eq!(admin.actor(), "key_1");
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
