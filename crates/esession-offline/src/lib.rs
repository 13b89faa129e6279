//! # esession-offline
//!
//! Sans-IO [XEP-0187](https://xmpp.org/extensions/xep-0187.html) offline
//! Encrypted Sessions: Alice publishes signed ESession options before she
//! goes offline; Bob, finding her offline, completes the key exchange alone
//! and sends one stanza that establishes the session and may carry encrypted
//! content and terminate it (object encryption with forward secrecy); Alice,
//! back online, finds her stored x by N_A, verifies Bob and decrypts. Every
//! byte follows `DECISIONS.md` (D47-D50, with D1-D31 and D38-D44 underneath).
//!
//! Nothing here does I/O or reads a clock: stanzas, `now` and randomness
//! (an [`esession_crypto::rand_core::CryptoRng`]) go in; stanzas to send and
//! decrypted stanzas come out. Alice's private values live behind
//! [`OfflineStore`].
//!
//! ```text
//!  ALICE (going offline)                BOB                          ALICE (back)
//!  Publisher::publish
//!   N_A, x_i, e_i, expires, signs ─ PEP ─▶ pep::request_options
//!   OfflineStore::save_published           Initiator::check_options
//!   (create_node, publish iqs)               signs trusted? expired? options?
//!                                          Initiator::start(content, terminate)
//!                                            y, d, N_B, C_A, K, keys, macB,
//!                                            ID_B, M_B, <c/>  ─ offline msg ─▶ Receiver::came_online
//!                                          SendSession::seal / terminate        (clear iq; subscriber
//!                                                                                x moved to memory)
//!                                                                              Receiver::accept
//!                                                                                expired → discard
//!                                                                                M_B, ID_B, signB,
//!                                                                                replay, decrypt
//!                                                                              ReceiveSession::open
//!        esession-wire: forms, formB, <c/>   esession-sigma: K, keys, macB, ID_B, M_B
//!        esession-online: StanzaCipher (XEP-0200)   esession-crypto: DH, RSA/DSA
//! ```
//!
//! ## Example
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use esession_crypto::sign::{SignAlg, SigningKey};
//! use esession_offline::{Audience, Initiator, MemoryOfflineStore, Publisher, Receiver};
//! use esession_online::{Config, MemoryStore, SessionStore, TrustedKey};
//! use esession_wire::{Element, Stanza, StanzaKind};
//! # use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
//! # let mut rng = ChaCha20Rng::seed_from_u64(7);
//! # let alice_key = SigningKey::generate(SignAlg::RsaSha256, &mut rng)?;
//! # let bob_key = SigningKey::generate(SignAlg::RsaSha256, &mut rng)?;
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
//! // Each side trusts the other's key (XEP-0187 §3.2, §3.4).
//! let mut alice_store = MemoryOfflineStore::new();
//! let Ok(()) = alice_store.trust_key("bob@example.com",
//!                                    TrustedKey::of(&bob_key.verifying_key(), "Bob")?);
//! let mut bob_store = MemoryStore::new();
//! let Ok(()) = bob_store.trust_key("alice@example.org",
//!                                  TrustedKey::of(&alice_key.verifying_key(), "Alice")?);
//!
//! // Alice, before going offline.
//! let published = Publisher::new(Config::default(), Audience::Subscribers,
//!                                now + Duration::from_secs(8 * 3600))
//!     .match_resource("pda")
//!     .signing_key(&alice_key)
//!     .publish(&mut rng, &mut alice_store)?;
//!
//! // Bob, with the item from her PEP node.
//! let bob = Initiator::new(Config::default(), &bob_key)?;
//! let checked = bob.check_options(now, "alice@example.org", &published.item, &bob_store)?;
//! let mut hello = Stanza::new(StanzaKind::Message);
//! hello.push(Element::new("body", "jabber:client").with_text("Hello, Alice!"));
//! let mut started = bob.start(now, &checked, Some(hello), true, &mut rng)?;
//! assert_eq!(started.stanza.to(), Some("alice@example.org/pda"));
//! started.stanza.set_attr("from", "bob@example.com/laptop");
//!
//! // Alice, back online.
//! let back = Receiver::came_online(Config::default(), &mut alice_store)?;
//! let mut receiver = back.receiver;
//! let accepted = receiver.accept(now + Duration::from_secs(60), started.stanza, &mut alice_store)?;
//! assert!(accepted.terminated);
//! assert!(accepted.content.unwrap().to_xml().contains("<body>Hello, Alice!</body>"));
//! # Ok::<(), esession_offline::Error>(())
//! ```
//!
//! ## Security
//!
//! - Bob sends nothing unless a signature over the normalized options verifies
//!   with a key he trusts for Alice, and the options have not expired.
//! - Alice discards expired inits undecrypted, checks M_B before deciphering
//!   ID_B, requires Bob's key to be trusted and signB to verify over macB, and
//!   records d and N_B only after that, so a forgery cannot block the genuine
//!   stanza while every replay is refused (D50).
//! - x values are [`esession_crypto::SecretBytes`] (zeroized on drop, redacted
//!   in `Debug`); subscriber x values leave persistent storage when Alice is
//!   back (XEP-0187 §3.4).
//! - Alice never sends inside an offline session: [`ReceiveSession`] has no
//!   send method.
#![forbid(unsafe_code)]

mod alice;
mod bob;
mod datetime;
mod error;
mod options;
pub mod pep;
pub mod store;

pub use alice::{Accepted, CameOnline, Opened, Published, Publisher, ReceiveSession, Receiver};
/// Alice's identity check of an offline init on its own, for replaying
/// vectors through the code path she uses (feature `testing`).
#[cfg(feature = "testing")]
pub use alice::{OpenInput, OpenedIdentity, open_identity};
pub use bob::{CheckedOptions, Initiator, SendSession, Started, created};
pub use datetime::{format_expires, parse_expires};
pub use error::Error;
pub use store::{Audience, MemoryOfflineStore, OfflineStore, PrivateValue, PublishedOptions};

/// Length of the nonces this crate draws (N_A, N_B: 16 bytes, DECISIONS D2).
pub const NONCE_LEN: usize = 16;
