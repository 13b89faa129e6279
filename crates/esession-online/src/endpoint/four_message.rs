//! The 4-message exchange, SIGMA-R with a SAS (XEP-0116 §4.6-§4.8; the
//! worked example's steps), after msg2.
//!
//! ```text
//! Alice (msg2 checked) ── msg3: e, rshashes, ID_A, M_A ──▶ Bob: AwaitAliceAccept
//!   SasReady; AwaitBobAccept                                He, 1<e<p-1, M_A, ID_A (verify_peer)
//!                                                           SasReady; SRS (D34); K_final (D35, D36)
//!                        ◀── msg4: srshash, ID_B, M_B ───── new secret stored pending (D37)
//!   srshash ─▶ SRS; K_final; M_B, ID_B (verify_peer)       Established
//!   new secret stored (D37); Established
//! ```

use std::time::SystemTime;

use esession_crypto::SecretBytes;
use esession_crypto::dh::DhPrivateKey;
use esession_crypto::hash::HashAlg;
use esession_crypto::rand_core::CryptoRng;
use esession_sigma::counters::Counters;
use esession_sigma::keys::{self, DirectionKeys, Role, SessionKeys};
use esession_sigma::{sas, secrets};
use esession_wire::{AliceAccept, BobAccept, Condition, Negotiation, Stanza};

use super::ctx::{Ctx, Failure, store_failed};
use super::identity::{self, Continuity, MacOf, OwnMac, Proof, SessionInput};
use super::request::CheckedResponse;
use super::{Output, TerminationReason};
use crate::store::{RetainedSecret, SessionStore, StoreOp};
use crate::{Error, Negotiated, PeerMisbehaved};

/// The states of the 4-message exchange after msg2.
pub(super) enum State {
    /// Bob after msg2.
    AwaitAliceAccept(Box<AwaitAliceAccept>),
    /// Alice after msg3.
    AwaitBobAccept(Box<AwaitBobAccept>),
}

/// Bob after msg2.
pub(super) struct AwaitAliceAccept {
    negotiated: Negotiated,
    he: Vec<u8>,
    y: DhPrivateKey,
    n_a: Vec<u8>,
    n_b: Vec<u8>,
    form_a: Vec<u8>,
    form_b: Vec<u8>,
    counters: Counters,
}

/// Alice after msg3.
pub(super) struct AwaitBobAccept {
    negotiated: Negotiated,
    k: SecretBytes,
    n_a: Vec<u8>,
    n_b: Vec<u8>,
    d: Vec<u8>,
    form_b: Vec<u8>,
    /// The secrets hashed into rshashes (D34: Alice matches only these).
    candidates: Vec<RetainedSecret>,
    /// C_A after ID_A.
    c_a: u128,
    c_b: u128,
    /// Our DH exponent, kept for re-keys (XEP-0200 §7).
    x: DhPrivateKey,
}

/// A local failure the peer must hear of (a store that failed): it then
/// discards the negotiation instead of waiting (D44, XEP0116-029).
fn local(error: Error) -> Failure {
    Failure::answer(
        error,
        Condition::Other("internal-server-error".to_owned()),
        &[],
    )
}

/// Bob has sent msg2.
#[allow(clippy::too_many_arguments)]
pub(super) fn bob_sent_response(
    negotiated: Negotiated,
    he: Vec<u8>,
    y: DhPrivateKey,
    n_a: Vec<u8>,
    n_b: Vec<u8>,
    form_a: Vec<u8>,
    form_b: Vec<u8>,
    counters: Counters,
) -> super::State {
    super::State::FourMessage(State::AwaitAliceAccept(Box::new(AwaitAliceAccept {
        negotiated,
        he,
        y,
        n_a,
        n_b,
        form_a,
        form_b,
        counters,
    })))
}

