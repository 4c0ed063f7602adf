//! Admission: all-or-nothing checks with rollback, settlement, release on drop, soft-budget
//! crossings, refusals in the gateway's error shape — on every backend.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{backends, finish, second_replica};
use switchyard_policy::counters::BoxFuture;
use switchyard_policy::jiff::tz::TimeZone;
use switchyard_policy::jiff::Timestamp;
use switchyard_policy::{
    Admission, AdmissionConfig, Budget, BudgetSpec, BudgetState, BudgetWindow, CounterError,
    Counters, Decision, Exceeded, Lease, Limits, Period, Reservation, Settled, Subject,
    SubjectKind,
};
use switchyard_types::ErrorClass;
use tokio::task::JoinSet;

const MINUTE: Duration = Duration::from_secs(60);

#[expect(
    clippy::unwrap_used,
    reason = "test helper: a failure is a failed test"
)]
fn budget(max_usd: f64, soft_usd: Option<f64>) -> Budget {
    BudgetSpec {
        max_usd,
        period: Period::Monthly,
        soft_usd,
        timezone: Some("Europe/Berlin".into()),
    }
    .resolve(&TimeZone::UTC)
    .unwrap()
}

fn subject(kind: SubjectKind, id: &str, limits: Limits, budget: Option<Budget>) -> Subject {
    Subject {
        kind,
        id: id.into(),
        limits,
        budget,
    }
}

fn limits(rpm: Option<u64>, tpm: Option<u64>, max_parallel: Option<u64>) -> Limits {
    Limits {
        rpm,
        tpm,
        max_parallel,
    }
}

#[expect(
    clippy::unwrap_used,
    reason = "test helper: a failure is a failed test"
)]
async fn window_state(c: &dyn Counters, s: &Subject, now: Timestamp) -> BudgetState {
    let w = s.budget.as_ref().unwrap().window_at(now);
    c.spent(&format!("budget:{}:{}", s.kind.as_str(), s.id), &w)
        .await
        .unwrap()
}

#[tokio::test]
async fn team_budget_refusal_rolls_back_the_keys_admission() {
    for b in backends("admission_rollback").await {
        let adm = Admission::new(Arc::clone(&b.counters), AdmissionConfig::default());
        let key = subject(
            SubjectKind::Key,
            "k1",
            limits(Some(2), Some(1_000), Some(1)),
            Some(budget(10.0, None)),
        );
        // The team has 0.5 USD left of nothing spent; each request may cost up to 0.3 USD.
        let team = subject(
            SubjectKind::Team,
            "t1",
            Limits::default(),
            Some(budget(0.5, None)),
        );
        let subjects = [key.clone(), team.clone()];
        let now = Timestamp::now();

        let first = adm.admit_at(&subjects, 400, 300_000, now).await.unwrap();
        assert_eq!(first.headers.requests.unwrap().remaining, 1);
        assert_eq!(first.headers.tokens.unwrap().remaining, 600);
        first.settle(400, 300_000).await;

        // The team budget refuses after the key's rpm, tpm, concurrency and budget admitted.
        let refusal = adm
            .admit_at(&subjects, 400, 300_000, now)
            .await
            .unwrap_err();
        assert_eq!(
            refusal.error.class,
            ErrorClass::BudgetExceeded,
            "{}",
            b.name
        );
        assert_eq!(refusal.error.status, 429);
        assert_eq!(refusal.error.code_str(), "budget_exceeded");
        assert_eq!(refusal.subject, Some((SubjectKind::Team, "t1".into())));
        assert!(
            refusal.error.message.contains("team budget exceeded"),
            "{}",
            refusal.error.message
        );

        // Everything the key took was given back: its reservation, its slot, its counts.
        assert_eq!(
            window_state(b.counters.as_ref(), &key, now).await.reserved,
            0,
            "{}",
            b.name
        );
        assert_eq!(
            window_state(b.counters.as_ref(), &key, now).await.spent,
            300_000
        );
        let d = b
            .counters
            .rate_check("rpm:key:k1", 0, 2, MINUTE)
            .await
            .unwrap();
        assert_eq!(d.remaining, 1, "{}: refused request still counted", b.name);
        let d = b
            .counters
            .rate_check("tpm:key:k1", 0, 1_000, MINUTE)
            .await
            .unwrap();
        assert_eq!(d.remaining, 600, "{}", b.name);
        // The key's single concurrency slot is free again: a cheap request passes.
        let ok = adm.admit_at(&subjects, 400, 100_000, now).await.unwrap();
        assert_eq!(ok.reserved().len(), 2);
        ok.settle(400, 100_000).await;
        finish(&b).await;
    }
}

