//! The 3-message exchange, SIGMA-I with public keys (XEP-0116 §4.3-§4.6 with
//! `dhkeys`; DECISIONS D46): the keys come from K at once, there is no SAS,
//! no retained secret and no OSS, and msg3 may carry encrypted content and
//! end the session (object encryption, §4.6.4).
//!
//! ```text
//! Alice ── msg1: dhkeys (e) ──────────────────▶ Bob: K, keys from K
//!       ◀─ msg2: d, ID_B, M_B (bob_response) ──
//! verify_peer(Bob); formA2 (with terminate, D46)
//!       ── msg3: ID_A, M_A [, <c/>] [, terminate] ─▶ verify_peer(Alice)
//! Established [Terminated]                         Established [Received] [Terminated]
//! ```

use esession_crypto::dh::DhPrivateKey;
use esession_crypto::rand_core::CryptoRng;
use esession_sigma::counters::Counters;
use esession_sigma::keys::{self, DirectionKeys, SessionKeys};
use esession_wire::{AliceAccept, Negotiation, Response, Stanza};

use super::ctx::{Ctx, Failure};
use super::identity::{self, Continuity, MacOf, OwnMac, Proof, SessionInput};
use super::request::CheckedResponse;
use super::session::{self, Decrypted};
use super::{Output, TerminationReason};
use crate::store::SessionStore;
use crate::{Error, Negotiated, PeerMisbehaved};

/// The state of the 3-message exchange after msg2.
pub(super) enum State {
    /// Bob after msg2.
    AwaitAliceAccept(Box<AwaitAliceAccept>),
}

/// Bob after msg2: the final keys already exist.
pub(super) struct AwaitAliceAccept {
    negotiated: Negotiated,
    initiator: DirectionKeys,
    responder: DirectionKeys,
    y: DhPrivateKey,
    e: Vec<u8>,
    n_a: Vec<u8>,
    n_b: Vec<u8>,
    form_a: Vec<u8>,
    c_a: u128,
    /// C_B after ID_B.
    c_b: u128,
}

/// What Bob's 3-message msg2 is made of.
pub(super) struct BobInput {
    pub(super) negotiated: Negotiated,
    pub(super) n_a: Vec<u8>,
    pub(super) n_b: Vec<u8>,
    pub(super) form_a: Vec<u8>,
    /// msg2 without identity and mac.
    pub(super) response: Response,
    pub(super) y: DhPrivateKey,
    /// Alice's e for the chosen group.
    pub(super) e: Vec<u8>,
    pub(super) counters: Counters,
}

/// Bob's msg2 (XEP-0116 §4.5 with dhkeys; D46): K from e at once, the final
/// keys from K, ID_B and M_B in msg2 (macB over formB, no formB2).
pub(super) fn bob_response<R: CryptoRng>(
    ctx: &mut Ctx<R>,
    b: BobInput,
) -> Result<super::State, Failure> {
    let n = b.negotiated;
    let hash = n.hash;
    // D7: 1 < e < p-1.
    let shared = b
        .y
        .shared_secret(&b.e)
        .map_err(|_| Failure::not_acceptable(PeerMisbehaved::InvalidPublicValue, Some("dhkeys")))?;
    let k = keys::k_dh(hash, shared.as_bytes());
    let session = SessionKeys::derive(hash, n.cipher, ctx.config.profile, k.as_bytes())
        .map_err(Error::from)?;
    let response = b.response;
    let sealed = identity::seal_own(
        ctx,
        |identity, mac| {
            Negotiation::Response(Response {
                identity: Some(identity),
                mac: Some(mac),
                ..response.clone()
            })
        },
        n.resp_pubkey,
        hash,
        session.responder(),
        b.counters.c_b,
        OwnMac::BobResponse {
            n_a: &b.n_a,
            n_b: &b.n_b,
            d: b.y.public_key(),
        },
    )?;
    ctx.send_form(&sealed.wire);
    Ok(super::State::ThreeMessage(State::AwaitAliceAccept(
        Box::new(AwaitAliceAccept {
            initiator: session.initiator().clone(),
            responder: session.responder().clone(),
            negotiated: n,
            y: b.y,
            e: b.e,
            n_a: b.n_a,
            n_b: b.n_b,
            form_a: b.form_a,
            c_a: b.counters.c_a,
            c_b: sealed.next_counter,
        }),
    )))
}

