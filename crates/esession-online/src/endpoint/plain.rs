//! A plain XEP-0155 stanza session, the fallback when Alice allows security
//! `c2s` or `none` and Bob will not start an ESession (XEP-0116 §4.4).
//! Nothing is encrypted: stanzas pass through as they are.
//!
//! ```text
//! Bob:   msg1 ─▶ Offered (PlainRequested) ─accept─▶ PlainAccept sent ─▶ Established
//! Alice: PlainAccept received ───────────────────────────────────────▶ Established
//! Established: stanzas pass through; a terminate form ends it (XEP-0155 §7)
//! ```

use esession_wire::{Negotiation, PlainAccept, Stanza};

use super::ctx::{Ctx, Failure, encode};
use super::{Output, PlainSession, TerminationReason};
use crate::Error;

/// The states of a plain stanza session.
pub(super) enum State {
    /// Bob: the application decides (after [`Output::PlainRequested`]).
    Offered(Box<PlainAccept>),
    /// The session is agreed.
    Established,
}

/// The event both sides report.
pub(super) fn established<R>(ctx: &Ctx<R>, accept: &PlainAccept) -> Output {
    Output::PlainEstablished(PlainSession {
        peer: ctx.peer.clone(),
        thread: ctx.thread.clone(),
        security: accept.security.clone(),
        logging: accept.logging.clone(),
    })
}

/// Bob accepts the stanza session (XEP-0116 §4.4).
pub(super) fn accept<R>(ctx: &mut Ctx<R>, accept: &PlainAccept) -> Result<super::State, Failure> {
    let wire = Negotiation::PlainAccept(accept.clone())
        .to_wire()
        .map_err(encode)?;
    ctx.send_form(&wire);
    let event = established(ctx, accept);
    ctx.out.push_back(event);
    Ok(super::State::Plain(State::Established))
}

/// A stanza of an established plain session: a terminate form ends it,
/// anything else is delivered as it is (XEP-0155).
pub(super) fn receive<R>(ctx: &mut Ctx<R>, stanza: Stanza) -> super::State {
    if matches!(
        stanza.negotiation(),
        Ok(Some(r)) if r.message == Negotiation::Terminate
    ) {
        ctx.out
            .push_back(Output::Terminated(TerminationReason::ByPeer));
        return super::State::Closed;
    }
    ctx.out.push_back(Output::Received(stanza));
    super::State::Plain(State::Established)
}

/// Sends `stanza` as it is, addressed to the session.
pub(super) fn send<R>(ctx: &mut Ctx<R>, mut stanza: Stanza) {
    if stanza.to().is_none() {
        stanza.set_attr("to", &ctx.peer);
    }
    stanza.set_thread(&ctx.thread);
    ctx.out.push_back(Output::Send(stanza));
}

/// Ends the session with the terminate form in the clear (XEP-0155 §7).
pub(super) fn terminate<R>(ctx: &mut Ctx<R>) -> Result<(), Error> {
    let wire = Negotiation::Terminate.to_wire().map_err(Error::Encode)?;
    ctx.send_form(&wire);
    ctx.out
        .push_back(Output::Terminated(TerminationReason::Unacknowledged));
    Ok(())
}
