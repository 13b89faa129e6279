//! Hostile input: every malformed stanza is a typed error, naming the field
//! where there is one; no DTD, no entity expansion, sizes capped.

use esession_wire::limits::{MAX_DEPTH, MAX_FIELDS, MAX_STANZA_BYTES, MAX_VALUES_PER_FIELD};
use esession_wire::{Element, Encrypted, Error, Negotiation, Stanza};

const MSG4: &str = "<init xmlns='http://www.xmpp.org/extensions/xep-0116.html#ns-init'><x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE'><value>urn:xmpp:ssn</value></field><field var='nonce'><value>ELHr+E9VB/Y=</value></field><field var='srshash'><value>SRS</value></field><field var='identity'><value>AAAA</value></field><field var='mac'><value>AAAA</value></field></x></init>";

fn msg4_with_srshash(v: &str) -> Result<esession_wire::ReceivedNegotiation, Error> {
    Negotiation::parse(&MSG4.replace("SRS", v))
}

#[test]
fn doctype_and_entities_are_refused() {
    let laughs = "<!DOCTYPE m [<!ENTITY a 'aaaaaaaa'><!ENTITY b '&a;&a;&a;&a;'>]><message xmlns='jabber:client'><body>&b;</body></message>";
    assert_eq!(Stanza::parse(laughs), Err(Error::DocType));
    let undefined = "<message xmlns='jabber:client'><body>&b;</body></message>";
    assert_eq!(
        Stanza::parse(undefined),
        Err(Error::UndefinedEntity("b".to_owned()))
    );
    let in_attr = "<message xmlns='jabber:client' to='&x;'/>";
    assert_eq!(
        Stanza::parse(in_attr),
        Err(Error::UndefinedEntity("x".to_owned()))
    );
    // The five predefined entities and character references are fine.
    let ok = Stanza::parse("<message xmlns='jabber:client'><body>&lt;&gt;&amp;&apos;&quot;&#65;&#x42;</body></message>").unwrap();
    assert_eq!(ok.children().next().unwrap().text(), "<>&'\"AB");
    assert_eq!(
        Stanza::parse("<message xmlns='jabber:client'><body>&#1;</body></message>"),
        Err(Error::InvalidChar(1))
    );
}

#[test]
fn sizes_are_capped() {
    let big = format!(
        "<message xmlns='jabber:client'><body>{}</body></message>",
        "a".repeat(MAX_STANZA_BYTES)
    );
    assert!(matches!(
        Stanza::parse(&big),
        Err(Error::TooLarge {
            what: "stanza bytes",
            ..
        })
    ));
    let deep = format!(
        "{}{}",
        "<a>".repeat(MAX_DEPTH + 1),
        "</a>".repeat(MAX_DEPTH + 1)
    );
    assert!(matches!(
        Element::parse(&deep),
        Err(Error::TooLarge {
            what: "element depth",
            ..
        })
    ));
    let fields: String = (0..=MAX_FIELDS)
        .map(|i| format!("<field var='f{i}'/>"))
        .collect();
    let form = format!(
        "<feature xmlns='http://jabber.org/protocol/feature-neg'><x xmlns='jabber:x:data' type='form'>{fields}</x></feature>"
    );
    assert!(matches!(
        Negotiation::parse(&form),
        Err(Error::TooLarge {
            what: "fields in one form",
            ..
        })
    ));
    let values: String = (0..=MAX_VALUES_PER_FIELD)
        .map(|_| "<value>AAAA</value>")
        .collect();
    let form = format!(
        "<feature xmlns='http://jabber.org/protocol/feature-neg'><x xmlns='jabber:x:data' type='form'><field var='FORM_TYPE'><value>urn:xmpp:ssn</value></field><field var='dhhashes'>{values}</field></x></feature>"
    );
    assert!(matches!(
        Negotiation::parse(&form),
        Err(Error::TooLarge {
            what: "values in one field",
            ..
        })
    ));
}

#[test]
fn bad_values_name_their_field() {
    assert!(msg4_with_srshash("2ir+fu0D5cJQr5qGqbXgRZ6+PJRkPPM64Ga8k1kjEak=").is_ok());
    for bad in [
        "2ir+fu0D5cJQr5qGqbXgRZ6+PJRkPPM64Ga8k1kjEak",
        " 2ir+fu0D5cJQr5qGqbXgRZ6+PJRkPPM64Ga8k1kjEak=",
        "2ir+fu0D5cJQr5qGqbXgRZ6+PJRkPPM64Ga8k1kjEal=",
        "",
    ] {
        let e = msg4_with_srshash(bad).unwrap_err();
        assert_eq!(e.field(), Some("srshash"), "{bad:?}: {e}");
    }
    let too_long = esession_crypto::b64::encode(&[1u8; 65]);
    assert_eq!(
        msg4_with_srshash(&too_long).unwrap_err().field(),
        Some("srshash")
    );
    // A duplicate field, a missing field.
    let dup = MSG4.replace("SRS", "AAAA").replace(
        "<field var='mac'>",
        "<field var='nonce'><value>AAAA</value></field><field var='mac'>",
    );
    assert_eq!(
        Negotiation::parse(&dup).unwrap_err(),
        Error::DuplicateField("nonce".to_owned())
    );
    let missing = MSG4
        .replace("SRS", "AAAA")
        .replace("var='srshash'", "var='other'");
    assert_eq!(
        Negotiation::parse(&missing).unwrap_err(),
        Error::MissingField("srshash".to_owned())
    );
    // Unknown FORM_TYPE (service-unavailable, D44).
    let unknown = MSG4.replace("urn:xmpp:ssn", "urn:example");
    assert_eq!(
        Negotiation::parse(&unknown).unwrap_err(),
        Error::UnknownFormType("urn:example".to_owned())
    );
}

