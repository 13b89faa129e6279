//! Two accounts and an in-memory "server": an online ESession with a
//! message each way, then Bob goes offline and Alice's three messages reach
//! him through an offline session (XEP-0187) when he is back, and after both
//! restart from their SQLite stores the next session continues the first one
//! through its retained secret.
//!
//! Run it with `cargo run -p esession --example two_accounts`; it is also a
//! test (`cargo test -p esession --example two_accounts`).

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::time::{Duration, SystemTime};

use esession::crypto::sign::{SignAlg, SigningKey};
use esession::online::TrustedKey;
use esession::{
    Account, AccountConfig, Element, Event, OsRng, SqliteStore, Stanza, StanzaKind, StoreKey,
    os_rng,
};

type Error = Box<dyn std::error::Error>;
type Client = Account<SqliteStore, OsRng>;

const ALICE: &str = "alice@example.org/pda";
const BOB: &str = "bob@example.com/laptop";

/// What a server does for the two accounts: routes stanzas by `to`, stamps
/// `from`, stores messages for an offline account and delivers them at login,
/// tells each account the other's presence, and keeps PEP items.
#[derive(Default)]
struct Server {
    online: HashMap<&'static str, bool>,
    queues: HashMap<&'static str, VecDeque<Stanza>>,
    offline_storage: HashMap<&'static str, Vec<Stanza>>,
    pep: HashMap<(String, String), Element>,
}

fn bare(jid: &str) -> &str {
    jid.split_once('/').map_or(jid, |(b, _)| b)
}

impl Server {
    fn full(bare_jid: &str) -> &'static str {
        if bare_jid == bare(ALICE) { ALICE } else { BOB }
    }

    fn deliver(&mut self, to: &'static str, stanza: Stanza) {
        if self.online.get(to).copied().unwrap_or(false) {
            self.queues.entry(to).or_default().push_back(stanza);
        } else if stanza.kind() == StanzaKind::Message {
            self.offline_storage.entry(to).or_default().push(stanza);
        }
    }

    fn presence(&mut self, who: &'static str, available: bool) {
        self.online.insert(who, available);
        let other = if who == ALICE { BOB } else { ALICE };
        let mut p = Stanza::new(StanzaKind::Presence);
        p.set_attr("from", who);
        if !available {
            p.set_attr("type", "unavailable");
        }
        self.deliver(other, p);
        if available {
            for m in self.offline_storage.remove(who).unwrap_or_default() {
                self.deliver(who, m);
            }
        }
    }

    /// A stanza `from` sent.
    fn route(&mut self, from: &'static str, mut stanza: Stanza) -> Result<(), Error> {
        stanza.set_attr("from", from);
        if stanza.kind() == StanzaKind::Iq {
            return self.pep_iq(from, stanza);
        }
        let to = Self::full(bare(stanza.to().unwrap_or_default()));
        self.deliver(to, stanza);
        Ok(())
    }

    /// PEP (XEP-0163) as far as XEP-0187 needs it: publish, create, items.
    fn pep_iq(&mut self, from: &'static str, iq: Stanza) -> Result<(), Error> {
        let ns = "http://jabber.org/protocol/pubsub";
        let pubsub = iq.element().get_child("pubsub", ns).ok_or("not pubsub")?;
        let owner = bare(iq.to().unwrap_or(from)).to_owned();
        let mut result = Stanza::new(StanzaKind::Iq);
        result.set_attr("type", "result");
        result.set_attr("id", iq.id().unwrap_or_default());
        result.set_attr("from", &owner);
        if let Some(publish) = pubsub.get_child("publish", ns) {
            let node = publish.attr("node").unwrap_or_default().to_owned();
            let item = publish.get_child("item", ns).ok_or("no item")?;
            match item.get_child("x", "jabber:x:data") {
                Some(x) => self.pep.insert((owner, node), x.clone()),
                None => self.pep.remove(&(owner, node)),
            };
        } else if let Some(items) = pubsub.get_child("items", ns) {
            let node = items.attr("node").unwrap_or_default().to_owned();
            let mut answer = Element::new("items", ns).with_attr("node", &node);
            if let Some(x) = self.pep.get(&(owner, node)) {
                answer = answer.with_child(Element::new("item", ns).with_child(x.clone()));
            }
            result.push(Element::new("pubsub", ns).with_child(answer));
        }
        self.deliver(from, result);
        Ok(())
    }
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
            while let Some(stanza) = server.queues.get_mut(jid).and_then(VecDeque::pop_front) {
                account.handle_stanza(now, stanza);
                moved = true;
            }
            while let Some(event) = account.poll_event() {
                moved = true;
                match event {
                    Event::Send(s) => server.route(jid, s)?,
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
                        let body = body_of(&stanza);
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

fn body_of(s: &Stanza) -> String {
    s.children()
        .find(|c| c.name() == "body")
        .map(|b| b.text())
        .unwrap_or_default()
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
    let mut server = Server::default();

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
    server.presence(ALICE, true);
    server.presence(BOB, true);
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
    server.presence(BOB, false);
    pump(&mut server, &mut [(ALICE, &mut alice, &mut a_seen)], now)?;
    for text in ["one", "two", "three"] {
        alice.send_text(now, "bob@example.com", text)?;
    }
    pump(&mut server, &mut [(ALICE, &mut alice, &mut a_seen)], now)?;

    // 3. Bob is back: he accepts what the server kept for him.
    let later = now + Duration::from_secs(3600);
    bob.came_online(later)?;
    server.presence(BOB, true);
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
    server.presence(ALICE, false);
    server.presence(BOB, false);
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
    server.presence(ALICE, true);
    server.presence(BOB, true);
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
