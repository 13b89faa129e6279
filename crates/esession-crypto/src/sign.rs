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
//! [`SigningKey::sign`] takes the caller's CSPRNG: DSA draws the per-signature secret `k`
//! from it (FIPS 186-3 B.2), and ECDSA uses it as additional input to RFC 6979 (a "hedged"
//! nonce: safe even if the RNG is weak). RSASSA-PKCS1-v1_5 is deterministic and draws
//! nothing from it, with every provider: the private operation is a constant-time CRT
//! exponentiation (graviola's or crypto-bigint's; OpenSSL blinds with its own DRBG), so
//! base blinding with the caller's generator would add no protection against timing, and
//! leaving the generator untouched keeps a seeded transcript identical whichever provider
//! signs (docs/decisions.md P3).
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
    /// The key as the providers load it, built on first use.
    prepared: PreparedSigning,
}

/// Provider-specific forms of a [`SigningKey`], each built on first use and
/// kept with the key (identity keys sign many times).
#[derive(Default)]
struct PreparedSigning {
    /// graviola's RSA key (RustCrypto provider); `None` inside when graviola
    /// cannot run here or refuses the key size.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    graviola: std::sync::OnceLock<Option<Box<graviola::signing::rsa::SigningKey>>>,
    /// OpenSSL's EVP key (OpenSSL provider).
    #[cfg(feature = "openssl")]
    openssl: std::sync::OnceLock<::openssl::pkey::PKey<::openssl::pkey::Private>>,
}

impl SigningKey {
    fn from_inner(inner: SigningInner) -> Self {
        Self {
            inner,
            prepared: PreparedSigning::default(),
        }
    }

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
                Ok(Self::from_inner(SigningInner::Dsa(Box::new(key))))
            }
            SignAlg::EcdsaSha256 => {
                let key =
                    p256::ecdsa::SigningKey::try_generate_from_rng(rng).map_err(|_| Error::Rng)?;
                Ok(Self::from_inner(SigningInner::Ecdsa(Box::new(key))))
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
        Ok(Self::from_inner(SigningInner::Rsa(Box::new(key))))
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
        VerifyingKey::from_inner(inner)
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
        self.sign_with(crate::provider::get_default(), msg, rng)
    }

    /// [`SigningKey::sign`] computed by `provider` instead of the process
    /// default. The output length is checked here for every provider.
    pub fn sign_with<R: rand_core::CryptoRng + ?Sized>(
        &self,
        provider: &dyn crate::provider::CryptoProvider,
        msg: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>, Error> {
        let sig = provider.sign(self, msg, &mut crate::provider::RngRef(rng))?;
        if sig.len() != self.verifying_key().signature_len() {
            return Err(Error::Internal("signature of unexpected length"));
        }
        Ok(sig)
    }

    /// The key as OpenSSL loads it (PKCS#8), built on first use.
    #[cfg(feature = "openssl")]
    pub(crate) fn openssl_key(
        &self,
    ) -> Result<&::openssl::pkey::PKeyRef<::openssl::pkey::Private>, Error> {
        if let Some(k) = self.prepared.openssl.get() {
            return Ok(k);
        }
        let der = self.to_pkcs8_der()?;
        let key = ::openssl::pkey::PKey::private_key_from_pkcs8(der.as_bytes())
            .map_err(|_| Error::Internal("OpenSSL refused the private key"))?;
        Ok(self.prepared.openssl.get_or_init(|| key))
    }

    /// graviola's form of an RSA key, if graviola runs on this CPU and takes
    /// the key; built on first use.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn graviola_rsa(&self) -> Option<&graviola::signing::rsa::SigningKey> {
        self.prepared
            .graviola
            .get_or_init(|| {
                if !matches!(self.inner, SigningInner::Rsa(_)) || !graviola_runs_here() {
                    return None;
                }
                let der = self.to_pkcs8_der().ok()?;
                graviola::signing::rsa::SigningKey::from_pkcs8_der(der.as_bytes())
                    .ok()
                    .map(Box::new)
            })
            .as_deref()
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
        Ok(Self::from_inner(inner))
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
    /// OpenSSL's EVP key (OpenSSL provider), built on first use.
    #[cfg(feature = "openssl")]
    openssl: std::sync::OnceLock<::openssl::pkey::PKey<::openssl::pkey::Public>>,
}

impl VerifyingKey {
    fn from_inner(inner: VerifyingInner) -> Self {
        Self {
            inner,
            #[cfg(feature = "openssl")]
            openssl: std::sync::OnceLock::new(),
        }
    }

    /// The key as OpenSSL loads it (SubjectPublicKeyInfo), built on first use.
    #[cfg(feature = "openssl")]
    pub(crate) fn openssl_key(
        &self,
    ) -> Result<&::openssl::pkey::PKeyRef<::openssl::pkey::Public>, Error> {
        if let Some(k) = self.openssl.get() {
            return Ok(k);
        }
        let der = self.to_public_key_der()?;
        let key = ::openssl::pkey::PKey::public_key_from_der(&der)
            .map_err(|_| Error::Internal("OpenSSL refused the public key"))?;
        Ok(self.openssl.get_or_init(|| key))
    }

