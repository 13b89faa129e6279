//! `esession demo`: two in-process parties run a whole ESession and print it.
//!
//! Alice (`alice@example.org/pda`) and Bob (`bob@example.com/laptop`) each hold
//! an [`Endpoint`] with the strict default configuration (DECISIONS D5: modp 14
//! then 5, aes128-ctr, sha256), an in-memory store of retained secrets and
//! trusted keys. A tiny router stamps `from`/`to` on every stanza an endpoint asks to
//! send, prints it and hands it to the other endpoint; events (the request,
//! the SAS, peer keys, establishment, received messages, termination) are
//! printed as they come out of [`Endpoint::poll_output`].
//!
//! Variants ([`DemoOptions`]):
//!
//! | options              | what runs |
//! |----------------------|-----------|
//! | (none)               | 4-message SIGMA-R, SAS, messages, re-key by Alice, encrypted termination |
//! | `--mode 3-message`   | SIGMA-I with RSA keys in `key` mode both ways (D46), trust on first use, no SAS |
//! | `--alice-key FILE`   | Alice signs with the key from FILE (`esession keygen`); Bob's RSA key comes from the seed |
//! | `--offline`          | XEP-0187 ([`offline`]): Alice publishes signed options and leaves, Bob's init carries encrypted content, Alice comes back and decrypts |
//! | `--profile gajim`    | the gajim profile (G1-G19): Gajim's form layout, no re-key, plaintext termination |
//!
//! Every random value comes from the seed: the negotiation's secrets (thread,
//! nonces, DH exponents, C_A, random rshashes and srshash, re-key exponents)
//! are drawn from a ChaCha20 generator seeded with `--seed` and pinned into
//! the endpoints, so that `--transcript FILE` can record them
//! ([`transcript`]: esession-transcript/1 with every secret). The clock is
//! virtual; the same seed repeats a run byte for byte.

mod offline;
pub mod transcript;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use esession_crypto::dh::{DhPrivateKey, ExponentPolicy, ModpGroup};
use esession_crypto::sign::{SignAlg, SigningKey};
use esession_online::{
    Config, Endpoint, Established, IdentityKey, KeyStatus, MemoryStore, Output, Profile,
    PubkeyMode, TerminationReason, TestPins,
};
use esession_sigma::counters::Counters;
use esession_wire::{Element, Negotiation, Stanza, StanzaKind};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng as _, SeedableRng};

use crate::Error;

/// Alice's full JID in the demo.
pub const ALICE: &str = "alice@example.org/pda";
/// Bob's full JID in the demo.
pub const BOB: &str = "bob@example.com/laptop";

/// Which negotiation the online demo runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Mode {
    /// 4-message SIGMA-R with a short authentication string (XEP-0116 §4).
    #[default]
    #[value(name = "4-message")]
    FourMessage,
    /// 3-message SIGMA-I with public keys (XEP-0116 §4.3 dhkeys, D46).
    #[value(name = "3-message")]
    ThreeMessage,
}

/// Which reading of the byte-level choices both parties follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DemoProfile {
    /// DECISIONS D1-D50.
    #[default]
    Xep,
    /// Gajim 0.12-1.0.3 (GAJIM.md, G1-G19).
    Gajim,
}

/// Options of `esession demo`.
#[derive(Debug, Default)]
pub struct DemoOptions {
    /// Seed of every random value of the run.
    pub seed: u64,
    /// Indent the printed stanzas.
    pub pretty: bool,
    /// 4- or 3-message negotiation.
    pub mode: Mode,
    /// Run the XEP-0187 offline variant instead.
    pub offline: bool,
    /// The profile both sides follow.
    pub profile: DemoProfile,
    /// Alice's signing key (else an RSA-2048 key drawn from the seed when
    /// keys are needed).
    pub alice_key: Option<SigningKey>,
    /// Build the esession-transcript/1 document of the run.
    pub transcript: bool,
}

