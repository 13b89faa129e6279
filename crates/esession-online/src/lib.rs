//! # esession-online
//!
//! Sans-IO XMPP Encrypted Sessions between two online clients: the XEP-0116
//! negotiation (4-message SIGMA-R with a short authentication string, or
//! 3-message SIGMA-I with public keys) carried in XEP-0155 stanza session
//! forms, followed by the XEP-0200 encrypted session. Every byte follows
//! `DECISIONS.md` (D1-D50); the choices it leaves open are recorded in
//! `notes/decisions-esession-online.md` (O1-O20).
//!
//! Stanzas, time and randomness go in; stanzas and events come out. Nothing
//! here does I/O, reads a clock or keeps global state.
//!
//! ```text
//!          application                               application
//!      initiate │    ▲ poll_output                 accept │    ▲ poll_output
//!               ▼    │                                    ▼    │
//!       ┌──────────────────┐   msg1 (dhhashes)   ┌──────────────────┐
//!       │ Endpoint (Alice) │ ──────────────────▶ │ Endpoint (Bob)   │ Requested
//!       │                  │ ◀────────────────── │                  │
//!       │   SasReady       │   msg2 (d, C_A)     │                  │
//!       │                  │ ──────────────────▶ │  SasReady        │
//!       │                  │   msg3 (e, ID_A)    │  Established     │
//!       │   Established    │ ◀────────────────── │                  │
//!       │                  │   msg4 (ID_B)       │                  │
//!       │  send ─▶ <c/> ───┼─────────────────────┼──▶ Received      │
//!       └──────────────────┘   XEP-0200          └──────────────────┘
//!            │ esession-wire: forms, normalized bytes, <c/>
//!            │ esession-sigma: K, keys, macA/macB, ID, M, SAS, SRS, K_final
//!            ▼ esession-crypto: DH, CTR, HMAC
//! ```
//!
//! Data flows one way: [`Endpoint::handle_stanza`] parses a stanza with
//! `esession-wire` (keeping the received tree for formA/formB/formA2/formB2,
//! D16), checks it, derives keys with `esession-sigma`, and queues
//! [`Output`]s; the application sends every [`Output::Send`] and shows the
//! events. Retained secrets live behind [`RetainedSecretStore`].
//!
//! ## Example: a whole session in memory
//!
//! ```
//! use std::time::SystemTime;
//! use esession_online::{Config, Endpoint, MemoryStore, Output};
//! use esession_wire::{Stanza, StanzaKind};
//! # use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
//! let now = SystemTime::UNIX_EPOCH;
//! let (mut alice_store, mut bob_store) = (MemoryStore::new(), MemoryStore::new());
//! let mut alice = Endpoint::initiate(Config::default(), ChaCha20Rng::seed_from_u64(1), now,
//!                                    "bob@example.com")?;
//! let mut bob = Endpoint::responder(Config::default(), ChaCha20Rng::seed_from_u64(2))?;
//!
//! // A tiny router: deliver every Send to the other side, stamped with `from`.
//! fn sent<R>(e: &mut Endpoint<R>, from: &str) -> Vec<Stanza> {
//!     let mut v = Vec::new();
//!     while let Some(o) = e.poll_output() {
//!         if let Output::Send(mut s) = o { s.set_attr("from", from); v.push(s); }
//!     }
//!     v
//! }
//! for s in sent(&mut alice, "alice@example.org/pda") { bob.handle_stanza(now, s, &mut bob_store)?; }
//! bob.accept(now)?;                                                     // after Output::Requested
//! for s in sent(&mut bob, "bob@example.com/laptop") { alice.handle_stanza(now, s, &mut alice_store)?; }
//! for s in sent(&mut alice, "alice@example.org/pda") { bob.handle_stanza(now, s, &mut bob_store)?; }
//! for s in sent(&mut bob, "bob@example.com/laptop") { alice.handle_stanza(now, s, &mut alice_store)?; }
//! assert!(alice.is_established() && bob.is_established());
//!
//! let mut hello = Stanza::new(StanzaKind::Message);
//! hello.push_body("Hello Bob");
//! alice.send(now, hello)?;
//! for s in sent(&mut alice, "alice@example.org/pda") { bob.handle_stanza(now, s, &mut bob_store)?; }
//! let received = std::iter::from_fn(|| bob.poll_output())
//!     .find_map(|o| match o { Output::Received(s) => Some(s), _ => None });
//! assert!(received.unwrap().to_xml().contains("<body>Hello Bob</body>"));
//! # Ok::<(), esession_online::Error>(())
//! ```
//!
//! ## What this version covers
//!
//! - **Negotiation**, both roles: 4-message SIGMA-R (SAS, retained secrets
//!   through [`RetainedSecretStore`], a shared password) and 3-message SIGMA-I
//!   (D46, [`Config::three_message`]); every option field, Bob's choice rules
//!   and Alice's checks; rejections per D44; `ver` 1.0 only (D25).
//! - **Public keys** (D27-D31): rsa-sha256 and dsa-sha256 (ecdsa-sha256 only
//!   if listed) in `key` and `hash` modes ([`Config::identity_key`],
//!   [`PubkeyMode`]); a [`TrustStore`] with [`Output::PeerKey`] events for new,
//!   changed and re-used keys (XEP-0116 §8.5) and
//!   [`Endpoint::trust_peer_key`] / [`Endpoint::reject_peer_key`].
//! - **XEP-0200**: message, presence and iq content ([`StanzaCipher`], also
//!   used by the offline crate); compression `none` or `zlib`; re-keying
//!   ([`Endpoint::rekey`], `<key/>`/`<new/>`, rekey_freq enforced both ways,
//!   old MAC keys published only once retired, the 2^32-block limit
//!   terminates); encrypted termination with acknowledgement.
//! - **Object encryption**: msg3 carrying encrypted content and terminate
//!   ([`Endpoint::send_with_accept`], XEP-0116 §4.6.4).
//! - **Fallback**: a plain stanza session when Alice allows security `c2s`
//!   or `none` and Bob will not start an ESession ([`Output::PlainRequested`]).
//! - **Gajim profile** (G1-G19, per peer via [`Config::profile`], optional
//!   detection of a Gajim initiator with [`Config::detect_gajim`]): AES-256 from
//!   the 32-byte key, pre-incremented counter, padded counter in stanza MACs,
//!   D18 forms, padding to 16 bytes and keystream carry-over, the plaintext
//!   fallback body, plaintext termination, no re-key, unpadded SAS display,
//!   and msg1-msg4 laid out exactly as Gajim 0.15.4 writes them (GAJIM.md §2,
//!   G16: its field order, types, `<required/>`, `label="None"`, accept
//!   `true`, every response field text-single), so that with the same
//!   randomness our forms, MACs and SAS equal Gajim's recorded ones.
//!
//! ## Security
//!
//! - Every MAC is checked in constant time before anything is deciphered; a
//!   tampered, replayed or reordered stanza ends the session
//!   ([`PeerMisbehaved::BadStanzaMac`]) and nothing of it reaches the
//!   application.
//! - Keys and secrets are `esession-crypto` types that zeroize on drop and are
//!   redacted in `Debug`; the terminator drops its send keys at once (D43).
//! - Alice commits a new retained secret only after Bob's identity verified (D37).
#![forbid(unsafe_code)]

