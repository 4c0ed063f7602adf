//! The integer price of one model, and the one conversion from configured USD amounts
//! (floating point, USD per million tokens) to integer rates.

use serde::Serialize;

/// Why a price could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("{field}: price must be a finite, non-negative number of USD (got {value})")]
    Invalid { field: String, value: String },
    #[error("{field}: price {value} is above the sanity bound of 1000000 USD")]
    TooLarge { field: String, value: String },
    #[error("{key}: a new model needs at least `input` and `output` prices")]
    Incomplete { key: String },
    #[error(
        "{key}: long-context rate `{field}` is below the base rate; tiers must not lower a price"
    )]
    TierBelowBase { key: String, field: &'static str },
    #[error("price table data is invalid: {0}")]
    Data(String),
}

/// Upper bound accepted for one rate: USD 1,000,000 per million tokens.
const MAX_USD: f64 = 1_000_000.0;

/// Converts USD per million tokens (as written in config or the data file) to the integer rate
/// unit, micro-dollars per million tokens. This is the only place a float becomes money: the
/// value is multiplied by 10^6 and rounded to the nearest integer (ties away from zero, IEEE
/// `round`). Every decimal price with at most six decimal places converts exactly.
pub fn usd_per_million_to_rate(field: &str, usd: f64) -> Result<u64, PriceError> {
    if !usd.is_finite() || usd < 0.0 {
        return Err(PriceError::Invalid {
            field: field.to_owned(),
            value: usd.to_string(),
        });
    }
    if usd > MAX_USD {
        return Err(PriceError::TooLarge {
            field: field.to_owned(),
            value: usd.to_string(),
        });
    }
    let scaled = (usd * 1_000_000.0).round();
    // In range by the checks above: 0 <= scaled <= 1e12 < 2^53, so the cast is exact.
    Ok(scaled as u64)
}

/// Price of one model. Token rates are in micro-dollars per million tokens; `per_image` is in
/// micro-dollars per image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Price {
    /// Uncached input tokens.
    pub input: u64,
    /// Output tokens (reasoning included unless `reasoning` is set).
    pub output: u64,
    /// Input tokens read from the provider's prompt cache.
    pub cached_input: u64,
    /// Input tokens written to the provider's prompt cache.
    pub cache_write: u64,
    /// Reasoning tokens, when the provider prices them apart from other output.
    pub reasoning: Option<u64>,
    /// Micro-dollars per image, where a provider charges per image.
    pub per_image: Option<u64>,
    /// Higher rates for requests whose prompt exceeds a threshold.
    pub long_context: Option<LongContext>,
}

/// Rates that apply to **every** token of a request whose `prompt_tokens` (cache reads and writes
/// included) exceed `above_prompt_tokens`. Each rate is at least the base rate (validated at
/// load), so cost stays monotone in token counts across the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LongContext {
    pub above_prompt_tokens: u64,
    pub input: u64,
    pub output: u64,
    pub cached_input: u64,
    pub cache_write: u64,
    pub reasoning: Option<u64>,
}

/// The rates in force for one request (base or long-context tier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rates {
    pub input: u64,
    pub output: u64,
    pub cached_input: u64,
    pub cache_write: u64,
    pub reasoning: u64,
}

impl Price {
    /// A price with the same rate for input, cache reads and cache writes.
    pub fn flat(input: u64, output: u64) -> Self {
        Price {
            input,
            output,
            cached_input: input,
            cache_write: input,
            reasoning: None,
            per_image: None,
            long_context: None,
        }
    }

    /// The rates for a request with `prompt_tokens` input tokens.
    pub(crate) fn rates_for(&self, prompt_tokens: u64) -> Rates {
        match &self.long_context {
            Some(lc) if prompt_tokens > lc.above_prompt_tokens => Rates {
                input: lc.input,
                output: lc.output,
                cached_input: lc.cached_input,
                cache_write: lc.cache_write,
                reasoning: lc.reasoning.or(self.reasoning).unwrap_or(lc.output),
            },
            _ => Rates {
                input: self.input,
                output: self.output,
                cached_input: self.cached_input,
                cache_write: self.cache_write,
                reasoning: self.reasoning.unwrap_or(self.output),
            },
        }
    }

