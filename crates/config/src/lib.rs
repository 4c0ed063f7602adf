//! Configuration. `load` = read YAML (duplicate keys recorded, the first definition kept) ->
//! substitute `${VAR}` -> deserialize section by section -> `validate` (pure, every error with
//! its field path). Nothing is built or bound before validation passes.
//!
//! Unknown fields are errors. Instead of serde's `deny_unknown_fields`, which stops at the first
//! one, every unknown field is collected with `serde_ignored` so `switchyard check` reports all
//! of them at once. Likewise every field of the wrong type is reported (see `Reader::section`),
//! and a duplicate key is reported with the rest rather than failing the parse alone.

pub mod defaults;
pub mod env;
pub mod model;
pub mod provider;
mod validate;
mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_yaml::Value;
use switchyard_types::Secret;

pub use model::*;
pub use provider::*;

/// Gateway-wide HTTP settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerSettings {
    /// Largest accepted request body. Default 32 MiB.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// How long in-flight requests and streams may run after SIGTERM/SIGINT. Default 30 000.
    #[serde(default = "default_grace")]
    pub shutdown_grace_ms: u64,
}

fn default_max_body() -> usize {
    32 * 1024 * 1024
}
fn default_grace() -> u64 {
    30_000
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: default_max_body(),
            shutdown_grace_ms: default_grace(),
        }
    }
}

/// Keys, budgets, ledger and request log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GovernanceSettings {
    /// IANA time zone of calendar budget windows (daily/weekly/monthly). Default `UTC`.
    #[serde(default = "default_tz")]
    pub timezone: String,
    /// How long a replica trusts a cached virtual key: the bound on how long a key revoked on
    /// another replica keeps working here. Default 10 000.
    #[serde(default = "default_key_ttl")]
    pub key_cache_ttl_ms: u64,
    /// Soft-budget alerts are POSTed here as JSON (with retries).
    #[serde(default)]
    pub alert_webhook: Option<String>,
    /// Record every request in the request log (`/admin/logs`). The spend ledger is written
    /// either way. Default true.
    #[serde(default = "yes")]
    pub request_log: bool,
    /// Request-log rows older than this are pruned (0 keeps them forever). Default 30.
    #[serde(default = "default_retention")]
    pub log_retention_days: u32,
    /// Capture request and response bodies in the request log for every key (keys and teams can
    /// switch it on individually too). Default false.
    #[serde(default)]
    pub capture_payloads: bool,
    /// Most ledger/log records waiting for the background writer; past it, records are dropped
    /// and counted in `switchyard_ledger_dropped_total`. Default 10 000.
    #[serde(default = "default_queue")]
    pub ledger_queue: usize,
    /// When the counter store (Redis) fails: admit without the check (true) or refuse with 503
    /// (false, default).
    #[serde(default)]
    pub fail_open: bool,
    /// A budget for each user (a key's `user`), shared by all of that user's keys.
    #[serde(default)]
    pub user_budget: Option<switchyard_policy::BudgetSpec>,
    /// A budget for each end user or agent session, named by the `x-switchyard-end-user`
    /// request header (else the OpenAI `user` field).
    #[serde(default)]
    pub end_user_budget: Option<switchyard_policy::BudgetSpec>,
}

fn yes() -> bool {
    true
}
fn default_tz() -> String {
    "UTC".into()
}
fn default_key_ttl() -> u64 {
    10_000
}
fn default_retention() -> u32 {
    30
}
fn default_queue() -> usize {
    10_000
}

impl Default for GovernanceSettings {
    fn default() -> Self {
        Self {
            timezone: default_tz(),
            key_cache_ttl_ms: default_key_ttl(),
            alert_webhook: None,
            request_log: true,
            log_retention_days: default_retention(),
            capture_payloads: false,
            ledger_queue: default_queue(),
            fail_open: false,
            user_budget: None,
            end_user_budget: None,
        }
    }
}

/// What to do with a model the price table does not know.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownPrice {
    /// Refuse requests to it (a budget cannot hold what cannot be priced). Default.
    #[default]
    Block,
    /// Charge `pricing.default`.
    ChargeDefault,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PricingSettings {
    #[serde(default)]
    pub unknown_models: UnknownPrice,
    /// USD per million tokens for unknown models when `unknown_models: charge_default`.
    #[serde(default)]
    pub default: Option<PricingOverride>,
}

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub listen: SocketAddr,
    pub master_key: Option<Secret<String>>,
    pub database: String,
    pub redis: Option<String>,
    pub server: ServerSettings,
    pub governance: GovernanceSettings,
    pub pricing: PricingSettings,
    pub providers: BTreeMap<String, ProviderConfig>,
    pub models: BTreeMap<String, ModelConfig>,
}

/// One configuration problem, with the path of the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

pub(crate) fn err(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        path: path.into(),
        message: message.into(),
    }
}

