//! Zeroization of keys, DH private values and retained secrets, shown three
//! ways (docs/security.md, "Zeroization"):
//!
//! 1. **Compile time.** The leaf types that hold secret bytes implement
//!    [`ZeroizeOnDrop`]: [`SecretBytes`] (derived) and [`SigningKey`] (asserted
//!    over the RustCrypto key types' own `Drop`). [`DhPrivateKey`] keeps its
//!    exponent in a [`DhExponent`], which zeroizes it in a hand-written `Drop`
//!    (crypto-bigint's `BoxedUint: Zeroize`); both carry the marker, and a
//!    source check pins the `Drop` body.
//! 2. **Structure.** Every struct field in the library source of every crate
//!    whose name says it holds a secret (km, kc, ks, x, y, secret, srs,
//!    password, carry, …) has a type built on those leaves (`SecretBytes`,
//!    `CtrKey`, `DhPrivateKey`, `DhExponent`, `Zeroizing<…>`, `SigningKey`, or a key
//!    struct made of them). A new field of a plain `Vec<u8>` fails the test.
//! 3. **Behaviour.** `zeroize()` clears the bytes, and `Debug` never prints them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::{crates_dir, sources};

use esession_crypto::SecretBytes;
use esession_crypto::cipher::{CipherAlg, CtrKey};
use esession_crypto::dh::{DhExponent, DhPrivateKey, ModpGroup};
use esession_crypto::sign::SigningKey;
use zeroize::{Zeroize, ZeroizeOnDrop};

fn assert_zeroize_on_drop<T: ZeroizeOnDrop>() {}
fn assert_zeroize<T: Zeroize>() {}

#[test]
fn leaf_secret_types_zeroize_on_drop() {
    assert_zeroize_on_drop::<SecretBytes>();
    assert_zeroize_on_drop::<SigningKey>();
    assert_zeroize_on_drop::<DhPrivateKey>();
    assert_zeroize_on_drop::<DhExponent>();
    assert_zeroize::<SecretBytes>();
    assert_zeroize::<zeroize::Zeroizing<Vec<u8>>>();
}

#[test]
fn dh_private_key_zeroizes_its_exponent_on_drop() {
    let src =
        std::fs::read_to_string(crates_dir().join("esession-crypto/src/dh.rs")).expect("dh.rs");
    let drop_impl = src
        .split("impl Drop for DhExponent {")
        .nth(1)
        .expect("DhExponent implements Drop");
    let body = &drop_impl[..drop_impl.find("\n}\n").expect("end of impl")];
    assert!(body.contains("self.x.zeroize();"), "{body}");
    assert!(src.contains("    x: BoxedUint,"), "x is a BoxedUint");
    // DhPrivateKey holds x only inside a DhExponent.
    assert!(
        src.contains("    exponent: DhExponent,"),
        "DhPrivateKey holds a DhExponent"
    );
}

/// Field names that hold a secret.
const SECRET_FIELDS: &[&str] = &[
    "km",
    "kc",
    "ks",
    "x",
    "y",
    "key",
    "secret",
    "secrets",
    "srs",
    "oss",
    "password",
    "carry",
    "shared",
    "shared_secret",
    "k",
    "k_final",
    "own",
    "candidates",
    "stored_secret",
    "pinned_y",
    "publish",
    "own_old_unacked",
    "peer_old_pending",
];

/// Types that zeroize on drop (leaves, and key structs made only of them).
const ZEROIZING_TYPES: &[&str] = &[
    "SecretBytes",
    "CtrKey",
    "DhPrivateKey",
    "DhExponent",
    "Zeroizing<",
    "SigningKey",
    "IdentityKey",
    "DirectionKeys",
    "SessionKeys",
    "TrafficKeys",
    "RekeyKeys",
    "StanzaCipher",
    "SharedPassword",
    "RetainedSecret",
    "StoreKey",
    "PrivateValue",
    "Oss",
];

