//! The established session (XEP-0200): encrypted traffic, re-keying and
//! termination (XEP-0116 §5; DECISIONS D38-D43).
//!
//! ```text
//! Active ──send/rekey──▶ Active            (our <c/>, <key/> with a fresh e)
//! Active ──<c/> in────▶ Active             (Received, or a re-key / old MAC keys)
//! Active ──terminate──▶ Terminating        (send keys dropped; receive keys until
//!                                           the acknowledgement or TERMINATE_ACK_TIMEOUT)
//! Active ──terminate in─▶ Closed           (acknowledged, every key dropped)
//! ```
//!
//! In the gajim profile termination is a plaintext form and nothing is
//! acknowledged (G8); see [`crate::profile`].

use std::time::SystemTime;

use esession_crypto::dh::DhPrivateKey;
use esession_crypto::rand_core::CryptoRng;
use esession_wire::{Negotiation, Stanza, StanzaKind};

use super::ctx::{Ctx, Failure, N_BITS};
use super::{Output, TERMINATE_ACK_TIMEOUT, TerminationReason};
use crate::rekey::{SessionKeys as TrafficState, TERMINATE_RESERVE_BLOCKS};
use crate::{Error, PeerMisbehaved};

/// The states of an established session.
pub(super) enum State {
    /// Encrypted stanzas flow both ways.
    Active(Box<Active>),
    /// We sent the terminate: the send keys are gone (D43).
    Terminating(Box<Terminating>),
}

/// The XEP-0200 session.
pub(super) struct Active {
    pub(super) keys: TrafficState,
    /// The stanza kinds that are encrypted (negotiated `stanzas`).
    pub(super) stanzas: Vec<String>,
}

/// We sent the terminate: the send keys are gone (D43).
pub(super) struct Terminating {
    keys: TrafficState,
    pub(super) deadline: SystemTime,
}

/// What a verified, decrypted stanza turned out to be.
pub(super) enum Decrypted {
    /// A verified stanza with nothing for the application (a bare re-key).
    Nothing,
    Terminate,
    TerminateAck,
    Content(Stanza),
}

/// Verifies and decrypts `stanza` (XEP-0200 §6; D40): the MAC first, then
/// the stanza kind (outside the MAC, so that forgeries are reported as MAC
/// failures first), then what the content is.
pub(super) fn open(
    keys: &mut TrafficState,
    stanzas: Option<&[String]>,
    mut stanza: Stanza,
) -> Result<Decrypted, Failure> {
    let failure = |e: Error| Failure::not_acceptable(e, None);
    let opened = keys.open(&mut stanza).map_err(failure)?;
    let has_content = stanza.children().any(|c| !stanza.stays_clear(c));
    if opened.rekeyed && !has_content {
        // A re-key stanza without content (XEP-0200 §7.2).
        return Ok(Decrypted::Nothing);
    }
    if let Some(kinds) = stanzas {
        let kind = stanza.kind();
        if !kinds.iter().any(|k| k == kind.as_str()) {
            return Err(failure(PeerMisbehaved::StanzaKindNotNegotiated.into()));
        }
    }
    if stanza.kind() == StanzaKind::Message {
        match stanza.negotiation() {
            Ok(Some(r)) => match r.message {
                Negotiation::Terminate => return Ok(Decrypted::Terminate),
                Negotiation::TerminateAck => return Ok(Decrypted::TerminateAck),
                _ => {
                    return Err(failure(
                        PeerMisbehaved::UnexpectedMessage("negotiation form inside an ESession")
                            .into(),
                    ));
                }
            },
            Ok(None) => {}
            Err(_) => return Err(failure(PeerMisbehaved::BadContent.into())),
        }
    }
    Ok(Decrypted::Content(stanza))
}

/// An encrypted message carrying a negotiation form (terminate, D43).
fn seal_form<R>(
    ctx: &Ctx<R>,
    keys: &mut TrafficState,
    form: &Negotiation,
) -> Result<Stanza, Error> {
    let wire = form.to_wire().map_err(Error::Encode)?;
    let mut s = ctx.message();
    s.push_negotiation(&wire);
    keys.seal(&mut s, 0)?;
    Ok(s)
}

impl State {
    /// An XEP-0200 stanza from the peer.
    pub(super) fn handle<R>(
        self,
        ctx: &mut Ctx<R>,
        stanza: Stanza,
    ) -> Result<super::State, Failure> {
        match self {
            State::Active(a) => a.on_encrypted(ctx, stanza),
            State::Terminating(t) => t.on_encrypted(ctx, stanza),
        }
    }

    /// When `handle_timeout` should be called, if ever.
    pub(super) fn deadline(&self) -> Option<SystemTime> {
        match self {
            State::Terminating(t) => Some(t.deadline),
            State::Active(_) => None,
        }
    }

    /// The traffic keys, while the session lasts.
    #[cfg(feature = "testing")]
    pub(super) fn keys(&self) -> &TrafficState {
        match self {
            State::Active(a) => &a.keys,
            State::Terminating(t) => &t.keys,
        }
    }
}

impl Active {
    /// An XEP-0200 stanza from the peer (XEP-0200 §6; DECISIONS D40, D43).
    fn on_encrypted<R>(
        mut self: Box<Self>,
        ctx: &mut Ctx<R>,
        stanza: Stanza,
    ) -> Result<super::State, Failure> {
        match open(&mut self.keys, Some(&self.stanzas), stanza)? {
            Decrypted::Nothing => {}
            Decrypted::Content(s) => ctx.out.push_back(Output::Received(s)),
            Decrypted::Terminate => {
                // D43: acknowledge, encrypted, then drop every key.
                let ack = seal_form(ctx, &mut self.keys, &Negotiation::TerminateAck)?;
                ctx.out.push_back(Output::Send(ack));
                ctx.out
                    .push_back(Output::Terminated(TerminationReason::ByPeer));
                return Ok(super::State::Closed);
            }
            Decrypted::TerminateAck => {
                return Err(Failure::not_acceptable(
                    PeerMisbehaved::UnexpectedMessage("acknowledgement without a terminate"),
                    None,
                ));
            }
        }
        Ok(super::State::Session(State::Active(self)))
    }

