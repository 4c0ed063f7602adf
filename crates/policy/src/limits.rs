//! Limits and budgets as the admin API and configuration write them, and their validated,
//! integer form used on the request path.
//!
//! Shapes (JSON/YAML, unknown fields rejected):
//! `limits: {rpm, tpm, max_parallel}` and
//! `budget: {max_usd, period: daily|weekly|monthly|total|{rolling: {hours}}, soft_usd, timezone}`.
//! Amounts are USD in the API and integer micro-dollars inside, converted once here
//! (rounded to the nearest micro-dollar, ties up).

use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// Rate and concurrency limits of one subject (key, team, user, end-user or model).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Requests per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u64>,
    /// Tokens (prompt + completion) per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
    /// Requests in flight at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel: Option<u64>,
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        self.rpm.is_none() && self.tpm.is_none() && self.max_parallel.is_none()
    }
}

/// The window a budget applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Period {
    /// A calendar day in the budget's time zone.
    Daily,
    /// An ISO week (Monday to Sunday) in the budget's time zone.
    Weekly,
    /// A calendar month in the budget's time zone.
    Monthly,
    /// The whole lifetime of the subject.
    Total,
    /// The last `hours` hours, in hourly buckets.
    Rolling { hours: u32 },
}

impl Period {
    pub fn as_str(&self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Weekly => "weekly",
            Period::Monthly => "monthly",
            Period::Total => "total",
            Period::Rolling { .. } => "rolling",
        }
    }
}

/// A spending limit as written in the API or configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSpec {
    /// Hard limit: requests are refused once spend (plus in-flight reservations) would pass it.
    pub max_usd: f64,
    pub period: Period,
    /// Soft threshold: crossing it is reported (the server sends an alert).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_usd: Option<f64>,
    /// IANA time zone for calendar periods (`Europe/Berlin`); the gateway default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// A budget or limit that cannot be used; `field` is the path inside the budget object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidBudget {
    pub field: &'static str,
    pub message: String,
}

/// Largest budget accepted: one billion USD.
const MAX_BUDGET_USD: f64 = 1e9;
/// Longest rolling window: 366 days.
pub const MAX_ROLLING_HOURS: u32 = 366 * 24;

fn usd_to_micros(field: &'static str, usd: f64) -> Result<u64, InvalidBudget> {
    if !usd.is_finite() || usd < 0.0 {
        return Err(InvalidBudget {
            field,
            message: format!("must be a non-negative number of USD, got {usd}"),
        });
    }
    if usd > MAX_BUDGET_USD {
        return Err(InvalidBudget {
            field,
            message: format!("must be at most {MAX_BUDGET_USD} USD"),
        });
    }
    // 0 <= usd·1e6 <= 1e15 < 2^53: exact integer after rounding (half away from zero = half up
    // for non-negative values).
    Ok((usd * 1_000_000.0).round() as u64)
}

/// A validated budget, in integer micro-dollars with its time zone resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub limit_micros: u64,
    pub soft_micros: Option<u64>,
    pub period: Period,
    pub tz: TimeZone,
}

impl BudgetSpec {
    /// Validates the spec and resolves its time zone (`default_tz` when it names none).
    pub fn resolve(&self, default_tz: &TimeZone) -> Result<Budget, InvalidBudget> {
        let limit_micros = usd_to_micros("max_usd", self.max_usd)?;
        let soft_micros = self
            .soft_usd
            .map(|v| usd_to_micros("soft_usd", v))
            .transpose()?;
        if let Some(soft) = soft_micros {
            if soft > limit_micros {
                return Err(InvalidBudget {
                    field: "soft_usd",
                    message: "must not exceed max_usd".into(),
                });
            }
        }
        if let Period::Rolling { hours } = self.period {
            if hours == 0 || hours > MAX_ROLLING_HOURS {
                return Err(InvalidBudget {
                    field: "period.rolling.hours",
                    message: format!("must be between 1 and {MAX_ROLLING_HOURS}"),
                });
            }
        }
        let tz = match &self.timezone {
            None => default_tz.clone(),
            Some(name) => TimeZone::get(name).map_err(|_| InvalidBudget {
                field: "timezone",
                message: format!("unknown IANA time zone {name:?}"),
            })?,
        };
        Ok(Budget {
            limit_micros,
            soft_micros,
            period: self.period,
            tz,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_api_shapes_parse_strictly() {
        let l: Limits = serde_json::from_str(r#"{"rpm": 60, "tpm": 100000}"#).unwrap();
        assert_eq!(l.rpm, Some(60));
        assert_eq!(l.max_parallel, None);
        assert!(serde_json::from_str::<Limits>(r#"{"rpn": 60}"#).is_err());

        let b: BudgetSpec =
            serde_json::from_str(r#"{"max_usd": 100, "period": "monthly", "soft_usd": 80}"#)
                .unwrap();
        assert_eq!(b.period, Period::Monthly);
        let r: BudgetSpec =
            serde_json::from_str(r#"{"max_usd": 5, "period": {"rolling": {"hours": 24}}}"#)
                .unwrap();
        assert_eq!(r.period, Period::Rolling { hours: 24 });
        assert!(
            serde_json::from_str::<BudgetSpec>(r#"{"max_usd": 5, "period": "yearly"}"#).is_err()
        );
        assert!(serde_json::from_str::<BudgetSpec>(
            r#"{"max_usd": 5, "period": "daily", "extra": 1}"#
        )
        .is_err());
    }

    #[test]
    fn resolve_converts_and_validates() {
        let utc = TimeZone::UTC;
        let spec = BudgetSpec {
            max_usd: 12.345_678_5,
            period: Period::Daily,
            soft_usd: Some(10.0),
            timezone: Some("Europe/Berlin".into()),
        };
        let b = spec.resolve(&utc).unwrap();
        assert_eq!(b.limit_micros, 12_345_679);
        assert_eq!(b.soft_micros, Some(10_000_000));
        assert_eq!(b.tz.iana_name(), Some("Europe/Berlin"));

        let bad_tz = BudgetSpec {
            timezone: Some("Mars/Olympus".into()),
            ..spec.clone()
        };
        assert_eq!(bad_tz.resolve(&utc).unwrap_err().field, "timezone");
        let soft_over = BudgetSpec {
            soft_usd: Some(20.0),
            ..spec.clone()
        };
        assert_eq!(soft_over.resolve(&utc).unwrap_err().field, "soft_usd");
        let negative = BudgetSpec {
            max_usd: -1.0,
            ..spec.clone()
        };
        assert_eq!(negative.resolve(&utc).unwrap_err().field, "max_usd");
        let zero_hours = BudgetSpec {
            period: Period::Rolling { hours: 0 },
            ..spec
        };
        assert_eq!(
            zero_hours.resolve(&utc).unwrap_err().field,
            "period.rolling.hours"
        );
    }
}
