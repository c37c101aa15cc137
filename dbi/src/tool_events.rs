//! Handing the running thread's events to the tool: buffer flushes, hooked
//! calls and returns, client requests, new threads.
//!
//! All of it runs in the dispatcher of the thread that holds the big lock,
//! right after the thread left the code cache, so its buffer has just been
//! flushed: the tool sees every access before the event that follows it.

use crate::arch::{self, reg, ThreadState};
use crate::dispatch::Dispatcher;
use crate::events::PendingReturn;
use crate::{HookCall, MemAccess, ThreadNum};

/// `RUNNING_ON_VALGRIND`.
const VG_RUNNING_ON_VALGRIND: u64 = 0x1001;
/// `VALGRIND_DISCARD_TRANSLATIONS(addr, len)`.
const VG_DISCARD_TRANSLATIONS: u64 = 0x1002;

impl Dispatcher {
    /// Whether the tool wants the event buffer.
    fn records_events(&self) -> bool {
        self.interests.memory_accesses
            || self.interests.call_stacks
            || self.interests.profile != crate::Profile::Off
    }

    /// Gives `ts` its thread number and, if the tool records events, its buffer.
    pub(crate) fn adopt_thread(&mut self, ts: &mut ThreadState, num: ThreadNum) {
        ts.events = crate::events::ThreadEvents::new(num);
        if let Some(buf) = ts.memory.map(|m| m.events_buffer).filter(|&b| b != 0) {
            ts.events.reuse_buffer(buf);
        }
        if self.records_events() {
            match ts.events.map_buffer() {
                Ok(start) => ts.set_buf_ptr(start),
                Err(e) => {
                    self.config.log.line(&format!(
                        "hbgrind: internal error: no memory for thread {num}'s event buffer: {e}"
                    ));
                    crate::exit_group(125);
                }
            }
        }
    }

    /// Delivers the running thread's buffered records to the tool.
    pub(crate) fn flush_events(&mut self) {
        if !self.records_events() {
            return;
        }
        if !self.ts.events.pending.is_empty() {
            // A longjmp or an exception may have left a hooked call.
            let rsp = self.ts.gpr(reg::RSP);
            self.ts.events.drop_stale_pending(rsp);
        }
        let end = self.ts.buf_ptr();
        if end > self.ts.events.buffer_start() {
            self.flushed.0 += 1;
            self.flushed.1 += (end - self.ts.events.buffer_start()) / 16;
        }
        let start = if self.interests.profile == crate::Profile::Off {
            self.ts
                .events
                .flush(end, &self.sites, &mut *self.config.tool)
        } else {
            self.ts
                .events
                .flush_profile(end, &self.sites, &mut *self.config.tool)
        };
        self.ts.set_buf_ptr(start);
        // Whatever the tool does next, and other threads meanwhile, ends
        // the repeat filter's epoch (arch/x86_64/record.rs). A full buffer
        // is the one exit after which the thread goes straight back into
        // the cache, with no tool event and holding the big lock: there the
        // epoch goes on unless the flush itself synchronised.
        if self.exit_kind() == Some(arch::exit_kind::BUF_FULL)
            && !self.config.tool.accesses_synchronised()
        {
            self.ts.keep_memo_epoch();
        } else {
            self.ts.end_memo_epoch();
        }
    }

    /// Whether an indirect branch to `pc` must leave the cache for now
    /// (a hooked call of this thread returns there).
    pub(crate) fn return_watched(&self, pc: u64) -> bool {
        self.ts.events.pending.iter().any(|p| p.ret_addr == pc)
    }

    /// The thread entered the hooked function at `pc`.
    pub(crate) fn enter_hook(&mut self, pc: u64) {
        let Some(hook) = self.hooks.at(pc) else {
            return;
        };
        let rsp = self.ts.gpr(reg::RSP);
        self.ts.events.drop_stale_pending(rsp);
        let mut ret = [0u8; 8];
        let ret_addr = if crate::read_guest(rsp, &mut ret) {
            u64::from_le_bytes(ret)
        } else {
            0
        };
        let call = HookCall {
            thread: self.ts.events.num,
            hook,
            function: pc,
            args: [
                self.ts.gpr(reg::RDI),
                self.ts.gpr(reg::RSI),
                self.ts.gpr(reg::RDX),
                self.ts.gpr(reg::RCX),
                self.ts.gpr(reg::R8),
                self.ts.gpr(reg::R9),
            ],
            stack: self.ts.events.stack_id(),
            sp: rsp,
        };
        tracing::debug!(
            thread = call.thread,
            function = %self.hooks.requests[hook].symbol,
            args = ?call.args,
            "hook entry"
        );
        self.config.tool.on_hook_entry(&call);
        self.add_new_hooks();
        let request = &self.hooks.requests[hook];
        if (request.exit || request.quiet || request.atomic) && ret_addr != 0 {
            self.ts.events.pending.push(PendingReturn {
                call,
                ret_addr,
                rsp_after: rsp.wrapping_add(8),
                quiet: request.quiet,
                atomic: request.atomic && !request.quiet,
                exit: request.exit,
            });
            self.ts.ibl_remove(ret_addr);
        }
    }

