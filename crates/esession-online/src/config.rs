//! What an endpoint offers (as Alice) and accepts (as Bob).
//!
//! The default is DECISIONS D5's strict offer: modp `14`,`5`; `aes128-ctr`;
//! `sha256`; compress `none`; `sas28x5`; stanzas `message`; pubkeys `none`;
//! rekey_freq 4294967295 (never); the RFC 3526 exponent policy (D6).
//!
//! Every list is in preference order. Alice offers exactly these lists; Bob
//! takes, field by field, Alice's first option that appears in his list (D5).

use esession_crypto::cipher::CipherAlg;
use esession_crypto::dh::{ExponentPolicy, ModpGroup};
use esession_crypto::hash::HashAlg;
use esession_crypto::{Registry, SecretBytes};
use esession_sigma::Profile;
use unicode_normalization::UnicodeNormalization as _;

use esession_crypto::sign::SignAlg;

use crate::Error;
use crate::pubkey::{IdentityKey, PubkeyMode};

/// `logging` values (XEP-0155 §8, DECISIONS D20).
pub const LOGGING_OPTIONS: [&str; 2] = ["may", "mustnot"];

/// An endpoint's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Which reading of the byte-level choices to follow: [`Profile::Xep`], or
    /// [`Profile::Gajim`] for a peer running Gajim 0.12-1.0.3 (G1-G19).
    pub profile: Profile,
    /// MODP groups, preferred first (D5: never 3 or 4).
    pub modp: Vec<ModpGroup>,
    /// Ciphers, preferred first.
    pub crypt_algs: Vec<CipherAlg>,
    /// Hashes, preferred first.
    pub hash_algs: Vec<HashAlg>,
    /// `logging` values, preferred first: what Alice offers and what Bob's policy
    /// allows (D5: Bob takes the first of Alice's options his policy allows).
    pub logging: Vec<String>,
    /// Stanza kinds to encrypt (`message`, `presence`, `iq`).
    pub stanzas: Vec<String>,
    /// rekey_freq: Alice's offer, and Bob's minimum (D21, D42).
    pub rekey_freq: u32,
    /// How DH exponents are drawn (D6).
    pub exponent_policy: ExponentPolicy,
    /// Which algorithm names are acceptable at all.
    pub registry: Registry,
    /// Bob also searches the retained secrets of other JIDs when none of the
    /// contact's own matches (D34, "the extended search").
    pub extended_srs_search: bool,
    /// The password shared with this contact, if any: the other shared secret
    /// (OSS) mixed into K_final (XEP-0116 §4.7.3; DECISIONS D36).
    pub shared_password: Option<SharedPassword>,
    /// `init_pubkey` modes, preferred first: what Alice offers for her own
    /// identity, and what Bob accepts for hers (D27). Default `none`.
    pub init_pubkey: Vec<PubkeyMode>,
    /// `resp_pubkey` modes, preferred first: what Alice accepts for Bob's
    /// identity, and what Bob may use for his own (D27). Default `none`.
    pub resp_pubkey: Vec<PubkeyMode>,
    /// Signature algorithms, preferred first (D31). ecdsa-sha256 only if
    /// listed here (docs/decisions.md E4; never by default).
    pub sign_algs: Vec<SignAlg>,
    /// Our signing key, needed for the `key` and `hash` modes of our own identity.
    pub identity_key: Option<IdentityKey>,
    /// The 3-message SIGMA-I exchange (XEP-0116 §4.3 "dhkeys"; DECISIONS D46):
    /// Alice requests it, Bob accepts requests for it (otherwise he answers
    /// feature-not-implemented `dhkeys`, D44). Needs key or hash modes only.
    pub three_message: bool,
    /// Recognise a Gajim peer and run that session in the gajim profile
    /// (the `auto` profile of applications): as Bob from msg1, when it
    /// normalizes differently under D17 and D18 (Gajim's `<required/>`
    /// elements); as Alice from msg2, laid out as only Gajim writes it (G16:
    /// accept `true`, every field `text-single`). Only with
    /// [`Config::profile`] `xep`; [`crate::Established::profile`] says which
    /// profile ran. Off by default: `xep` then means the XEP text only.
    pub detect_gajim: bool,
    /// `security` values, preferred first (XEP-0155 §8): what Alice offers and
    /// what Bob accepts. `e2e` is an ESession; `c2s` and `none` allow a plain
    /// stanza session as the fallback (XEP-0116 §4.4). Default `e2e` only.
    pub security: Vec<String>,
    /// Compressions of stanza content, preferred first (XEP-0116 `compress`,
    /// XEP-0200 §6): `none` (D38) and optionally `zlib`. Default `none`.
    pub compress: Vec<crate::Compression>,
}

/// A password shared with one contact, used as the other shared secret (OSS,
/// DECISIONS D36): the UTF-8 bytes of the password after Unicode NFC, untrimmed.
/// An empty password means no OSS. Zeroized on drop, redacted in `Debug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedPassword(SecretBytes);

impl SharedPassword {
    /// Normalizes `password` to NFC (D36) and keeps its UTF-8 bytes.
    pub fn new(password: &str) -> Self {
        let nfc = zeroize::Zeroizing::new(password.nfc().collect::<String>());
        SharedPassword(SecretBytes::from_slice(nfc.as_bytes()))
    }

