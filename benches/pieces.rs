//! Criterion benches of the core's pieces, in bytes per second of input,
//! grouped by hit density (memchr's never/rare/common):
//!
//! - `none`: the realistic mix with every Telegram download removed
//!   (browser `:Zone.Identifier` downloads stay: they are prefilter
//!   candidates that parse and do not match);
//! - `rare`: the realistic mix (~0.2% of events are Telegram downloads);
//! - `common`: the dense worst case (every event a Telegram download).
//!
//! Pieces: `framing` (finding event spans the way `stream` does), `prefilter`
//! (every event through `Prefilter::may_match`), `parse` (every event through
//! the strict parser and the matcher: what the dense case pays per event),
//! `tokenize` (quick-xml's tokenizer alone over every event: the floor under
//! `parse`),
//! `aggregate` (`Partial::add_hit` for every hit of the input, then
//! `into_hits`; per byte of the input the hits came from), `pipeline`
//! (`stream::scan_unit` over the input in memory: framing + prefilter + parse
//! of candidates + aggregate, no I/O) and `scan` (the public `scan()` on one
//! thread over the file in page cache). A last group, `gzip`, compares
//! decompressing a gzipped realistic input (generate.py `--gzip`, level 6)
//! with scanning it.
//!
//! Inputs are made on first use by `benches/generate.py` (seed 1, 8 MiB each)
//! under `target/bench-data/` and read into memory. Run with
//! `cargo bench --bench pieces` (add a filter such as `-- parse/` for one piece).

use std::hint::black_box;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput};

use sysmon_hunt::pieces::CompiledDetection;
use sysmon_hunt::pieces::Prefilter;
use sysmon_hunt::pieces::ScanContext;
use sysmon_hunt::pieces::Source;
use sysmon_hunt::pieces::Verdict;
use sysmon_hunt::pieces::{parse_event, EventValues, FieldTable};
use sysmon_hunt::pieces::{scan_unit, Scratch, UnitPosition};
use sysmon_hunt::pieces::{Framer, StartSearch, END};
use sysmon_hunt::Partial;
use sysmon_hunt::{scan, Detection, ScanOptions};

/// Size of each generated input, as generate.py's `--size`.
const SIZE: &str = "8M";
const SEED: &str = "1";

/// One benchmark input: its bytes in memory, where it lies on disk, and the
/// spans `[start, end)` of its events (through the first `</Event>`).
struct Input {
    density: &'static str,
    path: PathBuf,
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

fn data_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("bench-data")
}

/// Runs generate.py unless `path` already exists.
fn generate(path: &Path, kind: &str) {
    generate_with(path, kind, &[]);
}

fn generate_with(path: &Path, kind: &str, extra: &[&str]) {
    if path.exists() {
        return;
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches").join("generate.py");
    let partial = path.with_extension("partial");
    let status = Command::new("python3")
        .arg(&script)
        .args(["--kind", kind, "--size", SIZE, "--seed", SEED, "-o"])
        .arg(&partial)
        .args(extra)
        .status()
        .expect("cannot run python3 benches/generate.py");
    assert!(status.success(), "generate.py failed: {status}");
    std::fs::rename(&partial, path).unwrap();
}

/// The realistic input without its Telegram downloads: generate.py writes one
/// event per line, and only Telegram downloads have an element value ending
/// in `Telegram.exe` (the registry value that names it is followed by ` --`).
fn remove_telegram(realistic: &Path, path: &Path) {
    if path.exists() {
        return;
    }
    let bytes = std::fs::read(realistic).unwrap();
    let needle = memchr::memmem::Finder::new(b"Telegram.exe<");
    let mut out = Vec::with_capacity(bytes.len());
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if needle.find(line).is_none() {
            out.extend_from_slice(line);
        }
    }
    let partial = path.with_extension("partial");
    std::fs::write(&partial, out).unwrap();
    std::fs::rename(&partial, path).unwrap();
}

fn event_spans(bytes: &[u8]) -> Vec<(usize, usize)> {
    let framer = Framer::default();
    let mut spans = Vec::new();
    let mut from = 0;
    while let StartSearch::Found(start) = framer.find_start(bytes, from, true) {
        let end = framer.find_end(bytes, start + 6, bytes.len()).map_or(bytes.len(), |e| e + END.len());
        spans.push((start, end));
        from = start + 1;
    }
    spans
}

