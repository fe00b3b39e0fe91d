//! [`select!`](crate::select): crossbeam's `select!` syntax over [`Selector`](super::Selector).
//!
//! # How it expands
//!
//! Each arm gets a slot of its own (`let mut slot = None`) and becomes one operation of a
//! `Selector` whose closure only stores the operation's outcome in that slot. After the
//! selection exactly one slot is filled (the selector completes exactly one operation, or
//! none on a timeout or an empty `try_wait`), and an `if let` chain runs that arm's body with the
//! outcome bound to its pattern by a `let` (so a refutable pattern is a compile error, as in
//! crossbeam, not a mismatch at run time). The bodies are thus plain code of the caller's function, not
//! closures: `return`, `break`, `continue` and `?` in them act on the caller, as in crossbeam.
//!
//! The arms are parsed one at a time by the recursive `__select` macro, which carries what it
//! has built so far in four bracketed lists (the selector's modifiers, the slots, the
//! operations, the dispatch) and the default arm. Every arm's slot is named `slot`, yet no
//! two collide: each is written by a different expansion of `__select`, and a `macro_rules`
//! local variable is resolved within the expansion that wrote it (hygiene), so the names are
//! distinct bindings. The same hygiene keeps them out of the arms' bodies.

/// Waits for the first ready of several channel operations and runs the arm of the one it
/// completed: crossbeam's `select!`, over [`Selector`](crate::channel::Selector).
///
/// ```text
/// select! {
///     async;                                      // optional: await instead of block
///     biased;                                     // optional: the arms in order, not at random
///     recv(receiver) -> pattern => body,          // pattern: Result<T, RecvError>
///     recv_any(receivers) -> pattern => body,     // (index, Result<T, RecvError>)
///     send(sender, &mut next) -> pattern => body, // next: Option<T>; pattern: Result<(), SendError<T>>
///     send_any(senders, &mut next) -> pattern => body, // (index, Result<(), SendError<T>>)
///     future(future) -> pattern => body,          // its output; an Unpin future: a timer, `&mut oneshot`
///     default => body,                            // at most one: none ready now
///     default(timeout) => body,                   // or: none ready within `timeout` (a Duration)
/// }
/// ```
///
/// Arms are separated by commas (optional after a `{ block }` body); `biased;` before the first
/// arm looks at the operations in the order written
/// ([`Selector::biased`](crate::channel::Selector::biased)) instead of a random one, and
/// `async;` makes it await instead of block (in an `async` block or function: below). The
/// whole `select!` is an expression whose value is that of the arm that ran; all bodies have
/// one type, as a `match`'s arms.
///
/// - **Exactly one operation completes**, as with [`Selector`](crate::channel::Selector): a
///   value is received from one channel only, or sent to one channel only, and the other
///   operations leave their channels as they found them. Without a `default` arm it blocks
///   until one is ready (as [`Selector::wait`](crate::channel::Selector::wait)); `default`
///   runs when none is ready at once ([`try_wait`](crate::channel::Selector::try_wait)),
///   `default(timeout)` when none is within `timeout`
///   ([`wait_timeout`](crate::channel::Selector::wait_timeout)).
/// - **Ready** means a value to receive, room for a send, or a disconnected channel (the arm
///   gets the error, as [`Receiver::recv`](crate::channel::Receiver::recv) and
///   [`Sender::send`](crate::channel::Sender::send) give it).
/// - **A send's value stays yours until it is sent**: a send arm takes it in an
///   `&mut Option<T>` (or a `&Cell<Option<T>>` shared by several arms), exactly as
///   [`Selector::send`](crate::channel::Selector::send) does. Only the send that completes takes
///   it out (sent, or handed back in the arm's `SendError`); when another arm runs, or the
///   default, it is still in your `Option` for the next attempt, and an empty `Option` switches
///   the send off. (crossbeam's `send(s, value)` evaluates the value only once its send is
///   chosen; a selector over cancel-safe operations has no such second phase, so the value is
///   held where nothing can drop it. `&mut Some(value)` offers a value you do not need back.)
/// - **The bodies are your function's code**: `return`, `break`, `continue` and `?` in an arm
///   act on the enclosing function or loop. Each body runs after every operation has left its
///   channel, so it may use those channels freely.
/// - **Blocking, or async**: without a marker the thread blocks
///   ([`Selector::wait`](crate::channel::Selector::wait)); don't do that on an async runtime's
///   thread. With `async;` first, the `select!` awaits
///   ([`Selector::wait_async`](crate::channel::Selector::wait_async)) on any executor, and is
///   cancel safe while it waits, as that future is: dropped before an operation completed (a
///   losing branch of an outer `select!`, a timeout), it took nothing, sent nothing, and every
///   send's value is still in its `Option`. Once an operation completed, its arm's body runs:
///   a body that awaits and is dropped there drops what the operation gave it, as any code
///   would. `default(timeout)` wraps the selection in [`timer::timeout`](crate::timer::timeout)
///   (an operation ready at the deadline wins, as in the blocking form); `default` looks once,
///   without waiting.
/// - **Up to about 29 arms** under the default recursion limit (each arm costs the parser a few
///   expansions); `#![recursion_limit = "256"]` in your crate raises it. crossbeam's stops at
///   the same count.
///
/// Each pattern is bound as a `let` binds it, so it must be irrefutable (`msg`, `_`,
/// `(index, msg)`): match on the `Result` in the body.
///
/// # Panics
///
/// As [`Selector::send`](crate::channel::Selector::send): when two arms send to zero-capacity
/// channels, or one sends to a zero-capacity channel another arm receives from. And, without a
/// `default` arm, when no operation is switched on (every send's `Option` empty, every
/// `recv_any` given no receivers): the selection would wait forever, blocking or async alike
/// (tokio's `select!` panics there too). With `default(timeout)` it waits out the timeout and
/// runs the default.
///
/// # Compile errors
///
/// No operation, two default arms, an arm of another kind, or a refutable pattern:
///
/// ```compile_fail
/// let n: u32 = ringfence::select! { default => 1 };
/// ```
///
/// ```compile_fail
/// let (_tx, rx) = ringfence::channel::bounded::<u8>(1);
/// ringfence::select! { recv(rx) -> _ => (), default => (), default => () };
/// ```
///
/// ```compile_fail
/// let (_tx, rx) = ringfence::channel::bounded::<u8>(1);
/// ringfence::select! { recieve(rx) -> _ => () };
/// ```
///
/// ```compile_fail
/// let (_tx, rx) = ringfence::channel::bounded::<u8>(1);
/// ringfence::select! { recv(rx) -> Ok(n) => n, default => 0 };
/// ```
///
/// # Examples
///
/// Two channels of different types and a timeout:
///
/// ```
/// use ringfence::channel::{bounded, unbounded};
/// use ringfence::select;
/// use std::time::Duration;
///
/// let (numbers_tx, numbers) = bounded::<u32>(4);
/// let (words_tx, words) = unbounded::<&str>();
/// words_tx.send("hello").unwrap();
///
/// let got = select! {
///     recv(numbers) -> n => format!("number {}", n.unwrap()),
///     recv(words) -> w => format!("word {}", w.unwrap()),
///     default(Duration::from_secs(1)) => "nothing".to_string(),
/// };
/// assert_eq!(got, "word hello");
/// # drop(numbers_tx);
/// ```
///
/// A loop with `break` and `continue` in the arms, and the `select!` used as a value:
///
/// ```
/// use ringfence::channel::bounded;
/// use ringfence::select;
/// use std::thread;
/// use std::time::Duration;
///
/// let (tx, numbers) = bounded::<u8>(2);
/// thread::spawn(move || (0..10).for_each(|n| tx.send(n).unwrap())); // then drops its sender
/// let (mut sum, mut idle) = (0u32, 0);
/// loop {
///     let n = select! {
///         recv(numbers) -> n => match n {
///             Ok(n) => n,
///             Err(_) => break, // every sender gone and every value received
///         },
///         default(Duration::from_millis(50)) => {
///             idle += 1; // nothing for 50 ms: look again
///             continue;
///         }
///     };
///     sum += u32::from(n);
/// }
/// assert_eq!(sum, 45);
/// # let _ = idle;
/// ```
///
/// A send, a receive from a run-time set, and `default` when nothing is ready now:
///
/// ```
/// use ringfence::channel::bounded;
/// use ringfence::select;
///
/// let (tx, rx) = bounded::<&str>(1);
/// let (inputs_tx, input) = bounded::<u32>(1);
/// let inputs = [input];
/// let mut next = Some("hi");
/// assert_eq!(select! { send(tx, &mut next) -> sent => sent.is_ok(), default => false }, true);
/// assert_eq!(next, None); // sent
/// let mut next = Some("again");
/// assert_eq!(select! { send(tx, &mut next) -> _ => "sent", default => "full" }, "full");
/// assert_eq!(next, Some("again")); // not sent: still yours
/// inputs_tx.send(7).unwrap();
/// let got = select! {
///     biased;
///     recv_any(&inputs) -> (index, n) => (index, n.unwrap()),
///     recv(rx) -> s => (9, s.unwrap().len() as u32),
/// };
/// assert_eq!(got, (0, 7)); // biased: the first arm that is ready
/// ```
///
/// In async code (`async;`), on any executor; the same arms:
///
/// ```
/// use ringfence::channel::bounded;
/// use ringfence::select;
/// use std::time::Duration;
///
/// let (tx, rx) = bounded::<u32>(1);
/// let (_stop_tx, stop) = bounded::<()>(1);
/// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
/// rt.block_on(async {
///     let producer = tokio::spawn(async move { tx.send_async(5).await.unwrap() });
///     let got = select! {
///         async;
///         recv(rx) -> n => n.ok(),
///         recv(stop) -> _ => None,
///         default(Duration::from_secs(10)) => None,
///     };
///     assert_eq!(got, Some(5));
///     producer.await.unwrap();
/// });
/// ```
///
/// A job to whichever worker queue has room, or a timer when none has:
///
/// ```
/// use ringfence::channel::bounded;
/// use ringfence::{select, timer};
/// use std::time::Duration;
///
/// let (queues, queue_rxs): (Vec<_>, Vec<_>) = (0..2).map(|_| bounded::<u32>(1)).unzip();
/// let mut job = Some(1);
/// for round in 0..3 {
///     let outcome = select! {
///         send_any(queues, &mut job) -> (index, sent) => Some((index, sent.is_ok())),
///         future(timer::sleep(Duration::from_millis(5))) -> () => None,
///     };
///     match round {
///         0 | 1 => assert!(matches!(outcome, Some((_, true)))), // a queue took it
///         _ => assert_eq!(outcome, None), // both full: the timer fired first
///     }
///     job.get_or_insert(round + 2); // the next job (still the same one if none was sent)
/// }
/// assert_eq!(queue_rxs.iter().map(|rx| rx.len()).sum::<usize>(), 2);
/// ```
#[macro_export]
macro_rules! select {
    () => {
        ::core::compile_error!(
            "select! needs at least one operation: recv(..), recv_any(..), send(..), send_any(..) or future(..)"
        )
    };
    (async; $(biased;)? $(,)?) => {
        $crate::select!()
    };
    (biased; async; $(,)?) => {
        $crate::select!()
    };
    (async; biased; $($arms:tt)+) => {
        $crate::__select!(@arms [wait_async .biased()] [] [] [] [] $($arms)+)
    };
    (biased; async; $($arms:tt)+) => {
        $crate::__select!(@arms [wait_async .biased()] [] [] [] [] $($arms)+)
    };
    (async; $($arms:tt)+) => {
        $crate::__select!(@arms [wait_async] [] [] [] [] $($arms)+)
    };
    (biased; $($arms:tt)+) => {
        $crate::__select!(@arms [wait .biased()] [] [] [] [] $($arms)+)
    };
    ($($arms:tt)+) => {
        $crate::__select!(@arms [wait] [] [] [] [] $($arms)+)
    };
}

