//! Where a received stanza goes: by contact (the sender's bare JID), then by
//! what it is and its thread.
//!
//! | stanza | goes to |
//! |---|---|
//! | `<presence/>` | the contact's presence: online starts queued content online and ends our offline session (XEP-0187 §5); offline starts it offline |
//! | `<iq type='result'/'error'>` to one of our requests | the options result (XEP-0187 §3.2), or our publish/create requests |
//! | `<message>` with an offline init | the offline [`Receiver`](esession_offline::Receiver) (XEP-0187 §3.4) |
//! | `<message>` in a known thread | its online session or offline receive session |
//! | `<message>` with a new ESession request | a new responder session |
//! | `<message>` with a PEP notification of options | kept for an offline start |
//! | anything else | [`Event::Unhandled`] |

use std::time::SystemTime;

use esession_crypto::rand_core::CryptoRng;
use esession_offline::{Audience, OfflineStore, pep};
use esession_online::Endpoint;
use esession_wire::{Negotiation, Stanza, StanzaKind, bare};

use super::contact::{Online, Presence, session_rng};
use super::{Account, AccountError, EndReason, Established, Event, PendingIq};

/// The XEP-0060 event namespace of PEP notifications.
const NS_PUBSUB_EVENT: &str = "http://jabber.org/protocol/pubsub#event";

impl<S: OfflineStore, R: CryptoRng> Account<S, R> {
    /// Takes every stanza the server delivers to the account: messages,
    /// presence and iq answers. What belongs to an ESession is processed and
    /// reported as events; the rest comes back as [`Event::Unhandled`].
    pub fn handle_stanza(&mut self, now: SystemTime, stanza: Stanza) {
        match stanza.kind() {
            StanzaKind::Presence => self.on_presence(now, stanza),
            StanzaKind::Iq => self.on_iq(now, stanza),
            StanzaKind::Message => self.on_message(now, stanza),
        }
    }

    fn on_presence(&mut self, now: SystemTime, stanza: Stanza) {
        let Some(from) = stanza.from().map(str::to_owned) else {
            self.events.push_back(Event::Unhandled(stanza));
            return;
        };
        let contact = bare(&from).to_owned();
        if contact.is_empty() || contact == bare(&self.jid) {
            self.events.push_back(Event::Unhandled(stanza));
            return;
        }
        let resource = from.split_once('/').map(|(_, r)| r.to_owned());
        let available = match stanza.stanza_type() {
            None => true,
            Some("unavailable") => false,
            // Subscriptions and errors are the application's.
            _ => {
                self.events.push_back(Event::Unhandled(stanza));
                return;
            }
        };
        let c = self.contact(&contact);
        let was_available = matches!(c.presence, Presence::Available(_));
        match (&mut c.presence, available, resource) {
            (Presence::Available(list), true, Some(r)) => {
                if !list.contains(&r) {
                    list.push(r);
                }
            }
            (p, true, r) => *p = Presence::Available(r.into_iter().collect()),
            (Presence::Available(list), false, Some(r)) => {
                list.retain(|x| *x != r);
                if list.is_empty() {
                    c.presence = Presence::Unavailable;
                }
            }
            (p, false, _) => *p = Presence::Unavailable,
        }
        let now_available = matches!(c.presence, Presence::Available(_));
        if now_available && !was_available {
            // XEP-0187 §5: Bob terminates his offline session as soon as
            // Alice is online; what follows goes in an online session.
            if let Some(s) = c.send.take() {
                match s.terminate() {
                    Ok(t) => self.events.push_back(Event::Send(t)),
                    Err(e) => self.fail(&contact, e.into()),
                }
                self.events.push_back(Event::Ended {
                    contact: contact.clone(),
                    reason: EndReason::OfflineSent,
                });
            }
        }
        if now_available != was_available
            && let Err(e) = self.start_for_queue(now, &contact)
        {
            self.fail(&contact, e);
        }
    }

    fn on_iq(&mut self, now: SystemTime, stanza: Stanza) {
        let kind = stanza.stanza_type().unwrap_or_default().to_owned();
        let pending = match stanza.id() {
            Some(id) if kind == "result" || kind == "error" => self.pending.remove(id),
            _ => None,
        };
        let Some(pending) = pending else {
            self.events.push_back(Event::Unhandled(stanza));
            return;
        };
        match pending {
            // A node that already exists is what we wanted (XEP-0187 §3.1).
            PendingIq::CreateNode => {}
            PendingIq::Publish if kind == "error" => {
                self.fail("", AccountError::ServerError(error_condition(&stanza)));
            }
            PendingIq::Publish => {}
            PendingIq::Options { contact, audience } => {
                self.contact(&contact).options_iq = None;
                let options = if kind == "result" {
                    pep::options_from_result(&stanza).ok().flatten()
                } else {
                    None
                };
                match (options, audience) {
                    (Some(x), _) => {
                        if let Err(e) = self.start_offline(now, &contact, &x) {
                            self.fail(&contact, e);
                        }
                    }
                    // §3.2: the node for everyone when the subscribers'
                    // node is not ours to read or holds nothing.
                    (None, Audience::Subscribers) => {
                        self.request_options(&contact, Audience::Everyone);
                    }
                    (None, _) => {
                        let queued = std::mem::take(&mut self.contact(&contact).queue);
                        if !queued.is_empty() {
                            self.fail(&contact, AccountError::NoOfflineOptions(contact.clone()));
                        }
                    }
                }
            }
        }
    }

