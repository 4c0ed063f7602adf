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
