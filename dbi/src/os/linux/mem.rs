//! Memory for the runtime: anonymous mappings, code-cache regions near a
//! guest address, and safe reads of guest code. Every mapping made here is
//! recorded in `owned`, out of the guest's reach.

use super::raw::{nr, syscall6};
use super::{check, Errno};
use rustc_hash::FxHashSet;
use std::sync::Mutex;

const PROT_READ: u64 = 1;
const PROT_WRITE: u64 = 2;
const PROT_EXEC: u64 = 4;
const MAP_PRIVATE: u64 = 0x02;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_NORESERVE: u64 = 0x4000;
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;

/// Maps `len` bytes of fresh zeroed read-write memory.
pub fn map_anon(len: usize) -> Result<*mut u8, Errno> {
    // SAFETY:
    // - An anonymous mapping without MAP_FIXED never replaces existing memory.
    let rc = unsafe {
        syscall6(
            nr::MMAP,
            [
                0,
                len as u64,
                PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                u64::MAX,
                0,
            ],
        )
    };
    let a = check(rc)?;
    super::owned::add(a, len as u64);
    Ok(a as *mut u8)
}

/// Unmaps memory obtained from [`map_anon`].
///
/// # Safety
/// `[addr, addr + len)` must be a mapping of ours that nothing uses any more.
pub unsafe fn unmap(addr: *mut u8, len: usize) {
    // SAFETY:
    // - The caller guarantees nobody uses the range any more.
    let _ = unsafe { syscall6(nr::MUNMAP, [addr as u64, len as u64, 0, 0, 0, 0]) };
    super::owned::forget(addr as u64, len as u64);
}

/// Gives the pages of `[addr, addr + len)` back to the kernel; they read as
/// zero afterwards (MADV_DONTNEED on private anonymous memory).
///
/// # Safety
/// The range must be page-aligned private anonymous memory of ours whose
/// content nobody needs any more.
pub(crate) unsafe fn discard(addr: *mut u8, len: usize) {
    const MADVISE: u64 = 28;
    const MADV_DONTNEED: u64 = 4;
    // SAFETY:
    // - The caller guarantees the range is ours and its content is dead.
    let _ = unsafe { syscall6(MADVISE, [addr as u64, len as u64, MADV_DONTNEED, 0, 0, 0]) };
}

/// Maps `len` bytes of zeroed read-write memory at an address aligned to
/// `align` (a power of two, at least a page), followed by an inaccessible
/// guard page. Returns the start. Never unmapped.
pub(crate) fn map_aligned_with_guard(len: usize, align: usize) -> Result<u64, Errno> {
    let total = len + 4096 + align;
    // SAFETY:
    // - A fresh anonymous PROT_NONE reservation without MAP_FIXED replaces nothing.
    let rc = unsafe {
        syscall6(
            nr::MMAP,
            [
                0,
                total as u64,
                0,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                u64::MAX,
                0,
            ],
        )
    };
    let reserved = check(rc)?;
    let start = (reserved + align as u64 - 1) & !(align as u64 - 1);
    let end = start + len as u64 + 4096;
    // SAFETY:
    // - Both ranges are parts of the reservation just made, holding nothing.
    unsafe {
        if start > reserved {
            unmap(reserved as *mut u8, (start - reserved) as usize);
        }
        let tail = reserved + total as u64;
        if tail > end {
            unmap(end as *mut u8, (tail - end) as usize);
        }
    }
    // SAFETY:
    // - `[start, start + len)` is inside our reservation; making it
    //   read-write changes no memory anyone uses.
    let rc = unsafe {
        syscall6(
            nr::MPROTECT,
            [start, len as u64, PROT_READ | PROT_WRITE, 0, 0, 0],
        )
    };
    check(rc)?;
    super::owned::add(start, len as u64 + 4096);
    Ok(start)
}

