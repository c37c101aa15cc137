//! A small XML tree read with quick-xml: the well-formedness check and
//! reader of protocol-4 documents that `hbgrind triage` and the tests share.

use quick_xml::events::Event;

/// An XML element: name, text (trimmed, concatenated) and children.
#[derive(Debug, Default)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child named `name`.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }
}

/// Parses a whole document (well-formedness: matching end tags, one root,
/// valid escapes, no character data outside the root); an error names the
/// byte position or what is wrong.
pub fn parse_xml(text: &str) -> Result<Element, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Element> = vec![Element::default()];
    let named = |name: &[u8]| Element {
        name: String::from_utf8_lossy(name).into_owned(),
        ..Element::default()
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|err| format!("at byte {}: {err}", reader.buffer_position()))?;
        match event {
            Event::Start(e) => stack.push(named(e.name().as_ref())),
            Event::Empty(e) => stack
                .last_mut()
                .ok_or("no document")?
                .children
                .push(named(e.name().as_ref())),
            Event::End(_) => {
                let done = stack.pop().ok_or("unbalanced")?;
                stack
                    .last_mut()
                    .ok_or("more end tags than start tags")?
                    .children
                    .push(done);
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(|err| err.to_string())?;
                if stack.len() == 1 && !text.trim().is_empty() {
                    return Err(format!("text outside the root element: {text:?}"));
                }
                stack.last_mut().ok_or("no document")?.text.push_str(&text);
            }
            Event::CData(t) => {
                let text = String::from_utf8_lossy(&t).into_owned();
                stack.last_mut().ok_or("no document")?.text.push_str(&text);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut document = stack.pop().ok_or("unbalanced document")?;
    if !stack.is_empty() {
        return Err(format!("{} elements not closed at the end", stack.len()));
    }
    if document.children.len() != 1 {
        return Err(format!(
            "{} root elements, not one",
            document.children.len()
        ));
    }
    Ok(document.children.remove(0))
}
