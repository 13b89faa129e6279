//! `esession chat`: a real XMPP client that negotiates an ESession.
//!
//! (Being written: see the issue "The esession CLI".)

use std::process::ExitCode;

/// Command-line arguments of `esession chat`.
#[derive(Debug, Clone, clap::Args)]
pub struct ChatArgs {}

/// `esession chat`.
pub fn main(_args: ChatArgs) -> ExitCode {
    eprintln!("esession chat: not available in this build");
    ExitCode::from(1)
}
