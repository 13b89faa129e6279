//! `just compare`: in one run, OpenSSL's cost of the primitive operations
//! esession performs, our cost of the same primitives, our whole negotiations,
//! our stanza path and our session state, under each crypto provider; then the
//! ratios against the performance targets, as Markdown tables (pasted into
//! `docs/performance.md`).
//!
//! Our side is measured once per provider, each in a child process of this
//! binary (`compare --ours NAME`) that installs that provider as the process
//! default before anything else runs: RustCrypto, and OpenSSL when built with
//! the `openssl` feature (`just compare` does). The negotiations run through
//! the protocol crates, which use the default provider.
//!
//! OpenSSL is measured with `openssl speed -mr` (RSA-2048 sign/verify,
//! AES-128-CTR, HMAC-SHA256, and `ffdh2048` for reference) and, for
//! Diffie-Hellman in MODP groups 5 and 14 with our exponent sizes (which `speed`
//! cannot set), with the small libcrypto program `benches/openssl/modexp.c`
//! (`--modexp PATH`). Everything is CPU time of one thread/process, as `openssl
//! speed` divides by user CPU time. Our times are medians of batches.
//!
//! Usage: `compare [--modexp PATH] [--seconds N] [--quick]`
//! (`--seconds`: per `openssl speed` case, default 3; `--quick`: fewer samples).
//! `compare --ours NAME [--quick]` prints one provider's `metric <key> <seconds>` lines.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use esession_benches::cpu;
use esession_benches::pair::{self, Identities, Kind, Pair};
use esession_benches::{Error, PAYLOAD_SIZES, seeded_rng};
use esession_crypto::cipher::{CipherAlg, CtrKey};
use esession_crypto::dh::{DhPrivateKey, ExponentPolicy, ModpGroup};
use esession_crypto::hash::HashAlg;
use esession_crypto::provider::{self, CryptoProvider};
use esession_crypto::sign::SigningKey;
use esession_offline::{Audience, Initiator, MemoryOfflineStore, Publisher};
use esession_online::{MemoryStore, SessionStore, TrustedKey};
use rand_core::Rng;

/// Command-line options.
struct Opts {
    modexp: Option<PathBuf>,
    seconds: u32,
    quick: bool,
    /// Child mode: measure our side under this provider only.
    ours: Option<String>,
}

fn opts() -> Result<Opts, Error> {
    let mut o = Opts {
        modexp: None,
        seconds: 3,
        quick: false,
        ours: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--modexp" => o.modexp = args.next().map(PathBuf::from),
            "--seconds" => {
                o.seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| Error::Unexpected("--seconds needs a number".into()))?;
            }
            "--quick" => o.quick = true,
            "--ours" => o.ours = args.next(),
            // `cargo bench` passes --bench to every target; harmless here.
            "--bench" => {}
            other => return Err(Error::Unexpected(format!("unknown argument {other}"))),
        }
    }
    Ok(o)
}

/// OpenSSL's costs, seconds per operation or bytes per second.
#[derive(Default)]
struct OpenSsl {
    version: String,
    rsa_sign: f64,
    rsa_verify: f64,
    ffdh2048: f64,
    /// (group, exponent bits, keygen s/op, shared s/op)
    modexp: Vec<(u32, u32, f64, f64)>,
    /// bytes/s at [16, 64, 256, 1024, 8192, 16384]
    aes: Vec<f64>,
    hmac: Vec<f64>,
}

/// The `openssl speed` block sizes, in the order of its `+F:` lines.
const SPEED_SIZES: [usize; 6] = [16, 64, 256, 1024, 8192, 16384];

fn run(cmd: &mut Command) -> Result<String, Error> {
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(Error::Unexpected(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok(text)
}

fn speed(seconds: u32, args: &[&str]) -> Result<String, Error> {
    let s = seconds.to_string();
    let mut cmd = Command::new("openssl");
    cmd.args(["speed", "-mr", "-seconds", &s]).args(args);
    run(&mut cmd)
}

/// The fields of the first line starting with `prefix` (e.g. `+F2:`).
fn mr_fields<'a>(text: &'a str, prefix: &str) -> Result<Vec<&'a str>, Error> {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .map(|rest| rest.split(':').collect())
        .ok_or_else(|| Error::Unexpected(format!("no {prefix} line in openssl output")))
}

