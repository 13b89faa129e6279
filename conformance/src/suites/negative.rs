//! The negative suite: attacks on real endpoints, each case with the typed
//! error it must end in and a check that nothing reached the application.
//!
//! Unlike the other suites this one reads no vector file: each case builds an
//! in-memory pair of `esession-online` endpoints (seeded ChaCha20, a virtual
//! clock; [`harness`]) or an `esession-offline` publisher/initiator/receiver,
//! runs the protocol with stanzas serialized to text, and lets an attacker
//! edit, drop, replay, reorder, reflect or inject that text in flight:
//!
//! ```text
//!   Alice ──to_xml──▶ [attacker: edit / drop / replay / reorder] ──parse──▶ Bob
//!         ◀──parse── [                                       ] ◀─to_xml──
//! ```
//!
//! Each case passes only if the victim reports exactly the expected
//! `Error` variant (`esession_online::Error` /
//! `esession_offline::Error` / `esession_wire::Error`, compared by value,
//! never by message text), and no `Established`, `PlainEstablished`,
//! `Received` or `Terminated` event (online) or no content (offline) came out
//! of the attacked exchange.
//!
//! | group | module | what |
//! |---|---|---|
//! | DH values | [`negotiation`] | d in msg2 and e in msg3 (and in a 3-message msg1) = 0, 1, p−1, p, above p, longer than p; He mismatch |
//! | downgrades | [`negotiation`] | options stripped from msg1; Bob's choices altered in msg2 |
//! | nonces | [`negotiation`] | wrong N_A / N_B echoed in msg2, msg3, msg4 |
//! | replays | [`negotiation`] | a whole negotiation replayed to the same and to fresh endpoints |
//! | XEP-0200 | [`traffic`] | stanzas replayed, reordered, dropped, reflected, truncated, oversized, forged; plaintext injected; counters at the 2^128 wrap |
//! | termination | [`traffic`] | forged plaintext terminate, a terminate from another session, a terminate replayed |
//! | offline | [`offline`] | init or options after expires, init replayed, stanzas replayed and reordered, M_B tampered, options downgraded |
//!
//! [`report`] runs every case into one [`FileReport`] (file
//! `negative (in-code cases)`); `tests/negative.rs` runs each case as its own
//! `#[test]`.

pub mod harness;
pub mod negotiation;
pub mod offline;
pub mod traffic;

use negotiation::BadDh;

use crate::{CaseResult, FileReport, Outcome};

/// One negative case: its name and its body (`Err` says what went wrong).
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// The case's name, also the name of its `#[test]` in `tests/negative.rs`.
    pub name: &'static str,
    /// Runs the case.
    pub run: fn() -> Result<(), String>,
}

macro_rules! cases {
    ($($name:ident => $body:expr;)*) => {
        /// Every case, in a fixed order.
        pub const CASES: &[Case] = &[$(Case { name: stringify!($name), run: || $body }),*];
    };
}

