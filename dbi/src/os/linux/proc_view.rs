//! The guest's view of its own memory map: `/proc/self/maps` and
//! `/proc/self/smaps` without hbgrind's mappings (papers/reliability.md,
//! "hbgrind's own memory").
//!
//! A guest reading its maps (a garbage collector scanning writable
//! mappings, a sandbox checking for executable anonymous memory, a
//! profiler) must not see the code cache, thread blocks, event buffers or
//! the runtime library, which it cannot touch anyway (`owned`). After a
//! guest `open`, `openat` or `openat2` of a maps or smaps file of this
//! process succeeded, its descriptor is replaced, under the same number and
//! close-on-exec flag, by a read-only snapshot of the file with the
//! runtime's ranges cut out:
//! - in `maps`, a line whose range is partly the runtime's is cut to the
//!   guest's parts (one line each; a file mapping's offset moves with its
//!   start), and a line wholly the runtime's is dropped;
//! - in `smaps`, an entry wholly the runtime's is dropped; one that is only
//!   partly the runtime's stays whole (its sizes cannot be split).
//!
//! The snapshot is taken at `open`, where the kernel generates the text at
//! each `read`: a reader that keeps the descriptor and seeks back to 0
//! sees the map of the time it opened it. The file is a memfd, so `fstat`
//! gives its size where the kernel gives 0.
//!
//! # Invariants
//! - Only descriptors whose path (readlink of /proc/self/fd/N) is
//!   `/proc/<our pid>/[task/<tid>/](maps|smaps)` are replaced.
//! - On any failure the guest keeps the kernel's descriptor, at offset 0.

use super::guest_syscall::{fd_path, read_cstr};
use super::raw::syscall6;

const OPEN: u64 = 2;
const OPENAT: u64 = 257;
const OPENAT2: u64 = 437;
const O_CLOEXEC: u64 = 0o2000000;
const MEMFD_CREATE: u64 = 319;
const LSEEK: u64 = 8;
const DUP3: u64 = 292;

/// Which of the process's map files a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MapFile {
    Maps,
    Smaps,
}

/// After a guest call: replaces the descriptor `ret` of a successful open
/// of this process's maps or smaps file by the guest's view of it (module
/// docs). Returns the guest's result, unchanged.
pub(crate) fn after_open(nr: u64, args: &[u64; 6], ret: i64) -> i64 {
    let (path_at, flags) = match nr {
        OPEN => (args[0], args[1]),
        OPENAT => (args[1], args[2]),
        OPENAT2 => {
            let mut how = [0u8; 8];
            if super::mem::read_guest(args[2], &mut how) != 8 {
                return ret;
            }
            (args[1], u64::from_le_bytes(how))
        }
        _ => return ret,
    };
    if ret < 0 || !read_cstr(path_at).ends_with(b"maps") {
        return ret;
    }
    let fd = ret as i32;
    let Some(kind) = fd_path(fd).and_then(|p| map_file(&p, super::getpid())) else {
        return ret;
    };
    let text = read_all(fd);
    let view = guest_view(&text, kind, &super::owned::guest_parts);
    if replace(fd, &view, flags & O_CLOEXEC).is_err() {
        // SAFETY:
        // - lseek touches no memory.
        unsafe { syscall6(LSEEK, [fd as u64, 0, 0, 0, 0, 0]) };
    }
    ret
}

/// `/proc/<pid>/maps`, `/proc/<pid>/task/<tid>/smaps`, ... of process `pid`.
fn map_file(path: &str, pid: i32) -> Option<MapFile> {
    let rest = path.strip_prefix("/proc/")?;
    let (p, mut rest) = rest.split_once('/')?;
    if p.parse::<i32>().ok()? != pid {
        return None;
    }
    if let Some(t) = rest.strip_prefix("task/") {
        let (tid, r) = t.split_once('/')?;
        tid.parse::<i32>().ok()?;
        rest = r;
    }
    match rest {
        "maps" => Some(MapFile::Maps),
        "smaps" => Some(MapFile::Smaps),
        _ => None,
    }
}

