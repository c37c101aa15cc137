//! The call-stack tree: every distinct chain of return addresses a thread
//! had is a node, named by a `StackId`, with a parent and a return address.
//!
//! Threads replay their buffered call and return events against it
//! (events.rs), so each access carries the id of the stack it was made
//! under; a report expands ids with `frames` only when it needs them.
//!
//! # Invariants
//! - Node 0 is the empty stack, its own parent.
//! - A node is never removed, so an id stays valid for the process's life.
//! - `child(p, r)` returns the same id every time for the same (p, r).

use rustc_hash::FxHashMap;
use std::sync::Mutex;

use crate::StackId;

struct Tree {
    /// (parent, return address) per node.
    nodes: Vec<(u32, u64)>,
    index: FxHashMap<(u32, u64), u32>,
}

static TREE: Mutex<Option<Tree>> = Mutex::new(None);

fn with_tree<R>(f: impl FnOnce(&mut Tree) -> R) -> R {
    let mut g = TREE.lock().unwrap_or_else(|p| p.into_inner());
    let t = g.get_or_insert_with(|| Tree {
        nodes: vec![(0, 0)],
        index: FxHashMap::default(),
    });
    f(t)
}

/// The stack `parent` with `ret` pushed on top.
pub(crate) fn child(parent: StackId, ret: u64) -> StackId {
    with_tree(|t| {
        let next = t.nodes.len() as u32;
        let id = *t.index.entry((parent.0, ret)).or_insert(next);
        if id == next {
            t.nodes.push((parent.0, ret));
        }
        StackId(id)
    })
}

/// The return addresses of `id`, innermost first.
pub(crate) fn frames(id: StackId) -> Vec<u64> {
    with_tree(|t| {
        let mut out = Vec::new();
        let mut n = id.0;
        while n != 0 {
            let Some(&(parent, ret)) = t.nodes.get(n as usize) else {
                break;
            };
            out.push(ret);
            n = parent;
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_shared_and_expand_innermost_first() {
        let a = child(StackId(0), 0x100);
        let b = child(a, 0x200);
        assert_eq!(child(a, 0x200), b);
        assert_ne!(child(StackId(0), 0x200), b);
        assert_eq!(frames(b), vec![0x200, 0x100]);
        assert_eq!(frames(StackId(0)), Vec::<u64>::new());
    }
}
