#![allow(clippy::unwrap_used, clippy::panic)] // test helpers outside #[test] fns
//! Two `esession peer` processes driven through docs/peer-protocol.md "A session as
//! a driver runs it", in the xep and gajim profiles; and malformed requests.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

const ALICE: &str = "alice@example.org/pda";
const BOB: &str = "bob@example.com/laptop";

struct Peer {
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    fn spawn(name: &'static str) -> Peer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_esession"))
            .arg("peer")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Peer {
            name,
            child,
            stdin,
            stdout,
        }
    }

    /// Sends one raw line and reads the one response line.
    fn raw(&mut self, line: &str) -> Value {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
        let mut resp = String::new();
        self.stdout.read_line(&mut resp).unwrap();
        assert!(resp.ends_with('\n'), "{}: no response line", self.name);
        serde_json::from_str(&resp).unwrap()
    }

    fn req(&mut self, v: Value) -> Value {
        let r = self.raw(&v.to_string());
        assert_eq!(r["ok"], true, "{} {v}: {r}", self.name);
        r
    }

    fn state(&mut self) -> Value {
        self.req(json!({"op": "state"}))["state"].clone()
    }

    fn quit(mut self) {
        let r = self.raw(r#"{"op":"quit"}"#);
        assert_eq!(r["ok"], true);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{}: {status}", self.name);
    }
}

fn out(r: &Value) -> Vec<String> {
    r["out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// Routes `first` (stanzas `from` emitted) and everything they cause, until
/// nothing is left. Returns every stanza routed, in order, and every
/// `received` entry of each side (alice's, bob's) when `from` is alice.
fn route(
    from: &mut Peer,
    to: &mut Peer,
    first: Vec<String>,
) -> (Vec<String>, Vec<Value>, Vec<Value>) {
    let mut routed = Vec::new();
    let (mut got_from, mut got_to) = (Vec::new(), Vec::new());
    let mut pending: Vec<(bool, String)> = first.into_iter().map(|s| (true, s)).collect();
    while !pending.is_empty() {
        let mut next = Vec::new();
        for (from_sender, xml) in pending {
            routed.push(xml.clone());
            let (target, got) = if from_sender {
                (&mut *to, &mut got_to)
            } else {
                (&mut *from, &mut got_from)
            };
            let r = target.req(json!({"op": "deliver", "xml": xml}));
            got.extend(r["received"].as_array().unwrap().iter().cloned());
            next.extend(out(&r).into_iter().map(|s| (!from_sender, s)));
        }
        pending = next;
    }
    (routed, got_from, got_to)
}

fn init(peer: &mut Peer, role: &str, profile: &str, extra: Value) -> Value {
    let (own, other) = if role == "alice" {
        (ALICE, BOB)
    } else {
        (BOB, ALICE)
    };
    let mut v = json!({"op": "init", "role": role, "own_jid": own, "peer_jid": other,
                       "seed": format!("peer-test-{profile}"), "profile": profile});
    if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
        m.extend(e);
    }
    let r = peer.req(v);
    assert_eq!(r["state"]["status"], "none");
    r
}

/// Steps 2 and 3: negotiate, both active with the same SAS. Returns the SAS.
fn negotiate(alice: &mut Peer, bob: &mut Peer) -> String {
    let r = alice.req(json!({"op": "start"}));
    let first = out(&r);
    assert_eq!(first.len(), 1);
    assert_eq!(alice.state()["status"], "negotiating");
    let (routed, _, _) = route(alice, bob, first);
    assert_eq!(routed.len(), 4, "a 4-message negotiation");
    let (sa, sb) = (alice.state(), bob.state());
    assert_eq!(sa["status"], "active", "{sa}");
    assert_eq!(sb["status"], "active", "{sb}");
    let sas = sa["sas"].as_str().unwrap().to_owned();
    assert!(!sas.is_empty());
    assert_eq!(sb["sas"], sas.as_str());
    assert_eq!(sa["negotiated"], sb["negotiated"]);
    assert_eq!(sa["negotiated"]["modp"], "14");
    sas
}

/// Step 4: `from` sends `text`, routed; the other side receives it.
fn say(from: &mut Peer, to: &mut Peer, text: &str, chatstate: Option<&str>) -> Vec<String> {
    let r = from.req(json!({"op": "send", "text": text, "chatstate": chatstate}));
    let stanzas = out(&r);
    assert!(!stanzas.is_empty());
    for s in &stanzas {
        assert!(!s.contains(text), "plaintext on the wire: {s}");
    }
    let (_, back, got) = route(from, to, stanzas.clone());
    assert!(back.is_empty(), "{back:?}");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["ok"], true, "{got:?}");
    assert_eq!(got[0]["body"], text);
    if let Some(cs) = chatstate {
        assert!(got[0]["xml"].as_str().unwrap().contains(&format!("<{cs} ")));
    }
    stanzas
}

/// Steps 1-6 (rekey only in the xep profile), optionally with a store
/// directory. Returns both final states.
fn session(profile: &str, mut extra: Value) -> (Value, Value) {
    if profile == "xep" {
        // The default rekey_freq (D5) never allows a re-key.
        extra["options"] = json!({"rekey_freq": 2});
    }
    let mut alice = Peer::spawn("alice");
    let mut bob = Peer::spawn("bob");
    init(&mut alice, "alice", profile, extra.clone());
    init(&mut bob, "bob", profile, extra);
    let sas = negotiate(&mut alice, &mut bob);
    if profile == "gajim" {
        assert!(sas.len() <= 5, "{sas}");
    } else {
        assert_eq!(sas.len(), 5, "{sas}");
    }

    say(&mut alice, &mut bob, "Hello Bob!", Some("active"));
    say(&mut bob, &mut alice, "Grüße, Alice <&>", None);
    if profile == "xep" {
        // Step 5: the next stanza after rekey carries <key/>.
        let r = alice.req(json!({"op": "rekey"}));
        assert!(out(&r).is_empty());
        let stanzas = say(&mut alice, &mut bob, "after the re-key", None);
        // One stanza: the <key/> rides with the content (XEP-0200 §7.2).
        assert_eq!(stanzas.len(), 1, "{stanzas:?}");
        assert!(
            stanzas[0].contains("<key>") || stanzas[0].contains("<key "),
            "{}",
            stanzas[0]
        );
        assert!(stanzas[0].contains("<data>"), "{}", stanzas[0]);
        say(&mut bob, &mut alice, "still reading you", None);
        say(&mut alice, &mut bob, "and again", None);
    } else {
        let r = alice.raw(r#"{"op":"rekey"}"#);
        assert_eq!(r["ok"], false, "gajim never re-keys: {r}");
    }

    // Step 6.
    let r = alice.req(json!({"op": "terminate"}));
    route(&mut alice, &mut bob, out(&r));
    let (sa, sb) = (alice.state(), bob.state());
    assert_eq!(sa["status"], "terminated", "{sa}");
    assert_eq!(sb["status"], "terminated", "{sb}");
    if profile == "xep" {
        assert_eq!(sa["termination_acknowledged"], true);
    } else {
        // G8: Gajim's plaintext terminate is never acknowledged.
        assert_eq!(sa["termination_acknowledged"], false);
    }
    alice.quit();
    bob.quit();
    (sa, sb)
}

/// A unique directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!(
            "esession-peer-test-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn driver_sequence(profile: &str) {
    let (sa, sb) = session(profile, json!({}));
    assert_eq!(sa["retained_secret"], "none");
    assert_eq!(sb["retained_secret"], "none");

    // Step 7: a store directory; the second session uses the retained secret.
    let dir = TempDir::new(profile);
    let store = dir.path().to_str().unwrap();
    let (sa, sb) = session(profile, json!({"store": store}));
    assert_eq!(sa["retained_secret"], "none", "fresh secrets by default");
    assert_eq!(sb["retained_secret"], "none");
    let (sa, sb) = session(profile, json!({"store": store, "fresh_secrets": false}));
    assert_eq!(sa["retained_secret"], "used", "{sa}");
    assert_eq!(sb["retained_secret"], "used", "{sb}");
    assert!(dir.path().join("peer-store.key").exists());
}

#[test]
fn peer_driver_sequence_xep_profile() {
    driver_sequence("xep");
}

#[test]
fn peer_driver_sequence_gajim_profile() {
    driver_sequence("gajim");
}

#[test]
fn peer_answers_malformed_and_unknown_requests() {
    let mut p = Peer::spawn("alice");
    for line in [
        "not json",
        "[]",
        r#"{"no_op":1}"#,
        r#"{"op":"fly"}"#,
        r#"{"op":"start"}"#,
        r#"{"op":"deliver"}"#,
        r#"{"op":"init","role":"carol","own_jid":"a@b/c","peer_jid":"d@e/f"}"#,
        r#"{"op":"init","role":"alice","own_jid":"a@b/c","peer_jid":"d@e/f","options":{"modp":[3]}}"#,
    ] {
        let r = p.raw(line);
        assert_eq!(r["ok"], false, "{line}: {r}");
        assert!(
            r["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{line}: {r}"
        );
    }
    // Still usable afterwards.
    init(&mut p, "alice", "xep", json!({}));
    for line in [
        r#"{"op":"send","text":"too early"}"#,
        r#"{"op":"rekey"}"#,
        r#"{"op":"terminate"}"#,
    ] {
        let r = p.raw(line);
        assert_eq!(r["ok"], false, "{line}: {r}");
    }
    p.req(json!({"op": "start"}));
    // A stanza that is not XML is reported as rejected, the peer goes on.
    let r = p.req(json!({"op": "deliver", "xml": "<message"}));
    assert_eq!(r["received"][0]["ok"], false, "{r}");
    assert_eq!(p.state()["status"], "negotiating");
    p.quit();
}

#[test]
fn peer_public_keys_trust_on_first_use_in_four_and_three_messages() {
    let keys = json!({"options": {"init_pubkey": ["key"], "resp_pubkey": ["key"]}});
    // 4 messages with key identities: SAS and fingerprints.
    let mut alice = Peer::spawn("alice");
    let mut bob = Peer::spawn("bob");
    init(&mut alice, "alice", "xep", keys.clone());
    init(&mut bob, "bob", "xep", keys.clone());
    negotiate(&mut alice, &mut bob);
    let (sa, sb) = (alice.state(), bob.state());
    assert_eq!(sa["negotiated"]["init_pubkey"], "key");
    let (fa, fb) = (
        sa["peer_fingerprint"].clone(),
        sb["peer_fingerprint"].clone(),
    );
    assert_eq!(fa.as_str().unwrap().len(), 64, "{sa}");
    assert_eq!(fb.as_str().unwrap().len(), 64, "{sb}");
    assert_ne!(fa, fb);
    say(&mut alice, &mut bob, "signed and sealed", None);
    alice.quit();
    bob.quit();

    // 3 messages (SIGMA-I): no SAS; the same keys, so the same fingerprints.
    let mut three = keys;
    three["mode"] = json!("3-message");
    let mut alice = Peer::spawn("alice");
    let mut bob = Peer::spawn("bob");
    init(&mut alice, "alice", "xep", three.clone());
    init(&mut bob, "bob", "xep", three);
    let r = alice.req(json!({"op": "start"}));
    let (routed, _, _) = route(&mut alice, &mut bob, out(&r));
    assert_eq!(routed.len(), 3);
    let (sa, sb) = (alice.state(), bob.state());
    assert_eq!(sa["status"], "active", "{sa}");
    assert_eq!(sb["status"], "active", "{sb}");
    assert_eq!(sa["sas"], Value::Null);
    assert_eq!(sb["sas"], Value::Null);
    assert_eq!(sa["peer_fingerprint"], fa);
    assert_eq!(sb["peer_fingerprint"], fb);
    say(&mut bob, &mut alice, "three messages were enough", None);
    alice.quit();
    bob.quit();
}

#[test]
fn peer_pinned_keys_are_used_and_a_wrong_pin_fails() {
    let keys = json!({"options": {"init_pubkey": ["key"], "resp_pubkey": ["key"]}});
    let mut alice = Peer::spawn("alice");
    let mut bob = Peer::spawn("bob");
    init(&mut alice, "alice", "xep", keys.clone());
    init(&mut bob, "bob", "xep", keys.clone());
    let ka = alice.req(json!({"op": "public_key"}))["key_value"].clone();
    let kb = bob.req(json!({"op": "public_key"}))["key_value"].clone();
    assert!(ka.as_str().unwrap().starts_with("<KeyValue"), "{ka}");
    assert_ne!(ka, kb);
    // Asking again answers the same key.
    assert_eq!(alice.req(json!({"op": "public_key"}))["key_value"], ka);
    let bad = alice.raw(r#"{"op":"trust","jid":"bob@example.com","key_value":"<KeyValue/>"}"#);
    assert_eq!(bad["ok"], false, "{bad}");
    alice.req(json!({"op": "trust", "jid": BOB, "key_value": kb}));
    bob.req(json!({"op": "trust", "jid": "alice@example.org", "key_value": ka}));
    negotiate(&mut alice, &mut bob);
    alice.quit();
    bob.quit();

    // Bob pins a key that is not Alice's (his own): the negotiation fails.
    let mut alice = Peer::spawn("alice");
    let mut bob = Peer::spawn("bob");
    init(&mut alice, "alice", "xep", keys.clone());
    let mut pinned = keys;
    pinned["trusted_keys"] = json!({"alice@example.org": [kb]});
    init(&mut bob, "bob", "xep", pinned);
    let r = alice.req(json!({"op": "start"}));
    route(&mut alice, &mut bob, out(&r));
    assert_eq!(bob.state()["status"], "failed");
    assert_ne!(alice.state()["status"], "active");
    alice.quit();
    bob.quit();
}

#[test]
fn peer_offline_session_with_pinned_keys() {
    let mut alice = Peer::spawn("alice");
    let mut bob = Peer::spawn("bob");
    init(&mut alice, "alice", "xep", json!({}));
    init(&mut bob, "bob", "xep", json!({}));
    let ka = alice.req(json!({"op": "public_key"}))["key_value"].clone();
    let kb = bob.req(json!({"op": "public_key"}))["key_value"].clone();

    // Bob does not trust Alice's key yet: her options are refused.
    let r = alice.req(json!({"op": "offline_publish", "lifetime": 3600}));
    let iq = out(&r);
    assert_eq!(iq.len(), 1);
    assert!(iq[0].starts_with("<iq"), "{}", iq[0]);
    assert_eq!(
        r["nonce"].as_str().unwrap().len(),
        24,
        "b64 of 16 bytes: {r}"
    );
    let refused = bob.raw(&json!({"op": "offline_start", "xml": iq[0], "text": "x"}).to_string());
    assert_eq!(refused["ok"], false, "{refused}");

    bob.req(json!({"op": "trust", "jid": "alice@example.org", "key_value": ka}));
    alice.req(json!({"op": "trust", "jid": "bob@example.com", "key_value": kb}));
    let r =
        bob.req(json!({"op": "offline_start", "xml": iq[0], "text": "Hello while you were away"}));
    let init_stanza = out(&r);
    assert_eq!(init_stanza.len(), 1);
    assert!(!init_stanza[0].contains("Hello while"));
    assert_eq!(r["state"]["status"], "active");
    assert_eq!(r["state"]["sas"], Value::Null);

    let r = alice.req(json!({"op": "deliver", "xml": init_stanza[0]}));
    assert_eq!(r["received"][0]["ok"], true, "{r}");
    assert_eq!(r["received"][0]["body"], "Hello while you were away");
    assert_eq!(r["state"]["status"], "active");
    assert_eq!(r["state"]["sas"], Value::Null);
    assert_eq!(r["state"]["peer_fingerprint"].as_str().unwrap().len(), 64);
    // A replay of the init is refused.
    let r = alice.req(json!({"op": "deliver", "xml": init_stanza[0]}));
    assert_eq!(r["received"][0]["ok"], false, "{r}");

    say(&mut bob, &mut alice, "and a second one", None);
    let r = bob.req(json!({"op": "terminate"}));
    route(&mut bob, &mut alice, out(&r));
    assert_eq!(alice.state()["status"], "terminated");
    assert_eq!(bob.state()["status"], "terminated");
    alice.quit();
    bob.quit();
}

#[test]
fn peer_shared_password_must_match() {
    let mut alice = Peer::spawn("alice");
    let mut bob = Peer::spawn("bob");
    init(&mut alice, "alice", "xep", json!({"oss": "correct horse"}));
    init(&mut bob, "bob", "xep", json!({"oss": "correct horse"}));
    negotiate(&mut alice, &mut bob);
    say(&mut alice, &mut bob, "we share a secret", None);
    alice.quit();
    bob.quit();

    let mut alice = Peer::spawn("alice");
    let mut bob = Peer::spawn("bob");
    init(&mut alice, "alice", "xep", json!({"oss": "correct horse"}));
    init(&mut bob, "bob", "xep", json!({"oss": "battery staple"}));
    let r = alice.req(json!({"op": "start"}));
    route(&mut alice, &mut bob, out(&r));
    let (sa, sb) = (alice.state(), bob.state());
    assert!(
        sa["status"] == "failed" || sb["status"] == "failed",
        "{sa} {sb}"
    );
    assert_ne!(sa["status"], "active");
    alice.quit();
    bob.quit();
}
