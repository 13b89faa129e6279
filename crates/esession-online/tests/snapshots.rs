//! Insta snapshots of whole transcripts (issue 5): for each scenario of
//! `tests/common_transcript`, every stanza as it crossed the in-memory router
//! (wire XML, stamped with the sender's JID) and every event the endpoints
//! reported, in order. The randomness is seeded and pinned, so the transcripts
//! are deterministic; the same runs are published as `vectors/online/`.
//!
//! Snapshots are committed (`tests/snapshots/`); a changed byte fails the
//! test. After an intended change: `INSTA_UPDATE=always cargo test -p
//! esession-online --test snapshots`, review the diff, commit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common_transcript;

use common_transcript::{SCENARIOS, run, snapshot};

fn check(name: &str) {
    let sc = SCENARIOS
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {name}"));
    let r = run(sc);
    insta::assert_snapshot!(name, snapshot(sc, &r));
}

#[test]
fn transcript_4message_no_keys() {
    check("4message-no-keys");
}

#[test]
fn transcript_second_session_retained_secret() {
    check("4message-retained-secret");
}

#[test]
fn transcript_shared_password() {
    check("4message-shared-password");
}

#[test]
fn transcript_termination() {
    check("4message-termination");
}

#[test]
fn transcript_rejection_no_acceptable_modp() {
    check("rejection-no-acceptable-modp");
}

#[test]
fn transcript_rekey_by_alice() {
    check("rekey-by-alice");
}

#[test]
fn transcript_rekey_by_bob() {
    check("rekey-by-bob");
}

#[test]
fn transcript_rsa_keys() {
    check("4message-rsa-keys");
}

#[test]
fn transcript_rsa_hash_mode() {
    check("4message-rsa-hash");
}

#[test]
fn transcript_3message() {
    check("3message-rsa-keys");
}

#[test]
fn transcript_c2s_fallback() {
    check("c2s-fallback");
}

#[test]
fn transcript_object_encryption() {
    check("object-encryption");
}

/// Every scenario has a snapshot test above.
#[test]
fn every_scenario_is_snapshotted() {
    let tested = [
        "4message-no-keys",
        "4message-retained-secret",
        "4message-shared-password",
        "4message-termination",
        "rejection-no-acceptable-modp",
        "rekey-by-alice",
        "rekey-by-bob",
        "4message-rsa-keys",
        "4message-rsa-hash",
        "3message-rsa-keys",
        "c2s-fallback",
        "object-encryption",
    ];
    for sc in SCENARIOS {
        assert!(
            tested.contains(&sc.name),
            "{} has no snapshot test",
            sc.name
        );
    }
}
