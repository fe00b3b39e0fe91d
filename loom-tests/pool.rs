//! loom models of the worker pool (`src/pool/`): a pool of one worker with submit, cancel (task
//! dropped), shutdown and shutdown_now racing the worker, scoped jobs and their latch, and
//! `as_completed`'s waker-to-channel path. Small on purpose: they prove the protocol (every
//! task resolves exactly once, nothing leaks or is dropped twice, no lost wakeup); the stress
//! tests prove the scale.

use crate::common::{Counted, drop_counter, drops};
use loom::sync::atomic::{AtomicUsize, Ordering};
use ringfence::pool::{Pool, TaskError, as_completed};
use std::future::Future;

/// A pool of one worker on a one-slot queue (the smallest pool that has every race).
fn tiny_pool() -> Pool {
    Pool::builder().threads(1).queue_capacity(1).build().unwrap()
}

#[test]
fn submit_then_wait_gets_the_value() {
    loom::model(|| {
        let pool = tiny_pool();
        assert_eq!(pool.submit(|| 7).wait().unwrap(), 7);
        pool.shutdown();
    });
}

#[test]
fn dropped_task_skips_its_job_or_drops_the_result_exactly_once() {
    loom::model(|| {
        let counter = drop_counter();
        let value = Counted::new(1, &counter);
        let pool = tiny_pool();
        // Run: the value comes back as the result and is dropped with it. Skipped: the capture
        // is dropped unrun. Either way exactly one drop, on whichever thread.
        drop(pool.submit(move || value));
        pool.shutdown();
        assert_eq!(drops(&counter), 1);
    });
}

#[test]
fn shutdown_now_racing_the_worker_resolves_the_task() {
    loom::model(|| {
        let counter = drop_counter();
        let value = Counted::new(1, &counter);
        let pool = tiny_pool();
        // `{ value }` moves the whole value in (a bare `value.id` would capture only the field).
        let task = pool.submit(move || { value }.id);
        pool.shutdown_now();
        match task.wait() {
            Ok(id) => assert_eq!(id, 1),
            Err(error) => assert!(matches!(error, TaskError::Cancelled)),
        }
        assert_eq!(drops(&counter), 1, "the capture is dropped once, run or cancelled");
    });
}

/// `shutdown_async` resolves only after the queued job ran: the worker counts itself out of the
/// pool's latch as it leaves its loop, and the awaiting task is woken (a lost wakeup is a
/// deadlock of the wake-only `block_on`).
#[test]
fn shutdown_async_resolves_after_the_queued_job() {
    loom::model(|| {
        let pool = tiny_pool();
        let ran = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = ran.clone();
        let task = pool.submit(move || counter.fetch_add(1, Ordering::Relaxed));
        crate::common::block_on(pool.shutdown_async());
        assert!(task.is_finished(), "resolved before the queued job ran");
        assert_eq!(ran.load(Ordering::Relaxed), 1);
    });
}

/// `shutdown_now_async` racing the worker: the task is finished when the future resolves, with
/// its value or cancelled.
#[test]
fn shutdown_now_async_racing_the_worker_resolves_the_task() {
    loom::model(|| {
        let pool = tiny_pool();
        let task = pool.submit(|| 7);
        crate::common::block_on(pool.shutdown_now_async());
        assert!(task.is_finished());
        match task.wait() {
            Ok(value) => assert_eq!(value, 7),
            Err(error) => assert!(matches!(error, TaskError::Cancelled)),
        }
    });
}

/// A `ShutdownFuture` polled once (registered on the latch) and then dropped leaves the latch's
/// queue and the shutdown goes on: the queued job still runs.
#[test]
fn a_shutdown_future_dropped_after_a_poll_lets_the_job_run() {
    loom::model(|| {
        let pool = tiny_pool();
        let task = pool.submit(|| 7);
        let mut shutting = pool.shutdown_async();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let _ = std::pin::Pin::new(&mut shutting).poll(&mut cx);
        drop(shutting);
        assert_eq!(task.wait().unwrap(), 7);
    });
}

#[test]
#[ignore = "about 210 s alone: with it the CI run came within a minute of its 25-minute budget; \
            `scripts/loom-deep.sh` runs it"]
fn two_workers_shutdown_now_with_a_dropped_task_resolve_everything_once() {
    // Two workers race for two queued jobs while `shutdown_now` discards the queue and one task
    // is dropped before its job may start. One preemption: the two workers and the caller make
    // three threads, and the point is the queue's and the discard flag's races, not deep
    // interleavings of each step.
    crate::common::model_with_preemptions(1, || {
        let counter = drop_counter();
        let (a, b) = (Counted::new(1, &counter), Counted::new(2, &counter));
        let pool = Pool::builder().threads(2).queue_capacity(2).build().unwrap();
        let kept = pool.submit(move || { a }.id);
        drop(pool.submit(move || { b }.id)); // cancelled before it starts, or its result dropped
        pool.shutdown_now();
        match kept.wait() {
            Ok(id) => assert_eq!(id, 1),
            Err(error) => assert!(matches!(error, TaskError::Cancelled)),
        }
        assert_eq!(drops(&counter), 2, "each capture is dropped once, run or cancelled");
    });
}

