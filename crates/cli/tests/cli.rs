//! The binary's contract: `check` reports every error with its path and exits non-zero;
//! `serve` validates before binding; `--help` and `--version` work.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

fn write_config(text: &str) -> (tempdir::Dir, std::path::PathBuf) {
    let dir = tempdir::Dir::new();
    let path = dir.0.join("switchyard.yaml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Self {
            let p = std::env::temp_dir().join(format!(
                "switchyard-cli-{}-{}",
                std::process::id(),
                rand_suffix()
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn rand_suffix() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    }
}

#[test]
fn check_reports_every_error_with_its_path() {
    let (_d, path) = write_config(
        r#"
providers:
  openai: { kind: openai, api_key: "${SWITCHYARD_TEST_UNSET_VAR}" }
  openai: { kind: mock }
models:
  smart:
    targets:
      - { provider: openai, model: gpt-4o, timeouts: { connect_ms: 100 } }
      - { provider: azur, model: x }
    colour: red
"#,
    );
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .env_remove("SWITCHYARD_TEST_UNSET_VAR")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("configuration has 5 error(s)"), "{err}");
    assert!(
        err.contains("providers.openai: duplicate key: defined at line 3 and again at line 4"),
        "{err}"
    );
    assert!(
        err.contains(
            "models.smart.targets[0].timeouts.connect_ms: connect_ms is a provider setting"
        ),
        "{err}"
    );
    assert!(
        err.contains("models.smart.targets[1].provider: unknown provider \"azur\""),
        "{err}"
    );
    assert!(err.contains("models.smart.colour: unknown field"), "{err}");
    assert!(
        err.contains("providers.openai.api_key: environment variable SWITCHYARD_TEST_UNSET_VAR is referenced but not set"),
        "{err}"
    );
}

#[test]
fn check_accepts_a_good_config_and_env_defaults() {
    let (_d, path) = write_config(
        "providers:\n  local: { kind: openai_compatible, base_url: \"${LOCAL_URL:-http://127.0.0.1:11434/v1}\" }\n",
    );
    let out = Command::new(BIN)
        .args(["check", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("configuration OK"));
}

#[test]
fn serve_refuses_a_bad_config_before_binding() {
    // The listen port is taken and the database does not exist yet: a gateway that bound its
    // port or opened its database before validating would fail on those (or create the file)
    // instead of reporting the configuration's errors.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let d = tempdir::Dir::new();
    let db = d.0.join("never.db");
    let path = d.0.join("switchyard.yaml");
    std::fs::write(
        &path,
        format!(
            "listen: 127.0.0.1:{port}\ndatabase: sqlite://{}\nmodels:\n  m: {{ targets: [] }}\n",
            db.display()
        ),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("models.m.targets"), "{stderr}");
    assert!(!stderr.to_lowercase().contains("in use"), "{stderr}");
    assert!(!db.exists(), "the database was opened before validation");
    drop(taken);
}

#[test]
fn help_and_version() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("serve") && text.contains("check"), "{text}");
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("switchyard "));
}

#[test]
fn serve_with_defaults_answers_the_mock_and_stops_on_sigterm() {
    let d = tempdir::Dir::new();
    let port = free_port();
    let (mut child, _rx, lines) = serve(&d.0, &["--listen", &format!("127.0.0.1:{port}")]);
    assert!(
        lines.iter().any(|l| l.contains("no master_key")),
        "{lines:?}"
    );
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(
        chat_request(r#"{"model":"mock","messages":[{"role":"user","content":"hi"}]}"#).as_bytes(),
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("Mock response to: hi"), "{resp}");
    // SIGTERM: graceful stop, exit 0.
    signal(&child, "-TERM");
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
}

/// A free port on 127.0.0.1 (bound and released).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `switchyard serve` with `args`, in `dir`, once it logged that it is listening: the child,
/// its stderr lines still to come, and the lines up to "listening".
fn serve(
    dir: &std::path::Path,
    args: &[&str],
) -> (std::process::Child, Receiver<String>, Vec<String>) {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(args)
        .current_dir(dir)
        .env_remove("OPENAI_API_KEY")
        .env_remove("SWITCHYARD_MASTER_KEY")
        .env("SWITCHYARD_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "server did not start: {seen:?}");
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
            let ready = l.contains("listening");
            seen.push(l);
            if ready {
                return (child, rx, seen);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("server exited at start-up ({status:?}): {seen:?}");
        }
    }
}

/// Every stderr line still to come, until the child's stderr closes.
fn rest_of(rx: Receiver<String>) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut lines = Vec::new();
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(l) => lines.push(l),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    lines
}