/// What a demo run produced, for tests and the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoReport {
    /// The SAS each side showed (Alice, Bob); empty without a SAS (3-message, offline).
    pub sas: (String, String),
    /// Message bodies each side received, in order (Alice's, Bob's).
    pub received: (Vec<String>, Vec<String>),
    /// Stanzas carried, by phase.
    pub stanzas: StanzaCounts,
    /// How each side's session ended (Alice, Bob).
    pub ended: (Option<TerminationReason>, Option<TerminationReason>),
    /// The peer-key fingerprints each side reported (what Alice saw of
    /// Bob's key, what Bob saw of Alice's), lower-case hex.
    pub peer_fingerprints: (Option<String>, Option<String>),
    /// The esession-transcript/1 document, when asked for.
    pub transcript: Option<serde_json::Value>,
}

/// How many stanzas each phase of the demo carried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StanzaCounts {
    /// The negotiation messages (4, 3, or the offline options and init).
    pub negotiation: usize,
    /// Encrypted chat messages.
    pub messages: usize,
    /// The stanza carrying Alice's `<key/>` (XEP-0200 §7).
    pub rekey: usize,
    /// The terminate form and its acknowledgement.
    pub termination: usize,
}

/// Command-line arguments of `esession demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Seed for every random value of the run: the same seed repeats the run
    /// byte for byte. Without it a random seed is drawn and printed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Indent the printed stanzas.
    #[arg(long)]
    pub pretty: bool,
    /// Write the run as an esession-transcript/1 JSON document with every secret.
    #[arg(long, value_name = "FILE")]
    pub transcript: Option<PathBuf>,
    /// The negotiation: 4-message (SAS) or 3-message (public keys).
    #[arg(long, value_enum, default_value = "4-message")]
    pub mode: Mode,
    /// XEP-0187: Alice publishes options and goes offline; Bob starts the
    /// session with encrypted content; Alice comes back and decrypts.
    #[arg(long)]
    pub offline: bool,
    /// xep (DECISIONS) or gajim (Gajim's layout, no re-key, plaintext termination).
    #[arg(long, value_enum, default_value = "xep")]
    pub profile: DemoProfile,
    /// Alice's signing key (PKCS#8 PEM, e.g. from `esession keygen`): her
    /// identity is signed with it (key mode; Bob's key comes from the seed).
    #[arg(long, value_name = "FILE")]
    pub alice_key: Option<PathBuf>,
}

/// Why a combination of options is refused (exit 2), if it is.
pub fn check_combination(args: &DemoArgs) -> Result<(), String> {
    let three = args.mode == Mode::ThreeMessage;
    let gajim = args.profile == DemoProfile::Gajim;
    if args.offline && three {
        return Err("--offline and --mode 3-message: an offline session (XEP-0187) has its own one-stanza exchange".into());
    }
    if args.offline && gajim {
        return Err("--offline and --profile gajim: Gajim does not implement XEP-0187".into());
    }
    if gajim && three {
        return Err("--profile gajim and --mode 3-message: Gajim negotiates 4-message only".into());
    }
    if gajim && args.alice_key.is_some() {
        return Err("--profile gajim and --alice-key: Gajim uses no public keys (G10)".into());
    }
    Ok(())
}

