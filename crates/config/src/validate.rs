//! Semantic validation: pure checks over a deserialised config, every error with its path.

use std::collections::BTreeSet;

use crate::{err, Config, ConfigError, ProviderConfig, ProviderKind};

/// Entries present in the file that could not be read (their errors are reported already).
/// They exist: a reference to one is not "unknown".
#[derive(Debug, Default)]
pub(crate) struct Unread {
    pub providers: BTreeSet<String>,
    pub models: BTreeSet<String>,
}

pub(crate) fn validate(c: &Config, unread: &Unread, errors: &mut Vec<ConfigError>) {
    let provider_exists =
        |name: &str| c.providers.contains_key(name) || unread.providers.contains(name);
    let model_exists = |name: &str| c.models.contains_key(name) || unread.models.contains(name);
    for (name, p) in &c.providers {
        provider(&format!("providers.{name}"), p, errors);
    }
    for (name, m) in &c.models {
        let path = format!("models.{name}");
        if let Some((prefix, _)) = name.split_once('/') {
            if provider_exists(prefix) {
                errors.push(err(
                    &path,
                    format!(
                        "a model name may not start with a provider name and '/' (\"{prefix}/\"): it would hide provider/model addressing"
                    ),
                ));
            }
        }
        if m.targets.is_empty() {
            errors.push(err(
                format!("{path}.targets"),
                "at least one target is required",
            ));
        }
        for issue in m.routing().validate() {
            errors.push(err(format!("{path}.{}", issue.path), issue.message));
        }
        for (i, t) in m.targets.iter().enumerate() {
            let tp = format!("{path}.targets[{i}]");
            for issue in t.routing().validate() {
                if issue.path != "weight" {
                    errors.push(err(format!("{tp}.{}", issue.path), issue.message));
                }
            }
            if !provider_exists(&t.provider) {
                errors.push(err(
                    format!("{tp}.provider"),
                    format!("unknown provider \"{}\"", t.provider),
                ));
            }
            // Connections are pooled per provider, so a per-target connect timeout could not
            // apply: refuse it rather than ignore it.
            if t.timeouts.as_ref().is_some_and(|o| o.connect_ms.is_some()) {
                errors.push(err(
                    format!("{tp}.timeouts.connect_ms"),
                    format!(
                        "connect_ms is a provider setting (connections are pooled per provider): set it in providers.{}.timeouts",
                        t.provider
                    ),
                ));
            }
            if t.model.is_empty() {
                errors.push(err(format!("{tp}.model"), "must not be empty"));
            }
            if t.weight == 0 {
                errors.push(err(format!("{tp}.weight"), "must be at least 1"));
            }
        }
        for (field, list) in [
            ("fallbacks", &m.fallbacks),
            ("context_window_fallbacks", &m.context_window_fallbacks),
            ("content_policy_fallbacks", &m.content_policy_fallbacks),
        ] {
            for (i, f) in list.iter().enumerate() {
                let fp = format!("{path}.{field}[{i}]");
                if f == name {
                    errors.push(err(fp, "a model cannot fall back to itself"));
                } else if !model_exists(f) {
                    errors.push(err(fp, format!("unknown model \"{f}\"")));
                }
            }
        }
        if m.stream_keepalive_ms == Some(0) {
            errors.push(err(
                format!("{path}.stream_keepalive_ms"),
                "must be positive",
            ));
        }
        if let Some(p) = &m.pricing {
            let prices = [
                ("input", Some(p.input)),
                ("output", Some(p.output)),
                ("cached_input", p.cached_input),
                ("cache_write", p.cache_write),
            ];
            for (field, v) in prices {
                if let Some(v) = v {
                    if !v.is_finite() || v < 0.0 {
                        errors.push(err(
                            format!("{path}.pricing.{field}"),
                            "must be a non-negative number of USD per million tokens",
                        ));
                    }
                }
            }
        }
    }
    if !(c.database.starts_with("sqlite:")
        || c.database.starts_with("postgres://")
        || c.database.starts_with("postgresql://"))
    {
        errors.push(err("database", "must be a sqlite:// or postgres:// URL"));
    }
    if let Some(r) = &c.redis {
        if !(r.starts_with("redis://") || r.starts_with("rediss://")) {
            errors.push(err("redis", "must be a redis:// or rediss:// URL"));
        }
    }
    if c.pricing.unknown_models == crate::UnknownPrice::ChargeDefault && c.pricing.default.is_none()
    {
        errors.push(err(
            "pricing.default",
            "is required when unknown_models is charge_default",
        ));
    }
    if let Some(u) = &c.governance.alert_webhook {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            errors.push(err("governance.alert_webhook", "must be an http(s) URL"));
        }
    }
    if jiff::tz::TimeZone::get(&c.governance.timezone).is_err() {
        errors.push(err(
            "governance.timezone",
            format!("unknown IANA time zone \"{}\"", c.governance.timezone),
        ));
    }
    if let Ok(tz) = jiff::tz::TimeZone::get(&c.governance.timezone) {
        for (field, b) in [
            ("user_budget", &c.governance.user_budget),
            ("end_user_budget", &c.governance.end_user_budget),
        ] {
            if let Some(Err(e)) = b.as_ref().map(|b| b.resolve(&tz)) {
                errors.push(err(format!("governance.{field}.{}", e.field), e.message));
            }
        }
    }
    if c.governance.key_cache_ttl_ms == 0 {
        errors.push(err("governance.key_cache_ttl_ms", "must be positive"));
    }
    if c.server.max_body_bytes == 0 {
        errors.push(err("server.max_body_bytes", "must be positive"));
    }
}

