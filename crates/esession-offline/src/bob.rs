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
use esession_online::{Config, StanzaCipher};
use esession_sigma::Profile;
use esession_sigma::counters::{self, Counters};
use esession_sigma::identity::{self, MacBInput};
use esession_sigma::keys::{self, SessionKeys};
use esession_wire::form::Field;
use esession_wire::xml::Node;
use esession_wire::{
    Element, NS_AMP, NS_ESESSION_C, NS_INIT, Negotiation, NormProfile, OfflineOptions, Response,
    Stanza, WireForm,
};

use crate::datetime::parse_expires;
use crate::keys::{TrustedKeys, bare, key_value_bytes, sign_alg_allowed};
use crate::options::{Chosen, VER, choose};
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
    chosen: Chosen,
}

impl CheckedOptions {
    /// The options as read.
    pub fn options(&self) -> &OfflineOptions {
        &self.options
    }

    /// Bob's choices.
    pub fn chosen(&self) -> &Chosen {
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
        if !sign_alg_allowed(signing_key.alg()) {
            return Err(Error::Config("the signing key must be RSA or DSA (D31)"));
        }
        Ok(Initiator {
            config,
            signing_key,
            pinned_y: None,
        })
    }

    /// Uses mpi(`y`) as Bob's DH exponent instead of drawing one: for test
    /// vectors only (STYLE §3, snow's `fixed_ephemeral_key_for_testing_only`).
    #[doc(hidden)]
    pub fn pin_y_for_tests(&mut self, y: &[u8]) {
        self.pinned_y = Some(zeroize::Zeroizing::new(y.to_vec()));
    }

