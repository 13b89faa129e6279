//! `esession chat`: a real XMPP client (tokio-xmpp 6) that negotiates an
//! ESession with one contact and chats.
//!
//! ```text
//! esession chat --jid J --password P --to JID [--server host:port] [--insecure-tcp]
//!               [--script FILE] [--store FILE] [--key FILE] [--trust JID=FILE]...
//!               [--publish-offline] [--audience everyone|subscribers]
//!               [--offline-lifetime SECS] [--presence-wait SECS] [--timeout SECS]
//!               [--rekey-freq N]
//! ```
//!
//! ## How it runs
//!
//! ```text
//!  connect (STARTTLS, or plaintext with --insecure-tcp) ── SCRAM ── bind
//!   │ <presence/> and a directed <presence to=contact/>: the contact, if online,
//!   │ sees us and answers with its own directed presence (no roster needed)
//!   ├─ --publish-offline: XEP-0187 options → PEP (create node, publish)
//!   ├─ offline values in --store: back online (XEP-0187 §3.4), clear the node
//!   │
//!   ├─ contact online ── the side whose full JID sorts first sends msg1;
//!   │                    the other accepts (online Endpoint, 4-message SIGMA-R):
//!   │                    "SAS: xxxxx" on both sides, then "established"
//!   ├─ contact offline (no presence within --presence-wait) and a message to
//!   │   send ── fetch the contact's options from PEP, check the signature with
//!   │           a --trust key, send the offline init carrying the message
//!   │           (XEP-0187 §3.3); later messages are sealed in that session
//!   └─ an offline init from the server's offline storage ── accept (needs the
//!       --store that holds our published values and a --trust key for the
//!       sender), decrypt what follows
//! ```
//!
//! Lines typed on standard input (or read from `--script`) are sent as
//! messages or are commands (see [`script`]): `/rekey`, `/confirm`,
//! `/wait N`, `/wait-end`, `/sleep MS`, `/quit`. The end of input is `/quit`.
//!
//! ## Output
//!
//! Standard output gets one line per event: `connected as JID`,
//! `contact online: JID`, `SAS: xxxxx`, `established (online)`,
//! `established (offline)`, `sent: TEXT`, `received: TEXT`, `re-keyed`,
//! `offline options published`, `terminated (REASON)`. Every error is one line
//! on standard error, `esession chat: …`.
//!
//! ## Exit codes
//!
//! - 0: done (`/quit` or end of input)
//! - 1: the session failed (negotiation refused, bad stanza, a step of the
//!   protocol failed), or the contact is offline with no usable options
//! - 2: bad usage (clap; also a bad `--script` line or option value)
//! - 3: cannot connect or log in
//! - 4: a wait (`/wait`, `/wait-end`, a message waiting for a session)
//!   exceeded `--timeout`
//!
//! ## State and keys
//!
//! - `--store FILE`: retained secrets, trusted keys and the private values of
//!   published offline options live in an esession-store SQLite file, kept
//!   across runs. Its key is the 32 bytes of `FILE.key` (created on first use,
//!   mode 0600): a convenience for tests and demos, a real client keeps it in
//!   the OS keyring. Without `--store` everything is in memory.
//! - `--key FILE`: our signing key (PKCS#8 PEM, as `esession keygen` writes
//!   it), needed to publish offline options and to start an offline session.
//! - `--trust JID=FILE`: trust the key in FILE (a `PUBLIC KEY` or `PRIVATE
//!   KEY` PEM) for JID in offline sessions: XEP-0187 options carry a
//!   signature but no key, so Bob needs Alice's key, and Alice needs Bob's.
//!
//! Online sessions use the default offer of esession-online (group 14 and
//! 15, aes128-ctr, sha256, no public keys: the SAS authenticates) with
//! `rekey_freq` from `--rekey-freq`.

mod script;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use esession::xmpp::tokio_xmpp::connect::DnsConfig;
use esession::xmpp::tokio_xmpp::jid::Jid;
use esession::xmpp::tokio_xmpp::minidom;
use esession::xmpp::tokio_xmpp::xmlstream::Timeouts;
use esession::xmpp::tokio_xmpp::{Client, Event, IqRequest, IqResponse};
use esession::xmpp::xmpp_parsers::message::Message;
use esession::xmpp::xmpp_parsers::presence::{Presence, Type as PresenceType};
use esession::xmpp::xmpp_parsers::stanza::Stanza as XStanza;
use esession::xmpp::{self as glue};
use esession_offline::{
    Audience, Initiator, OfflineStore, Publisher, ReceiveSession, Receiver, SendSession, pep,
};
use esession_online::{
    Config, Endpoint, Output, Profile, SessionStore, TerminationReason, TrustedKey, bare,
};
use esession_store::{SqliteStore, StoreKey};
use esession_wire::{Element, NS_CLIENT, Negotiation, Stanza, StanzaKind};
use futures::StreamExt as _;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

