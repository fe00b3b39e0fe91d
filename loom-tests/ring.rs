//! loom models: ring (to be written).