cases! {
    dh_d_zero => negotiation::msg2_d_invalid(BadDh::Zero, 101);
    dh_d_one => negotiation::msg2_d_invalid(BadDh::One, 102);
    dh_d_p_minus_1 => negotiation::msg2_d_invalid(BadDh::PMinus1, 103);
    dh_d_p => negotiation::msg2_d_invalid(BadDh::P, 104);
    dh_d_above_p => negotiation::msg2_d_invalid(BadDh::AboveP, 105);
    dh_d_longer_than_p => negotiation::msg2_d_invalid(BadDh::LongerThanP, 106);
    dh_e_zero => negotiation::msg3_e_invalid(BadDh::Zero, 111);
    dh_e_one => negotiation::msg3_e_invalid(BadDh::One, 112);
    dh_e_p_minus_1 => negotiation::msg3_e_invalid(BadDh::PMinus1, 113);
    dh_e_p => negotiation::msg3_e_invalid(BadDh::P, 114);
    dh_e_above_p => negotiation::msg3_e_invalid(BadDh::AboveP, 115);
    dh_e_longer_than_p => negotiation::msg3_e_invalid(BadDh::LongerThanP, 116);
    dh_e_invalid_in_three_message_msg1 => negotiation::three_message_msg1_e_invalid(117);
    three_message_untampered_establishes => negotiation::three_message_control(118);
    he_mismatch_e_replaced => negotiation::msg3_he_mismatch(121);
    he_mismatch_commitment_altered => negotiation::msg1_he_altered(122);
    downgrade_modp_stripped_from_msg1 => negotiation::downgrade_modp_stripped_from_msg1(131);
    downgrade_cipher_stripped_from_msg1 => negotiation::downgrade_cipher_stripped_from_msg1(132);
    downgrade_bob_cipher_choice_altered => negotiation::downgrade_bob_cipher_choice_altered(133);
    downgrade_bob_rekey_freq_altered => negotiation::downgrade_bob_rekey_freq_altered(134);
    downgrade_security_to_plain => negotiation::downgrade_security_to_plain(135);
    nonce_echo_wrong_in_msg2 => negotiation::nonce_echo_wrong(1, 141);
    nonce_echo_wrong_in_msg3 => negotiation::nonce_echo_wrong(2, 142);
    nonce_echo_wrong_in_msg4 => negotiation::nonce_echo_wrong(3, 143);
    negotiation_replayed_to_same_endpoints => negotiation::negotiation_replayed_to_same_endpoints(151);
    negotiation_replayed_to_fresh_bob => negotiation::negotiation_replayed_to_fresh_endpoint(152, false);
    negotiation_replayed_to_fresh_bob_nonce_rewritten => negotiation::negotiation_replayed_to_fresh_endpoint(153, true);
    msg2_replayed_to_fresh_alice => negotiation::msg2_replayed_to_fresh_alice(154);
    stanza_replayed => traffic::stanza_replayed(161);
    stanzas_reordered => traffic::stanzas_reordered(162);
    stanza_dropped => traffic::stanza_dropped(163);
    stanza_reflected => traffic::stanza_reflected(164);
    stanza_data_truncated => traffic::stanza_data_truncated(165);
    stanza_mac_truncated => traffic::stanza_mac_truncated(166);
    stanza_xml_truncated => traffic::stanza_xml_truncated(167);
    stanza_oversized => traffic::stanza_oversized(168);
    stanza_large_forged_data => traffic::stanza_large_forged_data(169);
    plaintext_injected => traffic::plaintext_injected(170);
    stanza_from_another_jid => traffic::stanza_from_another_jid(171);
    unencrypted_sibling_injected => traffic::unencrypted_sibling_injected(175);
    stanza_kind_changed => traffic::stanza_kind_changed(174);
    counter_wrap_alice_direction => traffic::counter_wrap(172, true);
    counter_wrap_bob_direction => traffic::counter_wrap(173, false);
    forged_plaintext_terminate => traffic::forged_plaintext_terminate(181);
    terminate_from_another_session => traffic::terminate_from_another_session(182);
    terminate_replayed => traffic::terminate_replayed(183);
    forged_error_in_active_session => traffic::forged_error_in_active_session(184);
    offline_init_after_expires => offline::offline_init_after_expires(191);
    offline_options_expired_for_bob => offline::offline_options_expired_for_bob(192);
    offline_init_after_purge => offline::offline_init_after_purge(193);
    offline_init_replayed => offline::offline_init_replayed(194);
    offline_stanza_replayed_and_reordered => offline::offline_stanza_replayed_and_reordered(195);
    offline_init_mac_tampered => offline::offline_init_mac_tampered(196);
    offline_terminate_injected => offline::offline_terminate_injected(198);
    offline_options_downgraded => offline::offline_options_downgraded(197);
}

/// Runs the case called `name`.
pub fn run_case(name: &str) -> Result<(), String> {
    let case = CASES
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| format!("no negative case {name:?}"))?;
    (case.run)()
}

/// Runs every case into one report.
pub fn report() -> FileReport {
    FileReport {
        file: "negative (in-code cases)".to_owned(),
        source: "attacks on in-memory endpoints (conformance/src/suites/negative.rs)".to_owned(),
        cases: CASES
            .iter()
            .map(|c| CaseResult {
                name: c.name.to_owned(),
                outcome: match (c.run)() {
                    Ok(()) => Outcome::Pass,
                    Err(e) => Outcome::Fail(e),
                },
            })
            .collect(),
        error: None,
    }
}
