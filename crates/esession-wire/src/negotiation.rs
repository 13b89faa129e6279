//! Typed views of every ESession negotiation message (XEP-0155, XEP-0116,
//! XEP-0187), and [`WireForm`], which keeps the received element tree so the
//! protocol can MAC exactly what was received.
//!
//! | message | wrapper | form type | type |
//! |---|---|---|---|
//! | msg1, the request (D20) | `feature` | `form` | [`Request`] |
//! | msg2, the response (D21) | `feature` | `submit` | [`Response`] |
//! | msg3, Alice's accept (D22) | `feature` | `result` | [`AliceAccept`] |
//! | msg4, Bob's accept (D23) | `init` | `result` | [`BobAccept`] |
//! | Bob's offline init (D49) | `init` | `submit` | [`OfflineInit`] |
//! | a plain stanza session accepted (XEP-0116 §4.4) | `feature` | `submit` | [`PlainAccept`] |
//! | terminate / acknowledgement (D43) | `feature` | `submit` / `result` | [`Negotiation::Terminate`] / [`Negotiation::TerminateAck`] |
//! | decline, accept=`0` (D44) | `feature` | `submit` | [`Negotiation::Decline`] |
//! | XEP-0187 options (D47) | none (a PEP item) | `form` | [`OfflineOptions`] |
//!
//! Reading is tolerant of order, types, labels and extra fields (D24); writing
//! follows D19-D23. Every base64 value is strict (D3), every integer a strict
//! MPI (D1), every boolean one of `1`, `true`, `0`, `false` (D4, read by
//! [`read_boolean`] and nothing else), and each malformed value is an error
//! naming its field.

use esession_crypto::{b64, mpi};

use crate::form::{DataForm, Field, FormKind};
use crate::limits::{
    MAX_HASH_BYTES, MAX_IDENTITY_BYTES, MAX_MPI_BYTES, MAX_NONCE_BYTES, MAX_SIGNATURE_BYTES,
    MIN_NONCE_BYTES,
};
use crate::normalize::{self, NormProfile};
use crate::xml::Element;
use crate::{Error, FORM_TYPE_SSN, NS_DATA, NS_FEATURE_NEG, NS_INIT};

/// Which element wraps the form in the stanza.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wrapper {
    /// `<feature xmlns='http://jabber.org/protocol/feature-neg'>`.
    Feature,
    /// `<init xmlns='http://www.xmpp.org/extensions/xep-0116.html#ns-init'>`.
    Init,
    /// No wrapper: a bare `<x/>` (the XEP-0187 options form in a PEP item).
    None,
}

/// A form as it is (or was) on the wire: its element tree, from which the
/// normalized bytes are computed (DECISIONS D16).
///
/// Received forms keep the parsed tree; sent forms are serialized and parsed
/// back ([`Negotiation::to_wire`]), never normalized from a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireForm {
    root: Element,
}

impl WireForm {
    /// Wraps a `<feature/>`, `<init/>` or bare `<x/>` element.
    pub fn from_element(root: Element) -> Result<Self, Error> {
        let w = WireForm { root };
        w.wrapper_kind()?;
        w.x()?;
        Ok(w)
    }

    /// Parses the text of a `<feature/>`, `<init/>` or `<x/>` element.
    pub fn parse(text: &str) -> Result<Self, Error> {
        Self::from_element(Element::parse(text)?)
    }

    fn wrapper_kind(&self) -> Result<Wrapper, Error> {
        if self.root.is("feature", NS_FEATURE_NEG) {
            Ok(Wrapper::Feature)
        } else if self.root.is("init", NS_INIT) {
            Ok(Wrapper::Init)
        } else if self.root.is("x", NS_DATA) {
            Ok(Wrapper::None)
        } else {
            Err(Error::UnexpectedElement {
                expected: "feature, init or x",
                found: crate::error::wire_name(self.root.name()),
            })
        }
    }

    /// The wrapper.
    pub fn wrapper(&self) -> Wrapper {
        self.wrapper_kind().unwrap_or(Wrapper::None)
    }

    /// The `<x xmlns='jabber:x:data'/>` element.
    pub fn x(&self) -> Result<&Element, Error> {
        if self.root.is("x", NS_DATA) {
            return Ok(&self.root);
        }
        let mut xs = self.root.children().filter(|c| c.is("x", NS_DATA));
        let x = xs.next().ok_or(Error::MissingElement("x"))?;
        if xs.next().is_some() {
            return Err(Error::DuplicateElement("x"));
        }
        Ok(x)
    }

    /// The whole element (`<feature/>`, `<init/>` or `<x/>`), to put in a stanza.
    pub fn element(&self) -> &Element {
        &self.root
    }

    /// Consumes the form, returning its element.
    pub fn into_element(self) -> Element {
        self.root
    }

    /// The generic data form.
    pub fn data_form(&self) -> Result<DataForm, Error> {
        DataForm::from_element(self.x()?)
    }

    /// The vars of the form's fields in document order (msg2 mirrors msg1's
    /// order, D21).
    pub fn vars(&self) -> Result<Vec<String>, Error> {
        Ok(self
            .data_form()?
            .fields
            .into_iter()
            .map(|f| f.var)
            .collect())
    }

    /// The normalized form content (DECISIONS D16-D18): formA, formB, formA2 or
    /// formB2 depending on the message, always without identity, mac and signs.
    pub fn form_bytes(&self, profile: NormProfile) -> Result<Vec<u8>, Error> {
        normalize::form_content(self.x()?, profile)
    }

    fn outgoing(root: Element) -> Result<Self, Error> {
        // D16: the sender MACs its own serialization parsed back.
        Self::from_element(Element::parse(&root.to_xml())?)
    }
}

/// The logging field's name: XEP-0155's `logging` or the older `otr` (D20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LoggingVar {
    /// `logging` (may / mustnot).
    #[default]
    Logging,
    /// `otr` (false / true), answered under the same name.
    Otr,
}

impl LoggingVar {
    /// The field var.
    pub fn var(self) -> &'static str {
        match self {
            LoggingVar::Logging => "logging",
            LoggingVar::Otr => "otr",
        }
    }
}

/// Alice's Diffie-Hellman values in msg1 or the options form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DhValues {
    /// `dhhashes`: He_i = SHA256(mpi(e_i)), 32 bytes each (4-message, D7).
    Hashes(Vec<Vec<u8>>),
    /// `dhkeys`: mpi(e_i) (3-message msg1, D46; the options form, D47).
    Keys(Vec<Vec<u8>>),
}

