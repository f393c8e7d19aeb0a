//! Decides from a chunk's bytes which EVTX records could match, so that only
//! those are built and rendered by the `evtx` crate.
//!
//! # What the detection reads, and where its characters can come from
//!
//! A record matches only if its rendered XML has `EventData/Data` text
//! holding every prefilter literal (`:zone.identifier`, `telegram.exe`),
//! ASCII case-insensitively, after XML decoding. The crate renders a record
//! from these sources, and a literal's characters could come from each:
//!
//! 1. UTF-16LE substitution values (type 0x01, normal 0x0d and optional
//!    0x0e substitutions alike) and UTF-16 string arrays (0x81, rendered
//!    item by item, joined with `,` or expanded into repeated elements).
//!    The crate cuts a string at its first NUL and escapes `<>&"'` (which
//!    decode back) and C0 controls (which become `_`), so an ASCII
//!    character of the rendered text is the same UTF-16 code unit in the
//!    value: searched for as a caseless UTF-16LE run in the value bytes.
//! 2. ANSI values (0x02, decoded with windows-1252, the crate's default,
//!    which maps only bytes below 0x80 to ASCII) and ANSI arrays (0x82,
//!    split at NULs). The crate DROPS the NULs inside a 0x02 value, joining
//!    its pieces: searched for as a caseless 8-bit run with NULs removed.
//! 3. Other scalar and array values (integers, floats, bools, GUIDs, times,
//!    SIDs, hex, binary): rendered with digits, hex digits, `-{}:.,+TZSx`,
//!    `true`, `false`, `inf`, `NaN`, `e`. Never a letter of [`STRING_ONLY`],
//!    which every literal must hold, so such a value alone cannot hold a
//!    literal. Their sizes must be the size the crate reads, so that the
//!    values after them lie where this module reads them.
//! 4. Text split over several tokens: template text next to a substitution,
//!    two value tokens, two substitutions in one element. Their rendered
//!    text joins. Ruled out by requiring at most one text-bearing token in
//!    every element's content; otherwise the record is rendered.
//! 5. Character references (0x08) and entity references (0x09, rendered
//!    `&name;`, which a name like `#x3a` makes a character reference),
//!    CDATA (0x07) and processing instructions (0x0a, 0x0b): any of them in
//!    a template makes its records rendered.
//! 6. Nested BinXML substitution values (0x21, non-empty), which splice
//!    elements and text into the record. Windows stores Sysmon's
//!    `EventData` as one: a nested instance of a template of its own. A
//!    nested value that is exactly one template instance (the shape the
//!    crate validates recursively) is checked by these rules like the
//!    record, its values lying inside the outer values the search covers;
//!    any other nested value, handles and `EvtXml` (0x20, 0x23), SID,
//!    binary and size arrays and unknown types: the record is rendered.
//! 7. Text in the template definition itself (value tokens, UTF-16): the
//!    template body is searched like a value, for each literal.
//! 8. Element and attribute names, from the chunk's string table (or
//!    anywhere in the chunk): the crate writes them as they are, so a name
//!    holding `<`, `>`, `&` or the like could put text into the XML. Every
//!    name a template uses must be made of ASCII letters, digits, `_-.:`
//!    or non-ASCII units; otherwise its records are rendered.
//! 9. A record that is not exactly one template instance (an element tree
//!    of its own, more tokens after the instance), whose template cannot
//!    be read, or whose values cannot be read as described: rendered.
//!
//! The crate's other sources of text are constant (the XML declaration,
//! `xmlns` as written in the template). With every rule above holding, an
//! element's text is one piece (one value, or one template string), so a
//! literal in it lies whole within one piece, where the search sees it. A
//! record is skipped only if some literal is in none of its pieces.
//!
//! # Counting records without the crate
//!
//! The walk over a chunk's records mirrors the crate's: from the chunk
//! header on, each record read with [`EvtxRecordHeader::from_bytes_at`],
//! the next one after its size, until the free space or the record whose ID
//! is the chunk's last. Any record header it cannot read makes the whole
//! chunk go through the crate (which resynchronizes and reports it), so a
//! chunk is only ever skipped when the walk saw exactly the records the
//! crate would yield.

use evtx::{EvtxChunkHeader, EvtxRecordHeader};

/// Size of a record header before its BinXML.
const RECORD_HEADER_SIZE: usize = 24;
/// Records start after the chunk header.
const CHUNK_HEADER_SIZE: usize = 512;
/// A template definition's header: next offset, GUID, body size.
const TEMPLATE_HEADER_SIZE: usize = 24;
/// Nesting deeper than this in a template is left to the crate (its own cap is 512).
const MAX_TEMPLATE_DEPTH: usize = 256;

/// A chunk whose first records are mostly candidates (at least this many)
/// is rendered whole without testing the rest.
const DENSE_CANDIDATES: usize = 8;

/// Letters that no non-string value renders, in either case (see rule 3):
/// a literal holding one of them can only come from string pieces.
const STRING_ONLY: &[u8] = b"ghjkmopqvwy";

