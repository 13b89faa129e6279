//! Fuzzes the negotiation-form parser: any text must give a typed value or a
//! typed error, never a panic; both normalizations must succeed or fail
//! cleanly; and whatever parses must survive serialize -> parse unchanged.
#![no_main]

use esession_wire::{Negotiation, NormProfile, OfflineOptions, Stanza, WireForm};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(form) = WireForm::parse(text) {
        let _ = form.form_bytes(NormProfile::Xep);
        let _ = form.form_bytes(NormProfile::Gajim);
        if let Ok(df) = form.data_form() {
            if let Ok(o) = OfflineOptions::from_form(&df) {
                let again = o
                    .to_wire()
                    .and_then(|w| OfflineOptions::from_form(&w.data_form()?));
                assert_eq!(again.as_ref(), Ok(&o));
            }
        }
    }
    if let Ok(received) = Negotiation::parse(text) {
        let _ = received.form.form_bytes(NormProfile::Xep);
        let wire = received
            .message
            .to_wire()
            .expect("a parsed message serializes");
        let again = Negotiation::parse_element(wire.into_element()).expect("and parses back");
        assert_eq!(again.message, received.message);
    }
    if let Ok(stanza) = Stanza::parse(text) {
        let _ = stanza.negotiation();
        let _ = stanza.rejection();
        let _ = stanza.thread();
    }
});
