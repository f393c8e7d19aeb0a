//! JSON inputs: NDJSON (one record per line) or top-level arrays (one
//! record per element), each record mapped onto the detection's fields by
//! [`crate::json_shapes`] and judged exactly as an XML event is.
//!
//! Speed comes from the XML path's idea: a record is parsed only when its
//! raw bytes could hold a match. Without a `\u` escape, a decoded JSON
//! string holds a literal only if the raw bytes do (the other escapes make
//! `"`, `\`, `/` and control characters, which no literal holds); a
//! Splunk `_raw` may hide one behind an XML reference, comment or
//! processing instruction, which the XML prefilter already sees through.
//! So a record is a candidate when it contains the literals as they are,
//! or holds a `\u` escape, or holds `<Event` and the XML prefilter passes it.
//!
//! Counts: every record is counted (`json_records`); records recognised as
//! Windows events (`json_events`) and malformed records are counted among
//! the records parsed, i.e. those that could match. Like docs/semantics.md's
//! malformed count, they are therefore lower bounds, which the reference
//! (parsing every record) gives exactly.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::aggregate::Partial;
use crate::event::{count_event, ScanContext, MAX_EVENT_BYTES};
use crate::json_shapes::{read_record, JsonTable, Record};
use crate::parser::EventValues;
use crate::source::Unit;
use crate::stream::{scan_document, ReadFailure, Scratch};

/// Deeper records are malformed: no shape nests past 5 levels, and the
/// limit keeps every parser's recursion (ours and the reference's) bounded.
pub const MAX_JSON_DEPTH: usize = 64;

const TOO_LONG: &str = "JSON record longer than 1 MiB";
const TOO_DEEP: &str = "JSON record nested deeper than 64 levels";
const NO_TIME: &str = "matching JSON record has no usable time";

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

fn is_json_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Judges records for one unit.
struct RecordChecker<'m, 'd> {
    context: &'m ScanContext<'d>,
    table: JsonTable,
    values: EventValues,
    decoded: Vec<u8>,
    /// A literal that an escape other than `\u` could make: no raw-byte test is sound.
    every_record_is_candidate: bool,
    unicode_escape: memchr::memmem::Finder<'static>,
    event_start: memchr::memmem::Finder<'static>,
    file_index: usize,
}

impl<'m, 'd> RecordChecker<'m, 'd> {
    fn new(context: &'m ScanContext<'d>, file_index: usize) -> Self {
        let escapable = |b: &u8| matches!(b, b'"' | b'\\' | b'/') || *b < 0x20;
        RecordChecker {
            context,
            table: JsonTable::new(&context.detection.fields),
            values: EventValues::default(),
            decoded: Vec::new(),
            every_record_is_candidate: context.prefilter.literals().any(|l| l.iter().any(escapable)),
            unicode_escape: memchr::memmem::Finder::new(b"\\u"),
            event_start: memchr::memmem::Finder::new(b"<Event"),
            file_index,
        }
    }

    fn is_candidate(&mut self, record: &[u8]) -> bool {
        let prefilter = &self.context.prefilter;
        self.every_record_is_candidate
            || prefilter.contains_literals(record)
            || has_unicode_escape(&self.unicode_escape, record)
            // An XML event in a string (Splunk's `_raw`) may hide a literal
            // behind a reference, comment or processing instruction.
            || (self.event_start.find(record).is_some() && prefilter.may_match(record, &mut self.decoded))
    }

