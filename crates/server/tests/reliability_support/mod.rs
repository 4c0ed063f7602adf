//! Shared by the reliability_* tests: one-fake-per-provider configs, request helpers that
//! return status, headers and body, and readers for `/metrics` and `/health/ready`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]
#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use switchyard_server::Running;
use switchyard_testkit::{faults, openai, FakeUpstream, Recorded, Reply};

use crate::common::{client, url};

/// A config with one OpenAI provider per `(name, base_url)` (base URLs end in `/v1`) and the
/// given `models:` section (indented as it would be under `models:`).
pub fn config(providers: &[(&str, String)], models: &str) -> String {
    let mut out = String::from("providers:\n");
    for (name, base) in providers {
        out.push_str(&format!(
            "  {name}:\n    kind: openai\n    api_key: sk-provider-secret\n    base_url: {base}\n"
        ));
    }
    out.push_str("models:\n");
    out.push_str(models);
    out
}

/// `FAKE_URL/v1`.
pub fn v1(fake: &FakeUpstream) -> String {
    format!("{}/v1", fake.url())
}

/// A healthy OpenAI upstream: a completion (or a stream when asked) naming `model`.
pub fn healthy(model: &'static str) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    move |r| {
        if faults::wants_stream(r) {
            Reply::sse(openai::chat_stream_events(
                model,
                &["Hello", " from ", model],
                false,
                Duration::ZERO,
            ))
        } else {
            Reply::json(
                200,
                openai::chat_json(model, &format!("answer from {model}"), 5, 3),
            )
        }
    }
}

/// OpenAI's 500 body.
pub fn server_error() -> Reply {
    openai::error(
        500,
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        "server_error",
    )
}

/// OpenAI's 429 body.
pub fn rate_limited() -> Reply {
    openai::error(
        429,
        "Rate limit reached for gpt-4o in organization org-123 on requests per min (RPM): Limit 500, Used 500, Requested 1.",
        "requests",
        "rate_limit_exceeded",
    )
}

pub fn chat_body(model: &str, content: &str) -> String {
    json!({"model": model, "messages": [{"role": "user", "content": content}]}).to_string()
}

pub fn stream_body(model: &str, content: &str) -> String {
    json!({"model": model, "stream": true, "messages": [{"role": "user", "content": content}]})
        .to_string()
}

/// A finished response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub elapsed: Duration,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// `x-switchyard-attempts` as a number.
    pub fn attempts(&self) -> Option<u32> {
        self.header("x-switchyard-attempts")?.parse().ok()
    }
    /// `x-switchyard-provider`.
    pub fn provider(&self) -> &str {
        self.header("x-switchyard-provider").unwrap_or("")
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| panic!("not JSON: {}", self.text))
    }
}

/// POSTs `body` to `/v1/chat/completions` with extra headers and reads the whole response.
pub async fn post_with(g: &Running, body: &str, headers: &[(&str, &str)]) -> Resp {
    let started = Instant::now();
    let mut req = client()
        .post(url(g, "/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    assert!(
        !text.contains("sk-provider-secret"),
        "provider key leaked: {text}"
    );
    Resp {
        status,
        headers,
        text,
        elapsed: started.elapsed(),
    }
}

pub async fn post(g: &Running, body: &str) -> Resp {
    post_with(g, body, &[]).await
}

/// A chat completion for `model`.
pub async fn ask(g: &Running, model: &str) -> Resp {
    post(g, &chat_body(model, "hi")).await
}

/// The `data:` payloads of an SSE body, and whether it is one clean OpenAI stream: a role chunk
/// first, no error object, exactly one `[DONE]` at the end.
pub fn clean_stream(text: &str) -> Result<Vec<String>, String> {
    let data = crate::common::sse_data(text);
    if data.last().map(String::as_str) != Some("[DONE]") {
        return Err(format!("does not end with [DONE]: {text}"));
    }
    if data.iter().filter(|d| *d == "[DONE]").count() != 1 {
        return Err(format!("more than one [DONE]: {text}"));
    }
    if data.iter().any(|d| d.contains("\"error\"")) {
        return Err(format!("carries an error: {text}"));
    }
    let first: Value = serde_json::from_str(&data[0]).map_err(|_| format!("bad first: {text}"))?;
    if first["choices"][0]["delta"]["role"] != "assistant" {
        return Err(format!("first chunk is not the role chunk: {text}"));
    }
    if data
        .iter()
        .filter(|d| d.contains("\"role\":\"assistant\""))
        .count()
        != 1
    {
        return Err(format!(
            "more than one role chunk (two streams spliced?): {text}"
        ));
    }
    Ok(data)
}

/// The content deltas of an OpenAI stream, joined.
pub fn stream_text(data: &[String]) -> String {
    data.iter()
        .filter(|d| d.as_str() != "[DONE]")
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

/// The `/metrics` text.
pub async fn metrics(g: &Running) -> String {
    client()
        .get(url(g, "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of the sample `name{labels}` (labels in any order, all of them given).
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let (set, value) = match rest.strip_prefix('{') {
            Some(r) => {
                let (set, value) = r.split_once("} ")?;
                (set, value)
            }
            None => ("", rest.strip_prefix(' ')?),
        };
        let mut have: Vec<(&str, &str)> = set
            .split(',')
            .filter(|p| !p.is_empty())
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k, v.trim_matches('"')))
            .collect();
        have.sort_unstable();
        let mut want = labels.to_vec();
        want.sort_unstable();
        (have == want).then(|| value.trim().parse().ok()).flatten()
    })
}

/// The `/health/ready` entry of `target` (`provider/model`) of `model`.
pub async fn health_target(g: &Running, model: &str, target: &str) -> Value {
    let v: Value = client()
        .get(url(g, "/health/ready"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["model"] == model && t["target"] == target)
        .cloned()
        .unwrap_or_else(|| panic!("no target {model}:{target} in {v}"))
}

/// Polls `check` every 20 ms until it holds or `within` passes; returns whether it held.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let end = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `t` as an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`), for `Retry-After`.
pub fn http_date(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days.rem_euclid(7)) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}
