//! The lines of `pg_hba.conf` and `pg_ident.conf` as PostgreSQL tokenizes them
//! (`src/backend/libpq/hba.c`: `tokenize_auth_file`, `next_field_expand`, `next_token`):
//!
//! - a line ending in a backslash continues on the next (PostgreSQL 16 and later); the line
//!   of the result is its first;
//! - fields are separated by blanks; `#` outside double quotes starts a comment;
//! - a field is a comma list: `a,b` and `a, b` are one field of two tokens;
//! - double quotes keep blanks, commas and `#` in a token, `""` inside them is a quote; a
//!   token that starts with a quote is *quoted*, and a quoted keyword (`"all"`) is not the
//!   keyword;
//! - an unquoted `@file` token is replaced by the tokens of that file (its lines read the same
//!   way), named relative to the including file's directory; a missing one is an error;
//! - a line of two fields starting `include`, `include_if_exists` or `include_dir`
//!   (PostgreSQL 16 and later) reads the file or directory named in its second field in its
//!   place, with `postgresql.conf`'s rules for names, order, nesting and cycles.

use std::path::{Path, PathBuf};

use super::source::{At, Files, resolve};
use crate::error::Result;

/// One token as `next_token` returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    /// The text, quotes removed.
    pub(crate) text: String,
    /// Whether it started with a double quote (a quoted word is never a keyword).
    pub(crate) quoted: bool,
}

impl Token {
    /// Whether this is the unquoted keyword `k`.
    pub(crate) fn is_keyword(&self, k: &str) -> bool {
        !self.quoted && self.text == k
    }
}

/// One logical line with at least one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AuthLine {
    /// The file it is in.
    pub(crate) file: PathBuf,
    /// Its first 1-based line.
    pub(crate) line: usize,
    /// Its fields, each a list of tokens.
    pub(crate) fields: Vec<Vec<Token>>,
}

/// Reads the file at `path` (included from `at`), appending its lines and those of the files it
/// includes to `out`.
pub(crate) fn read_auth_file(
    files: &mut Files,
    path: &Path,
    at: Option<At<'_>>,
    if_exists: bool,
    out: &mut Vec<AuthLine>,
) -> Result<()> {
    let Some((path, text)) = files.enter(path, at, if_exists)? else {
        return Ok(());
    };
    let done = read_text(files, &path, &text, out);
    files.leave();
    done
}

/// The logical lines of `text`: continuations joined, each with its first line number.
pub(crate) fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.trim_end_matches('\r');
        let (first, mut acc) = cur.take().unwrap_or((i + 1, String::new()));
        match raw.strip_suffix('\\') {
            Some(head) => {
                acc.push_str(head);
                cur = Some((first, acc));
            }
            None => {
                acc.push_str(raw);
                out.push((first, acc));
            }
        }
    }
    if let Some(last) = cur {
        out.push(last);
    }
    out
}

fn read_text(files: &mut Files, path: &Path, text: &str, out: &mut Vec<AuthLine>) -> Result<()> {
    for (line, logical) in logical_lines(text) {
        let fields = tokenize(files, path, line, &logical)?;
        let Some(first) = fields.first().and_then(|f| f.first()) else {
            continue;
        };
        // PostgreSQL's test: a line of exactly two fields whose first token is one of the
        // directives (quoted or not); the file is the second field's first token.
        let directive = ["include", "include_if_exists", "include_dir"]
            .into_iter()
            .find(|k| fields.len() == 2 && first.text == *k);
        let (Some(directive), Some(name)) = (directive, fields.get(1).and_then(|f| f.first()))
        else {
            out.push(AuthLine {
                file: path.to_path_buf(),
                line,
                fields,
            });
            continue;
        };
        let target = resolve(path, &name.text);
        let at = Some(At { file: path, line });
        match directive {
            "include_dir" => {
                for file in files.conf_files(&target)? {
                    read_auth_file(files, &file, at, false, out)?;
                }
            }
            _ => read_auth_file(files, &target, at, directive == "include_if_exists", out)?,
        }
    }
    Ok(())
}

/// The fields of one logical line, `@file` tokens expanded.
fn tokenize(files: &mut Files, path: &Path, line: usize, text: &str) -> Result<Vec<Vec<Token>>> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut fields = Vec::new();
    while i < b.len() {
        let mut field = Vec::new();
        while let Some((token, comma)) = next_token(b, &mut i) {
            match token.text.strip_prefix('@') {
                Some(name) if !token.quoted && !name.is_empty() => {
                    let mut lines = Vec::new();
                    let at = Some(At { file: path, line });
                    read_auth_file(files, &resolve(path, name), at, false, &mut lines)?;
                    field.extend(lines.into_iter().flat_map(|l| l.fields).flatten());
                }
                _ => field.push(token),
            }
            if !comma {
                break;
            }
        }
        if !field.is_empty() {
            fields.push(field);
        }
    }
    Ok(fields)
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r')
}

