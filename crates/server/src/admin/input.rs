//! Reading admin requests: JSON bodies with the offending field's path in every error
//! (`budget.period: unknown variant ...`), query strings, timestamps (RFC 3339, `YYYY-MM-DD`
//! or Unix seconds), and the checks shared by teams and keys (names, model lists, metadata,
//! limits, budgets).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use switchyard_policy::jiff::civil::Date;
use switchyard_policy::jiff::tz::TimeZone;
use switchyard_policy::jiff::Timestamp;
use switchyard_policy::{BudgetSpec, Limits};
use switchyard_types::GatewayError;

/// Longest name, user, team id or model pattern accepted.
pub const MAX_TEXT_LEN: usize = 256;
/// Most model patterns on one key.
pub const MAX_MODELS: usize = 256;
/// Largest `metadata` object, serialized.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// Latest Unix second accepted (9999-12-31T23:59:59Z).
const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

/// A 400 naming `field`: `field: message`.
pub fn field_error(field: &str, message: impl std::fmt::Display) -> GatewayError {
    GatewayError::bad_request(format!("{field}: {message}")).with_param(field)
}

/// Parses a JSON body into `T`; errors name the path of the offending field.
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, GatewayError> {
    // Derived struct deserializers also take JSON arrays (fields by position): only objects
    // are accepted here.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(GatewayError::bad_request(
            "invalid JSON body: the request body must be a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let message = strip_position(&e.inner().to_string());
        if path == "." || path.is_empty() {
            GatewayError::bad_request(format!("invalid JSON body: {message}"))
        } else {
            field_error(&path, message)
        }
    })?;
    de.end().map_err(|e| {
        GatewayError::bad_request(format!(
            "invalid JSON body: {}",
            strip_position(&e.to_string())
        ))
    })?;
    Ok(value)
}

/// serde_json appends ` at line L column C`; the field path says more to an API client.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => message[..i].to_owned(),
        _ => message.to_owned(),
    }
}

/// Parses a query string into `T` (a struct of optional strings with `deny_unknown_fields`).
pub fn parse_query<T: DeserializeOwned>(query: Option<&str>) -> Result<T, GatewayError> {
    serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| GatewayError::bad_request(format!("invalid query string: {e}")))
}

/// `Some(value)` unless absent or empty (`?team_id=` means no filter).
pub fn present(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// For PATCH bodies: absent → `None`, `null` → `Some(None)`, a value → `Some(Some(v))`.
/// Use with `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// For PATCH bodies, fields that cannot be cleared: absent → `None`, a value → `Some(v)`, and
/// `null` is an error naming the field (rather than silently meaning "unchanged").
/// Use with `#[serde(default, deserialize_with = "not_null")]`.
pub fn not_null<'de, T, D>(de: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    use serde::de::Error;
    match Option::<T>::deserialize(de)? {
        Some(v) => Ok(Some(v)),
        None => Err(D::Error::custom(
            "must not be null (leave the field out to keep it)",
        )),
    }
}

/// An instant given as an RFC 3339 string or as Unix seconds, held as Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant(pub i64);

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(de)? {
            Value::Number(n) => match n.as_i64() {
                Some(secs) => unix_seconds(secs).map(Instant).map_err(D::Error::custom),
                None => Err(D::Error::custom(format!(
                    "expected whole Unix seconds or an RFC 3339 string, got {n}"
                ))),
            },
            Value::String(s) => parse_rfc3339(&s).map(Instant).map_err(D::Error::custom),
            other => Err(D::Error::custom(format!(
                "expected an RFC 3339 string or Unix seconds, got {}",
                kind(&other)
            ))),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn unix_seconds(secs: i64) -> Result<i64, String> {
    if !(0..=MAX_UNIX_SECONDS).contains(&secs) {
        return Err(format!(
            "Unix seconds must be between 0 and {MAX_UNIX_SECONDS}, got {secs}"
        ));
    }
    Ok(secs * 1000)
}

fn parse_rfc3339(text: &str) -> Result<i64, String> {
    text.parse::<Timestamp>()
        .map(|ts| ts.as_millisecond())
        .map_err(|_| format!("`{text}` is not an RFC 3339 timestamp (e.g. 2025-01-31T00:00:00Z)"))
}

/// Which end of a range a query bound is: a bare date means the start of that day for `from`
/// and the end of it (the next midnight, exclusive) for `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    From,
    To,
}

/// Parses a query time bound: RFC 3339, `YYYY-MM-DD` (a UTC day) or Unix seconds.
pub fn parse_bound(field: &str, text: &str, bound: Bound) -> Result<i64, GatewayError> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let secs = text
            .parse::<i64>()
            .map_err(|_| field_error(field, format!("`{text}` is out of range")))?;
        return unix_seconds(secs).map_err(|m| field_error(field, m));
    }
    if let Ok(date) = text.parse::<Date>() {
        let day = match bound {
            Bound::From => Ok(date),
            Bound::To => date.tomorrow(),
        };
        return day
            .and_then(|d| d.to_zoned_datetime(TimeZone::UTC))
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|e| field_error(field, e));
    }
    parse_rfc3339(text).map_err(|_| {
        field_error(
            field,
            format!("`{text}` is not an RFC 3339 timestamp, a date (YYYY-MM-DD) or Unix seconds"),
        )
    })
}

