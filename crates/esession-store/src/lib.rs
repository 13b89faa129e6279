//! # esession-store
//!
//! Stores for the long-lived state of XMPP Encrypted Sessions, behind the
//! traits the protocol crates define:
//!
//! - retained secrets (XEP-0116 §4.6.4, §4.8.1, DECISIONS D34, D37) and
//!   trusted public keys with petnames (XEP-0116 §8.5, XEP-0187 §3.2, §3.4):
//!   [`SessionStore`];
//! - Alice's offline private values and seen d/N_B values (XEP-0187 §3.1,
//!   §3.4, DECISIONS D50): [`OfflineStore`], which extends [`SessionStore`].
//!
//! [`SqliteStore`] implements both on disk, on one connection;
//! [`MemoryStore`] and [`MemoryOfflineStore`] (defined next to their traits
//! in the protocol crates and re-exported here) keep everything in memory.
//!
//! [`SqliteStore`] is the embedded default: one SQLite file (bundled SQLite,
//! no system library needed) holding every secret encrypted at rest under a
//! 32-byte [`StoreKey`] the application supplies.
//!
//! ```text
//!  protocol drivers (esession-online, esession-offline)
//!        │ SessionStore::{secrets, store_secret, secret_proven, mark_verified, …,
//!        │                trusted_keys, jids_trusting, trust_key, forget_key}
//!        │ OfflineStore::{save_published, published, record_seen, …}
//!        ▼
//!  SqliteStore ── seal/open: XChaCha20-Poly1305(StoreKey, random nonce,
//!        │                   AAD = table, account, peer, slot, metadata)
//!        ▼
//!  SQLite file (WAL, synchronous=FULL; one IMMEDIATE transaction per update;
//!               application_id "ESES", schema version in user_version)
//! ```
//!
//! ## Example
//!
//! ```
//! use std::time::SystemTime;
//! use esession_crypto::SecretBytes;
//! use esession_online::{RetainedSecret, SessionStore};
//! use esession_store::{SqliteStore, StoreKey};
//! # let dir = std::env::temp_dir().join(format!("esession-store-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! let key = StoreKey::generate()?;             // in practice: from the OS keyring
//! let path = dir.join("alice.sqlite");
//! let now = SystemTime::now();
//! let mut store = SqliteStore::open(&path, &key, "alice@example.org")?;
//! store.store_secret("bob@example.com", None,
//!                    RetainedSecret::new(SecretBytes::new(vec![7; 32]), now))?;
//! drop(store);
//!
//! let store = SqliteStore::open(&path, &key, "alice@example.org")?;
//! assert_eq!(store.secrets("bob@example.com", now)?[0].secret.as_bytes(), &[7; 32]);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), esession_store::Error>(())
//! ```
//!
//! ## What is encrypted, what is not
//!
//! Secret values are never written in clear: each is sealed with
//! XChaCha20-Poly1305 under the store key and a fresh random 24-byte nonce.
//! The metadata needed to find rows stays in clear: account and contact bare
//! JIDs, storage times, the `verified` and `pending` flags, the slot a
//! pending secret is to replace, and the insertion order. It is
//! bound to the ciphertext as associated data, so it cannot be changed or
//! moved between rows without [`Error::Tampered`]; deleting rows, or
//! restoring an older copy of the whole file, cannot be detected by a store
//! and is out of scope. A wrong key is reported as [`Error::WrongKey`] when
//! the store is opened (an encrypted key-check record in table `meta`).
//!
//! ## Crash safety
//!
//! WAL journal with `synchronous=FULL`, and every update (store with its
//! replacement and the 8-per-contact cap, verify, save or remove published
//! offline values with their seen values, record_seen's check-and-insert,
//! migration) in one
//! `BEGIN IMMEDIATE` transaction: after a crash the store opens cleanly and
//! each value is the old one or the new one. `tests/crash.rs` kills a
//! writing child process with SIGKILL 200 times to check this.
//!
//! ## Schema
//!
//! See [`sqlite`] for versioning, [`retained`] and [`offline`] for the
//! table layouts. Version 1: `meta` (key check) and `retained_secret`;
//! version 2 adds `offline_published`, `offline_seen` and [`trust`]'s
//! `trusted_key`; version 3 adds the `pending` and `replaces_slot` columns
//! of `retained_secret` (D37).
//! Opening a file written by a newer version fails with
//! [`Error::UnsupportedSchema`] and leaves it untouched.
//!
//! ## Errors
//!
//! Every trait method returns this crate's [`Error`]; the protocol crates
//! hand it to the application as their own typed store error (the session
//! never reports itself established on a secret that was not written).

mod error;
mod key;
pub mod offline;
pub mod retained;
pub mod sqlite;
pub mod trust;

pub use error::Error;
pub use esession_offline::{MemoryOfflineStore, OfflineStore};
pub use esession_online::{MemoryStore, RetainedSecret, SessionStore, TrustedKey};
pub use key::{KEY_LEN, StoreKey};
pub use retained::MAX_SECRET_LEN;
pub use sqlite::{APPLICATION_ID, SCHEMA_VERSION, SqliteStore};
