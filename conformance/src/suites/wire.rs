//! Runner for `vectors/wire/`: XML parsing and normalization (`esession-wire`).
//!
//! Vector kinds:
//! * `form` — `xml` is a `<feature/>`, `<init/>` or bare `<x/>`; it must parse
//!   as `message` and normalize under `profile` to `normalized`; a `pretty`
//!   copy, if given, must normalize to the same bytes. With `fail: true` the
//!   parse must fail with `expected_error` (`Variant` or `Variant:field`).
//! * `stanza-form` — the same with a whole stanza in `xml`.
//! * `m_content` — `xml` is a stanza with a XEP-0200 `<c/>`; its m_content
//!   must equal `m_content` (D39).

use crate::json;
use esession_wire::{
    Error, Negotiation, NormProfile, OfflineOptions, ReceivedNegotiation, Stanza, WireForm,
};
use serde_json::Value;

use crate::{CaseResult, Outcome};

fn message_name(m: &Negotiation) -> &'static str {
    match m {
        Negotiation::Request(_) => "request",
        Negotiation::Response(_) => "response",
        Negotiation::AliceAccept(_) => "alice-accept",
        Negotiation::BobAccept(_) => "bob-accept",
        Negotiation::OfflineInit(_) => "offline-init",
        Negotiation::Terminate => "terminate",
        Negotiation::TerminateAck => "terminate-ack",
        Negotiation::Decline => "decline",
        _ => "unknown",
    }
}

/// `Variant` or `Variant:field`, as vectors write expected errors.
fn error_code(e: &Error) -> String {
    let debug = format!("{e:?}");
    let variant: String = debug.chars().take_while(|c| c.is_alphanumeric()).collect();
    match e.field() {
        Some(f) => format!("{variant}:{f}"),
        None => variant,
    }
}

fn profile(v: &Value) -> Result<NormProfile, String> {
    match json::str_field(v, "profile")? {
        "xep" => Ok(NormProfile::Xep),
        "gajim" => Ok(NormProfile::Gajim),
        other => Err(format!("unknown profile {other:?}")),
    }
}

/// Parses `xml` into (message name, form).
fn parse_form(kind: &str, xml: &str) -> Result<(&'static str, WireForm), Error> {
    if kind == "stanza-form" {
        let stanza = Stanza::parse(xml)?;
        let neg = stanza
            .negotiation()?
            .ok_or(Error::MissingElement("feature/init"))?;
        return Ok((message_name(&neg.message), neg.form));
    }
    let form = WireForm::parse(xml)?;
    if form.wrapper() == esession_wire::Wrapper::None {
        OfflineOptions::from_form(&form.data_form()?)?;
        return Ok(("offline-options", form));
    }
    let ReceivedNegotiation { message, form } = Negotiation::parse_element(form.into_element())?;
    Ok((message_name(&message), form))
}

fn run_form(kind: &str, v: &Value) -> Result<Outcome, String> {
    let xml = json::str_field(v, "xml")?;
    let parsed = parse_form(kind, xml);
    if v.get("fail").and_then(Value::as_bool) == Some(true) {
        let expected = json::str_field(v, "expected_error")?;
        return Ok(match parsed {
            Ok((m, _)) => Outcome::Fail(format!("parsed as {m}, expected error {expected}")),
            Err(e) if error_code(&e) == expected => Outcome::Pass,
            Err(e) => Outcome::Fail(format!(
                "error {} ({e}), expected {expected}",
                error_code(&e)
            )),
        });
    }
    let (message, form) = match parsed {
        Ok(p) => p,
        Err(e) => return Ok(Outcome::Fail(format!("parse failed: {e}"))),
    };
    let want_message = json::str_field(v, "message")?;
    if message != want_message {
        return Ok(Outcome::Fail(format!(
            "parsed as {message}, expected {want_message}"
        )));
    }
    let p = profile(v)?;
    let want = json::str_field(v, "normalized")?;
    let got = form.form_bytes(p).map_err(|e| e.to_string())?;
    if got != want.as_bytes() {
        return Ok(Outcome::Fail(format!(
            "normalized bytes differ: got {}",
            String::from_utf8_lossy(&got)
        )));
    }
    if let Some(pretty) = v.get("pretty").and_then(Value::as_str) {
        let (_, pf) = match parse_form(kind, pretty) {
            Ok(p) => p,
            Err(e) => return Ok(Outcome::Fail(format!("pretty copy failed to parse: {e}"))),
        };
        if pf.form_bytes(p).map_err(|e| e.to_string())? != want.as_bytes() {
            return Ok(Outcome::Fail(
                "pretty copy normalizes differently".to_owned(),
            ));
        }
    }
    Ok(Outcome::Pass)
}

fn run_m_content(v: &Value) -> Result<Outcome, String> {
    let xml = json::str_field(v, "xml")?;
    let want = json::str_field(v, "m_content")?;
    let c = Stanza::parse(xml).and_then(|s| s.encrypted());
    Ok(match c {
        Ok(Some(c)) if c.m_content == want.as_bytes() => Outcome::Pass,
        Ok(Some(c)) => Outcome::Fail(format!(
            "m_content {}",
            String::from_utf8_lossy(&c.m_content)
        )),
        Ok(None) => Outcome::Fail("no <c/> element".to_owned()),
        Err(e) => Outcome::Fail(format!("parse failed: {e}")),
    })
}

/// Runs one file of `vectors/wire/`.
pub fn run(_path: &str, file: &Value) -> Result<Vec<CaseResult>, String> {
    let mut out = Vec::new();
    for (i, v) in json::vectors(file)?.iter().enumerate() {
        let name = json::name(v, i);
        let outcome = match json::str_field(v, "kind")? {
            kind @ ("form" | "stanza-form") => run_form(kind, v),
            "m_content" => run_m_content(v),
            other => Ok(Outcome::Skip(format!("unknown kind {other:?}"))),
        }
        .unwrap_or_else(Outcome::Fail);
        out.push(CaseResult { name, outcome });
    }
    Ok(out)
}
