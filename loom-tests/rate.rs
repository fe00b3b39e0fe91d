//! loom models: rate (to be written).
