//! Parsing of peer-protocol request lines (docs/peer-protocol.md "Requests") and
//! of the `options` object of `init`.
//!
//! A line is one JSON object with an `op`; serde checks the fields of each op.
//! Unknown ops and malformed lines become a [`RequestError`], never a panic.

use std::collections::BTreeMap;
use std::path::PathBuf;

use esession_crypto::cipher::CipherAlg;
use esession_crypto::dh::ModpGroup;
use esession_crypto::hash::HashAlg;
use esession_online::{Compression, Config, Profile, PubkeyMode};
use serde::Deserialize;
use serde_json::Value;

/// The ops this peer knows, in the protocol's order.
pub const OPS: [&str; 12] = [
    "init",
    "start",
    "deliver",
    "send",
    "rekey",
    "terminate",
    "state",
    "public_key",
    "trust",
    "offline_publish",
    "offline_start",
    "quit",
];

/// Why a request line could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Not a JSON object.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// No string `op`.
    #[error("malformed request: no \"op\" string")]
    NoOp,
    /// An op this peer does not know.
    #[error("unknown op {0:?}")]
    UnknownOp(String),
    /// The fields of a known op are wrong.
    #[error("malformed {op} request: {reason}")]
    BadFields {
        /// The op.
        op: String,
        /// What serde said.
        reason: String,
    },
}

/// Which side of the negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The initiator.
    Alice,
    /// The responder.
    Bob,
}

/// The negotiation's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum Mode {
    /// SIGMA-R with a SAS (the default).
    #[default]
    #[serde(rename = "4-message")]
    FourMessage,
    /// SIGMA-I with public keys (D46).
    #[serde(rename = "3-message")]
    ThreeMessage,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum ProfileName {
    Xep,
    Gajim,
}

fn profile<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Profile, D::Error> {
    Ok(match ProfileName::deserialize(d)? {
        ProfileName::Xep => Profile::Xep,
        ProfileName::Gajim => Profile::Gajim,
    })
}

fn default_profile() -> Profile {
    Profile::Xep
}

fn yes() -> bool {
    true
}

/// The fields of `init`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitRequest {
    /// `alice` or `bob`.
    pub role: Role,
    /// Our full JID.
    pub own_jid: String,
    /// The peer's full JID.
    pub peer_jid: String,
    /// Seed of every random value.
    #[serde(default)]
    pub seed: Option<String>,
    /// `xep` (default) or `gajim`.
    #[serde(default = "default_profile", deserialize_with = "profile")]
    pub profile: Profile,
    /// `4-message` (default) or `3-message`.
    #[serde(default)]
    pub mode: Mode,
    /// A directory for persistent state.
    #[serde(default)]
    pub store: Option<PathBuf>,
    /// Ignore retained secrets stored before this `init` (default true).
    #[serde(default = "yes")]
    pub fresh_secrets: bool,
    /// Offered options overriding the defaults, by field name.
    #[serde(default)]
    pub options: serde_json::Map<String, Value>,
    /// A shared password (OSS, D36).
    #[serde(default)]
    pub oss: Option<Oss>,
    /// Keys to trust from the start, by JID.
    #[serde(default)]
    pub trusted_keys: BTreeMap<String, Vec<String>>,
}

/// The shared password of `init`: zeroized on drop and never shown by `Debug`.
#[derive(Clone, Deserialize, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
#[serde(transparent)]
pub struct Oss(String);

impl Oss {
    /// The password.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Oss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Oss(<redacted>)")
    }
}

/// One request.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Set the endpoint up.
    Init(Box<InitRequest>),
    /// Alice emits her request.
    Start,
    /// Process an incoming stanza.
    Deliver {
        /// The stanza.
        xml: String,
    },
    /// Send an encrypted chat message.
    Send {
        /// The body.
        text: String,
        /// An XEP-0085 chat state element name, or null.
        #[serde(default)]
        chatstate: Option<String>,
    },
    /// Re-key in the next stanza sent.
    Rekey,
    /// Terminate the session.
    Terminate,
    /// Report the state.
    State,
    /// This endpoint's public key as a `<KeyValue/>`.
    PublicKey {
        /// An XEP `sign_algs` URI (default rsa-sha256).
        #[serde(default)]
        alg: Option<String>,
    },
    /// Trust a key for a JID.
    Trust {
        /// A bare or full JID.
        jid: String,
        /// The `<KeyValue/>` element.
        key_value: String,
    },
    /// XEP-0187: publish signed offline options.
    OfflinePublish {
        /// Seconds until the options expire (default 86400).
        #[serde(default)]
        lifetime: Option<u64>,
    },
    /// XEP-0187, as Bob: start an offline session carrying `text`.
    OfflineStart {
        /// The publish `<iq/>` or the options form.
        xml: String,
        /// The body.
        text: String,
    },
    /// Answer and exit.
    Quit,
}

