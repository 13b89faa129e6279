//! Fuzzes the XEP-0200 `<c/>` parser and the stanza content rules: any text
//! gives a typed value or error; a parsed `<c/>` re-serializes to the same
//! values and the same m_content (D39).
#![no_main]

use esession_wire::{Encrypted, Stanza};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = Encrypted::parse(text) {
        let again = Encrypted::from_element(&c.content.to_element()).expect("re-parses");
        assert_eq!(again.content, c.content);
        assert_eq!(again.m_content, c.content.m_content());
        assert_eq!(c.m_content, c.content.m_content());
    }
    if let Ok(mut stanza) = Stanza::parse(text) {
        let _ = stanza.encrypted();
        let m = stanza.encryptable_content();
        if stanza.insert_decrypted(&m).is_ok() {
            let _ = stanza.to_xml();
        }
    }
});
