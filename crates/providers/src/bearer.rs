//! What a provider reached with one bearer key is built from (Cohere, Mistral): its base URL,
//! key (from config or the environment), extra headers, and parameter policy — and the one way
//! such a request is posted.

use http::HeaderName;
use switchyard_config::{ProviderConfig, ProviderKind, UnsupportedParams};
use switchyard_types::{GatewayError, Secret};

use crate::WireRequest;

pub(crate) struct BearerEndpoint {
    provider: &'static str,
    pub(crate) base: String,
    api_key: Secret<String>,
    pub(crate) policy: UnsupportedParams,
    pub(crate) default_max_tokens: Option<u32>,
    extra_headers: Vec<(HeaderName, String)>,
}

/// Extra header values may hold credentials: only their names are shown.
impl std::fmt::Debug for BearerEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.extra_headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("BearerEndpoint")
            .field("provider", &self.provider)
            .field("base", &self.base)
            .field("api_key", &self.api_key)
            .field("policy", &self.policy)
            .field("default_max_tokens", &self.default_max_tokens)
            .field("extra_headers", &names)
            .finish()
    }
}

impl BearerEndpoint {
    /// The key comes from `api_key`, else from the first of `env_vars` that `env` has.
    pub(crate) fn from_config(
        provider: &'static str,
        kind: ProviderKind,
        env_vars: &[&str],
        cfg: &ProviderConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let api_key = cfg
            .api_key
            .clone()
            .or_else(|| env_vars.iter().find_map(|v| env(v)).map(Secret::new))
            .ok_or_else(|| {
                format!(
                    "{provider}: no api_key (or {}) configured",
                    env_vars.join(" / ")
                )
            })?;
        let base = cfg
            .base_url
            .clone()
            .or_else(|| kind.default_base_url().map(str::to_string))
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        let mut extra_headers = Vec::new();
        for (name, value) in &cfg.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("{provider}: invalid header name {name:?}"))?;
            extra_headers.push((name, value.clone()));
        }
        Ok(Self {
            provider,
            base,
            api_key,
            policy: cfg.unsupported_params,
            default_max_tokens: cfg.default_max_tokens,
            extra_headers,
        })
    }

    /// A JSON POST to `{base}{path}` with the extra headers and `Authorization: Bearer`.
    pub(crate) fn post(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<WireRequest, GatewayError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| GatewayError::internal(format!("{}: encode: {e}", self.provider)))?;
        let mut w = WireRequest::post_json(format!("{}{path}", self.base), bytes);
        for (name, value) in &self.extra_headers {
            w.header(name.clone(), value)?;
        }
        w.secret_header(
            http::header::AUTHORIZATION,
            &format!("Bearer {}", self.api_key.expose()),
        )?;
        Ok(w)
    }
}
