//! Opens inputs, sniffs what their bytes are, and cuts them into units of
//! work. The format is sniffed from the bytes, never the name: magic numbers
//! (gzip, zstd, EVTX), then BOMs and XML 1.0 Appendix F for the text.
//!
//! Plain UTF-8 files are cut into byte ranges that workers read in
//! parallel; an event belongs to the range that holds its `<Event` start.
//! EVTX files are cut into ranges of 64 KiB chunks the same way. Compressed
//! and UTF-16 files must be decoded from their first byte, so each is one
//! unit, read sequentially (files still run in parallel), with decoding on a
//! thread of its own ([`crate::readahead`]). Streams (stdin, a Python file
//! object) are one unit too.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use flate2::read::MultiGzDecoder;

use crate::error::{Error, ReaderFailed, Result};
use crate::evtx::{EVTX_CHUNK_SIZE, EVTX_MAGIC};
use crate::progress::{CountingReader, Progress};
use crate::readahead::ReadAhead;
use crate::utf16::Utf16ToUtf8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8, with or without BOM (a BOM is text outside events and stays,
    /// so offsets are file offsets).
    Utf8,
    /// UTF-16, with its BOM (if any) skipped, transcoded to UTF-8.
    Utf16 { big_endian: bool, bom: bool },
}

/// How the bytes of an input are packed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    /// gzip, any number of members (`cat a.gz b.gz` is one stream).
    Gzip,
    /// zstd, any number of frames.
    Zstd,
}

/// What an input holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Text that may hold XML events, possibly compressed.
    Xml { compression: Compression, encoding: Encoding },
    /// A binary Windows event log (`ElfFile\0`), uncompressed.
    Evtx,
    /// UTF-8 JSON records (see [`crate::json`]): one object per line
    /// (NDJSON), or the elements of top-level arrays when `array`.
    Json { compression: Compression, array: bool },
}

impl Format {
    /// The name users see in per-input stats, e.g. `xml`, `gzip+xml-utf16le`, `evtx`.
    pub fn name(&self) -> &'static str {
        use Compression as C;
        use Encoding as E;
        match *self {
            Format::Evtx => "evtx",
            Format::Json { compression: C::None, .. } => "json",
            Format::Json { compression: C::Gzip, .. } => "gzip+json",
            Format::Json { compression: C::Zstd, .. } => "zstd+json",
            Format::Xml { compression, encoding } => match (compression, encoding) {
                (C::None, E::Utf8) => "xml",
                (C::None, E::Utf16 { big_endian: false, .. }) => "xml-utf16le",
                (C::None, E::Utf16 { big_endian: true, .. }) => "xml-utf16be",
                (C::Gzip, E::Utf8) => "gzip+xml",
                (C::Gzip, E::Utf16 { big_endian: false, .. }) => "gzip+xml-utf16le",
                (C::Gzip, E::Utf16 { big_endian: true, .. }) => "gzip+xml-utf16be",
                (C::Zstd, E::Utf8) => "zstd+xml",
                (C::Zstd, E::Utf16 { big_endian: false, .. }) => "zstd+xml-utf16le",
                (C::Zstd, E::Utf16 { big_endian: true, .. }) => "zstd+xml-utf16be",
            },
        }
    }
}

/// A non-seekable byte stream (stdin, a Python file object), read once.
pub type Stream = Box<dyn Read + Send>;

/// What a stream input holds once sniffed.
enum StreamBody {
    /// Text, decompressed (not yet transcoded from UTF-16).
    Decoded(Stream),
    /// An EVTX stream, copied to an anonymous temporary file.
    Spooled(File),
}

/// A stream shared by the clones of its `Source`; the one unit that reads
/// it takes it.
#[derive(Clone)]
struct StreamSlot(Arc<Mutex<Option<StreamBody>>>);

impl fmt::Debug for StreamSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StreamSlot")
    }
}