fn read_all(fd: i32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = super::read(fd, &mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// Puts a read-only file holding `bytes` at descriptor `fd`.
fn replace(fd: i32, bytes: &[u8], cloexec: u64) -> Result<(), super::Errno> {
    let name = b"maps\0";
    // SAFETY:
    // - memfd_create reads the NUL-terminated `name`, alive for the call.
    let memfd =
        super::check(unsafe { syscall6(MEMFD_CREATE, [name.as_ptr() as u64, 1, 0, 0, 0, 0]) })?
            as i32;
    let written = super::write_all(memfd, bytes);
    // A read-only descriptor of it, as the kernel's: writes get EBADF.
    let ro = written
        .and_then(|()| super::open(format!("/proc/self/fd/{memfd}").as_bytes(), O_CLOEXEC, 0));
    super::close(memfd);
    let ro = ro?;
    // SAFETY:
    // - dup3 changes only the descriptor table; touches no memory.
    let rc = super::check(unsafe { syscall6(DUP3, [ro as u64, fd as u64, cloexec, 0, 0, 0]) });
    super::close(ro);
    rc.map(|_| ())
}

/// `[start, end)` of a maps line or smaps header, if `line` is one.
fn range_of(line: &[u8]) -> Option<(u64, u64, usize)> {
    let token_end = line.iter().position(|&c| c == b' ')?;
    let token = std::str::from_utf8(&line[..token_end]).ok()?;
    let (a, b) = token.split_once('-')?;
    Some((
        u64::from_str_radix(a, 16).ok()?,
        u64::from_str_radix(b, 16).ok()?,
        token_end,
    ))
}

/// The text of a maps or smaps file with the runtime's ranges taken out;
/// `parts(start, end)` gives the guest's pieces of a range.
fn guest_view(text: &[u8], kind: MapFile, parts: &dyn Fn(u64, u64) -> Vec<(u64, u64)>) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    // In smaps: whether the lines of the current entry are kept.
    let mut keep = true;
    for line in text.split_inclusive(|&c| c == b'\n') {
        let Some((start, end, token_end)) = range_of(line) else {
            if keep {
                out.extend_from_slice(line);
            }
            continue;
        };
        let pieces = parts(start, end);
        match kind {
            MapFile::Smaps => {
                keep = !pieces.is_empty();
                if keep {
                    out.extend_from_slice(line);
                }
            }
            MapFile::Maps if pieces == [(start, end)] => out.extend_from_slice(line),
            MapFile::Maps => {
                for (s, e) in pieces {
                    cut_line(&mut out, line, token_end, start, s, e);
                }
            }
        }
    }
    out
}

/// Appends `line` (a maps line for a range starting at `start`) for its
/// piece `[s, e)`: the range replaced, and a file mapping's offset moved by
/// `s - start` (anonymous mappings, inode 0, keep theirs).
fn cut_line(out: &mut Vec<u8>, line: &[u8], token_end: usize, start: u64, s: u64, e: u64) {
    out.extend_from_slice(format!("{s:08x}-{e:08x}").as_bytes());
    let rest = &line[token_end..];
    // rest: " perms offset dev inode   path\n"
    let fields: Vec<&[u8]> = rest
        .split(|&c| c == b' ')
        .filter(|f| !f.is_empty())
        .collect();
    let offset = fields
        .get(1)
        .and_then(|f| std::str::from_utf8(f).ok())
        .and_then(|f| u64::from_str_radix(f, 16).ok());
    let inode = fields.get(3).map(|f| f.strip_suffix(b"\n").unwrap_or(f));
    match (offset, inode) {
        (Some(off), Some(inode)) if inode != b"0" => {
            let perms_end = 1 + fields[0].len();
            let offset_end = perms_end + 1 + fields[1].len();
            out.extend_from_slice(&rest[..perms_end + 1]);
            out.extend_from_slice(format!("{:08x}", off + (s - start)).as_bytes());
            out.extend_from_slice(&rest[offset_end..]);
        }
        _ => out.extend_from_slice(rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runtime owns [0x2000, 0x3000) and [0x8000, 0x9000).
    fn parts(start: u64, end: u64) -> Vec<(u64, u64)> {
        let mut s = super::super::owned::RangeSet::<4>::new();
        s.insert(0x2000, 0x3000);
        s.insert(0x8000, 0x9000);
        s.outside(start, end)
    }

    #[test]
    fn names_only_this_processes_map_files() {
        assert_eq!(map_file("/proc/42/maps", 42), Some(MapFile::Maps));
        assert_eq!(map_file("/proc/42/task/43/smaps", 42), Some(MapFile::Smaps));
        assert_eq!(map_file("/proc/41/maps", 42), None);
        assert_eq!(map_file("/proc/42/numa_maps", 42), None);
        assert_eq!(map_file("/home/x/maps", 42), None);
        assert_eq!(map_file("/proc/42/task/x/maps", 42), None);
    }

    #[test]
    fn maps_lines_are_cut_to_the_guests_parts() {
        let text = b"00001000-00004000 rw-p 00000000 00:00 0 \n\
00008000-00009000 r-xp 00000000 08:01 77 /opt/rt.so\n\
00010000-00012000 r--p 00000000 08:01 99                         /usr/lib/libc.so.6\n\
00001800-00003800 r--p 00001000 08:01 5 /bin/a b\n";
        let view = String::from_utf8(guest_view(text, MapFile::Maps, &parts)).unwrap();
        assert_eq!(
            view,
            "00001000-00002000 rw-p 00000000 00:00 0 \n\
00003000-00004000 rw-p 00000000 00:00 0 \n\
00010000-00012000 r--p 00000000 08:01 99                         /usr/lib/libc.so.6\n\
00001800-00002000 r--p 00001000 08:01 5 /bin/a b\n\
00003000-00003800 r--p 00002800 08:01 5 /bin/a b\n"
        );
    }

    #[test]
    fn smaps_entries_wholly_the_runtimes_are_dropped() {
        let text = b"00008000-00009000 r-xp 00000000 08:01 77 /opt/rt.so\n\
Size:                  4 kB\n\
VmFlags: rd ex\n\
00010000-00012000 r--p 00000000 08:01 99 /usr/lib/libc.so.6\n\
Size:                  8 kB\n\
VmFlags: rd\n";
        let view = String::from_utf8(guest_view(text, MapFile::Smaps, &parts)).unwrap();
        assert_eq!(
            view,
            "00010000-00012000 r--p 00000000 08:01 99 /usr/lib/libc.so.6\n\
Size:                  8 kB\n\
VmFlags: rd\n"
        );
    }
}
