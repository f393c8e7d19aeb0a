//! Scans one unit of work: a byte stream whose event starts in
//! `[0, owned_end)` belong to it. Reads in fixed-size chunks and keeps only
//! the event being framed, so memory does not grow with the input.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::aggregate::Partial;
use crate::detection::CompiledDetection;
use crate::framer::{Framer, StartSearch, END};
use crate::matcher::Verdict;
use crate::parser::{parse_event, EventValues, FieldTable};
use crate::prefilter::Prefilter;

/// An event that has no `</Event>` within this many bytes of its start is
/// malformed. Windows caps an event record at 64 KiB, so this only ever
/// stops garbage from holding memory; the reference applies the same cap.
pub const MAX_EVENT_BYTES: usize = 16 << 20;
const TOO_LONG: &str = "no </Event> within 16 MiB of the event start";

/// Everything a worker shares with the others: built once per scan.
pub struct Matcher<'d> {
    pub detection: &'d CompiledDetection,
    pub table: FieldTable,
    pub framer: Framer,
    pub prefilter: Prefilter,
}

impl<'d> Matcher<'d> {
    pub fn new(detection: &'d CompiledDetection) -> Self {
        Matcher {
            detection,
            table: FieldTable::new(&detection.fields),
            framer: Framer::default(),
            prefilter: Prefilter::new(detection.prefilter_literal.as_deref()),
        }
    }
}

/// A worker's reusable scratch memory.
pub struct Scratch {
    buffer: Vec<u8>,
    values: EventValues,
    /// Decoded text for the prefilter.
    decoded: Vec<u8>,
}