pub use script::{Command, HELP, parse, parse_script};

/// Exit code: the session failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: bad usage.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: cannot connect or log in.
pub const EXIT_CONNECT: u8 = 3;
/// Exit code: a wait exceeded `--timeout`.
pub const EXIT_TIMEOUT: u8 = 4;

/// Who may read the published offline options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AudienceArg {
    /// The `open` access model: anyone who asks (no roster needed).
    Everyone,
    /// The `presence` access model: contacts subscribed to our presence.
    Subscribers,
}

/// Command-line arguments of `esession chat`.
#[derive(Debug, Clone, clap::Args)]
pub struct ChatArgs {
    /// Our JID (a full JID asks the server for that resource).
    #[arg(long)]
    pub jid: String,
    /// Our password.
    #[arg(long)]
    pub password: String,
    /// The contact's JID.
    #[arg(long)]
    pub to: String,
    /// Connect to this server instead of the one DNS gives for our domain.
    #[arg(long, value_name = "HOST:PORT")]
    pub server: Option<String>,
    /// Plaintext TCP without TLS (SCRAM still protects the password): only
    /// for a server on the loopback interface; needs --server.
    #[arg(long)]
    pub insecure_tcp: bool,
    /// Read commands and messages from FILE instead of standard input.
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// Persistent state (retained secrets, trusted keys, offline values) in
    /// this SQLite file; its key is FILE.key.
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
    /// Our signing key (PKCS#8 PEM): publishes offline options, starts
    /// offline sessions.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Trust the key in FILE for JID in offline sessions (repeatable).
    #[arg(long = "trust", value_name = "JID=FILE")]
    pub trust: Vec<String>,
    /// Publish XEP-0187 offline options to our PEP node after logging in.
    #[arg(long)]
    pub publish_offline: bool,
    /// Who may read the published options.
    #[arg(long, value_enum, default_value = "everyone")]
    pub audience: AudienceArg,
    /// Seconds until the published options expire.
    #[arg(long, default_value_t = 86_400, value_name = "SECS")]
    pub offline_lifetime: u64,
    /// Seconds to wait for the contact's presence before treating it as
    /// offline (when a message is waiting to be sent).
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    pub presence_wait: u64,
    /// Seconds a wait may last (/wait, /wait-end, a message waiting for a
    /// session, the termination acknowledgement).
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub timeout: u64,
    /// The rekey_freq we offer: stanzas exchanged before a re-key is allowed.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub rekey_freq: u32,
}

/// A failure with its exit code; printed as one line.
#[derive(Debug)]
struct Fail {
    code: u8,
    msg: String,
}

impl Fail {
    fn new(code: u8, msg: impl std::fmt::Display) -> Self {
        Self {
            code,
            msg: msg.to_string(),
        }
    }
    fn failed(msg: impl std::fmt::Display) -> Self {
        Self::new(EXIT_FAILED, msg)
    }
}

/// `esession chat`.
pub fn main(args: ChatArgs) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("esession chat: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("esession chat: {}", f.msg);
            ExitCode::from(f.code)
        }
    }
}

/// Where the commands come from.
enum Input {
    /// A script, read at start.
    Script(VecDeque<Command>),
    /// Standard input, line by line.
    Stdin(tokio::sync::mpsc::Receiver<String>),
}

/// Everything one run knows.
struct Chat {
    args: ChatArgs,
    config: Config,
    client: Client,
    rng: ChaCha20Rng,
    store: SqliteStore,
    signing_key: Option<esession_crypto::sign::SigningKey>,
    contact: String,
    me: Option<String>,
    contact_full: Option<String>,
    /// Full JIDs we sent a directed presence to.
    presence_sent: Vec<String>,
    online_since: Option<Instant>,
    session: XmppSession<ChaCha20Rng>,
    initiated: bool,
    established: bool,
    offline_send: Option<SendSession>,
    receiver: Option<Receiver>,
    offline_recv: Option<ReceiveSession>,
    received: usize,
    ended: bool,
    rekey_armed: bool,
    pending: VecDeque<Command>,
    wait_started: Option<Instant>,
    input_done: bool,
}

