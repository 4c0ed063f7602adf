//! Streaming responses. A [`Pump`] turns upstream bytes into client bytes (pass-through tap, or
//! decoder + encoder when translating); [`ProxyStream`] drives it as the response body, event by
//! event as they arrive, with the idle timeout, and finishes the meter when the stream ends —
//! or when it is dropped because the client went away, which also drops (cancels) the upstream.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::Stream;
use switchyard_ingress::anthropic::MessagesStreamEncoder;
use switchyard_ingress::openai::ChatStreamEncoder;
use switchyard_ingress::Dialect;
use switchyard_providers::StreamDecoder;
use switchyard_types::{ErrorClass, GatewayError, StreamEvent, Usage};
use tokio::time::Sleep;

use crate::fastpath::OpenAiStreamTap;
use crate::meter::Meter;
use crate::transport::UpstreamBody;

/// Upstream bytes in, client bytes out.
pub trait Pump: Send {
    /// Feeds one upstream chunk; appends what to send to `out`. An `Err` is an upstream error
    /// reported inside the stream.
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), GatewayError>;
    /// The upstream body ended.
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), GatewayError>;
    /// Usage seen so far.
    fn usage(&self) -> Option<Usage>;
    /// Writes a well-formed error event in the client's dialect (after bytes were sent) and
    /// ends the stream.
    fn error_event(&mut self, err: &GatewayError, out: &mut Vec<u8>);
    /// Whether the first bytes produced are an upstream error (then the attempt failed and
    /// nothing has been sent: the router may fail over).
    fn leading_error(&self, prefix: &[u8]) -> Option<GatewayError> {
        let _ = prefix;
        None
    }
}

/// OpenAI client, OpenAI-wire provider: bytes pass through.
pub struct OpenAiPassPump {
    pub tap: OpenAiStreamTap,
}

impl Pump for OpenAiPassPump {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), GatewayError> {
        out.reserve(chunk.len());
        self.tap.process(chunk, out);
        Ok(())
    }
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), GatewayError> {
        self.tap.finish(out);
        if !self.tap.saw_done && !self.tap.error_seen {
            return Err(truncated());
        }
        Ok(())
    }
    fn usage(&self) -> Option<Usage> {
        self.tap.usage
    }
    fn error_event(&mut self, err: &GatewayError, out: &mut Vec<u8>) {
        write_openai_error(err, out);
    }
    fn leading_error(&self, prefix: &[u8]) -> Option<GatewayError> {
        if !self.tap.error_seen {
            return None;
        }
        let ev = switchyard_providers::sse::parse_event(prefix);
        Some(switchyard_providers::openai::map_error(
            502,
            &http::HeaderMap::new(),
            ev.data.as_bytes(),
        ))
    }
}

fn write_openai_error(err: &GatewayError, out: &mut Vec<u8>) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(&Dialect::OpenAi.render_error(err));
    out.extend_from_slice(b"\n\ndata: [DONE]\n\n");
}

fn truncated() -> GatewayError {
    GatewayError::upstream(
        ErrorClass::ServerError,
        502,
        "the provider's stream ended before it was complete",
    )
}

/// The client's dialect encoder for canonical events.
pub enum Encoder {
    OpenAi(ChatStreamEncoder),
    Anthropic(MessagesStreamEncoder),
}

impl Encoder {
    fn encode(&mut self, ev: &StreamEvent, out: &mut Vec<u8>) {
        match self {
            Encoder::OpenAi(e) => e.encode(ev, out),
            Encoder::Anthropic(e) => e.encode(ev, out),
        }
    }
    fn finish(&mut self, out: &mut Vec<u8>) {
        match self {
            Encoder::OpenAi(e) => e.finish(out),
            Encoder::Anthropic(e) => e.finish(out),
        }
    }
}

/// Translating: provider decoder -> canonical events -> client encoder.
pub struct TranslatePump {
    pub decoder: Box<dyn StreamDecoder>,
    pub encoder: Encoder,
    /// The upstream model, for a `Start` event whose provider did not name it.
    model: String,
    events: Vec<StreamEvent>,
    usage: Option<Usage>,
    ended: bool,
}

