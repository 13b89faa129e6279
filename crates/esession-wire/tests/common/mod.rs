//! Shared helpers for the integration tests: proptest strategies for every
//! message type and a pretty-printer.

#![allow(dead_code, clippy::unwrap_used)]

use esession_wire::xml::{Element, Node};
use esession_wire::{
    AliceAccept, BobAccept, DhValues, Encrypted, LoggingVar, Negotiation, Offer, OfflineInit,
    OfflineOptions, PlainAccept, Request, Response,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// Text with the characters that need escaping, quotes, whitespace and non-ASCII.
pub(crate) fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9<>&\"' \t\r\néß€中😀-]{0,12}"
}

pub(crate) fn texts(min: usize) -> impl Strategy<Value = Vec<String>> {
    vec(text(), min..4)
}

pub(crate) fn bytes(min: usize, max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), min..=max)
}

/// A minimal MPI (D1).
pub(crate) fn mpi() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(vec![0u8]),
        (1u8..=255, vec(any::<u8>(), 0..80)).prop_map(|(first, rest)| {
            let mut v = vec![first];
            v.extend(rest);
            v
        })
    ]
}

fn logging_var() -> impl Strategy<Value = LoggingVar> {
    prop_oneof![Just(LoggingVar::Logging), Just(LoggingVar::Otr)]
}

pub(crate) fn offer(options_form: bool) -> impl Strategy<Value = Offer> {
    let lists = (
        logging_var(),
        texts(1),
        texts(1),
        texts(1),
        texts(1),
        texts(1),
        texts(0),
        texts(1),
        texts(1),
        texts(0),
        texts(0),
        texts(1),
    );
    let rest = (
        any::<u32>(),
        bytes(8, 64),
        texts(0),
        vec(any::<u32>(), 1..5),
        any::<bool>(),
    );
    (lists, rest).prop_flat_map(move |(l, (rekey_freq, my_nonce, sas_algs, modp, keys))| {
        let n = modp.len();
        let dh = if keys || options_form {
            vec(mpi(), n..=n).prop_map(DhValues::Keys).boxed()
        } else {
            vec(bytes(32, 32), n..=n).prop_map(DhValues::Hashes).boxed()
        };
        let l = l.clone();
        let sas_algs = sas_algs.clone();
        dh.prop_map(move |dh| Offer {
            logging_var: l.0,
            logging: l.1.clone(),
            disclosure: l.2.clone(),
            security: l.3.clone(),
            modp: modp.clone(),
            crypt_algs: l.4.clone(),
            hash_algs: l.5.clone(),
            sign_algs: l.6.clone(),
            compress: l.7.clone(),
            stanzas: l.8.clone(),
            init_pubkey: if options_form {
                Vec::new()
            } else {
                l.9.clone()
            },
            resp_pubkey: if options_form {
                Vec::new()
            } else {
                l.10.clone()
            },
            ver: l.11.clone(),
            rekey_freq,
            my_nonce: my_nonce.clone(),
            sas_algs: if options_form {
                Vec::new()
            } else {
                sas_algs.clone()
            },
            dh,
        })
    })
}

pub(crate) fn response(offline: bool) -> impl Strategy<Value = Response> {
    let a = (
        logging_var(),
        option::of(text()),
        option::of(text()),
        option::of(text()),
        any::<u32>(),
        text(),
        text(),
        option::of(text()),
        option::of(text()),
        texts(0),
    );
    let b = (
        option::of(text()),
        option::of(text()),
        option::of(text()),
        option::of(any::<u32>()),
        option::of(text()),
        bytes(8, 64),
        mpi(),
        bytes(8, 64),
        any::<u128>(),
        option::of((bytes(1, 200), bytes(1, 64))),
    );
    (a, b).prop_map(move |(a, b)| {
        let mut r = Response {
            accept: if offline { None } else { Some(true) },
            logging_var: a.0,
            logging: a.1,
            disclosure: a.2,
            security: a.3,
            modp: a.4,
            crypt_alg: a.5,
            hash_alg: a.6,
            sign_alg: a.7,
            compress: a.8,
            stanzas: a.9,
            init_pubkey: if offline { None } else { b.0 },
            resp_pubkey: if offline { None } else { b.1 },
            ver: b.2,
            rekey_freq: b.3,
            sas_alg: b.4,
            my_nonce: b.5,
            dhkey: b.6,
            nonce: b.7,
            counter: b.8,
            identity: b.9.as_ref().map(|p| p.0.clone()),
            mac: b.9.map(|p| p.1),
            order: Vec::new(),
        };
        if r.logging.is_none() {
            // logging_var only names a logging field that is present.
            r.logging_var = LoggingVar::Logging;
        }
        r.order = r.default_order();
        r
    })
}