/// An input and what its bytes are.
#[derive(Clone, Debug)]
pub struct Source {
    /// The path, or the name a stream is reported under (`-` for stdin).
    pub path: PathBuf,
    /// Size on disk; for a stream, what sniffing read (see `bytes`).
    pub size: u64,
    pub format: Format,
    /// Set for streams: their bytes, the sniffed prefix put back in front.
    stream: Option<StreamSlot>,
    /// Bytes a stream has delivered so far (its size once it is read).
    stream_bytes: Arc<AtomicU64>,
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
/// Enough for every magic number and the first two bytes after them.
const SNIFF_LEN: usize = 8;
/// How far into the decoded text a JSON input's first `{` or `[` may lie
/// (after a BOM and white space); further than this, the input is text.
const JSON_SNIFF_LEN: usize = 4096;

/// Decides the encoding from the first two decoded bytes: BOM first, then
/// XML 1.0 Appendix F autodetection of BOM-less UTF-16 (`<` as `3C 00` or
/// `00 3C`), else UTF-8.
fn sniff_encoding(first: &[u8]) -> Encoding {
    match first {
        [0xFF, 0xFE, ..] => Encoding::Utf16 { big_endian: false, bom: true },
        [0xFE, 0xFF, ..] => Encoding::Utf16 { big_endian: true, bom: true },
        [0x3C, 0x00, ..] => Encoding::Utf16 { big_endian: false, bom: false },
        [0x00, 0x3C, ..] => Encoding::Utf16 { big_endian: true, bom: false },
        _ => Encoding::Utf8,
    }
}

fn sniff_compression(head: &[u8]) -> Compression {
    if head.starts_with(GZIP_MAGIC) {
        Compression::Gzip
    } else if head.starts_with(ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

fn read_prefix(reader: &mut impl Read, want: usize) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(want);
    reader.take(want as u64).read_to_end(&mut prefix)?;
    Ok(prefix)
}

/// `inner` decompressed as `compression` says.
fn decompress<'a>(inner: impl Read + Send + 'a, compression: Compression) -> io::Result<Box<dyn Read + Send + 'a>> {
    // 256 KiB reads keep the decompressor's per-call overhead negligible.
    let buffered = BufReader::with_capacity(256 << 10, inner);
    Ok(match compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
    })
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
        let head = read_prefix(&mut file, SNIFF_LEN).map_err(|e| Error::io(path, Some(0), e))?;
        let format = if head.starts_with(EVTX_MAGIC) {
            // Checks the header now, so that a broken one fails before any scanning.
            file.seek(SeekFrom::Start(0)).map_err(|e| Error::io(path, Some(0), e))?;
            crate::evtx::check_header(path, &mut file)?;
            Format::Evtx
        } else {
            file.seek(SeekFrom::Start(0)).map_err(|e| Error::io(path, Some(0), e))?;
            Self::sniff_text(path, head, file)?
        };
        Ok(Source {
            path: path.to_path_buf(),
            size: metadata.len(),
            format,
            stream: None,
            stream_bytes: Arc::default(),
        })
    }

    /// Sniffs a text input whose first bytes are `head`; `rest` is the
    /// whole input again, decompressed to sniff the start of its content.
    fn sniff_text(path: &Path, head: Vec<u8>, mut rest: impl Read + Send) -> Result<Format> {
        let compression = sniff_compression(&head);
        if compression == Compression::None {
            let first = read_prefix(&mut rest, JSON_SNIFF_LEN).map_err(|e| Error::io(path, Some(0), e))?;
            return Ok(content_format(&first, compression));
        }
        let mut decoder = decompress(rest, compression).map_err(|e| Error::io(path, Some(0), e))?;
        // A stream too damaged to yield its first bytes is sniffed as what it
        // yielded (nothing: UTF-8); the scan then reports the damage.
        let first = read_prefix(&mut decoder, JSON_SNIFF_LEN).unwrap_or_default();
        Self::check_not_evtx(path, &first)?;
        Ok(content_format(&first, compression))
    }

    /// Refuses compressed EVTX: as text it would give zero events.
    fn check_not_evtx(path: &Path, decoded_head: &[u8]) -> Result<()> {
        if decoded_head.starts_with(EVTX_MAGIC) {
            return Err(Error::Unsupported {
                path: path.to_path_buf(),
                what: "a compressed EVTX file: decompress it first (EVTX is read by seeking to its chunks)",
            });
        }
        Ok(())
    }

    /// A stream (stdin, a file object) as an input named `name`. Its first
    /// bytes are read now to sniff it. An EVTX stream is copied to an
    /// anonymous temporary file, because the EVTX reader seeks; anything
    /// else is read once, as it arrives.
    pub fn from_stream(name: &str, stream: Stream) -> Result<Source> {
        let path = PathBuf::from(name);
        let count = Arc::new(AtomicU64::new(0));
        let mut counted = CountingReader::new(stream, count.clone());
        let mut head = read_prefix(&mut counted, SNIFF_LEN).map_err(|e| Error::io(&path, Some(0), e))?;
        if sniff_compression(&head) == Compression::None && !head.starts_with(EVTX_MAGIC) {
            // Plain text: enough to find a JSON input's first `{` or `[`.
            let more =
                read_prefix(&mut counted, JSON_SNIFF_LEN - head.len()).map_err(|e| Error::io(&path, Some(0), e))?;
            head.extend_from_slice(&more);
        }
        let (format, body) = if head.starts_with(EVTX_MAGIC) {
            let mut spool = tempfile::tempfile().map_err(|e| Error::io(&path, None, e))?;
            io::copy(&mut io::Cursor::new(head).chain(&mut counted), &mut spool)
                .map_err(|e| Error::io(&path, Some(count.load(Ordering::Relaxed)), e))?;
            spool.seek(SeekFrom::Start(0)).map_err(|e| Error::io(&path, Some(0), e))?;
            crate::evtx::check_header(&path, &mut spool)?;
            (Format::Evtx, StreamBody::Spooled(spool))
        } else {
            let compression = sniff_compression(&head);
            let rejoined = io::Cursor::new(head.clone()).chain(counted);
            if compression == Compression::None {
                (content_format(&head, compression), StreamBody::Decoded(Box::new(rejoined)))
            } else {
                let mut decoded = decompress(rejoined, compression).map_err(|e| Error::io(&path, Some(0), e))?;
                let first = read_prefix(&mut decoded, JSON_SNIFF_LEN).unwrap_or_default();
                Self::check_not_evtx(&path, &first)?;
                let format = content_format(&first, compression);
                // The decoded bytes taken to sniff go back in front.
                let body = StreamBody::Decoded(Box::new(io::Cursor::new(first).chain(decoded)));
                (format, body)
            }
        };
        let size = count.load(Ordering::Relaxed);
        Ok(Source {
            path,
            size,
            format,
            stream: Some(StreamSlot(Arc::new(Mutex::new(Some(body))))),
            stream_bytes: count,
        })
    }

    /// Takes a stream's body: a stream is read by exactly one unit.
    fn take_stream(&self, slot: &StreamSlot) -> Result<StreamBody> {
        let taken = slot.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        taken.ok_or_else(|| Error::io(&self.path, None, io::Error::other("a stream input can be read only once")))
    }

    /// Whether workers can read this input's byte ranges independently.
    pub fn is_splittable(&self) -> bool {
        self.stream.is_none()
            && matches!(
                self.format,
                Format::Evtx
                    | Format::Xml { compression: Compression::None, encoding: Encoding::Utf8 }
                    | Format::Json { compression: Compression::None, array: false }
            )
    }

    /// For a JSON input, whether its records are array elements (else lines).
    pub fn json_array(&self) -> Option<bool> {
        match self.format {
            Format::Json { array, .. } => Some(array),
            _ => None,
        }
    }

    fn compression(&self) -> Compression {
        match self.format {
            Format::Xml { compression, .. } | Format::Json { compression, .. } => compression,
            Format::Evtx => Compression::None,
        }
    }

    pub fn is_evtx(&self) -> bool {
        self.format == Format::Evtx
    }

    /// Bytes read from disk or the stream: the size of a file, what a
    /// stream delivered (call after its scan).
    pub fn bytes(&self) -> u64 {
        if self.stream.is_some() {
            self.stream_bytes.load(Ordering::Relaxed)
        } else {
            self.size
        }
    }

    /// The raw file (or spooled EVTX stream), for the EVTX reader.
    pub fn open_raw(&self) -> Result<File> {
        match &self.stream {
            None => File::open(&self.path).map_err(|e| Error::io(&self.path, None, e)),
            Some(slot) => match self.take_stream(slot)? {
                StreamBody::Spooled(file) => Ok(file),
                StreamBody::Decoded(_) => {
                    Err(Error::Unsupported { path: self.path.clone(), what: "not an EVTX stream" })
                }
            },
        }
    }

    /// A reader of the decoded stream from `offset` (non-zero only for
    /// splittable sources). Bytes read from disk are added to `progress`.
    pub fn open_at(&self, offset: u64, progress: Option<&Arc<Progress>>) -> Result<Box<dyn Read + Send>> {
        let path = &self.path;
        let (compression, encoding) = match self.format {
            Format::Xml { compression, encoding } => (compression, encoding),
            Format::Json { compression, .. } => (compression, Encoding::Utf8),
            Format::Evtx => {
                return Err(Error::Unsupported {
                    path: path.clone(),
                    what: "EVTX inputs are read with the EVTX reader",
                })
            }
        };
        let mut decoded: Box<dyn Read + Send> = if let Some(slot) = &self.stream {
            let StreamBody::Decoded(stream) = self.take_stream(slot)? else {
                return Err(Error::Unsupported {
                    path: path.clone(),
                    what: "an EVTX stream is read with the EVTX reader",
                });
            };
            // Decoding (and reading a slow pipe) overlaps with scanning.
            Box::new(ReadAhead::new(stream))
        } else {
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
            let decoder = decompress(file, compression).map_err(|e| Error::io(path, Some(0), e))?;
            Box::new(ReadAhead::new(decoder))
        };
        if let Encoding::Utf16 { big_endian, bom } = encoding {
            if bom {
                let skipped = read_prefix(&mut decoded, 2).map_err(|e| self.read_error(e, 0))?;
                debug_assert_eq!(skipped.len(), 2);
            }
            decoded = Box::new(Utf16ToUtf8::new(decoded, big_endian));
        }
        Ok(decoded)
    }

    /// Whether a failed read means damaged input (a corrupt or truncated
    /// compressed stream) rather than a failing device.
    pub fn is_damage(&self, error: &io::Error) -> bool {
        let compressed = self.compression() != Compression::None;
        let reader_failed = error.get_ref().is_some_and(|inner| inner.is::<ReaderFailed>());
        compressed
            && !reader_failed
            && matches!(
                error.kind(),
                io::ErrorKind::InvalidData
                    | io::ErrorKind::InvalidInput
                    | io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::Other
            )
    }

    /// The error for a failed read at `offset` of the decoded stream: a
    /// corrupt compressed stream is reported as such, anything else as I/O.
    pub fn read_error(&self, error: io::Error, offset: u64) -> Error {
        if self.is_damage(&error) {
            Error::Decompress { path: self.path.clone(), source: error }
        } else {
            Error::io(&self.path, Some(offset), error)
        }
    }
}

