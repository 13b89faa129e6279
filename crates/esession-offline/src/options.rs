//! The options form: what Alice offers (XEP-0187 §3.1, DECISIONS D47), how
//! Bob chooses from it (D5) and how Alice checks his choice (D26).
//!
//! The rules are the online layer's ([`esession_online::negotiated`], with
//! [`Exchange::Offline`]); what is added here is what XEP-0187 §3.1 asks of
//! the options form itself (no `iq`; only `message` with match_resource).

use esession_crypto::sign::SignAlg;
use esession_online::Config;
use esession_online::negotiated::{self, Choice, Exchange, Negotiated};
use esession_wire::{DhValues, Offer, OfflineOptions, Response};

use crate::Error;

/// Alice's offer from `config` (D47: the D20 lists minus accept, pubkeys and
/// sas_algs, plus sign_algs and dhkeys). `stanzas` never holds `iq`
/// (XEP-0187 §3.1), and only `message` with match_resource.
pub(crate) fn offer(
    config: &Config,
    match_resource: bool,
    my_nonce: Vec<u8>,
    dhkeys: Vec<Vec<u8>>,
) -> Result<Offer, Error> {
    let mut offer = negotiated::offer(config, Exchange::Offline, my_nonce, DhValues::Keys(dhkeys));
    offer.stanzas = if match_resource {
        vec!["message".to_owned()]
    } else {
        offer.stanzas.into_iter().filter(|s| s != "iq").collect()
    };
    if offer.stanzas.is_empty() {
        return Err(Error::Config("no stanza kind other than iq to offer"));
    }
    Ok(offer)
}

/// Checks Alice's options against XEP-0187 §3.1 and chooses (D5) for Bob,
/// who signs with a key of `sign_alg`. Every field with no acceptable option
/// is named in [`Error::NoAcceptableOption`].
pub(crate) fn choose(
    config: &Config,
    options: &OfflineOptions,
    sign_alg: SignAlg,
) -> Result<Choice, Error> {
    let o = &options.offer;
    if o.stanzas.iter().any(|s| s == "iq") {
        return Err(Error::InvalidOptions("stanzas includes iq"));
    }
    if options.match_resource.is_some() && o.stanzas.iter().any(|s| s != "message") {
        return Err(Error::InvalidOptions(
            "match_resource with a stanza kind other than message",
        ));
    }
    negotiated::choose(config, o, Exchange::Offline, Some(sign_alg))
        .map_err(Error::NoAcceptableOption)
}

/// Alice's check that each of Bob's choices was offered (DECISIONS D26).
pub(crate) fn check_response(
    config: &Config,
    offer: &Offer,
    r: &Response,
) -> Result<Negotiated, Error> {
    negotiated::check_response(config, offer, r, Exchange::Offline)
        .map_err(|field| Error::NoAcceptableOption(vec![field]))
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
        let mut options = OfflineOptions {
            offer: offered(),
            ..OfflineOptions::default()
        };
        options.offer.stanzas = vec!["message".into()];
        let choice = choose(&Config::default(), &options, SignAlg::RsaSha256).unwrap();
        negotiated::response(&choice, vec![1; 16], vec![2], vec![7; 16], 1)
    }

    #[test]
    fn alice_refuses_choices_she_did_not_offer() {
        let o = offered();
        let c = Config::default();
        assert!(check_response(&c, &o, &response()).is_ok());
        for (field, edit) in [
            (
                "crypt_algs",
                (|r: &mut Response| r.crypt_alg = "aes256-ctr".into()) as fn(&mut Response),
            ),
            ("modp", |r| r.modp = 2),
            ("stanzas", |r| r.stanzas = vec!["iq".into()]),
            ("sign_algs", |r| r.sign_alg = None),
        ] {
            let mut r = response();
            edit(&mut r);
            assert_eq!(
                check_response(&c, &o, &r),
                Err(Error::NoAcceptableOption(vec![field.into()])),
                "{field}"
            );
        }
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
