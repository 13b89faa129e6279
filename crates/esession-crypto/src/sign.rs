//! Key signing algorithms of XEP-0116 §8.2, with the byte formats of DECISIONS D28 and D31.
//!
//! In SIGMA identity mode (XEP-0116 §4.5.4, §4.6.3) each party signs its MAC `macA`/`macB`
//! (32 bytes, the HMAC result itself: "not … a `<SignedInfo/>` element"), and the peer
//! verifies it against a public key it got from a `<KeyValue/>` or already trusts. Data flows:
//!
//! ```text
//!  macX ──► SigningKey::sign ──► octets (D31) ──► b64 ──► <SignatureValue/> (esession-wire, D29)
//!  <KeyValue/> ──► PublicKeyComponents (D28) ──► VerifyingKey::from_components ──► verify(macX, octets)
//! ```
//!
//! # Algorithms and wire URIs (DECISIONS D31)
//!
//! | [`SignAlg`] | URI | scheme | signature octets |
//! |---|---|---|---|
//! | `RsaSha256` | `http://www.w3.org/2000/09/xmldsig#rsa-sha256` | RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2) over the message | `I2OSP(s, k)`, `k` = modulus length in bytes: fixed width |
//! | `DsaSha256` | `http://www.w3.org/2000/09/xmldsig#dsa-sha256` | DSA (FIPS 186-3) with SHA-256 | `I2OSP(r, ‖q‖) ‖ I2OSP(s, ‖q‖)` (XML-DSig, IEEE P1363) |
//! | `EcdsaSha256` | `http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256` | ECDSA on P-256 with SHA-256 (FIPS 186-4) | `r ‖ s`, 32 bytes each |
//!
//! `rsa-sha256` is MUST and `dsa-sha256` SHOULD (XEP-0116 §8.2). D31 says `ecdsa-sha256` is
//! not in the protocol and is never offered; it is implemented here so that the negotiation
//! layer can add it later, and it is the policy layer's job not to offer it.
//!
//! The message is always hashed inside the scheme with SHA-256; callers pass `macX` itself.
//! A signature whose length is not the fixed length for the key is rejected before any
//! arithmetic ([`Error::BadSignature`]), as D31 requires; so are `r`/`s` of zero or ≥ the
//! group order. Every verification failure is the same detail-free [`Error::BadSignature`].
//!
//! # Keys
//!
//! - Generation ([`SigningKey::generate`]): RSA-2048 with `e = 65537`, DSA with
//!   L = 2048, N = 256 (fresh domain parameters), or a P-256 key.
//! - Public keys enter as XML-DSig `<KeyValue/>` components ([`PublicKeyComponents`],
//!   D28: minimal big-endian MPIs per D1, except the fixed-width P-256 coordinates) or as
//!   SubjectPublicKeyInfo DER; both paths run the same validation
//!   ([`VerifyingKey::from_components`]): RSA modulus 1024..=8192 bits, odd, `e` odd in
//!   3..=2^33-1; DSA (L, N) ∈ {(1024,160), (2048,224), (2048,256), (3072,256)} exactly,
//!   `1 < g < p` and `1 < y < p` with `g^q = y^q = 1 (mod p)`; P-256 points on the curve.
//! - Private keys are stored as PKCS#8 DER ([`SigningKey::to_pkcs8_der`]); the algorithm is
//!   detected from the key's algorithm identifier when reading one back.
//!
//! # Randomness
//!
//! [`SigningKey::sign`] takes the caller's CSPRNG: RSA uses it for blinding (the signature
//! itself is deterministic), DSA draws the per-signature secret `k` from it (FIPS 186-3
//! B.2), and ECDSA uses it as additional input to RFC 6979 (a "hedged" nonce: safe even if
//! the RNG is weak).
//!
//! # Zeroization
//!
//! [`SigningKey`] holds the RustCrypto key types in a `Box` (so moving a `SigningKey` never
//! copies secret limbs on the stack) and relies on their own drop guarantees, which it
//! re-asserts by implementing [`ZeroizeOnDrop`]:
//!
//! - `rsa::PrivateKey` (rsa 0.10): its `Drop` zeroizes `d`, the primes and the CRT values;
//! - `dsa::SigningKey` (dsa 0.7): `x` is held in `zeroize::Zeroizing`;
//! - `p256::ecdsa::SigningKey` (ecdsa 0.17): its `Drop` zeroizes the secret scalar.
//!
//! [`SigningKey::to_pkcs8_der`] returns [`SecretBytes`] (zeroized on drop); the DER built
//! internally is a `SecretDocument`, also zeroized on drop. Temporaries of the private
//! exponent that the RustCrypto crates make during arithmetic are their responsibility.
//! `Debug` never prints secret values: only the algorithm, key size and a public
//! fingerprint.

