//! A detection as a value: the conditions an event must meet and the fields
//! its hits are grouped by. The Telegram detection is the built-in default;
//! nothing else in the core knows about Telegram.

use crate::error::{Error, Result};
use crate::xml_rules::trim_xml_space;

/// Where a value lives in an event, by local names from the root `Event`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FieldPath {
    /// Text of `System/<element>` (e.g. `EventID`, `Computer`).
    SystemText(String),
    /// An attribute of `System/<element>` (e.g. `Provider/@Name`).
    SystemAttribute { element: String, attribute: String },
    /// Text of the first `EventData/Data` whose `Name` attribute equals this.
    Data(String),
}

/// A test on one value. Every predicate implies that the value contains its
/// literal, ASCII case-insensitively, which is what makes a literal
/// prefilter sound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Predicate {
    /// Equal, ignoring ASCII case.
    EqualsIgnoreAsciiCase(String),
    /// Equal after trimming XML white space.
    TrimmedEquals(String),
    /// The text after the last `\` (all of it if none) equals this, ignoring ASCII case.
    BasenameEqualsIgnoreAsciiCase(String),
    /// Ends with this, ignoring ASCII case.
    EndsWithIgnoreAsciiCase(String),
}

impl Predicate {
    pub fn holds(&self, value: &str) -> bool {
        match self {
            Predicate::EqualsIgnoreAsciiCase(want) => value.eq_ignore_ascii_case(want),
            Predicate::TrimmedEquals(want) => trim_xml_space(value) == want,
            Predicate::BasenameEqualsIgnoreAsciiCase(want) => basename(value).eq_ignore_ascii_case(want),
            Predicate::EndsWithIgnoreAsciiCase(want) => {
                value.len() >= want.len()
                    && value.as_bytes()[value.len() - want.len()..].eq_ignore_ascii_case(want.as_bytes())
            }
        }
    }

    /// The literal a matching value must contain (ASCII case-insensitively).
    pub fn literal(&self) -> &str {
        match self {
            Predicate::EqualsIgnoreAsciiCase(s)
            | Predicate::TrimmedEquals(s)
            | Predicate::BasenameEqualsIgnoreAsciiCase(s)
            | Predicate::EndsWithIgnoreAsciiCase(s) => s,
        }
    }
}

/// The text after the last `\` of a Windows path, all of it if there is
/// none: Splunk's `process_name` of an `Image`.
pub fn basename(value: &str) -> &str {
    match memchr::memrchr(b'\\', value.as_bytes()) {
        Some(slash) => &value[slash + 1..],
        None => value,
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub field: FieldPath,
    pub predicate: Predicate,
}

/// How a by-field's value is derived from the value at its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByValue {
    /// As decoded.
    AsIs,
    /// XML white space trimmed (Splunk's `EventCode` is a number).
    Trimmed,
    /// The [`basename`] (Splunk's `process_name` of `Image`).
    Basename,
}

impl ByValue {
    pub fn apply(self, value: &str) -> &str {
        match self {
            ByValue::AsIs => value,
            ByValue::Trimmed => trim_xml_space(value),
            ByValue::Basename => basename(value),
        }
    }
}

/// One column of the `stats ... by` clause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByField {
    /// Output column name (Splunk's field name).
    pub name: String,
    pub path: FieldPath,
    pub value: ByValue,
}

/// `System` children of the Windows event schema whose data is their text.
/// A by-field of one of these names reads `System/<name>`.
pub const SYSTEM_TEXT_ELEMENTS: [&str; 9] =
    ["EventID", "Version", "Level", "Task", "Opcode", "Keywords", "EventRecordID", "Channel", "Computer"];

/// `System` children whose data are attributes only: as by-fields they would
/// have no value in any event, so naming one is an error.
pub const SYSTEM_ATTRIBUTE_ELEMENTS: [&str; 5] = ["Provider", "TimeCreated", "Correlation", "Execution", "Security"];

/// Output columns after the by-fields; a by-field cannot take their names.
pub const STATS_COLUMNS: [&str; 3] = ["count", "firstTime", "lastTime"];

impl ByField {
    /// The by-field Splunk calls `name` (docs/semantics.md, "By-fields"): the detection's
    /// own field names first (`EventCode`, `process_id`, `dest`,
    /// `process_name`), then the text `System` elements of the Windows event
    /// schema, then any other name as `EventData/Data[@Name=name]`. Names are
    /// case-sensitive and must look like Splunk field names: an ASCII letter,
    /// then ASCII letters, digits and `_`.
    pub fn named(name: &str) -> Result<ByField> {
        let invalid = |why: &str| Err(Error::InvalidOption(format!("by-field {name:?}: {why}")));
        let mut chars = name.chars();
        let well_formed = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !well_formed {
            return invalid("a field name is an ASCII letter followed by ASCII letters, digits or _");
        }
        if STATS_COLUMNS.contains(&name) {
            return invalid("this is a statistics column, not an event field");
        }
        if SYSTEM_ATTRIBUTE_ELEMENTS.contains(&name) {
            return invalid("this System element holds attributes only, so it has no value to group by");
        }
        let by = |path: FieldPath, value: ByValue| ByField { name: name.to_string(), path, value };
        Ok(match name {
            "EventCode" => by(system_text("EventID"), ByValue::Trimmed),
            "process_id" => by(data("ProcessId"), ByValue::AsIs),
            "dest" => by(system_text("Computer"), ByValue::AsIs),
            "process_name" => by(data("Image"), ByValue::Basename),
            _ if SYSTEM_TEXT_ELEMENTS.contains(&name) => by(system_text(name), ByValue::AsIs),
            _ => by(data(name), ByValue::AsIs),
        })
    }
}

