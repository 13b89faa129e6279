//! What every state of an endpoint shares ([`Ctx`]), the failure of a
//! transition ([`Failure`]), and the values tests pin ([`TestPins`]).

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use esession_crypto::SecretBytes;
use esession_crypto::dh::{DhPrivateKey, ModpGroup};
use esession_crypto::rand_core::CryptoRng;
use esession_wire::{Condition, Negotiation, Rejection, Stanza, WireForm, bare};

use super::Output;
use crate::profile::{self, Rules};
use crate::store::{SessionStore, StoreError, StoreOp};
use crate::{Config, Error};

/// Nonce length we send (DECISIONS D2).
const NONCE_LEN: usize = 16;

/// Block size n in bits of every defined cipher (DECISIONS D6).
pub(super) const N_BITS: u32 = 128;

/// Values pinned for tests and published vectors (STYLE §3: a hook pins
/// ephemeral keys for tests), public with the feature `testing` only.
#[derive(Default)]
#[cfg_attr(not(feature = "testing"), allow(unreachable_pub, dead_code))]
pub struct TestPins {
    /// The thread Alice starts.
    pub thread: Option<String>,
    /// Our nonce (N_A or N_B).
    pub nonce: Option<Vec<u8>>,
    /// Our DH exponents, per group number.
    pub dh_x: Vec<(u32, Vec<u8>)>,
    /// Bob's C_A.
    pub c_a: Option<u128>,
    /// Alice's exact rshashes list (retained-secret hashes and random values,
    /// already shuffled), as a vector records it.
    pub rshashes: Option<Vec<Vec<u8>>>,
    /// Bob's random srshash when no SRS matched.
    pub srshash_random: Option<Vec<u8>>,
    /// The exponents of our re-keys, used in order (XEP-0200 §7.2).
    pub rekey_x: Vec<Vec<u8>>,
}

impl fmt::Debug for TestPins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestPins").finish_non_exhaustive()
    }
}

/// Shared context of all states.
pub(super) struct Ctx<R> {
    /// Shared between the sessions of an account (read-only but for the
    /// Gajim detection, which copies it first).
    pub(super) config: Arc<Config>,
    pub(super) rng: R,
    /// Boxed: empty outside tests and vectors, so it costs a pointer.
    pub(super) pins: Box<TestPins>,
    /// The full JID we address (Bob: msg1's sender; Alice: msg2's sender, D45).
    pub(super) peer: String,
    pub(super) thread: String,
    pub(super) out: VecDeque<Output>,
    pub(super) sas_confirmed: bool,
    /// The retained secret this session stored, for `confirm_sas`.
    pub(super) stored_secret: Option<SecretBytes>,
    /// Bob: the stored secret is pending until Alice's first authentic
    /// stanza proves she accepted msg4 (D37).
    pub(super) secret_pending: bool,
    /// The peer's verified public key (D28 bytes), if it used one.
    pub(super) peer_key: Option<Vec<u8>>,
    /// A peer with trusted keys presented none ([`crate::KeyStatus::NoKey`]).
    pub(super) key_missing: bool,
    /// Alice, 3-message: content to encrypt into msg3, and whether msg3
    /// also terminates (object encryption, XEP-0116 §4.6.4).
    pub(super) object: Option<(Stanza, bool)>,
}

impl<R> Ctx<R> {
    pub(super) fn new(config: Arc<Config>, rng: R, pins: TestPins) -> Self {
        Ctx {
            config,
            rng,
            pins: Box::new(pins),
            peer: String::new(),
            thread: String::new(),
            out: VecDeque::new(),
            sas_confirmed: false,
            stored_secret: None,
            secret_pending: false,
            peer_key: None,
            key_missing: false,
            object: None,
        }
    }

