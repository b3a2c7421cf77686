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

/// Why an export cannot be read back: one line.
pub(crate) type Refusal = String;

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

/// The events of an export, checked against its header: the format and version this pgca
/// writes, as many event lines as the header counts, their SHA-256 the header's, each line an
/// event. `Err` says what does not fit (the 1-based line where there is one).
pub(crate) fn decode(bytes: &[u8]) -> Result<(ExportHeader, Vec<Event>), Refusal> {
    let (first, lines) = match memchr::memchr(b'\n', bytes) {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => return Err("no header line: not a pgca inventory export".into()),
    };
    let header: ExportHeader = serde_json::from_slice(first)
        .map_err(|e| format!("line 1 is not an export header: {e}"))?;
    if header.format != EXPORT_FORMAT {
        return Err(format!(
            "line 1 says format {:?}, not {EXPORT_FORMAT:?}",
            header.format
        ));
    }
    if header.version != EXPORT_VERSION {
        return Err(format!(
            "format version {} (this pgca reads version {EXPORT_VERSION})",
            header.version
        ));
    }
    if !lines.is_empty() && !lines.ends_with(b"\n") {
        return Err("the last line has no newline: the file was cut short".into());
    }
    let sha = crate::model::hex::lower(digest::digest(&digest::SHA256, lines).as_ref());
    let count = lines.iter().filter(|b| **b == b'\n').count();
    if count != header.events {
        return Err(format!(
            "the header counts {} events, the file holds {count} lines after it",
            header.events
        ));
    }
    if sha != header.sha256 {
        return Err(format!(
            "the event lines hash to {sha}, the header says {}: the file was changed",
            header.sha256
        ));
    }
    let mut events = Vec::with_capacity(count);
    for (i, line) in lines.split(|b| *b == b'\n').take(count).enumerate() {
        let event: Event = serde_json::from_slice(line)
            .map_err(|e| format!("line {} is not an inventory event: {e}", i + 2))?;
        events.push(event);
    }
    Ok((header, events))
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

    #[test]
    fn decode_reads_back_what_encode_wrote_and_refuses_a_changed_file() {
        let (bytes, header) = encode(&[]);
        assert_eq!(decode(&bytes).unwrap(), (header, Vec::new()));
        let bad = [
            (b"".to_vec(), "no header line"),
            (b"{}\n".to_vec(), "line 1 is not an export header"),
            (
                [bytes.as_slice(), b"{\"event\":\"nothing\"}\n"].concat(),
                "the header counts 0 events, the file holds 1",
            ),
            (
                String::from_utf8(bytes.clone())
                    .unwrap()
                    .replace("\"version\":1", "\"version\":2")
                    .into_bytes(),
                "format version 2",
            ),
        ];
        for (input, want) in bad {
            let got = decode(&input).unwrap_err();
            assert!(got.contains(want), "{got:?} should say {want:?}");
        }
    }
}
