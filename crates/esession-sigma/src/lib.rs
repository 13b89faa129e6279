//! # esession-sigma
//!
//! The XEP-0188 SIGMA key schedule of XMPP Encrypted Sessions (XEP-0116 §4.5-§4.8,
//! XEP-0200 §9) as pure functions over bytes: no XML, no state, no I/O. Every value
//! in the XEP-0188 diagrams can be computed, tested and read in isolation; the
//! protocol crates only orchestrate. Where DECISIONS gives Gajim different bytes, a
//! [`Profile`] decides (G1, G2, G3, G5).
//!
//! Data flows in from `esession-crypto` (DH shared secrets as MPIs, hashes, CTR
//! keys) and from the wire layer (the normalized form bytes formA, formB, formA2,
//! formB2 and the D28 `<KeyValue>` pubKey bytes); what comes out (K, keys, macs,
//! `ID`, `M`, srshash, SAS) goes back to the wire layer as bytes.
//!
//! ## SIGMA-R with SAS (the 4-message ESession-R of XEP-0188), line by line
//!
//! ```text
//! ALICE                                            BOB
//! NA = random(); x = random(); e = g^x mod p
//! He = SHA256(e)                                                     (esession-crypto)
//!                      formA = {He…, options, NA} ─────────▶
//!                                                  NB, y, d = g^y mod p   (esession-crypto)
//!                                                  CA = random()          Counters::random
//!                                                  CB = CA XOR 2^(n-1)    Counters::from_c_a
//!                 ◀───────── formB = {CA, chosen, d, NA, NB}
//! K   = HASH(d^x mod p)                            keys::k_dh
//! KCA, KMA, KSA = HMAC(K, "Initiator …")           DirectionKeys::derive(.., &k, Role::Initiator)
//! RSH1A…RSHZA = HMAC(NA, RS1A…RSZA) + randoms      secrets::rshashes
//! formA2 = {RSH…, e, NB}                           (wire layer)
//! macA = HMAC(KSA, NB‖NA‖e‖pubKeyA‖formA‖formA2)   identity::mac_a
//! [signA = SIGN(signKeyA, macA)]                   (esession-crypto sign)
//! IDA  = CIPHER(KCA, CA, macA | {pubKeyA, signA})  DirectionKeys::seal_identity
//!                                                  (identity::signed_identity_plaintext)
//! MA   = HMAC(KMA, CA, IDA)                        DirectionKeys::seal_identity / identity_mac
//! CA  += blocks                                    counters::advance
//! SAS  = SASGEN(MA, formB)                         sas::sas
//!                 IDA, MA, formA2 ─────────▶
//!                                                  assert He = SHA256(e)  (esession-crypto)
//!                                                  SAS = SASGEN(MA, formB)        sas::sas
//!                                                  K = HASH(e^y mod p)            keys::k_dh
//!                                                  KCA, KMA, KSA                  DirectionKeys::derive
//!                                                  assert MA = HMAC(KMA, CA, IDA) DirectionKeys::open_identity
//!                                                  macA = DECIPHER(KCA, CA, IDA)  DirectionKeys::open_identity
//!                                                  assert macA = HMAC(KSA, …)     identity::mac_a,
//!                                                                                 identity::check_mac_identity
//!                                                  [{pubKeyA, signA}]             identity::parse_signed_identity
//!                                                  SRS = choose(RS…, RSH…, NA)    secrets::find_srs_bob
//!                                                  K = HASH(K | SRS | OSS)        secrets::k_final
//!                                                  KCA KCB KMA KMB KSB            SessionKeys::derive(.., &k_final)
//!                                                  SRSH = HMAC(SRS, "Shared …")   secrets::srshash_or_random
//!                                                  retain(HMAC(K, "New …"))       secrets::new_retained_secret
//!                                                  formB2 = {NA, SRSH}            (wire layer)
//!                                                  macB = HMAC(KSB, NA‖NB‖d‖pubKeyB‖formB‖formB2)
//!                                                                                 identity::mac_b
//!                                                  IDB = CIPHER(KCB, CB, macB | {pubKeyB, signB})
//!                                                                                 DirectionKeys::seal_identity
//!                                                  MB = HMAC(KMB, CB, IDB)        DirectionKeys::seal_identity
//!                 ◀───────── IDB, MB, formB2
//! SRS = choose(RS…, SRSH)                          secrets::find_srs_alice
//! K = HASH(K | SRS | OSS)                          secrets::k_final
//! KCA KCB KMA KMB KSB                              SessionKeys::derive(.., &k_final)
//! retain(HMAC(K, "New Retained Secret"))           secrets::new_retained_secret
//! assert MB = HMAC(KMB, CB, IDB)                   DirectionKeys::open_identity
//! macB = DECIPHER(KCB, CB, IDB)                    DirectionKeys::open_identity
//! assert macB = HMAC(KSB, …)                       identity::mac_b, identity::check_mac_identity
//!
//! XEP-0200 afterwards: counters continue (CA+2, CB+2 after 32-byte identities);
//!   CTR entry counter                              Profile::cipher_counter       (D13, G2)
//!   a_mac counter bytes                            Profile::stanza_mac_counter_bytes (D14, G3)
//!   re-key K = d^x mod p (unhashed), 4 labels      keys::rekey_keys              (D41)
//! ```
//!
//! The 3-message ESession-I (D46) uses the same functions: Bob's `macB` without
//! formB2 (`MacBInput { form_b2: None, .. }`), keys from K only, no SRS step.
//!
//! ## Example: Alice's message 3, no public keys
//!
//! ```
//! use esession_crypto::{cipher::CipherAlg, hash::HashAlg};
//! use esession_sigma::{counters::{self, Counters}, identity::{self, MacAInput},
//!                      keys::{self, DirectionKeys, Role}, sas, Profile};
//! # let shared_secret_mpi = [0x42u8; 256];
//! # let (n_a, n_b, e) = ([1u8; 16], [2u8; 16], [3u8; 256]);
//! # let (form_a, form_a2, form_b) = (b"<field/>", b"<field/>", b"<field/>");
//! let hash = HashAlg::Sha256;
//! let k = keys::k_dh(hash, &shared_secret_mpi);
//! let alice = DirectionKeys::derive(hash, CipherAlg::Aes128Ctr, Profile::Xep, k.as_bytes(), Role::Initiator)?;
//! let mac_a = identity::mac_a(hash, alice.ks().as_bytes(), &MacAInput {
//!     n_a: &n_a, n_b: &n_b, e: &e, pub_key_a: b"", form_a, form_a2,
//! });
//! let c = Counters::from_c_a(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
//! let sealed = alice.seal_identity(c.c_a, mac_a.as_bytes())?;
//! let c_a = counters::advance(c.c_a, sealed.blocks); // C_A + 2
//! let sas = sas::sas(hash, &sealed.m, form_b);
//! assert_eq!(sas.padded.len(), 5);
//!
//! // Bob, with the same K: M first, then the identity.
//! let opened = alice.open_identity(c.c_a, &sealed.id, &sealed.m)?;
//! identity::check_mac_identity(opened.plaintext.as_bytes(), mac_a.as_bytes())?;
//! # let _ = c_a;
//! # Ok::<(), esession_sigma::Error>(())
//! ```
//!
//! ## Security
//!
//! - Keys are [`esession_crypto::cipher::CtrKey`] and [`esession_crypto::SecretBytes`]:
//!   zeroized on drop, redacted in `Debug`, `==` in constant time.
//! - `M` is verified before anything is deciphered, in constant time; deciphered
//!   identities, rshashes and srshash are compared in constant time.
//! - Sizes from the wire are bounded ([`MAX_IDENTITY_LEN`]).
#![forbid(unsafe_code)]

pub mod counters;
mod error;
pub mod identity;
pub mod keys;
mod profile;
pub mod sas;
pub mod secrets;

pub use error::Error;
pub use profile::Profile;

/// Longest identity blob (`ID`, and its plaintext) accepted, in bytes. An RSA-8192
/// `<KeyValue>` with its signature is about 2.5 KiB; 16 KiB leaves room for DSA
/// and for `hash` mode without letting a peer make us decipher megabytes.
pub const MAX_IDENTITY_LEN: usize = 16 * 1024;