    /// Hooks the functions the tool asked for since the last hook call. A
    /// translation already made at one of them is dropped before the next
    /// block runs (not now: the thread resumes inside its current block).
    fn add_new_hooks(&mut self) {
        for (addr, hook) in self.config.tool.new_hooks() {
            if hook >= self.hooks.requests.len() || !self.hooks.add(addr, hook) {
                continue;
            }
            if self.cache.overlaps(addr, addr.saturating_add(1)) {
                self.flush_pending = true;
            }
        }
    }

    /// The gather or scatter at `pc` is about to run: hands its element
    /// accesses to the tool (the buffer before it was just flushed).
    pub(crate) fn vsib_accesses(&mut self, pc: u64) {
        let ts = &self.ts;
        let lanes = crate::arch::vsib_accesses(pc, &|n| ts.gpr(n), &|n| ts.vector_register(n));
        tracing::trace!(pc = format_args!("{pc:#x}"), ?lanes, "gather/scatter");
        if lanes.is_empty() || self.ts.events.quiet() {
            return;
        }
        let stack = self.ts.events.stack_id();
        let accesses: Vec<MemAccess> = lanes
            .into_iter()
            .map(|(addr, size, kind)| MemAccess {
                addr,
                size,
                kind,
                atomic: false,
                spin_read: false,
                pc,
                stack,
            })
            .collect();
        let num = self.ts.events.num;
        self.config.tool.on_accesses(num, &accesses);
    }

    /// An indirect branch reached `pc`: the return of a hooked call?
    pub(crate) fn check_hooked_return(&mut self, pc: u64) {
        if self.ts.events.pending.is_empty() {
            return;
        }
        let rsp = self.ts.gpr(reg::RSP);
        self.ts.events.drop_stale_pending(rsp);
        // Hooked functions that tail-jump into other hooked ones (QEMU's
        // qemu_rec_mutex_lock_impl -> qemu_mutex_lock_impl ->
        // pthread_mutex_lock) share one return: it ends all of them,
        // innermost first.
        while let Some(p) = self.ts.events.pending.last().copied() {
            if p.ret_addr != pc || p.rsp_after != rsp {
                return;
            }
            self.ts.events.pending.pop();
            tracing::debug!(
                thread = p.call.thread,
                function = %self.hooks.requests[p.call.hook].symbol,
                ret = self.ts.gpr(reg::RAX),
                "hook exit"
            );
            if p.exit {
                let ret = self.ts.gpr(reg::RAX);
                self.config.tool.on_hook_exit(&p.call, ret);
                self.add_new_hooks();
            }
        }
    }

    /// A client request at `pc`: the guest's rax points at six words (the
    /// request code and five arguments), rdx holds the default result,
    /// which the answer replaces.
    pub(crate) fn client_request(&mut self, pc: u64) {
        let at = self.ts.gpr(reg::RAX);
        let mut raw = [0u8; 48];
        if !crate::read_guest(at, &mut raw) {
            return;
        }
        let mut args = [0u64; 6];
        for (i, a) in args.iter_mut().enumerate() {
            *a = u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        }
        let answer = match args[0] {
            VG_RUNNING_ON_VALGRIND => Some(1),
            VG_DISCARD_TRANSLATIONS => {
                self.invalidate(args[1], args[1].saturating_add(args[2]));
                Some(0)
            }
            _ if self.interests.client_requests => {
                let thread = self.ts.events.num;
                let stack = self.ts.events.stack_id();
                self.config.tool.on_client_request(thread, &args, pc, stack)
            }
            _ => None,
        };
        if let Some(v) = answer {
            self.ts.set_gpr(reg::RDX, v);
        }
    }
}
