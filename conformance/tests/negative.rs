//! The negative suite (`src/suites/negative.rs`), one `#[test]` per case so
//! that each attack has a test name of its own (docs/security.md cites them
//! as `conformance/tests/negative.rs::NAME`), plus checks that this file and
//! the suite's case list agree and that the suite's report is complete.

use esession_conformance::suites::negative;

fn run(name: &str) {
    let result = negative::run_case(name);
    let why = result.as_ref().err().cloned().unwrap_or_default();
    assert!(result.is_ok(), "{name}: {why}");
}

#[test]
fn dh_d_zero() {
    run("dh_d_zero");
}

#[test]
fn dh_d_one() {
    run("dh_d_one");
}

#[test]
fn dh_d_p_minus_1() {
    run("dh_d_p_minus_1");
}

#[test]
fn dh_d_p() {
    run("dh_d_p");
}

#[test]
fn dh_d_above_p() {
    run("dh_d_above_p");
}

#[test]
fn dh_d_longer_than_p() {
    run("dh_d_longer_than_p");
}

#[test]
fn dh_e_zero() {
    run("dh_e_zero");
}

#[test]
fn dh_e_one() {
    run("dh_e_one");
}

#[test]
fn dh_e_p_minus_1() {
    run("dh_e_p_minus_1");
}

#[test]
fn dh_e_p() {
    run("dh_e_p");
}

#[test]
fn dh_e_above_p() {
    run("dh_e_above_p");
}

#[test]
fn dh_e_longer_than_p() {
    run("dh_e_longer_than_p");
}

#[test]
fn dh_e_invalid_in_three_message_msg1() {
    run("dh_e_invalid_in_three_message_msg1");
}

#[test]
fn three_message_untampered_establishes() {
    run("three_message_untampered_establishes");
}

#[test]
fn he_mismatch_e_replaced() {
    run("he_mismatch_e_replaced");
}

#[test]
fn he_mismatch_commitment_altered() {
    run("he_mismatch_commitment_altered");
}

#[test]
fn downgrade_modp_stripped_from_msg1() {
    run("downgrade_modp_stripped_from_msg1");
}

#[test]
fn downgrade_cipher_stripped_from_msg1() {
    run("downgrade_cipher_stripped_from_msg1");
}

#[test]
fn downgrade_bob_cipher_choice_altered() {
    run("downgrade_bob_cipher_choice_altered");
}

#[test]
fn downgrade_bob_rekey_freq_altered() {
    run("downgrade_bob_rekey_freq_altered");
}

#[test]
fn downgrade_security_to_plain() {
    run("downgrade_security_to_plain");
}

#[test]
fn nonce_echo_wrong_in_msg2() {
    run("nonce_echo_wrong_in_msg2");
}

#[test]
fn nonce_echo_wrong_in_msg3() {
    run("nonce_echo_wrong_in_msg3");
}

#[test]
fn nonce_echo_wrong_in_msg4() {
    run("nonce_echo_wrong_in_msg4");
}

#[test]
fn negotiation_replayed_to_same_endpoints() {
    run("negotiation_replayed_to_same_endpoints");
}

#[test]
fn negotiation_replayed_to_fresh_bob() {
    run("negotiation_replayed_to_fresh_bob");
}

#[test]
fn negotiation_replayed_to_fresh_bob_nonce_rewritten() {
    run("negotiation_replayed_to_fresh_bob_nonce_rewritten");
}

#[test]
fn msg2_replayed_to_fresh_alice() {
    run("msg2_replayed_to_fresh_alice");
}

#[test]
fn stanza_replayed() {
    run("stanza_replayed");
}

#[test]
fn stanzas_reordered() {
    run("stanzas_reordered");
}

#[test]
fn stanza_dropped() {
    run("stanza_dropped");
}

#[test]
fn stanza_reflected() {
    run("stanza_reflected");
}

#[test]
fn stanza_data_truncated() {
    run("stanza_data_truncated");
}

#[test]
fn stanza_mac_truncated() {
    run("stanza_mac_truncated");
}

#[test]
fn stanza_xml_truncated() {
    run("stanza_xml_truncated");
}

#[test]
fn stanza_oversized() {
    run("stanza_oversized");
}

#[test]
fn stanza_large_forged_data() {
    run("stanza_large_forged_data");
}

#[test]
fn plaintext_injected() {
    run("plaintext_injected");
}

#[test]
fn stanza_from_another_jid() {
    run("stanza_from_another_jid");
}

#[test]
fn unencrypted_sibling_injected() {
    run("unencrypted_sibling_injected");
}

#[test]
fn stanza_kind_changed() {
    run("stanza_kind_changed");
}

#[test]
fn counter_wrap_alice_direction() {
    run("counter_wrap_alice_direction");
}

#[test]
fn counter_wrap_bob_direction() {
    run("counter_wrap_bob_direction");
}

#[test]
fn forged_plaintext_terminate() {
    run("forged_plaintext_terminate");
}

#[test]
fn terminate_from_another_session() {
    run("terminate_from_another_session");
}

#[test]
fn terminate_replayed() {
    run("terminate_replayed");
}

#[test]
fn forged_error_in_active_session() {
    run("forged_error_in_active_session");
}

#[test]
fn offline_init_after_expires() {
    run("offline_init_after_expires");
}

#[test]
fn offline_options_expired_for_bob() {
    run("offline_options_expired_for_bob");
}

#[test]
fn offline_init_after_purge() {
    run("offline_init_after_purge");
}

#[test]
fn offline_init_replayed() {
    run("offline_init_replayed");
}

#[test]
fn offline_stanza_replayed_and_reordered() {
    run("offline_stanza_replayed_and_reordered");
}

#[test]
fn offline_init_mac_tampered() {
    run("offline_init_mac_tampered");
}

#[test]
fn offline_terminate_injected() {
    run("offline_terminate_injected");
}

#[test]
fn offline_options_downgraded() {
    run("offline_options_downgraded");
}

/// Every case of the suite has its test here, in the same order.
#[test]
fn every_case_has_a_test() {
    let source = include_str!("negative.rs");
    let tests: Vec<&str> = source
        .lines()
        .filter_map(|l| l.strip_prefix("    run(\""))
        .filter_map(|l| l.strip_suffix("\");"))
        .collect();
    let cases: Vec<&str> = negative::CASES.iter().map(|c| c.name).collect();
    assert_eq!(tests, cases);
}

/// The suite's report (what the conformance binary prints) has one result
/// per case, and each case's result is the one its test sees.
#[test]
fn report_has_one_result_per_case() {
    let r = negative::report();
    let names: Vec<&str> = r.cases.iter().map(|c| c.name.as_str()).collect();
    let cases: Vec<&str> = negative::CASES.iter().map(|c| c.name).collect();
    assert_eq!(names, cases);
    assert!(r.error.is_none());
}
