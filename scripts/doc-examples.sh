#!/usr/bin/env bash
# Checks that every public item has a code example in its docs (the definition of done asks
# for one): builds rustdoc's JSON description of the crate on the pinned nightly (the format is
# unstable, so the toolchain is the one Miri uses, `scripts/miri.sh`) and walks its public API
# with `tools/doc-examples`. Lists the items without an example and fails if there is one.
# rustdoc's own lint for this (`missing_doc_code_examples`, nightly) skips items re-exported
# from private modules, which is most of the crate.
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain="${RINGFENCE_MIRI_TOOLCHAIN:-nightly-2026-05-20}"
if ! cargo "+$toolchain" --version >/dev/null 2>&1; then
  rustup toolchain install "$toolchain" --profile minimal
fi

target="target/doc-json-$toolchain"
cargo "+$toolchain" rustdoc -q --lib --features futures --target-dir "$target" \
  -- -Z unstable-options --output-format json
cargo run -q --release --manifest-path tools/doc-examples/Cargo.toml --target-dir target/tools \
  -- "$target/doc/ringfence.json"