#[tokio::test]
async fn rate_limit_refusal_carries_retry_after_and_headers() {
    for b in backends("admission_rate").await {
        let adm = Admission::new(Arc::clone(&b.counters), AdmissionConfig::default());
        let subjects = [subject(
            SubjectKind::Key,
            "k",
            limits(Some(1), None, None),
            None,
        )];
        let permit = adm.admit(&subjects, 10, 0).await.unwrap();
        let pairs = permit.headers.pairs();
        assert_eq!(pairs[0], ("x-ratelimit-limit-requests", "1".to_string()));
        assert_eq!(
            pairs[1],
            ("x-ratelimit-remaining-requests", "0".to_string())
        );
        permit.settle(10, 0).await;
        let refusal = adm.admit(&subjects, 10, 0).await.unwrap_err();
        assert_eq!(refusal.error.class, ErrorClass::RateLimited, "{}", b.name);
        assert_eq!(refusal.error.code_str(), "rate_limit_exceeded");
        assert_eq!(refusal.error.status, 429);
        let retry = refusal.error.retry_after.unwrap();
        assert!(retry >= Duration::from_secs(1) && retry <= Duration::from_secs(120));
        let remaining = refusal.headers.requests.unwrap().remaining;
        assert_eq!(remaining, 0);

        // Tokens per minute: a request estimated above what is left is refused.
        let tpm = [subject(
            SubjectKind::Model,
            "gpt-4o",
            limits(None, Some(1_000), None),
            None,
        )];
        adm.admit(&tpm, 900, 0).await.unwrap().settle(900, 0).await;
        let refusal = adm.admit(&tpm, 200, 0).await.unwrap_err();
        assert!(
            refusal.error.message.contains("tokens per minute"),
            "{}",
            refusal.error.message
        );
        assert_eq!(refusal.headers.tokens.unwrap().remaining, 100);
        finish(&b).await;
    }
}

#[tokio::test]
async fn settle_corrects_tokens_and_charges_actual_cost() {
    for b in backends("admission_settle").await {
        let adm = Admission::new(Arc::clone(&b.counters), AdmissionConfig::default());
        let s = subject(
            SubjectKind::User,
            "alice",
            limits(None, Some(10_000), Some(2)),
            Some(budget(1.0, None)),
        );
        let now = Timestamp::now();
        let permit = adm
            .admit_at(std::slice::from_ref(&s), 5_000, 200_000, now)
            .await
            .unwrap();
        assert_eq!(
            window_state(b.counters.as_ref(), &s, now).await.reserved,
            200_000
        );
        // The real request used fewer tokens and cost more than reserved.
        let out = permit.settle(1_200, 250_000).await;
        assert!(out.failures.is_empty());
        let st = window_state(b.counters.as_ref(), &s, now).await;
        assert_eq!((st.spent, st.reserved), (250_000, 0), "{}", b.name);
        let d = b
            .counters
            .rate_check("tpm:user:alice", 0, 10_000, MINUTE)
            .await
            .unwrap();
        assert_eq!(d.remaining, 8_800, "{}", b.name);
        finish(&b).await;
    }
}

