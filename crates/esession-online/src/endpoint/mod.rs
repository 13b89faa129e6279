//! The driver: one ESession with one contact over one thread.
//!
//! [`Endpoint`] dispatches each stanza and command to the state machine of
//! the sub-protocol it is in; each lives in its own module with its own
//! state enum:
//!
//! | module | what |
//! |---|---|
//! | `request` | msg1 and msg2 for every exchange (XEP-0116 §4.3-§4.5) |
//! | `four_message` | msg3 and msg4 of SIGMA-R with a SAS (§4.6-§4.8) |
//! | `three_message` | msg2 and msg3 of SIGMA-I (D46), object encryption |
//! | `plain` | the XEP-0155 plain stanza session fallback (§4.4) |
//! | `session` | the XEP-0200 session: traffic, re-key, termination |
//! | `identity` | checking a peer's identity proof, proving ours, establishing |
//! | `ctx` | what all states share; the failure of a transition |
//! | `output` | what the application is told |

use std::sync::Arc;
use std::time::SystemTime;

use esession_crypto::rand_core::CryptoRng;
use esession_wire::{Negotiation, Stanza, StanzaKind};

mod ctx;
mod four_message;
mod identity;
mod output;
mod plain;
mod request;
mod session;
mod three_message;

#[cfg(feature = "testing")]
pub use ctx::TestPins;
use ctx::TestPins as Pins;
pub use output::{
    Established, Output, PlainSession, Requested, TERMINATE_ACK_TIMEOUT, TerminationReason,
};

use crate::store::TrustedKey;
use crate::store::{SessionStore, StoreOp};
use crate::{Config, Error};
use ctx::{Ctx, Failure, store_failed};

/// The state of an endpoint: which sub-protocol, and its own state.
enum State {
    /// Bob, before msg1.
    Listening,
    /// Bob, msg1 read: the application accepts or rejects.
    Offered(Box<request::Offered>),
    /// Alice, msg1 sent.
    AwaitResponse(Box<request::AwaitResponse>),
    FourMessage(four_message::State),
    ThreeMessage(three_message::State),
    Plain(plain::State),
    Session(session::State),
    Closed,
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::Listening => "listening",
            State::Offered(_) | State::Plain(plain::State::Offered(_)) => "offered",
            State::Plain(plain::State::Established) => "plain stanza session",
            State::AwaitResponse(_) => "awaiting msg2",
            State::FourMessage(four_message::State::AwaitAliceAccept(_))
            | State::ThreeMessage(three_message::State::AwaitAliceAccept(_)) => "awaiting msg3",
            State::FourMessage(four_message::State::AwaitBobAccept(_)) => "awaiting msg4",
            State::Session(session::State::Active(_)) => "active",
            State::Session(session::State::Terminating(_)) => "terminating",
            State::Closed => "closed",
        }
    }
}

/// One ESession with one contact over one thread: the XEP-0116 negotiation
/// (4-message SIGMA-R with SAS, or 3-message SIGMA-I; with or without public
/// keys) followed by the XEP-0200 encrypted session (or, as the fallback, a
/// plain XEP-0155 stanza session). Sans-IO: stanzas, time and randomness in;
/// stanzas and events out.
///
/// # Methods
///
/// - **Construction:** [`Endpoint::initiate`] (Alice: queues msg1) or
///   [`Endpoint::responder`] (Bob: waits for msg1).
/// - **Input:** [`Endpoint::handle_stanza`] for every stanza of this session
///   (same thread, same contact), with the account's [`SessionStore`];
///   [`Endpoint::handle_timeout`] when [`Endpoint::poll_timeout`] has passed.
/// - **Commands:** [`Endpoint::accept`] / [`Endpoint::reject`] (Bob, after
///   [`Output::Requested`] or [`Output::PlainRequested`]),
///   [`Endpoint::confirm_sas`], [`Endpoint::trust_peer_key`] /
///   [`Endpoint::reject_peer_key`] (after [`Output::PeerKey`]),
///   [`Endpoint::send`], [`Endpoint::rekey`], [`Endpoint::terminate`], and
///   for Alice in a 3-message negotiation [`Endpoint::send_with_accept`].
/// - **Output:** drain [`Endpoint::poll_output`] after every input or command.
///
/// # Errors
///
/// Commands return `Err` when they cannot be carried out and leave the state
/// unchanged. `handle_stanza` returns `Err` for stanzas it ignored (another
/// session's, plaintext in an encrypted session), and [`Error::Store`] when
/// the stanza was processed but settling a retained secret failed (the
/// session goes on and the write is tried again with the next stanza). A
/// protocol failure, or a store failure during the negotiation, instead ends
/// the session and is reported as [`Output::Failed`], after the answer
/// DECISIONS D44 requires.
pub struct Endpoint<R> {
    ctx: Ctx<R>,
    state: State,
}

