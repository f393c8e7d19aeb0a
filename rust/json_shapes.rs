//! One JSON record mapped onto a detection's fields. The shapes users have
//! (docs/json.md has the table, field by field):
//!
//! - **evtx** (the `evtx` crate, `evtx_dump -o jsonl`, Chainsaw):
//!   `Event.System.Provider.#attributes.Name`, `Event.System.EventID` (a
//!   value, or an object with `#text`), `Event.System.TimeCreated.#attributes.SystemTime`,
//!   `Event.System.<Element>`, `Event.EventData.<Name>`.
//! - **ECS** (Winlogbeat, bare or an Elasticsearch hit's `_source`):
//!   `winlog.provider_name`, `winlog.event_id`, `winlog.computer_name`,
//!   `@timestamp`, `winlog.channel`, `winlog.record_id`, `winlog.event_data.<Name>`.
//! - **NXLog** (flat, as in OTRF Security-Datasets): `SourceName`,
//!   `EventID`, `Hostname`, Sysmon's `UtcTime` as the time, `Channel`,
//!   `RecordNumber`, `Version`, `Task`, `OpcodeValue`, and the `EventData`
//!   fields as top-level keys.
//! - **Splunk** (`result._raw`): the XML event, judged by the XML path.
//!
//! A record is the first shape that fits, in that order. Values: a string
//! is its decoded text, a number or `true`/`false` its text as written,
//! `null` the empty string; an object or array has no value. When a key
//! occurs twice in one object, the first occurrence counts (as for a
//! repeated `Data` name in XML).

use std::borrow::Cow;

use sonic_rs::{JsonType, JsonValueTrait, LazyValue};

use crate::detection::FieldPath;
use crate::parser::EventValues;

/// Why a record is malformed.
pub type Reason = &'static str;

/// Where each value slot of a detection comes from, in every shape.
#[derive(Clone, Debug)]
pub struct JsonTable {
    targets: Vec<Target>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Provider,
    EventId,
    Computer,
    Time,
    Channel,
    RecordId,
    /// Another text `System` element (`Version`, `Level`, ...).
    SystemText(String),
    /// Another `System` attribute.
    SystemAttribute(String, String),
    Data(String),
}

impl JsonTable {
    pub fn new(fields: &[FieldPath]) -> JsonTable {
        let targets = fields
            .iter()
            .map(|field| match field {
                FieldPath::SystemAttribute { element, attribute } => match (element.as_str(), attribute.as_str()) {
                    ("Provider", "Name") => Target::Provider,
                    ("TimeCreated", "SystemTime") => Target::Time,
                    _ => Target::SystemAttribute(element.clone(), attribute.clone()),
                },
                FieldPath::SystemText(element) => match element.as_str() {
                    "EventID" => Target::EventId,
                    "Computer" => Target::Computer,
                    "Channel" => Target::Channel,
                    "EventRecordID" => Target::RecordId,
                    _ => Target::SystemText(element.clone()),
                },
                FieldPath::Data(name) => Target::Data(name.clone()),
            })
            .collect();
        JsonTable { targets }
    }
}

/// What a record is.
#[derive(Debug, PartialEq, Eq)]
pub enum Record<'r> {
    /// Valid JSON of no known shape (or not an object).
    NotAnEvent,
    /// A Windows event; `values` holds its fields.
    Event,
    /// A Splunk export row: the XML event text of `result._raw`.
    SplunkRaw(Cow<'r, str>),
}

/// A JSON object's members in order, as lazily parsed values.
type Members<'r> = Vec<(Cow<'r, str>, LazyValue<'r>)>;

/// The first member named `key` (the first occurrence counts).
fn member<'m, 'r>(members: &'m Members<'r>, key: &str) -> Option<&'m LazyValue<'r>> {
    members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// The members of `value` if it is an object.
fn members_of<'r>(value: &LazyValue<'r>) -> Option<Members<'r>> {
    if value.get_type() != JsonType::Object {
        return None;
    }
    // `value` lies in a record that was validated whole, so no member fails.
    sonic_rs::to_object_iter(value_raw(value)?).collect::<Result<Members<'r>, _>>().ok()
}

/// The raw text of a lazy value, borrowed from the record it lies in.
/// Values read from a `&str` always borrow from it; `None` never happens.
fn value_raw<'r>(value: &LazyValue<'r>) -> Option<&'r str> {
    match value.as_raw_cow() {
        Cow::Borrowed(text) => Some(text),
        Cow::Owned(_) => None,
    }
}

