#!/usr/bin/env bash
# Runs the criterion suite, then writes the comparison report: docs/bench_report.md and SVG charts
# in docs/bench/, a bar chart per benchmark group and a line chart per scaling series
# (examples/bench_report.rs).
#
#   scripts/bench-report.sh                  every suite in full (criterion's settings), then the report
#   scripts/bench-report.sh --quick          every benchmark briefly (criterion --quick, no HTML plots):
#                                            a few minutes, rough numbers; the page says so
#   scripts/bench-report.sh --bench channel  one suite (repeatable); other groups keep their older data
#   scripts/bench-report.sh --report-only    no benchmarks: regenerate the page from criterion's output
#   scripts/bench-report.sh --no-latency     skip the latency percentiles (examples/latency.rs), which
#                                            a run of every suite otherwise writes to latency.md
#                                            (up to 5 min; --quick takes fewer samples)
#   scripts/bench-report.sh --out-dir DIR    write DIR/bench_report.md, DIR/bench/ and DIR/latency.md
#                                            instead of docs/
#   scripts/bench-report.sh ... -- ARGS      more arguments for criterion (a name filter, --noplot, ...)
#   scripts/bench-report.sh --bench channel -- scaling
#                                            only the mpmc scaling series (1, 2, 4, 8 pairs; ~2 min)
#
# Criterion writes to $CRITERION_HOME, else $CARGO_TARGET_DIR/criterion, else target/criterion;
# the report reads the same place. On a many-core machine, run this script there as it is (16
# cores or more for the scaling series to measure scaling, not oversubscription; add
# --out-dir docs/bench-16-cores to keep that page apart from this machine's). A machine without
# network needs the crates' sources brought along (`cargo vendor vendor` here, with the
# `[source]` lines it prints in .cargo/config.toml), or the bench binaries built here
# (`cargo bench --no-run`) run there and their target/criterion brought back for --report-only.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
report_only=0
latency=1
benches=()
extra=()
out_dir=()
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --report-only) report_only=1 ;;
    --no-latency) latency=0 ;;
    --out-dir)
      [[ $# -ge 2 ]] || { echo "--out-dir needs a directory" >&2; exit 2; }
      out_dir=("--out-dir" "$(realpath -m "$2")")
      shift
      ;;
    --bench)
      [[ $# -ge 2 ]] || { echo "--bench needs a suite name (see benches/)" >&2; exit 2; }
      benches+=(--bench "$2")
      shift
      ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

# The latency page belongs to a run of every suite (one suite's run leaves it as it was).
((${#benches[@]} == 0 && ${#extra[@]} == 0 && !report_only)) || latency=0
# Only the bench targets: `cargo bench` alone would also run the library's libtest harness,
# which rejects criterion's options.
((${#benches[@]})) || benches=(--bench '*')

criterion_args=()
report_args=()
if ((quick)); then
  # --quick: sample until the estimate is stable (at least 100 ms, at most --measurement-time).
  criterion_args=(--quick --measurement-time 1 --noplot)
  report_args=(--note "Quick mode (\`scripts/bench-report.sh --quick\`: criterion \`--quick\`, no \
warm-up, at most 1 s per benchmark): rough numbers, good for spotting large changes only.")
fi

start=$(date +%s)
if ((!report_only)); then
  echo "=== cargo bench ${benches[*]} -- ${criterion_args[*]} ${extra[*]}"
  cargo bench "${benches[@]}" -- "${criterion_args[@]}" "${extra[@]}"
fi
bench_s=$(($(date +%s) - start))

if ((latency)); then
  latency_page="${out_dir[1]:-docs}/latency.md"
  latency_args=(--write "$latency_page")
  ((quick)) && latency_args+=(--samples 20000)
  echo "=== latency percentiles -> $latency_page"
  cargo run --release --quiet --example latency -- "${latency_args[@]}"
fi

echo "=== report"
cargo run --release --quiet --example bench_report -- "${out_dir[@]}" "${report_args[@]}"
((report_only)) || echo "benchmarks took ${bench_s}s; with the report $(($(date +%s) - start))s"
