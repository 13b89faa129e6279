//! # esession-crypto
//!
//! The cryptographic primitives of XMPP Encrypted Sessions, each selected by the
//! name the XEPs put on the wire (see [`Registry`]):
//!
//! | module | what | specification |
//! |---|---|---|
//! | [`dh`] | MODP groups 1, 2, 5, 14-18; exponent policies; shared secret | XEP-0116 §4.3, RFC 2409/3526, DECISIONS D5-D8 |
//! | [`cipher`] | AES, Twofish, Serpent in CTR mode with a wrapping 128-bit counter; `none` | XEP-0200 §4, D10, D12-D13 |
//! | [`hash`] | SHA-256/384/512, Whirlpool (SHA-1, MD5 opt-in); HMAC | XEP-0116 §8.5, RFC 2104, D9 |
//! | [`sign`] | rsa-sha256, dsa-sha256, ecdsa-sha256 (P-256) | XEP-0116 §8.2, D31 |
//! | [`sas`] | sas28x5, padded and Gajim's unpadded form | XEP-0116 §10, D32 |
//! | [`mpi`], [`b64`] | the XEP's integer encoding and strict base64 | XEP-0116 §6.1, D1, D3 |
//! | [`provider`] | who computes: the RustCrypto provider (default) or OpenSSL (feature `openssl`) | — |
//!
//! Higher crates build on this one: `esession-sigma` computes the XEP-0188 key
//! schedule from these functions, `esession-wire` uses [`mpi`] and [`b64`], and the
//! protocol crates only orchestrate. The types keep the formats and checks and
//! hand the arithmetic to a [`provider::CryptoProvider`], chosen once per
//! process ([`provider::get_default`]). Nothing here does I/O, and randomness always
//! comes from a caller-supplied [`rand_core::CryptoRng`], so test vectors can pin it.
//!
//! ```
//! use esession_crypto::{dh::{DhPrivateKey, ExponentPolicy, ModpGroup}, hash::HashAlg, Registry};
//! # use rand_core::SeedableRng;
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
//! let group = Registry::strict().group("14")?;
//! let alice = DhPrivateKey::generate(group, ExponentPolicy::Rfc3526, 128, &mut rng)?;
//! let bob = DhPrivateKey::generate(group, ExponentPolicy::Rfc3526, 128, &mut rng)?;
//! let k_a = HashAlg::Sha256.digest(alice.shared_secret(bob.public_key())?.as_bytes());
//! let k_b = HashAlg::Sha256.digest(bob.shared_secret(alice.public_key())?.as_bytes());
//! assert_eq!(k_a, k_b); // K = HASH(mpi(g^xy mod p)), DECISIONS D8
//! # Ok::<(), esession_crypto::Error>(())
//! ```
//!
//! # Security
//!
//! - Every key, DH exponent and shared secret zeroizes on drop ([`SecretBytes`],
//!   [`dh::DhPrivateKey`], [`cipher::CtrKey`]; the signature keys rely on the
//!   RustCrypto types' own zeroization, see [`sign`]).
//! - MACs are compared in constant time ([`hash::HashAlg::verify_hmac`]), as are
//!   [`SecretBytes`] values.
//! - `Debug` never prints secret bytes.
//! - Secret-exponent arithmetic is constant time (see [`dh`]).
//! - `sha1`, `md5` and cipher `none` are refused unless explicitly enabled.
#![forbid(unsafe_code)]

pub mod b64;
pub mod cipher;
pub mod dh;
mod error;
mod groups;
pub mod hash;
pub mod mpi;
pub mod provider;
mod registry;
pub mod sas;
pub mod secret;
pub mod sign;

pub use error::Error;
pub use registry::Registry;
pub use secret::SecretBytes;

/// The `rand_core` version this crate's APIs take randomness through.
pub use rand_core;
