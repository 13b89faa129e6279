//! A small owned XML tree, a strict parser on top of quick-xml, and a compact
//! serializer.
//!
//! Why a tree of our own: the normalizations of XEP-0116 §6.2 (DECISIONS D17)
//! and Gajim's variant (D18) need the *received* text nodes in document order,
//! namespaces as resolved, and attributes without namespace declarations;
//! quick-xml is a pull parser and gives no tree. Conversions to and from
//! `minidom::Element` live in [`crate::minidom_conv`] (feature `minidom`).
//!
//! The parser is strict on hostile input: no DOCTYPE (hence no DTD and no
//! entity definitions), no entity other than the five predefined ones and
//! character references, only XML 1.0 characters, well-formed namespaces, and
//! every size capped by [`crate::limits`].

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::Error;
use crate::limits::{MAX_ATTRIBUTES, MAX_DEPTH, MAX_NODES, MAX_STANZA_BYTES};

/// The `xml:` namespace, bound to the `xml` prefix in every document.
pub const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";

/// One attribute, without namespace declarations (those are not attributes here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Namespace of a prefixed attribute; `None` for an unprefixed one.
    pub ns: Option<String>,
    /// The local name.
    pub name: String,
    /// The value after XML attribute-value normalization and reference expansion.
    pub value: String,
}

/// A child node: an element or character data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Character data (adjacent text, CDATA and references merged; comments and
    /// processing instructions dropped).
    Text(String),
}

/// An XML element with resolved namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    name: String,
    ns: String,
    attrs: Vec<Attribute>,
    children: Vec<Node>,
}

