//! The hbgrind runtime, injected with LD_PRELOAD.
