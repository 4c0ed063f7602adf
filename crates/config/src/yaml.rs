//! Reading the YAML document leniently about duplicate keys: a key defined twice in one mapping
//! is recorded, with its path and both lines, instead of failing the whole parse, so that
//! `switchyard check` reports it together with every other problem. **The first definition
//! wins**: later ones are skipped whole (nothing inside them is checked).
//!
//! Values are built exactly as `serde_yaml::Value`'s own `Deserialize` builds them (same scalar
//! resolution, same tags); only its refusal of duplicate keys differs.
//!
//! serde_yaml exposes no position for a value that parsed, but it does give an error returned by
//! a visitor the position of the event being read. The lines of a duplicate are found that way:
//! the document is read again with a visitor that stops at the wanted key. Duplicates are rare
//! and configuration files small, so the extra reads cost nothing that matters.

use std::collections::HashMap;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde_yaml::value::{Tag, TaggedValue};
use serde_yaml::{Mapping, Value};

/// A key defined more than once in the same mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Duplicate {
    /// The key's path, e.g. `providers.a` or `models.m.targets[0].model`.
    pub path: String,
    /// 1-based line of the definition that is kept, when it could be found.
    pub first_line: Option<usize>,
    /// 1-based line of this (ignored) definition, when it could be found.
    pub line: Option<usize>,
}

impl Duplicate {
    pub(crate) fn message(&self) -> String {
        match (self.first_line, self.line) {
            (Some(first), Some(line)) if first == line => format!(
                "duplicate key: defined twice at line {line} (only the first definition is used)"
            ),
            (Some(first), Some(line)) => format!(
                "duplicate key: defined at line {first} and again at line {line} (only the first definition is used)"
            ),
            _ => "duplicate key (only the first definition is used)".to_string(),
        }
    }
}

/// Parses one YAML document; duplicate keys are returned instead of being an error.
pub(crate) fn parse(text: &str) -> Result<(Value, Vec<Duplicate>), serde_yaml::Error> {
    let mut ctx = Ctx::default();
    let value = Node::root(&mut ctx).deserialize(serde_yaml::Deserializer::from_str(text))?;
    let duplicates = ctx
        .found
        .into_iter()
        .map(|f| Duplicate {
            first_line: locate(text, &f.at, 0),
            line: locate(text, &f.at, f.occurrence),
            path: f.path,
        })
        .collect();
    Ok((value, duplicates))
}

/// The path of `key` inside the mapping at `path` (`a.b`; a key that is not a string is written
/// as YAML).
pub(crate) fn child_path(path: &str, key: &Value) -> String {
    let key = match key {
        Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

/// A key of the mapping at `map_path`.
#[derive(Debug, Clone)]
struct KeyAt {
    map_path: String,
    key: Value,
}

struct Found {
    at: KeyAt,
    occurrence: usize,
    path: String,
}

#[derive(Default)]
struct Ctx {
    found: Vec<Found>,
    /// When set, reading fails at this occurrence of this key, and serde_yaml records where.
    stop_at: Option<(KeyAt, usize)>,
}

const STOP: &str = "switchyard: stopped at the key being located";

/// The line of one occurrence of a key, by reading the document again up to it.
fn locate(text: &str, at: &KeyAt, occurrence: usize) -> Option<usize> {
    let mut ctx = Ctx {
        found: Vec::new(),
        stop_at: Some((at.clone(), occurrence)),
    };
    match Node::root(&mut ctx).deserialize(serde_yaml::Deserializer::from_str(text)) {
        Err(e) if e.to_string().contains(STOP) => e.location().map(|l| l.line()),
        _ => None,
    }
}

/// Builds one value at `path`. When `key_in` is set, the value is a key of the mapping at
/// `path`, and `key_in` counts the keys that mapping has had so far.
struct Node<'a> {
    path: String,
    ctx: &'a mut Ctx,
    key_in: Option<&'a HashMap<Value, usize>>,
}

impl<'a> Node<'a> {
    fn root(ctx: &'a mut Ctx) -> Self {
        Node {
            path: String::new(),
            ctx,
            key_in: None,
        }
    }

    fn finish<E: de::Error>(self, value: Value) -> Result<Value, E> {
        if let (Some(counts), Some((at, occurrence))) = (self.key_in, &self.ctx.stop_at) {
            if at.map_path == self.path
                && at.key == value
                && counts.get(&value).copied().unwrap_or(0) == *occurrence
            {
                return Err(E::custom(STOP));
            }
        }
        Ok(value)
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        self.finish(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        self.finish(Value::Number(i.into()))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        self.finish(Value::Number(u.into()))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        self.finish(Value::Number(f.into()))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        self.finish(Value::String(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        self.finish(Value::String(s))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.finish(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.finish(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let item = Node {
                path: format!("{}[{}]", self.path, items.len()),
                ctx: &mut *self.ctx,
                key_in: None,
            };
            match seq.next_element_seed(item)? {
                Some(v) => items.push(v),
                None => break,
            }
        }
        self.finish(Value::Sequence(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Mapping::new();
        let mut counts: HashMap<Value, usize> = HashMap::new();
        loop {
            let key_node = Node {
                path: self.path.clone(),
                ctx: &mut *self.ctx,
                key_in: Some(&counts),
            };
            let Some(key) = map.next_key_seed(key_node)? else {
                break;
            };
            let path = child_path(&self.path, &key);
            let seen = counts.entry(key.clone()).or_insert(0);
            let occurrence = *seen;
            *seen += 1;
            if occurrence == 0 {
                let value = map.next_value_seed(Node {
                    path,
                    ctx: &mut *self.ctx,
                    key_in: None,
                })?;
                out.insert(key, value);
            } else {
                map.next_value::<IgnoredAny>()?;
                if self.ctx.stop_at.is_none() {
                    self.ctx.found.push(Found {
                        at: KeyAt {
                            map_path: self.path.clone(),
                            key,
                        },
                        occurrence,
                        path,
                    });
                }
            }
        }
        self.finish(Value::Mapping(out))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (tag, contents): (String, _) = data.variant()?;
        if tag.is_empty() {
            return Err(de::Error::custom("empty YAML tag is not allowed"));
        }
        let value = contents.newtype_variant_seed(Node {
            path: self.path.clone(),
            ctx: &mut *self.ctx,
            key_in: None,
        })?;
        self.finish(Value::Tagged(Box::new(TaggedValue {
            tag: Tag::new(tag),
            value,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_values_as_serde_yaml() {
        let text = "a: [1, -2, 3.5, true, ~, '', x]\nb: !t {c: .inf}\n1: 0x1f\n";
        let want: Value = serde_yaml::from_str(text).unwrap();
        let (got, dups) = parse(text).unwrap();
        assert_eq!(got, want);
        assert!(dups.is_empty());
        assert_eq!(parse("").unwrap().0, Value::Null);
    }

    #[test]
    fn duplicates_have_paths_and_lines_and_the_first_wins() {
        let text = "a:\n  x: 1\n  y: [{k: 1, k: 2}]\n  x: 2\nb: 1\na: {}\n";
        let (v, dups) = parse(text).unwrap();
        assert_eq!(v["a"]["x"], Value::from(1));
        assert_eq!(v["a"]["y"][0]["k"], Value::from(1));
        let got: Vec<(&str, Option<usize>, Option<usize>)> = dups
            .iter()
            .map(|d| (d.path.as_str(), d.first_line, d.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a.y[0].k", Some(3), Some(3)),
                ("a.x", Some(2), Some(4)),
                ("a", Some(1), Some(6)),
            ]
        );
    }
}
