//! [`ServiceFile`]: a service file's bytes and lines, each service read as libpq reads it, and
//! the edits ([`ServiceFile::upsert`], [`ServiceFile::remove`]) that touch one section and
//! leave every other byte alone.

use std::path::{Path, PathBuf};

use super::lines::{Kind, Record, is_c_space, lossy, split_lines};
use super::rules::{LIBPQ_KEYWORDS, check_entry, check_name};
use super::section::{Entry, Problem, ProblemKind, Section};
use crate::error::{Error, Result};

/// A service file: its bytes, and its lines as libpq reads them.
///
/// Parsing never fails: any bytes are a service file, and [`ServiceFile::to_bytes`] gives them
/// back unchanged until an edit. The path is only used in messages and by
/// [`ServiceFile::save`].
///
/// # Examples
///
/// ```
/// use pgca::pg::service::{ServiceFile, Upserted};
///
/// let mut file = ServiceFile::parse(
///     "/home/alice/.pg_service.conf",
///     "# my services\n[legacy]\nhost=old.example.com\n",
/// );
/// let added = file.upsert(
///     "prod",
///     &[("host", "db.example.com"), ("user", "alice"), ("sslmode", "verify-full")],
///     false,
/// )?;
/// assert_eq!(added, Upserted::Added);
/// assert_eq!(
///     file.to_bytes(),
///     b"# my services\n[legacy]\nhost=old.example.com\n\n\
///       [prod]\nhost=db.example.com\nuser=alice\nsslmode=verify-full\n"
/// );
/// assert_eq!(file.get("prod").unwrap().entries[1].value, "alice");
///
/// // A role name cannot smuggle in a section of its own, and a refused edit changes nothing.
/// let before = file.to_bytes();
/// let e = file.upsert("x", &[("user", "x\n[evil]\nhost=attacker")], false).unwrap_err();
/// assert!(e.to_string().contains("control characters"), "{e}");
/// assert_eq!(file.to_bytes(), before);
/// # Ok::<(), pgca::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceFile {
    path: PathBuf,
    bytes: Vec<u8>,
    records: Vec<Record>,
}

/// What [`ServiceFile::upsert`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upserted {
    /// The service was new: its section was added at the end of the file.
    Added,
    /// The service existed: its section was replaced where it was.
    Replaced,
}

impl ServiceFile {
    /// An empty service file at `path` (not created until [`ServiceFile::save`]).
    pub fn new(path: impl Into<PathBuf>) -> ServiceFile {
        ServiceFile::parse(path, Vec::new())
    }

    /// Reads `bytes` as libpq would. Never fails: problems are reported per section.
    pub fn parse(path: impl Into<PathBuf>, bytes: impl Into<Vec<u8>>) -> ServiceFile {
        let bytes = bytes.into();
        let records = split_lines(&bytes);
        ServiceFile {
            path: path.into(),
            bytes,
            records,
        }
    }

    /// The path given to [`ServiceFile::parse`], [`ServiceFile::new`] or `read_file`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's bytes, with the edits made so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The file's bytes, with the edits made so far: exactly the bytes parsed when nothing was
    /// changed.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// Whether the file has no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Every section in file order, each read as libpq would read it were it the first of its
    /// name (see [`Section::shadowed_by`]).
    pub fn sections(&self) -> Vec<Section> {
        let headers: Vec<usize> = self.header_indices().collect();
        headers
            .iter()
            .enumerate()
            .map(|(n, &h)| Section {
                shadowed_by: headers[..n]
                    .iter()
                    .find(|&&earlier| self.header_name(earlier) == self.header_name(h))
                    .map(|earlier| earlier + 1),
                ..self.section_at(h, false)
            })
            .collect()
    }

    /// The service `name` as libpq reads it from this file: the first section of that name,
    /// the first occurrence of each key. `None` when the file does not hold the service (libpq
    /// would then look in the system-wide file).
    pub fn get(&self, name: &str) -> Option<Section> {
        let h = *self.headers_for(name).first()?;
        Some(self.section_at(h, true))
    }

