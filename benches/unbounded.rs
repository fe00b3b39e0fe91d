//! Criterion benchmarks: `ringfence::channel::unbounded` against `crossbeam_channel::unbounded`,
//! std `mpsc::channel`, `flume::unbounded` and `kanal::unbounded`.
//!
//! Workloads: spsc 1:1, mpsc 2:1, mpmc 2:2 and 4:4 (oversubscribed on a 2-core machine), each
//! moving [`MESSAGES`] `u64`s per iteration with blocking `send`/`recv`, through the shared
//! harness in `common/mod.rs` (threads started outside the timed region, checksums asserted).
//! std's receiver cannot be shared, so std sits out the multi-consumer workloads. All peers of
//! a workload run in the same group.
//!
//! `cargo bench --bench unbounded` (add `-- --test` for one quick pass).

#[path = "common/mod.rs"]
mod common;

use common::{Endpoints, UNBOUNDED, Workload};
use criterion::Criterion;
use std::sync::mpsc;

struct Ringfence;

impl Endpoints for Ringfence {
    const NAME: &'static str = "ringfence";
    type Tx = ringfence::channel::Sender<u64>;
    type Rx = ringfence::channel::Receiver<u64>;

    fn with_capacity(_: usize) -> (Self::Tx, Self::Rx) {
        ringfence::channel::unbounded()
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Self::Rx {
        rx.clone()
    }
    #[inline]
    fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).expect("ringfence: receivers gone");
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> u64 {
        rx.recv().expect("ringfence: senders gone")
    }
}

struct Crossbeam;

impl Endpoints for Crossbeam {
    const NAME: &'static str = "crossbeam_channel";
    type Tx = crossbeam_channel::Sender<u64>;
    type Rx = crossbeam_channel::Receiver<u64>;

    fn with_capacity(_: usize) -> (Self::Tx, Self::Rx) {
        crossbeam_channel::unbounded()
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Self::Rx {
        rx.clone()
    }
    #[inline]
    fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).expect("crossbeam: receivers gone");
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> u64 {
        rx.recv().expect("crossbeam: senders gone")
    }
}

struct Std;

impl Endpoints for Std {
    const NAME: &'static str = "std_mpsc_channel";
    const MULTI_CONSUMER: bool = false;
    type Tx = mpsc::Sender<u64>;
    type Rx = mpsc::Receiver<u64>;

    fn with_capacity(_: usize) -> (Self::Tx, Self::Rx) {
        mpsc::channel()
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(_: &Self::Rx) -> Self::Rx {
        unreachable!("std's Receiver is single-consumer; the harness skips it")
    }
    #[inline]
    fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).expect("std: receiver gone");
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> u64 {
        rx.recv().expect("std: senders gone")
    }
}

struct Flume;

impl Endpoints for Flume {
    const NAME: &'static str = "flume";
    type Tx = flume::Sender<u64>;
    type Rx = flume::Receiver<u64>;

    fn with_capacity(_: usize) -> (Self::Tx, Self::Rx) {
        flume::unbounded()
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Self::Rx {
        rx.clone()
    }
    #[inline]
    fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).expect("flume: receivers gone");
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> u64 {
        rx.recv().expect("flume: senders gone")
    }
}

struct Kanal;

impl Endpoints for Kanal {
    const NAME: &'static str = "kanal";
    type Tx = kanal::Sender<u64>;
    type Rx = kanal::Receiver<u64>;

    fn with_capacity(_: usize) -> (Self::Tx, Self::Rx) {
        kanal::unbounded()
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Self::Rx {
        rx.clone()
    }
    #[inline]
    fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).expect("kanal: receivers gone");
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> u64 {
        rx.recv().expect("kanal: senders gone")
    }
}

/// Every peer on `workload`, in one group (ringfence first).
fn all_peers(c: &mut Criterion, workload: &Workload) {
    let mut group = common::group(c, "unbounded", workload);
    common::bench::<Ringfence>(&mut group, workload);
    common::bench::<Crossbeam>(&mut group, workload);
    common::bench::<Std>(&mut group, workload);
    common::bench::<Flume>(&mut group, workload);
    common::bench::<Kanal>(&mut group, workload);
    group.finish();
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    eprintln!("available parallelism: {cores}");
    for w in &UNBOUNDED {
        eprintln!(
            "  {}: {} producer(s) + {} consumer(s) = {} threads{}, unbounded, {} messages/iteration",
            w.name,
            w.producers,
            w.consumers,
            w.threads(),
            if w.threads() > cores { " (oversubscribed)" } else { "" },
            w.messages
        );
    }
    let mut criterion = common::config().configure_from_args();
    for workload in &UNBOUNDED {
        all_peers(&mut criterion, workload);
    }
    criterion.final_summary();
}
