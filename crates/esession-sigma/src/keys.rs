//! The shared secret K and the keys derived from it.
//!
//! ```text
//! shared secret mpi(g^xy mod p)  ── k_dh ──▶ K = HASH(mpi(g^xy mod p))         (D8)
//! K ── HMAC(K, "Initiator Cipher Key") ──▶ KC_A   (last key_len bytes, D10)
//!   ── HMAC(K, "Initiator MAC Key")    ──▶ KM_A   (all bytes)
//!   ── HMAC(K, "Initiator SIGMA Key")  ──▶ KS_A   (all bytes)
//!   ── "Responder …"                   ──▶ KC_B, KM_B, KS_B
//! rekey: mpi(d^x mod p), unhashed ── "Rekey Initiator Crypt" / "Rekey Acceptor Crypt"
//!                                     "Rekey Initiator MAC" / "Rekey Acceptor MAC" (D41)
//! ```
//!
//! [`DirectionKeys`] holds one direction's KC, KM and KS together with the hash and
//! profile they were made for, so it can compute that direction's `mac`, `ID` and
//! `M` without further parameters. All keys zeroize on drop ([`CtrKey`],
//! [`SecretBytes`]) and print redacted.

use esession_crypto::cipher::{CipherAlg, CtrKey};
use esession_crypto::hash::HashAlg;
use esession_crypto::{SecretBytes, mpi};

use crate::{Error, MAX_IDENTITY_LEN, Profile};

/// `"Initiator Cipher Key"` (XEP-0116 §4.5.3).
pub const INITIATOR_CIPHER_KEY: &[u8] = b"Initiator Cipher Key";
/// `"Initiator MAC Key"` (XEP-0116 §4.5.3).
pub const INITIATOR_MAC_KEY: &[u8] = b"Initiator MAC Key";
/// `"Initiator SIGMA Key"` (XEP-0116 §4.5.3).
pub const INITIATOR_SIGMA_KEY: &[u8] = b"Initiator SIGMA Key";
/// `"Responder Cipher Key"` (XEP-0116 §4.5.3).
pub const RESPONDER_CIPHER_KEY: &[u8] = b"Responder Cipher Key";
/// `"Responder MAC Key"` (XEP-0116 §4.5.3).
pub const RESPONDER_MAC_KEY: &[u8] = b"Responder MAC Key";
/// `"Responder SIGMA Key"` (XEP-0116 §4.5.3).
pub const RESPONDER_SIGMA_KEY: &[u8] = b"Responder SIGMA Key";
/// `"Rekey Initiator Crypt"` (XEP-0200 §9.2, DECISIONS D41).
pub const REKEY_INITIATOR_CRYPT: &[u8] = b"Rekey Initiator Crypt";
/// `"Rekey Acceptor Crypt"` (XEP-0200 §9.2).
pub const REKEY_ACCEPTOR_CRYPT: &[u8] = b"Rekey Acceptor Crypt";
/// `"Rekey Initiator MAC"` (XEP-0200 §9.2).
pub const REKEY_INITIATOR_MAC: &[u8] = b"Rekey Initiator MAC";
/// `"Rekey Acceptor MAC"` (XEP-0200 §9.2).
pub const REKEY_ACCEPTOR_MAC: &[u8] = b"Rekey Acceptor MAC";

/// Which side of the key exchange a set of keys belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Alice, who sent the ESession request (labels "Initiator …").
    Initiator,
    /// Bob (labels "Responder …").
    Responder,
}

impl Role {
    /// The three labels (cipher, MAC, SIGMA) of XEP-0116 §4.5.3 for this role.
    pub fn labels(self) -> [&'static [u8]; 3] {
        match self {
            Role::Initiator => [INITIATOR_CIPHER_KEY, INITIATOR_MAC_KEY, INITIATOR_SIGMA_KEY],
            Role::Responder => [RESPONDER_CIPHER_KEY, RESPONDER_MAC_KEY, RESPONDER_SIGMA_KEY],
        }
    }
}

/// K = HASH(mpi(g^xy mod p)) (XEP-0116 §4.5.1, §4.6.1; DECISIONS D8).
///
/// `shared_secret_mpi` is the minimal encoding, as
/// [`esession_crypto::dh::DhPrivateKey::shared_secret`] returns it; it is not
/// padded to the width of p.
pub fn k_dh(hash: HashAlg, shared_secret_mpi: &[u8]) -> SecretBytes {
    hash.digest(shared_secret_mpi)
}

