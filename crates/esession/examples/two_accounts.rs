//! Two accounts and an in-memory server ([`esession::loopback`]): an online ESession with a
//! message each way, then Bob goes offline and Alice's three messages reach
//! him through an offline session (XEP-0187) when he is back, and after both
//! restart from their SQLite stores the next session continues the first one
//! through its retained secret.
//!
//! Run it with `cargo run -p esession --example two_accounts`; it is also a
//! test (`cargo test -p esession --example two_accounts`).

use std::path::Path;
use std::time::{Duration, SystemTime};

use esession::crypto::sign::{SignAlg, SigningKey};
use esession::loopback::Server;
use esession::online::TrustedKey;
use esession::{Account, AccountConfig, Event, OsRng, SqliteStore, StoreKey, os_rng};

type Error = Box<dyn std::error::Error>;
type Client = Account<SqliteStore, OsRng>;

const ALICE: &str = "alice@example.org/pda";
const BOB: &str = "bob@example.com/laptop";

fn bare(jid: &str) -> &str {
    jid.split_once('/').map_or(jid, |(b, _)| b)
}

/// What each account saw.
#[derive(Default)]
struct Seen {
    received: Vec<(String, bool)>,
    retained_secret_used: Vec<bool>,
}

/// Moves stanzas between the accounts and the server until nothing moves.
/// The users accept requests and confirm the SAS (which they compared).
fn pump(
    server: &mut Server,
    parties: &mut [(&'static str, &mut Client, &mut Seen)],
    now: SystemTime,
) -> Result<(), Error> {
    loop {
        let mut moved = false;
        for (jid, account, seen) in parties.iter_mut() {
            while let Some(stanza) = server.next_for(jid) {
                account.handle_stanza(now, stanza);
                moved = true;
            }
            while let Some(event) = account.poll_event() {
                moved = true;
                match event {
                    Event::Send(s) => server.send(jid, s)?,
                    Event::Requested { contact, .. } => account.accept(now, &contact)?,
                    Event::SasReady { contact, sas } => {
                        println!("[{jid}] SAS with {contact}: {}", sas.padded);
                        account.confirm_sas(&contact)?;
                    }
                    Event::Established(e) => {
                        println!(
                            "[{jid}] established with {} (offline: {})",
                            e.contact, e.offline
                        );
                        if !e.offline {
                            seen.retained_secret_used.push(e.retained_secret_used);
                        }
                    }
                    Event::Received {
                        stanza, offline, ..
                    } => {
                        let body = stanza.body().unwrap_or_default();
                        println!(
                            "[{jid}] received{}: {body}",
                            if offline { " (offline)" } else { "" }
                        );
                        seen.received.push((body, offline));
                    }
                    Event::Failed { contact, error } => {
                        return Err(format!("[{jid}] {contact}: {error}").into());
                    }
                    Event::PeerKey { contact, key } => {
                        println!("[{jid}] {contact}'s key: {:?}", key.status);
                    }
                    other => println!("[{jid}] {other:?}"),
                }
            }
        }
        if !moved {
            return Ok(());
        }
    }
}

fn account(
    dir: &Path,
    jid: &'static str,
    key: &StoreKey,
    signing: &SigningKey,
    trusted: (&str, &SigningKey),
) -> Result<Client, Error> {
    let store = SqliteStore::open(dir.join(format!("{}.sqlite", bare(jid))), key, bare(jid))?;
    let signing = SigningKey::from_pkcs8_der(signing.to_pkcs8_der()?.as_bytes())?;
    let mut account =
        Account::new(jid, AccountConfig::default(), store, os_rng())?.with_signing_key(signing);
    account.trust(
        trusted.0,
        TrustedKey::of(&trusted.1.verifying_key(), "met in person")?,
    )?;
    Ok(account)
}

/// The whole story; returns what Alice and Bob saw.
fn run(dir: &Path) -> Result<(Seen, Seen), Error> {
    let mut rng = os_rng();
    let now = SystemTime::now();
    let alice_key = SigningKey::generate(SignAlg::RsaSha256, &mut rng)?;
    let bob_key = SigningKey::generate(SignAlg::RsaSha256, &mut rng)?;
    let (alice_store_key, bob_store_key) = (StoreKey::generate()?, StoreKey::generate()?);
    let (mut a_seen, mut b_seen) = (Seen::default(), Seen::default());
    let mut server = Server::new();
    server.add_account(ALICE);
    server.add_account(BOB);

    // 1. Both online: one message each way.
    let mut alice = account(
        dir,
        ALICE,
        &alice_store_key,
        &alice_key,
        ("bob@example.com", &bob_key),
    )?;
    let mut bob = account(
        dir,
        BOB,
        &bob_store_key,
        &bob_key,
        ("alice@example.org", &alice_key),
    )?;
    server.set_online(ALICE, true)?;
    server.set_online(BOB, true)?;
    alice.send_text(now, "bob@example.com", "Hello Bob")?;
    pump(
        &mut server,
        &mut [
            (ALICE, &mut alice, &mut a_seen),
            (BOB, &mut bob, &mut b_seen),
        ],
        now,
    )?;
    bob.send_text(now, "alice@example.org", "Hello Alice")?;
    pump(
        &mut server,
        &mut [
            (ALICE, &mut alice, &mut a_seen),
            (BOB, &mut bob, &mut b_seen),
        ],
        now,
    )?;

    // 2. Bob publishes his offline options and leaves; Alice writes three
    //    messages, which go through an offline session.
    bob.publish_offline_options(now, Duration::from_secs(8 * 3600))?;
    pump(
        &mut server,
        &mut [
            (ALICE, &mut alice, &mut a_seen),
            (BOB, &mut bob, &mut b_seen),
        ],
        now,
    )?;
    alice.terminate(now, "bob@example.com")?;
    pump(
        &mut server,
        &mut [
            (ALICE, &mut alice, &mut a_seen),
            (BOB, &mut bob, &mut b_seen),
        ],
        now,
    )?;
    server.set_online(BOB, false)?;
    pump(&mut server, &mut [(ALICE, &mut alice, &mut a_seen)], now)?;
    for text in ["one", "two", "three"] {
        alice.send_text(now, "bob@example.com", text)?;
    }
    pump(&mut server, &mut [(ALICE, &mut alice, &mut a_seen)], now)?;

    // 3. Bob is back: he accepts what the server kept for him.
    let later = now + Duration::from_secs(3600);
    bob.came_online(later)?;
    server.set_online(BOB, true)?;
    pump(
        &mut server,
        &mut [
            (ALICE, &mut alice, &mut a_seen),
            (BOB, &mut bob, &mut b_seen),
        ],
        later,
    )?;

    // 4. Both restart from their stores; the next session uses the retained
    //    secret of the first.
    drop((alice, bob));
    server.set_online(ALICE, false)?;
    server.set_online(BOB, false)?;
    let mut alice = account(
        dir,
        ALICE,
        &alice_store_key,
        &alice_key,
        ("bob@example.com", &bob_key),
    )?;
    let mut bob = account(
        dir,
        BOB,
        &bob_store_key,
        &bob_key,
        ("alice@example.org", &alice_key),
    )?;
    server.set_online(ALICE, true)?;
    server.set_online(BOB, true)?;
    let restart = later + Duration::from_secs(60);
    alice.send_text(restart, "bob@example.com", "Again")?;
    pump(
        &mut server,
        &mut [
            (ALICE, &mut alice, &mut a_seen),
            (BOB, &mut bob, &mut b_seen),
        ],
        restart,
    )?;
    Ok((a_seen, b_seen))
}

fn main() -> Result<(), Error> {
    let dir = std::env::temp_dir().join(format!("esession-two-accounts-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run(&dir);
    std::fs::remove_dir_all(&dir)?;
    let (alice, bob) = result?;
    println!("Alice received {:?}", alice.received);
    println!("Bob received {:?}", bob.received);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_story_runs() {
        let dir =
            std::env::temp_dir().join(format!("esession-two-accounts-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let result = super::run(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        let (alice, bob) = result.unwrap();
        let texts = |seen: &super::Seen| -> Vec<(String, bool)> { seen.received.clone() };
        assert_eq!(texts(&alice), vec![("Hello Alice".to_owned(), false)]);
        assert_eq!(
            texts(&bob),
            vec![
                ("Hello Bob".to_owned(), false),
                ("one".to_owned(), true),
                ("two".to_owned(), true),
                ("three".to_owned(), true),
                ("Again".to_owned(), false),
            ]
        );
        // The first session started the chain; the one after the restart continued it.
        assert_eq!(alice.retained_secret_used, vec![false, true]);
        assert_eq!(bob.retained_secret_used, vec![false, true]);
    }
}