/// What a chunk's records need.
#[derive(Debug, PartialEq, Eq)]
pub enum ChunkPlan {
    /// No record can match; the chunk holds this many records.
    Skip { records: u64 },
    /// Render the records whose BinXML starts at these chunk offsets (sorted).
    Render { binxml_offsets: Vec<u64> },
    /// Render every record: the walk could not read every record, or most
    /// records are candidates.
    RenderAll,
}

impl ChunkPlan {
    /// Whether the record whose BinXML starts at `binxml_offset` must be rendered.
    pub fn renders(&self, binxml_offset: u64) -> bool {
        match self {
            ChunkPlan::Skip { .. } => false,
            ChunkPlan::Render { binxml_offsets } => binxml_offsets.binary_search(&binxml_offset).is_ok(),
            ChunkPlan::RenderAll => true,
        }
    }
}

/// An ASCII literal found case-insensitively in text of one or two bytes per
/// character, anchored on one of its bytes found with memchr.
#[derive(Debug, Clone)]
struct CaselessLiteral {
    lower: Vec<u8>,
    /// Index of the anchor byte in `lower`: a case-free one if any.
    anchor: usize,
}

impl CaselessLiteral {
    fn new(literal: &[u8]) -> CaselessLiteral {
        let lower = literal.to_ascii_lowercase();
        let anchor = lower.iter().position(|b| !b.is_ascii_alphabetic()).unwrap_or(0);
        CaselessLiteral { lower, anchor }
    }

    /// Whether `text` holds the literal with `stride` bytes per character
    /// (1: 8-bit, 2: UTF-16LE, whose high bytes must be 0).
    fn is_in(&self, text: &[u8], stride: usize) -> bool {
        let span = self.lower.len() * stride;
        if text.len() < span {
            return false;
        }
        let lead = self.anchor * stride;
        // Anchor positions whose literal (starting `lead` bytes before) lies inside `text`.
        let window = &text[lead..text.len() - span + lead + 1];
        let byte = self.lower[self.anchor];
        let fits = |at: usize| {
            let start = at;
            self.lower.iter().enumerate().all(|(j, &want)| {
                let i = start + j * stride;
                text[i].to_ascii_lowercase() == want && (stride == 1 || text[i + 1] == 0)
            })
        };
        if byte.is_ascii_alphabetic() {
            memchr::memchr2_iter(byte, byte.to_ascii_uppercase(), window).any(fits)
        } else {
            memchr::memchr_iter(byte, window).any(fits)
        }
    }
}

/// What a template definition contributes, once per chunk and offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TemplateVerdict {
    /// A construct the search cannot see (rules 4-8): render its records.
    Opaque,
    /// Every element's text is at most one piece; bit `i` set when literal
    /// `i` is in the template's own text.
    Clear { literals: u32 },
}

/// A checked template instance.
struct Instance {
    /// Bit `i` set when literal `i` is in the text of its template or of a nested one.
    in_templates: u32,
    /// Where its values lie in the chunk.
    values: (usize, usize),
}

/// Nested instances deeper than this are left to the crate (its own cap is 64).
const MAX_NESTING: usize = 8;

/// The binary candidate test of one detection.
#[derive(Debug, Clone)]
pub struct EvtxPrefilter {
    literals: Vec<CaselessLiteral>,
}

/// Reusable per-worker memory.
#[derive(Default)]
pub struct EvtxScratch {
    templates: Vec<(u32, TemplateVerdict)>,
    stack: Vec<u8>,
    stripped: Vec<u8>,
    /// (type, start, end) of the ANSI values of the record being tested.
    ansi: Vec<(u8, usize, usize)>,
}

/// Little-endian reads that fail (`None`) past the end.
fn u8_at(data: &[u8], at: usize) -> Option<u8> {
    data.get(at).copied()
}
fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at.checked_add(2)?)?.try_into().ok()?))
}
fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

impl EvtxPrefilter {
    /// The test for the detection's prefilter `literals` (lowercase), or
    /// `None` when it cannot be sound for them, and every record must be
    /// rendered: no literal, a literal that is not printable ASCII, holds
    /// `_` or `,` (which controls and array joins produce), or lacks a
    /// letter of [`STRING_ONLY`].
    pub fn new(literals: &[Vec<u8>]) -> Option<EvtxPrefilter> {
        if literals.is_empty() || literals.len() > 32 {
            return None;
        }
        let usable = |lit: &Vec<u8>| {
            !lit.is_empty()
                && lit.iter().all(|&b| b.is_ascii_graphic() && b != b'_' && b != b',')
                && lit.iter().any(|b| STRING_ONLY.contains(&b.to_ascii_lowercase()))
        };
        if !literals.iter().all(usable) {
            return None;
        }
        Some(EvtxPrefilter { literals: literals.iter().map(|l| CaselessLiteral::new(l)).collect() })
    }

