//! Helpers shared by the integration tests: a drop-counted value type and a watchdog that turns
//! a hang into a test failure.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use ringfence::channel::{Receiver, Sender, bounded, unbounded};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How long a test gives another thread to reach a blocking call before acting. Correctness
/// never depends on it: a slower thread only makes the test exercise a different interleaving.
pub const SETTLE: Duration = Duration::from_millis(30);

/// One channel of every flavor, named: rendezvous, capacity 1, a larger buffer, unbounded.
pub fn flavors<T>() -> Vec<(&'static str, Sender<T>, Receiver<T>)> {
    let mut all = Vec::new();
    for (name, capacity) in [("rendezvous", 0), ("bounded(1)", 1), ("bounded(16)", 16)] {
        let (tx, rx) = bounded(capacity);
        all.push((name, tx, rx));
    }
    let (tx, rx) = unbounded();
    all.push(("unbounded", tx, rx));
    all
}

/// Counts how many [`Tracked`] values were made and how many were dropped.
#[derive(Clone, Debug, Default)]
pub struct DropCounter {
    inner: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    created: AtomicUsize,
    dropped: AtomicUsize,
}

impl DropCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new tracked value carrying `id`.
    pub fn make(&self, id: u64) -> Tracked {
        self.inner.created.fetch_add(1, Ordering::Relaxed);
        Tracked { id, counts: Arc::clone(&self.inner) }
    }

    pub fn created(&self) -> usize {
        self.inner.created.load(Ordering::SeqCst)
    }

    pub fn dropped(&self) -> usize {
        self.inner.dropped.load(Ordering::SeqCst)
    }

    /// Values made and not yet dropped.
    pub fn live(&self) -> usize {
        self.created() - self.dropped()
    }
}

/// A value that reports its drop to its [`DropCounter`]. Deliberately neither `Clone` nor
/// `Debug`, so tests also prove the API does not need those bounds.
pub struct Tracked {
    pub id: u64,
    counts: Arc<Counts>,
}

impl Tracked {
    /// Consumes the value (dropping it, counted) and returns its id.
    pub fn into_id(self) -> u64 {
        self.id
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.counts.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// A generous limit for scenarios that must finish: a hang is a bug, not slowness.
pub const WATCHDOG: Duration = Duration::from_secs(60);

/// Runs `scenario` on its own thread and fails the test if it does not finish within `limit`
/// (so a deadlock or lost wakeup fails with a message instead of hanging the suite). A panic
/// inside the scenario is propagated.
pub fn within<R, F>(limit: Duration, scenario: F) -> R
where
    R: Send + 'static,
    F: FnOnce() -> R + Send + 'static,
{
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    // A large stack: some scenarios move large values around in debug builds.
    let handle = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let result = scenario();
            // The receiver may be gone when the watchdog already fired; nothing to do then.
            let _ = done_tx.send(());
            result
        })
        .expect("spawn the scenario thread");
    match done_rx.recv_timeout(limit) {
        Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Ok(result) => result,
            Err(payload) => std::panic::resume_unwind(payload),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("scenario did not finish within {limit:?}: deadlock or lost wakeup")
        }
    }
}

/// Calls `attempt` until it returns `Some`, sleeping a little between tries, for at most
/// `limit`; panics with `what` if it never succeeds. For "eventually" conditions that depend on
/// another thread reaching a blocking call (never used to assert timing).
pub fn eventually<R>(limit: Duration, what: &str, mut attempt: impl FnMut() -> Option<R>) -> R {
    let start = std::time::Instant::now();
    loop {
        if let Some(result) = attempt() {
            return result;
        }
        assert!(start.elapsed() < limit, "never happened within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Sends `value` with `send_timeout(timeout)` until it goes through, taking it back after each
/// timeout. Panics if the channel is disconnected (the caller keeps a receiver alive).
pub fn send_retrying(tx: &ringfence::channel::Sender<Tracked>, mut value: Tracked, timeout: Duration) {
    use ringfence::channel::SendTimeoutError;
    loop {
        match tx.send_timeout(value, timeout) {
            Ok(()) => return,
            Err(SendTimeoutError::Timeout(back)) => value = back,
            Err(SendTimeoutError::Disconnected(_)) => panic!("a receiver is alive"),
        }
    }
}

/// Receives with `recv_timeout(timeout)` until the channel is disconnected and drained; returns
/// the ids received, in order.
pub fn recv_ids_until_disconnected(
    rx: &ringfence::channel::Receiver<Tracked>,
    timeout: Duration,
) -> Vec<u64> {
    use ringfence::channel::RecvTimeoutError;
    let mut ids = Vec::new();
    loop {
        match rx.recv_timeout(timeout) {
            Ok(value) => ids.push(value.into_id()),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return ids,
        }
    }
}

/// Producers (and as many consumers) for an oversubscribed stress run: at least 8 of each, and
/// together at least twice the machine's cores, so the run has more threads than cores on any
/// machine it runs on (2 cores: 8 + 8; 16 cores: 16 + 16).
pub fn oversubscribed_pairs() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    cores.max(8)
}

/// The ids of this process's threads named `name` (Linux: `/proc/self/task`; the kernel keeps
/// the first 15 bytes of a name).
#[cfg(target_os = "linux")]
pub fn threads_named(name: &str) -> Vec<String> {
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
    let mut ids: Vec<String> = tasks
        .filter_map(|task| {
            let task = task.ok()?;
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            (comm.trim_end() == name).then(|| task.file_name().to_string_lossy().into_owned())
        })
        .collect();
    ids.sort();
    ids
}