impl TranslatePump {
    pub fn new(decoder: Box<dyn StreamDecoder>, encoder: Encoder, model: String) -> Self {
        Self {
            decoder,
            encoder,
            model,
            events: Vec::with_capacity(8),
            usage: None,
            ended: false,
        }
    }

    fn drain(&mut self, out: &mut Vec<u8>) -> Result<(), GatewayError> {
        let mut failed = None;
        for mut ev in self.events.drain(..) {
            if let StreamEvent::Start { model, .. } = &mut ev {
                if model.is_empty() {
                    model.clone_from(&self.model);
                }
            }
            match &ev {
                StreamEvent::Usage(u) => self.usage = Some(*u),
                StreamEvent::Error(e) => {
                    failed = Some(e.clone());
                    break;
                }
                _ => {}
            }
            self.encoder.encode(&ev, out);
        }
        self.events.clear();
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Pump for TranslatePump {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), GatewayError> {
        let r = self.decoder.feed(chunk, &mut self.events);
        self.drain(out)?;
        r
    }
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), GatewayError> {
        let r = self.decoder.finish(&mut self.events);
        self.drain(out)?;
        r?;
        if !self.ended {
            self.ended = true;
            self.encoder.finish(out);
        }
        Ok(())
    }
    fn usage(&self) -> Option<Usage> {
        self.usage
    }
    fn error_event(&mut self, err: &GatewayError, out: &mut Vec<u8>) {
        self.ended = true;
        match &mut self.encoder {
            Encoder::OpenAi(_) => write_openai_error(err, out),
            Encoder::Anthropic(e) => e.encode(&StreamEvent::Error(err.clone()), out),
        }
    }
}

/// Reads upstream chunks into the pump until it has produced bytes for the client: the peek
/// before committing to a target. An error here (an error event first, a timeout, an empty
/// stream) lets the router fail over.
pub async fn first_bytes(
    body: &mut UpstreamBody,
    pump: &mut dyn Pump,
    deadline: Duration,
) -> Result<Vec<u8>, GatewayError> {
    use futures_util::StreamExt;
    let read = async {
        let mut out = Vec::new();
        loop {
            match body.next().await {
                Some(Ok(chunk)) => {
                    pump.feed(&chunk, &mut out)?;
                    if !out.is_empty() {
                        return Ok(out);
                    }
                }
                Some(Err(e)) => return Err(e),
                None => {
                    pump.finish(&mut out)?;
                    return Ok(out);
                }
            }
        }
    };
    match tokio::time::timeout(deadline, read).await {
        Ok(r) => r,
        Err(_) => Err(GatewayError::upstream(
            ErrorClass::Timeout,
            504,
            format!(
                "the provider sent no stream event within {} ms",
                deadline.as_millis()
            ),
        )),
    }
}

/// The client-facing body of a streamed response.
pub struct ProxyStream {
    upstream: UpstreamBody,
    pump: Box<dyn Pump>,
    prefix: Option<Bytes>,
    idle: Duration,
    /// Fires `idle` after the last upstream chunk. Re-armed lazily — only when it fires and a
    /// chunk came since — instead of once per chunk.
    idle_timer: Pin<Box<Sleep>>,
    last_chunk: tokio::time::Instant,
    /// Bytes gathered for the client while the upstream connection gets a turn (see
    /// `poll_next`), and how many turns in a row it has had.
    carry: Vec<u8>,
    turns: u8,
    empty_turns: u8,
    meter: Meter,
    done: bool,
}

impl ProxyStream {
    pub fn new(
        upstream: UpstreamBody,
        pump: Box<dyn Pump>,
        prefix: Vec<u8>,
        idle: Duration,
        mut meter: Meter,
    ) -> Self {
        meter.first_token = Some(Instant::now());
        Self {
            upstream,
            pump,
            prefix: Some(Bytes::from(prefix)),
            idle,
            idle_timer: Box::pin(tokio::time::sleep(idle)),
            last_chunk: tokio::time::Instant::now(),
            carry: Vec::new(),
            turns: 0,
            empty_turns: 0,
            meter,
            done: false,
        }
    }

