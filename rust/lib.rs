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
//! assert_eq!(out.hits[0].values[0], "host");
//! assert_eq!(out.hits[0].stats.count, 1);
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

pub mod aggregate;
pub mod detection;
pub mod distributed;
pub mod error;
pub mod evtx;
pub mod evtx_prefilter;
pub mod framer;
pub mod input;
pub mod matcher;
pub mod parser;
pub mod prefilter;
pub mod progress;
pub mod readahead;
pub mod scan;
pub mod source;
pub mod stream;
pub mod time;
pub mod utf16;
mod xml_names;
pub mod xml_rules;

#[cfg(feature = "python")]
mod python;

pub use aggregate::{GroupStats, Hit, MalformedEvent};
pub use detection::Detection;
pub use progress::Progress;
pub use error::{Error, Result};
pub use input::Input;
pub use scan::{scan, scan_inputs, InputReport, ScanOptions, ScanOutput};