    /// The fixed length of this key's D31 signature octets: the modulus
    /// length (RSA), `2·|q|` (DSA) or 64 (P-256).
    pub fn signature_len(&self) -> usize {
        match &self.inner {
            VerifyingInner::Rsa(key) => key.size(),
            VerifyingInner::Dsa(key) => 2 * dsa_q_len(key),
            VerifyingInner::Ecdsa(_) => 2 * P256_LEN,
        }
    }

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
                // Uncompressed SEC1 (04 ‖ x ‖ y) always carries both 32-byte coordinates.
                let point = key.to_sec1_point(false);
                let x = point.x().map(|x| x.to_vec()).unwrap_or_default();
                let y = point.y().map(|y| y.to_vec()).unwrap_or_default();
                PublicKeyComponents::EcP256 { x, y }
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
        Ok(Self::from_inner(inner))
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
            Ok(Self::from_inner(VerifyingInner::Dsa(key)))
        } else if oid == p256::elliptic_curve::ALGORITHM_OID {
            // Checks the namedCurve parameter is prime256v1 and the point is on the curve.
            let key =
                p256::ecdsa::VerifyingKey::try_from(spki).map_err(|_| Error::InvalidKey(EC_KEY))?;
            Ok(Self::from_inner(VerifyingInner::Ecdsa(key)))
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
        self.verify_with(crate::provider::get_default(), msg, signature)
    }

    /// [`VerifyingKey::verify`] computed by `provider` instead of the
    /// process default. D31: a signature of another length than
    /// [`VerifyingKey::signature_len`] is refused here, before any
    /// arithmetic, for every provider (RFC 8017 §8.2.2 step 1 for RSA).
    pub fn verify_with(
        &self,
        provider: &dyn crate::provider::CryptoProvider,
        msg: &[u8],
        signature: &[u8],
    ) -> Result<(), Error> {
        if signature.len() != self.signature_len() {
            return Err(Error::BadSignature);
        }
        provider.verify(self, msg, signature)
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

/// The RustCrypto provider's signing ([`crate::provider::RustCrypto`]).
pub(crate) fn rust_crypto_sign(
    key: &SigningKey,
    msg: &[u8],
    rng: &mut dyn rand_core::CryptoRng,
) -> Result<Vec<u8>, Error> {
    match &key.inner {
        SigningInner::Rsa(rsa_key) => {
            #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
            if let Some(g) = key.graviola_rsa() {
                // RFC 8017 §8.2.1, deterministic, constant-time CRT.
                let mut sig = vec![0u8; rsa_key.size()];
                let len = g
                    .sign_pkcs1_sha256(&mut sig, msg)
                    .map_err(|_| Error::Internal("RSA signing failed"))?
                    .len();
                sig.truncate(len);
                return Ok(sig);
            }
            // RFC 8017 §8.2.1 with crypto-bigint's constant-time CRT
            // exponentiation, unblinded like graviola and drawing nothing
            // from `rng` (module docs, "Randomness").
            rsa_key
                .sign(
                    rsa::pkcs1v15::Pkcs1v15Sign::new::<Sha256>(),
                    &Sha256::digest(msg),
                )
                .map_err(|_| Error::Internal("RSA signing failed"))
        }
        SigningInner::Dsa(dsa_key) => {
            let sig: dsa::Signature = dsa_key
                .try_sign_digest_with_rng(rng, |d: &mut Sha256| {
                    Digest::update(d, msg);
                    Ok(())
                })
                .map_err(|_| Error::Internal("DSA signing failed"))?;
            let q_len = dsa_q_len(dsa_key.verifying_key());
            let mut out = i2osp(sig.r(), q_len)?;
            out.extend_from_slice(&i2osp(sig.s(), q_len)?);
            Ok(out)
        }
        SigningInner::Ecdsa(ec_key) => {
            let sig: p256::ecdsa::Signature = ec_key
                .try_sign_with_rng(rng, msg)
                .map_err(|_| Error::Internal("ECDSA signing failed"))?;
            Ok(sig.to_bytes().to_vec())
        }
    }
}

/// The RustCrypto provider's verification; the length is checked already
/// ([`VerifyingKey::verify_with`]).
pub(crate) fn rust_crypto_verify(
    vk: &VerifyingKey,
    msg: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    match &vk.inner {
        VerifyingInner::Rsa(key) => key
            .pkcs1v15_verify::<Sha256>(msg, signature)
            .map_err(|_| Error::BadSignature),
        VerifyingInner::Dsa(key) => {
            let (r, s) = signature.split_at(signature.len() / 2);
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
            // Rejects r or s of zero or >= n. High s is accepted (ECDSA is malleable;
            // XEP-0116 signs a MAC, so malleability does not matter).
            let sig =
                p256::ecdsa::Signature::from_slice(signature).map_err(|_| Error::BadSignature)?;
            Verifier::<p256::ecdsa::Signature>::verify(key, msg, &sig)
                .map_err(|_| Error::BadSignature)
        }
    }
}

/// Whether graviola's CPU requirements hold here (it refuses to run
/// otherwise): x86_64 with AES, SSSE3, AVX, AVX2, ADX, BMI2 and PCLMULQDQ;
/// aarch64 with AES, SHA2, PMULL and NEON. Checked once.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn graviola_runs_here() -> bool {
    static RUNS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *RUNS.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("aes")
                && std::arch::is_x86_feature_detected!("ssse3")
                && std::arch::is_x86_feature_detected!("avx")
                && std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("adx")
                && std::arch::is_x86_feature_detected!("bmi1")
                && std::arch::is_x86_feature_detected!("bmi2")
                && std::arch::is_x86_feature_detected!("pclmulqdq")
        }
        #[cfg(target_arch = "aarch64")]
        {
            std::arch::is_aarch64_feature_detected!("aes")
                && std::arch::is_aarch64_feature_detected!("sha2")
                && std::arch::is_aarch64_feature_detected!("pmull")
                && std::arch::is_aarch64_feature_detected!("neon")
        }
    })
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

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use proptest::prelude::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{Rng, SeedableRng};
    use rsa::traits::PrivateKeyParts;

    use super::*;

    fn rng(seed: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(seed)
    }

    /// One generated key per algorithm, shared by the tests (DSA and RSA generation are slow).
    fn key(alg: SignAlg) -> &'static SigningKey {
        static RSA: OnceLock<SigningKey> = OnceLock::new();
        static DSA: OnceLock<SigningKey> = OnceLock::new();
        static EC: OnceLock<SigningKey> = OnceLock::new();
        let (cell, seed) = match alg {
            SignAlg::RsaSha256 => (&RSA, 1),
            SignAlg::DsaSha256 => (&DSA, 2),
            SignAlg::EcdsaSha256 => (&EC, 3),
        };
        cell.get_or_init(|| SigningKey::generate(alg, &mut rng(seed)).unwrap())
    }

    /// A 32-byte stand-in for macA.
    const MAC: [u8; 32] = [0x5a; 32];

    /// graviola's signatures are the rsa crate's, byte for byte, and graviola
    /// does run where the CPU has what it needs.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    #[test]
    fn graviola_signs_exactly_as_the_rsa_crate() {
        let sk = key(SignAlg::RsaSha256);
        let SigningInner::Rsa(k) = &sk.inner else {
            panic!("not RSA")
        };
        for msg in [&MAC[..], b"", &[1; 300]] {
            let via_rsa = k
                .pkcs1v15_sign_with_rng::<Sha256, _>(&mut rng(9), msg)
                .unwrap();
            let mut r = rng(9);
            let via_provider = rust_crypto_sign(sk, msg, &mut r).unwrap();
            assert_eq!(via_rsa, via_provider);
            // Nothing was drawn from the generator.
            assert_eq!(r.next_u64(), rng(9).next_u64());
        }
        assert_eq!(sk.graviola_rsa().is_some(), graviola_runs_here());
        assert!(key(SignAlg::EcdsaSha256).graviola_rsa().is_none());
    }

    fn expected_sig_len(alg: SignAlg) -> usize {
        match alg {
            SignAlg::RsaSha256 => 256,
            SignAlg::DsaSha256 | SignAlg::EcdsaSha256 => 64,
        }
    }

    #[test]
    fn uris_round_trip_exactly() {
        for alg in SignAlg::ALL {
            assert_eq!(SignAlg::from_uri(alg.uri()), Ok(alg));
        }
        assert_eq!(
            SignAlg::RsaSha256.uri(),
            "http://www.w3.org/2000/09/xmldsig#rsa-sha256"
        );
        assert_eq!(
            SignAlg::DsaSha256.uri(),
            "http://www.w3.org/2000/09/xmldsig#dsa-sha256"
        );
        assert_eq!(
            SignAlg::EcdsaSha256.uri(),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
        );
        for bad in [
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "HTTP://WWW.W3.ORG/2000/09/XMLDSIG#RSA-SHA256",
            "http://www.w3.org/2000/09/xmldsig#rsa-sha256 ",
            "rsa-sha256",
            "",
        ] {
            assert_eq!(
                SignAlg::from_uri(bad),
                Err(Error::UnknownAlgorithm {
                    kind: "signature",
                    name: bad.to_string()
                })
            );
        }
        let long = "x".repeat(1000);
        match SignAlg::from_uri(&long) {
            Err(Error::UnknownAlgorithm { name, .. }) => assert_eq!(name.len(), 64),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sign_verify_round_trip_each_alg() {
        for alg in SignAlg::ALL {
            let sk = key(alg);
            assert_eq!(sk.alg(), alg);
            let vk = sk.verifying_key();
            assert_eq!(vk.alg(), alg);
            let sig = sk.sign(&MAC, &mut rng(10)).unwrap();
            assert_eq!(sig.len(), expected_sig_len(alg), "{alg:?}");
            vk.verify(&MAC, &sig).unwrap();
            // Other messages, including the empty one, sign and verify too.
            for msg in [&b""[..], b"abc", &[0u8; 1000]] {
                let sig = sk.sign(msg, &mut rng(11)).unwrap();
                assert_eq!(sig.len(), expected_sig_len(alg));
                vk.verify(msg, &sig).unwrap();
            }
        }
    }

    #[test]
    fn rsa_signature_is_deterministic_and_fixed_width() {
        let sk = key(SignAlg::RsaSha256);
        let a = sk.sign(&MAC, &mut rng(20)).unwrap();
        let b = sk.sign(&MAC, &mut rng(21)).unwrap();
        // PKCS#1 v1.5 has no randomness; the rng only blinds.
        assert_eq!(a, b);
        // Sign many messages: every signature is exactly the modulus length, including
        // those whose integer s has leading zero octets (probability 1/256 each).
        let vk = sk.verifying_key();
        for i in 0u32..64 {
            let msg = i.to_be_bytes();
            let sig = sk.sign(&msg, &mut rng(22)).unwrap();
            assert_eq!(sig.len(), 256);
            vk.verify(&msg, &sig).unwrap();
        }
    }

    #[test]
    fn dsa_and_ecdsa_signatures_are_randomized_and_fixed_width() {
        for alg in [SignAlg::DsaSha256, SignAlg::EcdsaSha256] {
            let sk = key(alg);
            let vk = sk.verifying_key();
            let a = sk.sign(&MAC, &mut rng(30)).unwrap();
            let b = sk.sign(&MAC, &mut rng(31)).unwrap();
            assert_ne!(a, b, "{alg:?}");
            // r and s are each I2OSP'd to 32 bytes even when they have leading zero octets.
            for i in 0u32..64 {
                let msg = i.to_be_bytes();
                let sig = sk.sign(&msg, &mut rng(u64::from(i))).unwrap();
                assert_eq!(sig.len(), 64);
                vk.verify(&msg, &sig).unwrap();
            }
        }
    }

    #[test]
    fn generated_key_sizes() {
        match key(SignAlg::RsaSha256).verifying_key().components() {
            PublicKeyComponents::Rsa { modulus, exponent } => {
                assert_eq!(modulus.len(), 256);
                assert!(modulus[0] & 0x80 != 0);
                assert_eq!(exponent, vec![0x01, 0x00, 0x01]);
            }
            other => panic!("{other:?}"),
        }
        match key(SignAlg::DsaSha256).verifying_key().components() {
            PublicKeyComponents::Dsa { p, q, .. } => {
                assert_eq!(p.len(), 256);
                assert!(p[0] & 0x80 != 0);
                assert_eq!(q.len(), 32);
                assert!(q[0] & 0x80 != 0);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            SigningKey::generate_rsa(1024, &mut rng(1)).unwrap_err(),
            Error::InvalidKey("RSA")
        );
        assert_eq!(
            SigningKey::generate_rsa(8193, &mut rng(1)).unwrap_err(),
            Error::InvalidKey("RSA")
        );
    }

    #[test]
    fn components_round_trip_each_alg() {
        for alg in SignAlg::ALL {
            let vk = key(alg).verifying_key();
            let c = vk.components();
            match &c {
                PublicKeyComponents::Rsa { modulus, exponent } => {
                    assert_eq!(mpi::decode(modulus), Ok(&modulus[..]));
                    assert_eq!(mpi::decode(exponent), Ok(&exponent[..]));
                }
                PublicKeyComponents::Dsa { p, q, g, y } => {
                    for v in [p, q, g, y] {
                        assert_eq!(mpi::decode(v), Ok(&v[..]));
                    }
                }
                PublicKeyComponents::EcP256 { x, y } => {
                    assert_eq!(x.len(), 32);
                    assert_eq!(y.len(), 32);
                }
            }
            let back = VerifyingKey::from_components(&c).unwrap();
            assert_eq!(back, vk);
            assert_eq!(back.components(), c);
            let sig = key(alg).sign(&MAC, &mut rng(40)).unwrap();
            back.verify(&MAC, &sig).unwrap();
        }
    }

    #[test]
    fn spki_round_trip_each_alg() {
        for alg in SignAlg::ALL {
            let vk = key(alg).verifying_key();
            let der = vk.to_public_key_der().unwrap();
            let back = VerifyingKey::from_public_key_der(&der).unwrap();
            assert_eq!(back, vk);
            assert_eq!(back.to_public_key_der().unwrap(), der);
        }
    }

    #[test]
    fn tampered_message_rejected() {
        for alg in SignAlg::ALL {
            let sk = key(alg);
            let vk = sk.verifying_key();
            let sig = sk.sign(&MAC, &mut rng(50)).unwrap();
            for i in [0, 15, 31] {
                let mut msg = MAC;
                msg[i] ^= 0x01;
                assert_eq!(vk.verify(&msg, &sig), Err(Error::BadSignature), "{alg:?}");
            }
            assert_eq!(vk.verify(&MAC[..31], &sig), Err(Error::BadSignature));
            assert_eq!(vk.verify(b"", &sig), Err(Error::BadSignature));
        }
    }

    #[test]
    fn tampered_signature_rejected() {
        for alg in SignAlg::ALL {
            let sk = key(alg);
            let vk = sk.verifying_key();
            let sig = sk.sign(&MAC, &mut rng(60)).unwrap();
            let len = sig.len();
            // First and last byte of r (or of s for RSA), first and last of s.
            for i in [0, len / 2 - 1, len / 2, len - 1] {
                for bit in [0x01, 0x80] {
                    let mut bad = sig.clone();
                    bad[i] ^= bit;
                    assert_eq!(
                        vk.verify(&MAC, &bad),
                        Err(Error::BadSignature),
                        "{alg:?} {i}"
                    );
                }
            }
            // Swapped halves (r ‖ s -> s ‖ r).
            let mut swapped = sig[len / 2..].to_vec();
            swapped.extend_from_slice(&sig[..len / 2]);
            assert_eq!(vk.verify(&MAC, &swapped), Err(Error::BadSignature));
            // All zeros and all ones.
            assert_eq!(vk.verify(&MAC, &vec![0; len]), Err(Error::BadSignature));
            assert_eq!(vk.verify(&MAC, &vec![0xff; len]), Err(Error::BadSignature));
            // A signature from another algorithm's key.
            for other in SignAlg::ALL {
                if other != alg {
                    let foreign = key(other).sign(&MAC, &mut rng(61)).unwrap();
                    assert_eq!(vk.verify(&MAC, &foreign), Err(Error::BadSignature));
                }
            }
        }
    }

    #[test]
    fn wrong_length_signature_rejected() {
        for alg in SignAlg::ALL {
            let sk = key(alg);
            let vk = sk.verifying_key();
            let sig = sk.sign(&MAC, &mut rng(70)).unwrap();
            let mut padded = vec![0u8];
            padded.extend_from_slice(&sig);
            let mut trailing = sig.clone();
            trailing.push(0);
            for bad in [
                &[][..],
                &sig[..sig.len() - 1],
                &sig[1..],
                &padded,
                &trailing,
                &[0u8; 1][..],
            ] {
                assert_eq!(vk.verify(&MAC, bad), Err(Error::BadSignature), "{alg:?}");
            }
        }
        // DSA/ECDSA: r and s with leading zeros stripped (a DER-ish or mpi encoding) fail.
        let sk = key(SignAlg::EcdsaSha256);
        let sig = sk.sign(&MAC, &mut rng(71)).unwrap();
        let der = p256::ecdsa::Signature::from_slice(&sig).unwrap().to_der();
        assert_eq!(
            sk.verifying_key().verify(&MAC, der.as_bytes()),
            Err(Error::BadSignature)
        );
    }

    #[test]
    fn pkcs8_round_trip_each_alg() {
        for alg in SignAlg::ALL {
            let sk = key(alg);
            let der = sk.to_pkcs8_der().unwrap();
            let back = SigningKey::from_pkcs8_der(der.as_bytes()).unwrap();
            assert_eq!(back.alg(), alg);
            assert_eq!(back.verifying_key(), sk.verifying_key());
            assert_eq!(back.to_pkcs8_der().unwrap(), der);
            let sig = back.sign(&MAC, &mut rng(80)).unwrap();
            sk.verifying_key().verify(&MAC, &sig).unwrap();
        }
        // The algorithm identifiers (RFC 3279 §2.3.1, §2.3.2; RFC 5480 §2.1.1).
        let oids = [
            (SignAlg::RsaSha256, "06092a864886f70d010101"),
            (SignAlg::DsaSha256, "06072a8648ce380401"),
            (
                SignAlg::EcdsaSha256,
                "06072a8648ce3d020106082a8648ce3d030107",
            ),
        ];
        for (alg, oid) in oids {
            let der = hex::encode(key(alg).to_pkcs8_der().unwrap().as_bytes());
            assert!(der.contains(oid), "{alg:?}");
            let spki = hex::encode(key(alg).verifying_key().to_public_key_der().unwrap());
            assert!(spki.contains(oid), "{alg:?}");
        }
    }

    #[test]
    fn pkcs8_rejects_garbage_and_other_algorithms() {
        assert!(matches!(
            SigningKey::from_pkcs8_der(b""),
            Err(Error::InvalidKey(_))
        ));
        assert!(matches!(
            SigningKey::from_pkcs8_der(&[0x30, 0x03, 0x02, 0x01, 0x00]),
            Err(Error::InvalidKey(_))
        ));
        assert_eq!(
            SigningKey::from_pkcs8_der(&vec![0x30; MAX_PRIVATE_KEY_DER_LEN + 1]).unwrap_err(),
            Error::TooLong {
                len: MAX_PRIVATE_KEY_DER_LEN + 1,
                max: MAX_PRIVATE_KEY_DER_LEN
            }
        );
        // RFC 8410 §10.3 example Ed25519 private key: valid PKCS#8, unknown algorithm.
        let ed25519 = hex::decode(
            "302e020100300506032b657004220420d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842",
        )
        .unwrap();
        assert_eq!(
            SigningKey::from_pkcs8_der(&ed25519).unwrap_err(),
            Error::UnknownAlgorithm {
                kind: "signature",
                name: "1.3.101.112".to_string()
            }
        );
        // A truncated key of each kind.
        for alg in SignAlg::ALL {
            let der = key(alg).to_pkcs8_der().unwrap();
            let cut = &der.as_bytes()[..der.len() - 1];
            assert!(SigningKey::from_pkcs8_der(cut).is_err());
        }
    }

    #[test]
    fn spki_rejects_garbage_and_other_algorithms() {
        assert!(matches!(
            VerifyingKey::from_public_key_der(b""),
            Err(Error::InvalidKey(_))
        ));
        assert_eq!(
            VerifyingKey::from_public_key_der(&vec![0; MAX_PUBLIC_KEY_DER_LEN + 1]).unwrap_err(),
            Error::TooLong {
                len: MAX_PUBLIC_KEY_DER_LEN + 1,
                max: MAX_PUBLIC_KEY_DER_LEN
            }
        );
        // RFC 8410 §10.1 example Ed25519 public key.
        let ed25519 = hex::decode(
            "302a300506032b657003210019bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1",
        )
        .unwrap();
        assert_eq!(
            VerifyingKey::from_public_key_der(&ed25519).unwrap_err(),
            Error::UnknownAlgorithm {
                kind: "signature",
                name: "1.3.101.112".to_string()
            }
        );
        for alg in SignAlg::ALL {
            let der = key(alg).verifying_key().to_public_key_der().unwrap();
            assert!(VerifyingKey::from_public_key_der(&der[..der.len() - 1]).is_err());
            let mut trailing = der.clone();
            trailing.push(0);
            assert!(VerifyingKey::from_public_key_der(&trailing).is_err());
        }
    }

    #[test]
    fn from_components_validates_rsa() {
        let PublicKeyComponents::Rsa { modulus, exponent } =
            key(SignAlg::RsaSha256).verifying_key().components()
        else {
            panic!("not RSA")
        };
        let rsa = |modulus: &[u8], exponent: &[u8]| {
            VerifyingKey::from_components(&PublicKeyComponents::Rsa {
                modulus: modulus.to_vec(),
                exponent: exponent.to_vec(),
            })
        };
        // Non-minimal MPIs (D1).
        let mut padded = vec![0];
        padded.extend_from_slice(&modulus);
        assert_eq!(
            rsa(&padded, &exponent).unwrap_err(),
            Error::InvalidMpi("leading zero byte")
        );
        assert_eq!(rsa(&modulus, &[]).unwrap_err(), Error::InvalidMpi("empty"));
        // Even modulus, even exponent, exponent 1, exponent too large.
        let mut even = modulus.clone();
        *even.last_mut().unwrap() &= 0xfe;
        assert_eq!(rsa(&even, &exponent).unwrap_err(), Error::InvalidKey("RSA"));
        assert_eq!(
            rsa(&modulus, &[0x01, 0x00, 0x00]).unwrap_err(),
            Error::InvalidKey("RSA")
        );
        assert_eq!(
            rsa(&modulus, &[0x01]).unwrap_err(),
            Error::InvalidKey("RSA")
        );
        assert_eq!(
            rsa(&modulus, &[0x03; 6]).unwrap_err(),
            Error::InvalidKey("RSA")
        );
        // Too small (1016 bits) and too large (8200 bits) moduli.
        assert_eq!(
            rsa(&[0xff; 127], &exponent).unwrap_err(),
            Error::InvalidKey("RSA")
        );
        assert_eq!(
            rsa(&[0xff; 1025], &exponent).unwrap_err(),
            Error::InvalidKey("RSA")
        );
        // 1024 and 8192 bits are accepted (the bounds are inclusive).
        rsa(&[0xff; 128], &exponent).unwrap();
        rsa(&[0xff; 1024], &exponent).unwrap();
        // e = 3 is accepted (Wycheproof uses it).
        rsa(&modulus, &[0x03]).unwrap();
    }

    #[test]
    fn from_components_validates_dsa() {
        let PublicKeyComponents::Dsa { p, q, g, y } =
            key(SignAlg::DsaSha256).verifying_key().components()
        else {
            panic!("not DSA")
        };
        let dsa = |p: &[u8], q: &[u8], g: &[u8], y: &[u8]| {
            VerifyingKey::from_components(&PublicKeyComponents::Dsa {
                p: p.to_vec(),
                q: q.to_vec(),
                g: g.to_vec(),
                y: y.to_vec(),
            })
        };
        dsa(&p, &q, &g, &y).unwrap();
        let bad = Err(Error::InvalidKey("DSA"));
        // g and y out of range or outside the subgroup.
        assert_eq!(dsa(&p, &q, &[1], &y), bad);
        assert_eq!(dsa(&p, &q, &g, &[1]), bad);
        assert_eq!(dsa(&p, &q, &g, &[2]), bad);
        assert_eq!(dsa(&p, &q, &p, &y), bad);
        assert_eq!(dsa(&p, &q, &g, &p), bad);
        let mut y_plus_p = y.clone();
        y_plus_p.insert(0, 0x01); // y + 2^2048 > p
        assert_eq!(dsa(&p, &q, &g, &y_plus_p), bad);
        // q not of 256 bits, p not of a FIPS size.
        assert_eq!(dsa(&p, &q[1..], &g, &y), bad);
        assert_eq!(dsa(&p[1..], &q, &g[1..], &y[1..]), bad);
        // Even p.
        let mut even = p.clone();
        *even.last_mut().unwrap() &= 0xfe;
        assert_eq!(dsa(&even, &q, &g, &y), bad);
        // Wrong q for this group: the subgroup checks fail.
        let mut q2 = q.clone();
        *q2.last_mut().unwrap() ^= 0x02;
        assert_eq!(dsa(&p, &q2, &g, &y), bad);
        // Non-minimal MPI.
        let mut g0 = vec![0];
        g0.extend_from_slice(&g);
        assert_eq!(
            dsa(&p, &q, &g0, &y),
            Err(Error::InvalidMpi("leading zero byte"))
        );
    }

    #[test]
    fn from_components_validates_p256() {
        let PublicKeyComponents::EcP256 { x, y } =
            key(SignAlg::EcdsaSha256).verifying_key().components()
        else {
            panic!("not P-256")
        };
        let ec = |x: &[u8], y: &[u8]| {
            VerifyingKey::from_components(&PublicKeyComponents::EcP256 {
                x: x.to_vec(),
                y: y.to_vec(),
            })
        };
        ec(&x, &y).unwrap();
        let bad = Err(Error::InvalidKey("ECDSA P-256"));
        let mut y2 = y.clone();
        y2[31] ^= 1;
        assert_eq!(ec(&x, &y2), bad);
        assert_eq!(ec(&x[1..], &y), bad);
        let mut x33 = vec![0];
        x33.extend_from_slice(&x);
        assert_eq!(ec(&x33, &y), bad);
        assert_eq!(ec(&[0; 32], &[0; 32]), bad);
        // Coordinates >= the field prime.
        assert_eq!(ec(&[0xff; 32], &y), bad);
    }

    #[test]
    fn debug_does_not_print_private_key() {
        for alg in SignAlg::ALL {
            let sk = key(alg);
            let secret: Vec<u8> = match &sk.inner {
                SigningInner::Rsa(k) => k.d().to_be_bytes().to_vec(),
                SigningInner::Dsa(k) => k.x().to_be_bytes().to_vec(),
                SigningInner::Ecdsa(k) => k.to_bytes().to_vec(),
            };
            let secret = mpi::encode(&secret);
            assert!(secret.len() >= 20);
            let printed = format!("{sk:?}");
            let pretty = format!("{sk:#?}");
            for text in [&printed, &pretty] {
                for window in secret.windows(4) {
                    let lower: String = window.iter().map(|b| format!("{b:02x}")).collect();
                    assert!(!text.to_lowercase().contains(&lower), "{alg:?}: {text}");
                }
                let decimal: Vec<String> = secret[..4].iter().map(u8::to_string).collect();
                assert!(!text.contains(&decimal.join(", ")), "{alg:?}: {text}");
            }
            assert!(printed.starts_with("SigningKey { alg: "), "{printed}");
            assert!(printed.contains(&format!("{alg:?}")));
            assert!(printed.len() < 120, "{printed}");
            // The fingerprint is the public key's.
            let public = format!("{:?}", sk.verifying_key());
            let fp = public.split("fingerprint: ").nth(1).unwrap();
            assert!(printed.contains(fp.trim_end_matches(" }")));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn prop_ecdsa_round_trip_and_tamper(
            msg in proptest::collection::vec(any::<u8>(), 0..100),
            seed in any::<u64>(),
            flip in any::<(usize, u8)>(),
        ) {
            let sk = key(SignAlg::EcdsaSha256);
            let vk = sk.verifying_key();
            let sig = sk.sign(&msg, &mut rng(seed)).unwrap();
            prop_assert_eq!(sig.len(), 64);
            prop_assert_eq!(vk.verify(&msg, &sig), Ok(()));
            let (index, bits) = flip;
            let bits = bits | 1;
            let mut bad_sig = sig.clone();
            bad_sig[index % 64] ^= bits;
            prop_assert_eq!(vk.verify(&msg, &bad_sig), Err(Error::BadSignature));
            let mut bad_msg = msg.clone();
            if bad_msg.is_empty() {
                bad_msg.push(bits);
            } else {
                let i = index % bad_msg.len();
                bad_msg[i] ^= bits;
            }
            prop_assert_eq!(vk.verify(&bad_msg, &sig), Err(Error::BadSignature));
        }

        #[test]
        fn prop_verify_never_panics_on_arbitrary_signatures(
            sig in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            for alg in SignAlg::ALL {
                let vk = key(alg).verifying_key();
                prop_assert_eq!(vk.verify(&MAC, &sig), Err(Error::BadSignature));
            }
        }
    }

    // ---- Wycheproof (C2SP/wycheproof, Apache-2.0; vectors/primitives/wycheproof-*.json,
    // converted without changing a value by vectors/tools/import_primitives.py) ----

    fn wycheproof(file: &str) -> serde_json::Value {
        let path = format!(
            "{}/../../vectors/primitives/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    fn hex_field(v: &serde_json::Value, field: &str) -> Vec<u8> {
        hex::decode(v[field].as_str().unwrap_or_else(|| panic!("no {field}"))).unwrap()
    }

    /// Left-pads or strips leading zeros to `len` bytes (Wycheproof's ints are signed DER-ish).
    fn fixed(bytes: &[u8], len: usize) -> Vec<u8> {
        let m = mpi::encode(bytes);
        let mut out = vec![0; len - m.len()];
        out.extend_from_slice(&m);
        out
    }

    #[derive(Default, Debug)]
    struct Counts {
        valid: usize,
        invalid: usize,
        acceptable_accepted: usize,
        acceptable_rejected: usize,
        failures: Vec<u64>,
    }

    /// Runs every test of a Wycheproof signature-verification file. `expected` maps a
    /// group's `publicKey` object to the components the SPKI must decode to.
    fn run_wycheproof(
        file: &str,
        alg: SignAlg,
        expected: impl Fn(&serde_json::Value) -> PublicKeyComponents,
    ) -> Counts {
        let json = wycheproof(file);
        let keys: Vec<VerifyingKey> = json["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|group| {
                let vk =
                    VerifyingKey::from_public_key_der(&hex_field(group, "publicKeyDer")).unwrap();
                assert_eq!(vk.alg(), alg);
                assert_eq!(vk.components(), expected(&group["publicKey"]));
                assert_eq!(VerifyingKey::from_components(&vk.components()).unwrap(), vk);
                vk
            })
            .collect();
        let mut counts = Counts::default();
        let mut total = 0;
        for test in json["vectors"].as_array().unwrap() {
            total += 1;
            let id = test["tcId"].as_u64().unwrap();
            let vk = &keys[test["group"].as_u64().unwrap() as usize];
            let ok = vk
                .verify(&hex_field(test, "msg"), &hex_field(test, "sig"))
                .is_ok();
            match (test["result"].as_str().unwrap(), ok) {
                ("valid", true) => counts.valid += 1,
                ("invalid", false) => counts.invalid += 1,
                ("acceptable", true) => counts.acceptable_accepted += 1,
                ("acceptable", false) => counts.acceptable_rejected += 1,
                _ => counts.failures.push(id),
            }
        }
        assert_eq!(total, json["numberOfTests"].as_u64().unwrap() as usize);
        println!("{file}: {counts:?} of {total}");
        counts
    }

    #[test]
    fn wycheproof_rsa_signature_2048_sha256() {
        let counts = run_wycheproof(
            "wycheproof-rsa2048-pkcs1-sha256.json",
            SignAlg::RsaSha256,
            |k| PublicKeyComponents::Rsa {
                modulus: mpi::encode(&hex_field(k, "modulus")),
                exponent: mpi::encode(&hex_field(k, "publicExponent")),
            },
        );
        assert_eq!(counts.failures, Vec::<u64>::new());
        assert_eq!(counts.valid, 9);
        assert_eq!(counts.invalid, 249);
    }

    #[test]
    fn wycheproof_dsa_2048_256_sha256_p1363() {
        let counts = run_wycheproof(
            "wycheproof-dsa2048-256-sha256-p1363.json",
            SignAlg::DsaSha256,
            |k| PublicKeyComponents::Dsa {
                p: mpi::encode(&hex_field(k, "p")),
                q: mpi::encode(&hex_field(k, "q")),
                g: mpi::encode(&hex_field(k, "g")),
                y: mpi::encode(&hex_field(k, "y")),
            },
        );
        assert_eq!(counts.failures, Vec::<u64>::new());
        assert_eq!(counts.valid, 81);
        assert_eq!(counts.invalid, 58);
    }

    /// Beyond the three files of the brief: the N = 224 DSA size (r, s of 28 bytes each).
    #[test]
    fn wycheproof_dsa_2048_224_sha256_p1363() {
        let counts = run_wycheproof(
            "wycheproof-dsa2048-224-sha256-p1363.json",
            SignAlg::DsaSha256,
            |k| PublicKeyComponents::Dsa {
                p: mpi::encode(&hex_field(k, "p")),
                q: mpi::encode(&hex_field(k, "q")),
                g: mpi::encode(&hex_field(k, "g")),
                y: mpi::encode(&hex_field(k, "y")),
            },
        );
        assert_eq!(counts.failures, Vec::<u64>::new());
        assert_eq!(counts.valid, 79);
        assert_eq!(counts.invalid, 58);
    }

    /// Beyond the three files of the brief: a 3072-bit modulus (384-byte signatures).
    #[test]
    fn wycheproof_rsa_signature_3072_sha256() {
        let counts = run_wycheproof(
            "wycheproof-rsa3072-pkcs1-sha256.json",
            SignAlg::RsaSha256,
            |k| PublicKeyComponents::Rsa {
                modulus: mpi::encode(&hex_field(k, "modulus")),
                exponent: mpi::encode(&hex_field(k, "publicExponent")),
            },
        );
        assert_eq!(counts.failures, Vec::<u64>::new());
        assert_eq!(counts.valid, 8);
        assert_eq!(counts.invalid, 250);
    }

    #[test]
    fn wycheproof_ecdsa_secp256r1_sha256_p1363() {
        let counts = run_wycheproof(
            "wycheproof-ecdsa-p256-sha256-p1363.json",
            SignAlg::EcdsaSha256,
            |k| PublicKeyComponents::EcP256 {
                x: fixed(&hex_field(k, "wx"), 32),
                y: fixed(&hex_field(k, "wy"), 32),
            },
        );
        assert_eq!(counts.failures, Vec::<u64>::new());
        assert_eq!(counts.valid, 173);
        assert_eq!(counts.invalid, 89);
    }
}