/// The options Alice offers: the fields shared by msg1 (D20) and the XEP-0187
/// options form (D47). Lists are in Alice's order of preference; an empty list
/// means the field is absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Offer {
    /// Name of the logging field.
    pub logging_var: LoggingVar,
    /// logging (or otr) options.
    pub logging: Vec<String>,
    /// disclosure options.
    pub disclosure: Vec<String>,
    /// security options.
    pub security: Vec<String>,
    /// MODP group numbers.
    pub modp: Vec<u32>,
    /// Cipher names.
    pub crypt_algs: Vec<String>,
    /// Hash names.
    pub hash_algs: Vec<String>,
    /// Signature algorithm URIs (sent only when public keys are offered).
    pub sign_algs: Vec<String>,
    /// Compression names.
    pub compress: Vec<String>,
    /// Stanza kinds that may be encrypted.
    pub stanzas: Vec<String>,
    /// init_pubkey options (absent in the options form).
    pub init_pubkey: Vec<String>,
    /// resp_pubkey options (absent in the options form).
    pub resp_pubkey: Vec<String>,
    /// Protocol versions (D25: `1.0`).
    pub ver: Vec<String>,
    /// Minimum stanzas between rekeys.
    pub rekey_freq: u32,
    /// N_A, opaque bytes (D2).
    pub my_nonce: Vec<u8>,
    /// SAS algorithms (absent in 3-message requests and the options form).
    pub sas_algs: Vec<String>,
    /// dhhashes or dhkeys, one per modp option.
    pub dh: DhValues,
}

impl Default for DhValues {
    fn default() -> Self {
        DhValues::Hashes(Vec::new())
    }
}

/// msg1: Alice's request (XEP-0116 §4.3, DECISIONS D20).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// The options offered.
    pub offer: Offer,
}

/// Bob's answer with one chosen value per field: msg2 (D21) or, wrapped in
/// `<init/>`, his offline init (D49). Absent optional fields are `None`/empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// accept (absent in the offline init).
    pub accept: Option<bool>,
    /// Name of the logging field.
    pub logging_var: LoggingVar,
    /// logging (or otr).
    pub logging: Option<String>,
    /// disclosure.
    pub disclosure: Option<String>,
    /// security.
    pub security: Option<String>,
    /// The chosen MODP group.
    pub modp: u32,
    /// The chosen cipher.
    pub crypt_alg: String,
    /// The chosen hash.
    pub hash_alg: String,
    /// The chosen signature algorithm.
    pub sign_alg: Option<String>,
    /// compress.
    pub compress: Option<String>,
    /// stanzas (may hold several values).
    pub stanzas: Vec<String>,
    /// init_pubkey (absent offline).
    pub init_pubkey: Option<String>,
    /// resp_pubkey (absent offline).
    pub resp_pubkey: Option<String>,
    /// ver.
    pub ver: Option<String>,
    /// rekey_freq.
    pub rekey_freq: Option<u32>,
    /// sas_algs.
    pub sas_alg: Option<String>,
    /// N_B.
    pub my_nonce: Vec<u8>,
    /// mpi(d).
    pub dhkey: Vec<u8>,
    /// N_A echoed.
    pub nonce: Vec<u8>,
    /// C_A.
    pub counter: u128,
    /// ID_B (3-message msg2, offline init).
    pub identity: Option<Vec<u8>>,
    /// M_B (3-message msg2, offline init).
    pub mac: Option<Vec<u8>>,
    /// Field order (vars after FORM_TYPE). D21: msg1's order, dhkeys in place of
    /// dhhashes, then nonce and counter. Present fields missing from this list
    /// are written after it in the default order; see [`Response::default_order`].
    pub order: Vec<String>,
}

/// msg3: Alice's accept (XEP-0116 §4.6.4, DECISIONS D22).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AliceAccept {
    /// accept.
    pub accept: bool,
    /// N_B echoed.
    pub nonce: Vec<u8>,
    /// mpi(e) (absent in 3-message negotiations).
    pub dhkey: Option<Vec<u8>>,
    /// HMAC(N_A, RS) values and random padding (empty: absent).
    pub rshashes: Vec<Vec<u8>>,
    /// ID_A.
    pub identity: Vec<u8>,
    /// M_A.
    pub mac: Vec<u8>,
    /// A `terminate` field set: the 3-message msg3 also ends the session
    /// (object encryption, XEP-0116 §4.6.4). It is part of formA2 (D46).
    pub terminate: bool,
}

/// msg4: Bob's accept (XEP-0116 §4.7.4, DECISIONS D23).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BobAccept {
    /// N_A echoed.
    pub nonce: Vec<u8>,
    /// srshash.
    pub srshash: Vec<u8>,
    /// ID_B.
    pub identity: Vec<u8>,
    /// M_B.
    pub mac: Vec<u8>,
}

/// Bob's offline init (XEP-0187 §3.3, DECISIONS D49): his response to the
/// published options, wrapped in `<init/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OfflineInit {
    /// The chosen options, N_B, d, C_A, ID_B and M_B.
    pub response: Response,
    /// A `terminate` field set: the session ends with this stanza. Written
    /// before identity and mac, so formB covers it.
    pub terminate: bool,
}

/// Bob accepts a plain stanza session instead of an ESession (XEP-0116 §4.4,
/// XEP-0155 §5): a `submit` form with accept true and security `c2s` or `none`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlainAccept {
    /// Name of the logging field.
    pub logging_var: LoggingVar,
    /// The logging value (empty when the form has none).
    pub logging: String,
    /// The security value: `c2s` or `none`.
    pub security: String,
}

/// The `security` values of a plain stanza session (XEP-0155 §8).
pub const PLAIN_SECURITY: [&str; 2] = ["c2s", "none"];

/// The XEP-0187 options form (DECISIONS D47-D48).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OfflineOptions {
    /// The options (no accept, pubkey or sas_algs fields; dhkeys, not dhhashes).
    pub offer: Offer,
    /// expires, an XEP-0082 DateTime (written `YYYY-MM-DDThh:mm:ssZ`).
    pub expires: String,
    /// match_resource.
    pub match_resource: Option<String>,
    /// signs: one raw signature per key (D48).
    pub signs: Vec<Vec<u8>>,
}

/// Any negotiation message carried in a stanza.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Negotiation {
    /// msg1.
    Request(Request),
    /// msg2.
    Response(Response),
    /// msg3.
    AliceAccept(AliceAccept),
    /// msg4.
    BobAccept(BobAccept),
    /// Bob's offline init (XEP-0187 §3.3).
    OfflineInit(OfflineInit),
    /// Bob accepts a plain stanza session (XEP-0116 §4.4).
    PlainAccept(PlainAccept),
    /// A terminate form (`submit`, terminate=1; XEP-0155 §7, D43).
    Terminate,
    /// The termination acknowledgement (`result`, terminate=1; D43).
    TerminateAck,
    /// A declined request (`submit`, accept=0; D44).
    Decline,
}

/// A received negotiation message: the typed view plus the form as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedNegotiation {
    /// The typed message.
    pub message: Negotiation,
    /// The received form, for normalized bytes.
    pub form: WireForm,
}

// ---------------------------------------------------------------------------
// reading

struct Fields<'a>(&'a DataForm);