/// Alice sends msg3 (XEP-0116 §4.6; worked example steps 3-10): the
/// provisional keys from K, rshashes over her secrets for Bob (D33), formA2,
/// macA, ID_A, M_A, then the SAS.
pub(super) fn alice_on_response<R: CryptoRng, S: SessionStore + ?Sized>(
    ctx: &mut Ctx<R>,
    now: SystemTime,
    store: &mut S,
    m: CheckedResponse,
) -> Result<super::State, Failure> {
    let n = m.negotiated;
    let hash = n.hash;
    // Steps 3-4: the provisional initiator keys (D8-D11).
    let provisional = DirectionKeys::derive(
        hash,
        n.cipher,
        ctx.config.profile,
        m.k.as_bytes(),
        Role::Initiator,
    )
    .map_err(Error::from)?;
    // Step 5: rshashes (D33).
    let candidates = store
        .secrets(ctx.peer_bare(), now)
        .map_err(|e| local(store_failed::<S>(StoreOp::ReadSecrets)(e)))?;
    let rshashes = match ctx.pins.rshashes.take() {
        Some(pinned) => pinned,
        None => {
            let refs: Vec<&[u8]> = candidates.iter().map(|c| c.secret.as_bytes()).collect();
            secrets::rshashes(hash, &m.n_a, &refs, &mut ctx.rng)
        }
    };
    let counters = Counters::from_c_a(m.response.counter);
    let n_b = m.response.my_nonce.clone();
    let e = m.x.public_key().to_vec();
    // Steps 6-9: formA2, macA, ID_A and M_A.
    let sealed = identity::seal_own(
        ctx,
        |identity, mac| {
            Negotiation::AliceAccept(AliceAccept {
                accept: true,
                nonce: n_b.clone(),
                dhkey: Some(e.clone()),
                rshashes: rshashes.clone(),
                identity,
                mac,
                terminate: false,
            })
        },
        n.init_pubkey,
        hash,
        &provisional,
        counters.c_a,
        OwnMac::Alice {
            n_a: &m.n_a,
            n_b: &n_b,
            e: &e,
            form_a: &m.form_a,
        },
    )?;
    // Step 10: the SAS.
    let sas = sas::sas(hash, &sealed.mac, &m.form_b);
    ctx.send_form(&sealed.wire);
    ctx.out.push_back(Output::SasReady { sas });
    Ok(super::State::FourMessage(State::AwaitBobAccept(Box::new(
        AwaitBobAccept {
            negotiated: n,
            k: m.k,
            n_a: m.n_a,
            n_b,
            d: m.response.dhkey,
            form_b: m.form_b,
            candidates,
            c_a: sealed.next_counter,
            c_b: counters.c_b,
            x: m.x,
        },
    ))))
}

impl State {
    /// A stanza of the negotiation.
    pub(super) fn handle<R: CryptoRng, S: SessionStore + ?Sized>(
        self,
        ctx: &mut Ctx<R>,
        now: SystemTime,
        stanza: &Stanza,
        store: &mut S,
    ) -> Result<super::State, Failure> {
        match self {
            State::AwaitAliceAccept(s) => s.on_alice_accept(ctx, now, stanza, store),
            State::AwaitBobAccept(s) => s.on_bob_accept(ctx, now, stanza, store),
        }
    }
}

