//! Bob's choices (DECISIONS D5, D21) and Alice's checks of them (D26).

use esession_crypto::cipher::CipherAlg;
use esession_crypto::dh::ModpGroup;
use esession_crypto::hash::HashAlg;
use esession_wire::{LoggingVar, Offer, Response};

use esession_crypto::sign::SignAlg;

use crate::Config;
use crate::pubkey::PubkeyMode;

/// The only protocol version (D25).
pub(crate) const VERSION: &str = "1.0";
/// The only SAS algorithm (XEP-0116 §9).
pub(crate) const SAS28X5: &str = "sas28x5";
/// What Bob accepts for disclosure.
pub(crate) const DISCLOSURE_NEVER: &str = "never";
/// What Bob accepts for security.
pub(crate) const SECURITY_E2E: &str = "e2e";

/// The options both sides agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Negotiated {
    /// The MODP group.
    pub modp: ModpGroup,
    /// The cipher.
    pub cipher: CipherAlg,
    /// The hash.
    pub hash: HashAlg,
    /// The logging value as sent (`may`/`mustnot`, or `false`/`true` under `otr`).
    pub logging: String,
    /// The stanza kinds that are encrypted.
    pub stanzas: Vec<String>,
    /// rekey_freq (D42).
    pub rekey_freq: u32,
    /// The compression of stanza content (XEP-0200 §6).
    pub compress: crate::Compression,
    /// How Alice identifies herself (D27).
    pub init_pubkey: PubkeyMode,
    /// How Bob identifies himself (D27).
    pub resp_pubkey: PubkeyMode,
    /// The signature algorithm, when a key mode is in use (D31).
    pub sign_alg: Option<SignAlg>,
}

/// Bob's full choice: what goes into msg2 besides his nonce, d and C_A.
#[derive(Debug, Clone)]
pub(crate) struct Choice {
    pub(crate) negotiated: Negotiated,
    /// Index of the chosen group in Alice's modp list (for its He).
    pub(crate) modp_index: usize,
    pub(crate) logging_var: LoggingVar,
    pub(crate) disclosure: String,
    pub(crate) security: String,
    pub(crate) has_init_pubkey: bool,
    pub(crate) has_resp_pubkey: bool,
}

/// `otr` is the older spelling: `false` means logging may happen (D20).
fn logging_policy_value(var: LoggingVar, v: &str) -> Option<&'static str> {
    match (var, v) {
        (LoggingVar::Logging, "may") | (LoggingVar::Otr, "false") => Some("may"),
        (LoggingVar::Logging, "mustnot") | (LoggingVar::Otr, "true") => Some("mustnot"),
        _ => None,
    }
}

