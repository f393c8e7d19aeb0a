//! Binary Windows event logs (`.evtx`), read with the `evtx` crate.
//!
//! Each record is rendered to XML by the crate and that XML goes through the
//! same framer, prefilter, parser and context as a text log, so an EVTX file
//! gives exactly the answer its XML export gives. Work splits by 64 KiB
//! chunks (each parses on its own): a chunk belongs to the unit whose byte
//! range holds its offset, so the scan pool parses chunks in parallel.
//!
//! A chunk or record the crate cannot read is malformed, located at its file
//! offset, and the rest of the file is still scanned. `events` counts the
//! records whose header reads (one whose content cannot be built is an
//! event and malformed). Records the binary candidate test rules out are
//! counted and never built or rendered (see [`crate::evtx_prefilter`]).

use std::io::{Read, Seek, SeekFrom};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use evtx::err::EvtxError;
use evtx::{EvtxChunkData, EvtxFileHeader, ParserSettings};

use crate::aggregate::Partial;
use crate::error::{Error, Result};
use crate::event::ScanContext;
use crate::evtx_prefilter::ChunkPlan;
use crate::progress::Progress;
use crate::source::{Source, Unit};
use crate::stream::{scan_document, ReadFailure, Scratch};

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

/// Scans the chunks of `source` whose offsets lie in `unit`'s range,
/// adding each chunk's bytes to `progress` as it is read.
pub fn scan_evtx_unit(
    context: &ScanContext<'_>,
    scratch: &mut Scratch,
    source: &Source,
    unit: &Unit,
    progress: Option<&Arc<Progress>>,
    cancel: &AtomicBool,
    partial: &mut Partial,
) -> std::result::Result<(), ReadFailure> {
    let mut file = source.open_raw().map_err(ReadFailure::Failed)?;
    let settings = Arc::new(ParserSettings::new().indent(false));
    let size = source.size;
    let unit_end = unit.start.saturating_add(unit.owned_len).min(size);
    // The first chunk offset at or after the unit's start.
    let first =
        if unit.start <= HEADER_BLOCK_SIZE { 0 } else { (unit.start - HEADER_BLOCK_SIZE).div_ceil(EVTX_CHUNK_SIZE) };
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
        if let Some(progress) = progress {
            progress.add(data.len() as u64);
        }
        // Windows leaves unused chunks zeroed; the crate skips them too.
        let empty = data.iter().all(|&b| b == 0);
        if empty {
            // Nothing to scan.
        } else if (data.len() as u64) < EVTX_CHUNK_SIZE {
            partial.add_malformed(unit.file_index, offset, INCOMPLETE_CHUNK);
        } else {
            let chunk = std::mem::replace(&mut data, Vec::with_capacity(EVTX_CHUNK_SIZE as usize));
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                scan_chunk(context, scratch, chunk, &settings, unit.file_index, offset, partial)
            }));
            if outcome.is_err() {
                partial.add_malformed(unit.file_index, offset, PARSER_PANIC);
            }
        }
        number += 1;
    }
}

