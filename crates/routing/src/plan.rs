//! A request's plan: the model it asked for and, per fallback list, the other models to try —
//! all resolved to groups before the first attempt. A group's position in [`Plan::groups`] is
//! the `group_index` that attempts, records and `served_by` refer to (0: the requested model).
//! Only the requested model's fallback lists are followed (not the fallbacks' own), so every
//! plan is finite and reads the way the configuration does; a model listed twice is tried once.

use std::sync::Arc;

use crate::fallback::{FallbackKind, Fallbacks};
use crate::group::Group;
use crate::latency::LatencyKind;

#[derive(Debug, Clone)]
pub struct Plan {
    groups: Vec<Arc<Group>>,
    /// Per [`FallbackKind`], indices into `groups` in order.
    chains: [Vec<usize>; 3],
    latency_kind: LatencyKind,
}

impl Plan {
    /// A plan with no fallbacks.
    pub fn new(primary: Arc<Group>) -> Self {
        Self {
            groups: vec![primary],
            chains: Default::default(),
            latency_kind: LatencyKind::Total,
        }
    }

    /// The requested model with its fallback lists, each name resolved by `resolve` (names it
    /// does not know are skipped: configuration validation reports them).
    pub fn with_fallbacks(
        primary: Arc<Group>,
        fallbacks: &Fallbacks,
        mut resolve: impl FnMut(&str) -> Option<Arc<Group>>,
    ) -> Self {
        let mut plan = Self::new(primary);
        for kind in FallbackKind::ALL {
            for name in fallbacks.list(kind) {
                if let Some(group) = resolve(name) {
                    plan.push_fallback(kind, group);
                }
            }
        }
        plan
    }

    /// Appends `group` to the `kind` list; returns its group index.
    pub fn push_fallback(&mut self, kind: FallbackKind, group: Arc<Group>) -> usize {
        let index = match self.groups.iter().position(|g| Arc::ptr_eq(g, &group)) {
            Some(i) => i,
            None => {
                self.groups.push(group);
                self.groups.len() - 1
            }
        };
        let chain = &mut self.chains[kind.index()];
        if index != 0 && !chain.contains(&index) {
            chain.push(index);
        }
        index
    }

    /// What attempt latency measures: [`LatencyKind::FirstToken`] for streams (the server's
    /// attempt resolves at the first event), [`LatencyKind::Total`] otherwise (the default).
    pub fn latency_kind(mut self, kind: LatencyKind) -> Self {
        self.latency_kind = kind;
        self
    }

    pub fn kind(&self) -> LatencyKind {
        self.latency_kind
    }

    /// All groups; the index is the `group_index`.
    pub fn groups(&self) -> &[Arc<Group>] {
        &self.groups
    }

    pub fn primary(&self) -> &Arc<Group> {
        &self.groups[0]
    }

    /// Group indices of one fallback list, in order.
    pub fn chain(&self, kind: FallbackKind) -> &[usize] {
        &self.chains[kind.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{RoutingSettings, TargetSettings};

    fn g(name: &str) -> Arc<Group> {
        Arc::new(Group::new(
            name,
            RoutingSettings::default(),
            [(format!("{name}-0"), TargetSettings::default())],
        ))
    }

    #[test]
    fn resolves_dedupes_and_indexes() {
        let (a, b, c) = (g("a"), g("b"), g("c"));
        let fallbacks = Fallbacks {
            general: vec!["b".into(), "missing".into(), "c".into(), "a".into()],
            context_window: vec!["c".into()],
            content_policy: vec![],
        };
        let plan = Plan::with_fallbacks(a.clone(), &fallbacks, |n| match n {
            "a" => Some(a.clone()),
            "b" => Some(b.clone()),
            "c" => Some(c.clone()),
            _ => None,
        });
        let names: Vec<&str> = plan.groups().iter().map(|g| g.name()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(plan.chain(FallbackKind::General), [1, 2]);
        assert_eq!(plan.chain(FallbackKind::ContextWindow), [2]);
        assert!(plan.chain(FallbackKind::ContentPolicy).is_empty());
        assert_eq!(plan.primary().name(), "a");
        assert_eq!(plan.kind(), LatencyKind::Total);
        assert_eq!(
            plan.latency_kind(LatencyKind::FirstToken).kind(),
            LatencyKind::FirstToken
        );
    }
}
