//! dbi: the binary translator and the instrumentation API.