    /// One record (no line end), at `offset` of the decoded stream. `depth`:
    /// its nesting depth when the framing already measured it.
    fn check(
        &mut self,
        scratch: &mut Scratch,
        record: &[u8],
        offset: u64,
        depth: Option<usize>,
        partial: &mut Partial,
    ) {
        partial.json_records += 1;
        if record.len() > MAX_EVENT_BYTES {
            partial.add_malformed(self.file_index, offset, TOO_LONG);
            return;
        }
        if !self.is_candidate(record) {
            return;
        }
        if depth.map_or_else(|| too_deep(record), |d| d > MAX_JSON_DEPTH) {
            partial.add_malformed(self.file_index, offset, TOO_DEEP);
            return;
        }
        let detection = self.context.detection;
        match read_record(record, &self.table, &mut self.values) {
            Err(reason) => partial.add_malformed(self.file_index, offset, reason),
            Ok(Record::NotAnEvent) => {}
            Ok(Record::SplunkRaw(xml)) => {
                // The XML path frames, checks and judges `_raw`; its events
                // are this record's, counted as one recognised record.
                let events = partial.events;
                scan_document(self.context, scratch, xml.as_bytes(), self.file_index, offset, partial);
                if partial.events > events {
                    partial.json_events += 1;
                }
                partial.events = events;
            }
            Ok(Record::Event) => {
                partial.json_events += 1;
                if !count_event(detection, &self.values, partial) {
                    partial.add_malformed(self.file_index, offset, NO_TIME);
                }
            }
        }
    }
}

/// Whether `record` holds a `\u` escape: a `u` after an odd run of
/// backslashes (`\\u`, an escaped backslash then `u`, is common in Windows
/// paths such as `\\user32.dll` and is not one).
fn has_unicode_escape(finder: &memchr::memmem::Finder<'_>, record: &[u8]) -> bool {
    finder.find_iter(record).any(|i| {
        let run = record[..=i].iter().rev().take_while(|&&b| b == b'\\').count();
        run % 2 == 1
    })
}

/// Whether a record nests deeper than [`MAX_JSON_DEPTH`]. Counting `{` and
/// `[` bytes bounds the depth from above and settles nearly every record.
fn too_deep(record: &[u8]) -> bool {
    memchr::memchr2_iter(b'{', b'[', record).count() > MAX_JSON_DEPTH && max_depth(record) > MAX_JSON_DEPTH
}

