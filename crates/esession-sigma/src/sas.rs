//! The Short Authentication String (XEP-0116 §9 "The sas28x5 SAS Algorithm";
//! DECISIONS D32).
//!
//! ```text
//! h   = HASH(M_A ‖ formB ‖ "Short Authentication String")   sas_digest
//! SAS = sas28x5(h): last 3 bytes in base 28, padded / unpadded (G5)   sas
//! ```

use esession_crypto::hash::HashAlg;
use esession_crypto::sas::{sas28x5, sas28x5_unpadded};

use crate::Profile;

/// `"Short Authentication String"` (XEP-0116 §9).
pub const SHORT_AUTHENTICATION_STRING: &[u8] = b"Short Authentication String";

/// HASH(M_A ‖ formB ‖ "Short Authentication String") (XEP-0116 §9; DECISIONS D32):
/// M_A is its raw bytes, formB the same bytes as in macB.
pub fn sas_digest(hash: HashAlg, m_a: &[u8], form_b: &[u8]) -> Vec<u8> {
    hash.digest_parts(&[m_a, form_b, SHORT_AUTHENTICATION_STRING])
        .as_bytes()
        .to_vec()
}

/// The SAS in both renderings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sas {
    /// Always 5 characters, left-padded with `a` (D32).
    pub padded: String,
    /// Leading `a`s stripped, at least one character kept: what Gajim shows (G5).
    pub unpadded: String,
}

impl Sas {
    /// What to show the user: the padded form in the xep profile; in the gajim profile
    /// the unpadded form (which Gajim's user sees), D32.
    pub fn display(&self, profile: Profile) -> &str {
        match profile {
            Profile::Xep => &self.padded,
            Profile::Gajim => &self.unpadded,
        }
    }
}

/// sas28x5(M_A, formB) (XEP-0116 §9; DECISIONS D32, G5).
pub fn sas(hash: HashAlg, m_a: &[u8], form_b: &[u8]) -> Sas {
    let h = sas_digest(hash, m_a, form_b);
    Sas {
        padded: sas28x5(&h),
        unpadded: sas28x5_unpadded(&h),
    }
}
