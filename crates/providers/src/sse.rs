//! Server-sent events framing. Events end at a blank line (`\n\n`, `\r\n\r\n` or `\r\r`) and
//! straddle reads; [`SseSplitter`] buffers only the incomplete tail.

use bytes::{Buf, Bytes, BytesMut};

/// Splits a byte stream into complete raw SSE events (each including its terminating blank line).
#[derive(Debug, Default)]
pub struct SseSplitter {
    buf: BytesMut,
}

impl SseSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `chunk`; call [`SseSplitter::next_event`] until it returns `None`.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete event, raw bytes including the terminator.
    pub fn next_event(&mut self) -> Option<Bytes> {
        let end = find_event_end(&self.buf)?;
        Some(self.buf.split_to(end).freeze())
    }

    /// Bytes of an incomplete event left at the end of the stream.
    pub fn remainder(&mut self) -> Option<Bytes> {
        if self.buf.iter().all(|b| b.is_ascii_whitespace()) {
            self.buf.clear();
            return None;
        }
        let rest = self.buf.split().freeze();
        Some(rest)
    }

    pub fn is_empty(&self) -> bool {
        !self.buf.has_remaining()
    }
}

/// Index just past the first blank line in `buf` (`\n\n`, `\n\r\n` after a line end, or
/// `\r\r`). Jumps between line ends with `memchr`.
fn find_event_end(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(off) = memchr::memchr2(b'\n', b'\r', &buf[from..]) {
        let i = from + off;
        match buf[i] {
            b'\n' => {
                if buf.get(i + 1) == Some(&b'\n') {
                    return Some(i + 2);
                }
                if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                    return Some(i + 3);
                }
            }
            b'\r' if buf.get(i + 1) == Some(&b'\r') => return Some(i + 2),
            _ => {}
        }
        from = i + 1;
    }
    None
}

/// One parsed SSE event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// All `data:` lines joined with `\n`.
    pub data: String,
}

/// Parses one raw event. Comment lines (`:`), `id:` and `retry:` are ignored.
pub fn parse_event(raw: &[u8]) -> SseEvent {
    let text = String::from_utf8_lossy(raw);
    let mut ev = SseEvent::default();
    let mut first_data = true;
    for line in text.split(['\n', '\r']) {
        if line.is_empty() || line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => ev.event = Some(value.to_string()),
            "data" => {
                if !first_data {
                    ev.data.push('\n');
                }
                ev.data.push_str(value);
                first_data = false;
            }
            _ => {}
        }
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_across_reads_and_line_endings() {
        let mut s = SseSplitter::new();
        s.push(b"data: {\"a\":1}\n");
        assert!(s.next_event().is_none());
        s.push(b"\nevent: x\r\ndata: y\r\n\r\ndata: [DONE]\n\n");
        let e1 = s.next_event().unwrap();
        assert_eq!(parse_event(&e1).data, "{\"a\":1}");
        let e2 = parse_event(&s.next_event().unwrap());
        assert_eq!(e2.event.as_deref(), Some("x"));
        assert_eq!(e2.data, "y");
        assert_eq!(parse_event(&s.next_event().unwrap()).data, "[DONE]");
        assert!(s.next_event().is_none());
        assert!(s.remainder().is_none());
    }

    #[test]
    fn multi_line_data_and_comments() {
        let e = parse_event(b": ping\ndata: a\ndata: b\n\n");
        assert_eq!(e.data, "a\nb");
        assert_eq!(e.event, None);
    }

    #[test]
    fn every_split_point_gives_same_events() {
        let input: &[u8] = b"event: a\ndata: 1\n\ndata: 2\r\n\r\n: c\n\ndata: 3\n\n";
        for cut in 0..input.len() {
            let mut s = SseSplitter::new();
            let mut got = Vec::new();
            for part in [&input[..cut], &input[cut..]] {
                s.push(part);
                while let Some(e) = s.next_event() {
                    got.push(parse_event(&e).data);
                }
            }
            assert_eq!(got, vec!["1", "2", "", "3"], "cut at {cut}");
        }
    }
}
