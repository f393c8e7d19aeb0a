//! Runs a scan: expand inputs, inspect files, plan units, scan them on a
//! rayon pool, merge.

use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rayon::prelude::*;

use crate::aggregate::{Damage, Hit, MalformedEvent, Partial};
use crate::detection::Detection;
use crate::error::{Error, Result};
use crate::evtx::scan_evtx_unit;
use crate::input::{expand, Input, Planned};
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
    /// Files (and streams) scanned.
    pub files: usize,
    pub bytes: u64,
    pub events: u64,
    pub malformed: u64,
    /// The first few malformed events, by (input, offset); `file_index`
    /// indexes `inputs`.
    pub malformed_examples: Vec<MalformedEvent>,
    /// Every input, scanned or skipped, in the order given (directories
    /// expanded in place).
    pub inputs: Vec<InputReport>,
    /// Files found in directories and skipped (listed in `inputs`).
    pub files_skipped: usize,
}

/// What became of one input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputReport {
    pub path: PathBuf,
    /// The detected format (see [`crate::source::Format::name`]); `None` if skipped.
    pub format: Option<String>,
    /// Bytes read from disk or the stream.
    pub bytes: u64,
    /// Why the input was not scanned.
    pub skipped: Option<String>,
    /// A corrupt or truncated compressed stream: the offset in the decoded
    /// stream where reading stopped, and why. What came before was scanned.
    pub damaged: Option<(u64, String)>,
}

/// Scans `paths` for `detection`. Every file is opened and sniffed first,
/// so a missing or unreadable file fails the scan before any work is done.
/// Setting `cancel` makes the scan stop between chunks with
/// [`Error::Cancelled`].
pub fn scan(paths: &[PathBuf], detection: &Detection, options: &ScanOptions, cancel: &AtomicBool) -> Result<ScanOutput> {
    scan_inputs(paths.iter().cloned().map(Input::Path).collect(), detection, options, cancel)
}

/// [`scan`] over files, directories, `-` (stdin) and open streams.
pub fn scan_inputs(inputs: Vec<Input>, detection: &Detection, options: &ScanOptions, cancel: &AtomicBool) -> Result<ScanOutput> {
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
    matcher: &Matcher<'_>,
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
        scan_evtx_unit(matcher, scratch, source, unit, progress, cancel, &mut partial)
    } else {
        let reader = source.open_at(unit.start, progress)?;
        let position = UnitPosition { file_index: unit.file_index, base: unit.start, owned_len: unit.owned_len };
        scan_unit(matcher, scratch, reader, position, chunk_size, cancel, &mut partial)
    };
    match result {
        Ok(()) => {}
        Err(ReadFailure::Cancelled) => return Err(Error::Cancelled),
        // Everything before the break was scanned: keep it, report the break.
        Err(ReadFailure::Io(error, offset)) if source.is_damage(&error) => {
            partial.damage.push(Damage { file_index: unit.file_index, offset, message: error.to_string() });
        }
        Err(ReadFailure::Io(error, offset)) => return Err(source.read_error(error, offset)),
    }
    Ok(partial)
}

impl ScanOutput {
    /// The output of a scan of `files` inputs, `bytes` on disk in all, whose
    /// units' partial results were merged into `merged`. It lists no inputs.
    pub fn from_partial(files: usize, bytes: u64, merged: Partial) -> Self {
        ScanOutput {
            files,
            bytes,
            events: merged.events,
            malformed: merged.malformed,
            malformed_examples: merged.examples.clone(),
            inputs: Vec::new(),
            files_skipped: 0,
            hits: merged.into_hits(),
        }
    }
}

fn scan_files(inputs: Vec<Input>, detection: &Detection, options: &ScanOptions, cancel: &AtomicBool) -> Result<ScanOutput> {
    let split_size = if options.split_size == 0 { DEFAULT_SPLIT_SIZE } else { options.split_size };
    let planned = expand(inputs)?;
    // Sources are the scanned inputs; `input_of[i]` is source i's place in `planned`.
    let mut sources = Vec::new();
    let mut input_of = Vec::new();
    for (index, entry) in planned.iter().enumerate() {
        if let Planned::Scan(source) = entry {
            sources.push(source.clone());
            input_of.push(index);
        }
    }
    let units = plan_units(&sources, split_size);
    if let Some(progress) = &options.progress {
        progress.set_total(sources.iter().map(|s| s.size).sum());
    }
    let compiled = detection.compile();
    let matcher = Matcher::new(&compiled);

    let run_unit = |scratch: &mut Scratch, unit: &Unit| -> Result<Partial> {
        let source = &sources[unit.file_index];
        scan_one_unit(&matcher, scratch, source, unit, options.chunk_size, options.progress.as_ref(), cancel)
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
    let (mut merged, hits) = run_all_units()?;
    if let Some(progress) = &options.progress {
        progress.finish();
    }

    let mut inputs: Vec<InputReport> = planned
        .iter()
        .map(|entry| match entry {
            Planned::Scan(source) => InputReport {
                path: source.path.clone(),
                format: Some(source.format.name().to_string()),
                bytes: source.bytes(),
                skipped: None,
                damaged: None,
            },
            Planned::Skip { path, reason } => {
                InputReport { path: path.clone(), format: None, bytes: 0, skipped: Some(reason.clone()), damaged: None }
            }
        })
        .collect();
    for Damage { file_index, offset, message } in std::mem::take(&mut merged.damage) {
        inputs[input_of[file_index]].damaged = Some((offset, message));
    }
    let mut malformed_examples = merged.examples.clone();
    for example in &mut malformed_examples {
        example.file_index = input_of[example.file_index];
    }
    Ok(ScanOutput {
        files: sources.len(),
        bytes: inputs.iter().map(|i| i.bytes).sum(),
        events: merged.events,
        malformed: merged.malformed,
        malformed_examples,
        files_skipped: inputs.len() - sources.len(),
        inputs,
        hits,
    })
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