/// The cipher key from an HMAC output (XEP-0116 §4.5.3; DECISIONS D10, G1).
///
/// - xep: the last `key_len` bytes (`aes128-ctr` takes bytes 16..31).
/// - gajim: AES-256 keyed with the last 32 bytes (all of an HMAC-SHA256 output),
///   whichever AES was negotiated; any other cipher is [`Error::NotInProfile`].
pub fn cipher_key(
    profile: Profile,
    cipher: CipherAlg,
    hmac_output: &[u8],
) -> Result<CtrKey, Error> {
    match profile {
        Profile::Xep => Ok(CtrKey::from_hmac_output(cipher, hmac_output)?),
        Profile::Gajim => match cipher {
            CipherAlg::Aes128Ctr | CipherAlg::Aes192Ctr | CipherAlg::Aes256Ctr => {
                Ok(CtrKey::from_hmac_output(CipherAlg::Aes256Ctr, hmac_output)?)
            }
            other => Err(Error::NotInProfile(other.name())),
        },
    }
}

/// One direction's keys: KC (cipher), KM (MAC) and KS (SIGMA), with the hash and
/// profile they belong to (XEP-0116 §4.5.3).
#[derive(Debug, Clone)]
pub struct DirectionKeys {
    hash: HashAlg,
    profile: Profile,
    role: Role,
    kc: CtrKey,
    km: SecretBytes,
    ks: SecretBytes,
}

/// An identity blob as sent: `ID` and `M` (XEP-0116 §4.5.4, §4.6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedIdentity {
    /// `ID = CIPHER(KC, C, plaintext)`.
    pub id: Vec<u8>,
    /// `M = HMAC(KM, mpi(C) ‖ ID)`.
    pub m: Vec<u8>,
    /// Blocks consumed; the sender's counter advances by this (D13).
    pub blocks: u128,
}

/// A deciphered identity blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedIdentity {
    /// The plaintext: `macX`, or `pubKeyPart ‖ signX` (D29).
    pub plaintext: SecretBytes,
    /// Blocks consumed; the receiver's copy of the peer's counter advances by this.
    pub blocks: u128,
}

impl DirectionKeys {
    /// Derives one role's KC, KM and KS from `k` (XEP-0116 §4.5.3; DECISIONS D9, D10).
    ///
    /// With `k` = K this gives the provisional initiator keys of the 4-message
    /// exchange (§4.6.1, D11) or the final keys of the 3-message one; with
    /// `k` = K_final ([`crate::secrets::k_final`]) the final keys.
    pub fn derive(
        hash: HashAlg,
        cipher: CipherAlg,
        profile: Profile,
        k: &[u8],
        role: Role,
    ) -> Result<Self, Error> {
        let [c, m, s] = role.labels();
        let kc_out = hash.hmac(k, c);
        Ok(Self {
            hash,
            profile,
            role,
            kc: cipher_key(profile, cipher, kc_out.as_bytes())?,
            km: hash.hmac(k, m),
            ks: hash.hmac(k, s),
        })
    }

    /// The hash these keys were derived with.
    pub fn hash(&self) -> HashAlg {
        self.hash
    }

    /// The profile these keys follow.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Whose keys these are.
    pub fn role(&self) -> Role {
        self.role
    }

    /// KC: the cipher key (D10 / G1 applied).
    pub fn kc(&self) -> &CtrKey {
        &self.kc
    }

    /// KM: the MAC key (all bytes of the HMAC output, D10).
    pub fn km(&self) -> &SecretBytes {
        &self.km
    }

    /// KS: the SIGMA key (all bytes of the HMAC output, D10).
    pub fn ks(&self) -> &SecretBytes {
        &self.ks
    }

    /// `M = HMAC(KM, mpi(C) ‖ ID)` (XEP-0116 §4.5.4, §4.6.3; DECISIONS D9, D14: the
    /// minimal counter encoding, in both profiles).
    pub fn identity_mac(&self, counter: u128, id: &[u8]) -> Vec<u8> {
        self.hash
            .hmac_parts(self.km.as_bytes(), &[&mpi::encode_u128(counter), id])
            .as_bytes()
            .to_vec()
    }

    /// `ID = CIPHER(KC, C, plaintext)` and `M = HMAC(KM, mpi(C) ‖ ID)`
    /// (XEP-0116 §4.5.4 for Bob, §4.6.3 for Alice; DECISIONS D13, D14).
    ///
    /// `plaintext` is `macX` ([`crate::identity::mac_a`], [`crate::identity::mac_b`])
    /// or `pubKeyPart ‖ signX` ([`crate::identity::signed_identity_plaintext`]).
    /// The cipher enters with [`Profile::cipher_counter`]`(counter)`; the caller
    /// advances its counter by `blocks` afterwards.
    pub fn seal_identity(&self, counter: u128, plaintext: &[u8]) -> Result<SealedIdentity, Error> {
        if plaintext.len() > MAX_IDENTITY_LEN {
            return Err(Error::IdentityTooLong {
                len: plaintext.len(),
                max: MAX_IDENTITY_LEN,
            });
        }
        let mut id = plaintext.to_vec();
        let blocks = self
            .kc
            .apply_keystream(self.profile.cipher_counter(counter), &mut id)?;
        let m = self.identity_mac(counter, &id);
        Ok(SealedIdentity { id, m, blocks })
    }

