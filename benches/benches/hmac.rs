//! HMAC (RFC 2104) and the plain digests for the `hash_algs` values sha256,
//! sha384, sha512 and whirlpool over 64 B, 1 KiB and 16 KiB.
//!
//! Labels are `hmac/<hash>/<bytes>` and `digest/<hash>/<bytes>` with
//! `Throughput::Bytes`. The HMAC key is as long as the hash output, like the
//! XEP-0200 MAC keys km (XEP-0116 §4.5.3).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use esession_benches::{PAYLOAD_SIZES, seeded_rng};
use esession_crypto::hash::HashAlg;
use rand_core::Rng;

/// The hashes the registry accepts by default (sha1 and md5 are opt-in only).
const HASHES: [HashAlg; 4] = [
    HashAlg::Sha256,
    HashAlg::Sha384,
    HashAlg::Sha512,
    HashAlg::Whirlpool,
];

fn hmac(c: &mut Criterion) {
    let mut rng = seeded_rng("hmac");
    let mut group = c.benchmark_group("hmac");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for alg in HASHES {
        let mut key = vec![0u8; alg.output_len()];
        rng.fill_bytes(&mut key);
        for size in PAYLOAD_SIZES {
            let mut data = vec![0u8; size];
            rng.fill_bytes(&mut data);
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_function(BenchmarkId::new(alg.name(), size), |b| {
                b.iter(|| alg.hmac(black_box(&key), black_box(&data)));
            });
        }
    }
    group.finish();
}

fn digest(c: &mut Criterion) {
    let mut rng = seeded_rng("digest");
    let mut group = c.benchmark_group("digest");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for alg in HASHES {
        for size in PAYLOAD_SIZES {
            let mut data = vec![0u8; size];
            rng.fill_bytes(&mut data);
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_function(BenchmarkId::new(alg.name(), size), |b| {
                b.iter(|| alg.digest(black_box(&data)));
            });
        }
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    hmac(&mut c);
    digest(&mut c);
    c.final_summary();
}
