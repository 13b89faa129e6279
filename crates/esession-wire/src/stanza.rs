//! The stanza wrapper: a generic `<message/>`, `<presence/>` or `<iq/>` with
//! its envelope (to, from, type, id) and children, and the XEP-0200 rules for
//! what is encrypted and what stays in the clear (XEP-0200 §3, DECISIONS D38).

use crate::encrypted::{Encrypted, ReceivedEncrypted};
use crate::negotiation::{Negotiation, ReceivedNegotiation};
use crate::rejection::Rejection;
use crate::xml::{Element, Node};
use crate::{Error, NS_AMP, NS_CLIENT, NS_DELAY, NS_ESESSION_C, NS_FEATURE_NEG, NS_INIT, NS_SHIM};

/// The three stanza kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StanzaKind {
    /// `<message/>`.
    Message,
    /// `<presence/>`.
    Presence,
    /// `<iq/>`.
    Iq,
}

impl StanzaKind {
    /// The element name.
    pub fn as_str(self) -> &'static str {
        match self {
            StanzaKind::Message => "message",
            StanzaKind::Presence => "presence",
            StanzaKind::Iq => "iq",
        }
    }
}

/// A stanza. The envelope attributes are kept as attributes of [`Stanza::element`];
/// accessors read them. Children are kept in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stanza {
    kind: StanzaKind,
    element: Element,
}

impl Stanza {
    /// A new, empty stanza in `jabber:client`.
    pub fn new(kind: StanzaKind) -> Self {
        Stanza {
            kind,
            element: Element::new(kind.as_str(), NS_CLIENT),
        }
    }

    /// A `<message/>` with no type (D45) and a thread.
    pub fn message(to: &str, thread: &str) -> Self {
        let mut s = Stanza::new(StanzaKind::Message);
        s.set_attr("to", to);
        s.set_thread(thread);
        s
    }

    /// Wraps an element (a stanza parsed elsewhere).
    pub fn from_element(element: Element) -> Result<Self, Error> {
        let kind = match element.name() {
            "message" => StanzaKind::Message,
            "presence" => StanzaKind::Presence,
            "iq" => StanzaKind::Iq,
            other => {
                return Err(Error::UnexpectedElement {
                    expected: "message, presence or iq",
                    found: crate::error::wire_name(other),
                });
            }
        };
        Ok(Stanza { kind, element })
    }

    /// Parses a stanza's text (strict parser, capped sizes).
    pub fn parse(text: &str) -> Result<Self, Error> {
        Self::from_element(Element::parse(text)?)
    }

    /// The kind.
    pub fn kind(&self) -> StanzaKind {
        self.kind
    }

    /// The stanza element.
    pub fn element(&self) -> &Element {
        &self.element
    }

    /// Consumes the stanza.
    pub fn into_element(self) -> Element {
        self.element
    }

    /// Serializes compactly.
    pub fn to_xml(&self) -> String {
        self.element.to_xml()
    }

