//! The identity MACs `macA` / `macB` and the identity plaintexts.
//!
//! ```text
//! macA = HMAC(KS_A, N_B ‖ N_A ‖ mpi(e) ‖ pubKeyA ‖ formA ‖ formA2)     mac_a  (3- and 4-message)
//! macB = HMAC(KS_B, N_A ‖ N_B ‖ mpi(d) ‖ pubKeyB ‖ formB ‖ formB2)     mac_b  (4-message)
//! macB = HMAC(KS_B, N_A ‖ N_B ‖ mpi(d) ‖ pubKeyB ‖ formB)              mac_b  (3-message, offline)
//! plaintext = macX                                   (pubkey mode "none")
//!           = pubKeyPart ‖ <SignatureValue>b64(signX)</SignatureValue>  (D29)
//! ```
//!
//! The forms are the exact normalized bytes (DECISIONS D16-D18), which the wire
//! layer computes; pubKey is the D28 `<KeyValue>` string ("" in mode `none`).
//! Ciphering and MACing the plaintext is
//! [`crate::keys::DirectionKeys::seal_identity`] / `open_identity`.

use esession_crypto::hash::HashAlg;
use esession_crypto::secret::ct_eq;
use esession_crypto::{SecretBytes, b64};

use crate::{Error, MAX_IDENTITY_LEN};

/// The inputs of `macA`, named as XEP-0116 §4.6.3 names them.
#[derive(Debug, Clone, Copy)]
pub struct MacAInput<'a> {
    /// N_A, Alice's nonce, as received (D2).
    pub n_a: &'a [u8],
    /// N_B, Bob's nonce.
    pub n_b: &'a [u8],
    /// mpi(e), Alice's DH public value.
    pub e: &'a [u8],
    /// pubKeyA: the D28 `<KeyValue>` bytes, or empty in mode `none` (D27, D28).
    pub pub_key_a: &'a [u8],
    /// formA: Alice's normalized msg1 form content.
    pub form_a: &'a [u8],
    /// formA2: Alice's normalized msg3 (4-message) or completion form without
    /// identity and mac (3-message, D46).
    pub form_a2: &'a [u8],
}

/// macA = HMAC(KS_A, N_B ‖ N_A ‖ mpi(e) ‖ pubKeyA ‖ formA ‖ formA2)
/// (XEP-0116 §4.6.3; DECISIONS D9, D46; XEP-0188 "Online ESession-R Negotiation").
///
/// The same formula serves the 3- and 4-message exchanges: only the contents of
/// formA2 differ (D46). `ks_a` is the provisional KS_A in the 4-message exchange
/// (D11).
pub fn mac_a(hash: HashAlg, ks_a: &[u8], i: &MacAInput<'_>) -> SecretBytes {
    hash.hmac_parts(ks_a, &[i.n_b, i.n_a, i.e, i.pub_key_a, i.form_a, i.form_a2])
}

/// The inputs of `macB`, named as XEP-0116 §4.5.4 names them.
#[derive(Debug, Clone, Copy)]
pub struct MacBInput<'a> {
    /// N_A, Alice's nonce.
    pub n_a: &'a [u8],
    /// N_B, Bob's nonce.
    pub n_b: &'a [u8],
    /// mpi(d), Bob's DH public value.
    pub d: &'a [u8],
    /// pubKeyB: the D28 `<KeyValue>` bytes, or empty in mode `none`.
    pub pub_key_b: &'a [u8],
    /// formB: Bob's normalized msg2 form content.
    pub form_b: &'a [u8],
    /// formB2: Bob's normalized msg4 form without identity and mac (4-message,
    /// XEP-0116 §4.7.4); `None` in the 3-message and offline exchanges (§4.5.4,
    /// D49).
    pub form_b2: Option<&'a [u8]>,
}

/// macB = HMAC(KS_B, N_A ‖ N_B ‖ mpi(d) ‖ pubKeyB ‖ formB [‖ formB2])
/// (XEP-0116 §4.5.4, §4.7.4; DECISIONS D9, D49).
///
/// `ks_b` is derived from K_final in the 4-message exchange and from K otherwise
/// (D11).
pub fn mac_b(hash: HashAlg, ks_b: &[u8], i: &MacBInput<'_>) -> SecretBytes {
    hash.hmac_parts(
        ks_b,
        &[
            i.n_a,
            i.n_b,
            i.d,
            i.pub_key_b,
            i.form_b,
            i.form_b2.unwrap_or_default(),
        ],
    )
}