use core::fmt;

use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, Odd};
use rsa::Generate;
use rsa::pkcs8::der::Decode;
use rsa::pkcs8::der::asn1::UintRef;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, PrivateKeyInfoRef, SubjectPublicKeyInfoRef};
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};
use signature::{DigestVerifier, RandomizedDigestSigner, RandomizedSigner, Verifier};
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::error::wire_name;
use crate::{Error, SecretBytes, mpi};

/// The `kind` of [`Error::UnknownAlgorithm`] raised here.
const KIND: &str = "signature";

/// Labels for [`Error::InvalidKey`].
const RSA_KEY: &str = "RSA";
const DSA_KEY: &str = "DSA";
const EC_KEY: &str = "ECDSA P-256";

/// Modulus sizes accepted from peers (bits, inclusive). The bounds are the rsa crate's
/// defaults (`PublicKey::MIN_SIZE..=MAX_SIZE`), stated here so that they are ours.
const RSA_VERIFY_BITS: core::ops::RangeInclusive<usize> = 1024..=8192;
/// Modulus sizes we generate (bits, inclusive): nothing weaker than 2048 (SP 800-57).
const RSA_GENERATE_BITS: core::ops::RangeInclusive<usize> = 2048..=8192;
/// Default RSA size for [`SigningKey::generate`].
const RSA_DEFAULT_BITS: usize = 2048;
/// Longest RSA public exponent accepted, in bytes (the rsa crate caps `e` at 2^33-1).
const RSA_MAX_EXPONENT_LEN: usize = 5;
/// DSA (L, N) pairs of FIPS 186-3 §4.2, in bits.
const DSA_SIZES: [(u32, u32); 4] = [(1024, 160), (2048, 224), (2048, 256), (3072, 256)];
/// Longest DSA `p` accepted, in bytes (L = 3072).
const DSA_MAX_P_LEN: usize = 3072 / 8;
/// Byte length of a P-256 coordinate, scalar, and of `r` and `s`.
const P256_LEN: usize = 32;
/// Longest SubjectPublicKeyInfo accepted (an 8192-bit RSA key is about 1.1 KiB).
pub const MAX_PUBLIC_KEY_DER_LEN: usize = 4096;
/// Longest PKCS#8 private key accepted (an 8192-bit RSA key is about 4.8 KiB).
pub const MAX_PRIVATE_KEY_DER_LEN: usize = 8192;

/// A key signing algorithm of XEP-0116 §8.2 (DECISIONS D31).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignAlg {
    /// `http://www.w3.org/2000/09/xmldsig#rsa-sha256`: RSASSA-PKCS1-v1_5 with SHA-256. MUST.
    RsaSha256,
    /// `http://www.w3.org/2000/09/xmldsig#dsa-sha256`: DSA (FIPS 186-3) with SHA-256. SHOULD.
    DsaSha256,
    /// `http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256`: ECDSA P-256 with SHA-256.
    /// Not in the protocol; never offered (D31).
    EcdsaSha256,
}

impl SignAlg {
    /// Every signature algorithm this module implements, mandatory one first.
    pub const ALL: [SignAlg; 3] = [SignAlg::RsaSha256, SignAlg::DsaSha256, SignAlg::EcdsaSha256];

    /// Looks up an algorithm by its exact URI (DECISIONS D31: no normalization).
    pub fn from_uri(uri: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.uri() == uri)
            .ok_or_else(|| Error::UnknownAlgorithm {
                kind: KIND,
                name: wire_name(uri),
            })
    }

    /// The algorithm's URI as it appears on the wire.
    pub fn uri(self) -> &'static str {
        match self {
            SignAlg::RsaSha256 => "http://www.w3.org/2000/09/xmldsig#rsa-sha256",
            SignAlg::DsaSha256 => "http://www.w3.org/2000/09/xmldsig#dsa-sha256",
            SignAlg::EcdsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        }
    }
}

