//! Alice: publishing offline options before she goes offline (XEP-0187 §3.1)
//! and accepting offline sessions when she is back (§3.4, §4).
//!
//! ```text
//! Publisher::publish ──▶ Published { item <x/>, create_node iq, publish iq }
//!        │                 + OfflineStore::save_published(N_A, x…, expires)
//!        ▼  (offline)
//! Receiver::came_online ──▶ clear iq; subscriber records moved to memory and
//!        │                  destroyed in the store (§3.4)
//!        ▼
//! Receiver::accept(offline init stanza)
//!   expired? ─▶ Error::Expired (not decrypted, D50)
//!   x by N_A and modp; K = HASH(mpi(d^x)); keys from K (D11, D49)
//!   M_B ─▶ ID_B ─▶ pubKeyB ‖ signB; trusted? signB over macB? (XEP-0116 §4.6.2)
//!   verify and decrypt <c/> (XEP-0200)
//!   record_seen(N_A, d, N_B) ─▶ Error::Replay if either was seen (D50)
//!   ─▶ Accepted { content, terminated, session }
//! ReceiveSession::open(next stanza from Bob)  — receive only: Alice never
//!   sends inside an offline session (XEP-0187 §4).
//! ```

use std::convert::Infallible;
use std::time::SystemTime;

use esession_crypto::SecretBytes;
use esession_crypto::cipher::CipherAlg;
use esession_crypto::dh::{DhPrivateKey, ModpGroup};
use esession_crypto::hash::HashAlg;
use esession_crypto::rand_core::CryptoRng;
use esession_crypto::sign::{SignAlg, SigningKey, VerifyingKey};
use esession_online::negotiated::offline_sign_alg;
use esession_online::{Config, StanzaCipher, StoreOp};
use esession_sigma::Profile;
use esession_sigma::counters::{self, Counters};
use esession_sigma::identity::{self, MacBInput, PubKeyPart};
use esession_sigma::keys::{self, SessionKeys};
use esession_wire::{
    Element, Negotiation, NormProfile, OfflineOptions, Response, Stanza, WireForm, bare,
};

use crate::datetime::{format_expires, parse_expires};
use crate::options::{check_response, offer};
use crate::pep;
use crate::store::{
    Audience, MemoryOfflineStore, OfflineStore, PrivateValue, PublishedOptions, store_err,
};

/// The result of an in-memory store, which cannot fail.
fn infallible<T>(r: Result<T, Infallible>) -> T {
    match r {
        Ok(v) => v,
        Err(never) => match never {},
    }
}
use crate::{Error, NONCE_LEN};

/// Builds and signs Alice's options form (XEP-0187 §3.1; DECISIONS D47, D48).
///
/// Call order: [`Publisher::new`], optionally [`Publisher::match_resource`],
/// one [`Publisher::signing_key`] per key others may authenticate her with
/// (XEP-0187 §3.1: SHOULD be one per key; at least one is required), then
/// [`Publisher::publish`] just before going offline.
#[derive(Debug)]
pub struct Publisher<'k> {
    config: Config,
    audience: Audience,
    expires: SystemTime,
    match_resource: Option<String>,
    signing_keys: Vec<&'k SigningKey>,
}

/// What [`Publisher::publish`] produced. Send [`Published::create_node`]
/// once if the node does not exist yet, then [`Published::publish`].
#[derive(Debug, Clone)]
pub struct Published {
    /// The typed options, signatures included.
    pub options: OfflineOptions,
    /// The `<x xmlns='jabber:x:data' type='form'/>` as published.
    pub item: Element,
    /// The node-creation iq (XEP-0187 §3.1 "Alice Creates PEP Node").
    pub create_node: Stanza,
    /// The publish iq (XEP-0187 §3.1 "Alice Publishes").
    pub publish: Stanza,
    /// D48's signature input: the normalized form without signs.
    pub signed_bytes: Vec<u8>,
}

