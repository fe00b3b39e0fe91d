//! Criterion benchmarks: `ringfence::channel::bounded` against `crossbeam_channel::bounded`,
//! std `sync_channel`, `flume::bounded` and `kanal::bounded`.
//!
//! Workloads (parameters in `common/mod.rs`): spsc 1:1, mpsc 2:1, mpmc 2:2 and 4:4 at capacity
//! 1024 (4:4 is oversubscribed on a 2-core machine), handoff 1:1 at capacity 1, rendezvous 1:1
//! at capacity 0, and a ping-pong round trip over two capacity-1 channels, all moving `u64`s.
//! Then spsc 1:1 and mpmc 2:2 again with larger payloads (`_bytes64`: a 64-byte struct;
//! `_string`: a `String` formatted by the producer, parsed and dropped by the consumer), and
//! spsc, mpmc 2:2 and the handoff again with every thread pinned to one CPU (`_pinned1`, Linux
//! only: where spin-then-yield waiting has nobody to yield to but the thread it waits for).
//! Last, the scaling series `channel_scaling_mpmc_{N}p{N}c_cap1024`: N producers + N consumers
//! for N = 1, 2, 4, 8 pairs at capacity 1024 (`u64`), ringfence, crossbeam, flume and kanal
//! only, so that every step has the same peers; the report draws it as one line chart. On a
//! 2-core machine N >= 2 is oversubscribed: real scaling needs a machine with 16 cores.
//! Blocking `send`/`recv` throughout. std's receiver cannot be shared, so std sits out the
//! multi-consumer workloads. All peers of a workload run in the same group.
//!
//! `cargo bench --bench channel` (add `-- --test` for one quick pass).

#[path = "common/mod.rs"]
mod common;

use common::{
    BUFFERED, Bytes64, Endpoints, HANDOFF, PAYLOAD_WORKLOADS, PINNED_WORKLOADS, Payload, Placement,
    RENDEZVOUS, ROUND_TRIPS, SCALING,
};
use criterion::{Criterion, Throughput};
use std::sync::mpsc;

struct Ringfence;

impl<T: Send + 'static> Endpoints<T> for Ringfence {
    const NAME: &'static str = "ringfence";
    type Tx = ringfence::channel::Sender<T>;
    type Rx = ringfence::channel::Receiver<T>;

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
    fn send(tx: &Self::Tx, value: T) {
        tx.send(value).expect("ringfence: receivers gone");
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> T {
        rx.recv().expect("ringfence: senders gone")
    }
}

struct Crossbeam;

impl<T: Send + 'static> Endpoints<T> for Crossbeam {
    const NAME: &'static str = "crossbeam_channel";
    type Tx = crossbeam_channel::Sender<T>;
    type Rx = crossbeam_channel::Receiver<T>;

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
    fn send(tx: &Self::Tx, value: T) {
        tx.send(value).expect("crossbeam: receivers gone");
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> T {
        rx.recv().expect("crossbeam: senders gone")
    }
}

struct Std;

impl<T: Send + 'static> Endpoints<T> for Std {
    const NAME: &'static str = "std_sync_channel";
    const MULTI_CONSUMER: bool = false;
    type Tx = mpsc::SyncSender<T>;
    type Rx = mpsc::Receiver<T>;

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
    fn send(tx: &Self::Tx, value: T) {
        tx.send(value).expect("std: receiver gone");
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> T {
        rx.recv().expect("std: senders gone")
    }
}

struct Flume;

impl<T: Send + 'static> Endpoints<T> for Flume {
    const NAME: &'static str = "flume";
    type Tx = flume::Sender<T>;
    type Rx = flume::Receiver<T>;

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
    fn send(tx: &Self::Tx, value: T) {
        tx.send(value).expect("flume: receivers gone");
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> T {
        rx.recv().expect("flume: senders gone")
    }
}

struct Kanal;

impl<T: Send + 'static> Endpoints<T> for Kanal {
    const NAME: &'static str = "kanal";
    type Tx = kanal::Sender<T>;
    type Rx = kanal::Receiver<T>;

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
    fn send(tx: &Self::Tx, value: T) {
        tx.send(value).expect("kanal: receivers gone");
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> T {
        rx.recv().expect("kanal: senders gone")
    }
}

/// Every peer on `workload`, in one group (ringfence first).
fn all_peers(c: &mut Criterion, workload: &common::Workload) {
    all_peers_with::<u64>(c, workload, Placement::Free);
}

/// Every peer on `workload` with payload `T` and `placement`, in one group (ringfence first).
fn all_peers_with<T: Payload>(c: &mut Criterion, workload: &common::Workload, placement: Placement) {
    let mut group = common::group_with::<T>(c, "channel", workload, placement);
    common::bench_with::<T, Ringfence>(&mut group, workload, placement);
    common::bench_with::<T, Crossbeam>(&mut group, workload, placement);
    common::bench_with::<T, Std>(&mut group, workload, placement);
    common::bench_with::<T, Flume>(&mut group, workload, placement);
    common::bench_with::<T, Kanal>(&mut group, workload, placement);
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

/// spsc and mpmc 2:2 with a 64-byte struct and with a `String` the consumer drops.
fn payloads(c: &mut Criterion) {
    for workload in &PAYLOAD_WORKLOADS {
        all_peers_with::<Bytes64>(c, workload, Placement::Free);
        all_peers_with::<String>(c, workload, Placement::Free);
    }
}

/// spsc, mpmc 2:2 and the handoff with every thread on one CPU (skipped off Linux).
fn pinned(c: &mut Criterion) {
    if !Placement::OneCore.available() {
        eprintln!("pinned workloads skipped: no thread pinning on this platform");
        return;
    }
    for workload in &PINNED_WORKLOADS {
        all_peers_with::<u64>(c, workload, Placement::OneCore);
    }
}

/// The mpmc scaling series, one group per pair count. std sits out every step (its receiver
/// cannot be shared), the 1:1 step included, so each line of the chart has all four points.
fn scaling(c: &mut Criterion) {
    for workload in &SCALING {
        let mut group = common::group(c, "channel", workload);
        common::bench::<Ringfence>(&mut group, workload);
        common::bench::<Crossbeam>(&mut group, workload);
        common::bench::<Flume>(&mut group, workload);
        common::bench::<Kanal>(&mut group, workload);
        group.finish();
    }
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
    workloads.extend(SCALING);
    common::print_setup(&workloads);
    eprintln!("  pingpong: 2 threads, two capacity-1 channels, {ROUND_TRIPS} round trips/iteration");
    eprintln!(
        "  payloads _bytes64 (a [u64; 8] struct) and _string (dropped by the consumer): spsc 1p1c, mpmc 2p2c"
    );
    eprintln!("  _pinned1: spsc 1p1c, mpmc 2p2c and handoff 1p1c with all their threads on one CPU");
    let mut criterion = common::config().configure_from_args();
    buffered(&mut criterion);
    handoff(&mut criterion);
    rendezvous(&mut criterion);
    ping_pong(&mut criterion);
    payloads(&mut criterion);
    pinned(&mut criterion);
    scaling(&mut criterion);
    criterion.final_summary();
}