fn signal(child: &std::process::Child, name: &str) {
    let status = Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {name} failed");
}

/// Waits up to `limit` for the child to exit; kills it (and fails) otherwise.
fn wait_exit(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn chat_request(body: &str) -> String {
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

// ---------------------------------------------------------------------------------------------
// Shutdown signals (SIGINT, the `server.shutdown_grace_ms` cut-off) against the real binary.
// Kept in a module of its own so other additions to this file do not collide with it.
// ---------------------------------------------------------------------------------------------
mod shutdown_signals {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn serve_stops_cleanly_on_sigint() {
        let d = tempdir::Dir::new();
        let port = free_port();
        let (mut child, rx, _) = serve(&d.0, &["--listen", &format!("127.0.0.1:{port}")]);
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(
            chat_request(r#"{"model":"mock","messages":[{"role":"user","content":"hi"}]}"#)
                .as_bytes(),
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");

        // SIGINT (Ctrl-C) is handled like SIGTERM: a graceful stop with exit status 0, not death
        // by the signal.
        signal(&child, "-INT");
        let status = wait_exit(&mut child, Duration::from_secs(15));
        assert!(status.success(), "{status:?}");
        let lines = rest_of(rx);
        assert!(
            lines.iter().any(|l| l.contains("shutting down")),
            "{lines:?}"
        );
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "still accepting after exit"
        );
    }

    #[test]
    fn sigterm_cuts_off_a_stream_at_shutdown_grace_ms() {
        // 120 tokens at 4 per second: the answer would take about 30 s; the grace is 300 ms.
        let content = vec!["tok"; 120].join(" ");
        let (d, path) = write_config(&format!(
            r#"
database: "sqlite::memory:"
server: {{ shutdown_grace_ms: 300 }}
providers:
  mock: {{ kind: mock, mock: {{ tokens_per_second: 4, content: "{content}" }} }}
models:
  slow: {{ targets: [{{ provider: mock, model: mock-1 }}] }}
"#
        ));
        let port = free_port();
        let (mut child, rx, _) = serve(
            &d.0,
            &[
                "--config",
                path.to_str().unwrap(),
                "--listen",
                &format!("127.0.0.1:{port}"),
            ],
        );
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(
            chat_request(
                r#"{"model":"slow","stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
            )
            .as_bytes(),
        )
        .unwrap();
        // Wait for the first token, so the stream is surely in flight.
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("\"content\":\"tok\"") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
        assert!(String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 200"));
        let reader = std::thread::spawn(move || {
            // Until the server closes the connection (or resets it).
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            String::from_utf8_lossy(&seen).into_owned()
        });

        let sent = Instant::now();
        signal(&child, "-TERM");
        let status = wait_exit(&mut child, Duration::from_secs(15));
        let took = sent.elapsed();
        assert!(status.success(), "{status:?}");
        assert!(
            took >= Duration::from_millis(300),
            "exited before the grace period with a stream in flight: {took:?}"
        );
        let text = reader.join().unwrap();
        assert!(
            !text.contains("[DONE]"),
            "the stream finished instead of being cut: {text}"
        );
        let lines = rest_of(rx);
        assert!(
            lines.iter().any(|l| l.contains("grace period over")),
            "{lines:?}"
        );
    }
}
