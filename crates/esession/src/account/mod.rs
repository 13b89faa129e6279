//! One XMPP account's ESessions with all its contacts, online and offline.
//!
//! [`Account`] is what an application drives: it owns the account's store,
//! signing key and generator, and the sessions of every contact. Sans-IO,
//! like the protocol crates below it: received stanzas and the time go in
//! through [`Account::handle_stanza`], commands through the other methods,
//! and [`Account::poll_event`] gives the stanzas to send ([`Event::Send`])
//! and what to tell the user, each with the contact it concerns.
//!
//! ```text
//!   server ── <message/> <presence/> <iq/> ──▶ Account::handle_stanza
//!                                                │ by contact (bare JID), then thread:
//!                                                │   online Endpoint (XEP-0116/0200)
//!                                                │   offline init / ReceiveSession (XEP-0187 §3.4)
//!                                                │   options result or PEP notification (§3.2)
//!                                                │   presence: online, offline
//!   application ── send(contact, content) ─────▶ │ session? send : queue, then
//!                                                │   contact online  → initiate (msg1)
//!                                                │   contact offline → fetch options → offline init
//!   server ◀── Event::Send ◀─── poll_event ◀─────┘ and Requested, SasReady, PeerKey,
//!                                                  Established, Received, Ended, Failed …
//! ```
//!
//! The profile is recognised per contact by default (`auto`: Gajim from its
//! msg1 or msg2, [`esession_online::Config::detect_gajim`]), and every
//! [`Established`] event says which profile ran.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use esession_crypto::rand_core::CryptoRng;
use esession_crypto::sign::SigningKey;
use esession_offline::{Audience, Initiator, OfflineStore, Publisher, Receiver, pep};
use esession_online::{Config, Endpoint, IdentityKey, Output, StoreError, StoreOp, TrustedKey};
use esession_wire::{Stanza, StanzaKind, bare};

mod contact;
mod event;
mod route;

use contact::{Contact, Online, Presence, session_rng};
pub use contact::{SessionInfo, SessionState};
pub use event::{AccountError, EndReason, Established, Event, WaitingFor};

/// How an [`Account`] behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AccountConfig {
    /// The configuration of every online session. The default recognises a
    /// Gajim peer (`auto`); set [`Config::profile`] to force `xep` or `gajim`.
    pub session: Config,
    /// Accept every ESession request without asking the application.
    pub auto_accept: bool,
    /// Offline options are bound to this resource (XEP-0187 `match_resource`):
    /// only this client holds their private values anyway.
    pub match_resource: bool,
}

impl Default for AccountConfig {
    fn default() -> Self {
        let mut session = Config::default();
        session.detect_gajim = true;
        AccountConfig {
            session,
            auto_accept: false,
            match_resource: true,
        }
    }
}

/// What a request of ours to the server was for.
enum PendingIq {
    /// A contact's offline options (XEP-0187 §3.2).
    Options { contact: String, audience: Audience },
    /// Creating our PEP node: a conflict only means it exists.
    CreateNode,
    /// Publishing or clearing our options.
    Publish,
}

/// One account's ESessions. See the [module documentation](self).
pub struct Account<S, R> {
    jid: String,
    config: Arc<Config>,
    auto_accept: bool,
    match_resource: bool,
    store: S,
    rng: R,
    contacts: HashMap<String, Contact>,
    receiver: Option<Receiver>,
    pending: HashMap<String, PendingIq>,
    deadlines: BTreeSet<(SystemTime, String)>,
    events: VecDeque<Event>,
    next_id: u64,
}

impl<S, R> std::fmt::Debug for Account<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("jid", &self.jid)
            .field("contacts", &self.contacts.len())
            .finish_non_exhaustive()
    }
}

fn store_error<E: std::error::Error + Send + Sync + 'static>(
    op: StoreOp,
) -> impl FnOnce(E) -> AccountError {
    move |e| AccountError::Store(StoreError::new(op, e))
}

impl<S: OfflineStore, R: CryptoRng> Account<S, R> {
    /// The account of `jid` (a full JID: its resource names this client),
    /// with its store and a cryptographic generator (the OS one in
    /// applications: [`crate::os_rng`]).
    pub fn new(jid: &str, config: AccountConfig, store: S, rng: R) -> Result<Self, AccountError> {
        if jid.is_empty() {
            return Err(AccountError::InvalidJid(jid.to_owned()));
        }
        config.session.validate()?;
        Ok(Account {
            jid: jid.to_owned(),
            config: Arc::new(config.session),
            auto_accept: config.auto_accept,
            match_resource: config.match_resource,
            store,
            rng,
            contacts: HashMap::new(),
            receiver: None,
            pending: HashMap::new(),
            deadlines: BTreeSet::new(),
            events: VecDeque::new(),
            next_id: 0,
        })
    }

