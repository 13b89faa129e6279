//! `esession`: the command-line front door of esession.
//!
//! ```text
//! esession demo [--seed S] [--pretty]
//! esession peer
//! ```
//!
//! `esession peer` reads peer-protocol requests (`interop/PEER-PROTOCOL.md`)
//! on stdin, one JSON object a line, and answers each on stdout.
//!
//! Exit codes: 0 success; 1 the session failed (a protocol error, printed on one
//! line); 2 bad command-line usage (clap's own code).

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use esession_cli::demo::{self, DemoOptions};

#[derive(Parser)]
#[command(
    name = "esession",
    version,
    about = "XMPP Encrypted Sessions (XEP-0116/0200)"
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
    Demo {
        /// Seed for both parties' randomness: the same seed repeats the run byte
        /// for byte. Without it a random seed is drawn and printed.
        #[arg(long)]
        seed: Option<u64>,
        /// Indent the printed stanzas.
        #[arg(long)]
        pretty: bool,
    },
    /// One ESession endpoint driven over stdin/stdout by the peer protocol
    /// (interop/PEER-PROTOCOL.md): one JSON request per line in, one JSON
    /// response per line out; logs go to stderr.
    Peer,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo { seed, pretty } => {
            let seed = seed.unwrap_or_else(rand::random);
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            match demo::run(&DemoOptions { seed, pretty }, &mut out) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    let _ = out.flush();
                    eprintln!("esession: {e}");
                    ExitCode::from(1)
                }
            }
        }
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
    }
}
