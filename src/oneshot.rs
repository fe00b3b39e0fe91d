//! One-shot future cell (work in progress).
