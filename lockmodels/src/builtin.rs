//! The model files shipped in `lockmodels/models/`, embedded in the binary
//! so an installed hbgrind needs no data directory.

use std::sync::OnceLock;

use crate::LockModel;

/// `(file name, text)` of every shipped model, in load order.
pub static BUILTIN_MODELS: &[(&str, &str)] = &[
    ("pthread.model", include_str!("../models/pthread.model")),
    ("glib.model", include_str!("../models/glib.model")),
    ("qemu.model", include_str!("../models/qemu.model")),
];

/// The shipped models, parsed once.
pub fn builtin_models() -> &'static [LockModel] {
    static MODELS: OnceLock<Vec<LockModel>> = OnceLock::new();
    MODELS.get_or_init(|| {
        BUILTIN_MODELS
            .iter()
            .map(|(name, text)| {
                // The tests parse every shipped file (tests/model_files.rs).
                LockModel::parse(name, text).expect("a shipped model file parses")
            })
            .collect()
    })
}

/// The POSIX threads model (`models/pthread.model`).
pub fn pthread() -> &'static LockModel {
    &builtin_models()[0]
}