mod config;
mod endpoint;
mod error;
pub mod negotiated;
mod profile;
mod pubkey;
mod rekey;
mod store;
mod traffic;

pub use config::{Config, LOGGING_OPTIONS, SharedPassword};
/// Pinned randomness for tests and vectors (feature `testing`).
#[cfg(feature = "testing")]
pub use endpoint::TestPins;
pub use endpoint::{
    Endpoint, Established, Output, PlainSession, Requested, TERMINATE_ACK_TIMEOUT,
    TerminationReason,
};
pub use error::{Error, PeerMisbehaved};
pub use negotiated::Negotiated;
pub use profile::GAJIM_FALLBACK_BODY;
pub use pubkey::{IdentityKey, KeyStatus, PeerKey, PubkeyMode, fingerprint_of, fingerprint_of_key};
pub use store::{
    MAX_SECRETS_PER_PEER, MemoryStore, RetainedSecret, SECRET_LIFETIME, SessionStore, StoreError,
    StoreOp, TrustedKey,
};
pub use traffic::{
    Compression, ControlFields, MAX_BLOCKS_PER_KEY, MAX_DECOMPRESSED_BYTES, StanzaCipher,
};

/// The profile type of [`Config::profile`], re-exported from `esession-sigma`.
pub use esession_sigma::Profile;
/// The SAS type of [`Output::SasReady`], re-exported from `esession-sigma`.
pub use esession_sigma::sas::Sas;
/// The bare JID of a full JID, re-exported from `esession-wire`.
pub use esession_wire::bare;
