//! proptest: any single-character change inside Bob's `<init/>` or `<c/>`
//! makes Alice refuse the stanza (M_B covers ID_B, macB/signB cover formB, the
//! XEP-0200 MAC covers `<c/>`), and a refused stanza never blocks the genuine
//! one (DECISIONS D50: only verified inits are recorded). The one change that
//! verifies takes `<c/>` out of its namespace: the content is then missing,
//! exactly as if the server had dropped it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use esession_crypto::sign::{SignAlg, SigningKey};
use esession_offline::{Audience, Initiator, MemoryOfflineStore, Publisher, Receiver};
use esession_online::{Config, MemoryStore, SessionStore, TrustedKey};
use esession_wire::{Element, Stanza, StanzaKind};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

struct Fixture {
    /// Alice's store: her published values, Bob's key trusted.
    store: MemoryOfflineStore,
    stanza: String,
    now: SystemTime,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(187);
        let alice = SigningKey::generate(SignAlg::RsaSha256, &mut rng).unwrap();
        let bob = SigningKey::generate(SignAlg::RsaSha256, &mut rng).unwrap();
        let trusted = |k: &SigningKey| TrustedKey::of(&k.verifying_key(), "known").unwrap();
        let mut trust = MemoryStore::new();
        trust
            .trust_key("alice@example.org", trusted(&alice))
            .unwrap();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut store = MemoryOfflineStore::new();
        store.trust_key("bob@example.com", trusted(&bob)).unwrap();
        let published = Publisher::new(
            Config::default(),
            Audience::Everyone,
            now + Duration::from_secs(3600),
        )
        .signing_key(&alice)
        .publish(&mut rng, &mut store)
        .unwrap();
        let initiator = Initiator::new(Config::default(), &bob).unwrap();
        let checked = initiator
            .check_options(now, "alice@example.org", &published.item, &trust)
            .unwrap();
        let mut content = Stanza::new(StanzaKind::Message);
        content.push(Element::new("body", "jabber:client").with_text("tamper me"));
        let mut s = initiator
            .start(now, &checked, Some(content), true, &mut rng)
            .unwrap()
            .stanza;
        s.set_attr("from", "bob@example.com/laptop");
        Fixture {
            store,
            stanza: s.to_xml(),
            now,
        }
    })
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_change_in_init_or_c_is_refused(pos in any::<prop::sample::Index>(), with in 0..B64.len()) {
        let f = fixture();
        let start = f.stanza.find("<init").unwrap();
        let end = f.stanza.find("</c>").unwrap();
        let at = start + pos.index(end - start);
        let mut bytes = f.stanza.clone().into_bytes();
        let new = B64[with];
        prop_assume!(bytes[at] != new && bytes[at].is_ascii());
        bytes[at] = new;
        let mut store = f.store.clone();
        let mut receiver = Receiver::came_online(Config::default(), &mut store).unwrap().receiver;
        let mut stripped = false;
        if let Ok(text) = std::str::from_utf8(&bytes)
            && let Ok(tampered) = Stanza::parse(text)
        {
            match receiver.accept(f.now, tampered, &mut store) {
                Err(_) => {}
                // The only change that verifies is one that takes <c/> out of
                // the XEP-0200 namespace: the content is then simply missing,
                // as if the server had dropped it; nothing forged reaches Alice.
                Ok(a) => {
                    prop_assert!(a.content.is_none(), "accepted a change at {}", at);
                    stripped = true;
                }
            }
        }
        let genuine = Stanza::parse(&f.stanza).unwrap();
        let result = receiver.accept(f.now, genuine, &mut store);
        if stripped {
            prop_assert_eq!(result.unwrap_err(), esession_offline::Error::Replay);
        } else {
            // A refused stanza never blocks the genuine one (D50).
            prop_assert!(result.unwrap().content.unwrap().to_xml().contains("<body>tamper me</body>"));
        }
    }
}
