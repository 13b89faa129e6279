//! Bob: checking Alice's published options and starting an offline session
//! in one stanza (XEP-0187 §3.2-§3.3; DECISIONS D48, D49).
//!
//! ```text
//! options <x/> ─▶ Initiator::check_options
//!                   signs: one verifies with a key trusted for Alice (D48)
//!                   now < expires (D50); stanzas without iq; choose (D5)
//!              ─▶ Initiator::start(content, terminate)
//!                   y, d, N_B, C_A; K = HASH(mpi(e^y)); keys from K (D49)
//!                   formB ─▶ macB (no formB2) ─▶ signB ─▶ ID_B, M_B
//!                   <message to=alice[/match_resource]> <init/> <c/> <amp/>
//!              ─▶ SendSession::seal / terminate for later stanzas
//! ```

use std::time::SystemTime;

use esession_crypto::dh::DhPrivateKey;
use esession_crypto::rand_core::CryptoRng;
use esession_crypto::sign::SigningKey;
use esession_online::negotiated::{self, Choice, offline_sign_alg};
use esession_online::{Config, SessionStore, StanzaCipher, StoreOp};
use esession_sigma::Profile;
use esession_sigma::counters::{self, Counters};
use esession_sigma::identity::{self, MacBInput};
use esession_sigma::keys::{self, SessionKeys};
use esession_wire::{
    Element, Negotiation, NormProfile, OfflineInit, OfflineOptions, Response, Stanza, WireForm,
    bare,
};

use crate::datetime::{format_expires, parse_expires};
use crate::options::choose;
use crate::store::store_err;
use crate::{Error, NONCE_LEN};

/// Bob's side: his configuration and the key he signs his identity with
/// (XEP-0187 §3.3: the pubkey mode is `key`).
///
/// Call order: [`Initiator::check_options`] on the form retrieved with
/// [`crate::pep::request_options`], then [`Initiator::start`]. Bob MUST NOT
/// start an offline session with Alice while he has an ESession with her
/// (XEP-0187 §3), and MUST terminate it as soon as he sees her online (§5):
/// both are the caller's duty.
pub struct Initiator<'k> {
    config: Config,
    signing_key: &'k SigningKey,
    /// Pinned mpi(y) for vectors (see [`Initiator::pin_y_for_tests`]).
    pinned_y: Option<zeroize::Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for Initiator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the pinned y.
        f.debug_struct("Initiator")
            .field("config", &self.config)
            .field("signing_key", &self.signing_key)
            .field("pinned_y", &self.pinned_y.is_some())
            .finish()
    }
}

/// Alice's options after every check of XEP-0187 §3.2, with Bob's choices.
#[derive(Debug, Clone)]
pub struct CheckedOptions {
    alice: String,
    options: OfflineOptions,
    chosen: Choice,
}

impl CheckedOptions {
    /// The options as read.
    pub fn options(&self) -> &OfflineOptions {
        &self.options
    }

    /// Bob's choices.
    pub fn chosen(&self) -> &Choice {
        &self.chosen
    }

    /// Where Bob's stanzas go: Alice's bare JID, or `bare/match_resource`
    /// (XEP-0187 §3.3).
    pub fn address(&self) -> String {
        match &self.options.match_resource {
            Some(r) => format!("{}/{r}", self.alice),
            None => self.alice.clone(),
        }
    }
}

/// The one stanza that establishes the session, and the session if it was
/// not terminated in it.
#[derive(Debug)]
pub struct Started {
    /// `<message>` with `<init/>`, optional `<c/>`, and `<amp/>` under
    /// match_resource. Send it.
    pub stanza: Stanza,
    /// For Bob's later stanzas, unless he terminated at once.
    pub session: Option<SendSession>,
}

impl<'k> Initiator<'k> {
    /// Bob with `config` (what he accepts) and his RSA or DSA signing key.
    pub fn new(config: Config, signing_key: &'k SigningKey) -> Result<Self, Error> {
        config
            .validate()
            .map_err(|_| Error::Config("unusable option lists"))?;
        if !offline_sign_alg(signing_key.alg()) {
            return Err(Error::Config("the signing key must be RSA or DSA (D31)"));
        }
        Ok(Initiator {
            config,
            signing_key,
            pinned_y: None,
        })
    }

    /// Uses mpi(`y`) as Bob's DH exponent instead of drawing one: for test
    /// vectors (feature `testing`; STYLE §3, snow's
    /// `fixed_ephemeral_key_for_testing_only`).
    #[cfg(feature = "testing")]
    pub fn pin_y_for_tests(&mut self, y: &[u8]) {
        self.pinned_y = Some(zeroize::Zeroizing::new(y.to_vec()));
    }