/// Makes the `len` bytes at `addr` inaccessible (a guard page).
pub(crate) fn protect_none(addr: *mut u8, len: usize) -> Result<(), Errno> {
    // SAFETY:
    // - Called only on fresh runtime mappings (stack guards) that hold no data.
    let rc = unsafe { syscall6(nr::MPROTECT, [addr as u64, len as u64, 0, 0, 0, 0]) };
    check(rc).map(|_| ())
}

/// Maps `len` bytes of read-write-execute memory for the code cache, at an
/// address within `reach` bytes of `near` (both ends of the mapping), or
/// returns `None` when no free place was found there.
pub(crate) fn map_code_near(near: u64, len: usize, reach: u64) -> Option<u64> {
    const STEP: u64 = 64 << 20;
    let near = near & !0xffff;
    for i in 1..(reach / STEP) {
        for cand in [near.wrapping_sub(i * STEP), near.wrapping_add(i * STEP)] {
            if !(0x10000..0x7fff_f000_0000 - len as u64).contains(&cand) {
                continue;
            }
            // SAFETY:
            // - MAP_FIXED_NOREPLACE fails instead of replacing an existing mapping.
            let rc = unsafe {
                syscall6(
                    nr::MMAP,
                    [
                        cand,
                        len as u64,
                        PROT_READ | PROT_WRITE | PROT_EXEC,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
                        u64::MAX,
                        0,
                    ],
                )
            };
            match check(rc) {
                Ok(a) if a == cand => {
                    super::owned::add(a, len as u64);
                    return Some(a);
                }
                Ok(a) => {
                    // An old kernel ignored the flag and put it elsewhere.
                    // SAFETY:
                    // - `a` is the mapping just made, unused.
                    unsafe { unmap(a as *mut u8, len) };
                }
                Err(_) => {}
            }
        }
    }
    None
}

/// Guest pages known to be readable (page numbers), so that decoding reads
/// guest code directly instead of with a syscall per block. Emptied by
/// `forget_readable` whenever the guest unmaps or reprotects memory.
static READABLE: Mutex<Option<FxHashSet<u64>>> = Mutex::new(None);

/// Forgets which guest pages are readable (after munmap, mprotect, mremap).
pub(crate) fn forget_readable() {
    if let Ok(mut g) = READABLE.lock() {
        *g = None;
    }
    if let Ok(mut g) = MAPS.lock() {
        *g = None;
    }
}

/// One mapping of the process, as /proc/self/maps gives it.
struct Mapping {
    start: u64,
    end: u64,
    /// File-backed and not writable: its code cannot change unseen.
    fixed: bool,
    /// The main thread's stack (`[stack]`).
    stack: bool,
    /// Anonymous memory (no name, or `[anon:...]`): where JITs put code.
    anonymous: bool,
}

/// The process's mappings, read from /proc/self/maps when first needed
/// after a change (`forget_readable`).
static MAPS: Mutex<Option<Vec<Mapping>>> = Mutex::new(None);

/// Runs `f` on the process's mappings (read again after a change).
fn with_maps<R>(f: impl FnOnce(&[Mapping]) -> R) -> Option<R> {
    let mut g = MAPS.lock().ok()?;
    let maps = g.get_or_insert_with(|| {
        let text = super::read_maps();
        super::maps_lines(&text)
            .map(|m| Mapping {
                start: m.start,
                end: m.end,
                fixed: m.name.starts_with('/') && !m.perms.contains('w'),
                stack: m.name == "[stack]",
                anonymous: m.name.is_empty() || m.name.starts_with("[anon"),
            })
            .collect()
    });
    Some(f(maps))
}

/// Whether all of `[start, end)` is file-backed memory the guest cannot
/// write (so its code cannot change without an mmap/mprotect we see).
pub(crate) fn is_file_readonly(start: u64, end: u64) -> bool {
    with_maps(|maps| {
        let mut at = start;
        while at < end {
            match maps.iter().find(|m| m.start <= at && at < m.end) {
                Some(m) if m.fixed => at = m.end,
                _ => return false,
            }
        }
        true
    })
    .unwrap_or(false)
}