impl<'a> Fields<'a> {
    fn get(&self, var: &str) -> Option<&'a Field> {
        self.0.field(var)
    }

    fn need(&self, var: &str) -> Result<&'a Field, Error> {
        self.get(var)
            .ok_or_else(|| Error::MissingField(var.to_owned()))
    }

    /// The choices of a list field, at least one.
    fn list(&self, var: &str) -> Result<Vec<String>, Error> {
        let c = self.need(var)?.choices();
        if c.is_empty() {
            return Err(Error::invalid(var, "no value"));
        }
        Ok(c.into_iter().map(str::to_owned).collect())
    }

    fn list_opt(&self, var: &str) -> Result<Vec<String>, Error> {
        match self.get(var) {
            Some(_) => self.list(var),
            None => Ok(Vec::new()),
        }
    }

    /// Exactly one value.
    fn single(&self, var: &str) -> Result<&'a str, Error> {
        let f = self.need(var)?;
        match f.values.as_slice() {
            [v] => Ok(v),
            [] => Err(Error::invalid(var, "no value")),
            _ => Err(Error::invalid(var, "more than one value")),
        }
    }

    fn single_opt(&self, var: &str) -> Result<Option<String>, Error> {
        match self.get(var) {
            Some(_) => self.single(var).map(|s| Some(s.to_owned())),
            None => Ok(None),
        }
    }

    fn bool(&self, var: &str) -> Result<bool, Error> {
        parse_bool(var, self.single(var)?)
    }

    fn bool_opt(&self, var: &str) -> Result<Option<bool>, Error> {
        match self.get(var) {
            Some(_) => self.bool(var).map(Some),
            None => Ok(None),
        }
    }

    fn b64(&self, var: &str, min: usize, max: usize) -> Result<Vec<u8>, Error> {
        decode_b64(var, self.single(var)?, min, max)
    }

    fn b64_opt(&self, var: &str, min: usize, max: usize) -> Result<Option<Vec<u8>>, Error> {
        match self.get(var) {
            Some(_) => self.b64(var, min, max).map(Some),
            None => Ok(None),
        }
    }

    fn b64_values(&self, var: &str, min: usize, max: usize) -> Result<Vec<Vec<u8>>, Error> {
        let f = self.need(var)?;
        if f.values.is_empty() {
            return Err(Error::invalid(var, "no value"));
        }
        f.values
            .iter()
            .map(|v| decode_b64(var, v, min, max))
            .collect()
    }

    fn mpi(&self, var: &str) -> Result<Vec<u8>, Error> {
        decode_mpi(var, self.single(var)?)
    }

    fn mpi_values(&self, var: &str) -> Result<Vec<Vec<u8>>, Error> {
        let f = self.need(var)?;
        if f.values.is_empty() {
            return Err(Error::invalid(var, "no value"));
        }
        f.values.iter().map(|v| decode_mpi(var, v)).collect()
    }

    fn u32(&self, var: &str) -> Result<u32, Error> {
        parse_u32(var, self.single(var)?)
    }
}

/// The boolean grammar of every ESession form (XEP-0004 `boolean`,
/// DECISIONS D4): exactly `1` or `true`, `0` or `false`.
pub fn read_boolean(v: &str) -> Option<bool> {
    match v {
        "1" | "true" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    }
}

fn parse_bool(var: &str, v: &str) -> Result<bool, Error> {
    read_boolean(v).ok_or_else(|| Error::invalid(var, "not a boolean (1, true, 0, false)"))
}

fn parse_u32(var: &str, v: &str) -> Result<u32, Error> {
    // D4: ASCII decimal without leading zeros.
    let ok = !v.is_empty()
        && v.len() <= 10
        && v.bytes().all(|b| b.is_ascii_digit())
        && (v == "0" || !v.starts_with('0'));
    if !ok {
        return Err(Error::invalid(
            var,
            "not a decimal integer without leading zeros",
        ));
    }
    v.parse::<u32>()
        .map_err(|_| Error::invalid(var, "integer does not fit in 32 bits"))
}

fn decode_b64(var: &str, v: &str, min: usize, max: usize) -> Result<Vec<u8>, Error> {
    let bytes = b64::decode_bounded(v, max).map_err(|e| match e {
        esession_crypto::Error::TooLong { .. } => Error::invalid(var, "value too long"),
        _ => Error::invalid(var, "invalid base64"),
    })?;
    if bytes.len() < min {
        return Err(Error::invalid(var, "value too short"));
    }
    Ok(bytes)
}

fn decode_mpi(var: &str, v: &str) -> Result<Vec<u8>, Error> {
    let bytes = decode_b64(var, v, 1, MAX_MPI_BYTES)?;
    mpi::decode(&bytes).map_err(|_| Error::invalid(var, "not a minimal MPI"))?;
    Ok(bytes)
}

fn decode_counter(var: &str, v: &str) -> Result<u128, Error> {
    let bytes = decode_b64(var, v, 1, mpi::MAX_COUNTER_LEN)?;
    mpi::decode_counter(&bytes)
        .map_err(|_| Error::invalid(var, "not a minimal MPI of at most 16 bytes"))
}

fn check_form_type(form: &DataForm) -> Result<(), Error> {
    match form.form_type() {
        Some(FORM_TYPE_SSN) => Ok(()),
        Some(other) => Err(Error::UnknownFormType(crate::error::wire_name(other))),
        None => Err(Error::MissingField("FORM_TYPE".to_owned())),
    }
}

fn logging_var(f: &Fields<'_>) -> LoggingVar {
    if f.get("logging").is_none() && f.get("otr").is_some() {
        LoggingVar::Otr
    } else {
        LoggingVar::Logging
    }
}

fn read_offer(f: &Fields<'_>, options_form: bool) -> Result<Offer, Error> {
    let logging_var = logging_var(f);
    let modp: Vec<u32> = f
        .list("modp")?
        .iter()
        .map(|m| parse_u32("modp", m))
        .collect::<Result<_, _>>()?;
    let dh = match (f.get("dhhashes"), f.get("dhkeys")) {
        (Some(_), Some(_)) => return Err(Error::invalid("dhkeys", "both dhhashes and dhkeys")),
        (Some(_), None) if !options_form => DhValues::Hashes(f.b64_values("dhhashes", 32, 32)?),
        (_, Some(_)) => DhValues::Keys(f.mpi_values("dhkeys")?),
        _ if options_form => return Err(Error::MissingField("dhkeys".to_owned())),
        _ => return Err(Error::MissingField("dhhashes".to_owned())),
    };
    let (n, var) = match &dh {
        DhValues::Hashes(h) => (h.len(), "dhhashes"),
        DhValues::Keys(k) => (k.len(), "dhkeys"),
    };
    if n != modp.len() {
        // D7: one value per modp option, in the same order.
        return Err(Error::invalid(var, "not one value per modp option"));
    }
    Ok(Offer {
        logging_var,
        logging: f.list(logging_var.var())?,
        disclosure: f.list("disclosure")?,
        security: f.list("security")?,
        modp,
        crypt_algs: f.list("crypt_algs")?,
        hash_algs: f.list("hash_algs")?,
        sign_algs: f.list_opt("sign_algs")?,
        compress: f.list("compress")?,
        stanzas: f.list("stanzas")?,
        init_pubkey: f.list_opt("init_pubkey")?,
        resp_pubkey: f.list_opt("resp_pubkey")?,
        ver: f.list("ver")?,
        rekey_freq: f.u32("rekey_freq")?,
        my_nonce: f.b64("my_nonce", MIN_NONCE_BYTES, MAX_NONCE_BYTES)?,
        sas_algs: f.list_opt("sas_algs")?,
        dh,
    })
}

