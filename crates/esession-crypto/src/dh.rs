//! Diffie-Hellman over the MODP groups of XEP-0116's `modp` field.
//!
//! XEP-0116 §4.3 lists "1,2,3,4,5,14,15,16,17 and 18"; DECISIONS D5 fixes the
//! usable set as 1, 2 (RFC 2409) and 5, 14-18 (RFC 3526), all with g = 2. Groups
//! 3 and 4 of RFC 2409 are elliptic-curve groups over GF(2^N): they are
//! recognised and refused with [`Error::EllipticCurveGroup`].
//!
//! # Exponents (D6)
//!
//! The XEP only asks for 2^(2n-1) < x < p-1, with n the cipher block size in bits
//! (128 for every defined cipher). Two policies:
//!
//! - [`ExponentPolicy::Rfc3526`] (default): x uniform in (2^(L-1), 2^L) with L from
//!   RFC 3526 §8 (twice the group's strength estimate), raised to 2n where smaller:
//!   L = 256 for groups 1, 2, 5; 320, 420, 480, 540, 620 for groups 14-18.
//! - [`ExponentPolicy::Full`]: x uniform in [2^(2n-1)+1, p-2].
//!
//! Both always satisfy 2^(2n-1) < x < p-1; a peer cannot tell them apart.
//!
//! # Constant time
//!
//! Exponentiation with the secret exponent is the provider's
//! ([`crate::provider::CryptoProvider::modp_pow`]); both built-in providers
//! run in time that depends on the (public) number of exponent bits, never
//! on their values. The RustCrypto provider uses crypto-bigint's Montgomery
//! arithmetic (a fixed 4-bit window over a fixed number of exponent bits with
//! constant-time table look-ups); the OpenSSL provider flags x
//! `BN_FLG_CONSTTIME`, so `BN_mod_exp` runs `BN_mod_exp_mont_consttime`.
//! The bit count is L under `Rfc3526` and the width of p under `Full` or for
//! imported exponents. `num-bigint-dig` (variable time) is used only for
//! checks on public values in tests. Range checks of public values
//! (1 < e < p-1) are variable time, which is fine: e is public.
//!
//! The MPI encoding of the shared secret (D8: leading zero bytes stripped) takes
//! time that depends on the number of leading zero bytes; the encoding is fixed
//! by the XEP.

use core::fmt;

use crypto_bigint::BoxedUint;
use rand_core::CryptoRng;
use zeroize::{Zeroize, Zeroizing};

use crate::groups;
use crate::{Error, SecretBytes, mpi};

/// A MODP group from the `modp` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ModpGroup {
    /// Group 1, 768 bits (RFC 2409 §6.1).
    Group1,
    /// Group 2, 1024 bits (RFC 2409 §6.2).
    Group2,
    /// Group 5, 1536 bits (RFC 3526 §2).
    Group5,
    /// Group 14, 2048 bits (RFC 3526 §3).
    Group14,
    /// Group 15, 3072 bits (RFC 3526 §4).
    Group15,
    /// Group 16, 4096 bits (RFC 3526 §5).
    Group16,
    /// Group 17, 6144 bits (RFC 3526 §6).
    Group17,
    /// Group 18, 8192 bits (RFC 3526 §7).
    Group18,
}

/// The generator of every MODP group.
pub const GENERATOR: u32 = 2;

impl ModpGroup {
    /// Every supported group.
    pub const ALL: [ModpGroup; 8] = [
        ModpGroup::Group1,
        ModpGroup::Group2,
        ModpGroup::Group5,
        ModpGroup::Group14,
        ModpGroup::Group15,
        ModpGroup::Group16,
        ModpGroup::Group17,
        ModpGroup::Group18,
    ];

    /// The group with this number; 3 and 4 are refused (D5).
    pub fn from_number(n: u32) -> Result<Self, Error> {
        match n {
            3 | 4 => Err(Error::EllipticCurveGroup(n)),
            _ => Self::ALL
                .into_iter()
                .find(|g| g.number() == n)
                .ok_or(Error::UnknownGroup(n)),
        }
    }

