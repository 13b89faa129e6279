//! The crate's error type.

/// Everything that can go wrong in the key schedule.
///
/// The cryptographic failures ([`Error::BadMac`], [`Error::IdentityMismatch`])
/// carry no detail on purpose: telling a peer *why* a forgery failed helps it.
/// The protocol crates map each of them to the XEP-0116 error of DECISIONS D44
/// (`feature-not-implemented` for msg3 and msg4 failures).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `M_A` or `M_B` did not verify: `M != HMAC(KM, mpi(C) ‖ ID)` (XEP-0116 §4.5.4,
    /// §4.6.3; checked before anything is deciphered).
    #[error("identity MAC (M_A/M_B) verification failed")]
    BadMac,
    /// The deciphered identity is not the `macA`/`macB` the receiver recomputed
    /// (XEP-0116 §4.6.2, §4.7.1: "the two values … do not match").
    #[error("identity does not match the recomputed mac")]
    IdentityMismatch,
    /// A signed identity that is not `pubKeyPart ‖ <SignatureValue>b64</SignatureValue>`
    /// exactly (DECISIONS D29). The string names the part that was wrong.
    #[error("malformed signed identity: {0}")]
    MalformedIdentity(&'static str),
    /// An identity blob longer than [`crate::MAX_IDENTITY_LEN`].
    #[error("identity blob too long: {len} bytes, at most {max} allowed")]
    IdentityTooLong {
        /// The length received.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The gajim profile only knows AES (Gajim keys AES-256 with the full 32-byte
    /// HMAC output whatever was negotiated, G1/G12); another cipher cannot be
    /// used in it.
    #[error("cipher {0} cannot be used in the gajim profile")]
    NotInProfile(&'static str),
    /// A primitive failed (key length, MPI, random generator, …).
    #[error(transparent)]
    Crypto(#[from] esession_crypto::Error),
}