    /// Our signing key: it signs our offline options and offline inits
    /// (XEP-0187, RSA or DSA), and our identity in public-key modes.
    pub fn with_signing_key(mut self, key: SigningKey) -> Self {
        Arc::make_mut(&mut self.config).identity_key = Some(IdentityKey::new(key));
        self
    }

    /// Our full JID.
    pub fn jid(&self) -> &str {
        &self.jid
    }

    /// The account's store (retained secrets, trusted keys, offline values).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, to trust or forget keys outside a session.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// The next event, if any. Drain after every input or command.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Account::handle_timeout`] should be called next, if ever.
    pub fn poll_timeout(&self) -> Option<SystemTime> {
        self.deadlines.first().map(|(t, _)| *t)
    }

    /// Lets the sessions whose deadline passed act (a terminate left
    /// unacknowledged, XEP-0116 §5).
    pub fn handle_timeout(&mut self, now: SystemTime) {
        while let Some((t, contact)) = self.deadlines.first().cloned() {
            if t > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(c) = self.contacts.get_mut(&contact) {
                for o in &mut c.online {
                    o.ep.handle_timeout(now);
                }
            }
            self.drain(now, &contact);
        }
    }

    /// How many contacts the account holds state for.
    pub fn contact_count(&self) -> usize {
        self.contacts.len()
    }

    /// The sessions with `contact` (a bare or full JID), newest last.
    pub fn sessions(&self, contact: &str) -> Vec<SessionInfo> {
        let contact = bare(contact);
        let Some(c) = self.contacts.get(contact) else {
            return Vec::new();
        };
        let mut out: Vec<SessionInfo> = c
            .online
            .iter()
            .filter(|o| !o.ep.is_closed())
            .map(|o| {
                let e = o.established.as_ref();
                SessionInfo {
                    contact: contact.to_owned(),
                    thread: o.ep.thread().to_owned(),
                    state: if o.ep.is_plain() {
                        SessionState::Plain
                    } else if o.ep.is_established() {
                        SessionState::Established
                    } else {
                        SessionState::Negotiating
                    },
                    profile: o.ep.profile(),
                    negotiated: e.and_then(|e| e.negotiated.clone()),
                    sas: o.sas.clone(),
                    verified: e.is_some_and(|e| e.chain_verified),
                    retained_secret_used: e.is_some_and(|e| e.retained_secret_used),
                    peer_fingerprint: o.peer_fingerprint.clone(),
                }
            })
            .collect();
        if let Some(s) = &c.send {
            out.push(offline_info(
                contact,
                s.thread(),
                SessionState::OfflineSending,
            ));
        }
        for r in &c.receive {
            let thread = r.thread().unwrap_or_default();
            out.push(offline_info(
                contact,
                thread,
                SessionState::OfflineReceiving,
            ));
        }
        out
    }

    fn id(&mut self, what: &str) -> String {
        self.next_id += 1;
        format!("esession-{what}-{}", self.next_id)
    }

    fn contact(&mut self, jid: &str) -> &mut Contact {
        self.contacts.entry(bare(jid).to_owned()).or_default()
    }

    fn fail(&mut self, contact: &str, error: AccountError) {
        self.events.push_back(Event::Failed {
            contact: contact.to_owned(),
            error,
        });
    }

    fn send_stanza(&mut self, stanza: Stanza) {
        self.events.push_back(Event::Send(stanza));
    }

    /// Sends `content` (a message, or presence or iq if negotiated) to
    /// `contact` encrypted: in the session with the contact if there is one;
    /// otherwise it is queued ([`Event::Waiting`]) and a session is started:
    /// online if the contact is available, offline through its published
    /// options if it is not (XEP-0187), and once its presence is known if
    /// that is not known yet.
    pub fn send(
        &mut self,
        now: SystemTime,
        contact: &str,
        content: Stanza,
    ) -> Result<(), AccountError> {
        let contact = self.checked(contact)?;
        let c = self.contact(&contact);
        if let Some(o) = c.active() {
            let r = o.ep.send(now, content);
            self.drain(now, &contact);
            return r.map_err(Into::into);
        }
        if let Some(s) = c.send.as_mut() {
            let sealed = s.seal(now, content)?;
            self.send_stanza(sealed);
            return Ok(());
        }
        c.queue.push(content);
        self.start_for_queue(now, &contact)
    }

