//! Fuzzes the XML-DSig `<KeyValue/>` reader (XEP-0116 §4.5.4; DECISIONS
//! D28-D30), the identity plaintext split (D29) and the step from pubKey bytes
//! to a verifying key: any text gives a typed value or error; a parsed key
//! normalizes to bytes that parse back to the same key.
#![no_main]

use esession_wire::{Element, Identity, KeyValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // D29: pubKeyPart ‖ <SignatureValue/> is split on raw bytes.
    if let Ok((identity, _pub_key)) = Identity::parse(data) {
        // Strict (normalized key, canonical base64, nothing after): the
        // identity re-serializes to exactly the bytes received.
        let bytes = identity.to_bytes().expect("a parsed identity serializes");
        assert_eq!(bytes, data);
    }
    if let Ok(kv) = KeyValue::from_normalized(data) {
        assert_eq!(kv.normalized().as_deref(), Ok(data));
        let _ = esession_wire::verifying_key(data);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(el) = Element::parse(text)
        && let Ok(kv) = KeyValue::from_element(&el)
    {
        let norm = kv.normalized().expect("a parsed key normalizes");
        assert_eq!(KeyValue::from_normalized(&norm).as_ref(), Ok(&kv));
        // The crypto side: RSA/DSA/P-256 key validation on arbitrary integers.
        let _ = esession_wire::verifying_key(&norm);
    }
});