    /// The profile's wire rules.
    pub(super) fn rules(&self) -> &'static Rules {
        profile::rules(self.config.profile)
    }

    pub(super) fn peer_bare(&self) -> &str {
        bare(&self.peer)
    }

    /// A message to the peer in this session's thread.
    pub(super) fn message(&self) -> Stanza {
        Stanza::message(&self.peer, &self.thread)
    }

    /// The wire form of a negotiation message in this session's layout
    /// (D19-D23, or Gajim's, G16).
    pub(super) fn wire(&self, m: &Negotiation) -> Result<WireForm, Failure> {
        if self.rules().gajim_layout {
            m.to_gajim_wire()
        } else {
            m.to_wire()
        }
        .map_err(encode)
    }

    /// The normalized bytes of a form as this session MACs them (D16-D18).
    pub(super) fn form_bytes(&self, form: &WireForm) -> Result<Vec<u8>, esession_wire::Error> {
        form.form_bytes(self.rules().norm)
    }

    /// Queues a message carrying `form`.
    pub(super) fn send_form(&mut self, form: &WireForm) {
        let mut s = self.message();
        s.push_negotiation(form);
        self.out.push_back(Output::Send(s));
    }

    /// The other shared secret for this contact (D36).
    pub(super) fn oss(&self) -> Option<SecretBytes> {
        self.config
            .shared_password
            .as_ref()
            .and_then(|p| p.oss())
            .map(SecretBytes::from_slice)
    }
}

impl<R: CryptoRng> Ctx<R> {
    /// A fresh nonce (D2).
    pub(super) fn nonce(&mut self) -> Vec<u8> {
        if let Some(n) = self.pins.nonce.take() {
            return n;
        }
        let mut n = vec![0u8; NONCE_LEN];
        self.rng.fill_bytes(&mut n);
        n
    }

    /// A fresh DH key in `group` (D6).
    pub(super) fn dh_key(&mut self, group: ModpGroup) -> Result<DhPrivateKey, Error> {
        if let Some((_, x)) = self.pins.dh_x.iter().find(|(g, _)| *g == group.number()) {
            return Ok(DhPrivateKey::from_bytes(group, x)?);
        }
        Ok(DhPrivateKey::generate(
            group,
            self.config.exponent_policy,
            N_BITS,
            &mut self.rng,
        )?)
    }
}

/// A failure inside a transition: the error and the answer D44 requires.
pub(super) struct Failure {
    pub(super) error: Box<Error>,
    pub(super) reply: Option<Box<Rejection>>,
}

impl Failure {
    pub(super) fn silent(error: impl Into<Error>) -> Self {
        Failure {
            error: Box::new(error.into()),
            reply: None,
        }
    }

    pub(super) fn answer(error: impl Into<Error>, condition: Condition, fields: &[&str]) -> Self {
        Failure {
            error: Box::new(error.into()),
            reply: Some(Box::new(Rejection::new(
                condition,
                fields.iter().map(|f| (*f).to_owned()).collect(),
            ))),
        }
    }

    /// msg1/msg2 problems: not-acceptable naming the field (D44).
    pub(super) fn not_acceptable(error: impl Into<Error>, field: Option<&str>) -> Self {
        Self::answer(error, Condition::NotAcceptable, field.as_slice())
    }

    /// msg3/msg4 problems: feature-not-implemented (D44).
    pub(super) fn fni(error: impl Into<Error>) -> Self {
        Self::answer(error, Condition::FeatureNotImplemented, &[])
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::silent(error)
    }
}

impl From<esession_crypto::Error> for Failure {
    fn from(e: esession_crypto::Error) -> Self {
        Failure::silent(Error::from(e))
    }
}

/// Our own message could not be written.
pub(super) fn encode(e: esession_wire::Error) -> Failure {
    Failure::silent(Error::Encode(e))
}

/// Maps a store failure of `op` to the endpoint's error.
pub(super) fn store_failed<S: SessionStore + ?Sized>(
    op: StoreOp,
) -> impl FnOnce(S::Error) -> Error {
    move |e| Error::Store(StoreError::new(op, e))
}