    /// Parses the decimal group number of a `modp` field value (D4: no leading
    /// zeros, no sign, no spaces).
    pub fn from_wire(value: &str) -> Result<Self, Error> {
        let digits_ok = !value.is_empty()
            && value.len() <= 3
            && value.bytes().all(|b| b.is_ascii_digit())
            && !(value.len() > 1 && value.starts_with('0'));
        if !digits_ok {
            return Err(Error::UnknownAlgorithm {
                kind: "modp",
                name: crate::error::wire_name(value),
            });
        }
        let n: u32 = value.parse().map_err(|_| Error::Internal("digits"))?;
        Self::from_number(n)
    }

    /// The group number on the wire.
    pub fn number(self) -> u32 {
        match self {
            ModpGroup::Group1 => 1,
            ModpGroup::Group2 => 2,
            ModpGroup::Group5 => 5,
            ModpGroup::Group14 => 14,
            ModpGroup::Group15 => 15,
            ModpGroup::Group16 => 16,
            ModpGroup::Group17 => 17,
            ModpGroup::Group18 => 18,
        }
    }

    /// The prime p, big-endian.
    pub fn prime(self) -> &'static [u8] {
        match self {
            ModpGroup::Group1 => &groups::MODP_1,
            ModpGroup::Group2 => &groups::MODP_2,
            ModpGroup::Group5 => &groups::MODP_5,
            ModpGroup::Group14 => &groups::MODP_14,
            ModpGroup::Group15 => &groups::MODP_15,
            ModpGroup::Group16 => &groups::MODP_16,
            ModpGroup::Group17 => &groups::MODP_17,
            ModpGroup::Group18 => &groups::MODP_18,
        }
    }

    /// The size of p in bits.
    pub fn bits(self) -> u32 {
        (self.prime().len() * 8) as u32
    }

    /// The RFC section that defines the group.
    pub fn source(self) -> &'static str {
        match self {
            ModpGroup::Group1 => "RFC 2409 §6.1",
            ModpGroup::Group2 => "RFC 2409 §6.2",
            ModpGroup::Group5 => "RFC 3526 §2",
            ModpGroup::Group14 => "RFC 3526 §3",
            ModpGroup::Group15 => "RFC 3526 §4",
            ModpGroup::Group16 => "RFC 3526 §5",
            ModpGroup::Group17 => "RFC 3526 §6",
            ModpGroup::Group18 => "RFC 3526 §7",
        }
    }

    /// The exponent size of RFC 3526 §8 ("strength estimate 2"), at least 256
    /// (D6); before raising it to 2n.
    pub fn rfc3526_exponent_bits(self) -> u32 {
        match self {
            ModpGroup::Group1 | ModpGroup::Group2 | ModpGroup::Group5 => 256,
            ModpGroup::Group14 => 320,
            ModpGroup::Group15 => 420,
            ModpGroup::Group16 => 480,
            ModpGroup::Group17 => 540,
            ModpGroup::Group18 => 620,
        }
    }

    /// Reads big-endian bytes as an integer of this group's width, or fails if
    /// they do not fit.
    fn uint(self, be: &[u8]) -> Result<BoxedUint, Error> {
        let trimmed = &be[be.iter().position(|&b| b != 0).unwrap_or(be.len())..];
        if trimmed.len() > self.prime().len() {
            return Err(Error::InvalidPublicValue);
        }
        BoxedUint::from_be_slice(trimmed, self.bits()).map_err(|_| Error::InvalidPublicValue)
    }

    /// Checks 1 < e < p-1 for a public value given as big-endian bytes
    /// (XEP-0116 §4.6.1, §4.7.1; DECISIONS D7). No subgroup test: the groups use
    /// safe primes.
    pub fn validate_public(self, e: &[u8]) -> Result<(), Error> {
        let e = self.uint(e)?;
        let one = BoxedUint::one_with_precision(self.bits());
        let p = self.uint(self.prime())?;
        let p_minus_1 = p.wrapping_sub(&one);
        if e > one && e < p_minus_1 {
            Ok(())
        } else {
            Err(Error::InvalidPublicValue)
        }
    }
}

/// How private exponents are drawn (DECISIONS D6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ExponentPolicy {
    /// x uniform in (2^(L-1), 2^L), L from RFC 3526 §8 raised to 2n. The default.
    #[default]
    Rfc3526,
    /// x uniform in [2^(2n-1)+1, p-2].
    Full,
}

impl ExponentPolicy {
    /// The policy's name in configuration files ("rfc3526", "full").
    pub fn name(self) -> &'static str {
        match self {
            ExponentPolicy::Rfc3526 => "rfc3526",
            ExponentPolicy::Full => "full",
        }
    }
}

