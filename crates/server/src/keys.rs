//! Virtual keys on the request path: a cache in front of the store so an admitted request costs
//! no SQL query. A presented secret is hashed and looked up once per `ttl` per replica; unknown
//! secrets are remembered briefly too, so a flood of bad keys cannot hammer the database.
//! Changes made through this replica's admin API invalidate at once; changes made on another
//! replica are seen within `ttl` (the stated bound for revocation across replicas).

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use switchyard_policy::jiff::tz::TimeZone;
use switchyard_policy::jiff::Timestamp;
use switchyard_policy::{
    window_start_ms, Admission, Budget, BudgetSpec, Limits, Subject, SubjectKind,
};
use switchyard_store::{hash_key, SpendScope, Store, Team, VirtualKey};
use switchyard_types::{ErrorClass, GatewayError};

/// A virtual key as the request path needs it: the row, its team, and their limits and budgets
/// parsed once.
#[derive(Debug)]
pub struct KeyInfo {
    pub key: VirtualKey,
    pub team: Option<Team>,
    pub key_limits: Limits,
    pub key_budget: Option<Budget>,
    pub team_limits: Limits,
    pub team_budget: Option<Budget>,
}

pub struct KeyCache {
    store: Arc<dyn Store>,
    /// Budget counters are seeded from the ledger when a key is first loaded (in-memory
    /// counters start empty after a restart; Redis counters already hold the spend and the
    /// seed is a no-op).
    admission: Arc<Admission>,
    found: Cache<String, Arc<KeyInfo>>,
    missing: Cache<String, ()>,
    tz: TimeZone,
}

impl KeyCache {
    pub fn new(
        store: Arc<dyn Store>,
        admission: Arc<Admission>,
        ttl: Duration,
        tz: TimeZone,
    ) -> Self {
        Self {
            store,
            admission,
            found: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .build(),
            missing: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl.min(Duration::from_secs(2)))
                .build(),
            tz,
        }
    }

    /// The key whose secret is `secret`, if it exists (revoked and expired keys included:
    /// the caller checks). Concurrent misses for one secret share one query.
    pub async fn lookup(&self, secret: &str) -> Result<Option<Arc<KeyInfo>>, GatewayError> {
        let hash = hash_key(secret);
        if let Some(k) = self.found.get(&hash).await {
            return Ok(Some(k));
        }
        if self.missing.contains_key(&hash) {
            return Ok(None);
        }
        let store = self.store.clone();
        let admission = self.admission.clone();
        let tz = self.tz.clone();
        let h = hash.clone();
        let loaded = self
            .found
            .try_get_with(hash.clone(), async move {
                match store.get_key_by_hash(&h).await {
                    Ok(Some(key)) => {
                        let info = load_info(store.as_ref(), key, &tz).await?;
                        seed_budgets(store.as_ref(), &admission, &info).await;
                        Ok(Arc::new(info))
                    }
                    Ok(None) => Err(LoadError::Missing),
                    Err(e) => Err(LoadError::Store(e.to_string())),
                }
            })
            .await;
        match loaded {
            Ok(info) => Ok(Some(info)),
            Err(e) => match e.as_ref() {
                LoadError::Missing => {
                    self.missing.insert(hash, ()).await;
                    Ok(None)
                }
                LoadError::Store(msg) => {
                    tracing::error!(error = %msg, "key lookup failed");
                    Err(GatewayError::new(
                        ErrorClass::Internal,
                        switchyard_types::Who::Gateway,
                        "the key store is unavailable",
                    )
                    .with_status(503))
                }
            },
        }
    }

    /// Forgets everything (after an admin change on this replica).
    pub fn invalidate_all(&self) {
        self.found.invalidate_all();
        self.missing.invalidate_all();
    }
}

#[derive(Debug)]
enum LoadError {
    Missing,
    Store(String),
}

async fn load_info(
    store: &dyn Store,
    key: VirtualKey,
    tz: &TimeZone,
) -> Result<KeyInfo, LoadError> {
    let team = match &key.team_id {
        Some(id) => store
            .get_team(id)
            .await
            .map_err(|e| LoadError::Store(e.to_string()))?,
        None => None,
    };
    let key_limits = parse_limits(key.limits.as_ref());
    let key_budget = parse_budget(key.budget.as_ref(), tz);
    let team_limits = parse_limits(team.as_ref().and_then(|t| t.limits.as_ref()));
    let team_budget = parse_budget(team.as_ref().and_then(|t| t.budget.as_ref()), tz);
    if key_limits.tpm.is_some() || team_limits.tpm.is_some() {
        switchyard_policy::warm_up_in_background();
    }
    Ok(KeyInfo {
        key,
        team,
        key_limits,
        key_budget,
        team_limits,
        team_budget,
    })
}

/// Seeds the key's and team's budget counters for the current window from the ledger (only
/// where the counter is absent). Failures are logged: admission still works, from zero.
async fn seed_budgets(store: &dyn Store, admission: &Admission, info: &KeyInfo) {
    let now = Timestamp::now();
    let mut subjects = Vec::new();
    if let Some(b) = &info.key_budget {
        subjects.push((
            SubjectKind::Key,
            info.key.id.clone(),
            SpendScope::Key(info.key.id.clone()),
            b.clone(),
        ));
    }
    if let (Some(team), Some(b)) = (&info.team, &info.team_budget) {
        subjects.push((
            SubjectKind::Team,
            team.id.clone(),
            SpendScope::Team(team.id.clone()),
            b.clone(),
        ));
    }
    for (kind, id, scope, budget) in subjects {
        let from = window_start_ms(&budget.period, &budget.tz, now);
        let spent = match store
            .spend_total(&scope, from, now.as_millisecond() + 1)
            .await
        {
            Ok(v) => u64::try_from(v).unwrap_or(0),
            Err(e) => {
                tracing::warn!(error = %e, "could not read spend to seed a budget");
                continue;
            }
        };
        let subject = Subject {
            kind,
            id,
            limits: Limits::default(),
            budget: Some(budget),
        };
        if let Err(e) = admission.seed_budget(&subject, spent, now).await {
            tracing::warn!(error = %e, "could not seed a budget counter");
        }
    }
}

/// Limits as stored (validated by the admin API on the way in; a malformed row counts as none).
pub fn parse_limits(v: Option<&serde_json::Value>) -> Limits {
    v.and_then(|v| serde_json::from_value::<Limits>(v.clone()).ok())
        .unwrap_or_default()
}

pub fn parse_budget(v: Option<&serde_json::Value>, tz: &TimeZone) -> Option<Budget> {
    let spec: BudgetSpec = serde_json::from_value(v?.clone()).ok()?;
    spec.resolve(tz).ok()
}
