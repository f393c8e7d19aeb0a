//! Applies a compiled detection to the values of one parsed event.

use crate::detection::CompiledDetection;
use crate::parser::EventValues;
use crate::time::{parse_system_time, Micros};
use crate::xml_rules::trim_xml_space;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A condition does not hold.
    NoMatch,
    /// Matches, but a by-field is missing or empty: dropped, as Splunk's
    /// `stats by` drops it.
    MissingByField,
    /// Matches with every by-field, but has no parsable time: malformed.
    NoTime,
    /// Counts toward its group at this time.
    Hit(Micros),
}

impl CompiledDetection {
    pub fn judge(&self, values: &EventValues) -> Verdict {
        let holds = |(slot, predicate): &(usize, crate::detection::Predicate)| {
            values.get(*slot).is_some_and(|v| predicate.holds(v))
        };
        if !self.conditions.iter().all(holds) {
            return Verdict::NoMatch;
        }
        if self.by_field_values(values).any(|v| v.is_none_or(str::is_empty)) {
            return Verdict::MissingByField;
        }
        match values.get(self.time_slot).and_then(parse_system_time) {
            Some(time) => Verdict::Hit(time),
            None => Verdict::NoTime,
        }
    }

    /// The by-field values of an event, trimmed where the detection says so.
    pub fn by_field_values<'v>(&'v self, values: &'v EventValues) -> impl Iterator<Item = Option<&'v str>> + 'v {
        self.by_fields
            .iter()
            .map(move |&(slot, trim)| values.get(slot).map(|v| if trim { trim_xml_space(v) } else { v }))
    }
}
