//! Launching a program under the runtime.

use std::ffi::OsString;
use std::process::ExitCode;

pub(crate) fn main(_args: &[OsString]) -> anyhow::Result<ExitCode> {
    anyhow::bail!("running programs is not implemented yet")
}