    /// Walks the records of the chunk `data` (with its parsed `header`) and
    /// says which must be rendered.
    pub fn plan_chunk(&self, data: &[u8], header: &EvtxChunkHeader, scratch: &mut EvtxScratch) -> ChunkPlan {
        scratch.templates.clear();
        let live_end = (header.free_space_offset as usize).min(data.len());
        let mut offset = CHUNK_HEADER_SIZE;
        let mut records = 0u64;
        let mut render = Vec::new();
        while offset < live_end {
            // The crate's own record header parse; any failure is the crate's to report.
            let Ok(record) = EvtxRecordHeader::from_bytes_at(data, offset) else { return ChunkPlan::RenderAll };
            let Ok(binxml_size) = record.record_data_size() else { return ChunkPlan::RenderAll };
            let binxml_start = offset + RECORD_HEADER_SIZE;
            let Some(binxml_end) = binxml_start.checked_add(binxml_size as usize).filter(|&end| end <= data.len())
            else {
                return ChunkPlan::RenderAll;
            };
            records += 1;
            if self.may_match(data, binxml_start, binxml_end, scratch) {
                render.push(binxml_start as u64);
                // Most records are candidates (a log of hits): testing the
                // rest would cost more than it could save; render them all.
                if render.len() >= DENSE_CANDIDATES && render.len() * 2 > records as usize {
                    return ChunkPlan::RenderAll;
                }
            }
            if record.event_record_id == header.last_event_record_id {
                break;
            }
            offset += record.data_size as usize;
        }
        if render.is_empty() {
            ChunkPlan::Skip { records }
        } else {
            ChunkPlan::Render { binxml_offsets: render }
        }
    }

    /// Whether the record whose BinXML is `data[start..end]` could match.
    /// `false` only when it certainly cannot.
    fn may_match(&self, data: &[u8], start: usize, end: usize, scratch: &mut EvtxScratch) -> bool {
        self.try_rule_out(data, start, end, scratch) != Some(true)
    }

    /// `Some(true)` when the record is ruled out; `None` or `Some(false)`
    /// when it must be rendered (unreadable here, or every literal found).
    fn try_rule_out(&self, data: &[u8], start: usize, end: usize, scratch: &mut EvtxScratch) -> Option<bool> {
        scratch.ansi.clear();
        let stream = self.instance(data, start, end, 0, scratch)?;
        // Nested values lie inside the values of the instance that holds
        // them, so one search of the outer values covers them all.
        let values = &data[stream.values.0..stream.values.1];
        for (index, literal) in self.literals.iter().enumerate() {
            if stream.in_templates & (1 << index) != 0 || literal.is_in(values, 2) {
                continue;
            }
            if self.in_ansi_values(literal, data, scratch) {
                continue;
            }
            // This literal is in no piece of the record.
            return Some(true);
        }
        Some(false)
    }

    /// Checks the single template instance `data[start..end]` and the
    /// nested instances in its values (rules 3, 6, 9), noting the ANSI
    /// values in `scratch`. `None` when anything is not as the search
    /// assumes.
    fn instance(
        &self,
        data: &[u8],
        start: usize,
        end: usize,
        depth: usize,
        scratch: &mut EvtxScratch,
    ) -> Option<Instance> {
        if depth > MAX_NESTING {
            return None;
        }
        // `[0x0f a b c] 0x0c`: the single instance the crate recognizes
        // (`single_instance_offset`); any other shape is rendered.
        let stream = data.get(start..end)?;
        let mut at = match stream {
            [0x0f, _, _, _, 0x0c, _, ..] => start + 5,
            [0x0c, ..] => start + 1,
            _ => return None,
        };
        // TemplateInstance: unknown byte, template ID, definition offset.
        let definition = u32_at(data, at + 5)?;
        at += 9;
        if at == definition as usize {
            // The definition follows inline; the values come after it.
            let body_size = u32_at(data, at + 20)? as usize;
            at = at.checked_add(TEMPLATE_HEADER_SIZE + body_size)?;
        }
        let TemplateVerdict::Clear { literals: mut in_templates } = self.template(data, definition, scratch)? else {
            return None;
        };
        let count = u32_at(data, at)? as usize;
        let descriptors = at + 4;
        let values_start = descriptors.checked_add(count.checked_mul(4)?)?;
        let table = data.get(descriptors..values_start)?;
        let mut value_at = values_start;
        for descriptor in table.chunks_exact(4) {
            let size = usize::from(u16::from_le_bytes([descriptor[0], descriptor[1]]));
            let kind = descriptor[2];
            // No overflow: at most 16 Ki descriptors of at most 64 KiB each.
            let value_end = value_at + size;
            match kind {
                // Null and UTF-16 strings, most of a record, read at any
                // size; that every value lies in the chunk is checked below.
                0x00 | 0x01 => {}
                // A nested instance (how Windows stores `EventData`): its
                // elements are spliced in, checked like the record.
                0x21 if size > 0 => {
                    in_templates |= self.instance(data, value_at, value_end, depth + 1, scratch)?.in_templates
                }
                0x02 | 0x82 => scratch.ansi.push((kind, value_at, value_end)),
                _ if value_is_plain(kind, data.get(value_at..value_end)?) => {}
                _ => return None,
            }
            value_at = value_end;
        }
        if value_at > data.len() {
            return None;
        }
        // After the instance, the end of the stream or EOF (`ends_stream`;
        // an instance read past the stream is accepted).
        if value_at < end && data[value_at] != 0x00 {
            return None;
        }
        Some(Instance { in_templates, values: (values_start, value_at) })
    }