/// Bob's choice rules (D5): for every list, Alice's first option he supports.
/// On failure, the fields that had no acceptable option (answered with
/// not-acceptable naming them, D44).
pub(crate) fn choose(config: &Config, offer: &Offer) -> Result<Choice, Vec<String>> {
    let three = matches!(offer.dh, esession_wire::DhValues::Keys(_));
    let mut bad: Vec<String> = Vec::new();
    let mut miss = |field: &str| bad.push(field.to_owned());

    let modp = offer.modp.iter().enumerate().find_map(|(i, n)| {
        let g = ModpGroup::from_number(*n).ok()?;
        config.modp.contains(&g).then_some((i, g))
    });
    if modp.is_none() {
        miss("modp");
    }
    let cipher = offer.crypt_algs.iter().find_map(|name| {
        let c = config.registry.cipher(name).ok()?;
        config.crypt_algs.contains(&c).then_some(c)
    });
    if cipher.is_none() {
        miss("crypt_algs");
    }
    let hash = offer.hash_algs.iter().find_map(|name| {
        let h = config.registry.hash(name).ok()?;
        config.hash_algs.contains(&h).then_some(h)
    });
    if hash.is_none() {
        miss("hash_algs");
    }
    let logging = offer.logging.iter().find(|v| {
        logging_policy_value(offer.logging_var, v)
            .is_some_and(|p| config.logging.iter().any(|l| l == p))
    });
    if logging.is_none() {
        miss(offer.logging_var.var());
    }
    let stanzas: Vec<String> = offer
        .stanzas
        .iter()
        .filter(|s| config.stanzas.contains(s))
        .cloned()
        .collect();
    if stanzas.is_empty() {
        miss("stanzas");
    }
    // XEP-0200 §6: Alice's first compression Bob supports.
    let compress = offer
        .compress
        .iter()
        .find_map(|n| crate::Compression::from_name(n).filter(|c| config.compress.contains(c)));
    if compress.is_none() {
        miss("compress");
    }
    if !config.security.iter().any(|v| v == SECURITY_E2E) {
        miss("security");
    }
    for (field, list, want) in [
        ("disclosure", &offer.disclosure, DISCLOSURE_NEVER),
        ("security", &offer.security, SECURITY_E2E),
        ("ver", &offer.ver, VERSION),
        ("sas_algs", &offer.sas_algs, SAS28X5),
    ] {
        // D46: a 3-message request carries no sas_algs.
        if field == "sas_algs" && three {
            continue;
        }
        if !list.iter().any(|v| v == want) {
            miss(field);
        }
    }
    // D31: the signature algorithms both support, in Alice's order.
    let sign_algs: Vec<SignAlg> = offer
        .sign_algs
        .iter()
        .filter_map(|u| SignAlg::from_uri(u).ok())
        .filter(|a| config.sign_algs.contains(a))
        .collect();
    let own_alg = config.identity_key.as_ref().map(|k| k.alg());
    // Absent means no public keys (mode none).
    let modes = |list: &[String]| -> Vec<PubkeyMode> {
        let all = if list.is_empty() {
            vec![PubkeyMode::None]
        } else {
            list.iter()
                .filter_map(|v| PubkeyMode::from_name(v))
                .collect()
        };
        // D46: pubkey mode none is forbidden in the 3-message exchange.
        all.into_iter()
            .filter(|m| !three || *m != PubkeyMode::None)
            .collect::<Vec<_>>()
    };
    // Bob's own identity: a key mode only with a key of an agreed algorithm.
    let resp_pubkey = modes(&offer.resp_pubkey).into_iter().find(|m| {
        config.resp_pubkey.contains(m)
            && (*m == PubkeyMode::None || own_alg.is_some_and(|a| sign_algs.contains(&a)))
    });
    if resp_pubkey.is_none() {
        miss("resp_pubkey");
    }
    let sign_alg = match resp_pubkey {
        Some(PubkeyMode::None) | None => sign_algs.first().copied(),
        Some(_) => own_alg,
    };
    let init_pubkey = modes(&offer.init_pubkey)
        .into_iter()
        .find(|m| config.init_pubkey.contains(m) && (*m == PubkeyMode::None || sign_alg.is_some()));
    if init_pubkey.is_none() {
        miss("init_pubkey");
    }
    match (modp, cipher, hash, logging, init_pubkey, resp_pubkey) {
        (
            Some((modp_index, modp)),
            Some(cipher),
            Some(hash),
            Some(logging),
            Some(init_pubkey),
            Some(resp_pubkey),
        ) if bad.is_empty() => {
            let keys_used = init_pubkey != PubkeyMode::None || resp_pubkey != PubkeyMode::None;
            Ok(Choice {
                negotiated: Negotiated {
                    modp,
                    cipher,
                    hash,
                    logging: logging.clone(),
                    stanzas,
                    rekey_freq: offer.rekey_freq.max(config.rekey_freq),
                    compress: compress.unwrap_or_default(),
                    init_pubkey,
                    resp_pubkey,
                    sign_alg: sign_alg.filter(|_| keys_used),
                },
                modp_index,
                logging_var: offer.logging_var,
                disclosure: DISCLOSURE_NEVER.to_owned(),
                security: SECURITY_E2E.to_owned(),
                has_init_pubkey: !offer.init_pubkey.is_empty(),
                has_resp_pubkey: !offer.resp_pubkey.is_empty(),
            })
        }
        _ => Err(bad),
    }
}

/// A plain stanza session Bob can offer instead of an ESession (XEP-0116
/// §4.4 "Bob Accepts Stanza Session"; XEP-0155): Alice offered security
/// `c2s` or `none` and Bob's configuration allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlainChoice {
    pub(crate) logging_var: LoggingVar,
    pub(crate) logging: String,
    pub(crate) security: String,
}

/// Bob's choice of a plain stanza session, if Alice allows one.
pub(crate) fn choose_plain(config: &Config, offer: &Offer) -> Option<PlainChoice> {
    let security = offer
        .security
        .iter()
        .find(|v| matches!(v.as_str(), "c2s" | "none") && config.security.contains(v))?;
    let logging = offer.logging.iter().find(|v| {
        logging_policy_value(offer.logging_var, v)
            .is_some_and(|p| config.logging.iter().any(|l| l == p))
    })?;
    offer
        .disclosure
        .iter()
        .any(|v| v == DISCLOSURE_NEVER)
        .then(|| PlainChoice {
            logging_var: offer.logging_var,
            logging: logging.clone(),
            security: security.clone(),
        })
}

