//! Criterion benchmarks: `ringfence::channel::bounded` against `crossbeam_channel::bounded`,
//! std `sync_channel`, `flume::bounded` and `kanal::bounded`.
//!
//! Workloads (parameters in `common/mod.rs`): spsc 1:1, mpsc 2:1, mpmc 2:2 and 4:4 at capacity
//! 1024 (4:4 is oversubscribed on a 2-core machine), handoff 1:1 at capacity 1, rendezvous 1:1
//! at capacity 0, and a ping-pong round trip over two capacity-1 channels. Blocking
//! `send`/`recv` throughout. std's receiver cannot be shared, so std sits out the
//! multi-consumer workloads. All peers of a workload run in the same group.
//!
//! `cargo bench --bench channel` (add `-- --test` for one quick pass).

#[path = "common/mod.rs"]
mod common;

use common::{BUFFERED, Endpoints, HANDOFF, RENDEZVOUS, ROUND_TRIPS};
use criterion::{Criterion, Throughput};
use std::sync::mpsc;

struct Ringfence;

impl Endpoints for Ringfence {
    const NAME: &'static str = "ringfence";
    type Tx = ringfence::channel::Sender<u64>;
    type Rx = ringfence::channel::Receiver<u64>;

    fn with_capacity(capacity: usize) -> (Self::Tx, Self::Rx) {
        ringfence::channel::bounded(capacity)
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

    fn with_capacity(capacity: usize) -> (Self::Tx, Self::Rx) {
        crossbeam_channel::bounded(capacity)
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
    const NAME: &'static str = "std_sync_channel";
    const MULTI_CONSUMER: bool = false;
    type Tx = mpsc::SyncSender<u64>;
    type Rx = mpsc::Receiver<u64>;

    fn with_capacity(capacity: usize) -> (Self::Tx, Self::Rx) {
        mpsc::sync_channel(capacity)
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

    fn with_capacity(capacity: usize) -> (Self::Tx, Self::Rx) {
        flume::bounded(capacity)
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

    fn with_capacity(capacity: usize) -> (Self::Tx, Self::Rx) {
        kanal::bounded(capacity)
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
fn all_peers(c: &mut Criterion, workload: &common::Workload) {
    let mut group = common::group(c, "channel", workload);
    common::bench::<Ringfence>(&mut group, workload);
    common::bench::<Crossbeam>(&mut group, workload);
    common::bench::<Std>(&mut group, workload);
    common::bench::<Flume>(&mut group, workload);
    common::bench::<Kanal>(&mut group, workload);
    group.finish();
}

fn buffered(c: &mut Criterion) {
    for workload in &BUFFERED {
        all_peers(c, workload);
    }
}

fn handoff(c: &mut Criterion) {
    all_peers(c, &HANDOFF);
}

fn rendezvous(c: &mut Criterion) {
    all_peers(c, &RENDEZVOUS);
}

/// Round trips over two capacity-1 channels between two threads.
fn ping_pong(c: &mut Criterion) {
    let mut group = c.benchmark_group("channel_pingpong_2threads_cap1");
    group.throughput(Throughput::Elements(ROUND_TRIPS));
    common::bench_ping_pong::<Ringfence>(&mut group);
    common::bench_ping_pong::<Crossbeam>(&mut group);
    common::bench_ping_pong::<Std>(&mut group);
    common::bench_ping_pong::<Flume>(&mut group);
    common::bench_ping_pong::<Kanal>(&mut group);
    group.finish();
}

fn main() {
    let mut workloads = BUFFERED.to_vec();
    workloads.extend([HANDOFF, RENDEZVOUS]);
    common::print_setup(&workloads);
    eprintln!("  pingpong: 2 threads, two capacity-1 channels, {ROUND_TRIPS} round trips/iteration");
    let mut criterion = common::config().configure_from_args();
    buffered(&mut criterion);
    handoff(&mut criterion);
    rendezvous(&mut criterion);
    ping_pong(&mut criterion);
    criterion.final_summary();
}
