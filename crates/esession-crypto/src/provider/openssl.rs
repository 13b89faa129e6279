//! The OpenSSL provider (feature `openssl`): the system's libcrypto through
//! the `openssl` crate.
//!
//! | operation | libcrypto |
//! |---|---|
//! | MODP exponentiation | `BN_mod_exp` with the exponent flagged `BN_FLG_CONSTTIME`, which runs `BN_mod_exp_mont_consttime` (fixed window, cache-neutral table gathers) |
//! | AES-CTR | `EVP_CIPHER` fetched once per key size, `EVP_EncryptUpdate` in place (the counter is the full 128-bit IV, incremented big-endian with wrap-around, as D12-D13 require) |
//! | SHA-2, SHA-1, MD5 | `EVP_MD` fetched once, `EVP_Digest*` fed part by part |
//! | HMAC | an HMAC `EVP_PKEY` and `EVP_DigestSign*`, part by part |
//! | RSA, DSA, ECDSA | `EVP_DigestSign` / `EVP_DigestVerify` with SHA-256 on the key loaded once from its PKCS#8 / SubjectPublicKeyInfo DER; DSA and ECDSA DER signatures converted to and from D31's fixed-width `r ‖ s` |
//!
//! What libcrypto 3.0 lacks falls back to [`super::RUST_CRYPTO`]: Twofish
//! and Serpent (never in OpenSSL) and Whirlpool (only in its legacy
//! provider). So does a hash or HMAC that libcrypto fails to compute (an
//! allocation failure): the hashing APIs of this crate are infallible, and
//! both providers give the same bytes.
//!
//! Randomness: RSA blinding and the DSA/ECDSA nonces come from OpenSSL's own
//! DRBG; the caller's generator is not used (EVP offers no way in).
//!
//! Constant time: OpenSSL's constant-time exponentiation processes as many
//! 64-bit words as the exponent has after leading zero words are dropped.
//! Under the `rfc3526` policy the top bit of x is set, so that is its fixed
//! width; under `full`, x below 2^(|p|-64) (probability 2^-64) would take a
//! shorter, visibly different time.

use std::sync::OnceLock;

use openssl::bn::{BigNum, BigNumContext};
use openssl::cipher::Cipher;
use openssl::cipher_ctx::CipherCtx;
use openssl::dsa::DsaSig;
use openssl::ecdsa::EcdsaSig;
use openssl::md::{Md, MdRef};
use openssl::md_ctx::MdCtx;
use openssl::pkey::PKey;
use rand_core::CryptoRng;

use super::{CryptoProvider, HashOutput, MAX_HASH_LEN, RUST_CRYPTO};
use crate::cipher::CipherAlg;
use crate::dh::ModpGroup;
use crate::hash::HashAlg;
use crate::sign::{SigningKey, VerifyingKey};
use crate::{Error, SecretBytes};

/// The OpenSSL provider.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenSsl;

/// The OpenSSL provider instance.
pub static OPENSSL: OpenSsl = OpenSsl;

fn ossl<E>(what: &'static str) -> impl FnOnce(E) -> Error {
    move |_| Error::Internal(what)
}

/// An `EVP_MD` fetched once per process, or `None` where libcrypto's default
/// provider lacks it (Whirlpool).
fn md(alg: HashAlg) -> Option<&'static MdRef> {
    static MDS: [OnceLock<Option<Md>>; 6] = [const { OnceLock::new() }; 6];
    let (i, name) = match alg {
        HashAlg::Sha256 => (0, "SHA256"),
        HashAlg::Sha384 => (1, "SHA384"),
        HashAlg::Sha512 => (2, "SHA512"),
        HashAlg::Sha1 => (3, "SHA1"),
        HashAlg::Md5 => (4, "MD5"),
        HashAlg::Whirlpool => return None,
    };
    MDS.get(i)?
        .get_or_init(|| Md::fetch(None, name, None).ok())
        .as_deref()
}