impl AwaitAliceAccept {
    /// Bob receives msg3 and sends msg4 (XEP-0116 §4.7; DECISIONS D7, D26,
    /// D34-D37, and the worked example's check order).
    fn on_alice_accept<R: CryptoRng, S: SessionStore + ?Sized>(
        self,
        ctx: &mut Ctx<R>,
        now: SystemTime,
        stanza: &Stanza,
        store: &mut S,
    ) -> Result<super::State, Failure> {
        let received = match stanza.negotiation() {
            Ok(Some(r)) => r,
            Ok(None) => {
                return Err(Failure::silent(PeerMisbehaved::UnexpectedMessage(
                    "expected msg3",
                )));
            }
            Err(e) => return Err(Failure::fni(PeerMisbehaved::malformed(&e))),
        };
        let msg3 = match received.message {
            Negotiation::AliceAccept(a) if a.accept => a,
            Negotiation::AliceAccept(_) | Negotiation::Decline => {
                ctx.out
                    .push_back(Output::Terminated(TerminationReason::Declined));
                return Ok(super::State::Closed);
            }
            _ => {
                return Err(Failure::fni(PeerMisbehaved::UnexpectedMessage(
                    "expected msg3",
                )));
            }
        };
        if msg3.terminate {
            // Only a 3-message msg3 may end the session (XEP-0116 §4.6.4).
            return Err(Failure::fni(PeerMisbehaved::UnexpectedMessage(
                "terminate in a 4-message msg3",
            )));
        }
        let s = self;
        let n = &s.negotiated;
        let hash = n.hash;
        if msg3.nonce != s.n_b {
            return Err(Failure::fni(PeerMisbehaved::NonceMismatch));
        }
        let e = msg3
            .dhkey
            .as_deref()
            .ok_or_else(|| Failure::fni(PeerMisbehaved::MissingField("dhkeys")))?;
        // D7: SHA256(e) == He, then 1 < e < p-1 (inside shared_secret).
        let he = HashAlg::Sha256.digest(e);
        if !esession_crypto::secret::ct_eq(he.as_bytes(), &s.he) {
            return Err(Failure::fni(PeerMisbehaved::DhHashMismatch));
        }
        let shared =
            s.y.shared_secret(e)
                .map_err(|_| Failure::fni(PeerMisbehaved::InvalidPublicValue))?;
        let k = keys::k_dh(hash, shared.as_bytes());
        let provisional = DirectionKeys::derive(
            hash,
            n.cipher,
            ctx.config.profile,
            k.as_bytes(),
            Role::Initiator,
        )
        .map_err(Error::from)?;
        let form_a2 = ctx
            .form_bytes(&received.form)
            .map_err(|e| Failure::fni(PeerMisbehaved::malformed(&e)))?;
        let c_a = identity::verify_peer(
            ctx,
            &*store,
            Proof {
                keys: &provisional,
                counter: s.counters.c_a,
                identity: &msg3.identity,
                mac: &msg3.mac,
                mode: n.init_pubkey,
                sign_alg: n.sign_alg,
                hash,
                mac_of: MacOf::Alice {
                    n_a: &s.n_a,
                    n_b: &s.n_b,
                    e,
                    form_a: &s.form_a,
                    form_a2: &form_a2,
                },
            },
        )
        .map_err(Failure::fni)?;
        let sas = sas::sas(hash, &msg3.mac, &s.form_b);
        ctx.out.push_back(Output::SasReady { sas });

        // D34: the SRS, first among this contact's secrets, then the others'.
        let peer = ctx.peer_bare().to_owned();
        let read = |e| local(store_failed::<S>(StoreOp::ReadSecrets)(e));
        let rshashes: Vec<&[u8]> = msg3.rshashes.iter().map(Vec::as_slice).collect();
        let own = store.secrets(&peer, now).map_err(read)?;
        let own_refs: Vec<&[u8]> = own.iter().map(|r| r.secret.as_bytes()).collect();
        let mut srs: Option<(String, RetainedSecret)> =
            secrets::find_srs_bob(hash, &s.n_a, &rshashes, &own_refs)
                .and_then(|i| own.get(i).cloned())
                .map(|r| (peer.clone(), r));
        if srs.is_none() && ctx.config.extended_srs_search {
            let others = store.other_secrets(&peer, now).map_err(read)?;
            let refs: Vec<&[u8]> = others.iter().map(|(_, r)| r.secret.as_bytes()).collect();
            srs = secrets::find_srs_bob(hash, &s.n_a, &rshashes, &refs)
                .and_then(|i| others.get(i).cloned());
        }
        let write = |e| local(store_failed::<S>(StoreOp::WriteSecret)(e));
        if let Some((p, r)) = &srs {
            // D37: Alice proved she holds this secret; a pair held since an
            // unconfirmed msg4 is settled in its favour.
            store.secret_proven(p, &r.secret).map_err(write)?;
        }
        let srs_bytes = srs.as_ref().map(|(_, r)| r.secret.as_bytes());
        // D35, D36: K_final = HASH(K ‖ SRS ‖ OSS).
        let oss = ctx.oss();
        let k_final = secrets::k_final(
            hash,
            k.as_bytes(),
            srs_bytes,
            oss.as_ref().map(SecretBytes::as_bytes),
        );
        let session = SessionKeys::derive(hash, n.cipher, ctx.config.profile, k_final.as_bytes())
            .map_err(Error::from)?;
        let srshash = match (srs_bytes, ctx.pins.srshash_random.take()) {
            (None, Some(pinned)) => pinned,
            _ => secrets::srshash_or_random(hash, srs_bytes, &mut ctx.rng),
        };
        // msg4: formB2 from our own msg4 parsed back; identity and mac excluded.
        let sealed = identity::seal_own(
            ctx,
            |identity, mac| {
                Negotiation::BobAccept(BobAccept {
                    nonce: s.n_a.clone(),
                    srshash: srshash.clone(),
                    identity,
                    mac,
                })
            },
            n.resp_pubkey,
            hash,
            session.responder(),
            s.counters.c_b,
            OwnMac::BobAccept {
                n_a: &s.n_a,
                n_b: &s.n_b,
                d: s.y.public_key(),
                form_b: &s.form_b,
            },
        )?;
        // D37: the new secret is stored, pending, before msg4 goes out; it
        // replaces the SRS once Alice's first authentic stanza proves she
        // accepted msg4.
        let chain_verified = srs.as_ref().is_some_and(|(_, r)| r.verified);
        let new_rs = secrets::new_retained_secret(hash, k_final.as_bytes());
        store
            .store_secret(
                &peer,
                srs.as_ref().map(|(p, r)| (p.as_str(), &r.secret)),
                RetainedSecret {
                    verified: chain_verified || ctx.sas_confirmed,
                    pending: true,
                    ..RetainedSecret::new(new_rs.clone(), now)
                },
            )
            .map_err(write)?;
        ctx.stored_secret = Some(new_rs);
        ctx.secret_pending = true;
        ctx.send_form(&sealed.wire);
        let e = e.to_vec();
        let negotiated = s.negotiated.clone();
        let active = identity::establish(
            ctx,
            &negotiated,
            SessionInput {
                own: (session.responder(), sealed.next_counter),
                peer: (session.initiator(), c_a),
                x: s.y,
                peer_public: e,
            },
            Continuity {
                retained_secret_used: srs.is_some(),
                chain_verified,
            },
        );
        Ok(super::State::Session(super::session::State::Active(active)))
    }
}