impl<'k> Publisher<'k> {
    /// Options from `config`'s lists for `audience`, expiring at `expires`
    /// (written to the second; choose it not too long after you expect to
    /// be back, XEP-0187 §7.2).
    pub fn new(config: Config, audience: Audience, expires: SystemTime) -> Self {
        Publisher {
            config,
            audience,
            expires,
            match_resource: None,
            signing_keys: Vec::new(),
        }
    }

    /// Adds a match_resource field: only this resource can decrypt, and only
    /// `message` stanzas are offered (XEP-0187 §3.1).
    pub fn match_resource(mut self, resource: &str) -> Self {
        self.match_resource = Some(resource.to_owned());
        self
    }

    /// Adds a key to sign the form with (RSA or DSA, D31).
    pub fn signing_key(mut self, key: &'k SigningKey) -> Self {
        self.signing_keys.push(key);
        self
    }

    /// Draws N_A and one x per group, signs the form, saves N_A, the x values
    /// and expires in `store`, and returns the stanzas to send.
    pub fn publish<R: CryptoRng + ?Sized, S: OfflineStore>(
        &self,
        rng: &mut R,
        store: &mut S,
    ) -> Result<Published, Error> {
        self.config
            .validate()
            .map_err(|_| Error::Config("unusable option lists"))?;
        if self.signing_keys.is_empty() {
            return Err(Error::Config("at least one signing key is required (D48)"));
        }
        if self.signing_keys.iter().any(|k| !offline_sign_alg(k.alg())) {
            return Err(Error::Config("signing keys must be RSA or DSA (D31)"));
        }
        let mut n_a = vec![0u8; NONCE_LEN];
        rng.fill_bytes(&mut n_a);
        // D6: n is the largest block size offered (128 for every cipher, and
        // for none).
        let n = self
            .config
            .crypt_algs
            .iter()
            .map(|c| c.block_bits())
            .max()
            .unwrap_or(128)
            .max(128);
        let mut xs = Vec::with_capacity(self.config.modp.len());
        let mut dhkeys = Vec::with_capacity(self.config.modp.len());
        for group in &self.config.modp {
            let x = DhPrivateKey::generate(*group, self.config.exponent_policy, n, rng)?;
            dhkeys.push(x.public_key().to_vec());
            xs.push(PrivateValue {
                group: group.number(),
                x: x.to_bytes(),
            });
        }
        let expires_text = format_expires(self.expires);
        let expires = parse_expires(&expires_text)?;
        let mut options = OfflineOptions {
            offer: offer(
                &self.config,
                self.match_resource.is_some(),
                n_a.clone(),
                dhkeys,
            )?,
            expires: expires_text,
            match_resource: self.match_resource.clone(),
            signs: Vec::new(),
        };
        // D48: sign the normalized form without signs, once per key.
        let signed_bytes = options.to_wire()?.form_bytes(NormProfile::Xep)?;
        for key in &self.signing_keys {
            options.signs.push(key.sign(&signed_bytes, rng)?);
        }
        let wire = options.to_wire()?;
        let item = wire.into_element();
        store
            .save_published(PublishedOptions {
                n_a,
                audience: self.audience,
                expires,
                x: xs,
                options_xml: item.to_xml(),
            })
            .map_err(store_err::<S>(StoreOp::WriteOffline))?;
        Ok(Published {
            create_node: pep::create_node(self.audience, "esession-create"),
            publish: pep::publish_options(self.audience, &item, "esession-publish"),
            options,
            item,
            signed_bytes,
        })
    }
}

/// Alice back online: accepts Bob's offline inits (XEP-0187 §3.4).
///
/// Create it with [`Receiver::came_online`] as soon as she is online, send
/// the returned iq, then give every stanza carrying an offline init
/// (`<init xmlns='…#ns-init'><x type='submit'/>`) to [`Receiver::accept`].
/// Every error means: discard the stanza, send nothing (D44).
#[derive(Debug)]
pub struct Receiver {
    config: Config,
    /// Subscriber options, moved out of persistent storage (§3.4); their
    /// seen values count "since she came online".
    memory: MemoryOfflineStore,
    /// N_A values whose records were destroyed after they expired, so that a
    /// late stanza is still reported as [`Error::Expired`].
    expired: Vec<Vec<u8>>,
}

