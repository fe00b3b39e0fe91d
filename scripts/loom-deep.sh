#!/usr/bin/env bash
# The loom models too slow for CI's suite (`scripts/test.sh` runs it at two preemptions in
# about 6 minutes; these add about 10: 620 s alone, 772 s with other work running): the
# parked-send model at the three preemptions its put-back race needs, and the ignored
# two-worker pool model. docs/verification.md says what each one proves and why it is not in
# the suite.
set -euo pipefail
cd "$(dirname "$0")/.."

loom() {
  RUSTFLAGS="--cfg loom" cargo test --release --target-dir target/loom --test loom -- "$@"
}

start=$(date +%s)
LOOM_MAX_PREEMPTIONS=3 loom --exact channel::a_value_a_receiver_parked_again_is_pushed_by_its_owner
LOOM_MAX_PREEMPTIONS=2 loom --ignored --exact \
  pool::two_workers_shutdown_now_with_a_dropped_task_resolve_everything_once
echo "deep loom models took $(( $(date +%s) - start ))s (build included)"
