//! `switchyard keys …` and `switchyard teams …` run as the built binary against a gateway
//! started in this test (in-memory SQLite, a master key, a mock model).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");
const MASTER: &str = "sk-master-cli-tests";

/// Starts a gateway on its own thread and runtime; returns its base URL. The runtime lives for
/// the rest of the test process.
fn gateway() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let yaml = format!(
                "master_key: {MASTER}\nproviders:\n  p:\n    kind: mock\nmodels:\n  m:\n    targets:\n      - {{ provider: p, model: mock-1 }}\n"
            );
            let mut config = switchyard_config::load_str(&yaml, &|_| None).unwrap();
            config.listen = "127.0.0.1:0".parse().unwrap();
            config.database = "sqlite::memory:".into();
            let running = switchyard_server::start(&config, std::future::pending())
                .await
                .unwrap();
            tx.send(format!("http://{}", running.addr)).unwrap();
            let _ = running.wait().await;
        });
    });
    rx.recv().unwrap()
}

/// Runs the binary with `args`, the gateway URL and master key from the environment.
fn cli(url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("SWITCHYARD_URL", url)
        .env("SWITCHYARD_MASTER_KEY", MASTER)
        .output()
        .unwrap()
}

fn json_ok(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn keys_and_teams_against_a_running_gateway() {
    let url = gateway();

    let team = json_ok(&cli(
        &url,
        &[
            "teams",
            "create",
            "payments",
            "--budget-usd",
            "100",
            "--period",
            "weekly",
            "--rpm",
            "600",
        ],
    ));
    let team_id = team["id"].as_str().unwrap().to_owned();
    assert_eq!(team["budget"]["period"], "weekly");
    assert_eq!(team["limits"]["rpm"], 600);
    let teams = json_ok(&cli(&url, &["teams", "list"]));
    assert_eq!(teams["data"][0]["name"], "payments");

    let out = cli(
        &url,
        &[
            "keys",
            "create",
            "--name",
            "ci",
            "--team",
            &team_id,
            "--user",
            "alice",
            "--models",
            "gpt-4o,claude-*",
            "--budget-usd",
            "10",
            "--period",
            "monthly",
            "--soft-usd",
            "8",
            "--rpm",
            "60",
            "--tpm",
            "5000",
            "--max-parallel",
            "2",
            "--expires",
            "30d",
            "--metadata",
            "env=ci",
        ],
    );
    let created = json_ok(&out);
    assert!(stderr(&out).contains("not shown again"), "{}", stderr(&out));
    let secret = created["key"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sk-sy-"));
    assert_eq!(created["team_id"], team_id.as_str());
    assert_eq!(created["models"], serde_json::json!(["gpt-4o", "claude-*"]));
    assert_eq!(
        created["budget"],
        serde_json::json!({"max_usd": 10.0, "period": "monthly", "soft_usd": 8.0})
    );
    assert_eq!(
        created["limits"],
        serde_json::json!({"rpm": 60, "tpm": 5000, "max_parallel": 2})
    );
    assert_eq!(created["metadata"]["env"], "ci");
    assert!(created["expires_at"].is_string());

    let listed = json_ok(&cli(&url, &["keys", "list", "--team", &team_id]));
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is shown only once"
    );
    let got = json_ok(&cli(&url, &["keys", "get", &id]));
    assert_eq!(got["name"], "ci");

    // Flags may also come before the subcommand, and override the environment.
    let table = cli(
        &url,
        &[
            "keys",
            "--table",
            "--url",
            &url,
            "--master-key",
            MASTER,
            "list",
        ],
    );
    assert!(table.status.success(), "{}", stderr(&table));
    let text = String::from_utf8_lossy(&table.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("ID"), "{text}");
    assert!(
        lines[0].contains("PREFIX") && lines[0].contains("STATUS"),
        "{text}"
    );
    assert!(
        lines[1].starts_with(&id) && lines[1].contains("active"),
        "{text}"
    );
    assert!(lines[1].contains("$10.0/monthly"), "{text}");

    let rotated = json_ok(&cli(&url, &["keys", "rotate", &id]));
    let new_secret = rotated["key"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    assert_eq!(rotated["key_prefix"], new_secret[..8]);

    let revoked = json_ok(&cli(&url, &["keys", "revoke", &id]));
    assert_eq!(revoked["status"], "revoked");
    let listed = json_ok(&cli(&url, &["keys", "list"]));
    assert_eq!(listed["data"], serde_json::json!([]));
    let all = json_ok(&cli(&url, &["keys", "list", "--include-revoked"]));
    assert_eq!(all["data"].as_array().unwrap().len(), 1);

    // A rotated-table create prints the secret first.
    let out = cli(&url, &["keys", "create", "--name", "t", "--table"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("key: sk-sy-"), "{text}");
}

#[test]
fn refusals_and_usage_errors() {
    let url = gateway();

    // The gateway's 400 is relayed with its field path; exit code 1.
    let out = cli(
        &url,
        &["keys", "create", "--budget-usd", "10", "--soft-usd", "20"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("400: budget.soft_usd: must not exceed max_usd"),
        "{}",
        stderr(&out)
    );
    let out = cli(&url, &["keys", "get", "key_missing"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("404"), "{}", stderr(&out));

    // A wrong admin key: 401, and the key is not echoed.
    let out = Command::new(BIN)
        .args([
            "keys",
            "list",
            "--url",
            &url,
            "--master-key",
            "sk-wrong-secret",
        ])
        .env_remove("SWITCHYARD_MASTER_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("sk-wrong-secret"));

    // No admin key at all, a bad period, a bad URL, a bad expiry: usage errors (exit 2).
    let out = Command::new(BIN)
        .args(["keys", "list", "--url", &url])
        .env_remove("SWITCHYARD_MASTER_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("SWITCHYARD_MASTER_KEY"),
        "{}",
        stderr(&out)
    );
    let out = cli(
        &url,
        &["keys", "create", "--budget-usd", "1", "--period", "yearly"],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = cli(&url, &["keys", "create", "--period", "daily"]);
    assert_eq!(out.status.code(), Some(2), "--period needs --budget-usd");
    let out = cli(&url, &["keys", "list", "--url", "ftp://x"]);
    assert_eq!(out.status.code(), Some(2));
    let out = cli(&url, &["keys", "create", "--expires", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--expires"), "{}", stderr(&out));

    // Nothing listening: exit 1 with a clear message.
    let out = cli("http://127.0.0.1:9", &["keys", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot reach the gateway"),
        "{}",
        stderr(&out)
    );
}