#[test]
fn mpis_and_counters_are_strict() {
    let msg2 = |counter: &str, d: &str| {
        format!(
            "<feature xmlns='http://jabber.org/protocol/feature-neg'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xmpp:ssn</value></field><field var='accept'><value>1</value></field><field var='modp'><value>5</value></field><field var='crypt_algs'><value>aes128-ctr</value></field><field var='hash_algs'><value>sha256</value></field><field var='my_nonce'><value>ELHr+E9VB/Y=</value></field><field var='dhkeys'><value>{d}</value></field><field var='nonce'><value>ELHr+E9VB/Y=</value></field><field var='counter'><value>{counter}</value></field></x></feature>"
        )
    };
    assert!(Negotiation::parse(&msg2("AQ==", "Ag==")).is_ok());
    // D1: a leading zero byte, an empty MPI, a counter over 16 bytes.
    assert_eq!(
        Negotiation::parse(&msg2("AQ==", "AAI="))
            .unwrap_err()
            .field(),
        Some("dhkeys")
    );
    assert_eq!(
        Negotiation::parse(&msg2("", "Ag==")).unwrap_err().field(),
        Some("counter")
    );
    let long = esession_crypto::b64::encode(&[1u8; 17]);
    assert_eq!(
        Negotiation::parse(&msg2(&long, "Ag=="))
            .unwrap_err()
            .field(),
        Some("counter")
    );
    // D4: modp without leading zeros.
    let m = msg2("AQ==", "Ag==").replace("<value>5</value>", "<value>05</value>");
    assert_eq!(Negotiation::parse(&m).unwrap_err().field(), Some("modp"));
}

#[test]
fn c_element_is_strict() {
    let ns = "http://www.xmpp.org/extensions/xep-0200.html#ns";
    let ok = format!("<c xmlns='{ns}'>\n <data>AAAA</data>\n <new>1</new><mac>AAAA</mac></c>");
    assert_eq!(
        Encrypted::parse(&ok).unwrap().m_content,
        b"<data>AAAA</data><new>1</new>"
    );
    for (bad, element) in [
        (
            format!("<c xmlns='{ns}'><data a='1'>AAAA</data><mac>AAAA</mac></c>"),
            "data",
        ),
        (
            format!("<c xmlns='{ns}'><data><b/></data><mac>AAAA</mac></c>"),
            "data",
        ),
        (
            format!("<c xmlns='{ns}'><data>AAA</data><mac>AAAA</mac></c>"),
            "data",
        ),
        (
            format!("<c xmlns='{ns}'><new>0</new><mac>AAAA</mac></c>"),
            "new",
        ),
        (
            format!("<c xmlns='{ns}'><key>AAE=</key><mac>AAAA</mac></c>"),
            "key",
        ),
        (format!("<c xmlns='{ns}'><data>AAAA</data></c>"), "mac"),
        (
            format!("<c xmlns='{ns}'><mac>AAAA</mac><mac>AAAA</mac></c>"),
            "mac",
        ),
        (
            format!("<c xmlns='{ns}'><what>AAAA</what><mac>AAAA</mac></c>"),
            "what",
        ),
    ] {
        match Encrypted::parse(&bad) {
            Err(Error::InvalidEncrypted { element: e, .. }) => assert_eq!(e, element, "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    let two = format!(
        "<message xmlns='jabber:client'><c xmlns='{ns}'><mac>AAAA</mac></c><c xmlns='{ns}'><mac>AAAA</mac></c></message>"
    );
    assert_eq!(
        Stanza::parse(&two).unwrap().encrypted(),
        Err(Error::DuplicateElement("c"))
    );
    // has_encrypted answers "is there a <c/>" without parsing it: true for
    // duplicates and malformed ones (the parse then fails), false without
    // one or for a <c/> in another namespace.
    assert!(Stanza::parse(&two).unwrap().has_encrypted());
    let malformed = format!("<message xmlns='jabber:client'><c xmlns='{ns}'><what/></c></message>");
    assert!(Stanza::parse(&malformed).unwrap().has_encrypted());
    for none in [
        "<message xmlns='jabber:client'><body>hi</body></message>",
        "<message xmlns='jabber:client'><c xmlns='urn:other'/></message>",
    ] {
        assert!(!Stanza::parse(none).unwrap().has_encrypted(), "{none}");
    }
}
