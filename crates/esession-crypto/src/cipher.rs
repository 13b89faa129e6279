//! Block ciphers in CTR mode, named as XEP-0116 names them in `crypt_algs`.
//!
//! XEP-0200 §4 and DECISIONS D12-D13: the counter is a 128-bit big-endian
//! integer that wraps modulo 2^128. Entering with counter `C`, block `i` of the
//! data is XORed with `E_K(I2OSP((C + i) mod 2^128, 16))`: the first block uses
//! `C` itself. After `L` bytes the protocol advances its counter by
//! `ceil(L / 16)` ([`blocks_for`]); the unused keystream of a partial last block
//! is discarded. [`CtrKey::apply_keystream`] returns that block count, so the
//! protocol advances its counter exactly.
//!
//! Gajim's off-by-one (G2: block `i` uses `C + 1 + i`) is not a cipher property;
//! the key schedule (`esession-sigma`) applies it by entering with `C + 1`.
//!
//! | wire name | cipher | key | XEP-0116 |
//! |---|---|---|---|
//! | `aes128-ctr` | AES-128 | 16 | MUST |
//! | `aes192-ctr`, `aes256-ctr` | AES | 24, 32 | MAY |
//! | `twofish128-ctr` … `twofish256-ctr` | Twofish | 16, 24, 32 | MAY |
//! | `serpent128-ctr` … `serpent256-ctr` | Serpent | 16, 24, 32 | MAY |
//! | `none` | no encryption, counter still advances | 0 | MAY |
//!
//! Every cipher has 128-bit blocks, so the XEP's `n` is 128 for all of them (D6
//! defines `n = 128` for `none` as well).
//!
//! Keys come from HMAC outputs: [`CtrKey::from_hmac_output`] takes the *least
//! significant* (last) bytes of the big-endian output (D10).

use crate::error::wire_name;
use crate::{Error, SecretBytes};

/// A cipher from the `crypt_algs` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CipherAlg {
    /// `aes128-ctr` (MUST).
    Aes128Ctr,
    /// `aes192-ctr`.
    Aes192Ctr,
    /// `aes256-ctr`.
    Aes256Ctr,
    /// `twofish128-ctr`.
    Twofish128Ctr,
    /// `twofish192-ctr`.
    Twofish192Ctr,
    /// `twofish256-ctr`.
    Twofish256Ctr,
    /// `serpent128-ctr`.
    Serpent128Ctr,
    /// `serpent192-ctr`.
    Serpent192Ctr,
    /// `serpent256-ctr`.
    Serpent256Ctr,
    /// `none`: no encryption, only MACs. Disabled unless the registry allows it.
    None,
}

/// Bytes per block of every defined cipher.
pub const BLOCK_LEN: usize = 16;

impl CipherAlg {
    /// Every cipher the registry knows.
    pub const ALL: [CipherAlg; 10] = [
        CipherAlg::Aes128Ctr,
        CipherAlg::Aes192Ctr,
        CipherAlg::Aes256Ctr,
        CipherAlg::Twofish128Ctr,
        CipherAlg::Twofish192Ctr,
        CipherAlg::Twofish256Ctr,
        CipherAlg::Serpent128Ctr,
        CipherAlg::Serpent192Ctr,
        CipherAlg::Serpent256Ctr,
        CipherAlg::None,
    ];

    /// Looks up a wire name. `none` is known here; whether it is acceptable is the
    /// [`crate::Registry`]'s decision.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| Error::UnknownAlgorithm {
                kind: "cipher",
                name: wire_name(name),
            })
    }

    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            CipherAlg::Aes128Ctr => "aes128-ctr",
            CipherAlg::Aes192Ctr => "aes192-ctr",
            CipherAlg::Aes256Ctr => "aes256-ctr",
            CipherAlg::Twofish128Ctr => "twofish128-ctr",
            CipherAlg::Twofish192Ctr => "twofish192-ctr",
            CipherAlg::Twofish256Ctr => "twofish256-ctr",
            CipherAlg::Serpent128Ctr => "serpent128-ctr",
            CipherAlg::Serpent192Ctr => "serpent192-ctr",
            CipherAlg::Serpent256Ctr => "serpent256-ctr",
            CipherAlg::None => "none",
        }
    }

    /// Key length in bytes (0 for `none`).
    pub fn key_len(self) -> usize {
        match self {
            CipherAlg::Aes128Ctr | CipherAlg::Twofish128Ctr | CipherAlg::Serpent128Ctr => 16,
            CipherAlg::Aes192Ctr | CipherAlg::Twofish192Ctr | CipherAlg::Serpent192Ctr => 24,
            CipherAlg::Aes256Ctr | CipherAlg::Twofish256Ctr | CipherAlg::Serpent256Ctr => 32,
            CipherAlg::None => 0,
        }
    }

    /// True for the ciphers whose implementation is not constant time: Twofish
    /// (RustCrypto `twofish` 0.8 builds its key-dependent S-boxes with
    /// data-dependent loops and branches). [`crate::Registry`] refuses them unless
    /// the application opts in.
    pub fn is_variable_time(self) -> bool {
        matches!(
            self,
            CipherAlg::Twofish128Ctr | CipherAlg::Twofish192Ctr | CipherAlg::Twofish256Ctr
        )
    }

    /// The XEP's `n`: bits per cipher block (128 for every defined cipher, D6).
    pub fn block_bits(self) -> u32 {
        128
    }
}