fn num(s: Option<&&str>) -> Result<f64, Error> {
    s.and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::Unexpected("bad number in openssl output".into()))
}

fn measure_openssl(o: &Opts) -> Result<OpenSsl, Error> {
    let mut r = OpenSsl {
        version: run(Command::new("openssl").arg("version"))?
            .trim()
            .to_owned(),
        ..OpenSsl::default()
    };
    // +F2:<idx>:<bits>:<sign/s>:<verify/s>
    let rsa = speed(o.seconds, &["rsa2048"])?;
    let f = mr_fields(&rsa, "+F2:")?;
    r.rsa_sign = 1.0 / num(f.get(2))?;
    r.rsa_verify = 1.0 / num(f.get(3))?;
    // +F8:<idx>:<bits>:<op/s>:<s/op>
    let dh = speed(o.seconds, &["ffdh2048"])?;
    r.ffdh2048 = 1.0 / num(mr_fields(&dh, "+F8:")?.get(2))?;
    // +F:<idx>:<name>:<bytes/s for each size>
    for (args, slot) in [
        (&["-evp", "aes-128-ctr"][..], &mut r.aes),
        (&["-hmac", "sha256"][..], &mut r.hmac),
    ] {
        let text = speed(o.seconds, args)?;
        let f = mr_fields(&text, "+F:")?;
        *slot = f.iter().skip(2).map(|v| v.parse().unwrap_or(0.0)).collect();
    }
    if let Some(path) = &o.modexp {
        let secs = if o.quick { "0.5" } else { "2" };
        let text = run(Command::new(path).arg(secs))?;
        for line in text.lines().filter(|l| l.starts_with("modexp ")) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let group: u32 = num(f.get(1))? as u32;
            let bits: u32 = num(f.get(2))? as u32;
            let t = num(f.get(4))?;
            let entry = match r
                .modexp
                .iter_mut()
                .find(|(g, b, _, _)| *g == group && *b == bits)
            {
                Some(e) => e,
                None => {
                    r.modexp.push((group, bits, 0.0, 0.0));
                    let last = r.modexp.len() - 1;
                    &mut r.modexp[last]
                }
            };
            if f.get(3) == Some(&"keygen") {
                entry.2 = t;
            } else {
                entry.3 = t;
            }
        }
    }
    Ok(r)
}

impl OpenSsl {
    fn speed_at(v: &[f64], size: usize) -> f64 {
        SPEED_SIZES
            .iter()
            .position(|s| *s == size)
            .and_then(|i| v.get(i).copied())
            .unwrap_or(f64::NAN)
    }

    /// Seconds for AES-128-CTR plus HMAC-SHA256 over `size` bytes.
    fn seal_cost(&self, size: usize) -> f64 {
        size as f64 / Self::speed_at(&self.aes, size)
            + size as f64 / Self::speed_at(&self.hmac, size)
    }

    /// The floor XEP-0200 sets: its MAC covers m_content, the base64 text of
    /// the ciphertext (4/3 of it), so one pass is AES-CTR over `size` bytes
    /// plus HMAC over 4/3 × `size` (at the `size` rate).
    fn base64_mac_floor(&self, size: usize) -> f64 {
        size as f64 / Self::speed_at(&self.aes, size)
            + (size as f64 * 4.0 / 3.0) / Self::speed_at(&self.hmac, size)
    }

    /// (keygen, shared) seconds for this group and exponent size: the modexp
    /// helper if it ran, else `ffdh2048` for both (a different group and ~224-bit
    /// exponents: only a rough stand-in).
    fn dh(&self, group: ModpGroup, bits: u32) -> (f64, f64, bool) {
        self.modexp
            .iter()
            .find(|(g, b, _, _)| *g == group.number() && *b == bits)
            .map_or((self.ffdh2048, self.ffdh2048, false), |(_, _, k, s)| {
                (*k, *s, true)
            })
    }
}

