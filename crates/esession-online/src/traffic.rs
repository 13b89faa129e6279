//! XEP-0200 stanza encryption for one direction (XEP-0200 §6; DECISIONS D13,
//! D14, D15, D38-D41): [`StanzaCipher`].
//!
//! ```text
//! send:  m        = stanza content except thread/error/amp     (Stanza::encryptable_content, D38)
//!        m        = zlib(m) if negotiated; gajim: padded with 0x20 to 16 bytes (D15)
//!        m_final  = CIPHER(KC_own, C_own, m)                   (D13: first block uses C)
//!        a_mac    = HMAC(KM_own, m_content ‖ mpi(C_own))       (D39, D40, D14)
//!        C_own   += blocks of m (1 without <data>)
//! recv:  a_mac checked against m_content ‖ mpi(C_peer) before anything is deciphered,
//!        then m = DECIPHER(KC_peer, C_peer, m_final), C_peer += blocks
//! rekey: KC and KM replaced, the counter continues (D41)
//! ```
//!
//! The counters are never reset; a stanza that is replayed, reordered or
//! tampered with is MACed under a different counter or content and fails.
//! The online driver ([`crate::Endpoint`]) and the offline crate both use
//! [`StanzaCipher`]; it knows nothing about negotiation or re-key policy: it
//! reports the `<key/>`, `<new/>` and `<old/>` of a verified stanza
//! ([`ControlFields`]) and lets the caller act on them.

use std::io::{Read as _, Write as _};

use esession_crypto::SecretBytes;
use esession_crypto::cipher::{CipherAlg, CtrKey, blocks_for};
use esession_crypto::hash::HashAlg;
use esession_sigma::keys::{DirectionKeys, TrafficKeys};
use esession_sigma::{Profile, counters};
use esession_wire::{Encrypted, ReceivedEncrypted, Stanza};
use zeroize::Zeroizing;

use crate::{Error, PeerMisbehaved};

/// XEP-0200 §11.4: no more than 2^32 blocks may be encrypted under one key.
pub const MAX_BLOCKS_PER_KEY: u64 = 1 << 32;

/// The largest decompressed m accepted (zlib, XEP-0200 §6): a bound against
/// decompression bombs.
pub const MAX_DECOMPRESSED_BYTES: usize = 1 << 20;

/// The compression of m (XEP-0116 `compress`, XEP-0200 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Compression {
    /// `none` (DECISIONS D38).
    #[default]
    None,
    /// `zlib` (RFC 1950), each stanza compressed on its own.
    Zlib,
}

/// The stanza's `<c/>`, parsed once (m_content included); a missing or
/// malformed `<c/>` is the peer's fault.
pub(crate) fn parse_c(stanza: &Stanza) -> Result<ReceivedEncrypted, Error> {
    Ok(stanza
        .encrypted()
        .map_err(|_| PeerMisbehaved::BadStanzaMac)?
        .ok_or(PeerMisbehaved::UnexpectedMessage("no <c/> element"))?)
}

impl Compression {
    /// The value in the `compress` field.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Zlib => "zlib",
        }
    }

    /// Looks a `compress` value up.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Compression::None),
            "zlib" => Some(Compression::Zlib),
            _ => None,
        }
    }

    fn compress(self, m: Vec<u8>) -> Result<Vec<u8>, Error> {
        match self {
            Compression::None => Ok(m),
            Compression::Zlib => {
                let mut z =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                z.write_all(&m)
                    .map_err(|_| Error::Internal("zlib compression"))?;
                z.finish().map_err(|_| Error::Internal("zlib compression"))
            }
        }
    }

    fn decompress(self, m: Vec<u8>) -> Result<Vec<u8>, Error> {
        match self {
            Compression::None => Ok(m),
            Compression::Zlib => {
                let mut out = Vec::new();
                let limit = u64::try_from(MAX_DECOMPRESSED_BYTES + 1).unwrap_or(u64::MAX);
                flate2::read::ZlibDecoder::new(m.as_slice())
                    .take(limit)
                    .read_to_end(&mut out)
                    .map_err(|_| PeerMisbehaved::BadContent)?;
                if out.len() > MAX_DECOMPRESSED_BYTES {
                    return Err(PeerMisbehaved::BadContent.into());
                }
                Ok(out)
            }
        }
    }
}

