//! `esession chat` against a real XMPP server: a Prosody instance the test
//! starts in a temporary directory and stops by its PID (a Drop guard, so a
//! failing test stops it too).
//!
//! ```text
//!  esession chat (alice) ─┐                         ┌─ esession chat (bob)
//!                         └─▶ recording TCP relay ──┴─▶ prosody -F (127.0.0.1:PORT)
//!                             (every byte both ways)      data_path, debug log in the temp dir
//! ```
//!
//! - `online_session_through_prosody`: two processes negotiate, show the
//!   same SAS, exchange 20 messages each way with a re-key and terminate;
//!   what the server carried (recorded by the relay, and the server's debug
//!   log) holds `<c/>` ciphertext and never a body or a message text.
//! - `offline_session_through_prosody`: Alice publishes her XEP-0187 options
//!   and leaves; Bob sends 3 messages through them; Alice comes back, gets
//!   them from the server's offline storage and decrypts all 3; the storage
//!   never held a message text.
//!
//! Skip policy: without `prosody` on PATH each test prints one line and
//! returns, unless ESESSION_REQUIRE_PROSODY is set (CI), where that fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ESESSION: &str = env!("CARGO_BIN_EXE_esession");

/// Whether prosody is installed; prints the skip line when it is not.
fn prosody_available() -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join("prosody").is_file()));
    if !found {
        assert!(
            std::env::var_os("ESESSION_REQUIRE_PROSODY").is_none(),
            "ESESSION_REQUIRE_PROSODY is set but prosody is not on PATH"
        );
        println!("prosody not installed: skipped (apt-get install prosody)");
    }
    found
}

