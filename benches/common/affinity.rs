//! Pinning threads to one CPU, for the "all threads on one core" workloads (Linux only).
//!
//! With every thread of a workload on one CPU, a waiting thread that spins only burns the time
//! slice the thread it waits for needs: implementations that spin and `yield_now` before they
//! park (crossbeam-channel's `Backoff`, its issue #821) are measured at their worst there.
//!
//! Shared by `benches/common/mod.rs` and `examples/latency.rs` (included by `#[path]`).
#![allow(dead_code)] // each includer uses a part

/// The CPU the pinned workloads run on: the lowest-numbered CPU this process may use, so a run
/// under `taskset` stays inside its set. `None` off Linux or when the mask cannot be read.
#[cfg(target_os = "linux")]
pub fn one_core() -> Option<usize> {
    use std::sync::OnceLock;
    static CPU: OnceLock<Option<usize>> = OnceLock::new();
    *CPU.get_or_init(|| {
        // SAFETY: `cpu_set_t` is a plain bit array; all zeroes is a valid (empty) set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a live, writable `cpu_set_t` of the size passed; pid 0 is this thread.
        let rc = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) };
        if rc != 0 {
            return None;
        }
        // SAFETY: `set` was filled in by `sched_getaffinity`; `cpu` is below `CPU_SETSIZE`.
        (0..libc::CPU_SETSIZE as usize).find(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
    })
}

/// Off Linux there is no pinning: the pinned workloads are skipped.
#[cfg(not(target_os = "linux"))]
pub fn one_core() -> Option<usize> {
    None
}

/// Pins the calling thread to `cpu`. Panics when the kernel refuses (a pinned measurement
/// that silently ran unpinned would be mislabelled).
#[cfg(target_os = "linux")]
pub fn pin_current_thread(cpu: usize) {
    // SAFETY: all zeroes is a valid empty `cpu_set_t`.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a live `cpu_set_t`; `one_core` returns CPUs below `CPU_SETSIZE`.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a live, initialised `cpu_set_t` of the size passed; pid 0 is this thread.
    let rc = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) };
    assert_eq!(rc, 0, "sched_setaffinity to CPU {cpu}: {}", std::io::Error::last_os_error());
}

/// Off Linux there is no pinning ([`one_core`] is `None`, so this is never reached).
#[cfg(not(target_os = "linux"))]
pub fn pin_current_thread(cpu: usize) {
    panic!("pinning to CPU {cpu} is only implemented on Linux");
}
