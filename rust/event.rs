//! One event, once framed: the per-event step of every input format.
//! Prefilter its bytes, parse the few that may match, judge them, and add
//! hits to the partial result. [`ScanContext`] is what that step needs,
//! built once per scan and shared by every worker.

use crate::aggregate::Partial;
use crate::detection::CompiledDetection;
use crate::evtx_prefilter::EvtxPrefilter;
use crate::framer::{Framer, END, START_LEN};
use crate::matcher::Verdict;
use crate::parser::{parse_event, EventValues, FieldTable};
use crate::prefilter::Prefilter;

/// An event that has no `</Event>` within this many bytes of its start is
/// malformed. Windows caps an event record at 64 KiB (its rendered XML stays
/// well under this even with every character escaped), so the cap only ever
/// stops garbage from holding memory: a worker holds at most the cap plus
/// two reads. The reference applies the same cap.
pub const MAX_EVENT_BYTES: usize = 1 << 20;
pub(crate) const TOO_LONG: &str = "no </Event> within 1 MiB of the event start";

/// Everything a worker shares with the others: built once per scan.
pub struct ScanContext<'d> {
    pub detection: &'d CompiledDetection,
    pub table: FieldTable,
    pub framer: Framer,
    pub prefilter: Prefilter,
    /// The binary candidate test of EVTX records; `None` renders every record.
    pub evtx_prefilter: Option<EvtxPrefilter>,
}

impl<'d> ScanContext<'d> {
    pub fn new(detection: &'d CompiledDetection) -> Self {
        ScanContext {
            detection,
            table: FieldTable::new(&detection.fields),
            framer: Framer::default(),
            prefilter: Prefilter::new(&detection.prefilter_literals),
            evtx_prefilter: EvtxPrefilter::new(&detection.prefilter_literals),
        }
    }
}

/// What checking one event reuses.
#[derive(Default)]
pub(crate) struct EventScratch {
    values: EventValues,
    /// Text with references resolved, for the prefilter.
    decoded: Vec<u8>,
}

/// Prefilters, parses and judges one complete event, `buffer[start..]` up to
/// its first `</Event>`, which ends at or before `span_end`. `Err` says why
/// it is malformed.
pub(crate) fn check_event(
    context: &ScanContext<'_>,
    buffer: &[u8],
    start: usize,
    span_end: usize,
    exact: bool,
    scratch: &mut EventScratch,
    partial: &mut Partial,
) -> Result<(), &'static str> {
    let EventScratch { values, decoded } = scratch;
    let span_too_long = span_end - start > MAX_EVENT_BYTES;
    // First on the span (which may run past the event's end): a cheap way to
    // rule out nearly every event without finding its exact end.
    if !span_too_long && !context.prefilter.may_match(&buffer[start..span_end], decoded) {
        return Ok(());
    }
    let end = if exact {
        span_end
    } else {
        // `frame_event` saw a `</Event>` in this span, so the fallback never applies.
        context.framer.find_end(buffer, start + START_LEN, span_end).map_or(span_end, |e| e + END.len())
    };
    if end - start > MAX_EVENT_BYTES {
        return Err(TOO_LONG);
    }
    // Then on the event's own bytes, so that whether an event is checked
    // never depends on what follows it in the buffer (and so on chunk sizes).
    if (!exact || span_too_long) && !context.prefilter.may_match(&buffer[start..end], decoded) {
        return Ok(());
    }
    parse_event(&buffer[start..end], &context.table, values)?;
    if count_event(context.detection, values, partial) {
        Ok(())
    } else {
        Err("matching event has no valid TimeCreated/@SystemTime")
    }
}

/// Judges one event's values and adds a hit to `partial`; whatever the
/// input format, this is where an event counts. `false`: the event matches
/// but has no usable time, so it is malformed (the caller says why).
pub(crate) fn count_event(detection: &CompiledDetection, values: &EventValues, partial: &mut Partial) -> bool {
    match detection.judge(values) {
        Verdict::NoMatch | Verdict::MissingByField => true,
        Verdict::NoTime => false,
        Verdict::Hit(time) => {
            let distinct = detection.distinct_value(values);
            partial.add_hit(detection.by_field_values(values).map(Option::unwrap_or_default), time, distinct);
            true
        }
    }
}
