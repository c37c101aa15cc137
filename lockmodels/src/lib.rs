//! lockmodels: which functions synchronise, and how.
#![forbid(unsafe_code)]
