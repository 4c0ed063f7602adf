//! A standalone fake provider for the benchmark and the end-to-end tests:
//!
//! `switchyard-fake-upstream [ADDR] [STREAM_EVENTS] [--provider KIND] [OPTIONS]`
//!
//! - `ADDR` defaults to 127.0.0.1:9100, `STREAM_EVENTS` (openai only) to 20.
//! - `--provider openai` (default): the fast benchmark upstream. Any path; text answers (a
//!   stream of `STREAM_EVENTS` pieces when `"stream":true`), or a tool call when the request
//!   offers tools. Records nothing.
//! - `--provider anthropic|gemini|bedrock|cohere|mistral|azure_openai|vertex`: a fake of that
//!   provider's API (see the testkit module of the same name) that checks paths, credentials
//!   (SigV4 for bedrock) and bodies like the real service, and answers JSON or streams: a call of
//!   the first offered tool, or text echoing the last user message (`You said: ...`).
//! - Credentials and names (defaults in brackets): `--api-key` [sk-fake-provider-key] (the key,
//!   or Vertex's access token), `--access-key-id` [AKIAFAKEUPSTREAM01], `--secret-access-key`
//!   [fake-upstream-secret], `--region` [us-east-1], `--project` [fake-project], `--location`
//!   [us-central1], `--deployment` [gpt-4o] (Azure).

use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt;
use switchyard_testkit::{anthropic, bedrock, cohere, gemini, mistral, vertex, Recorded, Reply};

type Handler = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

struct Args {
    addr: String,
    events: usize,
    provider: String,
    options: Vec<(String, String)>,
}

impl Args {
    fn option(&self, name: &str, default: &str) -> String {
        self.options
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map_or_else(|| default.to_string(), |(_, v)| v.clone())
    }
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut provider = "openai".to_string();
    let mut options = Vec::new();
    let mut it = args;
    while let Some(a) = it.next() {
        let Some(flag) = a.strip_prefix("--") else {
            positional.push(a);
            continue;
        };
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => {
                let v = it.next().ok_or_else(|| format!("--{flag} needs a value"))?;
                (flag.to_string(), v)
            }
        };
        if name == "provider" {
            provider = value;
        } else {
            options.push((name, value));
        }
    }
    let mut positional = positional.into_iter();
    Ok(Args {
        addr: positional.next().unwrap_or_else(|| "127.0.0.1:9100".into()),
        events: positional.next().and_then(|a| a.parse().ok()).unwrap_or(20),
        provider,
        options,
    })
}

/// The provider fake for `args`, or `None` for the benchmark upstream.
fn provider_handler(args: &Args) -> Result<Option<Handler>, String> {
    let key = args.option("api-key", "sk-fake-provider-key");
    let h: Handler = match args.provider.as_str() {
        "openai" => return Ok(None),
        "anthropic" => Arc::new(anthropic::handler(&key)),
        "gemini" => Arc::new(gemini::handler(&key)),
        "cohere" => Arc::new(cohere::handler(&key)),
        "mistral" => Arc::new(mistral::handler(&key)),
        "azure_openai" => Arc::new(mistral::azure_handler(
            &key,
            &args.option("deployment", "gpt-4o"),
        )),
        "vertex" => Arc::new(vertex::handler(
            &key,
            &args.option("project", "fake-project"),
            &args.option("location", "us-central1"),
        )),
        "bedrock" => Arc::new(bedrock::handler(
            &args.option("access-key-id", "AKIAFAKEUPSTREAM01"),
            &args.option("secret-access-key", "fake-upstream-secret"),
            &args.option("region", "us-east-1"),
        )),
        other => {
            return Err(format!(
                "unknown provider {other:?} (openai | anthropic | gemini | bedrock | cohere | mistral | azure_openai | vertex)"
            ))
        }
    };
    Ok(Some(h))
}

/// The benchmark upstream, answering tool calls when the request offers tools.
fn bench(events: usize) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    let text = switchyard_testkit::openai::bench_handler(events);
    move |r| {
        if memchr_tools(&r.body) {
            let body = r.json();
            if body.get("tools").is_some() {
                return mistral::answer(mistral::Flavor::OpenAi, &body);
            }
        }
        text(r)
    }
}

fn memchr_tools(body: &[u8]) -> bool {
    body.windows(8).any(|w| w == b"\"tools\":")
}

async fn serve(State(handler): State<Handler>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let rec = Recorded {
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: parts.headers,
        body,
    };
    let reply = handler(&rec);
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (k, v) in &reply.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let stream = futures_util::stream::unfold(reply.chunks.into_iter(), |mut it| async move {
        let (delay, bytes) = it.next()?;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Some((Ok::<Bytes, std::io::Error>(bytes), it))
    });
    builder
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

fn fail(msg: &str) -> ! {
    let _ = writeln!(std::io::stderr(), "{msg}");
    std::process::exit(1);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let args = parse_args(std::env::args().skip(1)).unwrap_or_else(|e| fail(&e));
    let handler = provider_handler(&args).unwrap_or_else(|e| fail(&e));
    let listener = match tokio::net::TcpListener::bind(&args.addr).await {
        Ok(l) => l,
        Err(e) => fail(&format!("cannot bind {}: {e}", args.addr)),
    };
    let _ = writeln!(
        std::io::stderr(),
        "fake {} upstream on http://{}",
        args.provider,
        args.addr
    );
    match handler {
        None => switchyard_testkit::serve_on(listener, bench(args.events)).await,
        Some(h) => {
            let app = axum::Router::new().fallback(serve).with_state(h);
            let _ = axum::serve(listener, app).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(a: &[&str]) -> Result<Args, String> {
        parse_args(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn positional_arguments_keep_working() {
        let a = parse(&["127.0.0.1:9200", "7"]).unwrap();
        assert_eq!(
            (a.addr.as_str(), a.events, a.provider.as_str()),
            ("127.0.0.1:9200", 7, "openai")
        );
        let a = parse(&[]).unwrap();
        assert_eq!((a.addr.as_str(), a.events), ("127.0.0.1:9100", 20));
        assert!(
            provider_handler(&a).unwrap().is_none(),
            "openai is the benchmark upstream"
        );
    }

    #[test]
    fn provider_and_options() {
        let a = parse(&["127.0.0.1:1", "--provider", "gemini", "--api-key=abc", "5"]).unwrap();
        assert_eq!((a.provider.as_str(), a.events), ("gemini", 5));
        assert_eq!(a.option("api-key", "d"), "abc");
        assert_eq!(a.option("region", "us-east-1"), "us-east-1");
        for kind in [
            "anthropic",
            "gemini",
            "bedrock",
            "cohere",
            "mistral",
            "azure_openai",
            "vertex",
        ] {
            let a = parse(&["--provider", kind]).unwrap();
            assert!(provider_handler(&a).unwrap().is_some(), "{kind}");
        }
        assert!(provider_handler(&parse(&["--provider", "nope"]).unwrap()).is_err());
        assert!(parse(&["--provider"]).is_err());
    }
}
