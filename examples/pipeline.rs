//! A three-stage pipeline: parse log lines (fallible), enrich them with two workers, format them
//! in order; then the report that shows where the time went. `cargo run --release --example
//! pipeline`.

use ringfence::pipeline::{Pipeline, StageError};
use std::time::Duration;

#[derive(Debug)]
struct Entry {
    id: u32,
    latency_ms: u32,
}

fn parse(line: String) -> Result<Entry, String> {
    let (id, latency) = line.split_once(',').ok_or_else(|| format!("no comma in {line:?}"))?;
    Ok(Entry {
        id: id.trim().parse().map_err(|e| format!("bad id in {line:?}: {e}"))?,
        latency_ms: latency.trim().parse().map_err(|e| format!("bad latency in {line:?}: {e}"))?,
    })
}

fn enrich(entry: Entry) -> (Entry, &'static str) {
    std::thread::sleep(Duration::from_micros(100)); // a lookup
    let class = if entry.latency_ms > 100 { "slow" } else { "ok" };
    (entry, class)
}

fn main() {
    let lines: Vec<String> = (0..400).map(|i| format!("{i}, {}", (i * 37) % 250)).collect();
    let (out, report) = Pipeline::from_iter(lines)
        .try_stage("parse", parse)
        .stage("enrich", enrich)
        .workers(2)
        .stage("format", |(e, class): (Entry, &str)| format!("#{:03} {:>3} ms {class}", e.id, e.latency_ms))
        .ordered()
        .collect()
        .expect("every line parses");
    println!("{}\n{}\n...", out[0], out[1]);
    assert_eq!(out.len(), 400);
    assert!(out[5].starts_with("#005"), "the sink restored the input order");
    println!("\n{report}");
    println!("bottleneck: {}", report.bottleneck().map_or("-", |s| s.name.as_str()));

    // A bad line stops the pipeline; what was in flight is drained, and the error names its stage.
    let mut lines: Vec<String> = (0..100).map(|i| format!("{i}, 5")).collect();
    lines[60] = "sixty, 5".to_owned();
    let err = Pipeline::from_iter(lines).try_stage("parse", parse).ordered().collect().unwrap_err();
    println!("\n{err}");
    assert!(matches!(err.error, StageError::Failed(_)));
    println!("{} entries made it through before and around the failure", err.partial.len());
    assert!(err.partial.len() >= 60);
}
