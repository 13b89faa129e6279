//! The crate's error type.

/// Everything that can go wrong while reading or writing the ESession XML.
///
/// Every malformed input maps to one variant, and every variant that concerns a
/// data-form field names it ([`Error::field`]), so the protocol crates can answer
/// `not-acceptable` with that `<field var=.../>` (DECISIONS D44).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not well-formed, namespace-well-formed XML.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// A `<!DOCTYPE ...>` declaration: never accepted (no DTD, no entity expansion).
    #[error("DOCTYPE declarations are not allowed")]
    DocType,
    /// An entity reference other than the five predefined ones.
    #[error("undefined entity &{0};")]
    UndefinedEntity(String),
    /// A character that XML 1.0 does not allow (literal or by reference).
    #[error("character U+{0:04X} is not allowed in XML")]
    InvalidChar(u32),
    /// An input exceeded one of the documented caps in [`crate::limits`].
    #[error("{what} exceeds the limit: {len} > {max}")]
    TooLarge {
        /// What was counted (for example `"stanza bytes"` or `"fields"`).
        what: &'static str,
        /// The size found (or the size at which reading stopped).
        len: usize,
        /// The cap.
        max: usize,
    },
    /// An element other than the one expected.
    #[error("expected <{expected}>, found <{found}>")]
    UnexpectedElement {
        /// The expected element (`name` or `{namespace}name`).
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// A required element is missing.
    #[error("missing <{0}> element")]
    MissingElement(&'static str),
    /// An element occurs more often than allowed (for example two `<c/>`).
    #[error("duplicate <{0}> element")]
    DuplicateElement(&'static str),
    /// A required attribute is missing.
    #[error("<{element}> lacks the {attribute:?} attribute")]
    MissingAttribute {
        /// The element.
        element: &'static str,
        /// The attribute.
        attribute: &'static str,
    },
    /// An attribute in a namespace other than `xml:` inside normalized XML
    /// (DECISIONS D17: the form is not acceptable).
    #[error("namespace-qualified attribute {0:?} in normalized XML")]
    QualifiedAttribute(String),
    /// The form's FORM_TYPE is not `urn:xmpp:ssn` (answered with
    /// service-unavailable, D44).
    #[error("unknown FORM_TYPE {0:?}")]
    UnknownFormType(String),
    /// A form that is none of the ESession messages.
    #[error("not an ESession message: {0}")]
    UnknownMessage(&'static str),
    /// A required field is missing.
    #[error("missing field {0:?}")]
    MissingField(String),
    /// A field occurs twice.
    #[error("duplicate field {0:?}")]
    DuplicateField(String),
    /// A field is present but its content is malformed.
    #[error("field {field:?}: {reason}")]
    InvalidField {
        /// The field's var.
        field: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A child of the XEP-0200 `<c/>` element is malformed. The protocol treats
    /// this as a MAC failure (DECISIONS D39).
    #[error("<c/> child <{element}>: {reason}")]
    InvalidEncrypted {
        /// The child (`data`, `new`, `key`, `old`, `mac` or the unknown name).
        element: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `<KeyValue/>`, `<SignatureValue/>` or `<fingerprint/>` is malformed
    /// (DECISIONS D28-D30); an identity failure for the protocol.
    #[error("invalid key or signature element: {0}")]
    InvalidKey(&'static str),
    /// An internal invariant failed; this is a bug in esession-wire.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl Error {
    /// The data-form field this error is about, if any: the `<field var=.../>`
    /// to name in a not-acceptable answer (DECISIONS D44).
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::MissingField(f) | Error::DuplicateField(f) => Some(f),
            Error::InvalidField { field, .. } => Some(field),
            _ => None,
        }
    }

    pub(crate) fn invalid(field: &str, reason: &'static str) -> Self {
        Error::InvalidField {
            field: wire_name(field),
            reason,
        }
    }
}

/// Truncates a name taken from the wire so that errors stay small.
pub(crate) fn wire_name(name: &str) -> String {
    name.chars().take(64).collect()
}
