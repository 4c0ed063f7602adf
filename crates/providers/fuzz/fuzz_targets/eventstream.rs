//! Fuzzes the AWS event-stream decoder and the Bedrock stream decoder on top of it: arbitrary
//! bytes, fed in pieces whose sizes come from the input, must never panic, and whole-input
//! decoding must agree with piecewise decoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_providers::bedrock::BedrockStreamDecoder;
use switchyard_providers::eventstream::{decode_all, EventStreamDecoder};
use switchyard_providers::StreamDecoder;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the piece size, the rest is the stream.
    let Some((&size, body)) = data.split_first() else {
        return;
    };
    let piece = usize::from(size).max(1);

    let whole = decode_all(body);
    let mut d = EventStreamDecoder::new();
    let mut pieces = Vec::new();
    let mut failed = false;
    for chunk in body.chunks(piece) {
        d.push(chunk);
        loop {
            match d.next_message() {
                Ok(Some(m)) => pieces.push(m),
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            break;
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
    for chunk in body.chunks(piece) {
        if bedrock.feed(chunk, &mut out).is_err() {
            return;
        }
    }
    let _ = bedrock.finish(&mut out);
});
