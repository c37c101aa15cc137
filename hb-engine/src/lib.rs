//! hb-engine: happens-before race detection over an abstract event stream.
#![forbid(unsafe_code)]
