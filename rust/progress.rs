//! How far a scan has got, in bytes read from disk, for a caller's progress
//! display. Workers add to one shared counter as they read; the caller reads
//! it whenever it likes, from another thread.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Bytes read so far and the total to read.
#[derive(Debug)]
pub struct Progress {
    done: AtomicU64,
    /// `UNKNOWN` until the scan has inspected its files.
    total: AtomicU64,
}

const UNKNOWN: u64 = u64::MAX;

impl Default for Progress {
    fn default() -> Self {
        Progress { done: AtomicU64::new(0), total: AtomicU64::new(UNKNOWN) }
    }
}

impl Progress {
    /// `(bytes_done, bytes_total)` once the total is known. `bytes_done`
    /// never exceeds the total (units read a little past their range to
    /// finish their last event).
    pub fn get(&self) -> Option<(u64, u64)> {
        let total = self.total.load(Ordering::Relaxed);
        (total != UNKNOWN).then(|| (self.done.load(Ordering::Relaxed).min(total), total))
    }

    pub(crate) fn set_total(&self, total: u64) {
        self.total.store(total.min(UNKNOWN - 1), Ordering::Relaxed);
    }

    /// Marks everything read (the scan finished).
    pub(crate) fn finish(&self) {
        if let Some((_, total)) = self.get() {
            self.done.store(total, Ordering::Relaxed);
        }
    }
}

impl Progress {
    /// Counts `bytes` read by a reader that is not a [`CountingReader`].
    pub(crate) fn add(&self, bytes: u64) {
        self.done.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// Where a [`CountingReader`] adds what it reads: a scan's [`Progress`], or
/// a plain counter (the bytes a stream input delivered).
pub trait ByteCounter {
    fn add(&self, bytes: u64);
}

impl ByteCounter for Progress {
    fn add(&self, bytes: u64) {
        Progress::add(self, bytes);
    }
}

impl ByteCounter for AtomicU64 {
    fn add(&self, bytes: u64) {
        self.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// A reader that adds what it reads to a counter. One relaxed atomic add
/// per read (reads are 256 KiB to 1 MiB) costs nothing measurable.
pub struct CountingReader<R, C: ByteCounter = Progress> {
    inner: R,
    counter: Arc<C>,
}

impl<R, C: ByteCounter> CountingReader<R, C> {
    pub fn new(inner: R, counter: Arc<C>) -> Self {
        CountingReader { inner, counter }
    }
}

impl<R: Read, C: ByteCounter> Read for CountingReader<R, C> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.add(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_reads_and_clamps_to_the_total() {
        let progress = Arc::new(Progress::default());
        assert_eq!(progress.get(), None);
        progress.set_total(10);
        let mut reader = CountingReader::new(&b"0123456789abc"[..], progress.clone());
        let mut buf = [0u8; 4];
        reader.read_exact(&mut buf).unwrap();
        assert_eq!(progress.get(), Some((4, 10)));
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).unwrap();
        assert_eq!(progress.get(), Some((10, 10)));
        let empty = Progress::default();
        empty.finish();
        assert_eq!(empty.get(), None);
    }
}