/// The XEP-0200 control elements of a stanza besides `<data>` and `<mac>`:
/// what a sender adds and what a verified received stanza carried.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ControlFields {
    /// `<key/>`: mpi(e) of a re-key (XEP-0200 §7, D41).
    pub key: Option<Vec<u8>>,
    /// `<new/>`: how many `<key/>` stanzas were received since the last one
    /// sent (XEP-0200 §7).
    pub new: Option<u32>,
    /// `<old/>`: retired MAC keys published in the clear (XEP-0200 §8, D41).
    pub old: Vec<Vec<u8>>,
}

/// One direction of an XEP-0200 session: KC, KM, the hash and profile, and the
/// counter (XEP-0200 §6).
///
/// Create one per direction from the session keys:
/// `StanzaCipher::new(session.initiator().clone(), c_a)` for Alice's stanzas,
/// `StanzaCipher::new(session.responder().clone(), c_b)` for Bob's. Then
/// [`StanzaCipher::seal`] each outgoing stanza in order and
/// [`StanzaCipher::open`] each incoming one in order. A failed `open` leaves
/// the counter unchanged; the caller ends the session (nothing of the stanza
/// may reach the application).
///
/// Keys zeroize on drop and are redacted in `Debug`.
#[derive(Debug)]
pub struct StanzaCipher {
    hash: HashAlg,
    profile: Profile,
    kc: CtrKey,
    km: SecretBytes,
    counter: u128,
    compression: Compression,
    /// Blocks encrypted under the current KC (XEP-0200 §11.4).
    blocks_under_key: u64,
    /// Gajim profile, receiving: the unused keystream of the last partial
    /// block, used first by the next stanza (DECISIONS D13 G19).
    carry: Zeroizing<Vec<u8>>,
}

impl StanzaCipher {
    /// One direction's cipher from its SIGMA keys (only KC and KM are kept) and
    /// its counter on entry: C_A or C_B after the identity blocks (D13).
    pub fn new(keys: DirectionKeys, counter: u128) -> Self {
        StanzaCipher {
            hash: keys.hash(),
            profile: keys.profile(),
            kc: keys.kc().clone(),
            km: keys.km().clone(),
            counter,
            compression: Compression::None,
            blocks_under_key: 0,
            carry: Zeroizing::new(Vec::new()),
        }
    }

    /// Sets the negotiated compression (default none).
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// The counter the next stanza enters with.
    pub fn counter(&self) -> u128 {
        self.counter
    }

    /// The hash of the MACs.
    pub fn hash(&self) -> HashAlg {
        self.hash
    }

    /// The current MAC key, e.g. to publish it later as `<old/>` (D41).
    pub fn km(&self) -> &SecretBytes {
        &self.km
    }

    /// Blocks encrypted under the current key (XEP-0200 §11.4).
    pub fn blocks_under_key(&self) -> u64 {
        self.blocks_under_key
    }

    /// Replaces KC and KM after a re-key (XEP-0200 §9; D41). The counter
    /// continues (D13). Returns the retired MAC key.
    pub fn rekey(&mut self, keys: TrafficKeys) -> SecretBytes {
        self.kc = keys.kc;
        self.blocks_under_key = 0;
        self.carry = Zeroizing::new(Vec::new());
        std::mem::replace(&mut self.km, keys.km)
    }

    /// A cipher for the same direction and counter under other keys: the
    /// receive side of a re-key set (XEP-0200 §7). The block count restarts.
    pub(crate) fn switched(&self, keys: TrafficKeys) -> Self {
        StanzaCipher {
            hash: self.hash,
            profile: self.profile,
            kc: keys.kc,
            km: keys.km,
            counter: self.counter,
            compression: self.compression,
            blocks_under_key: 0,
            carry: Zeroizing::new(Vec::new()),
        }
    }

    /// Pretends `blocks` were already encrypted under the current key. For
    /// tests of the 2^32-block limit only.
    #[cfg(feature = "testing")]
    pub fn set_blocks_under_key(&mut self, blocks: u64) {
        self.blocks_under_key = blocks;
    }

    fn cipher_none(&self) -> bool {
        self.kc.alg() == CipherAlg::None
    }

