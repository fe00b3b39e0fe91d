#![cfg(not(loom))]
//! The pool's data-parallel operations against their sequential definitions, on random inputs,
//! chunk sizes, in-flight windows and thread counts: `map` equals `Iterator::map` (same order),
//! `map_unordered` is a permutation of it, and `map_reduce` equals a sequential fold (for an
//! associative, commutative reduce), `None` exactly for an empty input.

use proptest::prelude::*;
use ringfence::pool::Pool;
use std::collections::BTreeMap;

fn square_mod(n: u64) -> u64 {
    n.wrapping_mul(n) % 1_000_003
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn map_equals_sequential_map(
        items in proptest::collection::vec(any::<u64>(), 0..300),
        threads in 1usize..4,
        in_flight in 1usize..20,
    ) {
        let pool = Pool::builder().threads(threads).in_flight(in_flight).build().unwrap();
        let expected: Vec<u64> = items.iter().copied().map(square_mod).collect();
        let got: Vec<u64> = pool.map(items.clone(), square_mod).map(Result::unwrap).collect();
        prop_assert_eq!(&got, &expected);
        let mut unordered: Vec<u64> = pool.map_unordered(items, square_mod).map(Result::unwrap).collect();
        let mut sorted = expected;
        unordered.sort_unstable();
        sorted.sort_unstable();
        prop_assert_eq!(unordered, sorted);
    }

    #[test]
    fn map_reduce_equals_a_sequential_fold(
        items in proptest::collection::vec(0u64..1_000_000, 0..2_000),
        chunk in 1usize..300,
        threads in 1usize..4,
    ) {
        let pool = Pool::new(threads);
        let expected = items.iter().copied().map(square_mod).reduce(|a, b| a + b);
        prop_assert_eq!(pool.map_reduce(items.clone(), square_mod, |a, b| a + b).unwrap(), expected);
        prop_assert_eq!(pool.map_reduce_chunked(items.clone(), chunk, square_mod, |a, b| a + b).unwrap(), expected);
        let folded = pool.fold_reduce_chunked(items, chunk, || 0u64, |a, n| a + square_mod(n), |a, b| a + b).unwrap();
        prop_assert_eq!(folded, expected.unwrap_or(0));
        let sliced: Vec<u64> = (0..chunk as u64).collect();
        let concat = pool.map_reduce_slice(&sliced, |n| vec![*n], |mut a, b| { a.extend(b); a }).unwrap();
        prop_assert_eq!(concat.unwrap_or_default(), sliced, "slice order is kept");
    }

    #[test]
    fn word_count_equals_sequential(
        docs in proptest::collection::vec(proptest::collection::vec(0u8..12, 0..30), 0..60),
        chunk in 1usize..10,
    ) {
        let docs: Vec<String> = docs
            .into_iter()
            .map(|words| words.iter().map(|w| format!("w{w}")).collect::<Vec<_>>().join(" "))
            .collect();
        let count = |doc: String| {
            let mut counts = BTreeMap::new();
            for word in doc.split_whitespace() {
                *counts.entry(word.to_owned()).or_insert(0usize) += 1;
            }
            counts
        };
        let merge = |mut a: BTreeMap<String, usize>, b: BTreeMap<String, usize>| {
            for (word, n) in b {
                *a.entry(word).or_insert(0) += n;
            }
            a
        };
        let expected = docs.iter().cloned().map(count).reduce(merge);
        let pool = Pool::new(2);
        prop_assert_eq!(pool.map_reduce_chunked(docs, chunk, count, merge).unwrap(), expected);
    }
}