impl Request {
    /// Reads msg1 from its data form.
    pub fn from_form(form: &DataForm) -> Result<Self, Error> {
        check_form_type(form)?;
        if form.kind != FormKind::Form {
            return Err(Error::UnknownMessage(
                "a request must be a form of type 'form'",
            ));
        }
        let f = Fields(form);
        if !f.bool("accept")? {
            return Err(Error::invalid("accept", "a request must have accept=1"));
        }
        Ok(Request {
            offer: read_offer(&f, false)?,
        })
    }
}

const RESPONSE_VARS: [&str; 21] = [
    "accept",
    "logging",
    "disclosure",
    "security",
    "modp",
    "crypt_algs",
    "hash_algs",
    "sign_algs",
    "compress",
    "stanzas",
    "init_pubkey",
    "resp_pubkey",
    "ver",
    "rekey_freq",
    "my_nonce",
    "sas_algs",
    "dhkeys",
    "nonce",
    "counter",
    "identity",
    "mac",
];

impl Response {
    /// Reads msg2 or the offline init from its data form.
    pub fn from_form(form: &DataForm) -> Result<Self, Error> {
        check_form_type(form)?;
        if form.kind != FormKind::Submit {
            return Err(Error::UnknownMessage(
                "a response must be a form of type 'submit'",
            ));
        }
        let f = Fields(form);
        let logging_var = logging_var(&f);
        let identity = f.b64_opt("identity", 1, MAX_IDENTITY_BYTES)?;
        let mac = f.b64_opt("mac", 1, MAX_HASH_BYTES)?;
        match (&identity, &mac) {
            (Some(_), None) => return Err(Error::MissingField("mac".to_owned())),
            (None, Some(_)) => return Err(Error::MissingField("identity".to_owned())),
            _ => {}
        }
        let stanzas = match f.get("stanzas") {
            Some(s) if s.values.is_empty() => return Err(Error::invalid("stanzas", "no value")),
            Some(s) => s.values.clone(),
            None => Vec::new(),
        };
        let order = form
            .fields
            .iter()
            .map(|fl| fl.var.as_str())
            .filter(|v| *v == logging_var.var() || (RESPONSE_VARS.contains(v) && *v != "logging"))
            .map(str::to_owned)
            .collect();
        Ok(Response {
            accept: f.bool_opt("accept")?,
            logging_var,
            logging: f.single_opt(logging_var.var())?,
            disclosure: f.single_opt("disclosure")?,
            security: f.single_opt("security")?,
            modp: f.u32("modp")?,
            crypt_alg: f.single("crypt_algs")?.to_owned(),
            hash_alg: f.single("hash_algs")?.to_owned(),
            sign_alg: f.single_opt("sign_algs")?,
            compress: f.single_opt("compress")?,
            stanzas,
            init_pubkey: f.single_opt("init_pubkey")?,
            resp_pubkey: f.single_opt("resp_pubkey")?,
            ver: f.single_opt("ver")?,
            rekey_freq: f
                .single_opt("rekey_freq")?
                .map(|v| parse_u32("rekey_freq", &v))
                .transpose()?,
            sas_alg: f.single_opt("sas_algs")?,
            my_nonce: f.b64("my_nonce", MIN_NONCE_BYTES, MAX_NONCE_BYTES)?,
            dhkey: f.mpi("dhkeys")?,
            nonce: f.b64("nonce", MIN_NONCE_BYTES, MAX_NONCE_BYTES)?,
            counter: decode_counter("counter", f.single("counter")?)?,
            identity,
            mac,
            order,
        })
    }

    /// The vars of the fields this response carries, in the D21 default order
    /// (the D20 msg1 order with dhkeys for dhhashes, then nonce, counter,
    /// identity, mac).
    pub fn default_order(&self) -> Vec<String> {
        RESPONSE_VARS
            .iter()
            .filter(|v| self.has(v))
            .map(|v| {
                if *v == "logging" {
                    self.logging_var.var()
                } else {
                    v
                }
            })
            .map(str::to_owned)
            .collect()
    }

    /// D21: answer "in msg1 order". Given the vars of the received msg1 (see
    /// [`WireForm::vars`]), returns the order for this response: msg1's vars
    /// that this response carries, dhhashes mapped to dhkeys, then the rest in
    /// the default order (nonce, counter, identity, mac).
    pub fn order_after(&self, request_vars: &[String]) -> Vec<String> {
        let mut order: Vec<String> = Vec::new();
        for v in request_vars {
            let v = if v == "dhhashes" {
                "dhkeys"
            } else {
                v.as_str()
            };
            if self.has_var(v) && !order.iter().any(|o| o == v) {
                order.push(v.to_owned());
            }
        }
        for v in self.default_order() {
            if !order.contains(&v) {
                order.push(v);
            }
        }
        order
    }

    fn has_var(&self, var: &str) -> bool {
        if var == "otr" || var == "logging" {
            return var == self.logging_var.var() && self.logging.is_some();
        }
        RESPONSE_VARS.contains(&var) && var != "logging" && self.has(var)
    }

    fn has(&self, var: &str) -> bool {
        match var {
            "accept" => self.accept.is_some(),
            "logging" => self.logging.is_some(),
            "disclosure" => self.disclosure.is_some(),
            "security" => self.security.is_some(),
            "sign_algs" => self.sign_alg.is_some(),
            "compress" => self.compress.is_some(),
            "stanzas" => !self.stanzas.is_empty(),
            "init_pubkey" => self.init_pubkey.is_some(),
            "resp_pubkey" => self.resp_pubkey.is_some(),
            "ver" => self.ver.is_some(),
            "rekey_freq" => self.rekey_freq.is_some(),
            "sas_algs" => self.sas_alg.is_some(),
            "identity" => self.identity.is_some(),
            "mac" => self.mac.is_some(),
            _ => true,
        }
    }

    /// The order actually written: [`Response::order`] filtered to present
    /// fields, then any present field it omits, in the default order.
    pub fn effective_order(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for v in &self.order {
            if self.has_var(v) && !out.contains(v) {
                out.push(v.clone());
            }
        }
        for v in self.default_order() {
            if !out.contains(&v) {
                out.push(v);
            }
        }
        out
    }

    fn field(&self, var: &str) -> Option<Field> {
        let one = |v: &str| Some(Field::values(var, None, vec![v.to_owned()]));
        match var {
            "accept" => self.accept.and_then(|a| one(if a { "1" } else { "0" })),
            "logging" | "otr" => self.logging.as_deref().and_then(one),
            "disclosure" => self.disclosure.as_deref().and_then(one),
            "security" => self.security.as_deref().and_then(one),
            "modp" => one(&self.modp.to_string()),
            "crypt_algs" => one(&self.crypt_alg),
            "hash_algs" => one(&self.hash_alg),
            "sign_algs" => self.sign_alg.as_deref().and_then(one),
            "compress" => self.compress.as_deref().and_then(one),
            // D21: list-multi only on a multi-valued stanzas field.
            "stanzas" => Some(Field::values(
                var,
                (self.stanzas.len() > 1).then_some("list-multi"),
                self.stanzas.clone(),
            )),
            "init_pubkey" => self.init_pubkey.as_deref().and_then(one),
            "resp_pubkey" => self.resp_pubkey.as_deref().and_then(one),
            "ver" => self.ver.as_deref().and_then(one),
            "rekey_freq" => self.rekey_freq.and_then(|r| one(&r.to_string())),
            "sas_algs" => self.sas_alg.as_deref().and_then(one),
            "my_nonce" => one(&b64::encode(&self.my_nonce)),
            "dhkeys" => one(&b64::encode(&self.dhkey)),
            "nonce" => one(&b64::encode(&self.nonce)),
            "counter" => one(&b64::encode(&mpi::encode_u128(self.counter))),
            "identity" => self.identity.as_deref().and_then(|v| one(&b64::encode(v))),
            "mac" => self.mac.as_deref().and_then(|v| one(&b64::encode(v))),
            _ => None,
        }
    }

