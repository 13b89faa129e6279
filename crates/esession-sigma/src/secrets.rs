//! Retained secrets (SRS), the other shared secret (OSS) and K_final.
//!
//! ```text
//! Alice: rshashes = shuffle({HMAC(N_A, RS_i)} ∪ 1-3 random values)   rshashes        (D33)
//! Bob:   SRS = first s with HMAC(N_A, s) ∈ rshashes                  find_srs_bob    (D34)
//!        srshash = HMAC(SRS, "Shared Retained Secret") or random     srshash_or_random (D35)
//! Alice: SRS = the s of hers with HMAC(s, "Shared …") == srshash     find_srs_alice  (D34)
//! both:  K_final = HASH(K ‖ SRS ‖ OSS), absent parts empty           k_final         (D35, D36)
//!        new RS  = HMAC(K_final, "New Retained Secret")              new_retained_secret (D37)
//! ```
//!
//! Every comparison against a received hash is constant time.

use esession_crypto::SecretBytes;
use esession_crypto::hash::HashAlg;
use esession_crypto::rand_core::CryptoRng;
use esession_crypto::secret::ct_eq;
use rand::RngExt as _;
use rand::seq::SliceRandom as _;

/// `"Shared Retained Secret"` (XEP-0116 §4.7.3).
pub const SHARED_RETAINED_SECRET: &[u8] = b"Shared Retained Secret";
/// `"New Retained Secret"` (XEP-0116 §4.7.3, §4.8.1).
pub const NEW_RETAINED_SECRET: &[u8] = b"New Retained Secret";

/// One rshash: HMAC(N_A, RS) (XEP-0116 §4.6.4; DECISIONS D9, D33). N_A is used as
/// received (D2), never MPI-normalized.
pub fn rshash(hash: HashAlg, n_a: &[u8], rs: &[u8]) -> SecretBytes {
    hash.hmac(n_a, rs)
}

/// The `rshashes` Alice sends (XEP-0116 §4.6.4; DECISIONS D33): HMAC(N_A, RS) for each
/// retained secret she holds for Bob, plus 1-3 (uniformly chosen) random values of the
/// hash's output length, the whole list randomly permuted.
///
/// Returns the list as it goes on the wire. The random values are indistinguishable
/// from real hashes, so Bob learns nothing about how many secrets Alice holds.
pub fn rshashes<R: CryptoRng + ?Sized>(
    hash: HashAlg,
    n_a: &[u8],
    retained: &[&[u8]],
    rng: &mut R,
) -> Vec<Vec<u8>> {
    let extra: usize = rng.random_range(1..=3);
    let mut out: Vec<Vec<u8>> = retained
        .iter()
        .map(|rs| rshash(hash, n_a, rs).as_bytes().to_vec())
        .collect();
    for _ in 0..extra {
        let mut r = vec![0u8; hash.output_len()];
        rng.fill_bytes(&mut r);
        out.push(r);
    }
    out.shuffle(rng);
    out
}

/// Bob's choice of SRS (XEP-0116 §4.7.3; DECISIONS D34): the index of the first
/// `candidates` entry `s` with HMAC(N_A, s) equal (constant time) to one of
/// `rshashes`, or `None`.
///
/// The caller orders `candidates`: his non-expired secrets for Alice's bare JID first,
/// then those of all other JIDs (the extended search). Every rshash is compared with
/// every candidate up to the first match.
pub fn find_srs_bob(
    hash: HashAlg,
    n_a: &[u8],
    rshashes: &[&[u8]],
    candidates: &[&[u8]],
) -> Option<usize> {
    first_match(candidates.iter().map(|s| {
        let h = rshash(hash, n_a, s);
        // Fold without short-circuit so the time does not reveal which rshash matched.
        rshashes
            .iter()
            .fold(false, |found, r| found | ct_eq(h.as_bytes(), r))
    }))
}

/// The index of the first `true`, visiting every item and selecting without a
/// data-dependent branch, so the time does not reveal which retained secret
/// matched (only how many candidates there were).
fn first_match(matches: impl Iterator<Item = bool>) -> Option<usize> {
    use subtle::{Choice, ConditionallySelectable as _};
    let mut found = Choice::from(0);
    let mut index = 0u64;
    for (i, m) in matches.enumerate() {
        let take = Choice::from(u8::from(m)) & !found;
        index = u64::conditional_select(&index, &(i as u64), take);
        found |= take;
    }
    // Only the public outcome (found or not, and where) leaves this function.
    bool::from(found).then_some(index as usize)
}

/// srshash = HMAC(SRS, "Shared Retained Secret") (XEP-0116 §4.7.3; DECISIONS D9, D35).
pub fn srshash(hash: HashAlg, srs: &[u8]) -> SecretBytes {
    hash.hmac(srs, SHARED_RETAINED_SECRET)
}

