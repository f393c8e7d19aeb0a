//! Candidate, then confirm (ripgrep's searcher): rule out, from raw bytes,
//! the events that cannot match, so that only the few that might are parsed.
//!
//! Soundness: every predicate of a detection implies that the decoded value
//! contains a literal, ASCII case-insensitively. If an event's raw bytes hold
//! no `&` (a reference could encode any character), no `<!` (a comment or
//! CDATA section could split or wrap text) and no `<?` (a processing
//! instruction could split text), then each element's value is a contiguous
//! run of its raw bytes, so a matching event's raw bytes contain the literal.
//! An event with none of these is skipped; any other event is parsed in full.

use memchr::arch::all::packedpair::Pair;

/// Finds the detection's literal ignoring ASCII case, anchored on two bytes
/// that have no case (e.g. `:` and `.` of `:zone.identifier`): memchr's SIMD
/// packed-pair search proposes positions, a caseless compare confirms them.
pub struct CaselessFinder {
    needle: Vec<u8>,
    simd: Simd,
    generic: memchr::arch::all::packedpair::Finder,
}

enum Simd {
    #[cfg(target_arch = "x86_64")]
    Avx2(memchr::arch::x86_64::avx2::packedpair::Finder),
    #[cfg(target_arch = "x86_64")]
    Sse2(memchr::arch::x86_64::sse2::packedpair::Finder),
    #[cfg(target_arch = "aarch64")]
    Neon(memchr::arch::aarch64::neon::packedpair::Finder),
    None,
}

impl CaselessFinder {
    /// `None` when the literal has fewer than two case-free bytes.
    pub fn new(literal: &[u8]) -> Option<CaselessFinder> {
        let needle = literal.to_ascii_lowercase();
        let mut caseless = needle.iter().enumerate().filter(|(_, b)| !b.is_ascii_alphabetic()).map(|(i, _)| i);
        let first = caseless.next()?;
        let last = caseless.last()?;
        let pair = Pair::with_indices(&needle, u8::try_from(first).ok()?, u8::try_from(last).ok()?)?;
        let generic = memchr::arch::all::packedpair::Finder::with_pair(&needle, pair)?;
        let simd = Self::simd(&needle, pair);
        Some(CaselessFinder { needle, simd, generic })
    }

    #[allow(unreachable_code)]
    fn simd(needle: &[u8], pair: Pair) -> Simd {
        #[cfg(target_arch = "x86_64")]
        {
            use memchr::arch::x86_64::{avx2, sse2};
            if let Some(f) = avx2::packedpair::Finder::with_pair(needle, pair) {
                return Simd::Avx2(f);
            }
            if let Some(f) = sse2::packedpair::Finder::with_pair(needle, pair) {
                return Simd::Sse2(f);
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            if let Some(f) = memchr::arch::aarch64::neon::packedpair::Finder::with_pair(needle, pair) {
                return Simd::Neon(f);
            }
        }
        Simd::None
    }

    /// A position where the pair bytes match, at or after the start of `haystack`.
    fn propose(&self, haystack: &[u8]) -> Option<usize> {
        match &self.simd {
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2(f) if haystack.len() >= f.min_haystack_len() => f.find_prefilter(haystack),
            #[cfg(target_arch = "x86_64")]
            Simd::Sse2(f) if haystack.len() >= f.min_haystack_len() => f.find_prefilter(haystack),
            #[cfg(target_arch = "aarch64")]
            Simd::Neon(f) if haystack.len() >= f.min_haystack_len() => f.find_prefilter(haystack),
            _ => self.generic.find_prefilter(haystack),
        }
    }

    /// Whether `haystack` contains the literal, ignoring ASCII case.
    pub fn is_in(&self, haystack: &[u8]) -> bool {
        let n = self.needle.len();
        let mut at = 0;
        while haystack.len() - at >= n {
            let Some(i) = self.propose(&haystack[at..]) else { return false };
            let candidate = at + i;
            if candidate + n > haystack.len() {
                return false;
            }
            if haystack[candidate..candidate + n].eq_ignore_ascii_case(&self.needle) {
                return true;
            }
            at = candidate + 1;
        }
        false
    }
}

/// The prefilter of one compiled detection.
pub struct Prefilter {
    literal: Option<CaselessFinder>,
}

impl Prefilter {
    /// `literal` is the detection's prefilter literal; `None` (or one with
    /// too few case-free bytes) makes every event a candidate.
    pub fn new(literal: Option<&[u8]>) -> Prefilter {
        Prefilter { literal: literal.and_then(CaselessFinder::new) }
    }

    /// Whether the event whose raw bytes are `event` could match. `false`
    /// only when it certainly cannot.
    pub fn may_match(&self, event: &[u8]) -> bool {
        let Some(literal) = &self.literal else { return true };
        has_escape_or_markup(event) || literal.is_in(event)
    }
}

/// `&`, `<!` or `<?`: anything that can make a decoded value differ from
/// a contiguous run of raw bytes.
fn has_escape_or_markup(event: &[u8]) -> bool {
    memchr::memchr3_iter(b'&', b'!', b'?', event)
        .any(|i| event[i] == b'&' || (i > 0 && event[i - 1] == b'<'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caseless_literal_search() {
        let finder = CaselessFinder::new(b":zone.identifier").unwrap();
        assert!(finder.is_in(b"x:Zone.Identifier<"));
        assert!(finder.is_in(b"X:ZONE.IDENTIFIER"));
        let long = [b"a".repeat(100), b":zOnE.iDeNtIfIeR".to_vec(), b"b".repeat(100)].concat();
        assert!(finder.is_in(&long));
        assert!(!finder.is_in(&b"a:zone_identifier".repeat(20)));
        assert!(!finder.is_in(b":zone.identifie"));
        assert!(CaselessFinder::new(b"telegram").is_none());
    }

    #[test]
    fn hidden_needles_are_candidates() {
        let prefilter = Prefilter::new(Some(b":zone.identifier"));
        assert!(prefilter.may_match(b"<Event>x&#x3a;Zone.Identifier</Event>"));
        assert!(prefilter.may_match(b"<Event>x:Zone.Iden<!---->tifier</Event>"));
        assert!(prefilter.may_match(b"<Event>x:Zone.Iden<?p?>tifier</Event>"));
        assert!(!prefilter.may_match(b"<Event>x:Zone.Identifer!? nothing</Event>"));
        assert!(Prefilter::new(None).may_match(b"<Event/>"));
    }
}
