//! xmpp-rs glue (feature `xmpp-rs`): conversions between our [`Stanza`] and
//! `minidom::Element` / xmpp-parsers types, and [`flush`], which moves an
//! [`Account`]'s stanzas over a [tokio-xmpp 6](tokio_xmpp) client.
//!
//! ```text
//!  tokio_xmpp::Client ── Event::Stanza(s) ──▶ from_parsers(s) ──▶ Account::handle_stanza
//!        ▲                                      messages: message_to_stanza(m):
//!        │                                        envelope from m's fields,
//!        │                                        payloads (<feature/>, <c/>, <init/>)
//!        │                                        converted node by node
//!        └── Client::send_stanza(to_parsers(s)) ◀── Event::Send ── flush(account, client)
//!                                                   other events ──▶ returned to the app
//! ```
//!
//! ## Received stanzas: never a re-serialized xmpp-parsers form
//!
//! tokio-xmpp 6 hands the application typed xmpp-parsers stanzas. Turning a
//! typed `Message` back into XML (`minidom::Element::from(message)`) rebuilds
//! it in xmpp-parsers' own order: bodies and subjects sorted by language,
//! the thread and bodies first, unknown attributes dropped. The ESession
//! hashes and MACs are computed over what the sender wrote (formA/formB,
//! DECISIONS D16-D18; m_content, D39), so an endpoint must never see such a
//! rebuilt form. [`message_to_stanza`] therefore takes the ESession-bearing
//! children (the `<feature/>` negotiation form and the XEP-0200 `<c/>`)
//! from `Message::payloads`, which xmpp-parsers keeps as the received
//! `minidom::Element` trees, and converts them node by node with
//! esession-wire's own conversion (text nodes verbatim, in received order,
//! D16); only the envelope (`from`, `to`, `id`, `type`, `<thread/>`, clear
//! `<body/>`s) is taken from the typed fields, none of which is hashed or
//! MACed. A client that reads raw bytes off the socket can instead give the
//! endpoint [`Stanza::parse`] of the bytes it received.
//!
//! Servers stamp `xml:lang` on stanzas (Prosody does), so a clear body
//! arrives under a language key of `Message::bodies`; the converted stanza
//! carries it as `<body xml:lang='…'>`.
//!
//! ## Sending
//!
//! [`to_parsers`] converts our stanza to a `minidom::Element` and then to the
//! xmpp-parsers stanza tokio-xmpp sends. The ESession children again travel as
//! untouched payload elements.

use esession_crypto::rand_core::CryptoRng;
use esession_offline::OfflineStore;
use esession_wire::xml::{Attribute, NS_XML};
use esession_wire::{Element, NS_CLIENT, NS_ESESSION_C, NS_FEATURE_NEG, NS_INIT, Stanza};
use xmpp_parsers::iq::Iq;
use xmpp_parsers::message::{Message, MessageType};
use xmpp_parsers::presence::Presence;

use crate::{Account, Event};

pub use tokio_xmpp;
pub use xmpp_parsers;

