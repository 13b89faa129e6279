//! Whole protocol paths, in memory, through the public APIs:
//!
//! - `negotiation/<kind>/<policy>`: a whole XEP-0116 negotiation between two
//!   fresh endpoints, Bob accepting at once, every stanza serialized and parsed
//!   on the way: `4msg-g5`, `4msg-g14` (no public keys, SAS), `4msg-g14-rsa2048`
//!   and `3msg-g14-rsa2048` (RSA-2048 `key` mode on both sides), each under both
//!   exponent policies of DECISIONS D6 (`rfc3526`: RFC 3526 §8 sizes; `full`).
//! - `offline_init/<policy>`: Bob's XEP-0187 offline init: check Alice's signed
//!   options (RSA-2048 verify), then `Initiator::start` (DH key, shared secret,
//!   RSA-2048 signature, a 64-byte body encrypted and terminated).
//! - `stanza_send/<bytes>`, `stanza_receive/<bytes>`, `stanza_round_trip/<bytes>`:
//!   the XEP-0200 path for a body of 64 B, 1 KiB, 16 KiB. Send = build the
//!   `<message/>`, `Endpoint::send` (AES-128-CTR, HMAC-SHA256, base64, `<c/>`),
//!   `to_xml`. Receive = `Stanza::parse`, `Endpoint::handle_stanza` (base64,
//!   HMAC check, AES-128-CTR, content parsed back), `Output::Received`.
//!   `Throughput::Bytes` of the body.
//! - `stanza_step/<step>/<bytes>`: the sub-steps that are not primitives
//!   (base64 both ways, `to_xml` and `Stanza::parse` of the encrypted stanza),
//!   for the breakdown in `docs/performance.md` (AES and HMAC: `cipher.rs`, `hmac.rs`).
//!
//! Negotiations take milliseconds, so their samples are flat. Under `cargo
//! test --benches` criterion runs each routine once.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use esession_benches::pair::{self, Identities, Kind, Pair};
use esession_benches::{Error, PAYLOAD_SIZES, seeded_rng};
use esession_crypto::b64;
use esession_crypto::dh::{ExponentPolicy, ModpGroup};
use esession_crypto::sign::SigningKey;
use esession_offline::{Audience, Initiator, MemoryOfflineStore, Publisher};
use esession_online::{MemoryStore, SessionStore, TrustedKey};
use esession_wire::Stanza;

const KINDS: [Kind; 4] = [
    Kind::FourNoKeys(ModpGroup::Group5),
    Kind::FourNoKeys(ModpGroup::Group14),
    Kind::FourRsa,
    Kind::ThreeRsa,
];

const POLICIES: [ExponentPolicy; 2] = [ExponentPolicy::Rfc3526, ExponentPolicy::Full];

fn negotiations(c: &mut Criterion, ids: &Identities) -> Result<(), Error> {
    let mut group = c.benchmark_group("negotiation");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for kind in KINDS {
        for policy in POLICIES {
            let (alice, bob) = pair::configs(kind, policy, Some(ids))?;
            // Once outside the loop: a failure surfaces here instead of being timed.
            Pair::negotiate(alice.clone(), bob.clone(), 0)?;
            let mut seed = 1u64;
            group.bench_function(BenchmarkId::new(kind.label(), policy.name()), |b| {
                b.iter(|| {
                    seed += 1;
                    Pair::negotiate(alice.clone(), bob.clone(), black_box(seed))
                });
            });
        }
    }
    group.finish();
    Ok(())
}

