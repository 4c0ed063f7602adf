//! `GET /admin/spend`: the spend ledger grouped by key, team, user, model, provider, tag, day or
//! hour over a date range, as JSON (USD numbers) or CSV (exact six-decimal USD).
//!
//! Range: `from` (inclusive) and `to` (exclusive), each RFC 3339, a UTC date (`YYYY-MM-DD`; as
//! `to` it includes that whole day) or Unix seconds; by default the last 30 days up to now.
//! Team-scoped callers see their team's spend only.

use axum::body::Body;
use axum::response::Response;
use http::HeaderValue;
use serde::{Deserialize, Serialize};
use switchyard_pricing::format_usd;
use switchyard_store::{now_ms, GroupBy, SpendFilter, SpendGroup};
use switchyard_types::GatewayError;

use super::input::{self, field_error, parse_query, present, Bound};
use super::output::{ok, rfc3339, store_error, usd};
use super::Ctx;

/// The default report window.
const DEFAULT_WINDOW_MS: i64 = 30 * 24 * 3600 * 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpendQuery {
    group_by: Option<String>,
    from: Option<String>,
    to: Option<String>,
    team_id: Option<String>,
    key_id: Option<String>,
    format: Option<String>,
}

#[derive(Debug, Serialize)]
struct SpendRowView {
    group: String,
    cost_usd: f64,
    requests: i64,
    input_tokens: i64,
    output_tokens: i64,
}

#[derive(Debug, Serialize)]
struct SpendReport {
    group_by: GroupBy,
    from: String,
    to: String,
    /// `null` for `group_by=tag`: a request with several tags is in several groups, so a sum
    /// would double-count.
    total_cost_usd: Option<f64>,
    rows: Vec<SpendRowView>,
}

/// `GET /admin/spend`.
pub async fn report(ctx: Ctx) -> Result<Response, GatewayError> {
    let q: SpendQuery = parse_query(ctx.query.as_deref())?;
    let group_by = match present(q.group_by) {
        None => GroupBy::Key,
        Some(g) => g.parse::<GroupBy>().map_err(|_| {
            field_error(
                "group_by",
                format!(
                    "unknown value `{g}` (expected key, team, user, model, provider, tag, day or hour)"
                ),
            )
        })?,
    };
    let csv = match present(q.format).as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(field_error(
                "format",
                format!("unknown format `{other}` (expected json or csv)"),
            ))
        }
    };
    let to_ms = input::parse_bound_opt("to", q.to, Bound::To)?;
    let from_ms = input::parse_bound_opt("from", q.from, Bound::From)?;
    let to_ms = to_ms.unwrap_or_else(now_ms);
    let from_ms = from_ms.unwrap_or_else(|| to_ms.saturating_sub(DEFAULT_WINDOW_MS));
    input::check_range(Some(from_ms), Some(to_ms))?;
    let filter = SpendFilter {
        key_id: present(q.key_id),
        team_id: ctx.caller.scoped_team_filter(present(q.team_id))?,
    };
    let groups = ctx
        .app
        .store
        .spend_report(group_by, from_ms, to_ms, &filter)
        .await
        .map_err(store_error)?;
    if csv {
        return csv_response(group_by, &groups);
    }
    let total: i64 = groups
        .iter()
        .fold(0i64, |acc, g| acc.saturating_add(g.cost_micros));
    ok(&SpendReport {
        group_by,
        from: rfc3339(from_ms),
        to: rfc3339(to_ms),
        total_cost_usd: (group_by != GroupBy::Tag).then(|| usd(total)),
        rows: groups
            .into_iter()
            .map(|g| SpendRowView {
                group: g.group,
                cost_usd: usd(g.cost_micros),
                requests: g.requests,
                input_tokens: g.input_tokens,
                output_tokens: g.output_tokens,
            })
            .collect(),
    })
}

fn csv_response(group_by: GroupBy, groups: &[SpendGroup]) -> Result<Response, GatewayError> {
    let mut resp = Response::new(Body::from(to_csv(groups)));
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = format!(
        "attachment; filename=\"spend-by-{}.csv\"",
        group_by.as_str()
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(http::header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// RFC 4180 CSV with a header row; cost in exact six-decimal USD.
pub fn to_csv(groups: &[SpendGroup]) -> String {
    let mut out = String::from("group,cost_usd,requests,input_tokens,output_tokens\r\n");
    for g in groups {
        out.push_str(&csv_field(&g.group));
        out.push(',');
        out.push_str(&format_micros(g.cost_micros));
        out.push_str(&format!(
            ",{},{},{}\r\n",
            g.requests, g.input_tokens, g.output_tokens
        ));
    }
    out
}

fn format_micros(micros: i64) -> String {
    if micros < 0 {
        format!("-{}", format_usd(micros.unsigned_abs()))
    } else {
        format_usd(micros.unsigned_abs())
    }
}

/// Quotes a field when needed, and defuses spreadsheet formulas: group names come from clients
/// (tags, user ids), so a value starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'`
/// (OWASP's CSV-injection advice).
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, micros: i64) -> SpendGroup {
        SpendGroup {
            group: name.into(),
            cost_micros: micros,
            requests: 2,
            input_tokens: 10,
            output_tokens: 5,
        }
    }

    #[test]
    fn csv_has_a_header_exact_money_and_escaping() {
        let text = to_csv(&[
            group("gpt-4o", 1_234_567),
            group("a,b", 1),
            group("say \"hi\"", 0),
            group("=HYPERLINK(1)", 10),
        ]);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "group,cost_usd,requests,input_tokens,output_tokens"
        );
        assert_eq!(lines[1], "gpt-4o,1.234567,2,10,5");
        assert_eq!(lines[2], "\"a,b\",0.000001,2,10,5");
        assert_eq!(lines[3], "\"say \"\"hi\"\"\",0.000000,2,10,5");
        assert_eq!(lines[4], "'=HYPERLINK(1),0.000010,2,10,5");
        assert_eq!(lines[5], "");
        assert_eq!(format_micros(-1), "-0.000001");
    }
}
