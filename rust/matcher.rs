//! Applies a compiled detection to the values of one parsed event.

use crate::detection::CompiledDetection;
use crate::parser::EventValues;
use crate::time::{parse_system_time, Micros};

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

    /// The by-field values of an event, derived as the detection says.
    pub fn by_field_values<'v>(&'v self, values: &'v EventValues) -> impl Iterator<Item = Option<&'v str>> + 'v {
        self.by_fields.iter().map(move |&(slot, how)| values.get(slot).map(|v| how.apply(v)))
    }

    /// The event's value of the detection's `distinct` field, if it has a
    /// non-empty one (Splunk's `values()` skips empty values).
    pub fn distinct_value<'v>(&self, values: &'v EventValues) -> Option<&'v str> {
        self.distinct_slot.and_then(|slot| values.get(slot)).filter(|v| !v.is_empty())
    }
}
