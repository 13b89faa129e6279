//! The crate's error type (STYLE §4).
//!
//! [`Error`] is what commands return and what [`crate::Output::Failed`] carries.
//! Everything the peer did wrong is a [`PeerMisbehaved`]; the cryptographic
//! failures among them ([`PeerMisbehaved::BadIdentityMac`],
//! [`PeerMisbehaved::IdentityMismatch`], [`PeerMisbehaved::BadStanzaMac`]) carry
//! no detail on purpose.

/// Everything that can go wrong in a negotiation or an encrypted session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke the protocol; the session is over.
    #[error("peer misbehaved: {0}")]
    PeerMisbehaved(#[from] PeerMisbehaved),
    /// The peer answered with a stanza error (XEP-0116 §4.4, DECISIONS D44).
    #[error("rejected by the peer: {condition} (fields {fields:?})")]
    Rejected {
        /// The defined condition, e.g. `not-acceptable`.
        condition: String,
        /// The fields it names.
        fields: Vec<String>,
    },
    /// The peer declined the request with an accept=`0` form (D44).
    #[error("the peer declined the session")]
    Declined,
    /// We could not accept the peer's request: none of its options for these
    /// fields is supported (XEP-0116 §4.4; answered with not-acceptable).
    #[error("no acceptable option for {0:?}")]
    NoAcceptableOption(Vec<String>),
    /// A command was issued in a state where it makes no sense (for example
    /// `accept` before a request arrived, or `send` before the session is
    /// established).
    #[error("not possible in the current state: {0}")]
    InvalidState(&'static str),
    /// The stanza belongs to another session (other thread or peer).
    #[error("stanza does not belong to this session")]
    WrongSession,
    /// A plaintext stanza arrived in an active encrypted session; it was ignored
    /// (DECISIONS D43: strict ignores plaintext terminates) and nothing of it
    /// reaches the application. The session continues.
    #[error("plaintext stanza in an encrypted session ignored")]
    UnexpectedPlaintext,
    /// The stanza kind was not negotiated in the `stanzas` field.
    #[error("stanza kind {0} was not negotiated")]
    StanzaKindNotNegotiated(&'static str),
    /// The configuration cannot be used.
    #[error("invalid configuration: {0}")]
    Config(&'static str),
    /// Something this version does not implement (kept for API stability).
    #[error("not supported by this version: {0}")]
    Unsupported(&'static str),
    /// The local side could not build a stanza (a bug, or a value too large for
    /// the wire layer's limits).
    #[error("could not build a stanza: {0}")]
    Encode(esession_wire::Error),
    /// The application rejected the peer's public key (XEP-0116 §8.5).
    #[error("the peer's public key was rejected")]
    KeyRejected,
    /// The 2^32-block limit of one key was reached (XEP-0200 §11.4; DECISIONS
    /// D42): the session must be re-keyed or terminated.
    #[error("the block limit of the current key was reached")]
    KeyExhausted,
    /// The application's [`crate::SessionStore`] failed. A negotiation that
    /// needed the write ends here (never in [`crate::Output::Established`]);
    /// a command that needed it changed nothing.
    #[error("store: {0}")]
    Store(crate::StoreError),
    /// An internal invariant failed; this is a bug in esession-online.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

/// A violation of XEP-0116 / XEP-0200 by the peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerMisbehaved {
    /// A negotiation stanza could not be read; `field` names the offending
    /// data-form field when there is one.
    #[error("malformed negotiation message (field {field:?}): {reason}")]
    Malformed {
        /// The field, if the error concerns one.
        field: Option<String>,
        /// What the wire layer reported.
        reason: String,
    },
    /// A stanza arrived that has no place in the current state.
    #[error("unexpected message: {0}")]
    UnexpectedMessage(&'static str),
    /// msg1 is not an ESession request (unknown FORM_TYPE; D44 service-unavailable).
    #[error("unknown FORM_TYPE")]
    UnknownFormType,
    /// msg1 asks for the 3-message exchange (dhkeys instead of dhhashes), which
    /// this endpoint is not configured to accept ([`crate::Config::three_message`];
    /// D44 feature-not-implemented `dhkeys`).
    #[error("3-message negotiation requested")]
    ThreeMessageRequested,
    /// msg2 chose a value Alice did not offer, or a bad rekey_freq (D26).
    #[error("field {0} holds a value that was not offered")]
    ChoiceNotOffered(String),
    /// An echoed nonce differs from the one sent (XEP-0116 §4.6.1, §4.7.1, §4.8.1).
    #[error("echoed nonce does not match")]
    NonceMismatch,
    /// SHA256(e) is not the He of msg1 (XEP-0116 §4.7.1; D7).
    #[error("dhkeys does not match the committed dhhash")]
    DhHashMismatch,
    /// A DH public value outside 1 < e < p-1 (D7).
    #[error("Diffie-Hellman public value out of range")]
    InvalidPublicValue,
    /// msg3 without dhkeys, or msg4 without srshash.
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// M_A or M_B did not verify.
    #[error("identity MAC verification failed")]
    BadIdentityMac,
    /// The deciphered identity is not the recomputed macA/macB.
    #[error("identity verification failed")]
    IdentityMismatch,
    /// An XEP-0200 stanza failed its MAC: tampered, replayed, reordered or
    /// forged (XEP-0200 §6; D40). Nothing of it reached the application.
    #[error("encrypted stanza failed verification")]
    BadStanzaMac,
    /// An XEP-0200 stanza verified but its content could not be parsed.
    #[error("decrypted content is not well-formed")]
    BadContent,
    /// The peer sent an encrypted stanza of a kind that was not negotiated.
    #[error("stanza kind was not negotiated")]
    StanzaKindNotNegotiated,
    /// The peer sent `<key/>` before rekey_freq stanzas were exchanged since
    /// the last key exchange, or in a profile without re-keying
    /// (XEP-0200 §7: "MUST NOT initiate key re-exchanges more frequently than
    /// the agreed limit"; DECISIONS D42).
    #[error("re-key before the agreed rekey_freq")]
    RekeyTooEarly,
    /// The peer identified itself in `hash` mode but no key is stored for it
    /// (XEP-0116 §4.5.4; DECISIONS D30: terminate).
    #[error("no stored key matches the peer's fingerprint")]
    UnknownKey,
}

impl PeerMisbehaved {
    pub(crate) fn malformed(e: &esession_wire::Error) -> Self {
        PeerMisbehaved::Malformed {
            field: e.field().map(str::to_owned),
            reason: e.to_string(),
        }
    }
}

impl From<esession_sigma::Error> for Error {
    fn from(e: esession_sigma::Error) -> Self {
        match e {
            esession_sigma::Error::BadMac => PeerMisbehaved::BadIdentityMac.into(),
            esession_sigma::Error::IdentityMismatch => PeerMisbehaved::IdentityMismatch.into(),
            esession_sigma::Error::IdentityTooLong { .. }
            | esession_sigma::Error::MalformedIdentity(_) => {
                PeerMisbehaved::IdentityMismatch.into()
            }
            _ => Error::Internal("key schedule failure"),
        }
    }
}

impl From<esession_crypto::Error> for Error {
    fn from(e: esession_crypto::Error) -> Self {
        match e {
            esession_crypto::Error::InvalidPublicValue => PeerMisbehaved::InvalidPublicValue.into(),
            _ => Error::Internal("cryptographic primitive failure"),
        }
    }
}