#[tokio::test]
async fn dropped_permit_releases_its_holds() {
    for b in backends("admission_drop").await {
        let adm = Admission::new(Arc::clone(&b.counters), AdmissionConfig::default());
        let s = subject(
            SubjectKind::EndUser,
            "session-42",
            limits(None, None, Some(1)),
            Some(budget(1.0, None)),
        );
        let now = Timestamp::now();
        let permit = adm
            .admit_at(std::slice::from_ref(&s), 0, 600_000, now)
            .await
            .unwrap();
        assert!(adm
            .admit_at(std::slice::from_ref(&s), 0, 1, now)
            .await
            .is_err());
        drop(permit);
        // The release runs on a spawned task.
        let mut freed = false;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let st = window_state(b.counters.as_ref(), &s, now).await;
            if st.reserved == 0 {
                freed = true;
                break;
            }
        }
        assert!(freed, "{}: reservation not released", b.name);
        let again = adm
            .admit_at(std::slice::from_ref(&s), 0, 600_000, now)
            .await;
        assert!(again.is_ok(), "{}: slot not released", b.name);
        again.unwrap().release().await;
        assert_eq!(window_state(b.counters.as_ref(), &s, now).await.spent, 0);
        finish(&b).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn soft_threshold_crossing_is_reported_once() {
    for b in backends("admission_soft").await {
        let adm = Admission::new(Arc::clone(&b.counters), AdmissionConfig::default());
        let s = subject(
            SubjectKind::Team,
            "t",
            Limits::default(),
            Some(budget(100.0, Some(1.0))),
        );
        let now = Timestamp::now();
        let mut set = JoinSet::new();
        for _ in 0..40 {
            let adm = adm.clone();
            let s = s.clone();
            set.spawn(async move {
                let permit = adm.admit_at(&[s], 0, 50_000, now).await.unwrap();
                permit.settle(0, 50_000).await.soft_crossed
            });
        }
        let mut crossings = Vec::new();
        while let Some(r) = set.join_next().await {
            crossings.extend(r.unwrap());
        }
        // 40 × 0.05 USD = 2 USD: the 1 USD soft threshold is crossed by exactly one request.
        assert_eq!(crossings.len(), 1, "{}", b.name);
        assert_eq!(crossings[0].soft_micros, 1_000_000);
        assert!(crossings[0].spent_micros >= 1_000_000);
        // Later requests see the budget as over its soft threshold at admission.
        let permit = adm.admit_at(&[s], 0, 1, now).await.unwrap();
        assert_eq!(permit.over_soft.len(), 1);
        permit.settle(0, 0).await;
        finish(&b).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_one_budget() {
    for b in backends("admission_replicas").await {
        let Some(other) = second_replica(&b).await else {
            continue;
        };
        let replicas = [
            Admission::new(Arc::clone(&b.counters), AdmissionConfig::default()),
            Admission::new(other, AdmissionConfig::default()),
        ];
        let s = subject(
            SubjectKind::Key,
            "shared",
            Limits::default(),
            Some(budget(1.0, None)),
        );
        let now = Timestamp::now();
        let mut set = JoinSet::new();
        for i in 0..200 {
            let adm = replicas[i % 2].clone();
            let s = s.clone();
            set.spawn(async move {
                match adm.admit_at(&[s], 0, 30_000, now).await {
                    Ok(p) => {
                        p.settle(0, 30_000).await;
                        1u64
                    }
                    Err(_) => 0,
                }
            });
        }
        let mut admitted = 0;
        while let Some(r) = set.join_next().await {
            admitted += r.unwrap();
        }
        // floor(1 USD / 0.03 USD) = 33, with both replicas together.
        assert_eq!(admitted, 33);
        assert_eq!(
            window_state(b.counters.as_ref(), &s, now).await.spent,
            990_000
        );
        finish(&b).await;
    }
}

/// A counter store that is down.
struct Down;

fn down<'a, T: Send + 'a>() -> BoxFuture<'a, Result<T, CounterError>> {
    Box::pin(async { Err(CounterError::new("unreachable")) })
}

impl Counters for Down {
    fn rate_check<'a>(
        &'a self,
        _: &'a str,
        _: u64,
        _: u64,
        _: Duration,
    ) -> BoxFuture<'a, Result<Decision, CounterError>> {
        down()
    }
    fn rate_adjust<'a>(
        &'a self,
        _: &'a str,
        _: i64,
        _: Duration,
    ) -> BoxFuture<'a, Result<(), CounterError>> {
        down()
    }
    fn acquire<'a>(
        &'a self,
        _: &'a str,
        _: u64,
        _: Duration,
    ) -> BoxFuture<'a, Result<Option<Lease>, CounterError>> {
        down()
    }
    fn release_lease<'a>(&'a self, _: &'a Lease) -> BoxFuture<'a, Result<(), CounterError>> {
        down()
    }
    fn reserve<'a>(
        &'a self,
        _: &'a str,
        _: &'a BudgetWindow,
        _: u64,
        _: u64,
        _: Duration,
    ) -> BoxFuture<'a, Result<Result<Reservation, Exceeded>, CounterError>> {
        down()
    }
    fn settle<'a>(
        &'a self,
        _: &'a Reservation,
        _: u64,
    ) -> BoxFuture<'a, Result<Settled, CounterError>> {
        down()
    }
    fn release<'a>(&'a self, _: &'a Reservation) -> BoxFuture<'a, Result<(), CounterError>> {
        down()
    }
    fn spent<'a>(
        &'a self,
        _: &'a str,
        _: &'a BudgetWindow,
    ) -> BoxFuture<'a, Result<BudgetState, CounterError>> {
        down()
    }
    fn seed<'a>(
        &'a self,
        _: &'a str,
        _: &'a BudgetWindow,
        _: u64,
    ) -> BoxFuture<'a, Result<bool, CounterError>> {
        down()
    }
}

