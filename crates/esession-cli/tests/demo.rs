#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns
//! The demo runs a whole session in every variant, repeats byte for byte with
//! the same seed, and its transcript re-derives in the conformance runner
//! and in the independent Python re-deriver.

use std::path::PathBuf;
use std::process::Command;

use esession_cli::demo::{DemoOptions, DemoProfile, DemoReport, Mode, StanzaCounts, run};
use esession_online::TerminationReason;

fn output(opts: &DemoOptions) -> (String, DemoReport) {
    let mut out = Vec::new();
    let report = run(opts, &mut out).unwrap();
    (String::from_utf8(out).unwrap(), report)
}

fn seed(seed: u64, pretty: bool) -> DemoOptions {
    DemoOptions {
        seed,
        pretty,
        ..DemoOptions::default()
    }
}

fn three(seed: u64) -> DemoOptions {
    DemoOptions {
        seed,
        mode: Mode::ThreeMessage,
        ..DemoOptions::default()
    }
}

fn offline(seed: u64) -> DemoOptions {
    DemoOptions {
        seed,
        offline: true,
        ..DemoOptions::default()
    }
}

fn gajim(seed: u64) -> DemoOptions {
    DemoOptions {
        seed,
        profile: DemoProfile::Gajim,
        ..DemoOptions::default()
    }
}

fn with_transcript(mut o: DemoOptions) -> DemoOptions {
    o.transcript = true;
    o
}

