//! XEP-0200 stanza encryption with the session keys (XEP-0200 §6; DECISIONS
//! D13, D14, D38-D40).
//!
//! ```text
//! send:  m        = stanza content except thread/error/amp     (Stanza::encryptable_content, D38)
//!        m_final  = CIPHER(KC_own, C_own, m)                   (D13: first block uses C)
//!        a_mac    = HMAC(KM_own, m_content ‖ mpi(C_own))       (D39, D40, D14)
//!        C_own   += blocks of m (1 without <data>)
//! recv:  a_mac checked against m_content ‖ mpi(C_peer) before anything is deciphered,
//!        then m = DECIPHER(KC_peer, C_peer, m_final), C_peer += blocks
//! ```
//!
//! The counters are never reset; a stanza that is replayed, reordered or
//! tampered with is MACed under a different counter or content and fails.

use esession_crypto::hash::HashAlg;
use esession_sigma::keys::DirectionKeys;
use esession_sigma::{Profile, counters};
use esession_wire::{Encrypted, Stanza};

use crate::{Error, PeerMisbehaved};

/// One direction of an XEP-0200 session: its keys and counter.
#[derive(Debug)]
pub(crate) struct Direction {
    keys: DirectionKeys,
    counter: u128,
}

impl Direction {
    pub(crate) fn new(keys: DirectionKeys, counter: u128) -> Self {
        Direction { keys, counter }
    }

    fn hash(&self) -> HashAlg {
        self.keys.hash()
    }

    fn profile(&self) -> Profile {
        self.keys.profile()
    }

    /// Encrypts `stanza`'s content in place (XEP-0200 §6).
    pub(crate) fn seal(&mut self, stanza: &mut Stanza) -> Result<(), Error> {
        let m = stanza.encryptable_content();
        let c = self.counter;
        let (data, blocks) = if m.is_empty() {
            // D40: a stanza without <data> advances the counter by 1.
            (None, 1)
        } else {
            let mut buf = m.into_bytes();
            let blocks = self
                .keys
                .kc()
                .apply_keystream(self.profile().cipher_counter(c), &mut buf)?;
            (Some(buf), blocks)
        };
        let mut content = Encrypted {
            data,
            ..Encrypted::default()
        };
        let m_content = content.m_content();
        content.mac = self
            .hash()
            .hmac_parts(
                self.keys.km().as_bytes(),
                &[&m_content, &self.profile().stanza_mac_counter_bytes(c)],
            )
            .as_bytes()
            .to_vec();
        stanza.replace_content_with(&content);
        self.counter = counters::advance(c, blocks);
        Ok(())
    }

    /// Verifies and decrypts `stanza` in place (XEP-0200 §6; D40: MAC first).
    ///
    /// On any failure the counter is unchanged and the stanza is not modified
    /// in a way the caller may use; the caller ends the session.
    pub(crate) fn open(&mut self, stanza: &mut Stanza) -> Result<(), Error> {
        let received = stanza
            .encrypted()
            .map_err(|_| PeerMisbehaved::BadStanzaMac)?
            .ok_or(Error::Internal("open called without <c/>"))?;
        let c = self.counter;
        let accepted = self.profile().stanza_mac_counter_accepted(c);
        let verified = accepted.iter().any(|counter_bytes| {
            self.hash()
                .verify_hmac(
                    self.keys.km().as_bytes(),
                    &[&received.m_content, counter_bytes],
                    &received.content.mac,
                )
                .is_ok()
        });
        if !verified {
            return Err(PeerMisbehaved::BadStanzaMac.into());
        }
        if received.content.key.is_some() || received.content.new.is_some() {
            // Re-keying is not implemented by this version: a verified <key/>
            // cannot be honoured, so the session cannot continue safely.
            return Err(Error::Unsupported("re-key (<key/>, <new/>)"));
        }
        let (m, blocks) = match received.content.data {
            Some(buf) if buf.is_empty() => {
                // An empty <data/> would consume no counter value, so the same
                // stanza would verify again: refuse it.
                return Err(PeerMisbehaved::BadContent.into());
            }
            Some(mut buf) => {
                let blocks = self
                    .keys
                    .kc()
                    .apply_keystream(self.profile().cipher_counter(c), &mut buf)?;
                let m = String::from_utf8(buf).map_err(|_| PeerMisbehaved::BadContent)?;
                (m, blocks)
            }
            None => (String::new(), 1),
        };
        stanza
            .insert_decrypted(&m)
            .map_err(|_| PeerMisbehaved::BadContent)?;
        self.counter = counters::advance(c, blocks);
        Ok(())
    }
}
