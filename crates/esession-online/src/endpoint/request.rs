//! msg1 and its answer, shared by every exchange: Alice's request
//! (XEP-0116 §4.3, D20), Bob's reading and choice (§4.4, D5, D44) and his
//! msg2 (§4.5, D21), and Alice's reading of msg2 (§4.6.1, D26), which decides
//! the exchange that follows.
//!
//! ```text
//! Alice: initiate ─ msg1 ─▶ AwaitResponse ─ msg2 ─┬▶ four_message (dhhashes sent)
//!                                                 ├▶ three_message (dhkeys sent)
//!                                                 ├▶ plain (Bob accepted security c2s/none)
//!                                                 └▶ Closed (Bob declined)
//! Bob:   msg1 ─▶ Offered ─ accept ─▶ msg2 ─┬▶ four_message::AwaitAliceAccept
//!                                          └▶ three_message::AwaitAliceAccept
//!        msg1 ─▶ plain::Offered (no ESession, but a plain session is allowed)
//! ```

use std::time::SystemTime;

use esession_crypto::dh::DhPrivateKey;
use esession_crypto::hash::HashAlg;
use esession_crypto::rand_core::CryptoRng;
use esession_crypto::sign::SignAlg;
use esession_sigma::counters::Counters;
use esession_sigma::keys;
use esession_wire::{Condition, DhValues, Negotiation, Offer, Request, Stanza};

use super::ctx::{Ctx, Failure, encode};
use super::{Output, PlainSession, Requested, State, TerminationReason};
use super::{four_message, plain, three_message};
use crate::negotiated::{self, Choice, Exchange};
use crate::pubkey::PubkeyMode;
use crate::store::SessionStore;
use crate::{Error, PeerMisbehaved, profile};

/// Alice after msg1.
pub(super) struct AwaitResponse {
    /// What she offered, as her checks of msg2 read it.
    offer: Offer,
    form_a: Vec<u8>,
    /// formA normalized as a Gajim responder does (D18), kept when a Gajim
    /// peer may be detected from msg2.
    form_a_gajim: Option<Vec<u8>>,
    /// One exponent per offered group, in offer order.
    x: Vec<DhPrivateKey>,
}

/// Bob after msg1, before the application decided.
pub(super) struct Offered {
    offer: Offer,
    request_vars: Vec<String>,
    form_a: Vec<u8>,
    choice: Choice,
}

/// Alice's msg2 once it passed the checks both exchanges share.
pub(super) struct CheckedResponse {
    pub(super) negotiated: crate::Negotiated,
    /// N_A.
    pub(super) n_a: Vec<u8>,
    pub(super) form_a: Vec<u8>,
    pub(super) form_b: Vec<u8>,
    /// Our exponent in the chosen group.
    pub(super) x: DhPrivateKey,
    /// msg2 as read.
    pub(super) response: esession_wire::Response,
    /// K = HASH(mpi(d^x mod p)) (D8).
    pub(super) k: esession_crypto::SecretBytes,
}

/// A random thread id (D45).
fn thread<R: CryptoRng>(ctx: &mut Ctx<R>) -> String {
    if let Some(t) = ctx.pins.thread.take() {
        return t;
    }
    let mut t = [0u8; 16];
    ctx.rng.fill_bytes(&mut t);
    hex::encode(t)
}