/// Scans one chunk's records at file offset `offset`. Every record whose
/// header reads is an event; only the records the binary candidate test
/// (see [`crate::evtx_prefilter`]) cannot rule out are built and rendered,
/// every record when the context has no such test.
fn scan_chunk(
    context: &ScanContext<'_>,
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
    let plan = match &context.evtx_prefilter {
        Some(prefilter) => prefilter.plan_chunk(chunk.data, chunk.header, &mut scratch.evtx),
        None => ChunkPlan::RenderAll,
    };
    if let ChunkPlan::Skip { records } = plan {
        partial.events += records;
        return;
    }
    // Where the next record should start, for errors that do not say.
    let mut next_record = CHUNK_HEADER_SIZE;
    for record in chunk.iter() {
        match record {
            Ok(record) => {
                let at = record.binxml_offset.saturating_sub(RECORD_HEADER_SIZE);
                // The record ends with a copy of its size (4 bytes).
                next_record = record.binxml_offset + u64::from(record.binxml_size) + 4;
                partial.events += 1;
                if !plan.renders(record.binxml_offset) {
                    continue;
                }
                match record.into_xml_bytes() {
                    Ok(rendered) => {
                        // The record is the event, counted above, whatever its XML holds.
                        let events = partial.events;
                        scan_document(context, scratch, &rendered.data, file_index, offset + at, partial);
                        partial.events = events;
                    }
                    Err(_) => partial.add_malformed(file_index, offset + at, CORRUPT_RECORD),
                }
            }
            // The record header cannot be read: not an event.
            Err(EvtxError::FailedToReadRecordAt { offset: at, .. }) => {
                partial.add_malformed(file_index, offset + at, CORRUPT_RECORD);
            }
            // The header was read, its content could not be built.
            Err(_) => {
                partial.events += 1;
                partial.add_malformed(file_index, offset + next_record, CORRUPT_RECORD);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::detection::Detection;
    use crate::parser::{parse_event, EventValues, FieldTable};

    /// A file of the shared corpus beside the checkout. Tests that call
    /// this are ignored when the corpus is absent (see build.rs), except
    /// under CI, where a missing file fails them.
    fn corpus(relative: &str) -> PathBuf {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/real").join(relative);
        assert!(path.is_file(), "{} is missing: shared/corpus must be beside the checkout", path.display());
        path
    }

    /// Every value the detection reads from the one event in `document`;
    /// the time as the microseconds it means (the crate writes 7 fraction
    /// digits, older exports 6: the same `_time`).
    fn fields(document: &[u8], table: &FieldTable, time_slot: usize, values: &mut EventValues) -> Vec<Option<String>> {
        let slots = Detection::telegram_downloads().compile().fields.len();
        let start = memchr::memmem::find(document, b"<Event").expect("an event");
        let end = memchr::memmem::rfind(document, b"</Event>").expect("its end") + 8;
        parse_event(&document[start..end], table, values).expect("well-formed");
        (0..slots)
            .map(|slot| match values.get(slot) {
                Some(time) if slot == time_slot => crate::time::parse_system_time(time).map(|us| us.to_string()),
                value => value.map(str::to_string),
            })
            .collect()
    }

    /// The fields of every record the crate can read, rendered as the scan renders them.
    fn evtx_records(path: &Path, table: &FieldTable, time_slot: usize) -> Vec<Vec<Option<String>>> {
        let data = std::fs::read(path).unwrap();
        let settings = Arc::new(ParserSettings::new().indent(false));
        let mut values = EventValues::default();
        let mut out = Vec::new();
        for chunk in data[HEADER_BLOCK_SIZE as usize..].chunks_exact(EVTX_CHUNK_SIZE as usize) {
            let Ok(mut chunk_data) = EvtxChunkData::new(chunk.to_vec(), false) else { continue };
            let Ok(mut chunk) = chunk_data.parse(settings.clone()) else { continue };
            for record in chunk.iter().flatten() {
                let rendered = record.into_xml_bytes().unwrap();
                out.push(fields(&rendered.data, table, time_slot, &mut values));
            }
        }
        out
    }

    #[test]
    #[cfg_attr(all(not(corpus), not(ci)), ignore = "shared/corpus is not beside the checkout")]
    fn every_record_has_the_values_of_its_xml_export() {
        let pairs = [
            ("omerbenamram-evtx/sysmon.evtx", "omerbenamram-evtx/sysmon.xml.log", 358),
            ("casimkhan-sysmongo/sysmon-operational.evtx", "casimkhan-sysmongo/sysmon-operational.xml.log", 2322),
        ];
        let compiled = Detection::telegram_downloads().compile();
        let table = FieldTable::new(&compiled.fields);
        let time_slot = compiled.time_slot;
        for (evtx, xml, count) in pairs {
            let (evtx, xml) = (corpus(evtx), corpus(xml));
            let mut records = evtx_records(&evtx, &table, time_slot);
            let mut values = EventValues::default();
            let text = std::fs::read(&xml).unwrap();
            let mut lines: Vec<_> = text
                .split(|&b| b == b'\n')
                .filter(|line| memchr::memmem::find(line, b"<Event").is_some())
                .map(|line| fields(line, &table, time_slot, &mut values))
                .collect();
            assert_eq!((records.len(), lines.len()), (count, count), "{}", evtx.display());
            // Same multiset of records (the export's order is the log's, oldest chunk first).
            records.sort();
            lines.sort();
            for (record, line) in records.iter().zip(&lines) {
                assert_eq!(record, line, "{}", evtx.display());
            }
            // Every record has its provider, event ID, computer and time.
            assert!(records.iter().all(|r| r.iter().filter(|v| v.is_some()).count() >= 4));
        }
    }

    #[test]
    #[cfg_attr(all(not(corpus), not(ci)), ignore = "shared/corpus is not beside the checkout")]
    fn progress_counts_every_chunk_read() {
        let path = corpus("casimkhan-sysmongo/sysmon-operational.evtx");
        let source = Source::inspect(&path).unwrap();
        let compiled = Detection::telegram_downloads().compile();
        let context = ScanContext::new(&compiled);
        let progress = Arc::new(Progress::default());
        progress.set_total(source.size);
        let unit = Unit { file_index: 0, start: 0, owned_len: u64::MAX };
        let mut partial = Partial::default();
        let scanned = scan_evtx_unit(
            &context,
            &mut Scratch::new(),
            &source,
            &unit,
            Some(&progress),
            &AtomicBool::new(false),
            &mut partial,
        );
        assert!(scanned.is_ok());
        assert_eq!(partial.events, 2322);
        // Every byte after the header block is read once, in whole chunks.
        assert_eq!(progress.get(), Some((source.size - HEADER_BLOCK_SIZE, source.size)));
    }

    #[test]
    fn a_short_or_foreign_header_is_refused_naming_the_file() {
        let path = Path::new("x.evtx");
        let error = check_header(path, &mut std::io::Cursor::new(b"ElfFile\0short".to_vec())).unwrap_err();
        assert!(error.to_string().starts_with("x.evtx: not a readable EVTX file"), "{error}");
        let zeros = [EVTX_MAGIC, &[0u8; 4088][..]].concat();
        let error = check_header(path, &mut std::io::Cursor::new(zeros)).unwrap_err();
        assert!(error.to_string().contains("unexpected file header"), "{error}");
    }
}