    /// The data form (`submit`, D21 / D49).
    pub fn to_form(&self) -> DataForm {
        let mut form = DataForm::new(FormKind::Submit);
        form.fields.push(Field::values(
            "FORM_TYPE",
            None,
            vec![FORM_TYPE_SSN.to_owned()],
        ));
        for v in self.effective_order() {
            if let Some(f) = self.field(&v) {
                form.fields.push(f);
            }
        }
        form
    }
}

impl AliceAccept {
    /// Reads msg3.
    pub fn from_form(form: &DataForm) -> Result<Self, Error> {
        check_form_type(form)?;
        if form.kind != FormKind::Result {
            return Err(Error::UnknownMessage(
                "msg3 must be a form of type 'result'",
            ));
        }
        let f = Fields(form);
        Ok(AliceAccept {
            accept: f.bool("accept")?,
            nonce: f.b64("nonce", MIN_NONCE_BYTES, MAX_NONCE_BYTES)?,
            dhkey: match f.get("dhkeys") {
                Some(_) => Some(f.mpi("dhkeys")?),
                None => None,
            },
            rshashes: match f.get("rshashes") {
                Some(_) => f.b64_values("rshashes", 1, MAX_HASH_BYTES)?,
                None => Vec::new(),
            },
            identity: f.b64("identity", 1, MAX_IDENTITY_BYTES)?,
            mac: f.b64("mac", 1, MAX_HASH_BYTES)?,
            terminate: f.bool_opt("terminate")?.unwrap_or(false),
        })
    }

    /// The data form (`result`, D22; with terminate before identity and mac
    /// when it ends the session, D46).
    pub fn to_form(&self) -> DataForm {
        let mut form = DataForm::new(FormKind::Result);
        let fs = &mut form.fields;
        fs.push(Field::values(
            "FORM_TYPE",
            None,
            vec![FORM_TYPE_SSN.to_owned()],
        ));
        fs.push(Field::values("accept", None, vec![bool_str(self.accept)]));
        fs.push(Field::values("nonce", None, vec![b64::encode(&self.nonce)]));
        if let Some(d) = &self.dhkey {
            fs.push(Field::values(
                "dhkeys",
                Some("hidden"),
                vec![b64::encode(d)],
            ));
        }
        if !self.rshashes.is_empty() {
            fs.push(Field::values(
                "rshashes",
                Some("hidden"),
                self.rshashes.iter().map(|h| b64::encode(h)).collect(),
            ));
        }
        if self.terminate {
            fs.push(terminate_field());
        }
        fs.push(Field::values(
            "identity",
            None,
            vec![b64::encode(&self.identity)],
        ));
        fs.push(Field::values("mac", None, vec![b64::encode(&self.mac)]));
        form
    }
}

impl BobAccept {
    /// Reads msg4.
    pub fn from_form(form: &DataForm) -> Result<Self, Error> {
        check_form_type(form)?;
        if form.kind != FormKind::Result {
            return Err(Error::UnknownMessage(
                "msg4 must be a form of type 'result'",
            ));
        }
        let f = Fields(form);
        Ok(BobAccept {
            nonce: f.b64("nonce", MIN_NONCE_BYTES, MAX_NONCE_BYTES)?,
            srshash: f.b64("srshash", 1, MAX_HASH_BYTES)?,
            identity: f.b64("identity", 1, MAX_IDENTITY_BYTES)?,
            mac: f.b64("mac", 1, MAX_HASH_BYTES)?,
        })
    }

    /// The data form (`result`, D23: no types).
    pub fn to_form(&self) -> DataForm {
        let mut form = DataForm::new(FormKind::Result);
        let fs = &mut form.fields;
        fs.push(Field::values(
            "FORM_TYPE",
            None,
            vec![FORM_TYPE_SSN.to_owned()],
        ));
        fs.push(Field::values("nonce", None, vec![b64::encode(&self.nonce)]));
        fs.push(Field::values(
            "srshash",
            None,
            vec![b64::encode(&self.srshash)],
        ));
        fs.push(Field::values(
            "identity",
            None,
            vec![b64::encode(&self.identity)],
        ));
        fs.push(Field::values("mac", None, vec![b64::encode(&self.mac)]));
        form
    }
}

fn bool_str(b: bool) -> String {
    if b { "1" } else { "0" }.to_owned()
}

/// `<field var='terminate'><value>1</value></field>` (XEP-0155 §7).
fn terminate_field() -> Field {
    Field::values("terminate", None, vec![bool_str(true)])
}

impl OfflineInit {
    /// Reads the offline init form (D49).
    pub fn from_form(form: &DataForm) -> Result<Self, Error> {
        Ok(OfflineInit {
            response: Response::from_form(form)?,
            terminate: Fields(form).bool_opt("terminate")?.unwrap_or(false),
        })
    }

    /// The data form: the response (`submit`), with the terminate field
    /// before identity and mac when set (XEP-0187 §3.3).
    pub fn to_form(&self) -> DataForm {
        let mut form = self.response.to_form();
        if self.terminate {
            let at = form
                .fields
                .iter()
                .position(|f| f.var == "identity" || f.var == "mac")
                .unwrap_or(form.fields.len());
            form.fields.insert(at, terminate_field());
        }
        form
    }
}

impl PlainAccept {
    /// Reads a plain stanza session accept; `None` if the form is not one
    /// (it is then read as msg2).
    fn from_fields(f: &Fields<'_>) -> Result<Option<Self>, Error> {
        let security = match f.single_opt("security")? {
            Some(s) if PLAIN_SECURITY.contains(&s.as_str()) => s,
            _ => return Ok(None),
        };
        if f.get("modp").is_some() {
            return Ok(None);
        }
        let logging_var = logging_var(f);
        Ok(Some(PlainAccept {
            logging_var,
            logging: f.single_opt(logging_var.var())?.unwrap_or_default(),
            security,
        }))
    }

    /// The data form (`submit`): FORM_TYPE, accept, logging, disclosure
    /// `never`, security.
    pub fn to_form(&self) -> DataForm {
        let mut form = DataForm::new(FormKind::Submit);
        for (var, value) in [
            ("FORM_TYPE", FORM_TYPE_SSN),
            ("accept", "1"),
            (self.logging_var.var(), self.logging.as_str()),
            ("disclosure", "never"),
            ("security", self.security.as_str()),
        ] {
            form.fields
                .push(Field::values(var, None, vec![value.to_owned()]));
        }
        form
    }
}

