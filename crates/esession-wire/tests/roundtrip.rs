//! proptest round trips: parse(serialize(m)) == m for every message type, with
//! values containing `<`, `&`, quotes, whitespace and non-ASCII text; the
//! normalized bytes of what is sent equal those of what is received, and a
//! pretty-printed copy normalizes (xep profile) to the same bytes.

mod common;

use common::*;
use esession_wire::{
    Condition, Element, Encrypted, Identity, KeyValue, Negotiation, NormProfile, OfflineOptions,
    PubKeyPart, Rejection, Stanza, WireForm,
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn negotiation_round_trip(m in negotiation()) {
        let wire = m.to_wire().unwrap();
        let mut stanza = Stanza::message("bob@example.com/laptop", "ffd7076498744578d10edabfe7f4a866");
        stanza.push_negotiation(&wire);
        let text = stanza.to_xml();
        let back = Stanza::parse(&text).unwrap().negotiation().unwrap().unwrap();
        prop_assert_eq!(&back.message, &m);
        for p in [NormProfile::Xep, NormProfile::Gajim] {
            prop_assert_eq!(back.form.form_bytes(p).unwrap(), wire.form_bytes(p).unwrap());
        }
        // D19: what we send has no whitespace and, unless a value is the empty
        // string, no empty elements, so the two profiles agree on it.
        if !wire.element().to_xml().contains("<value/>") {
            prop_assert_eq!(
                String::from_utf8(wire.form_bytes(NormProfile::Xep).unwrap()).unwrap(),
                String::from_utf8(wire.form_bytes(NormProfile::Gajim).unwrap()).unwrap()
            );
        }
    }

    #[test]
    fn pretty_printed_copy_normalizes_identically(m in negotiation()) {
        let wire = m.to_wire().unwrap();
        let pretty = pretty(wire.element());
        let again = Negotiation::parse(&pretty).unwrap();
        prop_assert_eq!(&again.message, &m);
        prop_assert_eq!(again.form.form_bytes(NormProfile::Xep).unwrap(), wire.form_bytes(NormProfile::Xep).unwrap());
    }

    #[test]
    fn offline_options_round_trip(o in offline_options()) {
        let wire = o.to_wire().unwrap();
        let (back, form) = OfflineOptions::parse_element(Element::parse(&wire.element().to_xml()).unwrap()).unwrap();
        prop_assert_eq!(&back, &o);
        // D48: the signature input excludes signs, so it does not change when signs do.
        let mut unsigned = o.clone();
        unsigned.signs.clear();
        prop_assert_eq!(form.form_bytes(NormProfile::Xep).unwrap(), unsigned.to_wire().unwrap().form_bytes(NormProfile::Xep).unwrap());
        let pretty_form = WireForm::parse(&pretty(wire.element())).unwrap();
        prop_assert_eq!(pretty_form.form_bytes(NormProfile::Xep).unwrap(), form.form_bytes(NormProfile::Xep).unwrap());
    }

    #[test]
    fn encrypted_round_trip(c in encrypted(), body in text()) {
        let mut stanza = Stanza::message("bob@example.com/laptop", "t1");
        stanza.push(Element::new("body", "jabber:client").with_text(body.clone()));
        let m = stanza.encryptable_content();
        stanza.replace_content_with(&c);
        let text = stanza.to_xml();
        let parsed = Stanza::parse(&text).unwrap();
        let rc = parsed.encrypted().unwrap().unwrap();
        prop_assert_eq!(&rc.content, &c);
        prop_assert_eq!(&rc.m_content, &c.m_content());
        let pretty_c = Encrypted::parse(&pretty(&c.to_element())).unwrap();
        prop_assert_eq!(&pretty_c.m_content, &c.m_content());
        // Decrypted content goes back in place of <c/> (D38).
        let mut parsed = parsed;
        parsed.insert_decrypted(&m).unwrap();
        prop_assert_eq!(parsed.encryptable_content(), m);
        prop_assert_eq!(parsed.thread(), Some("t1".to_owned()));
    }

    #[test]
    fn rejection_round_trip(fields in proptest::collection::vec(text(), 0..4), cond in 0usize..4) {
        let condition = [Condition::NotAcceptable, Condition::FeatureNotImplemented, Condition::ServiceUnavailable, Condition::Other("bad-request".to_owned())][cond].clone();
        let r = Rejection::new(condition, fields);
        let mut stanza = Stanza::message("a@example.org", "t");
        stanza.set_attr("type", "error");
        stanza.push(r.to_element("jabber:client"));
        let back = Stanza::parse(&stanza.to_xml()).unwrap().rejection().unwrap().unwrap();
        prop_assert_eq!(back, r);
    }

    #[test]
    fn key_and_identity_round_trip(n in mpi(), e in mpi(), sig in bytes(1, 256), fp in bytes(1, 64), which in 0usize..3) {
        let key = match which {
            0 => KeyValue::Rsa { modulus: n, exponent: e },
            1 => KeyValue::Dsa { p: n.clone(), q: e.clone(), g: n, y: e },
            _ => KeyValue::EcP256 { public_key: { let mut v = vec![4u8]; v.extend(std::iter::repeat_n(7u8, 64)); v } },
        };
        let norm = key.normalized().unwrap();
        prop_assert_eq!(KeyValue::from_normalized(&norm).unwrap(), key.clone());
        let id = Identity { pubkey: PubKeyPart::Key(key), signature: sig.clone() };
        let (back, raw) = Identity::parse(&id.to_bytes().unwrap()).unwrap();
        prop_assert_eq!(back, id);
        prop_assert_eq!(raw, norm);
        let id = Identity { pubkey: PubKeyPart::Fingerprint(fp), signature: sig };
        prop_assert_eq!(Identity::parse(&id.to_bytes().unwrap()).unwrap().0, id);
    }

    #[test]
    fn minidom_round_trip(m in negotiation()) {
        let wire = m.to_wire().unwrap();
        let md = minidom::Element::try_from(wire.element()).unwrap();
        let back = Element::try_from(&md).unwrap();
        prop_assert_eq!(&back, wire.element());
        prop_assert_eq!(Negotiation::parse_element(back).unwrap().message, m);
    }
}
