#!/usr/bin/env bash
# The loom suite (release, `--cfg loom`): one process per model, as many at a time as there are CPUs,
# the slowest models first.
#
# Why processes, not test threads: loom runs each model's threads as coroutines whose stacks it
# maps and unmaps for every execution it explores, and two test threads of one process contend
# on the process's memory-map lock. Measured on the 2-core VM (thirty-fifth session): the four
# slowest models, 165 s when each ran in a process of its own (two at a time), took 275 s as two
# test threads of one process, with more system time (4m17s) than user time (2m32s); the nine
# selector models 19 s as two threads of one process, 7.4 s as two processes.
#
# Output: the ignored models, any failing model's whole output, the slowest models' times, and one
# libtest-style summary line ("test result: ok. N passed; 0 failed; M ignored").
#
# Usage: scripts/loom-suite.sh [FILTER...]   (filters as libtest's: substrings of model names)
# Environment: LOOM_MAX_PREEMPTIONS (default 2), LOOM_SHARDS (default: the CPU count).
set -euo pipefail
cd "$(dirname "$0")/.."

export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
export RUSTFLAGS="--cfg loom"
shards="${LOOM_SHARDS:-$(nproc)}"

# A separate target dir: `--cfg loom` rebuilds every crate, and keeping those artifacts apart
# keeps the normal build's cache warm.
build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
if ! cargo test --release --target-dir target/loom --test loom --no-run >"$build_log" 2>&1; then
  cat "$build_log"
  exit 1
fi
binary=$(sed -n 's/^ *Executable .*(\(.*\))$/\1/p' "$build_log" | tail -1)
[ -x "$binary" ] || { cat "$build_log"; echo "loom-suite: no test binary found" >&2; exit 1; }

# Every model's name (filtered as libtest filters: any filter a substring of the name).
mapfile -t models < <("$binary" --list 2>/dev/null | sed -n 's/: test$//p' | sort)
if [ "$#" -gt 0 ]; then
  selected=()
  for model in "${models[@]}"; do
    for filter in "$@"; do
      if [[ "$model" == *"$filter"* ]]; then selected+=("$model"); break; fi
    done
  done
  models=("${selected[@]+"${selected[@]}"}")
fi
[ "${#models[@]}" -gt 0 ] || { echo "loom-suite: no model matches"; exit 1; }

# The slowest models first (longest-first scheduling): each process takes the next model when
# its last one ends, so the suite ends when its slowest model does or soon after, instead of
# when the unluckiest of a fixed split does (a round-robin deal put the slow models together:
# shards of 86 and 275 s, thirty-fifth session). Seconds per model at two preemptions on the
# 2-core VM, measured with this script (it prints the slowest at the end; a stale list only
# costs balance, never a model).
slow_first=(
  channel_async::lane_holder_and_queue_waiter_both_get_a_value
  channel::two_senders_two_receivers_nobody_left_parked
  channel::a_parked_send_and_a_waiting_send_both_land
  unbounded::two_producers_one_consumer
  channel_async::disconnection_wakes_a_blocked_thread_and_a_future_on_one_queue
  channel::a_value_a_receiver_parked_again_is_pushed_by_its_owner
  channel_async::a_front_value_taken_by_another_thread_restarts_its_owner
  unbounded::two_parked_receivers_two_sends
)
ordered=()
declare -A listed=()
for model in "${slow_first[@]}"; do
  for name in "${models[@]}"; do
    if [ "$name" = "$model" ]; then ordered+=("$model"); listed[$model]=1; break; fi
  done
done
for model in "${models[@]}"; do [ -n "${listed[$model]+x}" ] || ordered+=("$model"); done
echo "loom-suite: ${#ordered[@]} models over $shards processes, LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS"

# One process per model (a fresh process costs milliseconds; the models take seconds), at most
# `shards` at a time. Each writes its output to its own log and its time to a line of `times`.
work=$(mktemp -d)
trap 'rm -f "$build_log"; rm -rf "$work"' EXIT
# Stopped by a signal to this script alone (not its process group): stop the running models
# too, each the child of its runner subshell (`pkill -P`; without pkill, the runners only).
trap 'for runner in $(jobs -p); do pkill -TERM -P "$runner" 2>/dev/null; kill "$runner" 2>/dev/null; done; exit 143' TERM INT
run_model() {
  local index=$1 model=$2 start status=0
  start=$(date +%s%N)
  "$binary" --exact --test-threads=1 "$model" >"$work/$index.log" 2>&1 || status=$?
  echo "$(( ($(date +%s%N) - start) / 1000000 )) $status $index $model" >>"$work/times"
}
running=0
for index in "${!ordered[@]}"; do
  if ((running >= shards)); then
    wait -n || true
    running=$((running - 1))
  fi
  run_model "$index" "${ordered[$index]}" &
  running=$((running + 1))
done
wait

passed=0
failed=0
ignored=0
while read -r ms status index model; do
  log="$work/$index.log"
  if [ "$status" != 0 ]; then
    failed=$((failed + 1))
    # A failing model: its name and exit status (a crash prints no libtest summary), then its
    # whole output but libtest's own summary line (the last line here counts every model once).
    echo "loom-suite: $model exited with status $status"
    grep -v '^test result:' "$log" || true
  elif grep -qE "^test .* \.\.\. ignored" "$log"; then
    ignored=$((ignored + 1))
    grep -E "^test .* \.\.\. ignored" "$log"
  else
    passed=$((passed + 1))
  fi
done <"$work/times"
echo "loom-suite: the slowest models (ms):"
# awk reads all of its input: `head` would quit early, and `sort` writing on into the closed
# pipe dies of SIGPIPE, which `pipefail` turns into a failed run (found by review: 1 run in 6).
sort -rn "$work/times" | awk 'NR <= 8 {print "  " $1 "  " $4}'
# Every model accounted for: a runner that died before writing its line must not pass unseen.
missing=$((${#ordered[@]} - passed - failed - ignored))
if ((missing != 0)); then
  echo "loom-suite: $missing models left no result"
  failed=$((failed + missing))
fi
result=ok
((failed == 0)) || result=FAILED
echo "test result: $result. $passed passed; $failed failed; $ignored ignored (loom-suite, ${#ordered[@]} models)"
((failed == 0))