/// Public key components as they go into an XML-DSig `<KeyValue/>` (DECISIONS D28).
///
/// RSA and DSA values are minimal big-endian MPIs (DECISIONS D1: no sign byte, no leading
/// zero octets); [`VerifyingKey::from_components`] rejects non-minimal ones. The P-256
/// coordinates are the exception: fixed width, exactly 32 bytes each, leading zeros kept
/// (as in an uncompressed SEC1 point).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKeyComponents {
    /// `<RSAKeyValue>`: `<Modulus>` and `<Exponent>`.
    Rsa {
        /// The modulus `n`, mpi.
        modulus: Vec<u8>,
        /// The public exponent `e`, mpi.
        exponent: Vec<u8>,
    },
    /// `<DSAKeyValue>`: `<P>`, `<Q>`, `<G>`, `<Y>` (no J, Seed or PgenCounter, D28).
    Dsa {
        /// The prime modulus `p`, mpi.
        p: Vec<u8>,
        /// The prime order `q` of the subgroup, mpi.
        q: Vec<u8>,
        /// The generator `g`, mpi.
        g: Vec<u8>,
        /// The public value `y = g^x mod p`, mpi.
        y: Vec<u8>,
    },
    /// A P-256 public point in affine coordinates.
    EcP256 {
        /// The x coordinate: exactly 32 bytes, big-endian, fixed width.
        x: Vec<u8>,
        /// The y coordinate: exactly 32 bytes, big-endian, fixed width.
        y: Vec<u8>,
    },
}

/// The RustCrypto private key behind a [`SigningKey`]; boxed so that moves do not copy it.
enum SigningInner {
    Rsa(Box<rsa::PrivateKey>),
    Dsa(Box<dsa::SigningKey>),
    Ecdsa(Box<p256::ecdsa::SigningKey>),
}

/// A private signing key for one of the [`SignAlg`]s.
///
/// Zeroized on drop (see the module docs for which guarantee of which crate this relies
/// on); `Debug` shows only the algorithm and the public key's fingerprint.
pub struct SigningKey {
    inner: SigningInner,
}

