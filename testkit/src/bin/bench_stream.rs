//! Benchmark client for streamed responses, one request at a time on one keep-alive HTTP/1.1
//! connection: measures the time to the first body byte, to the first complete SSE event and to
//! the end of the stream, and prints percentiles. `wrk` and `oha` only time whole responses;
//! this is what `scripts/bench.sh` uses for time to first token.
//!
//! `switchyard-bench-stream ADDR PATH BODY_FILE REQUESTS [WARMUP]`
//!
//! Prints one line: `BENCH requests=N first_byte_p50_us=... first_byte_p99_us=...
//! first_event_p50_us=... first_event_p99_us=... total_p50_us=... total_p99_us=...
//! total_max_us=... events=K` (`events` = `data:` lines in the last response). Exits 1 on any
//! error, a non-200 status, or a stream that does not end with `data: [DONE]`.

use std::io::Write;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TIMEOUT: Duration = Duration::from_secs(10);

/// The timings of one streamed response.
struct Sample {
    first_byte: Duration,
    first_event: Duration,
    total: Duration,
    events: usize,
}

/// One keep-alive connection and the bytes read from it but not consumed yet.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    pos: usize,
}

impl Conn {
    async fn open(addr: &str) -> Result<Self, String> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY: {e}"))?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(64 * 1024),
            pos: 0,
        })
    }

    /// Reads more bytes; an end of stream is an error (every response here has a known end).
    async fn fill(&mut self) -> Result<(), String> {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = tokio::time::timeout(TIMEOUT, self.stream.read(&mut chunk))
            .await
            .map_err(|_| "read timed out".to_string())?
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed mid-response".into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// The next CRLF-terminated line, without the CRLF.
    async fn line(&mut self) -> Result<Vec<u8>, String> {
        loop {
            if let Some(i) = find(&self.buf[self.pos..], b"\r\n") {
                let line = self.buf[self.pos..self.pos + i].to_vec();
                self.pos += i + 2;
                return Ok(line);
            }
            self.fill().await?;
        }
    }

    /// Up to `max` buffered body bytes, reading when none are buffered.
    async fn take(&mut self, max: usize) -> Result<Vec<u8>, String> {
        if self.pos == self.buf.len() {
            self.fill().await?;
        }
        let n = max.min(self.buf.len() - self.pos);
        let out = self.buf[self.pos..self.pos + n].to_vec();
        self.pos += n;
        Ok(out)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// How the response body is delimited.
enum Framing {
    Chunked,
    Length(usize),
}

/// Sends one request and reads the whole response, timing it. Returns whether the server
/// asked to close the connection.
async fn one(conn: &mut Conn, request: &[u8]) -> Result<(Sample, bool), String> {
    let start = Instant::now();
    conn.stream
        .write_all(request)
        .await
        .map_err(|e| format!("write: {e}"))?;

    let status = conn.line().await?;
    if !status.starts_with(b"HTTP/1.1 200") {
        return Err(format!(
            "unexpected status line: {}",
            String::from_utf8_lossy(&status)
        ));
    }
    let mut framing = None;
    let mut close = false;
    loop {
        let h = conn.line().await?;
        if h.is_empty() {
            break;
        }
        let h = String::from_utf8_lossy(&h).to_ascii_lowercase();
        if let Some((name, value)) = h.split_once(':') {
            let value = value.trim();
            match name.trim() {
                "transfer-encoding" if value.contains("chunked") => {
                    framing = Some(Framing::Chunked)
                }
                "content-length" => {
                    let n = value
                        .parse()
                        .map_err(|_| format!("bad content-length {value}"))?;
                    framing = Some(Framing::Length(n));
                }
                "connection" if value == "close" => close = true,
                _ => {}
            }
        }
    }

    let mut body = Vec::new();
    let mut first_byte = None;
    let mut first_event = None;
    let mut note = |body: &Vec<u8>| {
        if first_byte.is_none() && !body.is_empty() {
            first_byte = Some(start.elapsed());
        }
        if first_event.is_none() && find(body, b"\n\n").is_some() {
            first_event = Some(start.elapsed());
        }
    };
    match framing {
        Some(Framing::Length(mut left)) => {
            while left > 0 {
                let part = conn.take(left).await?;
                left -= part.len();
                body.extend_from_slice(&part);
                note(&body);
            }
        }
        Some(Framing::Chunked) => loop {
            let size_line = conn.line().await?;
            let size_text = String::from_utf8_lossy(&size_line);
            let hex = size_text.split(';').next().unwrap_or("").trim();
            let mut left = usize::from_str_radix(hex, 16)
                .map_err(|_| format!("bad chunk size line {size_text:?}"))?;
            if left == 0 {
                while !conn.line().await?.is_empty() {}
                break;
            }
            while left > 0 {
                let part = conn.take(left).await?;
                left -= part.len();
                body.extend_from_slice(&part);
                note(&body);
            }
            if !conn.line().await?.is_empty() {
                return Err("chunk data not followed by CRLF".into());
            }
        },
        None => return Err("response has neither content-length nor chunked framing".into()),
    }
    let total = start.elapsed();

    let text = String::from_utf8_lossy(&body);
    let events = text.lines().filter(|l| l.starts_with("data:")).count();
    if !text.trim_end().ends_with("data: [DONE]") {
        return Err(format!(
            "stream did not end with data: [DONE]: {}",
            text.chars().take(300).collect::<String>()
        ));
    }
    let sample = Sample {
        first_byte: first_byte.unwrap_or(total),
        first_event: first_event.unwrap_or(total),
        total,
        events,
    };
    Ok((sample, close))
}

/// The `p`th percentile (nearest rank) of sorted microsecond values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn micros(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

async fn run(args: &[String]) -> Result<String, String> {
    let [addr, path, body_file, requests, rest @ ..] = args else {
        return Err(
            "usage: switchyard-bench-stream ADDR PATH BODY_FILE REQUESTS [WARMUP]".to_string(),
        );
    };
    let requests: usize = requests
        .parse()
        .map_err(|_| format!("REQUESTS must be a number, not {requests}"))?;
    let warmup: usize = match rest.first() {
        Some(w) => w
            .parse()
            .map_err(|_| format!("WARMUP must be a number, not {w}"))?,
        None => 200,
    };
    let body = std::fs::read(body_file).map_err(|e| format!("cannot read {body_file}: {e}"))?;
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         accept: text/event-stream\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);

    let mut conn = Conn::open(addr).await?;
    let mut samples = Vec::with_capacity(requests);
    for i in 0..warmup + requests {
        let (sample, close) = one(&mut conn, &request).await?;
        if close {
            conn = Conn::open(addr).await?;
        }
        if i >= warmup {
            samples.push(sample);
        }
    }
    let us = |f: fn(&Sample) -> Duration| {
        micros(samples.iter().map(|s| f(s).as_secs_f64() * 1e6).collect())
    };
    let fb = us(|s| s.first_byte);
    let fe = us(|s| s.first_event);
    let total = us(|s| s.total);
    let events = samples.last().map_or(0, |s| s.events);
    Ok(format!(
        "BENCH requests={} first_byte_p50_us={:.1} first_byte_p99_us={:.1} \
         first_event_p50_us={:.1} first_event_p99_us={:.1} total_p50_us={:.1} \
         total_p99_us={:.1} total_max_us={:.1} events={events}",
        samples.len(),
        pct(&fb, 50.0),
        pct(&fb, 99.0),
        pct(&fe, 50.0),
        pct(&fe, 99.0),
        pct(&total, 50.0),
        pct(&total, 99.0),
        pct(&total, 100.0),
    ))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(line) => {
            let _ = writeln!(std::io::stdout(), "{line}");
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "switchyard-bench-stream: {e}");
            std::process::exit(1);
        }
    }
}