    /// XEP-0187 §3.2: parses the options `<x/>` published by `alice`, and
    /// proceeds only if one signature verifies with a key `store` trusts for
    /// her bare JID ([`Error::UntrustedOptions`], D48), the form has not
    /// expired at `now` ([`Error::Expired`], D50), and Bob supports an option
    /// of every field ([`Error::NoAcceptableOption`]). On any error he sends
    /// nothing.
    pub fn check_options<S: SessionStore + ?Sized>(
        &self,
        now: SystemTime,
        alice: &str,
        x: &Element,
        store: &S,
    ) -> Result<CheckedOptions, Error> {
        let alice = bare(alice).to_owned();
        let (options, wire) = OfflineOptions::parse_element(x.clone())?;
        // D48: the normalized form without signs; any value, any trusted key.
        let signed = wire.form_bytes(NormProfile::Xep)?;
        let keys: Vec<_> = store
            .trusted_keys(&alice)
            .map_err(store_err::<S>(StoreOp::ReadKeys))?
            .iter()
            .filter_map(|k| esession_wire::verifying_key(&k.key).ok())
            .collect();
        let verified = options
            .signs
            .iter()
            .any(|s| keys.iter().any(|k| k.verify(&signed, s).is_ok()));
        if !verified {
            return Err(Error::UntrustedOptions);
        }
        if now >= parse_expires(&options.expires)? {
            return Err(Error::Expired);
        }
        let chosen = choose(&self.config, &options, self.signing_key.alg())?;
        Ok(CheckedOptions {
            alice,
            options,
            chosen,
        })
    }

    /// XEP-0187 §3.3: builds the offline init stanza. `content` (a
    /// `<message/>` whose children are encrypted; its type is kept) goes in
    /// the same stanza as object encryption, with a `Created` SHIM header of
    /// `now` added inside the encrypted part unless it has one (XEP-0187 §4); with `terminate` the session
    /// ends in this stanza (a terminate field in the form, covered by macB).
    ///
    /// Errors: [`Error::Crypto`] if Alice's e for the chosen group is not
    /// valid (XEP-0187 §3.3: terminate without sending an error).
    pub fn start<R: CryptoRng + ?Sized>(
        &self,
        now: SystemTime,
        checked: &CheckedOptions,
        content: Option<Stanza>,
        terminate: bool,
        rng: &mut R,
    ) -> Result<Started, Error> {
        let o = &checked.options;
        let c = &checked.chosen;
        let n = &c.negotiated;
        let esession_wire::DhValues::Keys(dhkeys) = &o.offer.dh else {
            return Err(Error::InvalidOptions("no dhkeys"));
        };
        let e = dhkeys
            .get(c.modp_index)
            .ok_or(Error::InvalidOptions("no dhkeys value for the group"))?;
        let y = match &self.pinned_y {
            Some(y) => DhPrivateKey::from_bytes(n.modp, y)?,
            None => DhPrivateKey::generate(
                n.modp,
                self.config.exponent_policy,
                n.cipher.block_bits().max(128),
                rng,
            )?,
        };
        // XEP-0116 §4.5.1: checks 1 < e < p-1 first.
        let shared = y.shared_secret(e)?;
        let mut n_b = vec![0u8; NONCE_LEN];
        rng.fill_bytes(&mut n_b);
        let counters = Counters::random(Profile::Xep, rng);
        let mut thread_bytes = [0u8; 16];
        rng.fill_bytes(&mut thread_bytes);
        let thread = hex::encode(thread_bytes);

        let mut response = negotiated::response(
            c,
            n_b.clone(),
            y.public_key().to_vec(),
            o.offer.my_nonce.clone(),
            counters.c_a,
        );
        // D21: in the order of Alice's fields.
        response.order = response.order_after(&o.to_wire()?.vars()?);
        let form_b = init_form(&response, terminate)?.form_bytes(NormProfile::Xep)?;

        let k = keys::k_dh(n.hash, shared.as_bytes());
        let session = SessionKeys::derive(n.hash, n.cipher, Profile::Xep, k.as_bytes())?;
        let pub_key_b = esession_wire::key_bytes(&self.signing_key.verifying_key())?;
        let mac_b = identity::mac_b(
            n.hash,
            session.responder().ks().as_bytes(),
            &MacBInput {
                n_a: &o.offer.my_nonce,
                n_b: &n_b,
                d: y.public_key(),
                pub_key_b: &pub_key_b,
                form_b: &form_b,
                form_b2: None,
            },
        );
        let sign_b = self.signing_key.sign(mac_b.as_bytes(), rng)?;
        let plaintext =
            zeroize::Zeroizing::new(identity::signed_identity_plaintext(&pub_key_b, &sign_b));
        let sealed = session
            .responder()
            .seal_identity(counters.c_b, &plaintext)?;
        response.identity = Some(sealed.id);
        response.mac = Some(sealed.m);
        let init = init_form(&response, terminate)?;

        let to = checked.address();
        let amp = checked.options.match_resource.is_some();
        let mut cipher = StanzaCipher::new(
            session.responder().clone(),
            counters::advance(counters.c_b, sealed.blocks),
        );
        let mut stanza = match content {
            Some(mut s) => {
                add_created(&mut s, now);
                s
            }
            None => Stanza::message(&to, &thread),
        };
        stanza.set_attr("to", &to);
        stanza.set_thread(&thread);
        if amp {
            stanza.push_amp_match_resource();
        }
        if !stanza.encryptable_content().is_empty() {
            cipher
                .seal(&mut stanza)
                .map_err(|e| Error::Seal(e.to_string()))?;
        }
        stanza.insert_negotiation(&init);
        let session = (!terminate).then(|| SendSession {
            cipher,
            to,
            thread,
            amp,
        });
        Ok(Started { stanza, session })
    }
}

