//! The strict event parser on any bytes: it never panics, and the cache of
//! start tags it has already checked (kept across events) never changes its
//! verdict or the values it reads.
#![no_main]

use std::cell::RefCell;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sysmon_hunt::pieces::CompiledDetection;
use sysmon_hunt::pieces::{parse_event, EventValues, FieldTable};
use sysmon_hunt::Detection;

fn compiled() -> &'static CompiledDetection {
    static COMPILED: OnceLock<CompiledDetection> = OnceLock::new();
    COMPILED.get_or_init(|| Detection::telegram_downloads().compile())
}

thread_local! {
    /// Scratch warmed by every input so far, as a worker's is.
    static WARM: RefCell<EventValues> = RefCell::new(EventValues::default());
}

fn values(parsed: &EventValues, slots: usize) -> Vec<Option<String>> {
    (0..slots).map(|slot| parsed.get(slot).map(str::to_string)).collect()
}

fuzz_target!(|event: &[u8]| {
    let compiled = compiled();
    let table = FieldTable::new(&compiled.fields);
    let slots = compiled.fields.len();

    let mut fresh = EventValues::default();
    let verdict = parse_event(event, &table, &mut fresh);
    WARM.with(|warm| {
        let warm = &mut *warm.borrow_mut();
        assert_eq!(parse_event(event, &table, warm), verdict);
        if verdict.is_ok() {
            assert_eq!(values(warm, slots), values(&fresh, slots));
        }
    });
    if verdict.is_ok() {
        // A well-formed event is judged without panicking too.
        let _ = compiled.judge(&fresh);
    }
});
