//! Crypto providers: who computes the primitives behind this crate's types.
//!
//! Every value type of this crate ([`crate::dh::DhPrivateKey`],
//! [`crate::cipher::CtrKey`], [`crate::hash::HashAlg`],
//! [`crate::sign::SigningKey`], [`crate::sign::VerifyingKey`]) keeps its API,
//! its wire formats and its checks, and hands the arithmetic to a
//! [`CryptoProvider`]: the MODP exponentiation, the CTR keystream, the hashes
//! and HMACs, and the signature operations. The split follows rustls's
//! `CryptoProvider` and openmls's `OpenMlsCrypto`: one trait for the
//! operations, implementations apart, and a process-wide default.
//!
//! | provider | what | feature |
//! |---|---|---|
//! | [`RUST_CRYPTO`] | RustCrypto (crypto-bigint, aes/ctr, sha2, hmac, rsa/dsa/p256); RSA signing on graviola where the CPU allows | always |
//! | `OPENSSL` | the system's libcrypto through the `openssl` crate | `openssl` |
//!
//! # Choosing a provider
//!
//! The provider is chosen once per process, like rustls's
//! `CryptoProvider::install_default`: [`install_default`] before the first
//! cryptographic operation, else [`get_default`] settles on [`RUST_CRYPTO`]
//! (or on the OpenSSL provider when the crate is built with the
//! `openssl-default` feature, which is how CI runs every test under it).
//! [`get_default`] is one atomic load on the hot path.
//!
//! The protocol crates do not name a provider yet: they use the types above,
//! which use the default. The next step gives `esession_online::Config` a
//! `provider: &'static dyn CryptoProvider` field (defaulting to
//! [`get_default`]) and the types `*_with(provider, …)` twins of their
//! operations ([`crate::sign::SigningKey::sign_with`] and
//! [`crate::sign::VerifyingKey::verify_with`] exist already), so two
//! endpoints in one process can use different providers.
//!
//! # Agreement
//!
//! Providers must agree byte for byte on every deterministic output (the
//! differential test `tests/providers.rs` checks the OpenSSL provider against
//! RustCrypto on MODP groups 1-18, every cipher and hash, and RSA signatures;
//! DSA and ECDSA signatures are randomized, so they are cross-verified).
//!
//! # Randomness
//!
//! Randomness stays an input: [`CryptoProvider::sign`] takes the caller's
//! [`rand_core::CryptoRng`]. The RustCrypto provider draws DSA nonces, the
//! ECDSA hedge and RSA blinding from it. RSA PKCS#1 v1.5 signatures are
//! deterministic, so the graviola path (which does not blind, see
//! [`rust_crypto`]) gives the same bytes. The OpenSSL provider cannot take a
//! caller's generator for its EVP signatures: its nonces and blinding come
//! from OpenSSL's own DRBG.

use core::fmt;
use std::sync::OnceLock;

use rand_core::CryptoRng;
use zeroize::Zeroize;

use crate::cipher::CipherAlg;
use crate::dh::ModpGroup;
use crate::hash::HashAlg;
use crate::sign::{SigningKey, VerifyingKey};
use crate::{Error, SecretBytes};

#[cfg(feature = "openssl")]
pub mod openssl;
pub mod rust_crypto;

pub use rust_crypto::{RUST_CRYPTO, RustCrypto};

#[cfg(feature = "openssl")]
pub use self::openssl::{OPENSSL, OpenSsl};

/// The longest hash output of any [`HashAlg`] (SHA-512 and Whirlpool).
pub const MAX_HASH_LEN: usize = 64;

/// A hash or HMAC output on the stack: no allocation per MAC, zeroized on
/// drop (HMAC outputs become keys), never printed.
#[derive(Clone)]
pub struct HashOutput {
    bytes: [u8; MAX_HASH_LEN],
    len: usize,
}

impl HashOutput {
    /// Copies `bytes` (at most [`MAX_HASH_LEN`]; longer input is an internal error).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let mut out = HashOutput {
            bytes: [0; MAX_HASH_LEN],
            len: bytes.len(),
        };
        out.bytes
            .get_mut(..bytes.len())
            .ok_or(Error::Internal("hash output longer than 64 bytes"))?
            .copy_from_slice(bytes);
        Ok(out)
    }

    /// The output bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

impl Drop for HashOutput {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for HashOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HashOutput([REDACTED; {}])", self.len)
    }
}

