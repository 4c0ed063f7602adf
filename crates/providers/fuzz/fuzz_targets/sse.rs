//! Fuzzes the SSE splitter and event parser: arbitrary bytes in pieces whose sizes come from
//! the input must never panic, and must split into the same events as the whole input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_providers::sse::{parse_event, SseEvent, SseSplitter};

fn split(body: &[u8], piece: usize) -> (Vec<SseEvent>, Option<Vec<u8>>) {
    let mut s = SseSplitter::new();
    let mut events = Vec::new();
    for chunk in body.chunks(piece) {
        s.push(chunk);
        while let Some(raw) = s.next_event() {
            events.push(parse_event(&raw));
        }
    }
    (events, s.remainder().map(|b| b.to_vec()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&size, body)) = data.split_first() else {
        return;
    };
    let piece = usize::from(size).max(1);
    let whole = split(body, body.len().max(1));
    let pieces = split(body, piece);
    assert_eq!(whole, pieces);
});
