//! Round-trip latency percentiles for the channel and the oneshot, against their peers: the
//! view criterion's means do not give (DESIGN.md §4; docs/latency.md is this program's output).
//!
//! - **channel ping-pong**: a pinger sends `1..` on a capacity-1 channel, an echo thread sends
//!   each value back on another; ringfence `bounded(1)`, crossbeam `bounded(1)`, flume, kanal and
//!   std `sync_channel(1)`. Then the same on unbounded channels (std's `channel()`), where a
//!   receive that finds the list empty waits, but a send never does.
//! - **oneshot request/reply**: the client makes a reply cell and the next request cell, sends
//!   them (with the request) through the current request cell, and blocks on the reply; the
//!   server blocks on each request and replies. ringfence, the `oneshot` crate and
//!   `tokio::sync::oneshot` (`blocking_recv`).
//!
//! Two threads per measurement, both blocking; each workload runs once with the threads where
//! the scheduler puts them and once with both pinned to one CPU (Linux). The pinger reads the
//! clock once per round trip (each sample is from one read to the next, so it includes one clock
//! read, whose cost is printed), after a warm-up; samples are kept, sorted, and read at the
//! percentiles. A peer stops early after [`TIME_CAP`] (the table gives the count it reached).
//!
//! ```text
//! cargo run --release --example latency                          # print the tables
//! cargo run --release --example latency -- --write docs/latency.md
//! cargo run --release --example latency -- --samples 20000       # a quicker, rougher run
//! ```

#[path = "../benches/common/affinity.rs"]
mod affinity;
#[path = "../benches/common/civil_date.rs"]
mod civil_date;

use std::fmt::Write as _;
use std::hint::black_box;
use std::process::Command;
use std::sync::{Barrier, mpsc};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// Round trips before the samples are taken (thread start-up, first faults, frequency ramp).
const WARM_UP: u64 = 20_000;
/// Round trips recorded per peer and workload.
const SAMPLES: usize = 200_000;
/// Wall-clock limit of the warm-up.
const WARM_UP_CAP: Duration = Duration::from_secs(2);
/// Wall-clock limit per peer and workload, warm-up included.
const TIME_CAP: Duration = Duration::from_secs(20);
/// The percentiles in the table.
const PERCENTILES: [(&str, f64); 4] = [("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p99.9", 0.999)];

// ---------------------------------------------------------------------------------------------
// Peers

/// A channel of `u64`: made with capacity 1, or unbounded.
trait Chan: 'static {
    const NAME: &'static str;
    type Tx: Send;
    type Rx: Send;
    fn pair() -> (Self::Tx, Self::Rx);
    fn send(tx: &Self::Tx, value: u64);
    /// `None` once every sender is gone.
    fn recv(rx: &Self::Rx) -> Option<u64>;
}

macro_rules! chan {
    ($ty:ident, $name:literal, $tx:ty, $rx:ty, $pair:expr) => {
        struct $ty;
        impl Chan for $ty {
            const NAME: &'static str = $name;
            type Tx = $tx;
            type Rx = $rx;
            fn pair() -> (Self::Tx, Self::Rx) {
                $pair
            }
            #[inline]
            fn send(tx: &Self::Tx, value: u64) {
                assert!(tx.send(value).is_ok(), "{}: receiver gone", $name);
            }
            #[inline]
            fn recv(rx: &Self::Rx) -> Option<u64> {
                rx.recv().ok()
            }
        }
    };
}