/// What can go wrong between an endpoint and xmpp-rs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Our XML layer refused the element (a bad name, too deep, too large).
    #[error("xml: {0}")]
    Wire(#[from] esession_wire::Error),
    /// xmpp-parsers refused the element.
    #[error("xmpp-parsers: {0}")]
    Parsers(String),
    /// The account refused the stanza or the operation.
    #[error("{0}")]
    Account(#[from] crate::AccountError),
    /// The stanza could not be written to the XMPP stream.
    #[error("cannot send: {0}")]
    Send(#[from] std::io::Error),
}

/// Our stanza as a `minidom::Element`.
pub fn to_minidom(stanza: &Stanza) -> Result<minidom::Element, Error> {
    Ok(minidom::Element::try_from(stanza.element())?)
}

/// A received `minidom::Element` (for example a stanza a client read itself)
/// as our stanza, converted node by node (text verbatim, D16).
pub fn from_minidom(element: &minidom::Element) -> Result<Stanza, Error> {
    Ok(Stanza::from_element(Element::try_from(element)?)?)
}

/// Our stanza as the xmpp-parsers stanza tokio-xmpp sends.
pub fn to_parsers(stanza: &Stanza) -> Result<xmpp_parsers::stanza::Stanza, Error> {
    let el = to_minidom(stanza)?;
    fn bad(e: impl std::fmt::Display) -> Error {
        Error::Parsers(e.to_string())
    }
    Ok(match el.name() {
        "message" => xmpp_parsers::stanza::Stanza::Message(Message::try_from(el).map_err(bad)?),
        "iq" => xmpp_parsers::stanza::Stanza::Iq(Iq::try_from(el).map_err(bad)?),
        _ => xmpp_parsers::stanza::Stanza::Presence(Presence::try_from(el).map_err(bad)?),
    })
}

fn message_type(t: &MessageType) -> Option<&'static str> {
    match t {
        MessageType::Chat => Some("chat"),
        MessageType::Error => Some("error"),
        MessageType::Groupchat => Some("groupchat"),
        MessageType::Headline => Some("headline"),
        // The default: absent and `normal` mean the same (RFC 6121 §5.2.2).
        MessageType::Normal => None,
    }
}

fn with_lang(mut el: Element, lang: &str) -> Element {
    if !lang.is_empty() {
        el.push_attribute(Attribute {
            ns: Some(NS_XML.to_owned()),
            name: "lang".to_owned(),
            value: lang.to_owned(),
        });
    }
    el
}

/// A received xmpp-parsers message as our stanza. The envelope comes from the
/// typed fields; every payload (the negotiation form, `<c/>`, anything else)
/// is converted from the received tree, never re-serialized (see the module
/// documentation).
pub fn message_to_stanza(m: &Message) -> Result<Stanza, Error> {
    let mut el = Element::new("message", NS_CLIENT);
    if let Some(from) = &m.from {
        el.set_attr("from", from.to_string());
    }
    if let Some(to) = &m.to {
        el.set_attr("to", to.to_string());
    }
    if let Some(id) = &m.id {
        el.set_attr("id", id.0.clone());
    }
    if let Some(t) = message_type(&m.type_) {
        el.set_attr("type", t);
    }
    if let Some(thread) = &m.thread {
        let mut t = Element::new("thread", NS_CLIENT).with_text(thread.id.clone());
        if let Some(parent) = &thread.parent {
            t = t.with_attr("parent", parent.clone());
        }
        el.push_child(t);
    }
    for (lang, text) in &m.subjects {
        el.push_child(with_lang(
            Element::new("subject", NS_CLIENT).with_text(text.clone()),
            lang,
        ));
    }
    for (lang, text) in &m.bodies {
        el.push_child(with_lang(
            Element::new("body", NS_CLIENT).with_text(text.clone()),
            lang,
        ));
    }
    for p in &m.payloads {
        el.push_child(Element::try_from(p)?);
    }
    Ok(Stanza::from_element(el)?)
}

/// The payload of an iq result (as tokio-xmpp's `IqResponse::Result` gives
/// it) as our `<iq type='result'/>`, converted from the received tree: what
/// `esession_offline::pep::options_from_result` reads.
pub fn iq_result_to_stanza(
    from: Option<&str>,
    payload: Option<&minidom::Element>,
) -> Result<Stanza, Error> {
    let mut el = Element::new("iq", NS_CLIENT).with_attr("type", "result");
    if let Some(from) = from {
        el = el.with_attr("from", from);
    }
    if let Some(p) = payload {
        el.push_child(Element::try_from(p)?);
    }
    Ok(Stanza::from_element(el)?)
}

/// Any received xmpp-parsers stanza as our stanza, for
/// [`Account::handle_stanza`](crate::Account::handle_stanza): messages by
/// [`message_to_stanza`] (payloads verbatim); presence and iq through
/// minidom (neither is hashed or MACed; an iq's payload is kept as
/// xmpp-parsers received it).
pub fn from_parsers(stanza: xmpp_parsers::stanza::Stanza) -> Result<Stanza, Error> {
    match stanza {
        xmpp_parsers::stanza::Stanza::Message(m) => message_to_stanza(&m),
        xmpp_parsers::stanza::Stanza::Presence(p) => from_minidom(&minidom::Element::from(p)),
        xmpp_parsers::stanza::Stanza::Iq(iq) => from_minidom(&minidom::Element::from(iq)),
    }
}

/// Whether a received message belongs to an ESession: it carries a
/// XEP-0155 negotiation form, the `<init/>` wrapper of XEP-0116 message 4 and
/// of offline inits (XEP-0116 §4.6, XEP-0187 §3.3), or a XEP-0200 `<c/>`.
pub fn is_esession(m: &Message) -> bool {
    m.payloads.iter().any(|p| {
        p.is("feature", NS_FEATURE_NEG) || p.is("init", NS_INIT) || p.is("c", NS_ESESSION_C)
    })
}

/// Sends every [`Event::Send`] the account queued over `client`, in order,
/// and returns the account's other events for the application.
pub async fn flush<S: OfflineStore, R: CryptoRng>(
    account: &mut Account<S, R>,
    client: &mut tokio_xmpp::Client,
) -> Result<Vec<Event>, Error> {
    let mut events = Vec::new();
    while let Some(event) = account.poll_event() {
        match event {
            Event::Send(s) => {
                client.send_stanza(to_parsers(&s)?).await?;
            }
            other => events.push(other),
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECEIVED: &str = "<message xmlns='jabber:client' xml:lang='en' from='bob@example.com/laptop' to='alice@example.org/pda' type='chat' id='m1'><thread>t1</thread><c xmlns='http://www.xmpp.org/extensions/xep-0200.html#ns'><data>AAEC</data><mac>BwgJ</mac></c><body>fallback</body></message>";

    #[test]
    fn message_4_in_its_init_wrapper_is_an_esession_message() {
        let xml = "<message xmlns='jabber:client' from='bob@example.com/laptop' to='alice@example.org/pda'><thread>t1</thread><init xmlns='http://www.xmpp.org/extensions/xep-0116.html#ns-init'><x type='result' xmlns='jabber:x:data'><field var='FORM_TYPE'><value>urn:xmpp:ssn</value></field></x></init></message>";
        let el: minidom::Element = xml.parse().unwrap();
        let m = Message::try_from(el).unwrap();
        assert!(is_esession(&m));
        let plain: minidom::Element = "<message xmlns='jabber:client'><body>hi</body></message>"
            .parse()
            .unwrap();
        assert!(!is_esession(&Message::try_from(plain).unwrap()));
    }

    #[test]
    fn received_payloads_are_kept_verbatim() {
        let el: minidom::Element = RECEIVED.parse().unwrap();
        let m = Message::try_from(el.clone()).unwrap();
        assert!(is_esession(&m));
        let ours = message_to_stanza(&m).unwrap();
        let direct = from_minidom(&el).unwrap();
        // The <c/> of both conversions is the same tree, byte for byte.
        let c = |s: &Stanza| {
            s.children()
                .find(|c| c.is("c", NS_ESESSION_C))
                .unwrap()
                .to_xml()
        };
        assert_eq!(c(&ours), c(&direct));
        assert_eq!(ours.thread().as_deref(), Some("t1"));
        assert_eq!(ours.from(), Some("bob@example.com/laptop"));
        assert_eq!(ours.stanza_type(), Some("chat"));
        // The body arrives under the server's language (xml:lang stamped).
        assert!(m.bodies.keys().any(|l| l.0 == "en"));
        assert!(
            ours.to_xml().contains("xml:lang=\"en\"") || ours.to_xml().contains("xml:lang='en'")
        );
    }

    #[test]
    fn sending_keeps_the_c_element() {
        let ours = Stanza::parse(RECEIVED).unwrap();
        let xmpp_parsers::stanza::Stanza::Message(m) = to_parsers(&ours).unwrap() else {
            panic!("not a message");
        };
        let back = message_to_stanza(&m).unwrap();
        let c = |s: &Stanza| {
            s.children()
                .find(|c| c.is("c", NS_ESESSION_C))
                .unwrap()
                .to_xml()
        };
        assert_eq!(c(&back), c(&ours));
        // xmpp-parsers files the body under the message's xml:lang and writes
        // that language on the body itself: the same text, spelled explicitly.
        assert_eq!(
            back.to_xml().matches("fallback").count(),
            ours.to_xml().matches("fallback").count()
        );
        assert!(
            back.to_xml()
                .contains("<body xml:lang=\"en\">fallback</body>")
        );
    }
}