    /// Checks that a long-context tier never lowers a rate.
    pub(crate) fn validate(&self, key: &str) -> Result<(), PriceError> {
        let Some(lc) = &self.long_context else {
            return Ok(());
        };
        let base_reasoning = self.reasoning.unwrap_or(self.output);
        let tier_reasoning = lc.reasoning.or(self.reasoning).unwrap_or(lc.output);
        let pairs: [(&'static str, u64, u64); 5] = [
            ("input", lc.input, self.input),
            ("output", lc.output, self.output),
            ("cached_input", lc.cached_input, self.cached_input),
            ("cache_write", lc.cache_write, self.cache_write),
            ("reasoning", tier_reasoning, base_reasoning),
        ];
        for (field, tier, base) in pairs {
            if tier < base {
                return Err(PriceError::TierBelowBase {
                    key: key.to_owned(),
                    field,
                });
            }
        }
        Ok(())
    }
}

/// Formats integer micro-dollars as a USD decimal with six places (`1234` → `"0.001234"`),
/// exactly, for headers such as `x-switchyard-cost-usd` and for the admin API.
pub fn format_usd(micros: u64) -> String {
    // Digits by hand rather than `format!`: this runs on every response (x-switchyard-cost-usd).
    let mut digits = [0u8; 26];
    let mut n = micros;
    let mut i = digits.len();
    // At least seven digits: the six decimals and a whole part of at least `0`.
    while n > 0 || digits.len() - i < 7 {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let whole = &digits[i..digits.len() - 6];
    let mut out = String::with_capacity(whole.len() + 7);
    out.extend(whole.iter().map(|&d| char::from(d)));
    out.push('.');
    out.extend(digits[digits.len() - 6..].iter().map(|&d| char::from(d)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usd_is_formatted_with_six_decimals() {
        for m in [
            0,
            1,
            9,
            10,
            999_999,
            1_000_000,
            1_000_001,
            12_345_678,
            987_654_321_012,
            u64::MAX,
        ] {
            assert_eq!(
                format_usd(m),
                format!("{}.{:06}", m / 1_000_000, m % 1_000_000)
            );
        }
    }

    #[test]
    fn conversion_is_exact_for_published_prices() {
        assert_eq!(usd_per_million_to_rate("x", 0.075), Ok(75_000));
        assert_eq!(usd_per_million_to_rate("x", 0.0375), Ok(37_500));
        assert_eq!(usd_per_million_to_rate("x", 0.005), Ok(5_000));
        assert_eq!(usd_per_million_to_rate("x", 2.5), Ok(2_500_000));
        assert_eq!(usd_per_million_to_rate("x", 0.000_001), Ok(1));
        assert_eq!(usd_per_million_to_rate("x", 0.000_000_4), Ok(0));
        assert_eq!(usd_per_million_to_rate("x", 0.000_000_5), Ok(1));
        assert_eq!(usd_per_million_to_rate("x", 0.0), Ok(0));
    }

    #[test]
    fn conversion_rejects_bad_numbers() {
        assert!(matches!(
            usd_per_million_to_rate("models.a.pricing.input", -1.0),
            Err(PriceError::Invalid { field, .. }) if field == "models.a.pricing.input"
        ));
        assert!(usd_per_million_to_rate("x", f64::NAN).is_err());
        assert!(usd_per_million_to_rate("x", f64::INFINITY).is_err());
        assert!(matches!(
            usd_per_million_to_rate("x", 2e6),
            Err(PriceError::TooLarge { .. })
        ));
    }

    #[test]
    fn formats_usd_exactly() {
        assert_eq!(format_usd(0), "0.000000");
        assert_eq!(format_usd(1_234), "0.001234");
        assert_eq!(format_usd(12_500_000), "12.500000");
    }

    #[test]
    fn tier_below_base_is_rejected() {
        let mut p = Price::flat(100, 200);
        p.long_context = Some(LongContext {
            above_prompt_tokens: 10,
            input: 50,
            output: 400,
            cached_input: 100,
            cache_write: 100,
            reasoning: None,
        });
        assert_eq!(
            p.validate("m"),
            Err(PriceError::TierBelowBase {
                key: "m".into(),
                field: "input"
            })
        );
    }
}