/// Alice's checks of msg2 (XEP-0116 §4.6.1; D26): every choice was offered,
/// and rekey_freq is at least hers. Returns the agreed options, or the first
/// offending field.
pub(crate) fn check_response(
    config: &Config,
    offer: &Offer,
    r: &Response,
) -> Result<Negotiated, String> {
    fn offered(list: &[String], v: Option<&String>) -> bool {
        v.is_some_and(|v| list.contains(v))
    }
    let bad = |f: &str| Err(f.to_owned());
    if r.accept != Some(true) {
        return bad("accept");
    }
    let logging_var = offer.logging_var;
    if r.logging_var != logging_var || !offered(&offer.logging, r.logging.as_ref()) {
        return bad(logging_var.var());
    }
    if !offered(&offer.disclosure, r.disclosure.as_ref()) {
        return bad("disclosure");
    }
    if !offered(&offer.security, r.security.as_ref()) {
        return bad("security");
    }
    if !offer.modp.contains(&r.modp) {
        return bad("modp");
    }
    let Ok(modp) = ModpGroup::from_number(r.modp) else {
        return bad("modp");
    };
    if !offer.crypt_algs.contains(&r.crypt_alg) {
        return bad("crypt_algs");
    }
    let Ok(cipher) = config.registry.cipher(&r.crypt_alg) else {
        return bad("crypt_algs");
    };
    if !offer.hash_algs.contains(&r.hash_alg) {
        return bad("hash_algs");
    }
    let Ok(hash) = config.registry.hash(&r.hash_alg) else {
        return bad("hash_algs");
    };
    let sign_alg = match &r.sign_alg {
        None => None,
        Some(u) if offer.sign_algs.contains(u) => match SignAlg::from_uri(u) {
            Ok(a) if config.sign_algs.contains(&a) => Some(a),
            _ => return bad("sign_algs"),
        },
        Some(_) => return bad("sign_algs"),
    };
    let compress = match r
        .compress
        .as_ref()
        .filter(|c| offer.compress.contains(c))
        .and_then(|c| crate::Compression::from_name(c))
    {
        Some(c) if config.compress.contains(&c) => c,
        _ => return bad("compress"),
    };
    if r.stanzas.is_empty() || r.stanzas.iter().any(|s| !offer.stanzas.contains(s)) {
        return bad("stanzas");
    }
    let mode = |v: Option<&String>, offered: &[String]| {
        v.filter(|v| offered.contains(v))
            .and_then(|v| PubkeyMode::from_name(v))
    };
    let Some(init_pubkey) = mode(r.init_pubkey.as_ref(), &offer.init_pubkey) else {
        return bad("init_pubkey");
    };
    let Some(resp_pubkey) = mode(r.resp_pubkey.as_ref(), &offer.resp_pubkey) else {
        return bad("resp_pubkey");
    };
    // D27/D31: a key mode needs the agreed algorithm, and ours must sign with it.
    if init_pubkey != PubkeyMode::None
        && (sign_alg.is_none() || config.identity_key.as_ref().map(|k| k.alg()) != sign_alg)
    {
        return bad("sign_algs");
    }
    if resp_pubkey != PubkeyMode::None && sign_alg.is_none() {
        return bad("sign_algs");
    }
    if r.ver.as_deref() != Some(VERSION) {
        return bad("ver");
    }
    // D46: no SAS in the 3-message exchange.
    let sas_ok = if offer.sas_algs.is_empty() {
        r.sas_alg.is_none()
    } else {
        offered(&offer.sas_algs, r.sas_alg.as_ref())
    };
    if !sas_ok {
        return bad("sas_algs");
    }
    // D26: hers <= rekey_freq < 2^32 (the u32 bounds the upper side).
    let rekey_freq = match r.rekey_freq {
        Some(f) if f >= offer.rekey_freq => f,
        _ => return bad("rekey_freq"),
    };
    Ok(Negotiated {
        modp,
        cipher,
        hash,
        logging: r.logging.clone().unwrap_or_default(),
        stanzas: r.stanzas.clone(),
        rekey_freq,
        compress,
        init_pubkey,
        resp_pubkey,
        sign_alg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer() -> Offer {
        Offer {
            logging: vec!["mustnot".into(), "may".into()],
            disclosure: vec!["never".into()],
            security: vec!["e2e".into()],
            modp: vec![3, 18, 5, 14],
            crypt_algs: vec!["aes256-ctr".into(), "aes128-ctr".into()],
            hash_algs: vec!["sha1".into(), "sha256".into()],
            compress: vec!["none".into()],
            stanzas: vec!["iq".into(), "message".into()],
            init_pubkey: vec!["none".into()],
            resp_pubkey: vec!["none".into()],
            ver: vec!["1.0".into()],
            rekey_freq: 100,
            my_nonce: vec![1; 16],
            sas_algs: vec!["sas28x5".into()],
            ..Offer::default()
        }
    }

    #[test]
    fn bob_takes_alices_first_supported_option() {
        let c = choose(&Config::default(), &offer()).unwrap();
        // Group 3 is skipped (D5), 18 is not in Bob's list, 5 is.
        assert_eq!(c.negotiated.modp, ModpGroup::Group5);
        assert_eq!(c.modp_index, 2);
        assert_eq!(c.negotiated.cipher, CipherAlg::Aes128Ctr);
        // sha1 is refused by the strict registry.
        assert_eq!(c.negotiated.hash, HashAlg::Sha256);
        assert_eq!(c.negotiated.logging, "mustnot");
        assert_eq!(c.negotiated.stanzas, vec!["message".to_owned()]);
        assert_eq!(c.negotiated.rekey_freq, u32::MAX);
    }

    #[test]
    fn bob_names_every_field_without_an_acceptable_option() {
        let mut o = offer();
        o.modp = vec![3, 4, 17];
        o.ver = vec!["1.3".into()];
        o.resp_pubkey = vec!["key".into()];
        assert_eq!(
            choose(&Config::default(), &o).unwrap_err(),
            vec!["modp", "ver", "resp_pubkey"]
        );
    }
}
