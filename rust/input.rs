//! What a user names as input, expanded into the files and streams to scan.
//!
//! A path is a file, a directory (walked recursively, entries sorted by
//! name, symlinks followed with loops detected), or `-` for standard input.
//! A named file that cannot be opened fails the scan before any work, as a
//! typo should; inside a directory, an entry that cannot be read is skipped
//! with its reason, and every file scanned or skipped is reported.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::error::{Error, Result};
use crate::source::{Source, Stream};

/// One input as the caller gave it.
pub enum Input {
    /// A file or directory; `-` is standard input.
    Path(PathBuf),
    /// An already open byte stream, reported under `name`.
    Stream { name: String, stream: Stream },
}

impl From<PathBuf> for Input {
    fn from(path: PathBuf) -> Self {
        Input::Path(path)
    }
}

/// An input as planned: scanned, or skipped with the reason.
#[derive(Debug)]
pub enum Planned {
    Scan(Source),
    Skip { path: PathBuf, reason: String },
}

/// The name standard input goes by, as a path and in reports.
pub const STDIN: &str = "-";

/// Expands `inputs` in order: each directory into its files, sorted.
pub fn expand(inputs: Vec<Input>) -> Result<Vec<Planned>> {
    let mut planned = Vec::new();
    for input in inputs {
        match input {
            Input::Stream { name, stream } => planned.push(Planned::Scan(Source::from_stream(&name, stream)?)),
            Input::Path(path) if path.as_os_str() == STDIN => {
                planned.push(Planned::Scan(Source::from_stream(STDIN, Box::new(std::io::stdin()))?));
            }
            Input::Path(path) if path.is_dir() => walk(&path, &mut planned),
            Input::Path(path) => planned.push(Planned::Scan(Source::inspect(&path)?)),
        }
    }
    Ok(planned)
}

/// Appends the files under `root`, depth first, each directory's entries in
/// byte order of their names.
fn walk(root: &Path, planned: &mut Vec<Planned>) {
    for entry in WalkDir::new(root).follow_links(true).sort_by_file_name() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                // Unreadable directories and symlink loops: say which and why.
                let path = error.path().unwrap_or(root).to_path_buf();
                let reason = match (error.loop_ancestor(), error.io_error()) {
                    (Some(ancestor), _) => format!("symlink loop back to {}", ancestor.display()),
                    (None, Some(io)) => io.to_string(),
                    (None, None) => error.to_string(),
                };
                planned.push(Planned::Skip { path, reason });
                continue;
            }
        };
        let file_type = entry.file_type();
        if file_type.is_dir() {
            continue;
        }
        let path = entry.into_path();
        if !file_type.is_file() {
            planned.push(Planned::Skip { path, reason: "not a regular file".to_string() });
            continue;
        }
        match Source::inspect(&path) {
            Ok(source) => planned.push(Planned::Scan(source)),
            Err(error) => planned.push(Planned::Skip { path, reason: skip_reason(&error) }),
        }
    }
}

/// Why a file was skipped, without repeating its path.
fn skip_reason(error: &Error) -> String {
    match error {
        Error::Io { source, .. } => source.to_string(),
        Error::BadEvtx { detail, .. } => format!("not a readable EVTX file: {detail}"),
        Error::Unsupported { what, .. } => what.to_string(),
        other => other.to_string(),
    }
}
