//! A dudect-style timing test (Reparaz, Balasch, Verbauwhede, "Dude, is my
//! code constant time?", 2017) of the secret-dependent operations of
//! esession-crypto. A tool, not a test: timings depend on the machine, so
//! nothing here runs under `cargo test`.
//!
//! ```text
//! cargo run --release -p esession-crypto --example dudect -- [pow|pow3526|mac|cteq|control|all] [samples] [group]
//! ```
//!
//! For each target, measurements of two input classes are interleaved in a
//! random order (so drifts and other load hit both classes alike), and
//! Welch's t statistic of the two timing distributions is computed on the
//! raw data and on the data cropped at several percentiles (dudect's
//! post-processing against long-tail noise). |t| > 4.5 is dudect's threshold
//! for "a timing difference exists"; below it, none was detected at this
//! number of samples.
//!
//! - `pow`: [`DhPrivateKey::shared_secret`] (crypto-bigint's
//!   `pow_bounded_exp`, the only arithmetic with a secret exponent) with a
//!   fixed exponent of Hamming weight 2 (class 0) against random exponents
//!   (class 1), both with the top bit of p's width set, on a fixed valid peer
//!   value. A square-and-multiply with a data-dependent multiply would
//!   differ by about half the multiplications.
//! - `pow3526`: the same for exponents drawn under the default policy
//!   (DECISIONS D6, L = 320 bits for group 14): one fixed drawn exponent
//!   against a pool of others.
//! - `mac`: [`HashAlg::verify_hmac`] with a tag wrong in its first byte
//!   (class 0) against one wrong in its last byte (class 1): an early-exit
//!   comparison would differ.
//! - `cteq`: [`esession_crypto::secret::ct_eq`] on 32-byte values differing
//!   in the first byte (class 0) against equal values (class 1).
//! - `control`: the positive control: a naive byte-by-byte comparison that
//!   returns at the first difference, on 32-byte values differing in the first
//!   byte against equal ones, batched like `cteq` and `mac`. It must show a
//!   large |t|, or the setup is too noisy to detect a leak of that size.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a tool, not library code

use std::hint::black_box;
use std::time::Instant;

use esession_crypto::dh::{DhPrivateKey, ExponentPolicy, ModpGroup};
use esession_crypto::hash::HashAlg;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

/// Welch's t statistic of two samples.
fn welch_t(a: &[f64], b: &[f64]) -> f64 {
    fn mean_var(x: &[f64]) -> (f64, f64) {
        let n = x.len() as f64;
        let m = x.iter().sum::<f64>() / n;
        let v = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
        (m, v)
    }
    let (ma, va) = mean_var(a);
    let (mb, vb) = mean_var(b);
    (ma - mb) / (va / a.len() as f64 + vb / b.len() as f64).sqrt()
}

/// dudect's post-processing: t on the raw data and on the measurements below
/// each of several percentiles of the pooled data. Returns (label, t) pairs.
fn t_tests(class0: &[f64], class1: &[f64]) -> Vec<(String, f64)> {
    let mut pooled: Vec<f64> = class0.iter().chain(class1).copied().collect();
    pooled.sort_by(f64::total_cmp);
    let mut out = vec![("raw".to_owned(), welch_t(class0, class1))];
    for pct in [50usize, 75, 90, 99] {
        let cut = pooled[(pooled.len() * pct / 100).min(pooled.len() - 1)];
        let a: Vec<f64> = class0.iter().copied().filter(|v| *v <= cut).collect();
        let b: Vec<f64> = class1.iter().copied().filter(|v| *v <= cut).collect();
        if a.len() > 10 && b.len() > 10 {
            out.push((format!("<=p{pct}"), welch_t(&a, &b)));
        }
    }
    out
}

/// Measures `batch` calls of `op(class)`, `samples` times, with classes in
/// random order. Batching lifts a fast operation above the clock's
/// resolution and overhead (hundreds of ns on a VM).
fn measure(
    samples: usize,
    batch: usize,
    rng: &mut ChaCha20Rng,
    mut op: impl FnMut(usize),
) -> [Vec<f64>; 2] {
    let mut classes: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    // Warm-up: caches, branch predictors, frequency scaling.
    for i in 0..samples.min(100) {
        op(i % 2);
    }
    for _ in 0..samples {
        let class = usize::from(rng.next_u32() & 1 == 1);
        let start = Instant::now();
        for _ in 0..batch {
            op(class);
        }
        let ns = start.elapsed().as_nanos() as f64;
        classes[class].push(ns);
    }
    classes
}

/// Calls per measurement for the fast targets.
const BATCH: usize = 64;

fn report(name: &str, classes: &[Vec<f64>; 2]) -> f64 {
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    let ts = t_tests(&classes[0], &classes[1]);
    let max = ts.iter().map(|(_, t)| t.abs()).fold(0.0, f64::max);
    println!(
        "{name:<8} n = {} + {}, mean {:.0} ns vs {:.0} ns, t: {}  max |t| = {max:.2} -> {}",
        classes[0].len(),
        classes[1].len(),
        mean(&classes[0]),
        mean(&classes[1]),
        ts.iter()
            .map(|(l, t)| format!("{l} {t:+.2}"))
            .collect::<Vec<_>>()
            .join(", "),
        if max > 4.5 {
            "TIMING DIFFERENCE (|t| > 4.5)"
        } else {
            "no difference detected"
        }
    );
    max
}

