//! Linux: raw syscalls, memory, GS base, the syscall table.

pub(crate) mod code_mem;
pub(crate) mod fds;
pub(crate) mod gs_base;
pub(crate) mod guest_syscall;
pub(crate) mod mem;
pub(crate) mod owned;
pub(crate) mod proc_view;
pub(crate) mod raw;
pub(crate) mod sigframe;
pub(crate) mod syscall_table;

use self::raw::{nr, syscall6};

/// An error number returned by the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i64);

impl Errno {
    /// What this errno from opening a file means, in words (for one-line
    /// errors about a user's file: a schedule, a lock model, suppressions).
    pub fn open_error_text(self) -> String {
        match self.0 {
            2 => "no such file".into(),
            13 => "permission denied".into(),
            20 => "a component of the path is not a directory".into(),
            21 => "is a directory".into(),
            _ => self.to_string(),
        }
    }
}

impl core::fmt::Display for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "errno {}", self.0)
    }
}

fn check(rc: i64) -> Result<u64, Errno> {
    if (-4095..0).contains(&rc) {
        Err(Errno(-rc))
    } else {
        Ok(rc as u64)
    }
}

/// Writes all of `bytes` to `fd`, retrying on short writes and EINTR.
pub fn write_all(fd: i32, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        // SAFETY:
        // - write(2) only reads `bytes.len()` bytes from `bytes`, a live slice.
        let rc = unsafe {
            syscall6(
                nr::WRITE,
                [
                    fd as u64,
                    bytes.as_ptr() as u64,
                    bytes.len() as u64,
                    0,
                    0,
                    0,
                ],
            )
        };
        match check(rc) {
            Ok(0) => return Err(Errno(5)),
            Ok(n) => bytes = &bytes[n as usize..],
            Err(Errno(4)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads up to `buf.len()` bytes from `fd`.
pub fn read(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY:
    // - read(2) writes at most `buf.len()` bytes into `buf`, a live exclusive slice.
    let rc = unsafe {
        syscall6(
            nr::READ,
            [
                fd as u64,
                buf.as_mut_ptr() as u64,
                buf.len() as u64,
                0,
                0,
                0,
            ],
        )
    };
    check(rc).map(|n| n as usize)
}

/// Opens `path` (NUL added here) with `flags` and `mode`; the descriptor is
/// moved into the runtime's reserved range (`fds`), out of the guest's way.
pub fn open(path: &[u8], flags: u64, mode: u64) -> Result<i32, Errno> {
    let mut z = Vec::with_capacity(path.len() + 1);
    z.extend_from_slice(path);
    z.push(0);
    // SAFETY:
    // - open(2) reads the NUL-terminated string `z`, alive for the call.
    let rc = unsafe { syscall6(nr::OPEN, [z.as_ptr() as u64, flags, mode, 0, 0, 0]) };
    let fd = check(rc)? as i32;
    // SAFETY:
    // - fcntl(F_DUPFD_CLOEXEC) creates a new descriptor; touches no memory.
    let hi = unsafe {
        syscall6(
            nr::FCNTL,
            [fd as u64, 1030, fds::runtime_fd_floor(), 0, 0, 0],
        )
    };
    match check(hi) {
        Ok(hi) => {
            close(fd);
            Ok(hi as i32)
        }
        Err(_) => Ok(fd),
    }
}

/// A close-on-exec duplicate of `fd` in the runtime's reserved range
/// (`fds`), out of the guest's way (a guest closing its stderr must not
/// silence the runtime).
pub fn dup_high(fd: i32) -> Result<i32, Errno> {
    // SAFETY:
    // - fcntl(F_DUPFD_CLOEXEC) creates a new descriptor; touches no memory.
    let rc = unsafe {
        syscall6(
            nr::FCNTL,
            [fd as u64, 1030, fds::runtime_fd_floor(), 0, 0, 0],
        )
    };
    check(rc).map(|fd| fd as i32)
}

/// Makes descriptor `to` a close-on-exec copy of `from` (dup3), closing
/// what `to` was: every copy of the number (log sinks, the tracing
/// subscriber) then writes to the new file.
pub fn dup_onto(from: i32, to: i32) -> Result<(), Errno> {
    const O_CLOEXEC: u64 = 0o2000000;
    // SAFETY:
    // - dup3 changes only the descriptor table; touches no memory.
    let rc = unsafe { syscall6(292, [from as u64, to as u64, O_CLOEXEC, 0, 0, 0]) };
    check(rc).map(|_| ())
}

/// The file offset of `fd` (lseek SEEK_CUR); an error for a pipe or socket.
pub fn file_offset(fd: i32) -> Result<u64, Errno> {
    // SAFETY:
    // - lseek touches no memory.
    check(unsafe { syscall6(8, [fd as u64, 0, 1, 0, 0, 0]) })
}

/// Cuts the file behind `fd` at `len` bytes and moves its offset there.
pub fn truncate_at(fd: i32, len: u64) -> Result<(), Errno> {
    // SAFETY:
    // - ftruncate and lseek touch no memory.
    check(unsafe { syscall6(77, [fd as u64, len, 0, 0, 0, 0]) })?;
    // SAFETY:
    // - As above.
    check(unsafe { syscall6(8, [fd as u64, len, 0, 0, 0, 0]) }).map(|_| ())
}

/// Closes `fd`, ignoring errors.
pub fn close(fd: i32) {
    // SAFETY:
    // - close(2) touches no memory of ours.
    let _ = unsafe { syscall6(nr::CLOSE, [fd as u64, 0, 0, 0, 0, 0]) };
}

/// The process id.
pub fn getpid() -> i32 {
    // SAFETY:
    // - getpid(2) has no arguments and touches no memory.
    unsafe { syscall6(nr::GETPID, [0; 6]) as i32 }
}

/// The calling thread's id.
pub(crate) fn gettid() -> i32 {
    // SAFETY:
    // - gettid(2) has no arguments and touches no memory.
    unsafe { syscall6(186, [0; 6]) as i32 }
}

/// Whether no thread `tid` is left in this process (`tgkill(pid, tid, 0)`
/// fails with `ESRCH`): an exited thread is gone once the kernel has
/// released it, after it last touched user memory.
pub(crate) fn thread_is_gone(tid: i32) -> bool {
    const ESRCH: i64 = 3;
    // SAFETY:
    // - tgkill with signal 0 only checks that the thread exists.
    let rc = unsafe { syscall6(234, [getpid() as u64, tid as u64, 0, 0, 0, 0]) };
    rc == -ESRCH
}

/// Ends the process with `status`, without running any guest exit handler.
pub fn exit_group(status: i32) -> ! {
    // SAFETY:
    // - exit_group(2) ends the process; nothing after it runs.
    unsafe {
        syscall6(nr::EXIT_GROUP, [status as u64, 0, 0, 0, 0, 0]);
    }
    unreachable!("exit_group returned")
}

/// The whole content of a file (a /proc file, an ELF module), or empty.
/// Reads straight into the result, doubling its room as the file goes on.
pub(crate) fn read_file(path: &[u8]) -> Vec<u8> {
    let Ok(fd) = open(path, 0, 0) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    loop {
        let len = out.len();
        out.resize(len + len.max(4096), 0);
        match read(fd, &mut out[len..]) {
            Ok(n) if n > 0 => out.truncate(len + n),
            _ => {
                out.truncate(len);
                break;
            }
        }
    }
    close(fd);
    out
}

/// One line of /proc/self/maps.
pub(crate) struct MapsLine<'a> {
    pub(crate) start: u64,
    pub(crate) end: u64,
    /// `rwxp`-style.
    pub(crate) perms: &'a str,
    pub(crate) offset: u64,
    /// The path, a `[heap]`-style tag, or empty (anonymous); may hold spaces.
    pub(crate) name: &'a str,
}

/// The text of the process's real /proc/self/maps (not the guest's view).
pub(crate) fn read_maps() -> String {
    String::from_utf8_lossy(&read_file(b"/proc/self/maps")).into_owned()
}

/// The lines of `text` (from `read_maps`), parsed; malformed ones skipped.
pub(crate) fn maps_lines(text: &str) -> impl Iterator<Item = MapsLine<'_>> {
    text.lines().filter_map(|l| {
        // range perms offset dev inode, then the name after padding.
        let mut f = l.splitn(6, ' ');
        let (a, b) = f.next()?.split_once('-')?;
        let perms = f.next()?;
        let offset = u64::from_str_radix(f.next()?, 16).ok()?;
        let name = f.nth(2).unwrap_or("").trim_start();
        Some(MapsLine {
            start: u64::from_str_radix(a, 16).ok()?,
            end: u64::from_str_radix(b, 16).ok()?,
            perms,
            offset,
            name,
        })
    })
}

/// Executable file mappings: (start, len, path, bias), bias being the
/// mapping start minus its file offset.
pub(crate) fn executable_mappings() -> Vec<(u64, u64, String, u64)> {
    let text = read_maps();
    maps_lines(&text)
        .filter(|m| m.perms.contains('x') && m.name.starts_with('/'))
        .map(|m| {
            let bias = m.start.wrapping_sub(m.offset);
            (m.start, m.end - m.start, m.name.to_string(), bias)
        })
        .collect()
}

/// The mapping holding `addr`: `(start, end, name)`, the name being the
/// path, `[heap]`-style tag or empty (anonymous), from the real
/// /proc/self/maps (not the guest's view of it).
pub fn mapping_of(addr: u64) -> Option<(u64, u64, String)> {
    let text = read_maps();
    let found = maps_lines(&text)
        .find(|m| (m.start..m.end).contains(&addr))
        .map(|m| (m.start, m.end, m.name.to_string()));
    found
}

/// Threads of the process (the `Threads:` line of /proc/self/status).
pub(crate) fn thread_count() -> usize {
    let st = read_file(b"/proc/self/status");
    String::from_utf8_lossy(&st)
        .lines()
        .find_map(|l| {
            l.strip_prefix("Threads:")
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(1)
}

/// Sleeps while `word` holds `expected` (FUTEX_WAIT_PRIVATE); returns on a
/// wake-up, a signal, or at once if the value already differs.
pub(crate) fn futex_wait(word: &core::sync::atomic::AtomicU32, expected: u32) {
    futex_wait_until(word, expected, None);
}

/// As `futex_wait`, but for at most `ms` milliseconds.
pub(crate) fn futex_wait_for(word: &core::sync::atomic::AtomicU32, expected: u32, ms: u64) {
    futex_wait_until(word, expected, Some([ms / 1000, (ms % 1000) * 1_000_000]));
}

/// `FUTEX_WAIT` on `word`, with a relative timeout (a timespec) if any.
fn futex_wait_until(
    word: &core::sync::atomic::AtomicU32,
    expected: u32,
    timeout: Option<[u64; 2]>,
) {
    const FUTEX_WAIT_PRIVATE: u64 = 128;
    let timeout_ptr = timeout.as_ref().map_or(0, |t| t.as_ptr() as u64);
    // SAFETY:
    // - The kernel only reads the live atomic `word` and, when given, the
    //   timespec `timeout`, a live local; no memory is written.
    let _ = unsafe {
        syscall6(
            202,
            [
                word.as_ptr() as u64,
                FUTEX_WAIT_PRIVATE,
                u64::from(expected),
                timeout_ptr,
                0,
                0,
            ],
        )
    };
}

/// Wakes every thread waiting on `word` (FUTEX_WAKE_PRIVATE).
pub(crate) fn futex_wake_all(word: &core::sync::atomic::AtomicU32) {
    const FUTEX_WAKE_PRIVATE: u64 = 129;
    // SAFETY:
    // - FUTEX_WAKE only uses the address of the live atomic `word` as a key.
    let _ = unsafe {
        syscall6(
            202,
            [
                word.as_ptr() as u64,
                FUTEX_WAKE_PRIVATE,
                i32::MAX as u64,
                0,
                0,
                0,
            ],
        )
    };
}

/// The time on `clock` (clock_gettime(2)): seconds and nanoseconds.
pub(crate) fn clock_now(clock: u64) -> [u64; 2] {
    let mut ts = [0u64; 2];
    // SAFETY:
    // - clock_gettime writes 16 bytes (a timespec) into `ts`, a live local.
    let _ = unsafe { syscall6(228, [clock, ts.as_mut_ptr() as u64, 0, 0, 0, 0]) };
    ts
}

/// Lets other threads run (sched_yield(2)).
pub(crate) fn sched_yield() {
    // SAFETY:
    // - sched_yield touches no memory.
    let _ = unsafe { syscall6(24, [0; 6]) };
}

/// Ends the calling thread only (exit(2)); the kernel clears and wakes its
/// CLONE_CHILD_CLEARTID word.
pub fn exit_thread(status: i32) -> ! {
    // SAFETY:
    // - exit(2) ends this thread; nothing after it runs on it.
    unsafe {
        syscall6(60, [status as u64, 0, 0, 0, 0, 0]);
    }
    unreachable!("exit returned")
}

/// `AT_HWCAP2` from /proc/self/auxv, or 0.
pub(crate) fn hwcap2() -> u64 {
    let Ok(fd) = open(b"/proc/self/auxv", 0, 0) else {
        return 0;
    };
    let mut buf = [0u8; 4096];
    let mut len = 0;
    while len < buf.len() {
        match read(fd, &mut buf[len..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n,
        }
    }
    close(fd);
    const AT_HWCAP2: u64 = 26;
    buf[..len]
        .chunks_exact(16)
        .map(|c| {
            let k = u64::from_ne_bytes(c[..8].try_into().expect("8 bytes"));
            let v = u64::from_ne_bytes(c[8..].try_into().expect("8 bytes"));
            (k, v)
        })
        .find(|&(k, _)| k == AT_HWCAP2)
        .map_or(0, |(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::maps_lines;

    #[test]
    fn maps_lines_give_ranges_permissions_offsets_and_whole_names() {
        let text = "55d0a000-55d0b000 r-xp 00001000 fe:00 1234                       /tmp/a b\n\
7f00000000-7f00100000 rw-p 00000000 00:00 0 \n\
7ffd0000-7ffd1000 rw-p 00000000 00:00 0                          [stack]\n\
7f10000000-7f10001000 r-xp 00000000 00:01 99 /memfd:tcg-jit (deleted)\n\
garbage\n";
        let lines: Vec<_> = maps_lines(text)
            .map(|m| (m.start, m.end, m.perms, m.offset, m.name))
            .collect();
        assert_eq!(
            lines,
            [
                (0x55d0a000, 0x55d0b000, "r-xp", 0x1000, "/tmp/a b"),
                (0x7f00000000, 0x7f00100000, "rw-p", 0, ""),
                (0x7ffd0000, 0x7ffd1000, "rw-p", 0, "[stack]"),
                (
                    0x7f10000000,
                    0x7f10001000,
                    "r-xp",
                    0,
                    "/memfd:tcg-jit (deleted)"
                ),
            ]
        );
    }
}
