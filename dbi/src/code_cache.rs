//! The `CodeCache`: translated `Block`s, kept in regions near the guest code.
//!
//! Each region is a 32 MiB read-write-execute mapping placed within 1 GiB of
//! the guest code that made it be created, so a copied RIP-relative operand
//! or a branch linked to a neighbour still reaches with a 32-bit displacement
//! (ARCHITECTURE.md, "RIP-relative reach"). A block goes into the first
//! region within reach of its guest pc that has room.
//!
//! # Invariants
//! - `blocks` maps a guest pc to the host address of its translation; every
//!   host address lies inside one of `regions`.
//! - After `flush`, no branch in the cache points at a dropped block: the
//!   whole cache is dropped at once (regions are reused from their start).

use crate::arch::{self, MAX_BLOCK_BYTES};
use crate::os::linux::code_mem::CodeRegion;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

const REGION_LEN: usize = 32 << 20;
const REACH: u64 = 1 << 30;
/// Regions mapped before the cache is flushed instead of growing (512 MiB).
const MAX_REGIONS: usize = 16;

/// One translated guest block.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Block {
    pub(crate) host: u64,
}

struct Region {
    mem: CodeRegion,
    used: usize,
}

/// Why a translation could not be placed.
#[derive(Debug)]
pub(crate) enum CacheError {
    /// No memory could be mapped within reach of the guest pc.
    NoRegion,
    /// The block does not fit or reach even in a fresh region.
    Unplaceable,
    /// `MAX_REGIONS` regions are in use and none near the guest pc has room:
    /// the caller flushes the cache and retries (JITs that rewrite their
    /// code keep retranslating it, and old translations are never freed one
    /// by one).
    Full,
}

/// All translated blocks of the process (one guest thread at a time).
pub(crate) struct CodeCache {
    regions: Vec<Region>,
    /// `regions[i].mem`, kept as a slice for `regions()`.
    mems: Vec<CodeRegion>,
    blocks: FxHashMap<u64, Block>,
    /// Host start of each block: its length and safe points (for signals).
    by_host: BTreeMap<u64, (u32, Vec<arch::SafePoint>)>,
    by_pc: BTreeMap<u64, u64>,
}

impl CodeCache {
    pub(crate) fn new() -> CodeCache {
        CodeCache {
            regions: Vec::new(),
            mems: Vec::new(),
            by_host: BTreeMap::new(),
            blocks: FxHashMap::with_capacity_and_hasher(1 << 16, Default::default()),
            by_pc: BTreeMap::new(),
        }
    }

    /// The translation of the block at `pc`, if any.
    #[inline]
    pub(crate) fn lookup(&self, pc: u64) -> Option<Block> {
        self.blocks.get(&pc).copied()
    }

    /// Number of translated blocks.
    pub(crate) fn len(&self) -> usize {
        self.blocks.len()
    }

    /// The regions' memory, for reading exit records and patching links.
    pub(crate) fn regions(&self) -> &[CodeRegion] {
        &self.mems
    }

    /// Places a translation of the block `[pc, guest_end)`; `emit(base)`
    /// produces its bytes for placement at `base`.
    pub(crate) fn insert(
        &mut self,
        pc: u64,
        guest_end: u64,
        mut emit: impl FnMut(u64) -> Result<arch::EmittedBlock, arch::EmitError>,
    ) -> Result<Block, CacheError> {
        let near = |r: &Region| {
            let lo = r.mem.base;
            let hi = r.mem.base + r.mem.len as u64;
            pc.abs_diff(lo) < REACH && pc.abs_diff(hi) < REACH
        };
        for fresh in [false, true] {
            let idx = if fresh {
                if self.regions.len() >= MAX_REGIONS && !self.blocks.is_empty() {
                    return Err(CacheError::Full);
                }
                let mem =
                    CodeRegion::map_near(pc, REGION_LEN, REACH).ok_or(CacheError::NoRegion)?;
                tracing::debug!(base = mem.base, pc, "new code-cache region");
                self.regions.push(Region { mem, used: 0 });
                self.mems.push(mem);
                self.regions.len() - 1
            } else {
                match self
                    .regions
                    .iter()
                    .position(|r| near(r) && r.used + 64 * 1024 < r.mem.len)
                {
                    Some(i) => i,
                    None => continue,
                }
            };
            let r = &mut self.regions[idx];
            let base = r.mem.base + r.used as u64;
            let Ok(arch::EmittedBlock { code, points }) = emit(base) else {
                continue;
            };
            if r.used + code.len() > r.mem.len {
                continue;
            }
            r.mem.write(base, &code);
            r.used = (r.used + code.len() + 15) & !15;
            let block = Block { host: base };
            self.blocks.insert(pc, block);
            self.by_pc.insert(pc, guest_end);
            self.by_host.insert(base, (code.len() as u32, points));
            return Ok(block);
        }
        Err(CacheError::Unplaceable)
    }

    /// Whether `host` lies in the code cache.
    pub(crate) fn contains_host(&self, host: u64) -> bool {
        self.mems.iter().any(|r| r.contains(host))
    }

    /// The safe point at exactly `host`, if `host` is one. Allocation-free:
    /// called from the signal handler while the cache is not being changed.
    pub(crate) fn safe_point_at(&self, host: u64) -> Option<arch::SafePoint> {
        let (&start, (len, points)) = self.by_host.range(..=host).next_back()?;
        if host >= start + u64::from(*len) {
            return None;
        }
        points
            .iter()
            .find(|p| start + u64::from(p.offset) == host)
            .copied()
    }

    /// Whether any translated block overlaps `[start, end)`.
    pub(crate) fn overlaps(&self, start: u64, end: u64) -> bool {
        self.by_pc
            .range(start.saturating_sub(MAX_BLOCK_BYTES)..end)
            .any(|(&pc, &gend)| pc < end && gend > start)
    }

    /// Drops the translation of the block at `pc` (its guest code changed).
    /// The old code stays in place: links into it still run its check,
    /// which now fails and leaves for the dispatcher.
    pub(crate) fn forget(&mut self, pc: u64) {
        self.blocks.remove(&pc);
        self.by_pc.remove(&pc);
    }

    /// Drops every translation (after guest code was unmapped or changed).
    pub(crate) fn flush(&mut self) {
        tracing::debug!(blocks = self.blocks.len(), "code cache flushed");
        self.blocks.clear();
        self.by_pc.clear();
        self.by_host.clear();
        for r in &mut self.regions {
            r.used = 0;
        }
    }
}
