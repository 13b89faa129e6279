#![allow(clippy::unwrap_used)] // test helper outside #[test] fns
//! The demo runs a whole session and repeats byte for byte with the same seed.

use esession_cli::demo::{DemoOptions, StanzaCounts, run};
use esession_online::TerminationReason;

fn output(seed: u64, pretty: bool) -> (String, esession_cli::demo::DemoReport) {
    let mut out = Vec::new();
    let report = run(&DemoOptions { seed, pretty }, &mut out).unwrap();
    (String::from_utf8(out).unwrap(), report)
}

#[test]
fn demo_negotiates_exchanges_and_terminates() {
    let (text, report) = output(7, false);
    assert_eq!(report.sas.0, report.sas.1);
    assert_eq!(report.sas.0.len(), 5);
    assert_eq!(
        report.stanzas,
        StanzaCounts {
            negotiation: 4,
            messages: 4,
            rekey: 1,
            termination: 2
        }
    );
    assert_eq!(report.received.0.len(), 2);
    assert_eq!(
        report.received.1[1],
        "Grüße aus Zürich: non-ASCII text survives too."
    );
    assert_eq!(
        report.ended,
        (
            Some(TerminationReason::Acknowledged),
            Some(TerminationReason::ByPeer)
        )
    );
    assert!(text.contains("negotiated: modp 14, aes128-ctr, sha256"));
    // The re-key stanza carries <key/> in the clear inside <c/> (XEP-0200 §7).
    let rekey_line = text
        .lines()
        .skip_while(|l| !l.contains("carrying <key/>"))
        .nth(1)
        .unwrap();
    assert!(rekey_line.contains("<key>"), "{rekey_line}");
    // The plaintext never appears on the wire: only in the "decrypted:" lines.
    for line in text.lines().filter(|l| l.starts_with('<')) {
        assert!(!line.contains("Hello Bob"), "{line}");
        assert!(!line.contains("<body>"), "{line}");
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, _) = output(42, false);
    let (b, _) = output(42, false);
    let (c, _) = output(43, false);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn pretty_output_indents_the_same_stanzas() {
    let (compact, r1) = output(5, false);
    let (pretty, r2) = output(5, true);
    assert_eq!(r1, r2);
    assert!(pretty.lines().count() > compact.lines().count());
    assert!(pretty.contains("\n  <thread>"));
}
