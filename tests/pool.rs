#![cfg(not(loom))]
//! Integration tests of `ringfence::pool`: results, panics, cancellation, backpressure,
//! shutdown, timeouts, async, `map` order and laziness, `as_completed`, scopes, map-reduce.

mod async_util;
mod common;

use common::{DropCounter, WATCHDOG, eventually, within};
use ringfence::pool::{BuildError, Pool, TaskError, TrySubmitError, WaitTimeoutError, as_completed};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

/// A job that blocks its worker until the returned sender is used (or dropped), and a receiver
/// that says when the job has started.
fn blocker() -> (mpsc::Sender<()>, mpsc::Receiver<()>, impl FnOnce() + Send + 'static) {
    let (release, gate) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel();
    let job = move || {
        started_tx.send(()).unwrap();
        let _ = gate.recv();
    };
    (release, started, job)
}

/// Releases blocked jobs (see [`blocker`]) when dropped.
struct ReleaseOnDrop(Vec<mpsc::Sender<()>>);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        for release in &self.0 {
            let _ = release.send(());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Submit, results, panics
// ---------------------------------------------------------------------------------------------

#[test]
fn submitted_closures_return_their_values() {
    let pool = Pool::new(3);
    let tasks: Vec<_> = (0..100u64).map(|i| pool.submit(move || i * 2)).collect();
    let results: Vec<u64> = tasks.into_iter().map(|t| t.wait().unwrap()).collect();
    assert_eq!(results, (0..100).map(|i| i * 2).collect::<Vec<_>>());
}

#[test]
fn a_panic_is_delivered_with_its_payload_and_the_worker_survives() {
    let pool = Pool::new(1);
    let err = pool.submit(|| -> u8 { panic!("bad input {}", 7) }).wait().unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("bad input 7"));
    assert_eq!(err.to_string(), "task panicked: bad input 7");
    assert_eq!(format!("{err:?}"), "Panicked(\"bad input 7\")");
    assert!(err.into_panic().is_some());
    // The single worker is still alive.
    assert_eq!(pool.submit(|| 42).wait().unwrap(), 42);
}

#[test]
fn a_non_string_panic_payload_is_kept() {
    let pool = Pool::new(1);
    let err = pool.submit(|| std::panic::panic_any(17u32)).wait().unwrap_err();
    assert_eq!(err.panic_message(), None);
    assert_eq!(err.to_string(), "task panicked");
    assert_eq!(*err.into_panic().unwrap().downcast::<u32>().unwrap(), 17);
}

#[test]
fn a_panic_while_dropping_an_unwanted_result_does_not_kill_the_worker() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("drop panics");
        }
    }
    let pool = Pool::new(1);
    let (release, started, block) = blocker();
    let task = pool.submit(move || {
        block();
        PanicsOnDrop
    });
    started.recv().unwrap();
    drop(task); // the result will be dropped on the worker, and that drop panics
    release.send(()).unwrap();
    assert_eq!(within(WATCHDOG, move || pool.submit(|| 1).wait().unwrap()), 1);
}

// ---------------------------------------------------------------------------------------------
// Cancellation
// ---------------------------------------------------------------------------------------------

#[test]
fn dropping_a_task_before_its_job_starts_skips_the_job() {
    let pool = Pool::new(1);
    let (release, started, block) = blocker();
    let _busy = pool.submit(block);
    started.recv().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    drop(pool.submit(move || flag.store(true, Ordering::SeqCst)));
    release.send(()).unwrap();
    pool.shutdown();
    assert!(!ran.load(Ordering::SeqCst), "the job of a dropped task must be skipped");
}

#[test]
fn a_spawned_job_runs_though_nobody_holds_a_task() {
    let pool = Pool::new(1);
    let (release, started, block) = blocker();
    pool.spawn(block);
    started.recv().unwrap();
    // Queued behind the blocked job: unlike a dropped task's job, it is not skipped.
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let ran = ran.clone();
        pool.spawn(move || {
            ran.fetch_add(1, Ordering::SeqCst);
        });
    }
    release.send(()).unwrap();
    pool.shutdown();
    assert_eq!(ran.load(Ordering::SeqCst), 3);
}

#[test]
fn a_panicking_spawned_job_leaves_the_worker_alive() {
    let pool = Pool::new(1);
    pool.spawn(|| panic!("a detached job panics"));
    assert_eq!(pool.submit(|| 5).wait().unwrap(), 5, "the single worker survived");
}

#[test]
fn shutdown_now_drops_queued_spawned_jobs_unrun_once() {
    let counter = DropCounter::new();
    let pool = Pool::new(1);
    let (release, started, block) = blocker();
    pool.spawn(block);
    started.recv().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let (flag, token) = (ran.clone(), counter.make(0));
    pool.spawn(move || {
        let _token = token;
        flag.store(true, Ordering::SeqCst);
    });
    // Queued last, it frees the worker when it is dropped: shutdown_now discards the queue in
    // order, so the job above is gone before the worker could take it.
    pool.spawn(move || drop(release));
    pool.shutdown_now();
    assert!(!ran.load(Ordering::SeqCst), "a queued job is dropped by shutdown_now");
    assert_eq!((counter.created(), counter.dropped()), (1, 1), "its closure dropped once");
}

#[test]
fn dropping_a_task_while_its_job_runs_drops_the_result_once() {
    let counter = DropCounter::new();
    let pool = Pool::new(1);
    let (release, started, block) = blocker();
    let c = counter.clone();
    let task = pool.submit(move || {
        block();
        c.make(1)
    });
    started.recv().unwrap();
    drop(task);
    release.send(()).unwrap();
    pool.shutdown();
    assert_eq!((counter.created(), counter.dropped()), (1, 1));
}

#[test]
fn a_skipped_job_drops_its_captures_once() {
    let counter = DropCounter::new();
    let pool = Pool::new(1);
    let (release, started, block) = blocker();
    let _busy = pool.submit(block);
    started.recv().unwrap();
    let value = counter.make(5);
    drop(pool.submit(move || value.into_id()));
    release.send(()).unwrap();
    pool.shutdown();
    assert_eq!((counter.created(), counter.dropped()), (1, 1));
}

// ---------------------------------------------------------------------------------------------
// Backpressure and try_submit
// ---------------------------------------------------------------------------------------------

#[test]
fn try_submit_hands_the_closure_back_when_the_queue_is_full() {
    let pool = Pool::builder().threads(1).queue_capacity(1).build().unwrap();
    let (release, started, block) = blocker();
    let _busy = pool.submit(block);
    started.recv().unwrap();
    let queued = pool.submit(|| "queued");
    let err = pool.try_submit(|| "handed back").unwrap_err();
    assert!(err.is_full());
    assert_eq!(err.to_string(), "the pool's queue is full");
    assert_eq!(format!("{err:?}"), "Full(..)");
    let TrySubmitError::Full(f) = err;
    assert_eq!(f(), "handed back");
    release.send(()).unwrap();
    assert_eq!(queued.wait().unwrap(), "queued");
    assert_eq!(pool.try_submit(|| 9).ok().unwrap().wait().unwrap(), 9);
}

#[test]
fn a_closure_handed_back_by_try_submit_keeps_its_captures() {
    let counter = DropCounter::new();
    let pool = Pool::builder().threads(1).queue_capacity(1).build().unwrap();
    let (release, started, block) = blocker();
    let _busy = pool.submit(block);
    started.recv().unwrap();
    let _queued = pool.submit(|| ());
    let value = counter.make(11);
    let back = pool.try_submit(move || value.into_id()).unwrap_err().into_inner();
    assert_eq!(counter.dropped(), 0, "nothing dropped while the closure is handed back");
    assert_eq!(back(), 11);
    assert_eq!(counter.dropped(), 1);
    release.send(()).unwrap();
}

#[test]
fn submit_blocks_while_the_queue_is_full() {
    let pool = Arc::new(Pool::builder().threads(1).queue_capacity(1).build().unwrap());
    let (release, started, block) = blocker();
    let _busy = pool.submit(block);
    started.recv().unwrap();
    let _queued = pool.submit(|| ());
    let submitted = Arc::new(AtomicBool::new(false));
    let (p, s) = (pool.clone(), submitted.clone());
    let submitter = thread::spawn(move || {
        let task = p.submit(|| "third");
        s.store(true, Ordering::SeqCst);
        task.wait().unwrap()
    });
    thread::sleep(Duration::from_millis(20));
    assert!(!submitted.load(Ordering::SeqCst), "submit must wait for room in the queue");
    release.send(()).unwrap();
    assert_eq!(submitter.join().unwrap(), "third");
}

// ---------------------------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------------------------

#[test]
fn shutdown_runs_every_queued_job() {
    let pool = Pool::builder().threads(2).queue_capacity(256).build().unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let done = done.clone();
            pool.submit(move || done.fetch_add(1, Ordering::SeqCst))
        })
        .collect();
    pool.shutdown();
    assert_eq!(done.load(Ordering::SeqCst), 200);
    assert!(tasks.into_iter().all(|t| t.wait().is_ok()));
}

/// Dropping the pool runs every queued job before it returns: 50 jobs wait behind the only
/// worker (blocked) when the drop begins, and all of them have run when it returns.
#[test]
fn dropping_the_pool_is_shutdown() {
    within(WATCHDOG, || {
        let done = Arc::new(AtomicUsize::new(0));
        let pool = Pool::builder().threads(1).queue_capacity(64).build().unwrap();
        let (release, started, block) = blocker();
        let busy = pool.submit(block);
        started.recv().unwrap();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let done = done.clone();
                pool.submit(move || done.fetch_add(1, Ordering::SeqCst))
            })
            .collect();
        assert_eq!(pool.queued(), 50, "every job waits behind the blocked worker");
        // Frees the worker a little later, most likely while `drop` below waits for it; whenever
        // it happens, all 50 jobs must run (the sleep makes the test sharper, not correct).
        let releaser = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            release.send(()).unwrap();
        });
        drop(pool);
        assert_eq!(done.load(Ordering::SeqCst), 50, "dropping the pool runs every queued job");
        assert!(tasks.into_iter().all(|t| t.wait().is_ok()), "and every task has its value");
        busy.wait().unwrap();
        releaser.join().unwrap();
    });
}

