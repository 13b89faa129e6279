//! Runner for `vectors/primitives/`: `esession-crypto` against data we did not write.
//!
//! Every file names its `kind`, which selects the checks (the files are produced by
//! `vectors/tools/import_primitives.py`; `vectors/primitives/README.md` documents them):
//!
//! | `kind` | checks | source |
//! |---|---|---|
//! | `modp` | group primes, sizes, generator; 1 < e < p-1; groups 3/4 refused | RFC 2409/3526, XEP-0116 §4.6.1, D5, D7 |
//! | `ctr` | AES-CTR encryption/decryption, block count, counter wrap | NIST SP 800-38A F.5, D13 |
//! | `wycheproof_signature` | `VerifyingKey::from_public_key_der` + `verify` | Wycheproof RSA/DSA/ECDSA |
//! | `wycheproof_mac` | HMAC, full and truncated tags | Wycheproof HMAC |
//! | `sas` | sas28x5, padded and unpadded | XEP-0116 §10, D32 |
//! | `mpi` | MPI encoding and strict decoding | XEP-0116 §6.1, D1 |
//! | `dh` | e = g^x, shared secret, K = SHA-256(mpi(shared)) | D8, Python's `pow` |
//!
//! A vector with `fail: true` must end in the error named by `expected_error` (the
//! [`esession_crypto::Error`] variant name). Wycheproof `acceptable` cases pass either
//! way; their case name records which way it went.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use esession_crypto::cipher::{CipherAlg, CtrKey, blocks_for};
use esession_crypto::dh::{DhPrivateKey, GENERATOR, ModpGroup};
use esession_crypto::hash::HashAlg;
use esession_crypto::sas::{SasAlg, sas28x5, sas28x5_unpadded};
use esession_crypto::sign::{SignAlg, VerifyingKey};
use esession_crypto::{Error, mpi, secret};
use serde_json::Value;

use crate::json::{hex_field, name, str_field, u64_field, vectors};
use crate::{CaseResult, Outcome};

/// What one case function reports when the vector passed: nothing, or a note for
/// the case name (how a Wycheproof `acceptable` case went).
type CaseOk = Option<String>;

/// Runs one file of `vectors/primitives/`.
pub fn run(path: &str, file: &Value) -> Result<Vec<CaseResult>, String> {
    let kind = str_field(file, "kind").map_err(|e| format!("{path}: {e}"))?;
    let list = vectors(file)?;
    match kind {
        "modp" => {
            let keys = RefCell::new(BTreeMap::new());
            Ok(each(list, |v| modp_case(&keys, v)))
        }
        "ctr" => Ok(each(list, ctr_case)),
        "wycheproof_signature" => {
            let keys = signature_keys(file)?;
            Ok(each(list, |v| signature_case(&keys, v)))
        }
        "wycheproof_mac" => Ok(each(list, mac_case)),
        "sas" => Ok(each(list, sas_case)),
        "mpi" => Ok(each(list, mpi_case)),
        "dh" => Ok(each(list, dh_case)),
        other => Err(format!("{path}: unknown kind {other:?}")),
    }
}

/// Runs `case` on every vector, naming each result.
fn each(list: &[Value], case: impl Fn(&Value) -> Result<CaseOk, String>) -> Vec<CaseResult> {
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            let mut name = name(v, i);
            // Wycheproof: "tcId 23 (valid)".
            let result = v.get("result").and_then(Value::as_str);
            let outcome = match case(v) {
                Ok(note) => {
                    match (result, note) {
                        (Some(r), Some(n)) => name = format!("{name} ({r}, {n})"),
                        (Some(r), None) => name = format!("{name} ({r})"),
                        (None, Some(n)) => name = format!("{name} ({n})"),
                        (None, None) => {}
                    }
                    Outcome::Pass
                }
                Err(why) => {
                    if let Some(r) = result {
                        name = format!("{name} ({r})");
                    }
                    Outcome::Fail(why)
                }
            };
            CaseResult { name, outcome }
        })
        .collect()
}

