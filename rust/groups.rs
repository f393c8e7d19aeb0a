//! The groups of a [`super::Partial`]: a hash table from group key to
//! statistics, split into shards by the key's hash.
//!
//! When every event is a distinct download, the groups are as many as the
//! events, and merging the units' partials and sorting the hits at the end
//! took one thread about a third of the time the parse took on all. Two
//! tables merge shard by shard, each pair on its own rayon task, and the
//! final sort is rayon's parallel sort. Both go parallel only on a worker of
//! a rayon pool of more than one thread (a scan with more than one thread),
//! so a one-thread scan stays on its one thread.
//!
//! A key is hashed once per event: the hash picks the shard and is stored
//! with the entry, so lookups, growth and merges never hash it again.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::LazyLock;

use hashbrown::HashTable;
use rayon::prelude::*;
use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{GroupStats, Hit};
use crate::time::Micros;

/// Enough shards to keep every core of a big machine busy while merging.
const SHARDS: usize = 64;

/// Below this many groups a merge or sort is too small to be worth tasks.
const PARALLEL_FROM: usize = 4096;

/// Seeded once per process (foldhash's random seed), so that keys that
/// collide cannot be prepared in a log in advance; shared by every table
/// of the process, so that the same key is in the same shard of each.
static KEY_HASHER: LazyLock<foldhash::fast::RandomState> = LazyLock::new(foldhash::fast::RandomState::default);

#[derive(Clone, Debug)]
struct Entry {
    hash: u64,
    key: String,
    stats: GroupStats,
}

#[derive(Clone, Debug)]
pub(super) struct GroupTable {
    shards: Box<[HashTable<Entry>]>,
}

impl Default for GroupTable {
    fn default() -> Self {
        GroupTable { shards: (0..SHARDS).map(|_| HashTable::new()).collect() }
    }
}

fn hash_of(key: &str) -> u64 {
    KEY_HASHER.hash_one(key)
}

/// The shard of a hash, from bits that hashbrown uses for neither the bucket
/// index (the low bits) nor the control byte (the top seven): keys of one
/// shard still spread over their table.
fn shard_of(hash: u64) -> usize {
    (hash >> 32) as usize % SHARDS
}

/// Whether this thread is a worker of a rayon pool of more than one
/// thread: only then may work fan out to other threads (and on one, std's
/// sort beats rayon's).
fn in_pool() -> bool {
    rayon::current_thread_index().is_some() && rayon::current_num_threads() > 1
}

/// Moves every entry of `other` into `table`, merging equal keys.
fn merge_shard(table: &mut HashTable<Entry>, other: HashTable<Entry>) {
    let (mut into, from) =
        if table.len() >= other.len() { (std::mem::take(table), other) } else { (other, std::mem::take(table)) };
    for entry in from {
        match into.find_mut(entry.hash, |e| e.key == entry.key) {
            Some(group) => group.stats.merge(entry.stats),
            None => {
                into.insert_unique(entry.hash, entry, |e| e.hash);
            }
        }
    }
    *table = into;
}

