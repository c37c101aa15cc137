//! The `Dispatcher`: the loop that picks the next block, translates on a
//! miss, links direct branches, and hands syscalls to the syscall layer.
//!
//! It runs on its own stack (mapped here, never the guest's), entered from
//! the takeover. Each `ThreadState::run` executes translated code until an
//! exit stub returns; the stub's `ExitInfo` says why (`arch::exit_kind`).

use crate::arch::{self, exit_kind, CapturedState, ThreadState};
use crate::code_cache::CodeCache;
use crate::os::linux::code_mem::read_u64_in;
use crate::os::linux::sigframe;
use crate::{Config, ExitStats, Interests};

/// The dispatcher of the one guest thread.
pub(crate) struct Dispatcher {
    pub(crate) ts: ThreadState,
    pub(crate) cache: CodeCache,
    pub(crate) config: Config,
    pub(crate) interests: Interests,
    pub(crate) modules: Vec<(u64, u64)>,
    /// The guest's signal actions (signal.rs).
    pub(crate) sigacts: [Option<crate::os::linux::sigframe::KernelSigaction>; 65],
    /// The guest's alternate signal stack (emulated): (ss_sp, ss_flags, ss_size).
    pub(crate) guest_altstack: (u64, u32, u64),
    /// Exits from the code cache, by `exit_kind`.
    pub(crate) exits: [u64; 6],
}

pub(crate) fn take_over(config: Config) {
    if !arch::has_osxsave() {
        config
            .log
            .line("hbgrind: this CPU or kernel lacks xsave; running natively");
        return;
    }
    let log = config.log;
    if let Err(e) = arch::take_over_with(Box::new(config), dispatcher_main) {
        log.line(&format!(
            "hbgrind: cannot take over ({e}); running natively"
        ));
    }
}

#[allow(clippy::boxed_local)] // the box crossed the stack switch as a raw pointer
fn dispatcher_main(captured: &CapturedState, config: Box<Config>) -> ! {
    let config = *config;
    let ts = match ThreadState::new(captured, arch::exit_common_addr()) {
        Ok(ts) => ts,
        Err(e) => {
            config.log.line(&format!(
                "hbgrind: internal error: cannot set up the thread block: {e}"
            ));
            crate::exit_group(125);
        }
    };
    let pc = captured.rip;
    let interests = config.tool.interests();
    tracing::debug!(
        pc = format_args!("{pc:#x}"),
        tool = config.tool.name(),
        "took over"
    );
    let threads = crate::os::linux::thread_count();
    if threads > 1 {
        config.log.line(&format!(
            "hbgrind: warning: {} thread(s) started before hbgrind took over; they run natively and are not analysed",
            threads - 1
        ));
    }
    let mut d = Dispatcher {
        ts,
        cache: CodeCache::new(),
        config,
        interests,
        modules: Vec::new(),
        exits: [0; 6],
        sigacts: [None; 65],
        guest_altstack: (0, 2, 0),
    };
    d.report_initial_modules();
    crate::signal::watch_fatal_signals(&mut d);
    d.run(pc)
}