    /// The inverse of [`DirectionKeys::seal_identity`]: checks `M` in constant time
    /// first, then deciphers `ID` (XEP-0116 §4.6.2, §4.7.1: "assert MA = HMAC(…)"
    /// before "DECIPHER").
    ///
    /// Errors: [`Error::IdentityTooLong`] beyond [`MAX_IDENTITY_LEN`],
    /// [`Error::BadMac`] if `M` does not verify. The plaintext is then checked with
    /// [`crate::identity::check_mac_identity`] or parsed with
    /// [`crate::identity::parse_signed_identity`].
    pub fn open_identity(
        &self,
        counter: u128,
        id: &[u8],
        m: &[u8],
    ) -> Result<OpenedIdentity, Error> {
        if id.len() > MAX_IDENTITY_LEN {
            return Err(Error::IdentityTooLong {
                len: id.len(),
                max: MAX_IDENTITY_LEN,
            });
        }
        self.hash
            .verify_hmac(self.km.as_bytes(), &[&mpi::encode_u128(counter), id], m)
            .map_err(|_| Error::BadMac)?;
        // ID is public ciphertext; once deciphered in place the buffer moves into
        // a SecretBytes, which zeroizes it.
        let mut buf = id.to_vec();
        let blocks = self
            .kc
            .apply_keystream(self.profile.cipher_counter(counter), &mut buf)?;
        Ok(OpenedIdentity {
            plaintext: SecretBytes::new(buf),
            blocks,
        })
    }
}

/// The six session keys (XEP-0116 §4.5.3): the initiator's and the responder's
/// [`DirectionKeys`].
#[derive(Debug, Clone)]
pub struct SessionKeys {
    initiator: DirectionKeys,
    responder: DirectionKeys,
}

impl SessionKeys {
    /// Derives KC_A, KM_A, KS_A, KC_B, KM_B, KS_B from `k` (K in 3-message and
    /// offline exchanges, K_final in 4-message ones; DECISIONS D11).
    pub fn derive(
        hash: HashAlg,
        cipher: CipherAlg,
        profile: Profile,
        k: &[u8],
    ) -> Result<Self, Error> {
        Ok(Self {
            initiator: DirectionKeys::derive(hash, cipher, profile, k, Role::Initiator)?,
            responder: DirectionKeys::derive(hash, cipher, profile, k, Role::Responder)?,
        })
    }

    /// Alice's keys: KC_A, KM_A, KS_A.
    pub fn initiator(&self) -> &DirectionKeys {
        &self.initiator
    }

    /// Bob's keys: KC_B, KM_B, KS_B.
    pub fn responder(&self) -> &DirectionKeys {
        &self.responder
    }

    /// The keys of `role`.
    pub fn of(&self, role: Role) -> &DirectionKeys {
        match role {
            Role::Initiator => &self.initiator,
            Role::Responder => &self.responder,
        }
    }
}

/// One direction's XEP-0200 keys after a re-key: KC and KM (no SIGMA key).
#[derive(Debug, Clone)]
pub struct TrafficKeys {
    /// The cipher key (D10 applied).
    pub kc: CtrKey,
    /// The MAC key (all bytes of the HMAC output).
    pub km: SecretBytes,
}

/// The four keys of a re-key (XEP-0200 §9.2-9.3, DECISIONS D41).
#[derive(Debug, Clone)]
pub struct RekeyKeys {
    /// The keys of whoever sent `<key/>`: "Rekey Initiator Crypt" / "Rekey Initiator MAC".
    pub initiator: TrafficKeys,
    /// The other party's: "Rekey Acceptor Crypt" / "Rekey Acceptor MAC".
    pub acceptor: TrafficKeys,
}

