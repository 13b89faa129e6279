//! `esession keygen` and `esession fingerprint`, run as the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};

fn esession(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_esession"))
        .args(args)
        .output()
        .unwrap()
}

/// A fresh path under cargo's per-target temporary directory.
fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("esession-cli-keys");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// One failing run: exit `code`, exactly one line on stderr, nothing on stdout.
fn assert_one_line_error(o: &Output, code: i32, prefix: &str) -> String {
    assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with(prefix), "{err}");
    assert!(o.stdout.is_empty());
    err
}

fn round_trip(alg: &str, bits: Option<&str>, pkcs8_oid_hint: &str) {
    // One file per (algorithm, size): the tests run in parallel and two RSA
    // sizes sharing `rsa.pem` raced (one saw the other's file and refused).
    let path = tmp(&format!(
        "{alg}{}.pem",
        bits.map(|b| format!("-{b}")).unwrap_or_default()
    ));
    let p = path.to_str().unwrap();
    let mut args = vec!["keygen", "--alg", alg, "--out", p];
    if let Some(b) = bits {
        args.extend(["--bits", b]);
    }
    let made = esession(&args);
    assert!(made.status.success(), "{}", stderr(&made));
    let line = stdout(&made);
    let from_keygen = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert_eq!(from_keygen.len(), 64, "{line}");
    assert!(line.contains(&format!("{alg} key written")), "{line}");

    // The file: PKCS#8 PEM, owner read/write only.
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
    assert!(pem.ends_with("-----END PRIVATE KEY-----\n"));
    let (label, der) = pem_rfc7468::decode_vec(pem.as_bytes()).unwrap();
    assert_eq!(label, "PRIVATE KEY");
    // The algorithm identifier's OID bytes (RFC 5208 PrivateKeyInfo).
    assert!(
        hex::encode(&der).contains(pkcs8_oid_hint),
        "{alg}: OID {pkcs8_oid_hint} not in the PKCS#8 DER"
    );

    let fp = esession(&["fingerprint", p]);
    assert!(fp.status.success(), "{}", stderr(&fp));
    assert_eq!(stdout(&fp), format!("{from_keygen}\n"));
    // Deterministic: the same file gives the same line.
    assert_eq!(stdout(&esession(&["fingerprint", p])), stdout(&fp));
}

#[test]
fn rsa_keygen_then_fingerprint() {
    // rsaEncryption 1.2.840.113549.1.1.1
    round_trip("rsa", None, "2a864886f70d010101");
}

#[test]
fn rsa_3072_keygen_then_fingerprint() {
    round_trip("rsa", Some("3072"), "2a864886f70d010101");
}

#[test]
fn dsa_keygen_then_fingerprint() {
    // id-dsa 1.2.840.10040.4.1
    round_trip("dsa", None, "2a8648ce380401");
}

#[test]
fn ecdsa_keygen_then_fingerprint() {
    // id-ecPublicKey 1.2.840.10045.2.1 and prime256v1 1.2.840.10045.3.1.7
    round_trip("ecdsa", None, "2a8648ce3d0201");
    let pem = std::fs::read_to_string(tmp_keep("ecdsa.pem")).unwrap();
    let (_, der) = pem_rfc7468::decode_vec(pem.as_bytes()).unwrap();
    assert!(hex::encode(der).contains("2a8648ce3d030107"));
}

fn tmp_keep(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("esession-cli-keys")
        .join(name)
}

#[test]
fn keygen_refuses_to_overwrite_without_force() {
    let path = tmp("exists.pem");
    std::fs::write(&path, "keep me").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let p = path.to_str().unwrap();
    let o = esession(&["keygen", "--alg", "ecdsa", "--out", p]);
    let err = assert_one_line_error(&o, 1, "esession keygen: ");
    assert!(err.contains("already exists (use --force"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");

    let o = esession(&["keygen", "--alg", "ecdsa", "--out", p, "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a replaced file is narrowed to 0600");
    assert!(esession(&["fingerprint", p]).status.success());
}

#[test]
fn keygen_bad_bits_is_a_usage_error() {
    for (alg, bits) in [("rsa", "1024"), ("dsa", "1024"), ("ecdsa", "384")] {
        let path = tmp(&format!("bits-{alg}.pem"));
        let o = esession(&[
            "keygen",
            "--alg",
            alg,
            "--bits",
            bits,
            "--out",
            path.to_str().unwrap(),
        ]);
        assert_one_line_error(&o, 2, "esession keygen: --bits");
        assert!(!path.exists());
    }
    // An unknown algorithm is clap's usage error.
    let o = esession(&["keygen", "--alg", "ed25519", "--out", "/nonexistent/x"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn fingerprint_of_bad_files_is_one_clear_line() {
    let missing = tmp("missing.pem");
    let err = assert_one_line_error(
        &esession(&["fingerprint", missing.to_str().unwrap()]),
        1,
        "esession fingerprint: ",
    );
    assert!(err.contains("No such file"), "{err}");

    let garbage = tmp("garbage.pem");
    std::fs::write(&garbage, "this is not a key\n").unwrap();
    let err = assert_one_line_error(
        &esession(&["fingerprint", garbage.to_str().unwrap()]),
        1,
        "esession fingerprint: ",
    );
    assert!(err.contains("not a PEM key file"), "{err}");

    let cert = tmp("cert.pem");
    std::fs::write(
        &cert,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let err = assert_one_line_error(
        &esession(&["fingerprint", cert.to_str().unwrap()]),
        1,
        "esession fingerprint: ",
    );
    assert!(err.contains("CERTIFICATE"), "{err}");

    // Valid PEM armour around bytes that are no PKCS#8 key.
    let junk = tmp("junk.pem");
    std::fs::write(
        &junk,
        pem_rfc7468::encode_string(
            "PRIVATE KEY",
            pem_rfc7468::LineEnding::LF,
            b"\x30\x03\x02\x01\x00",
        )
        .unwrap(),
    )
    .unwrap();
    let err = assert_one_line_error(
        &esession(&["fingerprint", junk.to_str().unwrap()]),
        1,
        "esession fingerprint: ",
    );
    assert!(err.contains("not a usable rsa, dsa or P-256 key"), "{err}");

    let big = tmp("big.pem");
    std::fs::write(&big, vec![b'A'; 70 * 1024]).unwrap();
    let err = assert_one_line_error(
        &esession(&["fingerprint", big.to_str().unwrap()]),
        1,
        "esession fingerprint: ",
    );
    assert!(err.contains("too large"), "{err}");
}

#[test]
fn fingerprint_reads_the_public_key_too() {
    let path = tmp("pub-src.pem");
    let p = path.to_str().unwrap();
    assert!(
        esession(&["keygen", "--alg", "ecdsa", "--out", p])
            .status
            .success()
    );
    let private = esession_cli::keys::load_signing_key(&path).unwrap();
    let spki = private.verifying_key().to_public_key_der().unwrap();
    let public = tmp("pub.pem");
    std::fs::write(
        &public,
        pem_rfc7468::encode_string("PUBLIC KEY", pem_rfc7468::LineEnding::LF, &spki).unwrap(),
    )
    .unwrap();
    assert_eq!(
        stdout(&esession(&["fingerprint", public.to_str().unwrap()])),
        stdout(&esession(&["fingerprint", p]))
    );
    // A public key cannot sign: refused where a private key is needed.
    assert!(esession_cli::keys::load_signing_key(&public).is_err());
}