impl Dispatcher {
    fn run(&mut self, mut pc: u64) -> ! {
        let mut link_from: Option<u64> = None;
        arch::register_signal_view(&self.cache);
        loop {
            if sigframe::any_pending() {
                pc = crate::signal::deliver_pending(self, pc);
                link_from = None;
            }
            let host = match self.cache.lookup(pc) {
                Some(b) => b.host,
                None => {
                    let b = match crate::translate::translate(
                        pc,
                        &mut self.cache,
                        &mut *self.config.tool,
                        &self.interests,
                    ) {
                        Ok(b) => b,
                        Err(e) => self.internal_error(pc, &e.to_string()),
                    };
                    self.ts.ibl_insert(pc, b.host);
                    tracing::trace!(
                        pc = format_args!("{pc:#x}"),
                        host = format_args!("{:#x}", b.host),
                        "translated"
                    );
                    b.host
                }
            };
            if let Some(info) = link_from.take() {
                arch::link_branch(self.cache.regions(), info, host);
            }
            sigframe::set_in_guest(true, 0);
            self.ts.run(host);
            sigframe::set_in_guest(false, 0);
            let info = self.ts.exit_info();
            if info == 0 {
                // A signal stopped the guest at a safe point (sigframe.rs).
                pc = sigframe::redirect_pc();
                continue;
            }
            let regions = self.cache.regions();
            let kind = read_u64_in(regions, info + arch::INFO_KIND);
            let target = read_u64_in(regions, info + arch::INFO_TARGET_PC);
            tracing::trace!(
                kind,
                target = format_args!("{target:#x}"),
                ind = format_args!("{:#x}", self.ts.ind_target()),
                "exit"
            );
            if let Some(n) = self.exits.get_mut(kind as usize) {
                *n += 1;
            }
            match kind {
                exit_kind::DIRECT => {
                    pc = target;
                    if read_u64_in(regions, info + arch::INFO_PATCH_SITE) != 0 {
                        link_from = Some(info);
                    }
                }
                exit_kind::INDIRECT => {
                    // A miss: the target may be translated but evicted from
                    // the direct-mapped table; put it back.
                    pc = self.ts.ind_target();
                    if let Some(b) = self.cache.lookup(pc) {
                        self.ts.ibl_insert(pc, b.host);
                    }
                }
                exit_kind::SYSCALL => {
                    pc = crate::syscall::handle(self, target - 2, target);
                }
                exit_kind::NATIVE => {
                    tracing::debug!(pc = format_args!("{target:#x}"), "running natively");
                    // The instruction raises a signal: run it at its guest pc
                    // so the kernel reports it there. Not yet: a guest handler
                    // for it then runs natively (signals issue).
                    sigframe::set_in_guest(true, target);
                    self.ts.run(target);
                    sigframe::set_in_guest(false, 0);
                    if self.ts.exit_info() == 0 {
                        // The instruction raised a signal the guest handles.
                        pc = sigframe::redirect_pc();
                        continue;
                    }
                    self.internal_error(target, "returned from native execution");
                }
                exit_kind::CODE_CHANGED => {
                    tracing::debug!(pc = format_args!("{target:#x}"), "guest code changed");
                    self.cache.forget(target);
                    pc = target;
                }
                exit_kind::USES_GS => {
                    self.config.log.line(&format!(
                        "hbgrind: the program uses the GS segment register (instruction at {target:#x}); \
                         hbgrind needs GS for itself and cannot run this program"
                    ));
                    crate::exit_group(1);
                }
                _ => self.internal_error(pc, &format!("unknown exit kind {kind}")),
            }
        }
    }

    /// Modules mapped before the takeover (the program, ld.so, libc...).
    fn report_initial_modules(&mut self) {
        for (start, len, path) in crate::os::linux::executable_mappings() {
            if self.interests.modules {
                self.config.tool.on_module_load(&crate::ModuleView {
                    path: &path,
                    start,
                    len,
                });
            }
            self.modules.push((start, len));
        }
    }

    /// The figures for the tool's exit report.
    pub(crate) fn exit_stats(&self, status: i32) -> ExitStats {
        let (instructions, memory_accesses) = self.ts.counts();
        ExitStats {
            instructions,
            memory_accesses,
            blocks_translated: self.cache.len() as u64,
            status,
        }
    }

    /// Drops translations of `[start, end)` if there are any.
    pub(crate) fn invalidate(&mut self, start: u64, end: u64) {
        if self.cache.overlaps(start, end) {
            self.cache.flush();
            self.ts.clear_ibl();
        }
    }

    pub(crate) fn internal_error(&mut self, pc: u64, what: &str) -> ! {
        self.config.log.line(&format!(
            "hbgrind: internal error at guest pc {pc:#x}: {what}"
        ));
        let stats = self.exit_stats(125);
        self.config.tool.on_exit(&stats, &self.config.log);
        crate::exit_group(125)
    }
}
