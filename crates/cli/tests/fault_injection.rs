//! Fault injection against the real `switchyard` binary under load. Four fake OpenAI-compatible
//! upstreams serve one public model: A healthy, B healthy until it is killed mid-run (listener
//! and connections dropped), C answering every request with 429 and `retry-after: 1`, D slow
//! (1.5 s before its first byte). 300 requests, 16 at a time, half of them streaming: with A
//! always available, not one client request may fail, every stream must end cleanly with
//! `[DONE]`, and `/metrics` must show B's connection failures and its breaker opening.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use switchyard_testkit::faults::{self, KillableUpstream};
use switchyard_testkit::{openai, FakeUpstream, Recorded, Reply};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");
const REQUESTS: usize = 300;
const CONCURRENCY: usize = 16;
/// B is killed once this many requests have finished.
const KILL_AFTER: usize = 90;

/// An OpenAI-compatible answer naming `model`: a completion, or a stream when asked.
fn answer(model: &'static str) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    move |r| {
        if faults::wants_stream(r) {
            Reply::sse(openai::chat_stream_events(
                model,
                &["Hello", " from ", model],
                true,
                Duration::ZERO,
            ))
        } else {
            Reply::json(
                200,
                openai::chat_json(model, &format!("Hello from {model}"), 9, 3),
            )
        }
    }
}

/// The gateway process; killed when dropped (a failing test must not leave it running).
struct Gateway {
    child: Child,
    base: String,
    _dir: TempDir,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Writes the config, starts `switchyard serve`, waits until `/health/ready` answers.
async fn start_gateway(http: &reqwest::Client, upstreams: &[(&str, String)]) -> Gateway {
    let dir = std::env::temp_dir().join(format!(
        "switchyard-fault-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let dir = TempDir(dir);
    let port = free_port();
    let mut yaml = format!("listen: 127.0.0.1:{port}\ndatabase: \"sqlite::memory:\"\nproviders:\n");
    for (name, base) in upstreams {
        yaml.push_str(&format!(
            "  {name}:\n    kind: openai_compatible\n    api_key: sk-fake-{name}\n    base_url: {base}/v1\n"
        ));
    }
    yaml.push_str(
        "models:
  smart:
    retries: { max_attempts: 4, base_delay_ms: 20, max_delay_ms: 200 }
    breaker: { consecutive_failures: 3, cooldown_ms: 60000 }
    targets:
",
    );
    for (name, _) in upstreams {
        yaml.push_str(&format!("      - {{ provider: {name}, model: gpt-4o }}\n"));
    }
    let path = dir.0.join("switchyard.yaml");
    std::fs::write(&path, &yaml).unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&path)
        .current_dir(&dir.0)
        .env_remove("SWITCHYARD_MASTER_KEY")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Keep draining stderr so the gateway never blocks on a full pipe; keep the lines for
    // the failure message.
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("ERROR") || line.contains("panicked") {
                let _ = std::io::Write::write_all(
                    &mut std::io::stderr(),
                    format!("gateway: {line}\n").as_bytes(),
                );
            }
        }
    });
    let gw = Gateway {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = http
            .get(format!("{}/health/ready", gw.base))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if ready {
            break gw;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway did not become ready:\n{yaml}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One client request; `Err` describes how it failed.
async fn one_request(http: &reqwest::Client, base: &str, i: usize) -> Result<(), String> {
    let stream = i % 2 == 1;
    let body = json!({"model": "smart", "stream": stream,
                      "messages": [{"role": "user", "content": format!("request {i}")}]});
    let resp = http
        .post(format!("{base}/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("#{i}: transport error {e}"))?;
    let status = resp.status().as_u16();
    let provider = resp
        .headers()
        .get("x-switchyard-provider")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = resp
        .text()
        .await
        .map_err(|e| format!("#{i} ({provider}): body broke: {e}"))?;
    if status != 200 {
        return Err(format!("#{i}: status {status}: {text}"));
    }
    if stream {
        let data: Vec<&str> = text
            .split("\n\n")
            .filter_map(|ev| ev.lines().find_map(|l| l.strip_prefix("data: ")))
            .collect();
        let clean = data.last() == Some(&"[DONE]")
            && data.iter().filter(|d| **d == "[DONE]").count() == 1
            && !data.iter().any(|d| d.contains("\"error\""));
        let content: String = data
            .iter()
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .filter_map(|v| {
                v["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_string)
            })
            .collect();
        if !clean || !content.starts_with("Hello from ") {
            return Err(format!("#{i} ({provider}): unclean stream: {text}"));
        }
    } else {
        let v: Value =
            serde_json::from_str(&text).map_err(|_| format!("#{i}: not JSON: {text}"))?;
        let content = v["choices"][0]["message"]["content"].as_str().unwrap_or("");
        if !content.starts_with("Hello from ") {
            return Err(format!("#{i} ({provider}): unexpected body: {text}"));
        }
    }
    Ok(())
}

/// The value of `name{labels}` in a Prometheus text body (labels in any order).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix('{')?;
        let (set, value) = rest.split_once("} ")?;
        let mut have: Vec<(&str, &str)> = set
            .split(',')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k, v.trim_matches('"')))
            .collect();
        have.sort_unstable();
        let mut want = labels.to_vec();
        want.sort_unstable();
        (have == want).then(|| value.trim().parse().ok()).flatten()
    })
}

