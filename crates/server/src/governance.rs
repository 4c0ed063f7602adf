//! The admit stage and the prices behind it: model allow-lists, rate limits, concurrency and
//! budgets per key and team (counters in memory or Redis — no SQL on the request path), and
//! the price each target is charged at.
//!
//! Budgets reserve the request's estimated maximum cost before the call and settle to the
//! actual cost after it (in the ledger writer, streams at their end — aborted ones included);
//! a failed request releases its reservation.

use std::sync::Arc;

use http::HeaderMap;
use switchyard_config::{Config, PricingOverride, UnknownPrice};
use switchyard_policy::{Admission, AdmissionConfig, Budget, Permit, Subject, SubjectKind};
use switchyard_pricing::{usd_per_million_to_rate, Price, PriceTable};
use switchyard_store::SpendScope;
use switchyard_types::{ErrorClass, GatewayError};

use crate::auth::Principal;
use crate::fastpath::Peeked;
use crate::keys::KeyInfo;
use crate::state::RoutePlan;

/// Output tokens assumed for a budget reservation when the client set no `max_tokens`.
pub const DEFAULT_RESERVED_OUTPUT_TOKENS: u64 = 4096;

/// Who a request is charged to.
#[derive(Debug, Clone, Default)]
pub struct Attribution {
    pub key_id: Option<String>,
    pub team_id: Option<String>,
    pub user: Option<String>,
    /// The end user or agent session (`x-switchyard-end-user`, else the OpenAI `user` field).
    pub end_user: Option<String>,
    pub tags: Vec<String>,
}

/// What admission hands to the rest of the request.
pub struct Admitted {
    pub permit: Option<Permit>,
    pub attribution: Attribution,
    /// Capture request/response bodies in the request log.
    pub capture: bool,
    /// `x-ratelimit-*` headers for the response.
    pub rate_headers: Vec<(&'static str, String)>,
}

/// A refusal: the error and the headers that go with it.
pub struct Refused {
    pub error: GatewayError,
    pub headers: Vec<(&'static str, String)>,
}

impl From<GatewayError> for Refused {
    fn from(error: GatewayError) -> Self {
        Self {
            error,
            headers: Vec::new(),
        }
    }
}

pub struct Governance {
    pub admission: Arc<Admission>,
    store: Arc<dyn switchyard_store::Store>,
    /// Budgets applied to each user / each end user (`governance.user_budget`,
    /// `governance.end_user_budget`).
    user_budget: Option<Budget>,
    end_user_budget: Option<Budget>,
    /// Users and end users whose budget counters were seeded from the ledger recently.
    seeded: moka::sync::Cache<String, ()>,
    prices: PriceTable,
    unknown: UnknownPrice,
    default_price: Option<Price>,
    capture_all: bool,
}

/// A price from config (USD per million tokens) in integer rates.
pub fn price_from_config(path: &str, p: &PricingOverride) -> Result<Price, String> {
    let rate = |field: &str, v: f64| {
        usd_per_million_to_rate(&format!("{path}.{field}"), v).map_err(|e| e.to_string())
    };
    let input = rate("input", p.input)?;
    Ok(Price {
        input,
        output: rate("output", p.output)?,
        cached_input: p
            .cached_input
            .map(|v| rate("cached_input", v))
            .transpose()?
            .unwrap_or(input),
        cache_write: p
            .cache_write
            .map(|v| rate("cache_write", v))
            .transpose()?
            .unwrap_or(input),
        reasoning: None,
        per_image: None,
        long_context: None,
    })
}

impl Governance {
    pub fn new(
        config: &Config,
        counters: Arc<dyn switchyard_policy::Counters>,
        store: Arc<dyn switchyard_store::Store>,
    ) -> Result<Self, String> {
        let tz = switchyard_policy::jiff::tz::TimeZone::get(&config.governance.timezone)
            .map_err(|e| format!("governance.timezone: {e}"))?;
        let resolve = |field: &str, b: &Option<switchyard_policy::BudgetSpec>| {
            b.as_ref()
                .map(|b| {
                    b.resolve(&tz)
                        .map_err(|e| format!("governance.{field}.{e}"))
                })
                .transpose()
        };
        let user_budget = resolve("user_budget", &config.governance.user_budget)?;
        let end_user_budget = resolve("end_user_budget", &config.governance.end_user_budget)?;
        let default_price = config
            .pricing
            .default
            .as_ref()
            .map(|p| price_from_config("pricing.default", p))
            .transpose()?;
        let admission = Arc::new(Admission::new(
            counters,
            AdmissionConfig {
                fail_open: config.governance.fail_open,
                ..AdmissionConfig::default()
            },
        ));
        Ok(Self {
            admission,
            store,
            user_budget,
            end_user_budget,
            seeded: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(3600))
                .build(),
            prices: PriceTable::builtin(),
            unknown: config.pricing.unknown_models,
            default_price,
            capture_all: config.governance.capture_payloads,
        })
    }

