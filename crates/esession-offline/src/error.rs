//! The crate's error type (STYLE §4).
//!
//! Every failure of Alice's side while she accepts an offline session is
//! silent on the wire: she sends nothing back (DECISIONS D44, "any 0187
//! failure: nothing sent"). Bob's failures mean he must not send anything to
//! Alice while she is offline (XEP-0187 §3.2). The cryptographic failures
//! ([`Error::BadIdentityMac`], [`Error::BadIdentity`], [`Error::BadContent`])
//! carry no detail on purpose.

/// Everything that can go wrong publishing, starting or accepting an offline
/// ESession.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A form or stanza could not be read or written (malformed field, bad
    /// base64, non-minimal MPI, oversized value; DECISIONS D1-D4, D24).
    #[error("wire format: {0}")]
    Wire(#[from] esession_wire::Error),
    /// A primitive failed (DH value out of range, key length, RNG, …).
    #[error("crypto: {0}")]
    Crypto(#[from] esession_crypto::Error),
    /// The key schedule refused an input (identity too long, …).
    #[error("key schedule: {0}")]
    Sigma(esession_sigma::Error),
    /// Bob: no signature in `signs` verifies with a key he trusts for Alice
    /// (XEP-0187 §3.2: "he MUST proceed no further"; DECISIONS D48).
    #[error("no signature of the options verifies with a trusted key")]
    UntrustedOptions,
    /// The options have expired: now ≥ expires (DECISIONS D50). Bob sends
    /// nothing; Alice discards the stanza without decrypting it.
    #[error("the offline options have expired")]
    Expired,
    /// `expires` is not an XEP-0082 DateTime this crate can read.
    #[error("invalid expires value")]
    BadExpires,
    /// Bob supports none of Alice's options for these fields (XEP-0187 §3.2),
    /// or (Alice) Bob chose something she did not offer (DECISIONS D26).
    #[error("no acceptable option for {0:?}")]
    NoAcceptableOption(Vec<String>),
    /// The options break a MUST of XEP-0187 §3.1 (`iq` in stanzas, or more
    /// than `message` with match_resource).
    #[error("options violate XEP-0187: {0}")]
    InvalidOptions(&'static str),
    /// Alice holds no published options with this N_A (destroyed, never
    /// published, or published from another client; XEP-0187 §3.4 footnote).
    #[error("no stored options for this nonce")]
    UnknownNonce,
    /// Alice holds no x for the MODP group Bob chose.
    #[error("no stored private value for this group")]
    UnknownGroup,
    /// Alice already received an offline init with the same d or N_B for
    /// this N_A (XEP-0187 §3.4, §6.1; DECISIONS D50): a replay.
    #[error("replayed offline init (d or N_B seen before)")]
    Replay,
    /// M_B did not verify (XEP-0116 §4.6.2).
    #[error("identity MAC did not verify")]
    BadIdentityMac,
    /// The identity blob is malformed, its signature does not verify over
    /// macB, or its algorithm is not the one Bob chose (XEP-0116 §4.6.2).
    #[error("Bob's identity did not verify")]
    BadIdentity,
    /// Bob's key is not one Alice trusts for his JID (XEP-0187 §3.4: "if she
    /// cannot confirm that pubKeyB really is Bob's public key").
    #[error("Bob's public key is not trusted")]
    UntrustedPeer,
    /// The encrypted content failed its MAC or could not be decrypted or
    /// parsed (XEP-0200 §6).
    #[error("encrypted content did not verify")]
    BadContent,
    /// The stanza is not what this step expects (no offline init, no `<c/>`,
    /// no `from`, another thread).
    #[error("unexpected stanza: {0}")]
    UnexpectedStanza(&'static str),
    /// The session has ended (Bob terminated it); nothing more is accepted.
    #[error("the offline session has ended")]
    Terminated,
    /// The arguments cannot be used (no signing key, empty option list, …).
    #[error("invalid configuration: {0}")]
    Config(&'static str),
    /// The store failed (its error names the operation; never a secret).
    #[error("store: {0}")]
    Store(esession_online::StoreError),
    /// The XEP-0200 layer refused to seal (block limit reached, XEP-0200 §11.4).
    #[error("could not encrypt: {0}")]
    Seal(String),
}

impl From<esession_sigma::Error> for Error {
    fn from(e: esession_sigma::Error) -> Self {
        match e {
            esession_sigma::Error::BadMac => Error::BadIdentityMac,
            esession_sigma::Error::IdentityMismatch
            | esession_sigma::Error::MalformedIdentity(_) => Error::BadIdentity,
            other => Error::Sigma(other),
        }
    }
}