/// The result of [`Receiver::came_online`].
#[derive(Debug)]
pub struct CameOnline {
    /// The receiver.
    pub receiver: Receiver,
    /// The iq that stops publishing the subscribers' options (§3.4).
    pub clear_subscriber_options: Stanza,
}

/// An accepted offline session (XEP-0187 §3.4).
#[derive(Debug)]
pub struct Accepted {
    /// Bob's full JID (the stanza's `from`).
    pub peer: String,
    /// The stanza's thread, if any: the key of the session for later stanzas.
    pub thread: Option<String>,
    /// Bob's verified, trusted public key.
    pub peer_key: VerifyingKey,
    /// The decrypted stanza (the `<init/>` removed), if it carried `<c/>`.
    pub content: Option<Stanza>,
    /// The encrypted `Created` SHIM header of the content, if any: trust it
    /// rather than the unencrypted delay element her server added
    /// (XEP-0187 §4).
    pub created: Option<SystemTime>,
    /// Bob terminated the session in this stanza (terminate field, §3.3).
    /// Alice does not answer it (§5).
    pub terminated: bool,
    /// The receive-only session for Bob's later stanzas, unless terminated.
    pub session: Option<ReceiveSession>,
}

impl Receiver {
    /// Alice is back: loads what she stored, moves the subscriber records
    /// into memory and destroys their persistent copies (XEP-0187 §3.4).
    /// Options for everyone stay in `store`, with their seen values
    /// (§6.1). `config.registry` decides which algorithms she still accepts.
    pub fn came_online<S: OfflineStore>(
        config: Config,
        store: &mut S,
    ) -> Result<CameOnline, Error> {
        let mut memory = MemoryOfflineStore::new();
        let read = || store_err::<S>(StoreOp::ReadOffline);
        for n_a in store.published_nonces().map_err(read())? {
            let Some(p) = store.published(&n_a).map_err(read())? else {
                continue;
            };
            if p.audience == Audience::Subscribers {
                store
                    .remove_published(&n_a)
                    .map_err(store_err::<S>(StoreOp::WriteOffline))?;
                infallible(memory.save_published(p));
            }
        }
        Ok(CameOnline {
            receiver: Receiver {
                config,
                memory,
                expired: Vec::new(),
            },
            clear_subscriber_options: pep::clear_subscriber_options("esession-clear"),
        })
    }

    /// Destroys every expired record (now ≥ expires, D50), in `store` and in
    /// memory: its x values can no longer be used (XEP-0187 §3.4), so keeping
    /// them only widens the window of §7.2. Returns how many were destroyed.
    /// Later stanzas for them are still reported as [`Error::Expired`].
    pub fn purge_expired<S: OfflineStore>(
        &mut self,
        now: SystemTime,
        store: &mut S,
    ) -> Result<usize, Error> {
        let mut n = 0;
        for n_a in infallible(self.memory.published_nonces()) {
            if let Some(p) = infallible(self.memory.published(&n_a))
                && p.is_expired(now)
            {
                infallible(self.memory.remove_published(&n_a));
                self.expired.push(n_a);
                n += 1;
            }
        }
        let read = || store_err::<S>(StoreOp::ReadOffline);
        for n_a in store.published_nonces().map_err(read())? {
            if let Some(p) = store.published(&n_a).map_err(read())?
                && p.is_expired(now)
            {
                store
                    .remove_published(&n_a)
                    .map_err(store_err::<S>(StoreOp::WriteOffline))?;
                self.expired.push(n_a);
                n += 1;
            }
        }
        Ok(n)
    }

