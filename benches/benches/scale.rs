//! Scale: 100,000 established sessions held in one process, one stanza passed
//! through each. Not criterion (one run is the measurement); prints what it
//! measured.
//!
//! - **Establishing cheaply:** `Endpoint` is not `Clone`, so every session is
//!   a real, whole 4-message negotiation, in MODP group 5 with the `rfc3526`
//!   exponent policy (256-bit exponents, RFC 3526 §8; DECISIONS D6): the
//!   cheapest the protocol allows, about 4 × 0.4 ms of modular
//!   exponentiation. Both cores establish (two threads, half each).
//! - **Held:** both endpoints of every session (200,000 `Endpoint`s), their
//!   stores emptied (`Pair::shed_stores`: the stores are per account).
//! - **Memory:** net heap growth counted by a [`stats_alloc`] global allocator,
//!   plus `size_of` of what is held; and the process RSS (`/proc/self/status`
//!   VmRSS) before and after.
//! - **Throughput:** one 64-byte chat message from Alice to Bob in every
//!   session, in session order on one thread (build, encrypt, MAC, base64,
//!   XML, parse, check, decrypt), wall time.
//!
//! `cargo bench -p esession-benches --bench scale` holds 100,000 sessions;
//! `-- --sessions N` sets N; `-- --quick` (as `just bench` passes to every
//! bench) holds 10,000. Without `--bench` among the arguments (as `cargo test
//! --benches` runs it) it holds 200, so a test run stays cheap.

use std::alloc::System;
use std::time::Instant;

use esession_benches::Error;
use esession_benches::pair::{self, Kind, Pair};
use esession_benches::state::net_heap;
use esession_crypto::dh::{ExponentPolicy, ModpGroup};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn sessions_wanted() -> usize {
    let args: Vec<String> = std::env::args().collect();
    if let Some(n) = args
        .iter()
        .position(|a| a == "--sessions")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    if args.iter().any(|a| a == "--quick") {
        // `cargo bench -- --quick` (`just bench`): a short run.
        10_000
    } else if args.iter().any(|a| a == "--bench") {
        100_000
    } else {
        200
    }
}

fn establish(first: usize, count: usize) -> Result<Vec<Pair>, Error> {
    let (alice, bob) = pair::configs(
        Kind::FourNoKeys(ModpGroup::Group5),
        ExponentPolicy::Rfc3526,
        None,
    )?;
    // One configuration per account, shared by all its sessions.
    let (alice, bob) = (std::sync::Arc::new(alice), std::sync::Arc::new(bob));
    let mut pairs = Vec::with_capacity(count);
    for i in first..first + count {
        let mut p = Pair::negotiate(alice.clone(), bob.clone(), i as u64)?;
        p.shed_stores();
        pairs.push(p);
    }
    Ok(pairs)
}

fn main() -> Result<(), Error> {
    let n = sessions_wanted();
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .clamp(1, 2);
    println!("scale: {n} sessions (group 5, rfc3526 exponents), {threads} threads establishing");
    let rss_before = rss_kib();
    let region = Region::new(GLOBAL);
    let start = Instant::now();
    let halves: Vec<Result<Vec<Pair>, Error>> = std::thread::scope(|s| {
        let per = n.div_ceil(threads);
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let first = t * per;
                let count = per.min(n.saturating_sub(first));
                s.spawn(move || establish(first, count))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Unexpected("establishing thread died".into())))
            })
            .collect()
    });
    let mut pairs = Vec::with_capacity(n);
    for half in halves {
        pairs.extend(half?);
    }
    let established = start.elapsed();
    let heap = net_heap(&region);
    let rss_after = rss_kib();
    let held = pairs.len();
    println!(
        "established {held} sessions in {:.1} s wall ({:.0} sessions/s with {threads} threads)",
        established.as_secs_f64(),
        held as f64 / established.as_secs_f64(),
    );
    // The pairs live in a Vec on the heap, so the counted heap already holds
    // their inline part (size_of::<Pair>() each) as well as what they point to.
    let per_session = heap as f64 / held.max(1) as f64;
    println!(
        "memory: counted heap {:.1} MiB net = {per_session:.0} B per session (2 endpoints and their emptied stores; size_of::<Pair>() = {} B of it) = {:.0} B per endpoint",
        heap as f64 / (1024.0 * 1024.0),
        size_of::<Pair>(),
        per_session / 2.0
    );
    if let (Some(b), Some(a)) = (rss_before, rss_after) {
        println!(
            "memory: RSS {:.1} MiB -> {:.1} MiB (+{:.0} B per session)",
            b as f64 / 1024.0,
            a as f64 / 1024.0,
            (a.saturating_sub(b) * 1024) as f64 / held.max(1) as f64
        );
    }

    let body = pair::body(64);
    let start = Instant::now();
    for p in &mut pairs {
        p.round_trip(&body)?;
    }
    let passed = start.elapsed();
    println!(
        "one 64-byte message through each: {held} in {:.2} s = {:.0} stanzas/s ({:.2} µs each: send + receive, one thread)",
        passed.as_secs_f64(),
        held as f64 / passed.as_secs_f64(),
        passed.as_secs_f64() * 1e6 / held.max(1) as f64
    );
    if let Some(a) = rss_kib() {
        println!("memory after the pass: RSS {:.1} MiB", a as f64 / 1024.0);
    }
    Ok(())
}
