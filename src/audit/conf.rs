//! `postgresql.conf` read by PostgreSQL's own rules (`guc-file.l`, and the docs' "Setting
//! Parameters"):
//!
//! - one setting a line, `name = value` or `name value`; `#` starts a comment; blank lines;
//! - a name is a letter or `_` followed by letters, digits and `_`, optionally qualified once
//!   (`plugin.name`); names compare case-insensitively;
//! - a value is single-quoted (`''` and `\'` are a quote, `\b \f \n \r \t`, octal `\NNN`, and any
//!   other escaped character is itself), or unquoted: a word starting with a letter (`on`,
//!   `md5`, `pg_catalog.english`, `a/b:c-d`; a path starting with `/` must be quoted), an
//!   integer with an optional unit (`8MB`, `-1`, `0x10`) or a real (`0.5`, `.5`, `1.5e3`; not
//!   `1.5GB`);
//! - the last setting of a name wins;
//! - `include 'file'`, `include_if_exists 'file'` and `include_dir 'dir'` (the `.conf` files in
//!   it that do not start with `.`, sorted by name in the C locale), a relative name taken from
//!   the including file's directory, nested at most [`MAX_DEPTH`] deep; a file that includes
//!   itself is refused.

use std::path::{Path, PathBuf};

use super::source::{At, Files, bad, resolve};
use crate::error::Result;

#[cfg(doc)]
use super::source::MAX_DEPTH;

/// One setting as written: the value unquoted, where it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    /// The name as written (compare it case-insensitively).
    pub name: String,
    /// The value, unquoted and unescaped.
    pub value: String,
    /// The file it is in.
    pub file: PathBuf,
    /// Its 1-based line.
    pub line: usize,
}

/// Every setting read, in the order PostgreSQL reads them; the last of a name is in effect.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    all: Vec<Setting>,
}

impl Settings {
    /// The setting of `name` in effect (the last one read), case-insensitively.
    pub fn get(&self, name: &str) -> Option<&Setting> {
        self.all
            .iter()
            .rev()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// The value of `name` in effect.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(|s| s.value.as_str())
    }

    /// Every setting read, overridden ones too, in reading order.
    pub fn all(&self) -> &[Setting] {
        &self.all
    }

    /// The settings in effect: the last of each name, in reading order.
    pub fn effective(&self) -> Vec<&Setting> {
        let mut seen = std::collections::HashSet::new();
        let mut out: Vec<&Setting> = self
            .all
            .iter()
            .rev()
            .filter(|s| seen.insert(s.name.to_ascii_lowercase()))
            .collect();
        out.reverse();
        out
    }
}

/// Reads the `postgresql.conf` at `path` and every file it includes, each through the trust
/// walk: directories on the way owned by root, the user pgca runs as, or `owner` (the cluster's
/// owner, when given), writable by nobody else; links followed only when root or the user pgca
/// runs as owns them.
pub fn read_postgresql_conf(path: &Path, owner: Option<u32>) -> Result<Settings> {
    let mut files = Files::new(owner);
    let mut out = Settings::default();
    read_file(&mut files, path, None, false, &mut out)?;
    Ok(out)
}

/// What the server reads: the `postgresql.conf` at `conf` (with its includes), then
/// `postgresql.auto.conf` in the data directory `data` if it is there (`ALTER SYSTEM`'s file,
/// read last, so its settings win), each through the trust walk as in
/// [`read_postgresql_conf`].
pub fn read_server_conf(conf: &Path, data: &Path, owner: Option<u32>) -> Result<Settings> {
    let mut files = Files::new(owner);
    let mut out = Settings::default();
    read_file(&mut files, conf, None, false, &mut out)?;
    read_file(&mut files, &data.join(AUTO_CONF), None, true, &mut out)?;
    Ok(out)
}

/// The file `ALTER SYSTEM` writes, in the data directory.
pub const AUTO_CONF: &str = "postgresql.auto.conf";

fn read_file(
    files: &mut Files,
    path: &Path,
    at: Option<At<'_>>,
    if_exists: bool,
    out: &mut Settings,
) -> Result<()> {
    let Some((path, text)) = files.enter(path, at, if_exists)? else {
        return Ok(());
    };
    let done = read_text(files, &path, &text, out);
    files.leave();
    done
}

