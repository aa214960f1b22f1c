//! A small XML writer for EC2 responses: elements in order, text escaped.
//! (EC2 responses are flat sequences of elements; a serde model of every
//! response would be more code than writing them, see docs/adr.)

use std::borrow::Cow;
use std::fmt::Write;

pub struct Xml {
    out: String,
    open: Vec<Cow<'static, str>>,
}

/// Escapes the five XML special characters, keeps a carriage return as
/// `&#xD;` (a parser would turn a raw one into a line feed), and replaces
/// every character XML 1.0 cannot carry at all (control characters other
/// than tab, line feed and carriage return; U+FFFE, U+FFFF) with U+FFFD, so
/// that whatever a text holds, the document stays well-formed.
pub fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c if !xml_char(c) => out.push(char::REPLACEMENT_CHARACTER),
            c => out.push(c),
        }
    }
}

/// `text` with every character XML 1.0 cannot carry replaced with U+FFFD
/// (as [`escape`] does), borrowed when it has none.
pub fn only_xml_chars(text: &str) -> Cow<'_, str> {
    if text.chars().all(xml_char) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(|c| if xml_char(c) { c } else { char::REPLACEMENT_CHARACTER }).collect())
}

/// Whether XML 1.0 allows `c` in a document (its `Char` production).
pub fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `fmt::Write` into a string, escaped (for values written with `write!`).
struct Escaped<'a>(&'a mut String);

impl Write for Escaped<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        escape(s, self.0);
        Ok(())
    }
}

impl Xml {
    /// A response document: `<Root xmlns="namespace">` with the request id.
    pub fn response(root: &'static str, namespace: &str, request_id: &str) -> Xml {
        let mut out = String::with_capacity(1024);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
        out.push_str(root);
        out.push_str(" xmlns=\"");
        escape(namespace, &mut out);
        out.push_str("\">");
        let mut xml = Xml { out, open: vec![Cow::Borrowed(root)] };
        xml.text("requestId", request_id);
        xml
    }

    /// An IAM-style response document (`<ActionResponse xmlns>`, the
    /// request id comes last in `ResponseMetadata`).
    pub fn response_iam(root: &str, namespace: &str) -> Xml {
        let mut out = String::with_capacity(512);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
        out.push_str(root);
        out.push_str(" xmlns=\"");
        escape(namespace, &mut out);
        out.push_str("\">");
        Xml { out, open: vec![Cow::Owned(root.to_owned())] }
    }

    /// A document without a namespace (the error response).
    pub fn bare(root: &'static str) -> Xml {
        let mut out = String::with_capacity(512);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
        out.push_str(root);
        out.push('>');
        Xml { out, open: vec![Cow::Borrowed(root)] }
    }

    pub fn open(&mut self, name: &'static str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self.open.push(Cow::Borrowed(name));
        self
    }

    /// `open` for a name made at run time.
    pub fn open_owned(&mut self, name: String) -> &mut Self {
        self.out.push('<');
        self.out.push_str(&name);
        self.out.push('>');
        self.open.push(Cow::Owned(name));
        self
    }

    pub fn close(&mut self) -> &mut Self {
        let name = self.open.pop().expect("close without open");
        self.out.push_str("</");
        self.out.push_str(&name);
        self.out.push('>');
        self
    }

    /// `<name>text</name>`
    pub fn text(&mut self, name: &str, text: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        escape(text, &mut self.out);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// `<name>value</name>` for numbers and booleans (escaped all the same).
    pub fn display(&mut self, name: &str, value: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.out, "<{name}>");
        let _ = write!(Escaped(&mut self.out), "{value}");
        let _ = write!(self.out, "</{name}>");
        self
    }

    /// `<name>text</name>` when there is a text, nothing otherwise.
    pub fn opt(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        if let Some(t) = text {
            self.text(name, t);
        }
        self
    }

    /// `<name/>`
    pub fn empty(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.out, "<{name}/>");
        self
    }

    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_escaped_nested_documents() {
        let mut x = Xml::response("FooResponse", "http://ec2.amazonaws.com/doc/2016-11-15/", "req-1");
        x.open("set").open("item").text("name", "a<b & 'c'").close().empty("none").display("n", 16);
        let s = x.finish();
        assert_eq!(
            s,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<FooResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
             <requestId>req-1</requestId><set><item><name>a&lt;b &amp; &apos;c&apos;</name></item><none/><n>16</n></set></FooResponse>"
        );
    }

    /// Any text at all, in a text element, an attribute-free namespace and
    /// a number's place, gives a document an XML parser accepts, and
    /// reads back as the text with only what XML cannot carry replaced.
    fn round_trip(text: &str) {
        let mut x = Xml::response("FooResponse", "urn:x", text);
        x.open("set").text("value", text).display("n", text).close();
        let doc = x.finish();
        let parsed = roxmltree::Document::parse(&doc)
            .unwrap_or_else(|e| panic!("not well-formed ({e}) for {text:?}: {doc:?}"));
        let value = parsed.descendants().find(|n| n.has_tag_name("value")).unwrap();
        let expected: String =
            text.chars().map(|c| if xml_char(c) { c } else { char::REPLACEMENT_CHARACTER }).collect();
        assert_eq!(value.text().unwrap_or(""), expected);
    }

    #[test]
    fn control_characters_never_make_a_document_ill_formed() {
        for c in (0u32..0x20).chain([0x7f, 0xfffe, 0xffff]) {
            let c = char::from_u32(c).unwrap();
            round_trip(&format!("a{c}b"));
        }
        round_trip("k\u{1}");
        round_trip("line\r\nnext\r");
    }

    proptest::proptest! {
        #[test]
        fn any_text_renders_well_formed(text in "\\PC*|[\\x00-\\x1f\\u{fffe}\\u{ffff}<>&'\"]*") {
            round_trip(&text);
        }
    }
}
