//! Vertex service-account auth against a fake Google token endpoint on 127.0.0.1: the fake
//! verifies the RS256 JWT with the test key pair's public key, checks the claims and counts
//! token fetches.
#![cfg(test)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use serde_json::{json, Value};
use switchyard_config::ProviderConfig;
use switchyard_providers::client::HttpClient;
use switchyard_providers::vertex::{ServiceAccount, VertexAdapter, SCOPE};
use switchyard_providers::{ChatAdapter, Dropped, WireRequest};
use switchyard_types::{ChatRequest, ErrorClass, Message, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CLIENT_EMAIL: &str = "gateway@switchyard-test.iam.gserviceaccount.com";
const KEY_ID: &str = "0123456789abcdef0123456789abcdef01234567";

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vertex")
        .join(name)
}

/// The test public key as DER `RSAPublicKey` (what ring verifies with).
fn public_key() -> Vec<u8> {
    let pem = std::fs::read_to_string(fixture_path("test-sa-public-key.pem")).unwrap();
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    STANDARD.decode(b64).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Verifies a JWT assertion; returns the claims or why it is refused.
fn verify_assertion(jwt: &str, aud: &str) -> Result<Value, String> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return Err("not three segments".into());
    };
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|e| e.to_string())?;
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key())
        .verify(format!("{h}.{p}").as_bytes(), &sig)
        .map_err(|_| "bad signature".to_string())?;
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap();
    if header != json!({"alg": "RS256", "typ": "JWT", "kid": KEY_ID}) {
        return Err(format!("bad header {header}"));
    }
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
    let iat = claims["iat"].as_u64().ok_or("no iat")?;
    let checks = [
        (claims["iss"] == CLIENT_EMAIL, "iss"),
        (claims["scope"] == SCOPE, "scope"),
        (claims["aud"] == aud, "aud"),
        (claims["exp"].as_u64() == Some(iat + 3600), "exp"),
        (now().abs_diff(iat) < 60, "iat"),
    ];
    for (ok, what) in checks {
        if !ok {
            return Err(format!("bad claim {what}: {claims}"));
        }
    }
    Ok(claims)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

#[derive(Clone, Copy)]
enum Behaviour {
    /// Answer with this `expires_in` after this delay.
    Grant { expires_in: u64, delay_ms: u64 },
    /// Refuse like Google refuses a bad assertion.
    Refuse,
}

struct FakeTokenServer {
    url: String,
    calls: Arc<AtomicUsize>,
}

impl FakeTokenServer {
    async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        let calls = Arc::new(AtomicUsize::new(0));
        let (aud, counter) = (url.clone(), calls.clone());
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let (aud, counter) = (aud.clone(), counter.clone());
                tokio::spawn(async move { serve(socket, &aud, &counter, behaviour).await });
            }
        });
        Self { url, calls }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// Answers one HTTP/1.1 request by hand, then closes the connection.
async fn serve(mut socket: TcpStream, aud: &str, calls: &AtomicUsize, behaviour: Behaviour) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.unwrap();
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await.unwrap();
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
    let n = calls.fetch_add(1, Ordering::SeqCst) + 1;

    let form: Vec<(String, String)> = body
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut verdict = Ok(());
    if !head.starts_with("POST /token HTTP/1.1\r\n") {
        verdict = Err(format!("bad request line: {head}"));
    } else if !head
        .to_ascii_lowercase()
        .contains("content-type: application/x-www-form-urlencoded")
    {
        verdict = Err("not a form".into());
    } else if field("grant_type").as_deref() != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        verdict = Err("bad grant_type".into());
    } else {
        match field("assertion") {
            None => verdict = Err("no assertion".into()),
            Some(jwt) => {
                if let Err(e) = verify_assertion(&jwt, aud) {
                    verdict = Err(e);
                }
            }
        }
    }
    let (status, answer) = match (verdict, behaviour) {
        (Err(why), _) => (
            "400 Bad Request",
            json!({"error": "invalid_grant", "error_description": why}),
        ),
        (Ok(()), Behaviour::Refuse) => (
            "400 Bad Request",
            json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
        ),
        (
            Ok(()),
            Behaviour::Grant {
                expires_in,
                delay_ms,
            },
        ) => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            (
                "200 OK",
                json!({"access_token": format!("ya29.fake-token-{n}"), "expires_in": expires_in, "token_type": "Bearer"}),
            )
        }
    };
    let answer = answer.to_string();
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
        answer.len()
    );
    socket.write_all(response.as_bytes()).await.unwrap();
    socket.shutdown().await.unwrap();
}

fn config(token_url: Option<&str>, credentials_file: PathBuf) -> ProviderConfig {
    ProviderConfig {
        project: Some("switchyard-test".into()),
        location: Some("us-central1".into()),
        credentials_file: Some(credentials_file.to_string_lossy().into_owned()),
        token_url: token_url.map(str::to_string),
        ..ProviderConfig::default()
    }
}

fn adapter(cfg: &ProviderConfig) -> VertexAdapter {
    VertexAdapter::new(cfg, HttpClient::new(Duration::from_secs(2)).unwrap()).unwrap()
}

fn wire(adapter: &VertexAdapter) -> WireRequest {
    let req = ChatRequest {
        model: "gemini-2.5-flash".into(),
        messages: vec![Message::text(Role::User, "hi")],
        ..ChatRequest::default()
    };
    adapter.chat_request(&req, &mut Dropped::default()).unwrap()
}

