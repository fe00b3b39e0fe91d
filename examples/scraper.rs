//! The seed's composite example, simulated (no network): scrape 20 URLs with at most 5
//! downloads at once and at most 10 starts per second, fan the downloads out on a pool and in
//! through one results channel, which feeds a pipeline (a progress stage, then an extract stage
//! with two workers) while downloads are still running; count the words with map-reduce, and
//! print a summary. `cargo run --release --example scraper`.

use ringfence::channel::bounded;
use ringfence::pipeline::Pipeline;
use ringfence::pool::{Limits, Pool};
use ringfence::rate::TokenBucket;
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const URLS: usize = 20;
const MAX_CONCURRENT: usize = 5;
const PER_SECOND: u32 = 10;

/// A fake page: deterministic text, latency and failures per URL.
fn download(url: &str, id: usize) -> Result<String, String> {
    // 250-750 ms: at 10 starts per second about five overlap, so the concurrency limit binds.
    std::thread::sleep(Duration::from_millis(250 + (id as u64 * 137) % 500));
    if id % 7 == 3 {
        return Err(format!("{url}: HTTP 503"));
    }
    let words = ["rust", "lock", "free", "ring", "pool", "actor", "fence", "atomic", "future"];
    let body: Vec<&str> = (0..50 + id * 3).map(|k| words[(k * (id + 3) + k / 3) % words.len()]).collect();
    Ok(format!("<html><body>{}</body></html>", body.join(" ")))
}

/// The "extract" stage: strip the markup, keep the words.
fn extract(page: String) -> Vec<String> {
    page.replace("<html><body>", "")
        .replace("</body></html>", "")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn main() {
    let started = Instant::now();
    let pool = Pool::builder().threads(8).thread_name("scraper").build().expect("start the pool");
    let limits = Limits::new().concurrency(MAX_CONCURRENT).rate(TokenBucket::new(
        PER_SECOND,
        Duration::from_secs(1),
        1,
    )); // evenly spaced: no burst
    // Downloads running right now and the most seen at once, counted inside the jobs: what the
    // concurrency limit promises, measured where it applies.
    let running = Arc::new(AtomicUsize::new(0));
    let most_at_once = Arc::new(AtomicUsize::new(0));
    let urls: Vec<String> = (0..URLS).map(|i| format!("https://example.test/page/{i}")).collect();

    // Fan out: each download is a limited task on the pool, submitted from a thread of its own
    // (submit_limited waits for the limits); each job reports into one results channel.
    let (results_tx, results) = bounded::<(usize, Result<String, String>)>(URLS);
    let pool = Arc::new(pool);
    let submitter = {
        let (pool, running, most) = (pool.clone(), running.clone(), most_at_once.clone());
        std::thread::spawn(move || {
            let tasks: Vec<_> = urls
                .into_iter()
                .enumerate()
                .map(|(id, url)| {
                    let (results_tx, running, most) = (results_tx.clone(), running.clone(), most.clone());
                    pool.submit_limited(&limits, move || {
                        most.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                        let page = download(&url, id);
                        running.fetch_sub(1, Ordering::SeqCst);
                        results_tx.send((id, page)).expect("the pipeline is alive")
                    })
                })
                .collect();
            for task in tasks {
                task.wait().expect("downloads do not panic");
            }
            // The last sender goes with `results_tx`'s clones: the pipeline's source ends.
        })
    };

    // Fan in: the results channel is the pipeline's source, so extraction runs while the
    // downloads go on. A progress stage (one worker: one line), then extract on two workers.
    let (done, failed) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let (extracted, report) = Pipeline::from_receiver(results)
        .stage("progress", move |(index, page): (usize, Result<String, String>)| {
            let done = done.fetch_add(1, Ordering::Relaxed) + 1;
            let failed =
                failed.fetch_add(usize::from(page.is_err()), Ordering::Relaxed) + usize::from(page.is_err());
            print!("\r  downloaded {done:>2}/{URLS} (last: page {index:>2}), {failed} failed");
            std::io::stdout().flush().ok();
            page
        })
        .stage("extract", |page: Result<String, String>| page.map(extract))
        .workers(2)
        .collect()
        .expect("the stages do not fail");
    println!();
    submitter.join().expect("the submitter does not panic");
    let download_time = started.elapsed();
    let (documents, failures): (Vec<_>, Vec<_>) = extracted.into_iter().partition(Result::is_ok);
    let documents: Vec<Vec<String>> = documents.into_iter().map(Result::unwrap).collect();
    let failures: Vec<String> = failures.into_iter().map(Result::unwrap_err).collect();

    // Map-reduce: word counts.
    let counts = pool
        .fold_reduce(
            documents,
            HashMap::<String, usize>::new,
            |mut counts, words: Vec<String>| {
                for word in words {
                    *counts.entry(word).or_insert(0) += 1;
                }
                counts
            },
            |mut a, b| {
                for (word, n) in b {
                    *a.entry(word).or_insert(0) += n;
                }
                a
            },
        )
        .expect("counting does not panic");
    let mut top: Vec<(&String, &usize)> = counts.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));

    let elapsed = started.elapsed();
    let ok = URLS - failures.len();
    println!("summary");
    println!("  successes {ok}, failures {}", failures.len());
    for failure in &failures {
        println!("    {failure}");
    }
    let top_words: Vec<String> = top.iter().take(5).map(|(w, n)| format!("{w} ({n})")).collect();
    println!("  top words: {}", top_words.join(", "));
    let extract_stage = &report.stages[2];
    println!("  extract stage: {} pages, busy {:.1?}", extract_stage.items_out, extract_stage.busy);
    println!(
        "  elapsed {elapsed:.2?}; achieved {:.1} downloads/s (limit {PER_SECOND}/s, at most {MAX_CONCURRENT} at once)",
        URLS as f64 / download_time.as_secs_f64()
    );
    assert_eq!(ok + failures.len(), URLS);
    let most = most_at_once.load(Ordering::SeqCst);
    println!("  most downloads running at once: {most}");
    assert!((1..=MAX_CONCURRENT).contains(&most));
    assert!(!counts.is_empty());
}
