//! What an account keeps per contact: presence, sessions, queued content.

use esession_crypto::rand_core::CryptoRng;
use esession_offline::{ReceiveSession, SendSession};
use esession_online::{Endpoint, Negotiated, Profile, Sas};
use esession_wire::{Element, Stanza};
use rand_chacha::ChaCha20Rng;

/// The generator of one online session, seeded from the account's.
pub(super) type SessionRng = ChaCha20Rng;

/// What the account knows of a contact's presence.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) enum Presence {
    /// No presence seen yet.
    #[default]
    Unknown,
    /// These resources are available.
    Available(Vec<String>),
    /// The contact is offline.
    Unavailable,
}

/// One online session and what the application may ask about it.
pub(super) struct Online {
    pub(super) ep: Endpoint<SessionRng>,
    pub(super) sas: Option<Sas>,
    pub(super) established: Option<super::Established>,
    pub(super) peer_fingerprint: Option<Vec<u8>>,
    /// The contact's request waits for the application's decision.
    pub(super) requested: bool,
}

impl Online {
    pub(super) fn new(ep: Endpoint<SessionRng>) -> Self {
        Online {
            ep,
            sas: None,
            established: None,
            peer_fingerprint: None,
            requested: false,
        }
    }
}

/// Everything the account holds for one contact.
#[derive(Default)]
pub(super) struct Contact {
    pub(super) presence: Presence,
    /// Online sessions, oldest first (usually one).
    pub(super) online: Vec<Online>,
    /// Our offline session to the contact (we send only, XEP-0187 §4).
    pub(super) send: Option<SendSession>,
    /// Offline sessions the contact started (we receive only).
    pub(super) receive: Vec<ReceiveSession>,
    /// Content waiting for a session.
    pub(super) queue: Vec<Stanza>,
    /// Our options request in flight, and the node asked.
    pub(super) options_iq: Option<(String, esession_offline::Audience)>,
    /// The contact's options, from a PEP notification.
    pub(super) options: Option<Element>,
}

impl Contact {
    /// The online session that carries content now, if any.
    pub(super) fn active(&mut self) -> Option<&mut Online> {
        self.online
            .iter_mut()
            .rev()
            .find(|o| o.ep.is_established() || o.ep.is_plain())
    }

    /// The newest online session that is not over.
    pub(super) fn current(&mut self) -> Option<&mut Online> {
        self.online.iter_mut().rev().find(|o| !o.ep.is_closed())
    }

    /// An online negotiation is under way.
    pub(super) fn negotiating(&self) -> bool {
        self.online
            .iter()
            .any(|o| !o.ep.is_closed() && !o.ep.is_established() && !o.ep.is_plain())
    }

    /// True when nothing is held for the contact any more.
    pub(super) fn is_idle(&self) -> bool {
        self.online.is_empty()
            && self.send.is_none()
            && self.receive.is_empty()
            && self.queue.is_empty()
            && self.options_iq.is_none()
            && self.options.is_none()
            && self.presence == Presence::Unknown
    }
}

/// The state of a session, for [`SessionInfo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionState {
    /// The online negotiation is under way.
    Negotiating,
    /// An encrypted online session.
    Established,
    /// A plain, unencrypted stanza session (XEP-0116 §4.4).
    Plain,
    /// Our offline session to the contact (send only, XEP-0187).
    OfflineSending,
    /// The contact's offline session to us (receive only).
    OfflineReceiving,
}

/// What an application shows about a session (`/status`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The contact's bare JID.
    pub contact: String,
    /// The session's thread.
    pub thread: String,
    /// Where it stands.
    pub state: SessionState,
    /// The profile it runs in.
    pub profile: Profile,
    /// The options in force, once agreed.
    pub negotiated: Option<Negotiated>,
    /// The SAS of a 4-message negotiation.
    pub sas: Option<Sas>,
    /// The user confirmed the SAS, or the chain of retained secrets was
    /// verified in an earlier session: the session is authenticated.
    pub verified: bool,
    /// A retained secret of an earlier session was used (continuity).
    pub retained_secret_used: bool,
    /// SHA-256 of the contact's public key, when it presented one.
    pub peer_fingerprint: Option<Vec<u8>>,
}

/// A session generator seeded from the account's generator.
pub(super) fn session_rng<R: CryptoRng>(rng: &mut R) -> SessionRng {
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let session = <SessionRng as esession_crypto::rand_core::SeedableRng>::from_seed(seed);
    zeroize::Zeroize::zeroize(&mut seed);
    session
}