/// A Diffie-Hellman private exponent x with its public value e = g^x mod p.
///
/// x zeroizes on drop (it lives in a [`DhExponent`]) and never appears in
/// `Debug`. Once e has been sent, [`DhPrivateKey::into_exponent`] keeps x
/// alone (a session holds its last exponent for re-keys, and e is as wide as
/// p).
pub struct DhPrivateKey {
    exponent: DhExponent,
    public: Vec<u8>,
}

// x zeroizes through DhExponent's `Drop`; the marker lets callers assert it
// at compile time.
impl zeroize::ZeroizeOnDrop for DhPrivateKey {}

impl fmt::Debug for DhPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DhPrivateKey")
            .field("group", &self.exponent.group)
            .field("exp_bits", &self.exponent.exp_bits)
            .finish_non_exhaustive()
    }
}

/// A Diffie-Hellman private exponent x without its public value: what a
/// [`DhPrivateKey`] keeps after e was sent. x zeroizes on drop and never
/// appears in `Debug`.
pub struct DhExponent {
    group: ModpGroup,
    x: BoxedUint,
    /// Exponent bits processed by the ladder (public: L or the width of p).
    exp_bits: u32,
}

impl Drop for DhExponent {
    fn drop(&mut self) {
        self.x.zeroize();
    }
}

// The `Drop` above zeroizes x; the marker lets callers assert it at compile time.
impl zeroize::ZeroizeOnDrop for DhExponent {}

impl fmt::Debug for DhExponent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DhExponent")
            .field("group", &self.group)
            .field("exp_bits", &self.exp_bits)
            .finish_non_exhaustive()
    }
}

impl DhExponent {
    /// The group.
    pub fn group(&self) -> ModpGroup {
        self.group
    }

    /// Checks 1 < peer < p-1 and returns mpi(peer^x mod p): the input of
    /// K = HASH(mpi(g^xy mod p)) (D8), and the unhashed re-key secret (D41).
    pub fn shared_secret(&self, peer_public: &[u8]) -> Result<SecretBytes, Error> {
        self.group.validate_public(peer_public)?;
        let s = self.pow(peer_public)?;
        Ok(SecretBytes::new(mpi::encode(s.as_bytes())))
    }

    /// base^x mod p through the default provider, as wide as p.
    fn pow(&self, base: &[u8]) -> Result<SecretBytes, Error> {
        let x = Zeroizing::new(self.x.to_be_bytes());
        crate::provider::get_default().modp_pow(self.group, base, &x, self.exp_bits)
    }
}

impl DhPrivateKey {
    /// Draws a fresh exponent for `group` under `policy`, where `n` is the block
    /// size in bits the XEP's bound refers to (128 for every defined cipher).
    pub fn generate<R: CryptoRng + ?Sized>(
        group: ModpGroup,
        policy: ExponentPolicy,
        n: u32,
        rng: &mut R,
    ) -> Result<Self, Error> {
        let p_bits = group.bits();
        let lower_bit = n
            .checked_mul(2)
            .and_then(|b| b.checked_sub(1))
            .ok_or(Error::Internal("n"))?;
        if lower_bit + 2 >= p_bits {
            return Err(Error::Internal("block size too large for the group"));
        }
        let (x, exp_bits) = match policy {
            ExponentPolicy::Rfc3526 => {
                let l = group.rfc3526_exponent_bits().max(2 * n).min(p_bits - 1);
                (random_open_power_interval(l, rng)?, l)
            }
            ExponentPolicy::Full => (random_full_range(group, lower_bit, rng)?, p_bits),
        };
        Self::from_uint(group, x, exp_bits)
    }

    /// Imports a pinned exponent (for test vectors and recorded sessions).
    /// Requires 1 < x < p-1.
    pub fn from_bytes(group: ModpGroup, x_be: &[u8]) -> Result<Self, Error> {
        let x = group
            .uint(x_be)
            .map_err(|_| Error::InvalidKey("DH exponent"))?;
        let one = BoxedUint::one_with_precision(group.bits());
        let p_minus_1 = group.uint(group.prime())?.wrapping_sub(&one);
        if !(x > one && x < p_minus_1) {
            return Err(Error::InvalidKey("DH exponent"));
        }
        Self::from_uint(group, x, group.bits())
    }