/// Alice queues msg1 (XEP-0116 §4.3, D20): one DH key per offered group,
/// their hashes He (or, 3-message, the keys themselves), a fresh nonce and
/// thread (D45).
pub(super) fn initiate<R: CryptoRng>(ctx: &mut Ctx<R>) -> Result<AwaitResponse, Error> {
    ctx.thread = thread(ctx);
    let config = ctx.config.clone();
    let x = config
        .modp
        .iter()
        .map(|g| ctx.dh_key(*g))
        .collect::<Result<Vec<_>, _>>()?;
    let own_alg = config.identity_key.as_ref().map(|k| k.alg());
    if config.init_pubkey.iter().any(|m| *m != PubkeyMode::None)
        && !own_alg.is_some_and(|a| config.sign_algs.contains(&a))
    {
        return Err(Error::Config(
            "init_pubkey key/hash needs an identity_key of a listed sign_alg",
        ));
    }
    let (exchange, dh) = if config.three_message {
        let e = x.iter().map(|k| k.public_key().to_vec()).collect();
        (Exchange::ThreeMessage, DhValues::Keys(e))
    } else {
        let he = x
            .iter()
            .map(|k| HashAlg::Sha256.digest(k.public_key()).as_bytes().to_vec())
            .collect();
        (Exchange::FourMessage, DhValues::Hashes(he))
    };
    let mut offer = negotiated::offer(&config, exchange, ctx.nonce(), dh);
    let rules = ctx.rules();
    if rules.offer_rsa_sign_alg {
        // Offered so that a Gajim responder's answer was offered (D26).
        offer.sign_algs = vec![SignAlg::RsaSha256.uri().to_owned()];
    }
    let mut sent = offer.clone();
    if let Some((init, resp)) = rules.announced_pubkey_modes {
        // formA covers these; `offer`, against which msg2 is checked, keeps
        // the configured modes, so a responder choosing others is refused.
        sent.init_pubkey = init.iter().map(|m| (*m).to_owned()).collect();
        sent.resp_pubkey = resp.iter().map(|m| (*m).to_owned()).collect();
    }
    let wire = ctx
        .wire(&Negotiation::Request(Request { offer: sent }))
        .map_err(|f| *f.error)?;
    // D16: formA is our own serialization parsed back.
    let form_a = ctx.form_bytes(&wire).map_err(Error::Encode)?;
    let form_a_gajim = if config.detect_gajim && !rules.gajim_layout {
        Some(
            wire.form_bytes(esession_wire::NormProfile::Gajim)
                .map_err(Error::Encode)?,
        )
    } else {
        None
    };
    ctx.send_form(&wire);
    Ok(AwaitResponse {
        offer,
        form_a,
        form_a_gajim,
        x,
    })
}

/// Bob receives msg1 (XEP-0116 §4.4; DECISIONS D5, D7, D20, D44).
pub(super) fn on_request<R>(ctx: &mut Ctx<R>, stanza: &Stanza) -> Result<State, Failure> {
    ctx.peer = stanza.from().unwrap_or_default().to_owned();
    ctx.thread = stanza.thread().unwrap_or_default();
    if ctx.peer.is_empty() || ctx.thread.is_empty() {
        return Err(Failure::silent(PeerMisbehaved::UnexpectedMessage(
            "a request without from or thread",
        )));
    }
    let received = match stanza.negotiation() {
        Ok(Some(r)) => r,
        Ok(None) => {
            return Err(Failure::silent(PeerMisbehaved::UnexpectedMessage(
                "not an ESession request",
            )));
        }
        Err(esession_wire::Error::UnknownFormType(_)) => {
            return Err(Failure::answer(
                PeerMisbehaved::UnknownFormType,
                Condition::ServiceUnavailable,
                &[],
            ));
        }
        Err(e) => {
            return Err(Failure::not_acceptable(
                PeerMisbehaved::malformed(&e),
                e.field(),
            ));
        }
    };
    let Negotiation::Request(request) = received.message else {
        return Err(Failure::silent(PeerMisbehaved::UnexpectedMessage(
            "expected a request",
        )));
    };
    let exchange = match request.offer.dh {
        DhValues::Keys(_) if !ctx.config.three_message => {
            return Err(Failure::answer(
                PeerMisbehaved::ThreeMessageRequested,
                Condition::FeatureNotImplemented,
                &["dhkeys"],
            ));
        }
        DhValues::Keys(_) => Exchange::ThreeMessage,
        DhValues::Hashes(_) => Exchange::FourMessage,
    };
    if ctx.config.detect_gajim && profile::is_gajim_request(ctx.rules(), &received.form) {
        // D18: a Gajim initiator; the whole session follows its profile
        // (on its own copy of the account's configuration).
        profile::switch_to_gajim(std::sync::Arc::make_mut(&mut ctx.config));
    }
    let form_a = ctx
        .form_bytes(&received.form)
        .map_err(|e| Failure::not_acceptable(PeerMisbehaved::malformed(&e), e.field()))?;
    let request_vars = received.form.vars().map_err(encode)?;
    let signer = ctx.config.identity_key.as_ref().map(|k| k.alg());
    let choice = match negotiated::choose(&ctx.config, &request.offer, exchange, signer) {
        Ok(c) => c,
        Err(fields) => {
            if let Some(plain) = negotiated::choose_plain(&ctx.config, &request.offer) {
                ctx.out.push_back(Output::PlainRequested(PlainSession {
                    peer: ctx.peer.clone(),
                    thread: ctx.thread.clone(),
                    security: plain.security.clone(),
                    logging: plain.logging.clone(),
                }));
                return Ok(State::Plain(plain::State::Offered(Box::new(plain))));
            }
            let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
            return Err(Failure::answer(
                Error::NoAcceptableOption(fields.clone()),
                Condition::NotAcceptable,
                &refs,
            ));
        }
    };
    ctx.out.push_back(Output::Requested(Requested {
        peer: ctx.peer.clone(),
        thread: ctx.thread.clone(),
        negotiated: choice.negotiated.clone(),
    }));
    Ok(State::Offered(Box::new(Offered {
        offer: request.offer,
        request_vars,
        form_a,
        choice,
    })))
}