/// The exponent bits our policy processes in `group` (DECISIONS D6).
fn exp_bits(group: ModpGroup, policy: ExponentPolicy) -> u32 {
    match policy {
        ExponentPolicy::Full => group.bits(),
        _ => group.rfc3526_exponent_bits().max(256),
    }
}

/// Median seconds per call of `f`, in thread CPU time: batches of at least
/// ~25 ms (the CPU clock's resolution is the scheduler tick), `samples` of them.
fn per_op(samples: usize, mut f: impl FnMut() -> Result<(), Error>) -> Result<f64, Error> {
    let (first, t1) = cpu::measure(&mut f);
    first?;
    let one = t1.as_secs_f64().max(1e-7);
    let batch = ((0.025 / one).ceil() as usize).max(1);
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let (res, t) = cpu::measure(|| -> Result<(), Error> {
            for _ in 0..batch {
                f()?;
            }
            Ok(())
        });
        res?;
        times.push(t.as_secs_f64() / batch as f64);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Median seconds per stanza of the send side, receive side and round trip at `size`.
fn stanza_costs(pair: &mut Pair, size: usize, samples: usize) -> Result<[f64; 3], Error> {
    let body = pair::body(size);
    pair.round_trip(&body)?;
    // Batches of ~25 ms worth of messages; each call timed on its own (below).
    let (_, t1) = cpu::measure(|| pair.round_trip(&body));
    let batch = ((0.025 / t1.as_secs_f64().max(1e-7)).ceil() as usize).clamp(1, 20_000);
    // What one per-call measurement adds by itself (the thread CPU clock is
    // a system call): the mean of an empty closure's reading, subtracted
    // from every call below.
    let overhead = (0..10_000)
        .map(|_| cpu::measure(|| ()).1.as_secs_f64())
        .sum::<f64>()
        / 10_000.0;
    let mut send = Vec::new();
    let mut recv = Vec::new();
    for _ in 0..samples {
        // Each stanza is received right after it is sent, as on a live
        // session, and each side is timed per call: a batch of sent texts
        // held until a receive phase would charge the send side with the
        // page faults of megabytes of fresh memory (criterion's stanza_iters
        // in benches/session.rs times the same way).
        let (mut ts, mut tr) = (0.0, 0.0);
        for _ in 0..batch {
            let (text, t) = cpu::measure(|| pair.send_text(&body));
            ts += (t.as_secs_f64() - overhead).max(0.0);
            let text = text?;
            let (got, t) = cpu::measure(|| pair.receive_text(&text));
            tr += (t.as_secs_f64() - overhead).max(0.0);
            got?;
        }
        send.push(ts / batch as f64);
        recv.push(tr / batch as f64);
    }
    for v in [&mut send, &mut recv] {
        v.sort_by(f64::total_cmp);
    }
    let (s, r) = (send[send.len() / 2], recv[recv.len() / 2]);
    Ok([s, r, s + r])
}

fn fmt_t(s: f64) -> String {
    if s >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{:.2} µs", s * 1e6)
    }
}

fn fmt_rate(bytes: usize, s: f64) -> String {
    format!("{:.0} MiB/s", bytes as f64 / s / (1024.0 * 1024.0))
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Per MODP group (group, inline bytes, Alice heap, Bob heap).
type StateRows = Vec<(u32, usize, usize, usize)>;
/// Per body size (bytes, send allocations, receive allocations).
type AllocRows = Vec<(usize, usize, usize)>;

/// Runs the `session-state` binary beside this one: the session state per
/// MODP group and the allocations per stanza.
fn state_size() -> Result<(StateRows, AllocRows), Error> {
    let Ok(me) = std::env::current_exe() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let exe = me.with_file_name("session-state");
    if !exe.exists() {
        return Ok((Vec::new(), Vec::new()));
    }
    let text = run(Command::new(exe).arg("200"))?;
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("state ")) {
        let f: Vec<&str> = line.split_whitespace().collect();
        rows.push((
            num(f.get(1))? as u32,
            num(f.get(2))? as usize,
            num(f.get(3))? as usize,
            num(f.get(4))? as usize,
        ));
    }
    let mut allocs = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("allocs ")) {
        let f: Vec<&str> = line.split_whitespace().collect();
        allocs.push((
            num(f.get(1))? as usize,
            num(f.get(2))? as usize,
            num(f.get(3))? as usize,
        ));
    }
    Ok((rows, allocs))
}