    /// Checks that `stanza`'s kind was negotiated and addresses it to the
    /// session (thread; `to` when absent), before it is sealed.
    fn address<R>(&self, ctx: &Ctx<R>, stanza: &mut Stanza) -> Result<(), Error> {
        let kind = stanza.kind().as_str();
        if !self.stanzas.iter().any(|s| s == kind) {
            return Err(Error::StanzaKindNotNegotiated(kind));
        }
        if stanza.to().is_none() {
            stanza.set_attr("to", &ctx.peer);
        }
        stanza.set_thread(&ctx.thread);
        Ok(())
    }

    /// Encrypts `stanza` (its content except thread, error and amp; XEP-0200
    /// §6, D38). `Err(KeyExhausted)` means the 2^32-block limit came first
    /// (D42): the caller terminates.
    pub(super) fn send<R>(&mut self, ctx: &mut Ctx<R>, mut stanza: Stanza) -> Result<(), Error> {
        self.address(ctx, &mut stanza)?;
        self.keys.seal(&mut stanza, TERMINATE_RESERVE_BLOCKS)?;
        if let Some(body) = ctx.rules().fallback_body {
            // G17 (D38 gajim row): a plaintext fallback body.
            stanza.push_body(body);
        }
        ctx.out.push_back(Output::Send(stanza));
        Ok(())
    }

    /// Starts a re-key (XEP-0200 §7; D41, D42), alone or with `content`.
    /// `check` enforces rekey_freq; only tests turn it off.
    pub(super) fn rekey<R: CryptoRng>(
        &mut self,
        ctx: &mut Ctx<R>,
        check: bool,
        content: Option<Stanza>,
    ) -> Result<(), Error> {
        if check && !self.may_rekey() {
            return Err(Error::InvalidState(
                "re-keying is not allowed yet (rekey_freq, profile)",
            ));
        }
        let (mut stanza, reserve) = match content {
            Some(mut stanza) => {
                self.address(ctx, &mut stanza)?;
                (stanza, TERMINATE_RESERVE_BLOCKS)
            }
            None => (ctx.message(), 0),
        };
        let group = self.keys.group()?;
        let x = if ctx.pins.rekey_x.is_empty() {
            DhPrivateKey::generate(group, ctx.config.exponent_policy, N_BITS, &mut ctx.rng)?
        } else {
            DhPrivateKey::from_bytes(group, &ctx.pins.rekey_x.remove(0))?
        };
        self.keys.rekey(&mut stanza, x, check, reserve)?;
        ctx.out.push_back(Output::Send(stanza));
        Ok(())
    }

    /// True when a re-key is allowed now (D42, G9).
    pub(super) fn may_rekey(&self) -> bool {
        self.keys.may_rekey()
    }

    /// Terminates (XEP-0116 §5; D43): the encrypted terminate form is
    /// queued and the send keys are dropped at once; in the gajim profile a
    /// plaintext terminate ends everything (G8). On error nothing changed and
    /// the session is returned.
    pub(super) fn terminate<R>(
        mut self: Box<Self>,
        ctx: &mut Ctx<R>,
        now: SystemTime,
    ) -> Result<super::State, (Box<Self>, Error)> {
        if ctx.rules().plaintext_termination {
            let wire = match Negotiation::Terminate.to_wire() {
                Ok(w) => w,
                Err(e) => return Err((self, Error::Encode(e))),
            };
            ctx.send_form(&wire);
            ctx.out
                .push_back(Output::Terminated(TerminationReason::Unacknowledged));
            return Ok(super::State::Closed); // every key drops here
        }
        let stanza = match seal_form(ctx, &mut self.keys, &Negotiation::Terminate) {
            Ok(s) => s,
            Err(e) => return Err((self, e)),
        };
        ctx.out.push_back(Output::Send(stanza));
        let Active { mut keys, .. } = *self;
        keys.drop_send_keys(); // the send keys drop (and zeroize) here
        Ok(super::State::Session(State::Terminating(Box::new(
            Terminating {
                keys,
                deadline: now + TERMINATE_ACK_TIMEOUT,
            },
        ))))
    }

    /// The test hook of the 2^32-block limit.
    #[cfg(feature = "testing")]
    pub(super) fn keys_mut(&mut self) -> &mut TrafficState {
        &mut self.keys
    }
}

impl Terminating {
    /// Stanzas after our terminate: the acknowledgement, or late content.
    fn on_encrypted<R>(
        mut self: Box<Self>,
        ctx: &mut Ctx<R>,
        stanza: Stanza,
    ) -> Result<super::State, Failure> {
        match open(&mut self.keys, None, stanza).map_err(|f| Failure::silent(*f.error))? {
            Decrypted::Nothing => {}
            Decrypted::Content(s) => ctx.out.push_back(Output::Received(s)),
            Decrypted::TerminateAck => {
                ctx.out
                    .push_back(Output::Terminated(TerminationReason::Acknowledged));
                return Ok(super::State::Closed);
            }
            Decrypted::Terminate => {
                // Both terminated at once: our send keys are gone, so no
                // acknowledgement can be sent; the session is over either way.
                ctx.out
                    .push_back(Output::Terminated(TerminationReason::ByPeer));
                return Ok(super::State::Closed);
            }
        }
        Ok(super::State::Session(State::Terminating(self)))
    }
}