    fn on_message(&mut self, now: SystemTime, stanza: Stanza) {
        let Some(from) = stanza.from().map(str::to_owned) else {
            self.events.push_back(Event::Unhandled(stanza));
            return;
        };
        let contact = bare(&from).to_owned();
        if contact.is_empty() {
            self.events.push_back(Event::Unhandled(stanza));
            return;
        }
        if let Some(options) = options_notification(&stanza) {
            // A PEP notification of the contact's options: kept for when it
            // is offline and we have something to send.
            let c = self.contact(&contact);
            c.options = Some(options);
            let waiting = c.presence == Presence::Unavailable
                && !c.queue.is_empty()
                && c.options_iq.is_none();
            if waiting
                && let Some(x) = c.options.take()
                && let Err(e) = self.start_offline(now, &contact, &x)
            {
                self.fail(&contact, e);
            }
            return;
        }
        let negotiation = stanza.negotiation().ok().flatten();
        if let Some(n) = &negotiation
            && matches!(n.message, Negotiation::OfflineInit(_))
        {
            self.on_offline_init(now, &contact, stanza);
            return;
        }
        let thread = stanza.thread();
        let c = self.contacts.entry(contact.clone()).or_default();
        if let Some(t) = &thread
            && let Some(o) = c
                .online
                .iter_mut()
                .find(|o| o.ep.thread() == t && !o.ep.is_closed())
        {
            if let Err(e) = o.ep.handle_stanza(now, stanza, &mut self.store) {
                self.events.push_back(Event::Failed {
                    contact: contact.clone(),
                    error: e.into(),
                });
            }
            self.drain(now, &contact);
            return;
        }
        if let Some(t) = &thread
            && let Some(i) = c
                .receive
                .iter()
                .position(|r| r.thread() == Some(t.as_str()))
        {
            let opened = c.receive[i].open(stanza);
            match opened {
                Ok(o) if o.terminated => {
                    // The contact's terminate (XEP-0187 §5): nothing to show.
                    c.receive.remove(i);
                    self.events.push_back(Event::Ended {
                        contact,
                        reason: EndReason::OfflineByPeer,
                    });
                }
                Ok(o) => self.events.push_back(Event::Received {
                    contact,
                    stanza: o.content,
                    offline: true,
                    created: o.created,
                }),
                Err(e) => self.fail(&contact, e.into()),
            }
            return;
        }
        if let Some(n) = &negotiation
            && matches!(n.message, Negotiation::Request(_))
        {
            let rng = session_rng(&mut self.rng);
            match Endpoint::responder(self.config.clone(), rng) {
                Ok(mut ep) => {
                    let r = ep.handle_stanza(now, stanza, &mut self.store);
                    self.contact(&contact).online.push(Online::new(ep));
                    if let Err(e) = r {
                        self.fail(&contact, e.into());
                    }
                    self.drain(now, &contact);
                }
                Err(e) => self.fail(&contact, e.into()),
            }
            return;
        }
        self.events.push_back(Event::Unhandled(stanza));
    }

    /// Alice back online: an offline init the server kept for her (XEP-0187
    /// §3.4). Accepting it needs the receiver of [`Account::came_online`],
    /// made here if the application did not call it.
    fn on_offline_init(&mut self, now: SystemTime, contact: &str, stanza: Stanza) {
        if self.receiver.is_none()
            && let Err(e) = self.came_online(now)
        {
            self.fail(contact, e);
            return;
        }
        let Some(receiver) = self.receiver.as_mut() else {
            return;
        };
        match receiver.accept(now, stanza, &mut self.store) {
            Ok(accepted) => {
                self.events.push_back(Event::Established(Established {
                    contact: contact.to_owned(),
                    profile: esession_online::Profile::Xep,
                    negotiated: None,
                    retained_secret_used: false,
                    chain_verified: false,
                    offline: true,
                    plain: false,
                }));
                if let Some(content) = accepted.content {
                    self.events.push_back(Event::Received {
                        contact: contact.to_owned(),
                        stanza: content,
                        offline: true,
                        created: accepted.created,
                    });
                }
                if accepted.terminated {
                    self.events.push_back(Event::Ended {
                        contact: contact.to_owned(),
                        reason: EndReason::OfflineByPeer,
                    });
                }
                if let Some(s) = accepted.session {
                    self.contact(contact).receive.push(s);
                }
            }
            Err(e) => self.fail(contact, e.into()),
        }
    }
}

/// The options form in a PEP notification of the contact's options node.
fn options_notification(stanza: &Stanza) -> Option<esession_wire::Element> {
    let event = stanza.children().find(|c| c.is("event", NS_PUBSUB_EVENT))?;
    let items = event.children().find(|c| c.is("items", NS_PUBSUB_EVENT))?;
    let node = items.attr("node")?;
    if node != Audience::Subscribers.node() && node != Audience::Everyone.node() {
        return None;
    }
    items
        .children()
        .filter(|c| c.is("item", NS_PUBSUB_EVENT))
        .last()?
        .children()
        .find(|x| x.is("x", esession_wire::NS_DATA))
        .cloned()
}

/// The defined condition of an iq error, for the user.
fn error_condition(stanza: &Stanza) -> String {
    stanza
        .children()
        .find(|c| c.name() == "error")
        .and_then(|e| e.children().next().map(|c| c.name().to_owned()))
        .unwrap_or_else(|| "error".to_owned())
}
