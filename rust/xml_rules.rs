//! The lexical rules of XML 1.0 that quick-xml leaves to its caller.
//!
//! quick-xml tokenizes and matches end tags, but is lenient where strict
//! well-formedness is required of every event that could match: it accepts
//! any bytes as names, `b='1'c='2'` (no space between attributes), `<` in
//! attribute values, character references to forbidden characters, `]]>` in
//! text and `<?xml` inside an element. These functions add those checks.

/// Why an event is not well-formed. Static strings: the hot path never
/// formats a message, and the reason is shown to a person as it is.
pub type Reason = &'static str;

use crate::xml_names;

/// XML 1.0 `Char`, excluding what UTF-8 decoding already excludes.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Whether already-valid UTF-8 holds a character XML forbids: a C0 control
/// other than tab/LF/CR, or U+FFFE/U+FFFF (the only non-characters UTF-8
/// validation lets through).
pub fn has_forbidden_char(text: &[u8]) -> bool {
    // Fixed-size blocks folded without early exit let LLVM vectorize the
    // test; a byte-at-a-time `position` cost ~10% of parsing an event.
    let forbidden_control = |b: &u8| (*b < 0x20) & (*b != b'\t') & (*b != b'\n') & (*b != b'\r');
    let mut blocks = text.chunks_exact(64);
    for block in &mut blocks {
        if block.iter().fold(false, |any, b| any | forbidden_control(b)) {
            return true;
        }
    }
    if blocks.remainder().iter().any(forbidden_control) {
        return true;
    }
    // U+FFFE and U+FFFF encode as EF BF BE and EF BF BF; EF is rare.
    memchr::memchr_iter(0xEF, text)
        .any(|i| text.get(i + 1) == Some(&0xBF) && matches!(text.get(i + 2), Some(0xBE | 0xBF)))
}

/// Byte classes for the ASCII fast paths: one table lookup per byte instead
/// of a chain of comparisons (start tags are ~30% of parsing an event).
pub(crate) const SPACE: u8 = 1;
pub(crate) const NAME_START: u8 = 2;
pub(crate) const NAME: u8 = 4;
/// Bytes an attribute value's normalization rewrites or rejects.
const ATTRIBUTE_SPECIAL: u8 = 8;
/// Bytes that make character data differ from its value or ill-formed.
const TEXT_SPECIAL: u8 = 16;
/// Bytes that end the fast parse's reading of an attribute value
/// (`crate::fast_parse`): either quote (the one that opened it closes it),
/// and the bytes that make a value differ from its normalized value or
/// ill-formed, which the strict path handles: a reference, `<`, tab/CR/LF
/// (the only bytes below 0x20 left after the caller's check of the event's
/// characters). `>` too: Sysmon never writes it there, and whether a
/// tokenizer ends the tag at it is where parsers differ, so the strict
/// path decides.
pub(crate) const VALUE_STOP: u8 = 32;

static CLASS: [u8; 256] = byte_classes();

const fn byte_classes() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        let start = c.is_ascii_alphabetic() || c == b'_' || c == b':';
        if start {
            table[b] |= NAME_START | NAME;
        }
        if c.is_ascii_digit() || c == b'-' || c == b'.' {
            table[b] |= NAME;
        }
        if c == b' ' || c == b'\t' || c == b'\r' || c == b'\n' {
            table[b] |= SPACE;
        }
        if c == b'&' || c == b'<' || c == b'\t' || c == b'\r' || c == b'\n' {
            table[b] |= ATTRIBUTE_SPECIAL;
        }
        if c == b'&' || c == b']' || c == b'\r' {
            table[b] |= TEXT_SPECIAL;
        }
        if c == b'\'' || c == b'"' || c == b'&' || c == b'<' || c == b'>' || c < 0x20 {
            table[b] |= VALUE_STOP;
        }
        b += 1;
    }
    table
}

pub(crate) fn has_class(b: u8, class: u8) -> bool {
    CLASS[b as usize] & class != 0
}

