//! Rate limiting (work in progress).