/// The value of a scalar: decoded text of a string, the text as written of
/// a number or boolean, the empty string for `null`; `None` for an object
/// or array.
fn scalar_text<'r>(value: &LazyValue<'r>) -> Option<Cow<'r, str>> {
    match value.get_type() {
        JsonType::String => {
            let raw = value_raw(value)?;
            if raw.as_bytes().contains(&b'\\') {
                sonic_rs::from_str::<String>(raw).ok().map(Cow::Owned)
            } else {
                Some(Cow::Borrowed(&raw[1..raw.len() - 1]))
            }
        }
        JsonType::Number | JsonType::Boolean => value_raw(value).map(Cow::Borrowed),
        JsonType::Null => Some(Cow::Borrowed("")),
        JsonType::Object | JsonType::Array => None,
    }
}

/// An evtx-crate element's value: a scalar, or the `#text` of an element
/// that also has attributes.
fn element_text<'r>(value: &LazyValue<'r>) -> Option<Cow<'r, str>> {
    match members_of(value) {
        Some(members) => member(&members, "#text").and_then(scalar_text),
        None => scalar_text(value),
    }
}

/// NXLog's `UtcTime` (`2020-10-09 22:28:00.962`, Sysmon's own UTC time) as
/// a SystemTime: the space between date and time becomes `T`.
fn utc_time_as_system_time(value: Cow<'_, str>) -> Cow<'_, str> {
    if value.as_bytes().get(10) == Some(&b' ') {
        let mut owned = value.into_owned();
        owned.replace_range(10..11, "T");
        Cow::Owned(owned)
    } else {
        value
    }
}

/// Reads `record` (one line or array element, at most the size cap, nesting
/// checked): `Err` when it is not valid JSON, else what it is, with `values`
/// filled for an event.
pub fn read_record<'r>(record: &'r [u8], table: &JsonTable, values: &mut EventValues) -> Result<Record<'r>, Reason> {
    const INVALID: Reason = "not valid JSON";
    let text = simdutf8::basic::from_utf8(record).map_err(|_| "invalid UTF-8")?;
    // sonic-rs checks what it skips (escapes, control characters, numbers,
    // nesting) except that a `\u` escape pairs its surrogates: that is
    // checked here, on the few records that hold one.
    if has_lone_surrogate(text) {
        return Err(INVALID);
    }
    if !text.trim_start_matches(is_json_space).starts_with('{') {
        return match sonic_rs::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) => Ok(Record::NotAnEvent),
            Err(_) => Err(INVALID),
        };
    }
    // One strict pass over the top-level members; nested objects are read
    // again (lazily) only where a shape looks into them.
    let top: Members<'r> = sonic_rs::to_object_iter(text).collect::<Result<_, _>>().map_err(|_| INVALID)?;
    if !ends_after_object(text, &top) {
        return Err(INVALID);
    }
    values.begin(table.targets.len());
    let filled = if let Some(system) = evtx_system(&top) {
        fill(table, values, |target| evtx_value(&top, &system, target))
    } else if let Some(parts) = ecs_parts(&top) {
        fill(table, values, |target| ecs_value(&parts, target))
    } else if let Some(raw) = member(&top, "result").and_then(members_of).and_then(|r| splunk_raw(&r)) {
        return Ok(Record::SplunkRaw(raw));
    } else if member(&top, "SourceName").is_some() && member(&top, "EventID").is_some() {
        fill(table, values, |target| nxlog_value(&top, target))
    } else {
        return Ok(Record::NotAnEvent);
    };
    filled.map(|()| Record::Event)
}

fn is_json_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Whether nothing but white space follows the `}` that closes the
/// top-level object whose members are `top` (the lazy iterator stops there).
fn ends_after_object(text: &str, top: &Members<'_>) -> bool {
    let after_last_value = match top.last().and_then(|(_, value)| value_raw(value)) {
        // The value's text lies inside `text`: its end is an offset of it.
        Some(raw) => raw.as_ptr() as usize - text.as_ptr() as usize + raw.len(),
        None => text.find('{').map_or(text.len(), |open| open + 1),
    };
    let rest = text[after_last_value..].trim_start_matches(is_json_space);
    rest.strip_prefix('}').is_some_and(|tail| tail.trim_start_matches(is_json_space).is_empty())
}

/// Whether a `\u` escape in `text` encodes half of a surrogate pair without
/// its other half right beside it (`\ud83d\ude00` is one character;
/// `\ud800` alone is not a character). A `\u` is an escape after an odd
/// run of backslashes.
fn has_lone_surrogate(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut low_expected_at: Option<usize> = None;
    for at in memchr::memmem::find_iter(bytes, b"\\u") {
        if bytes[..=at].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0 {
            continue;
        }
        let unit = bytes.get(at + 2..at + 6).and_then(|hex| std::str::from_utf8(hex).ok());
        let Some(unit) = unit.and_then(|hex| u16::from_str_radix(hex, 16).ok()) else { continue };
        let is_high = (0xD800..0xDC00).contains(&unit);
        let is_low = (0xDC00..0xE000).contains(&unit);
        match low_expected_at.take() {
            Some(expected) if expected == at && is_low => continue,
            Some(_) => return true,
            None if is_low => return true,
            None => {}
        }
        if is_high {
            low_expected_at = Some(at + 6);
        }
    }
    low_expected_at.is_some()
}