/// A list field per D20: one choice in a hidden field as `<value/>`, several as
/// list-single `<option/>`s.
fn hidden_or_list(var: &str, choices: &[String]) -> Field {
    if choices.len() == 1 {
        Field::values(var, Some("hidden"), choices.to_vec())
    } else {
        Field::options(var, Some("list-single"), choices.to_vec())
    }
}

fn write_offer(fs: &mut Vec<Field>, o: &Offer, accept: bool) {
    fs.push(Field::values(
        "FORM_TYPE",
        Some("hidden"),
        vec![FORM_TYPE_SSN.to_owned()],
    ));
    if accept {
        fs.push(Field::values(
            "accept",
            Some("boolean"),
            vec!["1".to_owned()],
        ));
    }
    fs.push(Field::options(
        o.logging_var.var(),
        Some("list-single"),
        o.logging.clone(),
    ));
    fs.push(Field::options(
        "disclosure",
        Some("list-single"),
        o.disclosure.clone(),
    ));
    fs.push(Field::options(
        "security",
        Some("list-single"),
        o.security.clone(),
    ));
    fs.push(Field::options(
        "modp",
        Some("list-single"),
        o.modp.iter().map(u32::to_string).collect(),
    ));
    fs.push(hidden_or_list("crypt_algs", &o.crypt_algs));
    fs.push(hidden_or_list("hash_algs", &o.hash_algs));
    if !o.sign_algs.is_empty() {
        fs.push(hidden_or_list("sign_algs", &o.sign_algs));
    }
    fs.push(hidden_or_list("compress", &o.compress));
    fs.push(Field::options(
        "stanzas",
        Some("list-multi"),
        o.stanzas.clone(),
    ));
    if !o.init_pubkey.is_empty() {
        fs.push(hidden_or_list("init_pubkey", &o.init_pubkey));
    }
    if !o.resp_pubkey.is_empty() {
        fs.push(hidden_or_list("resp_pubkey", &o.resp_pubkey));
    }
    fs.push(Field::options("ver", Some("list-single"), o.ver.clone()));
    fs.push(Field::values(
        "rekey_freq",
        Some("hidden"),
        vec![o.rekey_freq.to_string()],
    ));
    fs.push(Field::values(
        "my_nonce",
        Some("hidden"),
        vec![b64::encode(&o.my_nonce)],
    ));
    if !o.sas_algs.is_empty() {
        fs.push(hidden_or_list("sas_algs", &o.sas_algs));
    }
    match &o.dh {
        DhValues::Hashes(h) => fs.push(Field::values(
            "dhhashes",
            Some("hidden"),
            h.iter().map(|v| b64::encode(v)).collect(),
        )),
        DhValues::Keys(k) => fs.push(Field::values(
            "dhkeys",
            Some("hidden"),
            k.iter().map(|v| b64::encode(v)).collect(),
        )),
    }
}

impl Request {
    /// The data form (`form`, D20).
    pub fn to_form(&self) -> DataForm {
        let mut form = DataForm::new(FormKind::Form);
        write_offer(&mut form.fields, &self.offer, true);
        form
    }
}

impl OfflineOptions {
    /// Reads the options form from its `<x/>` element (D47).
    pub fn from_form(form: &DataForm) -> Result<Self, Error> {
        check_form_type(form)?;
        if form.kind != FormKind::Form {
            return Err(Error::UnknownMessage(
                "an options form must be of type 'form'",
            ));
        }
        let f = Fields(form);
        let expires = f.single("expires")?;
        if !is_xep0082_datetime(expires) {
            return Err(Error::invalid("expires", "not an XEP-0082 DateTime"));
        }
        Ok(OfflineOptions {
            offer: read_offer(&f, true)?,
            expires: expires.to_owned(),
            match_resource: f.single_opt("match_resource")?,
            signs: match f.get("signs") {
                Some(_) => f.b64_values("signs", 1, MAX_SIGNATURE_BYTES)?,
                None => Vec::new(),
            },
        })
    }

    /// The data form (`form`, D47): the offer, then expires, match_resource and
    /// signs last, these three without type attributes.
    pub fn to_form(&self) -> DataForm {
        let mut form = DataForm::new(FormKind::Form);
        write_offer(&mut form.fields, &self.offer, false);
        form.fields
            .push(Field::values("expires", None, vec![self.expires.clone()]));
        if let Some(r) = &self.match_resource {
            form.fields
                .push(Field::values("match_resource", None, vec![r.clone()]));
        }
        if !self.signs.is_empty() {
            form.fields.push(Field::values(
                "signs",
                None,
                self.signs.iter().map(|s| b64::encode(s)).collect(),
            ));
        }
        form
    }

    /// Reads a published options form from its `<x/>` element, keeping the tree.
    pub fn parse_element(x: Element) -> Result<(Self, WireForm), Error> {
        let wire = WireForm::from_element(x)?;
        let o = Self::from_form(&wire.data_form()?)?;
        Ok((o, wire))
    }

    /// Serializes, re-parses and returns the form as sent, whose
    /// [`WireForm::form_bytes`] are the D48 signature input (signs excluded).
    pub fn to_wire(&self) -> Result<WireForm, Error> {
        WireForm::outgoing(self.to_form().to_element())
    }
}

/// XEP-0082 DateTime: `CCYY-MM-DDThh:mm:ss[.sss](Z|(+|-)hh:mm)`.
fn is_xep0082_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || b[10] != b'T'
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z'] => true,
        [s, h1, h2, b':', m1, m2] if (*s == b'+' || *s == b'-') => {
            [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit())
        }
        _ => false,
    }
}

fn simple_form(kind: FormKind, fields: &[(&str, &str)]) -> DataForm {
    let mut form = DataForm::new(kind);
    form.fields.push(Field::values(
        "FORM_TYPE",
        None,
        vec![FORM_TYPE_SSN.to_owned()],
    ));
    for (var, v) in fields {
        form.fields
            .push(Field::values(var, None, vec![(*v).to_owned()]));
    }
    form
}