    /// Sends a chat message with `body` to `contact` (see [`Account::send`]).
    pub fn send_text(
        &mut self,
        now: SystemTime,
        contact: &str,
        body: &str,
    ) -> Result<(), AccountError> {
        let mut m = Stanza::new(StanzaKind::Message);
        m.set_attr("type", "chat");
        m.push_body(body);
        self.send(now, contact, m)
    }

    /// Starts an online negotiation with `contact` (a full JID addresses one
    /// resource; a bare JID lets the server choose), whatever its presence.
    pub fn start(&mut self, now: SystemTime, contact: &str) -> Result<(), AccountError> {
        let bare_contact = self.checked(contact)?;
        let rng = session_rng(&mut self.rng);
        let ep = Endpoint::initiate(self.config.clone(), rng, now, contact)?;
        self.contact(&bare_contact).online.push(Online::new(ep));
        self.drain(now, &bare_contact);
        Ok(())
    }

    fn checked(&self, contact: &str) -> Result<String, AccountError> {
        let b = bare(contact);
        if b.is_empty() || b == bare(&self.jid) {
            return Err(AccountError::InvalidJid(contact.to_owned()));
        }
        Ok(b.to_owned())
    }

    /// Starts whatever session the contact's presence allows for its queue.
    fn start_for_queue(&mut self, now: SystemTime, contact: &str) -> Result<(), AccountError> {
        let c = self.contact(contact);
        if c.queue.is_empty() {
            return Ok(());
        }
        let waiting_for = if c.negotiating() {
            WaitingFor::Negotiation
        } else if c.options_iq.is_some() {
            WaitingFor::OfflineOptions
        } else {
            match &c.presence {
                Presence::Available(resources) => {
                    let to = match resources.first() {
                        Some(r) => format!("{contact}/{r}"),
                        None => contact.to_owned(),
                    };
                    self.start(now, &to)?;
                    WaitingFor::Negotiation
                }
                Presence::Unavailable => {
                    if let Some(options) = c.options.take() {
                        return self.start_offline(now, contact, &options);
                    }
                    self.request_options(contact, Audience::Subscribers);
                    WaitingFor::OfflineOptions
                }
                Presence::Unknown => WaitingFor::Presence,
            }
        };
        self.events.push_back(Event::Waiting {
            contact: contact.to_owned(),
            waiting_for,
        });
        Ok(())
    }

    /// Accepts the contact's pending request (after [`Event::Requested`]).
    pub fn accept(&mut self, now: SystemTime, contact: &str) -> Result<(), AccountError> {
        self.decide(now, contact, true)
    }

    /// Declines the contact's pending request.
    pub fn reject(&mut self, now: SystemTime, contact: &str) -> Result<(), AccountError> {
        self.decide(now, contact, false)
    }

    fn decide(&mut self, now: SystemTime, contact: &str, yes: bool) -> Result<(), AccountError> {
        let contact = bare(contact).to_owned();
        let o = self
            .contacts
            .get_mut(&contact)
            .and_then(|c| c.online.iter_mut().rev().find(|o| o.requested))
            .ok_or_else(|| AccountError::NoSession(contact.clone()))?;
        o.requested = false;
        let r = if yes {
            o.ep.accept(now)
        } else {
            o.ep.reject(now)
        };
        self.drain(now, &contact);
        r.map_err(Into::into)
    }

    /// Records that the user confirmed the SAS of the session with `contact`
    /// (XEP-0116 §9): its retained secret is marked verified.
    pub fn confirm_sas(&mut self, contact: &str) -> Result<(), AccountError> {
        let contact = bare(contact).to_owned();
        let Some(o) = self.contacts.get_mut(&contact).and_then(Contact::current) else {
            return Err(AccountError::NoSession(contact));
        };
        o.ep.confirm_sas(&mut self.store)?;
        if let Some(e) = &mut o.established {
            e.chain_verified = true;
        }
        Ok(())
    }

    /// Trusts the key the contact presented (after [`Event::PeerKey`]),
    /// under `petname`.
    pub fn trust_key(&mut self, contact: &str, petname: &str) -> Result<(), AccountError> {
        let contact = bare(contact).to_owned();
        let Some(o) = self.contacts.get_mut(&contact).and_then(Contact::current) else {
            return Err(AccountError::NoSession(contact));
        };
        o.ep.trust_peer_key(petname, &mut self.store)?;
        Ok(())
    }

    /// Refuses the key the contact presented: the session ends (XEP-0116 §8.5).
    pub fn reject_key(&mut self, now: SystemTime, contact: &str) -> Result<(), AccountError> {
        let contact = bare(contact).to_owned();
        let Some(o) = self.contacts.get_mut(&contact).and_then(Contact::current) else {
            return Err(AccountError::NoSession(contact));
        };
        let r = o.ep.reject_peer_key(now);
        self.drain(now, &contact);
        r.map_err(Into::into)
    }