/// The arm parser behind [`select!`](crate::select) (module docs of `select_macro.rs`).
/// Not part of the API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select {
    // Each arm's body: a block (then a comma is optional) or an expression (then a comma
    // separates it from the next arm). The arm kinds are matched first, then the body shapes.
    (@arms $m:tt $s:tt $o:tt $d:tt $def:tt recv($r:expr) -> $res:pat => $($rest:tt)*) => {
        $crate::__select!(@body [recv [$r] $res] $m $s $o $d $def $($rest)*)
    };
    (@arms $m:tt $s:tt $o:tt $d:tt $def:tt recv_any($rs:expr) -> $res:pat => $($rest:tt)*) => {
        $crate::__select!(@body [recv_any [$rs] $res] $m $s $o $d $def $($rest)*)
    };
    (@arms $m:tt $s:tt $o:tt $d:tt $def:tt send($sender:expr, $value:expr) -> $res:pat => $($rest:tt)*) => {
        $crate::__select!(@body [send [$sender, $value] $res] $m $s $o $d $def $($rest)*)
    };
    (@arms $m:tt $s:tt $o:tt $d:tt $def:tt
        send_any($senders:expr, $value:expr) -> $res:pat => $($rest:tt)*) => {
        $crate::__select!(@body [send_any [$senders, $value] $res] $m $s $o $d $def $($rest)*)
    };
    (@arms $m:tt $s:tt $o:tt $d:tt $def:tt future($future:expr) -> $res:pat => $($rest:tt)*) => {
        $crate::__select!(@body [future [$future] $res] $m $s $o $d $def $($rest)*)
    };
    (@arms $m:tt $s:tt $o:tt $d:tt [] default => $($rest:tt)*) => {
        $crate::__select!(@body [default [] _] $m $s $o $d [] $($rest)*)
    };
    (@arms $m:tt $s:tt $o:tt $d:tt [] default($timeout:expr) => $($rest:tt)*) => {
        $crate::__select!(@body [default [$timeout] _] $m $s $o $d [] $($rest)*)
    };
    (@arms $m:tt $s:tt $o:tt $d:tt [$($def:tt)+] default $($rest:tt)*) => {
        ::core::compile_error!("select! takes at most one default arm")
    };
    // The end.
    (@arms $m:tt $s:tt $o:tt $d:tt $def:tt) => {
        $crate::__select!(@finish $m $s $o $d $def)
    };
    (@arms $m:tt $s:tt $o:tt $d:tt $def:tt $($rest:tt)+) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected an arm `recv(receiver) -> pattern => body`, `recv_any(receivers) -> ..`, ",
            "`send(sender, &mut option) -> ..`, `send_any(senders, &mut option) -> ..`, ",
            "`future(future) -> ..`, ",
            "`default => body` or `default(timeout) => body`, found `",
            ::core::stringify!($($rest)+),
            "`"
        ))
    };

    (@body $arm:tt $m:tt $s:tt $o:tt $d:tt $def:tt $body:block, $($rest:tt)*) => {
        $crate::__select!(@add $arm $body $m $s $o $d $def $($rest)*)
    };
    (@body $arm:tt $m:tt $s:tt $o:tt $d:tt $def:tt $body:block $($rest:tt)*) => {
        $crate::__select!(@add $arm $body $m $s $o $d $def $($rest)*)
    };
    (@body $arm:tt $m:tt $s:tt $o:tt $d:tt $def:tt $body:expr, $($rest:tt)*) => {
        $crate::__select!(@add $arm $body $m $s $o $d $def $($rest)*)
    };
    (@body $arm:tt $m:tt $s:tt $o:tt $d:tt $def:tt $body:expr) => {
        $crate::__select!(@add $arm $body $m $s $o $d $def)
    };

    // One arm: its operation, whose closure stores the outcome in `slot` (this expansion's
    // own name: module docs), then `@push` declares that slot and adds the dispatch.
    (@add [recv [$r:expr] $res:pat] $($rest:tt)*) => {
        $crate::__select!(@push slot
            [.recv(&$r, |outcome| slot = ::core::option::Option::Some(outcome))] $res, $($rest)*)
    };
    (@add [recv_any [$rs:expr] $res:pat] $($rest:tt)*) => {
        $crate::__select!(@push slot
            [.recv_any(&$rs[..], |index, outcome| slot = ::core::option::Option::Some((index, outcome)))]
            $res, $($rest)*)
    };
    (@add [send [$sender:expr, $value:expr] $res:pat] $($rest:tt)*) => {
        $crate::__select!(@push slot
            [.send(&$sender, $value, |outcome| slot = ::core::option::Option::Some(outcome))] $res, $($rest)*)
    };
    (@add [send_any [$senders:expr, $value:expr] $res:pat] $($rest:tt)*) => {
        $crate::__select!(@push slot
            [.send_any(&$senders[..], $value, |index, outcome| {
                slot = ::core::option::Option::Some((index, outcome))
            })]
            $res, $($rest)*)
    };
    (@add [future [$future:expr] $res:pat] $($rest:tt)*) => {
        $crate::__select!(@push slot
            [.future($future, |outcome| slot = ::core::option::Option::Some(outcome))] $res, $($rest)*)
    };
    (@push $slot:ident [$($op:tt)*] $res:pat, $body:tt
        [$($m:tt)*] [$($s:tt)*] [$($o:tt)*] [$($d:tt)*] $def:tt $($rest:tt)*) => {
        $crate::__select!(@arms
            [$($m)*]
            [$($s)* let mut $slot = ::core::option::Option::None;]
            [$($o)* $($op)*]
            [$($d)* if let ::core::option::Option::Some(outcome) = $slot { let $res = outcome; $body } else]
            $def $($rest)*)
    };
    (@add [default [$($timeout:expr)?] _] $body:tt $m:tt $s:tt $o:tt $d:tt [] $($rest:tt)*) => {
        $crate::__select!(@arms $m $s $o $d [[$($timeout)?] $body] $($rest)*)
    };

    // Build the selector, wait (`wait`: the thread blocks; `wait_async`: the task awaits),
    // dispatch.
    (@finish $m:tt $s:tt [] $d:tt $def:tt) => {
        $crate::select!()
    };
    (@finish [wait $($m:tt)*] [$($s:tt)*] [$($o:tt)*] [$($d:tt)*] []) => {{
        $($s)*
        let () = $crate::channel::Selector::new() $($m)* $($o)* .wait();
        $($d)* { ::core::unreachable!("select!: the selector completed no operation") }
    }};
    (@finish [wait_async $($m:tt)*] [$($s:tt)*] [$($o:tt)*] [$($d:tt)*] []) => {{
        $($s)*
        let () = $crate::channel::Selector::new() $($m)* $($o)* .__wait_async_for_select().await;
        $($d)* { ::core::unreachable!("select!: the selector completed no operation") }
    }};
    // `default`: nothing ready now (`try_wait` does not block: the same in async code). The
    // outcome is bound by `let` first, so the arms' temporaries (a lock guard in an argument)
    // are dropped before a body runs, as without a default (found by review: a `match` on the
    // call kept them alive through the bodies).
    (@finish [$mode:ident $($m:tt)*] [$($s:tt)*] [$($o:tt)*] [$($d:tt)*] [[] $default:tt]) => {{
        $($s)*
        let selected = $crate::channel::Selector::new() $($m)* $($o)* .try_wait();
        $crate::__select!(@dispatch selected [$($d)*] $default)
    }};
    (@finish [wait $($m:tt)*] [$($s:tt)*] [$($o:tt)*] [$($d:tt)*] [[$timeout:expr] $default:tt]) => {{
        $($s)*
        let selected = $crate::channel::Selector::new() $($m)* $($o)* .wait_timeout($timeout);
        $crate::__select!(@dispatch selected [$($d)*] $default)
    }};
    // In async code the timeout wraps the selection (`timer::timeout`, which polls the selection
    // first): an operation ready at the deadline wins, as in `wait_timeout` (found by review: the
    // timer raced as one more operation won half the ties at random), and a timeout drops the
    // selection, cancelling every operation, before the default body runs.
    (@finish [wait_async $($m:tt)*] [$($s:tt)*] [$($o:tt)*] [$($d:tt)*] [[$timeout:expr] $default:tt]) => {{
        $($s)*
        let selection = $crate::channel::Selector::new() $($m)* $($o)* .wait_async();
        let selected = $crate::timer::timeout($timeout, selection).await;
        $crate::__select!(@dispatch selected [$($d)*] $default)
    }};
    // The outcome of a selection with a default arm (`Ok`: one operation completed, its slot
    // is filled) to the arm that runs.
    (@dispatch $selected:ident [$($d:tt)*] $default:tt) => {
        match $selected {
            ::core::result::Result::Ok(()) => {
                $($d)* { ::core::unreachable!("select!: the selector completed no operation") }
            }
            ::core::result::Result::Err(_) => $default,
        }
    };
}