impl Element {
    /// A new element with no attributes and no children. `ns` is the namespace
    /// URI (`""` for none).
    pub fn new(name: impl Into<String>, ns: impl Into<String>) -> Self {
        Element {
            name: name.into(),
            ns: ns.into(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Builder: sets an unprefixed attribute (replacing an existing one).
    #[must_use]
    pub fn with_attr(mut self, name: &str, value: impl Into<String>) -> Self {
        self.set_attr(name, value);
        self
    }

    /// Builder: appends a child element.
    #[must_use]
    pub fn with_child(mut self, child: Element) -> Self {
        self.children.push(Node::Element(child));
        self
    }

    /// Builder: appends a text node.
    #[must_use]
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.push_text(text.into());
        self
    }

    /// Sets an unprefixed attribute (replacing an existing one).
    pub fn set_attr(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        if let Some(a) = self
            .attrs
            .iter_mut()
            .find(|a| a.ns.is_none() && a.name == name)
        {
            a.value = value;
        } else {
            self.attrs.push(Attribute {
                ns: None,
                name: name.to_owned(),
                value,
            });
        }
    }

    /// Appends an attribute as is (used by conversions).
    pub fn push_attribute(&mut self, attr: Attribute) {
        self.attrs.push(attr);
    }

    /// Appends a child element.
    pub fn push_child(&mut self, child: Element) {
        self.children.push(Node::Element(child));
    }

    /// Appends text, merging it with a preceding text node.
    pub fn push_text(&mut self, text: String) {
        if text.is_empty() {
            return;
        }
        if let Some(Node::Text(t)) = self.children.last_mut() {
            t.push_str(&text);
        } else {
            self.children.push(Node::Text(text));
        }
    }

    /// The local name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace URI (`""` for none).
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// True if the element has this local name and namespace.
    pub fn is(&self, name: &str, ns: &str) -> bool {
        self.name == name && self.ns == ns
    }

    /// The attributes in document order (namespace declarations excluded).
    pub fn attrs(&self) -> &[Attribute] {
        &self.attrs
    }

    /// The value of an unprefixed attribute.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// All child nodes in document order.
    pub fn nodes(&self) -> &[Node] {
        &self.children
    }

    /// Mutable access to the child nodes.
    pub fn nodes_mut(&mut self) -> &mut Vec<Node> {
        &mut self.children
    }

    /// The child elements in document order.
    pub fn children(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// True if the element has at least one child element.
    pub fn has_child_elements(&self) -> bool {
        self.children.iter().any(|n| matches!(n, Node::Element(_)))
    }

    /// The first child element with this name and namespace.
    pub fn get_child(&self, name: &str, ns: &str) -> Option<&Element> {
        self.children().find(|c| c.is(name, ns))
    }

    /// The concatenation of the element's own text nodes (not descendants').
    pub fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }

    /// Parses one element from text: a single root, optionally preceded by an
    /// XML declaration, with only whitespace and comments around it.
    pub fn parse(text: &str) -> Result<Element, Error> {
        parse_document(text, None)
    }

    /// Parses a fragment (a sequence of elements and text, such as the XEP-0200
    /// plaintext m) as the children of a `<w/>` wrapper in namespace `ns`
    /// (DECISIONS D38).
    pub fn parse_fragment(fragment: &str, ns: &str) -> Result<Element, Error> {
        let mut doc = String::with_capacity(fragment.len() + ns.len() + 24);
        doc.push_str("<w xmlns=\"");
        escape_attr_into(&mut doc, ns);
        doc.push_str("\">");
        doc.push_str(fragment);
        doc.push_str("</w>");
        parse_document(&doc, Some(fragment.len()))
    }

    /// Serializes the element compactly (no whitespace added). `xmlns` is written
    /// on the root (if it has a namespace) and wherever an element's namespace
    /// differs from its parent's.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        self.write_xml(&mut out, None);
        out
    }

    /// Serializes as a child of an element in namespace `parent_ns`: `xmlns` is
    /// written only if this element's namespace differs (DECISIONS D38).
    pub fn to_xml_in(&self, parent_ns: &str) -> String {
        let mut out = String::new();
        self.write_xml(&mut out, Some(parent_ns));
        out
    }

    fn write_xml(&self, out: &mut String, parent_ns: Option<&str>) {
        out.push('<');
        out.push_str(&self.name);
        let needs_xmlns = match parent_ns {
            None => !self.ns.is_empty(),
            Some(p) => p != self.ns,
        };
        if needs_xmlns {
            out.push_str(" xmlns=\"");
            escape_attr_into(out, &self.ns);
            out.push('"');
        }
        let mut prefix_counter = 0usize;
        for a in &self.attrs {
            out.push(' ');
            match a.ns.as_deref() {
                None => out.push_str(&a.name),
                Some(NS_XML) => {
                    out.push_str("xml:");
                    out.push_str(&a.name);
                }
                Some(ns) => {
                    // A private prefix per qualified attribute keeps the output
                    // namespace-well-formed whatever the attribute is.
                    let prefix = format!("a{prefix_counter}");
                    prefix_counter += 1;
                    out.push_str("xmlns:");
                    out.push_str(&prefix);
                    out.push_str("=\"");
                    escape_attr_into(out, ns);
                    out.push_str("\" ");
                    out.push_str(&prefix);
                    out.push(':');
                    out.push_str(&a.name);
                }
            }
            out.push_str("=\"");
            escape_attr_into(out, &a.value);
            out.push('"');
        }
        if self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        for n in &self.children {
            match n {
                Node::Element(e) => e.write_xml(out, Some(&self.ns)),
                Node::Text(t) => escape_text_into(out, t),
            }
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }
}

/// Escapes character data: `&`, `<`, `>` and CR (DECISIONS D17 escT; CR as a
/// reference so that it survives end-of-line normalization).
pub(crate) fn escape_text_into(out: &mut String, s: &str) {
    escape_runs(
        out,
        s,
        &[
            (b'&', "&amp;"),
            (b'<', "&lt;"),
            (b'>', "&gt;"),
            (b'\r', "&#xD;"),
        ],
    );
}

/// Escapes an attribute value for double quotes: `&`, `<`, `"`, TAB, LF, CR
/// (DECISIONS D17 escA).
pub(crate) fn escape_attr_into(out: &mut String, s: &str) {
    escape_runs(
        out,
        s,
        &[
            (b'&', "&amp;"),
            (b'<', "&lt;"),
            (b'"', "&quot;"),
            (b'\t', "&#x9;"),
            (b'\n', "&#xA;"),
            (b'\r', "&#xD;"),
        ],
    );
}

/// Copies `s` into `out`, replacing each ASCII byte of `table` (at most six)
/// by its reference; the runs between them are copied whole. The bytes are
/// searched three at a time with memchr's SIMD `memchr3`, so a base64
/// `<data/>`, which has no special byte, is two searches and one copy. Only
/// ASCII bytes are ever replaced, and ASCII bytes never occur inside a
/// multi-byte UTF-8 sequence, so every cut falls on a char boundary.
fn escape_runs(out: &mut String, s: &str, table: &[(u8, &'static str)]) {
    let bytes = s.as_bytes();
    out.reserve(s.len());
    // The table's bytes in (at most two) sets of three; a short set repeats
    // its first byte. Arrays, not Vecs: this runs for every text and
    // attribute of every stanza.
    let set = |k: usize| {
        let rest = table.get(3 * k..).unwrap_or_default();
        let c = rest.get(..3).unwrap_or(rest);
        let b = |i: usize| c.get(i).or(c.first()).map(|e| e.0);
        Some([b(0)?, b(1)?, b(2)?])
    };
    let sets = [set(0), set(1)];
    let find = |set: &[u8; 3], from: usize| {
        memchr::memchr3(
            set[0],
            set[1],
            set[2],
            bytes.get(from..).unwrap_or_default(),
        )
        .map(|i| i + from)
    };
    // The next special byte of each set at or after `start`.
    let mut next = sets.map(|set| set.and_then(|set| find(&set, 0)));
    let mut start = 0;
    while let Some(i) = next.iter().flatten().min().copied() {
        out.push_str(s.get(start..i).unwrap_or_default());
        let byte = bytes.get(i).copied().unwrap_or_default();
        if let Some((_, rep)) = table.iter().find(|(b, _)| *b == byte) {
            out.push_str(rep);
        }
        start = i + 1;
        for (n, set) in next.iter_mut().zip(&sets) {
            if *n == Some(i) {
                *n = set.as_ref().and_then(|set| find(set, start));
            }
        }
    }
    out.push_str(s.get(start..).unwrap_or_default());
}

/// XML 1.0 `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn check_chars(s: &str) -> Result<(), Error> {
    // Fast path: printable ASCII, TAB, LF and CR are all XML `Char`s. The
    // test runs over whole chunks without an early exit so that it
    // vectorizes (base64 texts of tens of KiB take this path).
    let plain = |b: u8| (0x20..0x7f).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r');
    if s.as_bytes()
        .chunks(64)
        .all(|chunk| chunk.iter().fold(true, |ok, &b| ok & plain(b)))
    {
        return Ok(());
    }
    match s.chars().find(|&c| !is_xml_char(c)) {
        Some(c) => Err(Error::InvalidChar(u32::from(c))),
        None => Ok(()),
    }
}

fn xml_err(e: impl std::fmt::Display) -> Error {
    let mut s = e.to_string();
    // Cut at a character boundary: the message quotes input text, which may
    // put a multi-byte character across byte 200 (found by fuzzing, see
    // tests/fuzz_regressions.rs).
    s.truncate(s.floor_char_boundary(200));
    Error::Xml(s)
}

struct Builder {
    stack: Vec<Element>,
    root: Option<Element>,
    nodes: usize,
}

impl Builder {
    fn count(&mut self) -> Result<(), Error> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(Error::TooLarge {
                what: "XML nodes",
                len: self.nodes,
                max: MAX_NODES,
            });
        }
        Ok(())
    }

    fn text(&mut self, s: &str) -> Result<(), Error> {
        check_chars(s)?;
        match self.stack.last_mut() {
            Some(top) => {
                let new_node = !matches!(top.children.last(), Some(Node::Text(_)));
                top.push_text(s.to_owned());
                if new_node && !s.is_empty() {
                    self.count()?;
                }
                Ok(())
            }
            None if s.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n')) => Ok(()),
            None => Err(Error::Xml("text outside the root element".to_owned())),
        }
    }

    fn close(&mut self, el: Element) -> Result<(), Error> {
        match self.stack.last_mut() {
            Some(parent) => {
                parent.children.push(Node::Element(el));
                Ok(())
            }
            None if self.root.is_none() => {
                self.root = Some(el);
                Ok(())
            }
            None => Err(Error::Xml("more than one root element".to_owned())),
        }
    }
}

fn open(reader: &NsReader<&[u8]>, start: &BytesStart<'_>) -> Result<Element, Error> {
    let (res, _) = reader.resolver().resolve_element(start.name());
    let ns = match res {
        ResolveResult::Bound(ns) => ns.0.to_owned(),
        ResolveResult::Unbound => String::new(),
        ResolveResult::Unknown(p) => {
            return Err(Error::Xml(format!(
                "unbound prefix {:?}",
                crate::error::wire_name(&p)
            )));
        }
    };
    let name = start.local_name().as_ref().to_owned();
    check_chars(&name)?;
    let mut el = Element::new(name, ns);
    for attr in start.attributes() {
        let attr = attr.map_err(xml_err)?;
        if attr.key.as_namespace_binding().is_some() {
            continue;
        }
        if el.attrs.len() >= MAX_ATTRIBUTES {
            return Err(Error::TooLarge {
                what: "attributes on one element",
                len: el.attrs.len() + 1,
                max: MAX_ATTRIBUTES,
            });
        }
        let (res, local) = reader.resolver().resolve_attribute(attr.key);
        let ans = match res {
            ResolveResult::Bound(ns) => Some(ns.0.to_owned()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(p) => {
                return Err(Error::Xml(format!(
                    "unbound prefix {:?}",
                    crate::error::wire_name(&p)
                )));
            }
        };
        let value = attr
            .normalized_value_with(quick_xml::XmlVersion::Implicit1_0, 1, |e| {
                quick_xml::escape::resolve_predefined_entity(e)
            })
            .map_err(|e| match e {
                quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(
                    _,
                    name,
                )) => Error::UndefinedEntity(crate::error::wire_name(&name)),
                other => xml_err(other),
            })?;
        check_chars(&value)?;
        el.attrs.push(Attribute {
            ns: ans,
            name: local.as_ref().to_owned(),
            value: value.into_owned(),
        });
    }
    Ok(el)
}

fn parse_document(text: &str, fragment_len: Option<usize>) -> Result<Element, Error> {
    let len = fragment_len.unwrap_or(text.len());
    if len > MAX_STANZA_BYTES {
        return Err(Error::TooLarge {
            what: "stanza bytes",
            len,
            max: MAX_STANZA_BYTES,
        });
    }
    let mut reader = NsReader::from_str(text);
    {
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.expand_empty_elements = false;
        config.trim_text_start = false;
        config.trim_text_end = false;
        config.allow_unmatched_ends = false;
    }
    let mut b = Builder {
        stack: Vec::new(),
        root: None,
        nodes: 0,
    };
    loop {
        let event = reader.read_event().map_err(xml_err)?;
        match event {
            Event::Start(start) => {
                let el = open(&reader, &start)?;
                if b.root.is_some() && b.stack.is_empty() {
                    return Err(Error::Xml("more than one root element".to_owned()));
                }
                b.count()?;
                b.stack.push(el);
                if b.stack.len() > MAX_DEPTH {
                    return Err(Error::TooLarge {
                        what: "element depth",
                        len: b.stack.len(),
                        max: MAX_DEPTH,
                    });
                }
            }
            Event::Empty(start) => {
                let el = open(&reader, &start)?;
                if b.root.is_some() && b.stack.is_empty() {
                    return Err(Error::Xml("more than one root element".to_owned()));
                }
                b.count()?;
                if b.stack.len() + 1 > MAX_DEPTH {
                    return Err(Error::TooLarge {
                        what: "element depth",
                        len: b.stack.len() + 1,
                        max: MAX_DEPTH,
                    });
                }
                b.close(el)?;
            }
            Event::End(_) => {
                let el = b
                    .stack
                    .pop()
                    .ok_or_else(|| Error::Xml("unmatched end tag".to_owned()))?;
                b.close(el)?;
            }
            Event::Text(t) => {
                let s = t.xml10_content();
                b.text(&s)?;
            }
            Event::CData(t) => {
                let s: &str = t.as_ref();
                let s = s.replace("\r\n", "\n").replace('\r', "\n");
                b.text(&s)?;
            }
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    match r.resolve_char_ref().map_err(xml_err)? {
                        Some(c) => c.to_string(),
                        None => return Err(Error::Xml("bad character reference".to_owned())),
                    }
                } else {
                    let name = r.xml10_content();
                    match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(s) => s.to_owned(),
                        None => return Err(Error::UndefinedEntity(crate::error::wire_name(&name))),
                    }
                };
                if b.stack.is_empty() {
                    return Err(Error::Xml("reference outside the root element".to_owned()));
                }
                b.text(&c)?;
            }
            Event::DocType(_) => return Err(Error::DocType),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !b.stack.is_empty() {
        return Err(Error::Xml("unexpected end of input".to_owned()));
    }
    b.root
        .ok_or_else(|| Error::Xml("no root element".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The character-by-character reading of D17 escT / escA, to check the
    /// run-copying escapes against.
    fn naive(s: &str, attr: bool) -> String {
        let mut out = String::new();
        for c in s.chars() {
            match (c, attr) {
                ('&', _) => out.push_str("&amp;"),
                ('<', _) => out.push_str("&lt;"),
                ('>', false) => out.push_str("&gt;"),
                ('"', true) => out.push_str("&quot;"),
                ('\t', true) => out.push_str("&#x9;"),
                ('\n', true) => out.push_str("&#xA;"),
                ('\r', _) => out.push_str("&#xD;"),
                (c, _) => out.push(c),
            }
        }
        out
    }

    #[test]
    fn escapes_known_strings() {
        let mut t = String::new();
        escape_text_into(&mut t, "a<b>&\"c\r\n\té");
        assert_eq!(t, "a&lt;b&gt;&amp;\"c&#xD;\n\té");
        let mut a = String::new();
        escape_attr_into(&mut a, "a<b>&\"c\r\n\té");
        assert_eq!(a, "a&lt;b>&amp;&quot;c&#xD;&#xA;&#x9;é");
    }

    proptest::proptest! {
        #[test]
        fn run_copying_escape_equals_per_char_escape(s in "[a-z<>&\"\t\r\n é€😀]{0,40}|[a-z]{0,150}[<>&\"\t\r\n][a-z]{0,150}[&\r]?") {
            let mut t = String::new();
            escape_text_into(&mut t, &s);
            proptest::prop_assert_eq!(t, naive(&s, false));
            let mut a = String::new();
            escape_attr_into(&mut a, &s);
            proptest::prop_assert_eq!(a, naive(&s, true));
        }

        /// The ASCII fast path of check_chars agrees with the per-char XML
        /// `Char` test, also for control characters anywhere in long texts.
        #[test]
        fn check_chars_equals_per_char_test(
            s in "[A-Za-z0-9+/=\t\n\r]{0,200}[\u{0}-\u{1f}\u{7f}é\u{fffe}]?[A-Za-z0-9]{0,100}"
        ) {
            let expected = s.chars().all(is_xml_char);
            proptest::prop_assert_eq!(check_chars(&s).is_ok(), expected);
        }
    }
}