/// The start of the anonymous mapping holding `pc`, if it is one: code
/// there was generated at run time (TCG's buffer, V8's heap).
pub(crate) fn generated_code_owner(pc: u64) -> Option<u64> {
    with_maps(|maps| {
        maps.iter()
            .find(|m| m.anonymous && m.start <= pc && pc < m.end)
            .map(|m| m.start)
    })
    .flatten()
}

/// Whether `pc` lies in the main thread's stack mapping (`[stack]`).
pub(crate) fn is_main_stack(pc: u64) -> bool {
    with_maps(|maps| maps.iter().any(|m| m.stack && m.start <= pc && pc < m.end)).unwrap_or(false)
}

/// Whether the page at `page` (a page number) is readable, probing it with
/// one `process_vm_readv` of one byte the first time.
fn page_readable(set: &mut FxHashSet<u64>, page: u64) -> bool {
    if set.contains(&page) {
        return true;
    }
    let mut b = [0u8; 1];
    let l = [b.as_mut_ptr() as u64, 1u64];
    let r = [page << 12, 1u64];
    // SAFETY:
    // - The kernel writes at most 1 byte into `b`, a live local.
    // - The remote side is our own address space, read-only; a bad page fails with EFAULT.
    let rc = unsafe {
        syscall6(
            nr::PROCESS_VM_READV,
            [pid() as u64, l.as_ptr() as u64, 1, r.as_ptr() as u64, 1, 0],
        )
    };
    let ok = rc == 1;
    if ok {
        set.insert(page);
    }
    ok
}

static PID: core::sync::atomic::AtomicI32 = core::sync::atomic::AtomicI32::new(0);

/// Called in a fork child: our pid changed.
pub(crate) fn forget_pid() {
    PID.store(0, core::sync::atomic::Ordering::Relaxed);
}

/// Our pid, cached (`forget_pid` in a fork child).
fn pid() -> i32 {
    let p = PID.load(core::sync::atomic::Ordering::Relaxed);
    if p != 0 {
        return p;
    }
    let p = super::getpid();
    PID.store(p, core::sync::atomic::Ordering::Relaxed);
    p
}

/// Writes `bytes` to guest memory at `addr` without faulting (one
/// `process_vm_writev` on ourselves); false when any of it is not writable.
pub(crate) fn write_guest(addr: u64, bytes: &[u8]) -> bool {
    let l = [bytes.as_ptr() as u64, bytes.len() as u64];
    let r = [addr, bytes.len() as u64];
    // SAFETY:
    // - The kernel reads `bytes.len()` bytes from `bytes`, a live slice.
    // - The remote side is guest memory of our own process, written as the
    //   guest's own syscall would write it; an unwritable page fails with EFAULT.
    let rc = unsafe {
        syscall6(
            nr::PROCESS_VM_WRITEV,
            [pid() as u64, l.as_ptr() as u64, 1, r.as_ptr() as u64, 1, 0],
        )
    };
    rc == bytes.len() as i64
}

/// Copies guest bytes at `addr` into `buf` without faulting: returns how many
/// bytes were readable (reads stop at the first unreadable page).
pub(crate) fn read_guest(addr: u64, buf: &mut [u8]) -> usize {
    if buf.is_empty() {
        return 0;
    }
    let Ok(mut guard) = READABLE.lock() else {
        return 0;
    };
    let set = guard.get_or_insert_with(FxHashSet::default);
    let first = addr >> 12;
    let last = (addr + buf.len() as u64 - 1) >> 12;
    let mut n = 0usize;
    for page in first..=last {
        if !page_readable(set, page) {
            break;
        }
        n = (((page + 1) << 12) - addr).min(buf.len() as u64) as usize;
    }
    // SAFETY:
    // - Every page of `[addr, addr + n)` was proven readable by `page_readable`,
    //   and stays so: the set is emptied on every unmap or reprotect, and no
    //   guest code runs while the dispatcher reads.
    // - `buf` is a live exclusive slice of at least `n` bytes, not guest code.
    unsafe { core::ptr::copy_nonoverlapping(addr as *const u8, buf.as_mut_ptr(), n) };
    n
}
