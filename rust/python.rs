//! The Python binding (`sysmon_hunt._native`): with its submodule
//! `python_hits.rs`, the only code that uses PyO3.
//!
//! It converts arguments to owned Rust values, runs the whole scan with the
//! interpreter detached (other Python threads keep running), and converts
//! the output into the Python result types of `sysmon_hunt.results` in one
//! function, [`to_python_result`]; the hits go as a `PendingHits`, built on
//! first read.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use pyo3::exceptions::{PyFileNotFoundError, PyKeyboardInterrupt, PyOSError, PyPermissionError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple, PyType};

use crate::aggregate::{Partial, MAX_MALFORMED_EXAMPLES};
use crate::detection::{Detection, BY_V1, BY_V3, STATS_COLUMNS};
use crate::distributed;
use crate::error::Error;
use crate::error::ReaderFailed;
use crate::input::Input;
use crate::output::ScanOutput;
use crate::progress::Progress;
use crate::scan::{scan_inputs, ScanOptions};

#[path = "python_hits.rs"]
mod hits;
use hits::PendingHits;

// Named for where users meet it: `sysmon_hunt.ScanError`.
pyo3::create_exception!(
    sysmon_hunt,
    ScanError,
    pyo3::exceptions::PyException,
    "A scan failed: a corrupt input or an internal error."
);

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
                let what = if data.is_none() {
                    "None (non-blocking file with no data)".to_string()
                } else {
                    data.get_type().to_string()
                };
                return Err(ReaderFailed::io(format!(
                    "read() returned {what}, not bytes: open the file in binary mode"
                )));
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

/// How to scan, as `sysmon_hunt.scan()` was asked (checked there): the
/// options every unit of a scan shares.
#[pyclass(module = "sysmon_hunt._native", name = "ScanConfig", frozen, get_all)]
#[derive(Clone)]
struct ScanConfig {
    threads: usize,
    chunk_size: usize,
    split_size: u64,
    /// By-field names; None: the detection's own (v1).
    by: Option<Vec<String>>,
    /// Collect each hit's distinct `User` values.
    users: bool,
    /// Decide from each EVTX record's bytes whether to render it (false:
    /// render every record, the full path, for comparison and debugging).
    evtx_prefilter: bool,
}

#[pymethods]
impl ScanConfig {
    #[new]
    #[pyo3(signature = (*, threads=0, chunk_size=0, split_size=0, by=None, users=false, evtx_prefilter=true))]
    fn new(
        threads: usize,
        chunk_size: usize,
        split_size: u64,
        by: Option<Vec<String>>,
        users: bool,
        evtx_prefilter: bool,
    ) -> PyResult<Self> {
        let config = ScanConfig { threads, chunk_size, split_size, by, users, evtx_prefilter };
        config.detection()?; // a bad by-field fails here, before any file is read
        Ok(config)
    }

    /// Pickles by its arguments (Dask ships it to workers).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, ())> {
        let py = slf.py();
        let this = slf.get();
        let kwargs = PyDict::new(py);
        kwargs.set_item("threads", this.threads)?;
        kwargs.set_item("chunk_size", this.chunk_size)?;
        kwargs.set_item("split_size", this.split_size)?;
        kwargs.set_item("by", this.by.clone())?;
        kwargs.set_item("users", this.users)?;
        kwargs.set_item("evtx_prefilter", this.evtx_prefilter)?;
        let rebuild = py.import("functools")?.getattr("partial")?.call((slf.get_type(),), Some(&kwargs))?;
        Ok((rebuild, ()))
    }
}

impl ScanConfig {
    /// The built-in detection grouped and collecting as configured.
    fn detection(&self) -> PyResult<Detection> {
        let mut detection = Detection::telegram_downloads();
        if let Some(names) = &self.by {
            detection = detection.with_by_fields(names).map_err(to_py_err)?;
        }
        Ok(if self.users { detection.with_users() } else { detection })
    }

    fn by_field_names(&self) -> PyResult<Vec<String>> {
        Ok(self.detection()?.by_fields.into_iter().map(|b| b.name).collect())
    }
}