impl SigningKey {
    /// Generates a fresh key: RSA-2048 (`e = 65537`), DSA with L = 2048 and N = 256
    /// (fresh domain parameters; this takes a while), or a P-256 key.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(
        alg: SignAlg,
        rng: &mut R,
    ) -> Result<Self, Error> {
        match alg {
            SignAlg::RsaSha256 => Self::generate_rsa(RSA_DEFAULT_BITS, rng),
            SignAlg::DsaSha256 => {
                let components = dsa::Components::try_generate_from_rng_with_key_size(
                    rng,
                    dsa::KeySize::DSA_2048_256,
                )
                .map_err(|_| Error::Rng)?;
                let key = dsa::SigningKey::try_generate_from_rng_with_components(rng, components)
                    .map_err(|_| Error::Rng)?;
                Ok(Self {
                    inner: SigningInner::Dsa(Box::new(key)),
                })
            }
            SignAlg::EcdsaSha256 => {
                let key =
                    p256::ecdsa::SigningKey::try_generate_from_rng(rng).map_err(|_| Error::Rng)?;
                Ok(Self {
                    inner: SigningInner::Ecdsa(Box::new(key)),
                })
            }
        }
    }

    /// Generates an RSA key with a modulus of `bits` bits (2048..=8192) and `e = 65537`.
    ///
    /// Fails with [`Error::InvalidKey`] for a size outside that range.
    pub fn generate_rsa<R: rand_core::CryptoRng + ?Sized>(
        bits: usize,
        rng: &mut R,
    ) -> Result<Self, Error> {
        if !RSA_GENERATE_BITS.contains(&bits) {
            return Err(Error::InvalidKey(RSA_KEY));
        }
        let key = rsa::PrivateKey::new(rng, bits)
            .map_err(|_| Error::Internal("RSA key generation failed"))?;
        Ok(Self {
            inner: SigningInner::Rsa(Box::new(key)),
        })
    }

    /// The algorithm this key signs with.
    pub fn alg(&self) -> SignAlg {
        match &self.inner {
            SigningInner::Rsa(_) => SignAlg::RsaSha256,
            SigningInner::Dsa(_) => SignAlg::DsaSha256,
            SigningInner::Ecdsa(_) => SignAlg::EcdsaSha256,
        }
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        let inner = match &self.inner {
            SigningInner::Rsa(key) => VerifyingInner::Rsa(key.to_public_key()),
            SigningInner::Dsa(key) => VerifyingInner::Dsa(key.verifying_key().clone()),
            SigningInner::Ecdsa(key) => VerifyingInner::Ecdsa(*key.verifying_key()),
        };
        VerifyingKey { inner }
    }

    /// Signs `msg` (in XEP-0116, `macA` or `macB`), returning the D31 signature octets.
    ///
    /// The message is hashed with SHA-256 inside the scheme. The output has the fixed
    /// length of the key: the modulus length (RSA), `2·|q|` (DSA) or 64 bytes (P-256).
    pub fn sign<R: rand_core::CryptoRng + ?Sized>(
        &self,
        msg: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>, Error> {
        match &self.inner {
            SigningInner::Rsa(key) => {
                // RFC 8017 §8.2.1; the rng only blinds the private operation.
                let sig = key
                    .pkcs1v15_sign_with_rng::<Sha256, R>(rng, msg)
                    .map_err(|_| Error::Internal("RSA signing failed"))?;
                if sig.len() != key.size() {
                    return Err(Error::Internal("RSA signature of unexpected length"));
                }
                Ok(sig)
            }
            SigningInner::Dsa(key) => {
                let sig: dsa::Signature = key
                    .try_sign_digest_with_rng(rng, |d: &mut Sha256| {
                        Digest::update(d, msg);
                        Ok(())
                    })
                    .map_err(|_| Error::Internal("DSA signing failed"))?;
                let q_len = dsa_q_len(key.verifying_key());
                let mut out = i2osp(sig.r(), q_len)?;
                out.extend_from_slice(&i2osp(sig.s(), q_len)?);
                Ok(out)
            }
            SigningInner::Ecdsa(key) => {
                let sig: p256::ecdsa::Signature = key
                    .try_sign_with_rng(rng, msg)
                    .map_err(|_| Error::Internal("ECDSA signing failed"))?;
                Ok(sig.to_bytes().to_vec())
            }
        }
    }

    /// The key as PKCS#8 `PrivateKeyInfo` DER (RFC 5208), for storage.
    ///
    /// RSA keys use `rsaEncryption` with a PKCS#1 `RSAPrivateKey`; DSA keys `id-dsa` with
    /// `Dss-Parms` and the integer `x`; P-256 keys `id-ecPublicKey` with `prime256v1` and a
    /// SEC1 `ECPrivateKey`. The result zeroizes itself on drop.
    pub fn to_pkcs8_der(&self) -> Result<SecretBytes, Error> {
        let doc = match &self.inner {
            SigningInner::Rsa(key) => key.to_pkcs8_der(),
            SigningInner::Dsa(key) => key.to_pkcs8_der(),
            SigningInner::Ecdsa(key) => key.to_pkcs8_der(),
        }
        .map_err(|_| Error::Internal("PKCS#8 encoding failed"))?;
        Ok(SecretBytes::from_slice(doc.as_bytes()))
    }

    /// Reads a key written by [`SigningKey::to_pkcs8_der`] (or any PKCS#8 v1/v2 key of
    /// the three kinds), detecting the algorithm from its algorithm identifier.
    ///
    /// Errors: [`Error::TooLong`] above [`MAX_PRIVATE_KEY_DER_LEN`] bytes,
    /// [`Error::UnknownAlgorithm`] for another key type, [`Error::InvalidKey`] for
    /// malformed or invalid keys (including public parts that fail
    /// [`VerifyingKey::from_components`] and RSA moduli outside 1024..=8192 bits).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        if der.len() > MAX_PRIVATE_KEY_DER_LEN {
            return Err(Error::TooLong {
                len: der.len(),
                max: MAX_PRIVATE_KEY_DER_LEN,
            });
        }
        let info = PrivateKeyInfoRef::try_from(der).map_err(|_| Error::InvalidKey("PKCS#8"))?;
        let oid = info.algorithm.oid;
        let inner = if oid == rsa::pkcs1::ALGORITHM_OID {
            let key = rsa::PrivateKey::try_from(info).map_err(|_| Error::InvalidKey(RSA_KEY))?;
            // Same bounds as a peer's key (from_components also checks e).
            VerifyingKey::from_components(&rsa_components(key.as_ref()))?;
            SigningInner::Rsa(Box::new(key))
        } else if oid == dsa::OID {
            SigningInner::Dsa(Box::new(dsa_signing_key_from_pkcs8(&info)?))
        } else if oid == p256::elliptic_curve::ALGORITHM_OID {
            let key =
                p256::ecdsa::SigningKey::try_from(info).map_err(|_| Error::InvalidKey(EC_KEY))?;
            SigningInner::Ecdsa(Box::new(key))
        } else {
            return Err(Error::UnknownAlgorithm {
                kind: KIND,
                name: wire_name(&oid.to_string()),
            });
        };
        Ok(Self { inner })
    }
}