chan!(
    RingfenceChan,
    "ringfence bounded(1)",
    ringfence::channel::Sender<u64>,
    ringfence::channel::Receiver<u64>,
    ringfence::channel::bounded(1)
);
chan!(
    CrossbeamChan,
    "crossbeam-channel bounded(1)",
    crossbeam_channel::Sender<u64>,
    crossbeam_channel::Receiver<u64>,
    crossbeam_channel::bounded(1)
);
chan!(FlumeChan, "flume bounded(1)", flume::Sender<u64>, flume::Receiver<u64>, flume::bounded(1));
chan!(KanalChan, "kanal bounded(1)", kanal::Sender<u64>, kanal::Receiver<u64>, kanal::bounded(1));
chan!(StdChan, "std sync_channel(1)", mpsc::SyncSender<u64>, mpsc::Receiver<u64>, mpsc::sync_channel(1));
chan!(
    RingfenceUnbounded,
    "ringfence unbounded",
    ringfence::channel::Sender<u64>,
    ringfence::channel::Receiver<u64>,
    ringfence::channel::unbounded()
);
chan!(
    CrossbeamUnbounded,
    "crossbeam-channel unbounded",
    crossbeam_channel::Sender<u64>,
    crossbeam_channel::Receiver<u64>,
    crossbeam_channel::unbounded()
);
chan!(FlumeUnbounded, "flume unbounded", flume::Sender<u64>, flume::Receiver<u64>, flume::unbounded());
chan!(KanalUnbounded, "kanal unbounded", kanal::Sender<u64>, kanal::Receiver<u64>, kanal::unbounded());
chan!(StdUnbounded, "std channel", mpsc::Sender<u64>, mpsc::Receiver<u64>, mpsc::channel());

/// A oneshot with a blocking receive, generic over the value.
trait Shot: 'static {
    const NAME: &'static str;
    type Tx<T: Send + 'static>: Send + 'static;
    type Rx<T: Send + 'static>: Send + 'static;
    fn pair<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>);
    fn send<T: Send + 'static>(tx: Self::Tx<T>, value: T);
    /// `None` when the sender was dropped unsent.
    fn recv<T: Send + 'static>(rx: Self::Rx<T>) -> Option<T>;
}

macro_rules! shot {
    ($ty:ident, $name:literal, $tx:ident, $rx:ident, $pair:path, $recv:ident) => {
        struct $ty;
        impl Shot for $ty {
            const NAME: &'static str = $name;
            type Tx<T: Send + 'static> = $tx<T>;
            type Rx<T: Send + 'static> = $rx<T>;
            fn pair<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
                $pair()
            }
            #[inline]
            fn send<T: Send + 'static>(tx: Self::Tx<T>, value: T) {
                assert!(tx.send(value).is_ok(), "{}: receiver gone", $name);
            }
            #[inline]
            fn recv<T: Send + 'static>(rx: Self::Rx<T>) -> Option<T> {
                rx.$recv().ok()
            }
        }
    };
}

use oneshot::{Receiver as CrateRx, Sender as CrateTx};
use ringfence::oneshot::{Receiver as RingfenceRx, Sender as RingfenceTx};
use tokio::sync::oneshot::{Receiver as TokioRx, Sender as TokioTx};
shot!(RingfenceShot, "ringfence::oneshot", RingfenceTx, RingfenceRx, ringfence::oneshot::channel, recv);
shot!(CrateShot, "oneshot crate", CrateTx, CrateRx, oneshot::channel, recv);
shot!(
    TokioShot,
    "tokio oneshot (blocking_recv)",
    TokioTx,
    TokioRx,
    tokio::sync::oneshot::channel,
    blocking_recv
);

/// One request: the payload, where to reply, and where the next request will come from.
struct Request<S: Shot> {
    n: u64,
    reply: S::Tx<u64>,
    next: S::Rx<Request<S>>,
}

// ---------------------------------------------------------------------------------------------
// Measurement

/// Whether both threads of a run are pinned to one CPU.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placement {
    Free,
    OneCore,
}

impl Placement {
    fn enter(self) {
        if self == Placement::OneCore {
            affinity::pin_current_thread(affinity::one_core().expect("pinned runs need Linux"));
        }
    }
}

/// What one peer's run produced: round-trip times in ns, sorted.
struct Samples {
    peer: &'static str,
    ns: Vec<u64>,
}

/// Takes samples of `round_trip` (given the round's number, returns after one round trip)
/// until `target` are taken or [`TIME_CAP`] is spent.
fn sample(target: usize, mut round_trip: impl FnMut(u64)) -> Vec<u64> {
    let started = Instant::now();
    for n in 0..WARM_UP {
        round_trip(n);
        if n % 256 == 0 && started.elapsed() > WARM_UP_CAP {
            break;
        }
    }
    let mut ns = Vec::with_capacity(target);
    let mut last = Instant::now();
    for n in WARM_UP.. {
        round_trip(n);
        let now = Instant::now();
        ns.push((now - last).as_nanos() as u64);
        last = now;
        if ns.len() == target || (ns.len() % 1024 == 0 && started.elapsed() > TIME_CAP) {
            break;
        }
    }
    ns.sort_unstable();
    ns
}

