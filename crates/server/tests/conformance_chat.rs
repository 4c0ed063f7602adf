//! The provider conformance suite, chat scenarios: every scenario of
//! `conformance/scenarios.rs` stamped over every provider kind, through the real server with
//! the OpenAI client dialect. `mock` (in-process, no upstream to script) has its own tests at
//! the end.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;
#[macro_use]
mod conformance;

use conformance::anthropic_like::{ANTHROPIC, VERTEX_CLAUDE};
use conformance::bedrock::Bedrock;
use conformance::cohere::Cohere;
use conformance::gemini_like::{GEMINI, VERTEX_GEMINI};
use conformance::openai_like::{OpenAiKind, OpenAiLike};

conformance!(openai => crate::OpenAiLike(crate::OpenAiKind::OpenAi);
    extra: [content_filter_finish, cached_usage, forwards_vendor_fields]);
conformance!(azure_openai => crate::OpenAiLike(crate::OpenAiKind::Azure);
    extra: [content_filter_finish, cached_usage, forwards_vendor_fields]);
conformance!(openai_compatible => crate::OpenAiLike(crate::OpenAiKind::Compatible);
    extra: [content_filter_finish, forwards_vendor_fields]);
conformance!(mistral => crate::OpenAiLike(crate::OpenAiKind::Mistral);
    extra: [dropped_param, rejected_param]);
conformance!(anthropic => crate::ANTHROPIC;
    extra: [content_filter_finish, cached_usage, dropped_param, rejected_param]);
conformance!(vertex_claude => crate::VERTEX_CLAUDE;
    extra: [content_filter_finish, cached_usage, dropped_param, rejected_param]);
conformance!(gemini => crate::GEMINI;
    extra: [content_filter_finish, cached_usage, dropped_param, rejected_param]);
conformance!(vertex_gemini => crate::VERTEX_GEMINI;
    extra: [content_filter_finish, cached_usage, dropped_param, rejected_param]);
conformance!(bedrock => crate::Bedrock;
    extra: [content_filter_finish, cached_usage, dropped_param, rejected_param]);
conformance!(cohere => crate::Cohere;
    extra: [dropped_param, rejected_param]);

/// `mock`: answers in-process ("Mock response to: <last user text>", word-count usage), so the
/// scenarios that script an upstream answer do not apply; what a client sees still must.
mod mock {
    use serde_json::{json, Value};

    use crate::common::{client, gateway, url};
    use crate::conformance::{fold_stream, usage_of};

    const CONFIG: &str = "providers:\n  p:\n    kind: mock\nmodels:\n  m:\n    targets:\n      - { provider: p, model: mock-1 }\n";

    async fn post(g: &switchyard_server::Running, body: Value) -> reqwest::Response {
        client()
            .post(url(g, "/v1/chat/completions"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn text_system_multi_turn_and_usage() {
        let g = gateway(CONFIG).await;
        let resp = post(
            &g,
            json!({"model": "m", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "My name is Ana."},
            {"role": "assistant", "content": "Hi Ana."},
            {"role": "user", "content": "What is my name?"}]}),
        )
        .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["x-switchyard-provider"], "p");
        assert_eq!(resp.headers()["x-switchyard-model"], "mock-1");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(
            v["choices"][0]["message"]["content"],
            "Mock response to: What is my name?"
        );
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
        // 2 + 4 + 2 + 4 words in, 7 word tokens out.
        assert_eq!(usage_of(&v["usage"]), (12, 7, 19));
    }

    #[tokio::test]
    async fn image_input_is_accepted() {
        let g = gateway(CONFIG).await;
        let resp = post(&g, json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Describe"},
            {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{}", crate::conformance::PIXEL_PNG)}}]}]}))
        .await;
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(
            v["choices"][0]["message"]["content"],
            "Mock response to: Describe"
        );
    }

    #[tokio::test]
    async fn stream_with_and_without_usage() {
        let g = gateway(CONFIG).await;
        for include in [false, true] {
            let resp = post(
                &g,
                json!({"model": "m", "stream": true,
                "stream_options": {"include_usage": include},
                "messages": [{"role": "user", "content": "stream me"}]}),
            )
            .await;
            assert_eq!(resp.status(), 200);
            let text = resp.text().await.unwrap();
            let chunks: Vec<Value> = crate::common::sse_data(&text)
                .into_iter()
                .map(|d| serde_json::from_str(&d).unwrap_or(Value::String(d)))
                .collect();
            let st = fold_stream(&chunks);
            assert_eq!(st.text, "Mock response to: stream me");
            assert_eq!(st.finish, vec!["stop"]);
            assert!(st.done);
            if include {
                assert_eq!(st.usage.len(), 1);
                assert_eq!(usage_of(&st.usage[0]), (2, 5, 7));
            } else {
                assert!(st.usage.is_empty());
            }
        }
    }

    #[tokio::test]
    async fn rate_limit_and_server_error_classes() {
        for (status, typ) in [(429, "rate_limit_error"), (500, "server_error")] {
            let g = gateway(&format!("providers:\n  p:\n    kind: mock\n    mock: {{ failure_rate: 1.0, failure_status: {status} }}\nmodels:\n  m:\n    targets:\n      - {{ provider: p, model: mock-1 }}\n")).await;
            let resp = post(
                &g,
                json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}),
            )
            .await;
            assert_eq!(resp.status(), status);
            if status == 429 {
                assert_eq!(resp.headers()["retry-after"], "1");
            }
            let v: Value = resp.json().await.unwrap();
            assert_eq!(v["error"]["type"], typ, "{v}");
            assert_eq!(
                v["error"]["message"],
                format!("mock provider failure ({status})")
            );
        }
    }
}