#[test]
fn shutdown_now_resolves_every_task() {
    within(WATCHDOG, || {
        let pool = Pool::builder().threads(2).queue_capacity(512).build().unwrap();
        let (release, started, block) = blocker();
        let (release2, started2, block2) = blocker();
        let running = [pool.submit(block), pool.submit(block2)];
        started.recv().unwrap();
        started2.recv().unwrap();
        let queued: Vec<_> = (0..300).map(|i| pool.submit(move || i)).collect();
        // The last queued job releases the blocked workers when it is dropped: shutdown_now
        // drains the queue in order, so every job above is discarded before any worker is
        // free to run it (no timing involved).
        let guard = ReleaseOnDrop(vec![release, release2]);
        let last = pool.submit(move || {
            let _guard = guard;
        });
        pool.shutdown_now(); // returns once the running jobs are released and joined
        assert!(last.wait().unwrap_err().is_cancelled());
        for task in running {
            assert!(task.wait().is_ok(), "running jobs finish");
        }
        let mut cancelled = 0;
        for (i, task) in queued.into_iter().enumerate() {
            match task.wait() {
                Ok(v) => assert_eq!(v, i),
                Err(e) => {
                    assert!(e.is_cancelled());
                    assert_eq!(
                        e.to_string(),
                        "task was cancelled before it ran, or its result was already taken"
                    );
                    cancelled += 1;
                }
            }
        }
        assert_eq!(cancelled, 300, "every job queued behind the blocked workers is cancelled");
    });
}

#[test]
fn shutdown_now_drops_cancelled_captures_exactly_once() {
    let counter = DropCounter::new();
    let pool = Pool::builder().threads(1).queue_capacity(64).build().unwrap();
    let (release, started, block) = blocker();
    let _busy = pool.submit(block);
    started.recv().unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let value = counter.make(i);
            pool.submit(move || value.into_id())
        })
        .collect();
    release.send(()).unwrap();
    pool.shutdown_now();
    for task in tasks {
        let _ = task.wait();
    }
    assert_eq!((counter.created(), counter.dropped()), (50, 50));
}

// ---------------------------------------------------------------------------------------------
// Waiting: timeouts, is_finished, async
// ---------------------------------------------------------------------------------------------

#[test]
fn wait_timeout_keeps_the_task_usable_and_a_taken_result_reads_cancelled() {
    let pool = Pool::new(1);
    let (release, started, block) = blocker();
    let mut task = pool.submit(move || {
        block();
        "late"
    });
    started.recv().unwrap();
    let err = task.wait_timeout(Duration::from_millis(5)).unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(err.to_string(), "timed out waiting for the task");
    assert!(!task.is_finished());
    release.send(()).unwrap();
    assert_eq!(task.wait_timeout(Duration::MAX).unwrap(), "late");
    let taken = task.wait_timeout(Duration::ZERO).unwrap_err();
    assert!(matches!(taken, WaitTimeoutError::Failed(TaskError::Cancelled)));
    assert_eq!(taken.to_string(), "task was cancelled before it ran, or its result was already taken");
    assert!(task.wait().unwrap_err().is_cancelled(), "a later `wait` finds the result taken too");
}

#[test]
fn a_panic_reaches_a_timed_wait() {
    let pool = Pool::new(1);
    let mut task = pool.submit(|| -> () { panic!("timed") });
    match task.wait_timeout(Duration::from_secs(60)) {
        Err(WaitTimeoutError::Failed(e)) => assert_eq!(e.panic_message(), Some("timed")),
        other => panic!("expected a panic, got {other:?}"),
    }
}

#[test]
fn is_finished_turns_true_once_the_job_ran() {
    let pool = Pool::new(1);
    let (release, started, block) = blocker();
    let task = pool.submit(block);
    started.recv().unwrap();
    assert!(!task.is_finished());
    release.send(()).unwrap();
    eventually(WATCHDOG, "the task finishes", || task.is_finished().then_some(()));
    assert!(task.wait().is_ok());
}

#[test]
fn tasks_are_futures_under_tokio() {
    let pool = Arc::new(Pool::new(2));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let total = rt.block_on(async {
        let mut sum = 0u64;
        for i in 0..50u64 {
            sum += pool.submit(move || i).await.unwrap();
        }
        sum
    });
    assert_eq!(total, 49 * 50 / 2);
}

#[test]
fn tasks_are_futures_under_a_minimal_block_on() {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Wake, Waker};

    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    fn block_on<F: Future>(future: F) -> F::Output {
        let waker = Waker::from(Arc::new(Unpark(thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            match future.as_mut().poll(&mut cx) {
                Poll::Ready(output) => return output,
                Poll::Pending => thread::park(),
            }
        }
    }
    let pool = Pool::new(1);
    assert_eq!(within(WATCHDOG, move || block_on(pool.submit(|| 5))).unwrap(), 5);
}

// ---------------------------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------------------------

#[test]
fn builder_rejects_bad_settings_with_clear_errors() {
    let err = Pool::builder().threads(0).build().unwrap_err();
    assert!(matches!(err, BuildError::NoThreads));
    assert_eq!(err.to_string(), "a pool needs at least one thread");
    let err = Pool::builder().threads(1).in_flight(0).build().unwrap_err();
    assert!(matches!(err, BuildError::NoInFlight));
    let err = Pool::builder().threads(1).queue_capacity(usize::MAX).build().unwrap_err();
    assert!(matches!(err, BuildError::Capacity(_)));
    assert!(err.to_string().starts_with("invalid queue capacity"));
    // Huge counts are errors too, not an allocation failure or a panic (found by review).
    let err = Pool::builder().threads(usize::MAX).build().unwrap_err();
    assert!(matches!(err, BuildError::TooManyThreads(usize::MAX)));
    assert_eq!(err.to_string(), format!("{} threads asked for, a pool holds at most 32768", usize::MAX));
    let err = Pool::builder().threads(1).in_flight(usize::MAX).build().unwrap_err();
    assert!(matches!(err, BuildError::TooManyInFlight(usize::MAX)));
    assert!(Pool::builder().threads(1).in_flight(ringfence::pool::MAX_IN_FLIGHT).build().is_ok());
}

#[test]
#[should_panic(expected = "MapUnordered::in_flight: at most 131072 jobs may be in flight")]
fn map_unordered_refuses_a_huge_in_flight_with_a_clear_panic() {
    let pool = Pool::new(1);
    let _ = pool.map_unordered(0..10, |n| n).in_flight(usize::MAX);
}

/// Found by review: a job that held the last `Arc<Pool>` dropped it on a worker, and the pool
/// tried to join that worker from itself ("Resource deadlock avoided"), failing the job.
#[test]
fn the_last_handle_dropped_by_one_of_its_own_jobs_stops_the_pool() {
    within(WATCHDOG, || {
        let pool = Arc::new(Pool::new(2));
        let (dropped_tx, dropped_rx) = mpsc::channel();
        let task = {
            let held = Arc::clone(&pool);
            pool.submit(move || {
                // Wait until the caller dropped its handle, so that ours is the last.
                while Arc::strong_count(&held) > 1 {
                    thread::yield_now();
                }
                drop(held);
                dropped_tx.send(()).unwrap();
                7
            })
        };
        drop(pool);
        assert_eq!(task.wait().expect("the job finished, it did not panic"), 7);
        dropped_rx.recv().unwrap();
    });
}

/// Found by review: `shutdown_now` drops queued jobs, and a capture whose drop panicked
/// unwound through a worker and out of `shutdown_now`.
#[test]
fn shutdown_now_survives_a_queued_job_whose_captures_panic_when_dropped() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("a capture that panics when dropped");
        }
    }
    within(WATCHDOG, || {
        let pool = Pool::new(1);
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let busy = pool.submit(move || {
            started_tx.send(()).unwrap();
            let _ = release_rx.recv();
        });
        started_rx.recv().unwrap();
        let queued: Vec<_> = (0..3)
            .map(|_| {
                let capture = PanicsOnDrop;
                pool.submit(move || drop(capture))
            })
            .collect();
        drop(release_tx); // the busy job ends while shutdown_now discards the queue, or after
        pool.shutdown_now();
        assert!(busy.wait().is_ok());
        for task in queued {
            assert!(matches!(task.wait(), Err(TaskError::Cancelled) | Err(TaskError::Panicked(_))));
        }
    });
}

#[test]
#[should_panic(expected = "Pool::new: a pool needs at least one thread")]
fn pool_new_with_zero_threads_panics_clearly() {
    let _ = Pool::new(0);
}

#[test]
fn builder_names_the_worker_threads() {
    let pool = Pool::builder().threads(2).thread_name("crunch").build().unwrap();
    assert_eq!(pool.threads(), 2);
    let mut names: Vec<String> = (0..20)
        .map(|_| pool.submit(|| thread::current().name().unwrap().to_owned()))
        .map(|t| t.wait().unwrap())
        .collect();
    names.sort();
    names.dedup();
    assert!(names.iter().all(|n| n == "crunch-0" || n == "crunch-1"), "{names:?}");
}

/// Bytes of the stack frame of [`uses_a_big_frame`]: four times the 2 MiB that std gives a
/// spawned thread by default.
const BIG_FRAME: usize = 8 << 20;

/// A job with a stack frame of [`BIG_FRAME`] bytes: on a default-sized stack it overflows
/// (which aborts the whole test process), so only the direction that must succeed is tested.
#[inline(never)]
fn uses_a_big_frame() -> u8 {
    let mut frame = [1u8; BIG_FRAME];
    std::hint::black_box(&mut frame); // keeps the whole array on the stack
    frame[0] ^ frame[BIG_FRAME - 1]
}

