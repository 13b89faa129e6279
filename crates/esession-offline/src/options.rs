//! The options form: what Alice offers (XEP-0187 §3.1, DECISIONS D47) and
//! how Bob chooses from it (DECISIONS D5) and Alice checks his choice (D26).

use esession_crypto::cipher::CipherAlg;
use esession_crypto::dh::ModpGroup;
use esession_crypto::hash::HashAlg;
use esession_crypto::sign::SignAlg;
use esession_online::Config;
use esession_wire::{DhValues, LoggingVar, Offer, OfflineOptions, Response};

use crate::Error;

/// The only protocol version offered and accepted (DECISIONS D25).
pub const VER: &str = "1.0";

/// The signature algorithms Alice offers for Bob's identity (D31: RSA first).
pub const SIGN_ALGS: [SignAlg; 2] = [SignAlg::RsaSha256, SignAlg::DsaSha256];

/// Alice's offer from `config` (D20 lists minus accept, pubkeys, sas_algs;
/// D47: sign_algs and dhkeys). `stanzas` never holds `iq` (XEP-0187 §3.1),
/// and only `message` with match_resource.
pub(crate) fn offer(
    config: &Config,
    match_resource: bool,
    my_nonce: Vec<u8>,
    dhkeys: Vec<Vec<u8>>,
) -> Result<Offer, Error> {
    let stanzas: Vec<String> = if match_resource {
        vec!["message".to_owned()]
    } else {
        config
            .stanzas
            .iter()
            .filter(|s| s.as_str() != "iq")
            .cloned()
            .collect()
    };
    if stanzas.is_empty() {
        return Err(Error::Config("no stanza kind other than iq to offer"));
    }
    Ok(Offer {
        logging_var: LoggingVar::Logging,
        logging: config.logging.clone(),
        disclosure: vec!["never".to_owned()],
        security: vec!["e2e".to_owned()],
        modp: config.modp.iter().map(|g| g.number()).collect(),
        crypt_algs: config
            .crypt_algs
            .iter()
            .map(|c| c.name().to_owned())
            .collect(),
        hash_algs: config
            .hash_algs
            .iter()
            .map(|h| h.name().to_owned())
            .collect(),
        sign_algs: SIGN_ALGS.iter().map(|a| a.uri().to_owned()).collect(),
        compress: vec!["none".to_owned()],
        stanzas,
        init_pubkey: Vec::new(),
        resp_pubkey: Vec::new(),
        ver: vec![VER.to_owned()],
        rekey_freq: config.rekey_freq,
        my_nonce,
        sas_algs: Vec::new(),
        dh: DhValues::Keys(dhkeys),
    })
}

/// Bob's choices from Alice's options (D5: for every list, Alice's first
/// option he supports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    /// logging (or otr) value.
    pub logging: String,
    /// The MODP group and the index of its e in dhkeys.
    pub group: ModpGroup,
    /// Index of the group in Alice's modp list (and of e in dhkeys).
    pub group_index: usize,
    /// crypt_algs.
    pub cipher: CipherAlg,
    /// hash_algs.
    pub hash: HashAlg,
    /// sign_algs: the algorithm of Bob's key.
    pub sign_alg: SignAlg,
    /// stanzas: every kind both offered and configured.
    pub stanzas: Vec<String>,
    /// rekey_freq = max(Alice's, Bob's minimum) (D21).
    pub rekey_freq: u32,
}

fn first<T>(
    missing: &mut Vec<String>,
    var: &str,
    offered: &[String],
    pick: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    let found = offered.iter().find_map(|o| pick(o));
    if found.is_none() {
        missing.push(var.to_owned());
    }
    found
}

/// Checks Alice's options against XEP-0187 §3.1 and chooses (D5). Every field
/// with no acceptable option is named in [`Error::NoAcceptableOption`].
pub(crate) fn choose(
    config: &Config,
    options: &OfflineOptions,
    my_sign_alg: SignAlg,
) -> Result<Chosen, Error> {
    let o = &options.offer;
    if o.stanzas.iter().any(|s| s == "iq") {
        return Err(Error::InvalidOptions("stanzas includes iq"));
    }
    if options.match_resource.is_some() && o.stanzas.iter().any(|s| s != "message") {
        return Err(Error::InvalidOptions(
            "match_resource with a stanza kind other than message",
        ));
    }
    let mut missing = Vec::new();
    let logging = first(&mut missing, o.logging_var.var(), &o.logging, |v| {
        config.logging.iter().any(|c| c == v).then(|| v.to_owned())
    });
    let group = o.modp.iter().enumerate().find_map(|(i, n)| {
        ModpGroup::from_number(*n)
            .ok()
            .filter(|g| config.modp.contains(g))
            .map(|g| (g, i))
    });
    if group.is_none() {
        missing.push("modp".to_owned());
    }
    let cipher = first(&mut missing, "crypt_algs", &o.crypt_algs, |v| {
        config
            .registry
            .cipher(v)
            .ok()
            .filter(|c| config.crypt_algs.contains(c))
    });
    let hash = first(&mut missing, "hash_algs", &o.hash_algs, |v| {
        config
            .registry
            .hash(v)
            .ok()
            .filter(|h| config.hash_algs.contains(h))
    });
    let sign_alg = first(&mut missing, "sign_algs", &o.sign_algs, |v| {
        SignAlg::from_uri(v).ok().filter(|a| *a == my_sign_alg)
    });
    let fixed = |missing: &mut Vec<String>, var: &str, offered: &[String], want: &str| {
        if !offered.iter().any(|v| v == want) {
            missing.push(var.to_owned());
        }
    };
    fixed(&mut missing, "disclosure", &o.disclosure, "never");
    fixed(&mut missing, "security", &o.security, "e2e");
    fixed(&mut missing, "compress", &o.compress, "none");
    fixed(&mut missing, "ver", &o.ver, VER);
    let stanzas: Vec<String> = o
        .stanzas
        .iter()
        .filter(|s| config.stanzas.contains(s))
        .cloned()
        .collect();
    if stanzas.is_empty() {
        missing.push("stanzas".to_owned());
    }
    match (logging, group, cipher, hash, sign_alg) {
        (Some(logging), Some((group, group_index)), Some(cipher), Some(hash), Some(sign_alg))
            if missing.is_empty() =>
        {
            Ok(Chosen {
                logging,
                group,
                group_index,
                cipher,
                hash,
                sign_alg,
                stanzas,
                rekey_freq: o.rekey_freq.max(config.rekey_freq),
            })
        }
        _ => Err(Error::NoAcceptableOption(missing)),
    }
}

