//! The crate's error type.

/// Everything that can go wrong in `esession-crypto`.
///
/// Cryptographic failures ([`Error::BadMac`], [`Error::BadSignature`]) carry no
/// detail on purpose: telling an attacker *why* a forgery failed helps them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An algorithm name from the wire that this crate does not know.
    #[error("unknown {kind} algorithm {name:?}")]
    UnknownAlgorithm {
        /// Which registry was asked ("cipher", "hash", "signature", "sas").
        kind: &'static str,
        /// The name as received (truncated to 64 characters).
        name: String,
    },
    /// A known algorithm that the active policy does not allow (for example
    /// `sha1` or `md5` without the explicit weak-hash opt-in).
    #[error("{kind} algorithm {name:?} is disabled by policy")]
    DisabledAlgorithm {
        /// Which registry was asked.
        kind: &'static str,
        /// The algorithm's wire name.
        name: &'static str,
    },
    /// A MODP group number that is not defined (anything but 1, 2, 5, 14-18).
    #[error("unknown MODP group {0}")]
    UnknownGroup(u32),
    /// Groups 3 and 4 of RFC 2409 are elliptic-curve groups over GF(2^N), not MODP
    /// groups; XEP-0116 lists them but they cannot be used for modp DH (DECISIONS D5).
    #[error("group {0} is an elliptic-curve group of RFC 2409, not a MODP group")]
    EllipticCurveGroup(u32),
    /// A Diffie-Hellman public value outside 1 < e < p-1 (XEP-0116 §4.6.1, §4.7.1).
    #[error("Diffie-Hellman public value out of range (1 < e < p-1 required)")]
    InvalidPublicValue,
    /// A malformed multi-precision integer (DECISIONS D1).
    #[error("invalid MPI: {0}")]
    InvalidMpi(&'static str),
    /// Base64 that is not canonical RFC 4648 §4 (DECISIONS D3).
    #[error("invalid base64")]
    InvalidBase64,
    /// A value longer than the caller's bound.
    #[error("value too long: {len} bytes, at most {max} allowed")]
    TooLong {
        /// The length received.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// Key material of the wrong length for the algorithm.
    #[error("wrong key length for {alg}: expected {expected} bytes, got {got}")]
    InvalidKeyLength {
        /// The algorithm's wire name.
        alg: &'static str,
        /// The length the algorithm needs.
        expected: usize,
        /// The length supplied.
        got: usize,
    },
    /// A public or private key that the signature scheme rejects.
    #[error("invalid {0} key")]
    InvalidKey(&'static str),
    /// A MAC did not verify.
    #[error("MAC verification failed")]
    BadMac,
    /// A signature did not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// The random number generator failed.
    #[error("random number generator failed")]
    Rng,
    /// An internal invariant failed; this is a bug in esession.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

/// Truncates a name received from the wire so that errors stay small.
pub(crate) fn wire_name(name: &str) -> String {
    name.chars().take(64).collect()
}
