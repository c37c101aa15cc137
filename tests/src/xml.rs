//! The XML tree reader the tests check hbgrind's XML output with: the one
//! `hbgrind triage` reads runs with (`hbgrind_report::xml_tree`).

pub use hbgrind_report::xml_tree::{parse_xml, Element};
