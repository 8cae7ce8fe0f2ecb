//! What a Subsonic method answers, and its two spellings. A [`Node`] holds
//! attributes and child elements; XML writes them as attributes and
//! elements inside `<subsonic-response>`, JSON as fields, objects and arrays
//! inside `{"subsonic-response": …}`. Whether a child is one object or a list
//! is said when it is added, because JSON needs to know it even for a list
//! of one (or none).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// The Subsonic API version Archive speaks.
pub const API_VERSION: &str = "1.16.1";
/// The namespace of every Subsonic XML answer.
const NAMESPACE: &str = "http://subsonic.org/restapi";

/// An attribute's value: JSON keeps its type, XML writes it as text.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Text(String),
    Int(i64),
    Bool(bool),
}

impl From<&str> for Scalar {
    fn from(v: &str) -> Self {
        Scalar::Text(v.to_owned())
    }
}
impl From<String> for Scalar {
    fn from(v: String) -> Self {
        Scalar::Text(v)
    }
}
impl From<i64> for Scalar {
    fn from(v: i64) -> Self {
        Scalar::Int(v)
    }
}
impl From<bool> for Scalar {
    fn from(v: bool) -> Self {
        Scalar::Bool(v)
    }
}

/// In JSON, a value keeps its type.
impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Scalar::Text(text) => serializer.serialize_str(text),
            Scalar::Int(n) => serializer.serialize_i64(*n),
            Scalar::Bool(b) => serializer.serialize_bool(*b),
        }
    }
}

impl Scalar {
    fn to_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Scalar::Text(text) => text.as_str().into(),
            Scalar::Int(n) => n.to_string().into(),
            Scalar::Bool(b) => (if *b { "true" } else { "false" }).into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Children {
    One(Node),
    Many(Vec<Node>),
    /// Elements holding only text (a JSON array of values).
    Values(Vec<Scalar>),
}

/// One element of an answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    attributes: Vec<(&'static str, Scalar)>,
    children: Vec<(&'static str, Children)>,
    /// The element's text (JSON: its `value` field).
    text: Option<String>,
}

impl Node {
    pub fn new() -> Node {
        Node::default()
    }

    pub fn attr(mut self, name: &'static str, value: impl Into<Scalar>) -> Node {
        self.attributes.push((name, value.into()));
        self
    }

    /// An attribute that is left out when there is no value.
    pub fn maybe(self, name: &'static str, value: Option<impl Into<Scalar>>) -> Node {
        match value {
            Some(value) => self.attr(name, value),
            None => self,
        }
    }

    /// One child element (a JSON object).
    pub fn child(mut self, name: &'static str, node: Node) -> Node {
        self.children.push((name, Children::One(node)));
        self
    }

    /// Repeated child elements (a JSON array, even of one or none).
    pub fn list(mut self, name: &'static str, nodes: Vec<Node>) -> Node {
        self.children.push((name, Children::Many(nodes)));
        self
    }

    /// Repeated elements holding one value each (a JSON array of values).
    pub fn values(mut self, name: &'static str, values: Vec<Scalar>) -> Node {
        self.children.push((name, Children::Values(values)));
        self
    }

    /// The element's text.
    pub fn text(mut self, text: impl Into<String>) -> Node {
        self.text = Some(text.into());
        self
    }

    /// This node's attributes and children after `other`'s.
    fn append_to(self, mut other: Node) -> Node {
        other.attributes.extend(self.attributes);
        other.children.extend(self.children);
        other
    }