#[test]
fn builder_stack_size_gives_the_workers_room_for_a_big_frame() {
    let pool = Pool::builder().threads(1).stack_size(32 << 20).build().unwrap();
    assert_eq!(pool.submit(uses_a_big_frame).wait().unwrap(), 0);
}

#[test]
fn builder_rejects_a_thread_name_with_a_nul_byte() {
    let err = Pool::builder().threads(2).thread_name("bad\0name").build().unwrap_err();
    assert!(matches!(err, BuildError::ThreadName(_)), "{err:?}");
    assert!(err.to_string().starts_with("invalid thread name prefix: "), "{err}");
    // The inner error's message is in the `Display`: it is not the `source` too.
    assert!(std::error::Error::source(&err).is_none());
}

/// A stack of 1 PiB does not fit the address space: the system refuses the thread, and
/// `build` reports it instead of panicking.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
#[test]
fn builder_reports_a_thread_the_system_refuses() {
    let err = Pool::builder().threads(2).stack_size(1 << 50).build().unwrap_err();
    assert!(matches!(err, BuildError::Spawn(_)), "{err:?}");
    assert!(err.to_string().starts_with("could not start a worker thread: "), "{err}");
}

#[test]
fn a_rendezvous_queue_works() {
    let pool = Pool::builder().threads(2).queue_capacity(0).build().unwrap();
    let sum: u64 = (0..100u64).map(|i| pool.submit(move || i)).map(|t| t.wait().unwrap()).sum();
    assert_eq!(sum, 4950);
}

// ---------------------------------------------------------------------------------------------
// map, map_unordered
// ---------------------------------------------------------------------------------------------

#[test]
fn map_yields_results_in_input_order() {
    let pool = Pool::new(3);
    let out: Vec<u64> = pool
        .map(0..500u64, |i| {
            if i % 7 == 0 {
                thread::sleep(Duration::from_micros(200)); // finish out of order
            }
            i * i
        })
        .map(Result::unwrap)
        .collect();
    assert_eq!(out, (0..500u64).map(|i| i * i).collect::<Vec<_>>());
}

#[test]
fn map_is_lazy_and_bounded_in_flight() {
    let pool = Pool::builder().threads(2).in_flight(4).build().unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = pulled.clone();
    let items = (0..1_000_000_000u64).inspect(move |_| {
        p.fetch_add(1, Ordering::SeqCst);
    });
    let mut results = pool.map(items, |i| i + 1);
    assert_eq!(pulled.load(Ordering::SeqCst), 0, "nothing is pulled before the first next");
    assert_eq!(results.next().unwrap().unwrap(), 1);
    let more: Vec<u64> = results.by_ref().take(2000).map(Result::unwrap).collect();
    assert_eq!(more, (2..2002).collect::<Vec<_>>());
    // At most `in_flight` jobs of at most `DEFAULT_MAX_BATCH` items ahead of what was yielded.
    let bound = 2001 + 4 * ringfence::pool::DEFAULT_MAX_BATCH;
    assert!(pulled.load(Ordering::SeqCst) <= bound, "pulled {} > {bound}", pulled.load(Ordering::SeqCst));
}

#[test]
fn map_with_max_batch_one_pulls_exactly_in_flight_ahead() {
    let pool = Pool::builder().threads(2).in_flight(4).build().unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = pulled.clone();
    let items = (0..1_000_000_000u64).inspect(move |_| {
        p.fetch_add(1, Ordering::SeqCst);
    });
    let mut results = pool.map(items, |i| i + 1).max_batch(1);
    assert_eq!(results.next().unwrap().unwrap(), 1);
    // One yielded; the window was refilled behind it: 1 + 4 at most.
    assert!(pulled.load(Ordering::SeqCst) <= 5, "pulled {}", pulled.load(Ordering::SeqCst));
    let more: Vec<u64> = results.by_ref().take(10).map(Result::unwrap).collect();
    assert_eq!(more, (2..12).collect::<Vec<_>>());
    assert!(pulled.load(Ordering::SeqCst) <= 11 + 4, "pulled {}", pulled.load(Ordering::SeqCst));
}

#[test]
fn map_batches_grow_for_cheap_items_and_keep_order_and_panics_in_place() {
    let pool = Pool::new(2);
    let out: Vec<Result<u64, TaskError>> =
        pool.map(0..50_000u64, |i| if i == 31_337 { panic!("leet") } else { i * 3 }).collect();
    assert_eq!(out.len(), 50_000);
    for (i, r) in out.into_iter().enumerate() {
        match r {
            Ok(v) => assert_eq!(v, i as u64 * 3),
            Err(e) => {
                assert_eq!(i, 31_337);
                assert_eq!(e.panic_message(), Some("leet"));
            }
        }
    }
}

/// Several items of one batch panic, including its first and last: each panic is yielded in
/// its item's place (with its own message) and every other item of the batch still runs.
#[test]
fn map_yields_every_panic_of_a_batch_in_place() {
    let pool = Pool::new(2);
    let panics = |i: u64| i % 100 == 0 || i % 100 == 99 || i % 7 == 3;
    let out: Vec<Result<u64, TaskError>> = pool
        .map(0..5_000u64, move |i| if panics(i) { panic!("item {i}") } else { i + 1 })
        .max_batch(100)
        .collect();
    assert_eq!(out.len(), 5_000);
    for (i, r) in (0u64..).zip(out) {
        match r {
            Ok(v) => assert!(!panics(i) && v == i + 1, "item {i} gave {v}"),
            Err(e) => assert_eq!(e.panic_message(), Some(format!("item {i}").as_str()), "item {i}"),
        }
    }
    let mut unordered: Vec<u64> = pool
        .map_unordered(0..5_000u64, move |i| if panics(i) { panic!("item {i}") } else { i })
        .max_batch(100)
        .filter_map(Result::ok)
        .collect();
    unordered.sort_unstable();
    assert_eq!(unordered, (0..5_000u64).filter(|&i| !panics(i)).collect::<Vec<_>>());
}

#[test]
fn map_in_flight_override_bounds_the_pull() {
    let pool = Pool::new(2);
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = pulled.clone();
    let mut results = pool
        .map(
            (0..100u32).inspect(move |_| {
                p.fetch_add(1, Ordering::SeqCst);
            }),
            |i| i,
        )
        .in_flight(1)
        .max_batch(1);
    assert_eq!(results.next().unwrap().unwrap(), 0);
    assert!(pulled.load(Ordering::SeqCst) <= 2, "the yielded item and the one job refilled behind it");
}

#[test]
#[should_panic(expected = "Map::in_flight: at least one job must be in flight")]
fn map_in_flight_zero_panics_clearly() {
    let pool = Pool::new(1);
    let _ = pool.map(0..1, |i| i).in_flight(0);
}

#[test]
fn map_yields_a_panic_in_place_and_goes_on() {
    let pool = Pool::new(2);
    let out: Vec<Result<u32, TaskError>> =
        pool.map(0..5u32, |i| if i == 2 { panic!("two") } else { i }).collect();
    assert_eq!(out.len(), 5);
    for (i, r) in out.into_iter().enumerate() {
        match r {
            Ok(v) => assert_eq!(v as usize, i),
            Err(e) => {
                assert_eq!(i, 2);
                assert_eq!(e.panic_message(), Some("two"));
            }
        }
    }
}

#[test]
fn dropping_a_map_iterator_cancels_unstarted_items() {
    // The caller maps items too while it waits (the newest unstarted ones), so only the
    // worker's items are gated: after the first item it runs, the worker blocks until the
    // iterator is gone. Then it may finish the item it holds, and nothing else may run.
    let pool = Pool::builder().threads(1).in_flight(50).build().unwrap();
    let caller = thread::current().id();
    let by_caller = Arc::new(AtomicUsize::new(0));
    let by_worker = Arc::new(AtomicUsize::new(0));
    let (c, w) = (by_caller.clone(), by_worker.clone());
    let (release, gate) = mpsc::channel::<()>();
    let gate = std::sync::Mutex::new(gate);
    let mut it = pool.map(0..1_000u32, move |i| {
        if thread::current().id() == caller {
            c.fetch_add(1, Ordering::SeqCst);
        } else {
            if i > 0 {
                let _ = gate.lock().unwrap().recv(); // hold the only worker
            }
            w.fetch_add(1, Ordering::SeqCst);
        }
    });
    assert!(it.next().unwrap().is_ok(), "item 0 is fast");
    drop(it); // every item not started by now is cancelled
    let mapped_here = by_caller.load(Ordering::SeqCst);
    let _ = release.send(());
    pool.shutdown();
    let by_worker = by_worker.load(Ordering::SeqCst);
    assert!(by_worker <= 2, "the worker ran item 0 and the item it held at most, not {by_worker}");
    assert!(mapped_here < 50, "the caller mapped {mapped_here} items: more than in flight");
    assert_eq!(by_caller.load(Ordering::SeqCst), mapped_here, "the caller maps nothing after the drop");
}

#[test]
fn map_unordered_yields_every_result_fast_ones_first() {
    let pool = Pool::new(2);
    let out: Vec<u64> = pool
        .map_unordered(0..4u64, |i| {
            if i == 0 {
                thread::sleep(Duration::from_millis(100));
            }
            i
        })
        .map(Result::unwrap)
        .collect();
    assert_eq!(out.len(), 4);
    assert_eq!(*out.last().unwrap(), 0, "the slow item comes last: {out:?}");
    let mut sorted = out.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [0, 1, 2, 3]);
}

