#!/usr/bin/env bash
# The whole test suite, as CI runs it: format, lints, unit/integration/doc tests, the loom
# model-checking suite, Miri over the unsafe paths, the docs, and a quick pass over every
# benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --manifest-path tools/doc-examples/Cargo.toml -- --check

step "cargo clippy --all-targets -- -D warnings (default features, then with \`futures\`)"
cargo clippy --all-targets -- -D warnings
cargo clippy --all-targets --features futures -- -D warnings

step "cargo clippy under --cfg loom (the library's loom build and the loom suite)"
RUSTFLAGS="--cfg loom" cargo clippy --target-dir target/loom --lib --test loom -- -D warnings

step "cargo test"
cargo test

step "cargo test with the \`futures\` feature (Stream/Sink: the async tests and the doc tests)"
cargo test --features futures --test channel_async --test async_patterns --test pool --test select_async
cargo test --features futures --doc

step "loom suite (release, LOOM_MAX_PREEMPTIONS=${LOOM_MAX_PREEMPTIONS:-2}), one process per model"
# scripts/loom-suite.sh: its own target dir, and each model in a process of its own, as many at
# a time as there are CPUs, the slowest first (two loom test threads of one process contend on its
# memory-map lock: the script's header has the measurements).
start=$(date +%s)
scripts/loom-suite.sh
echo "loom suite took $(( $(date +%s) - start ))s (build included)"

step "Miri: the unsafe paths (tests/unsafe_paths.rs), Stacked and Tree Borrows"
start=$(date +%s)
scripts/miri.sh
echo "Miri took $(( $(date +%s) - start ))s (toolchain and build included)"

step "cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --features futures

step "every public item has a doc example (rustdoc JSON on the pinned nightly)"
cargo clippy --manifest-path tools/doc-examples/Cargo.toml --target-dir target/tools -- -D warnings
scripts/doc-examples.sh

step "benchmarks, quick pass (each runs once, no timing)"
cargo bench --benches -- --test

step "the examples, each of which checks its own results (the tour is README's main command)"
# After the benches: they share the release build (the `bench` profile is `release`'s, unchanged:
# debug info there would build everything twice, a minute of CI; profile with
# `CARGO_PROFILE_BENCH_DEBUG=1`). Not `latency` (30 s of measurement; it checks every echo) nor
# `bench_report` (it reads the benchmarks' output: checked on made-up output below).
for example in tour scraper producer_consumer pipeline fan pool map_reduce oneshot semaphore \
  rate_limit rate_limit_async async_patterns; do
  cargo run --release --example "$example" >/dev/null
done

step "the benchmark report generator, on made-up criterion output with known verdicts"
scripts/check-bench-report.sh

echo
echo "all checks passed"
