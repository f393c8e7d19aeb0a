//! Partial results read back from bytes (what cluster workers send): any
//! bytes give a partial result or an error, never a panic or a huge
//! allocation; one that decodes survives a round trip unchanged, and merges
//! and finishes without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysmon_hunt::aggregate::{Hit, MalformedEvent, Partial};
use sysmon_hunt::distributed::{finish, partial_from_bytes, partial_to_bytes};
use sysmon_hunt::Detection;

/// The version line serialized partials start with: inputs are the body
/// after it, so that the fuzzer spends its time in the decoder.
const HEADER: &[u8] = b"sysmon-hunt partial v1\n";

fn contents(partial: &Partial) -> (u64, u64, Vec<MalformedEvent>, Vec<Hit>) {
    (partial.events, partial.malformed, partial.examples.clone(), partial.clone().into_hits())
}

fuzz_target!(|body: &[u8]| {
    assert!(partial_to_bytes(&Partial::default()).starts_with(HEADER), "the version line changed");
    let Ok(partial) = partial_from_bytes(&[HEADER, body].concat()) else { return };
    let again = partial_from_bytes(&partial_to_bytes(&partial)).expect("a partial result read back is written back readable");
    assert_eq!(contents(&again), contents(&partial));

    let mut merged = Partial::default();
    merged.merge(partial);
    merged.merge(again);
    let _ = finish(merged, &[0, 1, 2, 3], &Detection::telegram_downloads());
});
