//! `esession demo --offline`: an XEP-0187 offline ESession.
//!
//! ```text
//! Alice: Publisher ── signed options (PEP item, D47/D48) ──▶ her server; Alice goes offline
//! Bob:   Initiator.check_options (signatures, trust) → start: <init/> + <c/> (msg 1)
//!        SendSession.seal → two more <c/> stanzas        ──▶ offline storage
//! Alice: Receiver.came_online → accept(init) decrypts msg 1 → ReceiveSession.open msgs 2, 3
//! ```
//!
//! Both identity keys are RSA-2048 drawn from the seed (Alice's may come
//! from `--alice-key`); each side already trusts the other's key, as
//! XEP-0187 requires. Every random value comes from one ChaCha20 generator
//! seeded with `--seed`; Bob's y is drawn from it and pinned so that the
//! transcript can record it. With `--transcript` the run is written in the
//! offline variant of esession-transcript/1 (the layout of `vectors/offline/`).

use std::io::Write;
use std::time::Duration;

use esession_crypto::dh::{DhPrivateKey, ExponentPolicy};
use esession_crypto::sign::SigningKey;
use esession_offline::{
    Audience, Initiator, MemoryOfflineStore, OfflineStore, OpenInput, Publisher, Receiver,
    open_identity,
};
use esession_online::{Config, MemoryStore, SessionStore, TrustedKey};
use esession_sigma::Profile;
use esession_sigma::counters::Counters;
use esession_sigma::keys::{DirectionKeys, Role, k_dh};
use esession_wire::{DhValues, Negotiation, NormProfile, Stanza};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use serde_json::{Value, json};

use super::transcript::{bad, counter_hex, hx, sign_key_json};
use super::{
    ALICE, BOB, DemoOptions, DemoReport, StanzaCounts, bodies, chat, clone_key, print_stanza,
};
use crate::Error;

/// What Bob leaves in Alice's offline storage.
const BOB_WRITES: [&str; 3] = [
    "Alice, I saw your options: this one rides on the init.",
    "A second message, sealed while you were away.",
    "And a third: Grüße!",
];

/// How long Alice's options stay valid (XEP-0187 §3.1 expires).
const OPTIONS_LIFETIME: Duration = Duration::from_secs(12 * 3600);

fn off(e: esession_offline::Error) -> Error {
    Error::Offline(e)
}

