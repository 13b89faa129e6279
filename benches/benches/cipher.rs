//! The XEP-0200 CTR ciphers (every `crypt_algs` value: AES, Twofish and Serpent at
//! 128/192/256-bit keys, and `none`) encrypting 64 B, 1 KiB and 16 KiB in place.
//!
//! Labels are `cipher/<name>/<bytes>` with `Throughput::Bytes`, so criterion
//! reports bytes per second. Each iteration encrypts a fresh copy of the plaintext
//! (the copy is made in `iter_batched_ref`'s untimed setup).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use esession_benches::{PAYLOAD_SIZES, seeded_rng};
use esession_crypto::Error;
use esession_crypto::cipher::{CipherAlg, CtrKey};
use rand_core::Rng;

/// An arbitrary starting counter (the XEP-0200 counter is a full 128-bit value).
const COUNTER: u128 = 0x0123_4567_89ab_cdef_0f1e_2d3c_4b5a_6978;

fn ciphers(c: &mut Criterion) -> Result<(), Error> {
    let mut rng = seeded_rng("cipher");
    let mut group = c.benchmark_group("cipher");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for alg in CipherAlg::ALL {
        let mut key_bytes = vec![0u8; alg.key_len()];
        rng.fill_bytes(&mut key_bytes);
        let key = CtrKey::new(alg, &key_bytes)?;
        for size in PAYLOAD_SIZES {
            let mut plaintext = vec![0u8; size];
            rng.fill_bytes(&mut plaintext);
            // Run once outside the loop: an error surfaces here instead of being timed.
            key.apply_keystream(COUNTER, &mut plaintext.clone())?;
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_function(BenchmarkId::new(alg.name(), size), |b| {
                b.iter_batched_ref(
                    || plaintext.clone(),
                    |buf| key.apply_keystream(black_box(COUNTER), buf),
                    BatchSize::SmallInput,
                );
            });
        }
    }
    group.finish();
    Ok(())
}

fn main() -> Result<(), Error> {
    let mut c = Criterion::default().configure_from_args();
    ciphers(&mut c)?;
    c.final_summary();
    Ok(())
}
