//! A small driver for the many-hits measurements (benches/results/many-hits.md):
//! one piece of the core over one file, timed once, so that it can run under
//! `valgrind --tool=cachegrind` as well as on the clock.
//!
//! ```text
//! cargo build --release --example many_hits   (or --profile ci)
//! many_hits parse FILE           every event through parse_event + judge
//! many_hits aggregate FILE N     parse, add every hit to N partials, merge them on N threads, into_hits
//! many_hits scan FILE THREADS    the public scan() (no Python)
//! many_hits read-only|read|mmap FILE   the read path alone (see the arm below)
//! ```

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use rayon::prelude::*;

use sysmon_hunt::pieces::{parse_event, EventValues, FieldTable, Framer, StartSearch, Verdict, END};
use sysmon_hunt::{scan, Detection, Partial, ScanOptions};

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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: many_hits parse|aggregate|scan|read-only|read|mmap FILE [N]";
    let mode = args.get(1).expect(usage).as_str();
    let path = PathBuf::from(args.get(2).expect(usage));
    let n: usize = args.get(3).map_or(1, |s| s.parse().expect("N is a number"));
    let detection = Detection::telegram_downloads();
    match mode {
        "scan" => {
            let options = ScanOptions { threads: n, ..ScanOptions::default() };
            let t0 = Instant::now();
            let out = scan(&[path], &detection, &options, &AtomicBool::new(false)).expect("scan");
            let seconds = t0.elapsed().as_secs_f64();
            println!(
                "scan threads={n}: {:.3} s, {:.0} MB/s; {} events, {} hits, {} malformed",
                seconds,
                out.bytes as f64 / 1e6 / seconds,
                out.events,
                out.hits.len(),
                out.malformed
            );
        }
        "parse" | "aggregate" => {
            let bytes = std::fs::read(&path).expect("read");
            let spans = event_spans(&bytes);
            let compiled = detection.compile();
            let table = FieldTable::new(&compiled.fields);
            let mut values = EventValues::default();
            let mut partials: Vec<Partial> = (0..n.max(1)).map(|_| Partial::default()).collect();
            let (mut hits, mut malformed) = (0u64, 0u64);
            let t0 = Instant::now();
            for (i, &(start, end)) in spans.iter().enumerate() {
                if parse_event(&bytes[start..end], &table, &mut values).is_err() {
                    malformed += 1;
                    continue;
                }
                if let Verdict::Hit(time) = compiled.judge(&values) {
                    hits += 1;
                    if mode == "aggregate" {
                        // Contiguous slices, as units of a file are.
                        let piece = i * partials.len() / spans.len();
                        let partial = &mut partials[piece];
                        partial.add_hit(compiled.by_field_values(&values).map(Option::unwrap_or_default), time, None);
                    }
                }
            }
            let parsed = t0.elapsed().as_secs_f64();
            println!(
                "parse: {:.3} s, {:.0} MB/s; {} events, {} hits, {} malformed",
                parsed,
                bytes.len() as f64 / 1e6 / parsed,
                spans.len(),
                hits,
                malformed
            );
            if mode == "aggregate" {
                // Merged as scan() does: a rayon reduce on a pool of N threads.
                let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build().expect("pool");
                let t1 = Instant::now();
                let (merged_at, hits) = pool.install(|| {
                    let merged = partials.into_par_iter().reduce(Partial::default, |mut a, b| {
                        a.merge(b);
                        a
                    });
                    (t1.elapsed().as_secs_f64(), merged.into_hits())
                });
                let hits_at = t1.elapsed().as_secs_f64();
                let groups = hits.len();
                drop(hits);
                println!(
                    "merge {merged_at:.3} s, into_hits {:.3} s, dropping the hits {:.3} s; \
                     merge of {n} partials + into_hits: {hits_at:.3} s; {groups} groups",
                    hits_at - merged_at,
                    t1.elapsed().as_secs_f64() - hits_at
                );
            }
        }
        "read-only" | "read" | "mmap" => {
            // The read-path question: what a pass over the file costs when
            // its bytes are copied into a 1 MiB buffer (what `stream` does)
            // or read in place from a mapping, with nothing else (read-only)
            // or with one memmem pass for `<Event` (the framing's search).
            let finder = memchr::memmem::Finder::new("<Event");
            let t0 = Instant::now();
            let (bytes, starts) = if mode == "mmap" {
                let file = std::fs::File::open(&path).expect("open");
                // SAFETY: measurement only; nothing truncates the file meanwhile.
                let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) }.expect("mmap");
                (map.len(), finder.find_iter(&map).count())
            } else {
                use std::io::Read;
                let mut file = std::fs::File::open(&path).expect("open");
                let mut buffer = vec![0u8; 1 << 20];
                let (mut bytes, mut starts) = (0, 0);
                loop {
                    let n = file.read(&mut buffer).expect("read");
                    if n == 0 {
                        break;
                    }
                    bytes += n;
                    if mode == "read" {
                        starts += finder.find_iter(&buffer[..n]).count();
                    }
                }
                (bytes, starts)
            };
            let seconds = t0.elapsed().as_secs_f64();
            println!("{mode}: {seconds:.3} s, {:.0} MB/s; {starts} event starts", bytes as f64 / 1e6 / seconds);
        }
        _ => panic!("{usage}"),
    }
}
