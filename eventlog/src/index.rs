//! The stream index: (stream, version) → position.
//!
//! Writing the index in every group commit would cost one random B-tree
//! page per stream touched, several times the cost of the sequential event
//! pages (BENCHMARKS.md). So the newest index entries live in memory (the
//! overlay) and are merged into the `streams` table in bulk, in the same
//! durable commit as some batch of events, once enough have gathered (and
//! when the log closes). The table is complete up to `merged_through`, a
//! position stored with it; on open, the overlay is rebuilt by scanning the
//! events after that position. Everything in the overlay is derivable from
//! the events, so a crash loses nothing.

use std::collections::HashMap;

/// Merge the overlay into the table once it holds this many entries.
pub(crate) const MERGE_AT: usize = 32_768;

/// Index entries not yet in the table, by stream: (version, position),
/// versions ascending.
#[derive(Debug, Default)]
pub(crate) struct Overlay {
    streams: HashMap<String, Vec<(u64, u64)>>,
    entries: usize,
    /// The table holds every entry of positions up to this one.
    pub merged_through: u64,
}

impl Overlay {
    pub fn new(merged_through: u64) -> Self {
        Overlay { merged_through, ..Overlay::default() }
    }

    pub fn add(&mut self, stream: &str, version: u64, position: u64) {
        match self.streams.get_mut(stream) {
            Some(list) => list.push((version, position)),
            None => {
                self.streams.insert(stream.to_owned(), vec![(version, position)]);
            }
        }
        self.entries += 1;
    }

    pub fn len(&self) -> usize {
        self.entries
    }

    pub fn last_version(&self, stream: &str) -> Option<u64> {
        self.streams.get(stream).and_then(|l| l.last()).map(|(v, _)| *v)
    }

    /// Entries of `stream` with a version above `after`.
    pub fn after(&self, stream: &str, after: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.streams.get(stream).into_iter().flatten().copied().filter(move |(v, _)| *v > after)
    }

    /// Every entry as (stream, version, position), sorted for a B-tree
    /// friendly insert.
    pub fn sorted_entries(&self) -> Vec<(&str, u64, u64)> {
        let mut all: Vec<(&str, u64, u64)> =
            self.streams.iter().flat_map(|(s, l)| l.iter().map(move |(v, p)| (s.as_str(), *v, *p))).collect();
        all.sort_unstable();
        all
    }

    /// Moves `other`'s entries in (they come after ours).
    pub fn absorb(&mut self, other: Overlay) {
        for (stream, list) in other.streams {
            self.entries += list.len();
            self.streams.entry(stream).or_default().extend(list);
        }
    }

    /// Forgets everything: it was merged into the table through `position`.
    pub fn merged(&mut self, position: u64) {
        self.streams.clear();
        self.entries = 0;
        self.merged_through = position;
    }
}