/// Channel ping-pong: the pinger sends `n` and waits for `n` back, the echo returns each value.
fn channel_ping_pong<C: Chan>(placement: Placement, target: usize) -> Samples {
    let (ping_tx, ping_rx) = C::pair();
    let (pong_tx, pong_rx) = C::pair();
    let barrier = Barrier::new(2);
    let ns = thread::scope(|scope| {
        let barrier = &barrier;
        let echo = scope.spawn(move || {
            placement.enter();
            barrier.wait();
            let mut echoed = 0u64;
            while let Some(value) = C::recv(&ping_rx) {
                C::send(&pong_tx, value);
                echoed += 1;
            }
            echoed
        });
        let pinger = scope.spawn(move || {
            placement.enter();
            barrier.wait();
            let mut rounds = 0u64;
            let ns = sample(target, |n| {
                C::send(&ping_tx, black_box(n));
                assert_eq!(C::recv(&pong_rx), Some(n), "{}: wrong echo", C::NAME);
                rounds += 1;
            });
            (ns, rounds) // dropping `ping_tx` stops the echo
        });
        let (ns, rounds) = pinger.join().expect("pinger panicked");
        assert_eq!(echo.join().expect("echo panicked"), rounds, "{}: echo count", C::NAME);
        ns
    });
    Samples { peer: C::NAME, ns }
}

/// Oneshot request/reply: two fresh cells per round trip, both sides blocking.
fn oneshot_request_reply<S: Shot>(placement: Placement, target: usize) -> Samples {
    let (first_tx, first_rx) = S::pair::<Request<S>>();
    let barrier = Barrier::new(2);
    let ns = thread::scope(|scope| {
        let barrier = &barrier;
        let server = scope.spawn(move || {
            placement.enter();
            barrier.wait();
            let mut next = first_rx;
            let mut served = 0u64;
            while let Some(Request { n, reply, next: following }) = S::recv(next) {
                S::send(reply, n + 1);
                next = following;
                served += 1;
            }
            served
        });
        let client = scope.spawn(move || {
            placement.enter();
            barrier.wait();
            let mut request_tx = Some(first_tx);
            let mut rounds = 0u64;
            let ns = sample(target, |n| {
                let (reply, reply_rx) = S::pair::<u64>();
                let (next_tx, next) = S::pair::<Request<S>>();
                let tx = request_tx.replace(next_tx).expect("a request cell is always there");
                S::send(tx, Request { n: black_box(n), reply, next });
                assert_eq!(S::recv(reply_rx), Some(n + 1), "{}: wrong reply", S::NAME);
                rounds += 1;
            });
            (ns, rounds) // dropping the last request cell stops the server
        });
        let (ns, rounds) = client.join().expect("client panicked");
        assert_eq!(server.join().expect("server panicked"), rounds, "{}: served count", S::NAME);
        ns
    });
    Samples { peer: S::NAME, ns }
}

/// The cost of one `Instant::now()` (median of back-to-back reads), in ns.
fn clock_cost() -> u64 {
    let mut ns: Vec<u64> = (0..10_000)
        .map(|_| {
            let a = Instant::now();
            let b = Instant::now();
            (b - a).as_nanos() as u64
        })
        .collect();
    ns.sort_unstable();
    ns[ns.len() / 2]
}

// ---------------------------------------------------------------------------------------------
// Report

/// The value at quantile `q` of sorted `ns` (nearest rank).
fn quantile(ns: &[u64], q: f64) -> u64 {
    let rank = ((q * ns.len() as f64).ceil() as usize).clamp(1, ns.len());
    ns[rank - 1]
}

/// `412 ns`, `12.3 µs`, `4.56 ms`.
fn human(ns: u64) -> String {
    match ns {
        0..10_000 => format!("{ns} ns"),
        10_000..1_000_000 => format!("{:.1} µs", ns as f64 / 1e3),
        _ => format!("{:.2} ms", ns as f64 / 1e6),
    }
}

/// A ratio with two decimals, or three when below 0.1.
fn ratio(r: f64) -> String {
    if r >= 0.095 { format!("{r:.2}") } else { format!("{r:.3}") }
}

