//! The crash test of issue 6: a child process writing retained secrets to the
//! SQLite store is killed with SIGKILL at random moments, 200 times; after
//! each kill the store must open cleanly, pass SQLite's integrity check, and
//! hold every secret at its old or its new value, never a torn or lost one.
//!
//! The child is this test binary itself, re-run with
//! [`WRITER_ENV`] naming the store file: `writer_child` then writes forever
//! (until killed), printing `c <peer> <generation>` after each committed
//! store and `v <peer> <generation>` after each committed verification.
//!
//! Contacts 0-3 hold one secret each, replaced generation by generation
//! (D34's "the matched SRS is replaced by the new secret": delete + insert in
//! one transaction). Contact 4 only adds, so the 8-per-contact cap deletes
//! the oldest in the same transaction: it must always hold a gap-free window
//! of its last generations. Contact 0's even generations are also marked
//! verified afterwards (a re-sealing update). A sixth slot records the d and
//! N_B of offline inits under one published N_A (D50): both or neither.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{ALICE, TempDir, key, t0};
use esession_crypto::SecretBytes;
use esession_offline::{Audience, PrivateValue, PublishedOptions};
use esession_online::MAX_SECRETS_PER_PEER;
use esession_store::{OfflineStore, RetainedSecret, SessionStore, SqliteStore};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rusqlite::Connection;

const WRITER_ENV: &str = "ESESSION_STORE_CRASH_WRITER";
const GENS_ENV: &str = "ESESSION_STORE_CRASH_GENS";
const PEERS: [&str; 5] = [
    "p0@example.com",
    "p1@example.com",
    "p2@example.com",
    "p3@example.com",
    "roll@example.com",
];
const ROLL: usize = 4;
/// The last slot of the generation vector: D50's seen d/N_B values
/// recorded under one published N_A.
const SEEN: usize = 5;
const SLOTS: usize = 6;
const N_A: [u8; 32] = [0xa5; 32];
const KILLS: usize = 200;

/// The secret of contact `i` at generation `g` (g >= 1): 32 bytes that
/// differ in every byte position from any other (i, g).
fn secret(i: usize, g: u64) -> SecretBytes {
    let mut b = Vec::with_capacity(32);
    for k in 0..4u64 {
        b.extend_from_slice(
            &(g.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (i as u64) << 56 ^ k).to_le_bytes(),
        );
    }
    SecretBytes::new(b)
}

/// Bob's d and N_B of offline init number `g`.
fn d_of(g: u64) -> Vec<u8> {
    [b"d".as_slice(), &g.to_be_bytes()].concat()
}

fn nb_of(g: u64) -> Vec<u8> {
    [b"nb".as_slice(), &g.to_be_bytes()].concat()
}

/// Alice's published options under [`N_A`], saved before any writer runs.
fn published() -> PublishedOptions {
    PublishedOptions {
        n_a: N_A.to_vec(),
        audience: Audience::Everyone,
        expires: t0() + Duration::from_secs(86_400),
        x: vec![PrivateValue {
            group: 14,
            x: SecretBytes::new(vec![0x77; 256]),
        }],
        options_xml: "<x xmlns='jabber:x:data' type='form'/>".to_owned(),
    }
}

fn setup(path: &Path) {
    let mut store = SqliteStore::open(path, &key(), ALICE).unwrap();
    store.save_published(published()).unwrap();
}

fn record(i: usize, g: u64) -> RetainedSecret {
    RetainedSecret {
        verified: g.is_multiple_of(3),
        ..RetainedSecret::new(secret(i, g), t0() + Duration::from_secs(g))
    }
}

/// One write step: the contact with the lowest generation goes to the next.
fn step(store: &mut SqliteStore, gens: &mut [u64; SLOTS], out: &mut impl Write) {
    let i = (0..SLOTS).min_by_key(|&i| (gens[i], i)).unwrap_or(0);
    let g = gens[i] + 1;
    if i == SEEN {
        assert!(store.record_seen(&N_A, &d_of(g), &nb_of(g)).unwrap());
        gens[i] = g;
        writeln!(out, "c {i} {g}").unwrap();
        out.flush().unwrap();
        return;
    }
    let old = secret(i, g - 1);
    let replaces = (i != ROLL && g > 1).then_some((PEERS[i], &old));
    store
        .store_secret(PEERS[i], replaces, record(i, g))
        .unwrap();
    gens[i] = g;
    writeln!(out, "c {i} {g}").unwrap();
    out.flush().unwrap();
    if i == 0 && g.is_multiple_of(2) {
        store.mark_verified(PEERS[0], &secret(0, g)).unwrap();
        writeln!(out, "v 0 {g}").unwrap();
        out.flush().unwrap();
    }
}

