//! A worker pool with task futures (work in progress).