/// Reads and validates a file. Every problem found is returned at once.
pub fn load_file(path: &Path) -> Result<Config, Vec<ConfigError>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![err("", format!("cannot read {}: {e}", path.display()))])?;
    load_str(&text, &|name| std::env::var(name).ok())
}

/// Parses and validates YAML text, taking `${VAR}` values from `lookup`.
pub fn load_str(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Vec<ConfigError>> {
    let (mut doc, duplicates) = yaml::parse(text).map_err(|e| vec![err("", yaml_error(&e))])?;
    if doc.is_null() {
        doc = Value::Mapping(Default::default());
    }
    let mut r = Reader::default();
    for d in &duplicates {
        r.errors.push(err(&d.path, d.message()));
    }
    let mut unset = Vec::new();
    env::substitute(&mut doc, "", lookup, &mut unset);
    for (path, var) in unset {
        r.errors.push(err(
            path,
            format!("environment variable {var} is referenced but not set"),
        ));
    }
    let Value::Mapping(top) = doc else {
        r.errors
            .push(err("", "the configuration must be a mapping"));
        return Err(r.errors);
    };

    let mut listen: Option<String> = None;
    let mut master_key: Option<String> = None;
    let mut database: Option<String> = None;
    let mut redis: Option<String> = None;
    let mut server = ServerSettings::default();
    let mut governance = GovernanceSettings::default();
    let mut pricing = PricingSettings::default();
    let mut providers = BTreeMap::new();
    let mut models = BTreeMap::new();
    let mut unread = validate::Unread::default();
    for (k, v) in top {
        let Some(key) = k.as_str().map(str::to_string) else {
            r.errors.push(err("", "top-level keys must be strings"));
            continue;
        };
        match key.as_str() {
            "listen" => listen = r.section(v, &key),
            "master_key" => master_key = r.section(v, &key),
            "database" => database = r.section(v, &key),
            "redis" => redis = r.section::<Option<String>>(v, &key).flatten(),
            "server" => {
                if let Some(s) = r.section(v, &key) {
                    server = s;
                }
            }
            "governance" => {
                if let Some(g) = r.section(v, &key) {
                    governance = g;
                }
            }
            "pricing" => {
                if let Some(p) = r.section(v, &key) {
                    pricing = p;
                }
            }
            "providers" => providers = r.named_entries(v, "providers", &mut unread.providers),
            "models" => models = r.named_entries(v, "models", &mut unread.models),
            other => r.errors.push(err(other, "unknown field")),
        }
    }

    let listen_str = listen.unwrap_or_else(|| defaults::LISTEN.to_string());
    let listen_addr = match listen_str.parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            r.errors.push(err(
                "listen",
                format!("\"{listen_str}\" is not an address:port (e.g. 127.0.0.1:4000)"),
            ));
            None
        }
    };
    let config = Config {
        listen: listen_addr.unwrap_or(defaults::listen_addr()),
        master_key: master_key.filter(|k| !k.is_empty()).map(Secret::new),
        database: database.unwrap_or_else(|| defaults::DATABASE.to_string()),
        redis: redis.filter(|r| !r.is_empty()),
        server,
        governance,
        pricing,
        providers,
        models,
    };
    let mut semantic = Vec::new();
    validate::validate(&config, &unread, &mut semantic);
    // A value that was rejected for its type has been reported; what validation says about the
    // default that replaced it would only mislead.
    semantic.retain(|e| !r.rejected.iter().any(|p| is_within(&e.path, p)));
    r.errors.extend(semantic);
    if r.errors.is_empty() {
        Ok(config)
    } else {
        Err(r.errors)
    }
}

fn yaml_error(e: &serde_yaml::Error) -> String {
    match e.location() {
        Some(loc) => format!(
            "invalid YAML at line {}, column {}: {e}",
            loc.line(),
            loc.column()
        ),
        None => format!("invalid YAML: {e}"),
    }
}

