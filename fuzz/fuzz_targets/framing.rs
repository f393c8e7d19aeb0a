//! Framing and streaming: the event starts found in any bytes are exactly
//! those of the framing rule read naively, and what a unit scan reports
//! (events, malformed events and where, hits) does not depend on how the
//! bytes are read (chunk sizes) or split into units.
#![no_main]

use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sysmon_hunt::Partial;
use sysmon_hunt::pieces::CompiledDetection;
use sysmon_hunt::pieces::{count_starts, is_start_delimiter};
use sysmon_hunt::pieces::ScanContext;
use sysmon_hunt::pieces::{scan_unit, Scratch, UnitPosition};
use sysmon_hunt::Detection;

fn matcher() -> &'static ScanContext<'static> {
    static MATCHER: OnceLock<ScanContext<'static>> = OnceLock::new();
    MATCHER.get_or_init(|| {
        let compiled: &'static CompiledDetection = Box::leak(Box::new(Detection::telegram_downloads().compile()));
        ScanContext::new(compiled)
    })
}

/// Every `<Event` followed by white space, `>` or `/`, by brute force.
fn naive_starts(input: &[u8]) -> usize {
    (0..input.len())
        .filter(|&i| input[i..].starts_with(b"<Event") && input.get(i + 6).is_some_and(|&b| is_start_delimiter(b)))
        .count()
}

/// Scans `input` cut into units of `split` bytes (each read `chunk` bytes
/// at a time, as a worker reads a file range) and merges their results.
fn scan_split(input: &[u8], chunk: usize, split: usize) -> Partial {
    let cancel = AtomicBool::new(false);
    let mut total = Partial::default();
    let mut scratch = Scratch::new();
    for base in (0..input.len().max(1)).step_by(split) {
        let position = UnitPosition { file_index: 0, base: base as u64, owned_len: split as u64 };
        let mut partial = Partial::default();
        let reader = &input[base.min(input.len())..];
        assert!(scan_unit(matcher(), &mut scratch, reader, position, chunk, &cancel, &mut partial).is_ok());
        total.merge(partial);
    }
    total
}

fuzz_target!(|input: &[u8]| {
    let starts = naive_starts(input);
    assert_eq!(count_starts(input), starts);

    let whole = scan_split(input, 1 << 20, usize::MAX);
    assert_eq!(whole.events, starts as u64);
    let expected = (whole.events, whole.malformed, whole.examples.clone(), whole.into_hits());
    for (chunk, split) in [(1, usize::MAX), (3, 5), (64, 97), (7, 1)] {
        let pieces = scan_split(input, chunk, split);
        let got = (pieces.events, pieces.malformed, pieces.examples.clone(), pieces.into_hits());
        assert_eq!(got, expected, "chunk {chunk}, split {split}");
    }
});
