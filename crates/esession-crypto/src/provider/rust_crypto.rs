//! The default provider: RustCrypto crates, with graviola for the RSA
//! private operation where the CPU allows.
//!
//! | operation | implementation |
//! |---|---|
//! | MODP exponentiation | crypto-bigint Montgomery form, 4-bit fixed window, constant-time table look-ups; the group's parameters computed once per process ([`modp_pow_boxed`], [`modp_pow_fixed`]) |
//! | CTR ciphers | `aes` (AES-NI / ARMv8 AES detected at run time, 8 blocks in flight), `twofish`, `serpent`, through `ctr` |
//! | hashes, HMAC | `sha2` (SHA-NI detected at run time), `whirlpool`, `sha1`, `md-5`; `hmac` |
//! | RSA sign | graviola (s2n-bignum's formally verified Montgomery code) on x86_64 with AES, SSSE3, AVX2, ADX, BMI2, PCLMULQDQ and on aarch64 with AES, SHA2, PMULL, NEON; else the `rsa` crate |
//! | RSA verify, DSA, ECDSA | `rsa`, `dsa`, `p256` |
//!
//! # Why graviola signs RSA
//!
//! RSA-2048 signing with the `rsa` crate cost about 9x OpenSSL. Measured
//! apart: the crate's blinding (base, exponent and modulus blinding, each
//! fresh per signature) is under 5 % of it, and its CRT values are already
//! precomputed; the cost is the big-integer backend. Two 1024-bit
//! exponentiations in crypto-bigint take about 1 ms each, in its boxed and
//! in its fixed-width form alike, where OpenSSL's assembly (AVX-512 IFMA
//! here) does the whole signature in a quarter of that. graviola runs the
//! same CRT exponentiation on s2n-bignum's verified x86_64/aarch64 code,
//! about 4x faster than the `rsa` crate. It does not blind: its
//! exponentiation is constant time, and PKCS#1 v1.5 signs a public value,
//! so its signatures are the `rsa` crate's, byte for byte (tested).

use std::sync::OnceLock;

use cipher::{InnerIvInit, KeyInit, StreamCipher};
use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams, FixedMontyForm, FixedMontyParams};
use crypto_bigint::{BoxedUint, Odd, Uint};
use digest::Digest;
use hmac::{Hmac, Mac};
use rand_core::CryptoRng;
use zeroize::{Zeroize, Zeroizing};

use super::{CryptoProvider, HashOutput};
use crate::cipher::CipherAlg;
use crate::dh::ModpGroup;
use crate::hash::HashAlg;
use crate::sign::{SigningKey, VerifyingKey};
use crate::{Error, SecretBytes};

/// The RustCrypto provider (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCrypto;

/// The RustCrypto provider instance.
pub static RUST_CRYPTO: RustCrypto = RustCrypto;

impl CryptoProvider for RustCrypto {
    fn name(&self) -> &'static str {
        "rustcrypto"
    }

    fn modp_pow(
        &self,
        group: ModpGroup,
        base: &[u8],
        exponent: &[u8],
        exponent_bits: u32,
    ) -> Result<SecretBytes, Error> {
        modp_pow_boxed(group, base, exponent, exponent_bits)
    }

    fn ctr_apply(
        &self,
        alg: CipherAlg,
        key: &[u8],
        counter: u128,
        data: &mut [u8],
    ) -> Result<(), Error> {
        match alg {
            CipherAlg::Aes128Ctr => ctr_apply::<aes::Aes128>(key, counter, data),
            CipherAlg::Aes192Ctr => ctr_apply::<aes::Aes192>(key, counter, data),
            CipherAlg::Aes256Ctr => ctr_apply::<aes::Aes256>(key, counter, data),
            CipherAlg::Twofish128Ctr | CipherAlg::Twofish192Ctr | CipherAlg::Twofish256Ctr => {
                ctr_apply::<twofish::Twofish>(key, counter, data)
            }
            CipherAlg::Serpent128Ctr | CipherAlg::Serpent192Ctr | CipherAlg::Serpent256Ctr => {
                ctr_apply::<serpent::Serpent>(key, counter, data)
            }
            CipherAlg::None => Ok(()),
        }
    }

    fn digest(&self, alg: HashAlg, parts: &[&[u8]]) -> HashOutput {
        fn run<D: Digest>(parts: &[&[u8]]) -> HashOutput {
            let mut h = D::new();
            for p in parts {
                h.update(p);
            }
            let mut out = h.finalize();
            let r = HashOutput::from_slice(&out);
            out.zeroize();
            // Every output here is at most 64 bytes.
            r.unwrap_or_else(|_| empty())
        }
        match alg {
            HashAlg::Sha256 => run::<sha2::Sha256>(parts),
            HashAlg::Sha384 => run::<sha2::Sha384>(parts),
            HashAlg::Sha512 => run::<sha2::Sha512>(parts),
            HashAlg::Whirlpool => run::<whirlpool::Whirlpool>(parts),
            HashAlg::Sha1 => run::<sha1::Sha1>(parts),
            HashAlg::Md5 => run::<md5::Md5>(parts),
        }
    }

    fn hmac(&self, alg: HashAlg, key: &[u8], parts: &[&[u8]]) -> HashOutput {
        fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> HashOutput {
            // HMAC takes keys of any length; a refusal would be a bug, and its
            // empty output can never verify.
            let Ok(mut m) = <M as KeyInit>::new_from_slice(key) else {
                return empty();
            };
            for p in parts {
                m.update(p);
            }
            let mut out = m.finalize().into_bytes();
            let r = HashOutput::from_slice(&out);
            out.zeroize();
            r.unwrap_or_else(|_| empty())
        }
        match alg {
            HashAlg::Sha256 => run::<Hmac<sha2::Sha256>>(key, parts),
            HashAlg::Sha384 => run::<Hmac<sha2::Sha384>>(key, parts),
            HashAlg::Sha512 => run::<Hmac<sha2::Sha512>>(key, parts),
            HashAlg::Whirlpool => run::<Hmac<whirlpool::Whirlpool>>(key, parts),
            HashAlg::Sha1 => run::<Hmac<sha1::Sha1>>(key, parts),
            HashAlg::Md5 => run::<Hmac<md5::Md5>>(key, parts),
        }
    }

    fn sign(
        &self,
        key: &SigningKey,
        msg: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<Vec<u8>, Error> {
        crate::sign::rust_crypto_sign(key, msg, rng)
    }

    fn verify(&self, key: &VerifyingKey, msg: &[u8], signature: &[u8]) -> Result<(), Error> {
        crate::sign::rust_crypto_verify(key, msg, signature)
    }
}

