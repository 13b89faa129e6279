//! `esession demo`: two in-process parties run a whole ESession and print it.
//!
//! Alice (`alice@example.org/pda`) and Bob (`bob@example.com/laptop`) each hold
//! an [`Endpoint`] with the strict default configuration (DECISIONS D5: modp 14
//! then 5, aes128-ctr, sha256), a seeded ChaCha20 RNG and an in-memory
//! retained-secret store. A tiny router stamps `from`/`to` on every stanza an
//! endpoint asks to send, prints it and hands it to the other endpoint; events
//! (the request, the SAS, establishment, received messages, termination) are
//! printed as they come out of [`Endpoint::poll_output`].
//!
//! The clock is virtual and every random value comes from the seed, so the same
//! seed repeats a run byte for byte.

use std::io::Write;
use std::time::{Duration, SystemTime};

use esession_online::{Config, Endpoint, Established, MemoryStore, Output, TerminationReason};
use esession_wire::{Element, Negotiation, Stanza, StanzaKind};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

use crate::Error;

/// Alice's full JID in the demo.
pub const ALICE: &str = "alice@example.org/pda";
/// Bob's full JID in the demo.
pub const BOB: &str = "bob@example.com/laptop";

/// Options of `esession demo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoOptions {
    /// Seed of both parties' randomness (Alice uses it, Bob the next value).
    pub seed: u64,
    /// Indent the printed stanzas.
    pub pretty: bool,
}

/// What a demo run produced, for tests and the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoReport {
    /// The SAS each side showed (Alice, Bob).
    pub sas: (String, String),
    /// Message bodies each side received, in order (Alice's, Bob's).
    pub received: (Vec<String>, Vec<String>),
    /// Stanzas carried, by phase.
    pub stanzas: StanzaCounts,
    /// How each side's session ended (Alice, Bob).
    pub ended: (Option<TerminationReason>, Option<TerminationReason>),
}

/// How many stanzas each phase of the demo carried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StanzaCounts {
    /// The four negotiation messages.
    pub negotiation: usize,
    /// Encrypted chat messages.
    pub messages: usize,
    /// The stanza carrying Alice's `<key/>` (XEP-0200 §7).
    pub rekey: usize,
    /// The encrypted terminate form and its acknowledgement.
    pub termination: usize,
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
    name: &'static str,
    jid: &'static str,
    ep: Endpoint<ChaCha20Rng>,
    store: MemoryStore,
    sas: Option<String>,
    established: Option<Established>,
    received: Vec<String>,
    ended: Option<TerminationReason>,
}

struct Router<'a, W> {
    out: &'a mut W,
    pretty: bool,
    now: SystemTime,
    carried: usize,
    counts: StanzaCounts,
    phase: Phase,
}

/// The bodies Alice and Bob send once the session is up.
const ALICE_SAYS: [&str; 2] = [
    "Hello Bob! This message is end-to-end encrypted.",
    "Grüße aus Zürich: non-ASCII text survives too.",
];
const BOB_SAYS: [&str; 2] = ["Hi Alice, I read you.", "Same SAS here; let's hang up."];
/// The demo's rekey_freq.
const REKEY_FREQ: u32 = 2;

/// Command-line arguments of `esession demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Seed for both parties' randomness: the same seed repeats the run byte
    /// for byte. Without it a random seed is drawn and printed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Indent the printed stanzas.
    #[arg(long)]
    pub pretty: bool,
}

