//! `hbgrind analyze TRACE`: replays an event trace into hb-engine.

use std::ffi::OsString;
use std::process::ExitCode;

pub(crate) fn main(_args: &[OsString]) -> anyhow::Result<ExitCode> {
    anyhow::bail!("analyze is not implemented yet")
}
