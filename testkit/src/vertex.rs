//! A fake Vertex AI endpoint serving both publishers of one project and location, as Google's
//! Vertex AI reference shows them:
//! - Gemini: `POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent`
//!   and `:streamGenerateContent?alt=sse`, with the Gemini bodies of [`crate::gemini`];
//! - Claude: `.../publishers/anthropic/models/{m}:rawPredict` and `:streamRawPredict`, whose body
//!   is an Anthropic Messages body without `model` and with
//!   `"anthropic_version":"vertex-2023-10-16"`, answered with [`crate::anthropic`] bodies.
//!
//! Every call needs `Authorization: Bearer <access token>`; a bad one gets Google's 401
//! `UNAUTHENTICATED`. [`token_handler`] fakes the OAuth token endpoint a service account
//! exchanges its signed JWT at.

use serde_json::{json, Value};

use crate::{anthropic, gemini, Recorded, Reply};

/// The `anthropic_version` Vertex wants in Claude bodies.
pub const ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

/// The path of a Gemini call.
pub fn gemini_path(project: &str, location: &str, model: &str, stream: bool) -> String {
    let method = if stream {
        "streamGenerateContent?alt=sse"
    } else {
        "generateContent"
    };
    format!("/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:{method}")
}

/// The path of a Claude call.
pub fn claude_path(project: &str, location: &str, model: &str, stream: bool) -> String {
    let method = if stream {
        "streamRawPredict"
    } else {
        "rawPredict"
    };
    format!(
        "/v1/projects/{project}/locations/{location}/publishers/anthropic/models/{model}:{method}"
    )
}

/// Google's 401 for a missing or wrong access token.
pub fn unauthenticated() -> Reply {
    Reply::json(
        401,
        gemini::error_body(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "ACCESS_TOKEN_TYPE_UNSUPPORTED", "domain": "googleapis.com"}]),
        ),
    )
}

/// Which publisher and model a path names, and whether it streams.
enum Route<'a> {
    Google(&'a str, bool),
    Anthropic(&'a str, bool),
}

fn route<'a>(path: &'a str, project: &str, location: &str) -> Option<Route<'a>> {
    let prefix = format!("/v1/projects/{project}/locations/{location}/publishers/");
    let rest = path.strip_prefix(&prefix)?;
    if let Some(m) = rest.strip_prefix("anthropic/models/") {
        if let Some(model) = m.strip_suffix(":rawPredict") {
            return Some(Route::Anthropic(model, false));
        }
        return m
            .strip_suffix(":streamRawPredict")
            .map(|model| Route::Anthropic(model, true));
    }
    let (model, stream) = gemini::route(rest, "google/models/")?;
    Some(Route::Google(model, stream))
}

/// A fake Vertex AI for `project`/`location` accepting the bearer `access_token`.
pub fn handler(
    access_token: &str,
    project: &str,
    location: &str,
) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    let bearer = format!("Bearer {access_token}");
    let (project, location) = (project.to_string(), location.to_string());
    move |r| {
        let Some(route) = route(&r.path, &project, &location) else {
            return gemini::error(
                404,
                "NOT_FOUND",
                &format!("The requested URL {} was not found on this server.", r.path),
            );
        };
        if r.header("authorization") != Some(bearer.as_str()) {
            return unauthenticated();
        }
        let body = r.json();
        match route {
            Route::Google(model, stream) => {
                if let Some(refusal) = gemini::check_body(&body) {
                    return refusal;
                }
                gemini::answer(&body, model, stream)
            }
            Route::Anthropic(model, stream) => {
                if body.get("model").is_some() {
                    return anthropic::error(
                        400,
                        "invalid_request_error",
                        "model: Extra inputs are not permitted",
                    );
                }
                if body.get("anthropic_version").and_then(Value::as_str) != Some(ANTHROPIC_VERSION)
                {
                    return anthropic::error(
                        400,
                        "invalid_request_error",
                        "anthropic_version: Input should be 'vertex-2023-10-16'",
                    );
                }
                if let Some(refusal) = anthropic::check_body(&body, false) {
                    return refusal;
                }
                if (body.get("stream").and_then(Value::as_bool) == Some(true)) != stream {
                    return anthropic::error(
                        400,
                        "invalid_request_error",
                        "stream must be true on streamRawPredict and false on rawPredict",
                    );
                }
                anthropic::answer(&body, model)
            }
        }
    }
}