/// What decoded text whose first bytes are `first` holds: JSON when its
/// first byte after a UTF-8 BOM and JSON white space is `{` (NDJSON) or `[`
/// (arrays), else text that may hold XML events. The next token must fit a
/// log of records too (`"` or `}` after `{`; `{`, `[` or `]` after `[`), so
/// that a text log opening with `[2021-04-28 ...]` or `[INFO]` stays text.
fn content_format(first: &[u8], compression: Compression) -> Format {
    let text = first.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(first);
    let mut tokens = text.iter().filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
    match (tokens.next(), tokens.next()) {
        (Some(b'{'), None | Some(b'"' | b'}')) => Format::Json { compression, array: false },
        (Some(b'['), None | Some(b'{' | b'[' | b']')) => Format::Json { compression, array: true },
        _ => Format::Xml { compression, encoding: sniff_encoding(first) },
    }
}

/// A piece of work: starts in `[start, start + owned_len)` of one input.
#[derive(Clone, Copy, Debug)]
pub struct Unit {
    pub file_index: usize,
    pub start: u64,
    pub owned_len: u64,
}

/// How many bytes of an EVTX file make one unit, for a text split size:
/// EVTX costs far more per byte than text (every record is rendered), so
/// its units are smaller for the same balance across cores.
fn evtx_split_size(split_size: u64) -> u64 {
    (split_size / 32).max(EVTX_CHUNK_SIZE) / EVTX_CHUNK_SIZE * EVTX_CHUNK_SIZE
}

