//! XEP-0004 data forms (`jabber:x:data`), generically: the layer under the typed
//! ESession messages of [`crate::negotiation`].
//!
//! Reading is tolerant as DECISIONS D24 asks: field order, `type` attributes,
//! labels, `<required/>`, `<desc/>` and unknown fields do not matter, and values
//! are never trimmed. It is strict on size ([`crate::limits`]) and on duplicate
//! vars. Writing follows D19: no text between elements, no empty elements.

use crate::Error;
use crate::NS_DATA;
use crate::error::wire_name;
use crate::limits::{MAX_FIELDS, MAX_VALUE_BYTES, MAX_VALUES_PER_FIELD};
use crate::xml::Element;

/// The `type` of a data form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormKind {
    /// `form`: a request (msg1, the XEP-0187 options form).
    Form,
    /// `submit`: a response (msg2, Bob's offline init, terminate, decline).
    Submit,
    /// `result`: msg3, msg4, the terminate acknowledgement.
    Result,
    /// `cancel`.
    Cancel,
}

impl FormKind {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            FormKind::Form => "form",
            FormKind::Submit => "submit",
            FormKind::Result => "result",
            FormKind::Cancel => "cancel",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "form" => FormKind::Form,
            "submit" => FormKind::Submit,
            "result" => FormKind::Result,
            "cancel" => FormKind::Cancel,
            _ => return None,
        })
    }
}

/// One `<option/>` of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldOption {
    /// The `label` attribute (Gajim sends `label="None"`).
    pub label: Option<String>,
    /// The option's `<value/>`.
    pub value: String,
}

/// One `<field/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The `var` attribute.
    pub var: String,
    /// The `type` attribute, as written.
    pub kind: Option<String>,
    /// The `label` attribute.
    pub label: Option<String>,
    /// The `<value/>` children, in order.
    pub values: Vec<String>,
    /// The `<option/>` children, in order.
    pub options: Vec<FieldOption>,
    /// Whether `<required/>` was present (never written, D19).
    pub required: bool,
}

impl Field {
    /// A field with a type and values.
    pub fn values(var: &str, kind: Option<&str>, values: Vec<String>) -> Self {
        Field {
            var: var.to_owned(),
            kind: kind.map(str::to_owned),
            label: None,
            values,
            options: Vec::new(),
            required: false,
        }
    }

    /// A field offering options.
    pub fn options(var: &str, kind: Option<&str>, options: Vec<String>) -> Self {
        Field {
            var: var.to_owned(),
            kind: kind.map(str::to_owned),
            label: None,
            values: Vec::new(),
            options: options
                .into_iter()
                .map(|value| FieldOption { label: None, value })
                .collect(),
            required: false,
        }
    }

    /// The choices this field offers: its options if it has any, otherwise its
    /// values (DECISIONS D20: a single hidden or text value is the only option).
    pub fn choices(&self) -> Vec<&str> {
        if self.options.is_empty() {
            self.values.iter().map(String::as_str).collect()
        } else {
            self.options.iter().map(|o| o.value.as_str()).collect()
        }
    }

    fn to_element(&self) -> Element {
        let mut f = Element::new("field", NS_DATA);
        if let Some(k) = &self.kind {
            f.set_attr("type", k.clone());
        }
        f.set_attr("var", self.var.clone());
        if let Some(l) = &self.label {
            f.set_attr("label", l.clone());
        }
        for v in &self.values {
            f.push_child(Element::new("value", NS_DATA).with_text(v.clone()));
        }
        for o in &self.options {
            let mut opt = Element::new("option", NS_DATA);
            if let Some(l) = &o.label {
                opt.set_attr("label", l.clone());
            }
            opt.push_child(Element::new("value", NS_DATA).with_text(o.value.clone()));
            f.push_child(opt);
        }
        f
    }
}

impl Field {
    /// A field the way Gajim 0.15.4's `DataField` lays it out (GAJIM.md §2
    /// "Element order inside a field", G16): attributes `var` then `type`
    /// (then `label`), then the `<value/>`s, then `<required/>` if
    /// [`Field::required`], then the `<option/>`s with their labels. Only the
    /// gajim profile writes this; [`DataForm::to_element`] is unchanged (D19).
    pub fn to_gajim_element(&self) -> Element {
        let mut f = Element::new("field", NS_DATA);
        f.set_attr("var", self.var.clone());
        if let Some(k) = &self.kind {
            f.set_attr("type", k.clone());
        }
        if let Some(l) = &self.label {
            f.set_attr("label", l.clone());
        }
        for v in &self.values {
            f.push_child(Element::new("value", NS_DATA).with_text(v.clone()));
        }
        if self.required {
            f.push_child(Element::new("required", NS_DATA));
        }
        for o in &self.options {
            let mut opt = Element::new("option", NS_DATA);
            if let Some(l) = &o.label {
                opt.set_attr("label", l.clone());
            }
            opt.push_child(Element::new("value", NS_DATA).with_text(o.value.clone()));
            f.push_child(opt);
        }
        f
    }
}