/// A fake OAuth 2 token endpoint: accepts the JWT-bearer grant (a form with
/// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and a three-part `assertion`) and
/// answers `{"access_token","expires_in":3599,"token_type":"Bearer"}`; anything else gets
/// Google's `invalid_grant` 400. The JWT signature is not verified.
pub fn token_handler(access_token: &str) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    let token = access_token.to_string();
    move |r| {
        let form = String::from_utf8_lossy(&r.body).to_string();
        let field = |name: &str| {
            form.split('&').find_map(|kv| {
                kv.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('='))
                    .map(str::to_string)
            })
        };
        let grant_ok = field("grant_type").as_deref()
            == Some("urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer")
            || field("grant_type").as_deref()
                == Some("urn:ietf:params:oauth:grant-type:jwt-bearer");
        let jwt_ok = field("assertion").is_some_and(|a| a.split('.').count() == 3);
        if r.method != "POST" || !grant_ok || !jwt_ok {
            return Reply::json(
                400,
                json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
                    .to_string(),
            );
        }
        Reply::json(
            200,
            json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}).to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anthropic::tests::{body_text, rec};

    #[test]
    fn both_publishers_with_a_bearer_token() {
        let h = handler("tok", "proj", "us-east5");
        let auth = [("authorization", "Bearer tok")];
        let gem = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
        let p = gemini_path("proj", "us-east5", "gemini-2.5-flash", true);
        assert_eq!(p, "/v1/projects/proj/locations/us-east5/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
        assert_eq!(h(&rec(&p, &auth, gem.clone())).status, 200);
        assert_eq!(h(&rec(&p, &[], gem)).status, 401);
        let claude = json!({"anthropic_version": ANTHROPIC_VERSION, "max_tokens": 5,
                            "messages": [{"role": "user", "content": "hi"}]});
        let c = claude_path("proj", "us-east5", "claude-sonnet-4-5@20250929", false);
        let v: Value =
            serde_json::from_str(&body_text(&h(&rec(&c, &auth, claude.clone())))).unwrap();
        assert_eq!(v["content"][0]["text"], "You said: hi");
        let mut with_model = claude.clone();
        with_model["model"] = json!("claude");
        assert_eq!(h(&rec(&c, &auth, with_model)).status, 400);
        let mut no_version = claude.clone();
        no_version
            .as_object_mut()
            .unwrap()
            .remove("anthropic_version");
        assert_eq!(h(&rec(&c, &auth, no_version)).status, 400);
        let streaming_on_raw = {
            let mut b = claude;
            b["stream"] = json!(true);
            b
        };
        assert_eq!(h(&rec(&c, &auth, streaming_on_raw)).status, 400);
        assert_eq!(
            h(&rec(
                "/v1/projects/other/locations/x/publishers/google/models/g:generateContent",
                &auth,
                json!({})
            ))
            .status,
            404
        );
    }

    #[test]
    fn token_endpoint() {
        let t = token_handler("ya29.x");
        let mut ok = rec("/token", &[], json!(null));
        ok.body = bytes::Bytes::from_static(
            b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c",
        );
        let v: Value = serde_json::from_str(&body_text(&t(&ok))).unwrap();
        assert_eq!(
            (v["access_token"].as_str(), v["expires_in"].as_u64()),
            (Some("ya29.x"), Some(3599))
        );
        let mut bad = ok.clone();
        bad.body = bytes::Bytes::from_static(b"grant_type=password&assertion=a.b.c");
        assert_eq!(t(&bad).status, 400);
    }
}