/// Fields the rule flags that are exempt: (file suffix, field line, reason).
const EXEMPT_FIELDS: &[(&str, &str, &str)] = &[
    (
        "esession-cli/src/chat.rs",
        "pub password: String,",
        "the XMPP account password from the command line (clap): already in argv, and not an \
         ESession secret",
    ),
    (
        "esession-crypto/src/dh.rs",
        "x: BoxedUint,",
        "zeroized by DhExponent's Drop (dh_private_key_zeroizes_its_exponent_on_drop)",
    ),
    (
        "esession-offline/src/alice.rs",
        "pub publish: Stanza,",
        "the PEP publish iq: public",
    ),
    (
        "esession-online/src/pubkey.rs",
        "pub key: Vec<u8>,",
        "a public key (D28 bytes)",
    ),
    (
        "esession-online/src/store.rs",
        "pub key: Vec<u8>,",
        "a trusted public key (D28 bytes)",
    ),
    (
        "esession-store/src/trust.rs",
        "key: TrustedKey,",
        "a trusted public key and its petname",
    ),
    (
        "esession-online/src/traffic.rs",
        "pub key: Option<Vec<u8>>,",
        "<key/>: mpi(e) of a re-key, public",
    ),
    (
        "esession-wire/src/encrypted.rs",
        "pub key: Option<Vec<u8>>,",
        "<key/>: mpi(e) of a re-key, public",
    ),
    (
        "esession-cli/src/peer.rs",
        "secrets: FreshOnly,",
        "a view of a RetainedSecretStore: the secrets inside are RetainedSecret (SecretBytes)",
    ),
];

#[test]
fn secret_fields_have_zeroizing_types() {
    let files = sources();
    let mut flagged = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source");
        let mut in_struct = false;
        for (n, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.starts_with("#[cfg(test)]") {
                break;
            }
            if (t.starts_with("pub struct ")
                || t.starts_with("struct ")
                || t.starts_with("pub(crate) struct "))
                && t.ends_with('{')
            {
                in_struct = true;
                continue;
            }
            if in_struct && t.starts_with('}') {
                in_struct = false;
                continue;
            }
            if !in_struct || t.starts_with("//") || t.starts_with("#[") {
                continue;
            }
            let decl = t
                .trim_start_matches("pub(crate) ")
                .trim_start_matches("pub ");
            let Some((name, ty)) = decl.split_once(':') else {
                continue;
            };
            if !SECRET_FIELDS.contains(&name.trim()) {
                continue;
            }
            checked += 1;
            let shown = file
                .strip_prefix(crates_dir())
                .unwrap_or(file)
                .display()
                .to_string();
            // A borrow owns nothing; a path names a file.
            let ty = ty.trim();
            if ty.starts_with('&') || ty.contains("PathBuf") {
                continue;
            }
            if ZEROIZING_TYPES.iter().any(|z| ty.contains(z))
                || EXEMPT_FIELDS
                    .iter()
                    .any(|(f, l, _)| shown.ends_with(f) && t == *l)
            {
                continue;
            }
            flagged.push(format!("{shown}:{}: {t}", n + 1));
        }
    }
    assert!(
        checked > 20,
        "only {checked} secret fields found: is the scan broken?"
    );
    assert!(
        flagged.is_empty(),
        "secret-named fields of a type that does not zeroize on drop (use SecretBytes, \
         Zeroizing, …, or list the field in EXEMPT_FIELDS with the reason):\n{}",
        flagged.join("\n")
    );
}

#[test]
fn zeroize_clears_and_debug_redacts() {
    let mut s = SecretBytes::from_slice(&[0xa5; 32]);
    assert!(!format!("{s:?}").contains("a5"));
    s.zeroize();
    assert!(s.as_bytes().iter().all(|&b| b == 0));

    let key = CtrKey::new(CipherAlg::Aes128Ctr, &[0xa5; 16]).expect("key");
    let shown = format!("{key:?}");
    assert!(!shown.contains("a5") && !shown.contains("165"), "{shown}");

    let mut x = vec![0u8; 256];
    x[0] = 0x80;
    x[255] = 0xa5;
    let dh = DhPrivateKey::from_bytes(ModpGroup::Group14, &x).expect("x in range");
    let shown = format!("{dh:?}");
    assert!(!shown.contains("a5") && !shown.contains("165"), "{shown}");
}