fn now() -> SystemTime {
    SystemTime::now()
}

async fn run(args: ChatArgs) -> Result<(), Fail> {
    let mut input = match &args.script {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Fail::new(EXIT_USAGE, format!("{}: {e}", path.display())))?;
            let cmds = parse_script(&text)
                .map_err(|e| Fail::new(EXIT_USAGE, format!("{}: {e}", path.display())))?;
            Input::Script(cmds.into())
        }
        None => Input::Stdin(spawn_stdin()),
    };
    let mut chat = Chat::new(args)?;
    let tick = Duration::from_millis(50);
    loop {
        if chat.run_commands().await? == Flow::Quit {
            break;
        }
        if chat.me.is_some() && chat.pending.is_empty() && chat.input_done {
            chat.quit().await?;
            break;
        }
        tokio::select! {
            ev = chat.client.next() => match ev {
                Some(ev) => chat.on_event(ev).await?,
                None => return Err(Fail::failed("the connection closed")),
            },
            line = next_line(&mut input), if chat.pending.is_empty() && !chat.input_done => {
                match line {
                    Some(cmd) => chat.pending.push_back(cmd),
                    None => chat.input_done = true,
                }
            }
            () = tokio::time::sleep(tick) => chat.on_tick(),
        }
    }
    // An orderly stream close; the server then marks us unavailable.
    let Chat { client, .. } = chat;
    client
        .send_end()
        .await
        .map_err(|e| Fail::failed(format!("closing the stream: {e}")))
}

/// Whether the run goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Quit,
}

/// The next command; `None` at the end of input.
async fn next_line(input: &mut Input) -> Option<Command> {
    match input {
        Input::Script(cmds) => cmds.pop_front(),
        Input::Stdin(rx) => loop {
            let line = rx.recv().await?;
            match parse(&line) {
                Ok(Some(c)) => return Some(c),
                Ok(None) => {}
                Err(e) => eprintln!("esession chat: {e}"),
            }
        },
    }
}

fn spawn_stdin() -> tokio::sync::mpsc::Receiver<String> {
    use tokio::io::AsyncBufReadExt as _;
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if tx.send(line).await.is_err() {
                break;
            }
        }
    });
    rx
}

/// Opens `--store` (key in FILE.key, created on first use) or an in-memory store.
fn open_store(path: Option<&Path>, account: &str) -> Result<SqliteStore, Fail> {
    let Some(path) = path else {
        let key = StoreKey::generate().map_err(Fail::failed)?;
        return SqliteStore::open_in_memory(&key, account).map_err(Fail::failed);
    };
    let mut key_path = path.as_os_str().to_owned();
    key_path.push(".key");
    let key_path = PathBuf::from(key_path);
    let key = match std::fs::read(&key_path) {
        Ok(bytes) => StoreKey::from_slice(&bytes)
            .map_err(|e| Fail::failed(format!("{}: {e}", key_path.display())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = StoreKey::generate().map_err(Fail::failed)?;
            write_private(&key_path, key.as_bytes())
                .map_err(|e| Fail::failed(format!("{}: {e}", key_path.display())))?;
            key
        }
        Err(e) => return Err(Fail::failed(format!("{}: {e}", key_path.display()))),
    };
    SqliteStore::open(path, &key, account)
        .map_err(|e| Fail::failed(format!("{}: {e}", path.display())))
}

/// Writes a new file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn connect(args: &ChatArgs) -> Result<Client, Fail> {
    let usage = |m: String| Fail::new(EXIT_USAGE, m);
    let jid = Jid::new(&args.jid).map_err(|e| usage(format!("--jid {}: {e}", args.jid)))?;
    let password = args.password.clone();
    match (&args.server, args.insecure_tcp) {
        (Some(server), true) => {
            use std::net::ToSocketAddrs as _;
            let addr = server
                .to_socket_addrs()
                .map_err(|e| Fail::new(EXIT_CONNECT, format!("--server {server}: {e}")))?
                .next()
                .ok_or_else(|| Fail::new(EXIT_CONNECT, format!("--server {server}: no address")))?;
            Ok(Client::new_plaintext(
                jid,
                password,
                DnsConfig::addr(&addr.to_string()),
                Timeouts::default(),
            ))
        }
        (Some(server), false) => {
            let (host, port) = server
                .rsplit_once(':')
                .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
                .ok_or_else(|| usage(format!("--server {server}: expected HOST:PORT")))?;
            Ok(Client::new_starttls(
                jid,
                password,
                DnsConfig::no_srv(host, port),
                Timeouts::default(),
            ))
        }
        (None, true) => Err(usage("--insecure-tcp needs --server HOST:PORT".into())),
        (None, false) => Ok(Client::new(jid, password)),
    }
}

