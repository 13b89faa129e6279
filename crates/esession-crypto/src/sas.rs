//! The sas28x5 Short Authentication String (XEP-0116 §10, DECISIONS D32).
//!
//! Input: the hash `HASH(M_A ‖ formB ‖ "Short Authentication String")` (computed
//! by the key schedule). Output: its least significant 24 bits, written in base
//! 28 over the alphabet `acdefghikmopqruvwxy123456789`, most significant digit
//! first.
//!
//! - [`sas28x5`]: the xep profile, left-padded with `a` (digit zero) to exactly 5
//!   characters (D32).
//! - [`sas28x5_unpadded`]: what Gajim displays (G5): no padding, at least one
//!   character.
//!
//! Hand-written: no crate implements this XEP-specific encoding.

use crate::Error;

/// The 28 digits of sas28x5, value 0 to 27 (XEP-0116 §10).
pub const SAS28X5_ALPHABET: &[u8; 28] = b"acdefghikmopqruvwxy123456789";

/// A SAS algorithm from the `sas_algs` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SasAlg {
    /// `sas28x5` (MUST).
    Sas28x5,
}

impl SasAlg {
    /// Looks up a wire name.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        match name {
            "sas28x5" => Ok(SasAlg::Sas28x5),
            _ => Err(Error::UnknownAlgorithm {
                kind: "sas",
                name: crate::error::wire_name(name),
            }),
        }
    }

    /// The name on the wire.
    pub fn name(self) -> &'static str {
        "sas28x5"
    }
}

/// The least significant 24 bits of `digest` (its last three bytes, big-endian).
fn low24(digest: &[u8]) -> u32 {
    digest
        .iter()
        .rev()
        .take(3)
        .rev()
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
}

fn digits(mut v: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(5);
    loop {
        out.push(SAS28X5_ALPHABET[(v % 28) as usize]);
        v /= 28;
        if v == 0 {
            break;
        }
    }
    out.reverse();
    out
}

/// sas28x5 in the xep profile: always 5 characters, left-padded with `a`.
///
/// 28^5 = 17,210,368 > 2^24, so 5 digits always suffice.
pub fn sas28x5(digest: &[u8]) -> String {
    let d = digits(low24(digest));
    let mut s = String::with_capacity(5);
    for _ in d.len()..5 {
        s.push('a');
    }
    s.extend(d.into_iter().map(char::from));
    s
}

/// sas28x5 as Gajim displays it (G5): leading `a`s stripped, at least one
/// character kept.
pub fn sas28x5_unpadded(digest: &[u8]) -> String {
    digits(low24(digest)).into_iter().map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_zero_bytes_give_aaaaa() {
        let mut h = [0xabu8; 32];
        h[29..].fill(0);
        assert_eq!(sas28x5(&h), "aaaaa");
        assert_eq!(sas28x5_unpadded(&h), "a");
    }

    #[test]
    fn worked_values() {
        // 0xffffff = 16777215 = 27*28^4 + 8*28^3 + 7*28^2 + 14*28 + 7
        // digits 27,8,7,14,7 -> '9','k','i','u','i'
        assert_eq!(sas28x5(&[0xff, 0xff, 0xff]), "9kiui");
        // 28 = 1*28 + 0 -> "ca", padded "aaaca"
        assert_eq!(sas28x5(&[0, 0, 28]), "aaaca");
        assert_eq!(sas28x5_unpadded(&[0, 0, 28]), "ca");
        // only the last three bytes count
        assert_eq!(sas28x5(&[9, 9, 9, 0, 0, 1]), "aaaac");
        assert_eq!(SasAlg::from_name("sas28x5"), Ok(SasAlg::Sas28x5));
        assert!(SasAlg::from_name("sas").is_err());
    }

    #[test]
    fn always_five_characters() {
        for v in [
            0u32, 1, 27, 28, 783, 784, 21951, 21952, 614655, 614656, 0xffffff,
        ] {
            let b = v.to_be_bytes();
            let s = sas28x5(&b[1..]);
            assert_eq!(s.len(), 5, "{v}");
            assert!(s.bytes().all(|c| SAS28X5_ALPHABET.contains(&c)));
            assert_eq!(
                s.trim_start_matches('a').len().max(1),
                sas28x5_unpadded(&b[1..]).len()
            );
        }
    }
}