/// The `sysmon_hunt.results.ScanResult` of a scan's output: the one place
/// where what a scan returns becomes Python objects. The hits go as they
/// are, a [`PendingHits`] that `ScanResult` builds on first access; `users`
/// (when collected) are the sorted distinct `User` values of each hit.
fn to_python_result(py: Python<'_>, output: ScanOutput, config: &ScanConfig) -> PyResult<Py<PyAny>> {
    let results = py.import("sysmon_hunt.results")?;
    let by_field_names = config.by_field_names()?;
    let by_fields = PyTuple::new(py, &by_field_names)?;
    let users = if config.users {
        let users = output.hits.iter().map(|hit| PyTuple::new(py, &hit.stats.distinct));
        Some(PyTuple::new(py, users.collect::<PyResult<Vec<_>>>()?)?)
    } else {
        None
    };
    let hits = PendingHits::new(output.hits, by_field_names);

    let names: Vec<String> = output.inputs.iter().map(|i| i.path.to_string_lossy().into_owned()).collect();
    let malformed_class = results.getattr("MalformedEvent")?;
    let examples = output
        .malformed_examples
        .into_iter()
        .map(|m| {
            let fields = PyDict::new(py);
            fields.set_item("path", &names[m.file_index])?;
            fields.set_item("offset", m.offset)?;
            fields.set_item("reason", m.reason.as_ref())?;
            malformed_class.call((), Some(&fields))
        })
        .collect::<PyResult<Vec<_>>>()?;
    let input_class = results.getattr("InputStats")?;
    let inputs = output
        .inputs
        .into_iter()
        .zip(&names)
        .map(|(input, name)| {
            let (damaged_at, damage) = input.damaged.unzip();
            let fields = PyDict::new(py);
            fields.set_item("path", name)?;
            fields.set_item("format", input.format)?;
            fields.set_item("bytes", input.bytes)?;
            fields.set_item("skipped", input.skipped)?;
            fields.set_item("damaged_at", damaged_at)?;
            fields.set_item("damage", damage)?;
            input_class.call((), Some(&fields))
        })
        .collect::<PyResult<Vec<_>>>()?;
    let stats = PyDict::new(py);
    stats.set_item("files", output.files)?;
    stats.set_item("bytes", output.bytes)?;
    stats.set_item("events", output.events)?;
    stats.set_item("malformed", output.malformed)?;
    stats.set_item("malformed_examples", PyTuple::new(py, examples)?)?;
    stats.set_item("inputs", PyTuple::new(py, inputs)?)?;
    stats.set_item("files_skipped", output.files_skipped)?;
    stats.set_item("json_records", output.json_records)?;
    stats.set_item("json_events", output.json_events)?;
    let stats = results.getattr("ScanStats")?.call((), Some(&stats))?;

    let options = PyDict::new(py);
    options.set_item("by_fields", by_fields)?;
    options.set_item("users", users)?;
    let result = results.getattr("ScanResult")?.call((hits, stats), Some(&options))?;
    Ok(result.unbind())
}

/// scan(inputs, config, progress=None) -> ScanResult
///
/// `inputs` is a list of `str` paths (files, directories, `-` for stdin)
/// and binary file objects.
#[pyfunction]
#[pyo3(signature = (inputs, config, progress=None))]
fn scan(
    py: Python<'_>,
    inputs: Vec<Bound<'_, PyAny>>,
    config: &ScanConfig,
    progress: Option<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let inputs = inputs.iter().map(|item| to_input(py, item)).collect::<PyResult<Vec<_>>>()?;
    let detection = config.detection()?;
    let counter = progress.as_ref().map(|_| Arc::new(Progress::default()));
    let options = ScanOptions {
        threads: config.threads,
        chunk_size: config.chunk_size,
        split_size: config.split_size,
        progress: counter.clone(),
        evtx_render_all: !config.evtx_prefilter,
    };
    let reporting = progress.as_ref().zip(counter.as_deref());
    let output = run_detached(py, reporting, move |cancel| scan_inputs(inputs, &detection, &options, cancel))?;
    to_python_result(py, output, config)
}

/// csv_records(rows) -> str
///
/// `rows` (non-empty lists of `str`) as CSV text, exactly as Python's
/// `csv.writer(out, lineterminator="\r\n")` writes them (fields quoted
/// only where needed, quotes doubled), made by the csv crate: Python's
/// writer copies each field character by character, 6-8 us for a hit's
/// row, four times what this takes. `tests/test_cli_outputs.py` holds the
/// two to the same text.
#[pyfunction]
fn csv_records(rows: Vec<Vec<String>>) -> PyResult<String> {
    let csv_error = |error: csv::Error| PyValueError::new_err(error.to_string());
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).flexible(true).from_writer(Vec::new());
    for row in &rows {
        // Python writes an empty row as a bare line end, the crate as `""`.
        if row.is_empty() {
            return Err(PyValueError::new_err("a CSV row needs at least one field"));
        }
        writer.write_record(row).map_err(csv_error)?;
    }
    let bytes = writer.into_inner().map_err(|error| PyValueError::new_err(error.to_string()))?;
    // Every field was a `str`, and the writer adds only ASCII.
    String::from_utf8(bytes).map_err(|error| PyValueError::new_err(error.to_string()))
}