fn scan_one_thread(path: &Path) -> sysmon_hunt::ScanOutput {
    let options = ScanOptions { threads: 1, ..ScanOptions::default() };
    scan(&[path.to_path_buf()], &Detection::telegram_downloads(), &options, &AtomicBool::new(false)).unwrap()
}

fn inputs() -> Vec<Input> {
    let dir = data_dir();
    let realistic = dir.join(format!("realistic-{SIZE}-seed{SEED}.log"));
    let dense = dir.join(format!("dense-{SIZE}-seed{SEED}.log"));
    let none = dir.join(format!("none-{SIZE}-seed{SEED}.log"));
    generate(&realistic, "realistic");
    generate(&dense, "dense");
    remove_telegram(&realistic, &none);
    let inputs: Vec<Input> = [("none", none), ("rare", realistic), ("common", dense)]
        .into_iter()
        .map(|(density, path)| {
            let bytes = std::fs::read(&path).unwrap();
            let spans = event_spans(&bytes);
            Input { density, path, bytes, spans }
        })
        .collect();
    // Say what the inputs are, and check that they are what the names claim.
    for input in &inputs {
        let out = scan_one_thread(&input.path);
        let hit_events: u64 = out.hits.iter().map(|h| h.stats.count).sum();
        eprintln!(
            "input {:>6}: {} ({} bytes, {} events, {} matching events in {} groups, {} malformed)",
            input.density,
            input.path.display(),
            input.bytes.len(),
            out.events,
            hit_events,
            out.hits.len(),
            out.malformed
        );
        assert_eq!(out.events as usize, input.spans.len());
        match input.density {
            "none" => assert_eq!(hit_events, 0),
            "rare" => assert!(hit_events > 0 && hit_events * 100 < out.events),
            _ => assert_eq!(hit_events, out.events),
        }
    }
    inputs
}

fn group<'c>(c: &'c mut Criterion, name: &str) -> BenchmarkGroup<'c, WallTime> {
    let mut g = c.benchmark_group(name);
    // Each iteration covers a whole 8 MiB input (ms to tens of ms), so
    // flat sampling with fewer, longer samples is enough and keeps runs short.
    g.sampling_mode(SamplingMode::Flat).sample_size(20).warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    g
}

/// Frames every event as `stream::frame_event` does in the common case: the
/// next start, then a backwards check for `</Event>` before it.
fn frame_all(framer: &Framer, bytes: &[u8]) -> usize {
    let mut events = 0;
    let mut pos = 0;
    while let StartSearch::Found(start) = framer.find_start(bytes, pos, true) {
        let body = start + 6;
        pos = match framer.find_start(bytes, body, true) {
            StartSearch::Found(next) => {
                events += framer.has_end(bytes, body, next) as usize;
                next
            }
            _ => {
                events += framer.find_end(bytes, body, bytes.len()).is_some() as usize;
                bytes.len()
            }
        };
    }
    events
}

fn parse_and_judge(detection: &CompiledDetection, table: &FieldTable, values: &mut EventValues, event: &[u8]) -> bool {
    parse_event(event, table, values).is_ok() && matches!(detection.judge(values), Verdict::Hit(_))
}

