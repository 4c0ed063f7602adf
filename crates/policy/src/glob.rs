//! Model allow-lists: exact names and globs with `*` (any run of characters, including none)
//! and `?` (exactly one character). `claude-*` allows every Claude model; an empty list allows
//! every model. Matching is case-sensitive, as model names are.

/// Whether `model` is allowed by `patterns` (an empty list allows everything).
pub fn model_allowed(patterns: &[String], model: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| glob_match(p, model))
}

/// Iterative wildcard match with single-star backtracking: O(len(pattern) · len(text)) worst
/// case, no recursion, no allocation.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_and_glob_patterns() {
        let allowed = list(&["gpt-4o", "claude-*"]);
        assert!(model_allowed(&allowed, "gpt-4o"));
        assert!(!model_allowed(&allowed, "gpt-4o-mini"));
        assert!(model_allowed(&allowed, "claude-sonnet-4-5"));
        assert!(model_allowed(&allowed, "claude-"));
        assert!(!model_allowed(&allowed, "Claude-sonnet"));
        assert!(!model_allowed(&allowed, "my-claude-x"));
        assert!(model_allowed(&[], "anything"));
    }

    #[test]
    fn question_mark_and_multiple_stars() {
        assert!(glob_match("gpt-?o", "gpt-4o"));
        assert!(!glob_match("gpt-?o", "gpt-40o"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(glob_match("a*b*c", "abc"));
        assert!(!glob_match("a*b*c", "acb"));
        assert!(glob_match("*-mini", "gpt-4.1-mini"));
        assert!(glob_match("openai/*", "openai/gpt-4o"));
        assert!(!glob_match("", "x"));
        assert!(glob_match("", ""));
        assert!(glob_match("modèle-?", "modèle-é"));
    }

    #[test]
    fn pathological_patterns_stay_linear_enough() {
        let text = "a".repeat(2_000);
        assert!(!glob_match(&"*a".repeat(50).replace("*a*a", "*a*b"), &text));
    }
}