    fn from_uint(group: ModpGroup, x: BoxedUint, exp_bits: u32) -> Result<Self, Error> {
        let exponent = DhExponent { group, x, exp_bits };
        let e = exponent.pow(&GENERATOR.to_be_bytes())?;
        let public = mpi::encode(e.as_bytes());
        Ok(Self { exponent, public })
    }

    /// The group.
    pub fn group(&self) -> ModpGroup {
        self.exponent.group
    }

    /// mpi(x). Secret: for transcripts and test vectors only.
    pub fn to_bytes(&self) -> SecretBytes {
        let be = Zeroizing::new(self.exponent.x.to_be_bytes());
        SecretBytes::new(mpi::encode(&be))
    }

    /// mpi(e) where e = g^x mod p: the bytes of the `dhkeys` field and of He.
    pub fn public_key(&self) -> &[u8] {
        &self.public
    }

    /// Checks 1 < peer < p-1 and returns mpi(peer^x mod p): the input of
    /// K = HASH(mpi(g^xy mod p)) (D8), and the unhashed re-key secret (D41).
    pub fn shared_secret(&self, peer_public: &[u8]) -> Result<SecretBytes, Error> {
        self.exponent.shared_secret(peer_public)
    }

    /// Drops e and keeps x alone, for a holder that no longer sends e.
    pub fn into_exponent(self) -> DhExponent {
        self.exponent
    }
}

/// x uniform in the open interval (2^(l-1), 2^l): the top bit forced, the rest
/// random, all-zero rest rejected.
fn random_open_power_interval<R: CryptoRng + ?Sized>(
    l: u32,
    rng: &mut R,
) -> Result<BoxedUint, Error> {
    let nbytes = l.div_ceil(8) as usize;
    let excess = (nbytes as u32) * 8 - l;
    let mut buf = Zeroizing::new(vec![0u8; nbytes]);
    loop {
        rng.fill_bytes(&mut buf);
        buf[0] &= 0xffu8 >> excess;
        let rest_is_zero = buf.iter().enumerate().all(|(i, &b)| {
            let b = if i == 0 { b & !(0x80u8 >> excess) } else { b };
            b == 0
        });
        buf[0] |= 0x80u8 >> excess;
        if !rest_is_zero {
            // x is held at its own width (l rounded up to a limb), not p's:
            // the ladder reads only `exp_bits` = l bits of it, and an
            // established session keeps x for re-keys, so this saves p/8 - l/8
            // bytes per session (216 B in group 14). l is public.
            return BoxedUint::from_be_slice(&buf, l).map_err(|_| Error::Internal("exponent"));
        }
    }
}

