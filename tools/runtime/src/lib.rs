//! The hbgrind runtime, injected with LD_PRELOAD.
//!
//! Its constructor (an `.init_array` entry) decodes `HBGRIND_OPTIONS`, opens
//! the log sink, picks the tool, and hands the calling thread to the
//! translator with `dbi::take_over`: from that call's return on, the program
//! (starting with the rest of this constructor and ld.so's initialisation)
//! runs translated.
//!
//! The runtime shares the process and glibc with the program, so it never
//! uses glibc's allocator or stdio (ARCHITECTURE.md, decision 2): memory
//! comes from `alloc` (mmap based), output goes through raw `write(2)`.

mod alloc; // HbAlloc: the private mmap-based global allocator
mod cachegrind; // Cachegrind: Ir per line, simulated I1/D1/LL and branch predictor
mod client; // Request, Core: client requests (valgrind.h, helgrind.h, drd.h)
mod options; // Options: HBGRIND_OPTIONS decoded
mod race; // RaceTool: the default tool, hb-engine behind dbi's events
mod tools; // make(): none, inscount, cachegrind, race (helgrind, drd)
mod trace; // RawSubscriber: tracing to the log over raw writes

use crate::options::Options;

#[global_allocator]
static GLOBAL: alloc::HbAlloc = alloc::HbAlloc;

/// Our entry in the program's `.init_array`: ld.so calls it after glibc's own initialisation.
/// (Not in the crate's own unit-test binary, which must run natively.)
#[cfg(not(test))]
#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn() = hbgrind_init;

#[cfg_attr(test, allow(dead_code))]
extern "C" fn hbgrind_init() {
    let config = setup();
    // Everything from here on runs translated, including this function's
    // return into ld.so. Nothing may follow that touches the allocator: the
    // translated code would share its lock with the dispatcher.
    dbi::take_over(config);
}

/// Decodes the options and builds the translator's configuration; every
/// temporary is dropped before the takeover.
#[inline(never)]
fn setup() -> dbi::Config {
    // Before anything is opened: the runtime's descriptors go above the
    // limit the guest sees (dbi os/linux/fds.rs).
    dbi::reserve_fds();
    // The runtime library's own mappings join the ones dbi records as it
    // makes them: a guest munmap or mprotect over any of them fails.
    dbi::guard_runtime_image();
    let opts = match Options::from_environment() {
        Ok(o) => o,
        Err(msg) => {
            let _ = dbi::write_all(2, format!("hbgrind: {msg}\n").as_bytes());
            dbi::exit_group(1);
        }
    };
    let log = match opts.open_log() {
        Ok(log) => log,
        Err(msg) => {
            let _ = dbi::write_all(2, format!("hbgrind: {msg}\n").as_bytes());
            dbi::exit_group(1);
        }
    };
    std::panic::set_hook(Box::new(move |info| {
        let msg = format!("hbgrind: internal error: {info}");
        log.line(&msg);
        dbi::exit_group(125);
    }));
    if let Some(filter) = &opts.trace {
        trace::install(filter, log);
    }
    // So does a bad schedule file (before the tool's preamble).
    let schedule = match schedule(&opts) {
        Ok(s) => s,
        Err(e) => {
            let _ = dbi::write_all(2, format!("hbgrind: {e}\n").as_bytes());
            dbi::exit_group(1);
        }
    };
    // A bad suppression file or XML sink stops us before the program runs.
    let tool = match tools::make(&opts, log) {
        Ok(tool) => tool,
        Err(msg) => {
            let _ = dbi::write_all(2, format!("hbgrind: {msg}\n").as_bytes());
            dbi::exit_group(1);
        }
    };
    if opts.verbose {
        for option in &opts.no_effect {
            log.line(&format!(
                "hbgrind: option {option} has no effect (accepted for Valgrind compatibility)"
            ));
        }
        log.line(&format!("hbgrind: tool {}, taking over", tool.name()));
    }
    let skip_child = skip_child(&opts);
    dbi::Config {
        tool,
        log,
        trace_children: opts.trace_children,
        skip_child,
        preload_path: opts.preload_path,
        verbose: opts.verbose,
        schedule,
        smc_check: opts.smc_check,
        fork_lock: Some(dbi::ForkLock {
            acquire: alloc::lock_for_fork,
            release: alloc::unlock_after_fork,
        }),
    }
}

/// The schedule, with `--sched-replay`'s file read and `--sched-record`'s
/// opened (a bad one stops us before the program runs).
fn schedule(opts: &Options) -> Result<dbi::Schedule, dbi::ScheduleFileError> {
    let mut schedule = opts.schedule.clone();
    if let Some(path) = &opts.sched_replay {
        schedule.replay = Some(dbi::RecordedSchedule::load(path)?);
    }
    if let Some(path) = &opts.sched_record {
        schedule.record_fd = Some(dbi::create_schedule_record(path)?);
    }
    Ok(schedule)
}

/// `--trace-children-skip=P,...` (globs matched against the path given to
/// execve) and `--trace-children-skip-by-arg=P,...` (against each argv
/// entry), as Valgrind matches them: `*` and `?` also match `/`.
fn skip_child(opts: &Options) -> Option<dbi::SkipChild> {
    if opts.trace_children_skip.is_empty() && opts.trace_children_skip_by_arg.is_empty() {
        return None;
    }
    let by_path = opts.trace_children_skip.clone();
    let by_arg = opts.trace_children_skip_by_arg.clone();
    Some(Box::new(move |path: &[u8], argv: &[Vec<u8>]| {
        let path = String::from_utf8_lossy(path);
        by_path.iter().any(|p| hbgrind_report::glob_match(p, &path))
            || argv.iter().any(|arg| {
                let arg = String::from_utf8_lossy(arg);
                by_arg.iter().any(|p| hbgrind_report::glob_match(p, &arg))
            })
    }))
}