    /// Verifies and decrypts an offline init stanza from Bob (XEP-0187 §3.4).
    ///
    /// Checks, in order: the stanza is an offline init with a `from`; N_A is
    /// one of hers; not expired (else [`Error::Expired`], nothing decrypted);
    /// Bob's choices were offered (D26); x for his group; 1<d<p-1; M_B;
    /// ID_B's key is trusted in `store` for his bare JID and signB verifies over macB;
    /// the content's MAC (XEP-0200); then d and N_B must be new for N_A
    /// ([`Error::Replay`]; a replay's content is dropped unseen).
    pub fn accept<S: OfflineStore + ?Sized>(
        &mut self,
        now: SystemTime,
        stanza: Stanza,
        store: &mut S,
    ) -> Result<Accepted, Error> {
        let peer = stanza
            .from()
            .ok_or(Error::UnexpectedStanza("no from"))?
            .to_owned();
        let received = stanza
            .negotiation()?
            .ok_or(Error::UnexpectedStanza("no offline init"))?;
        let Negotiation::OfflineInit(init) = &received.message else {
            return Err(Error::UnexpectedStanza("not an offline init"));
        };
        let response = &init.response;
        let n_a = response.nonce.clone();
        if self.expired.contains(&n_a) {
            return Err(Error::Expired);
        }
        let (published, in_memory) = match infallible(self.memory.published(&n_a)) {
            Some(p) => (p, true),
            None => (
                store
                    .published(&n_a)
                    .map_err(store_err::<S>(StoreOp::ReadOffline))?
                    .ok_or(Error::UnknownNonce)?,
                false,
            ),
        };
        // D50: expired means now ≥ expires; discard without decrypting.
        if published.is_expired(now) {
            return Err(Error::Expired);
        }
        let (options, _) = OfflineOptions::parse_element(Element::parse(&published.options_xml)?)?;
        check_response(&self.config, &options.offer, response)?;
        let opened = open_init(&self.config, &published, response, &received.form)?;
        let peer_key = opened.peer_key;
        // XEP-0187 §3.4: Bob's key must be one Alice trusts for his JID.
        let trusted = store
            .trusted_keys(bare(&peer))
            .map_err(store_err::<S>(StoreOp::ReadKeys))?;
        if !trusted.iter().any(|k| k.key == opened.pub_key_b) {
            return Err(Error::UntrustedPeer);
        }
        let terminated = init.terminate;
        let mut cipher = opened.cipher;
        // The content's MAC is checked (and the content deciphered) before
        // the replay record, so that neither a forged init nor a genuine
        // init with forged content can block the genuine stanza (D50).
        let content = if stanza.encrypted()?.is_some() {
            let mut s = stanza.clone();
            cipher.open(&mut s).map_err(|_| Error::BadContent)?;
            Some(s)
        } else {
            None
        };
        let fresh = if in_memory {
            infallible(
                self.memory
                    .record_seen(&n_a, &response.dhkey, &response.my_nonce),
            )
        } else {
            store
                .record_seen(&n_a, &response.dhkey, &response.my_nonce)
                .map_err(store_err::<S>(StoreOp::WriteOffline))?
        };
        if !fresh {
            // A replay: the deciphered content is dropped unseen.
            return Err(Error::Replay);
        }
        let thread = stanza.thread();
        let session = (!terminated).then(|| ReceiveSession {
            cipher,
            peer: peer.clone(),
            thread: thread.clone(),
            ended: false,
        });
        let created = content.as_ref().and_then(crate::bob::created);
        Ok(Accepted {
            peer,
            thread,
            peer_key,
            created,
            content,
            terminated,
            session,
        })
    }
}

struct OpenedInit {
    peer_key: VerifyingKey,
    pub_key_b: Vec<u8>,
    cipher: StanzaCipher,
}