/// Checks a deciphered identity in pubkey mode `none` against the recomputed mac, in
/// constant time (XEP-0116 §4.6.2 / §4.7.1: "if the two values … do not match").
pub fn check_mac_identity(plaintext: &[u8], expected_mac: &[u8]) -> Result<(), Error> {
    if ct_eq(plaintext, expected_mac) {
        Ok(())
    } else {
        Err(Error::IdentityMismatch)
    }
}

const SIG_OPEN: &[u8] = b"<SignatureValue>";
const SIG_CLOSE: &[u8] = b"</SignatureValue>";
const KV_OPEN: &[u8] = b"<KeyValue>";
const KV_CLOSE: &[u8] = b"</KeyValue>";
const FP_OPEN: &[u8] = b"<fingerprint>";
const FP_CLOSE: &[u8] = b"</fingerprint>";

/// signX wrapped as D29 writes it: `<SignatureValue>b64(octets)</SignatureValue>`.
pub fn signature_value(signature: &[u8]) -> Vec<u8> {
    let mut out = SIG_OPEN.to_vec();
    out.extend_from_slice(b64::encode(signature).as_bytes());
    out.extend_from_slice(SIG_CLOSE);
    out
}

/// The identity plaintext in key modes: `pubKeyPart ‖ <SignatureValue>b64(sig)</SignatureValue>`
/// (XEP-0116 §4.5.4, §4.6.3; DECISIONS D29).
///
/// `pub_key_part` is the D28 `<KeyValue>` bytes (mode `key`) or
/// [`fingerprint_part`] (mode `hash`); `signature` is the raw D31 octets of
/// SIGN(signKey, macX).
pub fn signed_identity_plaintext(pub_key_part: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut out = pub_key_part.to_vec();
    out.extend_from_slice(&signature_value(signature));
    out
}

/// The `hash`-mode public key part: `<fingerprint>b64(HASH(pubKey))</fingerprint>`,
/// over the full D28 bytes (XEP-0116 §4.5.4, §4.6.3; DECISIONS D30).
pub fn fingerprint_part(hash: HashAlg, key_value: &[u8]) -> Vec<u8> {
    let mut out = FP_OPEN.to_vec();
    out.extend_from_slice(b64::encode(hash.digest(key_value).as_bytes()).as_bytes());
    out.extend_from_slice(FP_CLOSE);
    out
}

/// The public key part of a signed identity.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PubKeyPart {
    /// Mode `key`: the whole `<KeyValue>…</KeyValue>` bytes, as the wire layer parses them
    /// and as they enter macX.
    KeyValue(Vec<u8>),
    /// Mode `hash`: the decoded HASH(pubKey); the receiver substitutes its stored key (D30).
    Fingerprint(Vec<u8>),
}

/// A parsed signed identity plaintext (DECISIONS D29).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIdentity {
    /// pubKeyPart.
    pub pub_key: PubKeyPart,
    /// The decoded signature octets (verified by the caller against the recomputed macX
    /// with the key it trusts, D31).
    pub signature: Vec<u8>,
}

fn strip<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    s.strip_prefix(prefix)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Splits a deciphered key-mode identity (DECISIONS D29): exactly `<KeyValue>…</KeyValue>`
/// (ending at the first `</KeyValue>`) or `<fingerprint>b64</fingerprint>`, followed by
/// `<SignatureValue>b64</SignatureValue>` and nothing else. Base64 must be canonical (D3).
///
/// Anything else is [`Error::MalformedIdentity`].
pub fn parse_signed_identity(plaintext: &[u8]) -> Result<SignedIdentity, Error> {
    if plaintext.len() > MAX_IDENTITY_LEN {
        return Err(Error::IdentityTooLong {
            len: plaintext.len(),
            max: MAX_IDENTITY_LEN,
        });
    }
    let (pub_key, rest) = if plaintext.starts_with(KV_OPEN) {
        let end = find(plaintext, KV_CLOSE).ok_or(Error::MalformedIdentity("no </KeyValue>"))?
            + KV_CLOSE.len();
        (
            PubKeyPart::KeyValue(plaintext[..end].to_vec()),
            &plaintext[end..],
        )
    } else if let Some(after) = strip(plaintext, FP_OPEN) {
        let end = find(after, FP_CLOSE).ok_or(Error::MalformedIdentity("no </fingerprint>"))?;
        let fp = decode_b64(&after[..end], "fingerprint base64")?;
        (PubKeyPart::Fingerprint(fp), &after[end + FP_CLOSE.len()..])
    } else {
        return Err(Error::MalformedIdentity(
            "neither <KeyValue> nor <fingerprint>",
        ));
    };
    let inner = strip(rest, SIG_OPEN)
        .and_then(|r| r.strip_suffix(SIG_CLOSE))
        .ok_or(Error::MalformedIdentity("no <SignatureValue> at the end"))?;
    let signature = decode_b64(inner, "signature base64")?;
    Ok(SignedIdentity { pub_key, signature })
}