/// The by-fields of security_content's v1 of the detection (the seed's search).
pub const BY_V1: [&str; 6] = ["Computer", "EventCode", "Image", "process_id", "TargetFilename", "Hash"];
/// The by-fields of v2-v4 (2023 on): `dest` is the host, `process_name` the basename of `Image`.
#[cfg(any(feature = "python", test))]
pub const BY_V3: [&str; 6] = ["dest", "EventCode", "process_name", "process_id", "TargetFilename", "Hash"];

/// Conditions (all must hold), by-fields, and where `_time` comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    pub name: String,
    pub conditions: Vec<Condition>,
    pub by_fields: Vec<ByField>,
    pub time: FieldPath,
    /// A field whose distinct non-empty values each group collects
    /// (Splunk's `values(field)`), e.g. `User` for risk messages.
    pub distinct: Option<FieldPath>,
}

fn system_text(element: &str) -> FieldPath {
    FieldPath::SystemText(element.to_string())
}

fn data(name: &str) -> FieldPath {
    FieldPath::Data(name.to_string())
}

impl Detection {
    /// Splunk security_content "Download Files Using Telegram" v1
    /// (58194e28-ae5e-11eb-8912-acde48001122), as docs/semantics.md fixes it.
    pub fn telegram_downloads() -> Detection {
        Detection {
            name: "Download Files Using Telegram".to_string(),
            conditions: vec![
                Condition {
                    field: FieldPath::SystemAttribute { element: "Provider".into(), attribute: "Name".into() },
                    predicate: Predicate::EqualsIgnoreAsciiCase("Microsoft-Windows-Sysmon".into()),
                },
                Condition { field: system_text("EventID"), predicate: Predicate::TrimmedEquals("15".into()) },
                Condition {
                    field: data("Image"),
                    predicate: Predicate::BasenameEqualsIgnoreAsciiCase("telegram.exe".into()),
                },
                Condition {
                    field: data("TargetFilename"),
                    predicate: Predicate::EndsWithIgnoreAsciiCase(":zone.identifier".into()),
                },
            ],
            by_fields: BY_V1.iter().map(|name| ByField::named(name).expect("v1 names are valid")).collect(),
            time: FieldPath::SystemAttribute { element: "TimeCreated".into(), attribute: "SystemTime".into() },
            distinct: None,
        }
    }

    /// This detection grouped by the fields `names` (see [`ByField::named`]).
    pub fn with_by_fields<S: AsRef<str>>(mut self, names: &[S]) -> Result<Detection> {
        if names.is_empty() {
            return Err(Error::InvalidOption("at least one by-field is needed".into()));
        }
        let mut by_fields: Vec<ByField> = Vec::with_capacity(names.len());
        for name in names {
            let field = ByField::named(name.as_ref())?;
            if by_fields.iter().any(|b| b.name == field.name) {
                return Err(Error::InvalidOption(format!("by-field {:?} is given twice", field.name)));
            }
            by_fields.push(field);
        }
        self.by_fields = by_fields;
        Ok(self)
    }

    /// This detection, each group also collecting the distinct `User` values
    /// of its events (Sysmon schema 4.80+), which risk messages name.
    pub fn with_users(mut self) -> Detection {
        self.distinct = Some(data("User"));
        self
    }

    /// Resolves field paths to slots once, so that matching an event is
    /// index lookups.
    pub fn compile(&self) -> CompiledDetection {
        let mut fields: Vec<FieldPath> = Vec::new();
        let mut slot = |path: &FieldPath| match fields.iter().position(|f| f == path) {
            Some(i) => i,
            None => {
                fields.push(path.clone());
                fields.len() - 1
            }
        };
        let conditions = self.conditions.iter().map(|c| (slot(&c.field), c.predicate.clone())).collect();
        let by_fields = self.by_fields.iter().map(|b| (slot(&b.path), b.value)).collect();
        let time_slot = slot(&self.time);
        let distinct_slot = self.distinct.as_ref().map(&mut slot);
        CompiledDetection {
            prefilter_literals: self.prefilter_literals(),
            fields,
            conditions,
            by_fields,
            time_slot,
            distinct_slot,
        }
    }