    /// The OSS bytes, or `None` for an empty password (D36).
    pub fn oss(&self) -> Option<&[u8]> {
        (!self.0.is_empty()).then(|| self.0.as_bytes())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            profile: Profile::Xep,
            modp: vec![ModpGroup::Group14, ModpGroup::Group5],
            crypt_algs: vec![CipherAlg::Aes128Ctr],
            hash_algs: vec![HashAlg::Sha256],
            logging: LOGGING_OPTIONS.iter().map(|s| (*s).to_owned()).collect(),
            stanzas: vec!["message".to_owned()],
            rekey_freq: u32::MAX,
            exponent_policy: ExponentPolicy::Rfc3526,
            registry: Registry::strict(),
            extended_srs_search: true,
            shared_password: None,
            init_pubkey: vec![PubkeyMode::None],
            resp_pubkey: vec![PubkeyMode::None],
            sign_algs: vec![SignAlg::RsaSha256, SignAlg::DsaSha256],
            identity_key: None,
            three_message: false,
            detect_gajim: false,
            security: vec!["e2e".to_owned()],
            compress: vec![crate::Compression::None],
        }
    }
}

impl Config {
    /// Checks that the configuration can be used by this version.
    pub fn validate(&self) -> Result<(), Error> {
        let Some(rules) = crate::profile::known(self.profile) else {
            return Err(Error::Config("a profile this version does not know"));
        };
        if !rules.extensions
            && (self.three_message
                || self
                    .init_pubkey
                    .iter()
                    .chain(&self.resp_pubkey)
                    .any(|m| *m != PubkeyMode::None))
        {
            // G10, G11: no public keys and no 3-message with Gajim.
            return Err(Error::Config(
                "the gajim profile uses pubkey none/none and 4 messages",
            ));
        }
        if self.modp.is_empty()
            || self.crypt_algs.is_empty()
            || self.hash_algs.is_empty()
            || self.logging.is_empty()
            || self.stanzas.is_empty()
            || self.init_pubkey.is_empty()
            || self.resp_pubkey.is_empty()
        {
            return Err(Error::Config("every option list needs at least one entry"));
        }
        if self.three_message
            && (self.init_pubkey.iter().all(|m| *m == PubkeyMode::None)
                || self.resp_pubkey.iter().all(|m| *m == PubkeyMode::None))
        {
            // D46: pubkey mode none is forbidden in the 3-message exchange.
            return Err(Error::Config("3-message needs key or hash modes only"));
        }
        if self
            .crypt_algs
            .iter()
            .any(|c| self.registry.cipher(c.name()).is_err())
        {
            return Err(Error::Config("a cipher the registry refuses"));
        }
        if self
            .hash_algs
            .iter()
            .any(|h| self.registry.hash(h.name()).is_err())
        {
            return Err(Error::Config("a hash the registry refuses"));
        }
        if self
            .logging
            .iter()
            .any(|l| !LOGGING_OPTIONS.contains(&l.as_str()))
        {
            return Err(Error::Config("logging values are may and mustnot"));
        }
        if self.compress.is_empty()
            || (!rules.extensions && self.compress != [crate::Compression::None])
        {
            return Err(Error::Config(
                "compress needs an entry; gajim uses none only",
            ));
        }
        if self.security.is_empty()
            || self
                .security
                .iter()
                .any(|s| !matches!(s.as_str(), "e2e" | "c2s" | "none"))
        {
            return Err(Error::Config("security values are e2e, c2s and none"));
        }
        if self
            .stanzas
            .iter()
            .any(|s| !matches!(s.as_str(), "message" | "presence" | "iq"))
        {
            return Err(Error::Config("stanzas are message, presence and iq"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_d5_strict_offer() {
        let c = Config::default();
        assert_eq!(c.modp, vec![ModpGroup::Group14, ModpGroup::Group5]);
        assert_eq!(c.crypt_algs, vec![CipherAlg::Aes128Ctr]);
        assert_eq!(c.hash_algs, vec![HashAlg::Sha256]);
        assert_eq!(c.rekey_freq, 4_294_967_295);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn shared_password_is_nfc_and_empty_means_none() {
        // "é" as e + combining acute (NFD) becomes U+00E9 (NFC).
        let p = SharedPassword::new("cafe\u{301} ");
        assert_eq!(p.oss(), Some("caf\u{e9} ".as_bytes()));
        assert_eq!(SharedPassword::new("").oss(), None);
        assert!(!format!("{p:?}").contains("caf"));
    }

    #[test]
    fn gajim_profile_without_keys_and_empty_lists() {
        let mut c = Config {
            profile: Profile::Gajim,
            ..Config::default()
        };
        assert_eq!(c.validate(), Ok(()));
        c.resp_pubkey = vec![PubkeyMode::Key];
        assert!(matches!(c.validate(), Err(Error::Config(_))));
        c.resp_pubkey = vec![PubkeyMode::None];
        c.profile = Profile::Xep;
        c.modp.clear();
        assert!(matches!(c.validate(), Err(Error::Config(_))));
    }
}
