//! Conversions between [`crate::Element`] and `minidom::Element`, the tree
//! xmpp-parsers and tokio-xmpp use (feature `minidom`, on by default).
//!
//! minidom keeps text nodes in order, so a stanza received through tokio-xmpp
//! normalizes to the same bytes as its text would (D16). Going to minidom can
//! fail only on names that are not XML names.

use minidom::rxml::{Namespace, NcName};

use crate::Error;
use crate::xml::{Attribute, Element, NS_XML, Node};

impl TryFrom<&minidom::Element> for Element {
    type Error = Error;

    fn try_from(m: &minidom::Element) -> Result<Self, Error> {
        fn conv(m: &minidom::Element, depth: usize, nodes: &mut usize) -> Result<Element, Error> {
            if depth > crate::limits::MAX_DEPTH {
                return Err(Error::TooLarge {
                    what: "element depth",
                    len: depth,
                    max: crate::limits::MAX_DEPTH,
                });
            }
            let mut el = Element::new(m.name(), m.ns());
            for ((ns, name), value) in m.attrs().iter() {
                let ns = ns.as_str();
                el.push_attribute(Attribute {
                    ns: (!ns.is_empty()).then(|| ns.to_owned()),
                    name: name.to_string(),
                    value: value.clone(),
                });
            }
            for n in m.nodes() {
                *nodes += 1;
                if *nodes > crate::limits::MAX_NODES {
                    return Err(Error::TooLarge {
                        what: "XML nodes",
                        len: *nodes,
                        max: crate::limits::MAX_NODES,
                    });
                }
                match n {
                    minidom::Node::Element(c) => el.push_child(conv(c, depth + 1, nodes)?),
                    minidom::Node::Text(t) => el.push_text(t.clone()),
                }
            }
            Ok(el)
        }
        conv(m, 1, &mut 0)
    }
}

impl TryFrom<minidom::Element> for Element {
    type Error = Error;

    fn try_from(m: minidom::Element) -> Result<Self, Error> {
        Element::try_from(&m)
    }
}

impl TryFrom<&Element> for minidom::Element {
    type Error = Error;

    fn try_from(e: &Element) -> Result<Self, Error> {
        let bad = |_| Error::Xml("not an XML name".to_owned());
        let mut b = minidom::Element::builder(e.name(), e.ns());
        for a in e.attrs() {
            let name = NcName::try_from(a.name.clone()).map_err(bad)?;
            b = match a.ns.as_deref() {
                None => b.attr(name, a.value.clone()),
                Some(NS_XML) => b.attr_ns(Namespace::XML, name, a.value.clone()),
                Some(ns) => b.attr_ns(Namespace::from(ns.to_owned()), name, a.value.clone()),
            };
        }
        for n in e.nodes() {
            b = match n {
                Node::Element(c) => b.append(minidom::Element::try_from(c)?),
                Node::Text(t) => b.append(minidom::Node::Text(t.clone())),
            };
        }
        Ok(b.build())
    }
}

impl TryFrom<Element> for minidom::Element {
    type Error = Error;

    fn try_from(e: Element) -> Result<Self, Error> {
        minidom::Element::try_from(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_minidom() {
        let text = "<message xmlns='jabber:client' to='b@example.com' xml:lang='en'><thread>t</thread><body>a &lt; b</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>";
        let ours = Element::parse(text).unwrap();
        let theirs: minidom::Element = text.parse().unwrap();
        assert_eq!(Element::try_from(&theirs).unwrap(), ours);
        let back = minidom::Element::try_from(&ours).unwrap();
        assert_eq!(back, theirs);
    }
}
