//! x86-64: decoding (iced-x86), emitting, entering and leaving the code cache.

mod context;
mod decode;
mod emit;
mod enter;
mod instrument;
mod record;
mod thread_block;

pub(crate) use self::context::{register_signal_view, ThreadState};
pub(crate) use self::decode::{decode_block, BlockEnd, MAX_BLOCK_INSNS};
pub(crate) use self::emit::{
    emit_block, exit_kind, native_exit_stub, BlockInstrumentation, EmitError, EmittedBlock,
    ExitInfo, SafePoint,
};
pub(crate) use self::enter::{
    current_xsave, exit_common_addr, has_lahf, has_osxsave, spawn_thread, take_over_with,
    xsave_component_offset, xsave_size, CapturedState, DISPATCH_STACK_LEN,
};
pub(crate) use self::instrument::plan_counters;
pub(crate) use self::record::{inline_filter_coverage, plan_records, vsib_accesses, RecordWants};
pub(crate) use self::thread_block::{reg, MAPPING_LEN as THREAD_BLOCK_LEN};

use crate::os::linux::code_mem::{read_u64_in, write_in, CodeRegion};

/// The most guest bytes one block spans.
pub(crate) const MAX_BLOCK_BYTES: u64 = MAX_BLOCK_INSNS as u64 * 15;
/// Offsets of `ExitInfo` fields.
pub(crate) const INFO_TARGET_PC: u64 = core::mem::offset_of!(ExitInfo, target_pc) as u64;
/// Where a HOOK or CLIENT_REQUEST exit resumes (the info's first field).
pub(crate) const INFO_RESUME: u64 = core::mem::offset_of!(ExitInfo, link_slot) as u64;
pub(crate) const INFO_KIND: u64 = core::mem::offset_of!(ExitInfo, kind) as u64;
pub(crate) const INFO_PATCH_SITE: u64 = core::mem::offset_of!(ExitInfo, patch_site) as u64;

/// Links the branch that left through the exit stub with info `info` to
/// `host`: its rel32 when `host` is in reach, else the stub's link slot.
pub(crate) fn link_branch(regions: &[CodeRegion], info: u64, host: u64) {
    let site = read_u64_in(regions, info + INFO_PATCH_SITE);
    if site == 0 {
        return;
    }
    let rel = host as i64 - (site as i64 + 4);
    if let Ok(rel) = i32::try_from(rel) {
        write_in(regions, site, &rel.to_le_bytes());
    } else {
        let link_slot = info + core::mem::offset_of!(ExitInfo, link_slot) as u64;
        write_in(regions, link_slot, &host.to_le_bytes());
        let stub = info - 32;
        let rel = (stub as i64 - (site as i64 + 4)) as i32;
        write_in(regions, site, &rel.to_le_bytes());
    }
}
