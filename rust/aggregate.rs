//! `stats count min(_time) max(_time) by ...` as a mergeable partial result.
//!
//! Work is split by byte ranges and files; each piece fills a [`Partial`] and
//! partials merge exactly (count +, first min, last max), so the result never
//! depends on how the work was split.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// Groups are keyed by ~300 bytes of by-field values; SipHash cost ~10% of
/// the dense worst case. foldhash is several times faster and still seeded
/// per process, so colliding keys cannot be prepared in a log in advance.
/// The table is sharded so that merges and the final sort scale.
#[path = "groups.rs"]
mod groups;
type Groups = groups::GroupTable;

use crate::time::{Micros, TIME_RANGE};

/// How many malformed events a scan reports by location.
pub const MAX_MALFORMED_EXAMPLES: usize = 10;

/// Separates by-field values inside a group key. XML cannot hold U+0000, not
/// even as a reference, so it never occurs in a value; and because it sorts
/// before every other character, ordering joined keys orders the tuples.
const KEY_SEPARATOR: char = '\0';

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStats {
    pub count: u64,
    pub first: Micros,
    pub last: Micros,
    /// Distinct values of the detection's `distinct` field (empty when it
    /// has none); merging is set union, so it stays exact however work is split.
    pub distinct: BTreeSet<String>,
}

impl GroupStats {
    fn new(time: Micros, distinct: Option<&str>) -> GroupStats {
        let mut group = GroupStats { count: 1, first: time, last: time, distinct: BTreeSet::new() };
        group.distinct.extend(distinct.map(str::to_string));
        group
    }

    fn add(&mut self, time: Micros, distinct: Option<&str>) {
        self.count += 1;
        self.first = self.first.min(time);
        self.last = self.last.max(time);
        if let Some(value) = distinct {
            // Checked first: a group's events nearly always share their value.
            if !self.distinct.contains(value) {
                self.distinct.insert(value.to_string());
            }
        }
    }

    fn merge(&mut self, other: GroupStats) {
        // Saturates like the partial's counts (see `Partial::merge`).
        self.count = self.count.saturating_add(other.count);
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
        self.distinct.extend(other.distinct);
    }
}

/// A malformed event: which file, where its `<Event` starts in the file's
/// decoded stream, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MalformedEvent {
    pub file_index: usize,
    pub offset: u64,
    /// Static when found here; owned when a partial came from elsewhere.
    pub reason: Cow<'static, str>,
}

/// A compressed input whose stream broke off (corrupt or truncated): the
/// offset in its decoded stream where reading stopped, and why. What came
/// before was scanned and counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Damage {
    pub file_index: usize,
    pub offset: u64,
    pub message: String,
}

/// One output row: its group's by-field values and statistics.
///
/// The values stay joined in the group's key, as the table held them: a
/// scan with many distinct hits would otherwise make (and free) one small
/// string per value of every hit, on one thread, only to copy each into a
/// Python `str` (about a tenth of such a scan's time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    key: String,
    pub stats: GroupStats,
}

impl Hit {
    fn new(key: String, stats: GroupStats) -> Hit {
        Hit { key, stats }
    }

    /// The by-field values, in by-field order.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        // memchr's SIMD search, not `str::split`'s char searcher (measured
        // 5% of a many-hits scan).
        let key = self.key.as_str();
        let ends = memchr::memchr_iter(KEY_SEPARATOR as u8, key.as_bytes()).chain([key.len()]);
        let mut start = 0;
        ends.map(move |end| {
            let value = &key[start..end];
            start = end + 1;
            value
        })
    }
}

/// The result of scanning one piece of input. It serializes (see
/// `crate::distributed`) so that pieces scanned elsewhere can be merged.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Partial {
    pub events: u64,
    pub malformed: u64,
    /// JSON records read (non-blank lines, array elements).
    pub json_records: u64,
    /// JSON records recognised as Windows events, among those parsed (see `crate::json`).
    pub json_events: u64,
    pub examples: Vec<MalformedEvent>,
    /// Streams that broke off, by file: a file has at most one, since its
    /// stream ends there.
    pub damage: Vec<Damage>,
    groups: Groups,
    /// Scratch for building a group key.
    #[serde(skip)]
    key: String,
}

