//! The lock-order graph: potential deadlocks.
//!
//! An edge `a -> b` means some thread acquired `b` while holding `a`. The
//! first acquisition that would close a cycle is reported (Helgrind's "lock
//! order violated") and not added, so the graph stays acyclic and every
//! later check is a reachability query.

use rustc_hash::FxHashSet;
use std::collections::VecDeque;

use petgraph::graphmap::DiGraphMap;

use crate::report::LockOrderEdge;

/// Where the two ends of an edge were acquired.
#[derive(Clone, Copy, Debug)]
struct EdgeSites {
    first_site: u32,
    second_site: u32,
}

#[derive(Default)]
pub(crate) struct LockOrderGraph {
    graph: DiGraphMap<u64, EdgeSites>,
    reported: FxHashSet<(u64, u64)>,
}

impl LockOrderGraph {
    /// Records that `lock` is acquired at `site` while `held` (address, site)
    /// are held; returns each violated order, as (observed, required path).
    pub(crate) fn acquire(
        &mut self,
        held: impl Iterator<Item = (u64, u32)>,
        lock: u64,
        site: u32,
    ) -> Vec<(LockOrderEdge, Vec<LockOrderEdge>)> {
        let mut violations = Vec::new();
        for (first, first_site) in held {
            if first == lock || self.graph.contains_edge(first, lock) {
                continue;
            }
            let observed = LockOrderEdge {
                first,
                first_site,
                second: lock,
                second_site: site,
            };
            match self.path(lock, first) {
                Some(required) => {
                    if self.reported.insert((first, lock)) {
                        violations.push((observed, required));
                    }
                }
                None => {
                    self.graph.add_edge(
                        first,
                        lock,
                        EdgeSites {
                            first_site,
                            second_site: site,
                        },
                    );
                }
            }
        }
        violations
    }

    /// A shortest path of edges from `from` to `to`, if any.
    fn path(&self, from: u64, to: u64) -> Option<Vec<LockOrderEdge>> {
        if !self.graph.contains_node(from) || !self.graph.contains_node(to) {
            return None;
        }
        let mut came_from = rustc_hash::FxHashMap::default();
        let mut queue = VecDeque::from([from]);
        while let Some(node) = queue.pop_front() {
            if node == to {
                let mut edges = Vec::new();
                let mut at = to;
                while at != from {
                    let prev = came_from[&at];
                    let sites = self.graph[(prev, at)];
                    edges.push(LockOrderEdge {
                        first: prev,
                        first_site: sites.first_site,
                        second: at,
                        second_site: sites.second_site,
                    });
                    at = prev;
                }
                edges.reverse();
                return Some(edges);
            }
            for next in self.graph.neighbors(node) {
                if next != from && !came_from.contains_key(&next) {
                    came_from.insert(next, node);
                    queue.push_back(next);
                }
            }
        }
        None
    }

    /// Forgets locks in `[start, end)` (destroyed or freed).
    pub(crate) fn remove_range(&mut self, start: u64, end: u64) {
        let dead: Vec<u64> = self
            .graph
            .nodes()
            .filter(|n| (start..end).contains(n))
            .collect();
        for node in dead {
            self.graph.remove_node(node);
        }
        self.reported
            .retain(|&(a, b)| !(start..end).contains(&a) && !(start..end).contains(&b));
    }
}