/// `path` is `ancestor` or lies inside it (`a.b` and `a.b[0]` are within `a.b`; `a.bc` is not).
fn is_within(path: &str, ancestor: &str) -> bool {
    path.strip_prefix(ancestor)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// Deserialises the raw document section by section, collecting every problem.
#[derive(Default)]
struct Reader {
    errors: Vec<ConfigError>,
    /// Paths of values rejected for their type (and dropped, so a default took their place).
    rejected: Vec<String>,
}

impl Reader {
    /// Deserialises one section, reporting every unknown field and every field of the wrong
    /// type, each with its full path.
    ///
    /// serde stops at the first type error, so the section is read again without the field at
    /// fault (its default takes its place) until it reads cleanly. A bad item of a list drops the
    /// whole list (dropping only the item would shift the indices of later errors). A dropped
    /// field that was required drops what holds it, silently. When nothing is left to drop (the
    /// section itself has the wrong type or lacks a required field), the section is given up
    /// (`None`) once its errors are reported.
    fn section<T: DeserializeOwned>(&mut self, mut v: Value, path: &str) -> Option<T> {
        let mut unknown: Vec<String> = Vec::new();
        // Fields dropped so far, as (path of the mapping within the section, key).
        let mut dropped: Vec<(String, String)> = Vec::new();
        let result = loop {
            let mut track = serde_path_to_error::Track::new();
            let result: Result<T, _> = {
                let de = serde_path_to_error::Deserializer::new(v.clone(), &mut track);
                serde_ignored::deserialize(de, |p| {
                    let p = bracket_indices(&p.to_string());
                    if !unknown.contains(&p) {
                        unknown.push(p);
                    }
                })
            };
            let e = match result {
                Ok(t) => break Some(t),
                Err(e) => e,
            };
            let at = track.path();
            let inner = dotted(&at);
            let message = e.to_string();
            // A dropped field was required: that is not news, but what holds it must go too.
            let consequence = dropped.iter().any(|(m, key)| {
                *m == inner && message.starts_with(&format!("missing field `{key}`"))
            });
            if !consequence {
                self.errors.push(err(join(path, &inner), message));
            }
            match drop_field(&mut v, &at) {
                Some((map_path, key)) => {
                    self.rejected.push(join(path, &join(&map_path, &key)));
                    dropped.push((map_path, key));
                }
                None => break None,
            }
        };
        for u in unknown {
            self.errors.push(err(join(path, &u), "unknown field"));
        }
        result
    }

    /// Deserialises a `name -> entry` mapping entry by entry, so an error in one entry does not
    /// hide the errors of the others. The names of entries that could not be read at all go to
    /// `unread`, so that references to them are not reported as unknown.
    fn named_entries<T: DeserializeOwned>(
        &mut self,
        v: Value,
        path: &str,
        unread: &mut BTreeSet<String>,
    ) -> BTreeMap<String, T> {
        let mut out = BTreeMap::new();
        let map = match v {
            Value::Mapping(m) => m,
            Value::Null => return out,
            _ => {
                self.errors
                    .push(err(path, "must be a mapping of names to entries"));
                return out;
            }
        };
        for (k, v) in map {
            let Some(name) = k.as_str().map(str::to_string) else {
                self.errors.push(err(path, "names must be strings"));
                continue;
            };
            let entry_path = format!("{path}.{name}");
            if name.is_empty() {
                self.errors.push(err(entry_path, "name must not be empty"));
                continue;
            }
            match self.section(v, &entry_path) {
                Some(t) => {
                    out.insert(name, t);
                }
                None => {
                    unread.insert(name);
                }
            }
        }
        out
    }
}

/// A serde path in the form the errors use: `targets[1].weight`.
fn dotted(path: &serde_path_to_error::Path) -> String {
    let s = path.to_string();
    if s == "." {
        String::new()
    } else {
        bracket_indices(&s)
    }
}

/// Removes the field at `at` (or, inside a list, the field holding the list) from `v`. Returns
/// the path of the mapping it was in and its key, or `None` when there is no such field (the
/// error concerns the whole value, or a path this cannot follow).
fn drop_field(v: &mut Value, at: &serde_path_to_error::Path) -> Option<(String, String)> {
    use serde_path_to_error::Segment;
    let mut segments: Vec<&Segment> = at.iter().collect();
    while matches!(segments.last(), Some(Segment::Seq { .. })) {
        segments.pop();
    }
    let (Segment::Map { key }, parents) = segments.split_last()? else {
        return None;
    };
    let mut node = v;
    let mut map_path = String::new();
    for seg in parents {
        node = untagged(node);
        match seg {
            Segment::Map { key } => {
                map_path = join(&map_path, key);
                node = node.as_mapping_mut()?.get_mut(key.as_str())?;
            }
            Segment::Seq { index } => {
                map_path = format!("{map_path}[{index}]");
                node = node.as_sequence_mut()?.get_mut(*index)?;
            }
            Segment::Enum { .. } | Segment::Unknown => return None,
        }
    }
    untagged(node).as_mapping_mut()?.remove(key.as_str())?;
    Some((map_path, key.clone()))
}

fn untagged(mut v: &mut Value) -> &mut Value {
    while let Value::Tagged(t) = v {
        v = &mut t.value;
    }
    v
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ if b.starts_with('[') => format!("{a}{b}"),
        _ => format!("{a}.{b}"),
    }
}

/// `targets.1.weight` -> `targets[1].weight`, the form the rest of the errors use.
fn bracket_indices(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 4);
    for (i, seg) in path.split('.').enumerate() {
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(seg);
            out.push(']');
        } else {
            if i > 0 {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}

/// Where the configuration comes from when `--config` is not given.
pub fn default_path() -> Option<&'static Path> {
    let p = Path::new("switchyard.yaml");
    p.exists().then_some(p)
}

#[cfg(test)]
mod tests;