/// Parses one request line.
pub fn parse(line: &str) -> Result<Request, RequestError> {
    let v: Value =
        serde_json::from_str(line).map_err(|e| RequestError::Malformed(e.to_string()))?;
    let Value::Object(obj) = &v else {
        return Err(RequestError::Malformed("not a JSON object".into()));
    };
    let Some(Value::String(op)) = obj.get("op") else {
        return Err(RequestError::NoOp);
    };
    if !OPS.contains(&op.as_str()) {
        return Err(RequestError::UnknownOp(op.clone()));
    }
    let op = op.clone();
    serde_json::from_value(v).map_err(|e| RequestError::BadFields {
        op,
        reason: e.to_string(),
    })
}

/// A field value: a list in preference order, or one value.
fn list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    }
}

fn strings<'a>(field: &str, v: &'a Value) -> Result<Vec<&'a str>, crate::Error> {
    list(v)
        .into_iter()
        .map(|x| {
            x.as_str()
                .ok_or_else(|| crate::Error::Peer(format!("option {field}: expected strings")))
        })
        .collect()
}

/// Applies `init`'s `options` to `config`.
pub fn apply_options(
    config: &mut Config,
    options: &serde_json::Map<String, Value>,
) -> Result<(), crate::Error> {
    let bad =
        |field: &str, e: &dyn std::fmt::Display| crate::Error::Peer(format!("option {field}: {e}"));
    for (field, v) in options {
        let f = field.as_str();
        match f {
            "modp" => {
                config.modp = list(v)
                    .into_iter()
                    .map(|x| match x {
                        Value::Number(n) => n
                            .as_u64()
                            .and_then(|n| u32::try_from(n).ok())
                            .ok_or_else(|| bad(f, &"not a group number"))
                            .and_then(|n| ModpGroup::from_number(n).map_err(|e| bad(f, &e))),
                        Value::String(s) => ModpGroup::from_wire(s).map_err(|e| bad(f, &e)),
                        _ => Err(bad(f, &"expected numbers")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "crypt_algs" => {
                config.crypt_algs = strings(f, v)?
                    .into_iter()
                    .map(|s| CipherAlg::from_name(s).map_err(|e| bad(f, &e)))
                    .collect::<Result<_, _>>()?;
            }
            "hash_algs" => {
                config.hash_algs = strings(f, v)?
                    .into_iter()
                    .map(|s| HashAlg::from_name(s).map_err(|e| bad(f, &e)))
                    .collect::<Result<_, _>>()?;
            }
            "compress" => {
                config.compress = strings(f, v)?
                    .into_iter()
                    .map(|s| Compression::from_name(s).ok_or_else(|| bad(f, &s)))
                    .collect::<Result<_, _>>()?;
            }
            "init_pubkey" | "resp_pubkey" => {
                let modes = strings(f, v)?
                    .into_iter()
                    .map(|s| PubkeyMode::from_name(s).ok_or_else(|| bad(f, &s)))
                    .collect::<Result<Vec<_>, _>>()?;
                if f == "init_pubkey" {
                    config.init_pubkey = modes;
                } else {
                    config.resp_pubkey = modes;
                }
            }
            "logging" => config.logging = owned(strings(f, v)?),
            "stanzas" => config.stanzas = owned(strings(f, v)?),
            "security" => config.security = owned(strings(f, v)?),
            "rekey_freq" => {
                let n = match list(v).as_slice() {
                    [Value::Number(n)] => n.as_u64(),
                    [Value::String(s)] => s.parse().ok(),
                    _ => None,
                };
                config.rekey_freq = n
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad(f, &"expected one number 1..=4294967295"))?;
            }
            other => return Err(bad(other, &"unknown option")),
        }
    }
    Ok(())
}

fn owned(v: Vec<&str>) -> Vec<String> {
    v.into_iter().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_init_with_defaults() {
        let r =
            parse(r#"{"op":"init","role":"alice","own_jid":"a@x/1","peer_jid":"b@y/2"}"#).unwrap();
        let Request::Init(i) = r else {
            panic!("not init: {r:?}")
        };
        assert_eq!(i.role, Role::Alice);
        assert_eq!(i.own_jid, "a@x/1");
        assert_eq!(i.peer_jid, "b@y/2");
        assert_eq!(i.profile, Profile::Xep);
        assert_eq!(i.mode, Mode::FourMessage);
        assert!(i.fresh_secrets);
        assert_eq!(i.seed, None);
        assert_eq!(i.store, None);
    }

    #[test]
    fn parses_init_with_everything() {
        let r = parse(
            r#"{"op":"init","role":"bob","own_jid":"b@y/2","peer_jid":"a@x/1","seed":"s",
                "profile":"gajim","mode":"3-message","store":"/tmp/d","fresh_secrets":false,
                "options":{"modp":[14,5]},"oss":"pw","trusted_keys":{}}"#
                .replace('\n', " ")
                .as_str(),
        )
        .unwrap();
        let Request::Init(i) = r else {
            panic!("not init: {r:?}")
        };
        assert_eq!(i.role, Role::Bob);
        assert_eq!(i.profile, Profile::Gajim);
        assert_eq!(i.mode, Mode::ThreeMessage);
        assert!(!i.fresh_secrets);
        assert_eq!(i.seed.as_deref(), Some("s"));
        assert_eq!(i.oss.as_ref().map(Oss::as_str), Some("pw"));
        // The password never shows in Debug output.
        let shown = format!("{i:?}");
        assert!(shown.contains("Oss(<redacted>)"), "{shown}");
        assert!(!shown.contains("\"pw\""), "{shown}");
        assert_eq!(i.store, Some(PathBuf::from("/tmp/d")));
    }

    #[test]
    fn parses_the_other_ops() {
        assert!(matches!(parse(r#"{"op":"start"}"#), Ok(Request::Start)));
        assert!(matches!(parse(r#"{"op":"quit"}"#), Ok(Request::Quit)));
        assert!(matches!(parse(r#"{"op":"rekey"}"#), Ok(Request::Rekey)));
        assert!(matches!(
            parse(r#"{"op":"terminate"}"#),
            Ok(Request::Terminate)
        ));
        assert!(matches!(parse(r#"{"op":"state"}"#), Ok(Request::State)));
        assert!(matches!(
            parse(r#"{"op":"public_key"}"#),
            Ok(Request::PublicKey { alg: None })
        ));
        assert!(matches!(
            parse(r#"{"op":"offline_publish","lifetime":60}"#),
            Ok(Request::OfflinePublish { lifetime: Some(60) })
        ));
        match parse(r#"{"op":"offline_start","xml":"<iq/>","text":"hi"}"#) {
            Ok(Request::OfflineStart { xml, text }) => {
                assert_eq!(xml, "<iq/>");
                assert_eq!(text, "hi");
            }
            other => panic!("{other:?}"),
        }
        match parse(r#"{"op":"trust","jid":"b@y","key_value":"<KeyValue/>"}"#) {
            Ok(Request::Trust { jid, key_value }) => {
                assert_eq!(jid, "b@y");
                assert_eq!(key_value, "<KeyValue/>");
            }
            other => panic!("{other:?}"),
        }
        match parse(r#"{"op":"deliver","xml":"<message/>"}"#) {
            Ok(Request::Deliver { xml }) => assert_eq!(xml, "<message/>"),
            other => panic!("{other:?}"),
        }
        match parse(r#"{"op":"send","text":"Grüße","chatstate":"active"}"#) {
            Ok(Request::Send { text, chatstate }) => {
                assert_eq!(text, "Grüße");
                assert_eq!(chatstate.as_deref(), Some("active"));
            }
            other => panic!("{other:?}"),
        }
        match parse(r#"{"op":"send","text":"x","chatstate":null}"#) {
            Ok(Request::Send { chatstate, .. }) => assert_eq!(chatstate, None),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_malformed_lines() {
        assert!(matches!(parse("not json"), Err(RequestError::Malformed(_))));
        assert!(matches!(parse("[1,2]"), Err(RequestError::Malformed(_))));
        assert_eq!(parse(r#"{"text":"x"}"#).unwrap_err(), RequestError::NoOp);
        assert_eq!(parse(r#"{"op":7}"#).unwrap_err(), RequestError::NoOp);
        assert_eq!(
            parse(r#"{"op":"fly"}"#).unwrap_err(),
            RequestError::UnknownOp("fly".into())
        );
        assert!(matches!(
            parse(r#"{"op":"deliver"}"#),
            Err(RequestError::BadFields { .. })
        ));
        assert!(matches!(
            parse(r#"{"op":"send","text":3}"#),
            Err(RequestError::BadFields { .. })
        ));
        assert!(matches!(
            parse(r#"{"op":"init","role":"carol","own_jid":"a","peer_jid":"b"}"#),
            Err(RequestError::BadFields { .. })
        ));
        assert!(matches!(
            parse(r#"{"op":"init","role":"alice","own_jid":"a","peer_jid":"b","profile":"x"}"#),
            Err(RequestError::BadFields { .. })
        ));
    }

    #[test]
    fn options_override_the_offer() {
        let mut c = Config::default();
        let o: serde_json::Map<String, Value> = serde_json::from_str(
            r#"{"modp":[5,"14"],"crypt_algs":"aes256-ctr","hash_algs":["sha256"],"rekey_freq":2,
                "compress":["none"]}"#
                .replace('\n', " ")
                .as_str(),
        )
        .unwrap();
        apply_options(&mut c, &o).unwrap();
        assert_eq!(c.modp, vec![ModpGroup::Group5, ModpGroup::Group14]);
        assert_eq!(c.crypt_algs, vec![CipherAlg::Aes256Ctr]);
        assert_eq!(c.hash_algs, vec![HashAlg::Sha256]);
        assert_eq!(c.rekey_freq, 2);
    }

    #[test]
    fn options_refuse_bad_values() {
        for bad in [
            r#"{"modp":[99]}"#,
            r#"{"modp":[true]}"#,
            r#"{"crypt_algs":["rot13"]}"#,
            r#"{"rekey_freq":0}"#,
            r#"{"rekey_freq":[1,2]}"#,
            r#"{"colour":"blue"}"#,
        ] {
            let o: serde_json::Map<String, Value> = serde_json::from_str(bad).unwrap();
            assert!(
                apply_options(&mut Config::default(), &o).is_err(),
                "{bad} accepted"
            );
        }
    }
}
