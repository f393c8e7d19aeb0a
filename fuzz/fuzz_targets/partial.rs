//! Partial results read back from bytes (what cluster workers send): any
//! bytes give a partial result or an error, never a panic or a huge
//! allocation; one that decodes survives a round trip unchanged, and merges
//! and finishes without panicking.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sysmon_hunt::{Hit, MalformedEvent, Partial};
use sysmon_hunt::distributed::{finish, partial_from_bytes, partial_to_bytes, PlannedFile, WHOLE_FILE};
use sysmon_hunt::Detection;

/// The version line serialized partials start with: inputs are the body
/// after it, so that the fuzzer spends its time in the decoder.
fn header() -> &'static [u8] {
    static HEADER: OnceLock<Vec<u8>> = OnceLock::new();
    HEADER.get_or_init(|| {
        let bytes = partial_to_bytes(&Partial::default());
        let line_end = bytes.iter().position(|&b| b == b'\n').expect("a version line");
        bytes[..=line_end].to_vec()
    })
}

fn contents(partial: &Partial) -> (u64, u64, Vec<MalformedEvent>, Vec<Hit>) {
    (partial.events, partial.malformed, partial.examples.clone(), partial.clone().into_hits())
}

fuzz_target!(|body: &[u8]| {
    let Ok(partial) = partial_from_bytes(&[header(), body].concat()) else { return };
    let again = partial_from_bytes(&partial_to_bytes(&partial)).expect("a partial result read back is written back readable");
    assert_eq!(contents(&again), contents(&partial));

    let mut merged = Partial::default();
    merged.merge(partial);
    merged.merge(again);
    let plan: Vec<PlannedFile> = (0..4u64)
        .map(|size| PlannedFile { path: "f".into(), size, ranges: vec![(0, WHOLE_FILE)], format: Some("xml".into()), skipped: None })
        .collect();
    let _ = finish(merged, &plan, &Detection::telegram_downloads());
});
