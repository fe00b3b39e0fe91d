#!/usr/bin/env bash
# The whole test suite, as CI runs it: format, lints, unit/integration/doc tests, the loom
# model-checking suite, the docs, and a quick pass over every benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

step "cargo clippy under --cfg loom (the library's loom build and the loom suite)"
RUSTFLAGS="--cfg loom" cargo clippy --target-dir target/loom --lib --test loom -- -D warnings

step "cargo test"
cargo test

step "loom suite (release, LOOM_MAX_PREEMPTIONS=${LOOM_MAX_PREEMPTIONS:-2})"
# A separate target dir: `--cfg loom` rebuilds every crate, and keeping those artifacts apart
# keeps the normal build's cache warm.
start=$(date +%s)
LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}" RUSTFLAGS="--cfg loom" \
  cargo test --release --target-dir target/loom --test loom -- --test-threads="$(nproc)"
echo "loom suite took $(( $(date +%s) - start ))s (build included)"

step "cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps

step "benchmarks, quick pass (each runs once, no timing)"
cargo bench --benches -- --test

step "the examples that check their own results: the tour (README's main command) and the scraper"
# After the benches: they share the release build of the dependencies.
cargo run --release --example tour >/dev/null
cargo run --release --example scraper >/dev/null

echo
echo "all checks passed"