/// True if the vector is a negative case.
fn is_negative(v: &Value) -> bool {
    v.get("fail").and_then(Value::as_bool).unwrap_or(false)
}

/// The variant name of an error: `InvalidMpi("empty")` -> `InvalidMpi`.
fn variant(e: &Error) -> String {
    format!("{e:?}")
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect()
}

/// Checks `result` against the vector's expectation: for a negative case, the error
/// named by `expected_error`; otherwise success, then `check` on the value.
fn expect<T>(
    v: &Value,
    result: Result<T, Error>,
    check: impl FnOnce(T) -> Result<(), String>,
) -> Result<CaseOk, String> {
    if is_negative(v) {
        let want = str_field(v, "expected_error")?;
        match result {
            Ok(_) => Err(format!("expected error {want}, got success")),
            Err(e) if variant(&e) == want => Ok(None),
            Err(e) => Err(format!("expected error {want}, got {e:?}")),
        }
    } else {
        match result {
            Ok(value) => check(value).map(|()| None),
            Err(e) => Err(format!("unexpected error {e:?}")),
        }
    }
}

/// Compares two byte strings, describing the difference in hex.
fn same(what: &str, got: &[u8], want: &[u8]) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "{what}: got {}, expected {}",
            short_hex(got),
            short_hex(want)
        ))
    }
}

/// Hex, shortened for long values so that a failure line stays readable.
fn short_hex(b: &[u8]) -> String {
    if b.len() <= 40 {
        hex::encode(b)
    } else {
        format!(
            "{}…{} ({} bytes)",
            hex::encode(b.get(..16).unwrap_or_default()),
            hex::encode(b.get(b.len() - 16..).unwrap_or_default()),
            b.len()
        )
    }
}

fn group_number(v: &Value) -> Result<u32, String> {
    u32::try_from(u64_field(v, "modp_group")?).map_err(|_| "modp_group out of range".to_owned())
}

/// A 16-byte hex field as a 128-bit counter.
fn u128_field(v: &Value, key: &str) -> Result<u128, String> {
    let bytes: [u8; 16] = hex_field(v, key)?
        .try_into()
        .map_err(|_| format!("field {key:?}: not 16 bytes"))?;
    Ok(u128::from_be_bytes(bytes))
}

// ---------------------------------------------------------------------------
// MODP groups (RFC 2409/3526; XEP-0116 §4.6.1, §4.7.1; D5, D7)
// ---------------------------------------------------------------------------

/// One pinned private key per group (x = 2, a legal exponent: 1 < 2 < p-1), made once:
/// an imported exponent costs a full-width exponentiation.
type GroupKeys = RefCell<BTreeMap<u32, DhPrivateKey>>;

fn modp_case(keys: &GroupKeys, v: &Value) -> Result<CaseOk, String> {
    let n = group_number(v)?;
    match str_field(v, "op")? {
        "group" => expect(v, ModpGroup::from_number(n), |group| {
            same("p", group.prime(), &hex_field(v, "p")?)?;
            let bits = u64_field(v, "bits")?;
            if u64::from(group.bits()) != bits {
                return Err(format!("bits: got {}, expected {bits}", group.bits()));
            }
            let generator = u64_field(v, "generator")?;
            if u64::from(GENERATOR) != generator {
                return Err(format!("generator: got {GENERATOR}, expected {generator}"));
            }
            if group.number() != n {
                return Err(format!("number(): got {}", group.number()));
            }
            // The wire form (D4) names the same group.
            match ModpGroup::from_wire(&n.to_string()) {
                Ok(g) if g == group => Ok(()),
                other => Err(format!("from_wire({n}): {other:?}")),
            }
        }),
        "public_value" => {
            let group = ModpGroup::from_number(n).map_err(|e| format!("group {n}: {e}"))?;
            let e = hex_field(v, "e")?;
            let direct = group.validate_public(&e);
            if direct.is_err() {
                // The same check must guard the shared-secret computation. (Accepted
                // values are exercised there by dh-agreement.json.)
                let mut keys = keys.borrow_mut();
                let x = match keys.entry(n) {
                    Entry::Occupied(o) => o.into_mut(),
                    Entry::Vacant(slot) => slot.insert(
                        DhPrivateKey::from_bytes(group, &[2])
                            .map_err(|e| format!("x = 2: {e:?}"))?,
                    ),
                };
                let through_dh = x.shared_secret(&e).map(|_| ());
                if direct != through_dh {
                    return Err(format!(
                        "validate_public {direct:?} but shared_secret {through_dh:?}"
                    ));
                }
            }
            expect(v, direct, |()| Ok(()))
        }
        other => Err(format!("unknown op {other:?}")),
    }
}

