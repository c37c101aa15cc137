//! Reading and writing the runtime's own code-cache memory.
//!
//! Code-cache regions are read-write-execute mappings made by
//! `mem::map_code_near` and never unmapped while the process runs, so every
//! address inside one stays valid. The runtime runs one guest thread at a
//! time, so no translated code executes while these writes happen.
// Not yet: a patch of a linked branch must become one aligned atomic store
// once several threads run translated code at the same time (threads issue).

/// A code-cache region: `[base, base + len)`, mapped RWX for the process lifetime.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CodeRegion {
    pub(crate) base: u64,
    pub(crate) len: usize,
}

impl CodeRegion {
    /// Maps a new region of `len` bytes within `reach` of `near`.
    pub(crate) fn map_near(near: u64, len: usize, reach: u64) -> Option<CodeRegion> {
        super::mem::map_code_near(near, len, reach).map(|base| CodeRegion { base, len })
    }

    fn check(&self, addr: u64, n: usize) {
        assert!(
            addr >= self.base && addr + n as u64 <= self.base + self.len as u64,
            "code-cache access {addr:#x}+{n} outside region {:#x}+{:#x}",
            self.base,
            self.len
        );
    }

    /// Copies `bytes` to `addr`.
    pub(crate) fn write(&self, addr: u64, bytes: &[u8]) {
        self.check(addr, bytes.len());
        // SAFETY:
        // - `check` proved the range lies inside this region, which stays mapped
        //   read-write for the process lifetime.
        // - No translated code runs during the write (one guest thread at a time,
        //   and it is in the dispatcher).
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), addr as *mut u8, bytes.len()) }
    }

    /// Reads the u64 at `addr`.
    pub(crate) fn read_u64(&self, addr: u64) -> u64 {
        self.check(addr, 8);
        // SAFETY:
        // - `check` proved the 8 bytes lie inside this mapped region.
        unsafe { core::ptr::read_unaligned(addr as *const u64) }
    }

    /// Copies `len` bytes at `addr` out of the region.
    pub(crate) fn read(&self, addr: u64, len: usize) -> Vec<u8> {
        self.check(addr, len);
        let mut v = vec![0u8; len];
        // SAFETY:
        // - `check` proved the range lies inside this mapped region; `v` is a fresh buffer.
        unsafe { core::ptr::copy_nonoverlapping(addr as *const u8, v.as_mut_ptr(), len) };
        v
    }

    /// Whether `addr` lies inside the region.
    pub(crate) fn contains(&self, addr: u64) -> bool {
        addr >= self.base && addr < self.base + self.len as u64
    }
}

/// Reads the u64 at `addr` inside one of `regions`.
pub(crate) fn read_u64_in(regions: &[CodeRegion], addr: u64) -> u64 {
    let r = regions
        .iter()
        .find(|r| r.contains(addr))
        .expect("address inside the code cache");
    r.read_u64(addr)
}

/// Writes `bytes` at `addr` inside one of `regions`.
pub(crate) fn write_in(regions: &[CodeRegion], addr: u64, bytes: &[u8]) {
    let r = regions
        .iter()
        .find(|r| r.contains(addr))
        .expect("address inside the code cache");
    r.write(addr, bytes);
}
