//! AWS event-stream binary framing (`application/vnd.amazon.eventstream`), as Bedrock's
//! ConverseStream speaks it: a decoder that buffers partial frames and checks both CRCs, and a
//! small encoder for tests and fake upstreams.
//!
//! Frame layout (all integers big-endian, CRC32 IEEE):
//! ```text
//! [total_len u32][headers_len u32][prelude_crc u32 = CRC32(first 8 bytes)]
//! [headers (headers_len bytes)][payload][message_crc u32 = CRC32(every prior byte)]
//! header = [name_len u8][name utf-8][type u8][value]
//! ```
//! Untrusted input: every length is checked before anything is allocated from it, a frame
//! larger than [`MAX_MESSAGE_LEN`] is refused, and bad bytes give a [`GatewayError`], never a
//! panic. After an error the decoder stays failed (the byte stream cannot be resynchronised).

use bytes::{Buf, Bytes, BytesMut};
use switchyard_types::{ErrorClass, GatewayError};

/// Largest frame accepted (16 MiB), the limit AWS documents for one event-stream message.
pub const MAX_MESSAGE_LEN: usize = 16 * 1024 * 1024;
/// Prelude (12 bytes) plus the trailing message CRC (4 bytes): the smallest possible frame.
pub const MIN_MESSAGE_LEN: usize = 16;
const PRELUDE_LEN: usize = 12;

/// A typed header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    Bool(bool),
    Byte(i8),
    Short(i16),
    Int(i32),
    Long(i64),
    ByteArray(Bytes),
    String(String),
    /// Milliseconds since the Unix epoch.
    Timestamp(i64),
    Uuid([u8; 16]),
}

impl HeaderValue {
    /// The value as text, for string headers.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            HeaderValue::String(s) => Some(s),
            _ => None,
        }
    }

    fn type_byte(&self) -> u8 {
        match self {
            HeaderValue::Bool(true) => 0,
            HeaderValue::Bool(false) => 1,
            HeaderValue::Byte(_) => 2,
            HeaderValue::Short(_) => 3,
            HeaderValue::Int(_) => 4,
            HeaderValue::Long(_) => 5,
            HeaderValue::ByteArray(_) => 6,
            HeaderValue::String(_) => 7,
            HeaderValue::Timestamp(_) => 8,
            HeaderValue::Uuid(_) => 9,
        }
    }
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub headers: Vec<(String, HeaderValue)>,
    pub payload: Bytes,
}

impl Message {
    /// The first header named `name`.
    pub fn header(&self, name: &str) -> Option<&HeaderValue> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// A string header's text.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(HeaderValue::as_str)
    }

    /// `:event-type` (`contentBlockDelta`, ...).
    pub fn event_type(&self) -> Option<&str> {
        self.header_str(":event-type")
    }

    /// `:message-type` (`event`, `exception` or `error`).
    pub fn message_type(&self) -> Option<&str> {
        self.header_str(":message-type")
    }

    /// `:exception-type` on exception frames (`throttlingException`, ...).
    pub fn exception_type(&self) -> Option<&str> {
        self.header_str(":exception-type")
    }
}

/// Incremental decoder: [`EventStreamDecoder::push`] bytes as they arrive, then call
/// [`EventStreamDecoder::next_message`] until it returns `Ok(None)`.
#[derive(Debug, Default)]
pub struct EventStreamDecoder {
    buf: BytesMut,
    failed: Option<String>,
}