/// Trusts the `--trust JID=FILE` keys in `store`.
fn trust_keys(specs: &[String], store: &mut SqliteStore) -> Result<(), Fail> {
    for spec in specs {
        let (jid, file) = spec
            .split_once('=')
            .ok_or_else(|| Fail::new(EXIT_USAGE, format!("--trust {spec}: expected JID=FILE")))?;
        let key = crate::keys::load_key(Path::new(file))
            .map_err(|e| Fail::new(EXIT_USAGE, format!("--trust: {e}")))?;
        let key = esession_wire::key_bytes(&key.verifying_key()).map_err(Fail::failed)?;
        let petname = format!("--trust {file}");
        store
            .trust_key(bare(jid), TrustedKey { key, petname })
            .map_err(Fail::failed)?;
    }
    Ok(())
}

/// A chat message with `text`.
fn chat_message(text: &str) -> Stanza {
    let mut s = Stanza::new(StanzaKind::Message);
    s.set_attr("type", "chat");
    s.push(Element::new("body", NS_CLIENT).with_text(text));
    s
}

/// The text of the first `<body/>` of a received stanza.
fn body_of(s: &Stanza) -> Option<String> {
    s.children()
        .find(|c| c.is("body", NS_CLIENT))
        .map(|b| b.text())
}