impl Negotiation {
    /// Reads a negotiation message from its `<feature/>` or `<init/>` element.
    pub fn parse_element(root: Element) -> Result<ReceivedNegotiation, Error> {
        let form = WireForm::from_element(root)?;
        let data = form.data_form()?;
        check_form_type(&data)?;
        let f = Fields(&data);
        let message = match (form.wrapper(), data.kind) {
            (Wrapper::Feature, FormKind::Form) => Negotiation::Request(Request::from_form(&data)?),
            (Wrapper::Feature, FormKind::Submit) if f.get("terminate").is_some() => {
                if !f.bool("terminate")? {
                    return Err(Error::invalid("terminate", "terminate must be 1 or true"));
                }
                Negotiation::Terminate
            }
            // A msg3 that also terminates carries a nonce (XEP-0116 §4.6.4).
            (Wrapper::Feature, FormKind::Result)
                if f.get("terminate").is_some() && f.get("nonce").is_none() =>
            {
                if !f.bool("terminate")? {
                    return Err(Error::invalid("terminate", "terminate must be 1 or true"));
                }
                Negotiation::TerminateAck
            }
            (Wrapper::Feature, FormKind::Submit) => match f.bool_opt("accept")? {
                Some(false) => Negotiation::Decline,
                Some(true) => match PlainAccept::from_fields(&f)? {
                    Some(plain) => Negotiation::PlainAccept(plain),
                    None => Negotiation::Response(Response::from_form(&data)?),
                },
                None => return Err(Error::MissingField("accept".to_owned())),
            },
            (Wrapper::Feature, FormKind::Result) => {
                Negotiation::AliceAccept(AliceAccept::from_form(&data)?)
            }
            (Wrapper::Init, FormKind::Result) => {
                Negotiation::BobAccept(BobAccept::from_form(&data)?)
            }
            (Wrapper::Init, FormKind::Submit) => {
                Negotiation::OfflineInit(OfflineInit::from_form(&data)?)
            }
            _ => {
                return Err(Error::UnknownMessage(
                    "no ESession message has this wrapper and form type",
                ));
            }
        };
        Ok(ReceivedNegotiation { message, form })
    }

    /// Parses the text of a `<feature/>` or `<init/>` element.
    pub fn parse(text: &str) -> Result<ReceivedNegotiation, Error> {
        Self::parse_element(Element::parse(text)?)
    }

    /// The wrapper this message is sent in.
    pub fn wrapper(&self) -> Wrapper {
        match self {
            Negotiation::BobAccept(_) | Negotiation::OfflineInit(_) => Wrapper::Init,
            _ => Wrapper::Feature,
        }
    }

    /// The data form of this message (D19-D23, D43).
    pub fn to_form(&self) -> DataForm {
        match self {
            Negotiation::Request(r) => r.to_form(),
            Negotiation::Response(r) => r.to_form(),
            Negotiation::OfflineInit(i) => i.to_form(),
            Negotiation::PlainAccept(p) => p.to_form(),
            Negotiation::AliceAccept(a) => a.to_form(),
            Negotiation::BobAccept(b) => b.to_form(),
            Negotiation::Terminate => simple_form(FormKind::Submit, &[("terminate", "1")]),
            Negotiation::TerminateAck => simple_form(FormKind::Result, &[("terminate", "1")]),
            Negotiation::Decline => simple_form(FormKind::Submit, &[("accept", "0")]),
        }
    }

    /// The wrapper element with the form inside.
    pub fn to_element(&self) -> Element {
        let x = self.to_form().to_element();
        match self.wrapper() {
            Wrapper::Init => Element::new("init", NS_INIT).with_child(x),
            _ => Element::new("feature", NS_FEATURE_NEG).with_child(x),
        }
    }

    /// Serializes the message, parses it back and returns the form as it will
    /// be sent: its [`WireForm::form_bytes`] are what the sender MACs (D16),
    /// and [`WireForm::element`] is what goes into the stanza.
    pub fn to_wire(&self) -> Result<WireForm, Error> {
        WireForm::outgoing(self.to_element())
    }
}

// ---------------------------------------------------------------------------
// Gajim 0.15.4's layout (the gajim profile only; GAJIM.md §2-§3, G16)
//
// Gajim MACs the bytes of the forms it sends (formA, formA2, formB, formB2),
// so an endpoint that is to produce Gajim's MACs and SAS from the same inputs
// must lay its forms out exactly as Gajim does. These writers are additive:
// `to_form`/`to_wire` above keep the D19-D23 layout of the xep profile.

/// msg2's field order after `FORM_TYPE` and `accept` as Gajim 0.15.4 writes
/// it: the `negotiated` dict in Python 2 hash order, then `modp`, then the
/// nonces, counter and dhkeys, again in dict order (GAJIM.md §2 "Message 2").
/// Taken verbatim from Gajim-Bob's recorded msg2 of both sessions
/// (vectors/interop/gajim/transcript.json; vectors/sigma/gajim-session-{1,2}.json,
/// `messages[1]`). Fields a response does not
/// carry are skipped; `logging` stands for the `otr` var too.
pub const GAJIM_RESPONSE_ORDER: [&str; 18] = [
    "crypt_algs",
    "disclosure",
    "logging",
    "sign_algs",
    "compress",
    "init_pubkey",
    "stanzas",
    "hash_algs",
    "ver",
    "sas_algs",
    "resp_pubkey",
    "security",
    "rekey_freq",
    "modp",
    "nonce",
    "my_nonce",
    "counter",
    "dhkeys",
];

/// G16: every field Gajim sends in msg2, msg3 and msg4 is text-single.
const TEXT_SINGLE: &str = "text-single";

fn gajim_text(var: &str, values: Vec<String>) -> Field {
    Field::values(var, Some(TEXT_SINGLE), values)
}

fn gajim_wire(wrapper: Wrapper, form: &DataForm) -> Result<WireForm, Error> {
    let x = form.to_gajim_element();
    let root = match wrapper {
        Wrapper::Init => Element::new("init", NS_INIT).with_child(x),
        _ => Element::new("feature", NS_FEATURE_NEG).with_child(x),
    };
    WireForm::outgoing(root)
}

impl Request {
    /// msg1 in Gajim 0.15.4's layout (GAJIM.md §2 "Message 1", `negotiate_e2e`):
    /// FORM_TYPE, accept (boolean, `<required/>`), logging, disclosure and
    /// security (list-single, `<required/>`), crypt_algs, hash_algs and
    /// compress (hidden), stanzas (list-multi), init_pubkey and resp_pubkey
    /// (list-single), ver, rekey_freq, sas_algs, sign_algs and my_nonce
    /// (hidden), modp (list-single, options labelled `None`), dhhashes (hidden,
    /// multi-valued). Absent optional lists are skipped.
    pub fn to_gajim_form(&self) -> DataForm {
        let o = &self.offer;
        let hidden = |var: &str, values: Vec<String>| Field::values(var, Some("hidden"), values);
        let required = |mut f: Field| {
            f.required = true;
            f
        };
        let mut form = DataForm::new(FormKind::Form);
        let fs = &mut form.fields;
        fs.push(hidden("FORM_TYPE", vec![FORM_TYPE_SSN.to_owned()]));
        fs.push(required(Field::values(
            "accept",
            Some("boolean"),
            vec!["1".to_owned()],
        )));
        for (var, list) in [
            (o.logging_var.var(), &o.logging),
            ("disclosure", &o.disclosure),
            ("security", &o.security),
        ] {
            fs.push(required(Field::options(
                var,
                Some("list-single"),
                list.clone(),
            )));
        }
        fs.push(hidden("crypt_algs", o.crypt_algs.clone()));
        fs.push(hidden("hash_algs", o.hash_algs.clone()));
        fs.push(hidden("compress", o.compress.clone()));
        fs.push(Field::options(
            "stanzas",
            Some("list-multi"),
            o.stanzas.clone(),
        ));
        for (var, list) in [
            ("init_pubkey", &o.init_pubkey),
            ("resp_pubkey", &o.resp_pubkey),
        ] {
            if !list.is_empty() {
                fs.push(Field::options(var, Some("list-single"), list.clone()));
            }
        }
        fs.push(hidden("ver", o.ver.clone()));
        fs.push(hidden("rekey_freq", vec![o.rekey_freq.to_string()]));
        if !o.sas_algs.is_empty() {
            fs.push(hidden("sas_algs", o.sas_algs.clone()));
        }
        if !o.sign_algs.is_empty() {
            fs.push(hidden("sign_algs", o.sign_algs.clone()));
        }
        fs.push(hidden("my_nonce", vec![b64::encode(&o.my_nonce)]));
        // GAJIM.md §2: `options=[[None, y] ...]` makes the label the string "None".
        let mut modp = Field::options(
            "modp",
            Some("list-single"),
            o.modp.iter().map(u32::to_string).collect(),
        );
        for opt in &mut modp.options {
            opt.label = Some("None".to_owned());
        }
        fs.push(modp);
        match &o.dh {
            DhValues::Hashes(h) => fs.push(hidden(
                "dhhashes",
                h.iter().map(|v| b64::encode(v)).collect(),
            )),
            DhValues::Keys(k) => {
                fs.push(hidden("dhkeys", k.iter().map(|v| b64::encode(v)).collect()))
            }
        }
        form
    }
}

