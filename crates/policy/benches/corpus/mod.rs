//! Prompt texts shared by the token-counting benchmark (`benches/tokens.rs`) and the exactness
//! test in `src/tokens.rs`.

// Each of the two takes only some of the texts.
#![allow(dead_code)]

/// One paragraph of ordinary English prose, about 1 KB.
pub const ENGLISH_PARAGRAPH: &str = "When the quarterly report arrived on Monday morning, the \
operations team discovered that the new caching layer had reduced the average response time by \
almost forty percent, although the improvement was uneven across regions. Customers in Europe \
saw the largest gains, while requests from South America still travelled through an older proxy \
that nobody had remembered to upgrade. Maria, who had led the migration, suggested that they \
spend the rest of the week auditing every route, writing down which services depended on which, \
and removing the configuration flags that had been left behind by earlier experiments. \"We \
can't keep guessing,\" she said during the stand-up, \"and we shouldn't ship anything else until \
we know where the traffic actually goes.\" Her manager agreed, but asked for a short summary by \
Wednesday so that the finance department could estimate the savings. By Friday afternoon the \
team had mapped 212 routes, retired 37 flags, and found two services that were still calling a \
database nobody owned.";

/// About 1 KB of ordinary English prose.
pub fn english_1k() -> String {
    ENGLISH_PARAGRAPH.to_owned()
}

/// About 8 KB of ordinary English prose: the paragraph eight times, as separate paragraphs.
pub fn english_8k() -> String {
    [ENGLISH_PARAGRAPH; 8].join("\n\n")
}

/// Chinese and Japanese prose, about 1 KB of UTF-8.
pub const CJK_1K: &str = "人工智能网关位于应用程序和模型提供商之间，负责身份验证、速率限制、\
预算控制以及请求路由。当一个团队同时使用多个模型时，网关可以根据延迟、成本和可用性自动选择最合适\
的目标，并在某个提供商出现故障时切换到备用线路。为了准确地执行每分钟令牌数的限制，网关需要在\
请求发出之前估算提示词的长度，而这一步必须足够快，不能成为瓶颈。管理员还可以为每个团队设置\
月度预算。\n\
このゲートウェイは、アプリケーションとモデル提供者の間に置かれ、認証、レート制限、予算管理、\
そしてリクエストのルーティングを担当します。複数のモデルを使うチームにとって、遅延やコスト、\
可用性に応じて最適な宛先を自動的に選べることは大きな利点です。障害が起きた場合には、\
予備の経路へ切り替えます。";

/// About 2 KB of JSON and code, as a tool-using prompt would carry.
pub const CODE_2K: &str = r#"{"model":"gpt-4o","messages":[{"role":"system","content":"You are a careful assistant."},{"role":"user","content":"Refactor this function and explain the change."}],"tools":[{"type":"function","function":{"name":"run_tests","description":"Runs the test suite of a crate","parameters":{"type":"object","properties":{"crate":{"type":"string"},"filter":{"type":"string","nullable":true},"release":{"type":"boolean","default":false}},"required":["crate"]}}}],"temperature":0.2,"max_tokens":1024}

```rust
use std::collections::HashMap;

/// Groups log lines by their level and counts them.
pub fn count_levels(lines: &[&str]) -> HashMap<String, usize> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for line in lines {
        let Some((level, _rest)) = line.split_once(' ') else {
            continue;
        };
        if !matches!(level, "TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR") {
            continue;
        }
        *counts.entry(level.to_ascii_lowercase()).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_known_levels_only() {
        let lines = ["INFO started", "WARN slow disk", "INFO ready", "noise", "ERROR failed: 0x1f"];
        let counts = count_levels(&lines);
        assert_eq!(counts.get("info"), Some(&2));
        assert_eq!(counts.get("warn"), Some(&1));
        assert_eq!(counts.len(), 3);
    }
}
```

```python
def retry(fn, attempts=3, delay_s=0.25):
    for i in range(attempts):
        try:
            return fn()
        except TimeoutError as err:  # noqa: PERF203
            if i == attempts - 1:
                raise
            time.sleep(delay_s * 2 ** i)
```

Tool result: {"status":"ok","results":[{"id":"c-101","name":"routing","passed":42,"failed":0,"duration_ms":1873},{"id":"c-102","name":"policy","passed":17,"failed":1,"duration_ms":922,"failures":["window::rolls_over_at_midnight"]}],"next_page":null}
"#;

/// The pathological prompt of the end-to-end benchmark: one 901-byte pre-tokenized word.
pub fn pathological_1k() -> String {
    format!("Hello {}", "x".repeat(900))
}

/// Emoji, including skin-tone modifiers and zero-width-joiner sequences.
pub const EMOJI: &str = "Great job 👍🏽🎉🎉! The family 👨‍👩‍👧‍👦 loved it ❤️🔥 — see you 🇯🇵 soon 😀😃😄.";

/// Text that looks like special tokens, which must be counted as ordinary text.
pub const SPECIAL: &str =
    "<|endoftext|>Hello<|im_start|>user\n<|im_end|> <|fim_prefix|>x<|endofprompt|>";

/// Whitespace, digits and contractions, where pre-tokenization has its edge cases.
pub const EDGES: &str = "line one\n\n\n   indented\r\n\tTab   end   \n1234567 3.14159 +1-(555)\
    012-3456 I'M don't YOU'LL we've   \u{00a0}nbsp\u{2003}em   x  \n \n";