/// Alice's check that each of Bob's choices was offered (DECISIONS D26).
pub(crate) fn check_response(offer: &Offer, r: &Response) -> Result<(), Error> {
    let mut bad = Vec::new();
    let within = |bad: &mut Vec<String>, var: &str, v: Option<&String>, offered: &[String]| {
        if let Some(v) = v
            && !offered.contains(v)
        {
            bad.push(var.to_owned());
        }
    };
    within(
        &mut bad,
        offer.logging_var.var(),
        r.logging.as_ref(),
        &offer.logging,
    );
    within(
        &mut bad,
        "disclosure",
        r.disclosure.as_ref(),
        &offer.disclosure,
    );
    within(&mut bad, "security", r.security.as_ref(), &offer.security);
    within(&mut bad, "compress", r.compress.as_ref(), &offer.compress);
    within(&mut bad, "ver", r.ver.as_ref(), &offer.ver);
    within(
        &mut bad,
        "crypt_algs",
        Some(&r.crypt_alg),
        &offer.crypt_algs,
    );
    within(&mut bad, "hash_algs", Some(&r.hash_alg), &offer.hash_algs);
    match &r.sign_alg {
        Some(s) => within(&mut bad, "sign_algs", Some(s), &offer.sign_algs),
        None => bad.push("sign_algs".to_owned()),
    }
    if !offer.modp.contains(&r.modp) {
        bad.push("modp".to_owned());
    }
    if r.stanzas.is_empty() || r.stanzas.iter().any(|s| !offer.stanzas.contains(s)) {
        bad.push("stanzas".to_owned());
    }
    if r.rekey_freq.is_some_and(|f| f < offer.rekey_freq) {
        bad.push("rekey_freq".to_owned());
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(Error::NoAcceptableOption(bad))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered() -> Offer {
        offer(
            &Config::default(),
            false,
            vec![7; 16],
            vec![vec![5], vec![6]],
        )
        .unwrap()
    }

    fn response() -> Response {
        Response {
            accept: None,
            logging_var: LoggingVar::Logging,
            logging: Some("may".into()),
            disclosure: Some("never".into()),
            security: Some("e2e".into()),
            modp: 14,
            crypt_alg: "aes128-ctr".into(),
            hash_alg: "sha256".into(),
            sign_alg: Some(SignAlg::RsaSha256.uri().into()),
            compress: Some("none".into()),
            stanzas: vec!["message".into()],
            init_pubkey: None,
            resp_pubkey: None,
            ver: Some(VER.into()),
            rekey_freq: Some(u32::MAX),
            sas_alg: None,
            my_nonce: vec![1; 16],
            dhkey: vec![2],
            nonce: vec![7; 16],
            counter: 1,
            identity: None,
            mac: None,
            order: Vec::new(),
        }
    }

    #[test]
    fn alice_refuses_choices_she_did_not_offer() {
        let o = offered();
        assert_eq!(check_response(&o, &response()), Ok(()));
        let mut r = response();
        r.crypt_alg = "aes256-ctr".into();
        r.modp = 2;
        r.stanzas = vec!["iq".into()];
        assert_eq!(
            check_response(&o, &r),
            Err(Error::NoAcceptableOption(vec![
                "crypt_algs".into(),
                "modp".into(),
                "stanzas".into()
            ]))
        );
        let mut r = response();
        r.sign_alg = None;
        assert_eq!(
            check_response(&o, &r),
            Err(Error::NoAcceptableOption(vec!["sign_algs".into()]))
        );
    }

    #[test]
    fn offer_never_holds_iq_and_has_sign_algs() {
        let mut c = Config::default();
        c.stanzas = vec!["iq".into()];
        assert!(offer(&c, false, vec![7; 16], vec![]).is_err());
        let o = offered();
        assert!(o.init_pubkey.is_empty() && o.resp_pubkey.is_empty() && o.sas_algs.is_empty());
        assert_eq!(o.sign_algs.len(), 2);
        assert_eq!(o.ver, vec!["1.0".to_owned()]);
    }
}
