#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod encrypted;
mod error;
pub mod form;
pub mod keys;
pub mod limits;
#[cfg(feature = "minidom")]
mod minidom_conv;
pub mod negotiation;
pub mod normalize;
pub mod rejection;
pub mod stanza;
pub mod xml;

pub use encrypted::{Encrypted, ReceivedEncrypted};
pub use error::Error;
pub use form::{DataForm, Field, FieldOption, FormKind};
pub use keys::{Identity, KeyValue, PubKeyPart, key_bytes, verifying_key};
pub use negotiation::{
    AliceAccept, BobAccept, DhValues, GAJIM_RESPONSE_ORDER, LoggingVar, Negotiation, Offer,
    OfflineInit, OfflineOptions, PLAIN_SECURITY, PlainAccept, ReceivedNegotiation, Request,
    Response, WireForm, Wrapper, read_boolean,
};
pub use normalize::NormProfile;
pub use rejection::{Condition, Rejection};
pub use stanza::{Stanza, StanzaKind, bare};
pub use xml::{Element, Node};

/// The disco#info feature of XEP-0116 (§3) and the PEP node for everyone (XEP-0187).
pub const NS_ESESSION: &str = "http://www.xmpp.org/extensions/xep-0116.html#ns";
/// The `<init/>` wrapper of msg4 and the offline init.
pub const NS_INIT: &str = "http://www.xmpp.org/extensions/xep-0116.html#ns-init";
/// The XEP-0200 `<c/>` element.
pub const NS_ESESSION_C: &str = "http://www.xmpp.org/extensions/xep-0200.html#ns";
/// The XEP-0187 PEP node for presence subscribers.
pub const NS_OFFLINE: &str = "http://www.xmpp.org/extensions/xep-0187.html#ns";
/// The `<feature/>` wrapper of XEP-0020 feature negotiation.
pub const NS_FEATURE_NEG: &str = "http://jabber.org/protocol/feature-neg";
/// Data forms (XEP-0004).
pub const NS_DATA: &str = "jabber:x:data";
/// The client stanza namespace.
pub const NS_CLIENT: &str = "jabber:client";
/// Stanza error conditions (RFC 6120).
pub const NS_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
/// Advanced Message Processing (XEP-0079): stays in the clear.
pub const NS_AMP: &str = "http://jabber.org/protocol/amp";
/// SHIM headers (XEP-0131): the `Created` header of offline content (XEP-0187 §4).
pub const NS_SHIM: &str = "http://jabber.org/protocol/shim";
/// Delayed delivery (XEP-0203): kept beside decrypted content (D38).
pub const NS_DELAY: &str = "urn:xmpp:delay";
/// The FORM_TYPE of every ESession form (XEP-0155).
pub const FORM_TYPE_SSN: &str = "urn:xmpp:ssn";