fn provider(path: &str, p: &ProviderConfig, errors: &mut Vec<ConfigError>) {
    if let Some(u) = &p.base_url {
        match url::Url::parse(u) {
            Ok(parsed)
                if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {}
            _ => errors.push(err(
                format!("{path}.base_url"),
                format!("\"{u}\" is not an http(s) URL"),
            )),
        }
    }
    for (k, v) in &p.headers {
        if http_header_name_invalid(k) {
            errors.push(err(format!("{path}.headers.{k}"), "invalid header name"));
        }
        if v.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            errors.push(err(format!("{path}.headers.{k}"), "invalid header value"));
        }
    }
    if let Some(m) = &p.mock {
        if !(0.0..=1.0).contains(&m.failure_rate) {
            errors.push(err(
                format!("{path}.mock.failure_rate"),
                "must be between 0 and 1",
            ));
        }
        if !(400..=599).contains(&m.failure_status) {
            errors.push(err(
                format!("{path}.mock.failure_status"),
                "must be an HTTP error status (400-599)",
            ));
        }
    }
    if p.default_max_tokens == Some(0) {
        errors.push(err(
            format!("{path}.default_max_tokens"),
            "must be positive",
        ));
    }
    let Some(kind) = p.kind else {
        errors.push(err(
            format!("{path}.kind"),
            "is required (openai | azure_openai | anthropic | gemini | vertex | bedrock | cohere | mistral | openai_compatible | mock)",
        ));
        return;
    };
    let has_key = p.api_key.as_ref().is_some_and(|k| !k.expose().is_empty());
    let need = |field: &str, present: bool, errors: &mut Vec<ConfigError>| {
        if !present {
            errors.push(err(
                format!("{path}.{field}"),
                format!("is required for kind {}", kind.as_str()),
            ));
        }
    };
    match kind {
        ProviderKind::Openai
        | ProviderKind::Anthropic
        | ProviderKind::Gemini
        | ProviderKind::Cohere
        | ProviderKind::Mistral => need("api_key", has_key, errors),
        ProviderKind::AzureOpenai => {
            need("base_url", p.base_url.is_some(), errors);
            need("api_key", has_key || p.azure_ad_token.is_some(), errors);
        }
        ProviderKind::OpenaiCompatible => need("base_url", p.base_url.is_some(), errors),
        ProviderKind::Vertex => {
            need("project", p.project.is_some(), errors);
            need(
                "credentials_file",
                p.credentials_file.is_some() || p.access_token.is_some(),
                errors,
            );
        }
        ProviderKind::Bedrock => {
            let region = p.region.is_some()
                || std::env::var("AWS_REGION").is_ok()
                || std::env::var("AWS_DEFAULT_REGION").is_ok();
            need("region", region, errors);
            if p.access_key_id.is_some() != p.secret_access_key.is_some() {
                errors.push(err(
                    format!("{path}.secret_access_key"),
                    "access_key_id and secret_access_key go together",
                ));
            }
        }
        ProviderKind::Mock => {}
    }
    if kind != ProviderKind::Mock && p.mock.is_some() {
        errors.push(err(format!("{path}.mock"), "only applies to kind mock"));
    }
}

fn http_header_name_invalid(name: &str) -> bool {
    name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
