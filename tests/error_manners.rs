//! The manners every handle and error of the crate shares with std's and crossbeam's: errors go
//! into `Box<dyn Error + Send + Sync>` (so `?` into `anyhow::Error` works), a chain of causes
//! names each cause once, and handles can be used inside `catch_unwind` without
//! `AssertUnwindSafe`.

use ringfence::pipeline::{Pipeline, PipelineError, StageError};
use ringfence::pool::{BuildError, Pool, TaskError, WaitTimeoutError};
use ringfence::scatter::NotEnough;
use std::error::Error;
use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};

fn error_send_sync<E: Error + Send + Sync + 'static>() {}
fn unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}

#[test]
fn pattern_errors_are_send_and_sync() {
    error_send_sync::<TaskError>();
    error_send_sync::<WaitTimeoutError>();
    error_send_sync::<BuildError>();
    error_send_sync::<StageError>();
    error_send_sync::<PipelineError<Vec<u8>>>();
    error_send_sync::<NotEnough<u8, String>>();
    error_send_sync::<ringfence::actor::ActorError>();
}

/// A task's panic goes into the box every error-handling crate takes, with `?`.
#[test]
fn a_task_panic_goes_into_a_send_sync_box_with_question_mark() {
    fn run(pool: &Pool) -> Result<u8, Box<dyn Error + Send + Sync>> {
        Ok(pool.submit(|| -> u8 { panic!("boom") }).wait()?)
    }
    let pool = Pool::new(1);
    let err = run(&pool).unwrap_err();
    assert_eq!(err.to_string(), "task panicked: boom");
    // The payload is still there, by value, for `resume_unwind`.
    let task_error = *err.downcast::<TaskError>().unwrap();
    let payload = task_error.into_panic().unwrap();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
}

/// Inside a fallible stage, a pool task's error is `?`-ed into the crate's own `BoxError`.
#[test]
fn a_stage_can_question_mark_a_task_error() {
    let pool = std::sync::Arc::new(Pool::new(1));
    let err = Pipeline::from_iter([1u8, 0])
        .try_stage("div", move |x: u8| -> Result<u8, ringfence::pipeline::BoxError> {
            Ok(pool.submit(move || 10 / x).wait()?)
        })
        .collect()
        .unwrap_err();
    let StageError::Failed(inner) = &err.error else { panic!("the task's error, not a stage panic") };
    assert!(inner.downcast_ref::<TaskError>().is_some_and(TaskError::is_panic));
}

/// The messages of `err` and of each of its sources, in order.
fn chain(err: &(dyn Error + 'static)) -> Vec<String> {
    let mut messages = vec![err.to_string()];
    let mut next = err.source();
    while let Some(cause) = next {
        messages.push(cause.to_string());
        next = cause.source();
    }
    messages
}

/// An error whose `Display` leaves its cause to `source`, as the API guidelines ask.
#[derive(Debug)]
struct Outer(std::io::Error);

impl fmt::Display for Outer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("could not read the config")
    }
}

impl Error for Outer {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn chains_of_causes_name_each_cause_once() {
    // A stage error: its message is in the pipeline error's, its own source follows once.
    let err = Pipeline::from_iter([1u8])
        .try_stage("load", |_| Err::<u8, _>(Outer(std::io::Error::other("disk gone"))))
        .collect()
        .unwrap_err();
    assert_eq!(chain(&err), ["pipeline stage `load` failed: could not read the config", "disk gone"]);
    assert_eq!(chain(&err.error), ["could not read the config", "disk gone"]);

    let err = Pipeline::from_iter(["x"]).try_stage("parse", |s: &str| s.parse::<u8>()).collect().unwrap_err();
    assert_eq!(chain(&err), ["pipeline stage `parse` failed: invalid digit found in string"]);

    let err = Pipeline::from_iter([0u8]).stage("inv", |x| 1 / x).collect().unwrap_err();
    assert_eq!(chain(&err), ["pipeline stage `inv` failed: panicked: attempt to divide by zero"]);

    // A timed wait for a task that panicked: the task's error, once.
    let pool = Pool::new(1);
    let err = pool
        .submit(|| -> u8 { panic!("boom") })
        .wait_timeout(std::time::Duration::from_secs(60))
        .unwrap_err();
    assert!(matches!(err, WaitTimeoutError::Failed(_)));
    assert_eq!(chain(&err), ["task panicked: boom"]);

    // A pool that cannot be built: the capacity's message, once.
    let err = Pool::builder().queue_capacity(usize::MAX).build().unwrap_err();
    let messages = chain(&err);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].starts_with("invalid queue capacity: "), "{messages:?}");
}

#[test]
fn handles_are_unwind_safe() {
    unwind_safe::<ringfence::channel::Sender<u8>>();
    unwind_safe::<ringfence::channel::Receiver<u8>>();
    unwind_safe::<ringfence::ring::Ring<u8>>();
    unwind_safe::<ringfence::oneshot::Sender<u8>>();
    unwind_safe::<ringfence::oneshot::Receiver<u8>>();
    unwind_safe::<Pool>();
    unwind_safe::<ringfence::pool::Task<u8>>();
    unwind_safe::<ringfence::Semaphore>();
    unwind_safe::<ringfence::WaitGroup>();
}

/// The blocking peers' usage: a handle used inside `catch_unwind` as it is.
#[test]
fn a_send_inside_catch_unwind_needs_no_assert_unwind_safe() {
    let (tx, rx) = ringfence::channel::bounded(1);
    let sent = std::panic::catch_unwind(|| tx.send(1u8)).unwrap();
    assert!(sent.is_ok());
    assert_eq!(std::panic::catch_unwind(|| rx.recv()).unwrap(), Ok(1));
}