fn offline_init(c: &mut Criterion) -> Result<(), Error> {
    let mut rng = seeded_rng("offline");
    let alice_key = SigningKey::generate_rsa(2048, &mut rng)?;
    let bob_key = SigningKey::generate_rsa(2048, &mut rng)?;
    let now = pair::now();
    let mut trust = MemoryStore::new();
    let Ok(()) = trust.trust_key(
        "alice@example.org",
        TrustedKey::of(&alice_key.verifying_key(), "Alice")?,
    );
    let mut group = c.benchmark_group("offline_init");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for policy in POLICIES {
        let mut config = esession_online::Config::default();
        config.modp = vec![ModpGroup::Group14];
        config.exponent_policy = policy;
        let mut store = MemoryOfflineStore::new();
        let published = Publisher::new(
            config.clone(),
            Audience::Subscribers,
            now + Duration::from_secs(8 * 3600),
        )
        .match_resource("pda")
        .signing_key(&alice_key)
        .publish(&mut rng, &mut store)?;
        let bob = Initiator::new(config, &bob_key)?;
        let hello = pair::message(&pair::body(64));
        // Once outside the loop, as above.
        let checked = bob.check_options(now, "alice@example.org", &published.item, &trust)?;
        bob.start(now, &checked, Some(hello.clone()), true, &mut rng)?;
        group.bench_function(BenchmarkId::from_parameter(policy.name()), |b| {
            b.iter(|| -> Result<_, esession_offline::Error> {
                let checked =
                    bob.check_options(now, "alice@example.org", &published.item, &trust)?;
                bob.start(now, &checked, Some(hello.clone()), true, &mut rng)
            });
        });
    }
    group.finish();
    Ok(())
}

/// Times `iters` messages of the stanza path: the send side, the receive side,
/// or both, with the other side (if any) run untimed.
fn stanza_iters(
    pair: &mut Pair,
    body: &str,
    iters: u64,
    time_send: bool,
    time_receive: bool,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        let text = pair.send_text(black_box(body));
        let sent = start.elapsed();
        let Ok(text) = text else { break };
        let start = Instant::now();
        let got = pair.receive_text(black_box(&text));
        let received = start.elapsed();
        black_box(got.is_ok());
        if time_send {
            total += sent;
        }
        if time_receive {
            total += received;
        }
    }
    total
}

fn stanza_path(c: &mut Criterion) -> Result<(), Error> {
    let (alice, bob) = pair::configs(
        Kind::FourNoKeys(ModpGroup::Group14),
        ExponentPolicy::Rfc3526,
        None,
    )?;
    let mut pair = Pair::negotiate(alice, bob, 7)?;
    for (name, send, receive) in [
        ("stanza_send", true, false),
        ("stanza_receive", false, true),
        ("stanza_round_trip", true, true),
    ] {
        let mut group = c.benchmark_group(name);
        group
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        for size in PAYLOAD_SIZES {
            let body = pair::body(size);
            pair.round_trip(&body)?;
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_function(BenchmarkId::from_parameter(size), |b| {
                b.iter_custom(|iters| stanza_iters(&mut pair, &body, iters, send, receive));
            });
        }
        group.finish();
    }
    Ok(())
}

fn stanza_steps(c: &mut Criterion) -> Result<(), Error> {
    let (alice, bob) = pair::configs(
        Kind::FourNoKeys(ModpGroup::Group14),
        ExponentPolicy::Rfc3526,
        None,
    )?;
    let mut pair = Pair::negotiate(alice, bob, 8)?;
    let mut group = c.benchmark_group("stanza_step");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for size in PAYLOAD_SIZES {
        let raw = pair::body(size).into_bytes();
        let encoded = b64::encode(&raw);
        let text = pair.send_text(&pair::body(size))?;
        let stanza = Stanza::parse(&text)?;
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("base64_encode", size), |b| {
            b.iter(|| b64::encode(black_box(&raw)));
        });
        group.bench_function(BenchmarkId::new("base64_decode", size), |b| {
            b.iter(|| b64::decode(black_box(&encoded)));
        });
        group.bench_function(BenchmarkId::new("to_xml", size), |b| {
            b.iter(|| black_box(&stanza).to_xml());
        });
        group.bench_function(BenchmarkId::new("parse", size), |b| {
            b.iter(|| Stanza::parse(black_box(&text)));
        });
        group.bench_function(BenchmarkId::new("build", size), |b| {
            b.iter(|| pair::message(black_box(&raw_str(&raw))));
        });
    }
    group.finish();
    Ok(())
}

/// The body bytes back as text (they are ASCII letters).
fn raw_str(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

fn main() -> Result<(), Error> {
    let mut c = Criterion::default().configure_from_args();
    stanza_path(&mut c)?;
    stanza_steps(&mut c)?;
    let ids = Identities::rsa2048()?;
    negotiations(&mut c, &ids)?;
    offline_init(&mut c)?;
    c.final_summary();
    Ok(())
}