impl Partial {
    /// Counts one matching event with by-field `values` at `time`, and its
    /// value of the detection's `distinct` field, if any.
    pub fn add_hit<'v>(&mut self, values: impl IntoIterator<Item = &'v str>, time: Micros, distinct: Option<&str>) {
        self.key.clear();
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.key.push(KEY_SEPARATOR);
            }
            self.key.push_str(value);
        }
        self.groups.add(&self.key, time, distinct);
    }

    pub fn add_malformed(&mut self, file_index: usize, offset: u64, reason: &'static str) {
        self.malformed += 1;
        if self.examples.len() < MAX_MALFORMED_EXAMPLES {
            self.examples.push(MalformedEvent { file_index, offset, reason: Cow::Borrowed(reason) });
        }
    }

    /// Folds `other` into `self`. Counts saturate: real ones are bounded by
    /// the bytes scanned, but a forged serialized partial can hold any.
    pub fn merge(&mut self, other: Partial) {
        self.events = self.events.saturating_add(other.events);
        self.malformed = self.malformed.saturating_add(other.malformed);
        self.json_records = self.json_records.saturating_add(other.json_records);
        self.json_events = self.json_events.saturating_add(other.json_events);
        self.examples.extend(other.examples);
        self.examples.sort_by_key(|e| (e.file_index, e.offset));
        self.examples.truncate(MAX_MALFORMED_EXAMPLES);
        self.damage.extend(other.damage);
        self.damage.sort_by_key(|d| (d.file_index, d.offset));
        self.groups.merge(other.groups);
    }

    /// Why a group could not have come from a scan with `fields` by-fields,
    /// if one could not: a partial that came from elsewhere is checked
    /// before its hits are built.
    pub fn invalid_group(&self, fields: usize) -> Option<String> {
        self.groups.groups().find_map(|(key, stats)| {
            if memchr::memchr_iter(KEY_SEPARATOR as u8, key.as_bytes()).count() + 1 != fields {
                Some(format!("a group without {fields} by-field values"))
            } else if !(TIME_RANGE.contains(&stats.first)
                && TIME_RANGE.contains(&stats.last)
                && stats.first <= stats.last)
            {
                Some(format!("a group with times no event has ({} to {})", stats.first, stats.last))
            } else {
                None
            }
        })
    }

    /// The hits, ordered by their by-field values. Sorted in parallel when
    /// called on a worker of a rayon pool.
    pub fn into_hits(self) -> Vec<Hit> {
        self.groups.into_hits()
    }

    /// [`Partial::into_hits`], leaving the counts and examples in place.
    pub fn take_hits(&mut self) -> Vec<Hit> {
        std::mem::take(&mut self.groups).into_hits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fuzzed serialized partial claimed ~2^63 events; merging it with
    /// itself overflowed (a panic with overflow checks, wrong counts without).
    #[test]
    fn merging_forged_huge_counts_does_not_overflow() {
        let mut a = Partial { events: u64::MAX - 1, malformed: u64::MAX, ..Partial::default() };
        a.add_hit(["h"], 1, None);
        a.groups.stats_mut().for_each(|g| g.count = u64::MAX);
        let b = a.clone();
        a.merge(b);
        assert_eq!((a.events, a.malformed), (u64::MAX, u64::MAX));
        assert_eq!(
            a.into_hits()[0].stats,
            GroupStats { count: u64::MAX, first: 1, last: 1, distinct: BTreeSet::new() }
        );
    }

    #[test]
    fn merge_is_exact_and_ordered() {
        let mut a = Partial::default();
        a.add_hit(["h", "b"], 5, Some("u2"));
        a.add_hit(["h", "b"], 1, None);
        let mut b = Partial::default();
        b.add_hit(["h", "b"], 9, Some("u1"));
        b.add_hit(["h", "b"], 9, Some("u2"));
        b.add_hit(["h", "a"], 3, None);
        b.add_hit(["h\u{e9}", ""], 4, None);
        b.add_hit(["h", "a-longer"], 3, None);
        a.merge(b);
        let hits = a.into_hits();
        let keys: Vec<Vec<&str>> = hits.iter().map(|h| h.values().collect()).collect();
        assert_eq!(keys, vec![vec!["h", "a"], vec!["h", "a-longer"], vec!["h", "b"], vec!["h\u{e9}", ""]]);
        let users = ["u1", "u2"].map(String::from).into_iter().collect();
        assert_eq!(hits[2].stats, GroupStats { count: 4, first: 1, last: 9, distinct: users });
        assert!(hits[0].stats.distinct.is_empty());
    }

    #[test]
    fn prefix_values_sort_first() {
        let mut p = Partial::default();
        p.add_hit(["ab", "z"], 0, None);
        p.add_hit(["a", "z"], 0, None);
        p.add_hit(["a b", "z"], 0, None);
        let hits: Vec<String> = p.into_hits().iter().map(|h| h.values().next().unwrap().to_string()).collect();
        assert_eq!(hits, vec!["a", "a b", "ab"]);
    }
}
