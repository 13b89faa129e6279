//! The options of a negotiation, for every exchange (4-message, 3-message and
//! the XEP-0187 offline init): what Alice offers ([`offer`], DECISIONS D20,
//! D47), how Bob chooses ([`choose`], D5) and answers ([`response`], D21,
//! D49), and how Alice checks his answer ([`check_response`], D26).
//!
//! ```text
//! Config ──offer──▶ Offer (msg1 / options form) ──choose──▶ Choice ──response──▶ Response (msg2 / init)
//!                       └─────────────────────────── check_response(Offer, Response) ──▶ Negotiated
//! ```
//!
//! The same rules serve online and offline sessions: only what XEP-0187 §3
//! fixes differs ([`Exchange::Offline`]: no SAS, security `e2e`, compression
//! `none`, Bob identified by his key in mode `key`).

use esession_crypto::cipher::CipherAlg;
use esession_crypto::dh::ModpGroup;
use esession_crypto::hash::HashAlg;
use esession_crypto::sign::SignAlg;
use esession_wire::{DhValues, LoggingVar, Offer, Response};

use crate::pubkey::PubkeyMode;
use crate::{Compression, Config};

/// The only protocol version (D25).
pub const VERSION: &str = "1.0";
/// The only SAS algorithm (XEP-0116 §9).
pub const SAS28X5: &str = "sas28x5";
/// What Bob accepts for disclosure.
pub const DISCLOSURE_NEVER: &str = "never";
/// The security value of an ESession.
pub const SECURITY_E2E: &str = "e2e";

/// Which exchange the options belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exchange {
    /// XEP-0116 4-message SIGMA-R: dhhashes, SAS, retained secrets.
    FourMessage,
    /// XEP-0116 3-message SIGMA-I (D46): dhkeys, no SAS, no pubkey mode `none`.
    ThreeMessage,
    /// XEP-0187 offline init (D47, D49): dhkeys, no SAS, Bob identified in
    /// mode `key`, Alice's identity not sent.
    Offline,
}

impl Exchange {
    fn has_sas(self) -> bool {
        self == Exchange::FourMessage
    }
}

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
    pub compress: Compression,
    /// How Alice identifies herself (D27).
    pub init_pubkey: PubkeyMode,
    /// How Bob identifies himself (D27).
    pub resp_pubkey: PubkeyMode,
    /// The signature algorithm, when a key mode is in use (D31).
    pub sign_alg: Option<SignAlg>,
}

/// Bob's full choice: everything his answer carries besides his nonce, d,
/// C_A and identity.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Choice {
    /// The agreed options.
    pub negotiated: Negotiated,
    /// Index of the chosen group in Alice's modp list (for its He or e).
    pub modp_index: usize,
    /// The name of Alice's logging field (`logging` or `otr`).
    pub logging_var: LoggingVar,
    /// The exchange chosen for.
    pub exchange: Exchange,
    /// Alice sent init_pubkey / resp_pubkey fields (answered only if so).
    has_pubkey_fields: (bool, bool),
}

/// `otr` is the older spelling: `false` means logging may happen (D20).
fn logging_policy_value(var: LoggingVar, v: &str) -> Option<&'static str> {
    match (var, v) {
        (LoggingVar::Logging, "may") | (LoggingVar::Otr, "false") => Some("may"),
        (LoggingVar::Logging, "mustnot") | (LoggingVar::Otr, "true") => Some("mustnot"),
        _ => None,
    }
}

/// Alice's first logging option Bob's policy allows.
fn choose_logging<'o>(config: &Config, offer: &'o Offer) -> Option<&'o String> {
    offer.logging.iter().find(|v| {
        logging_policy_value(offer.logging_var, v)
            .is_some_and(|p| config.logging.iter().any(|l| l == p))
    })
}

/// The signature algorithms an offline init may use (D31: RSA and DSA).
pub fn offline_sign_alg(alg: SignAlg) -> bool {
    matches!(alg, SignAlg::RsaSha256 | SignAlg::DsaSha256)
}