fn pieces(c: &mut Criterion) {
    let inputs = inputs();
    let detection = Detection::telegram_downloads().compile();
    let table = FieldTable::new(&detection.fields);
    let framer = Framer::default();
    let prefilter = Prefilter::new(&detection.prefilter_literals);

    let mut g = group(c, "framing");
    for input in &inputs {
        g.throughput(Throughput::Bytes(input.bytes.len() as u64));
        assert_eq!(frame_all(&framer, &input.bytes), input.spans.len());
        g.bench_function(input.density, |b| b.iter(|| frame_all(&framer, black_box(&input.bytes))));
    }
    g.finish();

    let mut g = group(c, "prefilter");
    for input in &inputs {
        g.throughput(Throughput::Bytes(input.bytes.len() as u64));
        let mut scratch = Vec::new();
        g.bench_function(input.density, |b| {
            b.iter(|| {
                let bytes = black_box(&input.bytes);
                input.spans.iter().filter(|&&(s, e)| prefilter.may_match(&bytes[s..e], &mut scratch)).count()
            })
        });
    }
    g.finish();

    let mut g = group(c, "parse");
    for input in &inputs {
        g.throughput(Throughput::Bytes(input.bytes.len() as u64));
        let mut values = EventValues::default();
        g.bench_function(input.density, |b| {
            b.iter(|| {
                let bytes = black_box(&input.bytes);
                input
                    .spans
                    .iter()
                    .filter(|&&(s, e)| parse_and_judge(&detection, &table, &mut values, &bytes[s..e]))
                    .count()
            })
        });
    }
    g.finish();

    // The floor under `parse`: quick-xml's tokenizer alone over every
    // event, no checks, nothing collected.
    let mut g = group(c, "tokenize");
    for input in &inputs {
        g.throughput(Throughput::Bytes(input.bytes.len() as u64));
        g.bench_function(input.density, |b| {
            b.iter(|| {
                let bytes = black_box(&input.bytes);
                let mut tokens = 0usize;
                for &(s, e) in &input.spans {
                    let mut reader = quick_xml::Reader::from_reader(&bytes[s..e]);
                    while !matches!(reader.read_event(), Ok(quick_xml::events::Event::Eof) | Err(_)) {
                        tokens += 1;
                    }
                }
                tokens
            })
        });
    }
    g.finish();

    let mut g = group(c, "aggregate");
    for input in &inputs {
        // The hits of this input, as the matcher hands them over.
        let mut values = EventValues::default();
        let mut hits: Vec<(Vec<String>, i64)> = Vec::new();
        for &(s, e) in &input.spans {
            if parse_event(&input.bytes[s..e], &table, &mut values).is_ok() {
                if let Verdict::Hit(time) = detection.judge(&values) {
                    let by = detection.by_field_values(&values).map(|v| v.unwrap_or_default().to_string()).collect();
                    hits.push((by, time));
                }
            }
        }
        if hits.is_empty() {
            continue; // `none`: nothing to aggregate.
        }
        g.throughput(Throughput::Bytes(input.bytes.len() as u64));
        g.bench_function(input.density, |b| {
            b.iter(|| {
                let mut partial = Partial::default();
                for (by, time) in black_box(&hits) {
                    partial.add_hit(by.iter().map(String::as_str), *time, None);
                }
                partial.into_hits().len()
            })
        });
    }
    g.finish();

    let mut g = group(c, "pipeline");
    let context = ScanContext::new(&detection);
    for input in &inputs {
        g.throughput(Throughput::Bytes(input.bytes.len() as u64));
        let mut scratch = Scratch::new();
        let cancel = AtomicBool::new(false);
        let position = UnitPosition { file_index: 0, base: 0, owned_len: u64::MAX };
        g.bench_function(input.density, |b| {
            b.iter(|| {
                let mut partial = Partial::default();
                let reader: &[u8] = black_box(&input.bytes);
                if scan_unit(&context, &mut scratch, reader, position, 1 << 20, &cancel, &mut partial).is_err() {
                    panic!("in-memory scan failed");
                }
                partial.events
            })
        });
    }
    g.finish();

    let mut g = group(c, "scan");
    for input in &inputs {
        g.throughput(Throughput::Bytes(input.bytes.len() as u64));
        g.bench_function(input.density, |b| b.iter(|| scan_one_thread(black_box(&input.path)).events));
    }
    g.finish();
}

/// gzip input: the decompressor alone (the same decoder stack a scan reads
/// through, `Source::open_at`, into a 1 MiB buffer) against a whole scan of
/// the same file on one thread. Throughput counts decompressed bytes.
fn gzip(c: &mut Criterion) {
    let dir = data_dir();
    let gz = dir.join(format!("realistic-{SIZE}-seed{SEED}.log.gz"));
    generate_with(&gz, "realistic", &["--gzip"]);
    let source = Source::inspect(&gz).unwrap();
    assert_eq!(source.format.name(), "gzip+xml");
    let decompress = || {
        let mut reader = source.open_at(0, None).unwrap();
        let mut buffer = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            match reader.read(&mut buffer).unwrap() {
                0 => return total,
                n => total += n as u64,
            }
        }
    };
    let text_len = decompress();
    let mut g = group(c, "gzip");
    g.throughput(Throughput::Bytes(text_len));
    g.bench_function("decompress-only", |b| b.iter(decompress));
    g.bench_function("scan", |b| b.iter(|| scan_one_thread(black_box(&gz)).events));
    g.finish();
}

criterion_group!(benches, pieces, gzip);
criterion_main!(benches);