/// Every cryptographic check of an offline init, given the stored record
/// (XEP-0116 §4.6.1-§4.6.2 as XEP-0187 §3.4 adapts them; DECISIONS D49).
fn open_init(
    config: &Config,
    published: &PublishedOptions,
    response: &Response,
    form: &WireForm,
) -> Result<OpenedInit, Error> {
    let group = ModpGroup::from_number(response.modp)?;
    let hash = config.registry.hash(&response.hash_alg)?;
    let cipher = config.registry.cipher(&response.crypt_alg)?;
    let x_bytes = published.x_for(response.modp).ok_or(Error::UnknownGroup)?;
    let x = DhPrivateKey::from_bytes(group, x_bytes.as_bytes())?;
    // Checks 1 < d < p-1 (XEP-0116 §4.6.1, D7).
    let shared = x.shared_secret(&response.dhkey)?;
    let (id_b, m_b) = match (&response.identity, &response.mac) {
        (Some(i), Some(m)) => (i, m),
        _ => return Err(Error::UnexpectedStanza("offline init without identity")),
    };
    let sign_alg = response
        .sign_alg
        .as_deref()
        .map(SignAlg::from_uri)
        .transpose()
        .map_err(|_| Error::BadIdentity)?
        .ok_or(Error::BadIdentity)?;
    let opened = open_identity(&OpenInput {
        hash,
        cipher,
        shared_secret: &shared,
        n_a: &response.nonce,
        n_b: &response.my_nonce,
        d: &response.dhkey,
        form_b: &form.form_bytes(NormProfile::Xep)?,
        c_a: response.counter,
        id_b,
        m_b,
        sign_alg,
    })?;
    Ok(OpenedInit {
        peer_key: opened.peer_key,
        pub_key_b: opened.pub_key_b,
        cipher: StanzaCipher::new(opened.keys.responder().clone(), opened.next_c_b),
    })
}

/// The inputs of [`open_identity`]: all bytes as received.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "testing"), allow(unreachable_pub))]
pub struct OpenInput<'a> {
    /// The negotiated hash.
    pub hash: HashAlg,
    /// The negotiated cipher.
    pub cipher: CipherAlg,
    /// mpi(d^x mod p).
    pub shared_secret: &'a SecretBytes,
    /// N_A.
    pub n_a: &'a [u8],
    /// N_B.
    pub n_b: &'a [u8],
    /// mpi(d).
    pub d: &'a [u8],
    /// formB: the normalized init form without identity and mac (D16).
    pub form_b: &'a [u8],
    /// C_A from the counter field (C_B = C_A XOR 2^127).
    pub c_a: u128,
    /// ID_B.
    pub id_b: &'a [u8],
    /// M_B.
    pub m_b: &'a [u8],
    /// The sign_algs Bob chose.
    pub sign_alg: SignAlg,
}

/// What [`open_identity`] recovered.
#[derive(Debug)]
#[cfg_attr(not(feature = "testing"), allow(unreachable_pub, dead_code))]
pub struct OpenedIdentity {
    /// The session keys derived from K (D11: keys from K are final offline).
    pub keys: SessionKeys,
    /// pubKeyB's key (not yet checked for trust).
    pub peer_key: VerifyingKey,
    /// pubKeyB, the D28 bytes as received.
    pub pub_key_b: Vec<u8>,
    /// macB as recomputed (and verified by signB).
    pub mac_b: SecretBytes,
    /// C_B after ID_B: where Bob's first XEP-0200 stanza enters (D13).
    pub next_c_b: u128,
}

