//! The algorithm registry: wire names in, algorithm enums out, under a policy.
//!
//! Every algorithm field of XEP-0116 (`modp`, `crypt_algs`, `hash_algs`,
//! `sign_algs`, `sas_algs`) is resolved here, so that an unknown name and a name
//! the policy disables are typed errors in one place. The default registry is
//! strict: `sha1`, `md5`, the `none` cipher and the Twofish ciphers are refused
//! until the application opts in ("never silently weaker").
//!
//! Twofish is refused by default because the only maintained Rust implementation
//! (RustCrypto `twofish` 0.8) computes its key-dependent S-boxes with
//! data-dependent loops and branches (`gf_mult`), so it is not constant time
//! (docs/decisions.md E10).

use crate::Error;
use crate::cipher::CipherAlg;
use crate::dh::ModpGroup;
use crate::hash::HashAlg;
use crate::sas::SasAlg;
use crate::sign::SignAlg;

/// Which algorithms are acceptable; resolves wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Registry {
    allow_weak_hashes: bool,
    allow_cipher_none: bool,
    allow_variable_time_ciphers: bool,
}

impl Registry {
    /// The strict registry: every algorithm except `sha1`, `md5`, cipher `none` and
    /// the variable-time Twofish ciphers.
    pub fn strict() -> Self {
        Self::default()
    }

    /// Also accept `sha1` and `md5`, which XEP-0116 §8.5 calls broken.
    pub fn allow_weak_hashes(mut self, allow: bool) -> Self {
        self.allow_weak_hashes = allow;
        self
    }

    /// Also accept cipher `none` (integrity only, no confidentiality).
    pub fn allow_cipher_none(mut self, allow: bool) -> Self {
        self.allow_cipher_none = allow;
        self
    }

    /// Also accept the Twofish ciphers, whose only maintained implementation is
    /// not constant time (see the module docs).
    pub fn allow_variable_time_ciphers(mut self, allow: bool) -> Self {
        self.allow_variable_time_ciphers = allow;
        self
    }

    /// Resolves a `crypt_algs` value.
    pub fn cipher(&self, name: &str) -> Result<CipherAlg, Error> {
        let alg = CipherAlg::from_name(name)?;
        let disabled = (alg == CipherAlg::None && !self.allow_cipher_none)
            || (alg.is_variable_time() && !self.allow_variable_time_ciphers);
        if disabled {
            return Err(Error::DisabledAlgorithm {
                kind: "cipher",
                name: alg.name(),
            });
        }
        Ok(alg)
    }

    /// Resolves a `hash_algs` value.
    pub fn hash(&self, name: &str) -> Result<HashAlg, Error> {
        if self.allow_weak_hashes {
            HashAlg::from_name_allow_weak(name)
        } else {
            HashAlg::from_name(name)
        }
    }

    /// Resolves a `modp` value (decimal group number).
    pub fn group(&self, value: &str) -> Result<ModpGroup, Error> {
        ModpGroup::from_wire(value)
    }

    /// Resolves a `sign_algs` URI.
    pub fn sign(&self, uri: &str) -> Result<SignAlg, Error> {
        SignAlg::from_uri(uri)
    }

    /// Resolves a `sas_algs` value.
    pub fn sas(&self, name: &str) -> Result<SasAlg, Error> {
        SasAlg::from_name(name)
    }

    /// The ciphers this registry accepts, in the order of [`CipherAlg::ALL`].
    pub fn ciphers(&self) -> impl Iterator<Item = CipherAlg> + '_ {
        CipherAlg::ALL
            .into_iter()
            .filter(|a| self.cipher(a.name()).is_ok())
    }

    /// The hashes this registry accepts, in the order of [`HashAlg::ALL`].
    pub fn hashes(&self) -> impl Iterator<Item = HashAlg> + '_ {
        HashAlg::ALL
            .into_iter()
            .filter(|a| self.hash(a.name()).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_by_default() {
        let r = Registry::default();
        assert_eq!(r.cipher("aes128-ctr"), Ok(CipherAlg::Aes128Ctr));
        assert_eq!(
            r.cipher("none"),
            Err(Error::DisabledAlgorithm {
                kind: "cipher",
                name: "none"
            })
        );
        assert_eq!(
            r.hash("md5"),
            Err(Error::DisabledAlgorithm {
                kind: "hash",
                name: "md5"
            })
        );
        assert!(matches!(
            r.hash("sha3-256"),
            Err(Error::UnknownAlgorithm { kind: "hash", .. })
        ));
        assert_eq!(r.group("3"), Err(Error::EllipticCurveGroup(3)));
        assert_eq!(r.group("18"), Ok(ModpGroup::Group18));
        assert_eq!(
            r.sign("http://www.w3.org/2000/09/xmldsig#rsa-sha256"),
            Ok(SignAlg::RsaSha256)
        );
        assert!(matches!(
            r.sign("http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
            Err(Error::UnknownAlgorithm {
                kind: "signature",
                ..
            })
        ));
        assert_eq!(
            r.cipher("twofish256-ctr"),
            Err(Error::DisabledAlgorithm {
                kind: "cipher",
                name: "twofish256-ctr"
            })
        );
        assert_eq!(r.cipher("serpent256-ctr"), Ok(CipherAlg::Serpent256Ctr));
        assert_eq!(r.ciphers().count(), 6);
        assert_eq!(r.hashes().count(), 4);
    }

    #[test]
    fn opt_ins() {
        let r = Registry::strict()
            .allow_weak_hashes(true)
            .allow_cipher_none(true)
            .allow_variable_time_ciphers(true);
        assert_eq!(r.cipher("none"), Ok(CipherAlg::None));
        assert_eq!(r.hash("sha1"), Ok(HashAlg::Sha1));
        assert_eq!(r.ciphers().count(), 10);
        assert_eq!(r.hashes().count(), 6);
    }

    #[test]
    fn long_unknown_names_are_truncated_in_errors() {
        let long = "x".repeat(10_000);
        match Registry::default().cipher(&long) {
            Err(Error::UnknownAlgorithm { name, .. }) => assert_eq!(name.len(), 64),
            other => panic!("{other:?}"),
        }
    }
}
