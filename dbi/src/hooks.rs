//! Function hooks by symbol (decision 12a).
//!
//! A tool names the functions it wants ([`crate::Tool::hooks`]); each
//! module mapped executable is searched (its ELF `.dynsym` and `.symtab`)
//! for defined functions of those names, whatever their symbol version, and
//! their run-time entry addresses are remembered. Translation puts a `HOOK`
//! exit at the head of a block starting at such an address; the dispatcher
//! then calls the tool with the arguments, and, when the tool wants the
//! exit or the call is quiet, waits for the return to the caller (an
//! indirect-branch miss at the return address with the stack pointer just
//! above the entry's), which it forces by keeping the return address out of
//! the thread's indirect-branch table meanwhile.
//!
//! # Invariants
//! - `by_addr` holds only addresses inside modules currently mapped.
//! - An IFUNC symbol's address is its resolver, so it is not hooked.

use std::collections::HashMap;

use object::{Object, ObjectSymbol, SymbolKind};

use crate::HookRequest;

/// The tool's hook requests and where they are in the process.
#[derive(Default)]
pub(crate) struct Hooks {
    pub(crate) requests: Vec<HookRequest>,
    by_name: HashMap<String, usize>,
    by_addr: HashMap<u64, usize>,
}

impl Hooks {
    pub(crate) fn new(requests: Vec<HookRequest>) -> Hooks {
        let by_name = requests
            .iter()
            .enumerate()
            .map(|(i, r)| (r.symbol.clone(), i))
            .collect();
        Hooks {
            requests,
            by_name,
            by_addr: HashMap::new(),
        }
    }

    /// The hook whose function starts at `pc`.
    pub(crate) fn at(&self, pc: u64) -> Option<usize> {
        if self.by_addr.is_empty() {
            return None;
        }
        self.by_addr.get(&pc).copied()
    }

    /// Looks for the requested functions in the ELF file at `path`, mapped
    /// with `bias`; returns how many entries were found.
    pub(crate) fn scan_module(&mut self, path: &str, bias: u64) -> usize {
        if self.requests.is_empty() || path.is_empty() {
            return 0;
        }
        let data = crate::os::linux::read_file(path.as_bytes());
        let Ok(file) = object::File::parse(&*data) else {
            return 0;
        };
        let mut found = 0;
        for sym in file.dynamic_symbols().chain(file.symbols()) {
            if sym.kind() != SymbolKind::Text || !sym.is_definition() || sym.address() == 0 {
                continue;
            }
            if let object::SymbolFlags::Elf { st_info, .. } = sym.flags() {
                const STT_GNU_IFUNC: u8 = 10;
                if st_info & 0xf == STT_GNU_IFUNC {
                    continue;
                }
            }
            let Ok(name) = sym.name() else { continue };
            let name = name.split('@').next().unwrap_or(name);
            if let Some(&hook) = self.by_name.get(name) {
                let addr = bias.wrapping_add(sym.address());
                if self.by_addr.insert(addr, hook).is_none() {
                    found += 1;
                    tracing::debug!(name, addr = format_args!("{addr:#x}"), path, "hooked");
                }
            }
        }
        found
    }

    /// Hooks the function at `addr` for request `hook` (known at run time,
    /// not by symbol); false if it was hooked already.
    pub(crate) fn add(&mut self, addr: u64, hook: usize) -> bool {
        self.by_addr.insert(addr, hook).is_none()
    }

    /// Forgets hooked entries in `[start, start + len)` (a module unmapped).
    pub(crate) fn forget_range(&mut self, start: u64, len: u64) {
        let end = start.saturating_add(len);
        self.by_addr.retain(|&a, _| a < start || a >= end);
    }
}
