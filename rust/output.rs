//! What a scan returns, and the one place it is assembled: from the inputs
//! as planned and the merged partial results of their units, for a local
//! scan and a distributed one alike.

use std::path::PathBuf;

use crate::aggregate::{Damage, Hit, MalformedEvent, Partial};
use crate::error::{Error, Result};

#[derive(Debug)]
pub struct ScanOutput {
    pub hits: Vec<Hit>,
    /// Files (and streams) scanned.
    pub files: usize,
    pub bytes: u64,
    pub events: u64,
    pub malformed: u64,
    /// JSON records read, and those recognised as Windows events (see `crate::json`).
    pub json_records: u64,
    pub json_events: u64,
    /// The first few malformed events, by (input, offset); `input` indexes
    /// `inputs`.
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

impl InputReport {
    /// An input that was scanned (its damage, if any, comes from the partials).
    pub fn scanned(path: PathBuf, format: &str, bytes: u64) -> Self {
        InputReport { path, format: Some(format.to_string()), bytes, skipped: None, damaged: None }
    }

    /// A file found in a directory and not scanned, and why.
    pub fn skipped(path: PathBuf, reason: String) -> Self {
        InputReport { path, format: None, bytes: 0, skipped: Some(reason), damaged: None }
    }
}

impl ScanOutput {
    /// The output of a scan of `inputs` (in the order given, skipped ones
    /// included) whose units' partial results were merged into `merged`,
    /// with `hits` taken from it (so that their sort can run where the
    /// caller has threads: see [`Partial::take_hits`]).
    /// Partials number files among the *scanned* inputs only; here every
    /// file number becomes an index into `inputs`. A number that names no
    /// scanned input means the partials were not made for this scan:
    /// `InvalidPartial`.
    pub fn assemble(mut inputs: Vec<InputReport>, mut merged: Partial, hits: Vec<Hit>) -> Result<ScanOutput> {
        let input_of: Vec<usize> = (0..inputs.len()).filter(|&i| inputs[i].skipped.is_none()).collect();
        let place = |file_index: usize, what: &str| {
            input_of
                .get(file_index)
                .copied()
                .ok_or_else(|| Error::InvalidPartial(format!("{what} in file {file_index} of {}", input_of.len())))
        };
        for Damage { file_index, offset, message } in std::mem::take(&mut merged.damage) {
            inputs[place(file_index, "damage")?].damaged = Some((offset, message));
        }
        let mut malformed_examples = std::mem::take(&mut merged.examples);
        for example in &mut malformed_examples {
            example.file_index = place(example.file_index, "a malformed event")?;
        }
        Ok(ScanOutput {
            files: input_of.len(),
            bytes: inputs.iter().map(|i| i.bytes).sum(),
            events: merged.events,
            malformed: merged.malformed,
            json_records: merged.json_records,
            json_events: merged.json_events,
            malformed_examples,
            files_skipped: inputs.len() - input_of.len(),
            inputs,
            hits,
        })
    }
}
