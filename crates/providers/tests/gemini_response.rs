//! Gemini response decoding against documented response bodies.
#![cfg(test)]

use std::path::PathBuf;

use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use switchyard_providers::gemini::decode_response;
use switchyard_types::{ContentPart, ErrorClass, FinishReason, ToolCall, Usage};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/gemini")
            .join(name),
    )
    .unwrap()
}

#[test]
fn text_response() {
    let r = decode_response(&fixture("response_text.json")).unwrap();
    assert_eq!(r.id, "mCt3aPHjFJ6Z7dcPkYnS-QI");
    assert_eq!(r.model, "gemini-2.5-flash");
    assert!(r.created > 1_600_000_000);
    assert_eq!(r.provider_stop_reason.as_deref(), Some("STOP"));
    assert_eq!(r.choices.len(), 1);
    let c = &r.choices[0];
    assert_eq!(c.index, 0);
    assert_eq!(c.finish_reason, Some(FinishReason::Stop));
    assert_eq!(c.message.content, vec![ContentPart::text("Sunny, 18 C.")]);
    assert_eq!(
        r.usage,
        Some(Usage {
            prompt_tokens: 44,
            completion_tokens: 12,
            ..Usage::default()
        })
    );
}

#[test]
fn function_calls_get_ids_signatures_and_tool_calls_reason() {
    let r = decode_response(&fixture("response_function_call.json")).unwrap();
    let c = &r.choices[0];
    assert_eq!(c.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(r.provider_stop_reason.as_deref(), Some("STOP"));
    let calls: Vec<&ToolCall> = c
        .message
        .content
        .iter()
        .filter_map(|p| match p {
            ContentPart::ToolCall(t) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].id, "call_0");
    assert_eq!(calls[1].id, "call_1");
    assert_eq!(calls[0].name, "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(&calls[0].arguments).unwrap(),
        json!({"city": "Paris"})
    );
    assert_eq!(
        serde_json::from_str::<Value>(&calls[1].arguments).unwrap(),
        json!({"city": "London", "unit": "C"})
    );
    assert_eq!(
        calls[0].signature.as_deref(),
        Some("CiQBcsjafNcmZ2VhUbt1Q2qUZ0Jzd5mF0Q==")
    );
    assert_eq!(calls[1].signature, None);
    assert_eq!(
        r.usage,
        Some(Usage {
            prompt_tokens: 71,
            completion_tokens: 118,
            reasoning_tokens: 88,
            ..Usage::default()
        })
    );
}

#[test]
fn thoughts_signatures_and_cached_usage() {
    let r = decode_response(&fixture("response_thoughts.json")).unwrap();
    assert_eq!(
        r.choices[0].message.content,
        vec![
            ContentPart::Reasoning {
                text: "**Counting primes**\n\nSuppose finitely many primes exist...".into(),
                signature: Some("EpgDCpUDAdHtim9ThoughtSig==".into()),
            },
            ContentPart::text("Assume p1..pn are all primes; "),
            ContentPart::Reasoning {
                text: String::new(),
                signature: Some("Eo4BCosBTextSig==".into()),
            },
            ContentPart::text("then p1*...*pn + 1 has a prime factor outside the list."),
        ]
    );
    assert_eq!(
        r.usage,
        Some(Usage {
            prompt_tokens: 1215,
            completion_tokens: 350,
            cached_tokens: 1024,
            cache_write_tokens: 0,
            reasoning_tokens: 310,
        })
    );
    assert_eq!(r.usage.unwrap().total(), 1565);
}

#[test]
fn safety_stop_is_content_filter() {
    let r = decode_response(&fixture("response_safety.json")).unwrap();
    assert_eq!(
        r.choices[0].finish_reason,
        Some(FinishReason::ContentFilter)
    );
    assert!(r.choices[0].message.content.is_empty());
    assert_eq!(r.provider_stop_reason.as_deref(), Some("SAFETY"));
}

#[test]
fn blocked_prompt_is_an_error() {
    let e = decode_response(&fixture("response_blocked_prompt.json")).unwrap_err();
    assert_eq!(e.class, ErrorClass::ContentFiltered);
    assert_eq!(e.status, 400);
    assert!(e.message.contains("PROHIBITED_CONTENT"), "{}", e.message);
}

#[test]
fn several_candidates_with_logprobs() {
    let r = decode_response(&fixture("response_candidates.json")).unwrap();
    assert_eq!(r.choices.len(), 2);
    assert_eq!(r.choices[0].index, 0);
    assert_eq!(r.choices[1].index, 1);
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Stop));
    assert_eq!(r.choices[1].finish_reason, Some(FinishReason::Length));
    assert_eq!(
        r.choices[0].logprobs,
        Some(
            json!({"content": [{"token": "Hi", "logprob": -0.05, "bytes": null, "top_logprobs": [
                {"token": "Hi", "logprob": -0.05, "bytes": null},
                {"token": "Hello", "logprob": -3.1, "bytes": null}
            ]}]})
        )
    );
    assert_eq!(r.choices[1].logprobs, None);
}