async fn scrape(http: &reqwest::Client, base: &str) -> String {
    match http.get(format!("{base}/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_failed_requests_while_a_healthy_target_exists() {
    let a = FakeUpstream::start(answer("model-a")).await;
    let b = KillableUpstream::start(answer("model-b")).unwrap();
    let c = FakeUpstream::start(|_| {
        openai::error(
            429,
            "Rate limit reached for gpt-4o in organization org-123 on requests per min (RPM): Limit 3, Used 3, Requested 1.",
            "requests",
            "rate_limit_exceeded",
        )
        .with_header("retry-after", "1")
    })
    .await;
    let slow = answer("model-d");
    let d =
        FakeUpstream::start(move |r| faults::delayed(slow(r), Duration::from_millis(1500))).await;

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let gw = start_gateway(
        &http,
        &[
            ("a", a.url()),
            ("b", b.fake.url()),
            ("c", c.url()),
            ("d", d.url()),
        ],
    )
    .await;
    let base = Arc::new(gw.base.clone());
    let b = Arc::new(b);

    // Scrape /metrics while the load runs: did B's breaker show open (2) at some point?
    let b_label: &[(&str, &str)] = &[("model", "smart"), ("target", "b/gpt-4o")];
    let done = Arc::new(AtomicBool::new(false));
    let seen_open = Arc::new(AtomicBool::new(false));
    let scraper = {
        let (http, base, done, seen_open) =
            (http.clone(), base.clone(), done.clone(), seen_open.clone());
        let label = b_label.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>();
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                let m = scrape(&http, &base).await;
                if sample(&m, "switchyard_target_breaker_state", &label) == Some(2.0) {
                    seen_open.store(true, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    let started = Instant::now();
    let finished = Arc::new(AtomicUsize::new(0));
    let b_calls_at_kill = Arc::new(AtomicUsize::new(usize::MAX));
    let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..REQUESTS {
        let permit = permits.clone().acquire_owned().await.unwrap();
        let (http, base, finished, b, at_kill) = (
            http.clone(),
            base.clone(),
            finished.clone(),
            b.clone(),
            b_calls_at_kill.clone(),
        );
        tasks.spawn(async move {
            let r = one_request(&http, &base, i).await;
            drop(permit);
            if finished.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
                b.kill();
                at_kill.store(b.fake.calls(), Ordering::SeqCst);
            }
            r
        });
    }
    let mut failures = Vec::new();
    while let Some(r) = tasks.join_next().await {
        if let Err(e) = r.unwrap() {
            failures.push(e);
        }
    }
    let elapsed = started.elapsed();
    // A last scrape after the run, then stop the scraper.
    let m = scrape(&http, &base).await;
    if sample(&m, "switchyard_target_breaker_state", b_label) == Some(2.0) {
        seen_open.store(true, Ordering::SeqCst);
    }
    done.store(true, Ordering::SeqCst);
    scraper.await.unwrap();

    assert!(
        failures.is_empty(),
        "{} of {REQUESTS} client requests failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        elapsed < Duration::from_secs(30),
        "the load took {elapsed:?}"
    );
    assert!(b.is_killed());

    let attempts = |provider: &str, error: &str| {
        sample(
            &m,
            "switchyard_upstream_attempts_total",
            &[("provider", provider), ("error", error)],
        )
        .unwrap_or(0.0)
    };
    // B served before it died, then its connections failed until its breaker opened; with
    // a 60 s cooldown it stays open for the rest of the run.
    let b_at_kill = b_calls_at_kill.load(Ordering::SeqCst);
    assert!(
        b_at_kill > 0 && b_at_kill != usize::MAX,
        "B served nothing before the kill"
    );
    assert!(attempts("b", "none") > 0.0, "{m}");
    let b_connect = attempts("b", "connect");
    assert!(
        b_connect >= 1.0,
        "no connection failure to B recorded:\n{m}"
    );
    assert!(
        b_connect <= (3 + CONCURRENCY) as f64,
        "B kept receiving attempts after it died ({b_connect}): the breaker did not stop them"
    );
    assert!(
        seen_open.load(Ordering::SeqCst),
        "B's breaker never showed open:\n{m}"
    );
    assert_eq!(
        sample(&m, "switchyard_target_breaker_state", b_label),
        Some(2.0),
        "{m}"
    );
    // C was rate limited and cooled down for the second it asked: it got a few requests a
    // second, not a quarter of the traffic.
    let c_limited = attempts("c", "rate_limited");
    assert!(c_limited >= 1.0, "{m}");
    let c_budget = 2.0 * (elapsed.as_secs_f64() + 1.0) + CONCURRENCY as f64;
    assert!(
        (c.calls() as f64) <= c_budget,
        "C got {} calls in {elapsed:?}: its Retry-After was not honoured",
        c.calls()
    );
    // The slow target answered (slowly) and the healthy one carried the rest.
    assert!(d.completed() >= 1, "D never answered");
    assert!(
        a.calls() >= REQUESTS / 4,
        "A got only {} requests",
        a.calls()
    );
    let served = attempts("a", "none") + attempts("b", "none") + attempts("d", "none");
    assert_eq!(served, REQUESTS as f64, "{m}");
}
