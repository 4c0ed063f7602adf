//! `${VAR}` and `${VAR:-default}` substitution inside YAML string scalars, after parsing, so a
//! value with YAML-special characters cannot change the document's structure. `$${` escapes a
//! literal `${`. A referenced variable that is unset (and has no default) is an error at the
//! scalar's path.

use serde_yaml::Value;

/// Substitutes in place; returns `(path, variable)` for each unset variable.
pub fn substitute(
    value: &mut Value,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<(String, String)>,
) {
    match value {
        Value::String(s) => {
            if s.contains('$') {
                match expand(s, lookup) {
                    Ok(out) => *s = out,
                    Err(var) => errors.push((path.to_string(), var)),
                }
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                substitute(item, &format!("{path}[{i}]"), lookup, errors);
            }
        }
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                substitute(v, &crate::yaml::child_path(path, k), lookup, errors);
            }
        }
        Value::Tagged(t) => substitute(&mut t.value, path, lookup, errors),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Expands one string. `Err(var)` names the first unset variable without a default.
pub fn expand(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
            continue;
        }
        if let Some(body_start) = after.strip_prefix("${") {
            if let Some(end) = body_start.find('}') {
                let expr = &body_start[..end];
                let (name, default) = match expr.split_once(":-") {
                    Some((n, d)) => (n, Some(d)),
                    None => (expr, None),
                };
                match lookup(name).filter(|v| !v.is_empty() || default.is_none()) {
                    Some(v) => out.push_str(&v),
                    None => match default {
                        Some(d) => out.push_str(d),
                        None => return Err(name.to_string()),
                    },
                }
                rest = &body_start[end + 1..];
                continue;
            }
        }
        out.push('$');
        rest = &after[1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "A" => Some("alpha".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_forms() {
        assert_eq!(expand("x-${A}-y", &env).unwrap(), "x-alpha-y");
        assert_eq!(expand("${B:-dflt}", &env).unwrap(), "dflt");
        assert_eq!(expand("${EMPTY:-dflt}", &env).unwrap(), "dflt");
        assert_eq!(expand("${EMPTY}", &env).unwrap(), "");
        assert_eq!(expand("$${A} $5", &env).unwrap(), "${A} $5");
        assert_eq!(expand("${B}", &env).unwrap_err(), "B");
        assert_eq!(expand("${unterminated", &env).unwrap(), "${unterminated");
    }

    #[test]
    fn reports_paths() {
        let mut v: Value = serde_yaml::from_str("a:\n  b: [x, '${NOPE}']\n").unwrap();
        let mut errs = Vec::new();
        substitute(&mut v, "", &env, &mut errs);
        assert_eq!(errs, vec![("a.b[1]".to_string(), "NOPE".to_string())]);
    }
}
