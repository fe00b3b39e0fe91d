//! loom models of the semaphore (`src/semaphore.rs`).