    /// The price of `upstream_model` on a provider of `kind`, with the public model's override
    /// first. `Ok(None)`: unknown, and the policy is to block.
    pub fn price_for(
        &self,
        model_override: Option<&Price>,
        kind: switchyard_config::ProviderKind,
        upstream_model: &str,
    ) -> Option<Price> {
        if let Some(p) = model_override {
            return Some(*p);
        }
        if kind == switchyard_config::ProviderKind::Mock {
            return Some(Price::flat(0, 0));
        }
        if let Some(p) = self.prices.lookup(kind.as_str(), upstream_model) {
            return Some(*p);
        }
        match self.unknown {
            UnknownPrice::ChargeDefault => self.default_price,
            UnknownPrice::Block => None,
        }
    }

    /// The admit stage.
    pub async fn admit(
        &self,
        principal: &Principal,
        plan: &RoutePlan,
        peek: &Peeked<'_>,
        body: &[u8],
        headers: &HeaderMap,
        estimate_tokens: impl FnOnce(&[u8]) -> u64,
    ) -> Result<Admitted, Refused> {
        if let Some(unpriced) = plan.unpriced_target() {
            return Err(GatewayError::client(
                ErrorClass::BadRequest,
                format!(
                    "no price is known for {unpriced}: add `pricing:` to the model, or set `pricing.unknown_models: charge_default` with a default price"
                ),
            )
            .with_code("model_price_unknown")
            .into());
        }
        let mut attribution = Attribution {
            end_user: header_str(headers, &X_END_USER)
                .or_else(|| peek.user.as_deref().map(str::to_string)),
            tags: tags(headers, peek),
            ..Attribution::default()
        };
        let mut subjects: Vec<Subject> = Vec::with_capacity(4);
        if let Some(limits) = plan.limits {
            subjects.push(Subject {
                kind: SubjectKind::Model,
                id: plan.label.to_string(),
                limits,
                budget: None,
            });
        }
        let mut capture = self.capture_all;
        if let Principal::Key(info) = principal {
            let key = &info.key;
            attribution.key_id = Some(key.id.clone());
            attribution.team_id = key.team_id.clone();
            attribution.user = key.user.clone();
            if !key.models.is_empty() && !switchyard_policy::model_allowed(&key.models, &peek.model)
            {
                return Err(GatewayError::client(
                    ErrorClass::Forbidden,
                    format!("this key may not use the model `{}`", peek.model),
                )
                .with_code("model_not_allowed")
                .with_param("model")
                .into());
            }
            subjects.extend(key_subjects(info));
            capture = capture
                || key.capture_payloads
                || info
                    .team
                    .as_ref()
                    .and_then(|t| t.metadata.get("capture_payloads"))
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(false);
        }
        if let (Some(user), Some(b)) = (&attribution.user, &self.user_budget) {
            let scope = SpendScope::User(user.clone());
            subjects.push(self.budget_subject(SubjectKind::User, user, b, scope).await);
        }
        if let (Some(end_user), Some(b)) = (&attribution.end_user, &self.end_user_budget) {
            let scope = SpendScope::EndUser(end_user.clone());
            subjects.push(
                self.budget_subject(SubjectKind::EndUser, end_user, b, scope)
                    .await,
            );
        }
        if subjects.is_empty() {
            return Ok(Admitted {
                permit: None,
                attribution,
                capture,
                rate_headers: Vec::new(),
            });
        }
        // Tokens-per-minute limits count with the real tokenizer; a budget reservation only
        // needs an upper-bound estimate (bytes / 3 over-counts English text), which costs
        // nothing on the request path.
        let budgeted = subjects.iter().any(|s| s.budget.is_some());
        let prompt_tokens = if subjects.iter().any(|s| s.limits.tpm.is_some()) {
            estimate_tokens(body)
        } else if budgeted {
            (body.len() as u64).div_ceil(3)
        } else {
            0
        };
        let output_tokens = peek.max_tokens.unwrap_or(DEFAULT_RESERVED_OUTPUT_TOKENS);
        let max_cost = if budgeted {
            plan.max_cost_micros(prompt_tokens, output_tokens)
        } else {
            0
        };
        let (permit, rate_headers) = self
            .run_admission(&subjects, prompt_tokens + output_tokens, max_cost)
            .await?;
        Ok(Admitted {
            permit: Some(permit),
            attribution,
            capture,
            rate_headers,
        })
    }

