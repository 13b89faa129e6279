//! What an endpoint reports to the application.

use std::time::Duration;

use esession_sigma::Profile;
use esession_wire::Stanza;

use crate::pubkey::PeerKey;
use crate::{Error, Negotiated, Sas};

/// How long the terminator keeps its receive keys waiting for the
/// acknowledgement (DECISIONS D43).
pub const TERMINATE_ACK_TIMEOUT: Duration = Duration::from_secs(60);

/// What the driver asks the application to do or know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// Send this stanza to the peer.
    Send(Stanza),
    /// Bob: a contact requests an ESession; call [`Endpoint::accept`](crate::Endpoint::accept) or
    /// [`Endpoint::reject`](crate::Endpoint::reject).
    Requested(Requested),
    /// Bob: a contact requests an ESession that cannot be established, but
    /// allows a plain stanza session (security `c2s`/`none`, XEP-0116 §4.4);
    /// call [`Endpoint::accept`](crate::Endpoint::accept) (plain session) or [`Endpoint::reject`](crate::Endpoint::reject).
    PlainRequested(PlainSession),
    /// A plain stanza session (not encrypted!) was agreed: stanzas pass
    /// through [`Endpoint::send`](crate::Endpoint::send) and arrive as [`Output::Received`] as they are.
    PlainEstablished(PlainSession),
    /// The SAS both users compare (XEP-0116 §9; DECISIONS D32). Call
    /// [`Endpoint::confirm_sas`](crate::Endpoint::confirm_sas) once the user confirmed it.
    SasReady {
        /// The SAS; show [`Sas::display`] for the configured profile.
        sas: Sas,
    },
    /// The peer's public key verified (XEP-0116 §8.5). Unless its status is
    /// [`crate::KeyStatus::Trusted`], call [`Endpoint::trust_peer_key`](crate::Endpoint::trust_peer_key) or
    /// [`Endpoint::reject_peer_key`](crate::Endpoint::reject_peer_key).
    PeerKey(PeerKey),
    /// The negotiation completed; encrypted stanzas may flow.
    Established(Established),
    /// A decrypted stanza from the peer (XEP-0200 §6), `<c/>` replaced by its
    /// content.
    Received(Stanza),
    /// The session ended normally (XEP-0155 §7, XEP-0116 §5).
    Terminated(TerminationReason),
    /// The negotiation or session failed and is over; any answer the protocol
    /// requires (DECISIONS D44) was queued as [`Output::Send`] before this.
    Failed(Error),
}

/// A request Bob received, with what he would choose.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Requested {
    /// The requester's full JID.
    pub peer: String,
    /// The thread of the session.
    pub thread: String,
    /// The options Bob will send if he accepts.
    pub negotiated: Negotiated,
}

/// A plain XEP-0155 stanza session instead of an ESession (XEP-0116 §4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlainSession {
    /// The peer's full JID.
    pub peer: String,
    /// The thread.
    pub thread: String,
    /// The agreed `security` value (`c2s` or `none`).
    pub security: String,
    /// The agreed logging value.
    pub logging: String,
}

/// What [`Output::Established`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Established {
    /// The options in force.
    pub negotiated: Negotiated,
    /// A retained secret from an earlier session was found and mixed into the
    /// keys (XEP-0116 §4.7.3): this session continues an authenticated chain
    /// only if that one was verified.
    pub retained_secret_used: bool,
    /// The chain of sessions through the retained secret was SAS-verified at
    /// some point (the matched secret was marked verified).
    pub chain_verified: bool,
    /// The profile the session runs in (`gajim` when a Gajim peer was
    /// detected, see [`crate::Config::detect_gajim`]).
    pub profile: Profile,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TerminationReason {
    /// We terminated and the peer acknowledged.
    Acknowledged,
    /// We terminated and no acknowledgement came within
    /// [`TERMINATE_ACK_TIMEOUT`].
    AckTimedOut,
    /// The peer terminated (we acknowledged).
    ByPeer,
    /// Bob declined the request (accept=`0`).
    Declined,
    /// We terminated in plaintext in the gajim profile, where no
    /// acknowledgement exists (G8).
    Unacknowledged,
}
