//! Constant-time comparison of MACs, hashes and secrets, checked two ways.
//!
//! 1. **Where it happens.** Every MAC check goes through
//!    [`HashAlg::verify_hmac`], which calls RustCrypto's `Mac::verify_slice`
//!    (built on `subtle::ConstantTimeEq`); every other comparison of secret
//!    or secret-derived bytes (He, macA/macB against the deciphered identity,
//!    rshashes/srshash, retained secrets, MAC keys) goes through
//!    `esession_crypto::secret::ct_eq` (`subtle`). The test
//!    `the_constant_time_call_sites_are_in_place` pins those call sites.
//! 2. **Nowhere else.** `no_secret_is_compared_with_eq` scans the library
//!    source of every crate (test modules excluded) for `==`/`!=` on a line
//!    that names a secret (mac, km, tag, srshash, secret, …). The few lines
//!    it flags are listed in `ALLOWED` with the reason they compare public
//!    values.
//!
//! Timing itself is measured by the dudect tool (`examples/dudect.rs`), not
//! here: a timing assertion in a test suite would be flaky.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::{crates_dir, sources, workspace};

use esession_crypto::hash::HashAlg;

/// Identifiers that name a secret or a value whose comparison must not leak
/// (a MAC, a key, a hash of a secret).
const SECRET_NAMES: &[&str] = &[
    "mac",
    "macs",
    "mac_a",
    "mac_b",
    "m_a",
    "m_b",
    "a_mac",
    "expected_mac",
    "tag",
    "km",
    "kc",
    "ks",
    "he",
    "srs",
    "srshash",
    "rshash",
    "rshashes",
    "secret",
    "secrets",
    "shared",
    "shared_secret",
    "retained",
    "k_final",
    "k_dh",
    "oss",
    "password",
];

/// Lines the scan flags that compare public values: (file suffix, trimmed
/// line, reason). (DH exponents x, y are never compared at all; they are not
/// in `SECRET_NAMES` because single letters name public closure arguments
/// everywhere.)
const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "esession-online/src/traffic.rs",
        "self.kc.alg() == CipherAlg::None",
        "compares the negotiated algorithm of KC, not the key",
    ),
    (
        "esession-cli/src/demo/transcript.rs",
        "if m4.srshash != s.srshash_random {",
        "the demo re-checks its own finished transcript for display: no attacker times it",
    ),
    (
        "esession-cli/src/demo/transcript.rs",
        "if plain_a != mac_a.as_bytes() || plain_b != mac_b.as_bytes() {",
        "the demo re-checks its own finished transcript for display: no attacker times it",
    ),
];

/// The library source of a file: everything before its `#[cfg(test)]`
/// module, comment lines dropped.
fn library_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with("#[cfg(test)]") {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        // Drop a trailing comment.
        let code = t.split(" //").next().unwrap_or(t);
        out.push((i + 1, code));
    }
    out
}

fn identifiers(code: &str) -> impl Iterator<Item = String> + '_ {
    code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
}

#[test]
fn no_secret_is_compared_with_eq() {
    let mut flagged = Vec::new();
    for file in sources() {
        let text = std::fs::read_to_string(&file).expect("readable source");
        for (n, code) in library_lines(&text) {
            // String literals are not comparisons.
            let outside_strings: String = code
                .split('"')
                .enumerate()
                .filter(|(i, _)| i % 2 == 0)
                .map(|(_, s)| s)
                .collect();
            if !(outside_strings.contains("==") || outside_strings.contains("!=")) {
                continue;
            }
            let hits: Vec<String> = identifiers(&outside_strings)
                .filter(|w| SECRET_NAMES.contains(&w.as_str()))
                .collect();
            if hits.is_empty() {
                continue;
            }
            let shown = file
                .strip_prefix(workspace())
                .unwrap_or(&file)
                .display()
                .to_string();
            if ALLOWED
                .iter()
                .any(|(f, l, _)| shown.ends_with(f) && code == *l)
            {
                continue;
            }
            flagged.push(format!("{shown}:{n}: {code}   (names {hits:?})"));
        }
    }
    assert!(
        flagged.is_empty(),
        "`==`/`!=` on a line naming a secret; use verify_hmac or secret::ct_eq, or \
         add the line to ALLOWED with the reason it is public:\n{}",
        flagged.join("\n")
    );
}

/// The comparisons that must be constant time, where they are made.
#[test]
fn the_constant_time_call_sites_are_in_place() {
    let root = crates_dir();
    for (file, needle, what) in [
        (
            "esession-crypto/src/hash.rs",
            "complete && ct_eq(expected.as_bytes(), tag)",
            "HMAC tags: secret::ct_eq (subtle)",
        ),
        (
            "esession-crypto/src/secret.rs",
            "use subtle::ConstantTimeEq;",
            "ct_eq and SecretBytes == are subtle::ConstantTimeEq",
        ),
        (
            "esession-online/src/traffic.rs",
            ".verify_hmac(",
            "XEP-0200 a_mac (D40)",
        ),
        (
            "esession-online/src/endpoint/four_message.rs",
            "esession_crypto::secret::ct_eq(he.as_bytes(), &s.he)",
            "He = SHA256(e) (D7)",
        ),
        (
            "esession-sigma/src/identity.rs",
            "ct_eq(plaintext, expected_mac)",
            "deciphered ID against macA/macB",
        ),
        (
            "esession-sigma/src/secrets.rs",
            "ct_eq(srshash(hash, s).as_bytes(), srshash_received)",
            "srshash (XEP-0116 §4.7.3)",
        ),
        (
            "esession-sigma/src/secrets.rs",
            "ct_eq(h.as_bytes(), r)",
            "rshashes",
        ),
        (
            "esession-online/src/rekey.rs",
            "ct_eq(k.as_bytes(), km.as_bytes())",
            "old MAC keys (D41)",
        ),
    ] {
        let text = std::fs::read_to_string(root.join(file)).expect(file);
        assert!(
            text.contains(needle),
            "{file}: {what}: `{needle}` not found"
        );
    }
}

/// verify_hmac refuses a tag wrong anywhere, and a truncated or extended
/// tag (RFC 4231 test case 2 key and data).
#[test]
fn verify_hmac_refuses_every_wrong_tag() {
    let key = b"Jefe";
    let data: [&[u8]; 1] = [b"what do ya want for nothing?"];
    let tag = HashAlg::Sha256.hmac_parts(key, &data);
    let tag = tag.as_bytes();
    assert_eq!(
        hex::encode(tag),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert!(HashAlg::Sha256.verify_hmac(key, &data, tag).is_ok());
    for i in 0..tag.len() {
        let mut bad = tag.to_vec();
        bad[i] ^= 0x01;
        assert!(
            HashAlg::Sha256.verify_hmac(key, &data, &bad).is_err(),
            "byte {i}"
        );
    }
    assert!(HashAlg::Sha256.verify_hmac(key, &data, &tag[..16]).is_err());
    assert!(HashAlg::Sha256.verify_hmac(key, &data, &[]).is_err());
    let mut longer = tag.to_vec();
    longer.push(0);
    assert!(HashAlg::Sha256.verify_hmac(key, &data, &longer).is_err());
}