#[tokio::test]
async fn store_failure_fails_closed_unless_configured_open() {
    let s = [subject(
        SubjectKind::Key,
        "k",
        limits(Some(1), Some(1), Some(1)),
        Some(budget(1.0, None)),
    )];
    let closed = Admission::new(Arc::new(Down), AdmissionConfig::default());
    let refusal = closed.admit(&s, 1, 1).await.unwrap_err();
    assert_eq!(refusal.error.class, ErrorClass::Internal);
    assert_eq!(refusal.error.status, 503);
    assert!(refusal.subject.is_none());

    let open = Admission::new(
        Arc::new(Down),
        AdmissionConfig {
            fail_open: true,
            ..AdmissionConfig::default()
        },
    );
    let permit = open.admit(&s, 1, 1).await.unwrap();
    assert!(permit.reserved().is_empty());
    let out = permit.settle(1, 1).await;
    assert!(
        out.failures.is_empty(),
        "nothing was held, so nothing to settle"
    );
}

#[tokio::test]
async fn subjects_without_limits_are_admitted_without_state() {
    for b in backends("admission_empty").await {
        let adm = Admission::new(Arc::clone(&b.counters), AdmissionConfig::default());
        let permit = adm
            .admit(
                &[subject(SubjectKind::Key, "free", Limits::default(), None)],
                10,
                10,
            )
            .await
            .unwrap();
        assert!(permit.headers.pairs().is_empty());
        permit.settle(10, 10).await;
        assert_eq!(finish(&b).await, 0);
    }
}

#[tokio::test]
async fn budgets_are_seeded_from_the_ledger_once() {
    for b in backends("admission_seed").await {
        let adm = Admission::new(Arc::clone(&b.counters), AdmissionConfig::default());
        let s = subject(
            SubjectKind::Team,
            "seeded",
            Limits::default(),
            Some(budget(1.0, None)),
        );
        let now = Timestamp::now();
        assert!(
            adm.seed_budget(&s, 950_000, now).await.unwrap(),
            "{}",
            b.name
        );
        assert!(!adm.seed_budget(&s, 0, now).await.unwrap());
        let st = adm.budget_state(&s, now).await.unwrap().unwrap();
        assert_eq!(st.spent, 950_000);
        // The ledger's spend counts: 0.05 USD fits, 0.05 USD + 1 µ$ does not.
        assert!(adm
            .admit_at(std::slice::from_ref(&s), 0, 50_001, now)
            .await
            .is_err());
        adm.admit_at(std::slice::from_ref(&s), 0, 50_000, now)
            .await
            .unwrap()
            .settle(0, 50_000)
            .await;
        let no_budget = subject(SubjectKind::Key, "k", Limits::default(), None);
        assert!(!adm.seed_budget(&no_budget, 1, now).await.unwrap());
        assert!(adm.budget_state(&no_budget, now).await.unwrap().is_none());
        finish(&b).await;
    }
}
