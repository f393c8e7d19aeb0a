//! The whole scan of a file holding any bytes: sniffing (gzip, BOMs, UTF-16,
//! EVTX), decoding, framing, parsing, matching and merging. Scanned on one
//! thread in large reads and on a pool in tiny reads and units, it gives the
//! same output or the same kind of error, and never panics.
#![no_main]

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sysmon_hunt::{scan, Detection, Error, ScanOptions};

/// The file each input is written to: in memory where possible.
fn scratch_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let shm = PathBuf::from("/dev/shm");
        let dir = if shm.is_dir() { shm } else { std::env::temp_dir() };
        dir.join(format!("sysmon-hunt-fuzz-{}.log", std::process::id()))
    })
}

fuzz_target!(|input: &[u8]| {
    let path = scratch_path();
    std::fs::write(path, input).expect("cannot write the scratch file");
    let paths = [path.clone()];
    let detection = Detection::telegram_downloads();
    let cancel = AtomicBool::new(false);
    let whole = scan(&paths, &detection, &ScanOptions { threads: 1, ..ScanOptions::default() }, &cancel);
    let pieces = scan(&paths, &detection, &ScanOptions { threads: 2, chunk_size: 7, split_size: 61, ..ScanOptions::default() }, &cancel);
    match (whole, pieces) {
        (Ok(a), Ok(b)) => {
            assert_eq!((a.files, a.bytes), (1, input.len() as u64));
            assert_eq!(a.hits, b.hits);
            assert_eq!((a.events, a.malformed), (b.events, b.malformed));
            assert_eq!(a.malformed_examples, b.malformed_examples);
        }
        (Err(a), Err(b)) => {
            // A panic is caught and returned as an error; here it is a crash.
            assert!(!matches!(a, Error::Panic(_)) && !matches!(b, Error::Panic(_)), "{a} / {b}");
            assert_eq!(std::mem::discriminant(&a), std::mem::discriminant(&b), "{a} / {b}");
        }
        (a, b) => panic!("one scan failed and the other did not: {a:?} / {b:?}"),
    }
});