    /// Blocks a stanza with `len` bytes of m consumes (D40: 1 without data or
    /// under cipher none).
    fn blocks(&self, len: usize) -> u128 {
        if len == 0 || self.cipher_none() {
            1
        } else {
            blocks_for(len)
        }
    }

    /// The block count under the current key after `blocks` more, or
    /// [`Error::KeyExhausted`] past XEP-0200 §11.4's limit.
    fn blocks_after(&self, blocks: u128) -> Result<u64, Error> {
        u64::try_from(blocks)
            .ok()
            .and_then(|b| self.blocks_under_key.checked_add(b))
            .filter(|t| *t <= MAX_BLOCKS_PER_KEY)
            .ok_or(Error::KeyExhausted)
    }

    /// Encrypts `stanza`'s content in place (XEP-0200 §6).
    pub fn seal(&mut self, stanza: &mut Stanza) -> Result<(), Error> {
        self.seal_with(stanza, ControlFields::default())
    }

    /// Encrypts `stanza`'s content in place and adds `control`'s `<key/>`,
    /// `<new/>` and `<old/>` under the stanza MAC (XEP-0200 §7-§8).
    ///
    /// Fails with [`Error::KeyExhausted`] (nothing sent, counter unchanged)
    /// when the stanza would pass the 2^32-block limit of one key.
    pub fn seal_with(&mut self, stanza: &mut Stanza, control: ControlFields) -> Result<(), Error> {
        self.seal_reserving(stanza, control, 0)
    }

    /// [`StanzaCipher::seal_with`], keeping `reserve` blocks of the key's
    /// limit unused (for a final terminate, D42).
    pub(crate) fn seal_reserving(
        &mut self,
        stanza: &mut Stanza,
        control: ControlFields,
        reserve: u64,
    ) -> Result<(), Error> {
        let m = stanza.encryptable_content();
        let c = self.counter;
        let (data, blocks) = if m.is_empty() {
            // D40: a stanza without <data> advances the counter by 1.
            (None, 1)
        } else {
            let mut buf = self.compression.compress(m.into_bytes())?;
            if crate::profile::rules(self.profile).pad_to_blocks {
                // D15 (G19): pad with spaces to whole blocks.
                while buf.len() % 16 != 0 {
                    buf.push(b' ');
                }
            }
            let blocks = self.blocks(buf.len());
            if self.blocks_after(blocks)? > MAX_BLOCKS_PER_KEY - reserve.min(MAX_BLOCKS_PER_KEY) {
                return Err(Error::KeyExhausted);
            }
            self.kc
                .apply_keystream(self.profile.cipher_counter(c), &mut buf)?;
            (Some(buf), blocks)
        };
        self.blocks_under_key = self.blocks_after(blocks)?;
        let mut content = Encrypted {
            data,
            new: control.new,
            key: control.key,
            old: control.old,
            mac: Vec::new(),
        };
        // a_mac = HMAC(KM, m_content ‖ mpi(C)), fed piece by piece (D39, D40).
        let counter_bytes = self.profile.stanza_mac_counter_bytes(c);
        let element = content.to_element_with_mac(|m_content| {
            let mut parts = Vec::with_capacity(m_content.len() + 1);
            parts.extend_from_slice(m_content);
            parts.push(&counter_bytes[..]);
            let mac = self.hash.hmac_output(self.km.as_bytes(), &parts);
            Ok::<_, Error>(mac.as_bytes().to_vec())
        })?;
        stanza.replace_content_with_element(element);
        self.counter = counters::advance(c, blocks);
        Ok(())
    }

    /// Verifies and decrypts `stanza` in place (XEP-0200 §6; D40: the MAC is
    /// checked before anything is deciphered) and returns its control fields,
    /// which the caller must act on (a `<key/>` changes the peer's keys).
    ///
    /// On any failure the counter is unchanged and the stanza must be
    /// discarded; the caller ends the session.
    pub fn open(&mut self, stanza: &mut Stanza) -> Result<ControlFields, Error> {
        let received = parse_c(stanza)?;
        self.open_received(stanza, received)
    }

