//! Opens input files, sniffs how their bytes are encoded, and cuts them into
//! units of work. The encoding is sniffed from the bytes, never the name.
//!
//! Plain UTF-8 files are cut into byte ranges that workers read in
//! parallel; an event belongs to the range that holds its `<Event` start.
//! gzip and UTF-16 files must be decoded from their first byte, so each is
//! one unit, read sequentially (files still run in parallel).

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

use crate::error::{Error, Result};
use crate::progress::{CountingReader, Progress};
use crate::utf16::Utf16ToUtf8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8, with or without BOM (a BOM is text outside events and stays,
    /// so offsets are file offsets).
    Utf8,
    /// UTF-16, with its BOM (if any) skipped, transcoded to UTF-8.
    Utf16 { big_endian: bool, bom: bool },
}

/// An input file and what its bytes are.
#[derive(Clone, Debug)]
pub struct Source {
    pub path: PathBuf,
    /// Size on disk.
    pub size: u64,
    pub gzip: bool,
    pub encoding: Encoding,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The file header of binary Windows event logs (`.evtx`).
const EVTX_MAGIC: &[u8] = b"ElfFile\0";

/// Reads the first bytes (after gzip, if any) and decides the encoding:
/// BOM first, then XML 1.0 Appendix F autodetection of BOM-less UTF-16
/// (`<` as `3C 00` or `00 3C`), else UTF-8.
fn sniff(first: &[u8]) -> Encoding {
    match first {
        [0xFF, 0xFE, ..] => Encoding::Utf16 { big_endian: false, bom: true },
        [0xFE, 0xFF, ..] => Encoding::Utf16 { big_endian: true, bom: true },
        [0x3C, 0x00, ..] => Encoding::Utf16 { big_endian: false, bom: false },
        [0x00, 0x3C, ..] => Encoding::Utf16 { big_endian: true, bom: false },
        _ => Encoding::Utf8,
    }
}

fn read_prefix(reader: &mut impl Read, want: usize) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(want);
    reader.take(want as u64).read_to_end(&mut prefix)?;
    Ok(prefix)
}

impl Source {
    /// Opens `path` to check that it is a readable file and sniff it.
    pub fn inspect(path: &Path) -> Result<Source> {
        // Checked before opening: opening a FIFO for reading blocks until a
        // writer appears. Units re-open and seek the file, so it must be a
        // regular file (a FIFO would also lose what sniffing read).
        let metadata = std::fs::metadata(path).map_err(|e| Error::io(path, None, e))?;
        if metadata.is_dir() {
            return Err(Error::io(path, None, io::Error::new(io::ErrorKind::InvalidInput, "is a directory")));
        }
        if !metadata.is_file() {
            return Err(Error::io(path, None, io::Error::new(io::ErrorKind::InvalidInput, "not a regular file")));
        }
        let mut file = File::open(path).map_err(|e| Error::io(path, None, e))?;
        let head = read_prefix(&mut file, EVTX_MAGIC.len()).map_err(|e| Error::io(path, Some(0), e))?;
        if head == EVTX_MAGIC {
            // Scanned as text it would give zero events: say so instead.
            return Err(Error::Unsupported {
                path: path.to_path_buf(),
                what: "binary EVTX logs are not supported yet; export them as XML \
                       (wevtutil qe <log> /lf:true /f:xml, or Get-WinEvent | ForEach-Object { $_.ToXml() })",
            });
        }
        let gzip = head.starts_with(&GZIP_MAGIC);
        let first = if gzip {
            file.seek(SeekFrom::Start(0)).map_err(|e| Error::io(path, Some(0), e))?;
            let mut decoder = MultiGzDecoder::new(BufReader::new(file));
            read_prefix(&mut decoder, 2).map_err(|e| Error::Decompress { path: path.to_path_buf(), source: e })?
        } else {
            head
        };
        let first = &first[..first.len().min(2)];
        Ok(Source { path: path.to_path_buf(), size: metadata.len(), gzip, encoding: sniff(first) })
    }

    /// Whether workers can read this file's byte ranges independently.
    pub fn is_splittable(&self) -> bool {
        !self.gzip && self.encoding == Encoding::Utf8
    }

    /// A reader of the decoded stream from `offset` (non-zero only for
    /// splittable sources). Bytes read from disk are added to `progress`.
    pub fn open_at(&self, offset: u64, progress: Option<&Arc<Progress>>) -> Result<Box<dyn Read + Send>> {
        let path = &self.path;
        let mut file = File::open(path).map_err(|e| Error::io(path, None, e))?;
        if offset > 0 {
            debug_assert!(self.is_splittable());
            file.seek(SeekFrom::Start(offset)).map_err(|e| Error::io(path, Some(offset), e))?;
        }
        let file: Box<dyn Read + Send> = match progress {
            Some(progress) => Box::new(CountingReader::new(file, progress.clone())),
            None => Box::new(file),
        };
        if self.is_splittable() {
            return Ok(Box::new(file));
        }
        // 256 KiB reads keep the decompressor's per-call overhead negligible.
        let file = BufReader::with_capacity(256 << 10, file);
        let mut decoded: Box<dyn Read + Send> = if self.gzip { Box::new(MultiGzDecoder::new(file)) } else { Box::new(file) };
        if let Encoding::Utf16 { big_endian, bom } = self.encoding {
            if bom {
                let skipped = read_prefix(&mut decoded, 2).map_err(|e| self.read_error(e, 0))?;
                debug_assert_eq!(skipped.len(), 2);
            }
            decoded = Box::new(Utf16ToUtf8::new(decoded, big_endian));
        }
        Ok(decoded)
    }

    /// The error for a failed read at `offset` of the decoded stream: a
    /// corrupt gzip stream is reported as such, anything else as I/O.
    pub fn read_error(&self, error: io::Error, offset: u64) -> Error {
        let corrupt = matches!(
            error.kind(),
            io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof
        );
        if self.gzip && corrupt {
            Error::Decompress { path: self.path.clone(), source: error }
        } else {
            Error::io(&self.path, Some(offset), error)
        }
    }
}

/// A piece of work: starts in `[start, start + owned_len)` of one file.
#[derive(Clone, Copy, Debug)]
pub struct Unit {
    pub file_index: usize,
    pub start: u64,
    pub owned_len: u64,
}

/// Cuts sources into units of at most `split_size` bytes where possible.
pub fn plan_units(sources: &[Source], split_size: u64) -> Vec<Unit> {
    let mut units = Vec::new();
    for (file_index, source) in sources.iter().enumerate() {
        if source.is_splittable() && source.size > split_size {
            let mut start = 0;
            while start < source.size {
                units.push(Unit { file_index, start, owned_len: split_size });
                start += split_size;
            }
        } else {
            units.push(Unit { file_index, start: 0, owned_len: u64::MAX });
        }
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"\xEF\xBB\xBF<"), Encoding::Utf8);
        assert_eq!(sniff(b"<E"), Encoding::Utf8);
        assert_eq!(sniff(b""), Encoding::Utf8);
        assert_eq!(sniff(b"\xFF\xFE"), Encoding::Utf16 { big_endian: false, bom: true });
        assert_eq!(sniff(b"\xFE\xFF"), Encoding::Utf16 { big_endian: true, bom: true });
        assert_eq!(sniff(b"<\x00"), Encoding::Utf16 { big_endian: false, bom: false });
        assert_eq!(sniff(b"\x00<"), Encoding::Utf16 { big_endian: true, bom: false });
    }
}
