//! `switchyard keys …` and `switchyard teams …`: the common admin tasks against a running
//! gateway's admin API (`/admin/keys`, `/admin/teams`).
//!
//! The gateway is `--url` (env `SWITCHYARD_URL`, default `http://127.0.0.1:4000`); the admin key
//! is `--master-key` (env `SWITCHYARD_MASTER_KEY`) — the master key, or a `team_admin` /
//! `read_only` virtual key. Output is the API's JSON (pretty-printed), or a table with `--table`.
//! A created or rotated key's secret is printed once; the notice about it goes to stderr so
//! stdout stays machine-readable. Exit codes: 0 ok, 1 the gateway refused or was unreachable,
//! 2 usage error.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::{Args, Subcommand, ValueEnum};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Map, Value};
use switchyard_providers::client::HttpClient;

const DEFAULT_URL: &str = "http://127.0.0.1:4000";

/// How to reach the gateway; accepted before or after the subcommand.
#[derive(Args, Debug, Clone)]
pub struct Conn {
    /// Gateway base URL [env: SWITCHYARD_URL] [default: http://127.0.0.1:4000].
    #[arg(long, global = true)]
    url: Option<String>,
    /// Admin key: the master key, or a team_admin / read_only virtual key
    /// [env: SWITCHYARD_MASTER_KEY].
    #[arg(long, global = true)]
    master_key: Option<String>,
    /// Print a table instead of JSON.
    #[arg(long, global = true)]
    table: bool,
    /// Seconds to wait for the gateway's answer.
    #[arg(long, global = true, default_value_t = 30)]
    timeout: u64,
}

#[derive(Args, Debug)]
pub struct KeysArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Create a virtual key; its secret is printed once.
    Create(Box<CreateKey>),
    /// List keys (newest last).
    List {
        /// Only this team's keys.
        #[arg(long)]
        team: Option<String>,
        /// Include revoked keys.
        #[arg(long)]
        include_revoked: bool,
    },
    /// Show one key.
    Get { id: String },
    /// Revoke a key: it stops working at once.
    Revoke { id: String },
    /// Give a key a new secret (printed once); the old secret stops working at once.
    Rotate { id: String },
}

#[derive(Args, Debug)]
pub struct TeamsArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: TeamsCommand,
}

#[derive(Subcommand, Debug)]
enum TeamsCommand {
    /// Create a team.
    Create(CreateTeam),
    /// List teams by name.
    List,
}

#[derive(Args, Debug)]
struct CreateKey {
    /// A label for the key.
    #[arg(long)]
    name: Option<String>,
    /// Team id the key belongs to.
    #[arg(long)]
    team: Option<String>,
    /// The user the key is attributed to.
    #[arg(long)]
    user: Option<String>,
    /// Allowed models: names or globs, comma-separated or repeated (e.g. gpt-4o,claude-*).
    #[arg(long, value_delimiter = ',')]
    models: Vec<String>,
    /// Expiry: RFC 3339 (2026-01-31T00:00:00Z), Unix seconds, or from now (90d, 12h, 30m).
    #[arg(long)]
    expires: Option<String>,
    /// What the key may do on the admin API.
    #[arg(long, value_enum)]
    role: Option<Role>,
    /// Capture request and response bodies in the request log for this key.
    #[arg(long)]
    capture_payloads: bool,
    #[command(flatten)]
    common: Governance,
}

#[derive(Args, Debug)]
struct CreateTeam {
    /// The team's unique name.
    name: String,
    #[command(flatten)]
    common: Governance,
}

/// Budget, limits and metadata: the same flags for keys and teams.
#[derive(Args, Debug)]
struct Governance {
    /// Hard budget in USD per period.
    #[arg(long)]
    budget_usd: Option<f64>,
    /// Budget window [default: monthly].
    #[arg(long, value_enum, requires = "budget_usd")]
    period: Option<Period>,
    /// Soft threshold in USD (an alert fires when crossed).
    #[arg(long, requires = "budget_usd")]
    soft_usd: Option<f64>,
    /// Requests per minute.
    #[arg(long)]
    rpm: Option<u64>,
    /// Tokens per minute.
    #[arg(long)]
    tpm: Option<u64>,
    /// Requests in flight at once.
    #[arg(long)]
    max_parallel: Option<u64>,
    /// Metadata entry KEY=VALUE (repeatable).
    #[arg(long = "metadata", value_name = "KEY=VALUE")]
    metadata: Vec<String>,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum Period {
    Daily,
    Weekly,
    Monthly,
    Total,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
#[value(rename_all = "snake_case")]
enum Role {
    User,
    TeamAdmin,
    ReadOnly,
}

impl Period {
    fn as_str(self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Weekly => "weekly",
            Period::Monthly => "monthly",
            Period::Total => "total",
        }
    }
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::TeamAdmin => "team_admin",
            Role::ReadOnly => "read_only",
        }
    }
}