    /// Seeds a user's or end user's budget counter from the ledger the first time this replica
    /// sees them (then at most hourly): one query for a new subject, none after.
    /// A budget-only subject (a user or end user under the gateway-wide budget), its counter
    /// seeded from the ledger the first time this replica sees it.
    async fn budget_subject(
        &self,
        kind: SubjectKind,
        id: &str,
        budget: &Budget,
        scope: SpendScope,
    ) -> Subject {
        let s = Subject {
            kind,
            id: id.to_string(),
            limits: Default::default(),
            budget: Some(budget.clone()),
        };
        self.seed_once(&s, scope).await;
        s
    }

    async fn seed_once(&self, subject: &Subject, scope: SpendScope) {
        let Some(budget) = &subject.budget else {
            return;
        };
        let key = format!("{}:{}", subject.kind.as_str(), subject.id);
        if self.seeded.contains_key(&key) {
            return;
        }
        self.seeded.insert(key, ());
        let now = switchyard_policy::jiff::Timestamp::now();
        let from = switchyard_policy::window_start_ms(&budget.period, &budget.tz, now);
        match self
            .store
            .spend_total(&scope, from, now.as_millisecond() + 1)
            .await
        {
            Ok(spent) => {
                let spent = u64::try_from(spent).unwrap_or(0);
                if let Err(e) = self.admission.seed_budget(subject, spent, now).await {
                    tracing::warn!(error = %e, "could not seed a budget counter");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read spend to seed a budget"),
        }
    }

    async fn run_admission(
        &self,
        subjects: &[Subject],
        tokens: u64,
        max_cost: u64,
    ) -> Result<(Permit, Vec<(&'static str, String)>), Refused> {
        match self.admission.admit(subjects, tokens, max_cost).await {
            Ok(permit) => {
                let headers = permit.headers.pairs();
                Ok((permit, headers))
            }
            Err(refusal) => Err(Refused {
                headers: refusal.headers.pairs(),
                error: refusal.error,
            }),
        }
    }
}

/// The key's and its team's limits and budgets as admission subjects (empty ones left out).
fn key_subjects(info: &KeyInfo) -> Vec<Subject> {
    let mut out = Vec::with_capacity(2);
    if !info.key_limits.is_empty() || info.key_budget.is_some() {
        out.push(Subject {
            kind: SubjectKind::Key,
            id: info.key.id.clone(),
            limits: info.key_limits,
            budget: info.key_budget.clone(),
        });
    }
    if let Some(team) = &info.team {
        if !info.team_limits.is_empty() || info.team_budget.is_some() {
            out.push(Subject {
                kind: SubjectKind::Team,
                id: team.id.clone(),
                limits: info.team_limits,
                budget: info.team_budget.clone(),
            });
        }
    }
    out
}

const X_END_USER: http::HeaderName = http::HeaderName::from_static("x-switchyard-end-user");
const X_TAGS: http::HeaderName = http::HeaderName::from_static("x-switchyard-tags");

fn header_str(headers: &HeaderMap, name: &http::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 256)
        .map(str::to_string)
}

/// Tags from `x-switchyard-tags` (comma-separated) and string values of the OpenAI `metadata`
/// field (`key:value`), at most 32, each at most 128 bytes.
fn tags(headers: &HeaderMap, peek: &Peeked<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(h) = headers.get(&X_TAGS).and_then(|v| v.to_str().ok()) {
        out.extend(
            h.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        );
    }
    if let Some(raw) = peek.metadata {
        if let Ok(map) =
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(raw.get())
        {
            for (k, v) in map {
                if let Some(s) = v.as_str() {
                    out.push(format!("{k}:{s}"));
                }
            }
        }
    }
    out.retain(|t| t.len() <= 128);
    out.truncate(32);
    out
}