impl<R> std::fmt::Debug for Endpoint<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("peer", &self.ctx.peer)
            .field("thread", &self.ctx.thread)
            .field("state", &self.state.name())
            .finish_non_exhaustive()
    }
}

impl<R: CryptoRng> Endpoint<R> {
    /// Alice: starts a negotiation with `peer` (a full or bare JID) and queues
    /// msg1 (XEP-0116 §4.3, DECISIONS D20): one DH key per offered group, their
    /// hashes He in dhhashes, a fresh nonce and thread (D45).
    ///
    /// `config` may be a `Config` or an `Arc<Config>`: an application with
    /// many sessions per account shares one (it is read-only; a session that
    /// detects Gajim copies it before switching profile).
    pub fn initiate(
        config: impl Into<Arc<Config>>,
        rng: R,
        _now: SystemTime,
        peer: &str,
    ) -> Result<Self, Error> {
        Self::initiator(config.into(), rng, peer, Pins::default())
    }

    /// [`Endpoint::initiate`] with pinned randomness, for tests and vectors
    /// (feature `testing`).
    #[cfg(feature = "testing")]
    pub fn initiate_pinned(
        config: impl Into<Arc<Config>>,
        rng: R,
        peer: &str,
        pins: TestPins,
    ) -> Result<Self, Error> {
        Self::initiator(config.into(), rng, peer, pins)
    }

    fn initiator(config: Arc<Config>, rng: R, peer: &str, pins: Pins) -> Result<Self, Error> {
        config.validate()?;
        let mut ctx = Ctx::new(config, rng, pins);
        ctx.peer = peer.to_owned();
        let waiting = request::initiate(&mut ctx)?;
        Ok(Endpoint {
            ctx,
            state: State::AwaitResponse(Box::new(waiting)),
        })
    }

    /// Bob: an endpoint waiting for a request (msg1). Create one per incoming
    /// request (new thread) and feed it the request. `config` as for
    /// [`Endpoint::initiate`].
    pub fn responder(config: impl Into<Arc<Config>>, rng: R) -> Result<Self, Error> {
        Self::listener(config.into(), rng, Pins::default())
    }

    /// [`Endpoint::responder`] with pinned randomness, for tests and vectors
    /// (feature `testing`).
    #[cfg(feature = "testing")]
    pub fn responder_pinned(
        config: impl Into<Arc<Config>>,
        rng: R,
        pins: TestPins,
    ) -> Result<Self, Error> {
        Self::listener(config.into(), rng, pins)
    }

    fn listener(config: Arc<Config>, rng: R, pins: Pins) -> Result<Self, Error> {
        config.validate()?;
        Ok(Endpoint {
            ctx: Ctx::new(config, rng, pins),
            state: State::Listening,
        })
    }
}

impl<R> Endpoint<R> {
    /// The next output, if any. Drain after every call.
    pub fn poll_output(&mut self) -> Option<Output> {
        let next = self.ctx.out.pop_front();
        if self.ctx.out.is_empty() && self.ctx.out.capacity() > 0 {
            // An idle session holds no queue: its capacity (a few Outputs of
            // 112 bytes) would otherwise stay allocated for the session's life.
            self.ctx.out = Default::default();
        }
        next
    }