fn in_ranges(c: char, ranges: &[(u32, u32)]) -> bool {
    let c = u32::from(c);
    ranges
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

fn is_name_start_char(c: char) -> bool {
    if c.is_ascii() {
        return has_class(c as u8, NAME_START);
    }
    in_ranges(c, &xml_names::NAME_START)
}

fn is_name_char(c: char) -> bool {
    if c.is_ascii() {
        return has_class(c as u8, NAME);
    }
    in_ranges(c, &xml_names::NAME)
}

/// XML 1.0 `Name`, with the name characters of the fourth edition
/// (Appendix B), as expat checks them: the reference judges well-formedness
/// with expat, and the two must agree on every event.
pub fn is_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let Some((&first, rest)) = bytes.split_first() else { return false };
    // ASCII names (all Sysmon writes) are decided by table lookups alone;
    // a non-ASCII byte (class 0) sends the name to the character check.
    if has_class(first, NAME_START) && rest.iter().all(|&b| has_class(b, NAME)) {
        return true;
    }
    if bytes.is_ascii() {
        return false;
    }
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start_char) && chars.all(is_name_char)
}

/// XML white space (`S`): the only characters trimmed or treated as separators.
pub fn is_xml_space(b: u8) -> bool {
    has_class(b, SPACE)
}

/// Trims XML white space (never Unicode white space) from both ends.
pub fn trim_xml_space(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

/// The part of a qualified name after its last `:` (namespaces are ignored).
pub fn local_name(qname: &str) -> &str {
    // Names are a few bytes long: a plain loop beats a SIMD search's set-up.
    match qname.bytes().rposition(|b| b == b':') {
        Some(colon) => &qname[colon + 1..],
        None => qname,
    }
}

/// Resolves the inside of a reference (`amp`, `#116`, `#x74`) strictly: the
/// five predefined entities, decimal or lowercase-`x` hexadecimal character
/// references to XML characters. Anything else makes the event malformed.
pub fn resolve_reference(name: &str, out: &mut String) -> Result<(), Reason> {
    let replacement = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "apos" => '\'',
        "quot" => '"',
        _ => {
            let number = name.strip_prefix('#').ok_or("reference to an undefined entity")?;
            let (digits, radix) = match number.strip_prefix('x') {
                Some(hex) => (hex, 16),
                None => (number, 10),
            };
            if digits.is_empty() || !digits.bytes().all(|b| (b as char).is_digit(radix)) {
                return Err("malformed character reference");
            }
            u32::from_str_radix(digits, radix)
                .ok()
                .and_then(char::from_u32)
                .filter(|&c| is_xml_char(c))
                .ok_or("character reference to a character XML forbids")?
        }
    };
    out.push(replacement);
    Ok(())
}

/// Checks raw character data (between markup) and, when `out` is given,
/// appends its value: references resolved, line ends normalized. `]]>` is
/// not allowed in text; a `&` must start a resolvable reference.
pub fn decode_text(raw: &str, out: Option<&mut String>) -> Result<(), Reason> {
    let bytes = raw.as_bytes();
    if !bytes.iter().any(|&b| has_class(b, TEXT_SPECIAL)) {
        // Nothing to resolve, normalize or reject: the usual case.
        if let Some(out) = out {
            out.push_str(raw);
        }
        return Ok(());
    }
    // `]` is rare, so this is a memchr, not a substring searcher per node.
    if memchr::memchr_iter(b']', bytes).any(|i| bytes[i..].starts_with(b"]]>")) {
        return Err("`]]>` in text");
    }
    decode_references(raw, out, push_normalized_text)
}

/// Checks an attribute value (the text between its quotes) and, when `out`
/// is given, appends its normalized value: references resolved, each literal
/// tab/CR/LF a space (`\r\n` one space), as XML 1.0 3.3.3 requires.
pub fn decode_attribute_value(raw: &str, out: Option<&mut String>) -> Result<(), Reason> {
    let bytes = raw.as_bytes();
    if !bytes.iter().any(|&b| has_class(b, ATTRIBUTE_SPECIAL)) {
        // Nothing to rewrite or reject: the usual case.
        if let Some(out) = out {
            out.push_str(raw);
        }
        return Ok(());
    }
    if memchr::memchr(b'<', bytes).is_some() {
        return Err("`<` in an attribute value");
    }
    decode_references(raw, out, push_normalized_attribute_text)
}

/// Resolves every reference in `raw` (each must resolve) and, when `out` is
/// given, appends the result, the literal text between references passed
/// through `push_literal` (the normalization XML applies to literal text).
fn decode_references(
    raw: &str,
    mut out: Option<&mut String>,
    push_literal: fn(&str, &mut String),
) -> Result<(), Reason> {
    let mut rest = raw;
    while let Some(amp) = memchr::memchr(b'&', rest.as_bytes()) {
        let end = memchr::memchr(b';', &rest.as_bytes()[amp..]).ok_or("reference without `;`")? + amp;
        let name = &rest[amp + 1..end];
        match out.as_deref_mut() {
            Some(out) => {
                push_literal(&rest[..amp], out);
                resolve_reference(name, out)?;
            }
            None => resolve_reference(name, &mut String::new())?,
        }
        rest = &rest[end + 1..];
    }
    if let Some(out) = out {
        push_literal(rest, out);
    }
    Ok(())
}

