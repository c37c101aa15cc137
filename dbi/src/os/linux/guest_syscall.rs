//! Running a guest's syscall on its behalf.

use super::raw::syscall6;

/// Performs the guest's syscall `nr(args)` and returns the kernel's result.
///
/// The syscall layer calls this with the guest's own registers, for a
/// syscall the guest itself issued; calls that would disturb the runtime
/// (threads, vfork, GS) were filtered or rewritten by `crate::syscall`.
pub(crate) fn run_guest_syscall(nr: u64, args: [u64; 6]) -> i64 {
    // SAFETY:
    // - The memory the kernel touches is named by the guest's arguments, for
    //   the guest's own request: the same effect as the native `syscall`.
    // - The runtime's own memory is not known to the guest; the calls that
    //   could still hurt it (clone of threads, vfork) never get here.
    unsafe { syscall6(nr, args) }
}

/// Reads a NUL-terminated array of pointers at `addr` in guest memory.
pub(crate) fn read_ptr_array(addr: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut a = addr;
    loop {
        let mut b = [0u8; 8];
        if super::mem::read_guest(a, &mut b) != 8 {
            break;
        }
        let p = u64::from_le_bytes(b);
        if p == 0 {
            break;
        }
        out.push(p);
        a += 8;
    }
    out
}

/// Reads a NUL-terminated string at `addr` in guest memory (without the NUL).
pub(crate) fn read_cstr(addr: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut a = addr;
    loop {
        let mut b = [0u8; 64];
        let n = super::mem::read_guest(a, &mut b);
        if let Some(z) = b[..n].iter().position(|&c| c == 0) {
            out.extend_from_slice(&b[..z]);
            return out;
        }
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[..n]);
        a += n as u64;
    }
}

/// The path behind descriptor `fd` (readlink of /proc/self/fd/N).
pub(crate) fn fd_path(fd: i32) -> Option<String> {
    let link = format!("/proc/self/fd/{fd}\0");
    let mut buf = [0u8; 512];
    // SAFETY:
    // - readlink(2) reads the NUL-terminated `link` and writes at most
    //   `buf.len()` bytes into `buf`, both alive for the call.
    let rc = unsafe {
        syscall6(
            89,
            [
                link.as_ptr() as u64,
                buf.as_mut_ptr() as u64,
                buf.len() as u64,
                0,
                0,
                0,
            ],
        )
    };
    if rc <= 0 {
        return None;
    }
    Some(String::from_utf8_lossy(&buf[..rc as usize]).into_owned())
}
