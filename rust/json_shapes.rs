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
//! - **Splunk** (`result._raw`): the XML event, judged by the XML path.
//! - **NXLog** (flat, as in OTRF Security-Datasets): `SourceName`,
//!   `EventID`, `Hostname`, Sysmon's `UtcTime` as the time, `Channel`,
//!   `RecordNumber`, `Version`, `Task`, `OpcodeValue`, and the `EventData`
//!   fields as top-level keys.
//!
//! A record is the first shape that fits, in that order. Values: a string
//! is its decoded text, a number or `true`/`false` its text as written,
//! `null` the empty string; an object or array has no value. When a key
//! occurs twice in one object, the first occurrence counts (as for a
//! repeated `Data` name in XML).

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

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

/// A JSON value, validated, not yet read: its text in the record.
type Value<'r> = &'r RawValue;

/// A JSON object's members in order, duplicates kept.
type Members<'r> = Vec<(Cow<'r, str>, Value<'r>)>;

/// The first member named `key` (the first occurrence counts).
fn member<'m, 'r>(members: &'m Members<'r>, key: &str) -> Option<&'m Value<'r>> {
    members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// A record's top level: an object's members, or anything else (checked).
enum TopLevel<'r> {
    Object(Members<'r>),
    Other,
}

impl<'de> Deserialize<'de> for TopLevel<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TopLevelVisitor)
    }
}

struct TopLevelVisitor;

impl<'de> Visitor<'de> for TopLevelVisitor {
    type Value = TopLevel<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel<'de>, A::Error> {
        let mut members = Vec::new();
        while let Some((Key(key), value)) = map.next_entry::<Key<'de>, Value<'de>>()? {
            members.push((key, value));
        }
        Ok(TopLevel::Object(members))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TopLevel<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(TopLevel::Other)
    }

    fn visit_bool<E>(self, _: bool) -> Result<TopLevel<'de>, E> {
        Ok(TopLevel::Other)
    }

    fn visit_i64<E>(self, _: i64) -> Result<TopLevel<'de>, E> {
        Ok(TopLevel::Other)
    }

    fn visit_u64<E>(self, _: u64) -> Result<TopLevel<'de>, E> {
        Ok(TopLevel::Other)
    }

    fn visit_f64<E>(self, _: f64) -> Result<TopLevel<'de>, E> {
        Ok(TopLevel::Other)
    }

    fn visit_str<E>(self, _: &str) -> Result<TopLevel<'de>, E> {
        Ok(TopLevel::Other)
    }

    fn visit_unit<E>(self) -> Result<TopLevel<'de>, E> {
        Ok(TopLevel::Other)
    }
}

/// A member's name: borrowed from the record unless it holds escapes.
struct Key<'r>(Cow<'r, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(key)))
    }

    fn visit_str<E>(self, key: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(key.to_owned())))
    }
}

/// The members of `value` if it is an object.
fn members_of<'r>(value: &Value<'r>) -> Option<Members<'r>> {
    // `value` lies in a record that was validated whole, so reading it cannot fail.
    match serde_json::from_str::<TopLevel<'r>>(value.get()) {
        Ok(TopLevel::Object(members)) => Some(members),
        _ => None,
    }
}

/// The value of a scalar: decoded text of a string, the text as written of
/// a number or boolean, the empty string for `null`; `None` for an object
/// or array.
fn scalar_text<'r>(value: &Value<'r>) -> Option<Cow<'r, str>> {
    let raw: &'r str = value.get();
    match raw.as_bytes().first()? {
        b'"' if raw.contains('\\') => serde_json::from_str::<String>(raw).ok().map(Cow::Owned),
        b'"' => Some(Cow::Borrowed(&raw[1..raw.len() - 1])),
        b'n' => Some(Cow::Borrowed("")),
        b'{' | b'[' => None,
        _ => Some(Cow::Borrowed(raw)),
    }
}

fn is_string(value: &Value<'_>) -> bool {
    value.get().starts_with('"')
}

/// An evtx-crate element's value: a scalar, or the `#text` of an element
/// that also has attributes.
fn element_text<'r>(value: &Value<'r>) -> Option<Cow<'r, str>> {
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
    // serde_json checks everything it reads or skips (escapes, control
    // characters, numbers, bytes after the value) except that a `\u` escape
    // pairs its surrogates: that is checked here, on the few records with one.
    if has_lone_surrogate(text) {
        return Err(INVALID);
    }
    // One pass over the top-level members; nested objects are read again
    // only where a shape looks into them.
    let top = match serde_json::from_str::<TopLevel<'r>>(text) {
        Ok(TopLevel::Object(members)) => members,
        Ok(TopLevel::Other) => return Ok(Record::NotAnEvent),
        Err(_) => return Err(INVALID),
    };
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
    if is_string(raw) {
        scalar_text(raw)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::Detection;

    #[test]
    fn surrogates_pair_or_the_record_is_malformed() {
        assert!(!has_lone_surrogate(r#"{"a":"\ud83d\ude00 \u0074"}"#));
        assert!(!has_lone_surrogate(r#"{"a":"\\ud800"}"#));
        for lone in [r#""\ud800""#, r#""\udc00""#, r#""\ud83d\u0041""#, r#""\ud83dx\ude00""#, r#""\ude00\ud83d""#] {
            assert!(has_lone_surrogate(lone), "{lone}");
        }
    }

    #[test]
    fn values_are_decoded_strings_and_numbers_as_written() {
        let compiled = Detection::telegram_downloads().with_by_fields(&["process_id", "EventCode"]).unwrap().compile();
        let table = JsonTable::new(&compiled.fields);
        let mut values = EventValues::default();
        let record = br#"{"SourceName":"Microsoft-Windows-Sysmon","EventID":15,"ProcessId":4.20,"Image":"C:\\T\u0065legram.exe","Image":"x","UtcTime":"2020-10-09 22:28:00.962"}"#;
        assert_eq!(read_record(record, &table, &mut values), Ok(Record::Event));
        let slot = |path: FieldPath| compiled.fields.iter().position(|f| *f == path).unwrap();
        assert_eq!(values.get(slot(FieldPath::Data("Image".into()))), Some(r"C:\Telegram.exe"));
        assert_eq!(values.get(slot(FieldPath::Data("ProcessId".into()))), Some("4.20"));
        assert_eq!(values.get(slot(FieldPath::SystemText("EventID".into()))), Some("15"));
        let time = FieldPath::SystemAttribute { element: "TimeCreated".into(), attribute: "SystemTime".into() };
        assert_eq!(values.get(slot(time)), Some("2020-10-09T22:28:00.962"));
        assert_eq!(read_record(b"[1, {}]", &table, &mut values), Ok(Record::NotAnEvent));
        assert_eq!(read_record(br#"{"a":1} x"#, &table, &mut values), Err("not valid JSON"));
    }
}