/// Alice's offer from `config` (D20; D47 for the offline options form):
/// `my_nonce` and one DH value per configured group are hers. What a
/// profile writes differently is applied by the caller.
pub fn offer(config: &Config, exchange: Exchange, my_nonce: Vec<u8>, dh: DhValues) -> Offer {
    let names = |list: &[PubkeyMode]| -> Vec<String> {
        list.iter()
            // D46: no `none` mode in the 3-message exchange.
            .filter(|m| exchange != Exchange::ThreeMessage || **m != PubkeyMode::None)
            .map(|m| m.name().to_owned())
            .collect()
    };
    let own_alg = config.identity_key.as_ref().map(|k| k.alg());
    let keys_offered = config
        .init_pubkey
        .iter()
        .chain(&config.resp_pubkey)
        .any(|m| *m != PubkeyMode::None);
    // D31: sign_algs only when public keys are offered; our own key's first.
    let mut sign_algs = config.sign_algs.clone();
    if let Some(a) = own_alg
        && let Some(i) = sign_algs.iter().position(|x| *x == a)
    {
        let a = sign_algs.remove(i);
        sign_algs.insert(0, a);
    }
    let (sign_algs, init_pubkey, resp_pubkey) = match exchange {
        Exchange::Offline => (
            sign_algs
                .into_iter()
                .filter(|a| offline_sign_alg(*a))
                .collect(),
            Vec::new(),
            Vec::new(),
        ),
        _ if keys_offered => (
            sign_algs,
            names(&config.init_pubkey),
            names(&config.resp_pubkey),
        ),
        _ => (
            Vec::new(),
            names(&config.init_pubkey),
            names(&config.resp_pubkey),
        ),
    };
    let offline = exchange == Exchange::Offline;
    Offer {
        logging_var: LoggingVar::Logging,
        logging: config.logging.clone(),
        disclosure: vec![DISCLOSURE_NEVER.to_owned()],
        security: if offline {
            vec![SECURITY_E2E.to_owned()]
        } else {
            config.security.clone()
        },
        modp: config.modp.iter().map(|g| g.number()).collect(),
        crypt_algs: config
            .crypt_algs
            .iter()
            .map(|a| a.name().to_owned())
            .collect(),
        hash_algs: config
            .hash_algs
            .iter()
            .map(|a| a.name().to_owned())
            .collect(),
        sign_algs: sign_algs.iter().map(|a| a.uri().to_owned()).collect(),
        compress: if offline {
            vec![Compression::None.name().to_owned()]
        } else {
            config
                .compress
                .iter()
                .map(|z| z.name().to_owned())
                .collect()
        },
        stanzas: config.stanzas.clone(),
        init_pubkey,
        resp_pubkey,
        ver: vec![VERSION.to_owned()],
        rekey_freq: config.rekey_freq,
        my_nonce,
        sas_algs: if exchange.has_sas() {
            vec![SAS28X5.to_owned()]
        } else {
            Vec::new()
        },
        dh,
    }
}

/// Bob's choice rules (D5): for every list, Alice's first option he supports.
/// `signer` is the algorithm of Bob's signing key, if he has one (online:
/// `Config::identity_key`; offline: the key he signs his init with). On
/// failure, the fields that had no acceptable option (answered with
/// not-acceptable naming them, D44; an offline Bob sends nothing).
pub fn choose(
    config: &Config,
    offer: &Offer,
    exchange: Exchange,
    signer: Option<SignAlg>,
) -> Result<Choice, Vec<String>> {
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
    let logging = choose_logging(config, offer);
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
    // XEP-0200 §6: Alice's first compression Bob supports (offline: none, D38).
    let compress = offer.compress.iter().find_map(|n| {
        Compression::from_name(n).filter(|c| {
            config.compress.contains(c)
                && (*c == Compression::None || exchange != Exchange::Offline)
        })
    });
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
        // D46, D47: only the 4-message exchange has a SAS.
        if field == "sas_algs" && !exchange.has_sas() {
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
    let (init_pubkey, resp_pubkey, sign_alg) = match exchange {
        Exchange::Offline => {
            // XEP-0187 §3.3: Bob signs with his key; its algorithm must be offered.
            let sign_alg = signer.filter(|a| sign_algs.contains(a));
            if sign_alg.is_none() {
                miss("sign_algs");
            }
            (Some(PubkeyMode::None), Some(PubkeyMode::Key), sign_alg)
        }
        _ => {
            let own_alg = signer;
            let three = exchange == Exchange::ThreeMessage;
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
                    .collect()
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
            let init_pubkey = modes(&offer.init_pubkey).into_iter().find(|m| {
                config.init_pubkey.contains(m) && (*m == PubkeyMode::None || sign_alg.is_some())
            });
            if init_pubkey.is_none() {
                miss("init_pubkey");
            }
            let keys_used = init_pubkey.is_some_and(|m| m != PubkeyMode::None)
                || resp_pubkey.is_some_and(|m| m != PubkeyMode::None);
            (init_pubkey, resp_pubkey, sign_alg.filter(|_| keys_used))
        }
    };
    match (modp, cipher, hash, logging, init_pubkey, resp_pubkey) {
        (
            Some((modp_index, modp)),
            Some(cipher),
            Some(hash),
            Some(logging),
            Some(init_pubkey),
            Some(resp_pubkey),
        ) if bad.is_empty() => Ok(Choice {
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
                sign_alg,
            },
            modp_index,
            logging_var: offer.logging_var,
            exchange,
            has_pubkey_fields: (!offer.init_pubkey.is_empty(), !offer.resp_pubkey.is_empty()),
        }),
        _ => Err(bad),
    }
}

