//! Public keys, signatures and fingerprints on the wire (XEP-0116 §4.5.4,
//! §8.3; DECISIONS D28-D30).
//!
//! A [`KeyValue`] holds the key's integers as minimal MPI byte strings (D1); its
//! [`KeyValue::normalized`] bytes are pubKey, the D17-normalized `<KeyValue/>`
//! that macA/macB include. The identity plaintext is pubKeyPart ‖ sign, split
//! by [`Identity::parse`] exactly as D29 prescribes. [`KeyValue::of_key`] and
//! [`KeyValue::to_verifying_key`] are the one conversion between the wire form
//! and esession-crypto's keys (no arithmetic happens here: the key is only
//! validated by [`VerifyingKey::from_components`]).
//!
//! EC keys (P-256) use the XML-DSig 1.1 form (§4.5.2.3.1), normalized like
//! the rest: `<KeyValue><ECKeyValue><NamedCurve URI="urn:oid:1.2.840.10045.3.1.7">
//! </NamedCurve><PublicKey>b64(04 ‖ X ‖ Y)</PublicKey></ECKeyValue></KeyValue>`.

use esession_crypto::sign::{PublicKeyComponents, VerifyingKey};
use esession_crypto::{b64, mpi};

use crate::Error;
use crate::limits::{MAX_HASH_BYTES, MAX_MPI_BYTES, MAX_SIGNATURE_BYTES};
use crate::normalize::{self, NormProfile};
use crate::xml::Element;

/// The XML-DSig namespace of `<KeyValue/>`, `<RSAKeyValue/>`, `<DSAKeyValue/>`.
pub const NS_XMLDSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The XML-DSig 1.1 namespace of `<ECKeyValue/>`.
pub const NS_XMLDSIG11: &str = "http://www.w3.org/2009/xmldsig11#";
/// The NamedCurve URI of P-256 (RFC 5480 secp256r1).
pub const P256_CURVE_URI: &str = "urn:oid:1.2.840.10045.3.1.7";

/// A public signature-verification key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyValue {
    /// `<RSAKeyValue>`: mpi(n), mpi(e).
    Rsa {
        /// mpi(n).
        modulus: Vec<u8>,
        /// mpi(e).
        exponent: Vec<u8>,
    },
    /// `<DSAKeyValue>`: mpi of P, Q, G, Y (no J, Seed or PgenCounter, D28).
    Dsa {
        /// mpi(p).
        p: Vec<u8>,
        /// mpi(q).
        q: Vec<u8>,
        /// mpi(g).
        g: Vec<u8>,
        /// mpi(y).
        y: Vec<u8>,
    },
    /// `<ECKeyValue>` on P-256: the uncompressed SEC1 point (65 bytes, 0x04 ‖ X ‖ Y).
    EcP256 {
        /// The uncompressed point.
        public_key: Vec<u8>,
    },
}

fn leaf(name: &str, ns: &str, text: String) -> Element {
    Element::new(name, ns).with_text(text)
}

fn mpi_child(parent: &Element, name: &'static str) -> Result<Vec<u8>, Error> {
    let mut it = parent.children().filter(|c| c.name() == name);
    let el = it.next().ok_or(Error::InvalidKey(name))?;
    if it.next().is_some() || el.has_child_elements() {
        return Err(Error::InvalidKey(name));
    }
    let v = b64::decode_bounded(&el.text(), MAX_MPI_BYTES).map_err(|_| Error::InvalidKey(name))?;
    mpi::decode(&v).map_err(|_| Error::InvalidKey(name))?;
    Ok(v)
}

impl KeyValue {
    /// The `<KeyValue/>` element (XML-DSig namespaces).
    pub fn to_element(&self) -> Element {
        let inner = match self {
            KeyValue::Rsa { modulus, exponent } => Element::new("RSAKeyValue", NS_XMLDSIG)
                .with_child(leaf("Modulus", NS_XMLDSIG, b64::encode(modulus)))
                .with_child(leaf("Exponent", NS_XMLDSIG, b64::encode(exponent))),
            KeyValue::Dsa { p, q, g, y } => Element::new("DSAKeyValue", NS_XMLDSIG)
                .with_child(leaf("P", NS_XMLDSIG, b64::encode(p)))
                .with_child(leaf("Q", NS_XMLDSIG, b64::encode(q)))
                .with_child(leaf("G", NS_XMLDSIG, b64::encode(g)))
                .with_child(leaf("Y", NS_XMLDSIG, b64::encode(y))),
            KeyValue::EcP256 { public_key } => Element::new("ECKeyValue", NS_XMLDSIG11)
                .with_child(
                    Element::new("NamedCurve", NS_XMLDSIG11).with_attr("URI", P256_CURVE_URI),
                )
                .with_child(leaf("PublicKey", NS_XMLDSIG11, b64::encode(public_key))),
        };
        Element::new("KeyValue", NS_XMLDSIG).with_child(inner)
    }

