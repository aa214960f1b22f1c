//! A small XML writer for EC2 responses: elements in order, text escaped.
//! (EC2 responses are flat sequences of elements; a serde model of every
//! response would be more code than writing them, see docs/adr.)

use std::borrow::Cow;
use std::fmt::Write;

pub struct Xml {
    out: String,
    open: Vec<Cow<'static, str>>,
}

/// Escapes the five XML special characters.
pub fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
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

    /// `<name>value</name>` for numbers and booleans.
    pub fn display(&mut self, name: &str, value: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.out, "<{name}>{value}</{name}>");
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
}