/// Re-key keys from `shared_secret_mpi` = mpi(d^x mod p) (initiator) or
/// mpi(e^y mod p) (acceptor) (XEP-0200 §9.2; DECISIONS D41).
///
/// K is **not hashed**: the HMAC key is the mpi itself (HMAC pre-hashes long keys).
/// "Initiator" is whoever sent `<key/>`. Key lengths follow D10 and the profile's
/// rule ([`cipher_key`]); the gajim profile never re-keys (G9), so it is only
/// here for completeness. Counters are not reset (D13).
pub fn rekey_keys(
    hash: HashAlg,
    cipher: CipherAlg,
    profile: Profile,
    shared_secret_mpi: &[u8],
) -> Result<RekeyKeys, Error> {
    let k = shared_secret_mpi;
    Ok(RekeyKeys {
        initiator: TrafficKeys {
            kc: cipher_key(
                profile,
                cipher,
                hash.hmac(k, REKEY_INITIATOR_CRYPT).as_bytes(),
            )?,
            km: hash.hmac(k, REKEY_INITIATOR_MAC),
        },
        acceptor: TrafficKeys {
            kc: cipher_key(
                profile,
                cipher,
                hash.hmac(k, REKEY_ACCEPTOR_CRYPT).as_bytes(),
            )?,
            km: hash.hmac(k, REKEY_ACCEPTOR_MAC),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes128_takes_the_last_16_bytes_and_gajim_all_32() {
        let k = [7u8; 32];
        let full = HashAlg::Sha256.hmac(&k, INITIATOR_CIPHER_KEY);
        let xep = DirectionKeys::derive(
            HashAlg::Sha256,
            CipherAlg::Aes128Ctr,
            Profile::Xep,
            &k,
            Role::Initiator,
        )
        .unwrap();
        assert_eq!(xep.kc().key_bytes(), &full.as_bytes()[16..]);
        assert_eq!(xep.kc().alg(), CipherAlg::Aes128Ctr);
        assert_eq!(xep.km().len(), 32);
        let gajim = DirectionKeys::derive(
            HashAlg::Sha256,
            CipherAlg::Aes128Ctr,
            Profile::Gajim,
            &k,
            Role::Initiator,
        )
        .unwrap();
        assert_eq!(gajim.kc().key_bytes(), full.as_bytes());
        assert_eq!(gajim.kc().alg(), CipherAlg::Aes256Ctr);
        assert!(matches!(
            cipher_key(Profile::Gajim, CipherAlg::Twofish128Ctr, full.as_bytes()),
            Err(Error::NotInProfile("twofish128-ctr"))
        ));
    }

    #[test]
    fn rekey_keys_use_the_unhashed_shared_secret() {
        // D41: the HMAC key is mpi(d^x mod p) itself. HMAC hashes keys longer than
        // its block (64 bytes for SHA-256), so for real MODP secrets this equals
        // keying with SHA-256(K); a short secret shows the two readings apart.
        for len in [40, 192] {
            let shared = vec![0x5a_u8; len];
            let rk =
                rekey_keys(HashAlg::Sha256, CipherAlg::Aes128Ctr, Profile::Xep, &shared).unwrap();
            let kca = HashAlg::Sha256.hmac(&shared, REKEY_INITIATOR_CRYPT);
            assert_eq!(rk.initiator.kc.key_bytes(), &kca.as_bytes()[16..]);
            assert_eq!(
                rk.initiator.km,
                HashAlg::Sha256.hmac(&shared, REKEY_INITIATOR_MAC)
            );
            assert_eq!(
                rk.acceptor.km,
                HashAlg::Sha256.hmac(&shared, REKEY_ACCEPTOR_MAC)
            );
            let kcb = HashAlg::Sha256.hmac(&shared, REKEY_ACCEPTOR_CRYPT);
            assert_eq!(rk.acceptor.kc.key_bytes(), &kcb.as_bytes()[16..]);
            let hashed = HashAlg::Sha256.digest(&shared);
            let via_hash = HashAlg::Sha256.hmac(hashed.as_bytes(), REKEY_INITIATOR_MAC);
            assert_eq!(rk.initiator.km == via_hash, len > 64);
        }
    }

    #[test]
    fn debug_is_redacted() {
        let keys = SessionKeys::derive(
            HashAlg::Sha256,
            CipherAlg::Aes128Ctr,
            Profile::Xep,
            &[1; 32],
        )
        .unwrap();
        let printed = format!("{keys:?}");
        let km = keys.initiator().km().as_bytes();
        assert!(!printed.contains(&format!("{:?}", km)));
        assert!(printed.contains("REDACTED"));
    }

    #[test]
    fn bad_m_is_rejected_before_deciphering() {
        let keys = SessionKeys::derive(
            HashAlg::Sha256,
            CipherAlg::Aes128Ctr,
            Profile::Xep,
            &[2; 32],
        )
        .unwrap();
        let a = keys.initiator();
        let sealed = a.seal_identity(5, &[9; 32]).unwrap();
        assert_eq!(sealed.blocks, 2);
        assert_eq!(
            a.open_identity(6, &sealed.id, &sealed.m),
            Err(Error::BadMac),
            "wrong counter"
        );
        assert_eq!(
            keys.responder().open_identity(5, &sealed.id, &sealed.m),
            Err(Error::BadMac),
            "wrong keys"
        );
        let opened = a.open_identity(5, &sealed.id, &sealed.m).unwrap();
        assert_eq!(opened.plaintext.as_bytes(), &[9; 32]);
        let long = vec![0; MAX_IDENTITY_LEN + 1];
        assert!(matches!(
            a.open_identity(5, &long, &sealed.m),
            Err(Error::IdentityTooLong { .. })
        ));
    }
}