fn with_reason(reason: &str, parts: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": reason, "index": 0}],
        "modelVersion": "gemini-2.5-flash",
        "responseId": "r"
    }))
    .unwrap()
}

#[test]
fn every_finish_reason() {
    let text = json!([{"text": "x"}]);
    let ok = [
        ("STOP", FinishReason::Stop),
        ("MAX_TOKENS", FinishReason::Length),
        ("SAFETY", FinishReason::ContentFilter),
        ("RECITATION", FinishReason::ContentFilter),
        ("BLOCKLIST", FinishReason::ContentFilter),
        ("PROHIBITED_CONTENT", FinishReason::ContentFilter),
        ("SPII", FinishReason::ContentFilter),
        ("IMAGE_SAFETY", FinishReason::ContentFilter),
    ];
    for (reason, expected) in ok {
        let r = decode_response(&with_reason(reason, text.clone())).unwrap();
        assert_eq!(r.choices[0].finish_reason, Some(expected), "{reason}");
        assert_eq!(r.provider_stop_reason.as_deref(), Some(reason));
    }
    let failing = [
        ("LANGUAGE", ErrorClass::BadRequest, 400),
        ("OTHER", ErrorClass::ServerError, 502),
        ("MALFORMED_FUNCTION_CALL", ErrorClass::ServerError, 502),
        ("UNEXPECTED_TOOL_CALL", ErrorClass::ServerError, 502),
        ("TOO_MANY_TOOL_CALLS", ErrorClass::ServerError, 502),
        ("FINISH_REASON_UNSPECIFIED", ErrorClass::ServerError, 502),
        ("SOMETHING_NEW", ErrorClass::ServerError, 502),
    ];
    for (reason, class, status) in failing {
        let e = decode_response(&with_reason(reason, text.clone())).unwrap_err();
        assert_eq!((e.class, e.status), (class, status), "{reason}");
        assert!(e.message.contains(reason), "{}", e.message);
    }
    // A function call with MAX_TOKENS stays `length`.
    let call = json!([{"functionCall": {"name": "f", "args": {}}}]);
    let r = decode_response(&with_reason("MAX_TOKENS", call.clone())).unwrap();
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Length));
    let r = decode_response(&with_reason("STOP", call)).unwrap();
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::ToolCalls));
}

#[test]
fn function_call_ids_from_gemini_are_kept() {
    let body = with_reason(
        "STOP",
        json!([{"functionCall": {"id": "fc-77", "name": "f", "args": {"a": [1, 2]}}}, {"functionCall": {"name": "g"}}]),
    );
    let r = decode_response(&body).unwrap();
    let ids: Vec<(String, String)> = r.choices[0]
        .message
        .content
        .iter()
        .filter_map(|p| match p {
            ContentPart::ToolCall(t) => Some((t.id.clone(), t.arguments.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        ids,
        vec![
            ("fc-77".to_string(), r#"{"a":[1,2]}"#.to_string()),
            ("call_1".to_string(), "{}".to_string())
        ]
    );
}

#[test]
fn malformed_bodies_are_errors_not_panics() {
    for body in [
        &b"not json"[..],
        b"{\"candidates\": 5}",
        b"{}",
        b"[]",
        b"{\"candidates\": [{\"content\": {\"parts\": [{\"text\": 7}]}}]}",
    ] {
        let e = decode_response(body).unwrap_err();
        assert_eq!(
            e.class,
            ErrorClass::ServerError,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}