impl GroupTable {
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(HashTable::len).sum()
    }

    /// Counts an event of group `key` at `time`.
    pub(super) fn add(&mut self, key: &str, time: Micros, distinct: Option<&str>) {
        let hash = hash_of(key);
        let shard = &mut self.shards[shard_of(hash)];
        match shard.find_mut(hash, |e| e.key == key) {
            Some(group) => group.stats.add(time, distinct),
            None => {
                let entry = Entry { hash, key: key.to_string(), stats: GroupStats::new(time, distinct) };
                shard.insert_unique(hash, entry, |e| e.hash);
            }
        }
    }

    /// Folds `other` in: shard by shard, in parallel when inside a pool
    /// and worth it.
    pub(super) fn merge(&mut self, other: GroupTable) {
        let other = other.shards.into_vec();
        if in_pool() && self.len() + other.iter().map(HashTable::len).sum::<usize>() >= PARALLEL_FROM {
            self.shards.par_iter_mut().zip(other).for_each(|(mine, theirs)| merge_shard(mine, theirs));
        } else {
            self.shards.iter_mut().zip(other).for_each(|(mine, theirs)| merge_shard(mine, theirs));
        }
    }

    pub(super) fn groups(&self) -> impl Iterator<Item = (&str, &GroupStats)> {
        self.shards.iter().flat_map(|shard| shard.iter().map(|e| (e.key.as_str(), &e.stats)))
    }

    #[cfg(test)]
    pub(super) fn stats_mut(&mut self) -> impl Iterator<Item = &mut GroupStats> {
        self.shards.iter_mut().flat_map(|shard| shard.iter_mut().map(|e| &mut e.stats))
    }

    /// The hits, ordered by their keys (and so by their by-field values).
    pub(super) fn into_hits(self) -> Vec<Hit> {
        let parallel = in_pool() && self.len() >= PARALLEL_FROM;
        let mut groups: Vec<(String, GroupStats)> = Vec::with_capacity(self.len());
        for shard in self.shards.into_vec() {
            groups.extend(shard.into_iter().map(|e| (e.key, e.stats)));
        }
        if parallel {
            groups.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        } else {
            groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        }
        groups.into_iter().map(|(key, stats)| Hit::new(key, stats)).collect()
    }
}

/// On the wire a table is one map from key to statistics, as it was before
/// it had shards: serialized partials (`crate::distributed`) keep their
/// format, and a reader re-shards them with its own hash seed.
impl Serialize for GroupTable {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for shard in self.shards.iter() {
            for entry in shard {
                map.serialize_entry(&entry.key, &entry.stats)?;
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for GroupTable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A map, as before: a key given twice keeps its last value.
        let groups: HashMap<String, GroupStats, foldhash::fast::RandomState> = HashMap::deserialize(deserializer)?;
        let mut table = GroupTable::default();
        for (key, stats) in groups {
            let hash = hash_of(&key);
            table.shards[shard_of(hash)].insert_unique(hash, Entry { hash, key, stats }, |e| e.hash);
        }
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(keys: impl IntoIterator<Item = u32>, time: Micros) -> GroupTable {
        let mut table = GroupTable::default();
        for k in keys {
            table.add(&format!("host{}\0{k}", k % 7), time, None);
        }
        table
    }

    fn summary(table: GroupTable) -> Vec<(Vec<String>, u64, Micros, Micros)> {
        table
            .into_hits()
            .into_iter()
            .map(|h| (h.values().map(str::to_string).collect(), h.stats.count, h.stats.first, h.stats.last))
            .collect()
    }

    /// The same merge and sort, on one thread and inside a pool (where both
    /// go parallel), give the same hits, in order.
    #[test]
    fn parallel_and_serial_merges_agree() {
        let build = || {
            let mut a = table(0..20_000, 5);
            a.merge(table(10_000..30_000, 3));
            a.merge(table((0..30_000).step_by(3), 9));
            a
        };
        let serial = summary(build());
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let parallel = pool.install(|| summary(build()));
        assert_eq!(serial, parallel);
        assert_eq!(serial.len(), 30_000);
        assert!(serial.windows(2).all(|w| w[0].0 < w[1].0));
        let key = |k: u32| vec![format!("host{}", k % 7), k.to_string()];
        let find = |k: u32| serial.iter().find(|h| h.0 == key(k)).unwrap().clone();
        assert_eq!(find(0), (key(0), 2, 5, 9)); // in the first and the third
        assert_eq!(find(15_000), (key(15_000), 3, 3, 9)); // in all three
        assert_eq!(find(25_001), (key(25_001), 1, 3, 3)); // in the second only
    }

    #[test]
    fn entries_are_in_the_shard_of_their_hash() {
        let t = table(0..5_000, 1);
        assert_eq!(t.len(), 5_000);
        for (i, shard) in t.shards.iter().enumerate() {
            assert!(shard.iter().all(|e| shard_of(e.hash) == i && e.hash == hash_of(&e.key)));
        }
        // Spread over the shards, not piled into a few.
        assert!(t.shards.iter().all(|s| s.len() > 20), "{:?}", t.shards.iter().map(HashTable::len).collect::<Vec<_>>());
    }
}