/// Bob's answer to `choice` (msg2, D21; the offline init, D49) before his
/// identity is added: his nonce `my_nonce`, `dhkey` = mpi(d), Alice's nonce
/// echoed and C_A. The field order is the default one; set
/// [`Response::order`] from Alice's form (D21).
pub fn response(
    choice: &Choice,
    my_nonce: Vec<u8>,
    dhkey: Vec<u8>,
    nonce: Vec<u8>,
    counter: u128,
) -> Response {
    let n = &choice.negotiated;
    let online = choice.exchange != Exchange::Offline;
    let mode = |present: bool, m: PubkeyMode| (online && present).then(|| m.name().to_owned());
    Response {
        accept: online.then_some(true),
        logging_var: choice.logging_var,
        logging: Some(n.logging.clone()),
        disclosure: Some(DISCLOSURE_NEVER.to_owned()),
        security: Some(SECURITY_E2E.to_owned()),
        modp: n.modp.number(),
        crypt_alg: n.cipher.name().to_owned(),
        hash_alg: n.hash.name().to_owned(),
        sign_alg: n.sign_alg.map(|a| a.uri().to_owned()),
        compress: Some(n.compress.name().to_owned()),
        stanzas: n.stanzas.clone(),
        init_pubkey: mode(choice.has_pubkey_fields.0, n.init_pubkey),
        resp_pubkey: mode(choice.has_pubkey_fields.1, n.resp_pubkey),
        ver: Some(VERSION.to_owned()),
        rekey_freq: Some(n.rekey_freq),
        sas_alg: choice.exchange.has_sas().then(|| SAS28X5.to_owned()),
        my_nonce,
        dhkey,
        nonce,
        counter,
        identity: None,
        mac: None,
        order: Vec::new(),
    }
}

/// A plain stanza session Bob can offer instead of an ESession (XEP-0116
/// §4.4 "Bob Accepts Stanza Session"; XEP-0155): Alice offered security
/// `c2s` or `none` and Bob's configuration allows it.
pub(crate) fn choose_plain(config: &Config, offer: &Offer) -> Option<esession_wire::PlainAccept> {
    let security = offer.security.iter().find(|v| {
        esession_wire::PLAIN_SECURITY.contains(&v.as_str()) && config.security.contains(v)
    })?;
    let logging = choose_logging(config, offer)?;
    offer
        .disclosure
        .iter()
        .any(|v| v == DISCLOSURE_NEVER)
        .then(|| esession_wire::PlainAccept {
            logging_var: offer.logging_var,
            logging: logging.clone(),
            security: security.clone(),
        })
}

/// Alice's checks of Bob's answer (XEP-0116 §4.6.1; D26): every choice was
/// offered and is acceptable to her, and rekey_freq is at least hers.
/// Returns the agreed options, or the first offending field.
pub fn check_response(
    config: &Config,
    offer: &Offer,
    r: &Response,
    exchange: Exchange,
) -> Result<Negotiated, String> {
    fn offered(list: &[String], v: Option<&String>) -> bool {
        v.is_some_and(|v| list.contains(v))
    }
    let bad = |f: &str| Err(f.to_owned());
    let offline = exchange == Exchange::Offline;
    if !offline && r.accept != Some(true) {
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
        .and_then(|c| Compression::from_name(c))
    {
        Some(c) if config.compress.contains(&c) => c,
        _ => return bad("compress"),
    };
    if r.stanzas.is_empty() || r.stanzas.iter().any(|s| !offer.stanzas.contains(s)) {
        return bad("stanzas");
    }
    let (init_pubkey, resp_pubkey) = if offline {
        // XEP-0187 §3.3: Bob's key in mode key, with an offline algorithm.
        if !sign_alg.is_some_and(offline_sign_alg) {
            return bad("sign_algs");
        }
        (PubkeyMode::None, PubkeyMode::Key)
    } else {
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
        (init_pubkey, resp_pubkey)
    };
    if r.ver.as_deref() != Some(VERSION) {
        return bad("ver");
    }
    // D46, D47: only the 4-message exchange has a SAS.
    let sas_ok = if exchange.has_sas() {
        offered(&offer.sas_algs, r.sas_alg.as_ref())
    } else {
        r.sas_alg.is_none()
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
        let c = choose(&Config::default(), &offer(), Exchange::FourMessage, None).unwrap();
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
            choose(&Config::default(), &o, Exchange::FourMessage, None).unwrap_err(),
            vec!["modp", "ver", "resp_pubkey"]
        );
    }
}