    /// Whether an ANSI value noted in `scratch` holds `literal` (rule 2).
    fn in_ansi_values(&self, literal: &CaselessLiteral, data: &[u8], scratch: &mut EvtxScratch) -> bool {
        let EvtxScratch { ansi, stripped, .. } = scratch;
        ansi.iter().any(|&(kind, start, end)| {
            let value = &data[start..end];
            if kind == 0x02 && value.contains(&0) {
                stripped.clear();
                stripped.extend(value.iter().copied().filter(|&b| b != 0));
                literal.is_in(stripped, 1)
            } else {
                literal.is_in(value, 1)
            }
        })
    }

    /// The verdict on the template defined at `offset`, cached per chunk.
    /// `None` when its header or body cannot be read.
    fn template(&self, data: &[u8], offset: u32, scratch: &mut EvtxScratch) -> Option<TemplateVerdict> {
        if let Some(&(_, verdict)) = scratch.templates.iter().find(|(at, _)| *at == offset) {
            return Some(verdict);
        }
        let body_size = u32_at(data, offset as usize + 20)? as usize;
        let body_start = offset as usize + TEMPLATE_HEADER_SIZE;
        let body = data.get(body_start..body_start.checked_add(body_size)?)?;
        let verdict = match template_is_clear(data, body_start, body_start + body_size, &mut scratch.stack) {
            true => {
                let literals = self
                    .literals
                    .iter()
                    .enumerate()
                    .filter(|(_, literal)| literal.is_in(body, 2))
                    .fold(0u32, |mask, (index, _)| mask | 1 << index);
                TemplateVerdict::Clear { literals }
            }
            false => TemplateVerdict::Opaque,
        };
        scratch.templates.push((offset, verdict));
        Some(verdict)
    }
}

/// Whether a substitution value of `kind` holding `value` renders as the
/// search assumes (rules 1-3, 6): a string searched in place, or a
/// non-string value read at exactly its descriptor's size.
#[inline]
fn value_is_plain(kind: u8, value: &[u8]) -> bool {
    let size = value.len();
    match kind {
        // Null (skipped by its size), UTF-16 and ANSI strings, ANSI arrays.
        0x00 | 0x01 | 0x02 | 0x82 => true,
        // UTF-16 arrays: each item read up to its NUL; the last must end
        // inside the value, or the crate reads past it.
        0x81 => size == 0 || (size % 2 == 0 && value[size - 2..] == [0, 0]),
        0x03 | 0x04 => size == 1,
        0x05 | 0x06 => size == 2,
        0x07 | 0x08 | 0x0b | 0x0d | 0x14 => size == 4,
        0x09 | 0x0a | 0x0c | 0x11 | 0x15 => size == 8,
        0x0f | 0x12 => size == 16,
        0x10 => size == 4 || size == 8,
        0x0e => true,
        // SID: 8 bytes, then 4 per sub-authority (its second byte).
        0x13 => size >= 8 && size == 8 + 4 * usize::from(value[1]),
        // Fixed-size arrays, read whole (or refused by the crate).
        0x83..=0x8d | 0x8f | 0x91 | 0x92 | 0x94 | 0x95 => true,
        // An empty BinXML value is null; any other splices a fragment.
        0x21 => size == 0,
        _ => false,
    }
}

/// Whether the template body `data[start..end]` holds only the tokens whose
/// text the search sees, at most one text piece in every element's content,
/// and names that cannot put text into the XML (rules 4, 5, 7, 8).
fn template_is_clear(data: &[u8], start: usize, end: usize, stack: &mut Vec<u8>) -> bool {
    stack.clear();
    // Pieces of text at the top level, as if in an element of its own.
    stack.push(0);
    let mut in_start_tag = false;
    let mut at = start;
    while at < end {
        let Some(token) = u8_at(data, at) else { return false };
        at += 1;
        match token {
            0x00 => return true,
            0x0f => at += 3,
            0x01 | 0x41 => {
                // Dependency ID, data size, name; attribute list size.
                let Some(next) = name_ref(data, at + 6) else { return false };
                at = next + if token == 0x41 { 4 } else { 0 };
                in_start_tag = true;
            }
            0x02 => {
                if !in_start_tag || stack.len() > MAX_TEMPLATE_DEPTH {
                    return false;
                }
                in_start_tag = false;
                stack.push(0);
            }
            0x03 => {
                if !in_start_tag {
                    return false;
                }
                in_start_tag = false;
            }
            0x04 => {
                if in_start_tag || stack.len() < 2 {
                    return false;
                }
                stack.pop();
            }
            0x06 | 0x46 => {
                let Some(next) = name_ref(data, at) else { return false };
                at = next;
                if !in_start_tag {
                    return false;
                }
            }
            0x05 | 0x45 | 0x0d | 0x0e => {
                if matches!(token, 0x05 | 0x45) {
                    // Only UTF-16 text, length-prefixed (rule 7).
                    let (Some(0x01), Some(chars)) = (u8_at(data, at), u16_at(data, at + 1)) else { return false };
                    at += 3 + 2 * usize::from(chars);
                } else {
                    at += 3;
                }
                // Attribute values are not element text; content pieces are counted.
                if !in_start_tag {
                    let pieces = stack.last_mut().expect("the top level is always there");
                    *pieces += 1;
                    if *pieces > 1 {
                        return false;
                    }
                }
            }
            // References, CDATA, processing instructions, nested instances, unknown tokens.
            _ => return false,
        }
    }
    // The crate reads up to the body's end without an EOF token too.
    at == end
}