// Every inner key type zeroizes its secret on drop (module docs, "Zeroization").
impl ZeroizeOnDrop for SigningKey {}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let public = self.verifying_key();
        f.debug_struct("SigningKey")
            .field("alg", &self.alg())
            .field("bits", &public.bits())
            .field("fingerprint", &public.fingerprint())
            .finish_non_exhaustive()
    }
}

/// The RustCrypto public key behind a [`VerifyingKey`].
#[derive(Clone)]
enum VerifyingInner {
    Rsa(rsa::PublicKey),
    Dsa(dsa::VerifyingKey),
    Ecdsa(p256::ecdsa::VerifyingKey),
}

/// A validated public key for one of the [`SignAlg`]s.
///
/// Equality compares the algorithm and the [`PublicKeyComponents`]. `Debug` shows the
/// algorithm, key size and a fingerprint: the first 8 bytes of SHA-256 over the
/// SubjectPublicKeyInfo DER (a debugging aid, not the D30 `<fingerprint>`).
#[derive(Clone)]
pub struct VerifyingKey {
    inner: VerifyingInner,
}

impl VerifyingKey {
    /// The algorithm this key verifies.
    pub fn alg(&self) -> SignAlg {
        match &self.inner {
            VerifyingInner::Rsa(_) => SignAlg::RsaSha256,
            VerifyingInner::Dsa(_) => SignAlg::DsaSha256,
            VerifyingInner::Ecdsa(_) => SignAlg::EcdsaSha256,
        }
    }

    /// The `<KeyValue/>` components (D28): minimal MPIs, or fixed-width P-256 coordinates.
    pub fn components(&self) -> PublicKeyComponents {
        match &self.inner {
            VerifyingInner::Rsa(key) => rsa_components(key),
            VerifyingInner::Dsa(key) => dsa_components(key),
            VerifyingInner::Ecdsa(key) => {
                let point = key.to_sec1_point(false);
                // Uncompressed SEC1: 04 ‖ x ‖ y, each coordinate 32 bytes.
                let bytes = point.as_bytes();
                let (x, y) = bytes
                    .get(1..)
                    .unwrap_or_default()
                    .split_at(bytes.len().saturating_sub(1) / 2);
                PublicKeyComponents::EcP256 {
                    x: x.to_vec(),
                    y: y.to_vec(),
                }
            }
        }
    }

    /// Builds and validates a public key from `<KeyValue/>` components.
    ///
    /// - RSA: minimal MPIs; modulus odd, 1024..=8192 bits; exponent odd, 3..=2^33-1, `< n`.
    /// - DSA: minimal MPIs; (|p|, |q|) one of the FIPS 186-3 sizes (1024,160),
    ///   (2048,224), (2048,256), (3072,256), exact bit lengths; `p` odd; `1 < g < p`,
    ///   `1 < y < p`, `g^q ≡ 1` and `y^q ≡ 1 (mod p)`. (Primality of `p` and `q` is not
    ///   tested: too slow for every handshake, and a bad group only hurts the key's owner.)
    /// - P-256: coordinates of exactly 32 bytes forming a point on the curve.
    ///
    /// Errors: [`Error::InvalidMpi`] for a non-minimal MPI, [`Error::InvalidKey`] otherwise.
    pub fn from_components(c: &PublicKeyComponents) -> Result<Self, Error> {
        let inner = match c {
            PublicKeyComponents::Rsa { modulus, exponent } => {
                let n = mpi::decode(modulus)?;
                let e = mpi::decode(exponent)?;
                // Bound sizes before any arithmetic.
                if n.len() > RSA_VERIFY_BITS.end() / 8 || e.len() > RSA_MAX_EXPONENT_LEN {
                    return Err(Error::InvalidKey(RSA_KEY));
                }
                let n = BoxedUint::from_be_slice_vartime(n);
                let e = BoxedUint::from_be_slice_vartime(e);
                let key = rsa::PublicKey::new_with_size_limits(n, e, RSA_VERIFY_BITS)
                    .map_err(|_| Error::InvalidKey(RSA_KEY))?;
                VerifyingInner::Rsa(key)
            }
            PublicKeyComponents::Dsa { p, q, g, y } => VerifyingInner::Dsa(dsa_verifying_key(
                mpi::decode(p)?,
                mpi::decode(q)?,
                mpi::decode(g)?,
                mpi::decode(y)?,
            )?),
            PublicKeyComponents::EcP256 { x, y } => {
                if x.len() != P256_LEN || y.len() != P256_LEN {
                    return Err(Error::InvalidKey(EC_KEY));
                }
                let mut sec1 = Vec::with_capacity(1 + 2 * P256_LEN);
                sec1.push(0x04);
                sec1.extend_from_slice(x);
                sec1.extend_from_slice(y);
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                    .map_err(|_| Error::InvalidKey(EC_KEY))?;
                VerifyingInner::Ecdsa(key)
            }
        };
        Ok(Self { inner })
    }

