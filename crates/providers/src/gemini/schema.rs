//! JSON Schema -> Gemini `Schema`, the OpenAPI 3.0 subset that `functionDeclarations[].parameters`
//! accepts. Gemini answers 400 to keywords outside that subset, so the schema is rebuilt from an
//! allow-list rather than patched:
//!
//! - kept: `type`, `format` (only the formats Gemini knows), `title`, `description`, `nullable`,
//!   string `enum`s, `items`, `properties`, `required` (limited to declared properties),
//!   `anyOf`, `propertyOrdering`, `default`, `example`, and the numeric/length/count bounds;
//! - rewritten: `type: [T, "null"]` -> `type: T` + `nullable: true` (several non-null types ->
//!   `anyOf`), `oneOf` -> `anyOf`, a `{"type":"null"}` branch -> `nullable`, a string `const` ->
//!   a one-value `enum`, a one-element `allOf` -> inlined;
//! - local `$ref`s (`#/$defs/X`, `#/definitions/X`) are inlined; a recursive, remote or
//!   unresolvable `$ref` becomes a bare `{"type":"object"}` (keeping its `description`), since
//!   the subset has no references;
//! - dropped: everything else (`$schema`, `$id`, `$defs`, `additionalProperties`, `examples`,
//!   `patternProperties`, multi-branch `allOf`, non-string `enum`s, `const` of other types, ...);
//! - an object whose `properties` ends up empty loses the key (Gemini refuses an empty
//!   `properties` on an OBJECT).
//!
//! `responseJsonSchema` takes real JSON Schema, so response formats only lose `$schema`
//! ([`for_response`]).

use serde_json::{Map, Value};

/// Deepest nesting converted; anything below becomes a bare object (guards hostile input).
const MAX_DEPTH: usize = 48;

/// Keywords copied unchanged (scalars or scalar arrays).
const COPIED: &[&str] = &[
    "title",
    "description",
    "nullable",
    "maxItems",
    "minItems",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "propertyOrdering",
    "default",
    "minimum",
    "maximum",
];

/// `format` values Gemini accepts.
const FORMATS: &[&str] = &["enum", "date-time", "int32", "int64", "float", "double"];

/// Converts a tool's JSON Schema to Gemini's `Schema` subset.
pub fn for_function(schema: &Value) -> Value {
    let root = schema;
    let mut stack = Vec::new();
    match convert(schema, root, &mut stack, 0) {
        Value::Object(m) => Value::Object(m),
        _ => Value::Object(Map::new()),
    }
}

/// Prepares a response-format schema for `responseJsonSchema`: JSON Schema is accepted as is,
/// apart from the meta-schema pointer.
pub fn for_response(schema: &Value) -> Value {
    let mut s = schema.clone();
    if let Value::Object(m) = &mut s {
        m.remove("$schema");
    }
    s
}

fn bare_object(description: Option<&Value>) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), Value::String("object".into()));
    if let Some(d) = description {
        m.insert("description".into(), d.clone());
    }
    Value::Object(m)
}

/// Looks up a local reference (`#/$defs/Name`, `#/definitions/Name`, or any JSON pointer into
/// the root document).
fn resolve<'a>(reference: &str, root: &'a Value) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    if pointer.is_empty() {
        return Some(root);
    }
    root.pointer(pointer)
}

fn convert(v: &Value, root: &Value, stack: &mut Vec<String>, depth: usize) -> Value {
    let obj = match v {
        Value::Object(o) => o,
        // `true` (anything) and other non-object schemas carry no constraint Gemini can express.
        _ => return Value::Object(Map::new()),
    };
    if depth > MAX_DEPTH {
        return bare_object(obj.get("description"));
    }
    if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
        let target = resolve(reference, root);
        return match target {
            Some(t) if !stack.iter().any(|s| s == reference) => {
                stack.push(reference.to_string());
                let mut out = convert(t, root, stack, depth + 1);
                stack.pop();
                if let (Value::Object(m), Some(d)) = (&mut out, obj.get("description")) {
                    m.insert("description".into(), d.clone());
                }
                out
            }
            _ => bare_object(obj.get("description")),
        };
    }

    let mut out = Map::new();
    for (key, val) in obj {
        match key.as_str() {
            "type" => convert_type(val, &mut out),
            "format" if val.as_str().is_some_and(|f| FORMATS.contains(&f)) => {
                out.insert("format".into(), val.clone());
            }
            "enum"
                if val
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_string)) =>
            {
                out.insert("enum".into(), val.clone());
            }
            "const" if val.is_string() => {
                out.insert("enum".into(), Value::Array(vec![val.clone()]));
                out.entry("type")
                    .or_insert_with(|| Value::String("string".into()));
            }
            "properties" => {
                if let Some(props) = val.as_object() {
                    let mut converted = Map::new();
                    for (name, schema) in props {
                        converted.insert(name.clone(), convert(schema, root, stack, depth + 1));
                    }
                    if !converted.is_empty() {
                        out.insert("properties".into(), Value::Object(converted));
                    }
                }
            }
            "items" => {
                // Tuple form (an array of schemas): keep the first as the item schema.
                let item = match val {
                    Value::Array(a) => a.first(),
                    other => Some(other),
                };
                if let Some(item) = item {
                    out.insert("items".into(), convert(item, root, stack, depth + 1));
                }
            }
            "anyOf" | "oneOf" => {
                if let Some(branches) = val.as_array() {
                    convert_union(branches, root, stack, depth, &mut out);
                }
            }
            "allOf" => {
                if let Some([only]) = val.as_array().map(Vec::as_slice) {
                    merge_missing(&mut out, convert(only, root, stack, depth + 1));
                }
            }
            "required"
                if val
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_string)) =>
            {
                out.insert("required".into(), val.clone());
            }
            k if COPIED.contains(&k) => {
                out.insert(key.clone(), val.clone());
            }
            _ => {}
        }
    }
    // `required` may only name declared properties.
    if let Some(Value::Array(req)) = out.get("required") {
        let declared = out.get("properties").and_then(Value::as_object);
        let kept: Vec<Value> = req
            .iter()
            .filter(|r| {
                r.as_str()
                    .is_some_and(|name| declared.is_some_and(|p| p.contains_key(name)))
            })
            .cloned()
            .collect();
        if kept.is_empty() {
            out.remove("required");
        } else {
            out.insert("required".into(), Value::Array(kept));
        }
    }
    Value::Object(out)
}

