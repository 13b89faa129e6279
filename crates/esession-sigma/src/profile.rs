//! Profiles: where Gajim computes different bytes from the XEP text.
//!
//! DECISIONS ("Conventions") defines two profiles. [`Profile::Xep`] follows the
//! XEPs strictly; [`Profile::Gajim`] reproduces Gajim 0.12–1.0.3 where it
//! deviates in the key schedule:
//!
//! | Gajim | what | where it acts here |
//! |---|---|---|
//! | G1 | AES key = all 32 bytes of the HMAC output (AES-256), whatever was negotiated | [`crate::keys`] (D10) |
//! | G2 | CTR block `i` uses `C + 1 + i` | [`Profile::cipher_counter`] (D13) |
//! | G3 | XEP-0200 receiver MACs the counter padded to 16 bytes | [`Profile::stanza_mac_counter_bytes`] (D14) |
//! | G5 | unpadded SAS | [`crate::sas::Sas::display`] (D32) |
//!
//! Everything else in this crate (labels, MAC inputs, `M_A`/`M_B` with the
//! minimal counter, K_final, srshash, retained secrets) is the same in both.

use esession_crypto::mpi;

/// Which reading of the byte-level choices to follow (DECISIONS "Conventions").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Profile {
    /// The XEP text, as resolved by DECISIONS D1-D50. The default.
    #[default]
    Xep,
    /// Interoperability with Gajim 0.12–1.0.3 (G1-G19).
    Gajim,
}

impl Profile {
    /// The profile's name in vector files (`"xep"`, `"gajim"`).
    pub fn name(self) -> &'static str {
        match self {
            Profile::Xep => "xep",
            Profile::Gajim => "gajim",
        }
    }

    /// Looks up a profile by its name in vector files.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "xep" => Some(Profile::Xep),
            "gajim" => Some(Profile::Gajim),
            _ => None,
        }
    }

    /// The counter the CTR cipher enters with when the protocol's counter is `c`
    /// (XEP-0116 §4.5.4, XEP-0200 §6; DECISIONS D13).
    ///
    /// - xep: `c` itself: the first block uses `C`.
    /// - gajim (G2): `c + 1 (mod 2^128)`: Gajim's counter function increments before
    ///   it returns, so block `i` uses `C + 1 + i`.
    ///
    /// In both profiles the protocol counter then advances by the blocks consumed
    /// ([`crate::counters::advance`]).
    pub fn cipher_counter(self, c: u128) -> u128 {
        match self {
            Profile::Xep => c,
            Profile::Gajim => c.wrapping_add(1),
        }
    }

    /// The bytes of the counter on entry that a *sender* appends to an XEP-0200
    /// stanza MAC: `a_mac = HMAC(KM, m_content ‖ these bytes)` (XEP-0200 §6,
    /// DECISIONS D14, D40).
    ///
    /// - xep: `mpi(C)`, minimal.
    /// - gajim (G3): `C` left-padded to 16 bytes, the only form every Gajim receiver
    ///   accepts (equal to `mpi(C)` whenever `C ≥ 2^120`).
    ///
    /// `M_A` and `M_B` always use the minimal form (Gajim agrees there); see
    /// [`crate::keys::DirectionKeys::identity_mac`].
    pub fn stanza_mac_counter_bytes(self, c: u128) -> Vec<u8> {
        match self {
            Profile::Xep => mpi::encode_u128(c),
            Profile::Gajim => mpi::counter_padded(c).to_vec(),
        }
    }

    /// Every counter encoding a *receiver* accepts in an XEP-0200 stanza MAC, in the
    /// order to try them (DECISIONS D14): xep accepts `mpi(C)` only; gajim accepts
    /// `mpi(C)` (what Gajim senders send) and the 16-byte padded form. The list has
    /// one entry when both forms coincide.
    pub fn stanza_mac_counter_accepted(self, c: u128) -> Vec<Vec<u8>> {
        let minimal = mpi::encode_u128(c);
        match self {
            Profile::Xep => vec![minimal],
            Profile::Gajim => {
                let padded = mpi::counter_padded(c).to_vec();
                if padded == minimal {
                    vec![minimal]
                } else {
                    vec![minimal, padded]
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in [Profile::Xep, Profile::Gajim] {
            assert_eq!(Profile::from_name(p.name()), Some(p));
        }
        assert_eq!(Profile::from_name("strict"), None);
        assert_eq!(Profile::default(), Profile::Xep);
    }

    #[test]
    fn cipher_counter_is_pre_incremented_only_for_gajim() {
        assert_eq!(Profile::Xep.cipher_counter(7), 7);
        assert_eq!(Profile::Gajim.cipher_counter(7), 8);
        assert_eq!(Profile::Gajim.cipher_counter(u128::MAX), 0);
    }

    #[test]
    fn stanza_counter_encodings() {
        let small = 0x0050_u128 << 112; // below 2^120: Gajim's G3 case
        assert_eq!(Profile::Xep.stanza_mac_counter_bytes(small).len(), 15);
        assert_eq!(Profile::Gajim.stanza_mac_counter_bytes(small).len(), 16);
        assert_eq!(Profile::Gajim.stanza_mac_counter_accepted(small).len(), 2);
        assert_eq!(Profile::Xep.stanza_mac_counter_accepted(small).len(), 1);
        let big = 0xab12_u128 << 112;
        assert_eq!(
            Profile::Gajim.stanza_mac_counter_bytes(big),
            Profile::Xep.stanza_mac_counter_bytes(big)
        );
        assert_eq!(Profile::Gajim.stanza_mac_counter_accepted(big).len(), 1);
        assert_eq!(Profile::Xep.stanza_mac_counter_bytes(0), vec![0]);
    }
}
