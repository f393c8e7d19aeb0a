//! A one-pass parse of Sysmon-shaped events, tried before the strict
//! general path of [`super`].
//!
//! In the dense worst case every event is a candidate and is parsed, and the
//! general path pays for generality Sysmon never uses: a tokenizer that finds
//! each token's end and then a second pass that checks it, a hash lookup per
//! start tag, reference and line-end handling in attribute values. This path
//! reads the event's bytes once, left to right, checking each byte as it
//! extracts: element and attribute names of ASCII name characters, attribute
//! values without references or characters that XML rewrites, exact end tags,
//! character data with the references [`xml_rules::decode_text`] resolves.
//!
//! It never judges an event malformed. On anything outside that shape
//! (comments, CDATA, processing instructions, declarations, non-ASCII or
//! prefixed-oddly names, a reference in an attribute value, a duplicate
//! attribute, deep nesting, text outside the root, any ill-formedness at all)
//! it gives up, and the caller runs the strict path from the start. So the
//! strict path alone decides every malformed verdict and its reason, and
//! what this path accepts it must value exactly as the strict path does:
//! the element bookkeeping below mirrors `open_element` and `parse_tokens`.

use super::{Capture, Context, EventValues, FieldTable, Slot};
use crate::xml_rules::{self, NAME, NAME_START, SPACE, VALUE_STOP};

/// Deepest nesting followed; a Sysmon event nests three deep.
const MAX_DEPTH: usize = 16;
/// Most attributes per start tag followed; Sysmon writes at most three.
const MAX_ATTRIBUTES: usize = 16;

/// The quote that does not close a value opened by `quote`.
fn other_quote(quote: u8) -> u8 {
    if quote == b'\'' {
        b'"'
    } else {
        b'\''
    }
}

fn is(b: u8, class: u8) -> bool {
    xml_rules::has_class(b, class)
}

/// A byte range of the event.
#[derive(Clone, Copy, Default)]
struct Span {
    start: usize,
    end: usize,
}

#[derive(Clone, Copy, Default)]
struct Attribute {
    name: Span,
    value: Span,
}

#[derive(Clone, Copy)]
struct Open {
    name: Span,
    context: Context,
}

/// Why this path stopped: it never says more, the strict path does.
struct GiveUp;

/// Parses `event` (valid UTF-8 without characters XML forbids: the caller
/// checked) into `values` (reset by the caller) if it has the usual shape of
/// a Sysmon event. `false`: not decided here; `values` holds partial work and
/// must be reset before the strict path runs.
pub(super) fn parse_sysmon_shaped(event: &str, table: &FieldTable, values: &mut EventValues) -> bool {
    let attributes = [Attribute::default(); MAX_ATTRIBUTES];
    FastParser { event, bytes: event.as_bytes(), at: 0, table, values, attributes }.run().is_ok()
}

struct FastParser<'e, 't, 'v> {
    event: &'e str,
    bytes: &'e [u8],
    /// The next byte to read.
    at: usize,
    table: &'t FieldTable,
    values: &'v mut EventValues,
    /// The attributes of the start tag being read (scratch, reused per tag).
    attributes: [Attribute; MAX_ATTRIBUTES],
}

