//! XML normalization (XEP-0116 §6.2): the exact bytes that are MACed and signed.
//!
//! Two profiles, selected by [`NormProfile`]:
//!
//! * [`NormProfile::Xep`] — DECISIONS D17: `<name attrs>content</name>`, double
//!   quotes, attributes sorted by name (`xml:*` after unqualified ones), no
//!   `xmlns` and no prefixes, empty elements as start-end pairs, text between
//!   elements dropped, leaf text escaped with escT verbatim.
//! * [`NormProfile::Gajim`] — DECISIONS D18 / GAJIM.md §3: the same except that
//!   a childless element with empty text is `<name />`, text between a field's
//!   child elements is kept, and ` xmlns="NS"` appears where an element's
//!   namespace differs from its parent's.
//!
//! Forms are normalized from a parsed tree of the *received* (or re-parsed sent)
//! text, never from a typed model (D16): [`form_content`] takes the `<x/>` element.

use crate::Error;
use crate::xml::{Element, NS_XML, Node, escape_attr_into, escape_text_into};

/// Which normalization to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NormProfile {
    /// The XEP text as DECISIONS D16-D17 fix it (the default).
    Xep,
    /// Gajim's c14n (DECISIONS D18), for interop with Gajim 0.12-1.0.3.
    Gajim,
}

/// Field vars that never enter formA/formB/formA2/formB2 (DECISIONS D16, D48).
pub const EXCLUDED_VARS: [&str; 3] = ["identity", "mac", "signs"];

/// Normalizes one element as a child of an element in namespace `parent_ns`
/// (the namespace matters only for the Gajim profile).
pub fn element(el: &Element, profile: NormProfile, parent_ns: &str) -> Result<String, Error> {
    let mut out = String::new();
    write(&mut out, el, profile, parent_ns)?;
    Ok(out)
}

/// The normalized content of a data form (DECISIONS D16): the element children
/// of `<x xmlns='jabber:x:data'>` in document order, without the wrapper and
/// without the fields whose var is in [`EXCLUDED_VARS`], normalized and
/// concatenated as UTF-8. Text directly inside `<x/>` is never included.
pub fn form_content(x: &Element, profile: NormProfile) -> Result<Vec<u8>, Error> {
    let mut out = String::new();
    for child in x.children() {
        if child.name() == "field"
            && child.ns() == x.ns()
            && child
                .attr("var")
                .is_some_and(|v| EXCLUDED_VARS.contains(&v))
        {
            continue;
        }
        write(&mut out, child, profile, x.ns())?;
    }
    Ok(out.into_bytes())
}

fn write(
    out: &mut String,
    el: &Element,
    profile: NormProfile,
    parent_ns: &str,
) -> Result<(), Error> {
    out.push('<');
    out.push_str(el.name());
    if profile == NormProfile::Gajim && !el.ns().is_empty() && el.ns() != parent_ns {
        out.push_str(" xmlns=\"");
        escape_attr_into(out, el.ns());
        out.push('"');
    }
    // DECISIONS D17: unqualified attributes first, then xml:*, each group sorted
    // by name in code-point order; any other qualified attribute is refused.
    let mut attrs: Vec<(u8, String, &str)> = Vec::with_capacity(el.attrs().len());
    for a in el.attrs() {
        match a.ns.as_deref() {
            None => attrs.push((0, a.name.clone(), &a.value)),
            Some(NS_XML) => attrs.push((1, format!("xml:{}", a.name), &a.value)),
            Some(_) => return Err(Error::QualifiedAttribute(crate::error::wire_name(&a.name))),
        }
    }
    match profile {
        NormProfile::Xep => attrs.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1))),
        // Gajim sorts the attribute names as plain strings.
        NormProfile::Gajim => attrs.sort_by(|a, b| a.1.cmp(&b.1)),
    }
    for (_, name, value) in &attrs {
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        escape_attr_into(out, value);
        out.push('"');
    }
    let has_children = el.has_child_elements();
    match profile {
        NormProfile::Xep => {
            out.push('>');
            if has_children {
                for c in el.children() {
                    write(out, c, profile, el.ns())?;
                }
            } else {
                escape_text_into(out, &el.text());
            }
        }
        NormProfile::Gajim => {
            if !has_children && el.text().is_empty() {
                out.push_str(" />");
                return Ok(());
            }
            out.push('>');
            for n in el.nodes() {
                match n {
                    Node::Element(c) => write(out, c, profile, el.ns())?,
                    Node::Text(t) => escape_text_into(out, t),
                }
            }
        }
    }
    out.push_str("</");
    out.push_str(el.name());
    out.push('>');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(s: &str) -> Element {
        Element::parse(s).unwrap()
    }

    #[test]
    fn d17_by_hand() {
        // Worked by hand from DECISIONS D17: attributes sorted and double-quoted,
        // empty element expanded, whitespace between elements dropped, leaf text
        // escaped with escT, no xmlns.
        let form = x(
            "<x xmlns='jabber:x:data' type='form'>\n  <field var='a&amp;b' type='list-single' label='L\"'>\n    <required/>\n    <value> 1 &lt; 2 &gt; 0 &amp; ok </value>\n  </field>\n</x>",
        );
        let n = form_content(&form, NormProfile::Xep).unwrap();
        assert_eq!(
            String::from_utf8(n).unwrap(),
            "<field label=\"L&quot;\" type=\"list-single\" var=\"a&amp;b\"><required></required><value> 1 &lt; 2 &gt; 0 &amp; ok </value></field>"
        );
    }

    #[test]
    fn d18_by_hand() {
        // GAJIM.md §3: empty element as `<required />`, text between a field's
        // children kept, text directly inside <x/> dropped.
        let form = x(
            "<x xmlns='jabber:x:data' type='form'>\n <field var='v'>\n <required/><value>a</value></field></x>",
        );
        let n = form_content(&form, NormProfile::Gajim).unwrap();
        assert_eq!(
            String::from_utf8(n).unwrap(),
            "<field var=\"v\">\n <required /><value>a</value></field>"
        );
    }

    #[test]
    fn xml_lang_sorts_last_and_foreign_attributes_are_refused() {
        let el = x("<value xmlns='jabber:x:data' xml:lang='en' z='1'>t</value>");
        assert_eq!(
            element(&el, NormProfile::Xep, "jabber:x:data").unwrap(),
            "<value z=\"1\" xml:lang=\"en\">t</value>"
        );
        let el = x("<value xmlns='jabber:x:data' xmlns:f='urn:f' f:z='1'>t</value>");
        assert!(matches!(
            element(&el, NormProfile::Xep, "jabber:x:data"),
            Err(Error::QualifiedAttribute(_))
        ));
    }

    #[test]
    fn attribute_whitespace_and_cr_escapes() {
        let el = x("<value xmlns='jabber:x:data' a='&#9;&#10;&#13;x'>a&#13;b</value>");
        assert_eq!(
            element(&el, NormProfile::Xep, "jabber:x:data").unwrap(),
            "<value a=\"&#x9;&#xA;&#xD;x\">a&#xD;b</value>"
        );
    }

    #[test]
    fn gajim_writes_foreign_namespaces() {
        let el =
            x("<field xmlns='jabber:x:data' var='a'><value xmlns='urn:other'>t</value></field>");
        assert_eq!(
            element(&el, NormProfile::Gajim, "jabber:x:data").unwrap(),
            "<field var=\"a\"><value xmlns=\"urn:other\">t</value></field>"
        );
        assert_eq!(
            element(&el, NormProfile::Xep, "jabber:x:data").unwrap(),
            "<field var=\"a\"><value>t</value></field>"
        );
    }
}