/// `esession demo`: runs the demo on stdout; exit code 0 on success, 1 (with
/// one line on stderr) when the run fails, 2 for options that do not combine.
pub fn main(args: DemoArgs) -> std::process::ExitCode {
    if let Err(why) = check_combination(&args) {
        eprintln!("esession demo: {why}");
        return std::process::ExitCode::from(2);
    }
    let alice_key = match &args.alice_key {
        Some(path) => match crate::keys::load_signing_key(path) {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("esession demo: --alice-key {e}");
                return std::process::ExitCode::from(1);
            }
        },
        None => None,
    };
    if args.transcript.is_some()
        && let Some(k) = &alice_key
        && k.alg() != SignAlg::RsaSha256
    {
        eprintln!(
            "esession demo: --transcript with a {} --alice-key: esession-transcript/1 records RSA identity keys only",
            crate::keys::alg_name(k.alg())
        );
        return std::process::ExitCode::from(2);
    }
    let seed = args.seed.unwrap_or_else(rand::random);
    let opts = DemoOptions {
        seed,
        pretty: args.pretty,
        mode: args.mode,
        offline: args.offline,
        profile: args.profile,
        alice_key,
        transcript: args.transcript.is_some(),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = run(&opts, &mut out).and_then(|report| {
        if let (Some(path), Some(doc)) = (&args.transcript, &report.transcript) {
            std::fs::write(path, transcript::render(doc))
                .map_err(|e| Error::Unexpected(format!("cannot write {}: {e}", path.display())))?;
            writeln!(out, "transcript written to {}", path.display())?;
        }
        Ok(())
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let _ = out.flush();
            eprintln!("esession demo: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

/// The bodies Alice and Bob send once the session is up.
const ALICE_SAYS: [&str; 2] = [
    "Hello Bob! This message is end-to-end encrypted.",
    "Grüße aus Zürich: non-ASCII text survives too.",
];
const BOB_SAYS: [&str; 2] = ["Hi Alice, I read you.", "Same SAS here; let's hang up."];
/// The demo's rekey_freq (xep profile).
const REKEY_FREQ: u32 = 2;

/// The demo's virtual clock: nothing in the output depends on the real time.
pub(crate) fn demo_now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// Runs the demo, writing everything to `out`.
pub fn run<W: Write>(opts: &DemoOptions, out: &mut W) -> Result<DemoReport, Error> {
    if opts.offline {
        offline::run(opts, out)
    } else {
        run_online(opts, out)
    }
}

/// Which side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    Alice,
    Bob,
}

impl Who {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Who::Alice => "alice",
            Who::Bob => "bob",
        }
    }
}

/// Which part of the run the router is in: encrypted stanzas all look alike
/// on the wire (`<c/>`), so only the phase names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Negotiation,
    Messages,
    Rekey,
    Termination,
}

struct Party {
    who: Who,
    jid: &'static str,
    ep: Endpoint<ChaCha20Rng>,
    store: MemoryStore,
    profile: Profile,
    sas: Option<String>,
    established: Option<Established>,
    peer_fingerprint: Option<String>,
    received: Vec<String>,
    ended: Option<TerminationReason>,
}

impl Party {
    /// A party with empty stores, before any event.
    fn new(who: Who, jid: &'static str, ep: Endpoint<ChaCha20Rng>, profile: Profile) -> Self {
        Self {
            who,
            jid,
            ep,
            store: MemoryStore::new(),
            profile,
            sas: None,
            established: None,
            peer_fingerprint: None,
            received: Vec::new(),
            ended: None,
        }
    }
}

struct Router<'a, W> {
    out: &'a mut W,
    pretty: bool,
    now: SystemTime,
    carried: usize,
    counts: StanzaCounts,
    phase: Phase,
    three: bool,
    /// Every stanza carried, as wire text, for the transcript.
    log: Vec<(Who, String)>,
}

/// The secrets of one negotiation, drawn from the seed and pinned (the
/// transcript records them).
#[derive(Debug, Clone, Default)]
pub(crate) struct Secrets {
    pub(crate) thread: String,
    pub(crate) n_a: Vec<u8>,
    /// (group, x) for every group Alice offers.
    pub(crate) alice_x: Vec<(u32, Vec<u8>)>,
    pub(crate) n_b: Vec<u8>,
    /// Bob's y, in the group he will choose.
    pub(crate) bob_y: (u32, Vec<u8>),
    pub(crate) c_a: u128,
    /// The rshashes Alice sends: random values only (no retained secret in
    /// a first session, D33).
    pub(crate) rshashes: Vec<Vec<u8>>,
    pub(crate) srshash_random: Vec<u8>,
    pub(crate) alice_rekey_x: Vec<Vec<u8>>,
}