/// A running Prosody; stopped (by PID) and its directory removed on drop.
struct Prosody {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Drop for Prosody {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("prosody files kept in {}", self.dir.display());
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Prosody {
    fn start(name: &str, users: &[&str]) -> Prosody {
        let dir = std::env::temp_dir().join(format!(
            "esession-prosody-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let port = free_port();
        let d = dir.display();
        let config = format!(
            r#"-- written by crates/esession-cli/tests/prosody.rs
pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
daemonize = false
run_as_root = true
modules_disabled = {{ "s2s"; "posix" }}
modules_enabled = {{ "roster"; "saslauth"; "disco"; "presence"; "message"; "iq"; "offline"; "pep"; "private" }}
c2s_require_encryption = false
authentication = "internal_plain"
storage = "internal"
log = {{ debug = "{d}/prosody.log" }}
VirtualHost "localhost"
"#
        );
        let cfg = dir.join("prosody.cfg.lua");
        std::fs::write(&cfg, config).unwrap();
        for user in users {
            let out = Command::new("prosodyctl")
                .arg("--config")
                .arg(&cfg)
                .args(["register", user, "localhost", "pw"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "prosodyctl register {user}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let child = Command::new("prosody")
            .arg("--config")
            .arg(&cfg)
            .arg("-F")
            .stdout(std::fs::File::create(dir.join("stdout.txt")).unwrap())
            .stderr(std::fs::File::create(dir.join("stderr.txt")).unwrap())
            .spawn()
            .unwrap();
        let p = Prosody { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "prosody did not listen on {port}: {}",
                std::fs::read_to_string(p.dir.join("prosody.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        p
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prosody.log")).unwrap_or_default()
    }

    /// Every file under the server's data_path, concatenated.
    fn storage(&self) -> String {
        fn walk(p: &Path, out: &mut String) {
            if p.is_dir() {
                for e in std::fs::read_dir(p).unwrap() {
                    walk(&e.unwrap().path(), out);
                }
            } else if let Ok(b) = std::fs::read(p) {
                out.push_str(&String::from_utf8_lossy(&b));
            }
        }
        let mut s = String::new();
        walk(&self.dir.join("data"), &mut s);
        s
    }
}

/// A TCP relay in front of the server that records every byte, both ways:
/// exactly what the server carried.
struct Relay {
    port: u16,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl Relay {
    fn start(server_port: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let rec = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)) else {
                    return;
                };
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let rec = rec.clone();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 8192];
                        loop {
                            match from.read(&mut buf) {
                                Ok(0) | Err(_) => {
                                    let _ = to.shutdown(std::net::Shutdown::Write);
                                    return;
                                }
                                Ok(n) => {
                                    rec.lock().unwrap().extend_from_slice(&buf[..n]);
                                    if to.write_all(&buf[..n]).is_err() {
                                        return;
                                    }
                                }
                            }
                        }
                    });
                }
            }
        });
        Relay { port, seen }
    }

    fn seen(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }
}

/// Starts `esession chat` for `user` with `script`; more arguments in `extra`.
fn chat(dir: &Path, port: u16, user: &str, to: &str, script: &str, extra: &[&str]) -> Child {
    let script_path = dir.join(format!("{user}-{}.script", free_port()));
    std::fs::write(&script_path, script).unwrap();
    Command::new(ESESSION)
        .arg("chat")
        .args(["--jid", &format!("{user}@localhost/chat")])
        .args(["--password", "pw"])
        .args(["--to", &format!("{to}@localhost")])
        .args(["--server", &format!("127.0.0.1:{port}")])
        .arg("--insecure-tcp")
        .arg("--script")
        .arg(&script_path)
        .args(["--timeout", "60"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for a chat process (at most 120 s) and returns its output.
fn finish(mut child: Child, who: &str) -> Output {
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    eprintln!(
        "--- {who} (exit {:?})\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn lines_with<'a>(out: &'a str, prefix: &str) -> Vec<&'a str> {
    out.lines().filter_map(|l| l.strip_prefix(prefix)).collect()
}

fn sas_of(out: &str) -> String {
    let sas = lines_with(out, "SAS: ");
    assert_eq!(sas.len(), 1, "one SAS line expected in:\n{out}");
    sas[0].split_whitespace().next().unwrap().to_owned()
}

#[test]
fn online_session_through_prosody() {
    if !prosody_available() {
        return;
    }
    let started = Instant::now();
    let server = Prosody::start("online", &["alice", "bob"]);
    let relay = Relay::start(server.port);
    let texts = |who: &str, range: std::ops::RangeInclusive<u32>| -> Vec<String> {
        range
            .map(|i| format!("{who} says secret number {i}"))
            .collect()
    };
    // Alice re-keys halfway; her full JID sorts first, so she initiates.
    let alice_script = format!(
        "{}\n/wait 10\n/rekey\n{}\n/wait 20\n/quit\n",
        texts("alice", 1..=10).join("\n"),
        texts("alice", 11..=20).join("\n")
    );
    let bob_script = format!(
        "{}\n/wait 10\n{}\n/wait 20\n/wait-end\n/quit\n",
        texts("bob", 1..=10).join("\n"),
        texts("bob", 11..=20).join("\n")
    );
    let alice = chat(&server.dir, relay.port, "alice", "bob", &alice_script, &[]);
    let bob = chat(&server.dir, relay.port, "bob", "alice", &bob_script, &[]);
    let alice = finish(alice, "alice");
    let bob = finish(bob, "bob");
    let (a, b) = (
        String::from_utf8_lossy(&alice.stdout).into_owned(),
        String::from_utf8_lossy(&bob.stdout).into_owned(),
    );
    // Kept with the server's files for a failed run.
    let _ = std::fs::write(server.dir.join("wire.txt"), relay.seen());
    assert!(alice.status.success() && bob.status.success());

    // Both sides negotiated online and show the same SAS.
    assert!(a.contains("established (online)") && b.contains("established (online)"));
    let sas = sas_of(&a);
    assert_eq!(sas.chars().count(), 5);
    assert_eq!(sas, sas_of(&b));

    // Every message arrived, in order; Alice re-keyed; the session ended
    // with an acknowledged termination.
    assert_eq!(lines_with(&b, "received: "), texts("alice", 1..=20));
    assert_eq!(lines_with(&a, "received: "), texts("bob", 1..=20));
    assert!(a.contains("\nre-keyed\n"));
    assert!(a.contains("terminated (acknowledged)"), "{a}");
    assert!(b.contains("terminated (by contact)"), "{b}");

    // What the server carried: ciphertext in <c/>, never a body or a text.
    let wire = relay.seen();
    let c_count = wire
        .matches("xmlns='http://www.xmpp.org/extensions/xep-0200.html#ns'")
        .count()
        + wire
            .matches("xmlns=\"http://www.xmpp.org/extensions/xep-0200.html#ns\"")
            .count();
    // 40 messages (the re-key's <key/> rides in one of them, XEP-0200 §7.2),
    // the termination and its acknowledgement, each once from the sender and
    // once to the receiver.
    assert!(
        c_count >= 2 * 42,
        "only {c_count} <c/> elements on the wire"
    );
    assert!(wire.contains("<key>"), "no re-key <key/> on the wire");
    assert!(!wire.contains("<body"), "a <body/> crossed the server");
    for t in texts("alice", 1..=20).iter().chain(&texts("bob", 1..=20)) {
        assert!(
            !wire.contains(t.as_str()),
            "{t:?} crossed the server in clear"
        );
    }
    let log = server.log();
    assert!(!log.is_empty());
    assert!(
        !log.contains("secret number"),
        "a message text is in the server log"
    );
    eprintln!("online Prosody test took {:?}", started.elapsed());
}

#[test]
fn offline_session_through_prosody() {
    if !prosody_available() {
        return;
    }
    let started = Instant::now();
    let server = Prosody::start("offline", &["alice", "bob"]);
    let dir = server.dir.clone();
    for who in ["alice", "bob"] {
        let out = Command::new(ESESSION)
            .args(["keygen", "--alg", "rsa", "--out"])
            .arg(dir.join(format!("{who}.pem")))
            .output()
            .unwrap();
        assert!(out.status.success(), "keygen: {out:?}");
    }
    let key = |who: &str| dir.join(format!("{who}.pem")).display().to_string();
    let store = dir.join("alice-store.sqlite").display().to_string();
    let (alice_key, bob_key) = (key("alice"), key("bob"));
    let trust_bob = format!("bob@localhost={bob_key}");
    let trust_alice = format!("alice@localhost={alice_key}");

    // Alice publishes her options and leaves.
    let alice1 = finish(
        chat(
            &dir,
            server.port,
            "alice",
            "bob",
            "/quit\n",
            &["--store", &store, "--key", &alice_key, "--publish-offline"],
        ),
        "alice (publishing)",
    );
    assert!(alice1.status.success());
    assert!(String::from_utf8_lossy(&alice1.stdout).contains("offline options published"));

    // Bob finds her offline and sends 3 messages through her options.
    let texts: Vec<String> = (1..=3).map(|i| format!("offline secret {i}")).collect();
    let bob = finish(
        chat(
            &dir,
            server.port,
            "bob",
            "alice",
            &format!("{}\n/quit\n", texts.join("\n")),
            &[
                "--key",
                &bob_key,
                "--trust",
                &trust_alice,
                "--presence-wait",
                "2",
            ],
        ),
        "bob",
    );
    assert!(bob.status.success());
    let b = String::from_utf8_lossy(&bob.stdout).into_owned();
    assert!(b.contains("established (offline)"));
    assert_eq!(lines_with(&b, "sent: "), texts);

    // The server's offline storage holds them, encrypted.
    let storage = server.storage();
    assert!(
        storage.contains("xep-0200.html#ns"),
        "nothing stored offline"
    );
    for t in &texts {
        assert!(!storage.contains(t.as_str()), "{t:?} stored in clear");
    }

    // Alice comes back and decrypts all 3 from offline storage.
    let alice2 = finish(
        chat(
            &dir,
            server.port,
            "alice",
            "bob",
            "/wait 3\n/wait-end\n/quit\n",
            &[
                "--store", &store, "--key", &alice_key, "--trust", &trust_bob,
            ],
        ),
        "alice (back)",
    );
    assert!(alice2.status.success());
    let a = String::from_utf8_lossy(&alice2.stdout).into_owned();
    assert!(a.contains("established (offline)"));
    assert_eq!(lines_with(&a, "received: "), texts);
    assert!(a.contains("terminated (by contact, offline session)"));
    eprintln!("offline Prosody test took {:?}", started.elapsed());
}
