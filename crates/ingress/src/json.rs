//! JSON plumbing shared by the dialect parsers and renderers:
//! - [`Path`], a field path built on the stack and rendered (`messages[2].content`) only when an
//!   error needs it, so walking a valid body allocates nothing for paths;
//! - typed extractors that *move* a field out of its object (no copies of large strings such as
//!   base64 images) and answer a 400 naming the field on a wrong type;
//! - infallible JSON writing into a byte buffer.

use serde::Serialize;
use serde_json::{Map, Value};
use switchyard_types::{ErrorClass, GatewayError};

pub(crate) type Obj = Map<String, Value>;

/// A JSON field path, as a chain of borrowed segments.
#[derive(Clone, Copy)]
pub(crate) struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    seg: Seg<'a>,
}

#[derive(Clone, Copy)]
enum Seg<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

impl<'a> Path<'a> {
    pub(crate) const ROOT: Path<'static> = Path {
        parent: None,
        seg: Seg::Root,
    };

    pub(crate) fn key<'b>(&'b self, key: &'b str) -> Path<'b>
    where
        'a: 'b,
    {
        Path {
            parent: Some(self),
            seg: Seg::Key(key),
        }
    }

    pub(crate) fn index<'b>(&'b self, index: usize) -> Path<'b>
    where
        'a: 'b,
    {
        Path {
            parent: Some(self),
            seg: Seg::Index(index),
        }
    }

    /// `messages[2].content[0].image_url.url`.
    pub(crate) fn render(&self) -> String {
        let mut segs = Vec::new();
        let mut cur = Some(self);
        while let Some(p) = cur {
            segs.push(p.seg);
            cur = p.parent;
        }
        let mut out = String::new();
        for seg in segs.iter().rev() {
            match seg {
                Seg::Root => {}
                Seg::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Seg::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        out
    }
}

/// A 400 naming the parameter.
pub(crate) fn bad(path: &Path<'_>, message: impl std::fmt::Display) -> GatewayError {
    let p = path.render();
    GatewayError::bad_request(format!("invalid value for '{p}': {message}")).with_param(p)
}

/// A 400 for a field of the wrong JSON type.
pub(crate) fn invalid_type(path: &Path<'_>, expected: &str, got: &Value) -> GatewayError {
    let p = path.render();
    GatewayError::bad_request(format!(
        "invalid type for '{p}': expected {expected}, got {}",
        kind_of(got)
    ))
    .with_param(p)
}

/// A 400 for a missing required field.
pub(crate) fn missing(path: &Path<'_>) -> GatewayError {
    let p = path.render();
    GatewayError::bad_request(format!("missing required parameter: '{p}'")).with_param(p)
}

/// A 400 (`unsupported_parameter`) for something valid in the dialect that cannot be translated.
pub(crate) fn unsupported(path: &Path<'_>, message: impl std::fmt::Display) -> GatewayError {
    let p = path.render();
    GatewayError::client(ErrorClass::Unsupported, format!("'{p}': {message}")).with_param(p)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses a request body that must be a JSON object. Malformed JSON gives serde's message with
/// its line and column.
pub(crate) fn parse_object(body: &[u8]) -> Result<Obj, GatewayError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(GatewayError::bad_request(format!(
            "the request body must be a JSON object, got {}",
            kind_of(&other)
        ))),
        Err(e) => Err(GatewayError::bad_request(format!(
            "the request body is not valid JSON: {e}"
        ))),
    }
}

/// Removes `key`; an explicit `null` counts as absent (clients send `"tools": null`).
pub(crate) fn take(obj: &mut Obj, key: &str) -> Option<Value> {
    match obj.remove(key) {
        None | Some(Value::Null) => None,
        Some(v) => Some(v),
    }
}

pub(crate) fn as_string(v: Value, path: &Path<'_>) -> Result<String, GatewayError> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(invalid_type(path, "a string", &other)),
    }
}

pub(crate) fn as_object(v: Value, path: &Path<'_>) -> Result<Obj, GatewayError> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(invalid_type(path, "an object", &other)),
    }
}

pub(crate) fn as_array(v: Value, path: &Path<'_>) -> Result<Vec<Value>, GatewayError> {
    match v {
        Value::Array(a) => Ok(a),
        other => Err(invalid_type(path, "an array", &other)),
    }
}

pub(crate) fn opt_string(
    obj: &mut Obj,
    key: &str,
    parent: &Path<'_>,
) -> Result<Option<String>, GatewayError> {
    take(obj, key)
        .map(|v| as_string(v, &parent.key(key)))
        .transpose()
}

pub(crate) fn req_string(
    obj: &mut Obj,
    key: &str,
    parent: &Path<'_>,
) -> Result<String, GatewayError> {
    opt_string(obj, key, parent)?.ok_or_else(|| missing(&parent.key(key)))
}

pub(crate) fn opt_object(
    obj: &mut Obj,
    key: &str,
    parent: &Path<'_>,
) -> Result<Option<Obj>, GatewayError> {
    take(obj, key)
        .map(|v| as_object(v, &parent.key(key)))
        .transpose()
}

pub(crate) fn req_object(obj: &mut Obj, key: &str, parent: &Path<'_>) -> Result<Obj, GatewayError> {
    opt_object(obj, key, parent)?.ok_or_else(|| missing(&parent.key(key)))
}