#[test]
fn demo_negotiates_exchanges_and_terminates() {
    let (text, report) = output(&seed(7, false));
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
    for make in [
        |s| seed(s, false),
        three as fn(u64) -> DemoOptions,
        offline,
        gajim,
    ] {
        let (a, _) = output(&make(42));
        let (b, _) = output(&make(42));
        let (c, _) = output(&make(43));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}

#[test]
fn pretty_output_indents_the_same_stanzas() {
    let (compact, r1) = output(&seed(5, false));
    let (pretty, r2) = output(&seed(5, true));
    assert_eq!(r1, r2);
    assert!(pretty.lines().count() > compact.lines().count());
    assert!(pretty.contains("\n  <thread>"));
}

#[test]
fn three_message_uses_keys_and_no_sas() {
    let (text, report) = output(&three(3));
    assert_eq!(
        report.stanzas,
        StanzaCounts {
            negotiation: 3,
            messages: 4,
            rekey: 1,
            termination: 2
        }
    );
    assert_eq!(report.sas, (String::new(), String::new()));
    assert_eq!(report.received.1.len(), 2);
    // Each side verified the other's RSA key (D46) and reports its fingerprint.
    let (a, b) = report.peer_fingerprints;
    assert_eq!(a.as_ref().map(String::len), Some(64));
    assert_eq!(b.as_ref().map(String::len), Some(64));
    assert_ne!(a, b);
    assert!(text.contains("dhkeys"), "{text}");
    assert!(text.contains("<RSAKeyValue>") || text.contains("message 2"));
}

#[test]
fn offline_alice_decrypts_what_bob_left() {
    let (text, report) = output(&offline(9));
    assert_eq!(report.received.0.len(), 3);
    assert_eq!(report.received.0[2], "And a third: Grüße!");
    assert!(report.received.1.is_empty());
    assert_eq!(report.stanzas.negotiation, 2);
    assert_eq!(report.stanzas.messages, 2);
    assert!(text.contains("<init"), "{text}");
    for line in text.lines().filter(|l| l.starts_with('<')) {
        assert!(!line.contains("<body>"), "{line}");
    }
}

#[test]
fn gajim_profile_has_no_rekey_and_a_plaintext_termination() {
    let (text, report) = output(&gajim(4));
    assert_eq!(
        report.stanzas,
        StanzaCounts {
            negotiation: 4,
            messages: 4,
            rekey: 0,
            termination: 1
        }
    );
    assert_eq!(
        report.ended,
        (
            Some(TerminationReason::Unacknowledged),
            Some(TerminationReason::ByPeer)
        )
    );
    // The gajim SAS is shown unpadded; both sides agree.
    assert_eq!(report.sas.0, report.sas.1);
    // G16: Gajim's layout, `<required/>` fields in msg1.
    assert!(text.contains("<required"), "{text}");
    let term = text
        .lines()
        .skip_while(|l| !l.contains("terminate form in the clear"))
        .nth(1)
        .unwrap();
    assert!(term.contains("terminate"), "{term}");
    assert!(!term.contains("<c "), "{term}");
}

#[test]
fn snapshots_per_variant() {
    insta::assert_snapshot!("demo_4message_seed1", output(&seed(1, false)).0);
    insta::assert_snapshot!("demo_4message_pretty_seed1", output(&seed(1, true)).0);
    insta::assert_snapshot!("demo_3message_seed1", output(&three(1)).0);
    insta::assert_snapshot!("demo_offline_seed1", output(&offline(1)).0);
    insta::assert_snapshot!("demo_gajim_seed1", output(&gajim(1)).0);
}

/// Runs the conformance runner on a transcript; every check must pass.
fn conformance(path: &str, doc: &serde_json::Value) -> usize {
    let text = esession_cli::demo::transcript::render(doc);
    let report = esession_conformance::run_file(path, &text);
    assert_eq!(
        report.failed(),
        0,
        "{}",
        esession_conformance::render_with(&report, false)
    );
    assert!(report.passed() > 20, "{}", report.passed());
    report.passed()
}

#[test]
fn transcripts_replay_in_the_conformance_runner() {
    for (name, opts) in [
        ("online/demo-4message.json", seed(11, false)),
        ("online/demo-3message.json", three(11)),
    ] {
        let (_, report) = output(&with_transcript(opts));
        let doc = report.transcript.unwrap();
        assert_eq!(doc["schema"], "esession-transcript/1");
        conformance(name, &doc);
    }
    let (_, report) = output(&with_transcript(offline(11)));
    let doc = report.transcript.unwrap();
    assert_eq!(doc["mode"], "offline");
    conformance("offline/demo-offline.json", &doc);
}

#[test]
fn gajim_transcript_rederives_in_the_key_schedule_runner() {
    // The online replayer runs the xep profile only; the sigma runner
    // re-derives the gajim key schedule (AES-256 from the 32-byte key,
    // pre-incremented counters, the unpadded SAS) and every stanza.
    let (_, report) = output(&with_transcript(gajim(12)));
    let doc = report.transcript.unwrap();
    assert_eq!(doc["profile"], "gajim");
    let cases = esession_conformance::suites::sigma::run("sigma/demo-gajim.json", &doc).unwrap();
    let failed: Vec<_> = cases
        .iter()
        .filter(|c| c.outcome != esession_conformance::Outcome::Pass)
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(cases.len() > 20);
}

#[test]
fn transcript_is_the_same_for_the_same_seed() {
    let a = output(&with_transcript(seed(13, false))).1.transcript;
    let b = output(&with_transcript(seed(13, false))).1.transcript;
    assert_eq!(a, b);
    // Asking for the transcript does not change the run.
    assert_eq!(
        output(&seed(13, false)).0,
        output(&with_transcript(seed(13, false))).0
    );
}

/// The repository root (two levels above this crate).
fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn transcripts_rederive_in_python() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIPPED: python3 is not installed");
        return;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("demo-transcripts");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (file, opts) in [
        ("demo-4message.json", seed(21, false)),
        ("demo-3message.json", three(21)),
    ] {
        let doc = output(&with_transcript(opts)).1.transcript.unwrap();
        std::fs::write(dir.join(file), esession_cli::demo::transcript::render(&doc)).unwrap();
    }
    rederive_in_python("rederive_online.py", &dir, 2);

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("demo-offline-transcripts");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let doc = output(&with_transcript(offline(21))).1.transcript.unwrap();
    std::fs::write(
        dir.join("demo-offline.json"),
        esession_cli::demo::transcript::render(&doc),
    )
    .unwrap();
    rederive_in_python("rederive_offline.py", &dir, 1);
}