    /// pubKey: the D28-normalized `<KeyValue/>` bytes (D17, no xmlns).
    pub fn normalized(&self) -> Result<Vec<u8>, Error> {
        Ok(normalize::element(&self.to_element(), NormProfile::Xep, "")?.into_bytes())
    }

    /// Reads a `<KeyValue/>` element (namespaces are not checked, since the
    /// normalized form carries none).
    pub fn from_element(kv: &Element) -> Result<Self, Error> {
        if kv.name() != "KeyValue" {
            return Err(Error::InvalidKey("not a KeyValue element"));
        }
        let mut children = kv.children();
        let inner = children.next().ok_or(Error::InvalidKey("empty KeyValue"))?;
        if children.next().is_some() {
            return Err(Error::InvalidKey("KeyValue with more than one key"));
        }
        match inner.name() {
            "RSAKeyValue" => Ok(KeyValue::Rsa {
                modulus: mpi_child(inner, "Modulus")?,
                exponent: mpi_child(inner, "Exponent")?,
            }),
            "DSAKeyValue" => Ok(KeyValue::Dsa {
                p: mpi_child(inner, "P")?,
                q: mpi_child(inner, "Q")?,
                g: mpi_child(inner, "G")?,
                y: mpi_child(inner, "Y")?,
            }),
            "ECKeyValue" => {
                let curve = inner
                    .children()
                    .find(|c| c.name() == "NamedCurve")
                    .and_then(|c| c.attr("URI"))
                    .ok_or(Error::InvalidKey("ECKeyValue without NamedCurve"))?;
                if curve != P256_CURVE_URI {
                    return Err(Error::InvalidKey("ECKeyValue curve is not P-256"));
                }
                let pk = inner
                    .children()
                    .find(|c| c.name() == "PublicKey")
                    .ok_or(Error::InvalidKey("ECKeyValue without PublicKey"))?;
                let point = b64::decode_bounded(&pk.text(), 65)
                    .map_err(|_| Error::InvalidKey("PublicKey"))?;
                if point.len() != 65 || point[0] != 0x04 {
                    return Err(Error::InvalidKey(
                        "PublicKey is not an uncompressed P-256 point",
                    ));
                }
                Ok(KeyValue::EcP256 { public_key: point })
            }
            _ => Err(Error::InvalidKey("unknown key type")),
        }
    }

    /// The `<KeyValue/>` of a verifying key (D28): RSA, DSA, or P-256 as the
    /// uncompressed SEC1 point 0x04 ‖ X ‖ Y.
    pub fn of_key(key: &VerifyingKey) -> Result<Self, Error> {
        Ok(match key.components() {
            PublicKeyComponents::Rsa { modulus, exponent } => KeyValue::Rsa { modulus, exponent },
            PublicKeyComponents::Dsa { p, q, g, y } => KeyValue::Dsa { p, q, g, y },
            PublicKeyComponents::EcP256 { x, y } => {
                let mut public_key = Vec::with_capacity(1 + x.len() + y.len());
                public_key.push(0x04);
                public_key.extend_from_slice(&x);
                public_key.extend_from_slice(&y);
                KeyValue::EcP256 { public_key }
            }
            _ => return Err(Error::InvalidKey("a key type without a KeyValue form")),
        })
    }