/// x uniform in [2^lower_bit + 1, p-2] by rejection sampling over the width of p.
fn random_full_range<R: CryptoRng + ?Sized>(
    group: ModpGroup,
    lower_bit: u32,
    rng: &mut R,
) -> Result<BoxedUint, Error> {
    let bits = group.bits();
    let one = BoxedUint::one_with_precision(bits);
    let low = one.shl(lower_bit);
    let p_minus_1 = group.uint(group.prime())?.wrapping_sub(&one);
    let mut buf = Zeroizing::new(vec![0u8; group.prime().len()]);
    loop {
        rng.fill_bytes(&mut buf);
        let mut x =
            BoxedUint::from_be_slice(&buf, bits).map_err(|_| Error::Internal("exponent"))?;
        if x > low && x < p_minus_1 {
            return Ok(x);
        }
        x.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint_dig::BigUint;
    use num_bigint_dig::prime::probably_prime;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn big(b: &[u8]) -> BigUint {
        BigUint::from_bytes_be(b)
    }

    #[test]
    fn groups_3_and_4_refused() {
        assert_eq!(ModpGroup::from_number(3), Err(Error::EllipticCurveGroup(3)));
        assert_eq!(ModpGroup::from_number(4), Err(Error::EllipticCurveGroup(4)));
        assert_eq!(ModpGroup::from_wire("3"), Err(Error::EllipticCurveGroup(3)));
        assert_eq!(ModpGroup::from_number(6), Err(Error::UnknownGroup(6)));
        assert_eq!(ModpGroup::from_number(0), Err(Error::UnknownGroup(0)));
        assert!(ModpGroup::from_wire("014").is_err());
        assert!(ModpGroup::from_wire("+5").is_err());
        assert!(ModpGroup::from_wire("").is_err());
        assert_eq!(ModpGroup::from_wire("14"), Ok(ModpGroup::Group14));
        for g in ModpGroup::ALL {
            assert_eq!(ModpGroup::from_number(g.number()), Ok(g));
        }
    }

    #[test]
    fn groups_match_references() {
        // RFC 2409/3526 primes as vectors/tools/import_primitives.py imported them.
        let text = include_str!("../../../vectors/primitives/modp-groups.json");
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        let mut seen = 0;
        for g in json["vectors"].as_array().unwrap() {
            if g["op"] != "group" || g.get("p").is_none() {
                continue;
            }
            let n = g["modp_group"].as_u64().unwrap() as u32;
            let group = ModpGroup::from_number(n).unwrap();
            assert_eq!(
                hex::encode(group.prime()),
                g["p"].as_str().unwrap(),
                "group {n}"
            );
            assert_eq!(u64::from(group.bits()), g["bits"].as_u64().unwrap());
            assert_eq!(g["generator"].as_u64().unwrap(), u64::from(GENERATOR));
            seen += 1;
        }
        assert_eq!(seen, 8);
    }

    #[test]
    fn primes_are_safe_primes() {
        for g in ModpGroup::ALL {
            let p = big(g.prime());
            assert_eq!(p.bits(), g.bits() as usize);
            assert!(
                g.prime()[..8].iter().all(|&b| b == 0xff),
                "top 64 bits of group {}",
                g.number()
            );
            assert!(g.prime()[g.prime().len() - 8..].iter().all(|&b| b == 0xff));
            assert!(probably_prime(&p, 4), "group {}", g.number());
            let q: BigUint = (&p - 1u32) >> 1;
            assert!(probably_prime(&q, 4), "group {} (p-1)/2", g.number());
        }
    }

    #[test]
    fn public_values_out_of_range_refused() {
        for g in [ModpGroup::Group5, ModpGroup::Group14] {
            let p = big(g.prime());
            for bad in [
                BigUint::from(0u32),
                BigUint::from(1u32),
                &p - 1u32,
                p.clone(),
                &p + 1u32,
                BigUint::from(1u32) << (g.bits() as usize + 8),
            ] {
                assert_eq!(
                    g.validate_public(&bad.to_bytes_be()),
                    Err(Error::InvalidPublicValue)
                );
            }
            assert_eq!(g.validate_public(&[]), Err(Error::InvalidPublicValue));
            assert_eq!(g.validate_public(&[2]), Ok(()));
            assert_eq!(g.validate_public(&(&p - 2u32).to_bytes_be()), Ok(()));
            let key = DhPrivateKey::generate(
                g,
                ExponentPolicy::Rfc3526,
                128,
                &mut ChaCha20Rng::seed_from_u64(1),
            )
            .unwrap();
            assert_eq!(
                key.shared_secret(&(&p - 1u32).to_bytes_be()).unwrap_err(),
                Error::InvalidPublicValue
            );
            assert_eq!(
                key.shared_secret(&[1]).unwrap_err(),
                Error::InvalidPublicValue
            );
        }
    }

    /// 10,000 seeded draws under each policy all fall inside the policy's range
    /// (and so inside the XEP's 2^255 < x < p-1).
    #[test]
    fn ten_thousand_draws_in_range() {
        let g = ModpGroup::Group14;
        let p = big(g.prime());
        let xep_low = BigUint::from(1u32) << 255usize;
        let mut rng = ChaCha20Rng::seed_from_u64(0x5eed);
        let one = BoxedUint::one_with_precision(g.bits());
        let p_minus_1 = g.uint(g.prime()).unwrap().wrapping_sub(&one);
        // Rfc3526: 2^319 < x < 2^320.
        let (lo, hi) = (
            BigUint::from(1u32) << 319usize,
            BigUint::from(1u32) << 320usize,
        );
        let mut top_bits_seen = [false; 2];
        for _ in 0..10_000 {
            let x = random_open_power_interval(320, &mut rng).unwrap();
            // Held at its own width, not p's.
            assert_eq!(x.bits_precision(), 320);
            let xb = big(&x.to_be_bytes());
            assert!(xb > lo && xb < hi && xb > xep_low && xb < &p - 1u32);
            let bit318 = (&xb >> 318usize) & BigUint::from(1u32);
            top_bits_seen[usize::from(bit318 == BigUint::from(1u32))] = true;
        }
        assert_eq!(top_bits_seen, [true, true]);
        // Full: 2^255 < x < p-1, drawn over the whole width of p.
        let mut high_seen = false;
        for _ in 0..10_000 {
            let x = random_full_range(g, 255, &mut rng).unwrap();
            assert!(x < p_minus_1);
            let xb = big(&x.to_be_bytes());
            assert!(xb > xep_low && xb < &p - 1u32);
            high_seen |= xb.bits() == g.bits() as usize;
        }
        assert!(high_seen, "full-range draws never reached the top bit of p");
    }

    #[test]
    fn short_exponent_at_its_own_width_equals_the_same_exponent_at_p_width() {
        // A generated rfc3526 x is held at 320 bits; the pinned import of the
        // same value is held at p's width. Both must give the same e and the
        // same shared secret.
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        for group in [ModpGroup::Group5, ModpGroup::Group14] {
            let a = DhPrivateKey::generate(group, ExponentPolicy::Rfc3526, 128, &mut rng).unwrap();
            let wide = DhPrivateKey::from_bytes(group, a.to_bytes().as_bytes()).unwrap();
            assert_eq!(a.public_key(), wide.public_key());
            let b = DhPrivateKey::generate(group, ExponentPolicy::Full, 128, &mut rng).unwrap();
            let s1 = a.shared_secret(b.public_key()).unwrap();
            let s2 = wide.shared_secret(b.public_key()).unwrap();
            let s3 = b.shared_secret(a.public_key()).unwrap();
            assert_eq!(s1.as_bytes(), s2.as_bytes());
            assert_eq!(s1.as_bytes(), s3.as_bytes());
        }
    }

    #[test]
    fn generate_honours_policy_sizes() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        for g in [
            ModpGroup::Group1,
            ModpGroup::Group5,
            ModpGroup::Group14,
            ModpGroup::Group15,
        ] {
            let k = DhPrivateKey::generate(g, ExponentPolicy::Rfc3526, 128, &mut rng).unwrap();
            let bits = big(k.to_bytes().as_bytes()).bits() as u32;
            assert_eq!(
                bits,
                g.rfc3526_exponent_bits().max(256),
                "group {}",
                g.number()
            );
            let k = DhPrivateKey::generate(g, ExponentPolicy::Full, 128, &mut rng).unwrap();
            assert!(big(k.to_bytes().as_bytes()).bits() as u32 > 256);
        }
    }

    /// Both sides derive the same secret, and it equals g^(xy) mod p computed
    /// independently with num-bigint-dig.
    #[test]
    fn agreement_matches_independent_modpow() {
        let mut rng = ChaCha20Rng::seed_from_u64(42);
        for g in [ModpGroup::Group2, ModpGroup::Group14] {
            let a = DhPrivateKey::generate(g, ExponentPolicy::Rfc3526, 128, &mut rng).unwrap();
            let b = DhPrivateKey::generate(g, ExponentPolicy::Full, 128, &mut rng).unwrap();
            let s1 = a.shared_secret(b.public_key()).unwrap();
            let s2 = b.shared_secret(a.public_key()).unwrap();
            assert_eq!(s1, s2);
            let p = big(g.prime());
            let xa = big(a.to_bytes().as_bytes());
            let xb = big(b.to_bytes().as_bytes());
            let ea = BigUint::from(2u32).modpow(&xa, &p);
            assert_eq!(ea.to_bytes_be(), a.public_key());
            assert_eq!(ea.modpow(&xb, &p).to_bytes_be(), s1.as_bytes());
            // Imported exponents give the same values.
            let a2 = DhPrivateKey::from_bytes(g, a.to_bytes().as_bytes()).unwrap();
            assert_eq!(a2.public_key(), a.public_key());
            assert_eq!(a2.shared_secret(b.public_key()).unwrap(), s1);
        }
        assert!(DhPrivateKey::from_bytes(ModpGroup::Group5, &[1]).is_err());
        assert!(DhPrivateKey::from_bytes(ModpGroup::Group5, &[0]).is_err());
    }

    #[test]
    fn debug_hides_exponent() {
        let k = DhPrivateKey::from_bytes(ModpGroup::Group5, &[0x12, 0x34, 0x56]).unwrap();
        let s = format!("{k:?}");
        assert!(s.contains("Group5") && !s.contains("123456") && !s.contains("4660"));
    }
}