/// Cuts sources into units of at most `split_size` bytes where possible.
pub fn plan_units(sources: &[Source], split_size: u64) -> Vec<Unit> {
    let mut units = Vec::new();
    for (file_index, source) in sources.iter().enumerate() {
        let split_size = if source.is_evtx() { evtx_split_size(split_size) } else { split_size };
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
        assert_eq!(sniff_encoding(b"\xEF\xBB\xBF<"), Encoding::Utf8);
        assert_eq!(sniff_encoding(b"<E"), Encoding::Utf8);
        assert_eq!(sniff_encoding(b""), Encoding::Utf8);
        assert_eq!(sniff_encoding(b"\xFF\xFE"), Encoding::Utf16 { big_endian: false, bom: true });
        assert_eq!(sniff_encoding(b"\xFE\xFF"), Encoding::Utf16 { big_endian: true, bom: true });
        assert_eq!(sniff_encoding(b"<\x00"), Encoding::Utf16 { big_endian: false, bom: false });
        assert_eq!(sniff_encoding(b"\x00<"), Encoding::Utf16 { big_endian: true, bom: false });
        assert_eq!(sniff_compression(b"\x1f\x8b\x08"), Compression::Gzip);
        assert_eq!(sniff_compression(b"\x28\xb5\x2f\xfd"), Compression::Zstd);
        assert_eq!(sniff_compression(b"\x28\xb5"), Compression::None);
    }

    #[test]
    fn json_is_sniffed_after_bom_and_white_space() {
        let none = Compression::None;
        assert_eq!(content_format(b"{\"a\":1}", none), Format::Json { compression: none, array: false });
        assert_eq!(content_format(b"\xEF\xBB\xBF \r\n\t[", none), Format::Json { compression: none, array: true });
        assert_eq!(content_format(b"[\n {", none), Format::Json { compression: none, array: true });
        assert_eq!(content_format(b"[]", none), Format::Json { compression: none, array: true });
        assert_eq!(content_format(b"{ }", none), Format::Json { compression: none, array: false });
        assert_eq!(content_format(b"[2021-04-28 20:11:34] <Event", none).name(), "xml");
        assert_eq!(content_format(b"[INFO] <Event", none).name(), "xml");
        assert_eq!(content_format(b"{<Event", none).name(), "xml");
        assert_eq!(content_format(b"\xEF\xBB\xBF<Event", none).name(), "xml");
        assert_eq!(content_format(b"  ", none).name(), "xml");
        assert_eq!(content_format(b"\x0c{", none).name(), "xml");
        assert_eq!(content_format(b"[", Compression::Zstd).name(), "zstd+json");
        assert_eq!(content_format(b"{", Compression::Gzip).name(), "gzip+json");
    }

    #[test]
    fn evtx_units_are_whole_chunks() {
        assert_eq!(evtx_split_size(32 << 20), 1 << 20);
        assert_eq!(evtx_split_size(1), EVTX_CHUNK_SIZE);
        assert_eq!(evtx_split_size(3 * EVTX_CHUNK_SIZE * 32 + 5), 3 * EVTX_CHUNK_SIZE);
    }
}
