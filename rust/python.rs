//! The Python binding (`sysmon_hunt._native`): the only file that uses PyO3.
//!
//! It converts arguments to owned Rust values, runs the whole scan with the
//! interpreter detached (other Python threads keep running), and converts
//! the output back. Python-facing types (`Hit`, `ScanResult`) are built in
//! `python/sysmon_hunt/__init__.py` from the plain tuples returned here.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use pyo3::exceptions::{PyFileNotFoundError, PyKeyboardInterrupt, PyOSError, PyPermissionError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::detection::Detection;
use crate::error::Error;
use crate::input::Input;
use crate::scan::{scan_inputs, ScanOptions, ScanOutput};
use crate::source::ReaderFailed;

// Named for where users meet it: `sysmon_hunt.ScanError`.
pyo3::create_exception!(sysmon_hunt, ScanError, pyo3::exceptions::PyException, "A scan failed: a corrupt input or an internal error.");

/// How often the waiting thread looks for Ctrl-C while workers scan.
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
        Error::InvalidOption(_) => PyValueError::new_err(message),
        Error::Cancelled => PyKeyboardInterrupt::new_err(message),
        Error::Decompress { .. } | Error::BadEvtx { .. } | Error::Unsupported { .. } | Error::Panic(_) => {
            ScanError::new_err(message)
        }
    }
}

/// Runs a scan detached from the interpreter. The scan runs on its own
/// thread so that this one can wake every `SIGNAL_POLL`, attach briefly and
/// let Python run its signal handlers; a pending KeyboardInterrupt cancels
/// the workers (they stop at their next chunk) and is raised.
fn run_detached(py: Python<'_>, inputs: Vec<Input>, options: ScanOptions) -> PyResult<ScanOutput> {
    let detection = Detection::telegram_downloads();
    let cancel = AtomicBool::new(false);
    py.detach(|| {
        std::thread::scope(|scope| {
            let (done, finished) = mpsc::channel();
            let (detection, options, cancel) = (&detection, &options, &cancel);
            scope.spawn(move || {
                let _ = done.send(scan_inputs(inputs, detection, options, cancel));
            });
            loop {
                match finished.recv_timeout(SIGNAL_POLL) {
                    Ok(result) => return result.map_err(to_py_err),
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        return Err(ScanError::new_err("scan thread ended without a result"))
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if let Err(interrupt) = Python::attach(|py| py.check_signals()) {
                            cancel.store(true, Ordering::Relaxed);
                            // Wait for the workers: they stop at their next chunk.
                            let _ = finished.recv();
                            return Err(interrupt);
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

type HitTuple = (Vec<String>, u64, i64, i64);
type MalformedTuple = (String, u64, &'static str);
/// (path, format, bytes, skipped reason, damage offset, damage message)
type InputTuple = (String, Option<&'static str>, u64, Option<String>, Option<u64>, Option<String>);
type StatsTuple = (usize, u64, u64, u64, Vec<MalformedTuple>, Vec<InputTuple>, usize);

/// scan(inputs, threads, chunk_size, split_size) -> (hits, stats)
///
/// `inputs` is a list of `str` paths (files, directories, `-` for stdin)
/// and binary file objects. Each hit is `(by_field_values, count,
/// first_us, last_us)` with times in microseconds since the Unix epoch;
/// stats are `(files, bytes, events, malformed, [(path, offset, reason)],
/// [(path, format, bytes, skipped, damage_offset, damage)], files_skipped)`.
#[pyfunction]
#[pyo3(signature = (inputs, threads=0, chunk_size=0, split_size=0))]
fn scan(
    py: Python<'_>,
    inputs: Vec<Bound<'_, PyAny>>,
    threads: usize,
    chunk_size: usize,
    split_size: u64,
) -> PyResult<(Vec<HitTuple>, StatsTuple)> {
    let options = ScanOptions { threads, chunk_size, split_size };
    let inputs = inputs.iter().map(|item| to_input(py, item)).collect::<PyResult<Vec<_>>>()?;
    let output = run_detached(py, inputs, options)?;
    let name = |i: usize| output.inputs[i].path.to_string_lossy().into_owned();
    let examples = output.malformed_examples.iter().map(|m| (name(m.file_index), m.offset, m.reason)).collect();
    let inputs = output
        .inputs
        .iter()
        .map(|i| {
            let (offset, message) = i.damaged.clone().unzip();
            (i.path.to_string_lossy().into_owned(), i.format, i.bytes, i.skipped.clone(), offset, message)
        })
        .collect();
    let stats = (output.files, output.bytes, output.events, output.malformed, examples, inputs, output.files_skipped);
    let hits = output
        .hits
        .into_iter()
        .map(|hit| (hit.values, hit.stats.count, hit.stats.first, hit.stats.last))
        .collect();
    Ok((hits, stats))
}

/// The by-fields of the built-in detection, in output order.
#[pyfunction]
fn by_fields() -> Vec<String> {
    Detection::telegram_downloads().by_fields.into_iter().map(|b| b.name).collect()
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(scan, module)?)?;
    module.add_function(wrap_pyfunction!(by_fields, module)?)?;
    module.add("ScanError", module.py().get_type::<ScanError>())?;
    Ok(())
}
