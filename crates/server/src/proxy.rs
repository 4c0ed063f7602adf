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
    idle_timer: Pin<Box<Sleep>>,
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

impl Stream for ProxyStream {
    type Item = Result<Bytes, std::io::Error>;

    /// Forwards what the upstream has sent so far: every chunk already received is translated
    /// and gathered into one write (no waiting for more — a lone event goes out at once), so a
    /// burst of events costs one write to the client, not one per event.
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(p) = this.prefix.take() {
            if !p.is_empty() {
                return Poll::Ready(Some(Ok(p)));
            }
        }
        let mut out: Vec<u8> = Vec::new();
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
                    let deadline = tokio::time::Instant::now() + this.idle;
                    this.idle_timer.as_mut().reset(deadline);
                    if let Err(e) = this.pump.feed(&chunk, &mut out) {
                        let tail = this.end(Some(e));
                        out.extend_from_slice(tail.as_deref().unwrap_or_default());
                        return ready(out);
                    }
                    if out.len() >= COALESCE_MAX {
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
                    if !out.is_empty() {
                        return ready(out);
                    }
                    if this.idle_timer.as_mut().poll(cx).is_ready() {
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