    /// [`StanzaCipher::open`] with the stanza's `<c/>` already parsed (by
    /// [`parse_c`]), so a caller that needs its fields first parses it once.
    pub(crate) fn open_received(
        &mut self,
        stanza: &mut Stanza,
        received: ReceivedEncrypted,
    ) -> Result<ControlFields, Error> {
        let c = self.counter;
        let accepted = self.profile.stanza_mac_counter_accepted(c);
        let verified = accepted.iter().any(|counter_bytes| {
            self.hash
                .verify_hmac(
                    self.km.as_bytes(),
                    &[&received.m_content, counter_bytes],
                    &received.content.mac,
                )
                .is_ok()
        });
        if !verified {
            return Err(PeerMisbehaved::BadStanzaMac.into());
        }
        let content = received.content;
        // D40: a stanza without <data/> (a bare re-key) has no m to decompress.
        let had_data = content.data.is_some();
        let (m, blocks, carry) = match content.data {
            Some(buf) if buf.is_empty() => {
                // An empty <data/> would consume no counter value, so the same
                // stanza would verify again: refuse it (O4).
                return Err(PeerMisbehaved::BadContent.into());
            }
            Some(buf) => self.decipher(c, buf)?,
            None => (Vec::new(), 1, None),
        };
        let m = if had_data {
            self.compression.decompress(m)?
        } else {
            m
        };
        let m = String::from_utf8(m).map_err(|_| PeerMisbehaved::BadContent)?;
        stanza
            .insert_decrypted(&m)
            .map_err(|_| PeerMisbehaved::BadContent)?;
        self.blocks_under_key = self.blocks_after(blocks)?;
        if let Some(carry) = carry {
            self.carry = carry;
        }
        self.counter = counters::advance(c, blocks);
        Ok(ControlFields {
            key: content.key,
            new: content.new,
            old: content.old,
        })
    }