/// Parses an optional query bound.
pub fn parse_bound_opt(
    field: &str,
    text: Option<String>,
    bound: Bound,
) -> Result<Option<i64>, GatewayError> {
    present(text)
        .map(|t| parse_bound(field, &t, bound))
        .transpose()
}

/// Checks `from < to` when both are set.
pub fn check_range(from: Option<i64>, to: Option<i64>) -> Result<(), GatewayError> {
    match (from, to) {
        (Some(f), Some(t)) if f >= t => Err(field_error("from", "must be before `to`")),
        _ => Ok(()),
    }
}

/// Parses a page size: default `default`, at most `max`.
pub fn parse_limit(text: Option<String>, default: u32, max: u32) -> Result<u32, GatewayError> {
    match present(text) {
        None => Ok(default),
        Some(t) => match t.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(field_error(
                "limit",
                format!("must be a whole number between 1 and {max}, got `{t}`"),
            )),
        },
    }
}

/// A trimmed, non-empty text of at most [`MAX_TEXT_LEN`] characters.
pub fn text(field: &str, value: &str) -> Result<String, GatewayError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(field_error(field, "must not be empty"));
    }
    if trimmed.chars().count() > MAX_TEXT_LEN {
        return Err(field_error(
            field,
            format!("must be at most {MAX_TEXT_LEN} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(field_error(field, "must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

pub fn text_opt(field: &str, value: Option<&str>) -> Result<Option<String>, GatewayError> {
    value.map(|v| text(field, v)).transpose()
}

/// Model names and globs (`claude-*`): each non-empty, without spaces, at most
/// [`MAX_MODELS`] of them; duplicates are dropped, order kept.
pub fn models(list: Vec<String>) -> Result<Vec<String>, GatewayError> {
    if list.len() > MAX_MODELS {
        return Err(field_error(
            "models",
            format!("at most {MAX_MODELS} entries"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (i, m) in list.into_iter().enumerate() {
        let field = format!("models[{i}]");
        let m = text(&field, &m)?;
        if m.chars().any(char::is_whitespace) {
            return Err(field_error(&field, "must not contain whitespace"));
        }
        if !out.contains(&m) {
            out.push(m);
        }
    }
    Ok(out)
}

/// A metadata object of at most [`MAX_METADATA_BYTES`].
pub fn metadata(map: Map<String, Value>) -> Result<Map<String, Value>, GatewayError> {
    let size = serde_json::to_vec(&map)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_METADATA_BYTES {
        return Err(field_error(
            "metadata",
            format!("must be at most {MAX_METADATA_BYTES} bytes of JSON"),
        ));
    }
    Ok(map)
}

/// Limits as stored: `None` when no limit is set.
pub fn limits(limits: Limits) -> Result<Option<Value>, GatewayError> {
    if limits.is_empty() {
        return Ok(None);
    }
    serde_json::to_value(limits)
        .map(Some)
        .map_err(|e| GatewayError::internal(format!("cannot encode limits: {e}")))
}

/// A budget checked the way the request path will use it (amounts, soft ≤ max, time zone),
/// stored as the spec (USD) the client sent.
pub fn budget(spec: BudgetSpec, tz: &TimeZone) -> Result<Value, GatewayError> {
    spec.resolve(tz)
        .map_err(|e| field_error(&format!("budget.{}", e.field), e.message))?;
    serde_json::to_value(spec)
        .map_err(|e| GatewayError::internal(format!("cannot encode budget: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "fields are only deserialized")]
    struct Body {
        name: String,
        budget: Option<BudgetSpec>,
        limits: Option<Limits>,
        expires_at: Option<Instant>,
    }

    fn err(body: &str) -> GatewayError {
        parse_body::<Body>(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn body_errors_name_the_field() {
        let e = err(r#"{"name":"a","budget":{"max_usd":1,"period":"yearly"}}"#);
        assert_eq!(e.status, 400);
        assert!(
            e.message
                .starts_with("budget.period: unknown variant `yearly`"),
            "{}",
            e.message
        );
        assert_eq!(e.param.as_deref(), Some("budget.period"));
        let e = err(r#"{"name":"a","limits":{"rpm":-1}}"#);
        assert!(
            e.message.starts_with("limits.rpm: invalid value"),
            "{}",
            e.message
        );
        assert!(!e.message.contains("line 1"), "{}", e.message);
        let e = err(r#"{"name":"a","colour":1}"#);
        assert!(
            e.message.contains("unknown field `colour`"),
            "{}",
            e.message
        );
        let e = err(r#"{"name":"a","expires_at":true}"#);
        assert!(
            e.message.starts_with("expires_at: expected an RFC 3339"),
            "{}",
            e.message
        );
        let e = err(r#"{"name":"a","expires_at":"tomorrow"}"#);
        assert!(
            e.message.starts_with("expires_at: `tomorrow` is not"),
            "{}",
            e.message
        );
        assert!(err("").message.contains("JSON object"));
        assert!(err(r#"["a"]"#).message.contains("JSON object"));
        assert!(err(r#"{"name":"a"} x"#)
            .message
            .starts_with("invalid JSON body"));
        assert!(err(r#"{"name":"#).message.contains("EOF while parsing"));
    }

    #[test]
    fn instants_accept_rfc3339_and_unix_seconds() {
        let b: Body = parse_body(br#"{"name":"a","expires_at":1700000000}"#).unwrap();
        assert_eq!(b.expires_at, Some(Instant(1_700_000_000_000)));
        let b: Body = parse_body(br#"{"name":"a","expires_at":"2023-11-14T22:13:20Z"}"#).unwrap();
        assert_eq!(b.expires_at, Some(Instant(1_700_000_000_000)));
        let b: Body =
            parse_body(br#"{"name":"a","expires_at":"2023-11-14T23:13:20+01:00"}"#).unwrap();
        assert_eq!(b.expires_at, Some(Instant(1_700_000_000_000)));
        assert!(err(r#"{"name":"a","expires_at":-5}"#)
            .message
            .contains("between 0"));
        assert!(err(r#"{"name":"a","expires_at":1.5}"#)
            .message
            .contains("whole Unix"));
    }

    #[test]
    fn query_bounds() {
        assert_eq!(
            parse_bound("from", "2025-01-31", Bound::From).unwrap(),
            1_738_281_600_000
        );
        assert_eq!(
            parse_bound("to", "2025-01-31", Bound::To).unwrap(),
            1_738_281_600_000 + 86_400_000
        );
        assert_eq!(
            parse_bound("from", "2025-01-31T12:00:00Z", Bound::From).unwrap(),
            1_738_324_800_000
        );
        assert_eq!(
            parse_bound("from", "1700000000", Bound::From).unwrap(),
            1_700_000_000_000
        );
        let e = parse_bound("to", "last week", Bound::To).unwrap_err();
        assert!(
            e.message.starts_with("to: `last week` is not"),
            "{}",
            e.message
        );
        assert!(parse_bound("to", "99999999999999999999", Bound::To).is_err());
        assert!(check_range(Some(2), Some(1)).is_err());
        assert!(check_range(Some(1), Some(2)).is_ok());
        assert!(check_range(None, Some(1)).is_ok());
    }

    #[test]
    fn limits_and_texts() {
        assert_eq!(parse_limit(None, 100, 1000).unwrap(), 100);
        assert_eq!(parse_limit(Some("5".into()), 100, 1000).unwrap(), 5);
        for bad in ["0", "1001", "x", "-1"] {
            let e = parse_limit(Some(bad.into()), 100, 1000).unwrap_err();
            assert!(e.message.starts_with("limit: "), "{}", e.message);
        }
        assert_eq!(text("name", "  ops ").unwrap(), "ops");
        assert!(text("name", "  ").is_err());
        assert!(text("name", &"x".repeat(MAX_TEXT_LEN + 1)).is_err());
        assert!(text("name", "a\nb").is_err());
        assert_eq!(
            models(vec!["gpt-4o".into(), "claude-*".into(), "gpt-4o".into()]).unwrap(),
            vec!["gpt-4o", "claude-*"]
        );
        let e = models(vec!["gpt 4".into()]).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("models[0]"));
        let mut big = Map::new();
        big.insert("x".into(), Value::String("y".repeat(MAX_METADATA_BYTES)));
        assert!(metadata(big).is_err());
    }

    #[test]
    fn budgets_are_validated_like_the_request_path_does() {
        let spec: BudgetSpec =
            serde_json::from_str(r#"{"max_usd":10,"period":"monthly","soft_usd":12}"#).unwrap();
        let e = budget(spec, &TimeZone::UTC).unwrap_err();
        assert_eq!(e.message, "budget.soft_usd: must not exceed max_usd");
        let spec: BudgetSpec =
            serde_json::from_str(r#"{"max_usd":10,"period":"daily","timezone":"Mars/Base"}"#)
                .unwrap();
        assert!(budget(spec, &TimeZone::UTC)
            .unwrap_err()
            .message
            .starts_with("budget.timezone"));
        let spec: BudgetSpec =
            serde_json::from_str(r#"{"max_usd":10,"period":"weekly","soft_usd":8}"#).unwrap();
        assert_eq!(
            budget(spec, &TimeZone::UTC).unwrap(),
            serde_json::json!({"max_usd": 10.0, "period": "weekly", "soft_usd": 8.0})
        );
        assert_eq!(limits(Limits::default()).unwrap(), None);
    }
}
