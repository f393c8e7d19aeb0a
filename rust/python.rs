//! The Python binding (`sysmon_hunt._native`): the only file that uses PyO3.
//!
//! It converts arguments to owned Rust values, runs the whole scan with the
//! interpreter detached (other Python threads keep running), and converts
//! the output back. Python-facing types (`Hit`, `ScanResult`) are built in
//! `python/sysmon_hunt/__init__.py` from the plain tuples returned here.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use pyo3::exceptions::{PyFileNotFoundError, PyKeyboardInterrupt, PyOSError, PyPermissionError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyType};

use crate::aggregate::Partial;
use crate::detection::Detection;
use crate::distributed;
use crate::error::Error;
use crate::input::Input;
use crate::progress::Progress;
use crate::scan::{scan_inputs, InputReport, ScanOptions, ScanOutput};
use crate::source::ReaderFailed;

// Named for where users meet it: `sysmon_hunt.ScanError`.
pyo3::create_exception!(sysmon_hunt, ScanError, pyo3::exceptions::PyException, "A scan failed: a corrupt input or an internal error.");

/// How often the waiting thread looks for Ctrl-C (and reports progress)
/// while workers scan.
const SIGNAL_POLL: Duration = Duration::from_millis(100);

fn to_py_err(error: Error) -> PyErr {
    let message = error.to_string();
    match error {
        Error::Io { path, source, .. } => {
            let Some(errno) = source.raw_os_error() else {
                return PyOSError::new_err(message);
            };
            // OSError(errno, strerror, filename) sets `.errno` and `.filename`
            // and reads like Python's own: "[Errno 2] No such file or directory: 'x.log'".
            let strerror = source.to_string().trim_end_matches(&format!(" (os error {errno})")).to_string();
            let args = (errno, strerror, path.to_string_lossy().into_owned());
            match source.kind() {
                std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(args),
                std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(args),
                _ => PyOSError::new_err(args),
            }
        }
        Error::InvalidOption(_) | Error::InvalidPartial(_) => PyValueError::new_err(message),
        Error::Cancelled => PyKeyboardInterrupt::new_err(message),
        Error::Decompress { .. } | Error::BadEvtx { .. } | Error::Unsupported { .. } | Error::Panic(_) => {
            ScanError::new_err(message)
        }
    }
}

/// Runs `work` (a scan, or one unit of one) detached from the interpreter.
/// It runs on its own thread so that this one can wake every
/// `SIGNAL_POLL`, attach briefly, let Python run its signal handlers and,
/// given a `progress` callback and the counter the work adds to, call
/// `progress(bytes_done, bytes_total)` when the count has moved. A pending
/// KeyboardInterrupt, or an exception raised by `progress`, cancels the
/// workers (they stop at their next chunk) and is raised. `progress` is
/// called once more when the work has succeeded.
fn run_detached<T: Send>(
    py: Python<'_>,
    progress: Option<(&Py<PyAny>, &Progress)>,
    work: impl FnOnce(&AtomicBool) -> Result<T, Error> + Send,
) -> PyResult<T> {
    let cancel = AtomicBool::new(false);
    let mut reported = None;
    // Calls `progress` (attached) if the count moved since the last call.
    let mut report = |py: Python<'_>| -> PyResult<()> {
        let Some((callback, Some(now))) = progress.map(|(callback, counter)| (callback, counter.get())) else {
            return Ok(());
        };
        if reported != Some(now) {
            reported = Some(now);
            callback.call1(py, now)?;
        }
        Ok(())
    };
    py.detach(|| {
        std::thread::scope(|scope| {
            let (done, finished) = mpsc::channel();
            let cancel = &cancel;
            scope.spawn(move || {
                let _ = done.send(work(cancel));
            });
            loop {
                match finished.recv_timeout(SIGNAL_POLL) {
                    Ok(result) => {
                        let output = result.map_err(to_py_err)?;
                        Python::attach(&mut report)?;
                        return Ok(output);
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        return Err(ScanError::new_err("scan thread ended without a result"))
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if let Err(error) = Python::attach(|py| py.check_signals().and_then(|()| report(py))) {
                            cancel.store(true, Ordering::Relaxed);
                            // Wait for the workers: they stop at their next chunk.
                            let _ = finished.recv();
                            return Err(error);
                        }
                    }
                }
            }
        })
    })
}

