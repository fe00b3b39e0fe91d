//! loom models: channel (to be written).
