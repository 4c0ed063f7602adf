//! Vertex AI credentials: a static access token, or a Google service account whose OAuth
//! access tokens are minted with the JWT-bearer flow and cached.
//!
//! Flow (Google's "OAuth 2.0 for server to server applications"): an RS256 JWT — header
//! `{"alg":"RS256","typ":"JWT","kid":private_key_id}`, claims `iss`=client_email,
//! `scope`=cloud-platform, `aud`=the token URL, `iat`=now, `exp`=now+3600 — signed with the
//! key file's PKCS#8 RSA key (ring, RSASSA-PKCS1-v1_5 SHA-256) is POSTed as
//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>` to the token URL
//! (config `token_url`, else the file's `token_uri`, else `https://oauth2.googleapis.com/token`)
//! through the shared [`HttpClient`]; the answer is `{"access_token","expires_in"}`.
//!
//! Caching: the token is reused until 5 minutes before it expires. Readers take a tokio
//! `RwLock`; a refresh takes a tokio `Mutex` and re-checks the cache, so concurrent requests
//! that find the token stale share one fetch. Any failure is `UpstreamAuth` (502) with a
//! message naming the step; neither the key nor a token ever appears in a message or `Debug`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde::Deserialize;
use serde_json::json;
use switchyard_types::{ErrorClass, GatewayError, Secret};
use tokio::sync::{Mutex, RwLock};

use crate::client::HttpClient;

/// Google's OAuth token endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// The scope Vertex AI needs.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// Lifetime asked for each assertion (Google's maximum).
const ASSERTION_LIFETIME_SECS: u64 = 3600;
/// Refresh this long before the token expires.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// Largest token-endpoint answer read.
const MAX_TOKEN_BODY: usize = 64 * 1024;

/// A parsed service-account key file.
pub struct ServiceAccount {
    client_email: String,
    private_key_id: Option<String>,
    token_uri: Option<String>,
    key: RsaKeyPair,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("private_key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct KeyFile {
    client_email: String,
    private_key: Secret<String>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

impl ServiceAccount {
    /// Parses a service-account JSON key file. Errors never quote the file's content.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let file: KeyFile = serde_json::from_str(text).map_err(|e| {
            format!(
                "not a service-account key file (needs client_email and private_key): error at line {}, column {}",
                e.line(),
                e.column()
            )
        })?;
        let key = parse_private_key(file.private_key.expose())?;
        Ok(Self {
            client_email: file.client_email,
            private_key_id: file.private_key_id.filter(|k| !k.is_empty()),
            token_uri: file.token_uri.filter(|u| !u.is_empty()),
            key,
        })
    }

    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    pub fn token_uri(&self) -> Option<&str> {
        self.token_uri.as_deref()
    }

    /// The signed JWT assertion for `aud` issued at `iat` (Unix seconds).
    pub fn assertion(&self, aud: &str, iat: u64) -> Result<String, GatewayError> {
        let mut header = json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.private_key_id {
            header["kid"] = json!(kid);
        }
        let claims = json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": aud,
            "iat": iat,
            "exp": iat + ASSERTION_LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| auth_error("could not sign the service-account assertion"))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// PEM (`PRIVATE KEY` = PKCS#8, or `RSA PRIVATE KEY` = PKCS#1) -> RSA key pair.
fn parse_private_key(pem: &str) -> Result<RsaKeyPair, String> {
    let (label, der) = pem_body(pem).ok_or("private_key is not a PEM block")?;
    let parsed = match label {
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der).map_err(|e| e.to_string()),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der).map_err(|e| e.to_string()),
        _ => return Err("private_key is not an RSA private key".into()),
    };
    parsed.map_err(|reason| format!("private_key is not a usable RSA key ({reason})"))
}

/// The label and decoded bytes of the first PEM block.
fn pem_body(pem: &str) -> Option<(&str, Vec<u8>)> {
    let start = pem.find("-----BEGIN ")?;
    let rest = &pem[start + "-----BEGIN ".len()..];
    let label_end = rest.find("-----")?;
    let label = &rest[..label_end];
    let body_start = label_end + 5;
    let end_marker = format!("-----END {label}-----");
    let body_end = rest.find(&end_marker)?;
    let b64: String = rest
        .get(body_start..body_end)?
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = STANDARD.decode(b64).ok()?;
    Some((label, der))
}

fn auth_error(message: impl Into<String>) -> GatewayError {
    GatewayError::upstream(
        ErrorClass::UpstreamAuth,
        ErrorClass::UpstreamAuth.default_status(),
        message,
    )
}

struct CachedToken {
    token: Secret<String>,
    refresh_at: Instant,
}

