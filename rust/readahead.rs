//! A reader on a thread of its own, so that decoding (gzip, zstd) or a slow
//! pipe overlaps with scanning: the scanner then costs little more than the
//! decompressor alone.
//!
//! Blocks go through a bounded channel and come back to be refilled, so
//! memory is fixed (`DEPTH` + 2 blocks) and steady state allocates nothing.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread;

use crate::error::ReaderFailed;

/// Bytes per block: large enough that the per-block hand-over (~a few µs)
/// vanishes next to decoding it, small enough to stay in cache.
const BLOCK: usize = 256 << 10;
/// Blocks decoded ahead of the scanner.
const DEPTH: usize = 4;

/// One block: its bytes, and the error that ended the stream right after
/// them, if any (the bytes before a corrupt spot are still delivered).
struct Block {
    data: Vec<u8>,
    error: Option<io::Error>,
}

pub struct ReadAhead {
    blocks: Receiver<Block>,
    recycle: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    /// The error to return once `current` is drained.
    pending_error: Option<io::Error>,
    done: bool,
}

impl ReadAhead {
    /// Starts reading `inner` on a new thread. The thread ends at the end of
    /// the stream, at its first error, or when this reader is dropped.
    pub fn new(inner: impl Read + Send + 'static) -> Self {
        let (block_tx, blocks) = sync_channel::<Block>(DEPTH);
        let (recycle, recycled) = sync_channel::<Vec<u8>>(DEPTH + 2);
        thread::spawn(move || {
            let failed = block_tx.clone();
            // A panicking decoder must not look like the end of the stream.
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| produce(inner, block_tx, recycled))).is_err() {
                let error = ReaderFailed::io("internal error: the decoder panicked");
                let _ = failed.send(Block { data: Vec::new(), error: Some(error) });
            }
        });
        ReadAhead { blocks, recycle, current: Vec::new(), pos: 0, pending_error: None, done: false }
    }
}

fn produce(mut inner: impl Read, blocks: SyncSender<Block>, recycled: Receiver<Vec<u8>>) {
    loop {
        let mut data = recycled.try_recv().unwrap_or_default();
        data.resize(BLOCK, 0);
        let mut filled = 0;
        let mut error = None;
        while filled < BLOCK {
            match inner.read(&mut data[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        data.truncate(filled);
        let last = filled < BLOCK;
        // The scanner has gone (finished, failed or cancelled): stop.
        if blocks.send(Block { data, error }).is_err() || last {
            return;
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            if let Some(error) = self.pending_error.take() {
                self.done = true;
                return Err(error);
            }
            if self.done {
                return Ok(0);
            }
            let Ok(block) = self.blocks.recv() else {
                // The producer always sends a last (short) block before it
                // ends, after which this reader stops asking.
                self.done = true;
                return Err(ReaderFailed::io("internal error: the decoding thread ended early"));
            };
            let old = std::mem::replace(&mut self.current, block.data);
            let _ = self.recycle.try_send(old);
            self.pos = 0;
            self.pending_error = block.error;
            if self.current.len() < BLOCK && self.pending_error.is_none() {
                // A short block without error is the last one.
                self.done = true;
                if self.current.is_empty() {
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields `data`, then fails.
    struct FailsAfter(io::Cursor<Vec<u8>>);

    impl Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn delivers_every_byte_in_order() {
        for len in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let mut out = Vec::new();
            ReadAhead::new(io::Cursor::new(data.clone())).read_to_end(&mut out).unwrap();
            assert_eq!(out, data, "len {len}");
        }
    }

    #[test]
    fn bytes_before_an_error_come_first() {
        for len in [0, 5, BLOCK, 2 * BLOCK + 3] {
            let data = vec![b'x'; len];
            let mut reader = ReadAhead::new(FailsAfter(io::Cursor::new(data)));
            let mut out = Vec::new();
            let error = reader.read_to_end(&mut out).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
            assert_eq!(out.len(), len);
        }
    }
}
