//! Sign and verify for each key signing algorithm of XEP-0116 §8.2 (DECISIONS D31):
//! rsa-sha256 (RSA-2048), dsa-sha256 (L = 2048, N = 256) and ecdsa-sha256 (P-256).
//!
//! Labels are `sign/<alg>` and `verify/<alg>`, e.g. `sign/rsa-sha256`. The message
//! is 32 bytes, the size of the `macA`/`macB` value SIGMA signs. Keys are generated
//! once, outside the measurement (DSA generates fresh domain parameters, which is slow).
//! Samples are flat (the same iteration count each), as for the DH benchmarks.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode};
use esession_benches::seeded_rng;
use esession_crypto::Error;
use esession_crypto::sign::{SignAlg, SigningKey};
use rand_core::Rng;

/// The short name of an algorithm: the fragment of its XML-DSig URI.
fn label(alg: SignAlg) -> &'static str {
    let uri = alg.uri();
    uri.rsplit_once('#').map_or(uri, |(_, name)| name)
}

fn signatures(c: &mut Criterion) -> Result<(), Error> {
    let mut rng = seeded_rng("sign");
    let mut msg = [0u8; 32];
    rng.fill_bytes(&mut msg);

    let mut keys = Vec::with_capacity(SignAlg::ALL.len());
    for alg in SignAlg::ALL {
        let key = SigningKey::generate(alg, &mut rng)?;
        let signature = key.sign(&msg, &mut rng)?;
        let verifying = key.verifying_key();
        // The loops time the success path only.
        verifying.verify(&msg, &signature)?;
        keys.push((alg, key, verifying, signature));
    }

    let mut group = c.benchmark_group("sign");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (alg, key, _, _) in &keys {
        group.bench_function(BenchmarkId::from_parameter(label(*alg)), |b| {
            b.iter(|| key.sign(black_box(&msg), &mut rng));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("verify");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (alg, _, verifying, signature) in &keys {
        group.bench_function(BenchmarkId::from_parameter(label(*alg)), |b| {
            b.iter(|| verifying.verify(black_box(&msg), black_box(signature)));
        });
    }
    group.finish();
    Ok(())
}

fn main() -> Result<(), Error> {
    let mut c = Criterion::default().configure_from_args();
    signatures(&mut c)?;
    c.final_summary();
    Ok(())
}
