//! Negotiation errors (XEP-0116 §4.4, DECISIONS D44): the `<error/>` child of
//! a `type='error'` message, with the defined condition and the fields it names
//! in `<feature xmlns='http://jabber.org/protocol/feature-neg'><field var=.../></feature>`.

use crate::xml::Element;
use crate::{Error, NS_FEATURE_NEG, NS_STANZAS};

/// The defined condition of a rejection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Condition {
    /// `<not-acceptable/>`: unsupported or malformed options (D44).
    NotAcceptable,
    /// `<feature-not-implemented/>`: 3-message not supported, identity failures.
    FeatureNotImplemented,
    /// `<service-unavailable/>`: unknown FORM_TYPE.
    ServiceUnavailable,
    /// Any other condition, by element name.
    Other(String),
}

impl Condition {
    /// The element name.
    pub fn as_str(&self) -> &str {
        match self {
            Condition::NotAcceptable => "not-acceptable",
            Condition::FeatureNotImplemented => "feature-not-implemented",
            Condition::ServiceUnavailable => "service-unavailable",
            Condition::Other(s) => s,
        }
    }

    fn from_name(s: &str) -> Self {
        match s {
            "not-acceptable" => Condition::NotAcceptable,
            "feature-not-implemented" => Condition::FeatureNotImplemented,
            "service-unavailable" => Condition::ServiceUnavailable,
            other => Condition::Other(crate::error::wire_name(other)),
        }
    }
}

/// A negotiation rejection: condition plus the fields it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The `type` attribute of `<error/>` (`cancel` when we send).
    pub error_type: String,
    /// The defined condition.
    pub condition: Condition,
    /// The named fields, in order.
    pub fields: Vec<String>,
}

impl Rejection {
    /// A `cancel` rejection (D44).
    pub fn new(condition: Condition, fields: Vec<String>) -> Self {
        Rejection {
            error_type: "cancel".to_owned(),
            condition,
            fields,
        }
    }

    /// Reads an `<error/>` element. `<text/>`, codes and application conditions
    /// other than the feature-neg `<feature/>` are ignored (D44).
    pub fn from_element(error: &Element) -> Result<Self, Error> {
        if error.name() != "error" {
            return Err(Error::UnexpectedElement {
                expected: "error",
                found: crate::error::wire_name(error.name()),
            });
        }
        let condition = error
            .children()
            .find(|c| c.ns() == NS_STANZAS && c.name() != "text")
            .map(|c| Condition::from_name(c.name()))
            .ok_or(Error::MissingElement("defined condition"))?;
        let mut fields = Vec::new();
        if let Some(feature) = error.get_child("feature", NS_FEATURE_NEG) {
            for f in feature.children().filter(|c| c.name() == "field") {
                if fields.len() >= crate::limits::MAX_FIELDS {
                    return Err(Error::TooLarge {
                        what: "fields in one form",
                        len: fields.len() + 1,
                        max: crate::limits::MAX_FIELDS,
                    });
                }
                if let Some(v) = f.attr("var") {
                    fields.push(crate::error::wire_name(v));
                }
            }
        }
        Ok(Rejection {
            error_type: error.attr("type").unwrap_or("cancel").to_owned(),
            condition,
            fields,
        })
    }

    /// The `<error/>` element, in namespace `stanza_ns` (normally `jabber:client`).
    pub fn to_element(&self, stanza_ns: &str) -> Element {
        let mut e = Element::new("error", stanza_ns).with_attr("type", self.error_type.clone());
        e.push_child(Element::new(self.condition.as_str(), NS_STANZAS));
        if !self.fields.is_empty() {
            let mut feature = Element::new("feature", NS_FEATURE_NEG);
            for f in &self.fields {
                feature
                    .push_child(Element::new("field", NS_FEATURE_NEG).with_attr("var", f.clone()));
            }
            e.push_child(feature);
        }
        e
    }
}