pub(crate) fn alice_accept() -> impl Strategy<Value = AliceAccept> {
    (
        any::<bool>(),
        bytes(8, 64),
        option::of(mpi()),
        vec(bytes(32, 64), 0..4),
        bytes(1, 300),
        bytes(1, 64),
        any::<bool>(),
    )
        .prop_map(
            |(accept, nonce, dhkey, rshashes, identity, mac, terminate)| AliceAccept {
                accept,
                nonce,
                dhkey,
                rshashes,
                identity,
                mac,
                terminate,
            },
        )
}

pub(crate) fn bob_accept() -> impl Strategy<Value = BobAccept> {
    (bytes(8, 64), bytes(1, 64), bytes(1, 300), bytes(1, 64)).prop_map(
        |(nonce, srshash, identity, mac)| BobAccept {
            nonce,
            srshash,
            identity,
            mac,
        },
    )
}

pub(crate) fn negotiation() -> impl Strategy<Value = Negotiation> {
    prop_oneof![
        offer(false).prop_map(|offer| Negotiation::Request(Request { offer })),
        response(false).prop_map(Negotiation::Response),
        (response(true), any::<bool>()).prop_map(|(response, terminate)| {
            Negotiation::OfflineInit(OfflineInit {
                response,
                terminate,
            })
        }),
        (
            prop_oneof![Just(LoggingVar::Logging), Just(LoggingVar::Otr)],
            prop_oneof![Just("may"), Just("mustnot"), Just("true"), Just("false")],
            prop_oneof![Just("c2s"), Just("none")],
        )
            .prop_map(|(logging_var, logging, security)| {
                Negotiation::PlainAccept(PlainAccept {
                    logging_var,
                    logging: logging.to_owned(),
                    security: security.to_owned(),
                })
            }),
        alice_accept().prop_map(Negotiation::AliceAccept),
        bob_accept().prop_map(Negotiation::BobAccept),
        Just(Negotiation::Terminate),
        Just(Negotiation::TerminateAck),
        Just(Negotiation::Decline),
    ]
}

pub(crate) fn offline_options() -> impl Strategy<Value = OfflineOptions> {
    (
        offer(true),
        (2000u32..2100, 1u32..13, 1u32..29, 0u32..24),
        option::of(text()),
        vec(bytes(1, 256), 0..3),
    )
        .prop_map(
            |(offer, (y, mo, d, h), match_resource, signs)| OfflineOptions {
                offer,
                expires: format!("{y:04}-{mo:02}-{d:02}T{h:02}:56:15Z"),
                match_resource,
                signs,
            },
        )
}

pub(crate) fn encrypted() -> impl Strategy<Value = Encrypted> {
    (
        option::of(bytes(0, 300)),
        option::of(1u32..),
        option::of(mpi()),
        vec(bytes(1, 64), 0..4),
        bytes(1, 64),
    )
        .prop_map(|(data, new, key, old, mac)| Encrypted {
            data,
            new,
            key,
            old,
            mac,
        })
}

/// Pretty-prints: every element with child elements gets its children on
/// indented lines; leaf text is left exactly as it is. Attributes in single quotes.
pub(crate) fn pretty(el: &Element) -> String {
    fn esc_attr(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('\'', "&apos;")
            .replace('\t', "&#9;")
            .replace('\n', "&#10;")
            .replace('\r', "&#13;")
    }
    fn esc_text(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('\r', "&#13;")
    }
    fn go(el: &Element, parent_ns: Option<&str>, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        out.push_str(&pad);
        out.push('<');
        out.push_str(el.name());
        if parent_ns != Some(el.ns()) {
            out.push_str(&format!(" xmlns='{}'", esc_attr(el.ns())));
        }
        for a in el.attrs().iter().rev() {
            out.push_str(&format!("\n{pad}    {}='{}'", a.name, esc_attr(&a.value)));
        }
        if el.has_child_elements() {
            out.push_str(">\n");
            for c in el.children() {
                go(c, Some(el.ns()), depth + 1, out);
            }
            out.push_str(&pad);
            out.push_str(&format!("</{}>\n", el.name()));
        } else {
            let t: String = el
                .nodes()
                .iter()
                .filter_map(|n| {
                    if let Node::Text(t) = n {
                        Some(t.as_str())
                    } else {
                        None
                    }
                })
                .collect();
            out.push('>');
            out.push_str(&esc_text(&t));
            out.push_str(&format!("</{}>\n", el.name()));
        }
    }
    let mut out = String::new();
    go(el, None, 0, &mut out);
    out
}
