//! A detection as a value: the conditions an event must meet and the fields
//! its hits are grouped by. The Telegram detection is the built-in default;
//! nothing else in the core knows about Telegram.

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
            Predicate::BasenameEqualsIgnoreAsciiCase(want) => {
                let basename = match memchr::memrchr(b'\\', value.as_bytes()) {
                    Some(slash) => &value[slash + 1..],
                    None => value,
                };
                basename.eq_ignore_ascii_case(want)
            }
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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub field: FieldPath,
    pub predicate: Predicate,
}

/// One column of the `stats ... by` clause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByField {
    /// Output column name (Splunk's field name).
    pub name: String,
    pub path: FieldPath,
    /// Trim XML white space from the value (Splunk's `EventCode` is a number).
    pub trim: bool,
}

/// Conditions (all must hold), by-fields, and where `_time` comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    pub name: String,
    pub conditions: Vec<Condition>,
    pub by_fields: Vec<ByField>,
    pub time: FieldPath,
}

fn system_text(element: &str) -> FieldPath {
    FieldPath::SystemText(element.to_string())
}

fn data(name: &str) -> FieldPath {
    FieldPath::Data(name.to_string())
}

impl Detection {
    /// Splunk security_content "Download Files Using Telegram" v1
    /// (58194e28-ae5e-11eb-8912-acde48001122), as DETECTION.md fixes it.
    pub fn telegram_downloads() -> Detection {
        let by = |name: &str, path: FieldPath, trim: bool| ByField { name: name.to_string(), path, trim };
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
            by_fields: vec![
                by("Computer", system_text("Computer"), false),
                by("EventCode", system_text("EventID"), true),
                by("Image", data("Image"), false),
                by("process_id", data("ProcessId"), false),
                by("TargetFilename", data("TargetFilename"), false),
                by("Hash", data("Hash"), false),
            ],
            time: FieldPath::SystemAttribute { element: "TimeCreated".into(), attribute: "SystemTime".into() },
        }
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
        let by_fields = self.by_fields.iter().map(|b| (slot(&b.path), b.trim)).collect();
        let time_slot = slot(&self.time);
        CompiledDetection {
            prefilter_literals: self.prefilter_literals(),
            fields,
            conditions,
            by_fields,
            time_slot,
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
    /// (slot, trim) per by-field, in output order.
    pub by_fields: Vec<(usize, bool)>,
    pub time_slot: usize,
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
    }
}