fn read_text(files: &mut Files, path: &Path, text: &str, out: &mut Settings) -> Result<()> {
    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        let Some((name, value)) = parse_line(raw).map_err(|r| bad(path, line, r))? else {
            continue;
        };
        let at = Some(At { file: path, line });
        match name.to_ascii_lowercase().as_str() {
            "include" => read_file(files, &resolve(path, &value), at, false, out)?,
            "include_if_exists" => read_file(files, &resolve(path, &value), at, true, out)?,
            "include_dir" => {
                for file in files.conf_files(&resolve(path, &value))? {
                    read_file(files, &file, at, false, out)?;
                }
            }
            _ => out.all.push(Setting {
                name,
                value,
                file: path.to_path_buf(),
                line,
            }),
        }
    }
    Ok(())
}

/// What [`parse_line`] makes of a line.
pub(crate) type Parsed = std::result::Result<Option<(String, String)>, String>;

fn is_letter(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_letter_or_digit(c: u8) -> bool {
    is_letter(c) || c.is_ascii_digit()
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\x0c')
}

/// One line: `Ok(None)` for a blank or comment line, else the name and the value (unquoted);
/// `Err` says why PostgreSQL would refuse it.
pub(crate) fn parse_line(line: &str) -> Parsed {
    let b = line.as_bytes();
    let mut i = 0;
    let skip = |i: &mut usize| {
        while *i < b.len() && is_space(b[*i]) {
            *i += 1;
        }
    };
    skip(&mut i);
    if i == b.len() || b[i] == b'#' {
        return Ok(None);
    }
    // The name: an ID or QUALIFIED_ID token. The longest token starting with a letter is an
    // UNQUOTED_STRING, which is neither unless it has at most one dot between letters.
    let start = i;
    if !is_letter(b[i]) {
        return Err(near(line, i));
    }
    let end = word_end(b, i);
    let name = &line[start..end];
    let mut parts = name.split('.');
    let id = |p: Option<&str>| {
        p.is_some_and(|p| {
            p.bytes().next().is_some_and(is_letter) && p.bytes().all(is_letter_or_digit)
        })
    };
    if !(id(parts.next()) && (parts.clone().next().is_none() || id(parts.next())))
        || parts.next().is_some()
    {
        return Err(near(line, start));
    }
    let name = name.to_string();
    i = end;
    skip(&mut i);
    if i < b.len() && b[i] == b'=' {
        i += 1;
        skip(&mut i);
    }
    if i == b.len() || b[i] == b'#' {
        return Err("syntax error near end of line".to_string());
    }
    let value = if b[i] == b'\'' {
        let (value, end) = quoted(line, i)?;
        i = end;
        value
    } else {
        let vstart = i;
        i = if is_letter(b[i]) {
            word_end(b, i)
        } else {
            number_end(b, i).ok_or_else(|| near(line, vstart))?
        };
        line[vstart..i].to_string()
    };
    skip(&mut i);
    if i < b.len() && b[i] != b'#' {
        return Err(near(line, i));
    }
    Ok(Some((name, value)))
}

/// The end of guc-file.l's longest token starting with the letter at `i`: UNQUOTED_STRING,
/// `{LETTER}({LETTER_OR_DIGIT}|[-._:/])*` (ID and QUALIFIED_ID are never longer).
fn word_end(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < b.len() && (is_letter_or_digit(b[i]) || matches!(b[i], b'-' | b'.' | b':' | b'/')) {
        i += 1;
    }
    i
}

/// The end of the longest INTEGER (`{SIGN}?({DIGIT}+|0x{HEXDIGIT}+){UNIT_LETTER}*`) or REAL
/// (`{SIGN}?{DIGIT}*"."{DIGIT}*{EXPONENT}?`) token at `i`, if there is one.
fn number_end(b: &[u8], start: usize) -> Option<usize> {
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let digits = |mut i: usize, ok: fn(u8) -> bool| {
        while ok(at(i)) {
            i += 1;
        }
        i
    };
    let mut i = start;
    if matches!(at(i), b'-' | b'+') {
        i += 1;
    }
    let body = i;
    // INTEGER.
    let mut integer = None;
    if at(i) == b'0' && at(i + 1) == b'x' && at(i + 2).is_ascii_hexdigit() {
        integer = Some(digits(i + 2, |c| c.is_ascii_hexdigit()));
    }
    let dec = digits(body, |c| c.is_ascii_digit());
    if dec > body {
        integer = Some(integer.map_or(dec, |h: usize| h.max(dec)));
    }
    let integer = integer.map(|e| digits(e, |c| c.is_ascii_alphabetic()));
    // REAL.
    let mut real = None;
    if at(dec) == b'.' {
        let mut e = digits(dec + 1, |c| c.is_ascii_digit());
        if matches!(at(e), b'e' | b'E') {
            let mut k = e + 1;
            if matches!(at(k), b'-' | b'+') {
                k += 1;
            }
            let end = digits(k, |c| c.is_ascii_digit());
            if end > k {
                e = end;
            }
        }
        real = Some(e);
    }
    integer.max(real)
}

/// guc-file.l's error: the token at `i`.
fn near(line: &str, i: usize) -> String {
    let rest = &line[i..];
    let token: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace())
        .take(40)
        .collect();
    format!("syntax error near {}", crate::model::text::quoted(&token))
}

