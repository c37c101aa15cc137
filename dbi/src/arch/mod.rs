//! Everything that depends on the instruction set. Generic code uses only these.
#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub(crate) use self::x86_64::{
    current_xsave, decode_block, emit_block, exit_common_addr, exit_kind, has_lahf, has_osxsave,
    inline_filter_coverage, link_branch, native_exit_stub, plan_counters, plan_records, reg,
    register_signal_view, spawn_thread, take_over_with, vsib_accesses, xsave_component_offset,
    xsave_size, BlockEnd, BlockInstrumentation, CapturedState, EmitError, EmittedBlock,
    RecordWants, SafePoint, ThreadState, DISPATCH_STACK_LEN, INFO_KIND, INFO_PATCH_SITE,
    INFO_RESUME, INFO_TARGET_PC, MAX_BLOCK_BYTES, THREAD_BLOCK_LEN,
};
#[cfg(not(target_arch = "x86_64"))]
compile_error!("the translator targets x86-64 only");