    fn end(&mut self, err: Option<GatewayError>) -> Option<Bytes> {
        self.done = true;
        self.meter.usage = self.pump.usage().or(self.meter.usage);
        let mut out = Vec::new();
        if let Some(e) = err {
            tracing::warn!(request_id = %self.meter.request_id, error = %e, "stream broke after it began");
            self.meter.error = Some(e.class);
            self.meter.stream_broken();
            self.pump.error_event(&e, &mut out);
        }
        self.meter.finish();
        (!out.is_empty()).then(|| Bytes::from(out))
    }
}

/// Most bytes gathered into one write when several upstream chunks are already waiting.
const COALESCE_MAX: usize = 64 * 1024;
/// Most turns the upstream connection gets before gathered bytes are written anyway.
const MAX_TURNS: u8 = 128;
/// Turns in a row that bring nothing before gathered bytes are written: hyper's client
/// connection task needs two turns to hand over its next chunk (measured: the chunk shows up
/// on every second turn), so one empty turn does not yet mean it has nothing more.
const EMPTY_TURNS: u8 = 2;

impl Stream for ProxyStream {
    type Item = Result<Bytes, std::io::Error>;

    /// Forwards what the upstream has sent so far, gathered into one write.
    ///
    /// hyper's client hands a response body over one chunk at a time: its connection task
    /// decodes the next chunk only after this one was taken, even when the whole burst is
    /// already in its read buffer. So when a chunk arrived and the next poll finds nothing,
    /// the gathered bytes are kept and the connection task gets a turn (this task wakes itself
    /// and yields); as long as the turns keep bringing chunks, gathering goes on. Two turns in a
    /// row that bring nothing mean the upstream has nothing more in hand, and everything
    /// gathered goes out in one write — a burst of events costs one write to the client instead
    /// of one per event, while a lone event waits only two scheduler turns (microseconds).
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(p) = this.prefix.take() {
            if !p.is_empty() {
                return Poll::Ready(Some(Ok(p)));
            }
        }
        let mut out: Vec<u8> = std::mem::take(&mut this.carry);
        let mut got = false;
        let ready = |out: Vec<u8>| {
            if out.is_empty() {
                Poll::Ready(None)
            } else {
                Poll::Ready(Some(Ok(Bytes::from(out))))
            }
        };
        loop {
            if this.done {
                return ready(out);
            }
            match this.upstream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    // Any upstream bytes (keep-alive comments included) count as activity.
                    this.last_chunk = tokio::time::Instant::now();
                    got = true;
                    if let Err(e) = this.pump.feed(&chunk, &mut out) {
                        let tail = this.end(Some(e));
                        out.extend_from_slice(tail.as_deref().unwrap_or_default());
                        return ready(out);
                    }
                    if out.len() >= COALESCE_MAX {
                        this.turns = 0;
                        return ready(out);
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    let tail = this.end(Some(e));
                    out.extend_from_slice(tail.as_deref().unwrap_or_default());
                    return ready(out);
                }
                Poll::Ready(None) => {
                    let r = this.pump.finish(&mut out);
                    let tail = this.end(r.err());
                    out.extend_from_slice(tail.as_deref().unwrap_or_default());
                    return ready(out);
                }
                Poll::Pending => {
                    if got {
                        this.empty_turns = 0;
                    } else if !out.is_empty() {
                        this.empty_turns += 1;
                    }
                    if !out.is_empty() && this.empty_turns < EMPTY_TURNS && this.turns < MAX_TURNS {
                        // Give the upstream connection a turn before writing (see above).
                        this.turns += 1;
                        this.carry = out;
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    this.turns = 0;
                    this.empty_turns = 0;
                    if !out.is_empty() {
                        return ready(out);
                    }
                    while this.idle_timer.as_mut().poll(cx).is_ready() {
                        let deadline = this.last_chunk + this.idle;
                        if deadline > tokio::time::Instant::now() {
                            // A chunk came since the timer was armed: re-arm from that chunk.
                            this.idle_timer.as_mut().reset(deadline);
                            continue;
                        }
                        let err = GatewayError::upstream(
                            ErrorClass::Timeout,
                            504,
                            format!(
                                "the provider's stream was idle for more than {} ms",
                                this.idle.as_millis()
                            ),
                        );
                        return Poll::Ready(this.end(Some(err)).map(Ok));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use std::collections::VecDeque;
    use std::sync::Arc;

    /// Passes bytes through unchanged.
    struct Copy;
    impl Pump for Copy {
        fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), GatewayError> {
            out.extend_from_slice(chunk);
            Ok(())
        }
        fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), GatewayError> {
            Ok(())
        }
        fn usage(&self) -> Option<Usage> {
            None
        }
        fn error_event(&mut self, _err: &GatewayError, _out: &mut Vec<u8>) {}
    }

    /// Like hyper's client body: every chunk is already read, but each is handed over only on
    /// a later poll (the connection task needs turns of its own), and the stream then ends.
    struct Handoff {
        chunks: VecDeque<&'static [u8]>,
        ready: bool,
    }
    impl Stream for Handoff {
        type Item = Result<Bytes, GatewayError>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            if !self.ready {
                self.ready = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.ready = false;
            Poll::Ready(self.chunks.pop_front().map(|c| Ok(Bytes::from_static(c))))
        }
    }

    async fn meter() -> Meter {
        let config = switchyard_config::load_str("database: \"sqlite::memory:\"\n", &|_| None)
            .expect("config");
        let store = switchyard_store::connect("sqlite::memory:")
            .await
            .expect("store");
        let app = crate::state::AppState::build(&config, store)
            .await
            .expect("state");
        Meter::start(
            Arc::new(app),
            switchyard_telemetry::Endpoint::chat_completions,
            "req_test".into(),
            false,
        )
    }

    #[tokio::test]
    async fn a_burst_of_upstream_chunks_goes_out_in_one_write() {
        let chunks: VecDeque<&'static [u8]> =
            (0..24).map(|_| &b"data: {\"x\":1}\n\n"[..]).collect();
        let upstream: UpstreamBody = Box::pin(Handoff {
            chunks,
            ready: false,
        });
        let stream = ProxyStream::new(
            upstream,
            Box::new(Copy),
            b"data: first\n\n".to_vec(),
            Duration::from_secs(5),
            meter().await,
        );
        let items: Vec<Bytes> = stream.map(|r| r.expect("no error")).collect().await;
        // The first event alone, at once; then the whole burst together.
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(&items[0][..], b"data: first\n\n");
        assert_eq!(items[1].len(), 24 * b"data: {\"x\":1}\n\n".len());
    }

    #[tokio::test]
    async fn an_upstream_that_goes_quiet_times_out_after_the_idle_limit() {
        let meter = meter().await;
        tokio::time::pause();
        let upstream: UpstreamBody = Box::pin(futures_util::stream::pending());
        let mut stream = ProxyStream::new(
            upstream,
            Box::new(Copy),
            b"data: first\n\n".to_vec(),
            Duration::from_millis(500),
            meter,
        );
        let started = tokio::time::Instant::now();
        assert_eq!(
            &stream.next().await.unwrap().unwrap()[..],
            b"data: first\n\n"
        );
        assert!(stream.next().await.is_none(), "ends after the timeout");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(500) && waited < Duration::from_millis(600),
            "{waited:?}"
        );
    }

    #[tokio::test]
    async fn chunks_closer_than_the_idle_limit_keep_the_stream_alive() {
        let meter = meter().await;
        tokio::time::pause();
        // Four chunks 300 ms apart: 1.2 s in all, more than twice the 500 ms idle limit.
        let upstream: UpstreamBody = Box::pin(futures_util::stream::unfold(0u8, |n| async move {
            if n == 4 {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            Some((Ok(Bytes::from_static(b"data: {}\n\n")), n + 1))
        }));
        let stream = ProxyStream::new(
            upstream,
            Box::new(Copy),
            b"data: first\n\n".to_vec(),
            Duration::from_millis(500),
            meter,
        );
        let items: Vec<Bytes> = stream.map(|r| r.expect("no error")).collect().await;
        let all: Vec<u8> = items.concat();
        assert_eq!(
            all.len(),
            b"data: first\n\n".len() + 4 * b"data: {}\n\n".len()
        );
    }
}