#[test]
fn panicking_job_is_delivered_and_the_worker_goes_on() {
    loom::model(|| {
        let pool = tiny_pool();
        let failed = pool.submit(|| -> u8 { std::panic::panic_any(5u8) });
        let after = pool.submit(|| 6u8);
        assert!(failed.wait().unwrap_err().is_panic());
        assert_eq!(after.wait().unwrap(), 6);
    });
}

#[test]
fn scope_joins_its_borrowing_job() {
    // The latch's count_down (Release, then notify) races the scope's wait (Acquire, park).
    loom::model(|| {
        let pool = tiny_pool();
        let hits = AtomicUsize::new(0);
        pool.scope(|s| {
            let _ = s.submit(|| hits.fetch_add(1, Ordering::Relaxed));
        });
        // ORDERING: Relaxed is enough: the scope's latch ordered the job before this.
        assert_eq!(hits.load(Ordering::Relaxed), 1);
    });
}

/// `map_slice`'s helper job races the caller for the chunks (`pool/chunked.rs`): it joins the
/// gate before the caller closes it (and the caller waits it out) or finds it closed and stays
/// out. Either way every chunk runs once, and no helper still reads the caller's data when
/// `map_slice` returns (the writes after it would race such a read).
#[test]
fn map_slice_helper_joins_or_stays_out_of_the_callers_gate() {
    loom::model(|| {
        let pool = tiny_pool();
        let items =
            [SharedCell(loom::cell::UnsafeCell::new(1u32)), SharedCell(loom::cell::UnsafeCell::new(2))];
        let out = pool
            .map_slice(&items, |cell| {
                cell.0.with(|n| {
                    // SAFETY: the cells are written only after `map_slice` returned.
                    let n = unsafe { *n };
                    n * 10
                })
            })
            .unwrap();
        assert_eq!(out, [10, 20]);
        for cell in &items {
            cell.0.with_mut(|n| {
                // SAFETY: `map_slice` promises no job reads the items any more.
                unsafe { *n = 0 }
            });
        }
        pool.shutdown();
    });
}

/// `map`'s caller maps a batch no worker has started instead of waiting (`Map::help`): for
/// each batch the caller and the worker race to take its items; exactly one maps it, and the
/// results come back once each, in order.
#[test]
fn map_caller_and_worker_race_for_each_batch() {
    loom::model(|| {
        let pool = tiny_pool();
        let out: Vec<u32> =
            pool.map(1..3u32, |n| n * 10).max_batch(1).in_flight(2).map(Result::unwrap).collect();
        assert_eq!(out, [10, 20]);
        pool.shutdown();
    });
}

/// `map_unordered`'s caller maps a batch no worker has started while none has finished, and
/// the batch's job becomes a phantom that resolves to nothing when the worker dequeues it:
/// every item comes back once, and the phantoms are accounted for (the iterator ends).
#[test]
fn map_unordered_caller_and_worker_race_for_each_batch() {
    loom::model(|| {
        let pool = tiny_pool();
        let mut out: Vec<u32> =
            pool.map_unordered(1..4u32, |n| n * 10).max_batch(1).in_flight(2).map(Result::unwrap).collect();
        out.sort_unstable();
        assert_eq!(out, [10, 20, 30]);
        pool.shutdown();
    });
}

/// A cell the jobs may read through `&` (loom checks that no read races the writes after).
struct SharedCell(loom::cell::UnsafeCell<u32>);

// SAFETY: only read concurrently; written once no job can read it (what the model checks).
unsafe impl Sync for SharedCell {}

/// The same gate under `map_reduce_slice` (partials combined in chunk order).
#[test]
fn map_reduce_slice_combines_every_chunk_once() {
    loom::model(|| {
        let pool = tiny_pool();
        let joined = pool.map_reduce_slice(&["a", "b"], |s| s.to_string(), |a, b| a + &b).unwrap();
        assert_eq!(joined.as_deref(), Some("ab"));
        pool.shutdown();
    });
}

#[test]
fn as_completed_wakes_through_the_ready_channel() {
    loom::model(|| {
        let pool = tiny_pool();
        let tasks = vec![pool.submit(|| 10u8), pool.submit(|| 20u8)];
        let mut seen: Vec<(usize, u8)> = as_completed(tasks).map(|(i, r)| (i, r.unwrap())).collect();
        seen.sort_unstable();
        assert_eq!(seen, [(0, 10), (1, 20)]);
    });
}

