//! Shared test helpers: groups built from settings, and fake upstreams whose replies are
//! scripted per call and whose calls are counted per (group, target).

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use switchyard_routing::{AttemptCtx, Group, RoutingSettings, TargetSettings};
use switchyard_types::{ErrorClass, GatewayError, Who};

pub fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

pub fn err(class: ErrorClass) -> GatewayError {
    GatewayError::new(class, Who::Upstream, format!("scripted {}", class.as_str()))
}

pub fn group(name: &str, settings: RoutingSettings, n: usize) -> Arc<Group> {
    group_with(name, settings, vec![TargetSettings::default(); n])
}

pub fn group_with(
    name: &str,
    settings: RoutingSettings,
    targets: Vec<TargetSettings>,
) -> Arc<Group> {
    Arc::new(Group::new(
        name,
        settings,
        targets
            .into_iter()
            .enumerate()
            .map(|(i, t)| (format!("{name}/t{i}"), t)),
    ))
}

/// A target's scripted behaviour: call number (0-based) → (time taken, reply).
pub type Script = Arc<dyn Fn(u32) -> (Duration, Result<(), GatewayError>) + Send + Sync>;

pub fn ok_after(d: Duration) -> Script {
    Arc::new(move |_| (d, Ok(())))
}

pub fn ok() -> Script {
    ok_after(Duration::ZERO)
}

pub fn fails(class: ErrorClass) -> Script {
    fails_after(Duration::ZERO, class)
}

pub fn fails_after(d: Duration, class: ErrorClass) -> Script {
    Arc::new(move |_| (d, Err(err(class))))
}

/// Replies from `steps` in turn; the last one repeats.
pub fn steps(steps: Vec<(Duration, Result<(), GatewayError>)>) -> Script {
    Arc::new(move |n| {
        let i = (n as usize).min(steps.len() - 1);
        steps[i].clone()
    })
}

/// Fake upstreams for every (group, target) of a plan.
#[derive(Clone)]
pub struct Upstreams {
    scripts: Arc<Vec<Vec<Script>>>,
    calls: Arc<Vec<Vec<AtomicU32>>>,
}

pub type Reply = Pin<Box<dyn Future<Output = Result<(usize, usize), GatewayError>> + Send>>;

impl Upstreams {
    pub fn new(scripts: Vec<Vec<Script>>) -> Self {
        let calls = scripts
            .iter()
            .map(|g| g.iter().map(|_| AtomicU32::new(0)).collect())
            .collect();
        Self {
            scripts: Arc::new(scripts),
            calls: Arc::new(calls),
        }
    }

    pub fn calls(&self, group: usize, target: usize) -> u32 {
        self.calls[group][target].load(Ordering::SeqCst)
    }

    pub fn total(&self) -> u32 {
        self.calls
            .iter()
            .flatten()
            .map(|c| c.load(Ordering::SeqCst))
            .sum()
    }

    /// The attempt closure: sleeps the scripted time, then replies; Ok carries where it ran.
    pub fn attempt(&self) -> impl FnMut(AttemptCtx) -> Reply + Send + 'static {
        let me = self.clone();
        move |ctx: AttemptCtx| {
            let n = me.calls[ctx.group_index][ctx.target_index].fetch_add(1, Ordering::SeqCst);
            let (delay, reply) = (me.scripts[ctx.group_index][ctx.target_index])(n);
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                reply.map(|()| (ctx.group_index, ctx.target_index))
            })
        }
    }
}