/// Runs the offline demo.
#[allow(clippy::too_many_lines)]
pub(super) fn run<W: Write>(opts: &DemoOptions, out: &mut W) -> Result<DemoReport, Error> {
    let mut rng = ChaCha20Rng::seed_from_u64(opts.seed);
    let now = super::demo_now();
    let expires = now + OPTIONS_LIFETIME;
    let alice_key = match &opts.alice_key {
        Some(k) => clone_key(k)?,
        None => SigningKey::generate_rsa(2048, &mut rng).map_err(bad)?,
    };
    let bob_key = SigningKey::generate_rsa(2048, &mut rng).map_err(bad)?;
    // Alice's store trusts Bob's key; Bob's trusts hers.
    let trusted = |key: &SigningKey| -> Result<TrustedKey, Error> {
        let key = esession_wire::key_bytes(&key.verifying_key()).map_err(bad)?;
        let petname = "known".to_owned();
        Ok(TrustedKey { key, petname })
    };
    let mut store = MemoryOfflineStore::new();
    store
        .trust_key("bob@example.com", trusted(&bob_key)?)
        .map_err(bad)?;
    let mut bob_store = MemoryStore::new();
    bob_store
        .trust_key("alice@example.org", trusted(&alice_key)?)
        .map_err(bad)?;
    let mut config = Config::default();
    config.exponent_policy = ExponentPolicy::Rfc3526;

    writeln!(
        out,
        "esession demo, seed {}: an offline ESession (XEP-0187) from {BOB} to {ALICE}",
        opts.seed
    )?;
    writeln!(
        out,
        "Alice signs her options with her {} key; each side already trusts the other's key\n",
        crate::keys::alg_name(alice_key.alg())
    )?;
    let mut counts = StanzaCounts::default();
    let mut carried = 0usize;

    writeln!(out, "== alice publishes her options and goes offline")?;
    let published = Publisher::new(config.clone(), Audience::Subscribers, expires)
        .signing_key(&alice_key)
        .publish(&mut rng, &mut store)
        .map_err(off)?;
    let n_a = published.options.offer.my_nonce.clone();
    let record = store
        .published(&n_a)
        .map_err(bad)?
        .ok_or_else(|| bad("the published options are not in Alice's store"))?;
    carried += 1;
    counts.negotiation += 1;
    writeln!(
        out,
        "[{carried}] alice -> her server (PEP): signed options form, expires {} (XEP-0187 §3.1, D47, D48)",
        published.options.expires
    )?;
    let options_xml = published.item.to_xml();
    print_stanza(out, opts.pretty, &options_xml)?;
    writeln!(out, "    [alice] offline")?;

    writeln!(
        out,
        "\n== bob starts an offline session with encrypted content"
    )?;
    let mut bob = Initiator::new(config.clone(), &bob_key).map_err(off)?;
    let checked = bob
        .check_options(now, "alice@example.org", &published.item, &bob_store)
        .map_err(off)?;
    let chosen = checked.chosen().negotiated.clone();
    writeln!(
        out,
        "    [bob] options verified (Alice's signature, her trusted key); chose modp {}, {}, {}",
        chosen.modp.number(),
        chosen.cipher.name(),
        chosen.hash.name()
    )?;
    let y =
        DhPrivateKey::generate(chosen.modp, ExponentPolicy::Rfc3526, 128, &mut rng).map_err(bad)?;
    bob.pin_y_for_tests(y.to_bytes().as_bytes());
    let started = bob
        .start(now, &checked, Some(chat(BOB_WRITES[0])), false, &mut rng)
        .map_err(off)?;
    let mut sent = vec![started.stanza];
    let mut session = started
        .session
        .ok_or_else(|| bad("Bob's session ended with the init"))?;
    for text in &BOB_WRITES[1..] {
        sent.push(session.seal(now, chat(text)).map_err(off)?);
    }
    let mut recorded = Vec::new();
    for (i, s) in sent.iter_mut().enumerate() {
        s.set_attr("from", BOB);
        recorded.push(s.to_xml());
        s.set_attr("to", ALICE);
        carried += 1;
        if i == 0 {
            counts.negotiation += 1;
        } else {
            counts.messages += 1;
        }
        writeln!(
            out,
            "[{carried}] bob -> alice (offline storage): {}",
            if i == 0 {
                "<init/> with Bob's d, signed identity ID_B, M_B, and the first <c/> (XEP-0187 §3.3)"
            } else {
                "encrypted stanza (<c/>: data, mac)"
            }
        )?;
        print_stanza(out, opts.pretty, &s.to_xml())?;
    }

    writeln!(out, "\n== alice comes back online and decrypts")?;
    let at = now + Duration::from_secs(3600);
    let mut receiver = Receiver::came_online(config.clone(), &mut store)
        .map_err(off)?
        .receiver;
    let mut received = Vec::new();
    let mut parsed = Vec::new();
    for xml in &recorded {
        parsed.push(Stanza::parse(xml).map_err(|e| bad(format!("a stanza does not parse: {e}")))?);
    }
    let first = parsed
        .first()
        .cloned()
        .ok_or_else(|| bad("no init stanza"))?;
    let accepted = receiver.accept(at, first, &mut store).map_err(off)?;
    writeln!(
        out,
        "    [alice] init from {} accepted: Bob's signature verified with his trusted key",
        accepted.peer
    )?;
    let mut contents = vec![
        accepted
            .content
            .clone()
            .ok_or_else(|| bad("the init carried no content"))?,
    ];
    let mut alice_session = accepted
        .session
        .ok_or_else(|| bad("Alice has no session for later stanzas"))?;
    for st in parsed.iter().skip(1) {
        contents.push(alice_session.open(st.clone()).map_err(off)?.content);
    }
    for c in &contents {
        for b in bodies(c) {
            writeln!(out, "    [alice] decrypted: {b}")?;
            received.push(b);
        }
    }

    let transcript = if opts.transcript {
        let init = parsed.first().ok_or_else(|| bad("no init"))?;
        let neg = init
            .negotiation()
            .map_err(bad)?
            .ok_or_else(|| bad("the init has no form"))?;
        let Negotiation::OfflineInit(init) = &neg.message else {
            return Err(bad("the first stanza is not an offline init"));
        };
        let resp = &init.response;
        let form_b = neg.form.form_bytes(NormProfile::Xep).map_err(bad)?;
        let x_stored = record
            .x_for(chosen.modp.number())
            .ok_or_else(|| bad("Alice stored no x for the chosen group"))?;
        let x = DhPrivateKey::from_bytes(chosen.modp, x_stored.as_bytes()).map_err(bad)?;
        let shared = x.shared_secret(&resp.dhkey).map_err(bad)?;
        let id_b = resp.identity.as_deref().ok_or_else(|| bad("no ID_B"))?;
        let m_b = resp.mac.as_deref().ok_or_else(|| bad("no M_B"))?;
        let opened = open_identity(&OpenInput {
            hash: chosen.hash,
            cipher: chosen.cipher,
            shared_secret: &shared,
            n_a: &resp.nonce,
            n_b: &resp.my_nonce,
            d: &resp.dhkey,
            form_b: &form_b,
            c_a: resp.counter,
            id_b,
            m_b,
            sign_alg: chosen.sign_alg.ok_or_else(|| bad("no sign_alg"))?,
        })
        .map_err(off)?;
        let k = k_dh(chosen.hash, shared.as_bytes());
        let plaintext = DirectionKeys::derive(
            chosen.hash,
            chosen.cipher,
            Profile::Xep,
            k.as_bytes(),
            Role::Responder,
        )
        .map_err(bad)?
        .open_identity(Counters::from_c_a(resp.counter).c_b, id_b, m_b)
        .map_err(bad)?;
        let signed =
            esession_sigma::identity::parse_signed_identity(plaintext.plaintext.as_bytes())
                .map_err(bad)?;
        let key_hex = |d: &DirectionKeys| {
            (
                hx(d.kc().key_bytes()),
                hx(d.km().as_bytes()),
                hx(d.ks().as_bytes()),
            )
        };
        let (kca, kma, ksa) = key_hex(opened.keys.initiator());
        let (kcb, kmb, ksb) = key_hex(opened.keys.responder());
        let mut dh = serde_json::Map::new();
        let DhValues::Keys(es) = &published.options.offer.dh else {
            return Err(bad("the options carry no dhkeys"));
        };
        for (v, e) in record.x.iter().zip(es) {
            dh.insert(
                v.group.to_string(),
                json!({"x": hx(v.x.as_bytes()), "e": hx(e)}),
            );
        }
        let mut stanzas = Vec::new();
        let mut counter = opened.next_c_b;
        let bob_kc = opened.keys.responder().kc();
        for (i, st) in parsed.iter().enumerate() {
            let enc = st
                .encrypted()
                .map_err(bad)?
                .ok_or_else(|| bad("a stanza without <c/>"))?;
            let data = enc.content.data.clone().unwrap_or_default();
            let after = counter + esession_crypto::cipher::blocks_for(data.len());
            // What Bob sealed: the content and the Created SHIM header
            // the offline path adds (XEP-0187 §4).
            let mut plain = data.clone();
            bob_kc
                .apply_keystream(Profile::Xep.cipher_counter(counter), &mut plain)
                .map_err(bad)?;
            let children = String::from_utf8(plain).map_err(bad)?;
            stanzas.push(json!({
                "from": "bob",
                "plaintext": children,
                "counter_before": counter_hex(counter),
                "counter_after": counter_hex(after),
                "m_content": String::from_utf8(enc.m_content.clone()).map_err(bad)?,
                "data": hx(&data),
                "mac": hx(&enc.content.mac),
                "xml": recorded.get(i).cloned().unwrap_or_default(),
            }));
            counter = after;
        }
        Some(json!({
            "schema": "esession-transcript/1",
            "name": format!("esession demo --offline --seed {}: XEP-0187 offline init with encrypted content, then two more messages", opts.seed),
            "source": format!("generated by `esession demo --offline --seed {}` (crates/esession-cli/src/demo/offline.rs): the real Publisher/Initiator/Receiver path with every random value from ChaCha20 seeded with the seed", opts.seed),
            "profile": "xep",
            "mode": "offline",
            "audience": "subscribers",
            "now": esession_offline::format_expires(at),
            "alice": {
                "jid": ALICE,
                "nonce": hx(&n_a),
                "dh": Value::Object(dh),
                "expires": published.options.expires,
                "match_resource": null,
                "sign_key": sign_key_json(Some(&alice_key))?,
            },
            "bob": {
                "jid": BOB,
                "nonce": hx(&resp.my_nonce),
                "y": hx(y.to_bytes().as_bytes()),
                "d": hx(&resp.dhkey),
                "counter_a": counter_hex(resp.counter),
                "sign_key": sign_key_json(Some(&bob_key))?,
            },
            "negotiated": {
                "modp": resp.modp,
                "crypt_algs": resp.crypt_alg,
                "hash_algs": resp.hash_alg,
                "sign_algs": resp.sign_alg,
                "compress": resp.compress,
                "resp_pubkey": "key",
                "ver": resp.ver,
                "rekey_freq": resp.rekey_freq,
                "stanzas": resp.stanzas,
                "terminate": false,
            },
            "messages": [
                {"n": 1, "from": "alice", "kind": "options", "xml": options_xml,
                 "expires": published.options.expires,
                 "signs": published.options.signs.iter().map(|s| hx(s)).collect::<Vec<_>>()},
                {"n": 2, "from": "bob", "kind": "offline-init", "xml": recorded[0]},
            ],
            "derived": {
                "form_options": String::from_utf8(published.signed_bytes.clone()).map_err(bad)?,
                "shared_secret": hx(shared.as_bytes()),
                "k_dh": hx(k.as_bytes()),
                "keys": {"KCA": kca, "KMA": kma, "KSA": ksa, "KCB": kcb, "KMB": kmb, "KSB": ksb},
                "form_b": String::from_utf8(form_b).map_err(bad)?,
                "counter_b": counter_hex(Counters::from_c_a(resp.counter).c_b),
                "mac_b": hx(opened.mac_b.as_bytes()),
                "sign_b": hx(&signed.signature),
                "id_b": hx(id_b),
                "m_b": hx(m_b),
                "identity_plaintext": String::from_utf8(plaintext.plaintext.as_bytes().to_vec()).map_err(bad)?,
            },
            "stanzas": stanzas,
        }))
    } else {
        None
    };

    let report = DemoReport {
        sas: (String::new(), String::new()),
        received: (received, Vec::new()),
        stanzas: counts,
        ended: (None, None),
        peer_fingerprints: (None, None),
        transcript,
    };
    writeln!(out, "\n== summary")?;
    writeln!(
        out,
        "negotiated offline: modp {}, {}, {}, signatures (no SAS)",
        chosen.modp.number(),
        chosen.cipher.name(),
        chosen.hash.name()
    )?;
    writeln!(
        out,
        "stanzas: {} negotiation (options, init), {} more encrypted messages",
        report.stanzas.negotiation, report.stanzas.messages
    )?;
    writeln!(
        out,
        "delivered: alice decrypted {} of {} from offline storage; the session stays open for Alice's reply",
        report.received.0.len(),
        BOB_WRITES.len()
    )?;
    if report.received.0 != BOB_WRITES {
        return Err(Error::Unexpected(
            "Alice did not decrypt every offline message".into(),
        ));
    }
    Ok(report)
}
