//! Indenting XML for `--pretty` output (display only: what is MACed is always
//! the compact text).

use quick_xml::events::Event;
use quick_xml::{Reader, Writer};

/// Re-indents `xml` with two spaces; returns it unchanged if it does not parse.
pub(crate) fn indent(xml: &str) -> String {
    let mut reader = Reader::from_str(xml);
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(e) => {
                if writer.write_event(e).is_err() {
                    return xml.to_owned();
                }
            }
            Err(_) => return xml.to_owned(),
        }
    }
    String::from_utf8(writer.into_inner()).unwrap_or_else(|_| xml.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn indents_nested_elements() {
        let s = super::indent("<message><thread>t</thread><c><data>x</data></c></message>");
        assert_eq!(
            s,
            "<message>\n  <thread>t</thread>\n  <c>\n    <data>x</data>\n  </c>\n</message>"
        );
        assert_eq!(super::indent("<a"), "<a");
    }
}
