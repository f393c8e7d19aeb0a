//! Binary Windows event logs (`.evtx`), read with the `evtx` crate.
//!
//! Each record is rendered to XML by the crate and that XML goes through the
//! same framer, prefilter, parser and matcher as a text log, so an EVTX file
//! gives exactly the answer its XML export gives. Work splits by 64 KiB
//! chunks (each parses on its own): a chunk belongs to the unit whose byte
//! range holds its offset, so the scan pool parses chunks in parallel.
//!
//! A chunk or record the crate cannot read is a malformed event located at
//! its file offset (not an event: `events` counts records read), and the
//! rest of the file is still scanned.

use std::io::{self, Read, Seek, SeekFrom};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use evtx::err::EvtxError;
use evtx::{EvtxChunkData, EvtxFileHeader, ParserSettings};

use crate::aggregate::Partial;
use crate::error::{Error, Result};
use crate::source::{Source, Unit};
use crate::stream::{scan_document, Matcher, ReadFailure, Scratch};

/// The file header of binary Windows event logs.
pub const EVTX_MAGIC: &[u8] = b"ElfFile\0";
/// Chunks follow the 4 KiB file header block at fixed offsets.
pub const EVTX_CHUNK_SIZE: u64 = 64 << 10;
const HEADER_BLOCK_SIZE: u64 = 4 << 10;
/// A record starts with a 24-byte header before its binary XML.
const RECORD_HEADER_SIZE: u64 = 24;
/// The first record of a chunk follows its 512-byte header.
const CHUNK_HEADER_SIZE: u64 = 512;

const CORRUPT_CHUNK: &str = "EVTX chunk is corrupt (bad header or string table)";
const CORRUPT_RECORD: &str = "EVTX record is corrupt (cannot be read or rendered)";
const INCOMPLETE_CHUNK: &str = "EVTX file ends inside a chunk (incomplete chunk)";
const PARSER_PANIC: &str = "EVTX chunk made the parser fail (internal error in the evtx crate)";

/// Checks the file header, so that a broken one fails the scan before any
/// work, naming the file. A header checksum mismatch alone is not fatal: a
/// log that was not closed cleanly has one, and chunks carry checksums of
/// their own (the crate and Windows read such files too).
pub fn check_header(path: &Path, file: &mut (impl Read + Seek)) -> Result<()> {
    let broken = |detail: String| Error::BadEvtx { path: path.to_path_buf(), detail };
    let header = EvtxFileHeader::from_stream(file).map_err(|e| broken(e.to_string()))?;
    if header.header_block_size as u64 != HEADER_BLOCK_SIZE || header.header_size != 128 || header.major_version != 3 {
        return Err(broken(format!(
            "unexpected file header (header size {}, block size {}, version {}.{}; expected 128, 4096, 3.x)",
            header.header_size, header.header_block_size, header.major_version, header.minor_version
        )));
    }
    Ok(())
}

/// Scans the chunks of `source` whose offsets lie in `unit`'s range.
pub fn scan_evtx_unit(
    matcher: &Matcher<'_>,
    scratch: &mut Scratch,
    source: &Source,
    unit: &Unit,
    cancel: &AtomicBool,
    partial: &mut Partial,
) -> std::result::Result<(), ReadFailure> {
    let mut file = source.open_raw().map_err(|e| match e {
        Error::Io { source, .. } => ReadFailure::Io(source, 0),
        other => ReadFailure::Io(io::Error::other(other.to_string()), 0),
    })?;
    let settings = Arc::new(ParserSettings::new().indent(false));
    let size = source.size;
    let unit_end = unit.start.saturating_add(unit.owned_len).min(size);
    // The first chunk offset at or after the unit's start.
    let first = if unit.start <= HEADER_BLOCK_SIZE {
        0
    } else {
        (unit.start - HEADER_BLOCK_SIZE).div_ceil(EVTX_CHUNK_SIZE)
    };
    let mut data = Vec::with_capacity(EVTX_CHUNK_SIZE as usize);
    let mut number = first;
    loop {
        let offset = HEADER_BLOCK_SIZE + number * EVTX_CHUNK_SIZE;
        if offset >= unit_end {
            return Ok(());
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(ReadFailure::Cancelled);
        }
        data.clear();
        file.seek(SeekFrom::Start(offset)).map_err(|e| ReadFailure::Io(e, offset))?;
        (&mut file).take(EVTX_CHUNK_SIZE).read_to_end(&mut data).map_err(|e| ReadFailure::Io(e, offset))?;
        // Windows leaves unused chunks zeroed; the crate skips them too.
        let empty = data.iter().all(|&b| b == 0);
        if empty {
            // Nothing to scan.
        } else if (data.len() as u64) < EVTX_CHUNK_SIZE {
            partial.add_malformed(unit.file_index, offset, INCOMPLETE_CHUNK);
        } else {
            let chunk = std::mem::replace(&mut data, Vec::with_capacity(EVTX_CHUNK_SIZE as usize));
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                scan_chunk(matcher, scratch, chunk, &settings, unit.file_index, offset, partial)
            }));
            if outcome.is_err() {
                partial.add_malformed(unit.file_index, offset, PARSER_PANIC);
            }
        }
        number += 1;
    }
}

/// Scans one chunk's records at file offset `offset`.
fn scan_chunk(
    matcher: &Matcher<'_>,
    scratch: &mut Scratch,
    data: Vec<u8>,
    settings: &Arc<ParserSettings>,
    file_index: usize,
    offset: u64,
    partial: &mut Partial,
) {
    let Ok(mut chunk_data) = EvtxChunkData::new(data, false) else {
        partial.add_malformed(file_index, offset, CORRUPT_CHUNK);
        return;
    };
    let Ok(mut chunk) = chunk_data.parse(settings.clone()) else {
        partial.add_malformed(file_index, offset, CORRUPT_CHUNK);
        return;
    };
    // Where the next record should start, for errors that do not say.
    let mut next_record = CHUNK_HEADER_SIZE;
    for record in chunk.iter() {
        match record {
            Ok(record) => {
                let at = record.binxml_offset.saturating_sub(RECORD_HEADER_SIZE);
                // The record ends with a copy of its size (4 bytes).
                next_record = record.binxml_offset + u64::from(record.binxml_size) + 4;
                match record.into_xml_bytes() {
                    Ok(rendered) => scan_document(matcher, scratch, &rendered.data, file_index, offset + at, partial),
                    Err(_) => partial.add_malformed(file_index, offset + at, CORRUPT_RECORD),
                }
            }
            Err(EvtxError::FailedToReadRecordAt { offset: at, .. }) => {
                partial.add_malformed(file_index, offset + at, CORRUPT_RECORD);
            }
            Err(_) => partial.add_malformed(file_index, offset + next_record, CORRUPT_RECORD),
        }
    }
}