/// K, the keys, M_B, ID_B, pubKeyB, macB and signB of an offline init
/// (XEP-0116 §4.6.1-§4.6.2 with pubkey mode `key`, XEP-0187 §3.4; D49):
///
/// ```text
/// K    = HASH(mpi(d^x mod p))                       (D8)
/// KC_B, KM_B, KS_B from K                            (D11)
/// assert M_B = HMAC(KM_B, mpi(C_B) ‖ ID_B)           then decipher ID_B
/// pubKeyB ‖ <SignatureValue>signB</SignatureValue>   (D29)
/// macB = HMAC(KS_B, N_A ‖ N_B ‖ mpi(d) ‖ pubKeyB ‖ formB)   (no formB2)
/// assert VERIFY(pubKeyB, macB, signB)                (D31)
/// ```
///
/// Public with the feature `testing`, so that the conformance suite replays
/// vectors through the same code path Alice uses.
#[cfg_attr(not(feature = "testing"), allow(unreachable_pub))]
pub fn open_identity(i: &OpenInput<'_>) -> Result<OpenedIdentity, Error> {
    let k = keys::k_dh(i.hash, i.shared_secret.as_bytes());
    let session = SessionKeys::derive(i.hash, i.cipher, Profile::Xep, k.as_bytes())?;
    let c_b = Counters::from_c_a(i.c_a).c_b;
    let opened = session.responder().open_identity(c_b, i.id_b, i.m_b)?;
    let signed = identity::parse_signed_identity(opened.plaintext.as_bytes())?;
    let PubKeyPart::KeyValue(pub_key_b) = signed.pub_key else {
        // XEP-0187 §3.4: the mode is `key`.
        return Err(Error::BadIdentity);
    };
    let peer_key = esession_wire::verifying_key(&pub_key_b).map_err(|_| Error::BadIdentity)?;
    if peer_key.alg() != i.sign_alg {
        return Err(Error::BadIdentity);
    }
    let mac_b = identity::mac_b(
        i.hash,
        session.responder().ks().as_bytes(),
        &MacBInput {
            n_a: i.n_a,
            n_b: i.n_b,
            d: i.d,
            pub_key_b: &pub_key_b,
            form_b: i.form_b,
            form_b2: None,
        },
    );
    peer_key
        .verify(mac_b.as_bytes(), &signed.signature)
        .map_err(|_| Error::BadIdentity)?;
    Ok(OpenedIdentity {
        keys: session,
        peer_key,
        pub_key_b,
        mac_b,
        next_c_b: counters::advance(c_b, opened.blocks),
    })
}

/// Alice's side of an accepted offline session: receive only (XEP-0187 §4:
/// "Alice MUST NOT send encrypted content within an offline ESession"; to
/// answer she starts a new online session).
#[derive(Debug)]
pub struct ReceiveSession {
    cipher: StanzaCipher,
    peer: String,
    thread: Option<String>,
    ended: bool,
}

/// A later stanza of Bob's, opened.
#[derive(Debug)]
pub struct Opened {
    /// The decrypted stanza.
    pub content: Stanza,
    /// Its encrypted `Created` SHIM header, if any (XEP-0187 §4).
    pub created: Option<SystemTime>,
    /// Bob terminated the session (D43 form inside); Alice does not answer
    /// (XEP-0187 §5).
    pub terminated: bool,
}

impl ReceiveSession {
    /// Bob's full JID.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// The session's thread.
    pub fn thread(&self) -> Option<&str> {
        self.thread.as_deref()
    }

    /// Verifies and decrypts Bob's next stanza (XEP-0200 §6). A failure
    /// leaves the session unchanged; the stanza is discarded.
    pub fn open(&mut self, stanza: Stanza) -> Result<Opened, Error> {
        if self.ended {
            return Err(Error::Terminated);
        }
        if stanza.from() != Some(self.peer.as_str()) || stanza.thread() != self.thread {
            return Err(Error::UnexpectedStanza("another peer or thread"));
        }
        let mut s = stanza;
        self.cipher.open(&mut s).map_err(|_| Error::BadContent)?;
        let terminated = matches!(
            s.negotiation(),
            Ok(Some(n)) if n.message == Negotiation::Terminate
        );
        self.ended = terminated;
        Ok(Opened {
            created: crate::bob::created(&s),
            content: s,
            terminated,
        })
    }
}