/// A markdown table: one row per peer, the percentiles, max, the p50 and p99 ratios to the
/// first row (ringfence), and the sample count (marked when the time cap cut it below `target`).
fn table(rows: &[Samples], target: usize) -> String {
    let mut out = String::from("| peer |");
    for (name, _) in PERCENTILES {
        write!(out, " {name} |").unwrap();
    }
    out.push_str(" max | p50 / ringfence | p99 / ringfence | samples |\n|---|");
    out.push_str(&"---:|".repeat(PERCENTILES.len() + 4));
    out.push('\n');
    let reference = &rows[0].ns;
    for row in rows {
        write!(out, "| {} |", row.peer).unwrap();
        for (_, q) in PERCENTILES {
            write!(out, " {} |", human(quantile(&row.ns, q))).unwrap();
        }
        let to_reference = |q| ratio(quantile(&row.ns, q) as f64 / quantile(reference, q).max(1) as f64);
        let short = if row.ns.len() < target { " (time cap)" } else { "" };
        writeln!(
            out,
            " {} | {} | {} | {}{short} |",
            human(row.ns[row.ns.len() - 1]),
            to_reference(0.5),
            to_reference(0.99),
            row.ns.len()
        )
        .unwrap();
    }
    out
}

/// The machine and the build, for the page's header.
fn machine() -> Vec<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim() == "model name").map(|(_, v)| v.trim()))
        .unwrap_or("unknown CPU");
    let logical =
        cpuinfo.lines().filter(|l| l.split(':').next().is_some_and(|k| k.trim() == "processor")).count();
    let available = thread::available_parallelism().map_or(0, usize::from);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().take(3).collect::<Vec<_>>().join(" / ");
    let commit = output("git", &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = Command::new("git")
        .args(["diff", "--quiet", "HEAD", "--", "src", "Cargo.toml", "Cargo.lock", "examples/latency.rs"])
        .status()
        .is_ok_and(|s| !s.success());
    vec![
        format!("- CPU: {model}; {logical} logical CPUs, available parallelism {available}"),
        format!("- load average when started (1 / 5 / 15 min): {load}"),
        format!("- date: {} (UTC)", today()),
        format!(
            "- commit: `{commit}`{}",
            if dirty { " (with uncommitted changes to src/, Cargo.* or this example)" } else { "" }
        ),
        format!("- {}", output("rustc", &["-V"]).unwrap_or_else(|| "rustc: unknown".into())),
    ]
}

/// First line of a command's stdout.
fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok().filter(|o| o.status.success())?;
    String::from_utf8_lossy(&out.stdout).lines().next().map(|l| l.trim().to_string())
}