    /// Deciphers m_final entering with counter `c`. Returns m, the blocks
    /// consumed and, in the gajim profile, the new keystream carry-over.
    #[allow(clippy::type_complexity)]
    fn decipher(
        &self,
        c: u128,
        mut buf: Vec<u8>,
    ) -> Result<(Vec<u8>, u128, Option<Zeroizing<Vec<u8>>>), Error> {
        if !crate::profile::rules(self.profile).carry_keystream || self.cipher_none() {
            let blocks = self.blocks(buf.len());
            self.kc
                .apply_keystream(self.profile.cipher_counter(c), &mut buf)?;
            return Ok((buf, blocks, None));
        }
        // D13 G19: Gajim 1.0.x keeps one keystream per direction; the unused
        // bytes of a partial last block come first, then whole new blocks.
        let used = self.carry.len().min(buf.len());
        for (b, k) in buf.iter_mut().zip(self.carry.iter()) {
            *b ^= k;
        }
        let mut carry = Zeroizing::new(self.carry.get(used..).unwrap_or_default().to_vec());
        let rest_len = buf.len() - used;
        if rest_len == 0 {
            return Ok((buf, 0, Some(carry)));
        }
        let blocks = blocks_for(rest_len);
        // Deciphering zero padding to whole blocks yields the leftover keystream.
        let padded = usize::try_from(blocks)
            .ok()
            .and_then(|b| b.checked_mul(16))
            .ok_or(PeerMisbehaved::BadContent)?;
        let mut rest = Zeroizing::new(vec![0u8; padded]);
        if let (Some(dst), Some(src)) = (rest.get_mut(..rest_len), buf.get(used..)) {
            dst.copy_from_slice(src);
        }
        self.kc
            .apply_keystream(self.profile.cipher_counter(c), &mut rest)?;
        if let (Some(dst), Some(src)) = (buf.get_mut(used..), rest.get(..rest_len)) {
            dst.copy_from_slice(src);
        }
        carry = Zeroizing::new(rest.get(rest_len..).unwrap_or_default().to_vec());
        Ok((buf, blocks, Some(carry)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use esession_sigma::keys::Role;
    use esession_wire::StanzaKind;

    fn keys(profile: Profile) -> DirectionKeys {
        DirectionKeys::derive(
            HashAlg::Sha256,
            CipherAlg::Aes128Ctr,
            profile,
            &[7; 32],
            Role::Initiator,
        )
        .unwrap()
    }

    fn msg(body: &str) -> Stanza {
        let mut s = Stanza::message("bob@example.com", "t1");
        s.push_body(body);
        s
    }

    #[test]
    fn seal_open_round_trip_with_zlib_and_counters() {
        for compression in [Compression::None, Compression::Zlib] {
            let mut tx = StanzaCipher::new(keys(Profile::Xep), 5).with_compression(compression);
            let mut rx = StanzaCipher::new(keys(Profile::Xep), 5).with_compression(compression);
            for text in ["Hello", "a longer message that spans blocks ..........", ""] {
                let mut s = msg(text);
                tx.seal(&mut s).unwrap();
                assert!(!s.to_xml().contains("Hello"));
                let control = rx.open(&mut s).unwrap();
                assert_eq!(control, ControlFields::default());
                assert!(s.to_xml().contains(&format!("<body>{text}</body>")) || text.is_empty());
                assert_eq!(tx.counter(), rx.counter());
            }
        }
    }

    #[test]
    fn replay_fails_and_leaves_the_counter() {
        let mut tx = StanzaCipher::new(keys(Profile::Xep), 1);
        let mut rx = StanzaCipher::new(keys(Profile::Xep), 1);
        let mut s = msg("once");
        tx.seal(&mut s).unwrap();
        let copy = s.clone();
        rx.open(&mut s).unwrap();
        let c = rx.counter();
        let mut again = copy;
        assert_eq!(
            rx.open(&mut again),
            Err(PeerMisbehaved::BadStanzaMac.into())
        );
        assert_eq!(rx.counter(), c);
    }

    #[test]
    fn block_limit_refuses_to_seal() {
        let mut tx = StanzaCipher::new(keys(Profile::Xep), 1);
        tx.blocks_under_key = MAX_BLOCKS_PER_KEY;
        let mut s = msg("x");
        assert_eq!(tx.seal(&mut s), Err(Error::KeyExhausted));
        assert_eq!(tx.counter(), 1);
    }

    #[test]
    fn gajim_sender_pads_to_blocks() {
        let mut tx = StanzaCipher::new(keys(Profile::Gajim), 1 << 121);
        let mut s = msg("Hi");
        tx.seal(&mut s).unwrap();
        let data = s.encrypted().unwrap().unwrap().content.data.unwrap();
        assert_eq!(data.len() % 16, 0);
    }

    /// D13 G19: a Gajim 1.0.x sender keeps one keystream; a stanza that is not
    /// block-aligned leaves keystream that the next stanza uses first.
    #[test]
    fn gajim_receiver_carries_partial_keystream_over() {
        let k = keys(Profile::Gajim);
        let c0: u128 = 1 << 121;
        let m1 = "<body>caf\u{e9}</body>".as_bytes().to_vec(); // 18 bytes: 2 blocks, 14 left over
        let m2 = b"<body>next one, longer than the leftover</body>".to_vec();
        let mut stream = [m1.clone(), m2.clone()].concat();
        k.kc()
            .apply_keystream(Profile::Gajim.cipher_counter(c0), &mut stream)
            .unwrap();
        let (ct1, ct2) = stream.split_at(m1.len());
        let c1 = c0 + blocks_for(m1.len());
        let stanza = |ct: &[u8], c: u128| {
            let mut content = Encrypted {
                data: Some(ct.to_vec()),
                ..Encrypted::default()
            };
            let m_content = content.m_content();
            content.mac = HashAlg::Sha256
                .hmac_parts(
                    k.km().as_bytes(),
                    &[&m_content, &esession_crypto::mpi::encode_u128(c)],
                )
                .as_bytes()
                .to_vec();
            let mut s = Stanza::new(StanzaKind::Message);
            s.replace_content_with(&content);
            s
        };
        let mut rx = StanzaCipher::new(keys(Profile::Gajim), c0);
        let mut s1 = stanza(ct1, c0);
        rx.open(&mut s1).unwrap();
        assert!(s1.to_xml().contains("caf\u{e9}"));
        assert_eq!(rx.counter(), c1);
        let mut s2 = stanza(ct2, c1);
        rx.open(&mut s2).unwrap();
        assert!(s2.to_xml().contains("next one, longer"));
    }
}
