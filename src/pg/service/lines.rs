//! How libpq cuts a service file into lines: its `fgets(buf, 1024, f)` loop, a NUL ending the
//! C string, white space trimmed, and what kind of line each one is (see the rules in the
//! [service module](super) documentation).

use std::ops::Range;

/// The most bytes libpq reads in one line before its `\n` (the `\r` of a CRLF line counts):
/// `fgets` into a 1024-byte buffer, and libpq refuses a line that fills 1023 bytes.
pub const MAX_LINE_BYTES: usize = 1021;

/// The size of libpq's line buffer.
const LINE_BUFFER: usize = 1024;

/// One line as libpq's `fgets` loop reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Record {
    /// The line's bytes in the file, its newline included.
    pub(super) raw: Range<usize>,
    /// What libpq looks at: up to a NUL, white space trimmed at both ends.
    pub(super) text: Range<usize>,
    pub(super) kind: Kind,
}

/// What a line is to libpq.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Blank,
    Comment,
    Header,
    /// `key=value`; `eq` is the offset of the first `=` in the file.
    Setting {
        eq: usize,
    },
    NoEquals,
    Ldap,
    TooLong,
}

impl Kind {
    /// Blank or a comment: a line libpq skips.
    pub(super) fn is_gap(self) -> bool {
        matches!(self, Kind::Blank | Kind::Comment)
    }
}

/// Splits `bytes` into lines exactly as libpq's `fgets(buf, 1024, f)` loop does.
pub(super) fn split_lines(bytes: &[u8]) -> Vec<Record> {
    let mut records = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        // fgets: at most 1023 bytes, up to and including a newline.
        let limit = (pos + LINE_BUFFER - 1).min(bytes.len());
        let end = bytes[pos..limit]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(limit, |i| pos + i + 1);
        // libpq looks at a C string: a NUL ends it.
        let c_end = bytes[pos..end]
            .iter()
            .position(|&b| b == 0)
            .map_or(end, |i| pos + i);
        if c_end - pos >= LINE_BUFFER - 1 {
            // `line N too long`: libpq stops reading here. The rest of the line stays with it.
            let raw_end = if bytes[end - 1] == b'\n' {
                end
            } else {
                bytes[end..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |i| end + i + 1)
            };
            records.push(Record {
                raw: pos..raw_end,
                text: pos..pos,
                kind: Kind::TooLong,
            });
            pos = raw_end;
            continue;
        }
        let (mut a, mut b) = (pos, c_end);
        while b > a && is_c_space(bytes[b - 1]) {
            b -= 1;
        }
        while a < b && is_c_space(bytes[a]) {
            a += 1;
        }
        let text = &bytes[a..b];
        let kind = match text.first() {
            None => Kind::Blank,
            Some(b'#') => Kind::Comment,
            Some(b'[') => Kind::Header,
            Some(_) if text.starts_with(b"ldap") => Kind::Ldap,
            Some(_) => match text.iter().position(|&c| c == b'=') {
                Some(i) => Kind::Setting { eq: a + i },
                None => Kind::NoEquals,
            },
        };
        records.push(Record {
            raw: pos..end,
            text: a..b,
            kind,
        });
        pos = end;
    }
    records
}

