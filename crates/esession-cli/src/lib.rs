//! The library behind the `esession` binary, so its commands can be tested
//! in-process.
//!
//! - [`demo`]: two in-memory parties run a whole ESession and print it.
//! - [`peer`]: one endpoint driven over stdin/stdout by the peer protocol
//!   (`docs/peer-protocol.md`).
//! - [`keys`]: `keygen` and `fingerprint`, signing keys in files.
//! - [`chat`]: a real XMPP client (tokio-xmpp) that negotiates an ESession.

pub mod chat;
pub mod demo;
pub mod keys;
pub mod peer;
mod pretty;

/// What can go wrong in a command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The protocol failed.
    #[error("{0}")]
    Protocol(#[from] esession_online::Error),
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
    /// An offline (XEP-0187) step failed.
    #[error("{0}")]
    Offline(#[from] esession_offline::Error),
    /// A peer-protocol request could not be carried out.
    #[error("{0}")]
    Peer(String),
    /// The run did not go as the protocol promises (a bug, or a broken peer).
    #[error("{0}")]
    Unexpected(String),
}