fn pow(samples: usize, group: ModpGroup, rng: &mut ChaCha20Rng) -> f64 {
    let len = group.prime().len();
    // Class 0: top bit and lowest bit set, nothing else (Hamming weight 2).
    let mut fixed = vec![0u8; len];
    fixed[0] = 0x80;
    fixed[len - 1] = 0x01;
    let fixed = DhPrivateKey::from_bytes(group, &fixed).expect("fixed exponent in range");
    // Class 1: a pool of random exponents with the top bit set.
    let pool: Vec<DhPrivateKey> = (0..32)
        .map(|_| {
            loop {
                let mut x = vec![0u8; len];
                rng.fill_bytes(&mut x);
                x[0] |= 0x80;
                if let Ok(k) = DhPrivateKey::from_bytes(group, &x) {
                    break k;
                }
            }
        })
        .collect();
    let peer = DhPrivateKey::generate(group, ExponentPolicy::Rfc3526, 128, rng)
        .expect("peer key")
        .public_key()
        .to_vec();
    let mut pick = ChaCha20Rng::seed_from_u64(2);
    let classes = measure(samples, 1, rng, |class| {
        let key = if class == 0 {
            &fixed
        } else {
            &pool[(pick.next_u32() as usize) % pool.len()]
        };
        black_box(key.shared_secret(black_box(&peer)).expect("valid peer"));
    });
    report("pow", &classes)
}

/// Like [`pow`] for exponents drawn under the default RFC 3526 policy (D6:
/// L bits, 320 for group 14, processed as exactly L bits): one fixed drawn
/// exponent (class 0) against a pool of other drawn exponents (class 1).
fn pow_rfc3526(samples: usize, group: ModpGroup, rng: &mut ChaCha20Rng) -> f64 {
    let mut draw = || {
        DhPrivateKey::generate(group, ExponentPolicy::Rfc3526, 128, rng).expect("drawn exponent")
    };
    let fixed = draw();
    let pool: Vec<DhPrivateKey> = (0..32).map(|_| draw()).collect();
    let peer = draw().public_key().to_vec();
    let mut pick = ChaCha20Rng::seed_from_u64(3);
    let classes = measure(samples, 1, rng, |class| {
        let key = if class == 0 {
            &fixed
        } else {
            &pool[(pick.next_u32() as usize) % pool.len()]
        };
        black_box(key.shared_secret(black_box(&peer)).expect("valid peer"));
    });
    report("pow3526", &classes)
}

fn mac(samples: usize, rng: &mut ChaCha20Rng) -> f64 {
    let key = [7u8; 32];
    let data: [&[u8]; 2] = [b"m_content", &[1, 2, 3]];
    let good = HashAlg::Sha256.hmac_parts(&key, &data);
    let good = good.as_bytes().to_vec();
    let mut first = good.clone();
    first[0] ^= 1;
    let mut last = good.clone();
    last[31] ^= 1;
    let classes = measure(samples, BATCH, rng, |class| {
        let tag = if class == 0 { &first } else { &last };
        black_box(
            HashAlg::Sha256
                .verify_hmac(&key, black_box(&data), black_box(tag))
                .is_ok(),
        );
    });
    report("mac", &classes)
}

fn cteq(samples: usize, rng: &mut ChaCha20Rng) -> f64 {
    let a = [0x42u8; 32];
    let mut differ = a;
    differ[0] ^= 1;
    let equal = a;
    let classes = measure(samples, BATCH, rng, |class| {
        let b = if class == 0 { &differ } else { &equal };
        black_box(esession_crypto::secret::ct_eq(black_box(&a), black_box(b)));
    });
    report("cteq", &classes)
}

/// The leak the control must detect: returns at the first differing byte.
fn naive_eq(a: &[u8], b: &[u8]) -> bool {
    for (x, y) in a.iter().zip(b) {
        if black_box(*x) != black_box(*y) {
            return false;
        }
    }
    a.len() == b.len()
}

fn control(samples: usize, rng: &mut ChaCha20Rng) -> f64 {
    // The same size as the `cteq` target, so that a leak of that size shows.
    let a = vec![0x42u8; 32];
    let mut differ = a.clone();
    differ[0] ^= 1;
    let equal = a.clone();
    let classes = measure(samples, BATCH, rng, |class| {
        let b = if class == 0 { &differ } else { &equal };
        black_box(naive_eq(black_box(&a), black_box(b)));
    });
    report("control", &classes)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let target = args.first().map_or("all", String::as_str);
    let samples: Option<usize> = args.get(1).and_then(|s| s.parse().ok());
    let group = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .map_or(ModpGroup::Group14, |n| {
            ModpGroup::from_number(n).expect("a MODP group number")
        });
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    println!(
        "dudect: Welch t over interleaved timings; |t| > 4.5 means a timing difference (group {})",
        group.number()
    );
    if matches!(target, "control" | "all") {
        control(samples.unwrap_or(200_000), &mut rng);
    }
    if matches!(target, "cteq" | "all") {
        cteq(samples.unwrap_or(200_000), &mut rng);
    }
    if matches!(target, "mac" | "all") {
        mac(samples.unwrap_or(200_000), &mut rng);
    }
    if matches!(target, "pow" | "all") {
        pow(samples.unwrap_or(20_000), group, &mut rng);
    }
    if matches!(target, "pow3526" | "all") {
        pow_rfc3526(samples.unwrap_or(20_000), group, &mut rng);
    }
}