/// A parsed `<x xmlns='jabber:x:data'/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataForm {
    /// The form's `type`.
    pub kind: FormKind,
    /// The fields with a var, in document order.
    pub fields: Vec<Field>,
}

impl DataForm {
    /// An empty form of this kind.
    pub fn new(kind: FormKind) -> Self {
        DataForm {
            kind,
            fields: Vec::new(),
        }
    }

    /// The field with this var.
    pub fn field(&self, var: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.var == var)
    }

    /// The value of the FORM_TYPE field, if present.
    pub fn form_type(&self) -> Option<&str> {
        self.field("FORM_TYPE")
            .and_then(|f| f.values.first())
            .map(String::as_str)
    }

    /// Reads a form from its `<x/>` element.
    pub fn from_element(x: &Element) -> Result<Self, Error> {
        if !x.is("x", NS_DATA) {
            return Err(Error::UnexpectedElement {
                expected: "{jabber:x:data}x",
                found: wire_name(x.name()),
            });
        }
        let kind = x
            .attr("type")
            .ok_or(Error::MissingAttribute {
                element: "x",
                attribute: "type",
            })
            .and_then(|t| {
                FormKind::parse(t).ok_or_else(|| Error::UnexpectedElement {
                    expected: "x type form|submit|result|cancel",
                    found: wire_name(t),
                })
            })?;
        let mut fields: Vec<Field> = Vec::new();
        for child in x.children() {
            if !child.is("field", NS_DATA) {
                // <title/>, <instructions/>, <reported/>, <item/>: not read here,
                // but they stay in the normalized bytes (D16).
                continue;
            }
            let Some(var) = child.attr("var") else {
                // A var-less field can only be type 'fixed' (XEP-0004 §3.2).
                continue;
            };
            if fields.len() >= MAX_FIELDS {
                return Err(Error::TooLarge {
                    what: "fields in one form",
                    len: fields.len() + 1,
                    max: MAX_FIELDS,
                });
            }
            if fields.iter().any(|f| f.var == var) {
                return Err(Error::DuplicateField(wire_name(var)));
            }
            fields.push(read_field(child, var)?);
        }
        Ok(DataForm { kind, fields })
    }

    /// Writes the form as `<x xmlns='jabber:x:data' type=...>` (D19).
    pub fn to_element(&self) -> Element {
        let mut x = Element::new("x", NS_DATA).with_attr("type", self.kind.as_str());
        for f in &self.fields {
            x.push_child(f.to_element());
        }
        x
    }
}

impl DataForm {
    /// Writes the form with every field in Gajim 0.15.4's layout
    /// ([`Field::to_gajim_element`]); the gajim profile's counterpart of
    /// [`DataForm::to_element`].
    pub fn to_gajim_element(&self) -> Element {
        let mut x = Element::new("x", NS_DATA).with_attr("type", self.kind.as_str());
        for f in &self.fields {
            x.push_child(f.to_gajim_element());
        }
        x
    }
}

fn read_field(el: &Element, var: &str) -> Result<Field, Error> {
    let mut field = Field {
        var: var.to_owned(),
        kind: el.attr("type").map(str::to_owned),
        label: el.attr("label").map(str::to_owned),
        values: Vec::new(),
        options: Vec::new(),
        required: false,
    };
    let mut count = 0usize;
    for c in el.children() {
        if c.ns() != NS_DATA {
            continue;
        }
        match c.name() {
            "value" => {
                count += 1;
                field.values.push(leaf_text(c, var)?);
            }
            "option" => {
                count += 1;
                let mut value = None;
                for v in c.children() {
                    if v.is("value", NS_DATA) {
                        if value.is_some() {
                            return Err(Error::invalid(var, "option with more than one value"));
                        }
                        value = Some(leaf_text(v, var)?);
                    }
                }
                let value = value.ok_or_else(|| Error::invalid(var, "option without a value"))?;
                field.options.push(FieldOption {
                    label: c.attr("label").map(str::to_owned),
                    value,
                });
            }
            "required" => field.required = true,
            _ => {}
        }
        if count > MAX_VALUES_PER_FIELD {
            return Err(Error::TooLarge {
                what: "values in one field",
                len: count,
                max: MAX_VALUES_PER_FIELD,
            });
        }
    }
    Ok(field)
}

fn leaf_text(el: &Element, var: &str) -> Result<String, Error> {
    if el.has_child_elements() {
        return Err(Error::invalid(var, "value with child elements"));
    }
    let t = el.text();
    if t.len() > MAX_VALUE_BYTES {
        return Err(Error::TooLarge {
            what: "bytes in one value",
            len: t.len(),
            max: MAX_VALUE_BYTES,
        });
    }
    Ok(t)
}