/// Appends character data with XML end-of-line handling: `\r\n` and a lone
/// `\r` both become `\n`.
pub fn push_normalized_text(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(i) = rest.find('\r') {
        out.push_str(&rest[..i]);
        out.push('\n');
        rest = &rest[i + 1..];
        if rest.starts_with('\n') {
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
}

/// Appends literal attribute-value text normalized: line ends as in text,
/// then every tab and line feed a space.
fn push_normalized_attribute_text(text: &str, out: &mut String) {
    let start = out.len();
    push_normalized_text(text, out);
    if out.as_bytes()[start..].iter().any(|&b| b == b'\t' || b == b'\n') {
        let normalized = out[start..].replace(['\t', '\n'], " ");
        out.truncate(start);
        out.push_str(&normalized);
    }
}

/// An attribute's normalized value, borrowed when the raw value needs no
/// rewriting (the usual case), checked either way.
pub fn attribute_value(raw: &str) -> Result<std::borrow::Cow<'_, str>, Reason> {
    if !raw.bytes().any(|b| has_class(b, ATTRIBUTE_SPECIAL)) {
        return Ok(std::borrow::Cow::Borrowed(raw));
    }
    let mut decoded = String::new();
    decode_attribute_value(raw, Some(&mut decoded))?;
    Ok(std::borrow::Cow::Owned(decoded))
}

/// One attribute of a start tag, as written.
pub struct RawAttribute<'a> {
    pub name: &'a str,
    pub value: &'a str,
}

/// Splits and checks the inside of a start tag (`name attr='v' ...`, without
/// `<`, `>` or the `/` of an empty element): a valid name, each attribute
/// preceded by white space, `S? = S?`, a quoted value, no duplicate names.
/// Calls `on_attribute` for each attribute, in order.
pub fn check_start_tag<'a>(
    tag: &'a str,
    mut on_attribute: impl FnMut(RawAttribute<'a>) -> Result<(), Reason>,
) -> Result<&'a str, Reason> {
    let bytes = tag.as_bytes();
    let name_end = bytes.iter().position(|&b| is_xml_space(b)).unwrap_or(bytes.len());
    let name = &tag[..name_end];
    if !is_name(name) {
        return Err("invalid element name");
    }
    // Attribute names seen so far; events carry a handful, so a linear scan wins.
    let mut seen: [&str; 16] = [""; 16];
    let mut seen_len = 0usize;
    let mut overflow: Vec<&str> = Vec::new();
    let mut i = name_end;
    loop {
        let space_start = i;
        while i < bytes.len() && is_xml_space(bytes[i]) {
            i += 1;
        }
        if i == bytes.len() {
            return Ok(name);
        }
        if i == space_start {
            return Err("attributes must be separated by white space");
        }
        let key_start = i;
        while i < bytes.len() && !is_xml_space(bytes[i]) && bytes[i] != b'=' {
            i += 1;
        }
        let key = &tag[key_start..i];
        if !is_name(key) {
            return Err("invalid attribute name");
        }
        while i < bytes.len() && is_xml_space(bytes[i]) {
            i += 1;
        }
        if bytes.get(i) != Some(&b'=') {
            return Err("attribute without `=`");
        }
        i += 1;
        while i < bytes.len() && is_xml_space(bytes[i]) {
            i += 1;
        }
        let quote = match bytes.get(i) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err("attribute value not quoted"),
        };
        let value_start = i + 1;
        let value_len = memchr::memchr(quote, &bytes[value_start..]).ok_or("attribute value not closed")?;
        let value = &tag[value_start..value_start + value_len];
        i = value_start + value_len + 1;
        if seen[..seen_len].contains(&key) || overflow.contains(&key) {
            return Err("duplicate attribute");
        }
        if seen_len < seen.len() {
            seen[seen_len] = key;
            seen_len += 1;
        } else {
            overflow.push(key);
        }
        on_attribute(RawAttribute { name: key, value })?;
    }
}

