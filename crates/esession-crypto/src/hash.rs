//! Hash functions and HMAC, named as XEP-0116 names them in `hash_algs`.
//!
//! - `sha256`: MUST (XEP-0116 §8.5); the only hash Gajim ever offered.
//! - `whirlpool`: SHOULD.
//! - `sha384`, `sha512`: MAY.
//! - `sha1`, `md5`: "broken and therefore NOT RECOMMENDED" (§8.5). They are known to
//!   the registry but refused unless the caller opts in with
//!   [`HashAlg::from_name_allow_weak`] or [`crate::Registry::allow_weak_hashes`].
//!
//! HMAC is RFC 2104 over the chosen hash, computed by the [`crate::provider`]
//! (RustCrypto `hmac` by default), fed part by part. Following DECISIONS D9,
//! `hmac(key, data)` takes the key first: `KC_A = HMAC(K, "Initiator Cipher Key")`.
//! MAC checks use [`HashAlg::verify_hmac`], which compares in constant time.

use crate::error::wire_name;
use crate::provider::HashOutput;
use crate::secret::ct_eq;
use crate::{Error, SecretBytes};

/// A hash algorithm from the `hash_algs` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum HashAlg {
    /// `sha256` (FIPS 180-4). MUST.
    Sha256,
    /// `sha384` (FIPS 180-4).
    Sha384,
    /// `sha512` (FIPS 180-4).
    Sha512,
    /// `whirlpool` (ISO/IEC 10118-3). SHOULD.
    Whirlpool,
    /// `sha1`: broken; opt-in only.
    Sha1,
    /// `md5`: broken; opt-in only.
    Md5,
}

impl HashAlg {
    /// Every hash the registry knows, strongest-preferred first.
    pub const ALL: [HashAlg; 6] = [
        HashAlg::Sha256,
        HashAlg::Sha384,
        HashAlg::Sha512,
        HashAlg::Whirlpool,
        HashAlg::Sha1,
        HashAlg::Md5,
    ];

    /// Looks up a wire name, refusing the broken hashes (`sha1`, `md5`).
    pub fn from_name(name: &str) -> Result<Self, Error> {
        let alg = Self::from_name_allow_weak(name)?;
        if alg.is_weak() {
            return Err(Error::DisabledAlgorithm {
                kind: "hash",
                name: alg.name(),
            });
        }
        Ok(alg)
    }

    /// Looks up a wire name, accepting `sha1` and `md5` too. Only for callers that
    /// explicitly chose to interoperate with broken peers.
    pub fn from_name_allow_weak(name: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| Error::UnknownAlgorithm {
                kind: "hash",
                name: wire_name(name),
            })
    }

    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha384 => "sha384",
            HashAlg::Sha512 => "sha512",
            HashAlg::Whirlpool => "whirlpool",
            HashAlg::Sha1 => "sha1",
            HashAlg::Md5 => "md5",
        }
    }

    /// True for the hashes XEP-0116 calls broken.
    pub fn is_weak(self) -> bool {
        matches!(self, HashAlg::Sha1 | HashAlg::Md5)
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 | HashAlg::Whirlpool => 64,
            HashAlg::Sha1 => 20,
            HashAlg::Md5 => 16,
        }
    }

    /// HASH(data).
    pub fn digest(self, data: &[u8]) -> SecretBytes {
        self.digest_parts(&[data])
    }

    /// HASH(`parts[0] ‖ parts[1] ‖ …`), without building the concatenation.
    pub fn digest_parts(self, parts: &[&[u8]]) -> SecretBytes {
        let out = crate::provider::get_default().digest(self, parts);
        SecretBytes::from_slice(out.as_bytes())
    }

    /// HMAC(key, data) (DECISIONS D9: key first).
    pub fn hmac(self, key: &[u8], data: &[u8]) -> SecretBytes {
        self.hmac_parts(key, &[data])
    }

    /// HMAC(key, `parts[0] ‖ parts[1] ‖ …`), fed part by part (no joined copy).
    pub fn hmac_parts(self, key: &[u8], parts: &[&[u8]]) -> SecretBytes {
        SecretBytes::from_slice(self.hmac_output(key, parts).as_bytes())
    }

    /// [`HashAlg::hmac_parts`] into a stack buffer (no allocation): for the
    /// per-stanza MACs.
    pub fn hmac_output(self, key: &[u8], parts: &[&[u8]]) -> HashOutput {
        crate::provider::get_default().hmac(self, key, parts)
    }

    /// Checks `tag == HMAC(key, parts…)` in constant time; [`Error::BadMac`] otherwise.
    ///
    /// A tag of another length than the hash output fails too (its length is
    /// public).
    pub fn verify_hmac(self, key: &[u8], parts: &[&[u8]], tag: &[u8]) -> Result<(), Error> {
        let expected = self.hmac_output(key, parts);
        // A provider's empty output (an internal failure) never verifies;
        // ct_eq (subtle) also refuses a tag of another length.
        let complete = expected.as_bytes().len() == self.output_len();
        if complete && ct_eq(expected.as_bytes(), tag) {
            Ok(())
        } else {
            Err(Error::BadMac)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &SecretBytes) -> String {
        hex::encode(s.as_bytes())
    }

    #[test]
    fn names() {
        for a in HashAlg::ALL {
            assert_eq!(HashAlg::from_name_allow_weak(a.name()), Ok(a));
            assert_eq!(a.digest(b"").len(), a.output_len());
        }
        assert_eq!(
            HashAlg::from_name("sha1"),
            Err(Error::DisabledAlgorithm {
                kind: "hash",
                name: "sha1"
            })
        );
        assert_eq!(
            HashAlg::from_name("md5"),
            Err(Error::DisabledAlgorithm {
                kind: "hash",
                name: "md5"
            })
        );
        assert!(matches!(
            HashAlg::from_name("SHA256"),
            Err(Error::UnknownAlgorithm { .. })
        ));
    }

    // FIPS 180-4 / ISO 10118-3 "abc" test values (published).
    #[test]
    fn known_answers() {
        assert_eq!(
            hex(&HashAlg::Sha256.digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&HashAlg::Sha256.digest_parts(&[b"a", b"", b"bc"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&HashAlg::Whirlpool.digest(b"abc")),
            "4e2448a4c6f486bb16b6562c73b4020bf3043e3a731bce721ae1b303d97e6d4c\
             7181eebdb6c57e277d0e34957114cbd6c797fc9d95d8b582d225292076d4eef5"
        );
        assert_eq!(
            hex(&HashAlg::Md5.digest(b"abc")),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }

    // RFC 4231 test case 2.
    #[test]
    fn hmac_rfc4231() {
        let tag = HashAlg::Sha256.hmac(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            HashAlg::Sha256.verify_hmac(
                b"Jefe",
                &[b"what do ya want ", b"for nothing?"],
                tag.as_bytes()
            ),
            Ok(())
        );
        let mut bad = tag.as_bytes().to_vec();
        bad[31] ^= 1;
        assert_eq!(
            HashAlg::Sha256.verify_hmac(b"Jefe", &[b"what do ya want for nothing?"], &bad),
            Err(Error::BadMac)
        );
        assert_eq!(
            HashAlg::Sha256.verify_hmac(b"Jefe", &[b"what do ya want for nothing?"], &bad[..16]),
            Err(Error::BadMac)
        );
    }
}
