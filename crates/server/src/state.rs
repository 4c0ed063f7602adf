//! Everything built from a validated config and shared by every request: providers with their
//! adapters and transports, public models, metrics. Built once, before the port is bound;
//! nothing here is looked up by string matching on the provider kind at request time.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use switchyard_config::{Config, GovernanceSettings, ProviderConfig, ProviderKind};
use switchyard_policy::jiff::tz::TimeZone;
use switchyard_pricing::Price;
use switchyard_providers::anthropic::AnthropicAdapter;
use switchyard_providers::client::HttpClient;
use switchyard_providers::openai::{OpenAiAdapter, OpenAiFlavor};
use switchyard_providers::ChatAdapter;
use switchyard_routing::{
    Executor, Fallbacks, Group, LatencyKind, Plan, RoutingSettings, TargetSettings,
};
use switchyard_store::Store;
use switchyard_telemetry::{Label, Metrics, ServedHandles};
use switchyard_types::{ErrorClass, GatewayError, Secret};

use crate::governance::{price_from_config, Governance};
use crate::keys::KeyCache;
use crate::ledger::{Alerts, Ledger};
use crate::mock::MockProvider;
use crate::transport::{Timeouts, Transport};

/// The wire format a provider speaks, which decides whether a client's request can take the
/// same-dialect fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// OpenAI Chat Completions (openai, azure_openai, openai_compatible, mock).
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
    /// Anything else: always translated.
    Other,
}

pub struct ProviderRuntime {
    pub name: String,
    /// `name` as a metric label.
    pub label: Label,
    /// `name` as the `x-switchyard-provider` response header, built once.
    pub header: Option<http::HeaderValue>,
    pub kind: ProviderKind,
    pub wire: Wire,
    pub transport: Transport,
    pub timeouts: Timeouts,
    /// Translator between canonical and this provider's wire format.
    pub adapter: Arc<dyn ChatAdapter>,
    /// For OpenAI-wire providers: URLs and auth headers for the fast path.
    pub openai: Option<Arc<OpenAiAdapter>>,
    /// For Anthropic providers: URL and headers for the Anthropic pass-through.
    pub anthropic: Option<Arc<AnthropicAdapter>>,
}

/// One way to serve a public model.
#[derive(Clone)]
pub struct Target {
    pub provider: Arc<ProviderRuntime>,
    pub upstream_model: String,
    /// What a request served here costs; `None`: unknown and blocked by policy.
    pub price: Option<Price>,
    /// The provider's timeouts with this target's overrides applied.
    pub timeouts: Timeouts,
    /// `upstream_model` as the `x-switchyard-model` response header (`None`: not a valid
    /// header value, left out), built once.
    pub model_header: Option<http::HeaderValue>,
    /// The metric series a request for the target's own model served here updates, kept
    /// (targets of configured models; `None` for `provider/model` addressing).
    pub served: Option<Arc<ServedHandles>>,
}

impl Target {
    pub fn new(
        provider: Arc<ProviderRuntime>,
        upstream_model: String,
        price: Option<Price>,
        timeouts: Timeouts,
    ) -> Self {
        Self {
            model_header: http::HeaderValue::from_str(&upstream_model).ok(),
            served: None,
            provider,
            upstream_model,
            price,
            timeouts,
        }
    }
}

/// A public model: its routing group (live target state) and the targets it routes over, with
/// the same indexes.
pub struct ModelRuntime {
    pub name: String,
    pub group: Arc<Group>,
    pub targets: Vec<Target>,
}

/// Everything needed to route a request for one public model: its plan (the model and its
/// fallback models) and, for each group of the plan, the targets behind its indexes.
pub struct RoutePlan {
    /// The metric label: the public name, or `provider/*` for direct addressing (bounded).
    pub label: Label,
    /// Limits on all traffic to this model (`models.NAME.limits`).
    pub limits: Option<switchyard_policy::Limits>,
    /// SSE keep-alive interval while a stream waits for its first event (opt-in).
    pub keepalive: Option<Duration>,
    pub total: Plan,
    /// The same plan measuring time to first token (streams).
    pub stream: Plan,
    /// `models[i]` serves `plan.groups()[i]`.
    pub models: Vec<Arc<ModelRuntime>>,
}