    /// When [`Endpoint::handle_timeout`] should be called next, if ever.
    pub fn poll_timeout(&self) -> Option<SystemTime> {
        match &self.state {
            State::Session(s) => s.deadline(),
            _ => None,
        }
    }

    /// The thread of this session (empty for a responder before msg1).
    pub fn thread(&self) -> &str {
        &self.ctx.thread
    }

    /// The full JID stanzas are sent to (empty for a responder before msg1).
    pub fn peer(&self) -> &str {
        &self.ctx.peer
    }

    /// The profile this session runs in (it may switch to `gajim` when a
    /// Gajim peer is detected).
    pub fn profile(&self) -> crate::Profile {
        self.ctx.config.profile
    }

    /// True while encrypted stanzas can be sent.
    pub fn is_established(&self) -> bool {
        matches!(self.state, State::Session(session::State::Active(_)))
    }

    /// True in a plain (unencrypted) stanza session (security c2s/none).
    pub fn is_plain(&self) -> bool {
        matches!(self.state, State::Plain(plain::State::Established))
    }

    /// True once the session is over (terminated or failed).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// True when [`Endpoint::rekey`] is allowed now (D42).
    pub fn may_rekey(&self) -> bool {
        matches!(&self.state, State::Session(session::State::Active(a)) if a.may_rekey())
    }

    /// Our send and receive counters (the counter the next stanza in each
    /// direction enters with), while the session is established or
    /// terminating. For tests and vectors (feature `testing`).
    #[cfg(feature = "testing")]
    pub fn counters(&self) -> Option<(Option<u128>, u128)> {
        match &self.state {
            State::Session(s) => Some((s.keys().send_counter(), s.keys().recv_counter())),
            _ => None,
        }
    }

    /// How many retired MAC keys wait to be published in our next stanza
    /// (XEP-0200 §8; D41).
    pub fn pending_old_mac_keys(&self) -> usize {
        match &self.state {
            State::Session(session::State::Active(a)) => a.keys.pending_old_keys(),
            _ => 0,
        }
    }

    /// Pretends only `blocks_left` blocks may still be sent under the current
    /// key, for tests of the 2^32-block limit (feature `testing`).
    #[cfg(feature = "testing")]
    pub fn exhaust_send_key(&mut self, blocks_left: u64) {
        if let State::Session(session::State::Active(a)) = &mut self.state {
            a.keys_mut().exhaust_send_key(blocks_left);
        }
    }

    /// Ends the session after a failure, with the answer D44 requires.
    fn fail(&mut self, f: Failure) {
        if let Some(rejection) = f.reply {
            let mut s = self.ctx.message();
            s.set_attr("type", "error");
            s.push(rejection.to_element(esession_wire::NS_CLIENT));
            self.ctx.out.push_back(Output::Send(s));
        }
        self.state = State::Closed;
        self.ctx.out.push_back(Output::Failed(*f.error));
    }

    /// D37: the peer proved it accepted msg4 (an authentic stanza): Bob's
    /// pending retained secret replaces the one it was to replace.
    fn settle_pending<S: SessionStore + ?Sized>(&mut self, store: &mut S) -> Result<(), Error> {
        let Some(secret) = self
            .ctx
            .stored_secret
            .as_ref()
            .filter(|_| self.ctx.secret_pending)
        else {
            return Ok(());
        };
        store
            .secret_proven(self.ctx.peer_bare(), secret)
            .map_err(store_failed::<S>(StoreOp::WriteSecret))?;
        self.ctx.secret_pending = false;
        Ok(())
    }

    /// D37: the peer answered msg4 with an error: Bob's pending retained
    /// secret is discarded and the one it was to replace stays.
    fn discard_pending<S: SessionStore + ?Sized>(&mut self, store: &mut S) -> Result<(), Error> {
        let Some(secret) = self
            .ctx
            .stored_secret
            .take()
            .filter(|_| self.ctx.secret_pending)
        else {
            return Ok(());
        };
        self.ctx.secret_pending = false;
        store
            .discard_secret(self.ctx.peer_bare(), &secret)
            .map_err(store_failed::<S>(StoreOp::WriteSecret))
    }
}

