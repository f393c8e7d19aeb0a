//! Scans one unit of work: a byte stream whose event starts in its first
//! `owned_len` bytes belong to it. Reads in fixed-size chunks and keeps only
//! the event being framed, so memory does not grow with the input. Each
//! framed event goes to the per-event step ([`crate::event`]).

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::aggregate::Partial;
use crate::error::Error;
use crate::event::{check_event, EventScratch, ScanContext, MAX_EVENT_BYTES, TOO_LONG};
use crate::framer::{Framer, StartSearch, END, START_LEN};

/// A worker's reusable scratch memory.
pub struct Scratch {
    buffer: Vec<u8>,
    event: EventScratch,
    /// For the EVTX candidate test.
    pub(crate) evtx: crate::evtx_prefilter::EvtxScratch,
}

impl Scratch {
    pub fn new() -> Self {
        Scratch { buffer: Vec::new(), event: EventScratch::default(), evtx: Default::default() }
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
#[derive(Debug)]
pub enum ReadFailure {
    /// A read failed at this offset of the decoded stream (a damaged
    /// compressed stream, or an I/O error).
    Io(io::Error, u64),
    /// The input could not be opened or read for a reason the core already
    /// describes in full: passed on unchanged.
    Failed(Error),
    Cancelled,
}

/// Scans `reader` (positioned at `position.base`) into `partial`.
/// `chunk_size` is how many bytes each read asks for.
///
/// A read error ends the stream: the bytes before it are still scanned (an
/// event cut by it is unterminated) and then the error is returned, so a
/// caller can keep what was found before a corrupt spot.
pub fn scan_unit(
    context: &ScanContext<'_>,
    scratch: &mut Scratch,
    reader: impl Read,
    position: UnitPosition,
    chunk_size: usize,
    cancel: &AtomicBool,
    partial: &mut Partial,
) -> Result<(), ReadFailure> {
    StreamScan::new(context, scratch, partial, position, None).run(reader, chunk_size, cancel)
}

/// Scans one complete document held in memory (an EVTX record rendered as
/// XML) whose events have no place of their own in the input: any
/// malformed event is reported at `offset`, the document's place.
pub fn scan_document(
    context: &ScanContext<'_>,
    scratch: &mut Scratch,
    document: &[u8],
    file_index: usize,
    offset: u64,
    partial: &mut Partial,
) {
    let position = UnitPosition { file_index, base: 0, owned_len: u64::MAX };
    let never = AtomicBool::new(false);
    // One read takes the whole document; reading a slice cannot fail.
    let chunk_size = document.len() + 1;
    let _ = StreamScan::new(context, scratch, partial, position, Some(offset)).run(document, chunk_size, &never);
}

/// The framing state of one stream: `storage[..filled]` holds a window of
/// it, starting `buffer_offset` bytes after the unit's base.
struct StreamScan<'s, 'c> {
    context: &'s ScanContext<'c>,
    storage: &'s mut Vec<u8>,
    event: &'s mut EventScratch,
    partial: &'s mut Partial,
    position: UnitPosition,
    /// Where malformed events are reported when the stream has no offsets
    /// of its own (a rendered document); `None`: at their stream offset.
    report_at: Option<u64>,
    filled: usize,
    buffer_offset: u64,
    /// Where the search for the next start resumes.
    pos: usize,
    at_eof: bool,
    /// An event waiting for more bytes: (its start, relative to the unit's
    /// base; how many bytes after the start hold neither an end nor another
    /// start). Framing resumes there instead of searching the event again
    /// after every read, which made a long unterminated event cost
    /// (cap / chunk size) times its length.
    searched: Option<(u64, usize)>,
}

/// What to do after looking at the window once.
enum Next {
    /// Keep scanning the window.
    Frame,
    /// Drop the window's bytes before this index, then read more.
    Refill(usize),
    /// The unit's events are all framed.
    Done,
}

impl<'s, 'c> StreamScan<'s, 'c> {
    fn new(
        context: &'s ScanContext<'c>,
        scratch: &'s mut Scratch,
        partial: &'s mut Partial,
        position: UnitPosition,
        report_at: Option<u64>,
    ) -> Self {
        let Scratch { buffer, event, .. } = scratch;
        StreamScan {
            context,
            storage: buffer,
            event,
            partial,
            position,
            report_at,
            filled: 0,
            buffer_offset: 0,
            pos: 0,
            at_eof: false,
            searched: None,
        }
    }

    fn run(mut self, mut reader: impl Read, chunk_size: usize, cancel: &AtomicBool) -> Result<(), ReadFailure> {
        let mut failure = None;
        loop {
            let keep_from = match self.frame_next() {
                Next::Frame => continue,
                Next::Done => break,
                Next::Refill(keep_from) => keep_from,
            };
            if self.at_eof {
                break;
            }
            if cancel.load(Ordering::Relaxed) {
                return Err(ReadFailure::Cancelled);
            }
            if let Err(error) = self.refill(&mut reader, keep_from, chunk_size) {
                // Scan what arrived before the error as the end of input.
                let offset = self.position.base + self.buffer_offset + self.filled as u64;
                failure = Some(ReadFailure::Io(error, offset));
                self.at_eof = true;
            }
        }
        failure.map_or(Ok(()), Err)
    }

    /// Where a malformed event starting at window index `start` is reported.
    fn offset_of(&self, start: usize) -> u64 {
        self.report_at.unwrap_or(self.position.base + self.buffer_offset + start as u64)
    }

    fn malformed(&mut self, start: usize, reason: &'static str) {
        let offset = self.offset_of(start);
        self.partial.add_malformed(self.position.file_index, offset, reason);
    }

    /// Frames (and checks) the next event of the window, or says what the
    /// window needs first.
    fn frame_next(&mut self) -> Next {
        let framer = &self.context.framer;
        let buffer = &self.storage[..self.filled];
        match framer.find_start(buffer, self.pos, self.at_eof) {
            StartSearch::Found(start) => {
                let start_offset = self.buffer_offset + start as u64;
                if start_offset >= self.position.owned_len {
                    return Next::Done;
                }
                let from = match self.searched.take() {
                    Some((pending, done)) if pending == start_offset => start + done,
                    _ => start + START_LEN,
                };
                match frame_event(framer, buffer, start, from, self.at_eof) {
                    Framed::Complete { span_end, exact, next } => {
                        self.partial.events += 1;
                        let verdict =
                            check_event(self.context, buffer, start, span_end, exact, self.event, self.partial);
                        if let Err(reason) = verdict {
                            self.malformed(start, reason);
                        }
                        self.pos = next;
                        Next::Frame
                    }
                    Framed::Unterminated { next, reason } => {
                        self.partial.events += 1;
                        self.malformed(start, reason);
                        self.pos = next;
                        Next::Frame
                    }
                    Framed::NeedMore if buffer.len() - start > MAX_EVENT_BYTES => {
                        self.partial.events += 1;
                        // Nothing between here and the buffer's end starts an event.
                        self.pos = buffer.len().saturating_sub(Framer::START_OVERLAP).max(start + 1);
                        self.malformed(start, TOO_LONG);
                        Next::Refill(self.pos)
                    }
                    Framed::NeedMore => {
                        // An end or a start may straddle the buffer's end,
                        // so its last `END.len()` bytes are searched again.
                        let done = (buffer.len() - start).saturating_sub(END.len()).max(START_LEN);
                        self.searched = Some((start_offset, done));
                        Next::Refill(start)
                    }
                }
            }
            StartSearch::Undecided(start) => {
                if self.buffer_offset + start as u64 >= self.position.owned_len {
                    return Next::Done;
                }
                Next::Refill(start)
            }
            StartSearch::None => {
                let keep = buffer.len().saturating_sub(Framer::START_OVERLAP).max(self.pos);
                if self.at_eof || self.buffer_offset + keep as u64 >= self.position.owned_len {
                    return Next::Done;
                }
                Next::Refill(keep)
            }
        }
    }

    /// Drops the window's bytes before `keep_from`, then reads the next
    /// chunk after what is kept. An event waiting for its end stays at the
    /// front from its second read on, so it is moved once, not once per read.
    fn refill(&mut self, reader: &mut impl Read, keep_from: usize, chunk_size: usize) -> io::Result<()> {
        if keep_from > 0 {
            self.storage.copy_within(keep_from..self.filled, 0);
        }
        self.filled -= keep_from;
        self.buffer_offset += keep_from as u64;
        self.pos -= keep_from.min(self.pos);
        self.at_eof = fill(reader, self.storage, &mut self.filled, chunk_size)?;
        Ok(())
    }
}

/// Reads up to `chunk_size` more bytes after `buffer[..*filled]`; returns
/// whether the stream has ended. The buffer only grows (zero-filled once),
/// so steady-state reads cost no memset.
fn fill(reader: &mut impl Read, buffer: &mut Vec<u8>, filled: &mut usize, chunk_size: usize) -> io::Result<bool> {
    if buffer.len() < *filled + chunk_size {
        buffer.resize(*filled + chunk_size, 0);
    }
    let target = *filled + chunk_size;
    loop {
        match reader.read(&mut buffer[*filled..target]) {
            Ok(0) => return Ok(true),
            Ok(n) => {
                *filled += n;
                if *filled == target {
                    return Ok(false);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
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

/// Frames the event starting at `start`; `buffer[start + START_LEN..from]`
/// is known to hold neither an end nor a start.
fn frame_event(framer: &Framer, buffer: &[u8], start: usize, from: usize, at_eof: bool) -> Framed {
    let body = start + START_LEN;
    match framer.find_start(buffer, from, at_eof) {
        // The common case: a `</Event>` just before the next start. Finding
        // the first one exactly is left to the few events that get parsed.
        StartSearch::Found(next) if framer.has_end(buffer, body, next) => {
            Framed::Complete { span_end: next, exact: false, next }
        }
        StartSearch::Found(next) => Framed::Unterminated { next, reason: "no </Event> before the next event start" },
        StartSearch::Undecided(_) | StartSearch::None => match framer.find_end(buffer, from, buffer.len()) {
            // No start lies between `start` and this end: it is the event's end.
            Some(e) => Framed::Complete { span_end: e + END.len(), exact: true, next: e + END.len() },
            None if at_eof => {
                Framed::Unterminated { next: buffer.len(), reason: "no </Event> before the end of input" }
            }
            None => Framed::NeedMore,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::Detection;
    use crate::event::{ScanContext, MAX_EVENT_BYTES};

    const HIT: &str = "<Event><System><Provider Name='Microsoft-Windows-Sysmon'/><EventID>15</EventID>\
        <TimeCreated SystemTime='2021-04-28T20:11:34.7097442Z'/><Computer>host</Computer></System>\
        <EventData><Data Name='ProcessId'>1</Data><Data Name='Image'>C:\\Telegram.exe</Data>\
        <Data Name='TargetFilename'>C:\\x.exe:Zone.Identifier</Data><Data Name='Hash'>MD5=0</Data></EventData></Event>";

    /// Scans `input` as one unit with reads of `chunk_size` bytes.
    fn scan_bytes(input: &[u8], chunk_size: usize) -> Partial {
        let compiled = Detection::telegram_downloads().compile();
        let context = ScanContext::new(&compiled);
        let mut partial = Partial::default();
        let position = UnitPosition { file_index: 0, base: 0, owned_len: u64::MAX };
        let cancel = AtomicBool::new(false);
        let result = scan_unit(&context, &mut Scratch::new(), input, position, chunk_size, &cancel, &mut partial);
        assert!(result.is_ok());
        partial
    }

    /// (events, malformed, malformed offsets, hit counts) of a scan.
    fn figures(input: &[u8], chunk_size: usize) -> (u64, u64, Vec<u64>, Vec<u64>) {
        let partial = scan_bytes(input, chunk_size);
        let (events, malformed) = (partial.events, partial.malformed);
        let offsets = partial.examples.iter().map(|e| e.offset).collect();
        let counts = partial.into_hits().iter().map(|h| h.stats.count).collect();
        (events, malformed, offsets, counts)
    }

    #[test]
    fn event_split_across_every_read_boundary() {
        let input = format!("{HIT}\n{HIT}\r\n  {HIT}");
        let expected = figures(input.as_bytes(), 1 << 20);
        assert_eq!(expected, (3, 0, vec![], vec![3]));
        for chunk_size in 1..40 {
            assert_eq!(figures(input.as_bytes(), chunk_size), expected, "chunk_size {chunk_size}");
        }
    }

    #[test]
    fn no_trailing_newline_and_empty_input() {
        assert_eq!(figures(HIT.as_bytes(), 7), (1, 0, vec![], vec![1]));
        assert_eq!(figures(b"", 7), (0, 0, vec![], vec![]));
    }

    #[test]
    fn garbage_only() {
        let garbage: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        assert_eq!(figures(&garbage, 64), (0, 0, vec![], vec![]));
        assert_eq!(figures(b"<Events></Events><Event", 3), (0, 0, vec![], vec![]));
    }

    #[test]
    fn unterminated_events_are_located_and_the_scan_goes_on() {
        let truncated = &HIT[..100];
        let input = format!("{truncated}\n{HIT}\n<Event>");
        for chunk_size in [1, 5, 64, 1 << 20] {
            let (events, malformed, offsets, counts) = figures(input.as_bytes(), chunk_size);
            assert_eq!((events, malformed, counts), (3, 2, vec![1]));
            assert_eq!(offsets, vec![0, (truncated.len() + 1 + HIT.len() + 1) as u64]);
        }
    }

    #[test]
    fn events_past_the_size_cap_are_malformed_and_the_next_one_is_found() {
        let filler = "x".repeat(MAX_EVENT_BYTES);
        // No end at all, then an end beyond the cap, then an event of exactly the cap.
        let first = format!("<Event>{filler}\n");
        let second = format!("<Event>{filler}</Event>\n");
        let exact = HIT.replace("MD5=0", &"0".repeat(MAX_EVENT_BYTES - HIT.len() + 5));
        assert_eq!(exact.len(), MAX_EVENT_BYTES);
        let input = format!("{first}{HIT}\n{second}{HIT}\n{exact}");
        let second_at = (first.len() + HIT.len() + 1) as u64;
        for chunk_size in [1000, 4096, 1 << 20, 3 << 20] {
            let (events, malformed, offsets, counts) = figures(input.as_bytes(), chunk_size);
            assert_eq!((events, malformed, offsets), (5, 2, vec![0, second_at]), "chunk_size {chunk_size}");
            assert_eq!(counts.iter().sum::<u64>(), 3, "chunk_size {chunk_size}");
        }
    }

    #[test]
    fn a_huge_unterminated_event_holds_at_most_the_cap_and_two_reads() {
        let compiled = Detection::telegram_downloads().compile();
        let context = ScanContext::new(&compiled);
        let mut scratch = Scratch::new();
        let chunk_size = 64 << 10;
        // 8 MiB of an event that never ends, read from a generator.
        let input = std::io::Read::chain(&b"<Event>"[..], std::io::repeat(b'a').take(8 << 20)).chain(HIT.as_bytes());
        let position = UnitPosition { file_index: 0, base: 0, owned_len: u64::MAX };
        let mut partial = Partial::default();
        let result =
            scan_unit(&context, &mut scratch, input, position, chunk_size, &AtomicBool::new(false), &mut partial);
        assert!(result.is_ok());
        assert_eq!((partial.events, partial.malformed), (2, 1));
        assert!(scratch.buffer.len() <= MAX_EVENT_BYTES + 2 * chunk_size, "{}", scratch.buffer.len());
        assert_eq!(partial.into_hits().len(), 1);
    }

    #[test]
    fn dtds_and_their_entities_are_never_expanded() {
        let laughs: String =
            (1..10).map(|i| format!("<!ENTITY lol{i} '{}'>", format!("&lol{};", i - 1).repeat(10))).collect();
        let dtd = format!("<?xml version='1.0'?><!DOCTYPE Event [<!ENTITY lol0 'lol'>{laughs}]>\n");
        let uses_entity = HIT.replace(">host<", ">&lol9;<");
        let dtd_inside =
            HIT.replace("<System>", &format!("{}<System>", dtd.trim_start_matches("<?xml version='1.0'?>")));
        let input = format!("{dtd}{uses_entity}\n{dtd_inside}\n{HIT}");
        for chunk_size in [1, 100, 1 << 20] {
            let (events, malformed, _, counts) = figures(input.as_bytes(), chunk_size);
            assert_eq!((events, malformed, counts), (3, 2, vec![1]), "chunk_size {chunk_size}");
        }
    }

    #[test]
    fn a_set_cancel_flag_stops_the_scan_at_the_next_chunk() {
        let compiled = Detection::telegram_downloads().compile();
        let context = ScanContext::new(&compiled);
        let input = format!("{HIT}\n").repeat(100);
        let position = UnitPosition { file_index: 0, base: 0, owned_len: u64::MAX };
        let cancel = AtomicBool::new(true);
        let result =
            scan_unit(&context, &mut Scratch::new(), input.as_bytes(), position, 64, &cancel, &mut Partial::default());
        assert!(matches!(result, Err(ReadFailure::Cancelled)));
    }

    /// Yields its bytes, then fails as a cut gzip stream does.
    struct CutStream<'a>(&'a [u8]);

    impl Read for CutStream<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut"));
            }
            let n = buf.len().min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_read_error_keeps_what_came_before_it() {
        let compiled = Detection::telegram_downloads().compile();
        let context = ScanContext::new(&compiled);
        let input = format!("{HIT}\n{HIT}\n{}", &HIT[..40]);
        let cancel = AtomicBool::new(false);
        for chunk_size in [1, 7, 64, 1 << 20] {
            let mut partial = Partial::default();
            let position = UnitPosition { file_index: 0, base: 0, owned_len: u64::MAX };
            let reader = CutStream(input.as_bytes());
            let result = scan_unit(&context, &mut Scratch::new(), reader, position, chunk_size, &cancel, &mut partial);
            let Err(ReadFailure::Io(error, offset)) = result else { panic!("the error must come back") };
            assert_eq!((error.kind(), offset), (io::ErrorKind::UnexpectedEof, input.len() as u64));
            // The event cut by the error is unterminated; the others count.
            assert_eq!((partial.events, partial.malformed), (3, 1), "chunk_size {chunk_size}");
            assert_eq!(partial.into_hits()[0].stats.count, 2);
        }
    }

    #[test]
    fn ownership_splits_count_each_event_once() {
        let input = format!("{HIT}\n{HIT}\n{}\n{HIT}", &HIT[..50]);
        let compiled = Detection::telegram_downloads().compile();
        let context = ScanContext::new(&compiled);
        let cancel = AtomicBool::new(false);
        for split in 1..input.len() as u64 {
            let mut total = Partial::default();
            let mut start = 0;
            while start < input.len() as u64 {
                let position = UnitPosition { file_index: 0, base: start, owned_len: split };
                let mut partial = Partial::default();
                let reader = &input.as_bytes()[start as usize..];
                let result = scan_unit(&context, &mut Scratch::new(), reader, position, 16, &cancel, &mut partial);
                assert!(result.is_ok());
                total.merge(partial);
                start += split;
            }
            assert_eq!((total.events, total.malformed), (4, 1), "split {split}");
            assert_eq!(total.into_hits()[0].stats.count, 3, "split {split}");
        }
    }
}