fn empty() -> HashOutput {
    HashOutput {
        bytes: [0; super::MAX_HASH_LEN],
        len: 0,
    }
}

/// CTR with a 128-bit big-endian counter over block cipher `B`.
///
/// The block cipher is keyed with `new_from_slice`, so the variable key sizes of
/// Twofish and Serpent (16, 24 or 32 bytes) are honoured; any failure is an
/// error, never silently skipped encryption. The `ctr` crate hands whole runs
/// of blocks to the cipher's parallel backend (8 AES-NI blocks at a time).
fn ctr_apply<B>(key: &[u8], counter: u128, data: &mut [u8]) -> Result<(), Error>
where
    B: KeyInit + cipher::BlockCipherEncrypt<BlockSize = cipher::consts::U16>,
{
    let block = B::new_from_slice(key).map_err(|_| Error::Internal("block cipher key"))?;
    let core = ctr::CtrCore::<B, ctr::flavors::Ctr128BE>::inner_iv_slice_init(
        block,
        &counter.to_be_bytes(),
    )
    .map_err(|_| Error::Internal("ctr iv"))?;
    let mut c = ctr::Ctr128BE::<B>::from_core(core);
    c.apply_keystream(data);
    Ok(())
}

/// The group's Montgomery parameters, computed once per process (p is public).
fn boxed_params(group: ModpGroup) -> Result<&'static BoxedMontyParams, Error> {
    static PARAMS: [OnceLock<BoxedMontyParams>; 8] = [const { OnceLock::new() }; 8];
    let slot = ModpGroup::ALL
        .iter()
        .position(|g| *g == group)
        .and_then(|i| PARAMS.get(i))
        .ok_or(Error::Internal("group index"))?;
    if let Some(p) = slot.get() {
        return Ok(p);
    }
    let p = BoxedUint::from_be_slice(group.prime(), group.bits())
        .map_err(|_| Error::Internal("prime encoding"))?;
    let p = Option::<Odd<BoxedUint>>::from(Odd::new(p)).ok_or(Error::Internal("even prime"))?;
    Ok(slot.get_or_init(|| BoxedMontyParams::new_vartime(p)))
}

/// `base^exponent mod p` with crypto-bigint's heap-allocated (`Boxed`)
/// Montgomery form, sized to the group at run time: what the RustCrypto
/// provider uses. Constant time in `exponent` for a given `exponent_bits`.
pub fn modp_pow_boxed(
    group: ModpGroup,
    base: &[u8],
    exponent: &[u8],
    exponent_bits: u32,
) -> Result<SecretBytes, Error> {
    let params = boxed_params(group)?;
    let bits = group.bits();
    let base = BoxedUint::from_be_slice(strip(base, group)?, bits)
        .map_err(|_| Error::InvalidPublicValue)?;
    let mut x = BoxedUint::from_be_slice(strip(exponent, group)?, bits)
        .map_err(|_| Error::Internal("exponent width"))?;
    let mut r = BoxedMontyForm::new(base, params)
        .pow_bounded_exp(&x, exponent_bits)
        .retrieve();
    x.zeroize();
    let out = SecretBytes::new(r.to_be_bytes().into_vec());
    r.zeroize();
    Ok(out)
}

