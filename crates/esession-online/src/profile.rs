//! Every place the `gajim` profile behaves differently from `xep` on the wire,
//! above the key schedule (esession-sigma's [`Profile`] methods hold the
//! key-schedule differences: G1, G2, G3, G5).
//!
//! The rest of the crate never matches on a profile: it reads the [`Rules`]
//! of its configuration. A profile this crate does not know is refused by
//! [`crate::Config::validate`], so it can never run under another profile's
//! rules.
//!
//! | rule | xep | gajim |
//! |---|---|---|
//! | negotiation forms laid out | D19-D23 | as Gajim 0.15.4 writes them (G16) |
//! | forms normalized for MACs | D17 | D18 |
//! | `sign_algs` in msg1 | only with public keys (D31) | always `rsa-sha256` (Gajim-Bob answers it) |
//! | pubkey modes announced in msg1 | the configured ones | `none key hash` / `none key` (G10) |
//! | Bob answers `sign_algs` without keys | no | `rsa-sha256` when offered |
//! | termination | encrypted, acknowledged (D43) | plaintext, unacknowledged (G8) |
//! | a plaintext terminate in a session | ignored (D43) | ends it (G8) |
//! | plaintext body after `<c/>` | none (D38) | Gajim's warning text (G17) |
//! | re-keying | yes (D41, D42) | never (G9) |
//! | stanza plaintext padded to whole blocks | no | yes, with spaces (G19, D15) |
//! | receiver keeps one keystream per direction | no | yes (G19, D13) |
//! | public keys, 3-message, zlib | allowed | refused (G10, G11) |

use esession_sigma::Profile;
use esession_wire::{NormProfile, WireForm};

use crate::Config;

/// The plaintext body the gajim profile adds after `<c/>` (G17).
pub const GAJIM_FALLBACK_BODY: &str =
    "[This is part of an encrypted session. If you see this message, something went wrong.]";

/// The on-the-wire behaviour of one profile.
#[derive(Debug)]
pub(crate) struct Rules {
    /// Negotiation forms are laid out as Gajim 0.15.4 writes them (G16):
    /// its MACs and SAS cover the exact bytes of its forms.
    pub(crate) gajim_layout: bool,
    /// How forms are normalized before they are MACed (D17 or D18).
    pub(crate) norm: NormProfile,
    /// Alice offers `rsa-sha256` in `sign_algs` even without public keys,
    /// since a Gajim responder always answers it (GAJIM.md §8).
    pub(crate) offer_rsa_sign_alg: bool,
    /// The `init_pubkey` / `resp_pubkey` options written into msg1 in place
    /// of the configured ones (formA covers them; G10).
    pub(crate) announced_pubkey_modes: Option<(&'static [&'static str], &'static [&'static str])>,
    /// Bob answers `sign_algs` `rsa-sha256` whenever Alice offered it, even
    /// with pubkeys none (formB covers it).
    pub(crate) answer_rsa_sign_alg: bool,
    /// Terminate in plaintext without acknowledgement, and accept a plaintext
    /// terminate in an encrypted session (G8).
    pub(crate) plaintext_termination: bool,
    /// A plaintext body added after `<c/>` (G17).
    pub(crate) fallback_body: Option<&'static str>,
    /// Re-keying is allowed (G9: Gajim never re-keys).
    pub(crate) rekeying: bool,
    /// Stanza plaintext is padded with spaces to whole cipher blocks (G19).
    pub(crate) pad_to_blocks: bool,
    /// The receiver keeps the unused keystream of a partial block for the
    /// next stanza (G19).
    pub(crate) carry_keystream: bool,
    /// Public keys, the 3-message exchange and zlib may be configured (G10, G11).
    pub(crate) extensions: bool,
}

/// The pubkey modes Gajim-Alice's msg1 announces (GAJIM.md §2).
const GAJIM_PUBKEY_MODES: (&[&str], &[&str]) = (&["none", "key", "hash"], &["none", "key"]);

const XEP: Rules = Rules {
    gajim_layout: false,
    norm: NormProfile::Xep,
    offer_rsa_sign_alg: false,
    announced_pubkey_modes: None,
    answer_rsa_sign_alg: false,
    plaintext_termination: false,
    fallback_body: None,
    rekeying: true,
    pad_to_blocks: false,
    carry_keystream: false,
    extensions: true,
};

const GAJIM: Rules = Rules {
    gajim_layout: true,
    norm: NormProfile::Gajim,
    offer_rsa_sign_alg: true,
    announced_pubkey_modes: Some(GAJIM_PUBKEY_MODES),
    answer_rsa_sign_alg: true,
    plaintext_termination: true,
    fallback_body: Some(GAJIM_FALLBACK_BODY),
    rekeying: false,
    pad_to_blocks: true,
    carry_keystream: true,
    extensions: false,
};

/// The rules of `profile`, or `None` for a profile this crate does not know.
pub(crate) fn known(profile: Profile) -> Option<&'static Rules> {
    match profile {
        Profile::Xep => Some(&XEP),
        Profile::Gajim => Some(&GAJIM),
        _ => None,
    }
}

/// The rules of `profile`. Configurations are validated before use, so an
/// unknown profile cannot reach here; should one, the literal XEP rules
/// apply (never another deployment's).
pub(crate) fn rules(profile: Profile) -> &'static Rules {
    known(profile).unwrap_or(&XEP)
}

/// Bob, xep profile: msg1 comes from a Gajim initiator when it normalizes
/// differently under D17 and D18 (Gajim's `<required/>` elements; D18:
/// "Gajim as Alice works only in the gajim profile").
pub(crate) fn is_gajim_request(current: &Rules, form: &WireForm) -> bool {
    if current.gajim_layout {
        return false;
    }
    matches!(
        (form.form_bytes(NormProfile::Xep), form.form_bytes(NormProfile::Gajim)),
        (Ok(x), Ok(g)) if x != g
    )
}

/// Alice, xep profile: msg2 comes from a Gajim responder when it is laid
/// out as only Gajim writes it (G16): accept `true` and every field
/// `text-single`.
pub(crate) fn is_gajim_response(current: &Rules, form: &WireForm) -> bool {
    if current.gajim_layout {
        return false;
    }
    let Ok(data) = form.data_form() else {
        return false;
    };
    let accept_true = data
        .field("accept")
        .is_some_and(|f| f.values.len() == 1 && f.values[0] == "true");
    accept_true
        && data
            .fields
            .iter()
            .all(|f| f.kind.as_deref() == Some("text-single"))
}

/// Switches a session's configuration to the gajim profile after detection.
pub(crate) fn switch_to_gajim(config: &mut Config) {
    config.profile = Profile::Gajim;
    config.three_message = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_profile_has_its_own_rules() {
        assert!(!rules(Profile::Xep).gajim_layout && rules(Profile::Xep).rekeying);
        assert!(rules(Profile::Gajim).gajim_layout && !rules(Profile::Gajim).rekeying);
        assert_eq!(rules(Profile::Gajim).norm, NormProfile::Gajim);
    }
}
