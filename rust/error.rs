//! The one error type of the core.
//!
//! Only I/O failures and invalid options are errors. A malformed event is data
//! (see [`crate::aggregate::MalformedEvent`]): it is counted and located, and
//! the scan goes on.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// What went wrong, with the structured context a caller needs to act on it.
#[derive(Debug)]
pub enum Error {
    /// A file could not be opened or read.
    Io {
        path: PathBuf,
        /// Offset in the file's decoded stream where reading failed, if known.
        offset: Option<u64>,
        source: io::Error,
    },
    /// A gzip or zstd stream is corrupt or truncated.
    Decompress { path: PathBuf, source: io::Error },
    /// An EVTX file whose header cannot be read.
    BadEvtx { path: PathBuf, detail: String },
    /// A file whose format the scanner does not read (e.g. compressed EVTX).
    Unsupported { path: PathBuf, what: &'static str },
    /// An option is out of range or inconsistent.
    InvalidOption(String),
    /// Bytes given as a serialized partial result are not one (or come
    /// from another version of the core), or it does not fit the scan.
    InvalidPartial(String),
    /// The scan was cancelled (e.g. Ctrl-C) before it finished.
    Cancelled,
    /// A worker panicked; the message is the panic payload. This is a bug.
    Panic(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(path: &std::path::Path, offset: Option<u64>, source: io::Error) -> Self {
        Error::Io { path: path.to_path_buf(), offset, source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, offset: Some(offset), source } => {
                write!(f, "{}: read failed at offset {offset}: {source}", path.display())
            }
            Error::Io { path, offset: None, source } => write!(f, "{}: {source}", path.display()),
            Error::Decompress { path, source } => {
                write!(f, "{}: compressed stream is corrupt or truncated: {source}", path.display())
            }
            Error::BadEvtx { path, detail } => write!(f, "{}: not a readable EVTX file: {detail}", path.display()),
            Error::Unsupported { path, what } => write!(f, "{}: {what}", path.display()),
            Error::InvalidOption(message) => write!(f, "invalid option: {message}"),
            Error::InvalidPartial(message) => write!(f, "invalid partial result: {message}"),
            Error::Cancelled => write!(f, "scan cancelled"),
            Error::Panic(message) => write!(f, "internal error (worker panicked): {message}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } | Error::Decompress { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A read that failed for a reason other than the data (a Python file
/// object's `read()` raised, a decoding thread died): an error, never
/// reported as a damaged stream.
#[derive(Debug)]
pub struct ReaderFailed(pub String);

impl fmt::Display for ReaderFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReaderFailed {}

impl ReaderFailed {
    pub fn io(message: impl Into<String>) -> io::Error {
        io::Error::other(ReaderFailed(message.into()))
    }
}
