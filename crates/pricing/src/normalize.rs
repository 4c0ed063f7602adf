//! Model-id normalisation for price lookup.
//!
//! Providers name one priced model in many ways. [`candidates`] turns a model id into an ordered
//! list of ids to try, most specific first; the table takes the first that it knows. Each rule
//! below is applied in this order, and every rule that changes the id adds a candidate:
//!
//! 1. lowercase, surrounding whitespace removed;
//! 2. resource paths: everything up to the last `models/` is dropped
//!    (`models/gemini-2.5-pro`, `publishers/google/models/gemini-2.5-pro`);
//! 3. Bedrock inference-profile prefixes: a leading `us.`, `us-gov.`, `eu.`, `apac.`, `au.`,
//!    `ca.`, `jp.` or `global.` followed by `vendor.model` is dropped
//!    (`us.anthropic.claude-…` → `anthropic.claude-…`);
//! 4. Bedrock version suffixes: a trailing `:N` and then a trailing `-vN`
//!    (`…-20250929-v1:0` → `…-20250929`);
//! 5. Vertex version suffixes: everything from `@` (`claude-sonnet-4-5@20250929`);
//! 6. a trailing `-latest` (`claude-3-7-sonnet-latest`);
//! 7. a trailing date: `-YYYYMMDD` (Anthropic) or `-YYYY-MM-DD` (OpenAI);
//! 8. a trailing short version: `-MM-YYYY` (Cohere), `-NNNN` (Mistral `YYMM`, OpenAI `MMDD`)
//!    or `-NNN` (Gemini `-001`).
//!
//! Exact ids in the table always win over normalised ones, so a dated snapshot with its own price
//! (`gpt-4o-2024-05-13`) is shipped as its own entry. A model that normalises to nothing known
//! has no price: the caller flags it, it is never priced at zero.

/// Ordered, de-duplicated candidate ids for `model`, the original (lowercased) id first.
pub fn candidates(model: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(6);
    let push = |s: &str, out: &mut Vec<String>| {
        if !s.is_empty() && out.last().map(String::as_str) != Some(s) {
            out.push(s.to_owned());
        }
    };
    let mut id = model.trim().to_ascii_lowercase();
    push(&id, &mut out);

    if let Some(pos) = id.rfind("models/") {
        id = id[pos + "models/".len()..].to_owned();
        push(&id, &mut out);
    }
    id = strip_bedrock_region(&id).to_owned();
    push(&id, &mut out);
    id = strip_bedrock_version(&id).to_owned();
    push(&id, &mut out);
    if let Some(pos) = id.find('@') {
        id.truncate(pos);
        push(&id, &mut out);
    }
    if let Some(rest) = id.strip_suffix("-latest") {
        id = rest.to_owned();
        push(&id, &mut out);
    }
    id = strip_date(&id).to_owned();
    push(&id, &mut out);
    id = strip_short_version(&id).to_owned();
    push(&id, &mut out);
    out
}

const BEDROCK_REGIONS: [&str; 8] = [
    "us.", "us-gov.", "eu.", "apac.", "au.", "ca.", "jp.", "global.",
];

fn strip_bedrock_region(id: &str) -> &str {
    for prefix in BEDROCK_REGIONS {
        if let Some(rest) = id.strip_prefix(prefix) {
            // Only a profile prefix when what follows is itself `vendor.model`.
            if rest.contains('.') {
                return rest;
            }
        }
    }
    id
}

fn strip_bedrock_version(id: &str) -> &str {
    let mut id = id;
    if let Some((head, tail)) = id.rsplit_once(':') {
        if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            id = head;
        }
    }
    if let Some((head, tail)) = id.rsplit_once("-v") {
        if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            id = head;
        }
    }
    id
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Splits `id` into (head, last `n` bytes) when it ends in `-` + `n` bytes.
fn split_tail(id: &str, n: usize) -> Option<(&str, &str)> {
    let len = id.len();
    if len < n + 2 || !id.is_char_boundary(len - n - 1) {
        return None;
    }
    let (head, tail) = id.split_at(len - n - 1);
    let tail = tail.strip_prefix('-')?;
    (!head.is_empty() && tail.is_ascii()).then_some((head, tail))
}

fn strip_date(id: &str) -> &str {
    // -YYYYMMDD
    if let Some((head, tail)) = split_tail(id, 8) {
        if all_digits(tail) && tail.starts_with("20") {
            return head;
        }
    }
    // -YYYY-MM-DD
    if let Some((head, tail)) = split_tail(id, 10) {
        let b = tail.as_bytes();
        if b[4] == b'-'
            && b[7] == b'-'
            && all_digits(&tail[..4])
            && all_digits(&tail[5..7])
            && all_digits(&tail[8..])
        {
            return head;
        }
    }
    id
}

fn strip_short_version(id: &str) -> &str {
    // -MM-YYYY
    if let Some((head, tail)) = split_tail(id, 7) {
        if tail.as_bytes()[2] == b'-' && all_digits(&tail[..2]) && all_digits(&tail[3..]) {
            return head;
        }
    }
    for n in [4, 3] {
        if let Some((head, tail)) = split_tail(id, n) {
            if all_digits(tail) {
                return head;
            }
        }
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last(model: &str) -> String {
        candidates(model).pop().unwrap_or_default()
    }

    #[test]
    fn dated_ids_reduce_to_their_family() {
        assert_eq!(last("claude-sonnet-4-5-20250929"), "claude-sonnet-4-5");
        assert_eq!(last("gpt-4o-mini-2024-07-18"), "gpt-4o-mini");
        assert_eq!(last("o3-2025-04-16"), "o3");
        assert_eq!(last("claude-3-7-sonnet-latest"), "claude-3-7-sonnet");
        assert_eq!(last("gemini-2.0-flash-001"), "gemini-2.0-flash");
        assert_eq!(last("mistral-large-2411"), "mistral-large");
        assert_eq!(last("command-r-08-2024"), "command-r");
        assert_eq!(last("claude-sonnet-4-5@20250929"), "claude-sonnet-4-5");
        assert_eq!(last("models/gemini-2.5-pro"), "gemini-2.5-pro");
        assert_eq!(last("GPT-4o"), "gpt-4o");
    }

    #[test]
    fn bedrock_ids_reduce_to_their_base() {
        assert_eq!(
            candidates("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            vec![
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "anthropic.claude-sonnet-4-5-20250929-v1:0",
                "anthropic.claude-sonnet-4-5-20250929",
                "anthropic.claude-sonnet-4-5",
            ]
        );
        assert_eq!(
            last("meta.llama3-3-70b-instruct-v1:0"),
            "meta.llama3-3-70b-instruct"
        );
        assert_eq!(
            candidates("amazon.titan-embed-text-v2:0")[0],
            "amazon.titan-embed-text-v2:0"
        );
    }

    #[test]
    fn plain_ids_are_left_alone() {
        assert_eq!(candidates("gpt-4o"), vec!["gpt-4o"]);
        assert_eq!(candidates("gpt-4.1-nano"), vec!["gpt-4.1-nano"]);
        assert_eq!(candidates("embed-v4.0"), vec!["embed-v4.0"]);
        // Digits that are part of the family name are not a date.
        assert_eq!(candidates("claude-opus-4-1"), vec!["claude-opus-4-1"]);
        assert_eq!(candidates(""), Vec::<String>::new());
    }

    #[test]
    fn non_ascii_does_not_panic() {
        let _ = candidates("modèle-é-2024");
        let _ = candidates("ü");
        let _ = candidates("-1234");
    }
}
