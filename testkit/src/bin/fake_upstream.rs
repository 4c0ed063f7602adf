//! A fast fake OpenAI-compatible upstream for benchmarks:
//! `switchyard-fake-upstream [ADDR] [STREAM_EVENTS]` (default 127.0.0.1:9100, 20 events).

use std::io::Write;

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9100".into());
    let events: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "cannot bind {addr}: {e}");
            std::process::exit(1);
        }
    };
    let _ = writeln!(std::io::stderr(), "fake upstream on http://{addr}");
    switchyard_testkit::serve_on(listener, switchyard_testkit::openai::bench_handler(events)).await;
}
