//! Hash functions and HMAC, named as XEP-0116 names them in `hash_algs`.
//!
//! - `sha256`: MUST (XEP-0116 §8.5); the only hash Gajim ever offered.
//! - `whirlpool`: SHOULD.
//! - `sha384`, `sha512`: MAY.
//! - `sha1`, `md5`: "broken and therefore NOT RECOMMENDED" (§8.5). They are known to
//!   the registry but refused unless the caller opts in with
//!   [`HashAlg::from_name_allow_weak`] or [`crate::Registry::allow_weak_hashes`].
//!
//! HMAC is RFC 2104 over the chosen hash (RustCrypto `hmac`). Following DECISIONS D9,
//! `hmac(key, data)` takes the key first: `KC_A = HMAC(K, "Initiator Cipher Key")`.
//! MAC checks use [`HashAlg::verify_hmac`], which compares in constant time.

use digest::Digest;
use hmac::{Hmac, KeyInit, Mac};

use crate::error::wire_name;
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
        fn run<D: Digest>(parts: &[&[u8]]) -> SecretBytes {
            let mut h = D::new();
            for p in parts {
                h.update(p);
            }
            SecretBytes::new(h.finalize().to_vec())
        }
        match self {
            HashAlg::Sha256 => run::<sha2::Sha256>(parts),
            HashAlg::Sha384 => run::<sha2::Sha384>(parts),
            HashAlg::Sha512 => run::<sha2::Sha512>(parts),
            HashAlg::Whirlpool => run::<whirlpool::Whirlpool>(parts),
            HashAlg::Sha1 => run::<sha1::Sha1>(parts),
            HashAlg::Md5 => run::<md5::Md5>(parts),
        }
    }

    /// HMAC(key, data) (DECISIONS D9: key first).
    pub fn hmac(self, key: &[u8], data: &[u8]) -> SecretBytes {
        self.hmac_parts(key, &[data])
    }

    /// HMAC(key, `parts[0] ‖ parts[1] ‖ …`).
    pub fn hmac_parts(self, key: &[u8], parts: &[&[u8]]) -> SecretBytes {
        match self.mac(key, parts) {
            Ok(m) => m.finalize(),
            // HMAC accepts keys of any length; this arm is unreachable in practice
            // and yields an empty tag that can never verify.
            Err(_) => SecretBytes::default(),
        }
    }

    /// Checks `tag == HMAC(key, parts…)` in constant time; [`Error::BadMac`] otherwise.
    pub fn verify_hmac(self, key: &[u8], parts: &[&[u8]], tag: &[u8]) -> Result<(), Error> {
        self.mac(key, parts)?.verify(tag)
    }

    fn mac(self, key: &[u8], parts: &[&[u8]]) -> Result<AnyMac, Error> {
        fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Result<M, Error> {
            let mut m =
                <M as KeyInit>::new_from_slice(key).map_err(|_| Error::Internal("hmac key"))?;
            for p in parts {
                m.update(p);
            }
            Ok(m)
        }
        Ok(match self {
            HashAlg::Sha256 => AnyMac::Sha256(run(key, parts)?),
            HashAlg::Sha384 => AnyMac::Sha384(run(key, parts)?),
            HashAlg::Sha512 => AnyMac::Sha512(run(key, parts)?),
            HashAlg::Whirlpool => AnyMac::Whirlpool(run(key, parts)?),
            HashAlg::Sha1 => AnyMac::Sha1(run(key, parts)?),
            HashAlg::Md5 => AnyMac::Md5(run(key, parts)?),
        })
    }
}

enum AnyMac {
    Sha256(Hmac<sha2::Sha256>),
    Sha384(Hmac<sha2::Sha384>),
    Sha512(Hmac<sha2::Sha512>),
    Whirlpool(Hmac<whirlpool::Whirlpool>),
    Sha1(Hmac<sha1::Sha1>),
    Md5(Hmac<md5::Md5>),
}

impl AnyMac {
    fn finalize(self) -> SecretBytes {
        match self {
            AnyMac::Sha256(m) => SecretBytes::new(m.finalize().into_bytes().to_vec()),
            AnyMac::Sha384(m) => SecretBytes::new(m.finalize().into_bytes().to_vec()),
            AnyMac::Sha512(m) => SecretBytes::new(m.finalize().into_bytes().to_vec()),
            AnyMac::Whirlpool(m) => SecretBytes::new(m.finalize().into_bytes().to_vec()),
            AnyMac::Sha1(m) => SecretBytes::new(m.finalize().into_bytes().to_vec()),
            AnyMac::Md5(m) => SecretBytes::new(m.finalize().into_bytes().to_vec()),
        }
    }

    /// Constant-time comparison (`Mac::verify_slice`, built on `subtle`).
    fn verify(self, tag: &[u8]) -> Result<(), Error> {
        let r = match self {
            AnyMac::Sha256(m) => m.verify_slice(tag),
            AnyMac::Sha384(m) => m.verify_slice(tag),
            AnyMac::Sha512(m) => m.verify_slice(tag),
            AnyMac::Whirlpool(m) => m.verify_slice(tag),
            AnyMac::Sha1(m) => m.verify_slice(tag),
            AnyMac::Md5(m) => m.verify_slice(tag),
        };
        r.map_err(|_| Error::BadMac)
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