impl EventStreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the next piece of the body. Ignored once the decoder has failed.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(chunk);
        }
    }

    /// Bytes buffered that do not yet form a whole frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed, or an error for a corrupt
    /// stream (after which every call returns an error).
    pub fn next_message(&mut self) -> Result<Option<Message>, GatewayError> {
        if let Some(reason) = &self.failed {
            return Err(stream_error(reason.clone()));
        }
        match self.try_next() {
            Ok(m) => Ok(m),
            Err(reason) => {
                self.buf.clear();
                self.failed = Some(reason.clone());
                Err(stream_error(reason))
            }
        }
    }

    fn try_next(&mut self) -> Result<Option<Message>, String> {
        if self.buf.len() < PRELUDE_LEN {
            return Ok(None);
        }
        let total_len = be_u32(&self.buf[0..4]) as usize;
        let headers_len = be_u32(&self.buf[4..8]) as usize;
        let prelude_crc = be_u32(&self.buf[8..12]);
        if crc32fast::hash(&self.buf[0..8]) != prelude_crc {
            return Err("prelude checksum mismatch".into());
        }
        if !(MIN_MESSAGE_LEN..=MAX_MESSAGE_LEN).contains(&total_len) {
            return Err(format!(
                "frame length {total_len} outside {MIN_MESSAGE_LEN}..={MAX_MESSAGE_LEN}"
            ));
        }
        if headers_len > total_len - MIN_MESSAGE_LEN {
            return Err(format!(
                "headers length {headers_len} exceeds frame length {total_len}"
            ));
        }
        if self.buf.len() < total_len {
            return Ok(None);
        }
        let frame = self.buf.split_to(total_len).freeze();
        let crc_at = total_len - 4;
        if crc32fast::hash(&frame[..crc_at]) != be_u32(&frame[crc_at..]) {
            return Err("message checksum mismatch".into());
        }
        let headers = parse_headers(&frame[PRELUDE_LEN..PRELUDE_LEN + headers_len])?;
        let payload = frame.slice(PRELUDE_LEN + headers_len..crc_at);
        Ok(Some(Message { headers, payload }))
    }
}

fn stream_error(reason: String) -> GatewayError {
    GatewayError::upstream(
        ErrorClass::ServerError,
        502,
        format!("malformed event stream from upstream: {reason}"),
    )
}

fn be_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_be_bytes(a)
}

/// Takes `n` bytes off the front of `rest`, or fails naming `what`.
fn take<'a>(rest: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], String> {
    if rest.len() < n {
        return Err(format!("header block truncated in {what}"));
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

fn take_array<const N: usize>(rest: &mut &[u8], what: &str) -> Result<[u8; N], String> {
    let mut a = [0u8; N];
    a.copy_from_slice(take(rest, N, what)?);
    Ok(a)
}

fn parse_headers(mut rest: &[u8]) -> Result<Vec<(String, HeaderValue)>, String> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        let name_len = take(&mut rest, 1, "name length")?[0] as usize;
        if name_len == 0 {
            return Err("empty header name".into());
        }
        let name = std::str::from_utf8(take(&mut rest, name_len, "name")?)
            .map_err(|_| "header name is not UTF-8".to_string())?
            .to_string();
        let kind = take(&mut rest, 1, "value type")?[0];
        let value = match kind {
            0 => HeaderValue::Bool(true),
            1 => HeaderValue::Bool(false),
            2 => HeaderValue::Byte(i8::from_be_bytes(take_array(&mut rest, "byte")?)),
            3 => HeaderValue::Short(i16::from_be_bytes(take_array(&mut rest, "short")?)),
            4 => HeaderValue::Int(i32::from_be_bytes(take_array(&mut rest, "int")?)),
            5 => HeaderValue::Long(i64::from_be_bytes(take_array(&mut rest, "long")?)),
            6 | 7 => {
                let len = u16::from_be_bytes(take_array(&mut rest, "value length")?) as usize;
                let bytes = take(&mut rest, len, "value")?;
                if kind == 6 {
                    HeaderValue::ByteArray(Bytes::copy_from_slice(bytes))
                } else {
                    HeaderValue::String(
                        std::str::from_utf8(bytes)
                            .map_err(|_| format!("header {name} is not UTF-8"))?
                            .to_string(),
                    )
                }
            }
            8 => HeaderValue::Timestamp(i64::from_be_bytes(take_array(&mut rest, "timestamp")?)),
            9 => HeaderValue::Uuid(take_array(&mut rest, "uuid")?),
            other => return Err(format!("unknown header value type {other}")),
        };
        out.push((name, value));
    }
    Ok(out)
}

/// Encodes one frame with string headers (`:event-type`, `:content-type`, ...).
pub fn encode_message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let typed: Vec<(String, HeaderValue)> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), HeaderValue::String(v.to_string())))
        .collect();
    encode_typed(&typed, payload)
}

