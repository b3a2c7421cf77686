//! The portable form of an inventory (`pgca inventory export`): one file, a header line, then
//! every committed event in order, one JSON object per line as pgca writes it to
//! `inventory.jsonl`, without the commit lines that frame its batches:
//!
//! ```text
//! {"format":"pgca-inventory","version":1,"events":3,"sha256":"9f2c…"}
//! {"event":"issued","serial":"…","kind":"server-ca",…}
//! {"event":"issued","serial":"…","kind":"client-ca",…}
//! {"event":"issued","serial":"…","kind":"server","name":"db1",…}
//! ```
//!
//! The header counts the event lines and carries the SHA-256 of their bytes (newlines
//! included), so that whoever reads the file back can tell a complete one from a cut or an
//! edited one. Events are written in their one serialised form: exporting the same inventory
//! twice gives the same bytes, and an inventory loaded from an export exports to it again.

use ring::digest;
use serde::{Deserialize, Serialize};

use crate::inventory::Event;

/// What the header's `format` says.
pub const EXPORT_FORMAT: &str = "pgca-inventory";
/// The version of the format this pgca writes.
pub const EXPORT_VERSION: u32 = 1;

/// The first line of an export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExportHeader {
    /// Always [`EXPORT_FORMAT`].
    pub format: String,
    /// [`EXPORT_VERSION`] for this pgca.
    pub version: u32,
    /// How many event lines follow.
    pub events: usize,
    /// The SHA-256 (hex) of the event lines' bytes, newlines included.
    pub sha256: String,
}

/// The export of `events`: its bytes and its header.
pub(crate) fn encode(events: &[Event]) -> (Vec<u8>, ExportHeader) {
    let lines = crate::inventory::log::event_lines(events);
    let header = ExportHeader {
        format: EXPORT_FORMAT.to_string(),
        version: EXPORT_VERSION,
        events: events.len(),
        sha256: crate::model::hex::lower(digest::digest(&digest::SHA256, &lines).as_ref()),
    };
    let mut out = serde_json::to_vec(&header).expect("the header serialises");
    out.push(b'\n');
    out.extend_from_slice(&lines);
    (out, header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_counts_and_hashes_the_lines_that_follow() {
        let (bytes, header) = encode(&[]);
        assert_eq!(header.events, 0);
        assert_eq!(
            header.sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(
            text,
            format!(
                "{{\"format\":\"pgca-inventory\",\"version\":1,\"events\":0,\"sha256\":\"{}\"}}\n",
                header.sha256
            )
        );
    }
}