fn decode_b64(bytes: &[u8], what: &'static str) -> Result<Vec<u8>, Error> {
    let s = core::str::from_utf8(bytes).map_err(|_| Error::MalformedIdentity(what))?;
    b64::decode(s).map_err(|_| Error::MalformedIdentity(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KV: &[u8] = b"<KeyValue><RSAKeyValue><Modulus>AQAB</Modulus><Exponent>AQAB</Exponent></RSAKeyValue></KeyValue>";

    #[test]
    fn signed_identity_round_trips() {
        let pt = signed_identity_plaintext(KV, &[1, 2, 3, 4]);
        assert!(pt.ends_with(b"<SignatureValue>AQIDBA==</SignatureValue>"));
        let parsed = parse_signed_identity(&pt).unwrap();
        assert_eq!(parsed.pub_key, PubKeyPart::KeyValue(KV.to_vec()));
        assert_eq!(parsed.signature, vec![1, 2, 3, 4]);

        let fp = fingerprint_part(HashAlg::Sha256, KV);
        let pt = signed_identity_plaintext(&fp, &[9; 3]);
        let parsed = parse_signed_identity(&pt).unwrap();
        assert_eq!(
            parsed.pub_key,
            PubKeyPart::Fingerprint(HashAlg::Sha256.digest(KV).as_bytes().to_vec())
        );
    }

    #[test]
    fn malformed_signed_identities_are_rejected() {
        let good = signed_identity_plaintext(KV, &[1, 2, 3, 4]);
        let mut trailing = good.clone();
        trailing.push(b' ');
        let mut bad_b64 = KV.to_vec();
        bad_b64.extend_from_slice(b"<SignatureValue>AQIDBB==</SignatureValue>");
        let mut no_close = b"<KeyValue><RSAKeyValue>".to_vec();
        no_close.extend_from_slice(&signature_value(&[1]));
        for bad in [
            &trailing[..],
            &bad_b64[..],
            &no_close[..],
            &good[1..],
            b"",
            &[0u8; 32][..],
            KV,
        ] {
            assert!(
                matches!(parse_signed_identity(bad), Err(Error::MalformedIdentity(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn mac_identity_check_is_exact() {
        assert_eq!(check_mac_identity(&[1; 32], &[1; 32]), Ok(()));
        assert_eq!(
            check_mac_identity(&[1; 31], &[1; 32]),
            Err(Error::IdentityMismatch)
        );
        assert_eq!(
            check_mac_identity(&[2; 32], &[1; 32]),
            Err(Error::IdentityMismatch)
        );
    }

    #[test]
    fn mac_b_without_form_b2_is_the_3_message_formula() {
        let i = MacBInput {
            n_a: b"na",
            n_b: b"nb",
            d: &[5],
            pub_key_b: KV,
            form_b: b"<f/>",
            form_b2: None,
        };
        assert_eq!(
            mac_b(HashAlg::Sha256, b"ks", &i),
            HashAlg::Sha256.hmac(b"ks", &[b"nanb\x05".as_slice(), KV, b"<f/>"].concat())
        );
        let a = MacAInput {
            n_a: b"na",
            n_b: b"nb",
            e: &[6],
            pub_key_a: b"",
            form_a: b"A",
            form_a2: b"A2",
        };
        assert_eq!(
            mac_a(HashAlg::Sha256, b"ks", &a),
            HashAlg::Sha256.hmac(b"ks", b"nbna\x06AA2")
        );
    }
}