    /// An envelope attribute (`to`, `from`, `id`, `type`).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.element.attr(name)
    }

    /// Sets an envelope attribute.
    pub fn set_attr(&mut self, name: &str, value: &str) {
        self.element.set_attr(name, value);
    }

    /// `to`.
    pub fn to(&self) -> Option<&str> {
        self.attr("to")
    }

    /// `from`.
    pub fn from(&self) -> Option<&str> {
        self.attr("from")
    }

    /// `type`.
    pub fn stanza_type(&self) -> Option<&str> {
        self.attr("type")
    }

    /// `id`.
    pub fn id(&self) -> Option<&str> {
        self.attr("id")
    }

    fn ns(&self) -> String {
        self.element.ns().to_owned()
    }

    /// The `<thread/>` text.
    pub fn thread(&self) -> Option<String> {
        let ns = self.ns();
        self.element.get_child("thread", &ns).map(Element::text)
    }

    /// Sets (or replaces) the `<thread/>`.
    pub fn set_thread(&mut self, thread: &str) {
        let ns = self.ns();
        self.element
            .nodes_mut()
            .retain(|n| !matches!(n, Node::Element(e) if e.is("thread", &ns)));
        self.element
            .push_child(Element::new("thread", ns).with_text(thread));
    }

    /// The child elements.
    pub fn children(&self) -> impl Iterator<Item = &Element> {
        self.element.children()
    }

    /// Appends a child element.
    pub fn push(&mut self, child: Element) {
        self.element.push_child(child);
    }

    fn only_child(
        &self,
        pred: impl Fn(&Element) -> bool,
        name: &'static str,
    ) -> Result<Option<&Element>, Error> {
        let mut it = self.element.children().filter(|c| pred(c));
        let first = it.next();
        if first.is_some() && it.next().is_some() {
            return Err(Error::DuplicateElement(name));
        }
        Ok(first)
    }

    /// The negotiation form in this stanza, if any (`<feature/>` or `<init/>`
    /// with a data form), with its received tree for normalization.
    pub fn negotiation(&self) -> Result<Option<ReceivedNegotiation>, Error> {
        let el = self.only_child(
            |c| c.is("feature", NS_FEATURE_NEG) || c.is("init", NS_INIT),
            "feature/init",
        )?;
        el.map(|e| Negotiation::parse_element(e.clone()))
            .transpose()
    }

    /// The XEP-0200 `<c/>` child, if any, with its m_content (D39). A stanza
    /// carries at most one (XEP-0200 §3).
    pub fn encrypted(&self) -> Result<Option<ReceivedEncrypted>, Error> {
        self.only_child(|c| c.is("c", NS_ESESSION_C), "c")?
            .map(Encrypted::from_element)
            .transpose()
    }

    /// True when the stanza has a `<c/>` child (one or more), without parsing
    /// it: the cheap test for "this is encrypted traffic" before
    /// [`Stanza::encrypted`] does the work once.
    pub fn has_encrypted(&self) -> bool {
        self.element.children().any(|c| c.is("c", NS_ESESSION_C))
    }

    /// The rejection in an `type='error'` stanza, if any (D44).
    pub fn rejection(&self) -> Result<Option<Rejection>, Error> {
        if self.stanza_type() != Some("error") {
            return Ok(None);
        }
        let ns = self.ns();
        self.only_child(|c| c.is("error", &ns), "error")?
            .map(Rejection::from_element)
            .transpose()
    }

    /// Removes the negotiation element (`<feature/>` or `<init/>`) and
    /// returns it: what is left is the clear envelope and `<c/>`, opened on
    /// its own (the content beside a 3-message msg3 or an offline init).
    pub fn take_negotiation(&mut self) -> Option<Element> {
        let nodes = self.element.nodes_mut();
        let at = nodes.iter().position(|n| {
            matches!(n, Node::Element(e) if e.is("feature", NS_FEATURE_NEG) || e.is("init", NS_INIT))
        })?;
        match nodes.remove(at) {
            Node::Element(e) => Some(e),
            _ => None,
        }
    }

    /// Puts the negotiation element `form` before `<c/>` (or last), as the
    /// XEP-0187 §3.3 example places the offline init.
    pub fn insert_negotiation(&mut self, form: &crate::negotiation::WireForm) {
        let nodes = self.element.nodes_mut();
        let at = nodes
            .iter()
            .position(|n| matches!(n, Node::Element(e) if e.is("c", NS_ESESSION_C)))
            .unwrap_or(nodes.len());
        nodes.insert(at, Node::Element(form.element().clone()));
    }

    /// Appends the XEP-0079 rule XEP-0187 §3.3 asks for under match_resource:
    /// `<amp><rule action='error' condition='match-resource' value='exact'/></amp>`.
    pub fn push_amp_match_resource(&mut self) {
        self.element.push_child(
            Element::new("amp", NS_AMP).with_child(
                Element::new("rule", NS_AMP)
                    .with_attr("action", "error")
                    .with_attr("condition", "match-resource")
                    .with_attr("value", "exact"),
            ),
        );
    }

    /// The text of the XEP-0131 SHIM header `name`, if the stanza has one.
    pub fn shim_header(&self, name: &str) -> Option<String> {
        self.element
            .children()
            .filter(|c| c.is("headers", NS_SHIM))
            .flat_map(|c| c.children())
            .find(|h| h.is("header", NS_SHIM) && h.attr("name") == Some(name))
            .map(Element::text)
    }

    /// Appends `<headers xmlns='…shim'><header name='name'>value</header></headers>`
    /// (XEP-0131).
    pub fn push_shim_header(&mut self, name: &str, value: &str) {
        self.element.push_child(
            Element::new("headers", NS_SHIM).with_child(
                Element::new("header", NS_SHIM)
                    .with_attr("name", name)
                    .with_text(value),
            ),
        );
    }

    /// The text of the first `<body/>` in the stanza's namespace, if any.
    pub fn body(&self) -> Option<String> {
        let ns = self.ns();
        self.element.get_child("body", &ns).map(Element::text)
    }

    /// Appends `<body>text</body>` in the stanza's namespace.
    pub fn push_body(&mut self, text: &str) {
        let ns = self.ns();
        self.element
            .push_child(Element::new("body", ns).with_text(text));
    }

    /// Adds a negotiation form (D45: the stanza has no type and no body).
    pub fn push_negotiation(&mut self, form: &crate::negotiation::WireForm) {
        self.element.push_child(form.element().clone());
    }

    /// True for the children XEP-0200 §3 keeps in the clear: `<thread/>`,
    /// `<error/>` (with its condition), `<amp/>`, and `<c/>` itself (D38).
    pub fn stays_clear(&self, child: &Element) -> bool {
        Self::stays_clear_in(self.element.ns(), child)
    }

    fn stays_clear_in(ns: &str, child: &Element) -> bool {
        child.is("thread", ns)
            || child.is("error", ns)
            || child.ns() == NS_AMP
            || child.is("c", NS_ESESSION_C)
    }

    /// m (D38): the children to encrypt, serialized in order with no text
    /// between them, xmlns only where a child's namespace differs from the
    /// stanza's. Empty if there is nothing to encrypt.
    pub fn encryptable_content(&self) -> String {
        let ns = self.ns();
        let mut m = String::new();
        for c in self.element.children().filter(|c| !self.stays_clear(c)) {
            m.push_str(&c.to_xml_in(&ns));
        }
        m
    }

    /// Removes the children to encrypt (and all text), and puts `c` in their
    /// place: after the clear children, as in the XEP-0200 examples.
    pub fn replace_content_with(&mut self, c: &Encrypted) {
        self.replace_content_with_element(c.to_element());
    }

    /// [`Stanza::replace_content_with`] for a `<c/>` element already built
    /// (by [`Encrypted::to_element_with_mac`]).
    pub fn replace_content_with_element(&mut self, c: Element) {
        let ns = self.ns();
        self.element
            .nodes_mut()
            .retain(|n| matches!(n, Node::Element(e) if Self::stays_clear_in(&ns, e)));
        self.element.push_child(c);
    }

    /// After decryption: parses m as `<w xmlns=stanza-ns>m</w>` (D38) and puts
    /// its children in place of `<c/>`. Unencrypted siblings other than
    /// thread, amp, error and delay are discarded (D38).
    pub fn insert_decrypted(&mut self, m: &str) -> Result<(), Error> {
        let ns = self.ns();
        let w = Element::parse_fragment(m, &ns)?;
        let decrypted = w
            .nodes()
            .iter()
            .filter(|n| matches!(n, Node::Element(_)))
            .cloned();
        let mut nodes: Vec<Node> = Vec::new();
        let mut decrypted = Some(decrypted);
        for n in self.element.nodes() {
            let Node::Element(e) = n else { continue };
            if e.is("c", NS_ESESSION_C) {
                if let Some(d) = decrypted.take() {
                    nodes.extend(d);
                }
            } else if e.is("thread", &ns)
                || e.is("error", &ns)
                || e.ns() == NS_AMP
                || e.ns() == NS_DELAY
            {
                nodes.push(n.clone());
            }
        }
        if let Some(d) = decrypted {
            nodes.extend(d);
        }
        *self.element.nodes_mut() = nodes;
        Ok(())
    }
}

/// The bare JID (`user@host`) of a full JID (RFC 7622 §3.2): everything before
/// the first `/`.
pub fn bare(jid: &str) -> &str {
    jid.split_once('/').map_or(jid, |(b, _)| b)
}