/// Fills every slot from `lookup`; a value holding U+0000 (which no
/// Windows event can, and which separates by-field values) is malformed.
fn fill<'r>(
    table: &JsonTable,
    values: &mut EventValues,
    lookup: impl Fn(&Target) -> Option<Cow<'r, str>>,
) -> Result<(), Reason> {
    for (slot, target) in table.targets.iter().enumerate() {
        if let Some(value) = lookup(target) {
            if value.contains('\0') {
                return Err("a value holds U+0000");
            }
            values.set(slot, &value);
        }
    }
    Ok(())
}

/// An evtx-crate record's `Event`, its `System` and its `EventData`, each
/// read once.
struct EvtxParts<'r> {
    system: Members<'r>,
    event_data: Option<Members<'r>>,
}

fn evtx_system<'r>(top: &Members<'r>) -> Option<EvtxParts<'r>> {
    let event = members_of(member(top, "Event")?)?;
    let system = members_of(member(&event, "System")?)?;
    let event_data = member(&event, "EventData").and_then(members_of);
    Some(EvtxParts { system, event_data })
}

fn evtx_value<'r>(_top: &Members<'r>, parts: &EvtxParts<'r>, target: &Target) -> Option<Cow<'r, str>> {
    let system = &parts.system;
    let attribute = |element: &str, name: &str| -> Option<Cow<'r, str>> {
        let element = members_of(member(system, element)?)?;
        let attributes = members_of(member(&element, "#attributes")?)?;
        scalar_text(member(&attributes, name)?)
    };
    let text = |element: &str| element_text(member(system, element)?);
    match target {
        Target::Provider => attribute("Provider", "Name"),
        Target::Time => attribute("TimeCreated", "SystemTime"),
        Target::SystemAttribute(element, name) => attribute(element, name),
        Target::EventId => text("EventID"),
        Target::Computer => text("Computer"),
        Target::Channel => text("Channel"),
        Target::RecordId => text("EventRecordID"),
        Target::SystemText(element) => text(element),
        Target::Data(name) => element_text(member(parts.event_data.as_ref()?, name)?),
    }
}

/// An ECS record: the object holding `@timestamp` (the hit's `_source` or
/// the record itself), its `winlog` and `winlog.event_data`, each read once.
struct EcsParts<'r> {
    timestamp: Option<Cow<'r, str>>,
    winlog: Members<'r>,
    event_data: Option<Members<'r>>,
}

fn ecs_parts<'r>(top: &Members<'r>) -> Option<EcsParts<'r>> {
    let source = member(top, "_source").and_then(members_of);
    let record = source.as_ref().unwrap_or(top);
    let winlog = members_of(member(record, "winlog")?)?;
    let timestamp = member(record, "@timestamp").and_then(scalar_text);
    let event_data = member(&winlog, "event_data").and_then(members_of);
    Some(EcsParts { timestamp, winlog, event_data })
}

fn ecs_value<'r>(parts: &EcsParts<'r>, target: &Target) -> Option<Cow<'r, str>> {
    let field = |name: &str| scalar_text(member(&parts.winlog, name)?);
    match target {
        Target::Provider => field("provider_name"),
        Target::EventId => field("event_id"),
        Target::Computer => field("computer_name"),
        Target::Channel => field("channel"),
        Target::RecordId => field("record_id"),
        Target::Time => parts.timestamp.clone(),
        Target::SystemText(_) | Target::SystemAttribute(..) => None,
        Target::Data(name) => scalar_text(member(parts.event_data.as_ref()?, name)?),
    }
}

fn nxlog_value<'r>(top: &Members<'r>, target: &Target) -> Option<Cow<'r, str>> {
    let field = |name: &str| scalar_text(member(top, name)?);
    match target {
        Target::Provider => field("SourceName"),
        Target::EventId => field("EventID"),
        Target::Computer => field("Hostname"),
        Target::Channel => field("Channel"),
        Target::RecordId => field("RecordNumber"),
        Target::Time => field("UtcTime").map(utc_time_as_system_time),
        Target::SystemText(element) => match element.as_str() {
            "Version" | "Task" => field(element),
            "Opcode" => field("OpcodeValue"),
            _ => None,
        },
        Target::SystemAttribute(..) => None,
        Target::Data(name) => field(name),
    }
}

fn splunk_raw<'r>(result: &Members<'r>) -> Option<Cow<'r, str>> {
    let raw = member(result, "_raw")?;
    (raw.get_type() == JsonType::String).then(|| scalar_text(raw)).flatten()
}
