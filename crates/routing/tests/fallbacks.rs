//! Fallbacks per error class: context-window failures go to the context list only, content
//! policy to the content list, outages to the general list, client errors nowhere.

mod common;

use std::sync::Arc;

use common::*;
use switchyard_routing::{
    BreakerSettings, Executor, FallbackKind, Fallbacks, Group, Plan, RetrySettings, RoutingSettings,
};
use switchyard_types::ErrorClass;

fn one_try() -> RoutingSettings {
    RoutingSettings {
        retries: RetrySettings {
            max_attempts: 2,
            ..RetrySettings::default()
        },
        ..RoutingSettings::default()
    }
}

/// Primary "p" (group 0) with general ["g"], context_window ["c"], content_policy ["s"].
fn plan() -> (Plan, [Arc<Group>; 4]) {
    let groups = [
        group("p", one_try(), 1),
        group("g", one_try(), 1),
        group("c", one_try(), 1),
        group("s", one_try(), 1),
    ];
    let fallbacks = Fallbacks {
        general: vec!["g".into()],
        context_window: vec!["c".into()],
        content_policy: vec!["s".into()],
    };
    let plan = Plan::with_fallbacks(groups[0].clone(), &fallbacks, |name| {
        groups.iter().find(|g| g.name() == name).cloned()
    });
    (plan, groups)
}

fn upstreams(primary: Script) -> Upstreams {
    Upstreams::new(vec![vec![primary], vec![ok()], vec![ok()], vec![ok()]])
}

#[tokio::test(start_paused = true)]
async fn context_window_goes_to_the_context_list_only() {
    let (plan, _) = plan();
    let c = plan.chain(FallbackKind::ContextWindow)[0];
    let up = upstreams(fails(ErrorClass::ContextWindowExceeded));
    let out = Executor::new().execute(&plan, None, up.attempt()).await;
    assert_eq!(out.served_by, Some((c, 0)));
    assert_eq!(plan.groups()[c].name(), "c");
    assert_eq!(out.attempts, 2, "no retry on the primary");
    assert_eq!(
        out.attempt_log[0].class,
        Some(ErrorClass::ContextWindowExceeded)
    );
    assert_eq!(
        up.calls(1, 0) + up.calls(3, 0),
        0,
        "general and content lists untouched"
    );
}

#[tokio::test(start_paused = true)]
async fn content_filter_goes_to_the_content_list_only() {
    let (plan, _) = plan();
    let up = upstreams(fails(ErrorClass::ContentFiltered));
    let out = Executor::new().execute(&plan, None, up.attempt()).await;
    let s = plan.chain(FallbackKind::ContentPolicy)[0];
    assert_eq!(out.served_by, Some((s, 0)));
    assert_eq!(up.calls(1, 0) + up.calls(2, 0), 0);
}