/// Mints and caches access tokens for one service account.
pub struct TokenSource {
    account: ServiceAccount,
    token_url: String,
    client: HttpClient,
    timeout: Duration,
    cached: RwLock<Option<CachedToken>>,
    refresh: Mutex<()>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("account", &self.account)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<Secret<String>>,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct TokenError {
    error: Option<String>,
    error_description: Option<String>,
}

impl TokenSource {
    pub fn new(
        account: ServiceAccount,
        token_url: String,
        client: HttpClient,
        timeout: Duration,
    ) -> Result<Self, String> {
        token_url
            .parse::<http::Uri>()
            .map_err(|_| format!("token URL `{token_url}` is not a valid URL"))?;
        Ok(Self {
            account,
            token_url,
            client,
            timeout,
            cached: RwLock::new(None),
            refresh: Mutex::new(()),
        })
    }

    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    async fn fresh(&self) -> Option<Secret<String>> {
        let cached = self.cached.read().await;
        cached
            .as_ref()
            .filter(|c| Instant::now() < c.refresh_at)
            .map(|c| c.token.clone())
    }

    /// A valid access token, fetching one when none is cached or it expires within 5 minutes.
    pub async fn token(&self) -> Result<Secret<String>, GatewayError> {
        if let Some(t) = self.fresh().await {
            return Ok(t);
        }
        let _refreshing = self.refresh.lock().await;
        // Another request may have refreshed while this one waited.
        if let Some(t) = self.fresh().await {
            return Ok(t);
        }
        let (token, expires_in) = self.fetch().await?;
        let lifetime = Duration::from_secs(expires_in).saturating_sub(REFRESH_MARGIN);
        *self.cached.write().await = Some(CachedToken {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime,
        });
        Ok(token)
    }

    async fn fetch(&self) -> Result<(Secret<String>, u64), GatewayError> {
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let assertion = self.account.assertion(&self.token_url, iat)?;
        let form = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
        );
        let request = http::Request::builder()
            .method(http::Method::POST)
            .uri(&self.token_url)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(form)))
            .map_err(|_| auth_error("could not build the token request"))?;
        let response = tokio::time::timeout(self.timeout, self.client.send(request))
            .await
            .map_err(|_| auth_error("the Google token endpoint did not answer in time"))?
            .map_err(|e| auth_error(format!("could not reach the Google token endpoint: {e}")))?;
        let status = response.status();
        let body = tokio::time::timeout(
            self.timeout,
            Limited::new(response.into_body(), MAX_TOKEN_BODY).collect(),
        )
        .await
        .map_err(|_| auth_error("the Google token endpoint did not answer in time"))?
        .map_err(|_| auth_error("could not read the Google token endpoint's answer"))?
        .to_bytes();
        if !status.is_success() {
            let detail = serde_json::from_slice::<TokenError>(&body)
                .ok()
                .map(|e| {
                    [e.error, e.error_description]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(": ")
                })
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| "no detail".into());
            return Err(auth_error(format!(
                "the Google token endpoint refused the service account {} (HTTP {}): {detail}",
                self.account.client_email,
                status.as_u16()
            )));
        }
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|_| auth_error("the Google token endpoint sent an unreadable answer"))?;
        let token = answer
            .access_token
            .filter(|t| !t.expose().is_empty())
            .ok_or_else(|| auth_error("the Google token endpoint sent no access_token"))?;
        Ok((token, answer.expires_in.unwrap_or(ASSERTION_LIFETIME_SECS)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_key_files_fail_without_quoting_them() {
        let e =
            ServiceAccount::from_json(r#"{"client_email":"a@b","private_key":"SECRET-MATERIAL"}"#)
                .unwrap_err();
        assert!(!e.contains("SECRET-MATERIAL"), "{e}");
        let e = ServiceAccount::from_json(r#"{"private_key":"SECRET-MATERIAL"}"#).unwrap_err();
        assert!(!e.contains("SECRET-MATERIAL"), "{e}");
        let e = ServiceAccount::from_json(
            "{\"client_email\":\"a@b\",\"private_key\":\"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n\"}",
        )
        .unwrap_err();
        assert!(e.contains("not a usable RSA key"), "{e}");
        let e = ServiceAccount::from_json(
            "{\"client_email\":\"a@b\",\"private_key\":\"-----BEGIN EC PRIVATE KEY-----\\nAAAA\\n-----END EC PRIVATE KEY-----\\n\"}",
        )
        .unwrap_err();
        assert!(e.contains("not an RSA private key"), "{e}");
    }

    #[test]
    fn pem_blocks() {
        let (label, der) =
            pem_body("junk\n-----BEGIN X-----\nAQID\nBA==\n-----END X-----\n").unwrap();
        assert_eq!(label, "X");
        assert_eq!(der, vec![1, 2, 3, 4]);
        assert!(pem_body("-----BEGIN X-----\nAQID").is_none());
    }
}