// ---------------------------------------------------------------------------
// AES-CTR (SP 800-38A F.5; XEP-0200 counter, D13)
// ---------------------------------------------------------------------------

fn ctr_case(v: &Value) -> Result<CaseOk, String> {
    let alg = CipherAlg::from_name(str_field(v, "cipher")?).map_err(|e| format!("{e}"))?;
    let key = CtrKey::new(alg, &hex_field(v, "key")?).map_err(|e| format!("{e}"))?;
    let counter = u128_field(v, "counter")?;
    let plaintext = hex_field(v, "plaintext")?;
    let ciphertext = hex_field(v, "ciphertext")?;
    let (input, want) = match str_field(v, "direction")? {
        "encrypt" => (&plaintext, &ciphertext),
        "decrypt" => (&ciphertext, &plaintext),
        other => return Err(format!("unknown direction {other:?}")),
    };
    // In one call.
    let mut data = input.clone();
    let blocks = key
        .apply_keystream(counter, &mut data)
        .map_err(|e| format!("{e}"))?;
    same("one call", &data, want)?;
    let expected_blocks = input.len().div_ceil(16) as u128;
    if blocks != expected_blocks || blocks_for(input.len()) != expected_blocks {
        return Err(format!(
            "blocks consumed: got {blocks}, expected {expected_blocks}"
        ));
    }
    // Block by block, advancing the counter as a caller does (D13: block i uses
    // C + i mod 2^128).
    let mut data = input.clone();
    let mut c = counter;
    for chunk in data.chunks_mut(16) {
        let used = key.apply_keystream(c, chunk).map_err(|e| format!("{e}"))?;
        c = c.wrapping_add(used);
    }
    same("block by block", &data, want)?;
    Ok(None)
}

// ---------------------------------------------------------------------------
// Wycheproof signatures (RSA PKCS#1 v1.5, DSA and ECDSA P1363; D31)
// ---------------------------------------------------------------------------

/// The public key of each Wycheproof test group, or why it was refused.
fn signature_keys(file: &Value) -> Result<Vec<Result<VerifyingKey, Error>>, String> {
    let groups = file
        .get("groups")
        .and_then(Value::as_array)
        .ok_or_else(|| "no \"groups\" array".to_owned())?;
    groups
        .iter()
        .map(|g| {
            Ok(VerifyingKey::from_public_key_der(&hex_field(
                g,
                "publicKeyDer",
            )?))
        })
        .collect()
}

fn signature_case(keys: &[Result<VerifyingKey, Error>], v: &Value) -> Result<CaseOk, String> {
    let alg = SignAlg::from_uri(str_field(v, "sign_alg")?).map_err(|e| format!("{e}"))?;
    let group = usize::try_from(u64_field(v, "group")?).map_err(|_| "bad group".to_owned())?;
    let key = keys
        .get(group)
        .ok_or_else(|| format!("no group {group}"))?
        .as_ref()
        .map_err(|e| format!("public key of group {group} refused: {e:?}"))?;
    if key.alg() != alg {
        return Err(format!("key is {:?}, vector is {alg:?}", key.alg()));
    }
    let result = key.verify(&hex_field(v, "msg")?, &hex_field(v, "sig")?);
    wycheproof_result(v, result)
}

