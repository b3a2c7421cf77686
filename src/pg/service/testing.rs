//! What the service module's tests share: a file at a fixed path, its settings as pairs,
//! generated service files and edits (proptest strategies), and an independent plain reading
//! to check them against.

use std::fmt;
use std::ops::Range;

use proptest::arbitrary::any;
use proptest::array::uniform;
use proptest::bool::weighted;
use proptest::collection::vec;
use proptest::prop_oneof;
use proptest::sample::{select, subsequence};
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngSeed, TestCaseResult, TestRunner};

use super::edit::ServiceFile;
use super::lines::lossy;
use super::rules::{LIBPQ_KEYWORDS, WRITABLE_KEYS};
use super::section::ProblemKind;

pub(super) const PATH: &str = "/x/pg_service.conf";

pub(super) fn file(bytes: impl Into<Vec<u8>>) -> ServiceFile {
    ServiceFile::parse(PATH, bytes)
}

/// The settings libpq takes for `name`, as pairs.
pub(super) fn pairs(f: &ServiceFile, name: &str) -> Option<Vec<(String, String)>> {
    f.get(name).map(|s| {
        s.entries
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect::<Vec<_>>()
    })
}

pub(super) fn owned(entries: &[(&str, &str)]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) fn problems(f: &ServiceFile, name: &str) -> Vec<(usize, ProblemKind)> {
    f.get(name)
        .unwrap()
        .problems
        .into_iter()
        .map(|p| (p.line, p.kind))
        .collect()
}

// ---- property tests ----
//
// Generated service files and edits, as proptest strategies: a failing property is shrunk to
// a minimal input, and proptest prints it. The seed is fixed, so every run tries the same
// cases and running the test again reproduces a failure; nothing is persisted (a
// `proptest-regressions/` file would only repeat a case the fixed seed finds anyway). The
// printed minimal input is what goes into a regression test. Change `SEED` to explore.

/// The seed of every property's cases.
const SEED: u64 = 0x5e41_ce00;

/// `cases` cases from the fixed seed, no failure persistence.
fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(SEED),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs the property `test` on `cases` values of `strategy`; on a failure, panics with the
/// failure shrunk to a minimal input.
#[track_caller]
pub(super) fn check<S: Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> TestCaseResult,
) {
    let mut runner = TestRunner::new(config(cases));
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}\n{runner}");
    }
}

/// A file's bytes, printed as a byte string (a failing input is printed with `Debug`).
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Bytes(pub(super) Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// Service names the generated files and edits share, so that edits meet foreign sections.
pub(super) const POOL: &[&str] = &["a", "b", "prod", "Prod", "app db", "café", "x#y", "k=v"];

pub(super) const VALUES: &[&str] = &[
    "db.example.com",
    "5432",
    "verify-full",
    "/home/u/.pgca/clients/alice.crt",
    "two words",
    "a#b",
    "k=v",
    "Zürich",
    "[x]",
    "x",
];

/// Lines libpq skips. Each strategy lists its simplest choice first: proptest shrinks toward it.
const GAPS: &[&[u8]] = &[
    b"",
    b"   ",
    b"\t",
    b"# comment",
    b"  #host=commented",
    b"#[a]",
    b"# \xff non-utf8 comment",
];

const BODIES: &[&[u8]] = &[
    b"host=h1",
    b"  port=5432  ",
    b"dbname = x",
    b"unknown=1",
    b"noequals",
    b"ldap://h/x",
    b"service=other",
    b"host=a=b # c",
    b"user=\xff\xfe",
    b"user=\xc3\xa9",
    b"a=1\rb=2",
    b"sslmode=require",
    b"host=h2",
];

/// A header line: mostly a name of [`POOL`], in one of the forms libpq reads as a header.
fn header() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        9 => select(POOL),
        1 => select(&["other", "", "a]b", "caf\u{e9}x"][..]),
    ];
    (name, 0..7u8).prop_map(|(name, form)| {
        match form {
            0 | 1 => format!("[{name}]"),
            2 => format!("  [{name}]  "),
            3 => format!("[{name}] # comment"),
            4 => format!("[{name}]junk"),
            5 => format!("\t[{name}]"),
            _ => format!("[{name}"),
        }
        .into_bytes()
    })
}

fn gap() -> impl Strategy<Value = Vec<u8>> {
    select(GAPS).prop_map(<[u8]>::to_vec)
}