    /// Writes the service `name` with `entries` as `key=value` lines, in the order given.
    ///
    /// A new service is added at the end of the file, after a blank line when the file is not
    /// empty, with the file's line ending (that of its first line). An existing service is
    /// replaced in place when `force` is set (see the module documentation for what the section
    /// is), and refused otherwise. A file holding the service more than once is refused either
    /// way. On any error nothing changes.
    pub fn upsert(
        &mut self,
        name: &str,
        entries: &[(&str, &str)],
        force: bool,
    ) -> Result<Upserted> {
        let eol = self.line_ending();
        check_name(name, eol)?;
        for (i, (key, value)) in entries.iter().enumerate() {
            check_entry(key, value, eol)?;
            if entries[..i].iter().any(|(k, _)| k == key) {
                return Err(Error::DuplicateName((*key).to_string()));
            }
        }
        let headers = self.headers_for(name);
        if headers.len() > 1 {
            return Err(self.duplicate(name, &headers));
        }

        let mut section = Vec::new();
        section.extend_from_slice(format!("[{name}]{eol}").as_bytes());
        for (key, value) in entries {
            section.extend_from_slice(format!("{key}={value}{eol}").as_bytes());
        }

        let (bytes, outcome) = match headers.first() {
            Some(_) if !force => {
                return Err(Error::ServiceExists {
                    name: name.to_string(),
                    path: self.path.clone(),
                });
            }
            Some(&h) => {
                let start = self.records[h].raw.start;
                let end = self.records[self.content_end(h) - 1].raw.end;
                let mut b = self.bytes[..start].to_vec();
                b.extend_from_slice(&section);
                b.extend_from_slice(&self.bytes[end..]);
                (b, Upserted::Replaced)
            }
            None => {
                let mut b = self.bytes.clone();
                if let Some(last) = self.records.len().checked_sub(1) {
                    if !b.ends_with(b"\n") {
                        b.extend_from_slice(eol.as_bytes());
                    }
                    if !self.is_white_line(last) {
                        b.extend_from_slice(eol.as_bytes());
                    }
                }
                b.extend_from_slice(&section);
                (b, Upserted::Added)
            }
        };

        let edited = ServiceFile::parse(self.path.clone(), bytes);
        edited.check_written(name, entries)?;
        *self = edited;
        Ok(outcome)
    }

    /// Removes the service `name`: its section (see the module documentation), and the blank
    /// lines that would be left doubled. An error when the file does not hold the service or
    /// holds it more than once; on any error nothing changes.
    pub fn remove(&mut self, name: &str) -> Result<()> {
        let headers = self.headers_for(name);
        let h = match headers[..] {
            [] => {
                return Err(Error::NoSuchService {
                    name: name.to_string(),
                    path: self.path.clone(),
                });
            }
            [h] => h,
            _ => return Err(self.duplicate(name, &headers)),
        };
        let mut first = h;
        let mut last = self.content_end(h);
        while last < self.records.len() && self.is_white_line(last) {
            last += 1;
        }
        if last == self.records.len() {
            while first > 0 && self.is_white_line(first - 1) {
                first -= 1;
            }
        }
        let start = self.records[first].raw.start;
        let end = self.records[last - 1].raw.end;
        let mut bytes = self.bytes[..start].to_vec();
        bytes.extend_from_slice(&self.bytes[end..]);

        let edited = ServiceFile::parse(self.path.clone(), bytes);
        if let Some(&h) = edited.headers_for(name).first() {
            return Err(Error::UnreadableService {
                name: name.to_string(),
                path: self.path.clone(),
                line: h + 1,
                reason: "would still start the service (a bug in pgca: please report it)".into(),
            });
        }
        *self = edited;
        Ok(())
    }

