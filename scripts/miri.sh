#!/usr/bin/env bash
# Runs tests/unsafe_paths.rs under Miri, which reports undefined behaviour on the paths those
# scenarios take through the crate's `unsafe` code (docs/verification.md, "Miri"): twice, with
# Stacked Borrows and with Tree Borrows, both with strict provenance. Installs the pinned
# nightly toolchain with its Miri component when it is missing (a few seconds; the first run
# then builds Miri's std, about a minute).
#
#   scripts/miri.sh                     both runs
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
