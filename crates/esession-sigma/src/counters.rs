//! The CTR counters C_A and C_B (XEP-0116 §4.5.1; DECISIONS D12, D13).
//!
//! ```text
//! C_A = 16 random bytes as an integer (n = 128)     Counters::random / from_c_a
//! C_B = C_A XOR 2^(n-1)
//! after each ID or stanza: C += blocks consumed      advance
//! ```
//!
//! There is one counter per direction for the whole session; it is never reset,
//! not at the final keys and not at a re-key (D13). Counters are public values (C_A
//! travels in msg2), so they are plain integers.

use esession_crypto::rand_core::CryptoRng;

use crate::Profile;

/// n, the cipher block size in bits; every defined cipher (and `none`, D6) has 128.
pub const N_BITS: u32 = 128;

/// The 2^(n-1) that separates C_B from C_A.
pub const C_B_XOR: u128 = 1 << (N_BITS - 1);

/// Gajim 1.0.x crashes on counters below 2^120 (G19), so the gajim profile never
/// draws them.
pub const GAJIM_MIN_COUNTER: u128 = 1 << 120;

/// The two initial counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Counters {
    /// C_A: Alice's counter, drawn by Bob and sent in msg2's `counter` field.
    pub c_a: u128,
    /// C_B = C_A XOR 2^(n-1): Bob's counter.
    pub c_b: u128,
}

impl Counters {
    /// The counters for a given C_A (DECISIONS D12).
    pub fn from_c_a(c_a: u128) -> Self {
        Self {
            c_a,
            c_b: c_a ^ C_B_XOR,
        }
    }

    /// Bob draws C_A as 16 random bytes (XEP-0116 §4.5.1; DECISIONS D12). In the gajim
    /// profile he redraws until both C_A and C_B are at least 2^120 (G19).
    pub fn random<R: CryptoRng + ?Sized>(profile: Profile, rng: &mut R) -> Self {
        loop {
            let mut b = [0u8; 16];
            rng.fill_bytes(&mut b);
            let c = Self::from_c_a(u128::from_be_bytes(b));
            if profile == Profile::Xep || (c.c_a >= GAJIM_MIN_COUNTER && c.c_b >= GAJIM_MIN_COUNTER)
            {
                return c;
            }
        }
    }
}

/// The counter after `blocks` blocks: `(C + blocks) mod 2^128` (XEP-0116 §4.5.4,
/// XEP-0200 §6; DECISIONS D13). `blocks` is what
/// [`crate::keys::DirectionKeys::seal_identity`] or
/// [`esession_crypto::cipher::CtrKey::apply_keystream`] returned.
pub fn advance(counter: u128, blocks: u128) -> u128 {
    counter.wrapping_add(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn c_b_flips_the_top_bit() {
        // The recorded Gajim session 1 (vectors/interop/gajim/vectors.json).
        let c = Counters::from_c_a(0xab12_8322_4f7f_eec7_6824_5d4d_e440_4045);
        assert_eq!(c.c_b, 0x2b12_8322_4f7f_eec7_6824_5d4d_e440_4045);
        assert_eq!(advance(u128::MAX, 2), 1);
    }

    #[test]
    fn gajim_profile_never_draws_small_counters() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        for _ in 0..2000 {
            let c = Counters::random(Profile::Gajim, &mut rng);
            assert!(c.c_a >= GAJIM_MIN_COUNTER && c.c_b >= GAJIM_MIN_COUNTER);
            assert_eq!(c.c_a ^ c.c_b, C_B_XOR);
        }
    }
}
