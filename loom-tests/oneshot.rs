//! loom models: oneshot (to be written).
