//! Inputs that made a fuzz target panic (fuzz/README.md), each now a typed
//! error. The bytes are the minimized crash files of `cargo fuzz`.

use esession_wire::{Element, Encrypted, Error, KeyValue, Stanza};

/// fuzz target `keyvalue_parser`, 2026-11-27: quick-xml's error message
/// quoted input text, and `xml_err` cut it at byte 200, inside the
/// three-byte U+FEFF: `String::truncate` panicked.
const KEYVALUE_TRUNCATE_IN_CHAR: &[u8] = b"<KV\xef\xbb\xbf\xef\xbb\xbfq</Mod>\xef\xbb\xbf\xef\xbb\xbfK<\x22nent><KeyValue><RSAKeyValue>\xef\xbb\xbf<Modulus>vZodulus>vZETvNYajtBEM2???????????????;????????????????????????<AQAB</Expknent></RSAKeyV?xml?<???????Do><!DodalaG==</Mod>\xef\xbb\xbf\xef\xbb\xbfK<\x22neulu<>AQAB</Expknen\x00>zdZET";

#[test]
fn xml_error_message_cut_inside_a_character_is_a_typed_error() {
    let text = std::str::from_utf8(KEYVALUE_TRUNCATE_IN_CHAR).unwrap();
    assert!(matches!(Element::parse(text), Err(Error::Xml(m)) if m.len() <= 200));
    assert!(matches!(
        KeyValue::from_normalized(KEYVALUE_TRUNCATE_IN_CHAR),
        Err(Error::Xml(_))
    ));
    assert!(matches!(Stanza::parse(text), Err(Error::Xml(_))));
}

/// fuzz target `c_parser`, 2026-11-27 (before the fix): the same panic
/// through `Stanza::parse` and `Encrypted::parse`.
const C_PARSER_TRUNCATE_IN_CHAR: &[u8] = b"<ta><new>2</new\x09\x0d\x0d\x0d\x0d\x0d\x0d<message xmlns=\x22jnc wro\x00\x0d\x0d@\x0d\x0d\x0d\x0d/\x0d@\x0d\x0d\x0d\x0d/G\x00\x0d@\x0d\x0d@\x0d\x0d\x0d\x0d@\x0d\x0d\x0d\x0d/\x0d@\x0d@\x0d\x0d\x0d\x0d@\x0d@\x0d\x0d@\x0d\x0d\x0d\x0d@\x0d\x0d\x0d\x0d/\x0d@\x0d@\x0d\x0d\x0d\x0d@\x0dn</c><bo\x00\x00\x00\x00\x00\x00\x00\x00dy>[&T<body>[T\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00s of\xef\xbb\xbfzon.i  yoAu s\x0d\x0d\x09\x09\x09>\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d<k\x0d\x0d\x0dm=\x22ebop\x22>Dthry__\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d<k\x0d\x0d\x0dm=\x22ebop\x22>Dthry__\x0d\x0d\x0d\x0d\x0d\x09\x09\x09ta><new>/new\x09\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x09\x09\x09>\x0d\x0d\x09\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d<k\x0d\x0d\x0dm=\x22ebop\x22>Dy__\x0d\x0d\x0d\x0d\x0d\x09\x09\x09ta><new>2</new\x09\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x09\x09\x09>\x0d\x0d\x09\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d<kAd0>\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d<k\x0d\x0d\x0dm=\x22ebo<message xmlns=\x22jnc wro\x00\x0d\x0d@\x0d\x0d\x0d\x0dp\x22>/\x0d@\x0d\x0d\x0d\x0d/G\x00\x0d@\x0d\x0d@\x0d\x0d\x0d\x0d@\x0d\x0d\x0d\x0d/\x0d@\x0d@\x0d\x0d\x0d\x0d@\x0d@\x0d\x0d@\x0d\x0d\x0d\x0d@\x0d\x0d\x0d\x0d/\x0d@\x0d@\x0d\x0d\x0d\x0d@\x0dn</c><bo\x00\x00\x00\x00\x00\x00\x00\x00dy>[&Dtryh_\x0d\x0d\x0d\x0d\x09\x09\x09ta><T<body>[T\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00s\xef\xbb\xbfzon.i  yoAu shipda\x22><thread>iTDKzVhipda\x22><thread>iTDKzVLLLzJcWKPQkwJGnlwBRFaKEjdLLLzJcWKPQkwJGnlwBRE</thFaKEjdE</threadnewp\x22>Dthry__>_eaEAbody></message>d0read>body></message>";

#[test]
fn c_parser_crash_is_a_typed_error() {
    let text = std::str::from_utf8(C_PARSER_TRUNCATE_IN_CHAR).unwrap();
    assert!(matches!(Element::parse(text), Err(Error::Xml(m)) if m.len() <= 200));
    assert!(matches!(Stanza::parse(text), Err(Error::Xml(_))));
    assert!(matches!(Encrypted::parse(text), Err(Error::Xml(_))));
}

#[test]
fn xml_error_messages_are_cut_at_a_character_boundary_at_every_offset() {
    // A mismatched end tag whose name is long and multi-byte: the error
    // message quotes it, and one of the offsets puts a character across
    // byte 200 of the message.
    for pad in 0..4 {
        let name = format!("{}{}", "a".repeat(pad), "é".repeat(150));
        let text = format!("<x></{name}>");
        match Element::parse(&text) {
            Err(Error::Xml(m)) => assert!(m.len() <= 200 && !m.is_empty()),
            other => panic!("pad {pad}: {other:?}"),
        }
    }
}
