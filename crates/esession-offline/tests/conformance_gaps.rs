#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns
//! Conformance gaps of XEP-0187 that `docs/conformance.md` listed as "not yet
//! tested": Bob's request for the options Alice publishes for everyone
//! (XEP-0187 §3.2), checked against the example of the XEP itself.

use esession_offline::{Audience, pep};
use esession_wire::{Element, Stanza, StanzaKind};

/// The XEP's XML source (XSF; vectors/specs/xml/README.md).
const XEP_0187: &str = include_str!("../../../vectors/specs/xml/xep-0187.xml");

/// The XML of the `<example/>` with this caption in XEP-0187's source (its
/// CDATA), as a `jabber:client` stanza.
fn xep_example(caption: &str) -> Stanza {
    let caption = caption.replace('\'', "&apos;");
    let at = XEP_0187
        .find(&format!("<example caption='{caption}'><![CDATA["))
        .unwrap();
    let block = &XEP_0187[at..];
    let start = block.find("<![CDATA[").unwrap() + "<![CDATA[".len();
    let end = start + block[start..].find("]]>").unwrap();
    let xml = block[start..end]
        .trim()
        .replacen("<iq ", "<iq xmlns='jabber:client' ", 1);
    Stanza::parse(&xml).unwrap()
}

/// The element children (whitespace between them ignored).
fn elements(e: &Element) -> Vec<&Element> {
    e.children().collect()
}

/// Compares `ours` with the XEP's example: the same kind, type, to and id
/// (`from` is stamped by the server), and the same pubsub request.
fn assert_same_request(ours: &Stanza, example: &Stanza) {
    assert_eq!(ours.kind(), StanzaKind::Iq);
    assert_eq!(ours.kind(), example.kind());
    for attr in ["type", "to", "id"] {
        assert_eq!(ours.attr(attr), example.attr(attr), "{attr}");
    }
    assert_eq!(ours.attr("from"), None);
    let (o, x) = (elements(ours.element()), elements(example.element()));
    assert_eq!(o.len(), 1);
    assert_eq!(x.len(), 1);
    assert!(o[0].is("pubsub", pep::NS_PUBSUB) && x[0].is("pubsub", pep::NS_PUBSUB));
    let (oi, xi) = (elements(o[0]), elements(x[0]));
    assert_eq!((oi.len(), xi.len()), (1, 1));
    assert!(oi[0].is("items", pep::NS_PUBSUB) && xi[0].is("items", pep::NS_PUBSUB));
    assert_eq!(oi[0].attrs(), xi[0].attrs());
    assert!(elements(oi[0]).is_empty());
}

/// XEP-0187 §3.2 (XEP0187-020): a Bob who does not subscribe to Alice's
/// presence MUST request the options for all entities: the iq
/// `pep::request_options(.., Audience::Everyone, ..)` builds is the XEP's
/// example, node `http://www.xmpp.org/extensions/xep-0116.html#ns`, and
/// differs from the subscribers' request (the XEP's other example) only in
/// that node.
#[test]
fn request_for_everyones_options_is_the_xep_example() {
    let everyone = pep::request_options("alice@example.org", Audience::Everyone, "es4");
    let example = xep_example("Bob asks Alice's Server for her ESession Options (All Entities)");
    assert_same_request(&everyone, &example);
    let items = elements(elements(everyone.element())[0])[0];
    assert_eq!(
        items.attr("node"),
        Some("http://www.xmpp.org/extensions/xep-0116.html#ns")
    );
    assert_eq!(items.attr("node"), Some(Audience::Everyone.node()));

    let subscribers = pep::request_options("alice@example.org", Audience::Subscribers, "es4");
    let example = xep_example("Bob asks Alice's Server for her ESession Options (Subscribers)");
    assert_same_request(&subscribers, &example);
    assert_ne!(everyone.to_xml(), subscribers.to_xml());
    assert_eq!(
        everyone
            .to_xml()
            .replace(Audience::Everyone.node(), Audience::Subscribers.node()),
        subscribers.to_xml()
    );
}
