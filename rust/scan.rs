//! Runs a scan: expand inputs, inspect files, plan units, scan them on a
//! rayon pool, merge.

use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rayon::prelude::*;

use crate::aggregate::{Damage, Hit, Partial};
use crate::detection::Detection;
use crate::error::{Error, Result};
use crate::event::ScanContext;
use crate::evtx::scan_evtx_unit;
use crate::input::{expand, Input, Planned};
use crate::output::{InputReport, ScanOutput};
use crate::progress::Progress;
use crate::source::{plan_units, Source, Unit};
use crate::stream::{scan_unit, ReadFailure, Scratch, UnitPosition};

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
    /// Render every EVTX record to XML (the full render path) instead of
    /// only those the binary candidate test cannot rule out.
    pub evtx_render_all: bool,
}

/// Big enough that a read's fixed cost vanishes; small enough to stay in L2/L3.
pub const DEFAULT_CHUNK_SIZE: usize = 1 << 20;
/// Big enough to amortize a unit's setup, small enough to balance cores.
pub const DEFAULT_SPLIT_SIZE: u64 = 32 << 20;

/// Scans `paths` for `detection`. Every file is opened and sniffed first,
/// so a missing or unreadable file fails the scan before any work is done.
/// Setting `cancel` makes the scan stop between chunks with
/// [`Error::Cancelled`].
pub fn scan(
    paths: &[PathBuf],
    detection: &Detection,
    options: &ScanOptions,
    cancel: &AtomicBool,
) -> Result<ScanOutput> {
    scan_inputs(paths.iter().cloned().map(Input::Path).collect(), detection, options, cancel)
}

/// [`scan`] over files, directories, `-` (stdin) and open streams.
pub fn scan_inputs(
    inputs: Vec<Input>,
    detection: &Detection,
    options: &ScanOptions,
    cancel: &AtomicBool,
) -> Result<ScanOutput> {
    catch_panics(|| scan_files(inputs, detection, options, cancel))
}

/// Runs `work`, turning a panic in it or in any worker it waits for into
/// [`Error::Panic`]. A panic is a bug, but it must reach the caller as an
/// error, never unwind into Python or abort the process.
pub fn catch_panics<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
    panic::catch_unwind(AssertUnwindSafe(work)).map_err(|payload| Error::Panic(panic_message(payload.as_ref())))?
}

/// Scans one unit of `source` (whose index among the scan's files is
/// `unit.file_index`) into a partial result, adding the bytes it reads to
/// `progress`. `chunk_size` 0 = the default. A damaged compressed stream
/// ends the unit: what came before it counts, and the partial result says
/// where and why it broke off.
pub fn scan_one_unit(
    context: &ScanContext<'_>,
    scratch: &mut Scratch,
    source: &Source,
    unit: &Unit,
    chunk_size: usize,
    progress: Option<&Arc<Progress>>,
    cancel: &AtomicBool,
) -> Result<Partial> {
    let chunk_size = if chunk_size == 0 { DEFAULT_CHUNK_SIZE } else { chunk_size };
    let mut partial = Partial::default();
    let result = if source.is_evtx() {
        scan_evtx_unit(context, scratch, source, unit, progress, cancel, &mut partial)
    } else if let Some(array) = source.json_array() {
        let reader = source.open_at(unit.start.saturating_sub(1), progress)?;
        let reading = crate::json::JsonReading { array, chunk_size };
        crate::json::scan_json_unit(context, scratch, reader, unit, reading, cancel, &mut partial)
    } else {
        let reader = source.open_at(unit.start, progress)?;
        let position = UnitPosition { file_index: unit.file_index, base: unit.start, owned_len: unit.owned_len };
        scan_unit(context, scratch, reader, position, chunk_size, cancel, &mut partial)
    };
    match result {
        Ok(()) => {}
        Err(ReadFailure::Cancelled) => return Err(Error::Cancelled),
        Err(ReadFailure::Failed(error)) => return Err(error),
        // Everything before the break was scanned: keep it, report the break.
        Err(ReadFailure::Io(error, offset)) if source.is_damage(&error) => {
            partial.damage.push(Damage { file_index: unit.file_index, offset, message: error.to_string() });
        }
        Err(ReadFailure::Io(error, offset)) => return Err(source.read_error(error, offset)),
    }
    Ok(partial)
}

fn scan_files(
    inputs: Vec<Input>,
    detection: &Detection,
    options: &ScanOptions,
    cancel: &AtomicBool,
) -> Result<ScanOutput> {
    let split_size = if options.split_size == 0 { DEFAULT_SPLIT_SIZE } else { options.split_size };
    let planned = expand(inputs)?;
    // Sources are the scanned inputs, numbered in order (skipped ones have no number).
    let sources: Vec<Source> = planned
        .iter()
        .filter_map(|entry| match entry {
            Planned::Scan(source) => Some(source.clone()),
            Planned::Skip { .. } => None,
        })
        .collect();
    let units = plan_units(&sources, split_size);
    if let Some(progress) = &options.progress {
        progress.set_total(sources.iter().map(|s| s.size).sum());
    }
    let compiled = detection.compile();
    let mut context = ScanContext::new(&compiled);
    if options.evtx_render_all {
        context.evtx_prefilter = None;
    }

    let run_unit = |scratch: &mut Scratch, unit: &Unit| -> Result<Partial> {
        let source = &sources[unit.file_index];
        scan_one_unit(&context, scratch, source, unit, options.chunk_size, options.progress.as_ref(), cancel)
    };

    // The hits are taken inside the pool, where their sort runs in parallel.
    let run_all_units = || -> Result<(Partial, Vec<Hit>)> {
        if options.threads == 1 || units.len() == 1 {
            let mut scratch = Scratch::new();
            let mut total = Partial::default();
            for unit in &units {
                total.merge(run_unit(&mut scratch, unit)?);
            }
            let hits = total.take_hits();
            return Ok((total, hits));
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
                .map(|mut merged| {
                    let hits = merged.take_hits();
                    (merged, hits)
                })
        })
    };
    let (merged, hits) = run_all_units()?;
    if let Some(progress) = &options.progress {
        progress.finish();
    }

    let inputs = planned
        .into_iter()
        .map(|entry| match entry {
            Planned::Scan(source) => InputReport::scanned(source.path.clone(), source.format.name(), source.bytes()),
            Planned::Skip { path, reason } => InputReport::skipped(path, reason),
        })
        .collect();
    ScanOutput::assemble(inputs, merged, hits)
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
