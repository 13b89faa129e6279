//! Secret byte strings: zeroized on drop, compared in constant time, never printed.

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret byte string (a key, a shared secret, an HMAC output used as a key).
///
/// - the bytes are zeroized when the value is dropped;
/// - `==` compares in constant time (for equal lengths; the length itself is public);
/// - `Debug` prints only the length.
///
/// Copies taken with [`SecretBytes::as_bytes`] (`.to_vec()`) are the caller's to
/// zeroize.
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// Copies `bytes`.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// The secret bytes. Do not log them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl AsRef<[u8]> for SecretBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl ConstantTimeEq for SecretBytes {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.as_slice().ct_eq(other.0.as_slice())
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for SecretBytes {}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes([REDACTED; {}])", self.0.len())
    }
}

/// Compares two byte strings in constant time (the lengths are public).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts() {
        let s = SecretBytes::from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        let printed = format!("{s:?}");
        assert_eq!(printed, "SecretBytes([REDACTED; 4])");
        assert!(!printed.contains("de"));
    }

    #[test]
    fn equality_is_by_value() {
        assert_eq!(
            SecretBytes::from_slice(b"abc"),
            SecretBytes::from_slice(b"abc")
        );
        assert_ne!(
            SecretBytes::from_slice(b"abc"),
            SecretBytes::from_slice(b"abd")
        );
        assert_ne!(
            SecretBytes::from_slice(b"abc"),
            SecretBytes::from_slice(b"ab")
        );
        assert!(ct_eq(b"x", b"x"));
        assert!(!ct_eq(b"x", b"xy"));
    }

    #[test]
    fn zeroize_clears() {
        let mut s = SecretBytes::from_slice(&[7; 8]);
        s.zeroize();
        assert!(s.as_bytes().iter().all(|&b| b == 0));
    }
}