/// The deepest nesting of `{`/`[` outside strings.
pub fn max_depth(record: &[u8]) -> usize {
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < record.len() {
        match record[i] {
            b'"' => i = string_end(record, i + 1).unwrap_or(record.len()),
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// The index of the `"` closing a string whose content starts at `from`.
fn string_end(bytes: &[u8], from: usize) -> Option<usize> {
    scan_string(bytes, from).ok()
}

/// Finds the `"` closing a string whose content starts at `from`: `Ok` its
/// index, or `Err` where to resume once more bytes follow (the end, or a
/// trailing `\` whose escaped byte is still to come).
fn scan_string(bytes: &[u8], mut from: usize) -> Result<usize, usize> {
    loop {
        let Some(found) = memchr::memchr2(b'"', b'\\', &bytes[from..]) else { return Err(bytes.len()) };
        let i = from + found;
        if bytes[i] == b'"' {
            return Ok(i);
        }
        if i + 1 >= bytes.len() {
            return Err(i);
        }
        from = i + 2;
    }
}

/// A unit's input read in chunks; `buf[pos..filled]` is unread.
struct Chunks<R> {
    reader: R,
    buf: Vec<u8>,
    filled: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    eof: bool,
    chunk_size: usize,
    failure: Option<ReadFailure>,
}

impl<R: Read> Chunks<R> {
    /// Drops `buf[..keep_from]`, then reads up to a chunk more. A read error
    /// ends the input (what came before is scanned) and is kept for the caller.
    fn refill(&mut self, keep_from: usize, cancel: &AtomicBool) -> Result<(), ReadFailure> {
        if cancel.load(Ordering::Relaxed) {
            return Err(ReadFailure::Cancelled);
        }
        self.buf.copy_within(keep_from..self.filled, 0);
        self.filled -= keep_from;
        self.base += keep_from as u64;
        let target = self.filled + self.chunk_size;
        if self.buf.len() < target {
            self.buf.resize(target, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.filled..target]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.filled += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.failure = Some(ReadFailure::Io(e, self.base + self.filled as u64));
                    self.eof = true;
                    return Ok(());
                }
            }
        }
    }

    fn finish(self) -> Result<(), ReadFailure> {
        self.failure.map_or(Ok(()), Err)
    }
}

/// How a JSON unit is read: its layout, and the bytes each read asks for.
#[derive(Clone, Copy, Debug)]
pub struct JsonReading {
    /// Top-level arrays (one unit per input); otherwise NDJSON.
    pub array: bool,
    pub chunk_size: usize,
}

/// Scans one unit of a JSON input into `partial`. `reader` starts at
/// `unit.start - 1` (at 0 for the first unit) so that an NDJSON unit can
/// tell whether a line starts at its first byte; arrays are one unit.
pub fn scan_json_unit(
    context: &ScanContext<'_>,
    scratch: &mut Scratch,
    reader: impl Read,
    unit: &Unit,
    reading: JsonReading,
    cancel: &AtomicBool,
    partial: &mut Partial,
) -> Result<(), ReadFailure> {
    let JsonReading { array, chunk_size } = reading;
    let base = unit.start.saturating_sub(1);
    let mut chunks = Chunks { reader, buf: Vec::new(), filled: 0, base, eof: false, chunk_size, failure: None };
    let mut checker = RecordChecker::new(context, unit.file_index);
    if array {
        scan_arrays(&mut checker, scratch, &mut chunks, cancel, partial)?;
    } else {
        let end = unit.start.saturating_add(unit.owned_len);
        scan_lines(&mut checker, scratch, &mut chunks, unit.start > 0, end, cancel, partial)?;
    }
    chunks.finish()
}

/// NDJSON: every line whose first byte lies before `end` is this unit's.
/// `skip_first`: the input starts one byte before the unit, inside the
/// previous unit's last line (or at its line end).
fn scan_lines<R: Read>(
    checker: &mut RecordChecker<'_, '_>,
    scratch: &mut Scratch,
    chunks: &mut Chunks<R>,
    mut skip_first: bool,
    end: u64,
    cancel: &AtomicBool,
    partial: &mut Partial,
) -> Result<(), ReadFailure> {
    let mut pos = 0usize;
    // Inside a line already counted as too long: dropped up to its end.
    let mut discarding = false;
    loop {
        let line_offset = chunks.base + pos as u64;
        let line_end = memchr::memchr(b'\n', &chunks.buf[pos..chunks.filled]).map(|i| pos + i);
        let owned = line_offset < end;
        match line_end {
            Some(line_end) => {
                if !(skip_first || discarding) {
                    if !owned {
                        return Ok(());
                    }
                    check_line(checker, scratch, &chunks.buf[pos..line_end], line_offset, partial);
                }
                skip_first = false;
                discarding = false;
                pos = line_end + 1;
                continue;
            }
            None if chunks.eof => {
                if !(skip_first || discarding) && owned && pos < chunks.filled {
                    check_line(checker, scratch, &chunks.buf[pos..chunks.filled], line_offset, partial);
                }
                return Ok(());
            }
            None => {
                if skip_first || discarding {
                    pos = chunks.filled;
                } else if chunks.filled - pos > MAX_EVENT_BYTES {
                    if !owned {
                        return Ok(());
                    }
                    partial.json_records += 1;
                    partial.add_malformed(checker.file_index, line_offset, TOO_LONG);
                    discarding = true;
                    pos = chunks.filled;
                }
            }
        }
        chunks.refill(pos, cancel)?;
        pos = 0;
    }
}

/// One NDJSON line (without its `\n`): a record unless blank.
fn check_line(
    checker: &mut RecordChecker<'_, '_>,
    scratch: &mut Scratch,
    line: &[u8],
    offset: u64,
    partial: &mut Partial,
) {
    let record = if offset == 0 { line.strip_prefix(UTF8_BOM).unwrap_or(line) } else { line };
    if record.iter().all(|&b| is_json_space(b)) {
        return;
    }
    checker.check(scratch, record, offset, None, partial);
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ArrayState {
    /// Before an array (or after one): white space, `[`, or the end.
    Outside,
    /// After `[`: an element or `]`.
    Open,
    /// After `,`: an element.
    Comma,
    /// After an element: `,` or `]`.
    AfterElement,
    /// Inside an element that started at `element_start`.
    Element(ElementKind),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ElementKind {
    /// An object or array: ends where its nesting returns to zero.
    Container,
    String,
    /// A number, `true`, `false`, `null` (or garbage): ends before white space, `,` or `]`.
    Scalar,
}

/// Arrays of records: `[` element (`,` element)* `]`, white space anywhere
/// between, any number of arrays one after another. The framing follows
/// strings and nesting only; each element is then checked as a record.
/// Framing that cannot go on (no `[`, a missing `,`, the end inside an
/// array) is one malformed entry at that place, and the rest of the input
/// is not read: there is no line to resume at.
fn scan_arrays<R: Read>(
    checker: &mut RecordChecker<'_, '_>,
    scratch: &mut Scratch,
    chunks: &mut Chunks<R>,
    cancel: &AtomicBool,
    partial: &mut Partial,
) -> Result<(), ReadFailure> {
    let file_index = checker.file_index;
    let mut state = ArrayState::Outside;
    let mut pos = 0usize;
    let mut element_start = 0usize;
    let (mut depth, mut deepest, mut in_string) = (0usize, 0usize, false);
    // An element past the size cap: counted, its bytes not kept.
    let mut oversized: Option<u64> = None;
    let mut bom_checked = false;
    loop {
        if !bom_checked && (chunks.filled >= UTF8_BOM.len() || chunks.eof) {
            bom_checked = true;
            if chunks.base == 0 && chunks.buf[..chunks.filled].starts_with(UTF8_BOM) {
                pos = UTF8_BOM.len();
            }
        }
        let buf = &chunks.buf[..chunks.filled];
        while bom_checked && pos < buf.len() {
            let b = buf[pos];
            let at = chunks.base + pos as u64;
            match state {
                ArrayState::Element(kind) => {
                    let done = if in_string {
                        match scan_string(buf, pos) {
                            Ok(close) => {
                                pos = close + 1;
                                in_string = false;
                                kind == ElementKind::String
                            }
                            Err(resume) => {
                                pos = resume;
                                break;
                            }
                        }
                    } else if kind == ElementKind::Scalar {
                        let end = is_json_space(b) || b == b',' || b == b']';
                        pos += usize::from(!end);
                        end
                    } else {
                        pos += 1;
                        match b {
                            b'"' => in_string = true,
                            b'{' | b'[' => {
                                depth += 1;
                                deepest = deepest.max(depth);
                            }
                            b'}' | b']' => depth -= 1,
                            _ => {}
                        }
                        depth == 0
                    };
                    if done {
                        match oversized.take() {
                            Some(offset) => {
                                partial.json_records += 1;
                                partial.add_malformed(file_index, offset, TOO_LONG);
                            }
                            None => {
                                let offset = chunks.base + element_start as u64;
                                checker.check(scratch, &buf[element_start..pos], offset, Some(deepest), partial);
                            }
                        }
                        state = ArrayState::AfterElement;
                    }
                    continue;
                }
                _ if is_json_space(b) => {}
                ArrayState::Outside if b == b'[' => state = ArrayState::Open,
                ArrayState::Outside => {
                    partial.add_malformed(file_index, at, "expected [ to start a JSON array");
                    return Ok(());
                }
                ArrayState::Open if b == b']' => state = ArrayState::Outside,
                ArrayState::AfterElement if b == b',' => state = ArrayState::Comma,
                ArrayState::AfterElement if b == b']' => state = ArrayState::Outside,
                ArrayState::AfterElement => {
                    partial.add_malformed(file_index, at, "expected , or ] after a JSON array element");
                    return Ok(());
                }
                ArrayState::Comma if b == b']' || b == b',' => {
                    partial.add_malformed(file_index, at, "expected a JSON array element after ,");
                    return Ok(());
                }
                ArrayState::Open | ArrayState::Comma => {
                    element_start = pos;
                    oversized = None;
                    let kind = match b {
                        b'{' | b'[' => ElementKind::Container,
                        b'"' => ElementKind::String,
                        _ => ElementKind::Scalar,
                    };
                    let container = kind == ElementKind::Container;
                    (depth, deepest, in_string) =
                        (usize::from(container), usize::from(container), kind == ElementKind::String);
                    state = ArrayState::Element(kind);
                    // A scalar's first byte is read again as part of it.
                    pos += usize::from(kind != ElementKind::Scalar);
                    continue;
                }
            }
            pos += 1;
        }
        if chunks.eof {
            match state {
                ArrayState::Outside => {}
                ArrayState::Element(_) => {
                    partial.json_records += 1;
                    let offset = oversized.unwrap_or(chunks.base + element_start as u64);
                    partial.add_malformed(file_index, offset, "JSON array not closed");
                }
                _ => partial.add_malformed(file_index, chunks.base + chunks.filled as u64, "JSON array not closed"),
            }
            return Ok(());
        }
        let in_element = matches!(state, ArrayState::Element(_));
        if in_element && oversized.is_none() && chunks.filled - element_start > MAX_EVENT_BYTES {
            oversized = Some(chunks.base + element_start as u64);
        }
        let keep_from = if in_element && oversized.is_none() { element_start } else { pos };
        chunks.refill(keep_from, cancel)?;
        pos -= keep_from;
        element_start = element_start.saturating_sub(keep_from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::Detection;

    fn scan(input: &[u8], array: bool, chunk_size: usize) -> Partial {
        let compiled = Detection::telegram_downloads().compile();
        let context = ScanContext::new(&compiled);
        let mut partial = Partial::default();
        let unit = Unit { file_index: 0, start: 0, owned_len: u64::MAX };
        let cancel = AtomicBool::new(false);
        let result = scan_json_unit(
            &context,
            &mut Scratch::new(),
            input,
            &unit,
            JsonReading { array, chunk_size },
            &cancel,
            &mut partial,
        );
        assert!(result.is_ok());
        partial
    }

    const NX: &str = r#"{"SourceName":"Microsoft-Windows-Sysmon","EventID":15,"Hostname":"h","UtcTime":"2020-10-09 22:28:00.962","ProcessId":"1","Image":"C:\\x\\Telegram.exe","TargetFilename":"C:\\a.exe:Zone.Identifier","Hash":"MD5=0"}"#;

    #[test]
    fn unicode_escapes_are_told_from_escaped_backslashes() {
        let finder = memchr::memmem::Finder::new(b"\\u");
        let has_unicode_escape = |record: &[u8]| super::has_unicode_escape(&finder, record);
        assert!(has_unicode_escape(br#""\u0074""#));
        assert!(has_unicode_escape(br#""\\\u0074""#));
        assert!(!has_unicode_escape(br#""C:\\user32.dll""#));
        assert!(!has_unicode_escape(br#""\\\\u""#));
        assert!(has_unicode_escape(br#""\\ \u""#));
    }

    #[test]
    fn depth() {
        assert_eq!(max_depth(br#"{"a":[{"b":"[[[{"}]}"#), 3);
        assert_eq!(max_depth(br#"{"a":"\"{"}"#), 1);
        assert!(!too_deep(br#"{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}"#));
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert!(too_deep(deep.as_bytes()));
    }

    #[test]
    fn ndjson_and_arrays_agree_at_every_chunk_size() {
        let lines = format!("\u{feff}{NX}\r\n\n  \n{{\"a\":1}}\n{NX}");
        let array = format!("\u{feff} [ {NX} ,\n\"x\", 12 ,{{}},{NX}]\n[]");
        for chunk_size in [1, 2, 3, 7, 64, 1 << 20] {
            let p = scan(lines.as_bytes(), false, chunk_size);
            assert_eq!((p.json_records, p.json_events, p.malformed), (3, 2, 0), "{chunk_size}");
            assert_eq!(p.into_hits()[0].stats.count, 2);
            let p = scan(array.as_bytes(), true, chunk_size);
            assert_eq!((p.json_records, p.json_events, p.malformed), (5, 2, 0), "{chunk_size}");
            assert_eq!(p.into_hits()[0].stats.count, 2);
        }
    }

    #[test]
    fn broken_arrays_stop_with_one_malformed_entry() {
        for (input, records, offset) in [
            (format!("[{NX} {NX}]"), 1, NX.len() + 2),
            (format!("[{NX},]"), 1, NX.len() + 2),
            (format!("[{NX}"), 1, NX.len() + 1),
            (format!("[{NX},{NX}"), 2, 2 * NX.len() + 2),
            ("x".to_string(), 0, 0),
        ] {
            let p = scan(input.as_bytes(), true, 5);
            assert_eq!((p.json_records, p.malformed, p.examples[0].offset), (records, 1, offset as u64), "{input}");
        }
    }
}
