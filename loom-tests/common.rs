//! Helpers shared by the loom models.

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};

/// A value that counts its drops, so models can assert "dropped exactly once".
#[derive(Debug)]
pub struct Counted {
    pub id: usize,
    drops: Arc<AtomicUsize>,
}

impl Counted {
    pub fn new(id: usize, drops: &Arc<AtomicUsize>) -> Self {
        Counted { id, drops: drops.clone() }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        // ORDERING: SeqCst keeps the test simple; models read the count after joins.
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// A fresh drop counter.
pub fn drop_counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// The number of drops counted so far.
pub fn drops(counter: &Arc<AtomicUsize>) -> usize {
    counter.load(Ordering::SeqCst)
}
