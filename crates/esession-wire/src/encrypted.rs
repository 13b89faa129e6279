//! The XEP-0200 `<c xmlns='http://www.xmpp.org/extensions/xep-0200.html#ns'/>`
//! element and m_content (DECISIONS D39-D41).
//!
//! The wire crate does no cryptography: it reads and writes `<c/>`, checks that
//! every value is strict base64 (D3) or a decimal, and computes m_content, the
//! bytes that go into `a_mac = HMAC(KM, m_content ‖ mpi(C))` (D40). For a
//! received `<c/>`, m_content comes from the received children in received
//! order (D39).

use esession_crypto::{b64, mpi};

use crate::limits::{MAX_DATA_BYTES, MAX_HASH_BYTES, MAX_MPI_BYTES, MAX_OLD_KEYS};
use crate::xml::{Element, Node, escape_text_into};
use crate::{Error, NS_ESESSION_C};

/// The content of a `<c/>` element.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Encrypted {
    /// m_final (absent in a stanza with nothing to encrypt).
    pub data: Option<Vec<u8>>,
    /// `<new/>`: how many `<key/>` stanzas were received since the last sent one.
    pub new: Option<u32>,
    /// `<key/>`: mpi(e) of a rekey (D41).
    pub key: Option<Vec<u8>>,
    /// `<old/>`: retired MAC keys published in the clear (D41).
    pub old: Vec<Vec<u8>>,
    /// `<mac/>`: a_mac.
    pub mac: Vec<u8>,
}

/// A received `<c/>`: the values and the m_content computed from the element
/// as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedEncrypted {
    /// The values.
    pub content: Encrypted,
    /// m_content (D39), from the received children in received order.
    pub m_content: Vec<u8>,
}

fn bad(element: &str, reason: &'static str) -> Error {
    Error::InvalidEncrypted {
        element: crate::error::wire_name(element),
        reason,
    }
}

/// The element's own text: borrowed when it is one text node (every `<c/>`
/// child as parsed), joined otherwise.
fn own_text(e: &Element) -> std::borrow::Cow<'_, str> {
    match e.nodes() {
        [] => std::borrow::Cow::Borrowed(""),
        [Node::Text(t)] => std::borrow::Cow::Borrowed(t),
        _ => std::borrow::Cow::Owned(e.text()),
    }
}

fn b64_child(name: &str, text: &str, min: usize, max: usize) -> Result<Vec<u8>, Error> {
    let v = b64::decode_bounded(text, max).map_err(|e| match e {
        esession_crypto::Error::TooLong { .. } => bad(name, "value too long"),
        _ => bad(name, "invalid base64"),
    })?;
    if v.len() < min {
        return Err(bad(name, "value too short"));
    }
    Ok(v)
}

impl Encrypted {
    /// Reads a `<c/>` element and computes its m_content (D39).
    ///
    /// Children must be `data`, `new`, `key`, `old` or `mac` in the XEP-0200
    /// namespace, each with text only and no attributes; data, new, key and mac
    /// at most once, mac exactly once. Text between children is ignored.
    pub fn from_element(c: &Element) -> Result<ReceivedEncrypted, Error> {
        if !c.is("c", NS_ESESSION_C) {
            return Err(Error::UnexpectedElement {
                expected: "{http://www.xmpp.org/extensions/xep-0200.html#ns}c",
                found: crate::error::wire_name(c.name()),
            });
        }
        let mut out = Encrypted::default();
        let mut mac = None;
        let mut m_content = String::with_capacity(
            c.children()
                .map(|child| own_text(child).len() + 2 * child.name().len() + 5)
                .sum(),
        );
        for child in c.children() {
            let name = child.name();
            if child.ns() != NS_ESESSION_C {
                return Err(bad(name, "element in a foreign namespace"));
            }
            if !child.attrs().is_empty() {
                return Err(bad(name, "attributes are not allowed"));
            }
            if child.has_child_elements() {
                return Err(bad(name, "child elements are not allowed"));
            }
            let text = own_text(child);
            match name {
                "data" if out.data.is_none() => {
                    out.data = Some(b64_child(name, &text, 0, MAX_DATA_BYTES)?);
                }
                "new" if out.new.is_none() => {
                    // xs:positiveInteger, written in decimal without leading zeros (D4).
                    let ok = !text.is_empty()
                        && text.len() <= 10
                        && text.bytes().all(|b| b.is_ascii_digit())
                        && !text.starts_with('0');
                    let n = if ok { text.parse::<u32>().ok() } else { None };
                    out.new = Some(n.ok_or_else(|| bad(name, "not a positive decimal integer"))?);
                }
                "key" if out.key.is_none() => {
                    let k = b64_child(name, &text, 1, MAX_MPI_BYTES)?;
                    mpi::decode(&k).map_err(|_| bad(name, "not a minimal MPI"))?;
                    out.key = Some(k);
                }
                "old" => {
                    if out.old.len() >= MAX_OLD_KEYS {
                        return Err(Error::TooLarge {
                            what: "<old/> elements",
                            len: out.old.len() + 1,
                            max: MAX_OLD_KEYS,
                        });
                    }
                    out.old.push(b64_child(name, &text, 1, MAX_HASH_BYTES)?);
                }
                "mac" if mac.is_none() => {
                    mac = Some(b64_child(name, &text, 1, MAX_HASH_BYTES)?);
                    continue;
                }
                "data" | "new" | "key" | "mac" => return Err(bad(name, "duplicate element")),
                _ => return Err(bad(name, "unknown element")),
            }
            // D39: <name>text</name>, no attributes, no xmlns.
            m_content.push('<');
            m_content.push_str(name);
            m_content.push('>');
            escape_text_into(&mut m_content, &text);
            m_content.push_str("</");
            m_content.push_str(name);
            m_content.push('>');
        }
        out.mac = mac.ok_or_else(|| bad("mac", "missing"))?;
        Ok(ReceivedEncrypted {
            content: out,
            m_content: m_content.into_bytes(),
        })
    }