impl<R: CryptoRng> Endpoint<R> {
    /// Processes a stanza of this session, reading and writing the account's
    /// retained secrets and trusted keys in `store`. See the type's
    /// documentation for what `Err` means.
    pub fn handle_stanza<S: SessionStore + ?Sized>(
        &mut self,
        now: SystemTime,
        stanza: Stanza,
        store: &mut S,
    ) -> Result<(), Error> {
        if !matches!(self.state, State::Listening) {
            if stanza.thread().as_deref() != Some(self.ctx.thread.as_str()) {
                return Err(Error::WrongSession);
            }
            if stanza
                .from()
                .is_some_and(|f| esession_wire::bare(f) != self.ctx.peer_bare())
            {
                return Err(Error::WrongSession);
            }
        }
        match &self.state {
            State::Closed => return Err(Error::InvalidState("the session is closed")),
            State::Offered(_) | State::Plain(plain::State::Offered(_)) => {
                return Err(Error::InvalidState(
                    "waiting for the application to accept or reject",
                ));
            }
            _ => {}
        }
        if let Some(rejection) = stanza.rejection().ok().flatten() {
            if matches!(self.state, State::Listening) {
                return Err(Error::WrongSession);
            }
            // D44: receiving any error discards all negotiation state; an
            // error answering msg4 also discards Bob's pending secret (D37).
            let discarded = self.discard_pending(store);
            self.fail(Failure::silent(Error::Rejected {
                condition: rejection.condition.as_str().to_owned(),
                fields: rejection.fields,
            }));
            return discarded;
        }
        if let State::Session(s) = &self.state {
            let terminate = matches!(
                stanza.negotiation(),
                Ok(Some(r)) if r.message == Negotiation::Terminate
            );
            if terminate
                && self.ctx.rules().plaintext_termination
                && matches!(s, session::State::Active(_))
            {
                // G8 (D43 gajim row): a plaintext terminate, never
                // acknowledged; every key is dropped.
                self.state = State::Closed;
                self.ctx
                    .out
                    .push_back(Output::Terminated(TerminationReason::ByPeer));
                return Ok(());
            }
            if !stanza.has_encrypted() {
                // D43: plaintext (plaintext terminates included) is ignored.
                return Err(Error::UnexpectedPlaintext);
            }
        }
        let state = std::mem::replace(&mut self.state, State::Closed);
        let in_session = matches!(state, State::Session(_));
        let ctx = &mut self.ctx;
        let next = match state {
            State::Listening => request::on_request(ctx, &stanza),
            State::AwaitResponse(s) => s.on_response(ctx, now, &stanza, store),
            State::FourMessage(s) => s.handle(ctx, now, &stanza, store),
            State::ThreeMessage(s) => s.handle(ctx, &stanza, store),
            State::Plain(_) => Ok(plain::receive(ctx, stanza)),
            State::Session(s) => s.handle(ctx, stanza),
            State::Offered(_) | State::Closed => Err(Failure::silent(Error::Internal("state"))),
        };
        match next {
            Ok(s) => self.state = s,
            Err(f) => {
                self.fail(f);
                return Ok(());
            }
        }
        if in_session {
            // The stanza verified: the peer holds the session's keys.
            return self.settle_pending(store);
        }
        Ok(())
    }

    /// Call when [`Endpoint::poll_timeout`] has passed: after a terminate, the
    /// receive keys are dropped once [`TERMINATE_ACK_TIMEOUT`] expires (D43).
    pub fn handle_timeout(&mut self, now: SystemTime) {
        if let State::Session(s) = &self.state
            && s.deadline().is_some_and(|d| now >= d)
        {
            self.state = State::Closed;
            self.ctx
                .out
                .push_back(Output::Terminated(TerminationReason::AckTimedOut));
        }
    }

