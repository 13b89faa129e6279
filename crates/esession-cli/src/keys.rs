//! `esession keygen` and `esession fingerprint`: signing keys in files.
//!
//! (Being written: see the issue "The esession CLI".)

use std::process::ExitCode;

/// Command-line arguments of `esession keygen`.
#[derive(Debug, Clone, clap::Args)]
pub struct KeygenArgs {}

/// Command-line arguments of `esession fingerprint`.
#[derive(Debug, Clone, clap::Args)]
pub struct FingerprintArgs {}

/// `esession keygen`.
pub fn keygen_main(_args: KeygenArgs) -> ExitCode {
    eprintln!("esession keygen: not available in this build");
    ExitCode::from(1)
}

/// `esession fingerprint`.
pub fn fingerprint_main(_args: FingerprintArgs) -> ExitCode {
    eprintln!("esession fingerprint: not available in this build");
    ExitCode::from(1)
}
