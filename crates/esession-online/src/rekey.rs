//! The keys of an established session and their re-keying (XEP-0200 §6-§9;
//! DECISIONS D41, D42, O11-O13).
//!
//! ```text
//! rekey (we send <key/>):  x' fresh, K = mpi(d^x'), d = the peer's latest public value
//!    stanza sealed under the OLD send keys, then send := Initiator(K)
//!    new receive set {Acceptor(K), x'} appended (the peer's stanzas may still use older sets)
//! receive:  <new>n</new> selects sets[n] (0 without <new>); older sets are destroyed
//!    MAC verified with that set's KM, then decrypted
//!    <key>e</key>: checked 1<e<p-1, K = mpi(e^y), y of the (now oldest) set;
//!    every set's peer keys := Initiator(K); send := Acceptor(K) only if one set is held
//! counters continue through every re-key (D13)
//! ```
//!
//! Old MAC keys (`<old/>`, XEP-0200 §8, D41) are queued for publishing only
//! when no stanza under them can still be in flight: our own previous KM once
//! the peer answered under our new key (it selected a newer set), the peer's
//! previous KM once a stanza under its new key verified.

use std::collections::VecDeque;

use esession_crypto::SecretBytes;
use esession_crypto::cipher::CipherAlg;
use esession_crypto::dh::{DhExponent, DhPrivateKey};
use esession_crypto::hash::HashAlg;
use esession_crypto::secret::ct_eq;
use esession_sigma::Profile;
use esession_sigma::keys::{self, DirectionKeys, TrafficKeys};
use esession_wire::Stanza;

use crate::traffic::{self, ControlFields, StanzaCipher};
use crate::{Error, PeerMisbehaved};

/// Blocks kept in reserve under the send key so that a terminate can still be
/// sealed when ordinary stanzas hit the 2^32-block limit (D42).
pub(crate) const TERMINATE_RESERVE_BLOCKS: u64 = 64;

/// At most this many receive sets are held (our unacknowledged re-keys + 1).
pub(crate) const MAX_RECEIVE_SETS: usize = 8;

/// One stored set {KC_peer, KM_peer, our private exponent} (XEP-0200 §7).
struct ReceiveSet {
    peer: TrafficKeys,
    /// Our exponent of this set (its e was sent; only x is kept).
    own: DhExponent,
    /// Stanzas we sent since this set was created (O12).
    sent_since: u64,
}

/// The XEP-0200 state of an established session.
pub(crate) struct SessionKeys {
    hash: HashAlg,
    cipher: CipherAlg,
    profile: Profile,
    /// None once we sent a terminate (D43: send keys destroyed at once).
    send: Option<StanzaCipher>,
    recv: StanzaCipher,
    /// sets[0] is the set the peer's stanzas currently use.
    sets: VecDeque<ReceiveSet>,
    /// The peer's latest DH public value (d for a re-key we start).
    peer_public: Vec<u8>,
    /// `<key/>` stanzas received since we last sent a stanza (for `<new/>`).
    keys_received_since_send: u32,
    /// D42 / O12 counters.
    recv_since_event: u64,
    sent_since_event: u64,
    recv_since_peer_key: u64,
    rekey_freq: u32,
    /// Our previous send KMs, publishable once the peer used a newer set.
    own_old_unacked: Vec<SecretBytes>,
    /// The peer's previous KM, publishable after its next verified stanza.
    peer_old_pending: Vec<SecretBytes>,
    /// Retired MAC keys to put into the next sent stanza as `<old/>`.
    publish: Vec<SecretBytes>,
}

/// A retired MAC key is published only if it is not a key in use.
fn retire(list: &mut Vec<SecretBytes>, km: SecretBytes, in_use: &[&SecretBytes]) {
    if in_use.iter().any(|k| ct_eq(k.as_bytes(), km.as_bytes()))
        || list.iter().any(|k| ct_eq(k.as_bytes(), km.as_bytes()))
    {
        return;
    }
    list.push(km);
}

fn traffic(keys: &DirectionKeys) -> TrafficKeys {
    TrafficKeys {
        kc: keys.kc().clone(),
        km: keys.km().clone(),
    }
}

/// What a verified incoming stanza carried besides its content.
pub(crate) struct Opened {
    /// The peer re-keyed with this stanza.
    pub(crate) rekeyed: bool,
}

