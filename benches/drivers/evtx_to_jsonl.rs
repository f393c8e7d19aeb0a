//! Writes an EVTX file's records as JSON lines, one compact object per
//! record, as `evtx_dump -o jsonl` does (the evtx crate's own JSON
//! rendering): `cargo run --profile ci --example evtx_to_jsonl -- IN.evtx OUT.jsonl`.
//! tests/test_json.py uses it to build real evtx-crate JSON from the corpus.
//! Records that do not render (a corrupt chunk) are counted on stderr.

use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = args.as_slice() else {
        return Err("usage: evtx_to_jsonl IN.evtx OUT.jsonl".into());
    };
    let mut parser = evtx::EvtxParser::from_path(input)?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(output)?);
    let (mut written, mut failed) = (0u64, 0u64);
    for record in parser.records_json_value() {
        match record {
            Ok(record) => {
                serde_json::to_writer(&mut out, &record.data)?;
                out.write_all(b"\n")?;
                written += 1;
            }
            Err(_) => failed += 1,
        }
    }
    out.flush()?;
    eprintln!("evtx_to_jsonl: {written} records written, {failed} failed");
    Ok(())
}