#[tokio::test(start_paused = true)]
async fn bad_request_never_falls_back() {
    let (plan, _) = plan();
    for class in [
        ErrorClass::BadRequest,
        ErrorClass::Unsupported,
        ErrorClass::PayloadTooLarge,
        ErrorClass::NotFound,
    ] {
        let up = upstreams(fails(class));
        let out = Executor::new().execute(&plan, None, up.attempt()).await;
        assert_eq!(out.result.unwrap_err().class, class);
        assert_eq!(out.attempts, 1);
        assert_eq!(up.total(), 1, "{class:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn outages_go_to_the_general_list_after_retries() {
    for class in [
        ErrorClass::ServerError,
        ErrorClass::RateLimited,
        ErrorClass::Overloaded,
        ErrorClass::Timeout,
        ErrorClass::Connect,
    ] {
        let (plan, _) = plan();
        let up = upstreams(fails(class));
        let out = Executor::seeded(1).execute(&plan, None, up.attempt()).await;
        assert_eq!(out.served_by, Some((1, 0)), "{class:?}");
        // A rate-limited single target is cooling down: rather than wait, fall back.
        let primary_calls = if class == ErrorClass::RateLimited {
            1
        } else {
            2
        };
        assert_eq!(up.calls(0, 0), primary_calls, "{class:?}");
        assert_eq!(up.calls(2, 0) + up.calls(3, 0), 0);
    }
}

#[tokio::test(start_paused = true)]
async fn upstream_auth_falls_back_without_retrying() {
    let (plan, _) = plan();
    let up = upstreams(fails(ErrorClass::UpstreamAuth));
    let out = Executor::new().execute(&plan, None, up.attempt()).await;
    assert_eq!(out.served_by, Some((1, 0)));
    assert_eq!(up.calls(0, 0), 1);
}

#[tokio::test(start_paused = true)]
async fn general_list_is_followed_in_order_and_the_last_error_returned() {
    let p = group("p", one_try(), 1);
    let a = group("a", one_try(), 1);
    let b = group("b", one_try(), 1);
    let mut plan = Plan::new(p);
    assert_eq!(plan.push_fallback(FallbackKind::General, a.clone()), 1);
    assert_eq!(plan.push_fallback(FallbackKind::General, b), 2);
    assert_eq!(
        plan.push_fallback(FallbackKind::General, a),
        1,
        "deduplicated"
    );
    let up = Upstreams::new(vec![
        vec![fails(ErrorClass::ServerError)],
        vec![fails(ErrorClass::Overloaded)],
        vec![fails(ErrorClass::Connect)],
    ]);
    let out = Executor::seeded(2).execute(&plan, None, up.attempt()).await;
    assert_eq!(out.result.unwrap_err().class, ErrorClass::Connect);
    let groups: Vec<usize> = out.attempt_log.iter().map(|r| r.group).collect();
    assert_eq!(groups, [0, 0, 1, 1, 2, 2]);
    assert_eq!(out.attempts, 6);
}

#[tokio::test(start_paused = true)]
async fn unhealthy_primary_is_skipped_for_a_fallback_without_an_attempt() {
    let s = RoutingSettings {
        breaker: BreakerSettings {
            consecutive_failures: 1,
            ..BreakerSettings::default()
        },
        ..one_try()
    };
    let p = group("p", s, 1);
    let g = group("g", one_try(), 1);
    let mut plan = Plan::new(p.clone());
    plan.push_fallback(FallbackKind::General, g);
    let up = Upstreams::new(vec![vec![fails(ErrorClass::ServerError)], vec![ok()]]);
    let exec = Executor::seeded(3);
    let out = exec.execute(&plan, None, up.attempt()).await;
    assert_eq!(out.served_by, Some((1, 0)));
    assert_eq!(up.calls(0, 0), 1);
    // The primary's breaker is open: straight to the fallback.
    let out = exec.execute(&plan, None, up.attempt()).await;
    assert_eq!((out.served_by, out.attempts), (Some((1, 0)), 1));
    assert_eq!(up.calls(0, 0), 1);
    // Without a fallback, the open primary is still tried (and retried, as the only target)
    // rather than failing outright.
    let alone = Plan::new(p);
    let out = exec.execute(&alone, None, up.attempt()).await;
    assert_eq!(out.attempts, 2);
    assert_eq!(up.calls(0, 0), 3);
    assert_eq!(out.result.unwrap_err().class, ErrorClass::ServerError);
}

#[tokio::test(start_paused = true)]
async fn no_fallback_once_the_deadline_passed() {
    let (plan, _) = plan();
    let up = upstreams(fails_after(ms(1_000), ErrorClass::ServerError));
    let t0 = tokio::time::Instant::now();
    let out = Executor::new()
        .execute(&plan, Some(t0 + ms(500)), up.attempt())
        .await;
    assert_eq!(out.result.unwrap_err().class, ErrorClass::Timeout);
    assert_eq!(up.total(), 1);
}