/// Reads a name reference at `at` (an offset into the chunk, with the name
/// inline right after it when it points there) and checks the name; returns
/// where the token continues, `None` if the name is unreadable or unsafe.
fn name_ref(data: &[u8], at: usize) -> Option<usize> {
    let offset = u32_at(data, at)? as usize;
    let after = at + 4;
    // A name: next-string offset, hash, length in UTF-16 units, the units, a NUL.
    let chars = usize::from(u16_at(data, offset + 6)?);
    let units = data.get(offset + 8..offset + 8 + 2 * chars)?;
    let safe = units.chunks_exact(2).all(|unit| match u16::from_le_bytes([unit[0], unit[1]]) {
        unit @ 0..=0x7f => {
            let byte = unit as u8;
            byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.' | b':')
        }
        _ => true,
    });
    if !safe {
        return None;
    }
    if offset == after {
        Some(after + 8 + 2 * chars + 2)
    } else {
        Some(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn caseless_search_in_utf16_and_8_bit_text() {
        let zone = CaselessLiteral::new(b":zone.identifier");
        assert!(zone.is_in(&utf16(r"C:\a\b.exe:Zone.Identifier"), 2));
        assert!(zone.is_in(&utf16(":ZONE.IDENTIFIER"), 2));
        assert!(!zone.is_in(&utf16(":Zone.Identifie"), 2));
        assert!(!zone.is_in(b":Zone.Identifier", 2));
        assert!(zone.is_in(b"x:zOnE.iDeNtIfIeR", 1));
        // A high byte that is not 0 is another character.
        let mut shifted = utf16(":Zone.Identifier");
        shifted[3] = 1;
        assert!(!zone.is_in(&shifted, 2));
        let telegram = CaselessLiteral::new(b"telegram.exe");
        assert!(telegram.is_in(&utf16(r"\TeLeGrAm.ExE"), 2));
        // Odd alignment is still found (a false positive at worst, never a miss).
        let odd = [&[0u8][..], &utf16("telegram.exe")].concat();
        assert!(telegram.is_in(&odd, 2));
        assert!(!telegram.is_in(&utf16("telegram.ex"), 2));
        // Anchors near the end, at either alignment, never read past it.
        for len in 0..40 {
            for fill in [b'.', b':', 0] {
                let text = vec![fill; len];
                assert!(!zone.is_in(&text, 2) && !telegram.is_in(&text, 2));
                assert!(!zone.is_in(&text, 1) && !telegram.is_in(&text, 1));
            }
        }
        let tail = [&utf16("xx")[..], &utf16("telegram.exe")[..23]].concat();
        assert!(!telegram.is_in(&tail, 2));
    }

    #[test]
    fn literals_the_test_cannot_be_sound_for_turn_it_off() {
        assert!(EvtxPrefilter::new(&[b":zone.identifier".to_vec(), b"telegram.exe".to_vec()]).is_some());
        assert!(EvtxPrefilter::new(&[]).is_none());
        // Only letters numbers render: a GUID or a bool could hold it.
        assert!(EvtxPrefilter::new(&[b"false".to_vec()]).is_none());
        assert!(EvtxPrefilter::new(&[b"a_b.go".to_vec()]).is_none());
        assert!(EvtxPrefilter::new(&[b"a,go".to_vec()]).is_none());
        assert!(EvtxPrefilter::new(&[b"a go".to_vec()]).is_none());
    }

    #[test]
    fn values_must_be_read_at_their_sizes() {
        assert!(value_is_plain(0x08, &[0; 4]));
        assert!(!value_is_plain(0x08, &[0; 2]));
        assert!(value_is_plain(0x13, &[1, 1, 0, 0, 0, 0, 0, 5, 1, 0, 0, 0]));
        assert!(!value_is_plain(0x13, &[1, 2, 0, 0, 0, 0, 0, 5, 1, 0, 0, 0]));
        assert!(value_is_plain(0x81, &utf16("a\0b\0")));
        assert!(!value_is_plain(0x81, &utf16("a\0b")));
        assert!(value_is_plain(0x21, &[]));
        assert!(!value_is_plain(0x21, &[0x0f, 1, 1, 0]));
        assert!(!value_is_plain(0x20, &[]));
        assert!(!value_is_plain(0x93, &[]));
    }

    /// BinXML written at absolute chunk offsets, names inline at first use.
    struct Chunk {
        data: Vec<u8>,
        /// The name of the elements holding the values.
        element: &'static str,
    }

    /// How the template puts a value into the element text of a `Data`.
    enum Content<'a> {
        Sub(u16),
        Text(&'a str),
        SubThenText(u16, &'a str),
        CharRef(&'a str, u16, &'a str),
        Empty,
    }

    impl Chunk {
        fn u16(&mut self, v: u16) {
            self.data.extend(v.to_le_bytes());
        }
        fn u32(&mut self, v: u32) {
            self.data.extend(v.to_le_bytes());
        }
        fn name(&mut self, name: &str) {
            let at = self.data.len() as u32 + 4;
            self.u32(at);
            self.u32(0);
            self.u16(0);
            self.u16(name.encode_utf16().count() as u16);
            self.data.extend(utf16(name));
            self.u16(0);
        }
        fn open(&mut self, name: &str, attribute: Option<(&str, &str)>) {
            self.data.push(if attribute.is_some() { 0x41 } else { 0x01 });
            self.u16(0xffff);
            self.u32(0);
            self.name(name);
            if let Some((attribute, value)) = attribute {
                self.u32(0);
                self.data.push(0x06);
                self.name(attribute);
                self.text(value);
            }
            self.data.push(0x02);
        }
        fn text(&mut self, text: &str) {
            self.data.extend([0x05, 0x01]);
            self.u16(text.encode_utf16().count() as u16);
            self.data.extend(utf16(text));
        }
        fn sub(&mut self, index: u16) {
            self.data.push(0x0d);
            self.u16(index);
            self.data.push(0x01);
        }
        /// A record with its template inline: `<Event><EventData>` and one
        /// `Data` per field, then the values `(type, bytes)`; returns the
        /// BinXML range.
        fn record(&mut self, data_names: &[(&str, Content)], values: &[(u8, Vec<u8>)], after: &[u8]) -> (usize, usize) {
            let start = self.data.len();
            self.data.extend([0x0f, 1, 1, 0, 0x0c, 1]);
            self.u32(1);
            let definition = self.data.len() as u32 + 4;
            self.u32(definition);
            self.u32(0);
            self.data.extend([7; 16]);
            let size_at = self.data.len();
            self.u32(0);
            let body = self.data.len();
            self.data.extend([0x0f, 1, 1, 0]);
            self.open("Event", None);
            self.open("EventData", None);
            for (name, content) in data_names {
                self.open(self.element, Some(("Name", name)));
                match content {
                    Content::Sub(i) => self.sub(*i),
                    Content::Text(text) => self.text(text),
                    Content::SubThenText(i, text) => {
                        self.sub(*i);
                        self.text(text);
                    }
                    Content::CharRef(head, unit, tail) => {
                        self.text(head);
                        self.data.push(0x08);
                        self.u16(*unit);
                        self.text(tail);
                    }
                    Content::Empty => {}
                }
                self.data.push(0x04);
            }
            self.data.extend([0x04, 0x04, 0x00]);
            let size = (self.data.len() - body) as u32;
            self.data[size_at..size_at + 4].copy_from_slice(&size.to_le_bytes());
            self.u32(values.len() as u32);
            for (kind, bytes) in values {
                self.u16(bytes.len() as u16);
                self.data.extend([*kind, 0]);
            }
            for (_, bytes) in values {
                self.data.extend(bytes);
            }
            // EOF, or the tokens that follow the instance instead.
            if after.is_empty() {
                self.data.push(0x00);
            }
            self.data.extend(after);
            (start, self.data.len())
        }
    }

    fn telegram() -> EvtxPrefilter {
        EvtxPrefilter::new(&[b":zone.identifier".to_vec(), b"telegram.exe".to_vec()]).unwrap()
    }

    /// Whether the record built by `build` in a fresh chunk could match.
    fn may_match(build: impl FnOnce(&mut Chunk) -> (usize, usize)) -> bool {
        let mut chunk = Chunk { data: vec![0; 512], element: "Data" };
        let (start, end) = build(&mut chunk);
        telegram().may_match(&chunk.data, start, end, &mut EvtxScratch::default())
    }

    fn two_subs() -> [(&'static str, Content<'static>); 2] {
        [("Image", Content::Sub(0)), ("TargetFilename", Content::Sub(1))]
    }

    #[test]
    fn utf16_and_ansi_values_are_searched() {
        let s = |text: &str| (0x01, utf16(text));
        let a = |text: &[u8]| (0x02, text.to_vec());
        let zone = s(r"C:\d\a.exe:Zone.Identifier");
        assert!(!may_match(|c| c.record(&two_subs(), &[s(r"C:\x\chrome.exe"), zone.clone()], &[])));
        assert!(may_match(|c| c.record(&two_subs(), &[s(r"C:\x\TELEGRAM.exe"), zone.clone()], &[])));
        assert!(!may_match(|c| c.record(&two_subs(), &[s(r"C:\x\Telegram.exe"), s("a.exe:Zone")], &[])));
        assert!(may_match(|c| c.record(&two_subs(), &[a(br"C:\x\Telegram.exe"), zone.clone()], &[])));
        // The crate drops NULs inside an ANSI value, joining its pieces.
        assert!(may_match(|c| c.record(&two_subs(), &[a(b"tele\0gram.exe"), zone.clone()], &[])));
        assert!(!may_match(|c| c.record(&two_subs(), &[a(b"telegrXm.exe"), zone.clone()], &[])));
        // String arrays are searched too.
        let array = (0x81, utf16("a\0x\\telegram.exe\0"));
        assert!(may_match(|c| c.record(&two_subs(), &[array, zone.clone()], &[])));
    }

    #[test]
    fn what_the_search_cannot_see_is_rendered() {
        let s = |text: &str| (0x01, utf16(text));
        let nothing = [s("a"), s("b")];
        // The plain record is ruled out; each variant below is not.
        assert!(!may_match(|c| c.record(&two_subs(), &nothing, &[])));
        // Text split between a substitution and template text.
        let split = [("Image", Content::SubThenText(0, "x")), ("TargetFilename", Content::Sub(1))];
        assert!(may_match(|c| c.record(&split, &nothing, &[])));
        // A character reference in the template.
        let charref = [("Image", Content::CharRef("a", 0x3a, "b")), ("TargetFilename", Content::Sub(1))];
        assert!(may_match(|c| c.record(&charref, &nothing, &[])));
        // A nested BinXML value.
        assert!(may_match(|c| c.record(&two_subs(), &[(0x21, vec![0x0f, 1, 1, 0, 0]), s("b")], &[])));
        // A value read at another size than its descriptor says.
        assert!(may_match(|c| c.record(&two_subs(), &[(0x08, vec![0, 0]), s("b")], &[])));
        // Tokens after the instance.
        assert!(may_match(|c| c.record(&two_subs(), &nothing, &[0x01])));
        // A name that could write text into the XML.
        assert!(may_match(|c| {
            c.element = "Data>telegram.exe</Data";
            c.record(&two_subs(), &nothing, &[])
        }));
    }

    /// A nested BinXML value: an instance of the template defined at `definition`.
    fn nested(definition: u32, values: &[(u8, Vec<u8>)]) -> (u8, Vec<u8>) {
        let mut out = vec![0x0f, 1, 1, 0, 0x0c, 1, 2, 0, 0, 0];
        out.extend(definition.to_le_bytes());
        out.extend((values.len() as u32).to_le_bytes());
        for (kind, bytes) in values {
            out.extend((bytes.len() as u16).to_le_bytes());
            out.extend([*kind, 0]);
        }
        for (_, bytes) in values {
            out.extend(bytes);
        }
        out.push(0);
        (0x21, out)
    }

    #[test]
    fn nested_instances_are_checked_like_the_record() {
        let s = |text: &str| (0x01, utf16(text));
        let outer = [("Image", Content::Sub(0))];
        // The first record defines the template the nested values use (at 512 + 14).
        let with = |values: Vec<(u8, Vec<u8>)>| {
            may_match(|c| {
                c.record(&two_subs(), &[s("a"), s("b")], &[]);
                c.record(&outer, &[nested(526, &values)], &[])
            })
        };
        assert!(with(vec![s(r"x\telegram.exe"), s("y:Zone.Identifier")]));
        assert!(!with(vec![s(r"x\chrome.exe"), s("y:Zone.Identifier")]));
        assert!(with(vec![(0x02, b"telegr\0am.exe".to_vec()), s("y:Zone.Identifier")]));
        assert!(with(vec![(0x08, vec![1]), s("b")]));
        // A template the nested value uses that cannot be read.
        assert!(may_match(|c| c.record(&outer, &[nested(9999, &[s("a")])], &[])));
        // An unreadable record.
        assert!(may_match(|c| {
            c.data.extend([0x0c, 1, 2]);
            (512, 515)
        }));
    }

    #[test]
    fn template_text_counts_as_a_piece() {
        let s = |text: &str| (0x01, utf16(text));
        let in_template = [("Image", Content::Text(r"C:\T\Telegram.exe")), ("TargetFilename", Content::Sub(0))];
        assert!(may_match(|c| c.record(&in_template, &[s("x:zone.identifier")], &[])));
        assert!(!may_match(|c| c.record(&in_template, &[s("x:zone.identifie")], &[])));
        let empty = [("Image", Content::Empty), ("TargetFilename", Content::Sub(0))];
        assert!(!may_match(|c| c.record(&empty, &[s("x:zone.identifier")], &[])));
    }

    /// Real chunks: every record whose rendered XML holds every literal is
    /// a candidate, the walk counts what the crate reads, and a literal
    /// that few records hold rules most records out.
    #[test]
    fn the_corpus_records_the_crate_renders_with_a_literal_are_candidates() {
        use std::sync::Arc;

        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/corpus/real/casimkhan-sysmongo/sysmon-operational.evtx");
        let Ok(file) = std::fs::read(&path) else {
            eprintln!("skipped: shared/corpus is not beside the checkout");
            return;
        };
        let settings = Arc::new(evtx::ParserSettings::new().indent(false));
        for literals in [
            vec![":zone.identifier"],
            vec!["chrome.exe", ":zone.identifier"],
            vec!["svchost.exe"],
            vec!["telegram.exe"],
        ] {
            let literals: Vec<Vec<u8>> = literals.iter().map(|l| l.as_bytes().to_vec()).collect();
            let prefilter = EvtxPrefilter::new(&literals).unwrap();
            let (mut records, mut candidates, mut holding) = (0u64, 0u64, 0u64);
            for chunk in file[4096..].chunks_exact(65536).filter(|c| c.iter().any(|&b| b != 0)) {
                let mut chunk_data = evtx::EvtxChunkData::new(chunk.to_vec(), false).unwrap();
                let plan = prefilter.plan_chunk(&chunk_data.data, &chunk_data.header, &mut EvtxScratch::default());
                let mut parsed = chunk_data.parse(settings.clone()).unwrap();
                let mut in_chunk = 0;
                let mut scratch = EvtxScratch::default();
                for record in parsed.iter() {
                    let record = record.unwrap();
                    in_chunk += 1;
                    let offset = record.binxml_offset;
                    let start = offset as usize;
                    let candidate = prefilter.may_match(
                        record.chunk.data,
                        start,
                        start + record.binxml_size as usize,
                        &mut scratch,
                    );
                    let xml = String::from_utf8(record.into_xml_bytes().unwrap().data).unwrap().to_ascii_lowercase();
                    let holds = literals.iter().all(|l| xml.contains(std::str::from_utf8(l).unwrap()));
                    holding += u64::from(holds);
                    candidates += u64::from(candidate);
                    assert!(
                        !holds || (candidate && plan.renders(offset)),
                        "a record holding {literals:?} was ruled out"
                    );
                }
                if let ChunkPlan::Skip { records } = plan {
                    assert_eq!(records, in_chunk);
                }
                records += in_chunk;
            }
            assert_eq!(records, 2322);
            // Ruled out: all but the records holding the literals, give or take a few.
            assert!(candidates <= holding + records / 50, "{literals:?}: {candidates} candidates, {holding} hold them");
        }
    }

    /// The test writer's sample (tests/evtx_writer.py) passes every check
    /// the crate has, checksums included, and the test renders exactly the
    /// records that hold both needles or hide them from the search.
    #[test]
    fn the_test_writers_files_pass_the_crates_checks() {
        use std::sync::Arc;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sample.evtx");
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evtx_writer.py");
        match std::process::Command::new("python3").arg(&script).arg(&path).status() {
            Ok(status) if status.success() => {}
            other => panic!("the writer did not run: {other:?}"),
        }
        let file = std::fs::read(&path).unwrap();
        let header = evtx::EvtxFileHeader::from_bytes(&file).unwrap();
        assert!(header.validate_checksum());
        assert_eq!((header.chunk_count, header.major_version, header.next_record_id), (1, 3, 19));
        let settings = evtx::ParserSettings::new().validate_checksums(true).indent(false);
        let mut parser = evtx::EvtxParser::from_buffer(file.clone()).unwrap().with_configuration(settings.clone());
        let rendered: Vec<String> = parser.records().map(|r| r.unwrap().data).collect();
        assert_eq!(rendered.len(), 18);
        // One hit spells its `e` as a character reference.
        let hits = |spelled: &str| rendered.iter().filter(|xml| xml.contains(spelled)).count();
        assert_eq!((hits("Telegram.exe"), hits("Tel&#101;gram.exe")), (8, 1));

        let mut chunk_data = evtx::EvtxChunkData::new(file[4096..4096 + 65536].to_vec(), true).unwrap();
        let plan = telegram().plan_chunk(&chunk_data.data, &chunk_data.header, &mut EvtxScratch::default());
        // 13 candidates of 18 records: too dense to be worth testing them all.
        assert_eq!(plan, ChunkPlan::RenderAll);
        let mut chunk = chunk_data.parse(Arc::new(settings)).unwrap();
        let mut scratch = EvtxScratch::default();
        let renders: Vec<bool> = chunk
            .iter()
            .map(|record| {
                let record = record.unwrap();
                let start = record.binxml_offset as usize;
                telegram().may_match(record.chunk.data, start, start + record.binxml_size as usize, &mut scratch)
            })
            .collect();
        // Per encoding (in the writer's order): the hit, then the chrome.exe download.
        let hidden = ["subsplit", "split", "charref", "nested"];
        let encodings = ["utf16", "optional", "ansi", "ansi_nul", "subsplit", "split", "charref", "template", "nested"];
        let expected: Vec<bool> = encodings.iter().flat_map(|e| [true, hidden.contains(e)]).collect();
        assert_eq!(renders, expected);
    }
}
