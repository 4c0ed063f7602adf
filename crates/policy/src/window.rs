//! Budget windows: which window a moment falls in, for each period, in a budget's time zone.
//!
//! * `daily` — the local calendar date: id `d2026-03-29`; ends at the next local midnight
//!   (or the first instant of the next day when midnight is skipped by a DST change), so a day
//!   lasts 23, 24 or 25 hours as the zone dictates.
//! * `weekly` — the ISO week (Monday start): id `w2026-W13`, ISO week-numbering year.
//! * `monthly` — id `m2026-03`; ends at the first instant of the next month.
//! * `total` — id `total`; kept for [`TOTAL_RETENTION_DAYS`] after its last use.
//! * rolling — hourly buckets summed by the counter backend (see
//!   [`BudgetWindow::Rolling`]).
//!
//! A window's counter state is kept for [`GRACE_MS`] after the window ends.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::counters::BudgetWindow;
use crate::limits::{Budget, Period};

/// How long a calendar window's counters outlive the window.
pub const GRACE_MS: i64 = 3_600_000;
/// How long a `total` budget's counters live after their last use.
pub const TOTAL_RETENTION_DAYS: i64 = 400;

/// The first instant of `date` in `tz`.
fn start_of(date: Date, tz: &TimeZone) -> Option<Timestamp> {
    date.to_zoned_datetime(tz.clone())
        .ok()
        .map(|z| z.timestamp())
}

fn fixed(id: String, end: Option<Timestamp>, now: Timestamp) -> BudgetWindow {
    // A date at the edge of jiff's range has no next window: keep the state for a day.
    let end_ms = end.map_or(now.as_millisecond() + 86_400_000, |t| t.as_millisecond());
    BudgetWindow::Fixed {
        id,
        expires_at_ms: end_ms + GRACE_MS,
    }
}

/// The window of `period` that `now` falls in, in time zone `tz`.
pub fn window_at(period: &Period, tz: &TimeZone, now: Timestamp) -> BudgetWindow {
    let local = now.to_zoned_datetime(tz.clone());
    let date = local.date();
    match period {
        Period::Daily => {
            let end = date.tomorrow().ok().and_then(|d| start_of(d, tz));
            fixed(format!("d{date}"), end, now)
        }
        Period::Weekly => {
            let iso = date.iso_week_date();
            let to_next_monday = 8 - i64::from(date.weekday().to_monday_one_offset());
            let end = date
                .checked_add(to_next_monday.days())
                .ok()
                .and_then(|d| start_of(d, tz));
            fixed(format!("w{:04}-W{:02}", iso.year(), iso.week()), end, now)
        }
        Period::Monthly => {
            let end = date
                .first_of_month()
                .checked_add(1.month())
                .ok()
                .and_then(|d| start_of(d, tz));
            fixed(format!("m{:04}-{:02}", date.year(), date.month()), end, now)
        }
        Period::Total => BudgetWindow::Fixed {
            id: "total".into(),
            expires_at_ms: now.as_millisecond() + TOTAL_RETENTION_DAYS * 86_400_000,
        },
        Period::Rolling { hours } => BudgetWindow::Rolling { hours: *hours },
    }
}

impl Budget {
    /// The window this budget is in at `now`.
    pub fn window_at(&self, now: Timestamp) -> BudgetWindow {
        window_at(&self.period, &self.tz, now)
    }
}

/// The start of the window of `period` that `now` falls in, as Unix milliseconds: where the
/// ledger's spend for that window begins (for seeding counters at start-up). `total` starts at
/// 0; a rolling window at `now − hours`.
pub fn window_start_ms(period: &Period, tz: &TimeZone, now: Timestamp) -> i64 {
    let date = now.to_zoned_datetime(tz.clone()).date();
    let start = match period {
        Period::Daily => start_of(date, tz),
        Period::Weekly => {
            let back = i64::from(date.weekday().to_monday_zero_offset());
            date.checked_sub(back.days())
                .ok()
                .and_then(|d| start_of(d, tz))
        }
        Period::Monthly => start_of(date.first_of_month(), tz),
        Period::Total => return 0,
        Period::Rolling { hours } => {
            return now.as_millisecond() - i64::from(*hours) * 3_600_000;
        }
    };
    start.map_or(0, |t| t.as_millisecond())
}

#[cfg(test)]
mod start_tests {
    use super::*;

    #[test]
    fn window_starts() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        // 2026-03-29 12:00 UTC is 14:00 CEST on a Sunday (DST began that night).
        let now: Timestamp = "2026-03-29T12:00:00Z".parse().unwrap();
        let day: Timestamp = "2026-03-28T23:00:00Z".parse().unwrap(); // 00:00 CET
        assert_eq!(
            window_start_ms(&Period::Daily, &tz, now),
            day.as_millisecond()
        );
        let monday: Timestamp = "2026-03-22T23:00:00Z".parse().unwrap();
        assert_eq!(
            window_start_ms(&Period::Weekly, &tz, now),
            monday.as_millisecond()
        );
        let month: Timestamp = "2026-02-28T23:00:00Z".parse().unwrap();
        assert_eq!(
            window_start_ms(&Period::Monthly, &tz, now),
            month.as_millisecond()
        );
        assert_eq!(window_start_ms(&Period::Total, &tz, now), 0);
        assert_eq!(
            window_start_ms(&Period::Rolling { hours: 2 }, &tz, now),
            now.as_millisecond() - 7_200_000
        );
    }
}