/// What the parent learnt from the child's stdout.
#[derive(Default)]
struct Seen {
    committed: [u64; SLOTS],
    verified: Vec<u64>,
}

fn parse(lines: &[String], start: [u64; SLOTS], seen: &mut Seen) {
    seen.committed = start;
    for line in lines {
        let mut parts = line.split(' ');
        let (kind, i, g) = (parts.next(), parts.next(), parts.next());
        let (Some(i), Some(g)) = (
            i.and_then(|s| s.parse::<usize>().ok()),
            g.and_then(|s| s.parse::<u64>().ok()),
        ) else {
            continue; // libtest's own output, or a line cut by the kill
        };
        match kind {
            Some("c") if i < SLOTS => seen.committed[i] = g,
            Some("v") => seen.verified.push(g),
            _ => {}
        }
    }
}

/// Checks the store against what was committed; returns each contact's
/// actual generation and whether one write in flight had committed.
fn check(path: &Path, seen: &Seen) -> ([u64; SLOTS], bool) {
    let mut store = SqliteStore::open(path, &key(), ALICE).expect("store opens after SIGKILL");
    let now = t0();
    let mut actual = [0u64; SLOTS];
    let mut ahead = 0;
    for (i, peer) in PEERS.iter().enumerate() {
        let held = store.secrets(peer, now).expect("every row authenticates");
        let c = seen.committed[i];
        let a = if i == ROLL {
            held.first().map_or(0, |newest| {
                (c..=c + 1)
                    .find(|&a| a > 0 && newest.secret == secret(i, a))
                    .expect("roll newest is old or new")
            })
        } else {
            assert!(
                held.len() <= 1,
                "contact {i}: {} secrets, replace is not atomic",
                held.len()
            );
            match held.first() {
                None => {
                    assert_eq!(c, 0, "contact {i}: secret of generation {c} lost");
                    0
                }
                Some(h) => (c.max(1)..=c + 1)
                    .find(|&a| h.secret == secret(i, a))
                    .unwrap_or_else(|| {
                        panic!(
                            "contact {i}: secret is neither generation {c} nor {}",
                            c + 1
                        )
                    }),
            }
        };
        if a == 0 {
            assert!(c == 0 && held.is_empty(), "contact {i}: lost");
        }
        // Every held secret, with its metadata.
        let expected: Vec<u64> = if i == ROLL {
            (a.saturating_sub(MAX_SECRETS_PER_PEER as u64 - 1).max(1)..=a)
                .rev()
                .collect()
        } else if a > 0 {
            vec![a]
        } else {
            vec![]
        };
        assert_eq!(held.len(), expected.len(), "contact {i} at {a}");
        for (h, &g) in held.iter().zip(&expected) {
            let want = record(i, g);
            assert!(
                h.secret == want.secret,
                "contact {i}: torn value at generation {g}"
            );
            assert_eq!(h.stored_at, want.stored_at);
            if i == 0 && g.is_multiple_of(2) {
                // Verified by the later update, if it committed.
                assert!(
                    h.verified || !seen.verified.contains(&g),
                    "lost verification {g}"
                );
            } else {
                assert_eq!(h.verified, want.verified);
            }
        }
        if a == c + 1 {
            ahead += 1;
        }
        actual[i] = a;
    }
    // D50's seen values: d and N_B of one init are recorded together or not
    // at all, and each recorded init is refused as a replay.
    let count = store.seen_count(&N_A).unwrap() as u64;
    assert!(count.is_multiple_of(2), "torn record_seen: {count} values");
    let (c, a) = (seen.committed[SEEN], count / 2);
    assert!(
        a == c || a == c + 1,
        "seen values: {a} inits recorded, {c} reported"
    );
    if a > 0 {
        assert!(!store.record_seen(&N_A, &d_of(a), b"fresh").unwrap());
        assert!(!store.record_seen(&N_A, b"fresh", &nb_of(a)).unwrap());
    }
    assert_eq!(
        store.seen_count(&N_A).unwrap() as u64,
        count,
        "a refusal wrote"
    );
    if a == c + 1 {
        ahead += 1;
    }
    actual[SEEN] = a;
    assert_eq!(store.published(&N_A).unwrap(), Some(published()));
    assert!(ahead <= 1, "only one write can be in flight");
    drop(store);
    let conn = Connection::open(path).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    (actual, ahead == 1)
}

