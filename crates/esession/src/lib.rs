//! # esession
//!
//! XMPP Encrypted Sessions ("ESessions": XEP-0116 negotiation, XEP-0200
//! stanza encryption, XEP-0187 offline sessions, on XEP-0155 forms; crypto
//! design XEP-0188): the one crate an application depends on. It re-exports
//! the protocol crates of the workspace and, behind the `xmpp-rs` feature,
//! glues them to [xmpp-rs](https://xmpp.rs) (minidom, xmpp-parsers and a
//! tokio-xmpp 6 client): see `xmpp` and `docs/integrating.md`.
//!
//! Everything below the facade is sans-IO: stanzas, the time and randomness go
//! in, stanzas to send and events come out. The application (or the
//! `xmpp` adapter) moves the stanzas over its XMPP connection.
//!
//! ```text
//!   XMPP connection (tokio-xmpp, or any other)
//!      │ received <message/>                        ▲ Output::Send(stanza)
//!      ▼                                            │
//!   xmpp::message_to_stanza  (our own conversion of the received tree;
//!      │                      never a re-serialized xmpp-parsers form)
//!      ▼                                            │
//!   online::Endpoint ── handle_stanza ──▶ poll_output: Requested, SasReady,
//!      │  (XEP-0116, XEP-0200)              Established, Received, Terminated
//!      │        ▲ SessionStore (retained secrets, trusted keys)
//!   offline::{Publisher, Initiator, Receiver}  (XEP-0187 over PEP iqs)
//!      │        ▲ OfflineStore (extends SessionStore)
//!   store::SqliteStore  (both traits, encrypted at rest)
//!      │
//!   wire (forms, normalization, <c/>) · sigma (XEP-0188 keys, SAS) · crypto
//! ```
//!
//! ## What is where
//!
//! - [`online`]: [`Endpoint`] (both roles of the online negotiation and the
//!   encrypted session), [`Config`], [`Output`], the retained-secret and
//!   trust store traits with in-memory implementations.
//! - [`offline`]: XEP-0187 [`Publisher`] (Alice before going offline),
//!   [`Initiator`] (Bob), [`Receiver`] (Alice back online) and the PEP iq
//!   builders in [`offline::pep`].
//! - [`store`]: [`SqliteStore`], one encrypted SQLite file for every store
//!   trait, under a [`StoreKey`].
//! - [`wire`]: [`Stanza`] and [`Element`], the XML the endpoints take and give.
//! - [`crypto`]: algorithms by wire name, [`SigningKey`]/[`VerifyingKey`] for
//!   public-key modes and offline options, [`SecretBytes`].
//! - `xmpp` (feature `xmpp-rs`): minidom/xmpp-parsers conversions and
//!   `xmpp::XmppSession`, an endpoint driven over a tokio-xmpp client.
//!
//! ## Example: a session between two endpoints in memory
//!
//! ```
//! use std::time::SystemTime;
//! use esession::crypto::rand_core::CryptoRng;
//! use esession::{Config, Element, Endpoint, MemoryStore, Output, Stanza, StanzaKind};
//! # use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
//! let now = SystemTime::now();
//! let (mut a_store, mut b_store) = (MemoryStore::new(), MemoryStore::new());
//! let mut alice = Endpoint::initiate(Config::default(), ChaCha20Rng::from_seed([1; 32]), now,
//!                                    "bob@example.com")?;
//! let mut bob = Endpoint::responder(Config::default(), ChaCha20Rng::from_seed([2; 32]))?;
//!
//! // What the network does: the stanzas `e` sends, stamped with `from`;
//! // the other outputs (events for the user) go to `events`.
//! fn sent<R: CryptoRng>(e: &mut Endpoint<R>, from: &str, events: &mut Vec<Output>) -> Vec<Stanza> {
//!     let mut v = Vec::new();
//!     while let Some(o) = e.poll_output() {
//!         match o { Output::Send(mut s) => { s.set_attr("from", from); v.push(s) } o => events.push(o) }
//!     }
//!     v
//! }
//! let (a, b) = ("alice@example.org/pda", "bob@example.com/laptop");
//! let (mut a_events, mut b_events) = (Vec::new(), Vec::new());
//! for s in sent(&mut alice, a, &mut a_events) { bob.handle_stanza(now, s, &mut b_store)?; }
//! assert!(sent(&mut bob, b, &mut b_events).is_empty());   // Bob is asked first
//! assert!(matches!(b_events[0], Output::Requested(_)));
//! bob.accept(now)?;                                        // the user (or a policy) agrees
//! for s in sent(&mut bob, b, &mut b_events) { alice.handle_stanza(now, s, &mut a_store)?; }
//! for s in sent(&mut alice, a, &mut a_events) { bob.handle_stanza(now, s, &mut b_store)?; }
//! for s in sent(&mut bob, b, &mut b_events) { alice.handle_stanza(now, s, &mut a_store)?; }
//! assert!(alice.is_established() && bob.is_established());
//!
//! let mut hello = Stanza::new(StanzaKind::Message);
//! hello.push(Element::new("body", "jabber:client").with_text("Hello Bob"));
//! alice.send(now, hello)?;
//! for s in sent(&mut alice, a, &mut a_events) { bob.handle_stanza(now, s, &mut b_store)?; }
//! let _ = sent(&mut bob, b, &mut b_events);
//! // Both users see the same SAS, and Bob got the message.
//! let sas = |ev: &[Output]| ev.iter().find_map(|o| match o {
//!     Output::SasReady { sas } => Some(sas.display(esession::Profile::Xep).to_owned()),
//!     _ => None,
//! });
//! assert!(sas(&a_events).is_some());
//! assert_eq!(sas(&a_events), sas(&b_events));
//! assert!(b_events.iter().any(|o| matches!(o, Output::Received(s) if s.to_xml().contains("Hello Bob"))));
//! # Ok::<(), esession::online::Error>(())
//! ```
#![forbid(unsafe_code)]