/// The single-quoted string starting at `start`: its value (PostgreSQL's
/// `DeescapeQuotedString`) and the index after the closing quote.
fn quoted(line: &str, start: usize) -> std::result::Result<(String, usize), String> {
    let b = line.as_bytes();
    let mut out: Vec<u8> = Vec::new();
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\'' if b.get(i + 1) == Some(&b'\'') => {
                out.push(b'\'');
                i += 2;
            }
            b'\'' => {
                return Ok((String::from_utf8_lossy(&out).into_owned(), i + 1));
            }
            b'\\' if i + 1 < b.len() => {
                let c = b[i + 1];
                i += 2;
                match c {
                    b'b' => out.push(b'\x08'),
                    b'f' => out.push(b'\x0c'),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'0'..=b'7' => {
                        let mut n = u32::from(c - b'0');
                        let mut k = 0;
                        while k < 2 && i < b.len() && (b'0'..=b'7').contains(&b[i]) {
                            n = n * 8 + u32::from(b[i] - b'0');
                            i += 1;
                            k += 1;
                        }
                        out.push((n & 0xff) as u8);
                    }
                    other => out.push(other),
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Err("unterminated quoted string".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn lines_parse_like_guc_file_l() {
        let some = |n: &str, v: &str| Ok(Some((n.to_string(), v.to_string())));
        let table: &[(&str, Parsed)] = &[
            ("", Ok(None)),
            ("   # a comment", Ok(None)),
            ("\t", Ok(None)),
            ("port = 5432", some("port", "5432")),
            ("port 5432", some("port", "5432")),
            ("port=5432# trailing", some("port", "5432")),
            ("ssl = on", some("ssl", "on")),
            ("SSL = ON", some("SSL", "ON")),
            ("shared_buffers = 128MB", some("shared_buffers", "128MB")),
            ("x = -1", some("x", "-1")),
            ("x = 0.5", some("x", "0.5")),
            ("x = 1.5e3", some("x", "1.5e3")),
            ("x = 0x1F", some("x", "0x1F")),
            ("x = +5s", some("x", "+5s")),
            ("x = 1e3", Err("syntax error near \"3\"".into())),
            ("x = 1.5GB", Err("syntax error near \"GB\"".into())),
            ("x = -", Err("syntax error near \"-\"".into())),
            ("a-b = 1", Err("syntax error near \"a-b\"".into())),
            ("a.b.c = 1", Err("syntax error near \"a.b.c\"".into())),
            ("a$b = 1", Err("syntax error near \"$b\"".into())),
            ("x = .5", some("x", ".5")),
            // An unquoted word starts with a letter: a path must be quoted.
            ("dir = run/pg.d:x-y", some("dir", "run/pg.d:x-y")),
            (
                "dir = /var/run/postgresql",
                Err("syntax error near \"/var/run/postgresql\"".into()),
            ),
            ("my.setting = 'v'", some("my.setting", "v")),
            (
                "ssl_cert_file = 'server.crt'",
                some("ssl_cert_file", "server.crt"),
            ),
            ("a = ''", some("a", "")),
            ("a = 'it''s'", some("a", "it's")),
            (r"a = 'it\'s'", some("a", "it's")),
            (r"a = 'tab\there'", some("a", "tab\there")),
            (r"a = 'back\\slash'", some("a", "back\\slash")),
            (r"a = '\101\x'", some("a", "Ax")),
            ("a = 'has # hash' # comment", some("a", "has # hash")),
            ("a = 'x' 'y'", Err("syntax error near \"'y'\"".into())),
            ("a = 'open", Err("unterminated quoted string".into())),
            ("a =", Err("syntax error near end of line".into())),
            ("a = # nothing", Err("syntax error near end of line".into())),
            ("= 1", Err("syntax error near \"=\"".into())),
            ("1a = 1", Err("syntax error near \"1a\"".into())),
            ("a = b c", Err("syntax error near \"c\"".into())),
            ("a = \"dq\"", Err("syntax error near \"\"dq\"\"".into())),
        ];
        for (line, want) in table {
            assert_eq!(&parse_line(line), want, "{line:?}");
        }
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn includes_resolve_against_the_including_file_and_the_last_setting_wins() {
        let d = tempfile::tempdir().unwrap();
        let top = write(
            d.path(),
            "postgresql.conf",
            "port = 1\nPort = 2\ninclude 'sub/a.conf'\ninclude_if_exists = 'missing.conf'\n\
             include_dir 'conf.d'\nlisten_addresses = '*'\n",
        );
        write(d.path(), "sub/a.conf", "port = 3\ninclude 'b.conf'\n");
        write(d.path(), "sub/b.conf", "ssl = on\n");
        write(d.path(), "conf.d/20-b.conf", "port = 5\n");
        write(d.path(), "conf.d/10-a.conf", "port = 4\nssl = off\n");
        write(d.path(), "conf.d/B.conf", "ssl_ca_file = 'B'\n");
        write(d.path(), "conf.d/.hidden.conf", "port = 99\n");
        write(d.path(), "conf.d/notes.txt", "port = 98\n");
        fs::create_dir_all(d.path().join("conf.d/dir.conf")).unwrap();
        let s = read_postgresql_conf(&top, None).unwrap();
        let got: Vec<(&str, &str, usize)> = s
            .all()
            .iter()
            .map(|s| (s.name.as_str(), s.value.as_str(), s.line))
            .collect();
        // C-locale order: "10-a" < "20-b" < "B".
        assert_eq!(
            got,
            [
                ("port", "1", 1),
                ("Port", "2", 2),
                ("port", "3", 1),
                ("ssl", "on", 1),
                ("port", "4", 1),
                ("ssl", "off", 2),
                ("port", "5", 1),
                ("ssl_ca_file", "B", 1),
                ("listen_addresses", "*", 6),
            ]
        );
        let port = s.get("PORT").unwrap();
        assert_eq!(port.value, "5");
        assert!(port.file.ends_with("conf.d/20-b.conf"), "{port:?}");
        assert_eq!(s.value("ssl"), Some("off"));
        assert_eq!(s.value("nope"), None);
        let effective: Vec<&str> = s.effective().iter().map(|s| s.value.as_str()).collect();
        assert_eq!(effective, ["off", "5", "B", "*"]);
    }

    #[test]
    fn errors_name_the_file_and_line_and_includes_are_bounded() {
        let d = tempfile::tempdir().unwrap();
        // A bad line in an included file.
        let top = write(d.path(), "top.conf", "port = 1\ninclude 'bad.conf'\n");
        let badf = write(d.path(), "bad.conf", "\n\nport = 'x\n");
        let e = read_postgresql_conf(&top, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{} line 3: unterminated quoted string", badf.display())
        );
        // A missing include is an error, a missing include_if_exists is not.
        let top = write(d.path(), "missing.conf", "include 'nope.conf'\n");
        let e = read_postgresql_conf(&top, None).unwrap_err().to_string();
        assert!(e.contains("nope.conf") && e.contains("no such file"), "{e}");
        // A cycle.
        let a = write(d.path(), "a.conf", "include 'b.conf'\n");
        let b = write(d.path(), "b.conf", "\ninclude 'a.conf'\n");
        let e = read_postgresql_conf(&a, None).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{} line 2: {} includes itself (an include cycle)",
                b.display(),
                a.display()
            )
        );
        // Depth: a chain of 10 includes below the top is fine, 11 is not.
        for (n, ok) in [(10, true), (11, false)] {
            let chain = d.path().join(format!("chain{n}"));
            for k in 0..n {
                write(
                    &chain,
                    &format!("f{k}.conf"),
                    &format!("include 'f{}.conf'\n", k + 1),
                );
            }
            write(&chain, &format!("f{n}.conf"), "port = 7\n");
            let got = read_postgresql_conf(&chain.join("f0.conf"), None);
            match (got, ok) {
                (Ok(s), true) => assert_eq!(s.value("port"), Some("7")),
                (Err(e), false) => {
                    assert!(e.to_string().contains("nesting deeper than 10"), "{e}")
                }
                (got, _) => panic!("{n}: {got:?}"),
            }
        }
        // A missing include_dir is an error.
        let top = write(d.path(), "dir.conf", "include_dir 'nodir'\n");
        assert!(read_postgresql_conf(&top, None).is_err());
    }
}