/// The srshash Bob sends (XEP-0116 §4.7.4; DECISIONS D35): [`srshash`] of the SRS, or,
/// if none was found, a random value of the hash's output length.
pub fn srshash_or_random<R: CryptoRng + ?Sized>(
    hash: HashAlg,
    srs: Option<&[u8]>,
    rng: &mut R,
) -> Vec<u8> {
    match srs {
        Some(s) => srshash(hash, s).as_bytes().to_vec(),
        None => {
            let mut r = vec![0u8; hash.output_len()];
            rng.fill_bytes(&mut r);
            r
        }
    }
}

/// Alice's choice of SRS (XEP-0116 §4.8.1; DECISIONS D34): the index of the retained
/// secret `s` (among those she hashed into rshashes) with
/// HMAC(s, "Shared Retained Secret") == `srshash` (constant time), or `None`.
pub fn find_srs_alice(
    hash: HashAlg,
    srshash_received: &[u8],
    candidates: &[&[u8]],
) -> Option<usize> {
    first_match(
        candidates
            .iter()
            .map(|s| ct_eq(srshash(hash, s).as_bytes(), srshash_received)),
    )
}

/// K_final = HASH(K ‖ SRS ‖ OSS) (XEP-0116 §4.7.3, §4.8.1; DECISIONS D35, D36).
///
/// An absent SRS or OSS contributes nothing (an empty OSS is no OSS, D36); with
/// neither, K_final = HASH(K): the hash is still applied.
pub fn k_final(hash: HashAlg, k: &[u8], srs: Option<&[u8]>, oss: Option<&[u8]>) -> SecretBytes {
    hash.digest_parts(&[k, srs.unwrap_or_default(), oss.unwrap_or_default()])
}

/// The new retained secret HMAC(K_final, "New Retained Secret") (XEP-0116 §4.7.3,
/// §4.8.1; DECISIONS D37). Bob stores it after sending msg4; Alice once Bob's
/// identity has verified.
pub fn new_retained_secret(hash: HashAlg, k_final: &[u8]) -> SecretBytes {
    hash.hmac(k_final, NEW_RETAINED_SECRET)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn first_match_finds_the_first_true_after_visiting_all() {
        assert_eq!(first_match([].into_iter()), None);
        assert_eq!(first_match([false, false].into_iter()), None);
        assert_eq!(first_match([false, true, true].into_iter()), Some(1));
        assert_eq!(first_match([true, false, true].into_iter()), Some(0));
        let mut visited = 0;
        let m = first_match(
            [true, false, false, false]
                .into_iter()
                .inspect(|_| visited += 1),
        );
        assert_eq!((m, visited), (Some(0), 4));
    }

    #[test]
    fn rshashes_hold_every_retained_hash_and_one_to_three_randoms() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let rs: [&[u8]; 2] = [b"one secret", b"another secret"];
        let mut sizes = std::collections::BTreeSet::new();
        for _ in 0..64 {
            let list = rshashes(HashAlg::Sha256, b"nonce-a!", &rs, &mut rng);
            assert!((3..=5).contains(&list.len()));
            sizes.insert(list.len());
            for s in rs {
                let h = rshash(HashAlg::Sha256, b"nonce-a!", s);
                assert!(list.iter().any(|x| x == h.as_bytes()));
            }
            let refs: Vec<&[u8]> = list.iter().map(Vec::as_slice).collect();
            assert_eq!(
                find_srs_bob(HashAlg::Sha256, b"nonce-a!", &refs, &[b"x", rs[1]]),
                Some(1)
            );
            assert_eq!(find_srs_bob(HashAlg::Sha256, b"nonce-b!", &refs, &rs), None);
        }
        assert_eq!(sizes.len(), 3, "1, 2 and 3 random values all occur");
    }

    #[test]
    fn srshash_round_trip_and_k_final_parts() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let srs = [5u8; 32];
        let sh = srshash_or_random(HashAlg::Sha256, Some(&srs), &mut rng);
        assert_eq!(
            find_srs_alice(HashAlg::Sha256, &sh, &[&[1u8; 32], &srs]),
            Some(1)
        );
        let random = srshash_or_random(HashAlg::Sha256, None, &mut rng);
        assert_eq!(random.len(), 32);
        assert_eq!(find_srs_alice(HashAlg::Sha256, &random, &[&srs]), None);
        let k = [9u8; 32];
        assert_eq!(
            k_final(HashAlg::Sha256, &k, None, None),
            HashAlg::Sha256.digest(&k)
        );
        assert_eq!(
            k_final(HashAlg::Sha256, &k, Some(&srs), Some(b"pw")),
            HashAlg::Sha256.digest_parts(&[&k, &srs, b"pw"])
        );
        assert_eq!(
            k_final(HashAlg::Sha256, &k, None, Some(b"")),
            k_final(HashAlg::Sha256, &k, None, None)
        );
    }
}
