//! The two steps every negotiation path ends with: checking the peer's
//! identity proof ([`verify_peer`]) and turning the agreed keys into an
//! encrypted session ([`establish`]).
//!
//! ```text
//!            4-message                       3-message
//! Bob,   msg3: verify_peer(Alice)        msg3: verify_peer(Alice)
//! Alice, msg4: verify_peer(Bob)          msg2: verify_peer(Bob)
//!              └──────────── establish ─────────┘  (Output::Established, Session)
//! ```
//!
//! [`verify_peer`] follows XEP-0116 §4.6.2 (and §4.7.2, §4.8.2 for Bob's
//! side): M_X before ID_X is deciphered, then pubKeyX (sent, or substituted
//! from the trusted keys in `hash` mode, D30), macX over it, and either
//! macX itself (mode `none`) or the signature of macX with the agreed
//! algorithm (D31); finally the key's status is reported (XEP-0116 §8.5).

use esession_crypto::SecretBytes;
use esession_crypto::dh::DhPrivateKey;
use esession_crypto::hash::HashAlg;
use esession_crypto::rand_core::CryptoRng;
use esession_crypto::sign::SignAlg;
use esession_sigma::counters;
use esession_sigma::identity::{self, MacAInput, MacBInput};
use esession_sigma::keys::DirectionKeys;
use esession_wire::{Negotiation, WireForm};

use super::ctx::{Ctx, Failure, encode, store_failed};
use super::session::Active;
use super::{Established, Output};
use crate::Error;
use crate::Negotiated;
use crate::pubkey::{self, KeyStatus, PeerKey, PubkeyMode};
use crate::rekey::SessionKeys as TrafficState;
use crate::store::{SessionStore, StoreOp};

/// What the peer's macX covers besides its pubKey.
pub(super) enum MacOf<'a> {
    /// macA = HMAC(KS_A, N_A ‖ N_B ‖ mpi(e) ‖ pubKeyA ‖ formA ‖ formA2).
    Alice {
        n_a: &'a [u8],
        n_b: &'a [u8],
        e: &'a [u8],
        form_a: &'a [u8],
        form_a2: &'a [u8],
    },
    /// macB = HMAC(KS_B, N_A ‖ N_B ‖ mpi(d) ‖ pubKeyB ‖ formB [‖ formB2]).
    Bob {
        n_a: &'a [u8],
        n_b: &'a [u8],
        d: &'a [u8],
        form_b: &'a [u8],
        form_b2: Option<&'a [u8]>,
    },
}

/// A peer's identity proof as received: ID_X and M_X under its direction keys.
pub(super) struct Proof<'a> {
    /// The peer's direction keys (KC_X, KM_X, KS_X).
    pub(super) keys: &'a DirectionKeys,
    /// C_X on entry.
    pub(super) counter: u128,
    /// ID_X.
    pub(super) identity: &'a [u8],
    /// M_X.
    pub(super) mac: &'a [u8],
    /// How the peer identifies itself (D27).
    pub(super) mode: PubkeyMode,
    /// The agreed signature algorithm (D31).
    pub(super) sign_alg: Option<SignAlg>,
    /// The agreed hash.
    pub(super) hash: HashAlg,
    /// The rest of macX.
    pub(super) mac_of: MacOf<'a>,
}

/// Checks the peer's identity proof and reports its key. Returns C_X after
/// ID_X (D13).
pub(super) fn verify_peer<R, S: SessionStore + ?Sized>(
    ctx: &mut Ctx<R>,
    store: &S,
    proof: Proof<'_>,
) -> Result<u128, Error> {
    // M_X before deciphering ID_X.
    let opened = proof
        .keys
        .open_identity(proof.counter, proof.identity, proof.mac)?;
    let next = counters::advance(proof.counter, opened.blocks);
    let plaintext = opened.plaintext.as_bytes();
    let jid = ctx.peer_bare().to_owned();
    let (key, signature) = match proof.mode {
        PubkeyMode::None => (Vec::new(), Vec::new()),
        mode => pubkey::peer_key_bytes(mode, proof.hash, plaintext, store, &jid)?,
    };
    let mac_x = mac_x(proof.hash, proof.keys, &proof.mac_of, &key);
    if proof.mode == PubkeyMode::None {
        identity::check_mac_identity(plaintext, mac_x.as_bytes())?;
        // XEP-0116 §8.5: a JID with a stored key that presents no key at all
        // MUST be reported to the user.
        let previous = store
            .trusted_keys(&jid)
            .map_err(store_failed::<S>(StoreOp::ReadKeys))?;
        if !previous.is_empty() {
            ctx.key_missing = true;
            ctx.out.push_back(Output::PeerKey(PeerKey {
                jid,
                key: Vec::new(),
                fingerprint: Vec::new(),
                status: KeyStatus::NoKey { previous },
            }));
        }
        return Ok(next);
    }
    pubkey::verify_signature(proof.sign_alg, &key, mac_x.as_bytes(), &signature)?;
    let status = pubkey::status(store, &jid, &key)?;
    ctx.peer_key = Some(key.clone());
    ctx.out.push_back(Output::PeerKey(PeerKey {
        jid,
        fingerprint: pubkey::fingerprint_of(&key),
        key,
        status,
    }));
    Ok(next)
}