/// In a child (WRITER_ENV set): write until killed. Otherwise: run the same
/// writer in-process for 60 steps and check the result, so the writer and
/// the checker are tested on their own.
#[test]
fn writer_child() {
    if let Ok(path) = std::env::var(WRITER_ENV) {
        let mut gens = [0u64; SLOTS];
        if let Ok(list) = std::env::var(GENS_ENV) {
            for (g, s) in gens.iter_mut().zip(list.split(',')) {
                *g = s.parse().unwrap();
            }
        }
        let mut store = SqliteStore::open(&path, &key(), ALICE).unwrap();
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready").unwrap();
        out.flush().unwrap();
        // Bounded so an orphan cannot run forever if the parent dies.
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            step(&mut store, &mut gens, &mut out);
        }
        return;
    }
    let dir = TempDir::new("writer");
    setup(&dir.db());
    let mut store = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
    let mut gens = [0u64; SLOTS];
    let mut out = Vec::new();
    for _ in 0..6 * 10 {
        step(&mut store, &mut gens, &mut out);
    }
    drop(store);
    assert_eq!(gens, [10; SLOTS]);
    let lines: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let mut seen = Seen::default();
    parse(&lines, [0; SLOTS], &mut seen);
    assert_eq!(seen.committed, [10; SLOTS]);
    assert_eq!(seen.verified, vec![2, 4, 6, 8, 10]);
    assert_eq!(check(&dir.db(), &seen), ([10; SLOTS], false));
}

#[test]
fn sigkill_during_writes_200_times_leaves_old_or_new_values() {
    let dir = TempDir::new("crash");
    let path = dir.db();
    setup(&path);
    let exe = std::env::current_exe().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0x0006_c7a5);
    let started = Instant::now();
    let mut gens = [0u64; SLOTS];
    let (mut commits, mut mid_write_kills, mut in_flight, mut early_kills) = (0u64, 0, 0, 0);
    for round in 0..KILLS {
        let start_gens = gens;
        let list: Vec<String> = gens.iter().map(u64::to_string).collect();
        let mut child = Command::new(&exe)
            .args(["--exact", "writer_child", "--nocapture", "--test-threads=1"])
            .env(WRITER_ENV, &path)
            .env(GENS_ENV, list.join(","))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // libtest prints "test writer_child ... " before the child's first line.
                if line.ends_with("ready") {
                    let _ = ready_tx.send(());
                }
                lines.push(line);
            }
            lines
        });
        // One round in ten is killed at a random moment from spawn (it may
        // die while starting or opening the store); the others at a random
        // moment after the store is open, while it is writing.
        if round % 10 == 0 {
            std::thread::sleep(Duration::from_millis(rng.next_u64() % 30));
            early_kills += 1;
        } else {
            ready_rx
                .recv_timeout(Duration::from_secs(30))
                .expect("child opened the store");
            std::thread::sleep(Duration::from_micros(1_000 + rng.next_u64() % 40_000));
        }
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "round {round}: child was SIGKILLed"
        );
        let lines = reader.join().unwrap();
        let mut seen = Seen::default();
        parse(&lines, start_gens, &mut seen);
        let (actual, ahead) = check(&path, &seen);
        let done: u64 = actual.iter().sum::<u64>() - start_gens.iter().sum::<u64>();
        commits += done;
        if done > 0 {
            mid_write_kills += 1;
        }
        if ahead {
            in_flight += 1;
        }
        gens = actual;
    }
    println!(
        "crash test: {KILLS} SIGKILLs ({early_kills} from spawn) in {:.1} s, {commits} writes \
         committed, {mid_write_kills} kills after writing had begun, {in_flight} kills found the \
         write in flight already committed (killed in its fsync or before its report); final generations {gens:?}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        mid_write_kills >= KILLS / 2,
        "most kills must land while writing"
    );
}