#[test]
fn map_unordered_is_lazy_and_checksums_a_large_input() {
    let pool = Pool::builder().threads(2).in_flight(8).build().unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = pulled.clone();
    let mut it = pool.map_unordered(
        (0..20_000u64).inspect(move |_| {
            p.fetch_add(1, Ordering::SeqCst);
        }),
        |i| i,
    );
    let first = it.next().unwrap().unwrap();
    assert!(first < 8 * ringfence::pool::DEFAULT_MAX_BATCH as u64);
    assert!(pulled.load(Ordering::SeqCst) <= 1 + 8 * ringfence::pool::DEFAULT_MAX_BATCH);
    let rest: u64 = it.map(Result::unwrap).sum();
    assert_eq!(first + rest, 19_999 * 20_000 / 2);
}

// ---------------------------------------------------------------------------------------------
// as_completed
// ---------------------------------------------------------------------------------------------

#[test]
fn as_completed_yields_in_completion_order_with_positions() {
    let pool = Pool::new(3);
    let (r1, s1, b1) = blocker();
    let (r2, s2, b2) = blocker();
    let t0 = pool.submit(move || {
        b1();
        "zero"
    });
    let t1 = pool.submit(move || {
        b2();
        "one"
    });
    let t2 = pool.submit(|| "two");
    s1.recv().unwrap();
    s2.recv().unwrap();
    let mut it = as_completed([t0, t1, t2]);
    assert_eq!(it.len(), 3);
    let (i, r) = it.next().unwrap();
    assert_eq!((i, r.unwrap()), (2, "two"));
    r2.send(()).unwrap();
    let (i, r) = it.next().unwrap();
    assert_eq!((i, r.unwrap()), (1, "one"));
    r1.send(()).unwrap();
    let (i, r) = it.next().unwrap();
    assert_eq!((i, r.unwrap()), (0, "zero"));
    assert!(it.next().is_none());
}

#[test]
fn as_completed_reports_panics_and_cancellations_and_accepts_nothing() {
    assert_eq!(as_completed(Vec::<ringfence::pool::Task<u8>>::new()).count(), 0);
    let pool = Pool::builder().threads(1).queue_capacity(8).build().unwrap();
    let (release, started, block) = blocker();
    let busy = pool.submit(block);
    started.recv().unwrap();
    let panics = pool.submit(|| -> u8 { panic!("p") });
    let plain = pool.submit(|| 3u8);
    let waiter = thread::spawn(move || {
        let mut seen: Vec<(usize, String)> = as_completed([panics, plain])
            .map(|(i, r)| (i, r.map_or_else(|e| e.to_string(), |v| v.to_string())))
            .collect();
        seen.sort();
        seen
    });
    release.send(()).unwrap();
    busy.wait().unwrap();
    let seen = waiter.join().unwrap();
    assert_eq!(seen, [(0, "task panicked: p".to_owned()), (1, "3".to_owned())]);
}

/// Four tasks queued behind the blocked worker are cancelled by `shutdown_now` while another
/// thread waits on them through `as_completed`: it sees exactly those four, as `Cancelled`.
#[test]
fn as_completed_sees_tasks_cancelled_by_shutdown_now() {
    within(WATCHDOG, || {
        let pool = Pool::builder().threads(1).queue_capacity(8).build().unwrap();
        let (release, started, block) = blocker();
        let busy = pool.submit(block);
        started.recv().unwrap();
        let queued: Vec<_> = (0..4).map(|i| pool.submit(move || i)).collect();
        // Built here, while every job is still queued: each task registers its waker now, so
        // the cancellations below reach the waiter through the wakers.
        let completed = as_completed(queued);
        let waiter = thread::spawn(move || {
            completed.map(|(i, r)| (i, r.map_err(|e| e.is_cancelled()))).collect::<Vec<_>>()
        });
        // The last queued job frees the worker when it is dropped: `shutdown_now` discards the
        // queue in order, so the four are cancelled before the worker is free (no timing).
        let guard = ReleaseOnDrop(vec![release]);
        let last = pool.submit(move || drop(guard));
        pool.shutdown_now();
        assert!(last.wait().unwrap_err().is_cancelled());
        busy.wait().unwrap();
        let mut seen = waiter.join().unwrap();
        seen.sort_unstable();
        assert_eq!(seen, [(0, Err(true)), (1, Err(true)), (2, Err(true)), (3, Err(true))]);
    });
}

#[test]
fn as_completed_over_many_tasks_from_two_pools() {
    let (a, b) = (Pool::new(2), Pool::new(1));
    let tasks: Vec<_> =
        (0..1000u64).map(|i| if i % 3 == 0 { b.submit(move || i) } else { a.submit(move || i) }).collect();
    let mut seen = vec![false; 1000];
    for (i, r) in as_completed(tasks) {
        assert_eq!(r.unwrap(), i as u64);
        assert!(!std::mem::replace(&mut seen[i], true), "position {i} yielded twice");
    }
    assert!(seen.iter().all(|&s| s));
}

// ---------------------------------------------------------------------------------------------
// scope
// ---------------------------------------------------------------------------------------------

#[test]
fn scope_jobs_borrow_and_mutate_the_callers_stack() {
    let pool = Pool::new(2);
    let mut chunks = vec![vec![1u64, 2, 3], vec![4, 5], vec![6]];
    let factor = 10;
    pool.scope(|s| {
        for chunk in chunks.iter_mut() {
            s.submit(|| chunk.iter_mut().for_each(|x| *x *= factor));
        }
    });
    assert_eq!(chunks, [vec![10, 20, 30], vec![40, 50], vec![60]]);
}