/// A binary Python file object (anything with `read(n) -> bytes`) as a
/// byte stream. It attaches to the interpreter only for each read: the
/// scan itself runs detached, on other threads.
struct PyReader {
    file: Py<PyAny>,
}

impl io::Read for PyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Python::attach(|py| {
            let data = self.file.call_method1(py, "read", (buf.len(),)).map_err(|e| ReaderFailed::io(e.to_string()))?;
            let data = data.bind(py);
            let Ok(bytes) = data.cast::<PyBytes>() else {
                let what = if data.is_none() { "None (non-blocking file with no data)".to_string() } else { data.get_type().to_string() };
                return Err(ReaderFailed::io(format!("read() returned {what}, not bytes: open the file in binary mode")));
            };
            let bytes = bytes.as_bytes();
            if bytes.len() > buf.len() {
                return Err(ReaderFailed::io("read(n) returned more than n bytes"));
            }
            buf[..bytes.len()].copy_from_slice(bytes);
            Ok(bytes.len())
        })
    }
}

/// A path (`str`, `-` for stdin) or a binary file object.
fn to_input(py: Python<'_>, item: &Bound<'_, PyAny>) -> PyResult<Input> {
    if let Ok(path) = item.extract::<PathBuf>() {
        return Ok(Input::Path(path));
    }
    if item.hasattr("read")? {
        let name = item
            .getattr("name")
            .ok()
            .and_then(|n| n.extract::<String>().ok())
            .unwrap_or_else(|| "<stream>".to_string());
        return Ok(Input::Stream { name, stream: Box::new(PyReader { file: item.clone().unbind() }) });
    }
    let _ = py;
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "expected a path or a binary file object, got {}",
        item.get_type()
    )))
}