    /// The verifying key this `<KeyValue/>` names, validated as
    /// [`VerifyingKey::from_components`] does (sizes, ranges, the curve).
    pub fn to_verifying_key(&self) -> Result<VerifyingKey, Error> {
        let components = match self {
            KeyValue::Rsa { modulus, exponent } => PublicKeyComponents::Rsa {
                modulus: modulus.clone(),
                exponent: exponent.clone(),
            },
            KeyValue::Dsa { p, q, g, y } => PublicKeyComponents::Dsa {
                p: p.clone(),
                q: q.clone(),
                g: g.clone(),
                y: y.clone(),
            },
            KeyValue::EcP256 { public_key } => match public_key.split_first() {
                Some((0x04, xy)) if xy.len() == 64 => PublicKeyComponents::EcP256 {
                    x: xy[..32].to_vec(),
                    y: xy[32..].to_vec(),
                },
                _ => return Err(Error::InvalidKey("not an uncompressed P-256 point")),
            },
        };
        VerifyingKey::from_components(&components).map_err(|_| Error::InvalidKey("unusable key"))
    }

    /// Reads pubKey bytes, which must be exactly the D28 normalized form.
    pub fn from_normalized(bytes: &[u8]) -> Result<Self, Error> {
        let text = std::str::from_utf8(bytes).map_err(|_| Error::InvalidKey("not UTF-8"))?;
        let kv = Self::from_element(&Element::parse(text)?)?;
        if kv.normalized()? != bytes {
            return Err(Error::InvalidKey("KeyValue is not in normalized form"));
        }
        Ok(kv)
    }
}

/// pubKey of a verifying key: its D28-normalized `<KeyValue/>` bytes, what
/// macA/macB cover, trust stores keep and fingerprints hash.
pub fn key_bytes(key: &VerifyingKey) -> Result<Vec<u8>, Error> {
    KeyValue::of_key(key)?.normalized()
}

/// The verifying key of received or stored pubKey bytes (exactly D28-normalized).
pub fn verifying_key(key_bytes: &[u8]) -> Result<VerifyingKey, Error> {
    KeyValue::from_normalized(key_bytes)?.to_verifying_key()
}

/// The public-key part of an identity (D29, D30).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PubKeyPart {
    /// `key` mode: the full key.
    Key(KeyValue),
    /// `hash` mode: `<fingerprint>b64(HASH(pubKey))</fingerprint>`.
    Fingerprint(Vec<u8>),
}

/// The identity plaintext pubKeyPart ‖ `<SignatureValue>b64</SignatureValue>`
/// (D29) used with init_pubkey/resp_pubkey `key` or `hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The key or its fingerprint.
    pub pubkey: PubKeyPart,
    /// The raw signature octets (D31).
    pub signature: Vec<u8>,
}

const SIG_OPEN: &[u8] = b"<SignatureValue>";
const SIG_CLOSE: &[u8] = b"</SignatureValue>";
const FP_OPEN: &[u8] = b"<fingerprint>";
const FP_CLOSE: &[u8] = b"</fingerprint>";
const KV_OPEN: &[u8] = b"<KeyValue>";
const KV_CLOSE: &[u8] = b"</KeyValue>";

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `<SignatureValue>b64(octets)</SignatureValue>` (D29).
pub fn signature_value(octets: &[u8]) -> Vec<u8> {
    let mut v = SIG_OPEN.to_vec();
    v.extend_from_slice(b64::encode(octets).as_bytes());
    v.extend_from_slice(SIG_CLOSE);
    v
}

/// `<fingerprint>b64(hash)</fingerprint>` (D30).
pub fn fingerprint(hash: &[u8]) -> Vec<u8> {
    let mut v = FP_OPEN.to_vec();
    v.extend_from_slice(b64::encode(hash).as_bytes());
    v.extend_from_slice(FP_CLOSE);
    v
}

