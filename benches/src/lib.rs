//! # esession-benches
//!
//! Criterion benchmarks of the primitives in `esession-crypto`, one file per area
//! under `benches/`:
//!
//! | file | what | label |
//! |---|---|---|
//! | `dh.rs` | MODP groups 5, 14, 15, 16: key generation and shared secret, both exponent policies | `BenchmarkId::new(policy, group)` |
//! | `cipher.rs` | every `crypt_algs` cipher (9 CTR ciphers and `none`) at 64 B, 1 KiB, 16 KiB | `BenchmarkId::new(cipher, bytes)`, `Throughput::Bytes` |
//! | `hmac.rs` | HMAC and plain digests for sha256, sha384, sha512, whirlpool at the same sizes | `BenchmarkId::new(hash, bytes)`, `Throughput::Bytes` |
//! | `sign.rs` | sign and verify for rsa-sha256, dsa-sha256, ecdsa-sha256 | groups `sign` and `verify`, `BenchmarkId::from_parameter(alg)` |
//!
//! Run them with `cargo bench -p esession-benches -- --quick` (`just bench`);
//! measured numbers and the comparison with OpenSSL are in `docs/performance.md`.
//! The bench targets have `test = false`, so `cargo test --workspace` neither
//! builds nor runs them.
//!
//! This library only holds what the bench files share: the payload sizes and a
//! seeded RNG, so every run draws the same keys and exponents.
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

/// Message sizes (bytes) for the cipher and HMAC benchmarks: a short chat line,
/// a typical stanza body, and a large one.
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