type HitTuple = (Vec<String>, u64, i64, i64, Vec<String>);
type MalformedTuple = (String, u64, String);
/// (path, format, bytes, skipped reason, damage offset, damage message)
type InputTuple = (String, Option<String>, u64, Option<String>, Option<u64>, Option<String>);
type StatsTuple = (usize, u64, u64, u64, Vec<MalformedTuple>, Vec<InputTuple>, usize);
/// A planned file: (path, size, [(start, owned_len)], format, skipped).
type PlannedTuple = (String, u64, Vec<(u64, u64)>, Option<&'static str>, Option<String>);

/// The output as `scan()` returns it. Malformed examples name their input
/// from `output.inputs` (a local scan) or, where the output lists no inputs
/// (merged partials of a distributed scan), from `paths`.
fn output_tuples(output: ScanOutput, paths: &[PathBuf]) -> (Vec<HitTuple>, StatsTuple) {
    let names: Vec<String> = if output.inputs.is_empty() {
        paths.iter().map(|p| p.to_string_lossy().into_owned()).collect()
    } else {
        output.inputs.iter().map(|i| i.path.to_string_lossy().into_owned()).collect()
    };
    let examples = output
        .malformed_examples
        .into_iter()
        .map(|m| (names[m.file_index].clone(), m.offset, m.reason.into_owned()))
        .collect();
    let inputs = output
        .inputs
        .iter()
        .map(|i| {
            let (offset, message) = i.damaged.clone().unzip();
            (i.path.to_string_lossy().into_owned(), i.format.clone(), i.bytes, i.skipped.clone(), offset, message)
        })
        .collect();
    let hits = output
        .hits
        .into_iter()
        .map(|hit| {
            let users = hit.stats.distinct.into_iter().collect();
            (hit.values, hit.stats.count, hit.stats.first, hit.stats.last, users)
        })
        .collect();
    (hits, (output.files, output.bytes, output.events, output.malformed, examples, inputs, output.files_skipped))
}

/// scan(inputs, threads, chunk_size, split_size, by=None, users=False, progress=None, evtx_prefilter=True) -> (hits, stats)
///
/// `inputs` is a list of `str` paths (files, directories, `-` for stdin)
/// and binary file objects; `by` a list of by-field names (None: v1).
/// Each hit is `(by_field_values, count, first_us, last_us, users)` with
/// times in microseconds since the Unix epoch and `users` the sorted
/// distinct `User` values (empty unless `users`); stats are `(files, bytes,
/// events, malformed, [(path, offset, reason)], [(path, format, bytes,
/// skipped, damage_offset, damage)], files_skipped)`.
#[pyfunction]
#[pyo3(signature = (inputs, threads=0, chunk_size=0, split_size=0, by=None, users=false, progress=None, evtx_prefilter=true))]
#[allow(clippy::too_many_arguments)]
fn scan(
    py: Python<'_>,
    inputs: Vec<Bound<'_, PyAny>>,
    threads: usize,
    chunk_size: usize,
    split_size: u64,
    by: Option<Vec<String>>,
    users: bool,
    progress: Option<Py<PyAny>>,
    evtx_prefilter: bool,
) -> PyResult<(Vec<HitTuple>, StatsTuple)> {
    let inputs = inputs.iter().map(|item| to_input(py, item)).collect::<PyResult<Vec<_>>>()?;
    let detection = detection(by, users)?;
    let counter = progress.as_ref().map(|_| Arc::new(Progress::default()));
    let options =
        ScanOptions { threads, chunk_size, split_size, progress: counter.clone(), evtx_render_all: !evtx_prefilter };
    let reporting = progress.as_ref().zip(counter.as_deref());
    let output = run_detached(py, reporting, move |cancel| scan_inputs(inputs, &detection, &options, cancel))?;
    Ok(output_tuples(output, &[]))
}

/// plan_path(path, split_size) -> [(path, size, [(start, owned_len)], format, skipped)]
///
/// The files `path` names (a directory walked as a local scan walks it) and
/// the units a scan cuts each into (ranges of at most `split_size` bytes
/// where the encoding allows; `owned_len` is 2**64 - 1 for a whole file).
/// A file that is skipped has no units, format None and its reason.
#[pyfunction]
fn plan_path(py: Python<'_>, path: PathBuf, split_size: u64) -> PyResult<Vec<PlannedTuple>> {
    if split_size == 0 {
        return Err(PyValueError::new_err("split_size must be at least 1"));
    }
    let planned = run_detached(py, None, |_| distributed::plan_path(&path, split_size))?;
    Ok(planned
        .into_iter()
        .map(|f| (f.path.to_string_lossy().into_owned(), f.size, f.ranges, f.format, f.skipped))
        .collect())
}

/// scan_range(path, file_index, start, owned_len, chunk_size=0, by=None, users=False) -> Partial
///
/// Scans the unit of `path` whose event starts lie in
/// `[start, start + owned_len)`; the file is number `file_index` of the scan.
/// `by` and `users` as for `scan()`; every unit of a scan must use the same.
#[pyfunction]
#[pyo3(signature = (path, file_index, start, owned_len, chunk_size=0, by=None, users=false))]
#[allow(clippy::too_many_arguments)]
fn scan_range(
    py: Python<'_>,
    path: PathBuf,
    file_index: usize,
    start: u64,
    owned_len: u64,
    chunk_size: usize,
    by: Option<Vec<String>>,
    users: bool,
) -> PyResult<PartialResult> {
    let detection = detection(by, users)?;
    let partial = run_detached(py, None, |cancel| {
        distributed::scan_range(&path, file_index, start, owned_len, &detection, chunk_size, cancel)
    })?;
    Ok(PartialResult { partial })
}

/// The result of scanning some units of a scan: merge them, then `finish`.
/// Pickles as its compact bytes.
#[pyclass(module = "sysmon_hunt._native", name = "Partial")]
struct PartialResult {
    partial: Partial,
}

#[pymethods]
impl PartialResult {
    /// Partial(data=None): empty, or the partial that `to_bytes()` gave.
    #[new]
    #[pyo3(signature = (data=None))]
    fn new(data: Option<&[u8]>) -> PyResult<Self> {
        let partial = match data {
            None => Partial::default(),
            Some(bytes) => distributed::partial_from_bytes(bytes).map_err(to_py_err)?,
        };
        Ok(PartialResult { partial })
    }

    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &distributed::partial_to_bytes(&self.partial))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> (Bound<'py, PyType>, (Bound<'py, PyBytes>,)) {
        (slf.get_type(), (slf.borrow().to_bytes(slf.py()),))
    }

    /// Folds `other` into this one (count +, first min, last max).
    fn merge(&mut self, other: &Self) {
        self.partial.merge(other.partial.clone());
    }

    #[getter]
    fn events(&self) -> u64 {
        self.partial.events
    }

    #[getter]
    fn malformed(&self) -> u64 {
        self.partial.malformed
    }

    /// finish(paths, sizes, formats=None, by=None) -> (hits, stats), as
    /// `scan()` returns them, for a scan of the files `paths` (numbered in
    /// that order) of `sizes` bytes whose units were scanned with `by`;
    /// `formats` (from the plan) fill `stats.inputs`.
    #[pyo3(signature = (paths, sizes, formats=None, by=None))]
    fn finish(
        &self,
        paths: Vec<PathBuf>,
        sizes: Vec<u64>,
        formats: Option<Vec<String>>,
        by: Option<Vec<String>>,
    ) -> PyResult<(Vec<HitTuple>, StatsTuple)> {
        if paths.len() != sizes.len() || formats.as_ref().is_some_and(|f| f.len() != paths.len()) {
            return Err(PyValueError::new_err("paths, sizes and formats differ in length"));
        }
        let detection = detection(by, false)?;
        let damage = self.partial.damage.clone();
        let mut output = distributed::finish(self.partial.clone(), &sizes, &detection).map_err(to_py_err)?;
        output.inputs = paths
            .iter()
            .zip(&sizes)
            .enumerate()
            .map(|(index, (path, &bytes))| InputReport {
                path: path.clone(),
                format: formats.as_ref().map(|f| f[index].clone()),
                bytes,
                skipped: None,
                damaged: None,
            })
            .collect();
        // `finish` checked that every damaged file is one of `paths`.
        for broken in damage {
            output.inputs[broken.file_index].damaged = Some((broken.offset, broken.message));
        }
        Ok(output_tuples(output, &paths))
    }
}

/// The built-in detection grouped by `by` (None: its own by-fields).
fn detection(by: Option<Vec<String>>, users: bool) -> PyResult<Detection> {
    let mut detection = Detection::telegram_downloads();
    if let Some(names) = by {
        detection = detection.with_by_fields(&names).map_err(to_py_err)?;
    }
    Ok(if users { detection.with_users() } else { detection })
}

/// by_fields(by=None) -> the by-field names of the built-in detection, or
/// `by` checked (ValueError names the first bad one).
#[pyfunction]
#[pyo3(signature = (by=None))]
fn by_fields(by: Option<Vec<String>>) -> PyResult<Vec<String>> {
    Ok(detection(by, false)?.by_fields.into_iter().map(|b| b.name).collect())
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(scan, module)?)?;
    module.add_function(wrap_pyfunction!(by_fields, module)?)?;
    module.add_function(wrap_pyfunction!(plan_path, module)?)?;
    module.add_function(wrap_pyfunction!(scan_range, module)?)?;
    module.add_class::<PartialResult>()?;
    module.add("WHOLE_FILE", distributed::WHOLE_FILE)?;
    module.add("ScanError", module.py().get_type::<ScanError>())?;
    Ok(())
}
