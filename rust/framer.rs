//! Finds event boundaries in raw bytes (docs/semantics.md, "Framing").
//!
//! An event starts at every `<Event` followed by white space, `>` or `/`, and
//! ends at the first `</Event>` after it. Everything here works on a slice of
//! a larger stream, so a search can answer "not decidable yet, read more".

use memchr::arch::all::packedpair::HeuristicFrequencyRank;
use memchr::memmem::{Finder, FinderBuilder, FinderRev};

const START: &[u8] = b"<Event";
/// Bytes of `<Event`: an event's body starts this far after its start.
pub const START_LEN: usize = START.len();
pub const END: &[u8] = b"</Event>";

/// Where the search for the next event start ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartSearch {
    /// An event starts here.
    Found(usize),
    /// `<Event` sits at the very end, its next byte not read yet.
    Undecided(usize),
    /// No start in the slice. One may still straddle its end: callers keep
    /// the last `START.len() - 1` bytes.
    None,
}

/// Byte ranks for choosing the two bytes memmem's SIMD prefilter anchors on
/// (lower = searched for). `<` with `v` two bytes later is only ever
/// `<Event...` (`<Event`, `<EventID`, `<EventData`, `<EventRecordID`), while
/// memchr's default prose ranking picks `E` and `v`, which also stop at every
/// `</Event...`: twice the stops, measured ~10% of a scan.
struct XmlByteRank;

impl HeuristicFrequencyRank for XmlByteRank {
    fn rank(&self, byte: u8) -> u8 {
        match byte {
            b'<' => 0,
            b'v' => 1,
            b'/' => 2,
            _ => 255,
        }
    }
}

/// Searchers built once and shared by every worker.
pub struct Framer {
    start: Finder<'static>,
    end: Finder<'static>,
    end_reverse: FinderRev<'static>,
}

impl Default for Framer {
    fn default() -> Self {
        Framer {
            start: FinderBuilder::new().build_forward_with_ranker(XmlByteRank, START).into_owned(),
            end: FinderBuilder::new().build_forward_with_ranker(XmlByteRank, END).into_owned(),
            end_reverse: FinderRev::new(END).into_owned(),
        }
    }
}

pub fn is_start_delimiter(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/')
}

impl Framer {
    /// Bytes to keep at the end of a slice in which no start was found.
    pub const START_OVERLAP: usize = START.len() - 1;

    /// The first event start at or after `from`. `at_eof` says the slice
    /// ends the stream (a final `<Event` with nothing after it is no start).
    pub fn find_start(&self, haystack: &[u8], from: usize, at_eof: bool) -> StartSearch {
        let mut at = from;
        while let Some(i) = self.start.find(&haystack[at..]) {
            let candidate = at + i;
            match haystack.get(candidate + START.len()) {
                Some(&next) if is_start_delimiter(next) => return StartSearch::Found(candidate),
                Some(_) => at = candidate + 1,
                None if at_eof => return StartSearch::None,
                None => return StartSearch::Undecided(candidate),
            }
        }
        StartSearch::None
    }

    /// The first `</Event>` in `haystack[from..to]`.
    pub fn find_end(&self, haystack: &[u8], from: usize, to: usize) -> Option<usize> {
        self.end.find(&haystack[from..to]).map(|i| from + i)
    }

    /// Whether `haystack[from..to]` holds a `</Event>`. Searches backwards:
    /// the end of an event is nearly always just before the next start, so
    /// this reads a handful of bytes instead of the whole event.
    pub fn has_end(&self, haystack: &[u8], from: usize, to: usize) -> bool {
        // Usually `</Event>` and a line end sit right before the next start:
        // checked directly, as the reverse searcher costs ~5% of a scan.
        let mut end = to;
        while end > from && matches!(haystack[end - 1], b' ' | b'\t' | b'\r' | b'\n') {
            end -= 1;
        }
        haystack[from..end].ends_with(END) || self.end_reverse.rfind(&haystack[from..to]).is_some()
    }
}

/// Counts event starts in a complete input (used by tests and benches).
pub fn count_starts(input: &[u8]) -> usize {
    let framer = Framer::default();
    let mut count = 0;
    let mut from = 0;
    while let StartSearch::Found(s) = framer.find_start(input, from, true) {
        count += 1;
        from = s + 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_need_a_delimiter() {
        let framer = Framer::default();
        let input = b"<Events><EventData/><Event>x</Event><Event\n/><Event\tx>";
        assert_eq!(framer.find_start(input, 0, true), StartSearch::Found(20));
        assert_eq!(count_starts(input), 3);
        assert_eq!(count_starts(b"<Event"), 0);
        assert_eq!(framer.find_start(b"xx<Event", 0, false), StartSearch::Undecided(2));
        assert_eq!(framer.find_start(b"xx<Even", 0, false), StartSearch::None);
    }

    #[test]
    fn ends() {
        let framer = Framer::default();
        let input = b"<Event>a</Event>b</Event>";
        assert_eq!(framer.find_end(input, 6, input.len()), Some(8));
        assert!(framer.has_end(input, 6, input.len()));
        assert!(!framer.has_end(input, 10, 20));
    }
}
