//! What the service module's tests share: a file at a fixed path, its settings as pairs,
//! random service files and edits, and an independent plain reading to check them against.

use std::ops::Range;

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

/// splitmix64: small, deterministic, good enough to pick test cases.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub(super) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub(super) fn pick<'a, T: ?Sized>(&mut self, xs: &[&'a T]) -> &'a T {
        xs[self.below(xs.len())]
    }
}

/// Service names the random files and edits share, so that edits meet foreign sections.
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

fn gen_header(rng: &mut Rng) -> Vec<u8> {
    let name = if rng.chance(90) {
        rng.pick(POOL).to_string()
    } else {
        rng.pick(&["other", "", "a]b", "caf\u{e9}x"]).to_string()
    };
    let line = match rng.below(7) {
        0 => format!("  [{name}]  "),
        1 => format!("[{name}] # comment"),
        2 => format!("[{name}]junk"),
        3 => format!("\t[{name}]"),
        4 => format!("[{name}"),
        _ => format!("[{name}]"),
    };
    line.into_bytes()
}

fn gen_gap(rng: &mut Rng) -> Vec<u8> {
    rng.pick::<[u8]>(&[
        b"",
        b"   ",
        b"\t",
        b"# comment",
        b"  #host=commented",
        b"#[a]",
        b"# \xff non-utf8 comment",
    ])
    .to_vec()
}

fn gen_body(rng: &mut Rng) -> Vec<u8> {
    if rng.chance(30) {
        return gen_gap(rng);
    }
    rng.pick::<[u8]>(&[
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
    ])
    .to_vec()
}

pub(super) fn gen_file(rng: &mut Rng) -> Vec<u8> {
    let mut lines = Vec::new();
    for _ in 0..rng.below(3) {
        lines.push(gen_gap(rng));
    }
    for _ in 0..rng.below(6) {
        lines.push(gen_header(rng));
        for _ in 0..rng.below(5) {
            lines.push(gen_body(rng));
        }
    }
    let style = rng.below(3);
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(&line);
        let crlf = match style {
            0 => false,
            1 => true,
            _ => rng.chance(50),
        };
        out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    }
    if rng.chance(20) {
        while out.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
            out.pop();
        }
    }
    out
}

pub(super) fn gen_entries(rng: &mut Rng) -> Vec<(&'static str, &'static str)> {
    let mut keys: Vec<&str> = WRITABLE_KEYS.to_vec();
    let mut out = Vec::new();
    for _ in 0..rng.below(5) {
        let key = keys.remove(rng.below(keys.len()));
        let mut value = rng.pick(VALUES);
        if key == "sslkey" {
            value = "/keys/alice.key";
        }
        out.push((key, value));
    }
    out
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