    fn write_xml(&self, name: &str, writer: &mut Writer<Vec<u8>>, namespace: bool) -> std::io::Result<()> {
        let mut start = BytesStart::new(name);
        if namespace {
            start.push_attribute(("xmlns", NAMESPACE));
        }
        for (attribute, value) in &self.attributes {
            start.push_attribute((*attribute, value.to_text().as_ref()));
        }
        if self.children.is_empty() && self.text.is_none() {
            return writer.write_event(Event::Empty(start));
        }
        writer.write_event(Event::Start(start))?;
        if let Some(text) = &self.text {
            writer.write_event(Event::Text(BytesText::new(text)))?;
        }
        for (child, children) in &self.children {
            match children {
                Children::One(node) => node.write_xml(child, writer, false)?,
                Children::Many(nodes) => {
                    for node in nodes {
                        node.write_xml(child, writer, false)?;
                    }
                }
                Children::Values(values) => {
                    for value in values {
                        writer.write_event(Event::Start(BytesStart::new(*child)))?;
                        writer.write_event(Event::Text(BytesText::new(value.to_text().as_ref())))?;
                        writer.write_event(Event::End(BytesEnd::new(*child)))?;
                    }
                }
            }
        }
        writer.write_event(Event::End(BytesEnd::new(name)))
    }
}

/// In JSON, a node is an object: its attributes, then its children (a
/// list as an array), then its text as `value`. Written straight from the
/// tree, without an intermediate JSON value.
impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = self.attributes.len() + self.children.len() + usize::from(self.text.is_some());
        let mut map = serializer.serialize_map(Some(fields))?;
        for (name, value) in &self.attributes {
            map.serialize_entry(name, value)?;
        }
        for (name, children) in &self.children {
            match children {
                Children::One(node) => map.serialize_entry(name, node)?,
                Children::Many(nodes) => map.serialize_entry(name, nodes)?,
                Children::Values(values) => map.serialize_entry(name, values)?,
            }
        }
        if let Some(text) = &self.text {
            map.serialize_entry("value", text)?;
        }
        map.end()
    }
}

/// The JSON answer: `{"subsonic-response": …}`.
#[derive(serde::Serialize)]
struct JsonAnswer<'a> {
    #[serde(rename = "subsonic-response")]
    response: &'a Node,
}

/// How the client asked to be answered (`f`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
    /// JSON wrapped in a call of this function.
    Jsonp(String),
}

impl Format {
    /// From `f` and `callback`; unknown formats are answered in XML.
    pub fn from_params(f: Option<&str>, callback: Option<&str>) -> Format {
        match (f, callback) {
            (Some("json"), _) => Format::Json,
            (Some("jsonp"), Some(callback)) if is_js_name(callback) => Format::Jsonp(callback.to_owned()),
            (Some("jsonp"), _) => Format::Json,
            _ => Format::Xml,
        }
    }
}

/// A JavaScript function name (letters, digits, `_`, `$`, `.`): nothing
/// else is echoed back into a script.
fn is_js_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.'))
}

/// A whole answer: `ok` with its payload, or `failed` with an error.
pub struct Envelope {
    pub ok: bool,
    /// What goes inside `subsonic-response` besides its own attributes.
    pub body: Node,
}

impl Envelope {
    fn root(self) -> Node {
        let root = Node::new()
            .attr("status", if self.ok { "ok" } else { "failed" })
            .attr("version", API_VERSION)
            .attr("type", "archive")
            .attr("serverVersion", env!("CARGO_PKG_VERSION"))
            .attr("openSubsonic", true);
        self.body.append_to(root)
    }

    /// The answer in `format`, always HTTP 200 (Subsonic reports failures in the body).
    pub fn render(self, format: &Format) -> Response {
        let root = self.root();
        match format {
            Format::Xml => {
                let mut writer = Writer::new(Vec::new());
                let written = writer
                    .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
                    .and_then(|()| root.write_xml("subsonic-response", &mut writer, true));
                if let Err(e) = written {
                    tracing::error!(error = %e, "cannot write a Subsonic answer");
                }
                let xml = writer.into_inner();
                ([(header::CONTENT_TYPE, HeaderValue::from_static("text/xml; charset=utf-8"))], xml)
                    .into_response()
            }
            Format::Json => {
                let body = json_text(&root);
                ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
            }
            Format::Jsonp(callback) => {
                let body = json_text(&root);
                let script = format!("{callback}({body});");
                ([(header::CONTENT_TYPE, HeaderValue::from_static("application/javascript"))], script)
                    .into_response()
            }
        }
    }
}

fn json_text(root: &Node) -> String {
    serde_json::to_string(&JsonAnswer { response: root }).unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot write a Subsonic answer");
        String::new()
    })
}
