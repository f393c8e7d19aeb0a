//! Scanning across machines: the units of a local scan, planned and scanned
//! one at a time where the files are, with partial results that travel as
//! bytes and merge exactly.
//!
//! A coordinator plans each input ([`plan_path`]), numbers the planned files
//! in input order, hands each range to a worker ([`scan_range`]), and merges
//! the partial results it gets back ([`Partial::merge`], then [`finish`]).
//! Workers open the files themselves, by path. Because files are numbered
//! as a local scan numbers them and units are cut by the same rule, the
//! result is the local scan's, whatever the split or the number of workers.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::aggregate::Partial;
use crate::detection::Detection;
use crate::error::{Error, Result};
use crate::event::ScanContext;
use crate::input::{expand, Input, Planned, STDIN};
use crate::output::{InputReport, ScanOutput};
use crate::scan::{catch_panics, scan_one_unit, DEFAULT_SPLIT_SIZE};
use crate::source::{plan_units, Source, Unit};
use crate::stream::Scratch;

/// The `owned_len` of a unit that is a whole file.
pub const WHOLE_FILE: u64 = u64::MAX;

/// One file a path names: its path, its size on disk, and its units as
/// `(start, owned_len)`: an event belongs to the unit whose
/// `[start, start + owned_len)` holds its `<Event` start. A file found in a
/// directory that cannot be scanned has no units, no format and the reason
/// it was skipped, as a local scan reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedFile {
    pub path: PathBuf,
    pub size: u64,
    pub ranges: Vec<(u64, u64)>,
    /// The detected format (see [`crate::source::Format::name`]).
    pub format: Option<String>,
    pub skipped: Option<String>,
}

/// Plans `path` by the rules of a local scan: the files it names (a
/// directory is walked as a local scan walks it), each cut into ranges of
/// at most `split_size` bytes where its encoding allows. Standard input is
/// refused: a worker cannot read the coordinator's.
pub fn plan_path(path: &Path, split_size: u64) -> Result<Vec<PlannedFile>> {
    catch_panics(|| {
        if path.as_os_str() == STDIN {
            return Err(Error::InvalidOption(
                "standard input cannot be scanned on a cluster: the workers open the inputs by path".to_string(),
            ));
        }
        let split_size = if split_size == 0 { DEFAULT_SPLIT_SIZE } else { split_size };
        let planned = expand(vec![Input::Path(path.to_path_buf())])?;
        Ok(planned
            .into_iter()
            .map(|entry| match entry {
                Planned::Scan(source) => PlannedFile {
                    ranges: plan_units(std::slice::from_ref(&source), split_size)
                        .into_iter()
                        .map(|unit| (unit.start, unit.owned_len))
                        .collect(),
                    path: source.path,
                    size: source.size,
                    format: Some(source.format.name().to_string()),
                    skipped: None,
                },
                Planned::Skip { path, reason } => {
                    PlannedFile { path, size: 0, ranges: Vec::new(), format: None, skipped: Some(reason) }
                }
            })
            .collect())
    })
}

/// Scans the unit of `path` that owns `[start, start + owned_len)`
/// ([`WHOLE_FILE`] for all of it). `file_index` is the file's number in
/// the whole scan, which orders malformed examples when partials merge.
pub fn scan_range(
    path: &Path,
    file_index: usize,
    start: u64,
    owned_len: u64,
    detection: &Detection,
    chunk_size: usize,
    cancel: &AtomicBool,
) -> Result<Partial> {
    catch_panics(|| {
        let source = Source::inspect(path)?;
        let whole = start == 0 && owned_len == WHOLE_FILE;
        if !whole && !source.is_splittable() {
            // Planned as plain UTF-8 somewhere, compressed or UTF-16 here.
            return Err(Error::Unsupported {
                path: path.to_path_buf(),
                what: "planned as a byte range but must be read whole (compressed or UTF-16): \
                       did the file change, or differ between machines?",
            });
        }
        let compiled = detection.compile();
        let context = ScanContext::new(&compiled);
        let unit = Unit { file_index, start, owned_len };
        scan_one_unit(&context, &mut Scratch::new(), &source, &unit, chunk_size, None, cancel)
    })
}

/// Leads every serialized partial: what the bytes are and the layout's
/// version, so that bytes from another version of the core are refused
/// rather than misread.
const PARTIAL_HEADER: &[u8] = b"sysmon-hunt partial v4\n";