/// Applies the Wycheproof `result` to a verification outcome.
fn wycheproof_result(v: &Value, result: Result<(), Error>) -> Result<CaseOk, String> {
    match str_field(v, "result")? {
        "valid" | "invalid" => expect(v, result, |()| Ok(())),
        // Either way is allowed; say which way it went.
        "acceptable" => Ok(Some(
            match result {
                Ok(()) => "accepted",
                Err(_) => "rejected",
            }
            .to_owned(),
        )),
        other => Err(format!("unknown result {other:?}")),
    }
}

// ---------------------------------------------------------------------------
// Wycheproof HMAC (full and truncated tags)
// ---------------------------------------------------------------------------

fn mac_case(v: &Value) -> Result<CaseOk, String> {
    // The suite tests the primitive, so sha1 is looked up with the weak-hash opt-in.
    let hash = HashAlg::from_name_allow_weak(str_field(v, "hash")?).map_err(|e| format!("{e}"))?;
    let key = hex_field(v, "key")?;
    let msg = hex_field(v, "msg")?;
    let tag = hex_field(v, "tag")?;
    let tag_bits = usize::try_from(u64_field(v, "tag_bits")?).map_err(|_| "bad tag_bits")?;
    let key_bits = usize::try_from(u64_field(v, "key_bits")?).map_err(|_| "bad key_bits")?;
    if key.len() * 8 != key_bits || tag_bits % 8 != 0 {
        return Err(format!(
            "key of {} bytes for key_bits {key_bits}",
            key.len()
        ));
    }
    let full = hash.hmac(&key, &msg);
    let result = if tag_bits == hash.output_len() * 8 {
        // Full tags go through the constant-time verifier the protocol uses...
        let verified = hash.verify_hmac(&key, &[&msg], &tag);
        // ...which must agree with recomputing the tag.
        if verified.is_ok() != (full.as_bytes() == tag.as_slice()) {
            return Err(format!("verify_hmac {verified:?} disagrees with hmac()"));
        }
        verified
    } else {
        // Truncated tags: compare the first tag_bits/8 bytes of the HMAC.
        let truncated = full
            .as_bytes()
            .get(..tag_bits / 8)
            .ok_or_else(|| format!("tag_bits {tag_bits} longer than the HMAC"))?;
        if secret::ct_eq(truncated, &tag) {
            Ok(())
        } else {
            Err(Error::BadMac)
        }
    };
    wycheproof_result(v, result)
}

// ---------------------------------------------------------------------------
// sas28x5 (XEP-0116 §10, D32, G5)
// ---------------------------------------------------------------------------

fn sas_case(v: &Value) -> Result<CaseOk, String> {
    match str_field(v, "op")? {
        "sas" => {
            let digest = hex_field(v, "digest")?;
            let padded = sas28x5(&digest);
            let unpadded = sas28x5_unpadded(&digest);
            let (want, want_unpadded) = (str_field(v, "sas")?, str_field(v, "sas_unpadded")?);
            if padded != want || unpadded != want_unpadded {
                return Err(format!(
                    "got {padded:?}/{unpadded:?}, expected {want:?}/{want_unpadded:?}"
                ));
            }
            Ok(None)
        }
        "from_name" => {
            let wire = str_field(v, "sas_alg")?;
            expect(v, SasAlg::from_name(wire), |alg| {
                if alg.name() == wire {
                    Ok(())
                } else {
                    Err(format!("name() is {:?}", alg.name()))
                }
            })
        }
        other => Err(format!("unknown op {other:?}")),
    }
}

// ---------------------------------------------------------------------------
// MPI (XEP-0116 §6.1, D1)
// ---------------------------------------------------------------------------