impl RoutePlan {
    pub fn target(&self, group: usize, target: usize) -> Option<&Target> {
        self.models.get(group)?.targets.get(target)
    }

    /// A target of the requested model with no known price (blocked by policy), named.
    pub fn unpriced_target(&self) -> Option<String> {
        let m = self.models.first()?;
        m.targets
            .iter()
            .find(|t| t.price.is_none())
            .map(|t| format!("{}/{}", t.provider.name, t.upstream_model))
    }

    /// The most a request of this size can cost on any target of the plan (fallbacks
    /// included): what a budget reserves.
    pub fn max_cost_micros(&self, prompt_tokens: u64, output_tokens: u64) -> u64 {
        let usage = switchyard_types::Usage {
            prompt_tokens,
            completion_tokens: output_tokens,
            ..Default::default()
        };
        self.models
            .iter()
            .flat_map(|m| m.targets.iter())
            .filter_map(|t| t.price.as_ref())
            .map(|p| switchyard_pricing::cost_micros(p, &usage))
            .max()
            .unwrap_or(0)
    }

    fn build(
        label: String,
        primary: Arc<ModelRuntime>,
        fallbacks: &Fallbacks,
        models: &HashMap<String, Arc<ModelRuntime>>,
    ) -> Self {
        let total = Plan::with_fallbacks(primary.group.clone(), fallbacks, |name| {
            models.get(name).map(|m| m.group.clone())
        });
        let by_group: Vec<Arc<ModelRuntime>> = total
            .groups()
            .iter()
            .map(|g| {
                models
                    .values()
                    .find(|m| Arc::ptr_eq(&m.group, g))
                    .cloned()
                    .unwrap_or_else(|| primary.clone())
            })
            .collect();
        let stream = total.clone().latency_kind(LatencyKind::FirstToken);
        Self {
            label: label.into(),
            limits: None,
            keepalive: None,
            total,
            stream,
            models: by_group,
        }
    }

    /// A one-target plan for `provider/model` addressing (no fallbacks; breaker state is not
    /// kept between such requests).
    pub fn direct(target: Target) -> Self {
        let label = format!("{}/*", target.provider.name);
        let group = Arc::new(Group::new(
            label.clone(),
            RoutingSettings::default(),
            [(
                format!("{}/{}", target.provider.name, target.upstream_model),
                TargetSettings::default(),
            )],
        ));
        let model = Arc::new(ModelRuntime {
            name: label.clone(),
            group,
            targets: vec![target],
        });
        Self::build(label, model, &Fallbacks::default(), &HashMap::new())
    }
}

pub struct AppState {
    pub master_key: Option<Secret<String>>,
    /// Keys, teams, ledger, request log, audit log.
    pub store: Arc<dyn Store>,
    /// Admission (limits, budgets) and prices.
    pub governance: Governance,
    /// Spend ledger and request log writer (off the request path).
    pub ledger: Ledger,
    /// Virtual keys on the request path (no SQL per admitted request).
    pub keys: KeyCache,
    pub settings: GovernanceSettings,
    /// The time zone of calendar budget windows.
    pub tz: TimeZone,
    pub providers: HashMap<String, Arc<ProviderRuntime>>,
    /// Public model name -> its route plan.
    pub models: HashMap<String, Arc<RoutePlan>>,
    pub executor: Executor,
    /// Every declared model's runtime, by name (health and metrics read target state here).
    pub runtimes: Vec<Arc<ModelRuntime>>,
    pub model_names: Vec<String>,
    pub metrics: Metrics,
    pub max_body_bytes: usize,
    pub client: HttpClient,
    pub draining: AtomicBool,
}

