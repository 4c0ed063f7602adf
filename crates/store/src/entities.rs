//! Teams and virtual keys: the stored shapes, what creating one takes, and partial updates.
//!
//! Limits and budgets are opaque JSON here: the policy layer owns their shape and validates them
//! before they reach the store. In patches, `None` means "leave unchanged"; for nullable fields
//! `Some(None)` clears the value.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

use crate::error::StoreError;
use crate::ids::{hash_key, KEY_DISPLAY_PREFIX_LEN};

/// A team: a unit of attribution, limits and budget that keys belong to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub limits: Option<Value>,
    pub budget: Option<Value>,
    pub metadata: Map<String, Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What creating a team takes; the store assigns `id` and timestamps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewTeam {
    pub name: String,
    pub limits: Option<Value>,
    pub budget: Option<Value>,
    pub metadata: Map<String, Value>,
}

/// A partial team update.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TeamPatch {
    pub name: Option<String>,
    pub limits: Option<Option<Value>>,
    pub budget: Option<Option<Value>>,
    pub metadata: Option<Map<String, Value>>,
}

/// What a virtual key may do on the admin API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyRole {
    /// Calls models only.
    #[default]
    User,
    /// Also manages the keys of its own team.
    TeamAdmin,
    /// Also reads reports and logs, changes nothing.
    ReadOnly,
}

impl KeyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyRole::User => "user",
            KeyRole::TeamAdmin => "team_admin",
            KeyRole::ReadOnly => "read_only",
        }
    }
}

impl fmt::Display for KeyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyRole {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(KeyRole::User),
            "team_admin" => Ok(KeyRole::TeamAdmin),
            "read_only" => Ok(KeyRole::ReadOnly),
            other => Err(StoreError::InvalidInput(format!(
                "unknown key role `{other}` (expected user, team_admin or read_only)"
            ))),
        }
    }
}

/// The stored, non-secret form of a key secret: its SHA-256 hex and its display prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMaterial {
    pub hash: String,
    pub prefix: String,
}

impl KeyMaterial {
    /// Hash and display prefix of `secret` (the secret itself is not kept).
    pub fn from_secret(secret: &str) -> Self {
        KeyMaterial {
            hash: hash_key(secret),
            prefix: secret.chars().take(KEY_DISPLAY_PREFIX_LEN).collect(),
        }
    }
}

/// A virtual key as stored. The secret is not here: only its hash and display prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualKey {
    pub id: String,
    pub name: Option<String>,
    pub key_hash: String,
    pub key_prefix: String,
    pub team_id: Option<String>,
    pub user: Option<String>,
    /// Allowed model names and globs, as given (the policy layer interprets an empty list).
    pub models: Vec<String>,
    pub expires_at: Option<i64>,
    pub limits: Option<Value>,
    pub budget: Option<Value>,
    pub metadata: Map<String, Value>,
    pub role: KeyRole,
    pub capture_payloads: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub revoked_at: Option<i64>,
}

impl VirtualKey {
    /// Neither revoked nor expired at `now_ms`.
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now_ms < at)
    }
}

/// What creating a key takes; the store assigns `id` and timestamps.
#[derive(Debug, Clone, PartialEq)]
pub struct NewKey {
    pub material: KeyMaterial,
    pub name: Option<String>,
    pub team_id: Option<String>,
    pub user: Option<String>,
    pub models: Vec<String>,
    pub expires_at: Option<i64>,
    pub limits: Option<Value>,
    pub budget: Option<Value>,
    pub metadata: Map<String, Value>,
    pub role: KeyRole,
    pub capture_payloads: bool,
}

impl NewKey {
    /// A plain `user` key with no team, restrictions, limits or budget.
    pub fn new(material: KeyMaterial) -> Self {
        NewKey {
            material,
            name: None,
            team_id: None,
            user: None,
            models: Vec::new(),
            expires_at: None,
            limits: None,
            budget: None,
            metadata: Map::new(),
            role: KeyRole::User,
            capture_payloads: false,
        }
    }
}

/// A partial key update (the secret changes only through rotation).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyPatch {
    pub name: Option<Option<String>>,
    pub team_id: Option<Option<String>>,
    pub user: Option<Option<String>>,
    pub models: Option<Vec<String>>,
    pub expires_at: Option<Option<i64>>,
    pub limits: Option<Option<Value>>,
    pub budget: Option<Option<Value>>,
    pub metadata: Option<Map<String, Value>>,
    pub role: Option<KeyRole>,
    pub capture_payloads: Option<bool>,
}

/// Which keys [`crate::Store::list_keys`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFilter {
    pub team_id: Option<String>,
    /// Include revoked keys (default: only keys not revoked).
    pub include_revoked: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_text_and_serde() {
        for role in [KeyRole::User, KeyRole::TeamAdmin, KeyRole::ReadOnly] {
            assert_eq!(role.as_str().parse::<KeyRole>().unwrap(), role);
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        assert!("admin".parse::<KeyRole>().is_err());
    }

    #[test]
    fn material_keeps_hash_and_display_prefix_only() {
        let m = KeyMaterial::from_secret("sk-sy-abcdefghij");
        assert_eq!(m.prefix, "sk-sy-ab");
        assert_eq!(m.hash, hash_key("sk-sy-abcdefghij"));
    }

    #[test]
    fn activity_depends_on_revocation_and_expiry() {
        let mut key = VirtualKey {
            id: "key_x".into(),
            name: None,
            key_hash: hash_key("s"),
            key_prefix: "s".into(),
            team_id: None,
            user: None,
            models: vec![],
            expires_at: Some(1_000),
            limits: None,
            budget: None,
            metadata: Map::new(),
            role: KeyRole::User,
            capture_payloads: false,
            created_at: 0,
            updated_at: 0,
            revoked_at: None,
        };
        assert!(key.is_active(999));
        assert!(!key.is_active(1_000));
        key.expires_at = None;
        assert!(key.is_active(i64::MAX));
        key.revoked_at = Some(5);
        assert!(!key.is_active(0));
    }
}
