#!/usr/bin/env bash
# Checks the report generator (examples/bench_report.rs) on made-up criterion output whose
# verdicts are known: the ratio and its direction, a baseline never taken for a peer, an
# injected clock compared only with an injected clock, a reference entry that trails while a
# variant keeps up, and that every chart is written. Run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# bench GROUP_DIR GROUP_ID ID MEDIAN_NS ELEMENTS
bench() {
  local new="$dir/criterion/$1/$3/new"
  mkdir -p "$new"
  printf '{"median":{"point_estimate":%s,"confidence_interval":{"lower_bound":%s,"upper_bound":%s}}}\n' \
    "$4" "$4" "$4" >"$new/estimates.json"
  printf '{"group_id":"%s","function_id":"%s","value_str":null,"throughput":{"Elements":%s}}\n' \
    "$2" "$3" "$5" >"$new/benchmark.json"
}

# 10 ns against 5 ns per element: trails 2x; `sequential` (1 ns) is a baseline, not the peer.
bench fixture_spsc fixture/spsc ringfence 1000 100
bench fixture_spsc fixture/spsc kanal 500 100
bench fixture_spsc fixture/spsc sequential 100 100
# The fastest of each side (manual 6 ns, fake 4 ns): trails 1.5x; the reference's real clock
# (12 ns) against governor's real clock (13 ns) does not trail.
bench fixture_clock fixture/clock ringfence 12 1
bench fixture_clock fixture/clock ringfence_manual_clock 6 1
bench fixture_clock fixture/clock governor_fake_clock 4 1
bench fixture_clock fixture/clock governor_real_clock 13 1
# A variant leads (9 against 10 ns), the reference (30 ns) trails 3x.
bench fixture_variant fixture/variant ringfence 30 1
bench fixture_variant fixture/variant ringfence_fast 9 1
bench fixture_variant fixture/variant rayon 10 1

cargo run --quiet --release --example bench_report -- --criterion-dir "$dir/criterion" --out-dir "$dir/out" \
  2>"$dir/stderr"
page="$dir/out/bench_report.md"

expect() {
  grep -qF -- "$1" "$page" || {
    echo "bench_report check failed: the page lacks: $1" >&2
    echo "--- the page's summary:" >&2
    sed -n '/^## Summary/,/^## Scaling\|^## fixture/p' "$page" >&2
    exit 1
  }
}
reject() {
  if grep -qF -- "$1" "$page"; then
    echo "bench_report check failed: the page has: $1" >&2
    exit 1
  fi
}

expect '| `kanal` 5.00 ns | `ringfence` 10.0 ns (2.00) | **trails (2.00x slower)** |'
expect '| `sequential` (baseline, not a peer) |'
reject 'behind `sequential`'
expect '`ringfence_manual_clock` 6.00 ns (1.50) | **trails (1.50x slower)** |'
reject '`ringfence` 0.92x'
reject 'behind `governor_real_clock`'
expect 'leads (1.11x faster); reference **trails (3.00x slower)**'
expect '- fixture: variant: `ringfence` 3.00x behind `rayon`'
expect '1 element per iteration'
for chart in fixture_spsc fixture_clock fixture_variant; do
  [[ -s "$dir/out/bench/$chart.svg" ]] || { echo "bench_report check failed: no chart $chart.svg" >&2; exit 1; }
done
echo "bench_report: every expected verdict found"