async fn bearer(adapter: &VertexAdapter) -> Result<String, switchyard_types::GatewayError> {
    let req = adapter.authorize(wire(adapter)).await?;
    let (_, v) = req
        .headers
        .iter()
        .find(|(n, _)| n == "authorization")
        .unwrap();
    assert!(v.is_sensitive());
    Ok(v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn two_requests_share_one_token() {
    let fake = FakeTokenServer::start(Behaviour::Grant {
        expires_in: 3599,
        delay_ms: 0,
    })
    .await;
    let a = adapter(&config(
        Some(&fake.url),
        fixture_path("service-account.json"),
    ));
    assert_eq!(a.token_source().unwrap().token_url(), fake.url);
    assert_eq!(bearer(&a).await.unwrap(), "Bearer ya29.fake-token-1");
    assert_eq!(bearer(&a).await.unwrap(), "Bearer ya29.fake-token-1");
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn concurrent_requests_share_one_refresh() {
    let fake = FakeTokenServer::start(Behaviour::Grant {
        expires_in: 3599,
        delay_ms: 150,
    })
    .await;
    let a = Arc::new(adapter(&config(
        Some(&fake.url),
        fixture_path("service-account.json"),
    )));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let a = a.clone();
            tokio::spawn(async move { bearer(&a).await.unwrap() })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), "Bearer ya29.fake-token-1");
    }
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn a_token_near_expiry_is_fetched_again() {
    // 60 s left is inside the 5-minute refresh margin: every use needs a new token.
    let fake = FakeTokenServer::start(Behaviour::Grant {
        expires_in: 60,
        delay_ms: 0,
    })
    .await;
    let a = adapter(&config(
        Some(&fake.url),
        fixture_path("service-account.json"),
    ));
    assert_eq!(bearer(&a).await.unwrap(), "Bearer ya29.fake-token-1");
    assert_eq!(bearer(&a).await.unwrap(), "Bearer ya29.fake-token-2");
    assert_eq!(fake.calls(), 2);
}

#[tokio::test]
async fn token_uri_from_the_key_file_is_used_without_token_url() {
    let fake = FakeTokenServer::start(Behaviour::Grant {
        expires_in: 3599,
        delay_ms: 0,
    })
    .await;
    let mut sa: Value =
        serde_json::from_slice(&std::fs::read(fixture_path("service-account.json")).unwrap())
            .unwrap();
    sa["token_uri"] = json!(fake.url);
    let path = std::env::temp_dir().join(format!(
        "switchyard-vertex-sa-{}-{}.json",
        std::process::id(),
        now()
    ));
    std::fs::write(&path, sa.to_string()).unwrap();
    let a = adapter(&config(None, path.clone()));
    let got = bearer(&a).await;
    std::fs::remove_file(&path).unwrap();
    assert_eq!(got.unwrap(), "Bearer ya29.fake-token-1");
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn refused_assertion_is_upstream_auth_without_secrets() {
    let fake = FakeTokenServer::start(Behaviour::Refuse).await;
    let a = adapter(&config(
        Some(&fake.url),
        fixture_path("service-account.json"),
    ));
    let e = bearer(&a).await.unwrap_err();
    assert_eq!((e.class, e.status), (ErrorClass::UpstreamAuth, 502));
    assert!(e.message.contains("invalid_grant"), "{}", e.message);
    assert!(e.message.contains("HTTP 400"), "{}", e.message);
    let key = std::fs::read_to_string(fixture_path("test-sa-private-key.pem")).unwrap();
    let key_line = key.lines().nth(1).unwrap();
    assert!(!e.message.contains(key_line));
    assert!(
        !e.message.contains("eyJ"),
        "no JWT in the message: {}",
        e.message
    );
    assert!(!format!("{a:?}").contains(key_line));
    // A failed fetch is not cached: the next request tries again.
    assert!(bearer(&a).await.is_err());
    assert_eq!(fake.calls(), 2);
}

#[tokio::test]
async fn unreachable_token_endpoint_is_upstream_auth() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    drop(listener);
    let a = adapter(&config(Some(&url), fixture_path("service-account.json")));
    let e = bearer(&a).await.unwrap_err();
    assert_eq!(e.class, ErrorClass::UpstreamAuth);
}

/// The fake's verification really checks the signature: a tampered assertion fails.
#[test]
fn assertion_verifies_and_tampering_is_detected() {
    let sa = ServiceAccount::from_json(
        &std::fs::read_to_string(fixture_path("service-account.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(sa.client_email(), CLIENT_EMAIL);
    let aud = "https://oauth2.googleapis.com/token";
    let jwt = sa.assertion(aud, now()).unwrap();
    let claims = verify_assertion(&jwt, aud).unwrap();
    assert_eq!(claims["aud"], aud);
    assert!(verify_assertion(&jwt, "https://elsewhere/token").is_err());

    let parts: Vec<&str> = jwt.split('.').collect();
    let mut forged: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    forged["scope"] = json!("https://www.googleapis.com/auth/everything");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged.to_string()),
        parts[2]
    );
    assert_eq!(verify_assertion(&forged, aud).unwrap_err(), "bad signature");
    // An assertion issued an hour ago fails the iat check.
    let old = sa.assertion(aud, now() - 3600).unwrap();
    assert!(verify_assertion(&old, aud).unwrap_err().contains("iat"));
}
