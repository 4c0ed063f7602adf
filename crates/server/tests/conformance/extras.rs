//! Conformance scenarios stamped only over the providers that have the feature: a native
//! content-filter finish reason, prompt-cache usage, a parameter the provider cannot honour
//! (dropped and named, or refused), or the OpenAI-wire pass-through of vendor fields.

use serde_json::json;

use super::scenarios::{completion, finish, user};
use super::{fold_stream, usage_of, Fin, Provider, Rig, Script};

pub async fn content_filter_finish(p: &dyn Provider) {
    let s = Script::text(&["I can't help with that."]).finish(Fin::ContentFilter);
    let rig = Rig::start(p, p.reply(&s, false, false)).await;
    let (status, h, v) = rig
        .chat(&json!({"model": "m", "messages": [user("Something bad.")]}))
        .await;
    completion(p, status, &h, &v);
    assert_eq!(finish(&v), "content_filter", "{}: {v}", p.label());

    let rig = Rig::start(p, p.reply(&s, true, false)).await;
    let body = json!({"model": "m", "messages": [user("Something bad.")], "stream": true});
    let (status, _h, chunks) = rig.chat_stream(&body).await;
    assert_eq!(status, 200);
    assert_eq!(
        fold_stream(&chunks).finish,
        vec!["content_filter"],
        "{chunks:?}"
    );
}

pub async fn cached_usage(p: &dyn Provider) {
    let reply = p
        .cached_reply(40, 7, 30, false)
        .expect("provider reports cache usage");
    let rig = Rig::start(p, reply).await;
    let (status, h, v) = rig
        .chat(&json!({"model": "m", "messages": [user("Hello again")]}))
        .await;
    completion(p, status, &h, &v);
    assert_eq!(usage_of(&v["usage"]), (40, 7, 47), "{}: {v}", p.label());
    assert_eq!(
        v["usage"]["prompt_tokens_details"]["cached_tokens"], 30,
        "{v}"
    );

    let reply = p
        .cached_reply(40, 7, 30, true)
        .expect("provider reports cache usage");
    let rig = Rig::start(p, reply).await;
    let body = json!({"model": "m", "messages": [user("Hello again")], "stream": true,
                      "stream_options": {"include_usage": true}});
    let (status, _h, chunks) = rig.chat_stream(&body).await;
    assert_eq!(status, 200, "{chunks:?}");
    let st = fold_stream(&chunks);
    assert_eq!(st.usage.len(), 1, "{chunks:?}");
    assert_eq!(
        usage_of(&st.usage[0]),
        (40, 7, 47),
        "{}: {chunks:?}",
        p.label()
    );
    assert_eq!(
        st.usage[0]["prompt_tokens_details"]["cached_tokens"], 30,
        "{chunks:?}"
    );
}

pub async fn dropped_param(p: &dyn Provider) {
    let (param, fields) = p
        .unsupported_probe()
        .expect("provider has an unsupported parameter");
    let rig = Rig::start(p, p.reply(&Script::text(&["Hi."]), false, false)).await;
    let mut body = json!({"model": "m", "messages": [user("Hi")]});
    for (k, v) in fields.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, h, v) = rig.chat(&body).await;
    completion(p, status, &h, &v);
    let dropped = h
        .get("x-switchyard-dropped-params")
        .unwrap_or_else(|| panic!("{}: no x-switchyard-dropped-params header", p.label()))
        .to_str()
        .unwrap();
    assert!(
        dropped.split(',').any(|d| d == param),
        "{dropped} names {param}"
    );
    let upstream = rig.only_request().json();
    assert!(
        upstream.get(param).is_none(),
        "{param} was not sent: {upstream}"
    );
}

pub async fn rejected_param(p: &dyn Provider) {
    let (param, fields) = p
        .unsupported_probe()
        .expect("provider has an unsupported parameter");
    let reply = p.reply(&Script::text(&["Hi."]), false, false);
    let rig = Rig::with(p, move |_| reply.clone(), "unsupported_params: reject", "").await;
    let mut body = json!({"model": "m", "messages": [user("Hi")]});
    for (k, v) in fields.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, _h, v) = rig.chat(&body).await;
    assert_eq!(status, 400, "{}: {v}", p.label());
    assert_eq!(v["error"]["param"], param, "{v}");
    assert_eq!(v["error"]["code"], "unsupported_parameter", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains(param),
        "{v}"
    );
    assert_eq!(rig.fake().calls(), 0, "nothing was sent upstream");
}

pub async fn forwards_vendor_fields(p: &dyn Provider) {
    let rig = Rig::start(p, p.reply(&Script::text(&["Hi."]), false, false)).await;
    let body = json!({"model": "m", "messages": [user("Hi")], "logit_bias": {"50256": -100},
                      "seed": 7, "x_vendor_option": {"keep": [1, "two"]}});
    let (status, h, v) = rig.chat(&body).await;
    completion(p, status, &h, &v);
    assert!(h.get("x-switchyard-dropped-params").is_none());
    let upstream = rig.only_request().json();
    for k in ["logit_bias", "seed", "x_vendor_option"] {
        assert_eq!(upstream[k], body[k], "{k} forwarded as given");
    }
}