/// The providers this build can measure.
fn provider_names() -> Vec<&'static str> {
    [
        Some(provider::RUST_CRYPTO.name()),
        #[cfg(feature = "openssl")]
        Some(provider::OPENSSL.name()),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn provider_by_name(name: &str) -> Result<&'static dyn CryptoProvider, Error> {
    #[cfg(feature = "openssl")]
    if name == provider::OPENSSL.name() {
        return Ok(&provider::OPENSSL);
    }
    if name == provider::RUST_CRYPTO.name() {
        return Ok(&provider::RUST_CRYPTO);
    }
    Err(Error::Unexpected(format!("unknown provider {name}")))
}

/// Our side under the process default provider: `(key, seconds)` pairs.
fn measure_ours(samples: usize, name: &str) -> Result<Vec<(String, f64)>, Error> {
    let mut out: Vec<(String, f64)> = Vec::new();
    let mut rng = seeded_rng("compare");
    let groups = [ModpGroup::Group5, ModpGroup::Group14];
    let policies = [ExponentPolicy::Full, ExponentPolicy::Rfc3526];
    eprintln!("[{name}] primitives ...");
    for g in groups {
        for p in policies {
            let keygen = per_op(samples, || {
                DhPrivateKey::generate(g, p, 128, &mut rng)?;
                Ok(())
            })?;
            let a = DhPrivateKey::generate(g, p, 128, &mut rng)?;
            let b = DhPrivateKey::generate(g, p, 128, &mut rng)?;
            let shared = per_op(samples, || {
                a.shared_secret(b.public_key())?;
                Ok(())
            })?;
            out.push((format!("dh {} {} keygen", g.number(), p.name()), keygen));
            out.push((format!("dh {} {} shared", g.number(), p.name()), shared));
            if name == provider::RUST_CRYPTO.name() {
                // crypto-bigint's two forms on the same inputs.
                let bits = exp_bits(g, p);
                let mut x = vec![0u8; (bits / 8) as usize];
                rng.fill_bytes(&mut x);
                x[0] |= 0x80;
                if x.len() == g.prime().len() {
                    x[0] &= 0x7f;
                }
                let base = b.public_key().to_vec();
                for (form, f) in [
                    (
                        "boxed",
                        provider::rust_crypto::modp_pow_boxed
                            as fn(ModpGroup, &[u8], &[u8], u32) -> _,
                    ),
                    ("fixed", provider::rust_crypto::modp_pow_fixed),
                ] {
                    let t = per_op(samples, || {
                        f(g, &base, &x, bits)?;
                        Ok(())
                    })?;
                    out.push((format!("modexp-{form} {} {bits}", g.number()), t));
                }
            }
        }
    }
    let mut msg = [0u8; 32];
    rng.fill_bytes(&mut msg);
    let rsa = SigningKey::generate_rsa(2048, &mut rng)?;
    let sig = rsa.sign(&msg, &mut rng)?;
    let vk = rsa.verifying_key();
    out.push((
        "rsa sign".into(),
        per_op(samples, || {
            rsa.sign(&msg, &mut rng)?;
            Ok(())
        })?,
    ));
    out.push((
        "rsa verify".into(),
        per_op(samples, || {
            vk.verify(&msg, &sig)?;
            Ok(())
        })?,
    ));
    let mut key = [0u8; 16];
    rng.fill_bytes(&mut key);
    let ctr = CtrKey::new(CipherAlg::Aes128Ctr, &key)?;
    let mut mac_key = [0u8; 32];
    rng.fill_bytes(&mut mac_key);
    for size in PAYLOAD_SIZES {
        let mut buf = vec![0u8; size];
        let aes = per_op(samples, || {
            ctr.apply_keystream(7, &mut buf)?;
            Ok(())
        })?;
        let data = vec![0u8; size];
        let hmac = per_op(samples, || {
            std::hint::black_box(HashAlg::Sha256.hmac_output(&mac_key, &[&data]));
            Ok(())
        })?;
        out.push((format!("aes {size}"), aes));
        out.push((format!("hmac {size}"), hmac));
    }

    eprintln!("[{name}] negotiations ...");
    let ids = Identities::rsa2048()?;
    for kind in KINDS {
        for p in policies {
            let (a, b) = pair::configs(kind, p, Some(&ids))?;
            let mut seed = 0u64;
            let t = per_op(samples, || {
                seed += 1;
                Pair::negotiate(a.clone(), b.clone(), seed)?;
                Ok(())
            })?;
            out.push((format!("neg {} {}", kind.label(), p.name()), t));
        }
    }
    // Bob's XEP-0187 offline init: verify Alice's options, then keygen, shared, sign.
    let alice_key = SigningKey::generate_rsa(2048, &mut rng)?;
    let mut trust = MemoryStore::new();
    let Ok(()) = trust.trust_key(
        "alice@example.org",
        TrustedKey::of(&alice_key.verifying_key(), "Alice")?,
    );
    let now = pair::now();
    for p in policies {
        let mut config = esession_online::Config::default();
        config.modp = vec![ModpGroup::Group14];
        config.exponent_policy = p;
        let mut store = MemoryOfflineStore::new();
        let published = Publisher::new(
            config.clone(),
            Audience::Subscribers,
            now + Duration::from_secs(3600),
        )
        .match_resource("pda")
        .signing_key(&alice_key)
        .publish(&mut rng, &mut store)?;
        let bob = Initiator::new(config, &rsa)?;
        let hello = pair::message(&pair::body(64));
        let t = per_op(samples, || {
            let checked = bob.check_options(now, "alice@example.org", &published.item, &trust)?;
            bob.start(now, &checked, Some(hello.clone()), true, &mut rng)?;
            Ok(())
        })?;
        out.push((format!("offline {}", p.name()), t));
    }

    eprintln!("[{name}] stanza path ...");
    let (a, b) = pair::configs(
        Kind::FourNoKeys(ModpGroup::Group14),
        ExponentPolicy::Rfc3526,
        None,
    )?;
    let mut pair = Pair::negotiate(a, b, 99)?;
    for size in PAYLOAD_SIZES {
        let [s, r, _] = stanza_costs(&mut pair, size, samples)?;
        out.push((format!("stanza {size} send"), s));
        out.push((format!("stanza {size} recv"), r));
    }
    Ok(out)
}

