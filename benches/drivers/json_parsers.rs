//! Measures the JSON parsers the JSON path could use on the records of an
//! NDJSON file (benches/results/json.md, "Which parser"):
//! `cargo run --profile ci --example json_parsers -- FILE.ndjson [ROUNDS]`.
//! Prints MB/s per way of validating a record, best of ROUNDS, and what each
//! says about a lone surrogate escape, which must make a record malformed.

use std::time::Instant;

use sysmon_hunt::pieces::{read_record, EventValues, JsonTable};
use sysmon_hunt::Detection;

/// A way of parsing one record: whether it is valid.
type Parse<'a> = Box<dyn FnMut(&[u8]) -> bool + 'a>;

fn best_rate(lines: &[&[u8]], bytes: usize, rounds: usize, mut parse: impl FnMut(&[u8]) -> bool) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut ok = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        ok = lines.iter().filter(|line| parse(line)).count();
        best = best.min(start.elapsed().as_secs_f64());
    }
    (bytes as f64 / best / 1e6, ok)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = std::fs::read(&args[1]).expect("an NDJSON file");
    let rounds = args.get(2).map_or(3, |r| r.parse().expect("a number of rounds"));
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let bytes: usize = lines.iter().map(|l| l.len()).sum();
    let compiled = Detection::telegram_downloads().compile();
    let table = JsonTable::new(&compiled.fields);
    let mut values = EventValues::default();
    let mut ways: Vec<(&str, Parse)> = vec![
        ("sonic-rs Value (validation only)", Box::new(|l| sonic_rs::from_slice::<sonic_rs::Value>(l).is_ok())),
        ("sonic-rs lazy object iterator", Box::new(|l| sonic_rs::to_object_iter(l).all(|m| m.is_ok()))),
        ("serde_json Value", Box::new(|l| serde_json::from_slice::<serde_json::Value>(l).is_ok())),
        ("serde_json IgnoredAny", Box::new(|l| serde_json::from_slice::<serde::de::IgnoredAny>(l).is_ok())),
        (
            "read_record (serde_json, raw values: validate, then map the shape)",
            Box::new(move |l| read_record(l, &table, &mut values).is_ok()),
        ),
    ];
    let lone = br#"{"a":"\ud800"}"#;
    println!("{} records, {} bytes", lines.len(), bytes);
    for (name, parse) in &mut ways {
        let (rate, ok) = best_rate(&lines, bytes, rounds, &mut *parse);
        println!("{name}: {rate:.0} MB/s ({ok} valid); lone surrogate accepted: {}", parse(lone));
    }
}
