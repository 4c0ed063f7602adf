//! Fuzzes the AWS event-stream decoder and the Bedrock stream decoder on top of it.
//!
//! The first input byte picks a mode and a piece size:
//! - raw (even): the rest is the byte stream itself. It must never panic, and when decoding
//!   it whole succeeds, decoding it in pieces must give the same frames.
//! - framed (odd): the rest is split at `0xFF` into segments; each becomes a valid frame (good
//!   CRCs) whose event type is picked by the segment's first byte and whose payload is the
//!   remainder. This gets past the checksums into the Bedrock event handling.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_providers::bedrock::BedrockStreamDecoder;
use switchyard_providers::eventstream::{decode_all, encode_message, EventStreamDecoder};
use switchyard_providers::StreamDecoder;

const EVENTS: [&str; 7] = [
    "messageStart",
    "contentBlockStart",
    "contentBlockDelta",
    "contentBlockStop",
    "messageStop",
    "metadata",
    "throttlingException",
];

fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for seg in body.split(|b| *b == 0xFF) {
        let Some((&kind, payload)) = seg.split_first() else {
            continue;
        };
        let name = EVENTS[usize::from(kind) % EVENTS.len()];
        let frame = if name.ends_with("Exception") {
            encode_message(
                &[(":exception-type", name), (":message-type", "exception")],
                payload,
            )
        } else {
            encode_message(
                &[(":event-type", name), (":message-type", "event")],
                payload,
            )
        };
        out.extend(frame);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let piece = usize::from(mode >> 1).max(1);
    let stream = if mode & 1 == 1 {
        framed(body)
    } else {
        body.to_vec()
    };

    let whole = decode_all(&stream);
    let mut d = EventStreamDecoder::new();
    let mut pieces = Vec::new();
    let mut failed = false;
    'outer: for chunk in stream.chunks(piece) {
        d.push(chunk);
        loop {
            match d.next_message() {
                Ok(Some(m)) => pieces.push(m),
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    break 'outer;
                }
            }
        }
    }
    if let Ok(msgs) = whole {
        assert!(
            !failed,
            "piecewise decoding failed where whole decoding succeeded"
        );
        assert_eq!(msgs, pieces);
    }

    let mut bedrock = BedrockStreamDecoder::new();
    let mut out = Vec::new();
    for chunk in stream.chunks(piece) {
        if bedrock.feed(chunk, &mut out).is_err() {
            return;
        }
    }
    let _ = bedrock.finish(&mut out);
});