    /// Bob: accepts the request and queues msg2 (XEP-0116 §4.5; DECISIONS
    /// D21), or the plain stanza session after [`Output::PlainRequested`].
    pub fn accept(&mut self, _now: SystemTime) -> Result<(), Error> {
        let next = match std::mem::replace(&mut self.state, State::Closed) {
            State::Offered(offered) => offered.accept(&mut self.ctx),
            State::Plain(plain::State::Offered(choice)) => plain::accept(&mut self.ctx, &choice),
            other => {
                self.state = other;
                return Err(Error::InvalidState("no request to accept"));
            }
        };
        match next {
            Ok(s) => {
                self.state = s;
                Ok(())
            }
            Err(f) => {
                let e = (*f.error).clone();
                self.fail(f);
                Err(e)
            }
        }
    }

    /// Bob: declines the request with an accept=`0` form (D44).
    pub fn reject(&mut self, _now: SystemTime) -> Result<(), Error> {
        let (State::Offered(_) | State::Plain(plain::State::Offered(_))) = self.state else {
            return Err(Error::InvalidState("no request to reject"));
        };
        let wire = Negotiation::Decline.to_wire().map_err(Error::Encode)?;
        self.ctx.send_form(&wire);
        self.state = State::Closed;
        Ok(())
    }

    /// Alice, 3-message only, before msg2 arrives: encrypt `stanza`'s content
    /// into msg3 itself (XEP-0116 §4.6.4). With `terminate`, msg3 also
    /// carries the terminate field (covered by macA, D46) and the session
    /// ends at once: one stanza carrying the accept, the encrypted content
    /// and the termination ("object encryption" with forward secrecy).
    pub fn send_with_accept(&mut self, stanza: Stanza, terminate: bool) -> Result<(), Error> {
        if !matches!(self.state, State::AwaitResponse(_)) || !self.ctx.config.three_message {
            return Err(Error::InvalidState(
                "content rides on msg3 only in a 3-message negotiation before msg2",
            ));
        }
        if stanza.kind() != StanzaKind::Message {
            return Err(Error::StanzaKindNotNegotiated(stanza.kind().as_str()));
        }
        self.ctx.object = Some((stanza, terminate));
        Ok(())
    }

    /// The application trusts the peer's verified key (after
    /// [`Output::PeerKey`]): it is stored for the peer's bare JID under `petname`.
    pub fn trust_peer_key<S: SessionStore + ?Sized>(
        &mut self,
        petname: &str,
        store: &mut S,
    ) -> Result<(), Error> {
        let key = self
            .ctx
            .peer_key
            .clone()
            .ok_or(Error::InvalidState("the peer presented no public key"))?;
        let key = TrustedKey {
            key,
            petname: petname.to_owned(),
        };
        store
            .trust_key(self.ctx.peer_bare(), key)
            .map_err(store_failed::<S>(StoreOp::WriteKey))
    }

    /// The application refuses the peer's key (after [`Output::PeerKey`]):
    /// the session is terminated (XEP-0116 §8.5).
    pub fn reject_peer_key(&mut self, now: SystemTime) -> Result<(), Error> {
        if self.ctx.peer_key.is_none() && !self.ctx.key_missing {
            return Err(Error::InvalidState("the peer presented no public key"));
        }
        match self.state {
            State::Session(session::State::Active(_)) => self.terminate(now),
            State::Session(session::State::Terminating(_)) | State::Closed => Ok(()),
            _ => {
                self.state = State::Closed;
                self.ctx.out.push_back(Output::Failed(Error::KeyRejected));
                Ok(())
            }
        }
    }

    /// Records that the user confirmed the SAS. The retained secret of this
    /// session (stored now or later) is marked as verified in `store`.
    pub fn confirm_sas<S: SessionStore + ?Sized>(&mut self, store: &mut S) -> Result<(), Error> {
        if matches!(
            self.state,
            State::Listening | State::Offered(_) | State::AwaitResponse(_)
        ) {
            return Err(Error::InvalidState("no SAS yet"));
        }
        self.ctx.sas_confirmed = true;
        if let Some(s) = &self.ctx.stored_secret {
            store
                .mark_verified(self.ctx.peer_bare(), s)
                .map_err(store_failed::<S>(StoreOp::WriteSecret))?;
        }
        Ok(())
    }

