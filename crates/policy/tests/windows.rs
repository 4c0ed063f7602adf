//! Calendar budget windows in non-UTC zones: DST changes, month and year ends, ISO weeks.

use switchyard_policy::jiff::tz::TimeZone;
use switchyard_policy::jiff::Timestamp;
use switchyard_policy::{window_at, BudgetSpec, BudgetWindow, Period};

#[expect(
    clippy::unwrap_used,
    reason = "test helper: a failure is a failed test"
)]
fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helper: a failure is a failed test"
)]
fn window(period: Period, zone: &str, at: &str) -> (String, Timestamp) {
    let tz = TimeZone::get(zone).unwrap();
    match window_at(&period, &tz, ts(at)) {
        BudgetWindow::Fixed { id, expires_at_ms } => {
            // Expiry = window end + one hour of grace.
            let end = Timestamp::from_millisecond(expires_at_ms - 3_600_000).unwrap();
            (id, end)
        }
        BudgetWindow::Rolling { .. } => panic!("calendar period gave a rolling window"),
    }
}

#[test]
fn daily_window_follows_local_midnight() {
    // 23:30 UTC on 25 Nov is 00:30 on 26 Nov in Berlin (UTC+1).
    let (id, end) = window(Period::Daily, "Europe/Berlin", "2026-11-25T23:30:00Z");
    assert_eq!(id, "d2026-11-26");
    assert_eq!(end, ts("2026-11-26T23:00:00Z"));
    let (id, _) = window(Period::Daily, "Europe/Berlin", "2026-11-25T22:59:59Z");
    assert_eq!(id, "d2026-11-25");
    let (id, _) = window(Period::Daily, "America/New_York", "2026-11-26T03:00:00Z");
    assert_eq!(id, "d2026-11-25");
}

#[test]
fn daily_window_on_dst_days_lasts_23_or_25_hours() {
    // Berlin springs forward on 29 Mar 2026 (02:00 → 03:00): the day runs 22:00Z → 22:00Z,
    // 23 hours.
    let (id, end) = window(Period::Daily, "Europe/Berlin", "2026-03-29T10:00:00Z");
    assert_eq!(id, "d2026-03-29");
    assert_eq!(end, ts("2026-03-29T22:00:00Z"));
    let (prev, prev_end) = window(Period::Daily, "Europe/Berlin", "2026-03-28T12:00:00Z");
    assert_eq!(prev, "d2026-03-28");
    assert_eq!(prev_end, ts("2026-03-28T23:00:00Z"));
    // Falls back on 25 Oct 2026 (03:00 → 02:00): 22:00Z on the 24th to 23:00Z on the 25th,
    // 25 hours; both 02:30 instants are the same day.
    let (id1, end1) = window(Period::Daily, "Europe/Berlin", "2026-10-25T00:30:00Z");
    let (id2, end2) = window(Period::Daily, "Europe/Berlin", "2026-10-25T01:30:00Z");
    assert_eq!((id1.as_str(), id2.as_str()), ("d2026-10-25", "d2026-10-25"));
    assert_eq!(end1, ts("2026-10-25T23:00:00Z"));
    assert_eq!(end1, end2);
}

#[test]
fn skipped_midnight_starts_the_day_at_the_first_instant() {
    // Chile springs forward at midnight (00:00 → 01:00) on 6 Sep 2026: that day begins at
    // 01:00 local (−03:00), so 5 Sep ends at 04:00Z.
    let (id, end) = window(Period::Daily, "America/Santiago", "2026-09-05T12:00:00Z");
    assert_eq!(id, "d2026-09-05");
    assert_eq!(end, ts("2026-09-06T04:00:00Z"));
    let (next, _) = window(Period::Daily, "America/Santiago", "2026-09-06T04:00:00Z");
    assert_eq!(next, "d2026-09-06");
}

#[test]
fn monthly_window_at_month_and_year_ends() {
    // 31 Jan 23:30 UTC is already 1 Feb in Berlin.
    let (id, end) = window(Period::Monthly, "Europe/Berlin", "2026-01-31T23:30:00Z");
    assert_eq!(id, "m2026-02");
    assert_eq!(end, ts("2026-02-28T23:00:00Z"));
    let (id, end) = window(Period::Monthly, "Europe/Berlin", "2026-01-31T22:59:59Z");
    assert_eq!(id, "m2026-01");
    assert_eq!(end, ts("2026-01-31T23:00:00Z"));
    // A month that contains a DST change ends at the local midnight in the new offset.
    let (id, end) = window(Period::Monthly, "Europe/Berlin", "2026-03-15T12:00:00Z");
    assert_eq!(id, "m2026-03");
    assert_eq!(end, ts("2026-03-31T22:00:00Z"));
    // Year end in Tokyo (UTC+9): 31 Dec 16:00 UTC is 1 Jan.
    let (id, end) = window(Period::Monthly, "Asia/Tokyo", "2026-12-31T15:00:00Z");
    assert_eq!(id, "m2027-01");
    assert_eq!(end, ts("2027-01-31T15:00:00Z"));
    // Leap February.
    let (id, end) = window(Period::Monthly, "UTC", "2028-02-29T12:00:00Z");
    assert_eq!(id, "m2028-02");
    assert_eq!(end, ts("2028-03-01T00:00:00Z"));
}

#[test]
fn weekly_window_uses_iso_weeks() {
    // Thursday 1 Jan 2026 is in ISO week 2026-W01, which began Monday 29 Dec 2025.
    let (id, end) = window(Period::Weekly, "UTC", "2026-01-01T12:00:00Z");
    assert_eq!(id, "w2026-W01");
    assert_eq!(end, ts("2026-01-05T00:00:00Z"));
    // Friday 1 Jan 2027 still belongs to 2026-W53.
    let (id, _) = window(Period::Weekly, "UTC", "2027-01-01T12:00:00Z");
    assert_eq!(id, "w2026-W53");
    // Sunday night in New York is Monday in UTC; the week follows the budget's zone, and the
    // week containing the fall-back change ends at local midnight (EST, −05:00).
    let (id, end) = window(Period::Weekly, "America/New_York", "2026-11-02T03:00:00Z");
    assert_eq!(id, "w2026-W44");
    assert_eq!(end, ts("2026-11-02T05:00:00Z"));
}

#[test]
fn total_and_rolling_periods() {
    let tz = TimeZone::UTC;
    match window_at(&Period::Total, &tz, ts("2026-11-26T00:00:00Z")) {
        BudgetWindow::Fixed { id, .. } => assert_eq!(id, "total"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        window_at(
            &Period::Rolling { hours: 24 },
            &tz,
            ts("2026-11-26T00:00:00Z")
        ),
        BudgetWindow::Rolling { hours: 24 }
    );
}

#[test]
fn budget_resolves_its_zone_for_windows() {
    let spec: BudgetSpec =
        serde_json::from_str(r#"{"max_usd": 10, "period": "daily", "timezone": "Asia/Kolkata"}"#)
            .unwrap();
    let budget = spec.resolve(&TimeZone::UTC).unwrap();
    // 19:00 UTC is 00:30 the next day in India (UTC+5:30).
    match budget.window_at(ts("2026-11-25T19:00:00Z")) {
        BudgetWindow::Fixed { id, .. } => assert_eq!(id, "d2026-11-26"),
        other => panic!("{other:?}"),
    }
}
