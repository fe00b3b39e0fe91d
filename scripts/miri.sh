#!/usr/bin/env bash
# Runs tests/unsafe_paths.rs under Miri, which reports undefined behaviour on the paths those
# scenarios take through the crate's `unsafe` code (docs/verification.md, "Miri"): twice, with
# Stacked Borrows and with Tree Borrows, both with strict provenance; then the two racing
# scenarios again under 16 more schedules (`-Zmiri-many-seeds`). Installs the pinned
# nightly toolchain with its Miri component when it is missing (a few seconds; the first run
# then builds Miri's std, about a minute).
#
#   scripts/miri.sh                     all three runs
#   scripts/miri.sh -- NAME             only the scenarios whose name contains NAME
#   RINGFENCE_MIRI_TOOLCHAIN=nightly scripts/miri.sh
#                                       another toolchain (the pinned one is the one checked)
set -euo pipefail
cd "$(dirname "$0")/.."

# A dated nightly: a newer Miri may check more, which should be a deliberate update, not a CI
# run that changed by itself.
toolchain="${RINGFENCE_MIRI_TOOLCHAIN:-nightly-2026-05-20}"
extra=()
if (($#)) && [[ "$1" == "--" ]]; then
  shift
  extra=("$@")
fi

if ! cargo "+$toolchain" miri --version >/dev/null 2>&1; then
  rustup toolchain install "$toolchain" --profile minimal --component miri,rust-src
fi

for borrows in "" "-Zmiri-tree-borrows"; do
  echo "=== Miri ($toolchain), ${borrows:-Stacked Borrows (default)}, strict provenance"
  # A target dir per toolchain: artifacts of another nightly with the same rustc would pass
  # cargo's freshness check and then not load.
  MIRIFLAGS="-Zmiri-strict-provenance $borrows" \
    cargo "+$toolchain" miri test --target-dir "target/miri-$toolchain" --test unsafe_paths -- "${extra[@]}"
done

# One schedule per run is what Miri checks; the scenarios whose two threads race on one object
# get more (each seed is another run of Miri's scheduler; they run in parallel).
if ((${#extra[@]} == 0)); then
  echo "=== Miri ($toolchain), the racing scenarios under seeds 0..16"
  MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-many-seeds=0..16" \
    cargo "+$toolchain" miri test --target-dir "target/miri-$toolchain" --test unsafe_paths -- racing sends_race
fi