/// Runs `vectors/tools/<script> --dir <dir>` and requires all `files` to re-derive.
fn rederive_in_python(script: &str, dir: &std::path::Path, files: usize) {
    let o = Command::new("python3")
        .arg(repo().join("vectors/tools").join(script))
        .arg("--dir")
        .arg(dir)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{script}: {text}");
    assert!(
        text.contains(&format!("{files} of {files} files re-derived")),
        "{script}: {text}"
    );
}

fn esession(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_esession"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn combinations_that_make_no_sense_are_usage_errors() {
    for args in [
        &["demo", "--offline", "--mode", "3-message"][..],
        &["demo", "--offline", "--profile", "gajim"],
        &["demo", "--profile", "gajim", "--mode", "3-message"],
        &["demo", "--profile", "gajim", "--alice-key", "/nonexistent"],
        &["demo", "--mode", "5-message"],
    ] {
        let o = esession(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    let o = esession(&["demo", "--offline", "--mode", "3-message"]);
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("esession demo: --offline and --mode 3-message"));
}

#[test]
fn transcript_flag_writes_the_file() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("demo-cli-transcript.json");
    let _ = std::fs::remove_file(&path);
    let o = esession(&[
        "demo",
        "--seed",
        "5",
        "--transcript",
        path.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["mode"], "4-message");
    conformance("online/demo-cli.json", &doc);
    // The written file is the in-process run's document, byte for byte.
    let (_, report) = output(&with_transcript(seed(5, false)));
    assert_eq!(
        text,
        esession_cli::demo::transcript::render(&report.transcript.unwrap())
    );
}

#[test]
fn a_keygen_key_is_alices_identity_in_a_3message_demo() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("demo-keys");
    std::fs::create_dir_all(&dir).unwrap();
    for alg in ["rsa", "ecdsa", "dsa"] {
        let key = dir.join(format!("alice-{alg}.pem"));
        let k = key.to_str().unwrap();
        assert!(
            esession(&["keygen", "--alg", alg, "--out", k, "--force"])
                .status
                .success()
        );
        let fp = String::from_utf8(esession(&["fingerprint", k]).stdout).unwrap();
        let o = esession(&[
            "demo",
            "--seed",
            "2",
            "--mode",
            "3-message",
            "--alice-key",
            k,
        ]);
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(
            o.status.success(),
            "{alg}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        // Bob's endpoint reports Alice's key with the fingerprint that
        // `esession fingerprint` prints for the file: the trust store's view.
        assert!(
            text.contains(&format!(
                "[bob] alice@example.org's key verified, fingerprint {}",
                fp.trim()
            )),
            "{alg}: {text}"
        );
        // In process too: the report carries the same fingerprint.
        let opts = DemoOptions {
            seed: 2,
            mode: Mode::ThreeMessage,
            alice_key: Some(esession_cli::keys::load_signing_key(&key).unwrap()),
            ..DemoOptions::default()
        };
        assert_eq!(output(&opts).1.peer_fingerprints.1.unwrap(), fp.trim());
    }
    // A transcript with a non-RSA user key is refused as usage (RSA records only).
    let ecdsa = dir.join("alice-ecdsa.pem");
    let t = dir.join("t.json");
    let o = esession(&[
        "demo",
        "--mode",
        "3-message",
        "--alice-key",
        ecdsa.to_str().unwrap(),
        "--transcript",
        t.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    // A missing key file: one line, exit 1.
    let o = esession(&["demo", "--alice-key", "/nonexistent/key.pem"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(String::from_utf8(o.stderr).unwrap().lines().count(), 1);
}