fn random(rng: &mut ChaCha20Rng, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

fn exponent(rng: &mut ChaCha20Rng, group: u32) -> Result<Vec<u8>, Error> {
    let g = ModpGroup::from_number(group)
        .map_err(|e| Error::Unexpected(format!("modp {group}: {e}")))?;
    let k = DhPrivateKey::generate(g, ExponentPolicy::Rfc3526, 128, rng)
        .map_err(|e| Error::Unexpected(format!("DH exponent: {e}")))?;
    Ok(k.to_bytes().as_bytes().to_vec())
}

/// Draws every random value of the negotiation (D2, D6, D12, D33).
fn draw(
    rng: &mut ChaCha20Rng,
    offer: &[u32],
    profile: Profile,
    rekeys: usize,
) -> Result<Secrets, Error> {
    let thread = hex::encode(random(rng, 16));
    let n_a = random(rng, 16);
    let alice_x = offer
        .iter()
        .map(|g| Ok((*g, exponent(rng, *g)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let n_b = random(rng, 16);
    // Both offer the same groups: Bob takes Alice's first (D5).
    let chosen = *offer
        .first()
        .ok_or_else(|| Error::Unexpected("no modp group".into()))?;
    let bob_y = (chosen, exponent(rng, chosen)?);
    let c_a = Counters::random(profile, rng).c_a;
    // D33: 1-3 random values (no retained secret yet).
    let n_random = 1 + (rng.next_u32() % 3) as usize;
    let rshashes = (0..n_random).map(|_| random(rng, 32)).collect();
    let srshash_random = random(rng, 32);
    let alice_rekey_x = (0..rekeys)
        .map(|_| exponent(rng, chosen))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Secrets {
        thread,
        n_a,
        alice_x,
        n_b,
        bob_y,
        c_a,
        rshashes,
        srshash_random,
        alice_rekey_x,
    })
}

fn alice_pins(s: &Secrets) -> TestPins {
    TestPins {
        thread: Some(s.thread.clone()),
        nonce: Some(s.n_a.clone()),
        dh_x: s.alice_x.clone(),
        rshashes: Some(s.rshashes.clone()),
        rekey_x: s.alice_rekey_x.clone(),
        ..TestPins::default()
    }
}

fn bob_pins(s: &Secrets) -> TestPins {
    TestPins {
        nonce: Some(s.n_b.clone()),
        dh_x: vec![s.bob_y.clone()],
        c_a: Some(s.c_a),
        srshash_random: Some(s.srshash_random.clone()),
        ..TestPins::default()
    }
}

/// The demo's identity keys (Alice's, Bob's) when public keys are used.
pub(crate) struct Keys {
    pub(crate) alice: SigningKey,
    pub(crate) bob: SigningKey,
}

fn rsa_key(rng: &mut ChaCha20Rng) -> Result<SigningKey, Error> {
    SigningKey::generate_rsa(2048, rng)
        .map_err(|e| Error::Unexpected(format!("RSA key generation: {e}")))
}

/// The configuration both sides start from.
fn base_config(opts: &DemoOptions) -> Config {
    let mut config = Config::default();
    if opts.profile == DemoProfile::Gajim {
        // G1-G19; Gajim never re-keys, so rekey_freq stays at its default.
        config.profile = Profile::Gajim;
    } else {
        // rekey_freq 2 (XEP-0116 §4.3, D42): a re-key may start once two
        // encrypted stanzas were exchanged since the last key exchange.
        config.rekey_freq = REKEY_FREQ;
    }
    config.three_message = opts.mode == Mode::ThreeMessage;
    config
}

fn with_key(mut config: Config, key: &SigningKey) -> Result<Config, Error> {
    config.init_pubkey = vec![PubkeyMode::Key];
    config.resp_pubkey = vec![PubkeyMode::Key];
    config.sign_algs = vec![key.alg()];
    config.identity_key = Some(IdentityKey::new(clone_key(key)?));
    Ok(config)
}

/// A second handle on a signing key (through its PKCS#8 form: the type is
/// deliberately not `Clone`).
pub(crate) fn clone_key(key: &SigningKey) -> Result<SigningKey, Error> {
    key.to_pkcs8_der()
        .and_then(|der| SigningKey::from_pkcs8_der(der.as_bytes()))
        .map_err(|e| Error::Unexpected(format!("signing key: {e}")))
}

#[allow(clippy::too_many_lines)]
fn run_online<W: Write>(opts: &DemoOptions, out: &mut W) -> Result<DemoReport, Error> {
    let now = demo_now();
    let three = opts.mode == Mode::ThreeMessage;
    let gajim = opts.profile == DemoProfile::Gajim;
    let profile = if gajim { Profile::Gajim } else { Profile::Xep };
    let config = base_config(opts);
    let offer: Vec<u32> = config.modp.iter().map(|g| g.number()).collect();
    let mut rng = ChaCha20Rng::seed_from_u64(opts.seed);
    let rekeys = usize::from(!gajim);
    let secrets = draw(&mut rng, &offer, profile, rekeys)?;
    let keys = if three || opts.alice_key.is_some() {
        let alice = match &opts.alice_key {
            Some(k) => clone_key(k)?,
            None => rsa_key(&mut rng)?,
        };
        // One sign_alg is negotiated for both identities (XEP-0116 §4.3):
        // Bob's key, drawn from the seed, is of the algorithm of Alice's.
        let bob = if alice.alg() == SignAlg::RsaSha256 {
            rsa_key(&mut rng)?
        } else {
            SigningKey::generate(alice.alg(), &mut rng)
                .map_err(|e| Error::Unexpected(format!("key generation: {e}")))?
        };
        Some(Keys { alice, bob })
    } else {
        None
    };

    let what = match (three, gajim) {
        (true, _) => "a 3-message ESession (XEP-0116 SIGMA-I, D46) with public keys",
        (false, true) => "a 4-message ESession in the gajim profile (Gajim 0.15.4's layout)",
        (false, false) => "a 4-message ESession (XEP-0116 SIGMA-R)",
    };
    writeln!(
        out,
        "esession demo, seed {}: {what} between {ALICE} and {BOB}",
        opts.seed
    )?;
    writeln!(
        out,
        "Alice offers modp {}; {}; {} (DECISIONS D5 strict default){}\n",
        offer
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(","),
        config
            .crypt_algs
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(","),
        config
            .hash_algs
            .iter()
            .map(|h| h.name())
            .collect::<Vec<_>>()
            .join(","),
        if gajim {
            ", no re-key (Gajim never re-keys)".to_owned()
        } else {
            format!(", rekey_freq {REKEY_FREQ}")
        }
    )?;
    let (alice_config, bob_config) = match &keys {
        Some(k) => {
            writeln!(
                out,
                "Identity keys (key mode both ways, {}): alice's {}, bob's from the seed\n",
                k.alice.alg().uri(),
                if opts.alice_key.is_some() {
                    "from --alice-key"
                } else {
                    "from the seed"
                },
            )?;
            (
                with_key(config.clone(), &k.alice)?,
                with_key(config, &k.bob)?,
            )
        }
        None => (config.clone(), config),
    };

    let mut alice = Party::new(
        Who::Alice,
        ALICE,
        Endpoint::initiate_pinned(
            alice_config,
            ChaCha20Rng::seed_from_u64(rng.next_u64()),
            "bob@example.com",
            alice_pins(&secrets),
        )?,
        profile,
    );
    let mut bob = Party::new(
        Who::Bob,
        BOB,
        Endpoint::responder_pinned(
            bob_config,
            ChaCha20Rng::seed_from_u64(rng.next_u64()),
            bob_pins(&secrets),
        )?,
        profile,
    );
    let mut router = Router {
        out,
        pretty: opts.pretty,
        now,
        carried: 0,
        counts: StanzaCounts::default(),
        phase: Phase::Negotiation,
        three,
        log: Vec::new(),
    };

    writeln!(router.out, "== negotiation")?;
    router.settle(&mut alice, &mut bob)?;
    if alice.established.is_none() || bob.established.is_none() {
        return Err(Error::Unexpected("the negotiation did not complete".into()));
    }
    let sas = if three {
        // D46: SIGMA-I authenticates by signatures; there is no SAS.
        writeln!(
            router.out,
            "\nNo SAS in 3-message mode: each side verified the other's signature and trusted its key on first use."
        )?;
        (String::new(), String::new())
    } else {
        let (Some(sas_a), Some(sas_b)) = (alice.sas.clone(), bob.sas.clone()) else {
            return Err(Error::Unexpected(
                "the negotiation ended without a SAS".into(),
            ));
        };
        writeln!(
            router.out,
            "\nSAS: alice sees {sas_a}, bob sees {sas_b}: {}",
            if sas_a == sas_b {
                "they match"
            } else {
                "MISMATCH"
            }
        )?;
        if sas_a != sas_b {
            return Err(Error::Unexpected("the two SAS differ".into()));
        }
        alice.ep.confirm_sas(&mut alice.store)?;
        bob.ep.confirm_sas(&mut bob.store)?;
        (sas_a, sas_b)
    };

    writeln!(router.out, "\n== encrypted messages (XEP-0200)")?;
    router.phase = Phase::Messages;
    for (round, (a, b)) in ALICE_SAYS.iter().zip(BOB_SAYS).enumerate() {
        if round == 1 && !gajim {
            // XEP-0200 §7: Alice sends a fresh DH value in <key/>; both sides
            // derive new keys from it and the counters continue (D41).
            writeln!(router.out, "\n== re-key by Alice (XEP-0200 §7)")?;
            router.phase = Phase::Rekey;
            alice.ep.rekey(now)?;
            router.settle(&mut alice, &mut bob)?;
            router.phase = Phase::Messages;
            writeln!(router.out, "\n== encrypted messages under the new keys")?;
        }
        alice.ep.send(now, chat(a))?;
        router.settle(&mut alice, &mut bob)?;
        bob.ep.send(now, chat(b))?;
        router.settle(&mut alice, &mut bob)?;
    }

    if gajim {
        writeln!(
            router.out,
            "\n== termination (gajim profile: a plaintext terminate form, never acknowledged, G8)"
        )?;
    } else {
        writeln!(router.out, "\n== termination")?;
    }
    router.phase = Phase::Termination;
    alice.ep.terminate(now)?;
    router.settle(&mut alice, &mut bob)?;

    let negotiated = alice
        .established
        .as_ref()
        .map(|e| e.negotiated.clone())
        .ok_or_else(|| Error::Unexpected("no negotiated options".into()))?;
    let transcript = if opts.transcript {
        Some(transcript::online(&transcript::OnlineRun {
            seed: opts.seed,
            profile,
            three,
            offer: &offer,
            rekey_freq: if gajim { None } else { Some(REKEY_FREQ) },
            secrets: &secrets,
            keys: keys.as_ref(),
            stanzas: &router.log,
        })?)
    } else {
        None
    };
    let report = DemoReport {
        sas,
        received: (alice.received.clone(), bob.received.clone()),
        stanzas: router.counts,
        ended: (alice.ended, bob.ended),
        peer_fingerprints: (alice.peer_fingerprint.clone(), bob.peer_fingerprint.clone()),
        transcript,
    };
    writeln!(router.out, "\n== summary")?;
    writeln!(
        router.out,
        "negotiated: modp {}, {}, {}{}",
        negotiated.modp.number(),
        negotiated.cipher.name(),
        negotiated.hash.name(),
        if three {
            ", signatures (no SAS)".to_owned()
        } else {
            format!(", SAS {}", report.sas.0)
        }
    )?;
    summary(router.out, &report, gajim)?;
    let delivered_all = report.received.0 == BOB_SAYS && report.received.1 == ALICE_SAYS;
    if !delivered_all || report.ended.0.is_none() || report.ended.1.is_none() {
        return Err(Error::Unexpected(
            "not every message was delivered or the session did not end cleanly".into(),
        ));
    }
    Ok(report)
}

/// The summary lines every variant prints.
fn summary<W: Write>(out: &mut W, report: &DemoReport, gajim: bool) -> Result<(), Error> {
    writeln!(
        out,
        "stanzas: {} negotiation, {} encrypted messages, {} re-key, {} termination{}",
        report.stanzas.negotiation,
        report.stanzas.messages,
        report.stanzas.rekey,
        report.stanzas.termination,
        if gajim { " (in the clear)" } else { "" }
    )?;
    writeln!(
        out,
        "delivered: alice received {}, bob received {}",
        report.received.0.len(),
        report.received.1.len(),
    )?;
    let ended = |e: Option<TerminationReason>| {
        e.map_or_else(|| "not ended".to_owned(), |r| format!("{r:?}"))
    };
    writeln!(
        out,
        "ended: alice {}, bob {}",
        ended(report.ended.0),
        ended(report.ended.1)
    )?;
    Ok(())
}

/// A message with one `<body/>` (no `type`: the content a transcript's
/// `plaintext` restates exactly).
pub(crate) fn chat(text: &str) -> Stanza {
    let mut s = Stanza::new(StanzaKind::Message);
    s.push(Element::new("body", "jabber:client").with_text(text));
    s
}

/// Prints one carried stanza, compact or indented.
pub(crate) fn print_stanza<W: Write>(out: &mut W, pretty: bool, xml: &str) -> Result<(), Error> {
    if pretty {
        writeln!(out, "{}", crate::pretty::indent(xml))?;
    } else {
        writeln!(out, "{xml}")?;
    }
    Ok(())
}

/// The bodies of a decrypted stanza.
pub(crate) fn bodies(stanza: &Stanza) -> Vec<String> {
    stanza
        .children()
        .filter(|c| c.name() == "body")
        .map(Element::text)
        .collect()
}

impl<W: Write> Router<'_, W> {
    /// Moves stanzas both ways until neither side has anything left to say.
    fn settle(&mut self, alice: &mut Party, bob: &mut Party) -> Result<(), Error> {
        loop {
            let moved = self.pump(alice, bob)? + self.pump(bob, alice)?;
            if moved == 0 {
                return Ok(());
            }
        }
    }

    /// Drains `from`'s outputs: prints events, delivers stanzas to `to` (as
    /// wire text parsed again, as a server would carry it).
    fn pump(&mut self, from: &mut Party, to: &mut Party) -> Result<usize, Error> {
        let mut moved = 0;
        while let Some(output) = from.ep.poll_output() {
            match output {
                Output::Send(mut stanza) => {
                    // The transcript records the stanza as the sender's
                    // server stamps it (`from` only); the router addresses it.
                    stanza.set_attr("from", from.jid);
                    self.log.push((from.who, stanza.to_xml()));
                    stanza.set_attr("to", to.jid);
                    self.carried += 1;
                    let kind = self.classify(&stanza, from.profile);
                    writeln!(
                        self.out,
                        "[{}] {} -> {}: {kind}",
                        self.carried,
                        from.who.name(),
                        to.who.name()
                    )?;
                    let xml = stanza.to_xml();
                    print_stanza(self.out, self.pretty, &xml)?;
                    let carried = Stanza::parse(&xml).map_err(|e| {
                        Error::Unexpected(format!("a sent stanza does not parse: {e}"))
                    })?;
                    to.ep.handle_stanza(self.now, carried, &mut to.store)?;
                    moved += 1;
                }
                Output::Requested(r) => {
                    writeln!(
                        self.out,
                        "    [{}] ESession request from {}; accepting",
                        from.who.name(),
                        r.peer
                    )?;
                    from.ep.accept(self.now)?;
                }
                Output::SasReady { sas } => {
                    let shown = sas.display(from.profile).to_owned();
                    writeln!(self.out, "    [{}] SAS {shown}", from.who.name())?;
                    from.sas = Some(shown);
                }
                Output::PeerKey(pk) => {
                    let fp = hex::encode(&pk.fingerprint);
                    let status = match &pk.status {
                        KeyStatus::Trusted { petname } => format!("trusted as {petname:?}"),
                        KeyStatus::New => "new: trusted on first use".to_owned(),
                        other => format!("{other:?}"),
                    };
                    writeln!(
                        self.out,
                        "    [{}] {}'s key verified, fingerprint {fp} ({status})",
                        from.who.name(),
                        pk.jid
                    )?;
                    if pk.status == KeyStatus::New {
                        let petname = format!("{}'s demo key", to.who.name());
                        from.ep.trust_peer_key(&petname, &mut from.store)?;
                    }
                    from.peer_fingerprint = Some(fp);
                }
                Output::Established(e) => {
                    writeln!(
                        self.out,
                        "    [{}] established: modp {}, {}, {}",
                        from.who.name(),
                        e.negotiated.modp.number(),
                        e.negotiated.cipher.name(),
                        e.negotiated.hash.name()
                    )?;
                    from.established = Some(e);
                }
                Output::Received(stanza) => {
                    for b in bodies(&stanza) {
                        writeln!(self.out, "    [{}] decrypted: {b}", from.who.name())?;
                        from.received.push(b);
                    }
                }
                Output::Terminated(reason) => {
                    writeln!(
                        self.out,
                        "    [{}] session ended: {reason:?}",
                        from.who.name()
                    )?;
                    from.ended = Some(reason);
                }
                Output::Failed(e) => return Err(e.into()),
                _ => {}
            }
        }
        Ok(moved)
    }

    /// Names a stanza for the log and counts it.
    fn classify(&mut self, stanza: &Stanza, profile: Profile) -> &'static str {
        if self.phase == Phase::Termination
            && profile == Profile::Gajim
            && matches!(stanza.negotiation(), Ok(Some(n)) if n.message == Negotiation::Terminate)
        {
            self.counts.termination += 1;
            return "terminate form in the clear (gajim profile, G8)";
        }
        if let Ok(Some(n)) = stanza.negotiation() {
            self.counts.negotiation += 1;
            return match (n.message, self.three) {
                (Negotiation::Request(_), false) => {
                    "message 1, the request (dhhashes: Alice's hash commitment)"
                }
                (Negotiation::Request(_), true) => {
                    "message 1, the request (dhkeys: Alice's e values in the clear)"
                }
                (Negotiation::Response(_), false) => {
                    "message 2, the response (Bob's d, nonce and counter)"
                }
                (Negotiation::Response(_), true) => {
                    "message 2, the response (Bob's d and signed identity ID_B, M_B)"
                }
                (Negotiation::AliceAccept(_), false) => "message 3, Alice's accept (e, ID_A, M_A)",
                (Negotiation::AliceAccept(_), true) => {
                    "message 3, Alice's accept (signed identity ID_A, M_A)"
                }
                (Negotiation::BobAccept(_), _) => "message 4, Bob's accept (srshash, ID_B, M_B)",
                _ => "negotiation",
            };
        }
        if matches!(stanza.encrypted(), Ok(Some(_))) {
            return match self.phase {
                Phase::Rekey => {
                    self.counts.rekey += 1;
                    "encrypted stanza carrying <key/>: Alice's new DH value (XEP-0200 §7)"
                }
                Phase::Termination => {
                    self.counts.termination += 1;
                    if self.counts.termination == 1 {
                        "encrypted terminate form (<c/>, D43)"
                    } else {
                        "encrypted termination acknowledgement (<c/>, D43)"
                    }
                }
                Phase::Negotiation | Phase::Messages => {
                    self.counts.messages += 1;
                    "encrypted stanza (<c/>: data, mac)"
                }
            };
        }
        "stanza"
    }
}
