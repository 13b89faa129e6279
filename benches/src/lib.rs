//! # esession-benches
//!
//! Criterion benchmarks of esession, one file per area under `benches/`:
//!
//! | file | what | label |
//! |---|---|---|
//! | `dh.rs` | MODP groups 5, 14, 15, 16: key generation and shared secret, both exponent policies | `BenchmarkId::new(policy, group)` |
//! | `cipher.rs` | every `crypt_algs` cipher (9 CTR ciphers and `none`) at 64 B, 1 KiB, 16 KiB | `BenchmarkId::new(cipher, bytes)`, `Throughput::Bytes` |
//! | `hmac.rs` | HMAC and plain digests for sha256, sha384, sha512, whirlpool at the same sizes | `BenchmarkId::new(hash, bytes)`, `Throughput::Bytes` |
//! | `sign.rs` | sign and verify for rsa-sha256, dsa-sha256, ecdsa-sha256 | groups `sign` and `verify`, `BenchmarkId::from_parameter(alg)` |
//! | `session.rs` | whole in-memory negotiations (4-message groups 5 and 14 without keys, 4- and 3-message with RSA-2048 on both sides), Bob's XEP-0187 offline init, the XEP-0200 stanza path (send, receive, both) and its sub-steps at 64 B, 1 KiB, 16 KiB | `negotiation/<kind>/<policy>`, `offline_init/<policy>`, `stanza_<side>/<bytes>`, `stanza_step/<step>/<bytes>` |
//! | `scale.rs` | 100,000 established sessions held in one process, one stanza through each (not criterion: one run, memory and throughput printed) | — |
//!
//! And two binaries: `compare` (`src/bin/compare.rs`, `just compare`), which in
//! one run measures OpenSSL's cost of the same primitive operations (with the
//! libcrypto helper `openssl/modexp.c` for DH), our negotiations, our stanza
//! path and our session state, and prints the ratios; and `session-state`,
//! which `compare` runs to measure the state under a counting allocator.
//!
//! Run the benchmarks with `cargo bench -p esession-benches -- --quick` (`just
//! bench`); measured numbers and the comparison with OpenSSL are in
//! `docs/performance.md`. The bench targets have `test = false`, so `cargo test
//! --workspace` neither builds nor runs them; it does run
//! `tests/state_size.rs`, which holds the session-state target (≤ 2 KiB) as a
//! size assertion.
//!
//! This library holds what the bench files share: the payload sizes, a seeded
//! RNG (every run draws the same keys and exponents), an in-memory pair of
//! endpoints ([`pair`]) that negotiates and carries stanzas as text, as a server
//! would, a thread CPU clock ([`cpu`]), and the session-state measurement
//! ([`state`]).
//!
//! ```
//! use esession_benches::{PAYLOAD_SIZES, seeded_rng};
//! use rand_core::Rng;
//!
//! assert_eq!(PAYLOAD_SIZES, [64, 1024, 16 * 1024]);
//! // Same label, same stream: runs are reproducible.
//! assert_eq!(seeded_rng("dh").next_u64(), seeded_rng("dh").next_u64());
//! ```
#![forbid(unsafe_code)]

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

pub mod cpu;
pub mod pair;
pub mod state;

/// Message sizes (bytes) for the cipher, HMAC and stanza benchmarks: a short
/// chat line, a typical stanza body, and a large one.
pub const PAYLOAD_SIZES: [usize; 3] = [64, 1024, 16 * 1024];

/// A ChaCha20 RNG seeded from `label`, so each bench file draws a fixed,
/// reproducible sequence of keys (benchmarks need no unpredictability).
pub fn seeded_rng(label: &str) -> ChaCha20Rng {
    let mut seed = [0u8; 32];
    for (slot, byte) in seed.iter_mut().zip(label.bytes()) {
        *slot = byte;
    }
    ChaCha20Rng::from_seed(seed)
}

/// Why a benchmark could not run: a library error, or a session that did not
/// reach the state the benchmark needs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// From `esession-online`.
    #[error("online: {0}")]
    Online(#[from] esession_online::Error),
    /// From `esession-offline`.
    #[error("offline: {0}")]
    Offline(#[from] esession_offline::Error),
    /// From `esession-crypto`.
    #[error("crypto: {0}")]
    Crypto(#[from] esession_crypto::Error),
    /// From `esession-wire`.
    #[error("wire: {0}")]
    Wire(#[from] esession_wire::Error),
    /// Running or reading an outside program (OpenSSL) failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The session did not do what the benchmark expected.
    #[error("benchmark: {0}")]
    Unexpected(String),
}