    /// The literals the prefilter requires, lowercase, searched-for first:
    /// one per `EventData` condition (System values such as the provider are
    /// in every event, so they would rule nothing out), none holding white
    /// space (which XML may rewrite). The first is the longest one with at
    /// least two case-free bytes to anchor a SIMD search; without one the
    /// prefilter is off and every event is parsed.
    fn prefilter_literals(&self) -> Vec<Vec<u8>> {
        let mut literals: Vec<Vec<u8>> = self
            .conditions
            .iter()
            .filter(|c| matches!(c.field, FieldPath::Data(_)))
            .map(|c| c.predicate.literal().as_bytes().to_ascii_lowercase())
            .filter(|lit| !lit.is_empty() && !lit.iter().any(|&b| crate::xml_rules::is_xml_space(b)))
            .collect();
        let anchorable = |lit: &Vec<u8>| lit.iter().filter(|b| !b.is_ascii_alphabetic()).count() >= 2;
        match literals.iter().enumerate().filter(|(_, l)| anchorable(l)).max_by_key(|(_, l)| l.len()) {
            Some((first, _)) => {
                literals.swap(0, first);
                literals
            }
            None => Vec::new(),
        }
    }
}

/// A detection with its field paths resolved to value slots.
#[derive(Clone, Debug)]
pub struct CompiledDetection {
    /// Every distinct path the detection reads; a parsed event fills one value per slot.
    pub fields: Vec<FieldPath>,
    pub conditions: Vec<(usize, Predicate)>,
    /// (slot, derivation) per by-field, in output order.
    pub by_fields: Vec<(usize, ByValue)>,
    pub time_slot: usize,
    /// The slot of [`Detection::distinct`], if any.
    pub distinct_slot: Option<usize>,
    /// Lowercase literals every matching event must contain, the one to
    /// search for first at the front (see [`Detection::prefilter_literals`]).
    pub prefilter_literals: Vec<Vec<u8>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates() {
        let image = Predicate::BasenameEqualsIgnoreAsciiCase("telegram.exe".into());
        assert!(image.holds(r"C:\Users\a\Telegram Desktop\Telegram.exe"));
        assert!(image.holds("TELEGRAM.EXE"));
        assert!(!image.holds(r"C:\x\telegram.exe.bak"));
        assert!(!image.holds(r"C:\x\nottelegram.exe"));
        assert!(!image.holds(r"C:\telegram.exe\x.exe"));
        assert!(!image.holds("C:/x/telegram.exe"));
        let target = Predicate::EndsWithIgnoreAsciiCase(":zone.identifier".into());
        assert!(target.holds(r"C:\a\b.exe:Zone.Identifier"));
        assert!(!target.holds(r"C:\a\b.exe:Zone.Identifier:$DATA"));
        assert!(!target.holds("one.identifier"));
        assert!(Predicate::TrimmedEquals("15".into()).holds(" 15\r\n"));
        assert!(!Predicate::TrimmedEquals("15".into()).holds("015"));
        // ASCII-only folding: the Kelvin sign is not `k`.
        assert!(!Predicate::EqualsIgnoreAsciiCase("k".into()).holds("\u{212A}"));
    }

    #[test]
    fn telegram_prefilter_literal_is_the_zone_identifier_suffix() {
        let compiled = Detection::telegram_downloads().compile();
        assert_eq!(compiled.prefilter_literals, vec![b":zone.identifier".to_vec(), b"telegram.exe".to_vec()]);
        assert_eq!(compiled.by_fields.len(), 6);
        assert_eq!(compiled.distinct_slot, None);
    }

    #[test]
    fn by_field_names_resolve_in_order() {
        let path = |name: &str| ByField::named(name).map(|b| (b.path, b.value)).unwrap();
        assert_eq!(path("EventCode"), (system_text("EventID"), ByValue::Trimmed));
        assert_eq!(path("EventID"), (system_text("EventID"), ByValue::AsIs));
        assert_eq!(path("dest"), (system_text("Computer"), ByValue::AsIs));
        assert_eq!(path("process_name"), (data("Image"), ByValue::Basename));
        assert_eq!(path("process_id"), (data("ProcessId"), ByValue::AsIs));
        assert_eq!(path("Channel"), (system_text("Channel"), ByValue::AsIs));
        assert_eq!(path("User"), (data("User"), ByValue::AsIs));
        assert_eq!(path("computer"), (data("computer"), ByValue::AsIs)); // case-sensitive
        for bad in ["", "1a", "_x", "a-b", "a b", "Провайдер", "count", "firstTime", "Provider", "TimeCreated"]
        {
            assert!(matches!(ByField::named(bad), Err(Error::InvalidOption(_))), "{bad:?}");
        }
        let v3 = Detection::telegram_downloads().with_by_fields(&BY_V3).unwrap();
        assert_eq!(v3.by_fields[2].value, ByValue::Basename);
        assert!(Detection::telegram_downloads().with_by_fields(&["Image", "Image"]).is_err());
        assert!(Detection::telegram_downloads().with_by_fields::<&str>(&[]).is_err());
        assert_eq!(ByValue::Basename.apply(r"C:\a\Telegram.exe"), "Telegram.exe");
        assert_eq!(ByValue::Basename.apply("x\\"), "");
    }
}
