//! Strict base64 (RFC 4648 §4, standard alphabet, `=` padding), DECISIONS D3.
//!
//! A string is accepted only if re-encoding the decoded bytes gives the same
//! string: no whitespace, no line breaks, no missing padding and no non-zero pad
//! bits. Python's and Rust's lenient decoders disagree on exactly those cases,
//! and the round trip is the test both agree on.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Error;

/// Encodes bytes as canonical base64.
pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes canonical base64; anything else is [`Error::InvalidBase64`].
pub fn decode(s: &str) -> Result<Vec<u8>, Error> {
    let bytes = STANDARD.decode(s).map_err(|_| Error::InvalidBase64)?;
    if STANDARD.encode(&bytes) != s {
        return Err(Error::InvalidBase64);
    }
    Ok(bytes)
}

/// Decodes canonical base64 whose decoded length must not exceed `max_len`.
///
/// The bound is checked on the encoded length first, before any allocation.
pub fn decode_bounded(s: &str, max_len: usize) -> Result<Vec<u8>, Error> {
    let max_encoded = max_len.div_ceil(3).saturating_mul(4);
    if s.len() > max_encoded {
        return Err(Error::TooLong {
            len: s.len() / 4 * 3,
            max: max_len,
        });
    }
    let bytes = decode(s)?;
    if bytes.len() > max_len {
        return Err(Error::TooLong {
            len: bytes.len(),
            max: max_len,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        assert_eq!(encode(b"foob"), "Zm9vYg==");
        assert_eq!(decode("Zm9vYg==").unwrap(), b"foob");
        assert_eq!(decode("").unwrap(), b"");
        for bad in [
            "Zm9vYg",
            "Zm9vYg=",
            "Zm9vYh==",
            "Zm9v\nYg==",
            " Zm9vYg==",
            "Zm9v-g==",
            "Zm9vYg===",
        ] {
            assert_eq!(decode(bad), Err(Error::InvalidBase64), "{bad:?}");
        }
    }

    #[test]
    fn bounded() {
        assert_eq!(decode_bounded("Zm9vYg==", 4).unwrap(), b"foob");
        assert!(matches!(
            decode_bounded("Zm9vYg==", 3),
            Err(Error::TooLong { .. })
        ));
        assert!(matches!(
            decode_bounded(&"A".repeat(4000), 16),
            Err(Error::TooLong { .. })
        ));
    }
}