    /// Reads a SubjectPublicKeyInfo DER (RFC 5280 §4.1.2.7) holding an RSA
    /// (`rsaEncryption`, RFC 3279 §2.3.1), DSA (`id-dsa` with `Dss-Parms`, RFC 3279
    /// §2.3.2) or P-256 (`id-ecPublicKey` with `prime256v1`, RFC 5480) key.
    ///
    /// The key then passes the same checks as [`VerifyingKey::from_components`].
    /// Errors: [`Error::TooLong`] above [`MAX_PUBLIC_KEY_DER_LEN`] bytes,
    /// [`Error::UnknownAlgorithm`] for another algorithm OID, [`Error::InvalidKey`] for
    /// malformed DER or an invalid key.
    pub fn from_public_key_der(der: &[u8]) -> Result<Self, Error> {
        if der.len() > MAX_PUBLIC_KEY_DER_LEN {
            return Err(Error::TooLong {
                len: der.len(),
                max: MAX_PUBLIC_KEY_DER_LEN,
            });
        }
        let spki = SubjectPublicKeyInfoRef::try_from(der).map_err(|_| Error::InvalidKey("SPKI"))?;
        let oid = spki.algorithm.oid;
        if oid == rsa::pkcs1::ALGORITHM_OID {
            let key = rsa::PublicKey::try_from(spki).map_err(|_| Error::InvalidKey(RSA_KEY))?;
            Self::from_components(&rsa_components(&key))
        } else if oid == dsa::OID {
            // Decoded by hand rather than with `dsa::VerifyingKey::try_from`: the dsa crate
            // builds `y` with its own byte length as precision, and its Montgomery
            // arithmetic needs `g` and `y` at the precision of `p` (dsa_verifying_key).
            let params = spki
                .algorithm
                .parameters
                .ok_or(Error::InvalidKey(DSA_KEY))?;
            let (p, q, g) = params
                .sequence(|reader| {
                    let p = UintRef::decode(reader)?;
                    let q = UintRef::decode(reader)?;
                    let g = UintRef::decode(reader)?;
                    Ok::<_, rsa::pkcs8::der::Error>((p, q, g))
                })
                .map_err(|_| Error::InvalidKey(DSA_KEY))?;
            let y_der = spki
                .subject_public_key
                .as_bytes()
                .ok_or(Error::InvalidKey(DSA_KEY))?;
            let y = UintRef::from_der(y_der).map_err(|_| Error::InvalidKey(DSA_KEY))?;
            let key = dsa_verifying_key(
                &mpi::encode(p.as_bytes()),
                &mpi::encode(q.as_bytes()),
                &mpi::encode(g.as_bytes()),
                &mpi::encode(y.as_bytes()),
            )?;
            Ok(Self {
                inner: VerifyingInner::Dsa(key),
            })
        } else if oid == p256::elliptic_curve::ALGORITHM_OID {
            // Checks the namedCurve parameter is prime256v1 and the point is on the curve.
            let key =
                p256::ecdsa::VerifyingKey::try_from(spki).map_err(|_| Error::InvalidKey(EC_KEY))?;
            Ok(Self {
                inner: VerifyingInner::Ecdsa(key),
            })
        } else {
            Err(Error::UnknownAlgorithm {
                kind: KIND,
                name: wire_name(&oid.to_string()),
            })
        }
    }

    /// The key as SubjectPublicKeyInfo DER (the inverse of
    /// [`VerifyingKey::from_public_key_der`]).
    pub fn to_public_key_der(&self) -> Result<Vec<u8>, Error> {
        let doc = match &self.inner {
            VerifyingInner::Rsa(key) => key.to_public_key_der(),
            VerifyingInner::Dsa(key) => key.to_public_key_der(),
            VerifyingInner::Ecdsa(key) => key.to_public_key_der(),
        }
        .map_err(|_| Error::Internal("SubjectPublicKeyInfo encoding failed"))?;
        Ok(doc.as_bytes().to_vec())
    }