/// `type` as a string, or a list of types (`["string","null"]`).
fn convert_type(val: &Value, out: &mut Map<String, Value>) {
    match val {
        Value::String(t) if t == "null" => {
            out.insert("nullable".into(), Value::Bool(true));
        }
        Value::String(_) => {
            out.insert("type".into(), val.clone());
        }
        Value::Array(types) => {
            let mut non_null: Vec<&Value> = Vec::new();
            for t in types {
                if t.as_str() == Some("null") {
                    out.insert("nullable".into(), Value::Bool(true));
                } else if t.is_string() {
                    non_null.push(t);
                }
            }
            match non_null.as_slice() {
                [] => {}
                [one] => {
                    out.insert("type".into(), (*one).clone());
                }
                many => {
                    let branches = many
                        .iter()
                        .map(|t| {
                            let mut m = Map::new();
                            m.insert("type".into(), (*t).clone());
                            Value::Object(m)
                        })
                        .collect();
                    out.insert("anyOf".into(), Value::Array(branches));
                }
            }
        }
        _ => {}
    }
}

/// `anyOf`/`oneOf`: `{"type":"null"}` branches become `nullable`; a single remaining branch is
/// inlined.
fn convert_union(
    branches: &[Value],
    root: &Value,
    stack: &mut Vec<String>,
    depth: usize,
    out: &mut Map<String, Value>,
) {
    let mut kept = Vec::new();
    for b in branches {
        if b.get("type").and_then(Value::as_str) == Some("null")
            && b.as_object().map(Map::len) == Some(1)
        {
            out.insert("nullable".into(), Value::Bool(true));
            continue;
        }
        kept.push(convert(b, root, stack, depth + 1));
    }
    match kept.len() {
        0 => {}
        1 => {
            if let Some(only) = kept.pop() {
                merge_missing(out, only);
            }
        }
        _ => {
            out.insert("anyOf".into(), Value::Array(kept));
        }
    }
}

/// Copies keys of `from` that `into` does not have yet.
fn merge_missing(into: &mut Map<String, Value>, from: Value) {
    if let Value::Object(m) = from {
        for (k, v) in m {
            into.entry(k).or_insert(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drops_unknown_keywords_and_inlines_refs() {
        let s = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "city": {"type": "string", "format": "uri", "examples": ["Paris"]},
                "unit": {"$ref": "#/$defs/Unit", "description": "temperature unit"},
                "days": {"type": ["integer", "null"], "minimum": 1}
            },
            "required": ["city", "ghost"],
            "$defs": {"Unit": {"type": "string", "enum": ["C", "F"]}}
        });
        assert_eq!(
            for_function(&s),
            json!({
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["C", "F"], "description": "temperature unit"},
                    "days": {"type": "integer", "nullable": true, "minimum": 1}
                },
                "required": ["city"]
            })
        );
    }

    #[test]
    fn recursive_ref_becomes_bare_object() {
        let s = json!({
            "type": "object",
            "properties": {"child": {"$ref": "#"}, "other": {"$ref": "https://x/y.json"}}
        });
        assert_eq!(
            for_function(&s),
            json!({"type": "object", "properties": {
                "child": {"type": "object", "properties": {
                    "child": {"type": "object"}, "other": {"type": "object"}}},
                "other": {"type": "object"}
            }})
        );
    }

    #[test]
    fn unions_and_consts() {
        let s = json!({
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "description": "maybe"
        });
        assert_eq!(
            for_function(&s),
            json!({"type": "string", "nullable": true, "description": "maybe"})
        );
        let s = json!({"oneOf": [{"type": "string"}, {"type": "number"}]});
        assert_eq!(
            for_function(&s),
            json!({"anyOf": [{"type": "string"}, {"type": "number"}]})
        );
        assert_eq!(
            for_function(&json!({"const": "x"})),
            json!({"type": "string", "enum": ["x"]})
        );
        assert_eq!(
            for_function(&json!({"type": "integer", "enum": [1, 2]})),
            json!({"type": "integer"})
        );
        assert_eq!(
            for_function(&json!({"type": ["string", "number"]})),
            json!({"anyOf": [{"type": "string"}, {"type": "number"}]})
        );
    }

    #[test]
    fn empty_properties_are_removed_and_depth_is_bounded() {
        assert_eq!(
            for_function(&json!({"type": "object", "properties": {}})),
            json!({"type": "object"})
        );
        let mut deep = json!({"type": "string"});
        for _ in 0..200 {
            deep = json!({"type": "array", "items": deep});
        }
        let out = for_function(&deep);
        assert!(out.is_object());
    }

    #[test]
    fn response_schema_keeps_json_schema() {
        let s = json!({"$schema": "x", "type": "object", "additionalProperties": false});
        assert_eq!(
            for_response(&s),
            json!({"type": "object", "additionalProperties": false})
        );
    }
}