/// C's `isspace` in the C locale.
pub(super) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The bytes as text, invalid UTF-8 replaced by U+FFFD.
pub(super) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::super::section::ProblemKind;
    use super::super::testing::{file, owned, pairs, problems};

    #[test]
    fn white_space_is_trimmed_at_both_ends_and_crlf_works() {
        let f = file(" \t [a]  \r\n \t host=h1 \t\r\n\x0bport=5432\x0c\r\n");
        assert_eq!(
            pairs(&f, "a").unwrap(),
            owned(&[("host", "h1"), ("port", "5432")])
        );
        assert!(f.get("a").unwrap().problems.is_empty());
    }

    #[test]
    fn blank_lines_and_comments_are_skipped_but_there_are_no_inline_comments() {
        let f = file(
            "[a]\n\n   \n# host=commented\n  \t#port=1\nhost=h # not a comment\n\
             dbname=a=b\napplication_name=#x\n",
        );
        assert_eq!(
            pairs(&f, "a").unwrap(),
            owned(&[
                ("host", "h # not a comment"),
                ("dbname", "a=b"),
                ("application_name", "#x")
            ])
        );
        // `;` is no comment character for libpq.
        let f = file("[a]\n; c\n");
        assert_eq!(problems(&f, "a"), [(2, ProblemKind::NoEquals)]);
    }

    #[test]
    fn spaces_around_equals_are_part_of_the_key_or_value() {
        let f = file("[a]\ndbname = x\ndbname =y\nuser= x\n");
        assert_eq!(
            problems(&f, "a"),
            [
                (2, ProblemKind::UnknownKey("dbname ".into())),
                (3, ProblemKind::UnknownKey("dbname ".into()))
            ]
        );
        // The leading space of a value is kept: only the line is trimmed.
        assert_eq!(pairs(&f, "a").unwrap(), owned(&[("user", " x")]));
        assert_eq!(
            f.get("a").unwrap().problems[0].to_string(),
            "line 2 has the key \"dbname \", which libpq does not know (no spaces around '=')"
        );
    }

    /// A line of `n` bytes before its ending.
    fn line_of(n: usize) -> String {
        format!("host={}", "h".repeat(n - 5))
    }

    #[test]
    fn lines_of_more_than_1021_bytes_are_too_long() {
        let ok = file(format!("[a]\n{}\n", line_of(1021)));
        assert!(ok.get("a").unwrap().problems.is_empty());
        assert_eq!(ok.get("a").unwrap().entries[0].value.len(), 1016);
        let long = file(format!("[a]\n{}\nport=1\n", line_of(1022)));
        assert_eq!(problems(&long, "a"), [(2, ProblemKind::TooLong)]);
        // The rest of the long line is not a line of its own.
        assert_eq!(pairs(&long, "a").unwrap(), owned(&[("port", "1")]));
        // CRLF: the \r counts.
        let ok = file(format!("[a]\r\n{}\r\n", line_of(1020)));
        assert!(ok.get("a").unwrap().problems.is_empty());
        let long = file(format!("[a]\r\n{}\r\n", line_of(1021)));
        assert_eq!(problems(&long, "a"), [(2, ProblemKind::TooLong)]);
        // The last line needs no newline, so it may be one byte longer.
        let ok = file(format!("[a]\n{}", line_of(1022)));
        assert!(ok.get("a").unwrap().problems.is_empty());
        let long = file(format!("[a]\n{}", line_of(1023)));
        assert_eq!(problems(&long, "a"), [(2, ProblemKind::TooLong)]);
        // Comments are read into the same buffer.
        let long = file(format!("[a]\n#{}\n", "c".repeat(1021)));
        assert_eq!(problems(&long, "a"), [(2, ProblemKind::TooLong)]);
        assert_eq!(
            long.get("a").unwrap().problems[0].to_string(),
            "line 2 is too long: libpq reads at most 1021 characters a line"
        );
    }

    #[test]
    fn a_nul_ends_the_line_and_fgets_pieces_become_lines() {
        let f = file(b"[a]\nhost=x\0junk\n\0[b]\n".to_vec());
        assert_eq!(pairs(&f, "a").unwrap(), owned(&[("host", "x")]));
        assert_eq!(f.sections().len(), 1);
        // 1023 bytes holding a NUL are no error, and the rest of that line is a line of its own:
        // libpq sees a section here.
        let mut b = b"#\0".to_vec();
        b.extend(std::iter::repeat_n(b'x', 1021));
        b.extend_from_slice(b"[evil]\nhost=attacker\n");
        let f = file(b.clone());
        assert_eq!(f.get("evil").unwrap().line, 2);
        assert_eq!(pairs(&f, "evil").unwrap(), owned(&[("host", "attacker")]));
        assert_eq!(f.to_bytes(), b);
    }
}