impl Offered {
    /// Bob sends msg2 (XEP-0116 §4.5.1-§4.5.2; DECISIONS D12, D21).
    pub(super) fn accept<R: CryptoRng>(self, ctx: &mut Ctx<R>) -> Result<State, Failure> {
        let Offered {
            offer,
            request_vars,
            form_a,
            choice,
        } = self;
        let n = choice.negotiated.clone();
        let y = ctx.dh_key(n.modp)?;
        let n_b = ctx.nonce();
        let counters = match ctx.pins.c_a.take() {
            Some(c) => Counters::from_c_a(c),
            None => Counters::random(ctx.config.profile, &mut ctx.rng),
        };
        let mut response = negotiated::response(
            &choice,
            n_b.clone(),
            y.public_key().to_vec(),
            offer.my_nonce.clone(),
            counters.c_a,
        );
        // D21: one field per msg1 field, in msg1 order.
        response.order = response.order_after(&request_vars);
        let rsa_sha256 = SignAlg::RsaSha256.uri();
        if ctx.rules().answer_rsa_sign_alg
            && response.sign_alg.is_none()
            && offer.sign_algs.iter().any(|a| a == rsa_sha256)
        {
            // Gajim-Bob answers sign_algs rsa-sha256 whenever it is offered,
            // even with pubkeys none (it signs nothing, G10); formB covers it.
            response.sign_alg = Some(rsa_sha256.to_owned());
        }
        let peer_dh = |i: usize, list: &[Vec<u8>]| {
            list.get(i)
                .cloned()
                .ok_or(Error::Internal("no DH value for the chosen group"))
        };
        match &offer.dh {
            // D46: the 3-message request carries e itself.
            DhValues::Keys(keys) => {
                let e = peer_dh(choice.modp_index, keys)?;
                three_message::bob_response(
                    ctx,
                    three_message::BobInput {
                        negotiated: n,
                        n_a: offer.my_nonce,
                        n_b,
                        form_a,
                        response,
                        y,
                        e,
                        counters,
                    },
                )
            }
            DhValues::Hashes(hashes) => {
                let he = peer_dh(choice.modp_index, hashes)?;
                let wire = ctx.wire(&Negotiation::Response(response))?;
                // D16: formB is our own serialization parsed back.
                let form_b = ctx.form_bytes(&wire).map_err(encode)?;
                ctx.send_form(&wire);
                Ok(four_message::bob_sent_response(
                    n,
                    he,
                    y,
                    offer.my_nonce,
                    n_b,
                    form_a,
                    form_b,
                    counters,
                ))
            }
        }
    }
}

