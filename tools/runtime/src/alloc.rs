//! `HbAlloc`: the runtime's private global allocator, never glibc's malloc.
//!
//! Small requests (up to 64 KiB) come from per-size-class free lists of
//! power-of-two blocks carved from 1 MiB anonymous mappings; a block of size
//! 2^k sits at an offset that is a multiple of 2^k, so it is aligned to
//! min(2^k, 4096). Larger requests get their own mapping. A spin lock
//! guards the lists: the runtime runs one guest thread at a time, so it is
//! almost never contended, and it never calls into glibc.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

const MIN_SHIFT: u32 = 4;
const MAX_SHIFT: u32 = 16;
const CLASSES: usize = (MAX_SHIFT - MIN_SHIFT + 1) as usize;
const CHUNK: usize = 1 << 20;

struct State {
    free: [*mut u8; CLASSES],
    bump: *mut u8,
    bump_left: usize,
}

struct Locked {
    lock: AtomicBool,
    state: UnsafeCell<State>,
}

// SAFETY:
// - `state` is only reached through `with_state`, which holds `lock`.
unsafe impl Sync for Locked {}

static HEAP: Locked = Locked {
    lock: AtomicBool::new(false),
    state: UnsafeCell::new(State {
        free: [core::ptr::null_mut(); CLASSES],
        bump: core::ptr::null_mut(),
        bump_left: 0,
    }),
};

fn lock() {
    while HEAP
        .lock
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
}

fn unlock() {
    HEAP.lock.store(false, Ordering::Release);
}

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    lock();
    // SAFETY:
    // - The lock is held, so this is the only reference to the state.
    let r = f(unsafe { &mut *HEAP.state.get() });
    unlock();
    r
}

/// Taken before a fork-like syscall (`dbi::ForkLock`): no other thread is
/// inside the allocator when the child is made, so the child's copy is
/// unlocked once the forking thread gives it back. Nothing may allocate
/// until `unlock_after_fork`.
pub(crate) fn lock_for_fork() {
    lock();
}

/// Given back after a fork-like syscall, in the parent and in the child.
pub(crate) fn unlock_after_fork() {
    unlock();
}

fn class_of(layout: &Layout) -> Option<usize> {
    let need = layout.size().max(layout.align()).max(1 << MIN_SHIFT);
    let shift = need.next_power_of_two().trailing_zeros();
    (shift <= MAX_SHIFT && layout.align() <= 4096).then(|| (shift - MIN_SHIFT) as usize)
}

/// The runtime's global allocator.
pub(crate) struct HbAlloc;

// SAFETY:
// - Every block handed out is at least `layout.size()` bytes, aligned to
//   `layout.align()`, and not handed out again until deallocated.
unsafe impl GlobalAlloc for HbAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class_of(&layout) else {
            let len = (layout.size() + 4095) & !4095;
            if layout.align() > 4096 {
                return core::ptr::null_mut();
            }
            return dbi::map_anon(len).unwrap_or(core::ptr::null_mut());
        };
        let size = 1usize << (class as u32 + MIN_SHIFT);
        with_state(|s| {
            let head = s.free[class];
            if !head.is_null() {
                // SAFETY:
                // - A free block stores the next free block in its first 8 bytes
                //   (written in `dealloc`), and is at least 16 bytes long.
                s.free[class] = unsafe { *(head as *mut *mut u8) };
                return head;
            }
            // Align the bump pointer to the block size (a power of two <= CHUNK).
            let misalign = (s.bump as usize) & (size.min(4096) - 1);
            let skip = if misalign == 0 {
                0
            } else {
                size.min(4096) - misalign
            };
            if s.bump.is_null() || s.bump_left < skip + size {
                match dbi::map_anon(CHUNK) {
                    Ok(p) => {
                        s.bump = p;
                        s.bump_left = CHUNK;
                    }
                    Err(_) => return core::ptr::null_mut(),
                }
                let p = s.bump;
                // SAFETY:
                // - `size` <= 64 KiB < CHUNK, so the result stays inside the fresh chunk.
                s.bump = unsafe { s.bump.add(size) };
                s.bump_left -= size;
                return p;
            }
            // SAFETY:
            // - `skip + size <= bump_left`, so both offsets stay inside the current chunk.
            let p = unsafe { s.bump.add(skip) };
            // SAFETY:
            // - As above: `p + size` is at most the chunk's end.
            s.bump = unsafe { p.add(size) };
            s.bump_left -= skip + size;
            p
        })
    }

    // SAFETY (for callers): `GlobalAlloc::alloc_zeroed`'s contract, which
    // is `alloc`'s.
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY:
        // - The caller's contract for `layout` is `alloc`'s.
        let p = unsafe { self.alloc(layout) };
        // Large blocks are fresh anonymous mappings, already zero (and not
        // yet backed by memory: a big table costs only what is touched).
        if !p.is_null() && class_of(&layout).is_some() {
            // SAFETY:
            // - `alloc` returned a block of at least `layout.size()` bytes.
            unsafe { core::ptr::write_bytes(p, 0, layout.size()) };
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(class) = class_of(&layout) else {
            let len = (layout.size() + 4095) & !4095;
            // SAFETY:
            // - Large blocks are whole mappings made in `alloc` with this length;
            //   the caller gives the block back, so nothing uses it any more.
            unsafe { dbi::unmap(ptr, len) };
            return;
        };
        with_state(|s| {
            // SAFETY:
            // - `ptr` is a free block of this class (at least 16 bytes, 16-byte aligned),
            //   no longer used by the caller; its first 8 bytes now link the free list.
            unsafe { *(ptr as *mut *mut u8) = s.free[class] };
            s.free[class] = ptr;
        });
    }
}