impl SessionKeys {
    /// The session after negotiation: `send`/`recv` are our and the peer's
    /// final keys with their counters; `own` is our DH exponent, `peer_public`
    /// the peer's public value (d or e).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        cipher: CipherAlg,
        send: (&DirectionKeys, u128),
        recv: (&DirectionKeys, u128),
        own: DhPrivateKey,
        peer_public: Vec<u8>,
        rekey_freq: u32,
        compression: crate::Compression,
    ) -> Self {
        let (send_keys, c_send) = send;
        let (recv_keys, c_recv) = recv;
        SessionKeys {
            hash: send_keys.hash(),
            cipher,
            profile: send_keys.profile(),
            send: Some(StanzaCipher::new(send_keys.clone(), c_send).with_compression(compression)),
            recv: StanzaCipher::new(recv_keys.clone(), c_recv).with_compression(compression),
            sets: VecDeque::from([ReceiveSet {
                peer: traffic(recv_keys),
                own: own.into_exponent(),
                sent_since: 0,
            }]),
            peer_public,
            keys_received_since_send: 0,
            recv_since_event: 0,
            sent_since_event: 0,
            recv_since_peer_key: 0,
            rekey_freq,
            own_old_unacked: Vec::new(),
            peer_old_pending: Vec::new(),
            publish: Vec::new(),
        }
    }

    /// The send counter (for tests and vectors).
    #[cfg(feature = "testing")]
    pub(crate) fn send_counter(&self) -> Option<u128> {
        self.send.as_ref().map(StanzaCipher::counter)
    }

    /// Destroys the send keys (D43, after our terminate).
    pub(crate) fn drop_send_keys(&mut self) {
        self.send = None;
        self.own_old_unacked.clear();
        self.publish.clear();
    }

    fn sender(&mut self) -> Result<&mut StanzaCipher, Error> {
        self.send
            .as_mut()
            .ok_or(Error::InvalidState("the send keys are destroyed"))
    }

    /// The receive counter.
    #[cfg(feature = "testing")]
    pub(crate) fn recv_counter(&self) -> u128 {
        self.recv.counter()
    }

    /// The MODP group of the session's DH keys.
    pub(crate) fn group(&self) -> Result<esession_crypto::dh::ModpGroup, Error> {
        self.sets
            .front()
            .map(|s| s.own.group())
            .ok_or(Error::Internal("no receive set"))
    }

    /// How many old MAC keys wait to be published.
    pub(crate) fn pending_old_keys(&self) -> usize {
        self.publish.len()
    }

    /// For tests of the 2^32-block limit.
    #[cfg(feature = "testing")]
    pub(crate) fn exhaust_send_key(&mut self, blocks_left: u64) {
        if let Some(send) = &mut self.send {
            send.set_blocks_under_key(crate::MAX_BLOCKS_PER_KEY.saturating_sub(blocks_left));
        }
    }

    /// True once D42's count allows us to start a re-key (O12: stanzas sent
    /// and received since the last key exchange either side started).
    pub(crate) fn may_rekey(&self) -> bool {
        crate::profile::rules(self.profile).rekeying
            && self.recv_since_event + self.sent_since_event >= u64::from(self.rekey_freq)
            && self.sets.len() < MAX_RECEIVE_SETS
    }

    /// Seals `stanza` with `<new/>`, pending `<old/>` keys and, for a re-key,
    /// `<key/>`. `reserve` blocks are kept back under the key (D42).
    fn seal_control(
        &mut self,
        stanza: &mut Stanza,
        key: Option<Vec<u8>>,
        reserve: u64,
    ) -> Result<(), Error> {
        let control = ControlFields {
            key,
            new: (self.keys_received_since_send > 0).then_some(self.keys_received_since_send),
            old: self.publish.iter().map(|k| k.as_bytes().to_vec()).collect(),
        };
        self.sender()?.seal_reserving(stanza, control, reserve)?;
        self.keys_received_since_send = 0;
        // The published keys are gone from our memory once sent.
        self.publish.clear();
        self.sent_since_event += 1;
        for set in &mut self.sets {
            set.sent_since += 1;
        }
        Ok(())
    }

    /// Seals an ordinary stanza (content, or a terminate with `reserve` 0).
    pub(crate) fn seal(&mut self, stanza: &mut Stanza, reserve: u64) -> Result<(), Error> {
        self.seal_control(stanza, None, reserve)
    }

    /// Starts a re-key (XEP-0200 §7.2): seals `stanza` (with or without
    /// content; `reserve` as for [`Self::seal`]) carrying `<key/>` under the
    /// old keys, then switches our send keys and stores the new receive set.
    pub(crate) fn rekey(
        &mut self,
        stanza: &mut Stanza,
        x: DhPrivateKey,
        check: bool,
        reserve: u64,
    ) -> Result<(), Error> {
        if check && !self.may_rekey() {
            return Err(Error::InvalidState(
                "rekey_freq stanzas have not been exchanged since the last key exchange",
            ));
        }
        // D41: K = mpi(d^x), not hashed.
        let k = x.shared_secret(&self.peer_public)?;
        let rk = keys::rekey_keys(self.hash, self.cipher, self.profile, k.as_bytes())?;
        drop(k);
        self.seal_control(stanza, Some(x.public_key().to_vec()), reserve)?;
        let old = self.sender()?.rekey(rk.initiator);
        self.own_old_unacked.push(old);
        self.sets.push_back(ReceiveSet {
            peer: rk.acceptor,
            own: x.into_exponent(),
            sent_since: 0,
        });
        self.recv_since_event = 0;
        self.sent_since_event = 0;
        Ok(())
    }

    /// Verifies and decrypts a stanza from the peer, selecting the receive set
    /// by `<new/>` and honouring `<key/>` (XEP-0200 §6, §7.3).
    pub(crate) fn open(&mut self, stanza: &mut Stanza) -> Result<Opened, Error> {
        // The <c/> is parsed once: its <new/> selects the keys that open it.
        let received = traffic::parse_c(stanza)?;
        let index = received.content.new.map_or(0, |n| n as usize);
        let (control, previous_km) = if index == 0 {
            (self.recv.open_received(stanza, received)?, None)
        } else {
            let Some(set) = self.sets.get(index) else {
                // <new/> names more of our re-keys than we sent.
                return Err(PeerMisbehaved::BadStanzaMac.into());
            };
            let mut recv = self.recv.switched(set.peer.clone());
            let control = recv.open_received(stanza, received)?;
            let previous = std::mem::replace(&mut self.recv, recv);
            (control, Some(previous.km().clone()))
        };
        // The stanza verified: the peer's stanzas under older keys are all in.
        let mut in_use = vec![self.recv.km().clone()];
        if let Some(send) = &self.send {
            in_use.push(send.km().clone());
        }
        let in_use_refs: Vec<&SecretBytes> = in_use.iter().collect();
        for km in std::mem::take(&mut self.peer_old_pending) {
            retire(&mut self.publish, km, &in_use_refs);
        }
        if index > 0 {
            for old in self.sets.drain(..index) {
                retire(&mut self.publish, old.peer.km.clone(), &in_use_refs);
            }
            if let Some(km) = previous_km {
                retire(&mut self.publish, km, &in_use_refs);
            }
            // The peer answered under a newer set: our old send keys are retired.
            for km in std::mem::take(&mut self.own_old_unacked) {
                retire(&mut self.publish, km, &in_use_refs);
            }
        }
        // <old/> values are covered by the MAC and otherwise ignored (0200 §8).
        let rekeyed = match control.key {
            Some(e) => {
                self.accept_rekey(&e)?;
                true
            }
            None => {
                self.recv_since_event += 1;
                self.recv_since_peer_key += 1;
                false
            }
        };
        Ok(Opened { rekeyed })
    }

    /// The peer's `<key/>` (XEP-0200 §7.3; D41, D42).
    fn accept_rekey(&mut self, e: &[u8]) -> Result<(), Error> {
        let oldest = self.sets.front().ok_or(Error::Internal("no receive set"))?;
        // O12: the receiver's count: stanzas received since the peer's last
        // <key/> plus stanzas sent since the creation of the set the peer
        // used (our latest <key/> it had seen). It is never smaller than the
        // count the peer used, whatever crossed in flight.
        if !crate::profile::rules(self.profile).rekeying
            || self.recv_since_peer_key + oldest.sent_since < u64::from(self.rekey_freq)
        {
            return Err(PeerMisbehaved::RekeyTooEarly.into());
        }
        let k = oldest
            .own
            .shared_secret(e)
            .map_err(|_| PeerMisbehaved::InvalidPublicValue)?;
        let rk = keys::rekey_keys(self.hash, self.cipher, self.profile, k.as_bytes())?;
        drop(k);
        for set in &mut self.sets {
            set.peer = rk.initiator.clone();
        }
        let old_peer = self.recv.rekey(rk.initiator);
        self.peer_old_pending.push(old_peer);
        if self.sets.len() == 1
            && let Some(send) = &mut self.send
        {
            // Our previous send KM is simply destroyed (O13).
            let _old = send.rekey(rk.acceptor);
        }
        self.peer_public = e.to_vec();
        self.keys_received_since_send = self.keys_received_since_send.saturating_add(1);
        self.recv_since_peer_key = 0;
        self.recv_since_event = 0;
        self.sent_since_event = 0;
        Ok(())
    }
}
