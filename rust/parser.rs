//! Strict parse of one event's bytes into the values a detection reads.
//!
//! quick-xml tokenizes (borrowing from the input, no copies) and matches end
//! tags; [`crate::xml_rules`] adds the checks strict XML 1.0 needs on top. The
//! event is judged as a standalone document, without namespace processing:
//! names are matched on their local part, undeclared prefixes are fine.
//!
//! quick-xml 0.37, not a later one: from 0.38 every token is re-validated as
//! UTF-8 and references are split into tokens of their own, which made
//! tokenizing a Sysmon event ~1.5x slower (measured on the dense bench). The
//! event is validated as UTF-8 once, here, instead.

use std::borrow::Cow;

use quick_xml::events::Event as XmlEvent;
use quick_xml::reader::Reader;

use crate::detection::FieldPath;
use crate::xml_rules::{self, Reason};

#[path = "fast_parse.rs"]
mod fast_parse;

/// Which values to collect, by where they live. Built once per detection.
#[derive(Clone, Debug, Default)]
pub struct FieldTable {
    /// `System/<element>` text -> slot.
    system_text: Vec<(String, usize)>,
    /// `System/<element>/@<attribute>` -> slot.
    system_attributes: Vec<(String, String, usize)>,
    /// `EventData/Data[@Name=<name>]` text -> slot.
    data: Vec<(String, usize)>,
    slots: usize,
}

impl FieldTable {
    pub fn new(fields: &[FieldPath]) -> FieldTable {
        let mut table = FieldTable { slots: fields.len(), ..FieldTable::default() };
        for (slot, field) in fields.iter().enumerate() {
            match field {
                FieldPath::SystemText(element) => table.system_text.push((element.clone(), slot)),
                FieldPath::SystemAttribute { element, attribute } => {
                    table.system_attributes.push((element.clone(), attribute.clone(), slot))
                }
                FieldPath::Data(name) => table.data.push((name.clone(), slot)),
            }
        }
        table
    }
}

/// The values of one parsed event: one optional string per slot, stored as
/// ranges of a reused buffer so that a parse allocates nothing once warm.
#[derive(Debug, Default)]
pub struct EventValues {
    text: String,
    slots: Vec<Slot>,
    /// Context of each open element while parsing; index 0 is the root.
    stack: Vec<Context>,
    /// Start tags already checked, across events (see [`checked_name_attribute`]).
    checked_tags: CheckedTags,
}

/// Start tags known to be well-formed, with the value of their `Name`
/// attribute (if any). Nearly every tag of a Sysmon event recurs byte for
/// byte in the next (`<Provider .../>`, `<Data Name='Image'>`, ...), and
/// checking a tag's syntax cost ~25% of parsing an event.
type CheckedTags = std::collections::HashMap<Box<str>, Option<Box<str>>, foldhash::fast::RandomState>;

/// Bounds on [`CheckedTags`], so that a log of ever-new tags cannot grow it.
const MAX_CHECKED_TAGS: usize = 4096;
const MAX_CHECKED_TAG_LEN: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    /// Not (yet) seen in this event.
    Missing,
    /// Seen; its value is `text[start..end]`.
    Value { start: usize, end: usize },
    /// Seen, but it holds child elements, so it has no value.
    NoValue,
}

impl EventValues {
    /// The value in `slot`, if the event has one.
    pub fn get(&self, slot: usize) -> Option<&str> {
        match self.slots.get(slot)? {
            Slot::Value { start, end } => Some(&self.text[*start..*end]),
            Slot::Missing | Slot::NoValue => None,
        }
    }

    fn reset(&mut self, slots: usize) {
        self.text.clear();
        self.stack.clear();
        self.slots.clear();
        self.slots.resize(slots, Slot::Missing);
    }

    /// Starts an event of `slots` values, all missing, for a reader other
    /// than [`parse_event`] (a JSON record, see `crate::json_shapes`).
    pub fn begin(&mut self, slots: usize) {
        self.reset(slots);
    }

    /// Gives `slot` the value `value` (the reader decides which occurrence counts).
    pub fn set(&mut self, slot: usize, value: &str) {
        let start = self.text.len();
        self.text.push_str(value);
        self.slots[slot] = Slot::Value { start, end: self.text.len() };
    }

    fn is_missing(&self, slot: usize) -> bool {
        self.slots[slot] == Slot::Missing
    }
}

/// What the element being read is, so its text can go to the right slot.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Context {
    Root,
    /// The first `System` child of the root.
    System,
    /// The first `EventData` child of the root.
    EventData,
    /// Anything else; nothing inside it is collected.
    Other,
}

impl Context {
    /// The context of an element named `local` inside `parent` (None: the
    /// root). Only the first `System` and the first `EventData` child of
    /// the root are read; `seen_*` remember whether they came already.
    fn of_child(parent: Option<Context>, local: &str, seen_system: &mut bool, seen_event_data: &mut bool) -> Context {
        match parent {
            None => Context::Root,
            Some(Context::Root) if local == "System" && !*seen_system => {
                *seen_system = true;
                Context::System
            }
            Some(Context::Root) if local == "EventData" && !*seen_event_data => {
                *seen_event_data = true;
                Context::EventData
            }
            _ => Context::Other,
        }
    }
}

