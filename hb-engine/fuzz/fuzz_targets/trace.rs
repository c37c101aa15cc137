//! Any text, parsed as a trace and, if it parses, replayed into the engine:
//! neither may panic. Run briefly (not in CI):
//! `cd hb-engine/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run trace -- -max_total_time=120`.
#![no_main]

use hb_engine::trace::{parse, replay};
use hb_engine::{Engine, EngineConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(events) = parse(&text) {
        for printed in events.iter().map(|(_, e)| e.to_string()) {
            let again = hb_engine::trace::parse_line(&printed).expect("printed events parse");
            assert!(again.is_some());
        }
        let mut engine = Engine::new(EngineConfig { report_every_conflict: true });
        let _ = replay(&mut engine, &events);
        let _ = engine.take_reports();
    }
});
