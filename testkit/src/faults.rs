//! Scripted faults for reliability tests: replies that are slow before their first byte, an
//! address where nothing listens (connection refused), a tracker of the most requests a fake
//! held at once, a fake that can be killed outright (listener and open connections dropped,
//! as when a provider's host dies), and a raw upstream whose SSE stream breaks mid-way (the
//! connection closes before the chunked body is complete).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{FakeUpstream, Recorded, Reply};

/// `http://127.0.0.1:PORT/v1` for a port that was just free: connecting is refused.
pub fn refused_url() -> Result<String, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    drop(listener);
    Ok(format!("http://{addr}/v1"))
}

/// `reply` with its first piece held back by `delay` (the head goes out at once; for a
/// stream, this is the time to first event).
pub fn delayed(mut reply: Reply, delay: Duration) -> Reply {
    if let Some(first) = reply.chunks.first_mut() {
        first.0 += delay;
    } else {
        reply.chunks.push((delay, Bytes::new()));
    }
    reply
}

/// Whether the recorded request asked for a stream (`"stream": true` in its JSON body).
pub fn wants_stream(r: &Recorded) -> bool {
    r.json()
        .get("stream")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

/// The text of the first message of a recorded chat request (tests script replies by it).
pub fn first_message(r: &Recorded) -> String {
    r.json()
        .pointer("/messages/0/content")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Measures the most requests a fake was serving at once. Call [`PeakInFlight::observe`] from
/// the fake's handler (which runs when a request arrives) after [`PeakInFlight::attach`]:
/// in flight = calls − completed − cancelled.
#[derive(Default)]
pub struct PeakInFlight {
    fake: OnceLock<FakeUpstream>,
    peak: AtomicUsize,
}

impl PeakInFlight {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Names the fake to measure (once it is started).
    pub fn attach(&self, fake: &FakeUpstream) {
        let _ = self.fake.set(fake.clone());
    }

    /// Records the current number of requests in flight at the fake.
    pub fn observe(&self) {
        if let Some(f) = self.fake.get() {
            let now = f
                .calls()
                .saturating_sub(f.completed())
                .saturating_sub(f.cancelled());
            self.peak.fetch_max(now, Ordering::SeqCst);
        }
    }

    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// A fake upstream on its own runtime and thread, so that [`KillableUpstream::kill`] can drop
/// everything it runs at once: the listener (new connections are refused) and every open
/// connection (requests in flight break).
pub struct KillableUpstream {
    pub fake: FakeUpstream,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
}

impl KillableUpstream {
    /// Starts the fake. May be called from inside another runtime.
    pub fn start(
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> Result<Self, String> {
        let started = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let fake = runtime.block_on(FakeUpstream::start(handler));
            Ok::<_, String>((runtime, fake))
        })
        .join()
        .map_err(|_| "the fake's start-up thread failed".to_string())??;
        let (runtime, fake) = started;
        Ok(Self {
            fake,
            runtime: Mutex::new(Some(runtime)),
        })
    }

    /// Drops the fake's listener and connections without a goodbye. Idempotent.
    pub fn kill(&self) {
        if let Some(rt) = self.runtime.lock().take() {
            rt.shutdown_background();
        }
    }

    pub fn is_killed(&self) -> bool {
        self.runtime.lock().is_none()
    }
}

impl Drop for KillableUpstream {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A raw HTTP/1.1 upstream whose every response is a 200 SSE stream that sends `events` (each a
/// complete SSE event) in chunked encoding and then closes the connection without the final
/// chunk: the stream breaks after bytes were sent.
pub struct BrokenStreamUpstream {
    pub addr: std::net::SocketAddr,
    calls: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl BrokenStreamUpstream {
    pub async fn start(events: Vec<String>) -> Result<Self, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let events = Arc::new(events);
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let events = events.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let _ = serve_broken(sock, &events, &counter).await;
                });
            }
        });
        Ok(Self { addr, calls, task })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Drop for BrokenStreamUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request (head and `content-length` body), answers the broken stream, closes.
async fn serve_broken(
    mut sock: tokio::net::TcpStream,
    events: &[String],
    calls: &AtomicUsize,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    calls.fetch_add(1, Ordering::SeqCst);
    let mut out =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_vec();
    for ev in events {
        out.extend_from_slice(format!("{:x}\r\n", ev.len()).as_bytes());
        out.extend_from_slice(ev.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    sock.write_all(&out).await?;
    sock.flush().await?;
    // Let the events reach the gateway before the connection goes.
    tokio::time::sleep(Duration::from_millis(50)).await;
    sock.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delayed_holds_back_the_first_piece() {
        let r = delayed(Reply::json(200, "{}"), Duration::from_millis(250));
        assert_eq!(r.chunks.len(), 1);
        assert_eq!(r.chunks[0].0, Duration::from_millis(250));
        let r = delayed(Reply::hang(), Duration::from_millis(5));
        assert_eq!(r.chunks[0].0, Duration::from_millis(5));
    }

    #[test]
    fn refused_url_names_a_local_port() {
        let url = refused_url().unwrap_or_default();
        assert!(
            url.starts_with("http://127.0.0.1:") && url.ends_with("/v1"),
            "{url}"
        );
    }
}