/// The operations a provider implements. Inputs and outputs are bytes and
/// this crate's types; checks that do not depend on the provider (public
/// value ranges, key validation, signature lengths, MAC comparison) stay in
/// the types that call these methods.
pub trait CryptoProvider: Send + Sync + fmt::Debug {
    /// A short name for reports ("rustcrypto", "openssl").
    fn name(&self) -> &'static str;

    /// `base^exponent mod p` for the group's prime p, big-endian, as wide as
    /// p. `exponent` is secret: the operation must take time that depends
    /// only on `exponent_bits` (public: the number of exponent bits
    /// processed, at least the bit length of `exponent`), never on its
    /// value. `base` is public and below p.
    fn modp_pow(
        &self,
        group: ModpGroup,
        base: &[u8],
        exponent: &[u8],
        exponent_bits: u32,
    ) -> Result<SecretBytes, Error>;

    /// XORs the CTR keystream of `alg` under `key` into `data`, the first
    /// block using `counter`, the counter a 128-bit big-endian integer that
    /// wraps modulo 2^128 ([`crate::cipher`]). Never called for `none`.
    fn ctr_apply(
        &self,
        alg: CipherAlg,
        key: &[u8],
        counter: u128,
        data: &mut [u8],
    ) -> Result<(), Error>;

    /// HASH(`parts[0] ‖ parts[1] ‖ …`).
    fn digest(&self, alg: HashAlg, parts: &[&[u8]]) -> HashOutput;

    /// HMAC(key, `parts[0] ‖ parts[1] ‖ …`) (RFC 2104), fed part by part.
    fn hmac(&self, alg: HashAlg, key: &[u8], parts: &[&[u8]]) -> HashOutput;

    /// Signs `msg` with `key`, returning the D31 signature octets
    /// ([`crate::sign`]): SHA-256 inside the scheme, fixed-width output.
    fn sign(&self, key: &SigningKey, msg: &[u8], rng: &mut dyn CryptoRng)
    -> Result<Vec<u8>, Error>;

    /// Verifies D31 signature octets whose length the caller has checked;
    /// any failure is [`Error::BadSignature`].
    fn verify(&self, key: &VerifyingKey, msg: &[u8], signature: &[u8]) -> Result<(), Error>;
}

static DEFAULT: OnceLock<&'static dyn CryptoProvider> = OnceLock::new();

/// The provider this build uses unless [`install_default`] chose another:
/// RustCrypto, or OpenSSL under the `openssl-default` feature.
pub fn built_in_default() -> &'static dyn CryptoProvider {
    #[cfg(feature = "openssl-default")]
    {
        &OPENSSL
    }
    #[cfg(not(feature = "openssl-default"))]
    {
        &RUST_CRYPTO
    }
}

/// Makes `provider` the process default. Succeeds only before the default
/// was first used (or installed); otherwise returns the provider in place.
pub fn install_default(
    provider: &'static dyn CryptoProvider,
) -> Result<(), &'static dyn CryptoProvider> {
    let mut installed = false;
    let current = DEFAULT.get_or_init(|| {
        installed = true;
        provider
    });
    if installed { Ok(()) } else { Err(*current) }
}

/// The process default provider (settled on first use).
pub fn get_default() -> &'static dyn CryptoProvider {
    *DEFAULT.get_or_init(built_in_default)
}

/// Lends a `rand_core` generator of any (possibly unsized) type as a
/// `dyn CryptoRng`, for the provider calls.
pub(crate) struct RngRef<'a, R: ?Sized>(pub(crate) &'a mut R);

impl<R: CryptoRng + ?Sized> rand_core::TryRng for RngRef<'_, R> {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.0.next_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.0.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

impl<R: CryptoRng + ?Sized> rand_core::TryCryptoRng for RngRef<'_, R> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_stable_and_install_after_use_fails() {
        let first = get_default();
        assert_eq!(first.name(), built_in_default().name());
        assert!(install_default(&RUST_CRYPTO).is_err());
        assert_eq!(get_default().name(), first.name());
    }

    #[test]
    fn hash_output_is_redacted_and_bounded() {
        let out = HashOutput::from_slice(&[0xab; 32]).unwrap();
        assert_eq!(out.as_bytes(), &[0xab; 32]);
        assert_eq!(format!("{out:?}"), "HashOutput([REDACTED; 32])");
        assert!(HashOutput::from_slice(&[0; 65]).is_err());
    }
}