impl AppState {
    pub async fn build(config: &Config, store: Arc<dyn Store>) -> Result<Self, String> {
        let counters: Arc<dyn switchyard_policy::Counters> = match &config.redis {
            Some(url) => Arc::new(
                switchyard_policy::RedisCounters::connect(url)
                    .await
                    .map_err(|e| format!("redis: {e}"))?,
            ),
            None => Arc::new(switchyard_policy::MemoryCounters::new()),
        };
        let governance = Governance::new(config, counters, store.clone())?;
        let tz = TimeZone::get(&config.governance.timezone)
            .map_err(|e| format!("governance.timezone: {e}"))?;
        let keys = KeyCache::new(
            store.clone(),
            governance.admission.clone(),
            Duration::from_millis(config.governance.key_cache_ttl_ms),
            tz.clone(),
        );
        // One pooled client per distinct connect timeout (usually just one).
        let mut clients: HashMap<Duration, HttpClient> = HashMap::new();
        let default_client = HttpClient::new(Duration::from_secs(5))?;
        clients.insert(Duration::from_secs(5), default_client.clone());
        let mut providers = HashMap::new();
        for (name, pc) in &config.providers {
            let connect = Timeouts::from_config(&pc.timeouts).connect;
            let client = match clients.get(&connect) {
                Some(c) => c.clone(),
                None => {
                    let c = HttpClient::new(connect)?;
                    clients.insert(connect, c.clone());
                    c
                }
            };
            let rt =
                build_provider(name, pc, &client).map_err(|e| format!("providers.{name}: {e}"))?;
            providers.insert(name.clone(), Arc::new(rt));
        }
        let mut runtimes: HashMap<String, Arc<ModelRuntime>> = HashMap::new();
        for (name, mc) in &config.models {
            let mut targets = Vec::new();
            let mut settings = Vec::new();
            let model_price = mc
                .pricing
                .as_ref()
                .map(|p| price_from_config(&format!("models.{name}.pricing"), p))
                .transpose()?;
            for t in &mc.targets {
                let provider = providers
                    .get(&t.provider)
                    .cloned()
                    .ok_or_else(|| format!("models.{name}: unknown provider {}", t.provider))?;
                let timeouts = match &t.timeouts {
                    Some(o) => provider.timeouts.overridden(o),
                    None => provider.timeouts,
                };
                let price = governance.price_for(model_price.as_ref(), provider.kind, &t.model);
                if price.is_none() {
                    tracing::warn!(
                        model = %name,
                        target = %format!("{}/{}", t.provider, t.model),
                        "no price known for this target: requests to the model are refused (set `pricing:` on the model or `pricing.unknown_models`)"
                    );
                }
                let mut routing = t.routing();
                routing.cost_per_mtok = price.map(|p| (p.input + p.output) as f64 / 2e6);
                settings.push((format!("{}/{}", t.provider, t.model), routing));
                let handles =
                    ServedHandles::new(Label::from(name.as_str()), provider.label.clone());
                let mut target = Target::new(provider, t.model.clone(), price, timeouts);
                target.served = Some(Arc::new(handles));
                targets.push(target);
            }
            let group = Arc::new(Group::new(name.clone(), mc.routing(), settings));
            runtimes.insert(
                name.clone(),
                Arc::new(ModelRuntime {
                    name: name.clone(),
                    group,
                    targets,
                }),
            );
        }
        let mut models = HashMap::new();
        for (name, mc) in &config.models {
            let Some(primary) = runtimes.get(name).cloned() else {
                continue;
            };
            let fallbacks = Fallbacks {
                general: mc.fallbacks.clone(),
                context_window: mc.context_window_fallbacks.clone(),
                content_policy: mc.content_policy_fallbacks.clone(),
            };
            let mut plan = RoutePlan::build(name.clone(), primary, &fallbacks, &runtimes);
            plan.limits = mc.limits.filter(|l| !l.is_empty());
            if plan.limits.is_some_and(|l| l.tpm.is_some()) {
                switchyard_policy::warm_up_in_background();
            }
            plan.keepalive = mc.stream_keepalive_ms.map(Duration::from_millis);
            models.insert(name.clone(), Arc::new(plan));
        }
        let mut runtime_list: Vec<Arc<ModelRuntime>> = runtimes.into_values().collect();
        runtime_list.sort_by(|a, b| a.name.cmp(&b.name));
        let metrics = Metrics::new();
        let alerts = config.governance.alert_webhook.as_ref().map(|url| Alerts {
            client: default_client.clone(),
            url: url.clone(),
        });
        let ledger = Ledger::start(
            store.clone(),
            config.governance.ledger_queue,
            alerts,
            config.governance.log_retention_days,
            metrics.ledger_dropped.clone(),
            metrics.ledger_written.clone(),
        );
        let mut model_names: Vec<String> = models.keys().cloned().collect();
        model_names.sort();
        Ok(Self {
            master_key: config.master_key.clone(),
            store,
            keys,
            settings: config.governance.clone(),
            governance,
            ledger,
            tz,
            providers,
            models,
            model_names,
            metrics,
            executor: Executor::new(),
            runtimes: runtime_list,
            max_body_bytes: config.server.max_body_bytes,
            client: default_client,
            draining: AtomicBool::new(false),
        })
    }

