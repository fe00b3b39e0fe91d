//! loom models of the worker pool (`src/pool/`).