    /// Trusts `key` for `contact` outside any session (a key exchanged out
    /// of band, which offline sessions require: XEP-0187 §3.2, §3.4).
    pub fn trust(&mut self, contact: &str, key: TrustedKey) -> Result<(), AccountError> {
        self.store
            .trust_key(bare(contact), key)
            .map_err(store_error(StoreOp::WriteKey))
    }

    /// Ends every session with `contact`: online ones with a terminate
    /// (XEP-0116 §5), our offline one with its terminate (XEP-0187 §5).
    pub fn terminate(&mut self, now: SystemTime, contact: &str) -> Result<(), AccountError> {
        let contact = bare(contact).to_owned();
        let Some(c) = self.contacts.get_mut(&contact) else {
            return Err(AccountError::NoSession(contact));
        };
        let mut result = Ok(());
        for o in &mut c.online {
            if (o.ep.is_established() || o.ep.is_plain())
                && let Err(e) = o.ep.terminate(now)
            {
                result = Err(e.into());
            }
        }
        let send = c.send.take();
        self.drain(now, &contact);
        if let Some(s) = send {
            let stanza = s.terminate()?;
            self.send_stanza(stanza);
            self.events.push_back(Event::Ended {
                contact: contact.clone(),
                reason: EndReason::OfflineSent,
            });
        }
        result
    }

