//! Runs a scan: inspect files, plan units, scan them on a rayon pool, merge.

use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rayon::prelude::*;

use crate::aggregate::{Hit, MalformedEvent, Partial};
use crate::detection::Detection;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::source::{plan_units, Source, Unit};
use crate::stream::{scan_unit, Matcher, ReadFailure, Scratch, UnitPosition};

/// How to scan. `Default` is what users want; the sizes exist for tuning and
/// for tests that force events across every boundary.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    /// Worker threads; 0 = one per core, 1 = scan on the calling thread.
    pub threads: usize,
    /// Bytes asked of each read; 0 = 1 MiB.
    pub chunk_size: usize,
    /// Bytes per parallel unit of a plain file; 0 = 32 MiB.
    pub split_size: u64,
    /// Where to count the bytes read, for a progress display.
    pub progress: Option<Arc<Progress>>,
}

/// Big enough that a read's fixed cost vanishes; small enough to stay in L2/L3.
pub const DEFAULT_CHUNK_SIZE: usize = 1 << 20;
/// Big enough to amortize a unit's setup, small enough to balance cores.
pub const DEFAULT_SPLIT_SIZE: u64 = 32 << 20;

#[derive(Debug)]
pub struct ScanOutput {
    pub hits: Vec<Hit>,
    pub files: usize,
    pub bytes: u64,
    pub events: u64,
    pub malformed: u64,
    /// The first few malformed events, by (file, offset).
    pub malformed_examples: Vec<MalformedEvent>,
}

/// Scans `paths` for `detection`. Every file is opened and sniffed first,
/// so a missing or unreadable file fails the scan before any work is done.
/// Setting `cancel` makes the scan stop between chunks with
/// [`Error::Cancelled`].
pub fn scan(paths: &[PathBuf], detection: &Detection, options: &ScanOptions, cancel: &AtomicBool) -> Result<ScanOutput> {
    catch_panics(|| scan_files(paths, detection, options, cancel))
}

/// Runs `work`, turning a panic in it or in any worker it waits for into
/// [`Error::Panic`]. A panic is a bug, but it must reach the caller as an
/// error, never unwind into Python or abort the process.
pub fn catch_panics<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
    panic::catch_unwind(AssertUnwindSafe(work)).map_err(|payload| Error::Panic(panic_message(payload.as_ref())))?
}

/// Opens and sniffs every input, then cuts them into units of at most
/// `split_size` bytes where the encoding allows (0 = the default size).
pub fn plan(paths: &[PathBuf], split_size: u64) -> Result<(Vec<Source>, Vec<Unit>)> {
    let split_size = if split_size == 0 { DEFAULT_SPLIT_SIZE } else { split_size };
    let sources = paths.iter().map(|p| Source::inspect(p)).collect::<Result<Vec<_>>>()?;
    let units = plan_units(&sources, split_size);
    Ok((sources, units))
}

/// Scans one unit of `source` (whose index among the scan's files is
/// `unit.file_index`) into a partial result, adding the bytes it reads to
/// `progress`. `chunk_size` 0 = the default.
pub fn scan_one_unit(
    matcher: &Matcher<'_>,
    scratch: &mut Scratch,
    source: &Source,
    unit: &Unit,
    chunk_size: usize,
    progress: Option<&Arc<Progress>>,
    cancel: &AtomicBool,
) -> Result<Partial> {
    let chunk_size = if chunk_size == 0 { DEFAULT_CHUNK_SIZE } else { chunk_size };
    let reader = source.open_at(unit.start, progress)?;
    let position = UnitPosition { file_index: unit.file_index, base: unit.start, owned_len: unit.owned_len };
    let mut partial = Partial::default();
    scan_unit(matcher, scratch, reader, position, chunk_size, cancel, &mut partial).map_err(|failure| match failure {
        ReadFailure::Io(error, offset) => source.read_error(error, offset),
        ReadFailure::Cancelled => Error::Cancelled,
    })?;
    Ok(partial)
}

impl ScanOutput {
    /// The output of a scan of `files` inputs, `bytes` on disk in all, whose
    /// units' partial results were merged into `merged`.
    pub fn from_partial(files: usize, bytes: u64, merged: Partial) -> Self {
        ScanOutput {
            files,
            bytes,
            events: merged.events,
            malformed: merged.malformed,
            malformed_examples: merged.examples.clone(),
            hits: merged.into_hits(),
        }
    }
}

fn scan_files(paths: &[PathBuf], detection: &Detection, options: &ScanOptions, cancel: &AtomicBool) -> Result<ScanOutput> {
    let (sources, units) = plan(paths, options.split_size)?;
    let total_bytes = sources.iter().map(|s| s.size).sum();
    if let Some(progress) = &options.progress {
        progress.set_total(total_bytes);
    }
    let compiled = detection.compile();
    let matcher = Matcher::new(&compiled);

    let run_unit = |scratch: &mut Scratch, unit: &Unit| -> Result<Partial> {
        let source = &sources[unit.file_index];
        scan_one_unit(&matcher, scratch, source, unit, options.chunk_size, options.progress.as_ref(), cancel)
    };

    let run_all_units = || -> Result<Partial> {
        if options.threads == 1 || units.len() == 1 {
            let mut scratch = Scratch::new();
            let mut total = Partial::default();
            for unit in &units {
                total.merge(run_unit(&mut scratch, unit)?);
            }
            return Ok(total);
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(options.threads)
            .build()
            .map_err(|e| Error::InvalidOption(format!("cannot start {} threads: {e}", options.threads)))?;
        pool.install(|| {
            units
                .par_iter()
                .map_init(Scratch::new, |scratch, unit| {
                    // Stop handing out new units once anything failed or was cancelled.
                    if cancel.load(Ordering::Relaxed) {
                        return Err(Error::Cancelled);
                    }
                    run_unit(scratch, unit)
                })
                .try_reduce(Partial::default, |mut a, b| {
                    a.merge(b);
                    Ok(a)
                })
        })
    };
    let merged = run_all_units()?;
    if let Some(progress) = &options.progress {
        progress.finish();
    }
    Ok(ScanOutput::from_partial(sources.len(), total_bytes, merged))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_on_the_calling_thread_is_an_error() {
        let result: Result<()> = catch_panics(|| panic!("bad state {}", 7));
        assert!(matches!(result, Err(Error::Panic(ref m)) if m == "bad state 7"), "{result:?}");
    }

    #[test]
    fn a_panic_in_a_pool_worker_is_an_error_on_the_caller() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let result: Result<u64> = catch_panics(|| {
            Ok(pool.install(|| {
                (0..1000u64).into_par_iter().map(|i| if i == 577 { panic!("worker {i}") } else { i }).sum()
            }))
        });
        assert!(matches!(result, Err(Error::Panic(ref m)) if m == "worker 577"), "{result:?}");
        // The pool survives: the next job runs.
        assert_eq!(pool.install(|| (0..10u64).into_par_iter().sum::<u64>()), 45);
    }
}
