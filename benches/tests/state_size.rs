//! Issue 8's session-state target as a test: an established endpoint (after
//! one message) holds at most 2 KiB, `size_of::<Endpoint>()` plus the heap it
//! keeps, in MODP groups 5 and 14 (docs/performance.md, decisions B8, O23).
//! A size, not a time: it does not depend on the machine's load.

use std::alloc::System;

use esession_crypto::dh::ModpGroup;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The target of issue 8.
const MAX_STATE_BYTES: usize = 2048;

#[test]
fn an_established_session_holds_at_most_2_kib() {
    for group in [ModpGroup::Group5, ModpGroup::Group14] {
        // 40 sessions per side: enough to average allocator rounding out;
        // the counting region is per test, and this binary runs nothing else.
        let s = esession_benches::state::measure(GLOBAL, group, 40).expect("negotiations");
        let total = s.max_total();
        eprintln!(
            "group {}: {} inline + heap {} (Alice) / {} (Bob) = {total} B",
            group.number(),
            s.inline,
            s.alice_heap,
            s.bob_heap
        );
        assert!(
            total <= MAX_STATE_BYTES,
            "group {}: {total} B > {MAX_STATE_BYTES} B ({s:?})",
            group.number()
        );
        // The measurement is real: an endpoint holds its keys and JIDs.
        assert!(s.alice_heap > 500 && s.bob_heap > 500, "{s:?}");
    }
}