    /// Before going offline (XEP-0187 §3.1): signs and publishes offline
    /// options that expire `lifetime` from `now`, keeping their private
    /// values in the store. The node-creation and publish iqs come out as
    /// [`Event::Send`].
    pub fn publish_offline_options(
        &mut self,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<(), AccountError> {
        let key = self
            .config
            .identity_key
            .clone()
            .ok_or(AccountError::NoSigningKey)?;
        let mut publisher = Publisher::new(
            (*self.config).clone(),
            Audience::Subscribers,
            now + lifetime,
        )
        .signing_key(key.signing_key());
        if self.match_resource
            && let Some((_, resource)) = self.jid.split_once('/')
        {
            publisher = publisher.match_resource(resource);
        }
        let published = publisher.publish(&mut self.rng, &mut self.store)?;
        for (mut iq, what, kind) in [
            (published.create_node, "create", PendingIq::CreateNode),
            (published.publish, "publish", PendingIq::Publish),
        ] {
            let id = self.id(what);
            iq.set_attr("id", &id);
            self.pending.insert(id, kind);
            self.send_stanza(iq);
        }
        Ok(())
    }

    /// Just after logging in (XEP-0187 §3.4): the subscribers' options are
    /// withdrawn, their private values leave the store for memory, and the
    /// offline inits the server kept for us can be accepted as they arrive.
    pub fn came_online(&mut self, _now: SystemTime) -> Result<(), AccountError> {
        let back = Receiver::came_online((*self.config).clone(), &mut self.store)?;
        self.receiver = Some(back.receiver);
        let mut iq = back.clear_subscriber_options;
        let id = self.id("clear");
        iq.set_attr("id", &id);
        self.pending.insert(id, PendingIq::Publish);
        self.send_stanza(iq);
        Ok(())
    }

    /// Asks the contact's PEP node for its offline options (XEP-0187 §3.2).
    fn request_options(&mut self, contact: &str, audience: Audience) {
        let id = self.id("options");
        let iq = pep::request_options(contact, audience, &id);
        self.contact(contact).options_iq = Some((id.clone(), audience));
        self.pending.insert(
            id,
            PendingIq::Options {
                contact: contact.to_owned(),
                audience,
            },
        );
        self.send_stanza(iq);
    }

    /// Bob: checks the contact's options and starts an offline session
    /// carrying the queued content (XEP-0187 §3.2-§3.3).
    fn start_offline(
        &mut self,
        now: SystemTime,
        contact: &str,
        options: &esession_wire::Element,
    ) -> Result<(), AccountError> {
        let key = self
            .config
            .identity_key
            .clone()
            .ok_or(AccountError::NoSigningKey)?;
        let initiator = Initiator::new((*self.config).clone(), key.signing_key())?;
        let checked = initiator.check_options(now, contact, options, &self.store)?;
        let mut queue = std::mem::take(&mut self.contact(contact).queue).into_iter();
        let first = queue.next();
        let started = initiator.start(now, &checked, first, false, &mut self.rng)?;
        self.send_stanza(started.stanza);
        let mut session = started.session;
        if let Some(s) = session.as_mut() {
            for content in queue {
                let sealed = s.seal(now, content)?;
                self.send_stanza(sealed);
            }
        }
        self.contact(contact).send = session;
        self.events.push_back(Event::Established(Established {
            contact: contact.to_owned(),
            profile: esession_online::Profile::Xep,
            negotiated: Some(checked.chosen().negotiated.clone()),
            retained_secret_used: false,
            chain_verified: false,
            offline: true,
            plain: false,
        }));
        Ok(())
    }

    /// Moves an online session's outputs into account events, and acts on
    /// them: content waiting for the session goes out once it is established.
    fn drain(&mut self, now: SystemTime, contact: &str) {
        let Some(c) = self.contacts.get_mut(contact) else {
            return;
        };
        let mut flush = false;
        let mut requested = Vec::new();
        for (i, o) in c.online.iter_mut().enumerate() {
            while let Some(out) = o.ep.poll_output() {
                let event = match out {
                    Output::Send(s) => Event::Send(s),
                    Output::Requested(r) => {
                        o.requested = true;
                        requested.push(i);
                        Event::Requested {
                            contact: contact.to_owned(),
                            negotiated: Some(r.negotiated),
                        }
                    }
                    Output::PlainRequested(_) => {
                        o.requested = true;
                        requested.push(i);
                        Event::Requested {
                            contact: contact.to_owned(),
                            negotiated: None,
                        }
                    }
                    Output::SasReady { sas } => {
                        o.sas = Some(sas.clone());
                        Event::SasReady {
                            contact: contact.to_owned(),
                            sas,
                        }
                    }
                    Output::PeerKey(key) => {
                        o.peer_fingerprint = Some(key.fingerprint.clone());
                        Event::PeerKey {
                            contact: contact.to_owned(),
                            key,
                        }
                    }
                    Output::Established(e) => {
                        flush = true;
                        let e = Established {
                            contact: contact.to_owned(),
                            profile: e.profile,
                            negotiated: Some(e.negotiated),
                            retained_secret_used: e.retained_secret_used,
                            chain_verified: e.chain_verified,
                            offline: false,
                            plain: false,
                        };
                        o.established = Some(e.clone());
                        Event::Established(e)
                    }
                    Output::PlainEstablished(_) => {
                        flush = true;
                        let e = Established {
                            contact: contact.to_owned(),
                            profile: o.ep.profile(),
                            negotiated: None,
                            retained_secret_used: false,
                            chain_verified: false,
                            offline: false,
                            plain: true,
                        };
                        o.established = Some(e.clone());
                        Event::Established(e)
                    }
                    Output::Received(stanza) => Event::Received {
                        contact: contact.to_owned(),
                        stanza,
                        offline: false,
                        created: None,
                    },
                    Output::Terminated(r) => Event::Ended {
                        contact: contact.to_owned(),
                        reason: EndReason::Online(r),
                    },
                    Output::Failed(e) => Event::Failed {
                        contact: contact.to_owned(),
                        error: e.into(),
                    },
                    _ => continue,
                };
                self.events.push_back(event);
            }
            if let Some(t) = o.ep.poll_timeout() {
                self.deadlines.insert((t, contact.to_owned()));
            }
        }
        c.online.retain(|o| !o.ep.is_closed());
        if c.is_idle() {
            // Nothing left for this contact: hold no state for it.
            self.contacts.remove(contact);
            return;
        }
        if self.auto_accept && !requested.is_empty() {
            for o in c.online.iter_mut().filter(|o| o.requested) {
                o.requested = false;
                if let Err(e) = o.ep.accept(now) {
                    self.events.push_back(Event::Failed {
                        contact: contact.to_owned(),
                        error: e.into(),
                    });
                }
            }
            self.drain(now, contact);
            return;
        }
        if !flush || c.queue.is_empty() {
            return;
        }
        let queue = std::mem::take(&mut c.queue);
        if let Some(o) = c.active() {
            for content in queue {
                if let Err(e) = o.ep.send(now, content) {
                    self.events.push_back(Event::Failed {
                        contact: contact.to_owned(),
                        error: e.into(),
                    });
                }
            }
        } else {
            c.queue = queue;
        }
        self.drain(now, contact);
    }
}

fn offline_info(contact: &str, thread: &str, state: SessionState) -> SessionInfo {
    SessionInfo {
        contact: contact.to_owned(),
        thread: thread.to_owned(),
        state,
        profile: esession_online::Profile::Xep,
        negotiated: None,
        sas: None,
        verified: true,
        retained_secret_used: false,
        peer_fingerprint: None,
    }
}
