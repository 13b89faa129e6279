//! The CPU time of the calling thread (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`
//! through the `cpu-time` crate: the workspace forbids `unsafe`, so no direct
//! libc call; `/proc/thread-self/schedstat` was tried first and is only
//! updated at scheduler ticks, far too coarse for microsecond operations).
//!
//! `openssl speed` divides by process user CPU time, not wall time; to compare
//! like with like on a loaded machine, `compare` times our operations with
//! this clock.

use std::time::{Duration, Instant};

use cpu_time::ThreadTime;

/// Runs `f` and returns its result with the thread CPU time it took (wall time
/// where the platform has no thread CPU clock).
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let wall = Instant::now();
    let start = ThreadTime::try_now().ok();
    let out = f();
    let took = match start.map(|s| s.try_elapsed()) {
        Some(Ok(d)) => d,
        _ => wall.elapsed(),
    };
    (out, took)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_advances_with_work() {
        let (sum, took) = measure(|| (0..200_000u64).fold(0u64, |a, b| a ^ b.wrapping_mul(31)));
        assert_ne!(sum, 1);
        assert!(took > Duration::ZERO);
        // Fine-grained: a second tiny measurement is far below a scheduler tick.
        let (_, tiny) = measure(|| std::hint::black_box(1 + 1));
        assert!(tiny < Duration::from_millis(1));
    }
}