    /// Encrypts `stanza` (its content except thread, error and amp; XEP-0200 §6,
    /// DECISIONS D38) and queues it. The thread is set to the session's, and
    /// `to` to the peer if absent.
    pub fn send(&mut self, now: SystemTime, stanza: Stanza) -> Result<(), Error> {
        match &mut self.state {
            State::Plain(plain::State::Established) => {
                plain::send(&mut self.ctx, stanza);
                Ok(())
            }
            State::Session(session::State::Active(active)) => {
                match active.send(&mut self.ctx, stanza) {
                    Err(Error::KeyExhausted) => {
                        // D42: the 2^32-block limit came first: terminate.
                        self.terminate(now)?;
                        Err(Error::KeyExhausted)
                    }
                    other => other,
                }
            }
            _ => Err(Error::InvalidState("the session is not established")),
        }
    }

    /// Starts a re-key (XEP-0200 §7; DECISIONS D41, D42): queues a message
    /// carrying `<key/>` (a fresh e, sealed under the current keys) and
    /// switches our send keys. Allowed once rekey_freq stanzas were sent and
    /// received since the last key exchange, never in the gajim profile (G9).
    ///
    /// The `<key/>` travels in a stanza of its own; [`Endpoint::send_with_rekey`]
    /// sends it together with content instead, as XEP-0200 §7.2 recommends.
    pub fn rekey(&mut self, _now: SystemTime) -> Result<(), Error> {
        self.rekey_with(true, None)
    }

    /// Starts a re-key carried by a content stanza (XEP-0200 §7.2: the
    /// `<key/>` "SHOULD be sent together with encrypted content"): `stanza` is
    /// encrypted and MACed under the current keys, like [`Endpoint::send`],
    /// with `<key/>` beside its `<data/>`, and our send keys switch after it.
    /// The same conditions as [`Endpoint::rekey`] apply; on any error nothing
    /// is queued and the keys are unchanged.
    pub fn send_with_rekey(&mut self, _now: SystemTime, stanza: Stanza) -> Result<(), Error> {
        self.rekey_with(true, Some(stanza))
    }

    /// [`Endpoint::rekey`] without the rekey_freq check: a misbehaving peer,
    /// for tests (feature `testing`).
    #[cfg(feature = "testing")]
    pub fn rekey_ignoring_rekey_freq(&mut self, _now: SystemTime) -> Result<(), Error> {
        self.rekey_with(false, None)
    }

    fn rekey_with(&mut self, check: bool, content: Option<Stanza>) -> Result<(), Error> {
        let State::Session(session::State::Active(active)) = &mut self.state else {
            return Err(Error::InvalidState("the session is not established"));
        };
        active.rekey(&mut self.ctx, check, content)
    }

    /// Terminates the session (XEP-0116 §5; DECISIONS D43): queues the
    /// encrypted terminate form, destroys the send keys at once and keeps the
    /// receive keys until the acknowledgement or [`TERMINATE_ACK_TIMEOUT`].
    /// A plain stanza session, and the gajim profile (G8), terminate in the
    /// clear without acknowledgement.
    pub fn terminate(&mut self, now: SystemTime) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Plain(plain::State::Established) => match plain::terminate(&mut self.ctx) {
                Ok(()) => Ok(()),
                Err(e) => {
                    self.state = State::Plain(plain::State::Established);
                    Err(e)
                }
            },
            State::Session(session::State::Active(active)) => {
                match active.terminate(&mut self.ctx, now) {
                    Ok(s) => {
                        self.state = s;
                        Ok(())
                    }
                    Err((active, e)) => {
                        self.state = State::Session(session::State::Active(active));
                        Err(e)
                    }
                }
            }
            other => {
                self.state = other;
                Err(Error::InvalidState("the session is not established"))
            }
        }
    }
}
