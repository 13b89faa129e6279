//! The memory an established session holds: `size_of::<Endpoint>()` plus the
//! heap it keeps, counted by a [`stats_alloc`] global allocator that the
//! calling binary installs (the workspace forbids `unsafe`, so we cannot write
//! our own `GlobalAlloc`). The protocol crates have no size accessor; this
//! measures from outside.
//!
//! Method: establish `n` pairs inside a counting region, drop everything but
//! the endpoints (the retained-secret and trust stores belong to the
//! application, one per account, not per session, and so does the
//! `Arc<Config>` the sessions share), and divide the net heap growth by `n`:
//! the heap each endpoint keeps, fragmentation aside.

use std::alloc::System;
use std::sync::Arc;

use esession_crypto::dh::{ExponentPolicy, ModpGroup};
use esession_online::Endpoint;
use rand_chacha::ChaCha20Rng;
use stats_alloc::{Region, StatsAlloc};

use crate::Error;
use crate::pair::{self, Kind, Pair};

/// What one established endpoint costs in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateSize {
    /// `size_of::<Endpoint<ChaCha20Rng>>()`: the inline part.
    pub inline: usize,
    /// Net heap bytes held per Alice endpoint.
    pub alice_heap: usize,
    /// Net heap bytes held per Bob endpoint.
    pub bob_heap: usize,
}

impl StateSize {
    /// The larger side's total (inline + heap).
    pub fn max_total(&self) -> usize {
        self.inline + self.alice_heap.max(self.bob_heap)
    }
}

/// Net heap bytes of a region so far: allocated − freed (stats_alloc already
/// counts a realloc's growth as allocated and its shrinking as freed).
pub fn net_heap(region: &Region<'_, System>) -> isize {
    let s = region.change();
    let alloc = isize::try_from(s.bytes_allocated).unwrap_or(isize::MAX);
    let freed = isize::try_from(s.bytes_deallocated).unwrap_or(isize::MAX);
    alloc - freed
}

/// Establishes `n` pairs in `group` (policy `rfc3526`; the policy does not
/// change what is kept, the group does: the DH values kept for re-keys are as
/// wide as p) with one message from Alice to Bob, then measures the held state
/// per endpoint.
pub fn measure(
    alloc: &'static StatsAlloc<System>,
    group: ModpGroup,
    n: usize,
) -> Result<StateSize, Error> {
    let (alice_cfg, bob_cfg) =
        pair::configs(Kind::FourNoKeys(group), ExponentPolicy::Rfc3526, None)?;
    // One configuration per account, shared by its sessions (as the
    // application holds it), made before the counting region.
    let (alice_cfg, bob_cfg) = (Arc::new(alice_cfg), Arc::new(bob_cfg));
    let n = n.max(1);
    let mut per_side = [0usize; 2];
    for (side, slot) in per_side.iter_mut().enumerate() {
        let mut kept: Vec<Endpoint<ChaCha20Rng>> = Vec::with_capacity(n);
        let region = Region::new(alloc);
        for i in 0..n {
            let mut p = Pair::negotiate(alice_cfg.clone(), bob_cfg.clone(), i as u64)?;
            p.round_trip("hello")?;
            let (a, b) = p.into_endpoints();
            kept.push(if side == 0 { a } else { b });
        }
        let net = net_heap(&region);
        *slot = usize::try_from(net).unwrap_or(0) / n;
        drop(kept);
    }
    Ok(StateSize {
        inline: size_of::<Endpoint<ChaCha20Rng>>(),
        alice_heap: per_side[0],
        bob_heap: per_side[1],
    })
}

/// Heap allocation calls (allocations plus reallocations) of one stanza of
/// `size` body bytes, on the send side (build, `Endpoint::send`, `to_xml`)
/// and on the receive side (`Stanza::parse`, `Endpoint::handle_stanza`, the
/// `Received` output), in an established group-14 session, after a warm-up
/// round trip. Counted by the calling binary's [`stats_alloc`] allocator.
pub fn stanza_allocations(
    alloc: &'static StatsAlloc<System>,
    size: usize,
) -> Result<(usize, usize), Error> {
    let (a, b) = pair::configs(
        Kind::FourNoKeys(ModpGroup::Group14),
        ExponentPolicy::Rfc3526,
        None,
    )?;
    let mut p = Pair::negotiate(a, b, 7)?;
    let body = pair::body(size);
    p.round_trip(&body)?;
    let region = Region::new(alloc);
    let text = p.send_text(&body)?;
    let s = region.change();
    let send = s.allocations + s.reallocations;
    let region = Region::new(alloc);
    let got = p.receive_text(&text)?;
    let s = region.change();
    drop(got);
    Ok((send, s.allocations + s.reallocations))
}
