//! Prints the memory one established session holds (see
//! `esession_benches::state`), one line per MODP group:
//! `state <group> <inline> <alice heap> <bob heap>` in bytes; first a line
//! `parts config <bytes> rng <bytes>` (inline sizes of two known parts);
//! then per body size `allocs <body bytes> <send> <receive>`: heap
//! allocation calls of one stanza (`esession_benches::state::stanza_allocations`).
//!
//! A separate binary because it installs a counting global allocator, whose
//! atomic counters would slow down every allocation `compare` times.
//! Usage: `session-state [pairs]` (default 200).

use std::alloc::System;

use esession_benches::Error;
use esession_crypto::dh::ModpGroup;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn main() -> Result<(), Error> {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    // Parts of the inline size that are known from outside.
    println!(
        "parts config {} rng {}",
        size_of::<esession_online::Config>(),
        size_of::<rand_chacha::ChaCha20Rng>()
    );
    for group in [ModpGroup::Group5, ModpGroup::Group14] {
        let s = esession_benches::state::measure(GLOBAL, group, n)?;
        println!(
            "state {} {} {} {}",
            group.number(),
            s.inline,
            s.alice_heap,
            s.bob_heap
        );
    }
    for size in esession_benches::PAYLOAD_SIZES {
        let (send, recv) = esession_benches::state::stanza_allocations(GLOBAL, size)?;
        println!("allocs {size} {send} {recv}");
    }
    Ok(())
}