#[test]
fn scope_joins_every_job_before_returning_even_unwaited_ones() {
    let pool = Pool::new(2);
    let done = AtomicUsize::new(0);
    pool.scope(|s| {
        for _ in 0..100 {
            let _ = s.submit(|| {
                thread::sleep(Duration::from_micros(50));
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    assert_eq!(done.load(Ordering::SeqCst), 100, "dropping a scoped task does not cancel it");
}

#[test]
fn scope_returns_the_closures_value_and_waited_panics_are_not_raised() {
    let pool = Pool::new(1);
    let out = pool.scope(|s| {
        let bad = s.submit(|| -> u8 { panic!("seen") });
        let err = bad.wait().unwrap_err();
        err.panic_message().unwrap().to_owned()
    });
    assert_eq!(out, "seen");
}

#[test]
#[should_panic(expected = "a job submitted in a pool scope panicked")]
fn scope_raises_a_panic_nobody_waited_for() {
    let pool = Pool::new(1);
    pool.scope(|s| {
        let _ = s.submit(|| panic!("unseen"));
    });
}

/// A scoped job whose task was dropped drops its result on the worker; a panic of that `Drop`
/// is raised by the scope like the job's own (the worker's catch used to swallow it).
#[test]
#[should_panic(expected = "a job submitted in a pool scope panicked")]
fn scope_raises_a_panic_of_a_dropped_tasks_result() {
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("the result's drop exploded");
        }
    }
    let pool = Pool::new(1);
    let (go, wait) = std::sync::mpsc::channel::<()>();
    pool.scope(|s| {
        // The task is dropped before the job returns, so the worker drops the result.
        drop(s.submit(move || {
            wait.recv().unwrap();
            Bomb
        }));
        go.send(()).unwrap();
    });
}

#[test]
fn scope_spawn_jobs_borrow_mutate_and_are_all_joined() {
    let pool = Pool::new(2);
    let mut slots = vec![0u64; 200];
    let done = AtomicUsize::new(0);
    pool.scope(|s| {
        for (i, slot) in slots.iter_mut().enumerate() {
            let done = &done;
            s.spawn(move || {
                if i % 50 == 0 {
                    thread::sleep(Duration::from_micros(200));
                }
                *slot = i as u64 * 3;
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    assert_eq!(done.load(Ordering::SeqCst), 200, "every spawned job ran before scope returned");
    assert!(slots.iter().enumerate().all(|(i, &v)| v == i as u64 * 3));
}

#[test]
fn scope_raises_a_spawned_jobs_panic_after_joining_the_others() {
    let pool = Pool::new(2);
    let done = AtomicUsize::new(0);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.scope(|s| {
            s.spawn(|| panic!("spawned job panics"));
            for _ in 0..10 {
                s.spawn(|| {
                    thread::sleep(Duration::from_millis(1));
                    done.fetch_add(1, Ordering::SeqCst);
                });
            }
        })
    }));
    let payload = result.expect_err("the scope re-raises the spawned job's panic");
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
    assert_eq!(message, Some("a job submitted in a pool scope panicked"));
    assert_eq!(done.load(Ordering::SeqCst), 10, "the other jobs were joined first");
    // The worker survived the panic.
    assert_eq!(pool.submit(|| 7).wait().unwrap(), 7);
}

#[test]
fn scope_waits_for_its_jobs_when_the_closure_panics() {
    let pool = Pool::new(1);
    let done = AtomicUsize::new(0);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.scope(|s| {
            let _ = s.submit(|| {
                thread::sleep(Duration::from_millis(20));
                done.fetch_add(1, Ordering::SeqCst);
            });
            panic!("closure panics");
        })
    }));
    assert!(result.is_err());
    assert_eq!(done.load(Ordering::SeqCst), 1, "the job was joined before the panic propagated");
}

#[test]
fn scoped_tasks_support_timed_waits() {
    let pool = Pool::new(1);
    pool.scope(|s| {
        let (release, gate) = mpsc::channel::<()>();
        let mut t = s.submit(move || gate.recv().unwrap());
        assert!(t.wait_timeout(Duration::from_millis(2)).unwrap_err().is_timeout());
        release.send(()).unwrap();
        t.wait_timeout(Duration::from_secs(60)).unwrap();
    });
}

// ---------------------------------------------------------------------------------------------
// map_reduce
// ---------------------------------------------------------------------------------------------

#[test]
fn map_reduce_sum_of_squares_and_empty_input() {
    let pool = Pool::new(2);
    let expected: u64 = (0..100_000u64).map(|n| n * n).sum();
    assert_eq!(pool.map_reduce(0..100_000u64, |n| n * n, |a, b| a + b).unwrap(), Some(expected));
    assert_eq!(pool.map_reduce(std::iter::empty::<u64>(), |n| n, |a, b| a + b).unwrap(), None);
    // An iterator of unknown length takes the fixed-chunk path.
    let odd = (0..1000u64).filter(|n| n % 2 == 1);
    assert_eq!(pool.map_reduce(odd, |n| n, |a, b| a + b).unwrap(), Some(250_000));
}

#[test]
fn map_reduce_word_count_matches_sequential() {
    let docs: Vec<String> =
        (0..300).map(|i| format!("alpha beta {} gamma {}", ["x", "y", "z"][i % 3], i % 5)).collect();
    let mut expected: HashMap<String, usize> = HashMap::new();
    for doc in &docs {
        for w in doc.split_whitespace() {
            *expected.entry(w.to_owned()).or_default() += 1;
        }
    }
    let pool = Pool::new(2);
    let counts = pool
        .map_reduce(
            docs,
            |doc: String| {
                let mut c: HashMap<String, usize> = HashMap::new();
                for w in doc.split_whitespace() {
                    *c.entry(w.to_owned()).or_default() += 1;
                }
                c
            },
            |mut a, b| {
                for (w, n) in b {
                    *a.entry(w).or_default() += n;
                }
                a
            },
        )
        .unwrap()
        .unwrap();
    assert_eq!(counts, expected);
}

#[test]
fn map_reduce_reports_a_panic() {
    let pool = Pool::new(2);
    let err =
        pool.map_reduce(0..100u32, |n| if n == 57 { panic!("57") } else { n }, |a, b| a + b).unwrap_err();
    assert_eq!(err.panic_message(), Some("57"));
    assert_eq!(pool.submit(|| 1).wait().unwrap(), 1, "the pool still works");
}

#[test]
fn fold_reduce_word_count_matches_map_reduce_and_empty_gives_identity() {
    let docs: Vec<String> = (0..500).map(|i| format!("w{} w{} common", i % 7, i % 11)).collect();
    let pool = Pool::new(2);
    let folded = pool
        .fold_reduce(
            docs.clone(),
            HashMap::<String, usize>::new,
            |mut counts, doc: String| {
                for w in doc.split_whitespace() {
                    *counts.entry(w.to_owned()).or_default() += 1;
                }
                counts
            },
            |mut a, b| {
                for (w, n) in b {
                    *a.entry(w).or_default() += n;
                }
                a
            },
        )
        .unwrap();
    assert_eq!(folded["common"], 500);
    assert_eq!(folded.values().sum::<usize>(), 1500);
    assert_eq!(pool.fold_reduce(Vec::<u8>::new(), || 42u64, |a, _| a, |a, b| a + b).unwrap(), 42);
    let err =
        pool.fold_reduce(0..50u32, || 0, |a, n| if n == 9 { panic!("nine") } else { a + n }, |a, b| a + b);
    assert_eq!(err.unwrap_err().panic_message(), Some("nine"));
}

#[test]
fn map_reduce_slice_borrows_keeps_order_and_reports_panics() {
    let pool = Pool::new(2);
    let data: Vec<u64> = (0..100_000).collect();
    let scale = 3u64; // borrowed by the jobs
    let expected: u64 = data.iter().map(|n| n * scale).sum();
    assert_eq!(pool.map_reduce_slice(&data, |n| n * scale, |a, b| a + b).unwrap(), Some(expected));
    let letters: Vec<String> = (b'a'..=b'z').map(|c| (c as char).to_string()).collect();
    let joined = pool.map_reduce_slice(&letters, Clone::clone, |a, b| a + &b).unwrap().unwrap();
    assert_eq!(joined, "abcdefghijklmnopqrstuvwxyz", "non-commutative reduce keeps slice order");
    assert_eq!(pool.map_reduce_slice(&[] as &[u8], |&b| b, |a, b| a + b).unwrap(), None);
    let err =
        pool.map_reduce_slice(&data, |&n| if n == 77_777 { panic!("bad item") } else { n }, |a, b| a + b);
    assert_eq!(err.unwrap_err().panic_message(), Some("bad item"));
    assert_eq!(pool.submit(|| 5).wait().unwrap(), 5, "the pool still works");
}

#[test]
fn map_slice_keeps_slice_order_and_borrows() {
    let pool = Pool::new(3);
    let data: Vec<u64> = (0..100_003).collect();
    let scale = 3u64; // borrowed by the jobs
    let out = pool.map_slice(&data, |n| n * scale).unwrap();
    assert_eq!(out, data.iter().map(|n| n * scale).collect::<Vec<_>>());
    let letters: Vec<String> = (b'a'..=b'z').map(|c| (c as char).to_string()).collect();
    assert_eq!(
        pool.map_slice(&letters, |s| s.to_uppercase()).unwrap().concat(),
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    );
    assert!(pool.map_slice(&[] as &[u8], |&b| b).unwrap().is_empty());
    assert_eq!(pool.map_slice(&[7u8], |&b| b + 1).unwrap(), [8], "fewer items than workers");
    assert_eq!(pool.map_slice(&data, |_| ()).unwrap().len(), data.len(), "zero-sized results");
}

/// The calling thread maps too: with every worker blocked, `map`, `map_slice` and
/// `map_reduce_slice` still finish (on the caller alone) instead of waiting for a worker.
#[test]
fn maps_finish_on_the_calling_thread_while_every_worker_is_busy() {
    within(WATCHDOG, || {
        let pool = Pool::new(2);
        let mut release = ReleaseOnDrop(Vec::new());
        let mut blocked = Vec::new();
        for _ in 0..2 {
            let (go, started, job) = blocker();
            blocked.push(pool.submit(job));
            started.recv().unwrap();
            release.0.push(go);
        }
        // The ordered lazy map too: the caller maps the batches no worker has started.
        let caller = thread::current().id();
        let ordered: Vec<u32> = pool.map(0..1_000u32, |n| n * 3).map(Result::unwrap).collect();
        assert_eq!(ordered, (0..1_000).map(|n| n * 3).collect::<Vec<_>>());
        assert!(pool.map(0..10u32, move |_| thread::current().id() == caller).all(|here| here.unwrap()));
        let data: Vec<u32> = (0..1_000).collect();
        let out = pool.map_slice(&data, |&n| (n * 2, thread::current().id())).unwrap();
        assert!(out.iter().zip(0..).all(|(&(v, id), n)| v == n * 2 && id == caller));
        assert_eq!(pool.map_reduce_slice(&data, |&n| u64::from(n), |a, b| a + b).unwrap(), Some(499_500));
    });
}

#[test]
fn as_completed_next_timeout_does_not_hold_the_consumer_behind_a_hung_job() {
    use ringfence::channel::RecvTimeoutError;
    within(WATCHDOG, || {
        let pool = Pool::new(2);
        let (release, started, job) = blocker();
        let hung = pool.submit(job);
        started.recv().unwrap();
        let quick = pool.submit(|| ());
        let mut done = as_completed([hung, quick]);
        assert_eq!(done.next_timeout(WATCHDOG).map(|(i, _)| i), Ok(1));
        assert!(matches!(done.next_timeout(Duration::from_millis(10)), Err(RecvTimeoutError::Timeout)));
        assert!(matches!(done.next_deadline(std::time::Instant::now()), Err(RecvTimeoutError::Timeout)));
        assert_eq!(done.len(), 1, "a timeout takes nothing");
        release.send(()).unwrap();
        assert_eq!(done.next_timeout(Duration::MAX).map(|(i, _)| i), Ok(0));
        assert!(matches!(done.next_timeout(Duration::ZERO), Err(RecvTimeoutError::Disconnected)));
    });
}

/// From a user's review: `map_unordered` and `map_reduce` called from a job of their own pool
/// hung on a one-thread pool (their batches waited for the only worker, the caller itself);
/// now they map on the caller there, as the ordered `map` could already.
#[test]
fn nested_maps_inside_a_job_of_a_one_thread_pool_finish() {
    within(WATCHDOG, || {
        let pool = Arc::new(Pool::new(1));
        let inner = Arc::clone(&pool);
        let task = pool.submit(move || {
            let ordered: u64 = inner.map(0..100u64, |n| n * 2).map(Result::unwrap).sum();
            let unordered: u64 = inner.map_unordered(0..100u64, |n| n * 2).map(Result::unwrap).sum();
            let reduced = inner.map_reduce(0..100u64, |n| n * 2, |a, b| a + b).unwrap();
            (ordered, unordered, reduced)
        });
        assert_eq!(task.wait().unwrap(), (9900, 9900, Some(9900)));
        drop(pool);
    });
}

/// From the review of the help policy: a `map_unordered` whose caller does not help (slow or not
/// yet measured jobs) still finishes when every worker is blocked, on the caller after a grace
/// (it waited for ever at first); and across pools, and when built outside a job and iterated
/// inside one of its own pool.
#[test]
fn map_unordered_finishes_beside_blocked_workers_and_across_pools() {
    within(WATCHDOG, || {
        let pool = Pool::new(1);
        let (release, started, job) = blocker();
        let blocked = pool.submit(job);
        started.recv().unwrap();
        // Slow items: measured, the caller stops helping; the grace still lets it finish.
        let slow = |n: u32| {
            thread::sleep(Duration::from_millis(2));
            n
        };
        assert_eq!(pool.map_unordered(0..3u32, slow).map(Result::unwrap).sum::<u32>(), 3);
        assert_eq!(pool.map_unordered(0..3u32, |n| n).count(), 3);
        release.send(()).unwrap();
        blocked.wait().unwrap();

        let (a, b) = (Arc::new(Pool::new(1)), Arc::new(Pool::new(1)));
        let (a2, b2) = (Arc::clone(&a), Arc::clone(&b));
        let nested = a.submit(move || {
            let a3 = Arc::clone(&a2);
            b2.map_unordered(0..2u32, move |n| a3.map_unordered(0..2u32, |m| m).count() as u32 + n)
                .map(Result::unwrap)
                .sum::<u32>()
        });
        assert_eq!(nested.wait().unwrap(), 5);

        let pool = Pool::new(1);
        let made_outside = pool.map_unordered(0..100u32, |n| n);
        let counted = pool.scope(|s| s.submit(move || made_outside.count()).wait().unwrap());
        assert_eq!(counted, 100);
    });
}

/// A gate that items wait on until the consumer opens it.
#[derive(Clone, Default)]
struct Gate(Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>);

impl Gate {
    fn wait(&self) {
        let (open, signal) = &*self.0;
        let mut open = open.lock().unwrap();
        while !*open {
            open = signal.wait(open).unwrap();
        }
    }

    fn open(&self) {
        let (open, signal) = &*self.0;
        *open.lock().unwrap() = true;
        signal.notify_all();
    }
}

/// From a user's review: while jobs are slow, the caller of a lazy map maps no batch a worker
/// could take (only the ordered map's front one, which it waits for anyway), so a straggler on
/// the caller cannot hold back the results after it (it stalled `map_unordered` for its whole
/// run, and the workers with it). Items take 300 µs (past the 50 µs a job may take for the
/// caller to help), and from 10 on they wait until the consumer has the first ten: a caller
/// that took one of those would wait for itself.
#[test]
fn a_lazy_maps_caller_never_holds_results_back_behind_a_batch_it_maps() {
    for ordered in [false, true] {
        within(WATCHDOG, move || {
            let pool = Pool::new(2);
            let gate = Gate::default();
            let slow = gate.clone();
            let f = move |n: u32| {
                thread::sleep(Duration::from_micros(300));
                if n >= 10 {
                    slow.wait();
                }
                n
            };
            let results: Box<dyn Iterator<Item = Result<u32, TaskError>>> = if ordered {
                Box::new(pool.map(0..40u32, f).max_batch(1))
            } else {
                Box::new(pool.map_unordered(0..40u32, f).max_batch(1))
            };
            let mut seen = Vec::new();
            for result in results {
                seen.push(result.unwrap());
                if seen.len() == 10 {
                    gate.open();
                }
            }
            seen.sort_unstable();
            assert_eq!(seen, (0..40).collect::<Vec<_>>(), "ordered: {ordered}");
        });
    }
}

/// How long a map over a full queue may take before the test calls it a hang: far more than
/// the work needs (a hang detector, never a speed limit).
const HANG: Duration = Duration::from_secs(10);

/// Queue capacities the full-queue tests run with: 0 (a rendezvous: no room while every
/// worker is busy) and 1 (kept full by a job queued behind the busy workers).
const FULL_QUEUES: [usize; 2] = [0, 1];

/// A pool of two workers, both blocked until the returned guard is dropped, whose queue of
/// `capacity` (0 or 1) has no room: nothing more can be queued until the guard goes.
fn pool_with_a_full_queue(capacity: usize) -> (Pool, ReleaseOnDrop) {
    let pool = Pool::builder().threads(2).queue_capacity(capacity).build().unwrap();
    let mut release = ReleaseOnDrop(Vec::new());
    for _ in 0..pool.threads() {
        let (go, started, job) = blocker();
        let task = pool.submit(job);
        started.recv().unwrap();
        drop(task); // the job has started: dropping its task cancels nothing
        release.0.push(go);
    }
    for _ in 0..capacity {
        drop(pool.submit(|| ())); // fills the queue (the job is skipped once a worker is free)
    }
    assert!(pool.try_submit(|| ()).is_err(), "the queue is full");
    (pool, release)
}

/// With every worker blocked and no room in the queue, `map` cannot queue a single batch: it
/// maps every item on the calling thread, in order, instead of blocking in `submit`.
#[test]
fn map_finishes_on_the_caller_when_the_queue_is_full() {
    for capacity in FULL_QUEUES {
        within(HANG, move || {
            let (pool, release) = pool_with_a_full_queue(capacity);
            let caller = thread::current().id();
            let out: Vec<(u64, bool)> = pool
                .map(0..1_000u64, move |n| (n * n, thread::current().id() == caller))
                .map(Result::unwrap)
                .collect();
            assert_eq!(out, (0..1_000).map(|n| (n * n, true)).collect::<Vec<_>>(), "capacity {capacity}");
            drop(release);
        });
    }
}

/// As above for `map_unordered`: every item exactly once, all mapped on the calling thread.
#[test]
fn map_unordered_finishes_on_the_caller_when_the_queue_is_full() {
    for capacity in FULL_QUEUES {
        within(HANG, move || {
            let (pool, release) = pool_with_a_full_queue(capacity);
            let caller = thread::current().id();
            let mut out: Vec<(u64, bool)> = pool
                .map_unordered(0..1_000u64, move |n| (n * n, thread::current().id() == caller))
                .map(Result::unwrap)
                .collect();
            out.sort_unstable();
            assert_eq!(out, (0..1_000).map(|n| (n * n, true)).collect::<Vec<_>>(), "capacity {capacity}");
            drop(release);
        });
    }
}

/// As above for `map_reduce` (and so `fold_reduce`, which shares its engine): the right sum,
/// every chunk mapped and reduced on the calling thread.
#[test]
fn map_reduce_finishes_on_the_caller_when_the_queue_is_full() {
    for capacity in FULL_QUEUES {
        within(HANG, move || {
            let (pool, release) = pool_with_a_full_queue(capacity);
            let caller = thread::current().id();
            let total = pool
                .map_reduce(
                    1..=1_000u64,
                    move |n| (n * n, thread::current().id() == caller),
                    |a, b| (a.0 + b.0, a.1 && b.1),
                )
                .unwrap();
            assert_eq!(total, Some((333_833_500, true)), "capacity {capacity}");
            let folded = pool.fold_reduce(1..=100u64, || 0, |a, n| a + n, |a, b| a + b).unwrap();
            assert_eq!(folded, 5_050, "capacity {capacity}");
            drop(release);
        });
    }
}

/// Items per map in the mixed-queue test.
const MIXED_ITEMS: u32 = 3_000;

/// A one-slot queue in front of two workers, items of uneven cost: some batches are queued,
/// some find the queue full and are left to the caller, and the caller also takes queued ones
/// no worker has started. Every item still comes back exactly once (in order for `map`).
#[test]
fn maps_over_a_one_slot_queue_yield_every_item_once() {
    within(WATCHDOG, || {
        let pool = Pool::builder().threads(2).queue_capacity(1).in_flight(4).build().unwrap();
        let uneven = |n: u32| {
            if n % 61 == 0 {
                thread::sleep(Duration::from_micros(200));
            }
            u64::from(n) * 2
        };
        let expected: Vec<u64> = (0..MIXED_ITEMS).map(uneven).collect();
        for max_batch in [1, 8, 64] {
            let ordered: Vec<u64> =
                pool.map(0..MIXED_ITEMS, uneven).max_batch(max_batch).map(Result::unwrap).collect();
            assert_eq!(ordered, expected, "map, max_batch {max_batch}");
            let mut unordered: Vec<u64> =
                pool.map_unordered(0..MIXED_ITEMS, uneven).max_batch(max_batch).map(Result::unwrap).collect();
            unordered.sort_unstable();
            assert_eq!(unordered, expected, "map_unordered, max_batch {max_batch}");
        }
        let total = pool.map_reduce_chunked(0..MIXED_ITEMS, 7, uneven, |a, b| a + b).unwrap();
        assert_eq!(total, Some(expected.iter().sum()));
    });
}

/// Panics in several chunks (and the first and last item): the first in slice order is
/// returned, every result made (in finished chunks and before the panic in the others) is
/// dropped exactly once, and the pool still works.
#[test]
fn map_slice_reports_the_first_panic_and_drops_every_result_made() {
    let pool = Pool::new(2);
    let data: Vec<u64> = (0..10_000).collect();
    let counter = DropCounter::new();
    for bad in [vec![0], vec![9_999], vec![5_000, 1_234, 8_000], vec![3]] {
        let first = *bad.iter().min().unwrap();
        let err = pool
            .map_slice(&data, |&n| if bad.contains(&n) { panic!("item {n}") } else { counter.make(n) })
            .err()
            .expect("a panicking map fails");
        assert_eq!(err.panic_message(), Some(format!("item {first}").as_str()));
        assert!(counter.created() > 0);
        assert_eq!(counter.live(), 0, "results of the failed map leaked (bad items {bad:?})");
    }
    let Ok(out) = pool.map_slice(&data, |&n| counter.make(n)) else { panic!("no item panics") };
    assert!(out.iter().zip(0..).all(|(t, i)| t.id == i));
    assert_eq!(counter.live(), data.len());
    drop(out);
    assert_eq!(counter.live(), 0);
    assert_eq!(counter.dropped(), counter.created(), "each result dropped exactly once");
    assert_eq!(pool.submit(|| 5).wait().unwrap(), 5, "the pool still works");
}

#[test]
#[should_panic(expected = "Pool::fold_reduce_chunked: chunk_size must be at least 1")]
fn fold_reduce_chunk_zero_panics_clearly() {
    let pool = Pool::new(1);
    let _ = pool.fold_reduce_chunked(0..1u8, 0, || 0, |a, n| a + n, |a, b| a + b);
}

#[test]
#[should_panic(expected = "Pool::map_reduce_chunked: chunk_size must be at least 1")]
fn map_reduce_chunk_zero_panics_clearly() {
    let pool = Pool::new(1);
    let _ = pool.map_reduce_chunked(0..1u8, 0, |n| n, |a, b| a + b);
}

// ---------------------------------------------------------------------------------------------
// Stress
// ---------------------------------------------------------------------------------------------

/// Tasks per submitting thread in the stress test.
const STRESS_TASKS: u64 = 20_000;

#[test]
fn many_submitters_every_task_resolves_once() {
    within(WATCHDOG, || {
        let pool = Arc::new(Pool::builder().threads(3).queue_capacity(64).build().unwrap());
        let submitters: Vec<_> = (0..4u64)
            .map(|t| {
                let pool = pool.clone();
                thread::spawn(move || {
                    let mut sum = 0u64;
                    let mut window = std::collections::VecDeque::new();
                    for i in 0..STRESS_TASKS {
                        let v = t * STRESS_TASKS + i;
                        window.push_back(pool.submit(move || v));
                        if window.len() > 32 {
                            sum += window.pop_front().unwrap().wait().unwrap();
                        }
                        if i % 1000 == 0 {
                            drop(pool.submit(move || v)); // cancelled or dropped, never counted
                        }
                    }
                    sum + window.into_iter().map(|t| t.wait().unwrap()).sum::<u64>()
                })
            })
            .collect();
        let total: u64 = submitters.into_iter().map(|h| h.join().unwrap()).sum();
        let n = 4 * STRESS_TASKS;
        assert_eq!(total, n * (n - 1) / 2);
    });
}

#[test]
fn submit_async_waits_for_room_without_blocking_and_a_dropped_submit_never_runs() {
    use std::future::Future;
    within(WATCHDOG, || {
        let pool = Pool::builder().threads(1).queue_capacity(1).build().unwrap();
        let (open, gate) = mpsc::channel::<()>();
        // The worker waits in the first job; the second fills the queue.
        let busy = pool.submit(move || gate.recv().is_ok());
        let _filler = eventually(WATCHDOG, "the queue has room for one", || pool.try_submit(|| 1).ok());
        let ran = Arc::new(AtomicBool::new(false));
        let counter = DropCounter::new();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        {
            // Full: the submit waits without blocking this thread (the poll returns).
            let (ran, captured) = (ran.clone(), counter.make(7));
            let mut submitting = Box::pin(pool.submit_async(move || {
                ran.store(true, Ordering::SeqCst);
                captured.into_id()
            }));
            assert!(submitting.as_mut().poll(&mut cx).is_pending());
        } // dropped before it resolved: never queued, its closure dropped unrun
        assert_eq!(counter.dropped(), 1, "the closure was dropped with the future");
        let mut submitting = Box::pin(pool.submit_async(|| 40 + 2));
        assert!(submitting.as_mut().poll(&mut cx).is_pending());
        open.send(()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let answer = rt.block_on(async { submitting.await.await });
        assert_eq!(answer.unwrap(), 42);
        busy.wait().unwrap();
        pool.shutdown();
        assert!(!ran.load(Ordering::SeqCst), "the dropped submit's closure never ran");
    });
}

#[test]
fn spawn_async_waits_for_room_without_blocking_and_a_dropped_spawn_never_runs() {
    use std::future::Future;
    within(WATCHDOG, || {
        let pool = Pool::builder().threads(1).queue_capacity(1).build().unwrap();
        let (open, gate) = mpsc::channel::<()>();
        let busy = pool.submit(move || gate.recv().is_ok());
        eventually(WATCHDOG, "the queue has room for one", || pool.try_spawn(|| {}).ok());
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = DropCounter::new();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        {
            let (ran, captured) = (ran.clone(), counter.make(7));
            let mut spawning = Box::pin(pool.spawn_async(move || {
                ran.fetch_add(100, Ordering::SeqCst);
                drop(captured);
            }));
            assert!(spawning.as_mut().poll(&mut cx).is_pending(), "full: it waits, the thread does not");
        } // dropped before it resolved: never queued
        assert_eq!(counter.dropped(), 1, "the closure was dropped with the future, unrun");
        // Full still: `try_spawn` hands the closure back, and it runs here.
        let here = Arc::new(AtomicBool::new(false));
        let flag = here.clone();
        let refused = pool.try_spawn(move || flag.store(true, Ordering::SeqCst));
        refused.map_err(TrySubmitError::into_inner).expect_err("the queue is full")();
        assert!(here.load(Ordering::SeqCst), "the refused closure came back and ran here");
        // A spawn waiting for room on a current-thread runtime lets another task open the gate.
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let counted = ran.clone();
        rt.block_on(async {
            let spawning = pool.spawn_async(move || {
                counted.fetch_add(1, Ordering::SeqCst);
            });
            let opener = async {
                tokio::task::yield_now().await;
                open.send(()).unwrap();
            };
            tokio::join!(spawning, opener);
        });
        assert!(busy.wait().unwrap());
        pool.shutdown();
        assert_eq!(ran.load(Ordering::SeqCst), 1, "the awaited spawn ran once, the dropped one never");
    });
}

#[test]
fn shutdown_async_runs_the_queue_without_blocking_the_runtime() {
    within(WATCHDOG, || {
        let pool = Pool::new(1);
        let (release, gate) = mpsc::channel::<()>();
        let busy = pool.submit(move || gate.recv().is_ok());
        let queued: Vec<_> = (0..10u64).map(|i| pool.submit(move || i * 2)).collect();
        // One thread runs both tasks: a shutdown that blocked it until the workers ended would
        // never let the second task release the job they wait behind.
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let stopping = pool.shutdown_async();
            let releaser = async {
                tokio::task::yield_now().await;
                release.send(()).unwrap();
            };
            tokio::join!(stopping, releaser);
        });
        // Resolved only once every queued job had run.
        assert!(busy.is_finished() && queued.iter().all(|task| task.is_finished()));
        assert!(busy.wait().unwrap());
        let results: Vec<u64> = queued.into_iter().map(|task| task.wait().unwrap()).collect();
        assert_eq!(results, (0..10).map(|i| i * 2).collect::<Vec<_>>(), "every queued job ran");
    });
}

#[test]
fn shutdown_now_async_cancels_the_queue_and_waits_for_the_running_job() {
    within(WATCHDOG, || {
        let pool = Pool::new(1);
        let (release, gate) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel();
        let busy = pool.submit(move || {
            started_tx.send(()).unwrap();
            gate.recv().is_ok()
        });
        started.recv().unwrap();
        let queued: Vec<_> = (0..5).map(|i| pool.submit(move || i)).collect();
        let stopping = pool.shutdown_now_async();
        for task in queued {
            assert!(task.wait().unwrap_err().is_cancelled());
        }
        assert!(!busy.is_finished(), "the running job is still held at its gate");
        let mut stopping = stopping;
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(std::pin::Pin::new(&mut stopping).poll(&mut cx).is_pending(), "the job still runs");
        release.send(()).unwrap();
        async_util::block_on(stopping); // the ten-line executor: no runtime needed
        assert!(busy.is_finished(), "resolved only after the running job finished");
        assert!(busy.wait().unwrap());
    });
}

#[test]
fn a_dropped_shutdown_future_still_lets_the_workers_finish_the_queue() {
    within(WATCHDOG, || {
        let pool = Pool::builder().threads(1).thread_name("sd-probe").build().unwrap();
        // The thread names itself once it runs.
        #[cfg(target_os = "linux")]
        eventually(WATCHDOG, "the worker runs", || {
            (common::threads_named("sd-probe-0").len() == 1).then_some(())
        });
        let ran = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let ran = ran.clone();
                pool.submit(move || {
                    thread::sleep(Duration::from_micros(100));
                    ran.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        drop(pool.shutdown_async()); // never polled: the shutdown has begun anyway
        for task in tasks {
            task.wait().unwrap();
        }
        assert_eq!(ran.load(Ordering::SeqCst), 50);
        // The detached workers leave their loop and their threads end.
        #[cfg(target_os = "linux")]
        eventually(WATCHDOG, "the workers end", || {
            common::threads_named("sd-probe-0").is_empty().then_some(())
        });
    });
}

#[test]
fn shutdown_future_is_send_sync_and_unpin() {
    fn assert_send_sync_unpin<T: Send + Sync + Unpin>() {}
    assert_send_sync_unpin::<ringfence::pool::ShutdownFuture>();
}

/// `shutdown_async` awaited inside a job of the same pool would wait for its own worker: the
/// poll panics with a clear message instead of hanging (the job's task reports it).
#[test]
fn shutdown_async_awaited_on_its_own_worker_panics_instead_of_hanging() {
    within(WATCHDOG, || {
        let pool = Pool::new(1);
        let (hand_over, receive) = mpsc::channel::<Pool>();
        let task = pool.submit(move || {
            let pool = receive.recv().unwrap();
            async_util::block_on(pool.shutdown_async());
        });
        hand_over.send(pool).unwrap();
        let error = task.wait().unwrap_err();
        let message = error.panic_message().expect("a panic with a message");
        assert!(message.contains("awaited inside a job of the same pool"), "{message}");
    });
}

/// `n` tasks on `pool`, task `i` returning `i * 10` once its gate (`opens[i]`) is opened.
fn gated_tasks(pool: &Pool, n: usize) -> (Vec<mpsc::Sender<()>>, Vec<ringfence::pool::Task<usize>>) {
    let (opens, waits): (Vec<_>, Vec<_>) = (0..n).map(|_| mpsc::channel::<()>()).unzip();
    let tasks = waits
        .into_iter()
        .enumerate()
        .map(|(i, gate)| {
            pool.submit(move || {
                gate.recv().unwrap();
                i * 10
            })
        })
        .collect();
    (opens, tasks)
}

#[test]
fn as_completed_next_async_yields_in_completion_order_without_blocking() {
    within(WATCHDOG, || {
        let pool = Pool::new(3);
        let (opens, tasks) = gated_tasks(&pool, 3);
        let mut done = as_completed(tasks);
        // One thread runs the collector (the `block_on` future, woken only by `next_async`'s
        // own waker: a lost wake hangs it) and the opener (a task of its own, which opens the
        // next gate once the collector has yielded the previous result). A `next` that
        // blocked the thread would never let the opener run.
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let order = rt.block_on(async {
            let yielded = Arc::new(tokio::sync::Notify::new());
            let opener = tokio::spawn({
                let yielded = yielded.clone();
                async move {
                    for i in [2, 0, 1] {
                        opens[i].send(()).unwrap();
                        yielded.notified().await;
                    }
                }
            });
            let mut order = Vec::new();
            while let Some((position, result)) = done.next_async().await {
                order.push((position, result.unwrap()));
                yielded.notify_one();
            }
            opener.await.unwrap();
            order
        });
        assert_eq!(order, [(2, 20), (0, 0), (1, 10)], "completion order, each task once");
    });
}

/// `next_async` dropped in `select!` whenever it is pending (a `biased` select whose second
/// branch is ready every other round) and a blocking `next` every seventh round: every task's
/// result is yielded exactly once.
#[test]
fn as_completed_next_async_cancelled_in_select_loses_nothing() {
    within(WATCHDOG, || {
        let pool = Pool::new(2);
        let tasks: Vec<_> = (0..200u64)
            .map(|i| {
                pool.submit(move || {
                    if i % 7 == 0 {
                        thread::sleep(Duration::from_micros(200));
                    }
                    i
                })
            })
            .collect();
        let mut done = as_completed(tasks);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut seen = vec![0u32; 200];
        rt.block_on(async {
            let mut round = 0u64;
            loop {
                round += 1;
                let next = if round % 7 == 0 {
                    done.next() // blocking, fine in a test
                } else {
                    tokio::select! {
                        biased;
                        next = done.next_async() => next,
                        () = std::future::ready(()), if round % 2 == 1 => continue, // drops it
                    }
                };
                let Some((position, result)) = next else { break };
                assert_eq!(result.unwrap(), position as u64);
                seen[position] += 1;
            }
        });
        assert!(seen.iter().all(|&n| n == 1), "every result exactly once");
    });
}

#[test]
fn as_completed_next_async_is_send_and_unpin() {
    fn assert_send_unpin<T: Send + Unpin>(_: &T) {}
    let mut done = as_completed(Vec::<ringfence::pool::Task<u64>>::new());
    assert_send_unpin(&done.next_async());
}

/// A `next_async` polled while nothing has finished (registered on the ready channel) and then
/// dropped loses nothing: the task that finishes afterwards is yielded by the next call.
#[test]
fn a_dropped_pending_next_async_loses_no_result() {
    within(WATCHDOG, || {
        let pool = Pool::new(1);
        let (open, gate) = mpsc::channel::<()>();
        let mut done = as_completed([pool.submit(move || gate.recv().is_ok())]);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        {
            let mut next = std::pin::pin!(done.next_async());
            assert!(next.as_mut().poll(&mut cx).is_pending(), "nothing finished yet");
        } // dropped while waiting
        // The next call waits too (registered before the gate opens), then is woken.
        {
            let mut next = std::pin::pin!(done.next_async());
            assert!(next.as_mut().poll(&mut cx).is_pending(), "still nothing finished");
            open.send(()).unwrap();
            let (position, result) = async_util::block_on(next).expect("the task is still there");
            assert_eq!((position, result.unwrap()), (0, true));
        }
        assert!(async_util::block_on(done.next_async()).is_none());
    });
}

/// A wait left registered on the ready channel (an async poll whose future was forgotten, as a
/// `Stream` stays registered between polls) must not take the wakeup of a blocking `next`:
/// the channel wakes a registered future before a parked thread, and the registered waker
/// here does nothing, so a `next` that blocked with it still queued would sleep forever.
#[test]
fn a_registration_left_by_an_async_poll_does_not_strand_a_blocking_next() {
    within(WATCHDOG, || {
        let pool = Pool::new(1);
        let (open, gate) = mpsc::channel::<()>();
        let mut done = as_completed([pool.submit(move || gate.recv().is_ok())]);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut next = Box::pin(done.next_async());
        assert!(next.as_mut().poll(&mut cx).is_pending(), "nothing finished yet");
        std::mem::forget(next); // its registration stays, with a waker that wakes nobody
        let opener = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20)); // let `next` below get to its park
            open.send(()).unwrap();
        });
        let (position, result) = done.next().expect("the task is yielded");
        assert_eq!((position, result.unwrap()), (0, true));
        opener.join().unwrap();
        assert!(done.next().is_none());
    });
}

