//! Helpers shared by the admin API tests: a gateway with a master key and a mock model, and a
//! small JSON client for `/admin`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    reason = "test helpers fail by panicking; not every test file uses every helper"
)]

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use switchyard_server::Running;

use crate::common::{client, gateway, url};

pub const MASTER: &str = "sk-master-admin-tests";

/// Config with a master key and one mock model `m`.
pub fn config(extra: &str) -> String {
    format!(
        "master_key: {MASTER}\nproviders:\n  p:\n    kind: mock\nmodels:\n  m:\n    targets:\n      - {{ provider: p, model: mock-1 }}\n{extra}"
    )
}

pub struct Admin {
    pub g: Running,
    pub http: reqwest::Client,
}

/// A response: status, body text and the body parsed as JSON (Null if it is not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub text: String,
    pub json: Value,
    pub content_type: String,
}

impl Reply {
    /// The OpenAI-shaped error's message (panics if this is not one).
    pub fn error_message(&self) -> &str {
        self.json["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("not an OpenAI error ({}): {}", self.status, self.text))
    }
    pub fn error_type(&self) -> &str {
        self.json["error"]["type"].as_str().unwrap_or_default()
    }
}

impl Admin {
    pub async fn start() -> Admin {
        Self::start_with(&config("")).await
    }

    pub async fn start_with(yaml: &str) -> Admin {
        Admin {
            g: gateway(yaml).await,
            http: client(),
        }
    }

    /// Calls `path` with `key` (none: no Authorization header) and an optional JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.http.request(method, url(&self.g, path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = resp.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            text,
            json,
            content_type,
        }
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.call(Method::GET, path, Some(key), None).await
    }
    pub async fn post(&self, path: &str, key: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(key), Some(body)).await
    }
    pub async fn patch(&self, path: &str, key: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(key), Some(body)).await
    }
    pub async fn delete(&self, path: &str, key: &str) -> Reply {
        self.call(Method::DELETE, path, Some(key), None).await
    }

    /// Creates a team with the master key; returns its id.
    pub async fn team(&self, name: &str) -> String {
        let r = self
            .post("/admin/teams", MASTER, json!({ "name": name }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json["id"].as_str().unwrap().to_owned()
    }

    /// Creates a key with the master key; returns (id, secret).
    pub async fn key(&self, body: Value) -> (String, String) {
        self.key_as(MASTER, body).await
    }

    /// Creates a key as `caller`; returns (id, secret).
    pub async fn key_as(&self, caller: &str, body: Value) -> (String, String) {
        let r = self.post("/admin/keys", caller, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        (
            r.json["id"].as_str().unwrap().to_owned(),
            r.json["key"].as_str().unwrap().to_owned(),
        )
    }

    /// The audit entries (newest first) matching `query`, read with the master key.
    pub async fn audit(&self, query: &str) -> Vec<Value> {
        let r = self.get(&format!("/admin/audit?{query}"), MASTER).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.json["rows"].as_array().unwrap().clone()
    }
}

/// Asserts an OpenAI-shaped error with `status` and returns its message.
pub fn expect_error(r: &Reply, status: u16) -> String {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert!(r.json["error"]["type"].is_string(), "{}", r.text);
    r.error_message().to_owned()
}
