//! The XEP-0163 (PEP) iq stanzas of XEP-0187 §3.1-§3.4, built as
//! [`Stanza`]s for the caller to send (sans-IO).
//!
//! ```text
//! Alice, first time:  create_node(Subscribers | Everyone)   §3.1 "Alice Creates PEP Node"
//! Alice, going off:   publish_options(node, <x/>)           §3.1 "Alice Publishes"
//! Bob:                request_options(alice, node)          §3.2 ─▶ result ─▶ options_from_result
//! Alice, back:        clear_subscriber_options()            §3.4 "Alice Stops Publishing"
//! ```

use esession_wire::{Element, NS_DATA, Stanza, StanzaKind};

use crate::Error;
use crate::store::Audience;

/// The pubsub namespace (XEP-0060).
pub const NS_PUBSUB: &str = "http://jabber.org/protocol/pubsub";

fn iq(kind: &str, id: &str) -> Stanza {
    let mut s = Stanza::new(StanzaKind::Iq);
    s.set_attr("type", kind);
    s.set_attr("id", id);
    s
}

/// One submitted node-configuration field (XEP-0060 §8.1.3, XEP-0004 §3.3):
/// `<field var='…'><value>…</value></field>`. XEP-0187's examples wrap the
/// value in `<option/>`, the syntax of a form being offered, which servers do not
/// read as a value: Prosody 0.12 then creates the node with its default access
/// model. See docs/decisions.md DO12.
fn config_field(var: &str, value: &str) -> Element {
    Element::new("field", NS_DATA)
        .with_attr("var", var)
        .with_child(Element::new("value", NS_DATA).with_text(value))
}

/// Creates the node of `audience` with the configuration of XEP-0187 §3.1:
/// no notifications, never send the last item (never pushed), and the
/// `presence` (subscribers) or `open` (everyone) access model.
pub fn create_node(audience: Audience, id: &str) -> Stanza {
    // XEP-0060 §8.1.3: the configuration is submitted (DO12).
    let form = Element::new("x", NS_DATA)
        .with_attr("type", "submit")
        .with_child(
            Element::new("field", NS_DATA)
                .with_attr("var", "FORM_TYPE")
                .with_attr("type", "hidden")
                .with_child(
                    Element::new("value", NS_DATA)
                        .with_text("http://jabber.org/protocol/pubsub#node_config"),
                ),
        )
        .with_child(config_field("pubsub#deliver_notifications", "0"))
        .with_child(config_field("pubsub#send_last_published_item", "never"))
        .with_child(config_field("pubsub#access_model", audience.access_model()));
    let mut s = iq("set", id);
    s.push(
        Element::new("pubsub", NS_PUBSUB)
            .with_child(Element::new("create", NS_PUBSUB).with_attr("node", audience.node()))
            .with_child(Element::new("configure", NS_PUBSUB).with_child(form)),
    );
    s
}

/// Publishes the options form `x` (an `<x xmlns='jabber:x:data'/>`) to the
/// node of `audience` (XEP-0187 §3.1).
pub fn publish_options(audience: Audience, x: &Element, id: &str) -> Stanza {
    let mut s = iq("set", id);
    s.push(
        Element::new("pubsub", NS_PUBSUB).with_child(
            Element::new("publish", NS_PUBSUB)
                .with_attr("node", audience.node())
                .with_child(Element::new("item", NS_PUBSUB).with_child(x.clone())),
        ),
    );
    s
}

/// Stops publishing the subscribers' options by publishing an empty item
/// (XEP-0187 §3.4, "Alice Stops Publishing Her ESession Options").
pub fn clear_subscriber_options(id: &str) -> Stanza {
    let mut s = iq("set", id);
    s.push(
        Element::new("pubsub", NS_PUBSUB).with_child(
            Element::new("publish", NS_PUBSUB)
                .with_attr("node", Audience::Subscribers.node())
                .with_child(Element::new("item", NS_PUBSUB)),
        ),
    );
    s
}

/// Bob's request for Alice's options (XEP-0187 §3.2): `audience` is
/// [`Audience::Subscribers`] if he subscribes to her presence (MUST), else
/// [`Audience::Everyone`]. `alice` is her bare JID.
pub fn request_options(alice: &str, audience: Audience, id: &str) -> Stanza {
    let mut s = iq("get", id);
    s.set_attr("to", alice);
    s.push(
        Element::new("pubsub", NS_PUBSUB)
            .with_child(Element::new("items", NS_PUBSUB).with_attr("node", audience.node())),
    );
    s
}

/// The options form in the result of [`request_options`]: the `<x/>` of the
/// last `<item/>`. `Ok(None)` if the node holds no form (for example the
/// empty item Alice publishes when she is back).
pub fn options_from_result(result: &Stanza) -> Result<Option<Element>, Error> {
    if result.stanza_type() != Some("result") {
        return Err(Error::UnexpectedStanza("not an iq result"));
    }
    let Some(pubsub) = result.element().get_child("pubsub", NS_PUBSUB) else {
        return Ok(None);
    };
    let Some(items) = pubsub.get_child("items", NS_PUBSUB) else {
        return Ok(None);
    };
    Ok(items
        .children()
        .filter(|c| c.is("item", NS_PUBSUB))
        .last()
        .and_then(|item| item.get_child("x", NS_DATA))
        .cloned())
}