    /// Resolves a client's model name: a declared model first, then `provider/model`.
    pub fn resolve(&self, model: &str) -> Result<Arc<RoutePlan>, GatewayError> {
        if let Some(m) = self.models.get(model) {
            return Ok(m.clone());
        }
        if let Some((prefix, upstream)) = model.split_once('/') {
            if let Some(p) = self.providers.get(prefix) {
                if !upstream.is_empty() {
                    return Ok(Arc::new(RoutePlan::direct(Target::new(
                        p.clone(),
                        upstream.to_string(),
                        self.governance.price_for(None, p.kind, upstream),
                        p.timeouts,
                    ))));
                }
            }
        }
        Err(GatewayError::client(
            ErrorClass::NotFound,
            format!("The model `{model}` does not exist or you do not have access to it."),
        )
        .with_param("model"))
    }
}

fn build_provider(
    name: &str,
    pc: &ProviderConfig,
    client: &HttpClient,
) -> Result<ProviderRuntime, String> {
    use switchyard_providers as p;
    let kind = pc.kind();
    let timeouts = Timeouts::from_config(&pc.timeouts);
    let mut transport = Transport::Http(client.clone());
    let mut openai = None;
    let mut anthropic = None;
    let (wire, adapter): (Wire, Arc<dyn ChatAdapter>) = match kind {
        ProviderKind::Openai | ProviderKind::AzureOpenai | ProviderKind::OpenaiCompatible => {
            let flavor = match kind {
                ProviderKind::Openai => OpenAiFlavor::OpenAi,
                ProviderKind::AzureOpenai => OpenAiFlavor::Azure,
                _ => OpenAiFlavor::Compatible,
            };
            let a = Arc::new(OpenAiAdapter::new(pc, flavor)?);
            openai = Some(a.clone());
            (Wire::OpenAi, a)
        }
        ProviderKind::Mock => {
            let mut cfg = pc.clone();
            cfg.base_url = Some("http://mock.invalid/v1".into());
            let a = Arc::new(OpenAiAdapter::new(&cfg, OpenAiFlavor::Compatible)?);
            openai = Some(a.clone());
            transport = Transport::Mock(Arc::new(MockProvider::new(
                pc.mock.clone().unwrap_or_default(),
            )));
            (Wire::OpenAi, a)
        }
        ProviderKind::Anthropic => {
            let a = Arc::new(AnthropicAdapter::new(pc)?);
            anthropic = Some(a.clone());
            (Wire::Anthropic, a)
        }
        ProviderKind::Gemini => (Wire::Other, Arc::new(p::gemini::GeminiAdapter::new(pc)?)),
        ProviderKind::Vertex => (
            Wire::Other,
            Arc::new(p::vertex::VertexAdapter::new(pc, client.clone())?),
        ),
        ProviderKind::Bedrock => (Wire::Other, Arc::new(p::bedrock::BedrockAdapter::new(pc)?)),
        ProviderKind::Cohere => (Wire::Other, Arc::new(p::cohere::CohereAdapter::new(pc)?)),
        ProviderKind::Mistral => (Wire::Other, Arc::new(p::mistral::MistralAdapter::new(pc)?)),
    };
    Ok(ProviderRuntime {
        name: name.to_string(),
        label: name.into(),
        header: http::HeaderValue::from_str(name).ok(),
        kind,
        wire,
        transport,
        timeouts,
        adapter,
        openai,
        anthropic,
    })
}