    /// CRLF when the file's first line ends with CRLF, else LF.
    fn line_ending(&self) -> &'static str {
        let first = self
            .records
            .iter()
            .map(|r| &self.bytes[r.raw.clone()])
            .find(|raw| raw.ends_with(b"\n"));
        match first {
            Some(raw) if raw.ends_with(b"\r\n") => "\r\n",
            _ => "\n",
        }
    }

    fn header_indices(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.records.len()).filter(|&i| self.records[i].kind == Kind::Header)
    }

    /// The headers libpq matches with the service `name`: `strncmp(line + 1, name, len) == 0
    /// && line[len + 1] == ']'`.
    fn headers_for(&self, name: &str) -> Vec<usize> {
        let name = name.as_bytes();
        self.header_indices()
            .filter(|&i| {
                let t = &self.bytes[self.records[i].text.clone()];
                t[1..].starts_with(name) && t.get(name.len() + 1) == Some(&b']')
            })
            .collect()
    }

    /// The bytes between `[` and the first `]` (or the end of the line).
    fn header_name(&self, h: usize) -> &[u8] {
        let t = &self.bytes[self.records[h].text.clone()][1..];
        &t[..t.iter().position(|&b| b == b']').unwrap_or(t.len())]
    }

    /// The next header after `h`, or the number of records.
    fn next_header(&self, h: usize) -> usize {
        (h + 1..self.records.len())
            .find(|&i| self.records[i].kind == Kind::Header)
            .unwrap_or(self.records.len())
    }

    /// One past the section's last line that is neither blank nor a comment (`h + 1` if none).
    fn content_end(&self, h: usize) -> usize {
        (h + 1..self.next_header(h))
            .rev()
            .find(|&i| !self.records[i].kind.is_gap())
            .map_or(h + 1, |i| i + 1)
    }

    /// Whether the line's bytes are all white space (a blank line, nothing hidden in it).
    fn is_white_line(&self, i: usize) -> bool {
        self.bytes[self.records[i].raw.clone()]
            .iter()
            .all(|&b| is_c_space(b))
    }

    fn section_at(&self, h: usize, with_lines_before: bool) -> Section {
        let mut problems = Vec::new();
        if with_lines_before {
            for (i, r) in self.records[..h].iter().enumerate() {
                if r.kind == Kind::TooLong {
                    problems.push(Problem {
                        line: i + 1,
                        kind: ProblemKind::TooLong,
                    });
                }
            }
        }
        let mut entries: Vec<Entry> = Vec::new();
        for i in h + 1..self.next_header(h) {
            let r = &self.records[i];
            let line = i + 1;
            let problem = match r.kind {
                Kind::Blank | Kind::Comment | Kind::Header => None,
                Kind::TooLong => Some(ProblemKind::TooLong),
                Kind::NoEquals => Some(ProblemKind::NoEquals),
                Kind::Ldap => Some(ProblemKind::Ldap),
                Kind::Setting { eq } => {
                    let key = &self.bytes[r.text.start..eq];
                    let value = &self.bytes[eq + 1..r.text.end];
                    if key == b"service" {
                        Some(ProblemKind::NestedService)
                    } else if !LIBPQ_KEYWORDS.iter().any(|k| k.as_bytes() == key) {
                        Some(ProblemKind::UnknownKey(lossy(key)))
                    } else {
                        let key = lossy(key);
                        if !entries.iter().any(|e| e.key == key) {
                            entries.push(Entry {
                                key,
                                value: lossy(value),
                                line,
                            });
                        }
                        None
                    }
                }
            };
            if let Some(kind) = problem {
                problems.push(Problem { line, kind });
            }
        }
        Section {
            name: lossy(self.header_name(h)),
            line: h + 1,
            shadowed_by: None,
            entries,
            problems,
        }
    }

    fn duplicate(&self, name: &str, headers: &[usize]) -> Error {
        Error::DuplicateService {
            name: name.to_string(),
            path: self.path.clone(),
            lines: headers.iter().map(|h| h + 1).collect(),
        }
    }

    /// After an edit: libpq must read exactly `entries` for `name`, from one section.
    fn check_written(&self, name: &str, entries: &[(&str, &str)]) -> Result<()> {
        let fail = |line: usize, reason: String| Error::UnreadableService {
            name: name.to_string(),
            path: self.path.clone(),
            line,
            reason,
        };
        let headers = self.headers_for(name);
        let Some(section) = self.get(name) else {
            return Err(fail(
                1,
                "would not start the service (a bug in pgca)".into(),
            ));
        };
        if let Some(p) = section.problems.first() {
            return Err(fail(p.line, p.kind.to_string()));
        }
        let read: Vec<(&str, &str)> = section
            .entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect();
        if headers.len() != 1 || read != entries {
            return Err(fail(
                section.line,
                "would not be read as written (a bug in pgca: please report it)".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use proptest::bool::weighted;
    use proptest::collection::vec;
    use proptest::sample::select;
    use proptest::strategy::Strategy;
    use proptest::test_runner::TestCaseResult;
    use proptest::{prop_assert, prop_assert_eq, prop_oneof};

    use super::super::testing::{
        Bytes, PATH, POOL, check, entries, file, owned, pairs, plain_get, plain_headers,
        plain_lines, plain_matches, plain_region, problems, service_file,
    };
    use super::*;

    #[test]
    fn the_first_section_and_the_first_key_win() {
        let f = file("[a]\nhost=1\nhost=2\nport=1\n[a]\nhost=3\n");
        let a = f.get("a").unwrap();
        assert_eq!(a.line, 1);
        assert_eq!(
            pairs(&f, "a").unwrap(),
            owned(&[("host", "1"), ("port", "1")])
        );
        assert_eq!(a.entries[1].line, 4);
        let all = f.sections();
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].shadowed_by, all[1].shadowed_by), (None, Some(1)));
        assert_eq!(all[1].entries[0].value, "3");
    }

    #[test]
    fn names_match_exactly_and_text_after_the_bracket_is_ignored() {
        let f =
            file("[a] trailing\nhost=1\n[A]\nhost=2\n[ab]\nhost=3\n[c]d]\nhost=4\n[e\nhost=5\n");
        assert_eq!(pairs(&f, "a").unwrap(), owned(&[("host", "1")]));
        assert_eq!(pairs(&f, "A").unwrap(), owned(&[("host", "2")]));
        assert_eq!(pairs(&f, "ab").unwrap(), owned(&[("host", "3")]));
        assert_eq!(pairs(&f, "b"), None);
        // libpq's strncmp match: `[c]d]` is both `c` and `c]d`.
        assert_eq!(pairs(&f, "c").unwrap(), owned(&[("host", "4")]));
        assert_eq!(pairs(&f, "c]d").unwrap(), owned(&[("host", "4")]));
        // An unclosed header matches nothing but still ends the section before it.
        assert_eq!(pairs(&f, "e"), None);
        let names: Vec<String> = f.sections().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["a", "A", "ab", "c", "e"]);
    }

    #[test]
    fn lines_before_the_first_section_are_ignored() {
        let f = file("host=ignored\nnonsense\n[a]\nport=1\n");
        assert_eq!(pairs(&f, "a").unwrap(), owned(&[("port", "1")]));
        assert!(f.get("a").unwrap().problems.is_empty());
    }

    #[test]
    fn unknown_keys_and_syntax_errors_only_matter_in_their_own_section() {
        let f = file(
            "[bad]\nnoequals\nservice=x\nldap://h/x\nfoo=1\nHost=x\n=x\nhost=ok\n[good]\nhost=g\n",
        );
        assert_eq!(
            problems(&f, "bad"),
            [
                (2, ProblemKind::NoEquals),
                (3, ProblemKind::NestedService),
                (4, ProblemKind::Ldap),
                (5, ProblemKind::UnknownKey("foo".into())),
                (6, ProblemKind::UnknownKey("Host".into())),
                (7, ProblemKind::UnknownKey("".into())),
            ]
        );
        assert_eq!(pairs(&f, "bad").unwrap(), owned(&[("host", "ok")]));
        assert!(f.get("good").unwrap().problems.is_empty());
    }

    #[test]
    fn a_long_line_breaks_the_services_after_it_not_those_before() {
        let f = file(format!(
            "[a]\nhost=1\n[c]\n#{}\n[b]\nhost=2\n",
            "c".repeat(2000)
        ));
        assert!(f.get("a").unwrap().problems.is_empty());
        assert_eq!(problems(&f, "c"), [(4, ProblemKind::TooLong)]);
        assert_eq!(problems(&f, "b"), [(4, ProblemKind::TooLong)]);
        assert_eq!(pairs(&f, "b").unwrap(), owned(&[("host", "2")]));
        // Listing reads each section alone.
        assert!(f.sections()[2].problems.is_empty());
        assert_eq!(f.sections()[2].line, 5);
    }

    #[test]
    fn any_bytes_round_trip_unchanged() {
        let long = format!("#{}\n", "x".repeat(3000));
        let inputs: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"\n".to_vec(),
            b"\r\n\r\n".to_vec(),
            b"no newline".to_vec(),
            b"[a]\r\nhost=x".to_vec(),
            b"\xff\xfe[\x80]\nhost=\xc3\n\n".to_vec(),
            b"a=1\rb=2\r".to_vec(),
            b"[a]\0\n\0\0\0".to_vec(),
            b"  [ spaced ] x \n\t\thost = y  \n".to_vec(),
            long.into_bytes(),
            vec![b'x'; 5000],
        ];
        for b in inputs {
            let f = file(b.clone());
            assert_eq!(f.to_bytes(), b);
            assert_eq!(f.as_bytes(), &b[..]);
            assert_eq!(f.is_empty(), b.is_empty());
            let _ = f.sections();
        }
    }

    #[test]
    fn foreign_non_utf8_sections_are_listed_lossily_and_kept() {
        let b = b"[caf\xe9]\nhost=\xff\n\n[a]\nhost=x\n".to_vec();
        let mut f = file(b.clone());
        assert_eq!(f.sections()[0].name, "caf\u{fffd}");
        assert_eq!(f.sections()[0].entries[0].value, "\u{fffd}");
        f.upsert("a", &[("host", "y")], true).unwrap();
        assert_eq!(f.to_bytes(), b"[caf\xe9]\nhost=\xff\n\n[a]\nhost=y\n");
        f.remove("a").unwrap();
        assert_eq!(f.to_bytes(), b"[caf\xe9]\nhost=\xff\n");
    }

    // ---- editing ----

    #[test]
    fn upsert_into_an_empty_file() {
        let mut f = ServiceFile::new(PATH);
        let r = f.upsert("a", &[("host", "h"), ("port", "5432")], false);
        assert_eq!(r.unwrap(), Upserted::Added);
        assert_eq!(f.to_bytes(), b"[a]\nhost=h\nport=5432\n");
        assert_eq!(f.path(), Path::new(PATH));
    }

    #[test]
    fn a_new_section_goes_last_after_a_blank_line_with_the_files_line_ending() {
        let mut f = file("[z]\r\nhost=1\r\n");
        f.upsert("a", &[("host", "h")], false).unwrap();
        assert_eq!(f.to_bytes(), b"[z]\r\nhost=1\r\n\r\n[a]\r\nhost=h\r\n");
        // The first line decides.
        let mut f = file("# c\n[z]\r\nhost=1\r\n");
        f.upsert("a", &[("host", "h")], false).unwrap();
        assert_eq!(f.to_bytes(), b"# c\n[z]\r\nhost=1\r\n\n[a]\nhost=h\n");
    }

    #[test]
    fn a_missing_final_newline_is_added_and_a_final_blank_line_reused() {
        let mut f = file("[z]\nhost=1");
        f.upsert("a", &[("host", "h")], false).unwrap();
        assert_eq!(f.to_bytes(), b"[z]\nhost=1\n\n[a]\nhost=h\n");
        let mut f = file("# c\n\n");
        f.upsert("a", &[("host", "h")], false).unwrap();
        assert_eq!(f.to_bytes(), b"# c\n\n[a]\nhost=h\n");
        // Without the newline, the header would have been part of the comment.
        let mut f = file("# c");
        f.upsert("a", &[("host", "h")], false).unwrap();
        assert_eq!(f.to_bytes(), b"# c\n\n[a]\nhost=h\n");
        let mut f = file("[z]\r\nhost=1");
        f.upsert("a", &[("host", "h")], false).unwrap();
        assert_eq!(f.to_bytes(), b"[z]\r\nhost=1\r\n\r\n[a]\r\nhost=h\r\n");
    }

    #[test]
    fn an_existing_service_is_replaced_only_with_force() {
        let mut f = file("[a]\nhost=old\n");
        let e = f.upsert("a", &[("host", "new")], false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "service \"a\" already exists in /x/pg_service.conf"
        );
        assert_eq!(f.to_bytes(), b"[a]\nhost=old\n");
        assert_eq!(
            f.upsert("a", &[("host", "new")], true).unwrap(),
            Upserted::Replaced
        );
        assert_eq!(f.to_bytes(), b"[a]\nhost=new\n");
    }

    #[test]
    fn replacing_keeps_the_comments_before_the_next_header_and_everything_else() {
        let mut f = file(
            "# top\n[z]\nhost=z\n\n[a] # mine\nhost=old\n# inside\nbogus line\nport=1\n\n\
             # about b\n[b]\nhost=b\n",
        );
        f.upsert("a", &[("host", "new"), ("sslmode", "verify-full")], true)
            .unwrap();
        assert_eq!(
            f.to_bytes(),
            b"# top\n[z]\nhost=z\n\n[a]\nhost=new\nsslmode=verify-full\n\n# about b\n[b]\nhost=b\n"
        );
        // The last section, with a comment after it and no final newline.
        let mut f = file("[a]\r\nhost=old\r\n# end");
        f.upsert("a", &[("user", "u")], true).unwrap();
        assert_eq!(f.to_bytes(), b"[a]\r\nuser=u\r\n# end");
        // A section with no settings: only its header is replaced.
        let mut f = file("[a]\n# note\n[b]\n");
        f.upsert("a", &[("user", "u")], true).unwrap();
        assert_eq!(f.to_bytes(), b"[a]\nuser=u\n# note\n[b]\n");
    }

    #[test]
    fn a_service_held_twice_is_never_edited() {
        let b = "[a]\nhost=1\n[b]\nhost=2\n  [a] again\nhost=3\n";
        let mut f = file(b);
        let e = f.upsert("a", &[("host", "x")], true).unwrap_err();
        assert_eq!(
            e.to_string(),
            "service \"a\" appears 2 times in /x/pg_service.conf (lines 1, 5): libpq uses the \
             first (line 1); pgca will not guess which one to change"
        );
        assert!(matches!(
            f.remove("a").unwrap_err(),
            Error::DuplicateService { ref lines, .. } if lines == &[1, 5]
        ));
        assert_eq!(f.to_bytes(), b.as_bytes());
        // Other services are fine.
        f.upsert("b", &[("host", "x")], true).unwrap();
        assert_eq!(pairs(&f, "b").unwrap(), owned(&[("host", "x")]));
    }

    #[test]
    fn remove_takes_the_section_and_the_blank_lines_it_would_leave_doubled() {
        let mut f = file("[z]\nhost=1\n\n[a]\nhost=x\n# in a\nport=2\n\n# about b\n[b]\nhost=2\n");
        f.remove("a").unwrap();
        assert_eq!(f.to_bytes(), b"[z]\nhost=1\n\n# about b\n[b]\nhost=2\n");
        let mut f = file("[z]\nhost=1\n\n\n[a]\nhost=x\n\n");
        f.remove("a").unwrap();
        assert_eq!(f.to_bytes(), b"[z]\nhost=1\n");
        let mut f = file("[a]\nhost=x");
        f.remove("a").unwrap();
        assert_eq!(f.to_bytes(), b"");
        let e = f.remove("q").unwrap_err();
        assert_eq!(e.to_string(), "no service \"q\" in /x/pg_service.conf");
    }

    #[test]
    fn adding_then_removing_gives_back_the_file() {
        for b in [
            "",
            "[z]\nhost=1\n",
            "[z]\r\nhost=1\r\n",
            "# only a comment\n",
            "[z]\nhost=1\n# trailing\n",
        ] {
            let mut f = file(b);
            f.upsert("new", &[("host", "h"), ("user", "u")], false)
                .unwrap();
            f.remove("new").unwrap();
            assert_eq!(f.to_bytes(), b.as_bytes(), "{b:?}");
        }
    }

    #[test]
    fn a_service_libpq_could_not_reach_is_not_written() {
        let before = format!("[z]\n#{}\n", "c".repeat(1500));
        let mut f = file(before.clone());
        let e = f.upsert("a", &[("host", "h")], false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "libpq cannot read service \"a\" from /x/pg_service.conf: line 2 is too long: \
             libpq reads at most 1021 characters a line"
        );
        assert_eq!(f.to_bytes(), before.as_bytes());
        // Replacing a section that holds the long line fixes it.
        f.upsert("z", &[("host", "h")], true).unwrap();
        assert_eq!(f.to_bytes(), b"[z]\nhost=h\n");
    }

    #[test]
    fn an_empty_entry_list_makes_an_empty_section() {
        let mut f = ServiceFile::new(PATH);
        f.upsert("a", &[], false).unwrap();
        assert_eq!(f.to_bytes(), b"[a]\n");
        assert_eq!(pairs(&f, "a").unwrap(), []);
    }

    fn eol_of(b: &[u8]) -> &'static str {
        match b.iter().position(|&c| c == b'\n') {
            Some(i) if i > 0 && b[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        }
    }

    fn white(b: &[u8]) -> bool {
        b.iter().all(|&c| is_c_space(c))
    }

    fn expected_section(name: &str, entries: &[(&str, &str)], eol: &str) -> Vec<u8> {
        let mut s = format!("[{name}]{eol}");
        for (k, v) in entries {
            s.push_str(&format!("{k}={v}{eol}"));
        }
        s.into_bytes()
    }

    fn concat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[derive(Debug)]
    enum Op {
        Upsert(&'static str, Vec<(&'static str, &'static str)>, bool),
        Remove(&'static str),
    }

    /// Checks one edit against the plain reading; `before` and `f` are the file around it.
    fn check_step(
        ctx: &str,
        before: &[u8],
        f: &ServiceFile,
        op: &Op,
        result: Result<()>,
    ) -> TestCaseResult {
        let after = f.as_bytes();
        let eol = eol_of(before);
        let touched = match op {
            Op::Upsert(n, _, _) | Op::Remove(n) => *n,
        };
        let count = plain_headers(before, touched).len();
        match (op, result) {
            (_, Err(e)) => {
                prop_assert_eq!(after, before, "{}: a refused edit changed the file", ctx);
                let expected = match op {
                    _ if count > 1 => matches!(e, Error::DuplicateService { .. }),
                    Op::Upsert(_, _, false) if count == 1 => {
                        matches!(e, Error::ServiceExists { .. })
                    }
                    Op::Remove(_) if count == 0 => matches!(e, Error::NoSuchService { .. }),
                    _ => false,
                };
                prop_assert!(expected, "{ctx}: unexpected error: {e}");
            }
            (Op::Upsert(name, entries, force), Ok(())) => {
                prop_assert!(
                    count == 0 || (count == 1 && *force),
                    "{ctx}: should be refused"
                );
                let section = expected_section(name, entries, eol);
                let expected = if count == 1 {
                    let (h, e) = plain_region(before, name);
                    concat(&[&before[..h], &section, &before[e..]])
                } else {
                    let mut x = before.to_vec();
                    if !x.is_empty() {
                        if !x.ends_with(b"\n") {
                            x.extend_from_slice(eol.as_bytes());
                        }
                        let last = plain_lines(before).last().unwrap().0.clone();
                        if !white(&before[last]) {
                            x.extend_from_slice(eol.as_bytes());
                        }
                    }
                    x.extend_from_slice(&section);
                    x
                };
                prop_assert_eq!(
                    String::from_utf8_lossy(after),
                    String::from_utf8_lossy(&expected),
                    "{}",
                    ctx
                );
                prop_assert_eq!(after, &expected[..], "{}", ctx);
                prop_assert_eq!(plain_get(after, name), Some(owned(entries)), "{}", ctx);
                prop_assert_eq!(pairs(f, name), Some(owned(entries)), "{}", ctx);
                prop_assert!(f.get(name).unwrap().problems.is_empty(), "{ctx}");
                prop_assert_eq!(plain_headers(after, name).len(), 1, "{}", ctx);
            }
            (Op::Remove(name), Ok(())) => {
                prop_assert_eq!(count, 1, "{}: should be refused", ctx);
                let (h, e) = plain_region(before, name);
                let removed = before.len() - after.len();
                let common = before.iter().zip(after).take_while(|(x, y)| x == y).count();
                let p = common.min(h);
                let q = p + removed;
                prop_assert_eq!(after, &concat(&[&before[..p], &before[q..]])[..], "{}", ctx);
                prop_assert!(q >= e, "{ctx}: part of the section is left");
                prop_assert!(
                    white(&before[p..h]),
                    "{ctx}: removed more before the header"
                );
                prop_assert!(
                    white(&before[e..q]),
                    "{ctx}: removed more after the section"
                );
                if p < h {
                    prop_assert!(
                        white(&before[q..]),
                        "{ctx}: removed blank lines before a header"
                    );
                }
                prop_assert_eq!(plain_get(after, name), None, "{}", ctx);
                prop_assert_eq!(pairs(f, name), None, "{}", ctx);
            }
        }
        // Every other service reads as before, unless it is the same section (`[a]b]` is both
        // `a` and `a]b`).
        let lines = plain_lines(before);
        for other in POOL.iter().chain(&["other", "", "a]b"]) {
            let shared = lines
                .iter()
                .any(|(_, t)| plain_matches(t, touched) && plain_matches(t, other));
            if *other != touched && !shared {
                prop_assert_eq!(
                    plain_get(before, other),
                    plain_get(after, other),
                    "{}: {:?} changed",
                    ctx,
                    other
                );
            }
            prop_assert_eq!(
                pairs(f, other),
                plain_get(after, other),
                "{}: {:?}",
                ctx,
                other
            );
        }
        // Parsing and serialising changes nothing.
        prop_assert_eq!(file(after.to_vec()).to_bytes(), after, "{}", ctx);
        prop_assert_eq!(
            &file(after.to_vec()),
            f,
            "{}: the edited model is not the parsed one",
            ctx
        );
        Ok(())
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            65 => (select(POOL), entries(), weighted(0.7))
                .prop_map(|(name, entries, force)| Op::Upsert(name, entries, force)),
            35 => select(POOL).prop_map(Op::Remove),
        ]
    }

    #[test]
    fn property_edits_touch_only_their_section() {
        let ops = Cell::new(0);
        check(
            3000,
            (service_file(), vec(op(), 1..9)),
            |(Bytes(original), edits)| {
                let mut f = file(original.clone());
                prop_assert_eq!(Bytes(f.to_bytes()), Bytes(original), "round trip");
                for (step, op) in edits.iter().enumerate() {
                    let before = f.to_bytes();
                    let result = match op {
                        Op::Upsert(n, entries, force) => f.upsert(n, entries, *force).map(|_| ()),
                        Op::Remove(n) => f.remove(n),
                    };
                    let ctx = format!("step {step} {op:?} on b\"{}\"", before.escape_ascii());
                    check_step(&ctx, &before, &f, op, result)?;
                    ops.set(ops.get() + 1);
                }
                Ok(())
            },
        );
        assert!(ops.get() > 10_000, "{}", ops.get());
    }

    #[test]
    fn property_the_parser_agrees_with_a_plain_reading() {
        check(3000, service_file(), |Bytes(b)| {
            let f = file(b.clone());
            prop_assert_eq!(Bytes(f.to_bytes()), Bytes(b.clone()));
            for name in POOL.iter().chain(&["other", "", "a]b", "zzz"]) {
                prop_assert_eq!(pairs(&f, name), plain_get(&b, name), "{:?}", name);
            }
            let sections = f.sections();
            let headers = plain_lines(&b)
                .iter()
                .filter(|(_, t)| t.first() == Some(&b'['))
                .count();
            prop_assert_eq!(sections.len(), headers);
            Ok(())
        });
    }
}