/// A failure: the message for stderr and the exit code.
#[derive(Debug)]
struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 2,
        }
    }
    fn remote(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 1,
        }
    }
}

/// What a command prints: the JSON answer, how to show it as a table, and whether it holds a
/// secret shown only this once.
struct Output {
    body: Value,
    shape: Shape,
    secret: bool,
}

#[derive(Clone, Copy)]
enum Shape {
    Keys,
    Teams,
}

/// Runs `switchyard keys …`.
pub fn run_keys(args: KeysArgs) -> ExitCode {
    let conn = args.conn.clone();
    run(&conn, move |api| async move {
        match args.command {
            KeysCommand::Create(c) => {
                let body = key_body(*c)?;
                let body = api
                    .send(http::Method::POST, "/admin/keys", Some(body))
                    .await?;
                Ok(Output {
                    body,
                    shape: Shape::Keys,
                    secret: true,
                })
            }
            KeysCommand::List {
                team,
                include_revoked,
            } => {
                let mut query = Vec::new();
                if let Some(t) = team {
                    query.push(format!("team_id={}", encode(&t)));
                }
                if include_revoked {
                    query.push("include_revoked=true".to_owned());
                }
                let path = if query.is_empty() {
                    "/admin/keys".to_owned()
                } else {
                    format!("/admin/keys?{}", query.join("&"))
                };
                let body = api.send(http::Method::GET, &path, None).await?;
                Ok(Output {
                    body,
                    shape: Shape::Keys,
                    secret: false,
                })
            }
            KeysCommand::Get { id } => {
                let path = format!("/admin/keys/{}", encode(&id));
                let body = api.send(http::Method::GET, &path, None).await?;
                Ok(Output {
                    body,
                    shape: Shape::Keys,
                    secret: false,
                })
            }
            KeysCommand::Revoke { id } => {
                let path = format!("/admin/keys/{}", encode(&id));
                let body = api.send(http::Method::DELETE, &path, None).await?;
                Ok(Output {
                    body,
                    shape: Shape::Keys,
                    secret: false,
                })
            }
            KeysCommand::Rotate { id } => {
                let path = format!("/admin/keys/{}/rotate", encode(&id));
                let body = api.send(http::Method::POST, &path, Some(json!({}))).await?;
                Ok(Output {
                    body,
                    shape: Shape::Keys,
                    secret: true,
                })
            }
        }
    })
}

/// Runs `switchyard teams …`.
pub fn run_teams(args: TeamsArgs) -> ExitCode {
    let conn = args.conn.clone();
    run(&conn, move |api| async move {
        match args.command {
            TeamsCommand::Create(c) => {
                let mut body = Map::new();
                body.insert("name".into(), Value::String(c.name));
                governance(&mut body, c.common)?;
                let body = api
                    .send(
                        http::Method::POST,
                        "/admin/teams",
                        Some(Value::Object(body)),
                    )
                    .await?;
                Ok(Output {
                    body,
                    shape: Shape::Teams,
                    secret: false,
                })
            }
            TeamsCommand::List => {
                let body = api.send(http::Method::GET, "/admin/teams", None).await?;
                Ok(Output {
                    body,
                    shape: Shape::Teams,
                    secret: false,
                })
            }
        }
    })
}

fn key_body(c: CreateKey) -> Result<Value, Failure> {
    let mut body = Map::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            body.insert(k.to_owned(), Value::String(v));
        }
    };
    put("name", c.name);
    put("team_id", c.team);
    put("user", c.user);
    put("role", c.role.map(|r| r.as_str().to_owned()));
    if !c.models.is_empty() {
        body.insert("models".into(), json!(c.models));
    }
    if let Some(e) = c.expires {
        body.insert("expires_at".into(), expiry(&e, unix_now())?);
    }
    if c.capture_payloads {
        body.insert("capture_payloads".into(), Value::Bool(true));
    }
    governance(&mut body, c.common)?;
    Ok(Value::Object(body))
}

fn governance(body: &mut Map<String, Value>, g: Governance) -> Result<(), Failure> {
    if let Some(max) = g.budget_usd {
        let mut budget = json!({
            "max_usd": max,
            "period": g.period.unwrap_or(Period::Monthly).as_str(),
        });
        if let Some(soft) = g.soft_usd {
            budget["soft_usd"] = json!(soft);
        }
        body.insert("budget".into(), budget);
    }
    let mut limits = Map::new();
    for (name, value) in [
        ("rpm", g.rpm),
        ("tpm", g.tpm),
        ("max_parallel", g.max_parallel),
    ] {
        if let Some(v) = value {
            limits.insert(name.into(), json!(v));
        }
    }
    if !limits.is_empty() {
        body.insert("limits".into(), Value::Object(limits));
    }
    if !g.metadata.is_empty() {
        let mut meta = Map::new();
        for entry in g.metadata {
            let Some((k, v)) = entry.split_once('=') else {
                return Err(Failure::usage(format!(
                    "--metadata `{entry}`: expected KEY=VALUE"
                )));
            };
            meta.insert(k.to_owned(), Value::String(v.to_owned()));
        }
        body.insert("metadata".into(), Value::Object(meta));
    }
    Ok(())
}