/// `esession demo`: runs the demo on stdout; exit code 0 on success, 1 (with
/// one line on stderr) when the run fails.
pub fn main(args: DemoArgs) -> std::process::ExitCode {
    let seed = args.seed.unwrap_or_else(rand::random);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match run(
        &DemoOptions {
            seed,
            pretty: args.pretty,
        },
        &mut out,
    ) {
        Ok(_) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let _ = out.flush();
            eprintln!("esession: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

/// Runs the demo, writing everything to `out`.
pub fn run<W: Write>(opts: &DemoOptions, out: &mut W) -> Result<DemoReport, Error> {
    // A fixed virtual clock: nothing in the output depends on the real time.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    // rekey_freq 2 (XEP-0116 §4.3, D42): a re-key may start once two
    // encrypted stanzas were exchanged since the last key exchange.
    let mut config = Config::default();
    config.rekey_freq = REKEY_FREQ;
    writeln!(
        out,
        "esession demo, seed {}: a 4-message ESession (XEP-0116 SIGMA-R) between {ALICE} and {BOB}",
        opts.seed
    )?;
    writeln!(
        out,
        "Alice offers modp {}; {}; {} (DECISIONS D5 strict default), rekey_freq {REKEY_FREQ}\n",
        config
            .modp
            .iter()
            .map(|g| g.number().to_string())
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
    )?;

    let mut alice = Party {
        name: "alice",
        jid: ALICE,
        ep: Endpoint::initiate(
            config.clone(),
            ChaCha20Rng::seed_from_u64(opts.seed),
            now,
            "bob@example.com",
        )?,
        store: MemoryStore::new(),
        sas: None,
        established: None,
        received: Vec::new(),
        ended: None,
    };
    let mut bob = Party {
        name: "bob",
        jid: BOB,
        ep: Endpoint::responder(
            config,
            ChaCha20Rng::seed_from_u64(opts.seed.wrapping_add(1)),
        )?,
        store: MemoryStore::new(),
        sas: None,
        established: None,
        received: Vec::new(),
        ended: None,
    };
    let mut router = Router {
        out,
        pretty: opts.pretty,
        now,
        carried: 0,
        counts: StanzaCounts::default(),
        phase: Phase::Negotiation,
    };

    writeln!(router.out, "== negotiation")?;
    router.settle(&mut alice, &mut bob)?;
    let (Some(sas_a), Some(sas_b)) = (alice.sas.clone(), bob.sas.clone()) else {
        return Err(Error::Unexpected(
            "the negotiation ended without a SAS".into(),
        ));
    };
    if alice.established.is_none() || bob.established.is_none() {
        return Err(Error::Unexpected("the negotiation did not complete".into()));
    }
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

    writeln!(router.out, "\n== encrypted messages (XEP-0200)")?;
    router.phase = Phase::Messages;
    for (round, (a, b)) in ALICE_SAYS.iter().zip(BOB_SAYS).enumerate() {
        if round == 1 {
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

    writeln!(router.out, "\n== termination")?;
    router.phase = Phase::Termination;
    alice.ep.terminate(now)?;
    router.settle(&mut alice, &mut bob)?;

    let report = DemoReport {
        sas: (sas_a, sas_b),
        received: (alice.received.clone(), bob.received.clone()),
        stanzas: router.counts,
        ended: (alice.ended, bob.ended),
    };
    let negotiated = alice
        .established
        .as_ref()
        .map(|e| &e.negotiated)
        .ok_or_else(|| Error::Unexpected("no negotiated options".into()))?;
    writeln!(router.out, "\n== summary")?;
    writeln!(
        router.out,
        "negotiated: modp {}, {}, {}, SAS {}",
        negotiated.modp.number(),
        negotiated.cipher.name(),
        negotiated.hash.name(),
        report.sas.0
    )?;
    writeln!(
        router.out,
        "stanzas: {} negotiation, {} encrypted messages, {} re-key, {} termination",
        report.stanzas.negotiation,
        report.stanzas.messages,
        report.stanzas.rekey,
        report.stanzas.termination
    )?;
    writeln!(
        router.out,
        "delivered: alice received {} of {}, bob received {} of {}",
        report.received.0.len(),
        BOB_SAYS.len(),
        report.received.1.len(),
        ALICE_SAYS.len()
    )?;
    let ended = |e: Option<TerminationReason>| {
        e.map_or_else(|| "not ended".to_owned(), |r| format!("{r:?}"))
    };
    writeln!(
        router.out,
        "ended: alice {}, bob {}",
        ended(report.ended.0),
        ended(report.ended.1)
    )?;
    let delivered_all = report.received.0 == BOB_SAYS && report.received.1 == ALICE_SAYS;
    if !delivered_all || report.ended.0.is_none() || report.ended.1.is_none() {
        return Err(Error::Unexpected(
            "not every message was delivered or the session did not end cleanly".into(),
        ));
    }
    Ok(report)
}

/// A chat message with one `<body/>`.
fn chat(text: &str) -> Stanza {
    let mut s = Stanza::new(StanzaKind::Message);
    s.set_attr("type", "chat");
    s.push(Element::new("body", "jabber:client").with_text(text));
    s
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

    /// Drains `from`'s outputs: prints events, delivers stanzas to `to`.
    fn pump(&mut self, from: &mut Party, to: &mut Party) -> Result<usize, Error> {
        let mut moved = 0;
        while let Some(output) = from.ep.poll_output() {
            match output {
                Output::Send(mut stanza) => {
                    stanza.set_attr("from", from.jid);
                    stanza.set_attr("to", to.jid);
                    self.carried += 1;
                    let kind = self.classify(&stanza);
                    writeln!(
                        self.out,
                        "[{}] {} -> {}: {kind}",
                        self.carried, from.name, to.name
                    )?;
                    let xml = stanza.to_xml();
                    if self.pretty {
                        writeln!(self.out, "{}", crate::pretty::indent(&xml))?;
                    } else {
                        writeln!(self.out, "{xml}")?;
                    }
                    to.ep.handle_stanza(self.now, stanza, &mut to.store)?;
                    moved += 1;
                }
                Output::Requested(r) => {
                    writeln!(
                        self.out,
                        "    [{}] ESession request from {}; accepting",
                        from.name, r.peer
                    )?;
                    from.ep.accept(self.now)?;
                }
                Output::SasReady { sas } => {
                    let shown = sas.padded.clone();
                    writeln!(self.out, "    [{}] SAS {shown}", from.name)?;
                    from.sas = Some(shown);
                }
                Output::Established(e) => {
                    writeln!(
                        self.out,
                        "    [{}] established: modp {}, {}, {}",
                        from.name,
                        e.negotiated.modp.number(),
                        e.negotiated.cipher.name(),
                        e.negotiated.hash.name()
                    )?;
                    from.established = Some(e);
                }
                Output::Received(stanza) => {
                    let bodies: Vec<String> = stanza
                        .children()
                        .filter(|c| c.name() == "body")
                        .map(Element::text)
                        .collect();
                    for b in bodies {
                        writeln!(self.out, "    [{}] decrypted: {b}", from.name)?;
                        from.received.push(b);
                    }
                }
                Output::Terminated(reason) => {
                    writeln!(self.out, "    [{}] session ended: {reason:?}", from.name)?;
                    from.ended = Some(reason);
                }
                Output::Failed(e) => return Err(e.into()),
                _ => {}
            }
        }
        Ok(moved)
    }

    /// Names a stanza for the log and counts it.
    fn classify(&mut self, stanza: &Stanza) -> &'static str {
        if let Ok(Some(n)) = stanza.negotiation() {
            self.counts.negotiation += 1;
            return match n.message {
                Negotiation::Request(_) => {
                    "message 1, the request (dhhashes: Alice's hash commitment)"
                }
                Negotiation::Response(_) => "message 2, the response (Bob's d, nonce and counter)",
                Negotiation::AliceAccept(_) => "message 3, Alice's accept (e, ID_A, M_A)",
                Negotiation::BobAccept(_) => "message 4, Bob's accept (srshash, ID_B, M_B)",
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
