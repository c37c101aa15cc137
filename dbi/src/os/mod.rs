//! Everything that depends on the operating system. Generic code uses only these.
#[cfg(target_os = "linux")]
pub(crate) mod linux;

#[cfg(not(target_os = "linux"))]
compile_error!("the translator targets Linux only");
