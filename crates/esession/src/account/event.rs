//! What an [`Account`](super::Account) tells the application, and its error.

use std::time::SystemTime;

use esession_online::{Negotiated, PeerKey, Profile, Sas, StoreError, TerminationReason};
use esession_wire::Stanza;

/// Something the application must do or show, for one contact (a bare JID).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Send this stanza to the server.
    Send(Stanza),
    /// The contact asks for an ESession: call
    /// [`Account::accept`](super::Account::accept) or
    /// [`Account::reject`](super::Account::reject) (unless the account
    /// accepts by itself, [`AccountConfig::auto_accept`](super::AccountConfig::auto_accept)).
    Requested {
        /// The contact's bare JID.
        contact: String,
        /// The options the session would use; `None` for a plain (unencrypted)
        /// stanza session the contact allows instead (XEP-0116 §4.4).
        negotiated: Option<Negotiated>,
    },
    /// The SAS both users compare (XEP-0116 §9): call
    /// [`Account::confirm_sas`](super::Account::confirm_sas) once the user
    /// confirmed it.
    SasReady {
        /// The contact's bare JID.
        contact: String,
        /// The SAS, to show as [`Sas::display`] for the session's profile.
        sas: Sas,
    },
    /// The contact's public key: new, changed, known for other JIDs, or
    /// missing where keys are trusted (XEP-0116 §8.5). Unless it is trusted,
    /// call [`Account::trust_key`](super::Account::trust_key) or
    /// [`Account::reject_key`](super::Account::reject_key).
    PeerKey {
        /// The contact's bare JID.
        contact: String,
        /// The key and what the store knows of it.
        key: PeerKey,
    },
    /// An encrypted session with the contact is established.
    Established(Established),
    /// Content sent while no session could carry it waits (it is sent once
    /// the session exists).
    Waiting {
        /// The contact's bare JID.
        contact: String,
        /// What it waits for.
        waiting_for: WaitingFor,
    },
    /// A decrypted stanza from the contact (or, in a plain stanza session,
    /// the stanza as received).
    Received {
        /// The contact's bare JID.
        contact: String,
        /// The stanza, `<c/>` replaced by its content.
        stanza: Stanza,
        /// It came through an offline session (XEP-0187).
        offline: bool,
        /// When the contact wrote it, by its encrypted SHIM header
        /// (XEP-0187 §4: trust this rather than the server's delay stamp).
        created: Option<SystemTime>,
    },
    /// A session with the contact ended normally.
    Ended {
        /// The contact's bare JID.
        contact: String,
        /// Why.
        reason: EndReason,
    },
    /// Something failed for the contact; the session (if any) is over and
    /// nothing of the failed stanza reached the application.
    Failed {
        /// The contact's bare JID (empty when no contact is concerned).
        contact: String,
        /// What went wrong.
        error: AccountError,
    },
    /// A stanza that belongs to no ESession (a plain message, an unrelated
    /// iq or presence): the application handles it.
    Unhandled(Stanza),
}

/// What [`Event::Established`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Established {
    /// The contact's bare JID.
    pub contact: String,
    /// The profile the session runs in: `gajim` when a Gajim peer was
    /// recognised, else `xep` (never silently: it is reported here).
    pub profile: Profile,
    /// The options in force (`None` for a plain stanza session).
    pub negotiated: Option<Negotiated>,
    /// A retained secret of an earlier session was mixed into the keys.
    pub retained_secret_used: bool,
    /// The chain of sessions through the retained secret was SAS-verified.
    pub chain_verified: bool,
    /// The session is an offline one (XEP-0187): we send only (we started it
    /// while the contact was away), or receive only (the contact started it).
    pub offline: bool,
    /// The session is not encrypted (a plain stanza session, XEP-0116 §4.4).
    pub plain: bool,
}

/// What queued content waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitingFor {
    /// The contact's presence is unknown: online or offline?
    Presence,
    /// An online negotiation under way.
    Negotiation,
    /// The contact's published offline options (XEP-0187 §3.2).
    OfflineOptions,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndReason {
    /// An online session ended (XEP-0116 §5).
    Online(TerminationReason),
    /// We terminated our offline session when the contact came online
    /// (XEP-0187 §5), or after sending what we had.
    OfflineSent,
    /// The contact terminated its offline session (XEP-0187 §5).
    OfflineByPeer,
}

/// Everything that can go wrong in an account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// The online layer (negotiation, XEP-0200).
    #[error("{0}")]
    Online(#[from] esession_online::Error),
    /// The offline layer (XEP-0187).
    #[error("offline: {0}")]
    Offline(#[from] esession_offline::Error),
    /// The account's store.
    #[error("store: {0}")]
    Store(StoreError),
    /// No session with the contact for this command.
    #[error("no session with {0}")]
    NoSession(String),
    /// An offline session needs a signing key ([`super::Account::with_signing_key`]).
    #[error("no signing key for offline sessions")]
    NoSigningKey,
    /// The contact publishes no offline options (or none we can use).
    #[error("{0} publishes no offline ESession options")]
    NoOfflineOptions(String),
    /// The server answered a request of ours with an error.
    #[error("the server refused: {0}")]
    ServerError(String),
    /// A JID the account cannot use (empty, or our own).
    #[error("not a usable contact JID: {0:?}")]
    InvalidJid(String),
}
