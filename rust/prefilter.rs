//! Candidate, then confirm (ripgrep's searcher): rule out, from raw bytes,
//! the events that cannot match, so that only the few that might are parsed.
//!
//! Soundness: every predicate of a detection implies that the decoded value
//! contains a literal, ASCII case-insensitively, and a match needs every
//! predicate, so a matching event holds every literal. If an event's raw bytes hold
//! no `<!` (a comment or CDATA section could split or wrap text) and no `<?`
//! (a processing instruction could split text), each element's value is a
//! contiguous run of its text with references resolved (an element holding
//! child elements has no value). So:
//! - no `&`, `<!`, `<?`: the raw bytes must contain the literal;
//! - `&` but no `<!`, `<?`: the bytes with references resolved must contain
//!   it (a reference that does not resolve makes the event a candidate, and
//!   the full parse then finds it malformed);
//! - `<!` or `<?`: always a candidate, parsed in full.
//!
//! The literal holds no white space, so XML's line-end and attribute
//! normalization cannot create or break it.

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
        let last = caseless.next_back()?;
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
    /// Searched for in every event.
    literal: Option<CaselessFinder>,
    /// Lowercase; checked only in the few events that hold the first one
    /// (browser downloads also end in `:Zone.Identifier`: ~9 in 10 of those
    /// candidates are ruled out by `telegram.exe`, measured on the realistic
    /// mix).
    more_literals: Vec<Vec<u8>>,
}

impl Prefilter {
    /// `literals` are the detection's prefilter literals, the one to search
    /// for first at the front. None (or a first one with too few case-free
    /// bytes) makes every event a candidate.
    pub fn new(literals: &[Vec<u8>]) -> Prefilter {
        match literals.split_first() {
            Some((first, rest)) => Prefilter {
                literal: CaselessFinder::new(first),
                more_literals: rest.iter().map(|l| l.to_ascii_lowercase()).collect(),
            },
            None => Prefilter { literal: None, more_literals: Vec::new() },
        }
    }

    /// Whether `text` holds every literal.
    fn holds_literals(&self, literal: &CaselessFinder, text: &[u8]) -> bool {
        literal.is_in(text) && self.more_literals.iter().all(|more| contains_ignore_ascii_case(text, more))
    }

    /// Whether `text`, taken as it is (nothing decoded), holds every
    /// literal; `true` when the prefilter is off.
    pub fn contains_literals(&self, text: &[u8]) -> bool {
        self.literal.as_ref().is_none_or(|literal| self.holds_literals(literal, text))
    }

    /// The literals every matching event holds (lowercase); empty when the
    /// prefilter is off.
    pub fn literals(&self) -> impl Iterator<Item = &[u8]> {
        self.literal.iter().map(|l| l.needle.as_slice()).chain(self.more_literals.iter().map(Vec::as_slice))
    }

    /// Whether the event whose raw bytes are `event` could match. `false`
    /// only when it certainly cannot. `scratch` holds decoded text.
    pub fn may_match(&self, event: &[u8], scratch: &mut Vec<u8>) -> bool {
        let Some(literal) = &self.literal else { return true };
        let mut has_reference = false;
        for i in memchr::memchr3_iter(b'&', b'!', b'?', event) {
            if event[i] == b'&' {
                has_reference = true;
            } else if i > 0 && event[i - 1] == b'<' {
                return true;
            }
        }
        if !has_reference {
            return self.holds_literals(literal, event);
        }
        scratch.clear();
        match resolve_references(event, scratch) {
            Some(()) => self.holds_literals(literal, scratch),
            None => true,
        }
    }
}

/// Whether `haystack` contains lowercase `needle`, ignoring ASCII case. The
/// search stops only where the needle's rarest-looking byte occurs: a
/// case-free one if it has any (`.` of `telegram.exe`), since a letter such
/// as `t` occurs dozens of times in every event.
fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    if haystack.len() < needle.len() {
        return false;
    }
    let anchor = needle.iter().position(|b| !b.is_ascii_alphabetic()).unwrap_or(0);
    let (lower, upper) = (needle[anchor], needle[anchor].to_ascii_uppercase());
    // Anchor positions whose window lies inside the haystack.
    let window = &haystack[anchor..haystack.len() - (needle.len() - anchor) + 1];
    memchr::memchr2_iter(lower, upper, window).any(|i| haystack[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

/// Copies `raw` into `out` with references resolved, checking nothing else:
/// `None` when a reference does not resolve (the caller then parses the
/// event in full, which reports it).
fn resolve_references(raw: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let mut rest = raw;
    while let Some(amp) = memchr::memchr(b'&', rest) {
        out.extend_from_slice(&rest[..amp]);
        let semicolon = memchr::memchr(b';', &rest[amp..])? + amp;
        let name = std::str::from_utf8(&rest[amp + 1..semicolon]).ok()?;
        let mut decoded = String::new();
        crate::xml_rules::resolve_reference(name, &mut decoded).ok()?;
        out.extend_from_slice(decoded.as_bytes());
        rest = &rest[semicolon + 1..];
    }
    out.extend_from_slice(rest);
    Some(())
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
        let prefilter = Prefilter::new(&[b":zone.identifier".to_vec()]);
        let may_match = |event: &[u8]| prefilter.may_match(event, &mut Vec::new());
        assert!(may_match(b"<Event>x&#x3a;Zone.Identifier</Event>"));
        assert!(may_match(b"<Event>x&#58;Zone&#x2E;Identifier</Event>"));
        assert!(may_match(b"<Event>x:Zone.Iden<!---->tifier</Event>"));
        assert!(may_match(b"<Event>x:Zone.Iden<?p?>tifier</Event>"));
        // An unresolvable reference: parsed in full (and found malformed there).
        assert!(may_match(b"<Event>&bogus; &#X3a;</Event>"));
        assert!(!may_match(b"<Event>x:Zone.Identifer!? nothing</Event>"));
        assert!(!may_match(b"<Event>a &amp; b &#x3a;Zone</Event>"));
        assert!(Prefilter::new(&[]).may_match(b"<Event/>", &mut Vec::new()));
    }

    #[test]
    fn every_literal_is_required() {
        let prefilter = Prefilter::new(&[b":zone.identifier".to_vec(), b"telegram.exe".to_vec()]);
        let may_match = |event: &[u8]| prefilter.may_match(event, &mut Vec::new());
        assert!(may_match(br"<Event>C:\TELEGRAM.EXE x:Zone.Identifier</Event>"));
        assert!(may_match(br"<Event>&#x74;elegram.exe x:Zone.Identifier</Event>"));
        assert!(!may_match(br"<Event>chrome.exe x:Zone.Identifier</Event>"));
        assert!(!may_match(br"<Event>telegram.ex x:Zone.Identifier</Event>"));
        assert!(contains_ignore_ascii_case(b"xxTeLeGrAm.ExE", b"telegram.exe"));
        assert!(!contains_ignore_ascii_case(b"telegram.ex", b"telegram.exe"));
        assert!(contains_ignore_ascii_case(b"telegram.exe", b"telegram.exe"));
        assert!(contains_ignore_ascii_case(b".telegram.exe.", b"telegram.exe"));
        assert!(!contains_ignore_ascii_case(b"elegram.exe", b"telegram.exe"));
        assert!(contains_ignore_ascii_case(b"abc", b"ABC".to_ascii_lowercase().as_slice()));
    }
}