impl Chat {
    fn new(args: ChatArgs) -> Result<Self, Fail> {
        let contact = bare(&args.to).to_owned();
        if contact == bare(&args.jid) {
            return Err(Fail::new(EXIT_USAGE, "--to is our own JID"));
        }
        let mut store = open_store(args.store.as_deref(), bare(&args.jid))?;
        trust_keys(&args.trust, &mut store)?;
        let signing_key = match &args.key {
            None => None,
            Some(path) => match crate::keys::load_key(path)
                .map_err(|e| Fail::new(EXIT_USAGE, format!("--key: {e}")))?
            {
                crate::keys::LoadedKey::Private(k) => Some(k),
                crate::keys::LoadedKey::Public(_) => {
                    return Err(Fail::new(
                        EXIT_USAGE,
                        format!("--key {}: a public key cannot sign", path.display()),
                    ));
                }
            },
        };
        if args.publish_offline && signing_key.is_none() {
            return Err(Fail::new(EXIT_USAGE, "--publish-offline needs --key"));
        }
        let mut config = Config::default();
        config.rekey_freq = args.rekey_freq.max(1);
        config.profile = Profile::Xep;
        let rng = ChaCha20Rng::from_seed(rand::random());
        let session_rng = ChaCha20Rng::from_seed(rand::random());
        let endpoint = Endpoint::responder(config.clone(), session_rng).map_err(Fail::failed)?;
        let client = connect(&args)?;
        Ok(Self {
            args,
            config,
            client,
            rng,
            store,
            signing_key,
            contact,
            me: None,
            contact_full: None,
            presence_sent: Vec::new(),
            online_since: None,
            session: XmppSession::new(endpoint),
            initiated: false,
            established: false,
            offline_send: None,
            receiver: None,
            offline_recv: None,
            received: 0,
            ended: false,
            rekey_armed: false,
            pending: VecDeque::new(),
            wait_started: None,
            input_done: false,
        })
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.args.timeout)
    }

    async fn send(&mut self, s: &Stanza) -> Result<(), Fail> {
        let x = glue::to_parsers(s).map_err(Fail::failed)?;
        self.client
            .send_stanza(x)
            .await
            .map(|_| ())
            .map_err(|e| Fail::failed(format!("cannot send: {e}")))
    }

    async fn send_presence(&mut self, to: Option<&str>) -> Result<(), Fail> {
        let mut p = Stanza::new(StanzaKind::Presence);
        if let Some(to) = to {
            p.set_attr("to", to);
        }
        self.send(&p).await
    }

    /// Sends an iq request built by esession-offline and waits for its answer.
    async fn iq(&mut self, iq: &Stanza) -> Result<Result<Stanza, String>, Fail> {
        let payload = iq
            .children()
            .next()
            .ok_or_else(|| Fail::failed("empty iq"))
            .and_then(|p| minidom::Element::try_from(p).map_err(Fail::failed))?;
        let to = match iq.to() {
            Some(t) => Some(Jid::new(t).map_err(Fail::failed)?),
            None => None,
        };
        let req = if iq.stanza_type() == Some("get") {
            IqRequest::Get(payload)
        } else {
            IqRequest::Set(payload)
        };
        let token = self.client.send_iq(to, req).await;
        let answer = tokio::time::timeout(self.timeout(), token)
            .await
            .map_err(|_| Fail::new(EXIT_TIMEOUT, "no answer to an iq"))?
            .map_err(|e| Fail::failed(format!("iq: {e}")))?;
        Ok(match answer {
            IqResponse::Result(p) => {
                Ok(glue::iq_result_to_stanza(iq.to(), p.as_ref()).map_err(Fail::failed)?)
            }
            IqResponse::Error(e) => Err(format!("{:?}", e.defined_condition)),
        })
    }

    async fn on_event(&mut self, ev: Event) -> Result<(), Fail> {
        match ev {
            Event::Online { bound_jid, .. } => self.on_online(bound_jid.to_string()).await,
            Event::Disconnected(e) => {
                let code = if self.me.is_none() {
                    EXIT_CONNECT
                } else {
                    EXIT_FAILED
                };
                Err(Fail::new(code, format!("disconnected: {e}")))
            }
            Event::Stanza(XStanza::Presence(p)) => self.on_presence(p).await,
            Event::Stanza(XStanza::Message(m)) => self.on_message(m).await,
            Event::Stanza(XStanza::Iq(_)) => Ok(()),
        }
    }

    async fn on_online(&mut self, me: String) -> Result<(), Fail> {
        println!("connected as {me}");
        self.me = Some(me);
        self.online_since = Some(Instant::now());
        if self.store.published_nonces().is_ok_and(|n| !n.is_empty()) {
            // XEP-0187 §3.4: back online with published options.
            let back = Receiver::came_online(self.config.clone(), &mut self.store)
                .map_err(Fail::failed)?;
            self.receiver = Some(back.receiver);
            if let Err(e) = self.iq(&back.clear_subscriber_options).await? {
                eprintln!("esession chat: clearing the subscriber options: {e}");
            }
        }
        if self.args.publish_offline {
            self.publish().await?;
        }
        // Initial presence (the server then delivers offline messages), and
        // a directed presence so the contact learns we are here.
        self.send_presence(None).await?;
        let contact = self.contact.clone();
        self.send_presence(Some(&contact)).await
    }

    async fn publish(&mut self) -> Result<(), Fail> {
        let key = self
            .signing_key
            .as_ref()
            .ok_or_else(|| Fail::new(EXIT_USAGE, "--publish-offline needs --key"))?;
        let audience = match self.args.audience {
            AudienceArg::Everyone => Audience::Everyone,
            AudienceArg::Subscribers => Audience::Subscribers,
        };
        let expires = now()
            .checked_add(Duration::from_secs(self.args.offline_lifetime))
            .ok_or_else(|| Fail::new(EXIT_USAGE, "--offline-lifetime too long"))?;
        let mut publisher = Publisher::new(self.config.clone(), audience, expires).signing_key(key);
        let resource = self
            .me
            .as_deref()
            .and_then(|m| m.split_once('/'))
            .map(|(_, r)| r.to_owned());
        if let Some(r) = &resource {
            publisher = publisher.match_resource(r);
        }
        let published = publisher
            .publish(&mut self.rng, &mut self.store)
            .map_err(Fail::failed)?;
        // The node may exist from an earlier run: a conflict is fine.
        if let Err(e) = self.iq(&published.create_node).await? {
            eprintln!("esession chat: creating the PEP node: {e} (continuing)");
        }
        self.iq(&published.publish)
            .await?
            .map_err(|e| Fail::failed(format!("publishing the offline options: {e}")))?;
        println!("offline options published");
        Ok(())
    }

    async fn on_presence(&mut self, p: Presence) -> Result<(), Fail> {
        let Some(from) = p.from.as_ref().map(|f| f.to_string()) else {
            return Ok(());
        };
        if bare(&from) != self.contact || Some(&from) == self.me.as_ref() || !from.contains('/') {
            return Ok(());
        }
        match p.type_ {
            PresenceType::None => {
                if self.contact_full.as_deref() != Some(&from) {
                    println!("contact online: {from}");
                    self.contact_full = Some(from.clone());
                }
                if !self.presence_sent.contains(&from) {
                    self.presence_sent.push(from.clone());
                    self.send_presence(Some(&from)).await?;
                }
                self.maybe_initiate().await
            }
            PresenceType::Unavailable => {
                if self.contact_full.as_deref() == Some(&from) {
                    println!("contact offline: {from}");
                    self.contact_full = None;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The side whose full JID sorts first starts the online negotiation.
    async fn maybe_initiate(&mut self) -> Result<(), Fail> {
        let (Some(me), Some(peer)) = (self.me.clone(), self.contact_full.clone()) else {
            return Ok(());
        };
        // A responder that already got a request has a peer.
        let busy = self.initiated
            || self.established
            || self.offline_send.is_some()
            || !self.session.endpoint().peer().is_empty();
        if busy || me >= peer {
            return Ok(());
        }
        let ep = Endpoint::initiate(
            self.config.clone(),
            ChaCha20Rng::from_seed(rand::random()),
            now(),
            &peer,
        )
        .map_err(Fail::failed)?;
        self.session = XmppSession::new(ep);
        self.initiated = true;
        self.flush().await
    }

    async fn on_message(&mut self, m: Message) -> Result<(), Fail> {
        let Some(from) = m.from.as_ref().map(|f| f.to_string()) else {
            return Ok(());
        };
        if bare(&from) != self.contact {
            return Ok(());
        }
        // Offline: later stanzas of an accepted offline session.
        if let Some(rs) = self.offline_recv.as_mut()
            && rs.peer() == from
        {
            let stanza = glue::message_to_stanza(&m).map_err(Fail::failed)?;
            let opened = rs.open(stanza).map_err(Fail::failed)?;
            self.show(&opened.content);
            if opened.terminated {
                self.offline_recv = None;
                self.end("terminated (by contact, offline session)");
            }
            return Ok(());
        }
        let stanza = glue::message_to_stanza(&m).map_err(Fail::failed)?;
        let offline_init = matches!(
            stanza.negotiation(),
            Ok(Some(n)) if matches!(n.message, Negotiation::OfflineInit(_))
        );
        if offline_init {
            return self.accept_offline(stanza);
        }
        if !glue::is_esession(&m) {
            if let Some(b) = m.bodies.values().next() {
                println!("received (NOT encrypted): {b}");
            }
            return Ok(());
        }
        let r = self.session.handle_message(now(), &m, &mut self.store);
        if let Err(e) = r {
            eprintln!("esession chat: refused a stanza: {e}");
        }
        self.flush().await
    }

    fn accept_offline(&mut self, stanza: Stanza) -> Result<(), Fail> {
        let receiver = self.receiver.as_mut().ok_or_else(|| {
            Fail::failed("an offline session init arrived, but we published no options (--store?)")
        })?;
        let accepted = receiver
            .accept(now(), stanza, &mut self.store)
            .map_err(|e| Fail::failed(format!("offline init refused: {e}")))?;
        println!("established (offline)");
        if let Some(c) = &accepted.content {
            self.show(c);
        }
        if accepted.terminated {
            self.end("terminated (by contact, offline session)");
        }
        self.offline_recv = accepted.session;
        Ok(())
    }

    fn show(&mut self, s: &Stanza) {
        if let Some(b) = body_of(s) {
            println!("received: {b}");
            self.received += 1;
        }
    }

    fn end(&mut self, line: &str) {
        println!("{line}");
        self.ended = true;
    }

    /// Sends what the endpoint queued and acts on its events (which may
    /// queue more: an accept, a termination).
    async fn flush(&mut self) -> Result<(), Fail> {
        loop {
            let (sends, events) = self.session.drain();
            for s in &sends {
                self.send(s).await?;
            }
            if sends.is_empty() && events.is_empty() {
                return Ok(());
            }
            for ev in events {
                self.on_output(ev)?;
            }
        }
    }

    fn on_output(&mut self, o: Output) -> Result<(), Fail> {
        match o {
            Output::Send(_) => {}
            Output::Requested(r) => {
                if bare(&r.peer) == self.contact {
                    self.session
                        .endpoint_mut()
                        .accept(now())
                        .map_err(Fail::failed)?;
                } else {
                    eprintln!("esession chat: refused a session request from {}", r.peer);
                    self.session
                        .endpoint_mut()
                        .reject(now())
                        .map_err(Fail::failed)?;
                }
            }
            Output::PlainRequested(p) => {
                eprintln!(
                    "esession chat: {} asked for an unencrypted session: refused",
                    p.peer
                );
                self.session
                    .endpoint_mut()
                    .reject(now())
                    .map_err(Fail::failed)?;
            }
            Output::SasReady { sas } => {
                println!(
                    "SAS: {} (compare it with your contact; /confirm if it matches)",
                    sas.display(self.config.profile)
                );
            }
            Output::Established(e) => {
                self.established = true;
                let chain = if e.retained_secret_used {
                    " (continues an earlier session)"
                } else {
                    ""
                };
                println!("established (online){chain}");
            }
            Output::Received(s) => self.show(&s),
            Output::Terminated(reason) => {
                self.established = false;
                let why = match reason {
                    TerminationReason::ByPeer => "by contact",
                    TerminationReason::Acknowledged => "acknowledged",
                    TerminationReason::AckTimedOut => "no acknowledgement",
                    TerminationReason::Declined => "declined by contact",
                    _ => "ended",
                };
                self.end(&format!("terminated ({why})"));
            }
            Output::Failed(e) => return Err(Fail::failed(format!("session failed: {e}"))),
            Output::PeerKey(_) | Output::PlainEstablished(_) => {
                // Not offered: no public keys, no plain sessions.
                self.session
                    .endpoint_mut()
                    .terminate(now())
                    .map_err(Fail::failed)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn on_tick(&mut self) {
        let t = now();
        let ep = self.session.endpoint_mut();
        if ep.poll_timeout().is_some_and(|d| t >= d) {
            ep.handle_timeout(t);
        }
    }

    fn contact_offline(&self) -> bool {
        self.contact_full.is_none()
            && self
                .online_since
                .is_some_and(|t| t.elapsed() >= Duration::from_secs(self.args.presence_wait))
    }

    /// Runs pending commands until one must wait (nothing runs before we
    /// are online).
    async fn run_commands(&mut self) -> Result<Flow, Fail> {
        if self.me.is_none() {
            return Ok(Flow::Continue);
        }
        self.flush().await?;
        while let Some(cmd) = self.pending.front().cloned() {
            let done = match &cmd {
                Command::Send(text) => self.try_send(text).await?,
                Command::Rekey => {
                    self.rekey_armed = true;
                    true
                }
                Command::Confirm => {
                    match self.session.endpoint_mut().confirm_sas(&mut self.store) {
                        Ok(()) => println!("SAS confirmed"),
                        Err(e) => eprintln!("esession chat: /confirm: {e}"),
                    }
                    true
                }
                Command::Wait(n) => self.received >= *n,
                Command::WaitEnd => self.ended,
                Command::Sleep(ms) => {
                    tokio::time::sleep(Duration::from_millis(*ms)).await;
                    true
                }
                Command::Quit => {
                    self.quit().await?;
                    return Ok(Flow::Quit);
                }
                Command::Help => {
                    println!("{HELP}");
                    true
                }
            };
            if done {
                self.pending.pop_front();
                self.wait_started = None;
            } else {
                let started = *self.wait_started.get_or_insert_with(Instant::now);
                if started.elapsed() >= self.timeout() {
                    return Err(Fail::new(
                        EXIT_TIMEOUT,
                        format!("timed out after {} s waiting ({cmd:?})", self.args.timeout),
                    ));
                }
                return Ok(Flow::Continue);
            }
        }
        Ok(Flow::Continue)
    }

    /// Sends `text` if a session can carry it; `Ok(false)` to wait.
    async fn try_send(&mut self, text: &str) -> Result<bool, Fail> {
        if self.session.endpoint().is_established() {
            if self.rekey_armed {
                // XEP-0200 §7.2: the <key/> rides with this message's content
                // (XEP0200-034).
                self.session
                    .endpoint_mut()
                    .send_with_rekey(now(), chat_message(text))
                    .map_err(|e| Fail::failed(format!("/rekey: {e}")))?;
                self.rekey_armed = false;
                println!("re-keyed");
            } else {
                self.session
                    .endpoint_mut()
                    .send(now(), chat_message(text))
                    .map_err(Fail::failed)?;
            }
            self.flush().await?;
            println!("sent: {text}");
            return Ok(true);
        }
        if let Some(s) = self.offline_send.as_mut() {
            let mut stanza = s.seal(now(), chat_message(text)).map_err(Fail::failed)?;
            self.rekey_armed = false;
            stanza.set_attr("type", "chat");
            self.send(&stanza).await?;
            println!("sent: {text}");
            return Ok(true);
        }
        if self.me.is_some() && !self.initiated && self.contact_offline() {
            self.start_offline(text).await?;
            println!("sent: {text}");
            return Ok(true);
        }
        Ok(false)
    }

    /// XEP-0187 §3.2-§3.3: the contact is offline; fetch its options and
    /// send the offline init carrying the first message.
    async fn start_offline(&mut self, text: &str) -> Result<(), Fail> {
        if self.signing_key.is_none() {
            return Err(Fail::failed(
                "the contact is offline: an offline session needs --key",
            ));
        }
        let mut form = None;
        for audience in [Audience::Subscribers, Audience::Everyone] {
            let req = pep::request_options(&self.contact, audience, "esession-options");
            match self.iq(&req).await? {
                Ok(result) => {
                    if let Some(f) = pep::options_from_result(&result).map_err(Fail::failed)? {
                        form = Some(f);
                        break;
                    }
                }
                Err(e) => eprintln!("esession chat: no options in {} node: {e}", audience.node()),
            }
        }
        let form = form.ok_or_else(|| {
            Fail::failed("the contact is offline and has published no ESession options")
        })?;
        let key = self
            .signing_key
            .as_ref()
            .ok_or_else(|| Fail::failed("no --key"))?;
        let initiator = Initiator::new(self.config.clone(), key).map_err(Fail::failed)?;
        let checked = initiator
            .check_options(now(), &self.contact, &form, &self.store)
            .map_err(|e| Fail::failed(format!("the contact's offline options: {e}")))?;
        let started = initiator
            .start(
                now(),
                &checked,
                Some(chat_message(text)),
                false,
                &mut self.rng,
            )
            .map_err(Fail::failed)?;
        self.send(&started.stanza).await?;
        println!("established (offline)");
        self.offline_send = started.session;
        Ok(())
    }

    /// Terminates the session (if any) and disconnects.
    async fn quit(&mut self) -> Result<(), Fail> {
        if let Some(s) = self.offline_send.take() {
            let stanza = s.terminate().map_err(Fail::failed)?;
            self.send(&stanza).await?;
            self.end("terminated (offline session)");
        } else if self.session.endpoint().is_established() {
            self.session
                .endpoint_mut()
                .terminate(now())
                .map_err(Fail::failed)?;
            self.flush().await?;
            // Wait for the acknowledgement (XEP-0155 §7), at most --timeout.
            let deadline = Instant::now() + self.timeout();
            while !self.ended && Instant::now() < deadline {
                tokio::select! {
                    ev = self.client.next() => match ev {
                        Some(ev) => self.on_event(ev).await?,
                        None => break,
                    },
                    () = tokio::time::sleep(Duration::from_millis(50)) => self.on_tick(),
                }
                self.flush().await?;
            }
        }
        Ok(())
    }
}

/// One endpoint with its received messages converted from xmpp-parsers and
/// its outputs split into stanzas to send and events.
struct XmppSession<R> {
    endpoint: Endpoint<R>,
}

impl<R: esession_crypto::rand_core::CryptoRng> XmppSession<R> {
    fn new(endpoint: Endpoint<R>) -> Self {
        Self { endpoint }
    }

    fn endpoint(&self) -> &Endpoint<R> {
        &self.endpoint
    }

    fn endpoint_mut(&mut self) -> &mut Endpoint<R> {
        &mut self.endpoint
    }

    fn handle_message(
        &mut self,
        now: SystemTime,
        m: &Message,
        store: &mut SqliteStore,
    ) -> Result<bool, String> {
        if !glue::is_esession(m) {
            return Ok(false);
        }
        let stanza = glue::message_to_stanza(m).map_err(|e| e.to_string())?;
        self.endpoint
            .handle_stanza(now, stanza, store)
            .map_err(|e| e.to_string())?;
        Ok(true)
    }

    fn drain(&mut self) -> (Vec<Stanza>, Vec<Output>) {
        let peer = self.endpoint.peer().to_owned();
        let (mut sends, mut events) = (Vec::new(), Vec::new());
        while let Some(o) = self.endpoint.poll_output() {
            match o {
                Output::Send(mut s) => {
                    if s.to().is_none() && !peer.is_empty() {
                        s.set_attr("to", &peer);
                    }
                    sends.push(s);
                }
                other => events.push(other),
            }
        }
        (sends, events)
    }
}