/// A partial result as compact bytes (postcard).
pub fn partial_to_bytes(partial: &Partial) -> Vec<u8> {
    let bytes = PARTIAL_HEADER.to_vec();
    // Serializing plain data into a Vec cannot fail.
    postcard::to_extend(partial, bytes).expect("a partial result always serializes")
}

/// The partial result that [`partial_to_bytes`] made.
pub fn partial_from_bytes(bytes: &[u8]) -> Result<Partial> {
    let body = bytes
        .strip_prefix(PARTIAL_HEADER)
        .ok_or_else(|| Error::InvalidPartial("not a serialized partial result of this version".to_string()))?;
    let (partial, rest) =
        postcard::take_from_bytes::<Partial>(body).map_err(|e| Error::InvalidPartial(format!("cannot decode: {e}")))?;
    if !rest.is_empty() {
        return Err(Error::InvalidPartial(format!("{} bytes after the end", rest.len())));
    }
    Ok(partial)
}

/// The output of a scan whose units' partials were merged into `merged`:
/// `plan` is every file the scan's inputs named, in input order, as
/// [`plan_path`] gave them (skipped ones included, where a local scan lists
/// them), and `detection` the one every unit was scanned for.
pub fn finish(mut merged: Partial, plan: &[PlannedFile], detection: &Detection) -> Result<ScanOutput> {
    let inputs = plan
        .iter()
        .map(|file| match &file.skipped {
            Some(reason) => InputReport::skipped(file.path.clone(), reason.clone()),
            None => InputReport {
                path: file.path.clone(),
                format: file.format.clone(),
                bytes: file.size,
                skipped: None,
                damaged: None,
            },
        })
        .collect();
    // Partials from elsewhere are checked before their hits are built.
    if let Some(reason) = merged.invalid_group(detection.by_fields.len()) {
        return Err(Error::InvalidPartial(reason));
    }
    let hits = merged.take_hits();
    ScanOutput::assemble(inputs, merged, hits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::TIME_RANGE;

    const HIT: &str = "<Event><System><Provider Name='Microsoft-Windows-Sysmon'/><EventID>15</EventID>\
        <TimeCreated SystemTime='2021-04-28T20:11:3{s}Z'/><Computer>{c}</Computer></System>\
        <EventData><Data Name='ProcessId'>1</Data><Data Name='Image'>C:\\Telegram.exe</Data>\
        <Data Name='TargetFilename'>C:\\x.exe:Zone.Identifier</Data><Data Name='Hash'>MD5=0</Data></EventData></Event>";

    fn hit(computer: &str, second: u8) -> String {
        HIT.replace("{c}", computer).replace("{s}", &second.to_string())
    }

    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str, contents: &[u8]) -> Self {
            let path = std::env::temp_dir().join(format!("sysmon-hunt-distributed-{}-{name}", std::process::id()));
            std::fs::write(&path, contents).unwrap();
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// Plans, scans every range, ships each partial through bytes, merges.
    fn scan_in_ranges(files: &[&Path], split_size: u64) -> ScanOutput {
        let detection = Detection::telegram_downloads();
        let cancel = AtomicBool::new(false);
        let planned: Vec<PlannedFile> = files.iter().flat_map(|p| plan_path(p, split_size).unwrap()).collect();
        let mut merged = Partial::default();
        for (index, file) in planned.iter().enumerate().rev() {
            for &(start, owned_len) in file.ranges.iter().rev() {
                let partial = scan_range(&file.path, index, start, owned_len, &detection, 7, &cancel).unwrap();
                merged.merge(partial_from_bytes(&partial_to_bytes(&partial)).unwrap());
            }
        }
        finish(merged, &planned, &detection).unwrap()
    }

    #[test]
    fn ranges_merged_in_any_order_equal_the_local_scan() {
        let one = format!("{}\n<Event><a></b></Event>\n{}\n{}", hit("a", 1), hit("b", 2), &hit("c", 3)[..90]);
        let two = format!("junk <Event>\n{}\r\n{}", hit("a", 0), hit("a", 9));
        let (one, two) = (TempFile::new("one.log", one.as_bytes()), TempFile::new("two.log", two.as_bytes()));
        let paths = vec![one.0.clone(), two.0.clone()];
        let local =
            crate::scan::scan(&paths, &Detection::telegram_downloads(), &Default::default(), &AtomicBool::new(false))
                .unwrap();
        assert_eq!(local.hits.len(), 2);
        assert_eq!((local.events, local.malformed), (7, 2));
        for split_size in [1, 2, 5, 50, 100, 1000, 1 << 20] {
            let ranged = scan_in_ranges(&[&one.0, &two.0], split_size);
            assert_eq!(ranged.hits, local.hits, "split {split_size}");
            assert_eq!(ranged.malformed_examples, local.malformed_examples, "split {split_size}");
            assert_eq!(
                (ranged.files, ranged.bytes, ranged.events, ranged.malformed),
                (local.files, local.bytes, local.events, local.malformed),
                "split {split_size}"
            );
        }
    }

    #[test]
    fn a_gzip_file_is_one_unit() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(hit("z", 1).repeat(20).as_bytes()).unwrap();
        let file = TempFile::new("one.log.gz", &encoder.finish().unwrap());
        let planned = plan_path(&file.0, 1).unwrap();
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].ranges, vec![(0, WHOLE_FILE)]);
        let cancel = AtomicBool::new(false);
        let detection = Detection::telegram_downloads();
        let error = scan_range(&file.0, 0, 1, 5, &detection, 0, &cancel).unwrap_err();
        assert!(error.to_string().contains("must be read whole"), "{error}");
        assert_eq!(scan_in_ranges(&[&file.0], 1).hits[0].stats.count, 20);
    }

    #[test]
    fn bytes_that_are_not_a_partial_are_refused() {
        let mut partial = Partial::default();
        partial.add_hit(["h", "15", "i", "1", "t", "x"], 5, Some("u"));
        partial.add_malformed(0, 3, "why");
        let bytes = partial_to_bytes(&partial);
        for bad in [&b""[..], b"junk", &bytes[..bytes.len() - 1], &bytes[1..]] {
            assert!(matches!(partial_from_bytes(bad), Err(Error::InvalidPartial(_))));
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(partial_from_bytes(&longer), Err(Error::InvalidPartial(_))));
        let back = partial_from_bytes(&bytes).unwrap();
        assert_eq!((back.events, back.malformed, back.examples.clone()), (0, 1, partial.examples.clone()));
        assert_eq!(back.into_hits(), partial.into_hits());
    }

    #[test]
    fn partials_that_do_not_fit_the_scan_are_refused() {
        let detection = Detection::telegram_downloads();
        let file = |name: &str| PlannedFile {
            path: name.into(),
            size: 10,
            ranges: vec![(0, WHOLE_FILE)],
            format: Some("xml".into()),
            skipped: None,
        };
        let skipped = PlannedFile { format: None, skipped: Some("unreadable".into()), ..file("s") };
        let mut partial = Partial::default();
        partial.add_malformed(1, 3, "why");
        assert!(matches!(finish(partial.clone(), &[file("a")], &detection), Err(Error::InvalidPartial(_))));
        // A skipped file has no number: file 1 is still missing.
        assert!(matches!(
            finish(partial.clone(), &[file("a"), skipped.clone()], &detection),
            Err(Error::InvalidPartial(_))
        ));
        let output = finish(partial, &[file("a"), skipped, file("b")], &detection).unwrap();
        // File 1 is the third input.
        assert_eq!((output.malformed_examples[0].file_index, output.files, output.files_skipped), (2, 2, 1));
        let mut short_key = Partial::default();
        short_key.add_hit(["only", "two"], 1, None);
        assert!(matches!(finish(short_key, &[file("a")], &detection), Err(Error::InvalidPartial(_))));
        // Times no event can have (Python's datetime could not hold them).
        let six = ["h", "15", "i", "1", "t", "x"];
        for time in [*TIME_RANGE.start() - 1, *TIME_RANGE.end() + 1, i64::MIN, i64::MAX] {
            let mut odd_time = Partial::default();
            odd_time.add_hit(six, time, None);
            assert!(matches!(finish(odd_time, &[file("a")], &detection), Err(Error::InvalidPartial(_))), "{time}");
        }
        let mut edges = Partial::default();
        edges.add_hit(six, *TIME_RANGE.start(), None);
        edges.add_hit(six, *TIME_RANGE.end(), None);
        assert_eq!(finish(edges, &[file("a")], &detection).unwrap().hits[0].stats.count, 2);
    }
}