/// Checks a processing instruction's content (between `<?` and `?>`): a
/// target that is a name other than `xml` in any case, then nothing or white
/// space and data.
pub fn check_processing_instruction(content: &str) -> Result<(), Reason> {
    let target_end = content.bytes().position(is_xml_space).unwrap_or(content.len());
    let target = &content[..target_end];
    if !is_name(target) || target.eq_ignore_ascii_case("xml") {
        return Err("invalid processing instruction target");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes(tag: &str) -> Result<Vec<(String, String)>, Reason> {
        let mut out = Vec::new();
        check_start_tag(tag, |a| {
            out.push((a.name.to_string(), a.value.to_string()));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn start_tags() {
        assert_eq!(attributes("a").unwrap(), vec![]);
        assert_eq!(attributes("a b = '1'\n c=\"2\" ").unwrap().len(), 2);
        assert!(attributes("a b='1'c='2'").is_err());
        assert!(attributes("a b='1' b='2'").is_err());
        assert!(attributes("a p:b='1' q:b='2'").is_ok());
        assert!(attributes("1a").is_err());
        assert!(attributes("").is_err());
        assert!(attributes("a b").is_err());
        assert!(attributes("a b=1").is_err());
        assert!(attributes("a b='1").is_err());
        assert!(attributes("a\u{1}").is_err());
    }

    #[test]
    fn references() {
        let mut s = String::new();
        for ok in ["amp", "lt", "gt", "apos", "quot", "#116", "#x74", "#x0000074", "#x10FFFF"] {
            resolve_reference(ok, &mut s).unwrap();
        }
        assert_eq!(s, "&<>'\"tt\u{74}\u{10FFFF}");
        for bad in [
            "nbsp",
            "#X74",
            "#x",
            "#",
            "#0",
            "#1",
            "#xD800",
            "#xFFFE",
            "#x110000",
            "#-1",
            "#+1",
            "#x+1",
            "#99999999999",
        ] {
            assert!(resolve_reference(bad, &mut String::new()).is_err(), "{bad}");
        }
    }

    #[test]
    fn attribute_values_are_normalized() {
        let mut s = String::new();
        decode_attribute_value("a\r\nb\tc&#10;d&amp;", Some(&mut s)).unwrap();
        assert_eq!(s, "a b c\nd&");
        assert!(decode_attribute_value("a<b", None).is_err());
        assert!(decode_attribute_value("a&b", None).is_err());
    }

    #[test]
    fn text_references_and_cdata_end() {
        let mut s = String::new();
        decode_text("a&amp;b&#x74;\r\n]]", Some(&mut s)).unwrap();
        assert_eq!(s, "a&bt\n]]");
        assert!(decode_text("a]]>b", None).is_err());
        assert!(decode_text("a & b", None).is_err());
        assert!(decode_text("a &amp b", None).is_err());
        assert!(decode_text("&#X74;", None).is_err());
    }

    #[test]
    fn text_line_ends() {
        let mut s = String::new();
        push_normalized_text("a\r\nb\rc\n", &mut s);
        assert_eq!(s, "a\nb\nc\n");
    }

    #[test]
    fn forbidden_characters() {
        assert!(!has_forbidden_char(b"ok\t\r\n"));
        assert!(has_forbidden_char(b"a\x01"));
        assert!(has_forbidden_char(&[b"a".repeat(100), b"\x1f".to_vec(), b"b".repeat(100)].concat()));
        assert!(!has_forbidden_char(&b"\ta\r\n".repeat(100)));
        assert!(has_forbidden_char("x\u{FFFF}".as_bytes()));
        assert!(has_forbidden_char("x\u{FFFE}".as_bytes()));
        assert!(!has_forbidden_char("x\u{FFFD}\u{FEFF}".as_bytes()));
    }

    #[test]
    fn names() {
        assert!(is_name("Data") && is_name("e:Data") && is_name("_a.b-c"));
        assert!(!is_name("-a") && !is_name("a b") && !is_name("") && !is_name("1a") && !is_name("a/"));
        assert!(is_name("\u{e9}t\u{e9}") && !is_name("\u{B7}a") && is_name("a\u{B7}"));
        // Fifth-edition name characters that expat (fourth edition) rejects.
        assert!(!is_name("a\u{FEFF}") && !is_name("\u{2070}") && !is_name("\u{10000}") && !is_name("a\u{17F}"));
        assert_eq!(local_name("e:Data"), "Data");
        assert_eq!(local_name("Data"), "Data");
    }
}
