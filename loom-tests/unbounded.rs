//! loom models of the unbounded channel (`src/channel/`), work in progress.
