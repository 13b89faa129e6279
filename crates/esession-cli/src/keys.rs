//! `esession keygen` and `esession fingerprint`: signing keys in files.
//!
//! ```text
//! keygen:      SigningKey::generate (esession-crypto, RustCrypto rsa/dsa/p256)
//!                → PKCS#8 DER → PEM "PRIVATE KEY" (RFC 7468) → FILE (mode 0600)
//! fingerprint: FILE → PEM → PKCS#8 DER → SigningKey (or a "PUBLIC KEY"
//!                SubjectPublicKeyInfo → VerifyingKey)
//!                → D28 <KeyValue/> bytes (esession-online `key_value_of`)
//!                → SHA-256, lower-case hex
//! ```
//!
//! The file format is the standard one: a PKCS#8 `PrivateKeyInfo` (RFC 5208)
//! in PEM armour (RFC 7468 §10), as `openssl genpkey` writes it; RSA keys are
//! `rsaEncryption`, DSA keys `id-dsa`, ECDSA keys `id-ecPublicKey` on P-256.
//! `fingerprint` also reads a `PUBLIC KEY` (SubjectPublicKeyInfo) file, so a
//! contact's public key can be checked the same way.
//!
//! The fingerprint is what the library reports for a peer's key
//! ([`esession_online::PeerKey::fingerprint`], the `peer_fingerprint` of the
//! peer protocol): SHA-256 over pubKey, the D28 `<KeyValue/>` bytes the trust
//! store holds, printed as lower-case hex. It comes from the library's own
//! [`esession_online::fingerprint_of_key`], the function the endpoint uses,
//! and the demo tests check it against the fingerprint an endpoint reports in
//! a real negotiation.
//!
//! Exit codes: 0 success; 1 the key could not be made, read or written (one
//! line on stderr); 2 bad usage (also: `--bits` the algorithm does not allow).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use esession_crypto::sign::{SignAlg, SigningKey, VerifyingKey};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use zeroize::Zeroizing;

/// Longest key file read (an 8192-bit RSA key in PEM is about 6.5 KiB).
pub const MAX_KEY_FILE_LEN: u64 = 64 * 1024;

/// The PEM label of a PKCS#8 private key (RFC 7468 §10).
const PRIVATE_KEY_LABEL: &str = "PRIVATE KEY";
/// The PEM label of a SubjectPublicKeyInfo (RFC 7468 §13).
const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";

/// The key algorithms `keygen` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (rsa-sha256, the XEP-0116 MUST).
    Rsa,
    /// DSA (FIPS 186-3, L = 2048, N = 256) with SHA-256 (dsa-sha256).
    Dsa,
    /// ECDSA on P-256 with SHA-256 (not offered by default, D31).
    Ecdsa,
}

impl KeyAlg {
    /// The signature algorithm.
    pub fn sign_alg(self) -> SignAlg {
        match self {
            KeyAlg::Rsa => SignAlg::RsaSha256,
            KeyAlg::Dsa => SignAlg::DsaSha256,
            KeyAlg::Ecdsa => SignAlg::EcdsaSha256,
        }
    }
}

/// Command-line arguments of `esession keygen`.
#[derive(Debug, Clone, clap::Args)]
pub struct KeygenArgs {
    /// Key algorithm.
    #[arg(long, value_enum)]
    pub alg: KeyAlg,
    /// Key size in bits: RSA 2048 (default) to 8192; DSA only 2048; ECDSA only 256.
    #[arg(long)]
    pub bits: Option<usize>,
    /// Where to write the key (PKCS#8 PEM, mode 0600).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Command-line arguments of `esession fingerprint`.
#[derive(Debug, Clone, clap::Args)]
pub struct FingerprintArgs {
    /// A key file: PKCS#8 PEM ("PRIVATE KEY", as `keygen` writes it) or a
    /// SubjectPublicKeyInfo PEM ("PUBLIC KEY").
    pub file: PathBuf,
}

/// What can go wrong with a key file, each on one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The options do not fit the algorithm (a usage error, exit 2).
    #[error("{0}")]
    Usage(String),
    /// The output file exists and `--force` was not given.
    #[error("{0}: already exists (use --force to replace it)")]
    Exists(String),
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The file is larger than any key file.
    #[error("{0}: too large for a key file (more than {MAX_KEY_FILE_LEN} bytes)")]
    TooLarge(String),
    /// The file is not PEM, or not a label we read.
    #[error(
        "{path}: not a PEM key file (expected -----BEGIN PRIVATE KEY----- or PUBLIC KEY): {why}"
    )]
    NotPem {
        /// The file.
        path: String,
        /// What the PEM decoder said.
        why: String,
    },
    /// The PEM holds no key this program can use.
    #[error("{path}: not a usable rsa, dsa or P-256 key: {why}")]
    BadKey {
        /// The file.
        path: String,
        /// What the key decoder said.
        why: String,
    },
    /// Generating or encoding the key failed.
    #[error("cannot generate the key: {0}")]
    Generate(String),
}

