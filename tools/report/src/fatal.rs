//! `FatalSignalInfo`: a process dying of a signal's default action, as
//! Valgrind describes it (`Process terminating with default action of
//! signal 11 (SIGSEGV)`, `Access not within mapped region at address 0x10`,
//! then the stack) in text and in XML's `<fatal_signal>`.

use crate::model::Stack;

/// The signal a process is dying of, and where a thread took it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FatalSignalInfo {
    pub signal: i32,
    /// `si_code`: what caused it (> 0: the kernel, for a fault its kind).
    pub code: i32,
    /// `si_addr` for faults.
    pub addr: u64,
    pub thread: u32,
    pub stack: Stack,
}

/// `SIGSEGV` for 11; `SIG<n>` for a number without a name.
pub fn signal_name(signal: i32) -> String {
    const NAMES: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    match usize::try_from(signal).ok().and_then(|i| NAMES.get(i)) {
        Some(name) if !name.is_empty() => (*name).to_string(),
        _ => format!("SIG{signal}"),
    }
}

/// True for a fault the kernel raised with an address (`si_addr`).
pub(crate) fn has_address(fatal: &FatalSignalInfo) -> bool {
    matches!(fatal.signal, 4 | 7 | 8 | 11) && fatal.code > 0
}

/// What the fault was, in Valgrind's words (`m_signals.c`), when the
/// kernel raised it.
pub(crate) fn event(fatal: &FatalSignalInfo) -> Option<&'static str> {
    if fatal.code <= 0 {
        return None;
    }
    Some(match (fatal.signal, fatal.code) {
        (11, 1) => "Access not within mapped region",
        (11, 2) => "Bad permissions for mapped region",
        (11, 128) => "General Protection Fault",
        (11, _) => "Invalid memory access",
        (7, 1) => "Invalid address alignment",
        (7, 2) => "Non-existent physical address",
        (7, 3) => "Hardware error",
        (7, _) => "Bus error",
        (4, 1) => "Illegal opcode",
        (4, 2) => "Illegal operand",
        (4, 3) => "Illegal addressing mode",
        (4, 4) => "Illegal trap",
        (4, 5) => "Privileged opcode",
        (4, 6) => "Privileged register",
        (4, 7) => "Coprocessor error",
        (4, 8) => "Internal stack error",
        (8, 1) => "Integer divide by zero",
        (8, 2) => "Integer overflow",
        (8, 3) => "FP divide by zero",
        (8, 4) => "FP overflow",
        (8, 5) => "FP underflow",
        (8, 6) => "FP inexact",
        (8, 7) => "FP invalid operation",
        (8, 8) => "FP subscript out of range",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_events() {
        assert_eq!(signal_name(11), "SIGSEGV");
        assert_eq!(signal_name(6), "SIGABRT");
        assert_eq!(signal_name(40), "SIG40");
        let f = FatalSignalInfo {
            signal: 11,
            code: 1,
            addr: 0x10,
            thread: 1,
            stack: Stack::default(),
        };
        assert_eq!(event(&f), Some("Access not within mapped region"));
        assert!(has_address(&f));
        let abort = FatalSignalInfo {
            signal: 6,
            code: -6,
            ..f
        };
        assert_eq!(event(&abort), None);
        assert!(!has_address(&abort));
    }
}
