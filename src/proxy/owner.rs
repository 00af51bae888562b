//! The one owner every bucket, object and upload reports (listings, ACLs, ListParts): the
//! orchestrator presents a single owner for everything.

use crate::s3::xml::XmlWriter;

pub const OWNER_ID: &str = "s3-orchestrator";
pub const OWNER_DISPLAY_NAME: &str = "s3-orchestrator";

/// The `ID` and `DisplayName` of the one owner every bucket and object reports.
pub fn write_owner_fields(w: &mut XmlWriter) {
    w.elem("ID", OWNER_ID);
    w.elem("DisplayName", OWNER_DISPLAY_NAME);
}

/// The owner as an element named `elem` (`Owner`, `Initiator`).
pub fn write_owner(w: &mut XmlWriter, elem: &str) {
    w.open(elem);
    write_owner_fields(w);
    w.close(elem);
}