/// With the `futures` feature `as_completed(..).into_stream()` is a `Stream` (and a
/// `FusedStream`): completion order, the size hint counting down, termination after the last
/// task, through `StreamExt::next` on the wake-only `block_on` (a lost wake hangs it).
#[cfg(feature = "futures")]
#[test]
fn as_completed_into_stream_is_a_fused_stream_in_completion_order() {
    use futures_core::{FusedStream, Stream};
    use futures_util::StreamExt;
    within(WATCHDOG, || {
        let pool = Pool::new(3);
        let (opens, tasks) = gated_tasks(&pool, 3);
        let mut stream = as_completed(tasks).into_stream();
        assert_eq!(stream.size_hint(), (3, Some(3)));
        let mut order = Vec::new();
        for i in [1, 2, 0] {
            opens[i].send(()).unwrap();
            let (position, result) = async_util::block_on(stream.next()).unwrap();
            order.push((position, result.unwrap()));
            assert_eq!(stream.is_terminated(), order.len() == 3);
        }
        assert_eq!(order, [(1, 10), (2, 20), (0, 0)]);
        assert_eq!(stream.size_hint(), (0, Some(0)));
        assert!(async_util::block_on(stream.next()).is_none());
    });
}

/// A borrowing stream polled `Pending` and dropped withdraws its registration (the waker is
/// released at once), and the set goes on with `next_async`.
#[cfg(feature = "futures")]
#[test]
fn a_dropped_pending_stream_releases_its_waker_and_the_set_goes_on() {
    use futures_core::Stream;
    use std::pin::Pin;
    within(WATCHDOG, || {
        let pool = Pool::new(1);
        let (open, gate) = mpsc::channel::<()>();
        let mut done = as_completed([pool.submit(move || gate.recv().is_ok())]);
        let (counter, waker) = async_util::counting();
        {
            let mut stream = done.stream();
            let mut cx = std::task::Context::from_waker(&waker);
            assert!(Pin::new(&mut stream).poll_next(&mut cx).is_pending());
            assert_eq!(async_util::held(&counter), 1, "registered on the ready channel");
        }
        assert_eq!(async_util::held(&counter), 0, "the dropped stream withdrew its registration");
        open.send(()).unwrap();
        let (position, result) = async_util::block_on(done.next_async()).expect("the task is yielded");
        assert_eq!((position, result.unwrap()), (0, true));
        assert_eq!(counter.wakes(), 0, "nothing woke the dropped stream's waker");
    });
}

