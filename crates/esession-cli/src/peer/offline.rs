//! XEP-0187 offline sessions in peer mode (`offline_publish`, `offline_start`,
//! and the offline init and later stanzas arriving through `deliver`).
//!
//! ```text
//!  Alice: offline_publish ─▶ Publisher::publish ─▶ out: publish <iq/>, nonce
//!  Bob:   offline_start(iq) ─▶ Initiator::check_options + start ─▶ out: offline init
//!  Alice: deliver(init) ─▶ Receiver::came_online + accept ─▶ received
//!  Bob:   send / terminate ─▶ SendSession::seal / terminate ─▶ Alice: ReceiveSession::open
//! ```
//!
//! Options carry signatures but not Alice's key, so Bob must trust Alice's
//! key before `offline_start` (`trust` or `trusted_keys`), and Alice must
//! trust Bob's before his init arrives: the offline library accepts only
//! trusted keys, and peer mode has no trust on first use here.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use esession_crypto::sign::{SignAlg, SigningKey};
use esession_offline::{Audience, Initiator, Publisher, Receiver};
use esession_wire::{Element, Negotiation, Stanza};
use serde_json::{Value, json};

use super::{Effects, Session, Status, chat, received_entry};

/// The first data form (`<x xmlns='jabber:x:data'/>`) in `el`, depth first:
/// the options inside a publish `<iq/>`, or the form itself.
fn find_form(el: &Element) -> Option<&Element> {
    if el.is("x", "jabber:x:data") {
        return Some(el);
    }
    el.children().find_map(find_form)
}

fn err(e: impl std::fmt::Display) -> crate::Error {
    crate::Error::Peer(e.to_string())
}

impl Session {
    /// Our signing key for `alg`, generated if needed.
    fn signing_key(&mut self, alg: SignAlg) -> Result<SigningKey, crate::Error> {
        self.key_for(alg)?;
        let der = self
            .keys
            .iter()
            .find(|k| k.0.alg() == alg)
            .map(|k| k.2.clone())
            .ok_or_else(|| err("no signing key"))?;
        SigningKey::from_pkcs8_der(der.as_bytes()).map_err(err)
    }

    /// `offline_publish`: the publish iq in `out`; answers b64 N_A.
    pub(super) fn offline_publish(
        &mut self,
        now: SystemTime,
        lifetime: u64,
        fx: &mut Effects,
    ) -> Result<Value, crate::Error> {
        let key = self.signing_key(SignAlg::RsaSha256)?;
        let expires = now
            .checked_add(Duration::from_secs(lifetime))
            .ok_or_else(|| err("lifetime too long"))?;
        let mut publisher =
            Publisher::new(self.config.clone(), Audience::Subscribers, expires).signing_key(&key);
        if let Some((_, resource)) = self.own_jid.split_once('/') {
            publisher = publisher.match_resource(resource);
        }
        let published = publisher.publish(&mut self.key_rng, &mut self.store)?;
        let mut iq = published.publish;
        iq.set_attr("from", &self.own_jid);
        fx.out.push(iq.to_xml());
        Ok(Value::String(
            base64::engine::general_purpose::STANDARD.encode(&published.options.offer.my_nonce),
        ))
    }

    /// `offline_start`, as Bob: check the options and emit the one stanza
    /// that establishes the session and carries `text`.
    pub(super) fn offline_start(
        &mut self,
        now: SystemTime,
        xml: &str,
        text: &str,
        fx: &mut Effects,
    ) -> Result<(), crate::Error> {
        let el = Element::parse(xml).map_err(err)?;
        let form = find_form(&el).ok_or_else(|| err("no options form in xml"))?;
        let key = self.signing_key(SignAlg::RsaSha256)?;
        let initiator = Initiator::new(self.config.clone(), &key)?;
        let checked = initiator.check_options(now, &self.peer_jid, form, &self.store)?;
        let started = initiator.start(now, &checked, Some(chat(text)), false, &mut self.key_rng)?;
        let mut stanza = started.stanza;
        stanza.set_attr("from", &self.own_jid);
        fx.out.push(stanza.to_xml());
        self.offline_send = started.session;
        self.status = Status::Active;
        self.sas = None;
        Ok(())
    }

    /// Bob's `send` in an offline session.
    pub(super) fn offline_send(
        &mut self,
        now: SystemTime,
        content: Stanza,
        fx: &mut Effects,
    ) -> Result<bool, crate::Error> {
        let Some(s) = self.offline_send.as_mut() else {
            return Ok(false);
        };
        let mut stanza = s.seal(now, content)?;
        stanza.set_attr("from", &self.own_jid);
        fx.out.push(stanza.to_xml());
        Ok(true)
    }

    /// Bob's `terminate` in an offline session.
    pub(super) fn offline_terminate(&mut self, fx: &mut Effects) -> Result<bool, crate::Error> {
        let Some(s) = self.offline_send.take() else {
            return Ok(false);
        };
        let mut stanza = s.terminate()?;
        stanza.set_attr("from", &self.own_jid);
        fx.out.push(stanza.to_xml());
        self.status = Status::Terminated;
        Ok(true)
    }

    /// Alice's `deliver` of an offline init or a later offline stanza;
    /// `Err(stanza)` when it is neither.
    pub(super) fn offline_deliver(
        &mut self,
        now: SystemTime,
        stanza: Stanza,
        fx: &mut Effects,
    ) -> Result<(), Stanza> {
        if let Some(rs) = self.offline_recv.as_mut()
            && stanza.from() == Some(rs.peer())
        {
            match rs.open(stanza) {
                Ok(o) => {
                    if o.terminated {
                        self.status = Status::Terminated;
                        self.offline_recv = None;
                    } else if let Some(entry) = received_entry(&o.content) {
                        fx.received.push(entry);
                    }
                }
                Err(e) => fx
                    .received
                    .push(json!({"ok": false, "error": e.to_string()})),
            }
            return Ok(());
        }
        let is_init = matches!(
            stanza.negotiation(),
            Ok(Some(n)) if matches!(n.message, Negotiation::OfflineInit(_))
        );
        if !is_init {
            return Err(stanza);
        }
        if let Err(e) = self.offline_accept(now, stanza, fx) {
            fx.received
                .push(json!({"ok": false, "error": e.to_string()}));
        }
        Ok(())
    }

    fn offline_accept(
        &mut self,
        now: SystemTime,
        stanza: Stanza,
        fx: &mut Effects,
    ) -> Result<(), crate::Error> {
        if self.receiver.is_none() {
            // XEP-0187 §3.4: Alice is back; the clear iq goes to her own PEP
            // node, not to the peer, so it is only logged.
            let back = Receiver::came_online(self.config.clone(), &mut self.store)?;
            eprintln!(
                "esession peer: back online; would send {}",
                back.clear_subscriber_options.to_xml()
            );
            self.receiver = Some(back.receiver);
        }
        let receiver = self.receiver.as_mut().ok_or_else(|| err("no receiver"))?;
        let accepted = receiver.accept(now, stanza, &mut self.store)?;
        let fingerprint = esession_online::fingerprint_of_key(&accepted.peer_key)?;
        self.peer_fingerprint = Some(hex::encode(fingerprint));
        if let Some(entry) = accepted.content.as_ref().and_then(received_entry) {
            fx.received.push(entry);
        }
        self.sas = None;
        self.status = if accepted.terminated {
            Status::Terminated
        } else {
            Status::Active
        };
        self.offline_recv = accepted.session;
        Ok(())
    }
}