    /// XEP-0187 §3.2: parses the options `<x/>` published by `alice`, and
    /// proceeds only if one signature verifies with a key `trusted` holds for
    /// her bare JID ([`Error::UntrustedOptions`], D48), the form has not
    /// expired at `now` ([`Error::Expired`], D50), and Bob supports an option
    /// of every field ([`Error::NoAcceptableOption`]). On any error he sends
    /// nothing.
    pub fn check_options<T: TrustedKeys + ?Sized>(
        &self,
        now: SystemTime,
        alice: &str,
        x: &Element,
        trusted: &T,
    ) -> Result<CheckedOptions, Error> {
        let alice = bare(alice).to_owned();
        let (options, wire) = OfflineOptions::parse_element(x.clone())?;
        // D48: the normalized form without signs; any value, any trusted key.
        let signed = wire.form_bytes(NormProfile::Xep)?;
        let keys = trusted.keys_for(&alice);
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
        let esession_wire::DhValues::Keys(dhkeys) = &o.offer.dh else {
            return Err(Error::InvalidOptions("no dhkeys"));
        };
        let e = dhkeys
            .get(c.group_index)
            .ok_or(Error::InvalidOptions("no dhkeys value for the group"))?;
        let y = match &self.pinned_y {
            Some(y) => DhPrivateKey::from_bytes(c.group, y)?,
            None => DhPrivateKey::generate(
                c.group,
                self.config.exponent_policy,
                c.cipher.block_bits().max(128),
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
        let thread: String = thread_bytes.iter().map(|b| format!("{b:02x}")).collect();

        let mut response = Response {
            accept: None,
            logging_var: o.offer.logging_var,
            logging: Some(c.logging.clone()),
            disclosure: Some("never".to_owned()),
            security: Some("e2e".to_owned()),
            modp: c.group.number(),
            crypt_alg: c.cipher.name().to_owned(),
            hash_alg: c.hash.name().to_owned(),
            sign_alg: Some(c.sign_alg.uri().to_owned()),
            compress: Some("none".to_owned()),
            stanzas: c.stanzas.clone(),
            init_pubkey: None,
            resp_pubkey: None,
            ver: Some(VER.to_owned()),
            rekey_freq: Some(c.rekey_freq),
            sas_alg: None,
            my_nonce: n_b.clone(),
            dhkey: y.public_key().to_vec(),
            nonce: o.offer.my_nonce.clone(),
            counter: counters.c_a,
            identity: None,
            mac: None,
            order: Vec::new(),
        };
        // D21: in the order of Alice's fields.
        response.order = response.order_after(&offer_vars(o)?);
        let form_b = init_form(&response, terminate)?.form_bytes(NormProfile::Xep)?;

        let k = keys::k_dh(c.hash, shared.as_bytes());
        let session = SessionKeys::derive(c.hash, c.cipher, Profile::Xep, k.as_bytes())?;
        let pub_key_b = key_value_bytes(&self.signing_key.verifying_key())?;
        let mac_b = identity::mac_b(
            c.hash,
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
            stanza.push(amp_rule());
        }
        if !stanza.encryptable_content().is_empty() {
            cipher
                .seal(&mut stanza)
                .map_err(|e| Error::Seal(e.to_string()))?;
        }
        let stanza = insert_init(stanza, init.into_element())?;
        let session = (!terminate).then(|| SendSession {
            cipher,
            to,
            thread,
            amp,
        });
        Ok(Started { stanza, session })
    }
}

/// The vars of Alice's options form, for D21's "msg1 order".
fn offer_vars(o: &OfflineOptions) -> Result<Vec<String>, Error> {
    Ok(o.to_wire()?.vars()?)
}

/// The `<init/>` element (D49): the response form as `submit`, with a
/// terminate field before identity and mac when asked (XEP-0187 §3.3), so
/// it is part of formB. Serialized and parsed back (D16).
fn init_form(response: &Response, terminate: bool) -> Result<WireForm, Error> {
    let mut form = Negotiation::OfflineInit(response.clone()).to_form();
    if terminate {
        let at = form
            .fields
            .iter()
            .position(|f| f.var == "identity" || f.var == "mac")
            .unwrap_or(form.fields.len());
        form.fields
            .insert(at, Field::values("terminate", None, vec!["1".to_owned()]));
    }
    let el = Element::new("init", NS_INIT).with_child(form.to_element());
    Ok(WireForm::from_element(Element::parse(&el.to_xml())?)?)
}

/// `<amp><rule action='error' condition='match-resource' value='exact'/></amp>`
/// (XEP-0187 §3.3, §4 example; XEP-0079).
fn amp_rule() -> Element {
    Element::new("amp", NS_AMP).with_child(
        Element::new("rule", NS_AMP)
            .with_attr("action", "error")
            .with_attr("condition", "match-resource")
            .with_attr("value", "exact"),
    )
}

/// Puts `<init/>` before `<c/>` (or last), as in the XEP-0187 §3.3 example.
fn insert_init(stanza: Stanza, init: Element) -> Result<Stanza, Error> {
    let mut el = stanza.into_element();
    let at = el
        .nodes()
        .iter()
        .position(|n| matches!(n, Node::Element(e) if e.is("c", NS_ESESSION_C)))
        .unwrap_or(el.nodes().len());
    el.nodes_mut().insert(at, Node::Element(init));
    Ok(Stanza::from_element(el)?)
}

/// SHIM headers (XEP-0131).
pub const NS_SHIM: &str = "http://jabber.org/protocol/shim";

/// Adds `<headers xmlns='…shim'><header name='Created'>now</header></headers>`
/// unless the stanza already carries a Created header (XEP-0187 §4: Bob
/// SHOULD include it in the encrypted content).
fn add_created(s: &mut Stanza, now: SystemTime) {
    let has = s.children().any(|c| {
        c.is("headers", NS_SHIM)
            && c.children()
                .any(|h| h.is("header", NS_SHIM) && h.attr("name") == Some("Created"))
    });
    if !has {
        s.push(
            Element::new("headers", NS_SHIM).with_child(
                Element::new("header", NS_SHIM)
                    .with_attr("name", "Created")
                    .with_text(crate::datetime::format_expires(now)),
            ),
        );
    }
}

/// The time of a decrypted stanza's `Created` SHIM header, if any and
/// readable (XEP-0187 §4: Alice SHOULD trust it, not the unencrypted delay
/// her server added).
pub fn created(s: &Stanza) -> Option<SystemTime> {
    s.children()
        .filter(|c| c.is("headers", NS_SHIM))
        .flat_map(|c| c.children())
        .find(|h| h.is("header", NS_SHIM) && h.attr("name") == Some("Created"))
        .and_then(|h| parse_expires(&h.text()).ok())
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
            s.push(amp_rule());
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