/// An AES-CTR `EVP_CIPHER` fetched once per key size.
fn aes_ctr(alg: CipherAlg) -> Result<Option<&'static Cipher>, Error> {
    static CIPHERS: [OnceLock<Option<Cipher>>; 3] = [const { OnceLock::new() }; 3];
    let (i, name) = match alg {
        CipherAlg::Aes128Ctr => (0, "AES-128-CTR"),
        CipherAlg::Aes192Ctr => (1, "AES-192-CTR"),
        CipherAlg::Aes256Ctr => (2, "AES-256-CTR"),
        _ => return Ok(None),
    };
    let slot = CIPHERS.get(i).ok_or(Error::Internal("cipher index"))?;
    slot.get_or_init(|| Cipher::fetch(None, name, None).ok())
        .as_ref()
        .map(Some)
        .ok_or(Error::Internal("OpenSSL lacks AES-CTR"))
}

fn output(len: usize, f: impl FnOnce(&mut [u8]) -> Option<usize>) -> Option<HashOutput> {
    let mut buf = zeroize::Zeroizing::new([0u8; MAX_HASH_LEN]);
    let n = f(buf.get_mut(..len)?)?;
    HashOutput::from_slice(buf.get(..n)?).ok()
}

impl CryptoProvider for OpenSsl {
    fn name(&self) -> &'static str {
        "openssl"
    }

    fn modp_pow(
        &self,
        group: ModpGroup,
        base: &[u8],
        exponent: &[u8],
        _exponent_bits: u32,
    ) -> Result<SecretBytes, Error> {
        let p = BigNum::from_slice(group.prime()).map_err(ossl("BN p"))?;
        let base = BigNum::from_slice(base).map_err(ossl("BN base"))?;
        let mut x = BigNum::new_secure().map_err(ossl("BN x"))?;
        x.copy_from_slice(exponent).map_err(ossl("BN x"))?;
        x.set_const_time();
        let mut r = BigNum::new_secure().map_err(ossl("BN r"))?;
        r.set_const_time();
        let mut ctx = BigNumContext::new_secure().map_err(ossl("BN_CTX"))?;
        let result = r
            .mod_exp(&base, &x, &p, &mut ctx)
            .map_err(ossl("BN_mod_exp"))
            .and_then(|()| {
                let width = i32::try_from(group.prime().len()).map_err(ossl("width"))?;
                r.to_vec_padded(width).map_err(ossl("BN encode"))
            });
        x.clear();
        r.clear();
        result.map(SecretBytes::new)
    }

    fn ctr_apply(
        &self,
        alg: CipherAlg,
        key: &[u8],
        counter: u128,
        data: &mut [u8],
    ) -> Result<(), Error> {
        let Some(cipher) = aes_ctr(alg)? else {
            // Twofish and Serpent: not in OpenSSL.
            return RUST_CRYPTO.ctr_apply(alg, key, counter, data);
        };
        let mut ctx = CipherCtx::new().map_err(ossl("EVP_CIPHER_CTX"))?;
        ctx.encrypt_init(Some(cipher), Some(key), Some(&counter.to_be_bytes()))
            .map_err(ossl("EVP_EncryptInit"))?;
        let len = data.len();
        let written = ctx
            .cipher_update_inplace(data, len)
            .map_err(ossl("EVP_EncryptUpdate"))?;
        if written != len {
            return Err(Error::Internal("EVP_EncryptUpdate length"));
        }
        Ok(())
    }

    fn digest(&self, alg: HashAlg, parts: &[&[u8]]) -> HashOutput {
        let run = || {
            let md = md(alg)?;
            let mut ctx = MdCtx::new().ok()?;
            ctx.digest_init(md).ok()?;
            for p in parts {
                ctx.digest_update(p).ok()?;
            }
            output(alg.output_len(), |buf| ctx.digest_final(buf).ok())
        };
        run().unwrap_or_else(|| RUST_CRYPTO.digest(alg, parts))
    }

    fn hmac(&self, alg: HashAlg, key: &[u8], parts: &[&[u8]]) -> HashOutput {
        let run = || {
            let md = md(alg)?;
            let pkey = PKey::hmac(key).ok()?;
            let mut ctx = MdCtx::new().ok()?;
            ctx.digest_sign_init(Some(md), &pkey).ok()?;
            for p in parts {
                ctx.digest_sign_update(p).ok()?;
            }
            output(alg.output_len(), |buf| {
                ctx.digest_sign_final(Some(buf)).ok()
            })
        };
        run().unwrap_or_else(|| RUST_CRYPTO.hmac(alg, key, parts))
    }

    fn sign(
        &self,
        key: &SigningKey,
        msg: &[u8],
        _rng: &mut dyn CryptoRng,
    ) -> Result<Vec<u8>, Error> {
        let pkey = key.openssl_key()?;
        let sha256 = md(HashAlg::Sha256).ok_or(Error::Internal("OpenSSL lacks SHA-256"))?;
        let mut ctx = MdCtx::new().map_err(ossl("EVP_MD_CTX"))?;
        ctx.digest_sign_init(Some(sha256), pkey)
            .map_err(ossl("EVP_DigestSignInit"))?;
        let mut der = Vec::new();
        ctx.digest_sign_to_vec(msg, &mut der)
            .map_err(ossl("EVP_DigestSign"))?;
        let half = key.verifying_key().signature_len() / 2;
        let width = i32::try_from(half).map_err(ossl("width"))?;
        let pair = |r: &openssl::bn::BigNumRef, s: &openssl::bn::BigNumRef| {
            let mut out = r.to_vec_padded(width).map_err(ossl("r"))?;
            out.extend_from_slice(&s.to_vec_padded(width).map_err(ossl("s"))?);
            Ok::<_, Error>(out)
        };
        match key.alg() {
            // RSASSA-PKCS1-v1_5: already the fixed-width I2OSP(s, k).
            crate::sign::SignAlg::RsaSha256 => Ok(der),
            crate::sign::SignAlg::DsaSha256 => {
                let sig = DsaSig::from_der(&der).map_err(ossl("DSA signature DER"))?;
                pair(sig.r(), sig.s())
            }
            crate::sign::SignAlg::EcdsaSha256 => {
                let sig = EcdsaSig::from_der(&der).map_err(ossl("ECDSA signature DER"))?;
                pair(sig.r(), sig.s())
            }
        }
    }

    fn verify(&self, key: &VerifyingKey, msg: &[u8], signature: &[u8]) -> Result<(), Error> {
        let bad = |_| Error::BadSignature;
        let pkey = key.openssl_key()?;
        let encoded;
        let sig = match key.alg() {
            crate::sign::SignAlg::RsaSha256 => signature,
            crate::sign::SignAlg::DsaSha256 | crate::sign::SignAlg::EcdsaSha256 => {
                let (r, s) = signature.split_at(signature.len() / 2);
                let r = BigNum::from_slice(r).map_err(bad)?;
                let s = BigNum::from_slice(s).map_err(bad)?;
                encoded = if key.alg() == crate::sign::SignAlg::DsaSha256 {
                    DsaSig::from_private_components(r, s)
                        .and_then(|sig| sig.to_der())
                        .map_err(bad)?
                } else {
                    EcdsaSig::from_private_components(r, s)
                        .and_then(|sig| sig.to_der())
                        .map_err(bad)?
                };
                &encoded
            }
        };
        let sha256 = md(HashAlg::Sha256).ok_or(Error::Internal("OpenSSL lacks SHA-256"))?;
        let mut ctx = MdCtx::new().map_err(ossl("EVP_MD_CTX"))?;
        ctx.digest_verify_init(Some(sha256), pkey)
            .map_err(ossl("EVP_DigestVerifyInit"))?;
        match ctx.digest_verify(msg, sig) {
            Ok(true) => Ok(()),
            _ => Err(Error::BadSignature),
        }
    }
}