impl FieldTable {
    /// A System element read for its attributes counts as seen even when
    /// it lacks them: a second `TimeCreated` must not supply the time the
    /// first lacked.
    fn mark_attributes_seen(&self, element_local: &str, values: &mut EventValues) {
        for &(ref element, _, slot) in &self.system_attributes {
            if element == element_local && values.is_missing(slot) {
                values.slots[slot] = Slot::NoValue;
            }
        }
    }
}

/// The text of an element being collected into a slot.
struct Capture {
    slot: usize,
    /// Depth of the element whose text this is.
    depth: usize,
    start: usize,
}

/// Parses `event` (the bytes from `<Event` through `</Event>`), checking that
/// it is well-formed XML 1.0 and filling `values` with the fields of `table`.
pub fn parse_event(event: &[u8], table: &FieldTable, values: &mut EventValues) -> Result<(), Reason> {
    values.reset(table.slots);
    let text = simdutf8::basic::from_utf8(event).map_err(|_| "invalid UTF-8")?;
    if xml_rules::has_forbidden_char(event) {
        return Err("character XML forbids");
    }
    // The usual Sysmon shape in one pass; anything else (and every verdict
    // of malformed) is left to the strict path below.
    if fast_parse::parse_sysmon_shaped(text, table, values) {
        return Ok(());
    }
    parse_strictly(event, table, values)
}

/// [`parse_event`] by the general path alone: quick-xml and the rules of
/// [`xml_rules`], for any event.
fn parse_strictly(event: &[u8], table: &FieldTable, values: &mut EventValues) -> Result<(), Reason> {
    values.reset(table.slots);
    simdutf8::basic::from_utf8(event).map_err(|_| "invalid UTF-8")?;
    if xml_rules::has_forbidden_char(event) {
        return Err("character XML forbids");
    }
    let mut reader = Reader::from_reader(event);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.check_comments = true;
    config.trim_text(false);

    let mut stack = std::mem::take(&mut values.stack);
    let result = parse_tokens(&mut reader, table, values, &mut stack);
    values.stack = stack;
    result
}

/// The token loop of [`parse_event`]; `stack` is reused scratch.
fn parse_tokens(
    reader: &mut Reader<&[u8]>,
    table: &FieldTable,
    values: &mut EventValues,
    stack: &mut Vec<Context>,
) -> Result<(), Reason> {
    let mut seen_system = false;
    let mut seen_event_data = false;
    let mut root_closed = false;
    let mut capture: Option<Capture> = None;

    loop {
        let token = reader.read_event().map_err(|_| "not well-formed XML")?;
        if root_closed && !matches!(token, XmlEvent::Eof) {
            return Err("content after the end of the event element");
        }
        match token {
            XmlEvent::Start(ref tag) | XmlEvent::Empty(ref tag) => {
                let tag = token_str(tag);
                let is_empty = matches!(token, XmlEvent::Empty(_));
                if let Some(c) = &capture {
                    if stack.len() == c.depth {
                        // A child element: the captured element has no value.
                        values.slots[c.slot] = Slot::NoValue;
                        capture = None;
                    }
                }
                let parent = stack.last().copied();
                let context = open_element(tag, parent, &mut seen_system, &mut seen_event_data, table, values)?;
                if let OpenOutcome::CaptureText(slot) = context.1 {
                    if is_empty {
                        let at = values.text.len();
                        values.slots[slot] = Slot::Value { start: at, end: at };
                    } else {
                        capture = Some(Capture { slot, depth: stack.len() + 1, start: values.text.len() });
                        // Mark as seen now, so a later element of the same name is ignored.
                        values.slots[slot] = Slot::NoValue;
                    }
                }
                if is_empty {
                    root_closed = stack.is_empty();
                } else {
                    stack.push(context.0);
                }
            }
            XmlEvent::End(_) => {
                if let Some(c) = &capture {
                    if stack.len() == c.depth {
                        values.slots[c.slot] = Slot::Value { start: c.start, end: values.text.len() };
                        capture = None;
                    }
                }
                stack.pop();
                root_closed = stack.is_empty();
            }
            XmlEvent::Text(t) => {
                let capturing = capture.as_ref().is_some_and(|c| stack.len() == c.depth);
                xml_rules::decode_text(token_str(&t), capturing.then_some(&mut values.text))?;
            }
            XmlEvent::CData(t) => {
                if capture.as_ref().is_some_and(|c| stack.len() == c.depth) {
                    xml_rules::push_normalized_text(token_str(&t), &mut values.text);
                }
            }
            XmlEvent::Comment(_) => {}
            XmlEvent::PI(pi) => xml_rules::check_processing_instruction(token_str(&pi))?,
            XmlEvent::Decl(_) => return Err("XML declaration inside an event"),
            XmlEvent::DocType(_) => return Err("DOCTYPE inside an event"),
            XmlEvent::Eof => {
                return if root_closed { Ok(()) } else { Err("element not closed") };
            }
        }
    }
}

