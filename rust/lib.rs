//! sysmon-hunt: Splunk's "Download Files Using Telegram" detection (T1105)
//! over raw Windows Sysmon XML logs, at the speed the hardware allows.
//!
//! The pipeline, one role per module:
//!
//! ```text
//! source -> framer -> prefilter -> parser -> matcher -> aggregate -> hits
//! bytes     event     candidate    values of  Detection   (by-key -> count,
//! (file,    spans     or skip      a candidate (compiled)   min, max), mergeable
//! stdin,              (never skips (quick-xml,
//! gzip,                a possible   strict)
//! zstd,                match)
//! UTF-16,
//! EVTX)
//! ```
//!
//! [`scan::scan`] drives it: inputs are expanded (`input`: directories,
//! stdin), files are cut into units (`source`), each unit is streamed in
//! fixed-size chunks (`stream`; compressed input decoded on its own thread,
//! `readahead`) or, for EVTX, rendered record by record (`evtx`), and units
//! run on a rayon pool; their partial aggregates merge exactly.
//! `distributed` runs the same units one at a time for other machines, with
//! partials that travel as bytes. `python.rs` (the `python` feature)
//! is the only place that knows about Python.
//!
//! ```
//! use std::sync::atomic::AtomicBool;
//! use sysmon_hunt::{scan, Detection, ScanOptions};
//!
//! let dir = std::env::temp_dir().join(format!("sysmon-hunt-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("one.log");
//! std::fs::write(&path, concat!(
//!     "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>",
//!     "<Provider Name='Microsoft-Windows-Sysmon'/><EventID>15</EventID>",
//!     "<TimeCreated SystemTime='2021-04-28T20:11:34.7097442Z'/><Computer>host</Computer></System>",
//!     "<EventData><Data Name='ProcessId'>4242</Data>",
//!     "<Data Name='Image'>C:\\Telegram Desktop\\Telegram.exe</Data>",
//!     "<Data Name='TargetFilename'>C:\\Downloads\\x.exe:Zone.Identifier</Data>",
//!     "<Data Name='Hash'>MD5=00</Data></EventData></Event>\n",
//! )).unwrap();
//! let out = scan(&[path], &Detection::telegram_downloads(), &ScanOptions::default(), &AtomicBool::new(false)).unwrap();
//! assert_eq!(out.events, 1);
//! assert_eq!(out.hits.len(), 1);
//! assert_eq!(out.hits[0].values().next(), Some("host"));
//! assert_eq!(out.hits[0].stats.count, 1);
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

// The pipeline's modules are the crate's own: its public surface is the
// re-exports below, plus `distributed` (scans across machines) and
// `pieces` (for the project's benches and fuzz targets).
mod aggregate;
mod detection;
pub mod distributed;
mod error;
mod event;
mod evtx;
mod evtx_prefilter;
mod framer;
mod input;
mod json;
mod json_shapes;
mod matcher;
mod output;
mod parser;
mod prefilter;
mod progress;
mod readahead;
mod scan;
mod source;
mod stream;
mod time;
mod utf16;
mod xml_names;
mod xml_rules;

#[cfg(feature = "python")]
mod python;

pub use aggregate::{GroupStats, Hit, MalformedEvent, Partial};
pub use detection::Detection;
pub use error::{Error, Result};
pub use input::Input;
pub use output::{InputReport, ScanOutput};
pub use progress::Progress;
pub use scan::{scan, scan_inputs, ScanOptions};

/// The pipeline's pieces, one by one, for the project's own benches
/// (`benches/pieces.rs`) and fuzz targets (`fuzz/`). Not a stable API.
#[doc(hidden)]
pub mod pieces {
    pub use crate::detection::CompiledDetection;
    pub use crate::event::ScanContext;
    pub use crate::framer::{count_starts, is_start_delimiter, Framer, StartSearch, END};
    pub use crate::json_shapes::{read_record, JsonTable};
    pub use crate::matcher::Verdict;
    pub use crate::parser::{parse_event, EventValues, FieldTable};
    pub use crate::prefilter::Prefilter;
    pub use crate::source::Source;
    pub use crate::stream::{scan_unit, Scratch, UnitPosition};
}