/// How many counter steps `len` bytes consume: `ceil(len / 16)` (DECISIONS D13).
pub fn blocks_for(len: usize) -> u128 {
    len.div_ceil(BLOCK_LEN) as u128
}

/// A CTR-mode key for one direction of a session. The key bytes zeroize on drop.
#[derive(Clone)]
pub struct CtrKey {
    alg: CipherAlg,
    key: SecretBytes,
}

impl core::fmt::Debug for CtrKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CtrKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl CtrKey {
    /// A key of exactly `alg.key_len()` bytes.
    pub fn new(alg: CipherAlg, key: &[u8]) -> Result<Self, Error> {
        if key.len() != alg.key_len() {
            return Err(Error::InvalidKeyLength {
                alg: alg.name(),
                expected: alg.key_len(),
                got: key.len(),
            });
        }
        Ok(Self {
            alg,
            key: SecretBytes::from_slice(key),
        })
    }

    /// The key taken from the least significant (last) `alg.key_len()` bytes of an
    /// HMAC output (XEP-0116 §4.5.3, DECISIONS D10): `aes128-ctr` uses bytes
    /// 16..31 of a 32-byte output.
    pub fn from_hmac_output(alg: CipherAlg, hmac_output: &[u8]) -> Result<Self, Error> {
        let n = alg.key_len();
        if hmac_output.len() < n {
            return Err(Error::InvalidKeyLength {
                alg: alg.name(),
                expected: n,
                got: hmac_output.len(),
            });
        }
        Self::new(alg, &hmac_output[hmac_output.len() - n..])
    }

    /// The algorithm.
    pub fn alg(&self) -> CipherAlg {
        self.alg
    }

    /// The raw key. Secret: do not log it.
    pub fn key_bytes(&self) -> &[u8] {
        self.key.as_bytes()
    }

    /// Encrypts or decrypts `data` in place, entering with `counter`; returns the
    /// number of blocks consumed (`ceil(len/16)`), by which the caller advances
    /// its counter. The counter wraps modulo 2^128 within one call.
    ///
    /// Under `none` the data is left unchanged and the same count is returned.
    ///
    /// Fails only on an internal error (a key the block cipher refuses).
    pub fn apply_keystream(&self, counter: u128, data: &mut [u8]) -> Result<u128, Error> {
        self.apply_keystream_with(crate::provider::get_default(), counter, data)
    }