    /// Verifies D31 signature octets over `msg` (hashed with SHA-256 inside the scheme).
    ///
    /// Any failure, including a signature of the wrong length, `r` or `s` out of range,
    /// or a bad padding, is [`Error::BadSignature`] and nothing else.
    pub fn verify(&self, msg: &[u8], signature: &[u8]) -> Result<(), Error> {
        match &self.inner {
            VerifyingInner::Rsa(key) => {
                // D31: exactly the modulus length (RFC 8017 §8.2.2 step 1).
                if signature.len() != key.size() {
                    return Err(Error::BadSignature);
                }
                key.pkcs1v15_verify::<Sha256>(msg, signature)
                    .map_err(|_| Error::BadSignature)
            }
            VerifyingInner::Dsa(key) => {
                let q_len = dsa_q_len(key);
                if signature.len() != 2 * q_len {
                    return Err(Error::BadSignature);
                }
                let (r, s) = signature.split_at(q_len);
                let precision = key.components().q().bits_precision();
                let r = BoxedUint::from_be_slice(r, precision).map_err(|_| Error::BadSignature)?;
                let s = BoxedUint::from_be_slice(s, precision).map_err(|_| Error::BadSignature)?;
                // None if r or s is zero; the dsa crate rejects r, s >= q.
                let sig = dsa::Signature::from_components(r, s).ok_or(Error::BadSignature)?;
                key.verify_digest(
                    |d: &mut Sha256| {
                        Digest::update(d, msg);
                        Ok(())
                    },
                    &sig,
                )
                .map_err(|_| Error::BadSignature)
            }
            VerifyingInner::Ecdsa(key) => {
                if signature.len() != 2 * P256_LEN {
                    return Err(Error::BadSignature);
                }
                // Rejects r or s of zero or >= n. High s is accepted (ECDSA is malleable;
                // XEP-0116 signs a MAC, so malleability does not matter).
                let sig = p256::ecdsa::Signature::from_slice(signature)
                    .map_err(|_| Error::BadSignature)?;
                Verifier::<p256::ecdsa::Signature>::verify(key, msg, &sig)
                    .map_err(|_| Error::BadSignature)
            }
        }
    }

    /// Size of the key in bits: |n| (RSA), |p| (DSA) or 256.
    fn bits(&self) -> u32 {
        match &self.inner {
            VerifyingInner::Rsa(key) => key.n().bit_width_vartime(),
            VerifyingInner::Dsa(key) => key.components().p().bit_width_vartime(),
            VerifyingInner::Ecdsa(_) => 256,
        }
    }

    /// First 8 bytes of SHA-256 over the SubjectPublicKeyInfo DER, hex, for `Debug`.
    fn fingerprint(&self) -> String {
        match self.to_public_key_der() {
            Ok(der) => Sha256::digest(&der)[..8]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            Err(_) => String::from("unavailable"),
        }
    }
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.alg() == other.alg() && self.components() == other.components()
    }
}

impl Eq for VerifyingKey {}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg())
            .field("bits", &self.bits())
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

/// D28 components of an RSA public key.
fn rsa_components(key: &rsa::PublicKey) -> PublicKeyComponents {
    PublicKeyComponents::Rsa {
        modulus: mpi::encode(&key.n().to_be_bytes()),
        exponent: mpi::encode(&key.e().to_be_bytes()),
    }
}

/// D28 components of a DSA public key.
fn dsa_components(key: &dsa::VerifyingKey) -> PublicKeyComponents {
    let c = key.components();
    PublicKeyComponents::Dsa {
        p: mpi::encode(&c.p().to_be_bytes()),
        q: mpi::encode(&c.q().to_be_bytes()),
        g: mpi::encode(&c.g().to_be_bytes()),
        y: mpi::encode(&key.y().to_be_bytes()),
    }
}

/// |q| in bytes: the width of each of `r` and `s` (D31).
fn dsa_q_len(key: &dsa::VerifyingKey) -> usize {
    (key.components().q().bit_width_vartime() as usize).div_ceil(8)
}

