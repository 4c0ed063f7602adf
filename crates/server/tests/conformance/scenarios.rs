//! The chat scenarios of the conformance suite, written once for every provider: each sends an
//! OpenAI-dialect request (as the openai SDK builds it) through the real gateway to the
//! provider's fake, then asserts both the upstream request (where each field landed, read by
//! the provider's [`Wire`] view) and what the client got.

use serde_json::{json, Value};

use super::{
    assert_route_headers, fold_stream, usage_of, weather_tool, Fin, Item, JsonMode, Provider, Rig,
    Script, Turn, PIXEL_PNG,
};

pub use super::extras::*;

pub(crate) fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

fn turn(role: &str, texts: &[&str]) -> Turn {
    Turn {
        role: role.into(),
        items: texts.iter().map(|t| Item::Text((*t).into())).collect(),
    }
}

pub(crate) fn message(v: &Value) -> &Value {
    &v["choices"][0]["message"]
}

/// Asserts a non-streamed answer is a well-formed `chat.completion`, returning its message.
pub(crate) fn completion<'a>(
    p: &dyn Provider,
    status: u16,
    h: &http::HeaderMap,
    v: &'a Value,
) -> &'a Value {
    assert_eq!(status, 200, "{}: {v}", p.label());
    assert_route_headers(p, h);
    assert_eq!(v["object"], "chat.completion");
    assert!(v["id"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
    assert!(v["model"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
    assert_eq!(v["choices"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(message(v)["role"], "assistant");
    message(v)
}

pub(crate) fn finish(v: &Value) -> &str {
    v["choices"][0]["finish_reason"]
        .as_str()
        .unwrap_or("<none>")
}

fn tool_calls(v: &Value) -> Vec<(String, String, Value)> {
    message(v)["tool_calls"]
        .as_array()
        .unwrap_or_else(|| panic!("no tool_calls in {v}"))
        .iter()
        .map(|tc| {
            assert_eq!(tc["type"], "function");
            let args = tc["function"]["arguments"]
                .as_str()
                .unwrap_or_else(|| panic!("arguments must be a JSON string: {tc}"));
            (
                tc["id"].as_str().unwrap().to_string(),
                tc["function"]["name"].as_str().unwrap().to_string(),
                serde_json::from_str(args).unwrap_or_else(|e| panic!("arguments {args}: {e}")),
            )
        })
        .collect()
}

/// The ids the client must see for `n` tool calls: the provider's own, or distinct made-up
/// ones when it sends none.
fn assert_call_ids(p: &dyn Provider, ids: &[String]) {
    for (i, id) in ids.iter().enumerate() {
        match p.call_id(i) {
            Some(native) => assert_eq!(id, native, "{}: the provider's call id", p.label()),
            None => assert!(!id.is_empty()),
        }
    }
    let mut unique = ids.to_vec();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "call ids are distinct: {ids:?}");
}

pub async fn text(p: &dyn Provider) {
    let s = Script::text(&["Hi there"]).usage(11, 7);
    let rig = Rig::start(p, p.reply(&s, false, false)).await;
    let body = json!({"model": "m", "messages": [user("Hello")]});
    let (status, h, v) = rig.chat(&body).await;
    let m = completion(p, status, &h, &v);
    assert_eq!(m["content"], "Hi there");
    assert_eq!(finish(&v), "stop");
    assert_eq!(usage_of(&v["usage"]), (11, 7, 18));

    let r = rig.only_request();
    p.check_head(&r, false);
    let w = p.view(&r);
    assert!(w.system.is_empty());
    assert_eq!(w.turns, vec![turn("user", &["Hello"])]);
    assert!(!w.stream);
    if p.pass_through() {
        let sent = serde_json::to_string(&body).unwrap();
        let expected = sent.replace(r#""model":"m""#, &format!(r#""model":"{}""#, p.model()));
        assert_eq!(
            std::str::from_utf8(&r.body).unwrap(),
            expected,
            "byte-for-byte but the model"
        );
    }
}

pub async fn text_stream(p: &dyn Provider) {
    let s = Script::text(&["Hi", " there", "!"]);
    let rig = Rig::start(p, p.reply(&s, true, false)).await;
    let body = json!({"model": "m", "messages": [user("Hello")], "stream": true});
    let (status, h, chunks) = rig.chat_stream(&body).await;
    assert_eq!(status, 200, "{}: {chunks:?}", p.label());
    assert_eq!(h["content-type"], "text/event-stream");
    assert_route_headers(p, &h);
    let st = fold_stream(&chunks);
    assert_eq!(st.text, "Hi there!");
    assert_eq!(st.finish, vec!["stop"]);
    assert!(
        st.usage.is_empty(),
        "no usage chunk unless asked: {chunks:?}"
    );
    assert!(
        chunks
            .iter()
            .all(|c| c.get("usage").is_none_or(Value::is_null)),
        "no usage unless asked: {chunks:?}"
    );
    assert!(st.done && st.errors.is_empty(), "{chunks:?}");
    assert!(
        st.foreign.is_empty(),
        "{}: every event is an OpenAI `chat.completion.chunk`; got {:?}",
        p.label(),
        st.foreign
    );

    let r = rig.only_request();
    p.check_head(&r, true);
    let w = p.view(&r);
    assert!(w.stream);
    assert_eq!(w.turns, vec![turn("user", &["Hello"])]);
}

pub async fn system_prompt(p: &dyn Provider) {
    let rig = Rig::start(p, p.reply(&Script::text(&["Hi."]), false, false)).await;
    let body = json!({"model": "m", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
        user("Hello")]});
    let (status, h, v) = rig.chat(&body).await;
    assert_eq!(completion(p, status, &h, &v)["content"], "Hi.");
    let r = rig.only_request();
    let w = p.view(&r);
    assert_eq!(
        w.system,
        vec!["Be brief.", "Answer in French."],
        "{}",
        p.label()
    );
    assert_eq!(
        w.turns,
        vec![turn("user", &["Hello"])],
        "system is not a turn"
    );
    if p.pass_through() {
        assert_eq!(r.json()["messages"][0]["role"], "system");
    }
}

pub async fn multi_turn(p: &dyn Provider) {
    let rig = Rig::start(
        p,
        p.reply(&Script::text(&["Your name is Ana."]), false, false),
    )
    .await;
    let body = json!({"model": "m", "messages": [
        user("My name is Ana."),
        {"role": "assistant", "content": "Nice to meet you, Ana."},
        user("What is my name?")]});
    let (status, h, v) = rig.chat(&body).await;
    assert_eq!(
        completion(p, status, &h, &v)["content"],
        "Your name is Ana."
    );
    let w = p.view(&rig.only_request());
    assert_eq!(
        w.turns,
        vec![
            turn("user", &["My name is Ana."]),
            turn("assistant", &["Nice to meet you, Ana."]),
            turn("user", &["What is my name?"]),
        ]
    );

    // Two user messages in a row: kept in order (merged into one turn where the provider wants
    // alternating roles; the views assert alternation for those).
    let body = json!({"model": "m", "messages": [user("Hello."), user("Are you there?")]});
    let (status, h, v) = rig.chat(&body).await;
    completion(p, status, &h, &v);
    let reqs = rig.fake().requests();
    let w = p.view(reqs.last().unwrap());
    assert_eq!(w.texts("user"), vec!["Hello.", "Are you there?"]);
}

pub async fn image_input(p: &dyn Provider) {
    let rig = Rig::start(p, p.reply(&Script::text(&["A red pixel."]), false, false)).await;
    let body = json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in this image?"},
        {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PIXEL_PNG}")}}]}]});
    let (status, h, v) = rig.chat(&body).await;
    assert_eq!(completion(p, status, &h, &v)["content"], "A red pixel.");
    let w = p.view(&rig.only_request());
    assert_eq!(w.turns.len(), 1);
    assert_eq!(
        w.turns[0].items,
        vec![
            Item::Text("What is in this image?".into()),
            Item::Image {
                media_type: "image/png".into(),
                data: PIXEL_PNG.into()
            },
        ],
        "{}",
        p.label()
    );
}

fn assert_weather_tool(p: &dyn Provider, w: &super::Wire) {
    assert_eq!(w.tools.len(), 1, "{}: {:?}", p.label(), w.tools);
    let t = &w.tools[0];
    assert_eq!(t.name, "get_weather");
    assert_eq!(
        t.description.as_deref(),
        Some("Get the current weather in a city")
    );
    let city_type = t.params["properties"]["city"]["type"]
        .as_str()
        .unwrap_or("");
    assert_eq!(city_type.to_ascii_lowercase(), "string", "{}", t.params);
    assert_eq!(t.params["required"], json!(["city"]), "{}", t.params);
}

pub async fn tool_call(p: &dyn Provider) {
    let s = Script::calls(&[("get_weather", &[r#"{"city":"Paris"}"#])]);
    let rig = Rig::start(p, p.reply(&s, false, false)).await;
    let mut body = json!({"model": "m", "messages": [user("What is the weather in Paris?")],
                          "tools": [weather_tool()], "tool_choice": "auto"});
    let (status, h, v) = rig.chat(&body).await;
    let m = completion(p, status, &h, &v);
    assert!(m["content"].is_null() || m["content"] == "", "{m}");
    assert_eq!(finish(&v), "tool_calls");
    let calls = tool_calls(&v);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].1.as_str(), &calls[0].2),
        ("get_weather", &json!({"city": "Paris"}))
    );
    assert_call_ids(p, &[calls[0].0.clone()]);
    assert_eq!(usage_of(&v["usage"]), (30, 12, 42));

    let w = p.view(&rig.only_request());
    assert_weather_tool(p, &w);
    assert_eq!(w.tool_choice, p.tool_choice("auto"), "{}", p.label());

    body["tool_choice"] = json!("required");
    let (status, h, v) = rig.chat(&body).await;
    completion(p, status, &h, &v);
    let reqs = rig.fake().requests();
    let w = p.view(reqs.last().unwrap());
    assert_eq!(w.tool_choice, p.tool_choice("required"), "{}", p.label());
}

fn assistant_calls_with_text(text: &str, calls: &[(&str, &str)]) -> Value {
    let mut m = assistant_calls(calls);
    m["content"] = json!(text);
    m
}

fn assistant_calls(calls: &[(&str, &str)]) -> Value {
    let tc: Vec<Value> = calls
        .iter()
        .map(|(id, city)| {
            json!({"id": id, "type": "function", "function": {
            "name": "get_weather", "arguments": format!(r#"{{"city":"{city}"}}"#)}})
        })
        .collect();
    json!({"role": "assistant", "content": null, "tool_calls": tc})
}

/// Asserts calls and results reached the provider paired: same ids on both sides (the client's
/// own, unless the provider needs another id format), or the function name where the provider
/// has no ids; results after their call.
fn assert_paired(p: &dyn Provider, w: &super::Wire, client_ids: &[&str], contents: &[&str]) {
    let calls = w.calls();
    let results = w.results();
    assert_eq!(
        calls.len(),
        client_ids.len(),
        "{}: {:?}",
        p.label(),
        w.turns
    );
    assert_eq!(
        results.len(),
        client_ids.len(),
        "{}: {:?}",
        p.label(),
        w.turns
    );
    for (k, (c, r)) in calls.iter().zip(&results).enumerate() {
        assert_eq!(c.name, "get_weather");
        assert!(r.turn > c.turn, "the result comes after its call");
        assert!(r.role == "tool" || r.role == "user", "{}", r.role);
        assert!(
            r.content.contains(contents[k]),
            "{} ~ {}",
            r.content,
            contents[k]
        );
        match (&c.id, &r.id) {
            (Some(c), Some(r)) => {
                assert_eq!(c, r, "call and result ids match");
                if p.label() != "mistral" {
                    assert_eq!(c, client_ids[k], "the client's id is kept");
                }
            }
            (None, None) => assert_eq!(r.name.as_deref(), Some("get_weather")),
            other => panic!("ids on one side only: {other:?}"),
        }
    }
}

pub async fn tool_result_round_trip(p: &dyn Provider) {
    let s = Script::text(&["It is 18 C and sunny in Paris."]);
    let rig = Rig::start(p, p.reply(&s, false, false)).await;
    let body = json!({"model": "m", "tools": [weather_tool()], "messages": [
        user("What is the weather in Paris?"),
        assistant_calls_with_text("Let me check.", &[("call_abc123", "Paris")]),
        {"role": "tool", "tool_call_id": "call_abc123", "content": "18 C and sunny"}]});
    let (status, h, v) = rig.chat(&body).await;
    assert_eq!(
        completion(p, status, &h, &v)["content"],
        "It is 18 C and sunny in Paris."
    );
    assert_eq!(finish(&v), "stop");
    let w = p.view(&rig.only_request());
    assert_paired(p, &w, &["call_abc123"], &["18 C and sunny"]);
    let call_turn = &w.turns[w.calls()[0].turn];
    assert_eq!(call_turn.role, "assistant");
    assert_eq!(
        call_turn.items.first(),
        Some(&Item::Text("Let me check.".into())),
        "the text beside the call is kept, before it"
    );
    assert_eq!(w.calls()[0].args, json!({"city": "Paris"}));
    assert_weather_tool(p, &w);
}

pub async fn parallel_tool_calls(p: &dyn Provider) {
    let s = Script::calls(&[
        ("get_weather", &[r#"{"city":"Paris"}"#]),
        ("get_weather", &[r#"{"city":"Tokyo"}"#]),
    ]);
    let rig = Rig::start(p, p.reply(&s, false, false)).await;
    let body = json!({"model": "m", "messages": [user("Weather in Paris and Tokyo?")],
                      "tools": [weather_tool()]});
    let (status, h, v) = rig.chat(&body).await;
    completion(p, status, &h, &v);
    assert_eq!(finish(&v), "tool_calls");
    let calls = tool_calls(&v);
    assert_eq!(calls.len(), 2, "{v}");
    assert_eq!(calls[0].2, json!({"city": "Paris"}));
    assert_eq!(calls[1].2, json!({"city": "Tokyo"}));
    let ids: Vec<String> = calls.iter().map(|c| c.0.clone()).collect();
    assert_call_ids(p, &ids);
}

pub async fn parallel_tool_results(p: &dyn Provider) {
    let rig = Rig::start(
        p,
        p.reply(&Script::text(&["Paris 18 C, Tokyo 25 C."]), false, false),
    )
    .await;
    let body = json!({"model": "m", "tools": [weather_tool()], "messages": [
        user("Weather in Paris and Tokyo?"),
        assistant_calls(&[("call_1", "Paris"), ("call_2", "Tokyo")]),
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
        {"role": "tool", "tool_call_id": "call_2", "content": "25 C"}]});
    let (status, h, v) = rig.chat(&body).await;
    assert_eq!(
        completion(p, status, &h, &v)["content"],
        "Paris 18 C, Tokyo 25 C."
    );
    let w = p.view(&rig.only_request());
    assert_paired(p, &w, &["call_1", "call_2"], &["18 C", "25 C"]);
    let calls = w.calls();
    assert_eq!(
        calls[0].turn, calls[1].turn,
        "both calls in one assistant turn"
    );
    let results = w.results();
    if results[0].role == "user" {
        assert_eq!(
            results[0].turn, results[1].turn,
            "both results in one user turn"
        );
    }
}

pub async fn stream_tool_call_deltas(p: &dyn Provider) {
    let s = Script::calls(&[("get_weather", &[r#"{"ci"#, r#"ty": "Pa"#, r#"ris"}"#])]);
    let rig = Rig::start(p, p.reply(&s, true, false)).await;
    let body = json!({"model": "m", "messages": [user("Weather in Paris?")],
                      "tools": [weather_tool()], "stream": true});
    let (status, _h, chunks) = rig.chat_stream(&body).await;
    assert_eq!(status, 200, "{}: {chunks:?}", p.label());
    let st = fold_stream(&chunks);
    assert!(st.errors.is_empty() && st.done, "{chunks:?}");
    assert_eq!(st.calls.len(), 1, "{chunks:?}");
    let (index, id, name, args) = &st.calls[0];
    assert_eq!((*index, name.as_str()), (0, "get_weather"));
    let parsed: Value = serde_json::from_str(args).unwrap_or_else(|e| panic!("{args}: {e}"));
    assert_eq!(parsed, json!({"city": "Paris"}));
    assert_call_ids(p, std::slice::from_ref(id));
    assert_eq!(st.finish, vec!["tool_calls"]);
    let w = p.view(&rig.only_request());
    assert!(w.stream);
    assert_weather_tool(p, &w);
}

pub async fn stream_parallel_tool_calls(p: &dyn Provider) {
    let s = Script::calls(&[
        ("get_weather", &[r#"{"city":"#, r#""Paris"}"#]),
        ("get_weather", &[r#"{"city":"#, r#""Tokyo"}"#]),
    ]);
    let rig = Rig::start(p, p.reply(&s, true, true)).await;
    let body = json!({"model": "m", "messages": [user("Weather in Paris and Tokyo?")],
                      "tools": [weather_tool()], "stream": true,
                      "stream_options": {"include_usage": true}});
    let (status, _h, chunks) = rig.chat_stream(&body).await;
    assert_eq!(status, 200, "{}: {chunks:?}", p.label());
    let st = fold_stream(&chunks);
    assert_eq!(st.calls.len(), 2, "{chunks:?}");
    assert_eq!((st.calls[0].0, st.calls[1].0), (0, 1));
    let args: Vec<Value> = st
        .calls
        .iter()
        .map(|c| serde_json::from_str(&c.3).unwrap_or_else(|e| panic!("{}: {e}", c.3)))
        .collect();
    assert_eq!(
        args,
        vec![json!({"city": "Paris"}), json!({"city": "Tokyo"})]
    );
    let ids: Vec<String> = st.calls.iter().map(|c| c.1.clone()).collect();
    assert_call_ids(p, &ids);
    assert_eq!(st.finish, vec!["tool_calls"]);
    assert_eq!(st.usage.len(), 1, "{chunks:?}");
    assert_eq!(usage_of(&st.usage[0]), (30, 12, 42));
}

/// A tool without parameters, called: arguments must still be a JSON object text (`{}`), not
/// an empty string, both in JSON answers and concatenated from stream deltas.
pub async fn tool_call_without_arguments(p: &dyn Provider) {
    let tool = json!({"type": "function", "function": {"name": "get_time",
        "description": "The current time", "parameters": {"type": "object", "properties": {}}}});
    let s = Script::calls(&[("get_time", p.no_args_fragments())]);
    let body = json!({"model": "m", "messages": [user("What time is it?")], "tools": [tool]});
    let rig = Rig::start(p, p.reply(&s, false, false)).await;
    let (status, h, v) = rig.chat(&body).await;
    completion(p, status, &h, &v);
    let calls = tool_calls(&v);
    assert_eq!(
        (calls[0].1.as_str(), &calls[0].2),
        ("get_time", &json!({})),
        "{}",
        p.label()
    );

    let rig = Rig::start(p, p.reply(&s, true, false)).await;
    let mut sbody = body.clone();
    sbody["stream"] = json!(true);
    let (status, _h, chunks) = rig.chat_stream(&sbody).await;
    assert_eq!(status, 200, "{chunks:?}");
    let st = fold_stream(&chunks);
    assert_eq!(st.calls.len(), 1, "{chunks:?}");
    let args: Value = serde_json::from_str(&st.calls[0].3).unwrap_or_else(|e| {
        panic!(
            "{}: streamed arguments {:?} are not JSON: {e}",
            p.label(),
            st.calls[0].3
        )
    });
    assert_eq!(args, json!({}));
    assert_eq!(st.finish, vec!["tool_calls"]);
}

const JSON_ANSWER: &str = r#"{"answer": 42}"#;

fn answer_schema() -> Value {
    json!({"type": "object", "properties": {"answer": {"type": "integer"}},
           "required": ["answer"], "additionalProperties": false})
}

pub async fn json_object(p: &dyn Provider) {
    let rig = Rig::start(p, p.json_reply(JSON_ANSWER, false)).await;
    let body = json!({"model": "m", "response_format": {"type": "json_object"}, "messages": [
        {"role": "system", "content": "Answer in JSON."}, user("Give me a JSON object with the key answer.")]});
    let (status, h, v) = rig.chat(&body).await;
    let m = completion(p, status, &h, &v);
    let content: Value = serde_json::from_str(m["content"].as_str().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{m}: {e}"));
    assert_eq!(content, json!({"answer": 42}));
    assert_eq!(finish(&v), "stop");
    assert!(
        m.get("tool_calls")
            .is_none_or(|t| t.as_array().is_some_and(Vec::is_empty)),
        "{m}"
    );
    let w = p.view(&rig.only_request());
    assert_eq!(w.json, Some(JsonMode::Object), "{}", p.label());
    assert!(w.tools.is_empty(), "no client tools: {:?}", w.tools);
}

fn assert_schema(p: &dyn Provider, w: &super::Wire) {
    match &w.json {
        Some(JsonMode::Schema(s)) => {
            assert_eq!(
                s["properties"]["answer"]["type"],
                "integer",
                "{}: {s}",
                p.label()
            );
            assert_eq!(s["required"], json!(["answer"]));
        }
        other => panic!("{}: expected the schema upstream, got {other:?}", p.label()),
    }
}

fn json_schema_body(stream: bool) -> Value {
    json!({"model": "m", "stream": stream, "messages": [user("What is the answer?")],
           "response_format": {"type": "json_schema", "json_schema": {
               "name": "answer", "strict": true, "schema": answer_schema()}}})
}

pub async fn json_schema(p: &dyn Provider) {
    let rig = Rig::start(p, p.json_reply(JSON_ANSWER, false)).await;
    let (status, h, v) = rig.chat(&json_schema_body(false)).await;
    let m = completion(p, status, &h, &v);
    let content: Value = serde_json::from_str(m["content"].as_str().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{m}: {e}"));
    assert_eq!(content, json!({"answer": 42}));
    assert_eq!(finish(&v), "stop");
    assert_schema(p, &p.view(&rig.only_request()));
}

pub async fn json_schema_stream(p: &dyn Provider) {
    let rig = Rig::start(p, p.json_reply(JSON_ANSWER, true)).await;
    let (status, _h, chunks) = rig.chat_stream(&json_schema_body(true)).await;
    assert_eq!(status, 200, "{}: {chunks:?}", p.label());
    let st = fold_stream(&chunks);
    assert!(
        st.calls.is_empty(),
        "the JSON answer is text, not a tool call: {chunks:?}"
    );
    let content: Value =
        serde_json::from_str(&st.text).unwrap_or_else(|e| panic!("{}: {e}", st.text));
    assert_eq!(content, json!({"answer": 42}));
    assert_eq!(st.finish, vec!["stop"]);
    let w = p.view(&rig.only_request());
    assert!(w.stream);
    assert_schema(p, &w);
}

pub async fn stop_sequences(p: &dyn Provider) {
    let s = Script::text(&["One, two, three"]).finish(Fin::StopSequence);
    let rig = Rig::start(p, p.reply(&s, false, false)).await;
    let body = json!({"model": "m", "messages": [user("Count to five.")], "stop": ["END", "STOP"]});
    let (status, h, v) = rig.chat(&body).await;
    completion(p, status, &h, &v);
    assert_eq!(finish(&v), "stop", "a stop sequence is finish_reason stop");
    assert_eq!(
        p.view(&rig.only_request()).stop,
        vec!["END", "STOP"],
        "{}",
        p.label()
    );

    let body = json!({"model": "m", "messages": [user("Count to five.")], "stop": "END"});
    let (status, h, v) = rig.chat(&body).await;
    completion(p, status, &h, &v);
    let reqs = rig.fake().requests();
    assert_eq!(p.view(reqs.last().unwrap()).stop, vec!["END"]);
}

pub async fn max_tokens(p: &dyn Provider) {
    let s = Script::text(&["Once upon a"]).finish(Fin::Length);
    let rig = Rig::start(p, p.reply(&s, false, false)).await;
    let body = json!({"model": "m", "messages": [user("Tell me a story.")], "max_tokens": 50});
    let (status, h, v) = rig.chat(&body).await;
    completion(p, status, &h, &v);
    assert_eq!(finish(&v), "length");
    assert_eq!(
        p.view(&rig.only_request()).max_tokens,
        Some(50),
        "{}",
        p.label()
    );

    let body =
        json!({"model": "m", "messages": [user("Tell me a story.")], "max_completion_tokens": 60});
    let (status, h, v) = rig.chat(&body).await;
    completion(p, status, &h, &v);
    let reqs = rig.fake().requests();
    assert_eq!(
        p.view(reqs.last().unwrap()).max_tokens,
        Some(60),
        "{}",
        p.label()
    );

    let s = Script::text(&["Once", " upon a"]).finish(Fin::Length);
    let rig = Rig::start(p, p.reply(&s, true, false)).await;
    let body = json!({"model": "m", "messages": [user("Tell me a story.")], "max_tokens": 50,
                      "stream": true});
    let (status, _h, chunks) = rig.chat_stream(&body).await;
    assert_eq!(status, 200, "{chunks:?}");
    let st = fold_stream(&chunks);
    assert_eq!(st.text, "Once upon a");
    assert_eq!(st.finish, vec!["length"]);
}

pub async fn temperature(p: &dyn Provider) {
    let rig = Rig::start(p, p.reply(&Script::text(&["Sure."]), false, false)).await;
    for t in [0.3, 1.5] {
        let body = json!({"model": "m", "messages": [user("Hi")], "temperature": t});
        let (status, h, v) = rig.chat(&body).await;
        completion(p, status, &h, &v);
        let reqs = rig.fake().requests();
        let w = p.view(reqs.last().unwrap());
        assert_eq!(
            w.temperature,
            Some(p.temperature(t)),
            "{}: temperature {t}",
            p.label()
        );
    }
}

pub async fn usage_stream(p: &dyn Provider) {
    let s = Script::text(&["Hel", "lo"]).usage(21, 9);
    let rig = Rig::start(p, p.reply(&s, true, true)).await;
    let body = json!({"model": "m", "messages": [user("Hello")], "stream": true,
                      "stream_options": {"include_usage": true}});
    let (status, _h, chunks) = rig.chat_stream(&body).await;
    assert_eq!(status, 200, "{}: {chunks:?}", p.label());
    let st = fold_stream(&chunks);
    assert_eq!(st.text, "Hello");
    assert_eq!(st.usage.len(), 1, "one usage chunk: {chunks:?}");
    assert_eq!(usage_of(&st.usage[0]), (21, 9, 30));
    let n = chunks.len();
    assert_eq!(chunks[n - 1], "[DONE]");
    assert!(
        chunks[n - 2]["choices"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "the usage chunk comes last, with no choices: {chunks:?}"
    );
    for c in chunks[..n - 2].iter().filter(|c| !st.foreign.contains(c)) {
        assert_eq!(
            c.get("usage"),
            Some(&Value::Null),
            "other chunks carry usage:null: {c}"
        );
    }
}