/// One file of a cluster scan's plan, as [`distributed::plan_path`] gives it.
#[pyclass(module = "sysmon_hunt._native", name = "PlannedFile", frozen)]
#[derive(Clone)]
struct PlannedFile(distributed::PlannedFile);

#[pymethods]
impl PlannedFile {
    #[new]
    fn new(path: PathBuf, size: u64, ranges: Vec<(u64, u64)>, format: Option<String>, skipped: Option<String>) -> Self {
        PlannedFile(distributed::PlannedFile { path, size, ranges, format, skipped })
    }

    #[getter]
    fn path(&self) -> String {
        self.0.path.to_string_lossy().into_owned()
    }

    #[getter]
    fn size(&self) -> u64 {
        self.0.size
    }

    /// The units as `(start, owned_len)`; `owned_len` is `WHOLE_FILE` for a whole file.
    #[getter]
    fn ranges(&self) -> Vec<(u64, u64)> {
        self.0.ranges.clone()
    }

    #[getter]
    fn format(&self) -> Option<String> {
        self.0.format.clone()
    }

    #[getter]
    fn skipped(&self) -> Option<String> {
        self.0.skipped.clone()
    }

    /// Pickles by its fields (Dask ships plans from workers).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyType>, Bound<'py, PyTuple>)> {
        let file = &slf.get().0;
        let args = (file.path.clone(), file.size, file.ranges.clone(), file.format.clone(), file.skipped.clone());
        Ok((slf.get_type(), args.into_pyobject(slf.py())?))
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.0)
    }
}

/// plan_path(path, split_size=0) -> [PlannedFile]
///
/// The files `path` names (a directory walked as a local scan walks it) and
/// the units a scan cuts each into (ranges of at most `split_size` bytes,
/// 0 for the default, where the encoding allows). A file that is skipped
/// has no units, format None and its reason.
#[pyfunction]
#[pyo3(signature = (path, split_size=0))]
fn plan_path(py: Python<'_>, path: PathBuf, split_size: u64) -> PyResult<Vec<PlannedFile>> {
    let planned = run_detached(py, None, |_| distributed::plan_path(&path, split_size))?;
    Ok(planned.into_iter().map(PlannedFile).collect())
}

/// scan_range(path, file_index, start, owned_len, config) -> Partial
///
/// Scans the unit of `path` whose event starts lie in
/// `[start, start + owned_len)`; the file is number `file_index` of the
/// scan's files (skipped ones not numbered). Every unit of a scan must use
/// the same `config`.
#[pyfunction]
fn scan_range(
    py: Python<'_>,
    path: PathBuf,
    file_index: usize,
    start: u64,
    owned_len: u64,
    config: &ScanConfig,
) -> PyResult<PartialResult> {
    let detection = config.detection()?;
    let chunk_size = config.chunk_size;
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

    /// finish(plan, config) -> ScanResult, as `scan()` returns it, for a
    /// scan of the files `plan` lists (every input's planned files in input
    /// order, skipped ones included) whose units were scanned with `config`.
    fn finish(&self, py: Python<'_>, plan: Vec<PyRef<'_, PlannedFile>>, config: &ScanConfig) -> PyResult<Py<PyAny>> {
        let plan: Vec<distributed::PlannedFile> = plan.iter().map(|file| file.0.clone()).collect();
        let output = distributed::finish(self.partial.clone(), &plan, &config.detection()?).map_err(to_py_err)?;
        to_python_result(py, output, config)
    }
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(scan, module)?)?;
    module.add_function(wrap_pyfunction!(plan_path, module)?)?;
    module.add_function(wrap_pyfunction!(scan_range, module)?)?;
    module.add_function(wrap_pyfunction!(csv_records, module)?)?;
    module.add_class::<PartialResult>()?;
    module.add_class::<PlannedFile>()?;
    module.add_class::<ScanConfig>()?;
    module.add_class::<PendingHits>()?;
    // Constants Python shares with the core, defined once, here.
    module.add("BY_V1", PyTuple::new(module.py(), BY_V1)?)?;
    module.add("BY_V3", PyTuple::new(module.py(), BY_V3)?)?;
    module.add("STATS_COLUMNS", PyTuple::new(module.py(), STATS_COLUMNS)?)?;
    module.add("MAX_MALFORMED_EXAMPLES", MAX_MALFORMED_EXAMPLES)?;
    module.add("WHOLE_FILE", distributed::WHOLE_FILE)?;
    module.add("ScanError", module.py().get_type::<ScanError>())?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
