//! The price table: the shipped data file, configuration overrides, and lookup.

use std::collections::HashMap;

use serde::Deserialize;

use crate::normalize::candidates;
use crate::price::{usd_per_million_to_rate, LongContext, Price, PriceError};

/// The shipped price data, embedded at build time. Its `version` is the date the prices were
/// checked against the providers' public price lists.
const BUILTIN: &str = include_str!("../data/prices.json");

/// A price as written in the data file or the configuration: USD per million tokens.
///
/// In the configuration every field is optional: for a model the table already knows, the given
/// fields replace the known ones and the rest are kept; a new model needs `input` and `output`,
/// and then `cached_input` and `cache_write` default to `input`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceOverride {
    #[serde(default)]
    pub input: Option<f64>,
    #[serde(default)]
    pub output: Option<f64>,
    #[serde(default)]
    pub cached_input: Option<f64>,
    #[serde(default)]
    pub cache_write: Option<f64>,
    #[serde(default)]
    pub reasoning: Option<f64>,
    /// USD per image.
    #[serde(default)]
    pub per_image: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataFile {
    version: String,
    #[serde(rename = "unit")]
    _unit: String,
    #[serde(rename = "rules")]
    _rules: Vec<String>,
    #[serde(rename = "sources")]
    _sources: HashMap<String, String>,
    models: HashMap<String, DataEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataEntry {
    input: f64,
    output: f64,
    #[serde(default)]
    cached_input: Option<f64>,
    #[serde(default)]
    cache_write: Option<f64>,
    #[serde(default)]
    reasoning: Option<f64>,
    #[serde(default)]
    per_image: Option<f64>,
    #[serde(default)]
    long_context: Option<DataLongContext>,
    #[serde(default, rename = "note")]
    _note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataLongContext {
    above_prompt_tokens: u64,
    input: f64,
    output: f64,
    #[serde(default)]
    cached_input: Option<f64>,
    #[serde(default)]
    cache_write: Option<f64>,
    #[serde(default)]
    reasoning: Option<f64>,
}

fn rate(key: &str, field: &str, usd: f64) -> Result<u64, PriceError> {
    usd_per_million_to_rate(&format!("{key}.{field}"), usd)
}

fn opt_rate(key: &str, field: &str, usd: Option<f64>) -> Result<Option<u64>, PriceError> {
    usd.map(|v| rate(key, field, v)).transpose()
}

impl DataEntry {
    fn to_price(&self, key: &str) -> Result<Price, PriceError> {
        let input = rate(key, "input", self.input)?;
        let long_context = match &self.long_context {
            None => None,
            Some(lc) => {
                let lc_input = rate(key, "long_context.input", lc.input)?;
                Some(LongContext {
                    above_prompt_tokens: lc.above_prompt_tokens,
                    input: lc_input,
                    output: rate(key, "long_context.output", lc.output)?,
                    cached_input: opt_rate(key, "long_context.cached_input", lc.cached_input)?
                        .unwrap_or(lc_input),
                    cache_write: opt_rate(key, "long_context.cache_write", lc.cache_write)?
                        .unwrap_or(lc_input),
                    reasoning: opt_rate(key, "long_context.reasoning", lc.reasoning)?,
                })
            }
        };
        let price = Price {
            input,
            output: rate(key, "output", self.output)?,
            cached_input: opt_rate(key, "cached_input", self.cached_input)?.unwrap_or(input),
            cache_write: opt_rate(key, "cache_write", self.cache_write)?.unwrap_or(input),
            reasoning: opt_rate(key, "reasoning", self.reasoning)?,
            per_image: opt_rate(key, "per_image", self.per_image)?,
            long_context,
        };
        price.validate(key)?;
        Ok(price)
    }
}

/// Prices by key. A key is `provider_kind/model` (a price specific to one kind of provider, e.g.
/// `bedrock/anthropic.claude-sonnet-4-5`) or a bare `model` (the provider's own list price,
/// used by every kind that has no specific entry).
#[derive(Debug, Clone)]
pub struct PriceTable {
    version: String,
    prices: HashMap<String, Price>,
}

impl PriceTable {
    /// The shipped table.
    ///
    /// The data file is compiled in and checked by this crate's tests, so it always parses; if
    /// it ever did not, the table would be empty and every model would be flagged as unpriced
    /// at config load (never priced at zero).
    pub fn builtin() -> PriceTable {
        match Self::from_json(BUILTIN) {
            Ok(table) => table,
            Err(err) => {
                tracing::error!(error = %err, "shipped price table failed to load");
                PriceTable {
                    version: String::from("invalid"),
                    prices: HashMap::new(),
                }
            }
        }
    }

    /// Parses a table in the shipped data format.
    pub fn from_json(text: &str) -> Result<PriceTable, PriceError> {
        let data: DataFile =
            serde_json::from_str(text).map_err(|e| PriceError::Data(e.to_string()))?;
        let mut prices = HashMap::with_capacity(data.models.len());
        for (key, entry) in &data.models {
            let key = key.to_ascii_lowercase();
            let price = entry.to_price(&key)?;
            prices.insert(key, price);
        }
        Ok(PriceTable {
            version: data.version,
            prices,
        })
    }

    /// The date the shipped prices were checked (`YYYY-MM-DD`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Number of priced keys.
    pub fn len(&self) -> usize {
        self.prices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prices.is_empty()
    }

    /// The exact entry for a key, without normalisation.
    pub fn get(&self, key: &str) -> Option<&Price> {
        self.prices.get(&key.to_ascii_lowercase())
    }

    /// Every key and price, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Price)> {
        self.prices.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Applies configuration overrides, each keyed by `provider_kind/model` or `model`.
    ///
    /// For a key that resolves to a known price (exactly, or through [`lookup`](Self::lookup)
    /// for `kind/model` keys), the given fields replace the resolved ones; otherwise the key is
    /// a new model and needs `input` and `output`. Amounts are converted once to integers by
    /// [`usd_per_million_to_rate`]. Errors name the key and field.
    pub fn with_overrides<I, K>(mut self, overrides: I) -> Result<PriceTable, PriceError>
    where
        I: IntoIterator<Item = (K, PriceOverride)>,
        K: AsRef<str>,
    {
        for (key, ov) in overrides {
            let key = key.as_ref().trim().to_ascii_lowercase();
            let base = self
                .get(&key)
                .copied()
                .or_else(|| match key.split_once('/') {
                    Some((kind, model)) => self.lookup(kind, model).copied(),
                    None => self.lookup("", &key).copied(),
                });
            let price = apply_override(&key, base, &ov)?;
            self.prices.insert(key, price);
        }
        Ok(self)
    }

    /// The price of `model` served by a provider of kind `provider_kind` (`openai`, `bedrock`,
    /// …), or `None` when the table has no price for it.
    ///
    /// For each candidate id from [`candidates`](crate::normalize::candidates) (the id itself
    /// first, then its documented normalisations), `provider_kind/candidate` is tried before the
    /// bare candidate.
    pub fn lookup(&self, provider_kind: &str, model: &str) -> Option<&Price> {
        let kind = provider_kind.trim().to_ascii_lowercase();
        for candidate in candidates(model) {
            if !kind.is_empty() {
                if let Some(p) = self.prices.get(&format!("{kind}/{candidate}")) {
                    return Some(p);
                }
            }
            if let Some(p) = self.prices.get(&candidate) {
                return Some(p);
            }
        }
        None
    }
}

fn apply_override(key: &str, base: Option<Price>, ov: &PriceOverride) -> Result<Price, PriceError> {
    let mut price = match base {
        Some(p) => p,
        None => {
            let (Some(input), Some(output)) = (ov.input, ov.output) else {
                return Err(PriceError::Incomplete {
                    key: key.to_owned(),
                });
            };
            Price::flat(rate(key, "input", input)?, rate(key, "output", output)?)
        }
    };
    let had_base_input = price.input;
    if let Some(v) = ov.input {
        price.input = rate(key, "input", v)?;
        // A new input price with no explicit cache prices: cache prices that simply equalled
        // the old input price follow it.
        if ov.cached_input.is_none() && price.cached_input == had_base_input {
            price.cached_input = price.input;
        }
        if ov.cache_write.is_none() && price.cache_write == had_base_input {
            price.cache_write = price.input;
        }
    }
    if let Some(v) = ov.output {
        price.output = rate(key, "output", v)?;
    }
    if let Some(v) = ov.cached_input {
        price.cached_input = rate(key, "cached_input", v)?;
    }
    if let Some(v) = ov.cache_write {
        price.cache_write = rate(key, "cache_write", v)?;
    }
    if let Some(v) = ov.reasoning {
        price.reasoning = Some(rate(key, "reasoning", v)?);
    }
    if let Some(v) = ov.per_image {
        price.per_image = Some(rate(key, "per_image", v)?);
    }
    // A configured price is the operator's statement of the model's price: a shipped
    // long-context tier no longer applies once base rates are overridden.
    if ov.input.is_some() || ov.output.is_some() || ov.cached_input.is_some() {
        price.long_context = None;
    }
    price.validate(key)?;
    Ok(price)
}