/// Validates DSA domain parameters and `y` (minimal big-endian bytes) and builds the key.
///
/// `g` and `y` are built at the precision of `p`: the dsa crate's Montgomery arithmetic
/// (verification, `y^q`) requires operands as wide as the modulus.
fn dsa_verifying_key(p: &[u8], q: &[u8], g: &[u8], y: &[u8]) -> Result<dsa::VerifyingKey, Error> {
    let bad = Error::InvalidKey(DSA_KEY);
    if p.len() > DSA_MAX_P_LEN || q.len() > p.len() || g.len() > p.len() || y.len() > p.len() {
        return Err(bad);
    }
    let p = BoxedUint::from_be_slice_vartime(p);
    let q = BoxedUint::from_be_slice_vartime(q);
    let sizes = (p.bit_width_vartime(), q.bit_width_vartime());
    if !DSA_SIZES.contains(&sizes) {
        return Err(bad);
    }
    let precision = p.bits_precision();
    let g = BoxedUint::from_be_slice(g, precision).map_err(|_| bad.clone())?;
    let y = BoxedUint::from_be_slice(y, precision).map_err(|_| bad.clone())?;
    let two = BoxedUint::from(2u8);
    if g < two || g >= p || y < two || y >= p {
        return Err(bad);
    }
    let p_odd = Odd::new(p.clone()).into_option().ok_or(bad.clone())?;
    // g generates the order-q subgroup: g^q ≡ 1 (mod p) (FIPS 186-3 A.2.2, partial).
    // y^q ≡ 1 is checked by dsa::VerifyingKey::from_components.
    let params = BoxedMontyParams::new_vartime(p_odd);
    let g_q = BoxedMontyForm::new(g.clone(), &params).pow(&q).retrieve();
    if g_q != BoxedUint::one_with_precision(precision) {
        return Err(bad);
    }
    let components = dsa::Components::from_components(p, q, g).map_err(|_| bad.clone())?;
    dsa::VerifyingKey::from_components(components, y).map_err(|_| bad)
}

/// Reads a DSA PKCS#8 key by hand (see `from_public_key_der` for why not the dsa crate's
/// decoder): `Dss-Parms` from the algorithm identifier, `x` from the private key octets,
/// `y = g^x mod p` recomputed (and compared with the optional public key of PKCS#8 v2).
fn dsa_signing_key_from_pkcs8(info: &PrivateKeyInfoRef<'_>) -> Result<dsa::SigningKey, Error> {
    let bad = Error::InvalidKey(DSA_KEY);
    let params = info.algorithm.parameters.ok_or(bad.clone())?;
    let (p, q, g) = params
        .sequence(|reader| {
            let p = UintRef::decode(reader)?;
            let q = UintRef::decode(reader)?;
            let g = UintRef::decode(reader)?;
            Ok::<_, rsa::pkcs8::der::Error>((p, q, g))
        })
        .map_err(|_| bad.clone())?;
    let x = UintRef::from_der(info.private_key.as_bytes()).map_err(|_| bad.clone())?;
    if p.as_bytes().len() > DSA_MAX_P_LEN || x.as_bytes().len() > p.as_bytes().len() {
        return Err(bad);
    }
    let p_int = BoxedUint::from_be_slice_vartime(p.as_bytes());
    let precision = p_int.bits_precision();
    let p_odd = Odd::new(p_int).into_option().ok_or(bad.clone())?;
    let g_int = BoxedUint::from_be_slice(g.as_bytes(), precision).map_err(|_| bad.clone())?;
    let x_int =
        Zeroizing::new(BoxedUint::from_be_slice(x.as_bytes(), precision).map_err(|_| bad.clone())?);
    let params_p = BoxedMontyParams::new_vartime(p_odd);
    // g^x mod p; the exponent is secret, and BoxedMontyForm::pow is constant-time.
    let y = BoxedMontyForm::new(g_int, &params_p).pow(&x_int).retrieve();
    let y_bytes = mpi::encode(&y.to_be_bytes());
    if let Some(public) = info.public_key.as_ref() {
        let stated = public
            .as_bytes()
            .and_then(|b| UintRef::from_der(b).ok())
            .ok_or(bad.clone())?;
        if mpi::encode(stated.as_bytes()) != y_bytes {
            return Err(bad);
        }
    }
    let public = dsa_verifying_key(
        &mpi::encode(p.as_bytes()),
        &mpi::encode(q.as_bytes()),
        &mpi::encode(g.as_bytes()),
        &y_bytes,
    )?;
    // Rejects x = 0 and x >= q.
    dsa::SigningKey::from_components(public, (*x_int).clone()).map_err(|_| bad)
}

/// I2OSP (RFC 8017 §4.1): `x` as exactly `len` big-endian bytes.
fn i2osp(x: &BoxedUint, len: usize) -> Result<Vec<u8>, Error> {
    let bytes = x.to_be_bytes();
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let significant = &bytes[start..];
    if significant.len() > len {
        return Err(Error::Internal("integer too large for I2OSP"));
    }
    let mut out = vec![0u8; len - significant.len()];
    out.extend_from_slice(significant);
    Ok(out)
}