/// A `next_async` polled once (perhaps registered on the ready channel while the worker runs)
/// and dropped, then awaited again: no index and no wake is lost (a lost one is a deadlock).
#[test]
fn a_dropped_next_async_loses_no_task() {
    loom::model(|| {
        let pool = tiny_pool();
        let mut done = as_completed(vec![pool.submit(|| 10u8)]);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        // `NextFuture` is `Unpin`: polled in place, dropped at the end of the statement.
        let first = match std::pin::Pin::new(&mut done.next_async()).poll(&mut cx) {
            std::task::Poll::Ready(found) => found,
            std::task::Poll::Pending => None, // dropped while waiting
        };
        let found = first.or_else(|| crate::common::block_on(done.next_async()));
        let (position, result) = found.expect("the task is yielded once");
        assert_eq!((position, result.unwrap()), (0, 10));
        assert!(crate::common::block_on(done.next_async()).is_none());
    });
}

/// As above, awaited: `next_async` on the wake-only `block_on` (a wake lost between the task's
/// waker, the ready channel and the receive future is a deadlock).
#[test]
fn as_completed_next_async_wakes_through_the_ready_channel() {
    loom::model(|| {
        let pool = tiny_pool();
        let mut done = as_completed(vec![pool.submit(|| 10u8), pool.submit(|| 20u8)]);
        let mut seen = Vec::new();
        while let Some((i, r)) = crate::common::block_on(done.next_async()) {
            seen.push((i, r.unwrap()));
        }
        seen.sort_unstable();
        assert_eq!(seen, [(0, 10), (1, 20)]);
    });
}

/// An async poll left registered on the ready channel (its future forgotten: a `Stream`
/// stays registered between polls the same way), racing the worker, then a blocking `next`:
/// the task is yielded once, and nothing deadlocks. (Under loom a blocking receive always
/// parks a request in the channel's parked slot, which a push fills and wakes directly, so
/// here a stale registration cannot take the blocked thread's wakeup even without
/// `leave_queue`; on real threads it can, which the integration test
/// `a_registration_left_by_an_async_poll_does_not_strand_a_blocking_next` shows by hanging
/// without it.)
#[test]
fn a_stale_async_registration_then_a_blocking_next_yields_the_task_once() {
    loom::model(|| {
        let pool = tiny_pool();
        let mut done = as_completed(vec![pool.submit(|| 10u8)]);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut next = done.next_async();
        let first = match std::pin::Pin::new(&mut next).poll(&mut cx) {
            std::task::Poll::Ready(found) => {
                drop(next);
                found
            }
            std::task::Poll::Pending => {
                std::mem::forget(next);
                None
            }
        };
        let found = first.or_else(|| done.next());
        let (position, result) = found.expect("the task is yielded once");
        assert_eq!((position, result.unwrap()), (0, 10));
        assert!(done.next().is_none());
    });
}

#[test]
fn first_ok_cancellation_racing_the_sources() {
    use ringfence::scatter::Scatter;
    use std::time::{Duration, Instant};
    loom::model(|| {
        let pool = Pool::builder().threads(1).queue_capacity(2).build().unwrap();
        let dropped = drop_counter();
        let made = loom::sync::Arc::new(AtomicUsize::new(0));
        // Under loom a deadline "passes" exactly when the gatherer would sleep.
        let deadline = Instant::now() + Duration::from_secs(60);
        let (query_drops, query_made) = (dropped.clone(), made.clone());
        let scatter = Scatter::new(&pool, [0usize, 1], move |i, token| {
            if token.is_cancelled() {
                return Err("cancelled");
            }
            // ORDERING: Relaxed: read after the pool's shutdown joined the worker.
            query_made.fetch_add(1, Ordering::Relaxed);
            Ok(Counted::new(i, &query_drops))
        });
        let token = scatter.token().clone();
        match scatter.first_ok(deadline) {
            // Either source may be reported first: both may have finished before the gather
            // looks, and then arrival order is the order the gather finds them in.
            Ok((winner, answer)) => assert_eq!(answer.id, winner),
            Err(partial) => {
                assert!(partial.timed_out, "only the (modelled) deadline can make it fail");
                assert!(partial.ok.is_empty());
            }
        }
        assert!(token.is_cancelled(), "a decided gather cancels the loser's token");
        pool.shutdown(); // the cancelled or finished jobs are all joined
        // Every answer made, the winner's and a late loser's, was dropped exactly once: a late
        // answer is neither leaked nor returned.
        // ORDERING: Relaxed: the shutdown joined the worker that counted.
        assert_eq!(drops(&dropped), made.load(Ordering::Relaxed));
    });
}