/// `--expires`: RFC 3339 text (sent as is), Unix seconds, or a duration from `now` (`90d`).
fn expiry(text: &str, now: u64) -> Result<Value, Failure> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u64>()
            .map(|n| json!(n))
            .map_err(|_| Failure::usage(format!("--expires `{text}` is out of range")));
    }
    let unit = text.chars().last().and_then(|c| match c {
        's' => Some(1u64),
        'm' => Some(60),
        'h' => Some(3600),
        'd' => Some(86_400),
        _ => None,
    });
    if let (Some(unit), Some(n)) = (unit, text.get(..text.len().saturating_sub(1))) {
        if let Ok(n) = n.parse::<u64>() {
            return n
                .checked_mul(unit)
                .and_then(|secs| secs.checked_add(now))
                .map(|at| json!(at))
                .ok_or_else(|| Failure::usage(format!("--expires `{text}` is too far away")));
        }
    }
    if text.contains('T') {
        return Ok(Value::String(text.to_owned()));
    }
    Err(Failure::usage(format!(
        "--expires `{text}`: expected RFC 3339, Unix seconds or a duration like 90d, 12h, 30m"
    )))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Percent-encodes a path segment or query value (everything but RFC 3986 unreserved).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The admin API of one gateway.
struct Api {
    client: HttpClient,
    base: String,
    key: String,
    timeout: Duration,
}

impl Api {
    async fn send(
        &self,
        method: http::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.base);
        let bytes = match &body {
            Some(b) => Bytes::from(b.to_string()),
            None => Bytes::new(),
        };
        let mut req = http::Request::builder()
            .method(method)
            .uri(&url)
            .header(http::header::AUTHORIZATION, format!("Bearer {}", self.key))
            .header(http::header::ACCEPT, "application/json");
        if body.is_some() {
            req = req.header(http::header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(bytes))
            .map_err(|_| Failure::usage(format!("invalid gateway URL `{url}`")))?;
        let exchange = async {
            let resp = self.client.send(req).await.map_err(|e| {
                Failure::remote(format!("cannot reach the gateway at {}: {e}", self.base))
            })?;
            let status = resp.status();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| Failure::remote(format!("reading the gateway's answer: {e}")))?
                .to_bytes();
            Ok::<_, Failure>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                Failure::remote(format!(
                    "the gateway at {} did not answer within {}s",
                    self.base,
                    self.timeout.as_secs()
                ))
            })??;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        let message = value["error"]["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(500).collect());
        Err(Failure::remote(format!(
            "the gateway answered {}: {message}",
            status.as_u16()
        )))
    }
}

fn run<F, Fut>(conn: &Conn, command: F) -> ExitCode
where
    F: FnOnce(Api) -> Fut,
    Fut: std::future::Future<Output = Result<Output, Failure>>,
{
    let result = connect(conn).and_then(|api| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::remote(format!("cannot start the async runtime: {e}")))?;
        runtime.block_on(command(api))
    });
    match result {
        Ok(out) => match print(&out, conn.table) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        },
        Err(f) => {
            let _ = writeln!(std::io::stderr().lock(), "error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn connect(conn: &Conn) -> Result<Api, Failure> {
    let base = conn
        .url
        .clone()
        .or_else(|| {
            std::env::var("SWITCHYARD_URL")
                .ok()
                .filter(|v| !v.is_empty())
        })
        .unwrap_or_else(|| DEFAULT_URL.to_owned());
    let base = base.trim_end_matches('/').to_owned();
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(Failure::usage(format!(
            "--url `{base}`: expected http://HOST:PORT or https://HOST"
        )));
    }
    let key = conn
        .master_key
        .clone()
        .or_else(|| {
            std::env::var("SWITCHYARD_MASTER_KEY")
                .ok()
                .filter(|v| !v.is_empty())
        })
        .ok_or_else(|| {
            Failure::usage("no admin key: pass --master-key or set SWITCHYARD_MASTER_KEY")
        })?;
    if http::HeaderValue::from_str(&format!("Bearer {key}")).is_err() {
        return Err(Failure::usage(
            "the admin key contains characters not allowed in an HTTP header",
        ));
    }
    let client = HttpClient::new(Duration::from_secs(5)).map_err(Failure::remote)?;
    Ok(Api {
        client,
        base,
        key,
        timeout: Duration::from_secs(conn.timeout.max(1)),
    })
}