/// Primitives by their wire names (`esession-crypto`).
pub use esession_crypto as crypto;
/// XEP-0187 offline sessions (`esession-offline`).
pub use esession_offline as offline;
/// XEP-0116 negotiation and XEP-0200 sessions (`esession-online`).
pub use esession_online as online;
/// The XEP-0188 key schedule (`esession-sigma`).
pub use esession_sigma as sigma;
/// Persistent stores (`esession-store`).
pub use esession_store as store;
/// Stanzas, forms and normalization (`esession-wire`).
pub use esession_wire as wire;

pub use esession_crypto::SecretBytes;
pub use esession_crypto::sign::{SignAlg, SigningKey, VerifyingKey};
pub use esession_offline::{
    Audience, Initiator, MemoryOfflineStore, OfflineStore, Publisher, ReceiveSession, Receiver,
    SendSession,
};
pub use esession_online::{
    Config, Endpoint, Established, MemoryStore, Output, PeerKey, Profile, Requested,
    RetainedSecret, Sas, SessionStore, TerminationReason, TrustedKey,
};
pub use esession_store::{SqliteStore, StoreKey};
pub use esession_wire::{Element, Stanza, StanzaKind};

pub mod account;
pub mod loopback;
pub use account::{
    Account, AccountConfig, AccountError, EndReason, Event, SessionInfo, WaitingFor,
};

/// The randomness traits every generator given to the library implements.
pub use esession_crypto::rand_core;

/// The operating system's generator, the one an application gives its
/// [`Account`] (see [`os_rng`]).
pub type OsRng = rand_core::UnwrapErr<rand::rngs::SysRng>;

/// The operating system's generator (getrandom); a failure to read it aborts
/// the operation that needed randomness, as no fallback would be safe.
pub fn os_rng() -> OsRng {
    rand_core::UnwrapErr(rand::rngs::SysRng)
}

#[cfg(feature = "xmpp-rs")]
pub mod xmpp;

/// `docs/integrating.md`, compiled as a doc test.
#[cfg(all(doctest, feature = "xmpp-rs"))]
#[doc = include_str!("../../../docs/integrating.md")]
pub struct IntegratingGuide;