    /// Parses the text of a `<c/>` element.
    pub fn parse(text: &str) -> Result<ReceivedEncrypted, Error> {
        Self::from_element(&Element::parse(text)?)
    }

    /// The children but `<mac/>` as (name, text), each value encoded once.
    fn children(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::with_capacity(3 + self.old.len());
        if let Some(d) = &self.data {
            v.push(("data", b64::encode(d)));
        }
        if let Some(n) = self.new {
            v.push(("new", n.to_string()));
        }
        if let Some(k) = &self.key {
            v.push(("key", b64::encode(k)));
        }
        for o in &self.old {
            v.push(("old", b64::encode(o)));
        }
        v
    }

    /// m_content of the `<c/>` this value serializes to (D39): each child but
    /// `<mac/>` in the order data, new, key, old*, as `<name>text</name>`.
    /// Equal to [`ReceivedEncrypted::m_content`] of the serialized element.
    pub fn m_content(&self) -> Vec<u8> {
        let mut s = String::new();
        for (name, text) in self.children() {
            s.push('<');
            s.push_str(name);
            s.push('>');
            s.push_str(&text);
            s.push_str("</");
            s.push_str(name);
            s.push('>');
        }
        s.into_bytes()
    }

    /// The `<c/>` element: children data, new, key, old*, mac (D39).
    pub fn to_element(&self) -> Element {
        Self::element(self.children(), &self.mac)
    }

    /// Sets `mac` to `mac_of(m_content)` and returns the `<c/>` element, for
    /// a sender: each child's text is encoded once for both, and m_content
    /// reaches `mac_of` as its pieces (`<`, name, `>`, text, `</`, name,
    /// `>` per child, D39), so the MAC is fed without a joined copy.
    pub fn to_element_with_mac<E>(
        &mut self,
        mac_of: impl FnOnce(&[&[u8]]) -> Result<Vec<u8>, E>,
    ) -> Result<Element, E> {
        let children = self.children();
        let mut pieces: Vec<&[u8]> = Vec::with_capacity(7 * children.len() + 1);
        for (name, text) in &children {
            pieces.extend_from_slice(&[
                b"<",
                name.as_bytes(),
                b">",
                text.as_bytes(),
                b"</",
                name.as_bytes(),
                b">",
            ]);
        }
        self.mac = mac_of(&pieces)?;
        drop(pieces);
        Ok(Self::element(children, &self.mac))
    }

    fn element(children: Vec<(&'static str, String)>, mac: &[u8]) -> Element {
        let mut c = Element::new("c", NS_ESESSION_C);
        for (name, text) in children {
            c.push_child(Element::new(name, NS_ESESSION_C).with_text(text));
        }
        c.push_child(Element::new("mac", NS_ESESSION_C).with_text(b64::encode(mac)));
        c
    }
}