    /// [`CtrKey::apply_keystream`] computed by `provider` instead of the
    /// process default.
    pub fn apply_keystream_with(
        &self,
        provider: &dyn crate::provider::CryptoProvider,
        counter: u128,
        data: &mut [u8],
    ) -> Result<u128, Error> {
        if self.alg != CipherAlg::None && !data.is_empty() {
            provider.ctr_apply(self.alg, self.key.as_bytes(), counter, data)?;
        }
        Ok(blocks_for(data.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn names_round_trip() {
        for a in CipherAlg::ALL {
            assert_eq!(CipherAlg::from_name(a.name()), Ok(a));
            assert_eq!(a.block_bits(), 128);
        }
        assert!(matches!(
            CipherAlg::from_name("aes128-cbc"),
            Err(Error::UnknownAlgorithm { .. })
        ));
    }

    // NIST SP 800-38A F.5.1 CTR-AES128.Encrypt, first two blocks.
    #[test]
    fn sp800_38a_f51() {
        let key =
            CtrKey::new(CipherAlg::Aes128Ctr, &h("2b7e151628aed2a6abf7158809cf4f3c")).unwrap();
        let mut data = h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        let blocks = key
            .apply_keystream(0xf0f1f2f3f4f5f6f7f8f9fafbfcfdfeff, &mut data)
            .unwrap();
        assert_eq!(blocks, 2);
        assert_eq!(
            hex::encode(&data),
            "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
        );
    }

    // The counter wraps from 2^128-1 to 0 inside one encryption: block 0 uses
    // 0xff..ff, block 1 uses 0x00..00 (vectors/primitives/aes-ctr-sp800-38a.json).
    #[test]
    fn counter_wraps_inside_one_call() {
        let key =
            CtrKey::new(CipherAlg::Aes128Ctr, &h("2b7e151628aed2a6abf7158809cf4f3c")).unwrap();
        let mut data = h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        assert_eq!(key.apply_keystream(u128::MAX, &mut data).unwrap(), 2);
        assert_eq!(
            hex::encode(&data),
            "e13338e36cb71962e00d020b4cedbd86d3dae15b04bb352fa0f59febfcb4da3e"
        );
        // Block 1 alone, entered at counter 0, gives the same second block.
        let mut second = h("ae2d8a571e03ac9c9eb76fac45af8e51");
        key.apply_keystream(0, &mut second).unwrap();
        assert_eq!(hex::encode(&second), "d3dae15b04bb352fa0f59febfcb4da3e");
    }

    /// With counter 0 and a zero block, CTR output is E_K(0^128): the ECB
    /// known answers published with each cipher check our key handling for every
    /// key size. AES: the zero-key, zero-plaintext values of NIST's AESAVS known
    /// answer tests. Twofish: the Twofish paper's ECB_TBL.TXT (I=1, zero key).
    /// Serpent: NESSIE set 3 vector 0 (zero key, zero plaintext).
    #[test]
    fn published_zero_key_block_values() {
        let cases = [
            (CipherAlg::Aes128Ctr, "66e94bd4ef8a2c3b884cfa59ca342b2e"),
            (CipherAlg::Aes192Ctr, "aae06992acbf52a3e8f4a96ec9300bd7"),
            (CipherAlg::Aes256Ctr, "dc95c078a2408989ad48a21492842087"),
            (CipherAlg::Twofish128Ctr, "9f589f5cf6122c32b6bfec2f2ae8c35a"),
            (CipherAlg::Twofish192Ctr, "efa71f788965bd4453f860178fc19101"),
            (CipherAlg::Twofish256Ctr, "57ff739d4dc92c1bd7fc01700cc8216f"),
            (CipherAlg::Serpent128Ctr, "3620b17ae6a993d09618b8768266bae9"),
        ];
        for (alg, expected) in cases {
            let key = CtrKey::new(alg, &vec![0; alg.key_len()]).unwrap();
            let mut block = [0u8; 16];
            assert_eq!(key.apply_keystream(0, &mut block).unwrap(), 1);
            assert_eq!(hex::encode(block), expected, "{}", alg.name());
        }
    }

    #[test]
    fn aes128_key_is_last_16_bytes_of_hmac_output() {
        let out: Vec<u8> = (0u8..32).collect();
        let key = CtrKey::from_hmac_output(CipherAlg::Aes128Ctr, &out).unwrap();
        assert_eq!(key.key_bytes(), &out[16..]);
        let key = CtrKey::from_hmac_output(CipherAlg::Aes256Ctr, &out).unwrap();
        assert_eq!(key.key_bytes(), &out[..]);
        let key = CtrKey::from_hmac_output(CipherAlg::Aes192Ctr, &out).unwrap();
        assert_eq!(key.key_bytes(), &out[8..]);
        assert!(matches!(
            CtrKey::from_hmac_output(CipherAlg::Aes256Ctr, &out[..20]),
            Err(Error::InvalidKeyLength {
                expected: 32,
                got: 20,
                ..
            })
        ));
    }

    #[test]
    fn partial_blocks_and_none() {
        let key = CtrKey::new(CipherAlg::Aes256Ctr, &[7; 32]).unwrap();
        let mut one = *b"seventeen bytes!!";
        assert_eq!(key.apply_keystream(5, &mut one).unwrap(), 2);
        assert_eq!(key.apply_keystream(5, &mut one).unwrap(), 2);
        assert_eq!(&one, b"seventeen bytes!!");
        let none = CtrKey::new(CipherAlg::None, &[]).unwrap();
        let mut data = *b"plain";
        assert_eq!(none.apply_keystream(9, &mut data).unwrap(), 1);
        assert_eq!(&data, b"plain");
        assert_eq!(blocks_for(0), 0);
        assert_eq!(blocks_for(16), 1);
        assert_eq!(blocks_for(33), 3);
    }

    #[test]
    fn every_cipher_round_trips() {
        for alg in CipherAlg::ALL {
            let key = CtrKey::new(alg, &vec![0x42; alg.key_len()]).unwrap();
            let mut data = b"attack at dawn, and bring the keys".to_vec();
            key.apply_keystream(1 << 127, &mut data).unwrap();
            if alg != CipherAlg::None {
                assert_ne!(&data[..], b"attack at dawn, and bring the keys");
            }
            key.apply_keystream(1 << 127, &mut data).unwrap();
            assert_eq!(&data[..], b"attack at dawn, and bring the keys");
        }
    }
}
