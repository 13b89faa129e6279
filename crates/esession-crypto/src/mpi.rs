//! Multi-precision integers as XEP-0116 puts them on the wire.
//!
//! XEP-0116 §6.1 and DECISIONS D1: `mpi(v)` is the minimal unsigned big-endian
//! octet string of `v`: no sign byte, no length prefix, and `mpi(0) = 00`.
//! It applies to DH values, shared secrets, counters and key components. Hash
//! and HMAC outputs are fixed-length and never pass through here.
//!
//! Hand-written because no maintained crate implements this exact encoding (it is
//! neither OpenPGP's nor SSH's MPI: both carry a length prefix).

use crate::Error;

/// Longest counter accepted from the wire, in bytes (D1: counters are at most 128 bits).
pub const MAX_COUNTER_LEN: usize = 16;

/// Encodes big-endian bytes (leading zeros allowed) as a minimal MPI.
///
/// Returns `[0]` for zero or an empty input.
///
/// Note: stripping leading zeros takes time that depends on how many there are;
/// that is inherent in the encoding D1 fixes (a shared secret's MPI length is
/// itself hashed into K).
pub fn encode(be_bytes: &[u8]) -> Vec<u8> {
    let first = be_bytes.iter().position(|&b| b != 0);
    match first {
        Some(i) => be_bytes[i..].to_vec(),
        None => vec![0],
    }
}

/// Checks that `bytes` is a minimal MPI and returns it unchanged.
///
/// Rejects the empty string and a leading `00` other than `mpi(0)` itself.
pub fn decode(bytes: &[u8]) -> Result<&[u8], Error> {
    match bytes {
        [] => Err(Error::InvalidMpi("empty")),
        [0] => Ok(bytes),
        [0, ..] => Err(Error::InvalidMpi("leading zero byte")),
        _ => Ok(bytes),
    }
}

/// `mpi(v)` for a 128-bit counter.
pub fn encode_u128(v: u128) -> Vec<u8> {
    encode(&v.to_be_bytes())
}

/// Decodes a counter: a minimal MPI of at most 16 bytes (D1).
pub fn decode_counter(bytes: &[u8]) -> Result<u128, Error> {
    let bytes = decode(bytes)?;
    if bytes.len() > MAX_COUNTER_LEN {
        return Err(Error::InvalidMpi("counter longer than 16 bytes"));
    }
    let mut buf = [0u8; 16];
    buf[16 - bytes.len()..].copy_from_slice(bytes);
    Ok(u128::from_be_bytes(buf))
}

/// The counter left-padded to 16 bytes, as Gajim's XEP-0200 receiver expects it
/// in stanza MACs (DECISIONS D14, G3).
pub fn counter_padded(v: u128) -> [u8; 16] {
    v.to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_strips_leading_zeros() {
        assert_eq!(encode(&[0, 0, 1, 0]), vec![1, 0]);
        assert_eq!(encode(&[0x80]), vec![0x80]);
        assert_eq!(encode(&[]), vec![0]);
        assert_eq!(encode(&[0, 0]), vec![0]);
    }

    #[test]
    fn decode_rejects_non_minimal() {
        assert_eq!(decode(&[]), Err(Error::InvalidMpi("empty")));
        assert_eq!(decode(&[0, 1]), Err(Error::InvalidMpi("leading zero byte")));
        assert_eq!(decode(&[0]), Ok(&[0u8][..]));
        assert_eq!(decode(&[1, 0]), Ok(&[1u8, 0][..]));
    }

    #[test]
    fn counters() {
        assert_eq!(encode_u128(0), vec![0]);
        assert_eq!(encode_u128(1 << 127).len(), 16);
        assert_eq!(decode_counter(&encode_u128(u128::MAX)), Ok(u128::MAX));
        assert!(decode_counter(&[1; 17]).is_err());
        assert_eq!(counter_padded(1)[15], 1);
    }
}