fn mpi_case(v: &Value) -> Result<CaseOk, String> {
    match str_field(v, "op")? {
        "encode" => {
            same(
                "mpi",
                &mpi::encode(&hex_field(v, "input")?),
                &hex_field(v, "mpi")?,
            )?;
            Ok(None)
        }
        "decode" => {
            let input = hex_field(v, "input")?;
            expect(v, mpi::decode(&input), |out| same("decoded", out, &input))
        }
        "encode_counter" => {
            let value = u128_field(v, "value")?;
            let want = hex_field(v, "mpi")?;
            same("mpi", &mpi::encode_u128(value), &want)?;
            match mpi::decode_counter(&want) {
                Ok(back) if back == value => Ok(None),
                other => Err(format!("decode_counter of the mpi: {other:?}")),
            }
        }
        "decode_counter" => {
            let input = hex_field(v, "input")?;
            expect(v, mpi::decode_counter(&input), |got| {
                let want = u128_field(v, "value")?;
                if got == want {
                    Ok(())
                } else {
                    Err(format!("got {got:#x}, expected {want:#x}"))
                }
            })
        }
        other => Err(format!("unknown op {other:?}")),
    }
}

// ---------------------------------------------------------------------------
// Diffie-Hellman agreement (XEP-0116 §4.5.1; D1, D8)
// ---------------------------------------------------------------------------