/// Leading zero bytes removed; fails if the rest is wider than p.
fn strip(be: &[u8], group: ModpGroup) -> Result<&[u8], Error> {
    let start = be.iter().position(|&b| b != 0).unwrap_or(be.len());
    let rest = be.get(start..).unwrap_or_default();
    if rest.len() > group.prime().len() {
        return Err(Error::InvalidPublicValue);
    }
    Ok(rest)
}

/// `be` left-padded with zeros to `width` bytes.
fn padded(be: &[u8], width: usize) -> Result<Zeroizing<Vec<u8>>, Error> {
    let mut out = Zeroizing::new(vec![0u8; width]);
    let start = width
        .checked_sub(be.len())
        .ok_or(Error::Internal("value wider than the group"))?;
    out.get_mut(start..)
        .ok_or(Error::Internal("padding"))?
        .copy_from_slice(be);
    Ok(out)
}

/// `base^exponent mod p` with crypto-bigint's fixed-width `Uint<LIMBS>` and
/// `FixedMontyForm` (stack values, the limb count a constant per group).
/// Same contract as [`modp_pow_boxed`]; kept to measure the two forms
/// against each other (`benches/dh.rs`, `compare`).
pub fn modp_pow_fixed(
    group: ModpGroup,
    base: &[u8],
    exponent: &[u8],
    exponent_bits: u32,
) -> Result<SecretBytes, Error> {
    let width = group.prime().len();
    let base = padded(strip(base, group)?, width)?;
    let x = padded(strip(exponent, group)?, width)?;
    match group {
        ModpGroup::Group1 => fixed::<{ 768 / 64 }>(group, &base, &x, exponent_bits),
        ModpGroup::Group2 => fixed::<{ 1024 / 64 }>(group, &base, &x, exponent_bits),
        ModpGroup::Group5 => fixed::<{ 1536 / 64 }>(group, &base, &x, exponent_bits),
        ModpGroup::Group14 => fixed::<{ 2048 / 64 }>(group, &base, &x, exponent_bits),
        ModpGroup::Group15 => fixed::<{ 3072 / 64 }>(group, &base, &x, exponent_bits),
        ModpGroup::Group16 => fixed::<{ 4096 / 64 }>(group, &base, &x, exponent_bits),
        ModpGroup::Group17 => fixed::<{ 6144 / 64 }>(group, &base, &x, exponent_bits),
        ModpGroup::Group18 => fixed::<{ 8192 / 64 }>(group, &base, &x, exponent_bits),
    }
}

fn fixed<const LIMBS: usize>(
    group: ModpGroup,
    base: &[u8],
    x: &[u8],
    exponent_bits: u32,
) -> Result<SecretBytes, Error> {
    if group.prime().len() != LIMBS * 8 || base.len() != LIMBS * 8 || x.len() != LIMBS * 8 {
        return Err(Error::Internal("fixed-width limb count"));
    }
    let p = Uint::<LIMBS>::from_be_slice(group.prime());
    let p = Option::<Odd<Uint<LIMBS>>>::from(Odd::new(p)).ok_or(Error::Internal("even prime"))?;
    let params = FixedMontyParams::new_vartime(p);
    let base = Uint::<LIMBS>::from_be_slice(base);
    let mut x = Uint::<LIMBS>::from_be_slice(x);
    let mut r = FixedMontyForm::new(&base, &params)
        .pow_bounded_exp(&x, exponent_bits)
        .retrieve();
    x.zeroize();
    let mut be = vec![0u8; LIMBS * 8];
    for (chunk, limb) in be.rchunks_exact_mut(8).zip(r.as_limbs()) {
        chunk.copy_from_slice(&limb.0.to_be_bytes());
    }
    r.zeroize();
    Ok(SecretBytes::new(be))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two crypto-bigint forms agree (small exponent, every group).
    #[test]
    fn fixed_and_boxed_forms_agree() {
        for group in ModpGroup::ALL {
            let x = [0x5a; 40];
            let a = modp_pow_boxed(group, &[2], &x, 320).unwrap();
            let b = modp_pow_fixed(group, &[2], &x, 320).unwrap();
            assert_eq!(a, b, "group {}", group.number());
            assert_eq!(a.len(), group.prime().len());
        }
    }

    #[test]
    fn small_known_power() {
        // 2^10 = 1024 in any group wider than 11 bits.
        let r = modp_pow_boxed(ModpGroup::Group14, &[2], &[10], 8).unwrap();
        assert_eq!(crate::mpi::encode(r.as_bytes()), vec![4, 0]);
        let r = modp_pow_fixed(ModpGroup::Group5, &[2], &[10], 8).unwrap();
        assert_eq!(crate::mpi::encode(r.as_bytes()), vec![4, 0]);
    }
}