impl FastParser<'_, '_, '_> {
    fn run(&mut self) -> Result<(), GiveUp> {
        let mut stack = [Open { name: Span::default(), context: Context::Other }; MAX_DEPTH];
        let mut depth = 0usize;
        let mut seen_system = false;
        let mut seen_event_data = false;
        let mut root_closed = false;
        let mut capture: Option<Capture> = None;
        loop {
            // Most markup follows markup directly (`</Data><Data ...>`):
            // checked before paying a search's set-up. Otherwise one search
            // finds the end of the text run or the first `&` or `]` in it,
            // the bytes that need `decode_text` (a CR too, looked for only
            // in the runs that are values: elsewhere it changes nothing).
            let mut plain = true;
            let next_markup = if self.bytes.get(self.at) == Some(&b'<') {
                Some(self.at)
            } else {
                let rest = &self.bytes[self.at..];
                match memchr::memchr3(b'<', b'&', b']', rest) {
                    Some(i) if rest[i] == b'<' => Some(self.at + i),
                    Some(i) => {
                        plain = false;
                        memchr::memchr(b'<', &rest[i..]).map(|j| self.at + i + j)
                    }
                    None => None,
                }
            };
            let text_end = next_markup.unwrap_or(self.bytes.len());
            if text_end > self.at {
                if depth == 0 {
                    // Text outside the root: only after it closed (the event
                    // starts with `<Event`), which the strict path rejects.
                    return Err(GiveUp);
                }
                let capturing = capture.as_ref().is_some_and(|c| c.depth == depth);
                let text = &self.event[self.at..text_end];
                if plain && !(capturing && memchr::memchr(b'\r', text.as_bytes()).is_some()) {
                    // Its own value: nothing to resolve, normalize or reject.
                    if capturing {
                        self.values.text.push_str(text);
                    }
                } else {
                    let out = if capturing { Some(&mut self.values.text) } else { None };
                    xml_rules::decode_text(text, out).map_err(|_| GiveUp)?;
                }
            }
            let Some(lt) = next_markup else {
                return if root_closed { Ok(()) } else { Err(GiveUp) };
            };
            if root_closed {
                return Err(GiveUp);
            }
            self.at = lt + 1;
            match self.bytes.get(self.at) {
                Some(b'/') => {
                    let open = *stack[..depth].last().ok_or(GiveUp)?;
                    self.end_tag(open.name)?;
                    if let Some(c) = &capture {
                        if c.depth == depth {
                            self.values.slots[c.slot] = Slot::Value { start: c.start, end: self.values.text.len() };
                            capture = None;
                        }
                    }
                    depth -= 1;
                    root_closed = depth == 0;
                }
                Some(&b) if is(b, NAME_START) => {
                    let (name, attribute_count, is_empty) = self.start_tag()?;
                    if !is_empty && depth == MAX_DEPTH {
                        return Err(GiveUp);
                    }
                    if let Some(c) = &capture {
                        if c.depth == depth {
                            // A child element: the captured element has no value.
                            self.values.slots[c.slot] = Slot::NoValue;
                            capture = None;
                        }
                    }
                    let parent = stack[..depth].last().map(|open| open.context);
                    let (context, capture_slot) =
                        self.open_element(name, attribute_count, parent, &mut seen_system, &mut seen_event_data);
                    if let Some(slot) = capture_slot {
                        let at = self.values.text.len();
                        if is_empty {
                            self.values.slots[slot] = Slot::Value { start: at, end: at };
                        } else {
                            capture = Some(Capture { slot, depth: depth + 1, start: at });
                            // Seen now, so a later element of the same name is ignored.
                            self.values.slots[slot] = Slot::NoValue;
                        }
                    }
                    if is_empty {
                        root_closed = depth == 0;
                    } else {
                        stack[depth] = Open { name, context };
                        depth += 1;
                    }
                }
                // `<!` (comment, CDATA, DOCTYPE), `<?`, or not a name.
                _ => return Err(GiveUp),
            }
        }
    }

    /// Moves past the bytes of `class` from `self.at` (iterating a slice:
    /// no bounds check per byte).
    fn skip(&mut self, class: u8) {
        let rest = &self.bytes[self.at..];
        self.at += rest.iter().position(|&b| !is(b, class)).unwrap_or(rest.len());
    }

    fn skip_space(&mut self) {
        self.skip(SPACE);
    }

    /// A run of ASCII name bytes from `self.at` (its first byte already
    /// known to be a name start).
    fn name(&mut self) -> Span {
        let start = self.at;
        self.at += 1;
        self.skip(NAME);
        Span { start, end: self.at }
    }

    /// `/name>` at `self.at`, exactly: the open element's name, no space.
    fn end_tag(&mut self, open: Span) -> Result<(), GiveUp> {
        let name = &self.bytes[open.start..open.end];
        let from = self.at + 1;
        let close = from + name.len();
        if self.bytes.get(from..close) != Some(name) || self.bytes.get(close) != Some(&b'>') {
            return Err(GiveUp);
        }
        self.at = close + 1;
        Ok(())
    }

    /// A start tag from its name (at `self.at`) through `>` or `/>`: its
    /// name, how many attributes it filled in, and whether it is empty.
    fn start_tag(&mut self) -> Result<(Span, usize, bool), GiveUp> {
        let name = self.name();
        let mut count = 0usize;
        loop {
            let space_start = self.at;
            self.skip_space();
            match self.bytes.get(self.at) {
                Some(b'>') => {
                    self.at += 1;
                    return Ok((name, count, false));
                }
                Some(b'/') if self.bytes.get(self.at + 1) == Some(&b'>') => {
                    self.at += 2;
                    return Ok((name, count, true));
                }
                // An attribute, after the white space XML requires.
                Some(&b) if is(b, NAME_START) && self.at > space_start && count < MAX_ATTRIBUTES => {
                    let attribute = self.attribute()?;
                    let key = &self.bytes[attribute.name.start..attribute.name.end];
                    if self.attributes[..count].iter().any(|a| &self.bytes[a.name.start..a.name.end] == key) {
                        return Err(GiveUp);
                    }
                    self.attributes[count] = attribute;
                    count += 1;
                }
                _ => return Err(GiveUp),
            }
        }
    }

    /// `name S? = S? 'value'` (or `"value"`) from `self.at`.
    fn attribute(&mut self) -> Result<Attribute, GiveUp> {
        let name = self.name();
        self.skip_space();
        if self.bytes.get(self.at) != Some(&b'=') {
            return Err(GiveUp);
        }
        self.at += 1;
        self.skip_space();
        let quote = match self.bytes.get(self.at) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err(GiveUp),
        };
        let start = self.at + 1;
        // Values are short: one scalar pass finds the closing quote and
        // rules out what the strict path must see, cheaper than a search's
        // set-up plus a check.
        let rest = &self.bytes[start..];
        let stop = rest.iter().position(|&b| is(b, VALUE_STOP) && b != other_quote(quote)).ok_or(GiveUp)?;
        if rest[stop] != quote {
            return Err(GiveUp);
        }
        let end = start + stop;
        self.at = end + 1;
        Ok(Attribute { name, value: Span { start, end } })
    }

    /// What the strict path's `open_element` does with a checked start tag:
    /// collect the attributes the table asks for, find a `Data` element's
    /// slot by its `Name`, say what the element is and whose text it holds.
    /// Attribute values here are their own normalized values (no byte that
    /// normalization rewrites got this far).
    fn open_element(
        &mut self,
        name: Span,
        attribute_count: usize,
        parent: Option<Context>,
        seen_system: &mut bool,
        seen_event_data: &mut bool,
    ) -> (Context, Option<usize>) {
        // Borrowed field by field: the attributes are read while values fill.
        let FastParser { event, attributes, table, values, .. } = self;
        let event: &str = event;
        let text_of = |span: Span| &event[span.start..span.end];
        let attributes = &attributes[..attribute_count];
        let element_local = xml_rules::local_name(text_of(name));
        let is_data = parent == Some(Context::EventData) && element_local == "Data";
        let in_system = parent == Some(Context::System);
        let wants_attributes = in_system && table.system_attributes.iter().any(|(e, _, _)| e == element_local);
        let mut data_slot = None;
        if wants_attributes {
            for attribute in attributes {
                let attribute_name = text_of(attribute.name);
                if super::is_namespace_declaration(attribute_name) {
                    continue;
                }
                let local = xml_rules::local_name(attribute_name);
                if let Some(&(_, _, slot)) =
                    table.system_attributes.iter().find(|(e, a, _)| e == element_local && a == local)
                {
                    if values.is_missing(slot) {
                        let start = values.text.len();
                        values.text.push_str(text_of(attribute.value));
                        values.slots[slot] = Slot::Value { start, end: values.text.len() };
                    }
                }
            }
        } else if is_data {
            let name_value = attributes
                .iter()
                .find(|a| {
                    let attribute_name = text_of(a.name);
                    xml_rules::local_name(attribute_name) == "Name" && !super::is_namespace_declaration(attribute_name)
                })
                .map(|a| text_of(a.value));
            data_slot =
                name_value.and_then(|v| table.data.iter().find(|(n, _)| n.as_str() == v)).map(|&(_, slot)| slot);
        }
        let context = Context::of_child(parent, element_local, seen_system, seen_event_data);
        let mut capture_slot = None;
        if in_system {
            if let Some(&(_, slot)) = table.system_text.iter().find(|(e, _)| e == element_local) {
                if values.is_missing(slot) {
                    capture_slot = Some(slot);
                }
            }
            if wants_attributes {
                table.mark_attributes_seen(element_local, values);
            }
        } else if let Some(slot) = data_slot {
            if values.is_missing(slot) {
                capture_slot = Some(slot);
            }
        }
        (context, capture_slot)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_strictly, FieldTable};
    use super::*;
    use crate::detection::Detection;

    /// Every slot's value (or why none) and the verdict, of one path.
    type Outcome = (Result<(), &'static str>, Vec<Option<String>>, Vec<Slot>);

    fn outcome(values: &EventValues, result: Result<(), &'static str>, slots: usize) -> Outcome {
        let texts = (0..slots).map(|s| values.get(s).map(str::to_string)).collect();
        (result, texts, values.slots.clone())
    }

    fn table() -> FieldTable {
        let detection = Detection::telegram_downloads().with_users();
        FieldTable::new(&detection.compile().fields)
    }

    /// Both paths on `event`: (what parse_event gives, what the strict path
    /// alone gives, whether the fast path decided).
    fn both(event: &str) -> (Outcome, Outcome, bool) {
        let table = table();
        let mut values = EventValues::default();
        let fast = super::super::parse_event(event.as_bytes(), &table, &mut values);
        let fast = outcome(&values, fast, table.slots);
        let mut values = EventValues::default();
        values.reset(table.slots);
        let decided = parse_sysmon_shaped(event, &table, &mut values);
        let mut values = EventValues::default();
        let strict = parse_strictly(event.as_bytes(), &table, &mut values);
        (fast, outcome(&values, strict, table.slots), decided)
    }

    const SYSMON: &str = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
        <Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385F-C22A-43E0-BF4C-06F5698FFBD9}'/>\
        <EventID>15</EventID><Version>2</Version><TimeCreated SystemTime='2024-01-15T08:00:00.1330478Z'/>\
        <Correlation/><Execution ProcessID='1272' ThreadID='3688'/><Computer>win10.windomain.local</Computer>\
        <Security UserID='S-1-5-18'/></System><EventData><Data Name='RuleName'>-</Data>\
        <Data Name='ProcessId'>11292</Data><Data Name='Image'>C:\\Users\\v\\Telegram Desktop\\Telegram.exe</Data>\
        <Data Name='TargetFilename'>C:\\Users\\v\\Downloads\\R&amp;D x.zip:Zone.Identifier</Data>\
        <Data Name='Hash'>SHA1=FC,MD5=73</Data><Data Name='User'>WIN10\\v</Data></EventData></Event>";

    #[test]
    fn a_sysmon_event_is_decided_by_the_fast_path_with_the_strict_values() {
        let (fast, strict, decided) = both(SYSMON);
        assert!(decided);
        assert_eq!(fast, strict);
        assert_eq!(fast.0, Ok(()));
        assert!(fast.1.contains(&Some("C:\\Users\\v\\Downloads\\R&D x.zip:Zone.Identifier".to_string())));
        let go_style =
            SYSMON.replace('\'', "\"").replace("/>", " />").replace("<Correlation />", "<Correlation></Correlation>");
        let (fast, strict, decided) = both(&go_style);
        assert!(decided);
        assert_eq!(fast, strict);
    }

    /// Variations at the seam: some the fast path decides, some it hands
    /// over; either way the answer must be the strict path's.
    #[test]
    fn near_sysmon_shapes_give_the_strict_answer() {
        let edits: &[(&str, &str)] = &[
            ("<EventID>15</EventID>", "<EventID><!-- c -->15</EventID>"),
            ("<EventID>15</EventID>", "<EventID><![CDATA[15]]></EventID>"),
            ("<EventID>15</EventID>", "<EventID>1<?pi x?>5</EventID>"),
            ("<EventID>15</EventID>", "<EventID>1<?xml x?>5</EventID>"),
            ("<EventID>15</EventID>", "<EventID>&#x31;5</EventID>"),
            ("<EventID>15</EventID>", "<EventID>&#X31;5</EventID>"),
            ("<EventID>15</EventID>", "<EventID>&nbsp;15</EventID>"),
            ("<EventID>15</EventID>", "<EventID>15]]></EventID>"),
            ("<EventID>15</EventID>", "<EventID>15\r\n</EventID>"),
            ("<EventID>15</EventID>", "<EventID >15</EventID >"),
            ("<EventID>15</EventID>", "<EventID>15</EventId>"),
            ("<EventID>15</EventID>", "<EventID>15</EventID"),
            ("<EventID>15</EventID>", "<EventID>15<EventID>16</EventID></EventID>"),
            ("<EventID>15</EventID>", "<e:EventID>15</e:EventID>"),
            ("<EventID>15</EventID>", "<EventID>15</EventID><EventID>16</EventID>"),
            ("<EventID>15</EventID>", "<EventID/>"),
            ("<EventID>15</EventID>", "<EventID a='1'a='2'>15</EventID>"),
            ("<EventID>15</EventID>", "<EventID a='1' a='2'>15</EventID>"),
            ("<EventID>15</EventID>", "<EventID p:a='1' q:a='2'>15</EventID>"),
            ("<EventID>15</EventID>", "<EventID a=1>15</EventID>"),
            ("<EventID>15</EventID>", "<EventID a>15</EventID>"),
            ("<EventID>15</EventID>", "<EventID a='>'>15</EventID>"),
            ("<EventID>15</EventID>", "<EventID a='<'>15</EventID>"),
            ("<EventID>15</EventID>", "<EventID\ta\n=\r'1'>15</EventID>"),
            ("<EventID>15</EventID>", "<\u{e9}v\u{e9}nement>15</\u{e9}v\u{e9}nement>"),
            ("<EventID>15</EventID>", "<1EventID>15</1EventID>"),
            ("<EventID>15</EventID>", "<-x>15</-x>"),
            ("<EventID>15</EventID>", "<EventID/ >"),
            ("<EventID>15</EventID>", "<EventID>15</EventID>>"),
            ("<EventID>15</EventID>", "<EventID>15</EventID>x > y"),
            ("<EventID>15</EventID>", "< EventID>15</EventID>"),
            ("Name='Image'", "Name=\"Image\""),
            ("Name='Image'", "Name = 'Image'"),
            ("Name='Image'", "Name='Im&#97;ge'"),
            ("Name='Image'", "Name='Image' Name='Hash'"),
            ("Name='Image'", "d:Name='Image'"),
            ("Name='Image'", "xmlns:Name='Image'"),
            ("Name='Image'", "Name='Image\t'"),
            ("Name='Image'", "Name='Image' "),
            ("<Data Name='Image'>", "<Data Name='Image'/><Data Name='Image'>"),
            ("<Data Name='Image'>", "<Data Name='Hash'>x</Data><Data Name='Image'>"),
            ("<Data Name='Image'>C:", "<Data Name='Image'><b/>C:"),
            ("SystemTime='2024", "SystemTime=\"2024"),
            ("SystemTime='2024", "x:SystemTime='2024"),
            ("SystemTime='2024", "SystemTime='&#50;024"),
            ("SystemTime='2024", "a='1' SystemTime='2024"),
            ("<TimeCreated SystemTime", "<TimeCreated/><TimeCreated SystemTime"),
            ("<System>", "<System><System/>"),
            ("<System>", "<!DOCTYPE x><System>"),
            ("</EventData>", "</EventData><EventData><Data Name='User'>u2</Data></EventData>"),
            ("</System>", "</System><System><Computer>other</Computer></System>"),
            ("</Event>", "</Event><Event/>"),
            ("</Event>", "</Event> "),
            ("<Event ", "<Event a='1'"),
            ("<Event ", "<e:Event "),
        ];
        let mut decided_count = 0;
        for (from, to) in edits {
            assert!(SYSMON.contains(from), "{from}");
            let event = SYSMON.replacen(from, to, 1);
            let (fast, strict, decided) = both(&event);
            assert_eq!(fast, strict, "{event}");
            if decided {
                decided_count += 1;
                assert_eq!(strict.0, Ok(()), "the fast path accepted a malformed event: {event}");
            }
        }
        // Both sides of the seam are exercised.
        assert!(decided_count >= 10 && decided_count < edits.len(), "{decided_count}");
    }

    #[test]
    fn truncations_and_byte_flips_give_the_strict_answer() {
        let bytes = SYSMON.as_bytes();
        for cut in 0..bytes.len() {
            if let Ok(event) = std::str::from_utf8(&bytes[..cut]) {
                let (fast, strict, _) = both(event);
                assert_eq!(fast, strict, "cut at {cut}");
            }
        }
        for at in 0..bytes.len() {
            for replacement in [b'<', b'>', b'/', b'\'', b'"', b'=', b' ', b'&', b'!', b'?', b'x', b':', b'\n'] {
                let mut flipped = bytes.to_vec();
                flipped[at] = replacement;
                if let Ok(event) = std::str::from_utf8(&flipped) {
                    let (fast, strict, decided) = both(event);
                    assert_eq!(fast, strict, "{event}");
                    assert!(!decided || strict.0.is_ok(), "{event}");
                }
            }
        }
    }

    #[test]
    fn name_classes_agree_with_the_strict_rules() {
        for b in 0u8..128 {
            let one = (b as char).to_string();
            assert_eq!(is(b, NAME_START), xml_rules::is_name(&one), "{b}");
            assert_eq!(is(b, NAME), xml_rules::is_name(&format!("a{one}")), "{b}");
            assert_eq!(is(b, SPACE), xml_rules::is_xml_space(b), "{b}");
        }
    }
}