impl KeyError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            KeyError::Usage(_) => 2,
            _ => 1,
        }
    }
}

/// A key read from a file: a private key, or only its public half.
#[derive(Debug)]
pub enum LoadedKey {
    /// A PKCS#8 private key.
    Private(SigningKey),
    /// A SubjectPublicKeyInfo public key.
    Public(VerifyingKey),
}

impl LoadedKey {
    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            LoadedKey::Private(k) => k.verifying_key(),
            LoadedKey::Public(k) => k.clone(),
        }
    }
}

/// `esession keygen`.
pub fn keygen_main(args: KeygenArgs) -> ExitCode {
    match keygen(&args) {
        Ok((alg, fingerprint)) => {
            println!(
                "{}: {} key written; fingerprint {fingerprint}",
                args.out.display(),
                alg_name(alg)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("esession keygen: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// `esession fingerprint`.
pub fn fingerprint_main(args: FingerprintArgs) -> ExitCode {
    match load_key(&args.file).and_then(|k| {
        fingerprint(&k.verifying_key()).map_err(|why| KeyError::BadKey {
            path: args.file.display().to_string(),
            why,
        })
    }) {
        Ok(fp) => {
            println!("{fp}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("esession fingerprint: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// The short name of an algorithm, as `--alg` spells it.
pub fn alg_name(alg: SignAlg) -> &'static str {
    match alg {
        SignAlg::RsaSha256 => "rsa",
        SignAlg::DsaSha256 => "dsa",
        _ => "ecdsa",
    }
}

/// Generates a key as `args` say and writes it; returns its algorithm and
/// fingerprint.
pub fn keygen(args: &KeygenArgs) -> Result<(SignAlg, String), KeyError> {
    let mut rng = ChaCha20Rng::from_seed(rand::random());
    let key = generate(args.alg, args.bits, &mut rng)?;
    write_key(&key, &args.out, args.force)?;
    let fp = fingerprint(&key.verifying_key()).map_err(KeyError::Generate)?;
    Ok((key.alg(), fp))
}

/// Generates a key of `alg` with `bits` (checked against what the algorithm allows).
pub fn generate(
    alg: KeyAlg,
    bits: Option<usize>,
    rng: &mut ChaCha20Rng,
) -> Result<SigningKey, KeyError> {
    let generated = match (alg, bits) {
        (KeyAlg::Rsa, bits) => {
            let bits = bits.unwrap_or(2048);
            if !(2048..=8192).contains(&bits) {
                return Err(KeyError::Usage(format!(
                    "--bits {bits}: RSA keys are 2048 to 8192 bits"
                )));
            }
            SigningKey::generate_rsa(bits, rng)
        }
        (KeyAlg::Dsa, None | Some(2048)) | (KeyAlg::Ecdsa, None | Some(256)) => {
            SigningKey::generate(alg.sign_alg(), rng)
        }
        (KeyAlg::Dsa, Some(b)) => {
            return Err(KeyError::Usage(format!(
                "--bits {b}: DSA keys are 2048 bits (L = 2048, N = 256)"
            )));
        }
        (KeyAlg::Ecdsa, Some(b)) => {
            return Err(KeyError::Usage(format!(
                "--bits {b}: ECDSA keys are P-256 (256 bits)"
            )));
        }
    };
    generated.map_err(|e| KeyError::Generate(e.to_string()))
}

/// The key as PKCS#8 PEM text (zeroized on drop).
pub fn to_pem(key: &SigningKey) -> Result<Zeroizing<String>, KeyError> {
    let der = key
        .to_pkcs8_der()
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    pem_rfc7468::encode_string(
        PRIVATE_KEY_LABEL,
        pem_rfc7468::LineEnding::LF,
        der.as_bytes(),
    )
    .map(Zeroizing::new)
    .map_err(|e| KeyError::Generate(e.to_string()))
}

/// Writes `key` to `path` as PKCS#8 PEM with mode 0600; an existing file is
/// replaced only with `force`.
pub fn write_key(key: &SigningKey, path: &Path, force: bool) -> Result<(), KeyError> {
    let pem = to_pem(key)?;
    let shown = path.display().to_string();
    let io = |source| KeyError::Io {
        path: shown.clone(),
        source,
    };
    let mut options = OpenOptions::new();
    options.write(true).mode(0o600);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists(shown.clone())
        } else {
            io(e)
        }
    })?;
    // `mode` applies only to a new file: a replaced one is narrowed too.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(io)?;
    file.write_all(pem.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Reads a key file: PKCS#8 "PRIVATE KEY" or SubjectPublicKeyInfo "PUBLIC KEY" PEM.
pub fn load_key(path: &Path) -> Result<LoadedKey, KeyError> {
    let shown = path.display().to_string();
    let io = |source| KeyError::Io {
        path: shown.clone(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_KEY_FILE_LEN {
        return Err(KeyError::TooLarge(shown));
    }
    let text = Zeroizing::new(std::fs::read(path).map_err(io)?);
    parse_key(&text).map_err(|e| match e {
        ParseError::Pem(why) => KeyError::NotPem { path: shown, why },
        ParseError::Key(why) => KeyError::BadKey { path: shown, why },
    })
}

/// Why [`parse_key`] failed.
#[derive(Debug)]
enum ParseError {
    Pem(String),
    Key(String),
}

/// Parses PEM key text (see [`load_key`]).
fn parse_key(text: &[u8]) -> Result<LoadedKey, ParseError> {
    let (label, der) = pem_rfc7468::decode_vec(text).map_err(|e| ParseError::Pem(e.to_string()))?;
    let der = Zeroizing::new(der);
    match label {
        PRIVATE_KEY_LABEL => SigningKey::from_pkcs8_der(&der)
            .map(LoadedKey::Private)
            .map_err(|e| ParseError::Key(e.to_string())),
        PUBLIC_KEY_LABEL => VerifyingKey::from_public_key_der(&der)
            .map(LoadedKey::Public)
            .map_err(|e| ParseError::Key(e.to_string())),
        other => Err(ParseError::Pem(format!("unexpected label {other:?}"))),
    }
}

/// Reads a private key file (for `demo --alice-key`).
pub fn load_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    match load_key(path)? {
        LoadedKey::Private(k) => Ok(k),
        LoadedKey::Public(_) => Err(KeyError::BadKey {
            path: path.display().to_string(),
            why: "a public key; signing needs the private key".to_owned(),
        }),
    }
}

/// The fingerprint of a key as the trust store and [`esession_online::PeerKey`]
/// show it: lower-case hex of SHA-256 over the D28 `<KeyValue/>` bytes.
pub fn fingerprint(key: &VerifyingKey) -> Result<String, String> {
    esession_online::fingerprint_of_key(key)
        .map(hex::encode)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rejects_other_labels_and_garbage() {
        let pem = pem_rfc7468::encode_string(
            "CERTIFICATE",
            pem_rfc7468::LineEnding::LF,
            b"not a certificate",
        )
        .unwrap();
        assert!(matches!(
            parse_key(pem.as_bytes()),
            Err(ParseError::Pem(why)) if why.contains("CERTIFICATE")
        ));
        assert!(matches!(parse_key(b"hello"), Err(ParseError::Pem(_))));
        let junk =
            pem_rfc7468::encode_string(PRIVATE_KEY_LABEL, pem_rfc7468::LineEnding::LF, b"junk")
                .unwrap();
        assert!(matches!(
            parse_key(junk.as_bytes()),
            Err(ParseError::Key(_))
        ));
    }

    #[test]
    fn bits_are_checked_per_algorithm() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for (alg, bits) in [
            (KeyAlg::Rsa, 1024),
            (KeyAlg::Rsa, 16384),
            (KeyAlg::Dsa, 3072),
            (KeyAlg::Ecdsa, 384),
        ] {
            let e = generate(alg, Some(bits), &mut rng).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{e}");
        }
    }
}
