//! UTF-16 to UTF-8, streaming, for the files PowerShell 5 writes.
//!
//! A lone surrogate is written as its 3-byte generalized-UTF-8 form
//! (`ED A0 80`..`ED BF BF`), which is invalid UTF-8: the event holding it is
//! then malformed, exactly as an invalid byte in a UTF-8 file would make it.
//! A dangling odd final byte cannot be part of any event and is dropped.

use std::io::{self, Read};

pub struct Utf16ToUtf8<R> {
    inner: R,
    big_endian: bool,
    /// Raw bytes read but not yet decoded (at most one odd byte between reads).
    raw: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    /// A high surrogate waiting for the next code unit.
    pending_high: Option<u16>,
    eof: bool,
}

const RAW_CHUNK: usize = 64 << 10;

impl<R: Read> Utf16ToUtf8<R> {
    pub fn new(inner: R, big_endian: bool) -> Self {
        Utf16ToUtf8 { inner, big_endian, raw: Vec::new(), out: Vec::new(), out_pos: 0, pending_high: None, eof: false }
    }

    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.out_pos = 0;
        while self.out.is_empty() && !self.eof {
            let old = self.raw.len();
            self.raw.resize(old + RAW_CHUNK, 0);
            let n = loop {
                match self.inner.read(&mut self.raw[old..]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            let n = match n {
                Ok(n) => n,
                Err(e) => {
                    self.raw.truncate(old);
                    return Err(e);
                }
            };
            self.raw.truncate(old + n);
            self.eof = n == 0;
            let whole = self.raw.len() & !1;
            for pair in self.raw[..whole].chunks_exact(2) {
                let unit = if self.big_endian {
                    u16::from_be_bytes([pair[0], pair[1]])
                } else {
                    u16::from_le_bytes([pair[0], pair[1]])
                };
                push_unit(&mut self.out, &mut self.pending_high, unit);
            }
            self.raw.drain(..whole);
            if self.eof {
                if let Some(high) = self.pending_high.take() {
                    push_lone_surrogate(&mut self.out, high);
                }
            }
        }
        Ok(())
    }
}

fn push_unit(out: &mut Vec<u8>, pending_high: &mut Option<u16>, unit: u16) {
    let is_high = (0xD800..0xDC00).contains(&unit);
    let is_low = (0xDC00..0xE000).contains(&unit);
    if let Some(high) = pending_high.take() {
        if is_low {
            let code = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
            push_char(out, char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            return;
        }
        push_lone_surrogate(out, high);
    }
    if is_high {
        *pending_high = Some(unit);
    } else if is_low {
        push_lone_surrogate(out, unit);
    } else {
        push_char(out, char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER));
    }
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

fn push_lone_surrogate(out: &mut Vec<u8>, unit: u16) {
    out.extend_from_slice(&[0xE0 | (unit >> 12) as u8, 0x80 | ((unit >> 6) & 0x3F) as u8, 0x80 | (unit & 0x3F) as u8]);
}

impl<R: Read> Read for Utf16ToUtf8<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_pos == self.out.len() {
            self.refill()?;
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], big_endian: bool) -> Vec<u8> {
        let mut out = Vec::new();
        Utf16ToUtf8::new(bytes, big_endian).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn pairs_lone_surrogates_and_odd_bytes() {
        let text = "a\u{e9}\u{1F600}<";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(decode(&le, false), text.as_bytes());
        assert_eq!(decode(&be, true), text.as_bytes());
        assert_eq!(decode(&[0x00, 0xD8, 0x41, 0x00, 0x42], false), b"\xED\xA0\x80A");
        assert_eq!(decode(&[0x00, 0xDC], false), b"\xED\xB0\x80");
        assert_eq!(decode(&[0x00, 0xD8], false), b"\xED\xA0\x80");
    }
}
