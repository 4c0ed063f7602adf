//! OpenAI Embeddings: the documented request -> canonical, canonical -> the documented list, and
//! the base64 encoding (little-endian f32) decoded back.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "helpers outside #[test] fns: a panic there is a failed test"
)]

mod common;

use base64::Engine as _;
use common::{fixture, fixture_json, to_json};
use pretty_assertions::assert_eq;
use switchyard_ingress::openai::{parse_embed_request, render_embed_response};
use switchyard_types::{EmbedRequest, EmbedResponse, Usage};

#[test]
fn request_fixture() {
    let r = parse_embed_request(&fixture("openai/embeddings_request.json")).unwrap();
    assert_eq!(
        r,
        EmbedRequest {
            model: "text-embedding-3-small".into(),
            input: vec![
                "The food was delicious and the waiter...".into(),
                "Second text".into()
            ],
            dimensions: Some(3),
            encoding_format: Some("float".into()),
            user: Some("user-1234".into()),
            input_type: None,
        }
    );
}

fn response() -> EmbedResponse {
    EmbedResponse {
        model: "upstream-model".into(),
        embeddings: vec![
            vec![0.002_306_425_5, -0.009_327_292, -0.002_884_222_2],
            vec![0.5, -1.0, 0.25],
        ],
        usage: Usage {
            prompt_tokens: 8,
            ..Usage::default()
        },
    }
}

#[test]
fn float_response_matches_the_documented_list() {
    let got = to_json(&render_embed_response(
        &response(),
        "text-embedding-3-small",
        false,
    ));
    assert_eq!(got, fixture_json("openai/embeddings_response.json"));
}

#[test]
fn base64_response_decodes_to_the_same_floats() {
    let resp = response();
    let got = to_json(&render_embed_response(&resp, "e", true));
    for (i, want) in resp.embeddings.iter().enumerate() {
        let b64 = got["data"][i]["embedding"].as_str().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let floats: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(&floats, want);
        assert_eq!(got["data"][i]["index"], i);
    }
    assert_eq!(got["model"], "e");
}
