//! An in-memory stand-in for an XMPP server, for demos and tests of
//! [`Account`](crate::Account)s in one process: no sockets, no threads.
//!
//! It does what XEP-0116 and XEP-0187 need of a server:
//!
//! - routes a stanza to its `to` (a bare `to` reaches the account's one full
//!   JID) and stamps `from` with the sender's full JID;
//! - keeps messages for an account that is offline and delivers them when it
//!   comes online (XEP-0160 offline storage);
//! - tells every other account when one comes online or goes offline (a
//!   shared roster: everyone sees everyone's presence);
//! - answers PEP (XEP-0163) create, publish and items requests, keeping the
//!   last item of each node, for XEP-0187 options.
//!
//! ```text
//! account A ── Event::Send ──▶ Server::send(A, stanza) ──▶ queue of B (or B's offline storage)
//! account B ◀── handle_stanza ── Server::next_for(B)
//! ```

use std::collections::{HashMap, VecDeque};

use esession_wire::{Element, NS_DATA, Stanza, StanzaKind, bare};

/// The XEP-0060 namespace of PEP requests.
const NS_PUBSUB: &str = "http://jabber.org/protocol/pubsub";

/// The in-memory server. See the [module documentation](self).
#[derive(Debug, Default)]
pub struct Server {
    /// Full JID of each account, by bare JID.
    accounts: HashMap<String, String>,
    online: HashMap<String, bool>,
    queues: HashMap<String, VecDeque<Stanza>>,
    stored: HashMap<String, Vec<Stanza>>,
    pep: HashMap<(String, String), Element>,
}

/// Why the server could not take a stanza.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The stanza names an account this server does not have.
    #[error("no account {0}")]
    UnknownAccount(String),
    /// An iq this server does not implement.
    #[error("unsupported iq: {0}")]
    UnsupportedIq(String),
}

impl Server {
    /// A server without accounts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the account of `full_jid` (offline until [`Server::set_online`]).
    pub fn add_account(&mut self, full_jid: &str) {
        self.accounts
            .insert(bare(full_jid).to_owned(), full_jid.to_owned());
    }

    fn full(&self, jid: &str) -> Result<String, ServerError> {
        self.accounts
            .get(bare(jid))
            .cloned()
            .ok_or_else(|| ServerError::UnknownAccount(jid.to_owned()))
    }

    fn deliver(&mut self, to: &str, stanza: Stanza) {
        if self.online.get(to).copied().unwrap_or(false) {
            self.queues
                .entry(to.to_owned())
                .or_default()
                .push_back(stanza);
        } else if stanza.kind() == StanzaKind::Message {
            self.stored.entry(to.to_owned()).or_default().push(stanza);
        }
    }

    /// The account of `jid` logs in (`true`) or out: the others see its
    /// presence, and the messages kept for it are delivered.
    pub fn set_online(&mut self, jid: &str, online: bool) -> Result<(), ServerError> {
        let me = self.full(jid)?;
        self.online.insert(me.clone(), online);
        let others: Vec<String> = self
            .accounts
            .values()
            .filter(|j| **j != me)
            .cloned()
            .collect();
        for other in others {
            let mut p = Stanza::new(StanzaKind::Presence);
            p.set_attr("from", &me);
            p.set_attr("to", &other);
            if !online {
                p.set_attr("type", "unavailable");
            }
            self.deliver(&other, p);
        }
        if online {
            for m in self.stored.remove(&me).unwrap_or_default() {
                self.deliver(&me, m);
            }
        }
        Ok(())
    }

    /// Takes a stanza the account of `from` sends.
    pub fn send(&mut self, from: &str, mut stanza: Stanza) -> Result<(), ServerError> {
        let from = self.full(from)?;
        stanza.set_attr("from", &from);
        if stanza.kind() == StanzaKind::Iq {
            return self.iq(&from, stanza);
        }
        let to = self.full(stanza.to().unwrap_or_default())?;
        self.deliver(&to, stanza);
        Ok(())
    }

    /// The next stanza for the account of `jid`, if any.
    pub fn next_for(&mut self, jid: &str) -> Option<Stanza> {
        let me = self.full(jid).ok()?;
        self.queues.get_mut(&me)?.pop_front()
    }

    /// How many messages the server keeps for the account of `jid`.
    pub fn stored_for(&self, jid: &str) -> usize {
        self.full(jid)
            .ok()
            .and_then(|me| self.stored.get(&me))
            .map_or(0, Vec::len)
    }

    /// PEP as far as XEP-0187 needs it: create (always fine), publish (the
    /// last item of a node; an item without a form clears it), items.
    fn iq(&mut self, from: &str, iq: Stanza) -> Result<(), ServerError> {
        let unsupported = || ServerError::UnsupportedIq(iq.to_xml());
        let pubsub = iq
            .element()
            .get_child("pubsub", NS_PUBSUB)
            .ok_or_else(unsupported)?;
        let owner = bare(iq.to().unwrap_or(from)).to_owned();
        let mut result = Stanza::new(StanzaKind::Iq);
        result.set_attr("type", "result");
        result.set_attr("id", iq.id().unwrap_or_default());
        result.set_attr("from", &owner);
        result.set_attr("to", from);
        if let Some(publish) = pubsub.get_child("publish", NS_PUBSUB) {
            let node = publish.attr("node").unwrap_or_default().to_owned();
            let form = publish
                .get_child("item", NS_PUBSUB)
                .and_then(|item| item.get_child("x", NS_DATA));
            match form {
                Some(x) => self.pep.insert((owner, node), x.clone()),
                None => self.pep.remove(&(owner, node)),
            };
        } else if let Some(items) = pubsub.get_child("items", NS_PUBSUB) {
            let node = items.attr("node").unwrap_or_default().to_owned();
            let mut answer = Element::new("items", NS_PUBSUB).with_attr("node", &node);
            if let Some(x) = self.pep.get(&(owner, node)) {
                answer = answer.with_child(Element::new("item", NS_PUBSUB).with_child(x.clone()));
            }
            result.push(Element::new("pubsub", NS_PUBSUB).with_child(answer));
        } else if pubsub.get_child("create", NS_PUBSUB).is_none() {
            return Err(unsupported());
        }
        self.deliver(from, result);
        Ok(())
    }
}
