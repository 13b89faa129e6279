//! Fuzzes the strict base64 codec (RFC 4648 §4; DECISIONS D3): a string is
//! accepted exactly when it is the canonical encoding of what it decodes to,
//! and the bounded decoder never returns more than its bound.
#![no_main]

use esession_crypto::b64;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&bound, rest)) = data.split_first() else {
        return;
    };
    // Any bytes encode and decode back.
    assert_eq!(b64::decode(&b64::encode(rest)).as_deref(), Ok(rest));
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match b64::decode(text) {
        Ok(bytes) => assert_eq!(b64::encode(&bytes), text),
        Err(e) => assert_eq!(e, esession_crypto::Error::InvalidBase64),
    }
    let max = usize::from(bound);
    match b64::decode_bounded(text, max) {
        Ok(bytes) => {
            assert!(bytes.len() <= max);
            assert_eq!(b64::decode(text).as_ref(), Ok(&bytes));
        }
        Err(esession_crypto::Error::TooLong { .. } | esession_crypto::Error::InvalidBase64) => {}
        Err(e) => panic!("unexpected error {e:?}"),
    }
});