fn print(out: &Output, table: bool) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let secret = out.body["key"].as_str().filter(|_| out.secret);
    if table {
        if let Some(s) = secret {
            writeln!(stdout, "key: {s}")?;
        }
        let items: Vec<&Value> = match out.body["data"].as_array() {
            Some(list) => list.iter().collect(),
            None => vec![&out.body],
        };
        write!(stdout, "{}", render_table(out.shape, &items))?;
    } else {
        let text = serde_json::to_string_pretty(&out.body).unwrap_or_default();
        writeln!(stdout, "{text}")?;
    }
    if secret.is_some() {
        let _ = writeln!(
            std::io::stderr().lock(),
            "Store the key now: it is not shown again."
        );
    }
    Ok(())
}

/// A plain-text table: a header row, then one row per item; columns padded to fit.
fn render_table(shape: Shape, items: &[&Value]) -> String {
    let columns: &[(&str, &str)] = match shape {
        Shape::Keys => &[
            ("ID", "id"),
            ("NAME", "name"),
            ("PREFIX", "key_prefix"),
            ("TEAM", "team_id"),
            ("USER", "user"),
            ("ROLE", "role"),
            ("STATUS", "status"),
            ("BUDGET", "budget"),
            ("EXPIRES", "expires_at"),
        ],
        Shape::Teams => &[
            ("ID", "id"),
            ("NAME", "name"),
            ("BUDGET", "budget"),
            ("LIMITS", "limits"),
            ("CREATED", "created_at"),
        ],
    };
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| columns.iter().map(|(_, f)| cell(&item[*f])).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, (h, _))| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let header: Vec<String> = columns.iter().map(|(h, _)| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows.iter()) {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        Value::Object(o) if o.contains_key("max_usd") => {
            let period = o.get("period").map(cell).unwrap_or_default();
            format!("${}/{period}", cell(&o["max_usd"]))
        }
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| format!("{k}={}", cell(v)))
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_forms() {
        assert_eq!(expiry("1700000000", 0).ok(), Some(json!(1_700_000_000u64)));
        assert_eq!(expiry("90d", 1000).ok(), Some(json!(1000 + 90 * 86_400)));
        assert_eq!(expiry("12h", 0).ok(), Some(json!(43_200)));
        assert_eq!(expiry("30m", 0).ok(), Some(json!(1_800)));
        assert_eq!(
            expiry("2026-01-31T00:00:00Z", 0).ok(),
            Some(json!("2026-01-31T00:00:00Z"))
        );
        assert!(expiry("soon", 0).is_err());
        assert!(expiry("d", 0).is_err());
        assert!(expiry("99999999999999999999d", 0).is_err());
    }

    #[test]
    fn bodies_from_flags() {
        let mut body = Map::new();
        governance(
            &mut body,
            Governance {
                budget_usd: Some(10.0),
                period: None,
                soft_usd: Some(8.0),
                rpm: Some(60),
                tpm: None,
                max_parallel: Some(2),
                metadata: vec!["env=ci".into(), "k=a=b".into()],
            },
        )
        .ok()
        .unwrap_or_default();
        assert_eq!(
            Value::Object(body),
            json!({
                "budget": {"max_usd": 10.0, "period": "monthly", "soft_usd": 8.0},
                "limits": {"rpm": 60, "max_parallel": 2},
                "metadata": {"env": "ci", "k": "a=b"}
            })
        );
        let mut body = Map::new();
        let bad = Governance {
            budget_usd: None,
            period: None,
            soft_usd: None,
            rpm: None,
            tpm: None,
            max_parallel: None,
            metadata: vec!["novalue".into()],
        };
        assert!(governance(&mut body, bad).is_err());
    }

    #[test]
    fn encoding_and_tables() {
        assert_eq!(encode("key_AZaz09-._~"), "key_AZaz09-._~");
        assert_eq!(encode("a b/c?"), "a%20b%2Fc%3F");
        let key = json!({
            "id": "key_1", "name": null, "key_prefix": "sk-sy-Ab", "team_id": "team_1",
            "user": "alice", "role": "user", "status": "active",
            "budget": {"max_usd": 10.0, "period": "monthly"}, "expires_at": null
        });
        let table = render_table(Shape::Keys, &[&key]);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("ID     NAME  PREFIX"), "{table}");
        assert!(lines[1].starts_with("key_1  -     sk-sy-Ab"), "{table}");
        assert!(lines[1].contains("$10.0/monthly"), "{table}");
        assert_eq!(cell(&json!({"rpm": 5})), "rpm=5");
    }
}
