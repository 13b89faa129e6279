//! `esession`: the command-line front door of esession.
//!
//! ```text
//! esession demo [--seed S] [--pretty] ...
//! esession peer
//! esession keygen ...
//! esession fingerprint ...
//! esession chat --jid J --password P --to JID [--server host:port] [--script FILE]
//! ```
//!
//! Each subcommand lives in its own module of the `esession_cli` library,
//! which owns its arguments (a clap `Args` struct) and its `main`, returning
//! the process exit code.
//!
//! Exit codes: 0 success; 1 the session or command failed (the error is
//! printed on one line); 2 bad command-line usage (clap's own code); other
//! codes are documented by the subcommand that uses them.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use esession_cli::{chat, demo, keys};

#[derive(Parser)]
#[command(
    name = "esession",
    version,
    about = "XMPP Encrypted Sessions (XEP-0116/0200/0187)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Two in-process parties negotiate a 4-message ESession (group 14,
    /// aes128-ctr, sha256), compare the SAS, exchange encrypted messages both
    /// ways, re-key and terminate; every stanza is printed.
    Demo(demo::DemoArgs),
    /// One ESession endpoint driven over stdin/stdout by the peer protocol
    /// (docs/peer-protocol.md): one JSON request per line in, one JSON
    /// response per line out; logs go to stderr.
    Peer,
    /// Generate a signing key (rsa, dsa or ecdsa) into a file.
    Keygen(keys::KeygenArgs),
    /// Print the fingerprint of a key file as the trust store shows it.
    Fingerprint(keys::FingerprintArgs),
    /// A real XMPP client: negotiate an ESession with a contact through a
    /// server and chat.
    Chat(chat::ChatArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(args) => demo::main(args),
        Command::Peer => {
            let stdin = std::io::stdin();
            match esession_cli::peer::run(stdin.lock(), std::io::stdout().lock()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("esession peer: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Keygen(args) => keys::keygen_main(args),
        Command::Fingerprint(args) => keys::fingerprint_main(args),
        Command::Chat(args) => chat::main(args),
    }
}