fn dh_case(v: &Value) -> Result<CaseOk, String> {
    let group = ModpGroup::from_number(group_number(v)?).map_err(|e| format!("{e}"))?;
    let hash = HashAlg::from_name(str_field(v, "hash")?).map_err(|e| format!("{e}"))?;
    let alice =
        DhPrivateKey::from_bytes(group, &hex_field(v, "x_a")?).map_err(|e| format!("x_a: {e}"))?;
    let bob =
        DhPrivateKey::from_bytes(group, &hex_field(v, "x_b")?).map_err(|e| format!("x_b: {e}"))?;
    let (e_a, e_b) = (hex_field(v, "e_a")?, hex_field(v, "e_b")?);
    same("e_a", alice.public_key(), &e_a)?;
    same("e_b", bob.public_key(), &e_b)?;
    let want = hex_field(v, "shared")?;
    let s_a = alice
        .shared_secret(&e_b)
        .map_err(|e| format!("alice: {e}"))?;
    let s_b = bob.shared_secret(&e_a).map_err(|e| format!("bob: {e}"))?;
    same("shared (alice)", s_a.as_bytes(), &want)?;
    same("shared (bob)", s_b.as_bytes(), &want)?;
    same(
        "K",
        hash.digest(s_a.as_bytes()).as_bytes(),
        &hex_field(v, "k")?,
    )?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    //! The runner must notice a wrong vector: each test corrupts one embedded vector
    //! and expects that case (and only that one) to fail.
    use super::*;

    fn file(name: &str) -> Value {
        let (_, text) = crate::vector_files()
            .iter()
            .find(|(p, _)| *p == format!("primitives/{name}"))
            .unwrap();
        serde_json::from_str(text).unwrap()
    }

    fn failures(path: &str, json: &Value) -> Vec<String> {
        run(path, json)
            .unwrap()
            .into_iter()
            .filter(|c| matches!(c.outcome, Outcome::Fail(_)))
            .map(|c| c.name)
            .collect()
    }

    /// Index of the first vector satisfying `pred`.
    fn find(json: &Value, pred: impl Fn(&Value) -> bool) -> usize {
        json["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .position(pred)
            .unwrap()
    }

    fn flip_hex(v: &mut Value, key: &str) {
        let mut bytes = hex::decode(v[key].as_str().unwrap()).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        v[key] = Value::String(hex::encode(bytes));
    }

    #[test]
    fn unmodified_files_pass() {
        for (path, text) in crate::vector_files() {
            if path.starts_with("primitives/") {
                let json: Value = serde_json::from_str(text).unwrap();
                assert!(failures(path, &json).is_empty(), "{path}");
            }
        }
    }

    #[test]
    fn wrong_ciphertext_fails() {
        let mut json = file("aes-ctr-sp800-38a.json");
        flip_hex(&mut json["vectors"][0], "ciphertext");
        assert_eq!(json["vectors"][1]["direction"], "decrypt");
        flip_hex(&mut json["vectors"][1], "plaintext");
        assert_eq!(failures("primitives/x.json", &json).len(), 2);
    }

    #[test]
    fn tampered_valid_signature_fails() {
        for name in [
            "wycheproof-rsa2048-pkcs1-sha256.json",
            "wycheproof-dsa2048-256-sha256-p1363.json",
            "wycheproof-ecdsa-p256-sha256-p1363.json",
        ] {
            let mut json = file(name);
            let i = find(&json, |v| v["result"] == "valid");
            flip_hex(&mut json["vectors"][i], "sig");
            let tc = json["vectors"][i]["tcId"].as_u64().unwrap();
            assert_eq!(
                failures("primitives/x.json", &json),
                vec![format!("tcId {tc} (valid)")],
                "{name}"
            );
        }
    }

    #[test]
    fn invalid_case_relabelled_valid_fails() {
        let mut json = file("wycheproof-ecdsa-p256-sha256-p1363.json");
        let i = find(&json, |v| v["result"] == "invalid");
        let v = json["vectors"][i].as_object_mut().unwrap();
        v.insert("result".into(), "valid".into());
        v.remove("fail");
        v.remove("expected_error");
        assert_eq!(failures("primitives/x.json", &json).len(), 1);
    }

    #[test]
    fn acceptable_cases_say_how_they_went() {
        let json = file("wycheproof-rsa2048-pkcs1-sha256.json");
        let cases = run("primitives/x.json", &json).unwrap();
        let acceptable: Vec<_> = cases
            .iter()
            .filter(|c| c.name.contains("(acceptable"))
            .collect();
        assert_eq!(acceptable.len(), 1);
        assert!(
            acceptable[0].name.ends_with("accepted)") || acceptable[0].name.ends_with("rejected)")
        );
        assert_eq!(acceptable[0].outcome, Outcome::Pass);
    }

    #[test]
    fn truncated_hmac_tag_checked() {
        let mut json = file("wycheproof-hmac-sha256.json");
        let i = find(&json, |v| v["result"] == "valid" && v["tag_bits"] == 128);
        flip_hex(&mut json["vectors"][i], "tag");
        let j = find(&json, |v| v["result"] == "valid" && v["tag_bits"] == 256);
        flip_hex(&mut json["vectors"][j], "key");
        assert_eq!(failures("primitives/x.json", &json).len(), 2);
    }

    #[test]
    fn wrong_expected_error_fails() {
        let mut json = file("modp-groups.json");
        let i = find(&json, |v| v["expected_error"] == "EllipticCurveGroup");
        json["vectors"][i]["expected_error"] = "UnknownGroup".into();
        let j = find(&json, |v| v["expected_error"] == "InvalidPublicValue");
        json["vectors"][j].as_object_mut().unwrap().remove("fail");
        assert_eq!(failures("primitives/x.json", &json).len(), 2);
    }

    #[test]
    fn wrong_derived_values_fail() {
        let mut sas = file("sas28x5.json");
        sas["vectors"][0]["sas_unpadded"] = "aaaaa".into();
        assert_eq!(failures("primitives/x.json", &sas).len(), 1);
        let mut mpi = file("mpi.json");
        let i = find(&mpi, |v| v["op"] == "encode" && v["input"] == "00000100");
        mpi["vectors"][i]["mpi"] = "000100".into();
        assert_eq!(failures("primitives/x.json", &mpi).len(), 1);
        let mut dh = file("dh-agreement.json");
        flip_hex(&mut dh["vectors"][0], "k");
        assert_eq!(failures("primitives/x.json", &dh).len(), 1);
    }

    #[test]
    fn unknown_kind_is_a_file_error() {
        let json = serde_json::json!({"source": "s", "kind": "nope", "vectors": []});
        assert!(run("primitives/x.json", &json).is_err());
    }
}