/// Alice receives the 3-message msg2 and sends msg3 (D46): Bob's identity
/// verified with keys from K, then ID_A with macA over formA2 (FORM_TYPE,
/// accept, nonce, and terminate when msg3 ends the session). Content given
/// to `send_with_accept` rides in msg3 (XEP-0116 §4.6.4).
pub(super) fn alice_on_response<R: CryptoRng, S: SessionStore + ?Sized>(
    ctx: &mut Ctx<R>,
    store: &mut S,
    m: CheckedResponse,
) -> Result<super::State, Failure> {
    let n = m.negotiated;
    let hash = n.hash;
    let session = SessionKeys::derive(hash, n.cipher, ctx.config.profile, m.k.as_bytes())
        .map_err(Error::from)?;
    let counters = Counters::from_c_a(m.response.counter);
    let msg2_failure = |e: Error| Failure::not_acceptable(e, Some("identity"));
    let (Some(id_b), Some(m_b)) = (&m.response.identity, &m.response.mac) else {
        return Err(msg2_failure(
            PeerMisbehaved::MissingField("identity").into(),
        ));
    };
    let n_b = m.response.my_nonce.clone();
    let c_b = identity::verify_peer(
        ctx,
        &*store,
        Proof {
            keys: session.responder(),
            counter: counters.c_b,
            identity: id_b,
            mac: m_b,
            mode: n.resp_pubkey,
            sign_alg: n.sign_alg,
            hash,
            mac_of: MacOf::Bob {
                n_a: &m.n_a,
                n_b: &n_b,
                d: &m.response.dhkey,
                form_b: &m.form_b,
                form_b2: None,
            },
        },
    )
    .map_err(msg2_failure)?;
    let object = ctx.object.take();
    let terminate = object.as_ref().is_some_and(|(_, t)| *t);
    let e = m.x.public_key().to_vec();
    let sealed = identity::seal_own(
        ctx,
        |identity, mac| {
            Negotiation::AliceAccept(AliceAccept {
                accept: true,
                nonce: n_b.clone(),
                dhkey: None,
                rshashes: Vec::new(),
                identity,
                mac,
                terminate,
            })
        },
        n.init_pubkey,
        hash,
        session.initiator(),
        counters.c_a,
        OwnMac::Alice {
            n_a: &m.n_a,
            n_b: &n_b,
            e: &e,
            form_a: &m.form_a,
        },
    )?;
    let mut active = identity::establish(
        ctx,
        &n,
        SessionInput {
            own: (session.initiator(), sealed.next_counter),
            peer: (session.responder(), c_b),
            x: m.x,
            peer_public: m.response.dhkey,
        },
        Continuity::default(),
    );
    let Some((mut content, _)) = object else {
        ctx.send_form(&sealed.wire);
        return Ok(super::State::Session(session::State::Active(active)));
    };
    // XEP-0116 §4.6.4: msg3 carries <c/> (and, optionally, terminate).
    active.keys.seal(&mut content, 0)?;
    let c = content
        .children()
        .find(|e| e.is("c", esession_wire::NS_ESESSION_C))
        .cloned()
        .ok_or(Error::Internal("sealed stanza without <c/>"))?;
    let mut msg3 = ctx.message();
    msg3.push_negotiation(&sealed.wire);
    msg3.push(c);
    ctx.out.push_back(Output::Send(msg3));
    if terminate {
        // "the ESession is terminated immediately": every key drops here.
        ctx.out
            .push_back(Output::Terminated(TerminationReason::Unacknowledged));
        return Ok(super::State::Closed);
    }
    Ok(super::State::Session(session::State::Active(active)))
}

impl State {
    /// A stanza of the negotiation.
    pub(super) fn handle<R, S: SessionStore + ?Sized>(
        self,
        ctx: &mut Ctx<R>,
        stanza: &Stanza,
        store: &mut S,
    ) -> Result<super::State, Failure> {
        match self {
            State::AwaitAliceAccept(s) => s.on_alice_accept(ctx, stanza, store),
        }
    }
}

impl AwaitAliceAccept {
    /// Bob receives the 3-message msg3 (D46): nonce, M_A, ID_A, macA over
    /// formA2 as received (terminate included), then any content beside it
    /// and the termination it may carry (XEP-0116 §4.6.4).
    fn on_alice_accept<R, S: SessionStore + ?Sized>(
        self,
        ctx: &mut Ctx<R>,
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
        let s = self;
        let n = &s.negotiated;
        if msg3.nonce != s.n_b {
            return Err(Failure::fni(PeerMisbehaved::NonceMismatch));
        }
        let form_a2 = ctx
            .form_bytes(&received.form)
            .map_err(|e| Failure::fni(PeerMisbehaved::malformed(&e)))?;
        let c_a = identity::verify_peer(
            ctx,
            &*store,
            Proof {
                keys: &s.initiator,
                counter: s.c_a,
                identity: &msg3.identity,
                mac: &msg3.mac,
                mode: n.init_pubkey,
                sign_alg: n.sign_alg,
                hash: n.hash,
                mac_of: MacOf::Alice {
                    n_a: &s.n_a,
                    n_b: &s.n_b,
                    e: &s.e,
                    form_a: &s.form_a,
                    form_a2: &form_a2,
                },
            },
        )
        .map_err(Failure::fni)?;
        let negotiated = s.negotiated.clone();
        let mut active = identity::establish(
            ctx,
            &negotiated,
            SessionInput {
                own: (&s.responder, s.c_b),
                peer: (&s.initiator, c_a),
                x: s.y,
                peer_public: s.e,
            },
            Continuity::default(),
        );
        if stanza.has_encrypted() {
            // Only <c/> and the clear children are opened; the form stays out of m.
            let mut content = stanza.clone();
            content.take_negotiation();
            match session::open(&mut active.keys, Some(&active.stanzas), content)? {
                Decrypted::Content(s) => ctx.out.push_back(Output::Received(s)),
                Decrypted::Nothing => {}
                Decrypted::Terminate | Decrypted::TerminateAck => {
                    return Err(Failure::not_acceptable(
                        PeerMisbehaved::UnexpectedMessage("a form inside msg3's content"),
                        None,
                    ));
                }
            }
        }
        if msg3.terminate {
            ctx.out
                .push_back(Output::Terminated(TerminationReason::ByPeer));
            return Ok(super::State::Closed);
        }
        Ok(super::State::Session(session::State::Active(active)))
    }
}