/// A token of an event that [`parse_event`] has validated as UTF-8.
fn token_str(token: &[u8]) -> &str {
    debug_assert!(std::str::from_utf8(token).is_ok());
    // SAFETY: `parse_event` checked that the whole event is valid UTF-8, and
    // quick-xml cuts tokens only next to ASCII delimiters (`<`, `>`, `?`,
    // `-`, `]`, `/`, white space). An ASCII byte never occurs inside a
    // multi-byte UTF-8 sequence, so every token is itself valid UTF-8.
    unsafe { std::str::from_utf8_unchecked(token) }
}

enum OpenOutcome {
    Nothing,
    /// The element's text is the value of this slot.
    CaptureText(usize),
}

fn is_namespace_declaration(attribute: &str) -> bool {
    attribute == "xmlns" || attribute.starts_with("xmlns:")
}

/// Checks a start tag (or finds it among those already checked) and returns
/// the decoded value of its first `Name` attribute, namespace declarations
/// aside.
fn checked_name_attribute<'c>(tag: &str, checked: &'c mut CheckedTags) -> Result<Option<Cow<'c, str>>, Reason> {
    // Looked up twice on a hit: returning the first borrow early is the case
    // today's borrow checker rejects, and hashing a short tag is cheap.
    if checked.contains_key(tag) {
        return Ok(checked.get(tag).and_then(|name| name.as_deref()).map(Cow::Borrowed));
    }
    let mut name: Option<Box<str>> = None;
    xml_rules::check_start_tag(tag, |attribute| {
        if name.is_none()
            && xml_rules::local_name(attribute.name) == "Name"
            && !is_namespace_declaration(attribute.name)
        {
            name = Some(xml_rules::attribute_value(attribute.value)?.into());
            return Ok(());
        }
        xml_rules::decode_attribute_value(attribute.value, None)
    })?;
    if tag.len() > MAX_CHECKED_TAG_LEN {
        return Ok(name.map(|n| Cow::Owned(n.into())));
    }
    if checked.len() >= MAX_CHECKED_TAGS {
        checked.clear();
    }
    let name = checked.entry(tag.into()).or_insert(name);
    Ok(name.as_deref().map(Cow::Borrowed))
}

/// Checks a start tag, collects the attributes the table asks for, and says
/// what the new element is.
fn open_element(
    tag: &str,
    parent: Option<Context>,
    seen_system: &mut bool,
    seen_event_data: &mut bool,
    table: &FieldTable,
    values: &mut EventValues,
) -> Result<(Context, OpenOutcome), Reason> {
    let qualified = &tag[..tag.bytes().position(xml_rules::is_xml_space).unwrap_or(tag.len())];
    let element_local = xml_rules::local_name(qualified);
    let is_data = parent == Some(Context::EventData) && element_local == "Data";
    let in_system = parent == Some(Context::System);
    // Only a System child the table reads attributes of needs lookups per
    // attribute; every other element's attributes are only checked.
    let wants_attributes = in_system && table.system_attributes.iter().any(|(e, _, _)| e == element_local);
    // The slot of a Data element's text, found from its `Name`.
    let mut data_slot = None;
    if wants_attributes {
        xml_rules::check_start_tag(tag, |attribute| {
            let local = xml_rules::local_name(attribute.name);
            // Namespace declarations are not attributes of the event's data.
            if !is_namespace_declaration(attribute.name) {
                if let Some(&(_, _, slot)) =
                    table.system_attributes.iter().find(|(e, a, _)| e == element_local && a == local)
                {
                    if values.is_missing(slot) {
                        let start = values.text.len();
                        xml_rules::decode_attribute_value(attribute.value, Some(&mut values.text))?;
                        values.slots[slot] = Slot::Value { start, end: values.text.len() };
                        return Ok(());
                    }
                }
            }
            xml_rules::decode_attribute_value(attribute.value, None)
        })?;
    } else {
        let name = checked_name_attribute(tag, &mut values.checked_tags)?;
        if is_data {
            data_slot =
                name.and_then(|name| table.data.iter().find(|(n, _)| n.as_str() == name)).map(|&(_, slot)| slot);
        }
    }
    let context = Context::of_child(parent, element_local, seen_system, seen_event_data);
    let mut outcome = OpenOutcome::Nothing;
    if in_system {
        if let Some(&(_, slot)) = table.system_text.iter().find(|(e, _)| e == element_local) {
            if values.is_missing(slot) {
                outcome = OpenOutcome::CaptureText(slot);
            }
        }
        if wants_attributes {
            table.mark_attributes_seen(element_local, values);
        }
    } else if let Some(slot) = data_slot {
        if values.is_missing(slot) {
            outcome = OpenOutcome::CaptureText(slot);
        }
    }
    Ok((context, outcome))
}
