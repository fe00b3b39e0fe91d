//! Map-reduce on the worker pool: the seed's word count over documents and a sum of squares,
//! each checked against a sequential computation. `cargo run --release --example map_reduce`.

use ringfence::pool::Pool;
use std::collections::HashMap;
use std::time::Instant;

/// Synthetic documents: `count` documents of `words` words from a small vocabulary.
fn documents(count: usize, words: usize) -> Vec<String> {
    const VOCABULARY: [&str; 8] = ["lock", "free", "ring", "pool", "map", "reduce", "future", "actor"];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..count)
        .map(|_| {
            (0..words)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    VOCABULARY[(state % VOCABULARY.len() as u64) as usize]
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn count_words(doc: &str) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    for word in doc.split_whitespace() {
        *counts.entry(word).or_insert(0) += 1;
    }
    counts
}

fn merge(mut a: HashMap<String, usize>, b: HashMap<String, usize>) -> HashMap<String, usize> {
    for (word, n) in b {
        *a.entry(word).or_insert(0) += n;
    }
    a
}

fn main() {
    let pool = Pool::new(std::thread::available_parallelism().map_or(2, |n| n.get()));
    let docs = documents(2_000, 200);

    let start = Instant::now();
    let counts = pool
        .map_reduce(
            docs.clone(),
            |doc: String| count_words(&doc).into_iter().map(|(w, n)| (w.to_owned(), n)).collect(),
            merge,
        )
        .expect("no mapper panics")
        .unwrap_or_default();
    let parallel = start.elapsed();

    let sequential: HashMap<String, usize> = docs
        .iter()
        .map(|doc| count_words(doc).into_iter().map(|(w, n)| (w.to_owned(), n)).collect())
        .fold(HashMap::new(), merge);
    assert_eq!(counts, sequential, "the parallel count equals the sequential one");
    let mut top: Vec<_> = counts.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    println!("word count over {} documents on {} threads in {parallel:?}:", docs.len(), pool.threads());
    for (word, n) in top.iter().take(3) {
        println!("  {word:>8} {n}");
    }

    let sum = pool.map_reduce(1..=1_000_000u64, |n| n * n, |a, b| a + b).unwrap().unwrap();
    assert_eq!(sum, (1..=1_000_000u64).map(|n| n * n).sum::<u64>());
    println!("sum of squares 1..=1e6 = {sum}");

    assert_eq!(pool.map_reduce(Vec::<u64>::new(), |n| n, |a, b| a + b).unwrap(), None);
    println!("an empty input reduces to None");
}