/// A `next_async` polled `Pending` and dropped withdraws its registration at once (its waker
/// is not kept until the next poll).
#[test]
fn a_dropped_pending_next_async_releases_its_waker() {
    within(WATCHDOG, || {
        let pool = Pool::new(1);
        let (open, gate) = mpsc::channel::<()>();
        let mut done = as_completed([pool.submit(move || gate.recv().is_ok())]);
        let (counter, waker) = async_util::counting();
        {
            let mut next = std::pin::pin!(done.next_async());
            assert!(next.as_mut().poll(&mut std::task::Context::from_waker(&waker)).is_pending());
            assert_eq!(async_util::held(&counter), 1, "registered on the ready channel");
        }
        assert_eq!(async_util::held(&counter), 0, "the dropped future withdrew its registration");
        open.send(()).unwrap();
        assert_eq!(done.next().map(|(position, result)| (position, result.unwrap())), Some((0, true)));
    });
}

/// A `NextFuture` polled again after `Ready` is a view of the set: it yields the next task
/// (and `None` once every task was yielded), as a fresh `next_async()` would.
#[test]
fn a_next_future_polled_after_ready_yields_the_next_task() {
    within(WATCHDOG, || {
        let pool = Pool::new(2);
        let mut done = as_completed([pool.submit(|| 1u8), pool.submit(|| 2u8)]);
        let mut next = done.next_async();
        let mut got: Vec<u8> =
            (0..2).map(|_| async_util::block_on(&mut next).expect("a task left").1.unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert!(async_util::block_on(&mut next).is_none());
    });
}

/// `submit_timeout` / `submit_deadline`: the blocking submit's timed forms (the `x_timeout` /
/// `x_deadline` family every blocking call has), handing the closure back unrun on a timeout.
#[test]
fn submit_timeout_hands_the_closure_back_when_the_queue_stays_full() {
    let pool = Pool::builder().threads(1).queue_capacity(1).build().unwrap();
    let (release, gate) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel();
    let busy = pool.submit(move || {
        started_tx.send(()).unwrap();
        gate.recv().unwrap();
    });
    started.recv().unwrap();
    let queued = pool.submit(|| 1); // fills the queue
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    let err = pool
        .submit_timeout(
            move || {
                flag.store(true, Ordering::SeqCst);
                2
            },
            Duration::from_millis(20),
        )
        .unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(err.to_string(), "timed out waiting for room in the pool's queue");
    assert_eq!(format!("{err:?}"), "Timeout(..)");
    let past = std::time::Instant::now() - Duration::from_millis(1);
    let err = pool.submit_deadline(|| 3, past).unwrap_err();
    assert!(!ran.load(Ordering::SeqCst), "a timed-out closure never runs on the pool");
    release.send(()).unwrap();
    busy.wait().unwrap();
    assert_eq!(queued.wait().unwrap(), 1);
    assert_eq!(err.into_inner()(), 3);
    // Room: a deadline already past still queues, and `Duration::MAX` waits as long as needed.
    let task = pool.submit_deadline(|| 4, past).unwrap();
    assert_eq!(task.wait().unwrap(), 4);
    assert_eq!(pool.submit_timeout(|| 5, Duration::MAX).unwrap().wait().unwrap(), 5);
}
