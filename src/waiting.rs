//! How blocking calls wait: the process-wide setting of the waiting layer.
//!
//! Every blocking call in ringfence (channel `send`/`recv`, the oneshot's `recv`, semaphore and
//! pool waits, their timed forms) waits the same way before it sleeps in the kernel: about
//! 1.5 µs of `pause`, then a **yield phase** of `yield_now`s, then a futex park. The yield phase
//! is four yields, or up to [`yield_phase_limit`] (50 µs by default) for a thread whose previous
//! park was over within that limit: its partner tends to answer that soon, and catching the
//! answer while yielding saves both sides the futex calls and the woken thread's wake-up
//! latency (20-40 µs on a VM whose idle vCPUs halt, 5-10 µs on bare metal). A park that lasts
//! longer shortens the phase back to four yields. A yield hands the core to any other runnable
//! thread, so the phase delays no one who could run, and it never outlasts a call's deadline.
//! (The limit counts from the first yield; for an untimed wait of a thread whose partner shares
//! its core, from the fourth: the waits that the first yields end then read no clock.)
//!
//! The price is CPU time while waits are short: a consumer whose messages arrive every 10-30 µs
//! keeps its core busy yielding (measured on the 2-core development VM: 92-100% of a core,
//! against 26-30% when it parks every time), and receives each message at once instead of a
//! wake-up later. Gaps longer than the limit cost nothing extra (10% of a core at 100 µs gaps,
//! 1% at 1 ms, as before). [`set_yield_phase_limit`] trades the other way: `Duration::ZERO`
//! parks after four yields always (least CPU), a longer limit busy-polls through longer gaps
//! (lowest latency, a core per waiting thread). See `docs/waiting.md` for the measurements.
//!
//! # Examples
//!
//! ```
//! use ringfence::waiting;
//! use std::time::Duration;
//!
//! // A daemon on a shared machine: never yield for long, sleep in the kernel instead.
//! waiting::set_yield_phase_limit(Duration::ZERO);
//! assert_eq!(waiting::yield_phase_limit(), Duration::ZERO);
//! waiting::set_yield_phase_limit(waiting::DEFAULT_YIELD_PHASE_LIMIT);
//! ```

use std::time::Duration;

/// The default of [`yield_phase_limit`]: 50 µs.
///
/// # Examples
///
/// ```
/// assert_eq!(ringfence::waiting::DEFAULT_YIELD_PHASE_LIMIT, std::time::Duration::from_micros(50));
/// ```
pub const DEFAULT_YIELD_PHASE_LIMIT: Duration = crate::wait::DEFAULT_LONG_YIELD_PHASE;

/// The longest a blocking wait yields before it parks (beyond its first four yields at most),
/// for a thread whose recent waits were that short (see the [module docs](self)). Process-wide.
///
/// # Examples
///
/// ```
/// println!("{:?}", ringfence::waiting::yield_phase_limit()); // 50µs unless changed
/// ```
#[must_use]
pub fn yield_phase_limit() -> Duration {
    crate::wait::long_yield_phase()
}

/// Sets [`yield_phase_limit`] for the whole process; waits that have already started keep the
/// limit they read. `Duration::ZERO`: always park after four yields (the least CPU). Longer than
/// the default: busy-poll through longer gaps between messages (the lowest latency, at the
/// price of a core per waiting thread while its waits keep ending within the limit). Values
/// beyond `u64::MAX` nanoseconds saturate. A timed call never yields past its deadline.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// // A trading engine with a core per thread: catch replies up to 200 µs without parking.
/// ringfence::waiting::set_yield_phase_limit(Duration::from_micros(200));
/// assert_eq!(ringfence::waiting::yield_phase_limit(), Duration::from_micros(200));
/// # ringfence::waiting::set_yield_phase_limit(ringfence::waiting::DEFAULT_YIELD_PHASE_LIMIT);
/// ```
pub fn set_yield_phase_limit(limit: Duration) {
    crate::wait::set_long_yield_phase(limit);
}