/// macA or macB with `pub_key` (D28 bytes, empty in mode `none`).
fn mac_x(hash: HashAlg, keys: &DirectionKeys, mac_of: &MacOf<'_>, pub_key: &[u8]) -> SecretBytes {
    let ks = keys.ks().as_bytes();
    match *mac_of {
        MacOf::Alice {
            n_a,
            n_b,
            e,
            form_a,
            form_a2,
        } => identity::mac_a(
            hash,
            ks,
            &MacAInput {
                n_a,
                n_b,
                e,
                pub_key_a: pub_key,
                form_a,
                form_a2,
            },
        ),
        MacOf::Bob {
            n_a,
            n_b,
            d,
            form_b,
            form_b2,
        } => identity::mac_b(
            hash,
            ks,
            &MacBInput {
                n_a,
                n_b,
                d,
                pub_key_b: pub_key,
                form_b,
                form_b2,
            },
        ),
    }
}

/// Which of our messages carries our identity, with what our macX covers
/// besides the form itself.
pub(super) enum OwnMac<'a> {
    /// Alice's msg3: macA, the form is formA2.
    Alice {
        n_a: &'a [u8],
        n_b: &'a [u8],
        e: &'a [u8],
        form_a: &'a [u8],
    },
    /// Bob's 3-message msg2: macB, the form is formB.
    BobResponse {
        n_a: &'a [u8],
        n_b: &'a [u8],
        d: &'a [u8],
    },
    /// Bob's msg4: macB, the form is formB2.
    BobAccept {
        n_a: &'a [u8],
        n_b: &'a [u8],
        d: &'a [u8],
        form_b: &'a [u8],
    },
}

/// Our sealed identity and the message carrying it.
pub(super) struct Sealed {
    /// The message as it goes on the wire.
    pub(super) wire: WireForm,
    /// M_X.
    pub(super) mac: Vec<u8>,
    /// Our counter after ID_X (D13).
    pub(super) next_counter: u128,
}

/// Proves our identity (XEP-0116 §4.5.4, §4.6.3, §4.7.4): the message
/// `build(identity, mac)` is written with placeholders first, and its
/// normalized form (identity and mac excluded, D16) is what macX covers;
/// ID_X = CIPHER(KC_X, C_X, pubKeyX ‖ signX or macX), M_X = HMAC(KM_X,
/// C_X ‖ ID_X). The final message must normalize to the same bytes.
#[allow(clippy::too_many_arguments)]
pub(super) fn seal_own<R: CryptoRng>(
    ctx: &mut Ctx<R>,
    build: impl Fn(Vec<u8>, Vec<u8>) -> Negotiation,
    mode: PubkeyMode,
    hash: HashAlg,
    keys: &DirectionKeys,
    counter: u128,
    own: OwnMac<'_>,
) -> Result<Sealed, Failure> {
    let form = ctx
        .form_bytes(&ctx.wire(&build(vec![0], vec![0]))?)
        .map_err(encode)?;
    let mac_of = match own {
        OwnMac::Alice {
            n_a,
            n_b,
            e,
            form_a,
        } => MacOf::Alice {
            n_a,
            n_b,
            e,
            form_a,
            form_a2: &form,
        },
        OwnMac::BobResponse { n_a, n_b, d } => MacOf::Bob {
            n_a,
            n_b,
            d,
            form_b: &form,
            form_b2: None,
        },
        OwnMac::BobAccept {
            n_a,
            n_b,
            d,
            form_b,
        } => MacOf::Bob {
            n_a,
            n_b,
            d,
            form_b,
            form_b2: Some(&form),
        },
    };
    // macX over the full pubKeyX in key and hash modes (D28).
    let key = ctx.config.identity_key.clone();
    let pub_key = pubkey::own_key_bytes(mode, key.as_ref())?;
    let mac = mac_x(hash, keys, &mac_of, &pub_key);
    let id = pubkey::own_identity(
        mode,
        hash,
        key.as_ref(),
        &pub_key,
        mac.as_bytes(),
        &mut ctx.rng,
    )?;
    let sealed = keys.seal_identity(counter, &id).map_err(Error::from)?;
    let wire = ctx.wire(&build(sealed.id, sealed.m.clone()))?;
    if ctx.form_bytes(&wire).map_err(encode)? != form {
        return Err(Failure::silent(Error::Internal("the sealed form changed")));
    }
    Ok(Sealed {
        wire,
        mac: sealed.m,
        next_counter: counters::advance(counter, sealed.blocks),
    })
}

/// The keys of an established session: each direction with the counter its
/// next stanza enters with, our DH exponent and the peer's public value
/// (kept for re-keys, XEP-0200 §7).
pub(super) struct SessionInput<'a> {
    pub(super) own: (&'a DirectionKeys, u128),
    pub(super) peer: (&'a DirectionKeys, u128),
    pub(super) x: DhPrivateKey,
    pub(super) peer_public: Vec<u8>,
}

/// How the retained secrets took part (4-message only).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Continuity {
    pub(super) retained_secret_used: bool,
    pub(super) chain_verified: bool,
}

/// Reports the session established and returns it.
pub(super) fn establish<R>(
    ctx: &mut Ctx<R>,
    negotiated: &Negotiated,
    keys: SessionInput<'_>,
    continuity: Continuity,
) -> Box<Active> {
    ctx.out.push_back(Output::Established(Established {
        negotiated: negotiated.clone(),
        retained_secret_used: continuity.retained_secret_used,
        chain_verified: continuity.chain_verified,
        profile: ctx.config.profile,
    }));
    Box::new(Active {
        keys: TrafficState::new(
            negotiated.cipher,
            keys.own,
            keys.peer,
            keys.x,
            keys.peer_public,
            negotiated.rekey_freq,
            negotiated.compress,
        ),
        stanzas: negotiated.stanzas.clone(),
    })
}