impl Scratch {
    pub fn new() -> Self {
        Scratch { buffer: Vec::new(), values: EventValues::default(), decoded: Vec::new() }
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a unit sits in its file.
#[derive(Clone, Copy, Debug)]
pub struct UnitPosition {
    pub file_index: usize,
    /// Offset of the unit's first byte in the file's decoded stream.
    pub base: u64,
    /// Starts at `base + i` with `i >= owned_len` belong to the next unit.
    pub owned_len: u64,
}

/// Why reading stopped.
pub enum ReadFailure {
    Io(io::Error, u64),
    Cancelled,
}

/// Scans `reader` (positioned at `position.base`) into `partial`.
/// `chunk_size` is how many bytes each read asks for.
pub fn scan_unit(
    matcher: &Matcher<'_>,
    scratch: &mut Scratch,
    mut reader: impl Read,
    position: UnitPosition,
    chunk_size: usize,
    cancel: &AtomicBool,
    partial: &mut Partial,
) -> Result<(), ReadFailure> {
    let Scratch { buffer, values, decoded } = scratch;
    buffer.clear();
    // Stream offset of buffer[0], relative to the unit's base.
    let mut buffer_offset: u64 = 0;
    // Where the search for the next start resumes.
    let mut pos = 0usize;
    let mut at_eof = false;
    let framer = &matcher.framer;
    let offset_of = |buffer_offset: u64, i: usize| position.base + buffer_offset + i as u64;

    loop {
        // `keep_from`: the first byte that must survive the next refill.
        let keep_from = match framer.find_start(buffer, pos, at_eof) {
            StartSearch::Found(start) => {
                if buffer_offset + start as u64 >= position.owned_len {
                    return Ok(());
                }
                match frame_event(framer, buffer, start, at_eof) {
                    Framed::Complete { span_end, exact, next } => {
                        partial.events += 1;
                        let verdict = check_event(matcher, buffer, start, span_end, exact, values, decoded, partial);
                        if let Err(reason) = verdict {
                            partial.add_malformed(position.file_index, offset_of(buffer_offset, start), reason);
                        }
                        pos = next;
                        continue;
                    }
                    Framed::Unterminated { next, reason } => {
                        partial.events += 1;
                        partial.add_malformed(position.file_index, offset_of(buffer_offset, start), reason);
                        pos = next;
                        continue;
                    }
                    Framed::NeedMore if buffer.len() - start > MAX_EVENT_BYTES => {
                        partial.events += 1;
                        partial.add_malformed(
                            position.file_index,
                            offset_of(buffer_offset, start),
                            TOO_LONG,
                        );
                        // Nothing between here and the buffer's end starts an event.
                        pos = buffer.len().saturating_sub(Framer::START_OVERLAP).max(start + 1);
                        pos
                    }
                    Framed::NeedMore => start,
                }
            }
            StartSearch::Undecided(start) => {
                if buffer_offset + start as u64 >= position.owned_len {
                    return Ok(());
                }
                start
            }
            StartSearch::None => {
                let keep = buffer.len().saturating_sub(Framer::START_OVERLAP).max(pos);
                if at_eof || buffer_offset + keep as u64 >= position.owned_len {
                    return Ok(());
                }
                keep
            }
        };
        if at_eof {
            return Ok(());
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(ReadFailure::Cancelled);
        }
        // Drop what is done, then read the next chunk after what is kept.
        buffer.drain(..keep_from);
        buffer_offset += keep_from as u64;
        pos -= keep_from.min(pos);
        let read_at = buffer_offset + buffer.len() as u64;
        at_eof = fill(&mut reader, buffer, chunk_size)
            .map_err(|e| ReadFailure::Io(e, position.base + read_at))?;
    }
}

/// Appends up to `chunk_size` bytes; returns whether the stream has ended.
fn fill(reader: &mut impl Read, buffer: &mut Vec<u8>, chunk_size: usize) -> io::Result<bool> {
    let old_len = buffer.len();
    buffer.resize(old_len + chunk_size, 0);
    let mut filled = old_len;
    let result = loop {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break Ok(true),
            Ok(n) => {
                filled += n;
                if filled == buffer.len() {
                    break Ok(false);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    buffer.truncate(filled);
    result
}

enum Framed {
    /// The event starts at `start` and its first `</Event>` ends at or
    /// before `span_end` (exactly there when `exact`); the next start is
    /// searched from `next`.
    Complete { span_end: usize, exact: bool, next: usize },
    /// No `</Event>` before the next start (at `next`) or the end of input.
    Unterminated { next: usize, reason: &'static str },
    /// Undecidable until more bytes are read.
    NeedMore,
}

/// Frames the event starting at `start`.
fn frame_event(framer: &Framer, buffer: &[u8], start: usize, at_eof: bool) -> Framed {
    let body = start + 6;
    match framer.find_start(buffer, body, at_eof) {
        // The common case: a `</Event>` just before the next start. Finding
        // the first one exactly is left to the few events that get parsed.
        StartSearch::Found(next) if framer.has_end(buffer, body, next) => {
            Framed::Complete { span_end: next, exact: false, next }
        }
        StartSearch::Found(next) => Framed::Unterminated { next, reason: "no </Event> before the next event start" },
        StartSearch::Undecided(_) | StartSearch::None => match framer.find_end(buffer, body, buffer.len()) {
            // No start lies between `start` and this end: it is the event's end.
            Some(e) => Framed::Complete { span_end: e + END.len(), exact: true, next: e + END.len() },
            None if at_eof => Framed::Unterminated { next: buffer.len(), reason: "no </Event> before the end of input" },
            None => Framed::NeedMore,
        },
    }
}

/// Prefilters, parses and judges one complete event, `buffer[start..]` up to
/// its first `</Event>`, which ends at or before `span_end`. `Err` says why
/// it is malformed.
fn check_event(
    matcher: &Matcher<'_>,
    buffer: &[u8],
    start: usize,
    span_end: usize,
    exact: bool,
    values: &mut EventValues,
    decoded: &mut Vec<u8>,
    partial: &mut Partial,
) -> Result<(), &'static str> {
    let too_long = span_end - start > MAX_EVENT_BYTES;
    // The prefilter may look past the event's end (never before its start):
    // that can only add candidates.
    if !too_long && !matcher.prefilter.may_match(&buffer[start..span_end], decoded) {
        return Ok(());
    }
    let end = if exact {
        span_end
    } else {
        // `frame_event` saw a `</Event>` in this span, so the fallback never applies.
        matcher.framer.find_end(buffer, start + 6, span_end).map_or(span_end, |e| e + END.len())
    };
    if end - start > MAX_EVENT_BYTES {
        return Err(TOO_LONG);
    }
    parse_event(&buffer[start..end], &matcher.table, values)?;
    let detection = matcher.detection;
    match detection.judge(values) {
        Verdict::NoMatch | Verdict::MissingByField => Ok(()),
        Verdict::NoTime => Err("matching event has no valid TimeCreated/@SystemTime"),
        Verdict::Hit(time) => {
            partial.add_hit(detection.by_field_values(values).map(Option::unwrap_or_default), time);
            Ok(())
        }
    }
}