/// Encodes one frame with typed headers. Names longer than 255 bytes and string/byte values
/// longer than 65 535 bytes cannot be framed and are cut to those limits (this encoder serves
/// tests and fakes, which stay far below them).
pub fn encode_typed(headers: &[(String, HeaderValue)], payload: &[u8]) -> Vec<u8> {
    let mut hdr = Vec::new();
    for (name, value) in headers {
        let name = &name.as_bytes()[..name.len().min(u8::MAX as usize)];
        hdr.push(name.len() as u8);
        hdr.extend_from_slice(name);
        hdr.push(value.type_byte());
        match value {
            HeaderValue::Bool(_) => {}
            HeaderValue::Byte(v) => hdr.extend_from_slice(&v.to_be_bytes()),
            HeaderValue::Short(v) => hdr.extend_from_slice(&v.to_be_bytes()),
            HeaderValue::Int(v) => hdr.extend_from_slice(&v.to_be_bytes()),
            HeaderValue::Long(v) | HeaderValue::Timestamp(v) => {
                hdr.extend_from_slice(&v.to_be_bytes())
            }
            HeaderValue::ByteArray(b) => push_short_bytes(&mut hdr, b),
            HeaderValue::String(s) => push_short_bytes(&mut hdr, s.as_bytes()),
            HeaderValue::Uuid(u) => hdr.extend_from_slice(u),
        }
    }
    let total = PRELUDE_LEN + hdr.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(hdr.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&hdr);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

fn push_short_bytes(out: &mut Vec<u8>, b: &[u8]) {
    let b = &b[..b.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(b.len() as u16).to_be_bytes());
    out.extend_from_slice(b);
}

/// Decodes every complete frame in `bytes` at once (tests and tools). Trailing partial bytes
/// are an error.
pub fn decode_all(bytes: &[u8]) -> Result<Vec<Message>, GatewayError> {
    let mut d = EventStreamDecoder::new();
    d.push(bytes);
    let mut out = Vec::new();
    while let Some(m) = d.next_message()? {
        out.push(m);
    }
    if d.buf.has_remaining() {
        return Err(stream_error(format!(
            "{} trailing bytes do not form a frame",
            d.buffered()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, json: &str) -> Vec<u8> {
        encode_message(
            &[
                (":event-type", kind),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            json.as_bytes(),
        )
    }

    #[test]
    fn round_trip_string_headers() {
        let bytes = event("contentBlockDelta", r#"{"contentBlockIndex":0}"#);
        let msgs = decode_all(&bytes).unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].event_type(), Some("contentBlockDelta"));
        assert_eq!(msgs[0].message_type(), Some("event"));
        assert_eq!(msgs[0].exception_type(), None);
        assert_eq!(&msgs[0].payload[..], br#"{"contentBlockIndex":0}"#);
    }

    #[test]
    fn every_header_type_round_trips() {
        let headers = vec![
            ("t".to_string(), HeaderValue::Bool(true)),
            ("f".to_string(), HeaderValue::Bool(false)),
            ("b".to_string(), HeaderValue::Byte(-7)),
            ("s".to_string(), HeaderValue::Short(-300)),
            ("i".to_string(), HeaderValue::Int(70_000)),
            ("l".to_string(), HeaderValue::Long(-5_000_000_000)),
            (
                "ba".to_string(),
                HeaderValue::ByteArray(Bytes::from_static(&[0, 1, 255])),
            ),
            ("str".to_string(), HeaderValue::String("héllo".into())),
            ("ts".to_string(), HeaderValue::Timestamp(1_700_000_000_123)),
            ("u".to_string(), HeaderValue::Uuid([9; 16])),
        ];
        let bytes = encode_typed(&headers, b"payload");
        let msgs = decode_all(&bytes).unwrap();
        assert_eq!(msgs[0].headers, headers);
        assert_eq!(msgs[0].header("i"), Some(&HeaderValue::Int(70_000)));
        assert_eq!(msgs[0].header_str("str"), Some("héllo"));
        assert_eq!(msgs[0].header_str("i"), None);
    }

    /// The one-header vector from AWS's event-stream test suite (aws-c-event-stream
    /// `message_deserializer_test.c`): `content-type: application/json`, payload `{'foo':'bar'}`.
    #[test]
    fn decodes_aws_published_vector() {
        let mut bytes: Vec<u8> = vec![
            0x00, 0x00, 0x00, 0x3D, 0x00, 0x00, 0x00, 0x20, 0x07, 0xFD, 0x83, 0x96, 0x0C,
        ];
        bytes.extend_from_slice(b"content-type");
        bytes.extend_from_slice(&[0x07, 0x00, 0x10]);
        bytes.extend_from_slice(b"application/json");
        bytes.extend_from_slice(b"{'foo':'bar'}");
        bytes.extend_from_slice(&[0x8D, 0x9C, 0x08, 0xB1]);
        let msgs = decode_all(&bytes).unwrap();
        assert_eq!(msgs[0].header_str("content-type"), Some("application/json"));
        assert_eq!(&msgs[0].payload[..], b"{'foo':'bar'}");
        // And our encoder produces the same bytes.
        assert_eq!(
            encode_message(&[("content-type", "application/json")], b"{'foo':'bar'}"),
            bytes
        );
    }

    #[test]
    fn byte_by_byte_equals_whole() {
        let mut all = event("messageStart", r#"{"role":"assistant"}"#);
        all.extend(event("messageStop", r#"{"stopReason":"end_turn"}"#));
        let whole = decode_all(&all).unwrap();
        let mut d = EventStreamDecoder::new();
        let mut got = Vec::new();
        for b in &all {
            d.push(std::slice::from_ref(b));
            while let Some(m) = d.next_message().unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got, whole);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn corrupt_prelude_crc_is_an_error_and_sticks() {
        let mut bytes = event("messageStart", "{}");
        bytes[9] ^= 0xff;
        let mut d = EventStreamDecoder::new();
        d.push(&bytes);
        let e = d.next_message().unwrap_err();
        assert!(e.message.contains("prelude checksum"), "{e}");
        assert_eq!(e.class, ErrorClass::ServerError);
        d.push(&event("messageStart", "{}"));
        assert!(d.next_message().is_err());
    }

    #[test]
    fn corrupt_payload_fails_message_crc() {
        let mut bytes = event("messageStart", r#"{"role":"assistant"}"#);
        let n = bytes.len();
        bytes[n - 6] ^= 0x01;
        let e = decode_all(&bytes).unwrap_err();
        assert!(e.message.contains("message checksum"), "{e}");
    }

    #[test]
    fn truncation_waits_then_reports() {
        let bytes = event("messageStart", "{}");
        let mut d = EventStreamDecoder::new();
        d.push(&bytes[..bytes.len() - 1]);
        assert!(d.next_message().unwrap().is_none());
        assert!(decode_all(&bytes[..bytes.len() - 1]).is_err());
    }

    fn prelude(total: u32, headers: u32) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&headers.to_be_bytes());
        let crc = crc32fast::hash(&p);
        p.extend_from_slice(&crc.to_be_bytes());
        p
    }

    #[test]
    fn absurd_lengths_are_refused_before_buffering() {
        let mut d = EventStreamDecoder::new();
        d.push(&prelude(u32::MAX, 0));
        assert!(d
            .next_message()
            .unwrap_err()
            .message
            .contains("frame length"));

        let mut d = EventStreamDecoder::new();
        d.push(&prelude(15, 0));
        assert!(d.next_message().is_err());

        let mut d = EventStreamDecoder::new();
        d.push(&prelude(20, 10));
        assert!(d
            .next_message()
            .unwrap_err()
            .message
            .contains("headers length"));
    }

    #[test]
    fn malformed_headers_are_errors() {
        // Header claims a 10-byte string but the block has 2 bytes left.
        let mut hdr = vec![1u8, b'x', 7, 0, 10, b'a', b'b'];
        let total = (PRELUDE_LEN + hdr.len() + 4) as u32;
        let mut bytes = prelude(total, hdr.len() as u32);
        bytes.append(&mut hdr);
        let crc = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&crc.to_be_bytes());
        assert!(decode_all(&bytes)
            .unwrap_err()
            .message
            .contains("truncated"));

        let bad_type = encode_typed(&[("x".into(), HeaderValue::Bool(true))], b"");
        let mut bytes = bad_type.clone();
        bytes[PRELUDE_LEN + 2] = 42; // value type byte
        let n = bytes.len();
        let crc = crc32fast::hash(&bytes[..n - 4]);
        bytes[n - 4..].copy_from_slice(&crc.to_be_bytes());
        assert!(decode_all(&bytes).unwrap_err().message.contains("type 42"));
    }

    #[test]
    fn empty_frame_is_valid() {
        let bytes = encode_message(&[], b"");
        assert_eq!(bytes.len(), MIN_MESSAGE_LEN);
        let msgs = decode_all(&bytes).unwrap();
        assert_eq!(msgs, vec![Message::default()]);
    }
}
