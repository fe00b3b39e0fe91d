#!/usr/bin/env bash
# The loom suite (release, `--cfg loom`), its models sharded over one process per CPU.
#
# Why processes, not test threads: loom runs each model's threads as coroutines whose stacks it
# maps and unmaps for every execution it explores, and two test threads of one process contend
# on the process's memory-map lock. Measured on the 2-core VM (thirty-fifth session): the four
# slowest models, 165 s when each ran in a process of its own (two at a time), took 275 s as two
# test threads of one process, with more system time (4m17s) than user time (2m32s); the nine
# selector models 19 s as two threads of one process, 7.4 s as two processes.
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

# Every model's name (filtered as libtest filters: any filter a substring of the name), dealt
# round-robin to the shards, so that each module's slow models spread over them.
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
echo "loom-suite: ${#models[@]} models over $shards processes, LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS"

pids=()
logs=()
for ((shard = 0; shard < shards; shard++)); do
  names=()
  for ((i = shard; i < ${#models[@]}; i += shards)); do names+=("${models[$i]}"); done
  [ "${#names[@]}" -gt 0 ] || continue
  log=$(mktemp)
  logs+=("$log")
  "$binary" --exact --test-threads=1 "${names[@]}" >"$log" 2>&1 &
  pids+=($!)
done

status=0
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then
    # A passing shard: its ignored models and its summary (the passing lines are noise).
    grep -E "^test .* ignored|^test result" "${logs[$i]}" || true
  else
    status=1
    cat "${logs[$i]}" # a failing shard: everything, the failure's details included
  fi
  rm -f "${logs[$i]}"
done
exit "$status"