impl AwaitBobAccept {
    /// Alice receives msg4 (XEP-0116 §4.8; DECISIONS D26, D34-D37).
    fn on_bob_accept<R: CryptoRng, S: SessionStore + ?Sized>(
        self,
        ctx: &mut Ctx<R>,
        now: SystemTime,
        stanza: &Stanza,
        store: &mut S,
    ) -> Result<super::State, Failure> {
        let received = match stanza.negotiation() {
            Ok(Some(r)) => r,
            Ok(None) => {
                return Err(Failure::silent(PeerMisbehaved::UnexpectedMessage(
                    "expected msg4",
                )));
            }
            Err(esession_wire::Error::MissingField(f)) if f == "srshash" => {
                return Err(Failure::fni(PeerMisbehaved::MissingField("srshash")));
            }
            Err(e) => return Err(Failure::fni(PeerMisbehaved::malformed(&e))),
        };
        let Negotiation::BobAccept(msg4) = received.message else {
            return Err(Failure::fni(PeerMisbehaved::UnexpectedMessage(
                "expected msg4",
            )));
        };
        let s = self;
        let n = &s.negotiated;
        let hash = n.hash;
        if msg4.nonce != s.n_a {
            return Err(Failure::fni(PeerMisbehaved::NonceMismatch));
        }
        // D34: match srshash only against the secrets hashed into rshashes.
        let refs: Vec<&[u8]> = s.candidates.iter().map(|c| c.secret.as_bytes()).collect();
        let srs =
            secrets::find_srs_alice(hash, &msg4.srshash, &refs).and_then(|i| s.candidates.get(i));
        let oss = ctx.oss();
        let k_final = secrets::k_final(
            hash,
            s.k.as_bytes(),
            srs.map(|r| r.secret.as_bytes()),
            oss.as_ref().map(SecretBytes::as_bytes),
        );
        let session = SessionKeys::derive(hash, n.cipher, ctx.config.profile, k_final.as_bytes())
            .map_err(Error::from)?;
        let form_b2 = ctx
            .form_bytes(&received.form)
            .map_err(|e| Failure::fni(PeerMisbehaved::malformed(&e)))?;
        let c_b = identity::verify_peer(
            ctx,
            &*store,
            Proof {
                keys: session.responder(),
                counter: s.c_b,
                identity: &msg4.identity,
                mac: &msg4.mac,
                mode: n.resp_pubkey,
                sign_alg: n.sign_alg,
                hash,
                mac_of: MacOf::Bob {
                    n_a: &s.n_a,
                    n_b: &s.n_b,
                    d: &s.d,
                    form_b: &s.form_b,
                    form_b2: Some(&form_b2),
                },
            },
        )
        .map_err(Failure::fni)?;
        // D37: Alice commits the new retained secret only now, after
        // verifying; a failed write is answered so that Bob discards his.
        let peer = ctx.peer_bare().to_owned();
        let write = |e| local(store_failed::<S>(StoreOp::WriteSecret)(e));
        if let Some(r) = srs {
            store.secret_proven(&peer, &r.secret).map_err(write)?;
        }
        let chain_verified = srs.is_some_and(|r| r.verified);
        let new_rs = secrets::new_retained_secret(hash, k_final.as_bytes());
        store
            .store_secret(
                &peer,
                srs.map(|r| (peer.as_str(), &r.secret)),
                RetainedSecret {
                    verified: chain_verified || ctx.sas_confirmed,
                    ..RetainedSecret::new(new_rs.clone(), now)
                },
            )
            .map_err(write)?;
        ctx.stored_secret = Some(new_rs);
        let negotiated = s.negotiated.clone();
        let active = identity::establish(
            ctx,
            &negotiated,
            SessionInput {
                own: (session.initiator(), s.c_a),
                peer: (session.responder(), c_b),
                x: s.x,
                peer_public: s.d,
            },
            Continuity {
                retained_secret_used: srs.is_some(),
                chain_verified,
            },
        );
        Ok(super::State::Session(super::session::State::Active(active)))
    }
}