/// The `<init/>` element (D49): the response form as `submit`, with a
/// terminate field before identity and mac when asked (XEP-0187 §3.3), so
/// formB covers it. Serialized and parsed back (D16).
fn init_form(response: &Response, terminate: bool) -> Result<WireForm, Error> {
    Ok(Negotiation::OfflineInit(OfflineInit {
        response: response.clone(),
        terminate,
    })
    .to_wire()?)
}

/// The name of the SHIM header Bob puts in offline content (XEP-0187 §4).
const CREATED: &str = "Created";

/// Adds a `Created` SHIM header of `now` unless the stanza already carries
/// one (XEP-0187 §4: Bob SHOULD include it in the encrypted content).
fn add_created(s: &mut Stanza, now: SystemTime) {
    if s.shim_header(CREATED).is_none() {
        s.push_shim_header(CREATED, &format_expires(now));
    }
}

/// The time of a decrypted stanza's `Created` SHIM header, if any and
/// readable (XEP-0187 §4: Alice SHOULD trust it, not the unencrypted delay
/// her server added).
pub fn created(s: &Stanza) -> Option<SystemTime> {
    s.shim_header(CREATED)
        .and_then(|text| parse_expires(&text).ok())
}

/// Bob's side of an offline session after the first stanza: more encrypted
/// stanzas to Alice while she is offline, then termination (XEP-0187 §4-§5).
#[derive(Debug)]
pub struct SendSession {
    cipher: StanzaCipher,
    to: String,
    thread: String,
    amp: bool,
}

impl SendSession {
    /// The thread of the session.
    pub fn thread(&self) -> &str {
        &self.thread
    }

    /// Where the stanzas go.
    pub fn to(&self) -> &str {
        &self.to
    }

    /// Encrypts `content` (its children; XEP-0200 §6), addressed per
    /// match_resource with the AMP rule, with a `Created` SHIM header of
    /// `now` unless it has one (XEP-0187 §4).
    pub fn seal(&mut self, now: SystemTime, content: Stanza) -> Result<Stanza, Error> {
        let mut s = content;
        add_created(&mut s, now);
        self.seal_raw(s)
    }

    fn seal_raw(&mut self, content: Stanza) -> Result<Stanza, Error> {
        let mut s = content;
        s.set_attr("to", &self.to);
        s.set_thread(&self.thread);
        if self.amp {
            s.push_amp_match_resource();
        }
        self.cipher
            .seal(&mut s)
            .map_err(|e| Error::Seal(e.to_string()))?;
        Ok(s)
    }

    /// The encrypted terminate stanza (XEP-0116 §5, DECISIONS D43). Bob MUST
    /// send it as soon as he notices Alice online (XEP-0187 §5); she does not
    /// acknowledge it.
    pub fn terminate(mut self) -> Result<Stanza, Error> {
        let mut s = Stanza::message(&self.to, &self.thread);
        s.push(Negotiation::Terminate.to_wire()?.into_element());
        self.seal_raw(s)
    }
}