/// `next_token`: the token at `i` (leading blanks and commas skipped) and whether a comma ended
/// it; `None` at the end of the line or a comment.
pub(crate) fn next_token(b: &[u8], i: &mut usize) -> Option<(Token, bool)> {
    while *i < b.len() && (is_blank(b[*i]) || b[*i] == b',') {
        *i += 1;
    }
    let mut buf = Vec::new();
    let (mut in_quote, mut was_quote, mut saw_quote, mut initial_quote) =
        (false, false, false, false);
    let mut comma = false;
    while *i < b.len() && (!is_blank(b[*i]) || in_quote) {
        let c = b[*i];
        if c == b'#' && !in_quote {
            *i = b.len();
            break;
        }
        if c == b',' && !in_quote {
            comma = true;
            break;
        }
        if c != b'"' || was_quote {
            buf.push(c);
        }
        // A literal double quote is two double quotes.
        was_quote = in_quote && c == b'"' && !was_quote;
        if c == b'"' {
            in_quote = !in_quote;
            saw_quote = true;
            if buf.is_empty() {
                initial_quote = true;
            }
        }
        *i += 1;
    }
    (saw_quote || !buf.is_empty()).then(|| {
        (
            Token {
                text: String::from_utf8_lossy(&buf).into_owned(),
                quoted: initial_quote,
            },
            comma,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    type Fields = Vec<Vec<(String, bool)>>;

    fn fields(text: &str) -> Fields {
        let mut files = Files::new(None);
        tokenize(&mut files, Path::new("/nonexistent/x"), 1, text)
            .unwrap()
            .into_iter()
            .map(|f| f.into_iter().map(|t| (t.text, t.quoted)).collect())
            .collect()
    }

    #[test]
    fn tokens_follow_next_token() {
        let u = |s: &str| (s.to_string(), false);
        let q = |s: &str| (s.to_string(), true);
        let table: Vec<(&str, Fields)> = vec![
            ("", vec![]),
            ("   # only a comment", vec![]),
            (
                "local all all trust",
                vec![
                    vec![u("local")],
                    vec![u("all")],
                    vec![u("all")],
                    vec![u("trust")],
                ],
            ),
            ("a\tb # c d", vec![vec![u("a")], vec![u("b")]]),
            ("a,b c", vec![vec![u("a"), u("b")], vec![u("c")]]),
            ("a, b c", vec![vec![u("a"), u("b")], vec![u("c")]]),
            ("a ,b", vec![vec![u("a")], vec![u("b")]]),
            ("\"all\" all", vec![vec![q("all")], vec![u("all")]]),
            ("\"a b\",c", vec![vec![q("a b"), u("c")]]),
            ("\"x,#y\"", vec![vec![q("x,#y")]]),
            ("\"say \"\"hi\"\"\"", vec![vec![q("say \"hi\"")]]),
            ("a\"b c\"", vec![vec![u("ab c")]]),
            ("\"\" x", vec![vec![q("")], vec![u("x")]]),
            (
                "ldapurl=\"ldap://h/dc=x?uid?sub\"",
                vec![vec![u("ldapurl=ldap://h/dc=x?uid?sub")]],
            ),
            ("\"@quoted\"", vec![vec![q("@quoted")]]),
            ("@", vec![vec![u("@")]]),
        ];
        for (line, want) in table {
            assert_eq!(fields(line), want, "{line:?}");
        }
    }

    #[test]
    fn continuations_join_lines_and_keep_the_first_number() {
        let got = logical_lines("a \\\n  b\\\nc\nd\r\ne \\ \nf\\");
        assert_eq!(
            got,
            [
                (1, "a   bc".to_string()),
                (4, "d".to_string()),
                (5, "e \\ ".to_string()),
                (6, "f".to_string()),
            ]
        );
    }

    #[test]
    fn at_files_expand_relative_to_the_including_file() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("sub")).unwrap();
        fs::write(
            d.path().join("sub/users"),
            "alice, bob\n# c\n\"carol dee\" @more\n",
        )
        .unwrap();
        fs::write(d.path().join("sub/more"), "erin\n").unwrap();
        let top = d.path().join("hba");
        fs::write(&top, "host db @sub/users 10.0.0.0/8 md5\n").unwrap();
        let mut files = Files::new(None);
        let mut out = Vec::new();
        read_auth_file(&mut files, &top, None, false, &mut out).unwrap();
        let users: Vec<&str> = out[0].fields[2].iter().map(|t| t.text.as_str()).collect();
        assert_eq!(users, ["alice", "bob", "carol dee", "erin"]);
        assert!(out[0].fields[2][2].quoted);
        // An @file that includes itself is a cycle.
        fs::write(d.path().join("sub/more"), "@more\n").unwrap();
        let e = read_auth_file(&mut Files::new(None), &top, None, false, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("an include cycle"), "{e}");
        // A missing @file is an error.
        fs::write(&top, "host db @nope all md5\n").unwrap();
        let e = read_auth_file(&mut Files::new(None), &top, None, false, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope") && e.contains("no such file"), "{e}");
    }
}