/// `YYYY-MM-DD` for today (UTC).
fn today() -> String {
    let (year, month, day, _) = civil_date::civil_utc(SystemTime::now());
    format!("{year:04}-{month:02}-{day:02}")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut write_to = None;
    let mut target = SAMPLES;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--write" => write_to = Some(args.next().expect("--write needs a path")),
            "--samples" => {
                target = args.next().and_then(|n| n.parse().ok()).expect("--samples needs a count")
            }
            other => panic!("unknown argument {other:?} (use --write PATH, --samples N)"),
        }
    }
    assert!(target > 0, "--samples must be positive");

    let machine = machine();
    let clock = clock_cost();
    let mut placements = vec![(Placement::Free, "2 threads, placed by the scheduler")];
    if affinity::one_core().is_some() {
        placements.push((Placement::OneCore, "2 threads, both pinned to one CPU"));
    } else {
        eprintln!("no thread pinning on this platform: the pinned runs are skipped");
    }

    let mut page = String::new();
    // One table per workload and placement: measured, printed, and added to the page.
    let mut section = |workload: &str, threads: &str, measure: &dyn Fn() -> Vec<Samples>| {
        eprintln!("{workload}, {threads}...");
        let section = format!("### {workload}, {threads}\n\n{}\n", table(&measure(), target));
        print!("{section}");
        page.push_str(&section);
    };
    for &(placement, threads) in &placements {
        section("Channel ping-pong, capacity 1", threads, &|| {
            vec![
                channel_ping_pong::<RingfenceChan>(placement, target),
                channel_ping_pong::<CrossbeamChan>(placement, target),
                channel_ping_pong::<FlumeChan>(placement, target),
                channel_ping_pong::<KanalChan>(placement, target),
                channel_ping_pong::<StdChan>(placement, target),
            ]
        });
    }
    for &(placement, threads) in &placements {
        section("Channel ping-pong, unbounded", threads, &|| {
            vec![
                channel_ping_pong::<RingfenceUnbounded>(placement, target),
                channel_ping_pong::<CrossbeamUnbounded>(placement, target),
                channel_ping_pong::<FlumeUnbounded>(placement, target),
                channel_ping_pong::<KanalUnbounded>(placement, target),
                channel_ping_pong::<StdUnbounded>(placement, target),
            ]
        });
    }
    for &(placement, threads) in &placements {
        section("Oneshot request/reply", threads, &|| {
            vec![
                oneshot_request_reply::<RingfenceShot>(placement, target),
                oneshot_request_reply::<CrateShot>(placement, target),
                oneshot_request_reply::<TokioShot>(placement, target),
            ]
        });
    }
    println!("clock read (Instant::now, median): {clock} ns, included once in every sample");
    println!("{}", machine.join("\n"));

    if let Some(path) = write_to {
        let pinned_cpu = affinity::one_core().map_or("n/a".to_string(), |c| c.to_string());
        let text = format!(
            "# Round-trip latency: channel and oneshot against their peers\n\
             \n\
             Generated by `cargo run --release --example latency -- --write docs/latency.md` \
             (examples/latency.rs; `scripts/bench-report.sh` runs it after the benchmarks). \
             Criterion's report ([bench_report.md](bench_report.md)) gives the median time per \
             message of whole runs; this page gives the distribution of single round trips.\n\
             \n\
             {}\n\
             \n\
             ## Method\n\
             \n\
             - Every measurement uses **2 threads**, both blocking (no busy-polling): a pinger \
             and an echo (channel), or a client and a server (oneshot). Each workload runs \
             with the threads placed by the scheduler, then with both pinned to CPU {pinned_cpu} \
             (`sched_setaffinity`), where every round trip needs the kernel to switch threads.\n\
             - **Channel ping-pong**: the pinger sends `n` on a capacity-1 channel and waits \
             for `n` on a second one; the echo thread returns each value. std takes part as \
             `sync_channel(1)`. Then the same with two unbounded channels (std's `channel()`): \
             a send never waits there, so each round trip is two receives that find their \
             channel empty and wait for the other thread's send.\n\
             - **Oneshot request/reply**: per round trip the client makes two cells (the reply \
             and the next request), sends both with the request through the current request \
             cell, and blocks on the reply; the server blocks on the request and replies `n + 1`. \
             tokio's receiver is read with `blocking_recv`.\n\
             - {WARM_UP} round trips of warm-up, then up to {target} samples per peer (at most \
             {cap} s each). The pinger reads `Instant::now()` once per round trip; each sample \
             spans one read to the next, so it includes one clock read (median cost here: \
             {clock} ns). Every sample is kept and sorted, so the percentiles are exact \
             (nearest-rank), not read from a histogram's buckets. Ratios are to the \
             ringfence row of the same table (below 1: faster than ringfence).\n\
             - Values are checked (every echo and reply is asserted), so a lost message fails \
             the run instead of skewing it.\n\
             \n\
             ## Reading the tables\n\
             \n\
             - Placed by the scheduler, a round trip is quick when each waiter is still awake \
             (spinning, or not yet asleep) as its value arrives, and slow when it has blocked: \
             then the kernel must wake it, which on a virtual machine whose other vCPU went idle \
             can take tens of microseconds. The distributions are bimodal; p50 tells which mode \
             a peer usually lands in, p90 to p99.9 how often it lands in the other.\n\
             - Pinned to one CPU, every round trip needs two switches between the threads, \
             whatever the peer does: the differences are how long a waiter spins or yields before \
             it blocks (time the thread it waits for cannot use) and the cost of its \
             block-and-wake path.\n\
             - One run on one machine: rerun before drawing conclusions from differences of a \
             few percent.\n\
             \n\
             ## Results\n\
             \n\
             {page}",
            machine.join("\n"),
            cap = TIME_CAP.as_secs(),
        );
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {path}: {e}"));
        eprintln!("wrote {path}");
    }
}