impl Response {
    /// msg2 in Gajim 0.15.4's layout (GAJIM.md §2 "Message 2", G16): every
    /// field text-single, accept `true`/`false`, then the fields in
    /// [`GAJIM_RESPONSE_ORDER`], then any other field it carries (identity,
    /// mac) in the default order. [`Response::order`] is not used.
    pub fn to_gajim_form(&self) -> DataForm {
        let mut form = DataForm::new(FormKind::Submit);
        form.fields
            .push(gajim_text("FORM_TYPE", vec![FORM_TYPE_SSN.to_owned()]));
        if let Some(a) = self.accept {
            let v = if a { "true" } else { "false" };
            form.fields.push(gajim_text("accept", vec![v.to_owned()]));
        }
        let mut order: Vec<String> = GAJIM_RESPONSE_ORDER
            .iter()
            .map(|v| {
                if *v == "logging" {
                    self.logging_var.var()
                } else {
                    v
                }
            })
            .filter(|v| self.has_var(v))
            .map(str::to_owned)
            .collect();
        for v in self.default_order() {
            if v != "accept" && !order.contains(&v) {
                order.push(v);
            }
        }
        for v in order {
            if let Some(mut f) = self.field(&v) {
                f.kind = Some(TEXT_SINGLE.to_owned());
                form.fields.push(f);
            }
        }
        form
    }
}

impl AliceAccept {
    /// msg3 in Gajim 0.15.4's layout (GAJIM.md §2 "Message 3" step 4):
    /// FORM_TYPE, accept `1`, nonce, rshashes (multi-valued), dhkeys, identity,
    /// mac, all text-single.
    pub fn to_gajim_form(&self) -> DataForm {
        let mut form = DataForm::new(FormKind::Result);
        let fs = &mut form.fields;
        fs.push(gajim_text("FORM_TYPE", vec![FORM_TYPE_SSN.to_owned()]));
        fs.push(gajim_text("accept", vec![bool_str(self.accept)]));
        fs.push(gajim_text("nonce", vec![b64::encode(&self.nonce)]));
        if !self.rshashes.is_empty() {
            fs.push(gajim_text(
                "rshashes",
                self.rshashes.iter().map(|h| b64::encode(h)).collect(),
            ));
        }
        if let Some(d) = &self.dhkey {
            fs.push(gajim_text("dhkeys", vec![b64::encode(d)]));
        }
        if self.terminate {
            fs.push(gajim_text("terminate", vec![bool_str(true)]));
        }
        fs.push(gajim_text("identity", vec![b64::encode(&self.identity)]));
        fs.push(gajim_text("mac", vec![b64::encode(&self.mac)]));
        form
    }
}

impl BobAccept {
    /// msg4 in Gajim 0.15.4's layout (GAJIM.md §2 "Message 4" step 7):
    /// FORM_TYPE, nonce, srshash, identity, mac, all text-single.
    pub fn to_gajim_form(&self) -> DataForm {
        let mut form = DataForm::new(FormKind::Result);
        let fs = &mut form.fields;
        fs.push(gajim_text("FORM_TYPE", vec![FORM_TYPE_SSN.to_owned()]));
        fs.push(gajim_text("nonce", vec![b64::encode(&self.nonce)]));
        fs.push(gajim_text("srshash", vec![b64::encode(&self.srshash)]));
        fs.push(gajim_text("identity", vec![b64::encode(&self.identity)]));
        fs.push(gajim_text("mac", vec![b64::encode(&self.mac)]));
        form
    }
}

impl Negotiation {
    /// [`Negotiation::to_wire`] in Gajim 0.15.4's layout: msg1-msg4 as the
    /// `to_gajim_form` methods write them, fields via
    /// [`Field::to_gajim_element`]; every other message as `to_wire` writes it
    /// (Gajim's terminate is laid out like ours).
    pub fn to_gajim_wire(&self) -> Result<WireForm, Error> {
        let form = match self {
            Negotiation::Request(r) => r.to_gajim_form(),
            Negotiation::Response(r) => r.to_gajim_form(),
            Negotiation::AliceAccept(a) => a.to_gajim_form(),
            Negotiation::BobAccept(b) => b.to_gajim_form(),
            _ => return self.to_wire(),
        };
        gajim_wire(self.wrapper(), &form)
    }
}

#[cfg(test)]
mod gajim_layout_tests {
    use super::*;

    const SESSIONS: [&str; 2] = [
        include_str!("../../../vectors/sigma/gajim-session-1.json"),
        include_str!("../../../vectors/sigma/gajim-session-2.json"),
    ];

    /// The `<feature/>`/`<init/>` element of a recorded stanza, as sent.
    fn recorded(session: &str, i: usize) -> String {
        let v: serde_json::Value = serde_json::from_str(session).unwrap();
        let xml = v["messages"][i]["xml"].as_str().unwrap();
        let start = xml
            .find("<feature ")
            .or_else(|| xml.find("<init "))
            .unwrap();
        let end = xml.find("<thread>").unwrap();
        xml[start..end].to_owned()
    }

    /// Each recorded Gajim 0.15.4 message, read and written back in the gajim
    /// layout, is the recorded text (xmpppy's `<required />` aside).
    #[test]
    fn gajim_layout_rewrites_the_recorded_messages() {
        for session in SESSIONS {
            for i in 0..4 {
                let text = recorded(session, i);
                let m = Negotiation::parse(&text).unwrap().message;
                let ours = m.to_gajim_wire().unwrap().element().to_xml();
                assert_eq!(
                    ours.replace("<required/>", "<required />"),
                    text,
                    "msg{}",
                    i + 1
                );
            }
        }
    }

    /// The xep layout of the same messages is not Gajim's (D19-D23 unchanged).
    #[test]
    fn xep_layout_differs_from_gajims() {
        let text = recorded(SESSIONS[0], 1);
        let m = Negotiation::parse(&text).unwrap().message;
        assert_ne!(m.to_wire().unwrap().element().to_xml(), text);
    }
}