/// The negotiations measured, in report order.
const KINDS: [Kind; 4] = [
    Kind::FourNoKeys(ModpGroup::Group5),
    Kind::FourNoKeys(ModpGroup::Group14),
    Kind::FourRsa,
    Kind::ThreeRsa,
];

/// Runs `compare --ours NAME` and reads its metrics.
fn ours_in_child(name: &str, quick: bool) -> Result<HashMap<String, f64>, Error> {
    let me = std::env::current_exe()?;
    let mut cmd = Command::new(me);
    cmd.args(["--ours", name]);
    if quick {
        cmd.arg("--quick");
    }
    cmd.stderr(std::process::Stdio::inherit());
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(Error::Unexpected(format!("compare --ours {name} failed")));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut m = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("metric ")
            && let Some((key, v)) = rest.rsplit_once(' ')
        {
            m.insert(key.to_owned(), v.parse().unwrap_or(f64::NAN));
        }
    }
    Ok(m)
}

fn main() -> Result<(), Error> {
    let o = opts()?;
    let samples = if o.quick { 3 } else { 9 };
    if let Some(name) = &o.ours {
        let p = provider_by_name(name)?;
        provider::install_default(p)
            .map_err(|_| Error::Unexpected("provider already chosen".into()))?;
        for (key, v) in measure_ours(samples, name)? {
            println!("metric {key} {v:e}");
        }
        return Ok(());
    }
    let load_start = loadavg();
    let started = std::time::Instant::now();

    eprintln!("OpenSSL: openssl speed -mr -seconds {} ...", o.seconds);
    let ossl = measure_openssl(&o)?;
    let names = provider_names();
    let mut ours: Vec<(&str, HashMap<String, f64>)> = Vec::new();
    for name in &names {
        ours.push((name, ours_in_child(name, o.quick)?));
    }
    eprintln!("session state and allocations ...");
    let (state, allocs) = state_size()?;
    let load_end = loadavg();
    let get = |p: usize, key: &str| {
        ours.get(p)
            .and_then(|(_, m)| m.get(key).copied())
            .unwrap_or(f64::NAN)
    };
    let policies = [ExponentPolicy::Full, ExponentPolicy::Rfc3526];

    // ---- report ----
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = run(Command::new("rustc").arg("--version"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "?".into());
    println!("## Comparison run\n");
    println!("| | |\n|---|---|");
    println!("| CPU | {cpu_model}, {cores} cores |");
    println!("| rustc | {rustc} |");
    println!("| OpenSSL | {} |", ossl.version);
    println!("| providers measured | {} |", names.join(", "));
    println!("| load average (1/5/15 min) | start {load_start}; end {load_end} |");
    println!(
        "| duration | {:.0} s; samples per median {samples}; openssl speed -seconds {} |",
        started.elapsed().as_secs_f64(),
        o.seconds
    );
    println!(
        "| DH for OpenSSL | {} |\n",
        if ossl.modexp.is_empty() {
            "openssl speed ffdh2048 (no --modexp helper: rough stand-in)"
        } else {
            "benches/openssl/modexp.c (BN_mod_exp_mont_consttime, same groups and exponent sizes)"
        }
    );

    // Negotiation rows: (label, key, OpenSSL sum, operations summed).
    let mut neg: Vec<(String, String, f64, String)> = Vec::new();
    for kind in KINDS {
        for p in policies {
            let (k, s, _) = ossl.dh(kind.group(), exp_bits(kind.group(), p));
            let mut sum = 2.0 * k + 2.0 * s;
            let mut ops = "2 DH keygen + 2 DH shared".to_owned();
            if kind.rsa() {
                sum += 2.0 * ossl.rsa_sign + 2.0 * ossl.rsa_verify;
                ops.push_str(" + 2 RSA sign + 2 RSA verify");
            }
            neg.push((
                format!("{} / {}", kind.label(), p.name()),
                format!("neg {} {}", kind.label(), p.name()),
                sum,
                ops,
            ));
        }
    }
    for p in policies {
        let (k, s, _) = ossl.dh(ModpGroup::Group14, exp_bits(ModpGroup::Group14, p));
        neg.push((
            format!("offline init (Bob) g14 rsa2048 / {}", p.name()),
            format!("offline {}", p.name()),
            k + s + ossl.rsa_sign + ossl.rsa_verify,
            "1 DH keygen + 1 DH shared + 1 RSA sign + 1 RSA verify".to_owned(),
        ));
    }

    println!("### Targets\n");
    println!("| target | provider | measured | verdict |\n|---|---|---:|---|");
    for (i, name) in names.iter().enumerate() {
        let bound = if *name == provider::RUST_CRYPTO.name() {
            2.0
        } else {
            1.25
        };
        for (label, key, sum, _) in &neg {
            let t = get(i, key);
            let ratio = t / sum;
            println!(
                "| negotiation {label} ≤ {bound}× OpenSSL sum | {name} | {ratio:.2}× ({} vs {}) | {} |",
                fmt_t(t),
                fmt_t(*sum),
                verdict(ratio <= bound)
            );
        }
    }
    let rc = 0;
    let sign = get(rc, "rsa sign");
    println!(
        "| RSA-2048 sign ≤ 3× OpenSSL | rustcrypto | {:.2}× ({} vs {}) | {} |",
        sign / ossl.rsa_sign,
        fmt_t(sign),
        fmt_t(ossl.rsa_sign),
        verdict(sign / ossl.rsa_sign <= 3.0)
    );
    for p in policies {
        let bits = exp_bits(ModpGroup::Group14, p);
        let (_, s, _) = ossl.dh(ModpGroup::Group14, bits);
        let t = get(rc, &format!("dh 14 {} shared", p.name()));
        println!(
            "| MODP exponentiation g14, {bits}-bit x ≤ 1.6× OpenSSL | rustcrypto | {:.2}× ({} vs {}) | {} |",
            t / s,
            fmt_t(t),
            fmt_t(s),
            verdict(t / s <= 1.6)
        );
    }
    let size = 16 * 1024;
    let aes = get(rc, &format!("aes {size}"));
    let ossl_aes = size as f64 / OpenSsl::speed_at(&ossl.aes, size);
    println!(
        "| AES-128-CTR 16 KiB ≤ 1.5× OpenSSL | rustcrypto | {:.2}× ({} vs {}) | {} |",
        aes / ossl_aes,
        fmt_t(aes),
        fmt_t(ossl_aes),
        verdict(aes / ossl_aes <= 1.5)
    );
    for side in ["send", "recv"] {
        let t = get(rc, &format!("stanza {size} {side}"));
        let one = ossl.seal_cost(size);
        let floor = ossl.base64_mac_floor(size);
        println!(
            "| stanza {side} 16 KiB ≥ 50 % of one OpenSSL AES-128-CTR + HMAC-SHA256 pass | rustcrypto | {:.0} % ({} vs {}); base64 MAC floor {} = {:.0} % | {} |",
            one / t * 100.0,
            fmt_rate(size, t),
            fmt_rate(size, one),
            fmt_rate(size, floor),
            floor / t * 100.0,
            verdict(one / t >= 0.5)
        );
    }
    for side in ["send", "recv"] {
        let t = get(rc, &format!("stanza 1024 {side}"));
        println!(
            "| stanza {side} 1 KiB ≤ 3 µs | rustcrypto | {} | {} |",
            fmt_t(t),
            verdict(t <= 3e-6)
        );
    }
    for (size, send, recv) in &allocs {
        println!(
            "| allocations per {size} B stanza (reported) | rustcrypto | send {send}, receive {recv} | reported |"
        );
    }
    if state.is_empty() {
        println!("| established session state | — | session-state binary not found | ? |");
    }
    for (group, inline, a, b) in &state {
        let total = inline + a.max(b);
        println!(
            "| established session state ≤ 2048 B (size_of + heap), group {group} | default | {total} B ({inline} inline + heap: Alice {a}, Bob {b}) | {} |",
            verdict(total <= 2048)
        );
    }

    let header = |cols: &str| {
        let mut h = String::new();
        for n in &names {
            h.push_str(&format!(" {n} {cols}"));
        }
        h
    };
    println!("\n### Negotiations (CPU time, median)\n");
    println!(
        "| negotiation / policy |{} OpenSSL sum | OpenSSL operations summed |",
        header("| ratio |")
    );
    println!("|---|{}---:|---|", "---:|---:|".repeat(names.len()));
    for (label, key, sum, ops) in &neg {
        let mut row = format!("| {label} |");
        for i in 0..names.len() {
            let t = get(i, key);
            row.push_str(&format!(" {} | {:.2}× |", fmt_t(t), t / sum));
        }
        println!("{row} {} | {ops} |", fmt_t(*sum));
    }

    println!(
        "\n### Stanza path (per message, CPU time, median; AES-128-CTR + HMAC-SHA256, group 14 session)\n"
    );
    println!(
        "| body | provider | send | receive | OpenSSL AES-CTR + HMAC (one pass) | send % | receive % | base64 MAC floor: AES(n) + HMAC(4n/3) | send % of floor | receive % of floor |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for size in PAYLOAD_SIZES {
        let one = ossl.seal_cost(size);
        let floor = ossl.base64_mac_floor(size);
        for (i, name) in names.iter().enumerate() {
            let s = get(i, &format!("stanza {size} send"));
            let r = get(i, &format!("stanza {size} recv"));
            println!(
                "| {size} B | {name} | {} ({}) | {} ({}) | {} ({}) | {:.0} % | {:.0} % | {} ({}) | {:.0} % | {:.0} % |",
                fmt_t(s),
                fmt_rate(size, s),
                fmt_t(r),
                fmt_rate(size, r),
                fmt_t(one),
                fmt_rate(size, one),
                one / s * 100.0,
                one / r * 100.0,
                fmt_t(floor),
                fmt_rate(size, floor),
                floor / s * 100.0,
                floor / r * 100.0
            );
        }
    }

    println!("\n### Primitives (CPU time per operation, median)\n");
    println!(
        "| operation |{} OpenSSL | OpenSSL source |",
        header("| ratio |")
    );
    println!("|---|{}---:|---|", "---:|---:|".repeat(names.len()));
    let mut prims: Vec<(String, String, f64, &str)> = Vec::new();
    for g in [ModpGroup::Group5, ModpGroup::Group14] {
        for p in policies {
            let bits = exp_bits(g, p);
            let (k, s, exact) = ossl.dh(g, bits);
            let src = if exact {
                "modexp.c"
            } else {
                "ffdh2048 (stand-in)"
            };
            for (what, o) in [("keygen", k), ("shared", s)] {
                prims.push((
                    format!(
                        "DH group {} {what}, {} ({bits}-bit x)",
                        g.number(),
                        p.name()
                    ),
                    format!("dh {} {} {what}", g.number(), p.name()),
                    o,
                    src,
                ));
            }
        }
    }
    prims.push((
        "RSA-2048 sign (PKCS#1 v1.5)".into(),
        "rsa sign".into(),
        ossl.rsa_sign,
        "speed rsa2048",
    ));
    prims.push((
        "RSA-2048 verify".into(),
        "rsa verify".into(),
        ossl.rsa_verify,
        "speed rsa2048",
    ));
    for size in PAYLOAD_SIZES {
        let s = size as f64;
        prims.push((
            format!("AES-128-CTR {size} B"),
            format!("aes {size}"),
            s / OpenSsl::speed_at(&ossl.aes, size),
            "speed -evp aes-128-ctr",
        ));
        prims.push((
            format!("HMAC-SHA256 {size} B"),
            format!("hmac {size}"),
            s / OpenSsl::speed_at(&ossl.hmac, size),
            "speed -hmac sha256",
        ));
    }
    for (label, key, o, src) in &prims {
        let mut row = format!("| {label} |");
        for i in 0..names.len() {
            let t = get(i, key);
            row.push_str(&format!(" {} | {:.2}× |", fmt_t(t), t / o));
        }
        println!("{row} {} | {src} |", fmt_t(*o));
    }

    println!("\n### crypto-bigint forms (RustCrypto provider, shared-secret inputs)\n");
    println!(
        "| group, exponent bits | boxed (`BoxedMontyForm`) | fixed (`Uint`/`FixedMontyForm`) | fixed / boxed |"
    );
    println!("|---|---:|---:|---:|");
    for g in [ModpGroup::Group5, ModpGroup::Group14] {
        for p in policies {
            let bits = exp_bits(g, p);
            let b = get(rc, &format!("modexp-boxed {} {bits}", g.number()));
            let f = get(rc, &format!("modexp-fixed {} {bits}", g.number()));
            println!(
                "| group {}, {bits} | {} | {} | {:.2} |",
                g.number(),
                fmt_t(b),
                fmt_t(f),
                f / b
            );
        }
    }
    println!(
        "\nFor reference: openssl speed ffdh2048 (RFC 7919 ffdhe2048, OpenSSL's ~224-bit exponents): {} per shared secret.",
        fmt_t(ossl.ffdh2048)
    );
    Ok(())
}