pub(crate) fn opt_array(
    obj: &mut Obj,
    key: &str,
    parent: &Path<'_>,
) -> Result<Option<Vec<Value>>, GatewayError> {
    take(obj, key)
        .map(|v| as_array(v, &parent.key(key)))
        .transpose()
}

pub(crate) fn req_array(
    obj: &mut Obj,
    key: &str,
    parent: &Path<'_>,
) -> Result<Vec<Value>, GatewayError> {
    opt_array(obj, key, parent)?.ok_or_else(|| missing(&parent.key(key)))
}

pub(crate) fn opt_bool(
    obj: &mut Obj,
    key: &str,
    parent: &Path<'_>,
) -> Result<Option<bool>, GatewayError> {
    match take(obj, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(other) => Err(invalid_type(&parent.key(key), "a boolean", &other)),
    }
}

pub(crate) fn opt_f64(
    obj: &mut Obj,
    key: &str,
    parent: &Path<'_>,
) -> Result<Option<f64>, GatewayError> {
    match take(obj, key) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f.is_finite() => Ok(Some(f)),
            _ => Err(bad(&parent.key(key), "not a finite number")),
        },
        Some(other) => Err(invalid_type(&parent.key(key), "a number", &other)),
    }
}

pub(crate) fn opt_u32(
    obj: &mut Obj,
    key: &str,
    parent: &Path<'_>,
) -> Result<Option<u32>, GatewayError> {
    match take(obj, key) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .map(Some)
            .ok_or_else(|| {
                bad(
                    &parent.key(key),
                    format!("expected a non-negative integer below 2^32, got {n}"),
                )
            }),
        Some(other) => Err(invalid_type(&parent.key(key), "an integer", &other)),
    }
}

pub(crate) fn opt_i64(
    obj: &mut Obj,
    key: &str,
    parent: &Path<'_>,
) -> Result<Option<i64>, GatewayError> {
    match take(obj, key) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
            bad(
                &parent.key(key),
                format!("expected a 64-bit integer, got {n}"),
            )
        }),
        Some(other) => Err(invalid_type(&parent.key(key), "an integer", &other)),
    }
}

/// `"a"` or `["a", "b"]` (OpenAI `stop`).
pub(crate) fn opt_string_list(
    obj: &mut Obj,
    key: &str,
    parent: &Path<'_>,
) -> Result<Vec<String>, GatewayError> {
    let path = parent.key(key);
    match take(obj, key) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s]),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| as_string(v, &path.index(i)))
            .collect(),
        Some(other) => Err(invalid_type(
            &path,
            "a string or an array of strings",
            &other,
        )),
    }
}

/// What is left of a request object after the known fields were taken: kept for providers
/// that understand it, nulls dropped.
pub(crate) fn into_extra(obj: Obj) -> Obj {
    obj.into_iter().filter(|(_, v)| !v.is_null()).collect()
}

/// Serialises `value` onto `out`. Writing plain data into a `Vec` cannot fail; should a
/// serializer ever report an error, the partial output is removed and `null` written instead,
/// so the buffer always holds well-formed JSON.
pub(crate) fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let mark = out.len();
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(mark);
        out.extend_from_slice(b"null");
    }
}

/// Serialises `value` into a fresh buffer.
pub(crate) fn to_vec<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_json(&mut out, value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_render_keys_and_indices() {
        let root = Path::ROOT;
        let m = root.key("messages");
        let i = m.index(2);
        let c = i.key("content");
        let j = c.index(0);
        let u = j.key("image_url");
        assert_eq!(u.render(), "messages[2].content[0].image_url");
        assert_eq!(root.render(), "");
    }

    #[test]
    fn extractors_name_the_field() {
        let mut obj = json!({"a": "x", "n": -1, "f": "1", "b": 3, "nul": null, "s": 5})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let root = Path::ROOT;
        assert_eq!(
            opt_string(&mut obj, "a", &root).unwrap().as_deref(),
            Some("x")
        );
        let e = opt_u32(&mut obj, "n", &root).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("n"));
        assert_eq!(e.status, 400);
        let e = opt_f64(&mut obj, "f", &root).unwrap_err();
        assert!(
            e.message.contains("expected a number, got a string"),
            "{}",
            e.message
        );
        let e = opt_bool(&mut obj, "b", &root).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("b"));
        assert_eq!(opt_string(&mut obj, "nul", &root).unwrap(), None);
        let e = req_string(&mut obj, "missing", &root).unwrap_err();
        assert_eq!(e.message, "missing required parameter: 'missing'");
        let e = opt_string_list(&mut obj, "s", &root).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("s"));
    }

    #[test]
    fn string_lists_accept_one_or_many() {
        let mut obj = json!({"one": "x", "many": ["a", "b"], "bad": ["a", 1]})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let root = Path::ROOT;
        assert_eq!(opt_string_list(&mut obj, "one", &root).unwrap(), ["x"]);
        assert_eq!(
            opt_string_list(&mut obj, "many", &root).unwrap(),
            ["a", "b"]
        );
        let e = opt_string_list(&mut obj, "bad", &root).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("bad[1]"));
        assert!(opt_string_list(&mut obj, "absent", &root)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn body_must_be_an_object() {
        assert!(parse_object(b"[1]")
            .unwrap_err()
            .message
            .contains("an array"));
        let e = parse_object(b"{\"a\":").unwrap_err();
        assert!(e.message.contains("line 1 column"), "{}", e.message);
        assert_eq!(e.status, 400);
    }
}
