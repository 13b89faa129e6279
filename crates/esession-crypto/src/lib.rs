//! Cryptographic primitives of XMPP Encrypted Sessions (under construction).
#![forbid(unsafe_code)]

pub mod b64;
mod error;
pub mod mpi;

pub use error::Error;