/// A line inside a section: a setting, a line libpq refuses there, or a gap.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![7 => select(BODIES).prop_map(<[u8]>::to_vec), 3 => gap()]
}

/// A line and whether it ends in CRLF (in a file of mixed line endings).
fn line(text: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = (Vec<u8>, bool)> {
    (text, any::<bool>())
}

/// A service file: up to two gaps, then up to five sections of up to four lines each; LF,
/// CRLF or mixed line endings; one in five without its final line ending.
pub(super) fn service_file() -> impl Strategy<Value = Bytes> {
    let sections = vec((line(header()), vec(line(body()), 0..5)), 0..6);
    (vec(line(gap()), 0..3), sections, 0..3u8, weighted(0.2)).prop_map(
        |(gaps, sections, style, unterminated)| {
            let lines = gaps.into_iter().chain(
                sections
                    .into_iter()
                    .flat_map(|(h, body)| std::iter::once(h).chain(body)),
            );
            let mut out = Vec::new();
            for (text, crlf) in lines {
                out.extend_from_slice(&text);
                let crlf = match style {
                    0 => false,
                    1 => true,
                    _ => crlf,
                };
                out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            }
            if unterminated {
                while out.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                    out.pop();
                }
            }
            Bytes(out)
        },
    )
}

/// Up to four settings of distinct writable keys, in any order; `sslkey` is a path without `:`.
/// Each key has its own value, so that shrinking away one setting leaves the others as they
/// were.
pub(super) fn entries() -> impl Strategy<Value = Vec<(&'static str, &'static str)>> {
    const KEYS: usize = WRITABLE_KEYS.len();
    (
        subsequence((0..KEYS).collect::<Vec<_>>(), 0..5).prop_shuffle(),
        uniform::<_, KEYS>(select(VALUES)),
    )
        .prop_map(|(keys, values)| {
            keys.into_iter()
                .map(|i| match WRITABLE_KEYS[i] {
                    "sslkey" => ("sslkey", "/keys/alice.key"),
                    key => (key, values[i]),
                })
                .collect()
        })
}

// An independent, plain reading of the file, valid for the files generated here (short
// lines, no NUL): split after each \n, trim, match headers as libpq does.

pub(super) fn plain_lines(b: &[u8]) -> Vec<(Range<usize>, &[u8])> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < b.len() {
        let end = b[start..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(b.len(), |i| start + i + 1);
        out.push((start..end, b[start..end].trim_ascii()));
        start = end;
    }
    out
}

pub(super) fn plain_matches(text: &[u8], name: &str) -> bool {
    text.first() == Some(&b'[')
        && text[1..].starts_with(name.as_bytes())
        && text.get(name.len() + 1) == Some(&b']')
}

pub(super) fn plain_headers(b: &[u8], name: &str) -> Vec<usize> {
    plain_lines(b)
        .iter()
        .enumerate()
        .filter(|(_, (_, t))| plain_matches(t, name))
        .map(|(i, _)| i)
        .collect()
}

/// What libpq takes for `name`: known keys, first wins.
pub(super) fn plain_get(b: &[u8], name: &str) -> Option<Vec<(String, String)>> {
    let mut found = None;
    for (_, t) in plain_lines(b) {
        if t.first() == Some(&b'[') {
            if found.is_some() {
                break;
            }
            if plain_matches(t, name) {
                found = Some(Vec::new());
            }
            continue;
        }
        let Some(entries) = found.as_mut() else {
            continue;
        };
        if t.is_empty() || t[0] == b'#' || t.starts_with(b"ldap") {
            continue;
        }
        let Some(eq) = t.iter().position(|&c| c == b'=') else {
            continue;
        };
        let (k, v) = (lossy(&t[..eq]), lossy(&t[eq + 1..]));
        if LIBPQ_KEYWORDS.contains(&k.as_str())
            && !entries.iter().any(|(e, _): &(String, String)| *e == k)
        {
            entries.push((k, v));
        }
    }
    found
}

/// The first section of `name`: where its header starts, where its last setting line ends.
pub(super) fn plain_region(b: &[u8], name: &str) -> (usize, usize) {
    let lines = plain_lines(b);
    let h = plain_headers(b, name)[0];
    let mut end = lines[h].0.end;
    for (r, t) in &lines[h + 1..] {
        if t.first() == Some(&b'[') {
            break;
        }
        if !t.is_empty() && t[0] != b'#' {
            end = r.end;
        }
    }
    (lines[h].0.start, end)
}