impl AwaitResponse {
    /// Alice receives msg2 (XEP-0116 §4.6.1; DECISIONS D26, D44, D45) and
    /// continues in the exchange she started.
    pub(super) fn on_response<R: CryptoRng, S: SessionStore + ?Sized>(
        self,
        ctx: &mut Ctx<R>,
        now: SystemTime,
        stanza: &Stanza,
        store: &mut S,
    ) -> Result<State, Failure> {
        let received = match stanza.negotiation() {
            Ok(Some(r)) => r,
            Ok(None) => {
                return Err(Failure::silent(PeerMisbehaved::UnexpectedMessage(
                    "expected msg2",
                )));
            }
            Err(e) => {
                return Err(Failure::not_acceptable(
                    PeerMisbehaved::malformed(&e),
                    e.field(),
                ));
            }
        };
        let mut response = match received.message {
            Negotiation::Response(r) => r,
            Negotiation::PlainAccept(accept) => {
                // XEP-0116 §4.4: Bob accepted a plain stanza session instead,
                // with a security value Alice must have offered (D44).
                if !self.offer.security.contains(&accept.security) {
                    return Err(Failure::not_acceptable(
                        PeerMisbehaved::ChoiceNotOffered("security".to_owned()),
                        Some("security"),
                    ));
                }
                if let Some(from) = stanza.from() {
                    ctx.peer = from.to_owned();
                }
                let event = plain::established(ctx, &accept);
                ctx.out.push_back(event);
                return Ok(State::Plain(plain::State::Established));
            }
            Negotiation::Decline => {
                ctx.out
                    .push_back(Output::Terminated(TerminationReason::Declined));
                return Ok(State::Closed);
            }
            _ => {
                return Err(Failure::silent(PeerMisbehaved::UnexpectedMessage(
                    "expected msg2",
                )));
            }
        };
        let AwaitResponse {
            offer,
            mut form_a,
            form_a_gajim,
            x,
        } = self;
        if let Some(gajim_form_a) = form_a_gajim
            && profile::is_gajim_response(ctx.rules(), &received.form)
        {
            // G16: a Gajim responder; the rest of the session follows its
            // profile (on this session's own copy of the configuration), and
            // its macA covers formA as it normalizes it (D18).
            profile::switch_to_gajim(std::sync::Arc::make_mut(&mut ctx.config));
            form_a = gajim_form_a;
        }
        let rsa_sha256 = SignAlg::RsaSha256.uri();
        if ctx.rules().answer_rsa_sign_alg
            && response.sign_alg.as_deref() == Some(rsa_sha256)
            && !offer.sign_algs.iter().any(|a| a == rsa_sha256)
            && [&response.init_pubkey, &response.resp_pubkey]
                .iter()
                .all(|m| m.as_deref().is_none_or(|m| m == PubkeyMode::None.name()))
        {
            // A Gajim responder names rsa-sha256 even where no key signs
            // anything (G10); formB keeps the field, the check ignores it.
            response.sign_alg = None;
        }
        let exchange = match offer.dh {
            DhValues::Keys(_) => Exchange::ThreeMessage,
            DhValues::Hashes(_) => Exchange::FourMessage,
        };
        let n = negotiated::check_response(&ctx.config, &offer, &response, exchange).map_err(
            |field| {
                Failure::not_acceptable(
                    PeerMisbehaved::ChoiceNotOffered(field.clone()),
                    Some(&field),
                )
            },
        )?;
        // XEP-0116 §4.6.1: the echoed nonce.
        if response.nonce != offer.my_nonce {
            return Err(Failure::not_acceptable(
                PeerMisbehaved::NonceMismatch,
                Some("nonce"),
            ));
        }
        let Some(x) = x.into_iter().find(|k| k.group() == n.modp) else {
            return Err(Failure::silent(Error::Internal(
                "no key for the chosen group",
            )));
        };
        // D7: 1 < d < p-1, checked inside shared_secret.
        let shared = x.shared_secret(&response.dhkey).map_err(|_| {
            Failure::not_acceptable(PeerMisbehaved::InvalidPublicValue, Some("dhkeys"))
        })?;
        // D45: from now on, address the full JID msg2 came from.
        if let Some(from) = stanza.from() {
            ctx.peer = from.to_owned();
        }
        let form_b = ctx
            .form_bytes(&received.form)
            .map_err(|e| Failure::not_acceptable(PeerMisbehaved::malformed(&e), e.field()))?;
        // Steps 1-2: K (D8).
        let k = keys::k_dh(n.hash, shared.as_bytes());
        let checked = CheckedResponse {
            negotiated: n,
            n_a: offer.my_nonce,
            form_a,
            form_b,
            x,
            response,
            k,
        };
        match exchange {
            Exchange::ThreeMessage => three_message::alice_on_response(ctx, store, checked),
            _ => four_message::alice_on_response(ctx, now, store, checked),
        }
    }
}