impl Identity {
    /// The plaintext bytes pubKeyPart ‖ sign.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut v = match &self.pubkey {
            PubKeyPart::Key(k) => k.normalized()?,
            PubKeyPart::Fingerprint(h) => fingerprint(h),
        };
        v.extend_from_slice(&signature_value(&self.signature));
        Ok(v)
    }

    /// Splits a decrypted identity per D29: exactly `<KeyValue>…</KeyValue>`
    /// (ending at the first `</KeyValue>`, in normalized form) or
    /// `<fingerprint>b64</fingerprint>`, then `<SignatureValue>b64</SignatureValue>`
    /// and nothing else. Returns the identity and the pubKey bytes as received
    /// (for a key; empty for a fingerprint).
    pub fn parse(bytes: &[u8]) -> Result<(Self, Vec<u8>), Error> {
        let (pubkey, raw, rest) = if bytes.starts_with(KV_OPEN) {
            let end = find(bytes, KV_CLOSE).ok_or(Error::InvalidKey("unterminated KeyValue"))?
                + KV_CLOSE.len();
            let raw = &bytes[..end];
            (
                PubKeyPart::Key(KeyValue::from_normalized(raw)?),
                raw.to_vec(),
                &bytes[end..],
            )
        } else if bytes.starts_with(FP_OPEN) {
            let end = find(bytes, FP_CLOSE).ok_or(Error::InvalidKey("unterminated fingerprint"))?;
            let text = std::str::from_utf8(&bytes[FP_OPEN.len()..end])
                .map_err(|_| Error::InvalidKey("fingerprint"))?;
            let h = b64::decode_bounded(text, MAX_HASH_BYTES)
                .map_err(|_| Error::InvalidKey("fingerprint"))?;
            if h.is_empty() {
                return Err(Error::InvalidKey("empty fingerprint"));
            }
            (
                PubKeyPart::Fingerprint(h),
                Vec::new(),
                &bytes[end + FP_CLOSE.len()..],
            )
        } else {
            return Err(Error::InvalidKey(
                "identity starts with neither KeyValue nor fingerprint",
            ));
        };
        if !rest.starts_with(SIG_OPEN)
            || !rest.ends_with(SIG_CLOSE)
            || rest.len() < SIG_OPEN.len() + SIG_CLOSE.len()
        {
            return Err(Error::InvalidKey(
                "identity does not end with one SignatureValue",
            ));
        }
        let inner = &rest[SIG_OPEN.len()..rest.len() - SIG_CLOSE.len()];
        let text = std::str::from_utf8(inner).map_err(|_| Error::InvalidKey("SignatureValue"))?;
        let signature = b64::decode_bounded(text, MAX_SIGNATURE_BYTES)
            .map_err(|_| Error::InvalidKey("SignatureValue"))?;
        if signature.is_empty() {
            return Err(Error::InvalidKey("empty SignatureValue"));
        }
        Ok((Identity { pubkey, signature }, raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn d28_rsa_bytes_by_hand() {
        // n = 0xC5 (mpi c5 -> "xQ=="), e = 65537 (mpi 010001 -> "AQAB").
        let k = KeyValue::Rsa {
            modulus: vec![0xc5],
            exponent: vec![1, 0, 1],
        };
        let n = k.normalized().unwrap();
        assert_eq!(
            n,
            b"<KeyValue><RSAKeyValue><Modulus>xQ==</Modulus><Exponent>AQAB</Exponent></RSAKeyValue></KeyValue>"
        );
        assert_eq!(KeyValue::from_normalized(&n).unwrap(), k);
        // A pretty-printed or namespaced key is not pubKey.
        let pretty = b"<KeyValue xmlns='http://www.w3.org/2000/09/xmldsig#'><RSAKeyValue><Modulus>xQ==</Modulus><Exponent>AQAB</Exponent></RSAKeyValue></KeyValue>";
        assert!(KeyValue::from_normalized(pretty).is_err());
    }

    #[test]
    fn d29_split() {
        let k = KeyValue::Dsa {
            p: vec![7],
            q: vec![3],
            g: vec![2],
            y: vec![5],
        };
        let id = Identity {
            pubkey: PubKeyPart::Key(k.clone()),
            signature: vec![1, 2, 3],
        };
        let bytes = id.to_bytes().unwrap();
        let (back, raw) = Identity::parse(&bytes).unwrap();
        assert_eq!(back, id);
        assert_eq!(raw, k.normalized().unwrap());
        let mut trailing = bytes.clone();
        trailing.push(b' ');
        assert!(Identity::parse(&trailing).is_err());
        let fp = Identity {
            pubkey: PubKeyPart::Fingerprint(vec![9; 32]),
            signature: vec![4; 64],
        };
        assert_eq!(Identity::parse(&fp.to_bytes().unwrap()).unwrap().0, fp);
    }

    #[test]
    fn ec_key_form() {
        let mut point = vec![4u8];
        point.extend_from_slice(&[0xab; 64]);
        let k = KeyValue::EcP256 { public_key: point };
        let n = String::from_utf8(k.normalized().unwrap()).unwrap();
        assert!(n.starts_with("<KeyValue><ECKeyValue><NamedCurve URI=\"urn:oid:1.2.840.10045.3.1.7\"></NamedCurve><PublicKey>BKur"));
        assert_eq!(KeyValue::from_normalized(n.as_bytes()).unwrap(), k);
    }
}
